// Convergence of the real replica code in the simulator: sizes 3 to 1,000, loss, duplication,
// reordering, partitions, crash and restart with and without state.

import { describe, expect, it } from 'vitest';
import { runConvergence } from '../../src/sim/experiment.js';
import { Simulation } from '../../src/sim/network.js';
import { seeds, withSeed } from './seeds.js';
import { slowIt } from '../slow.js';
import { allLiveEqual, key, runUntil, valuesOf } from './helpers.js';

describe('convergence', () => {
  for (const n of [3, 10, 100]) {
    for (const faults of [
      { loss: 0, duplicate: 0, reorder: 0 },
      { loss: 0.2, duplicate: 0.1, reorder: 0.2 },
    ]) {
      (n >= 100 ? slowIt : it)(`N=${n} with loss ${faults.loss}, duplication ${faults.duplicate}, reordering ${faults.reorder}`, () => {
        for (const seed of seeds(n >= 100 ? 2 : 5)) {
          withSeed(seed, () => {
            const r = runConvergence({ nodes: n, fanout: 3, intervalMs: 1000, writes: n, keys: 3, seed, maxRounds: 40, faults });
            expect(r.rounds).toBeLessThan(faults.loss > 0 ? 20 : 10);
            expect(r.fraction[r.fraction.length - 1]).toBe(1);
          });
        }
      });
    }
  }

  slowIt('N=1000 converges within the theory bound plus slack', () => {
    for (const seed of seeds(1)) {
      withSeed(seed, () => {
        const r = runConvergence({ nodes: 1000, fanout: 3, intervalMs: 1000, writes: 1000, keys: 1000, seed, maxRounds: 30 });
        expect(r.rounds).toBeLessThanOrEqual(8);
      });
    }
  }, 180_000);

  it('a partition blocks convergence across it, and healing restores it', () => {
    for (const seed of seeds(3)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 20, seed, config: { gossipIntervalMs: 200 } });
        sim.runUntil(200);
        sim.partition((i) => (i < 10 ? 0 : 1));
        for (let i = 0; i < 20; i++) sim.nodes[i]?.replica.keyspace.incrBy(key('c'), i + 1);
        sim.runUntil(sim.now + 20 * 200);
        // Each side has converged on its own sum and not the other side's.
        const left = valuesOf(sim, 'c').slice(0, 10);
        const right = valuesOf(sim, 'c').slice(10);
        expect(new Set(left)).toEqual(new Set([55]));
        expect(new Set(right)).toEqual(new Set([155]));
        sim.heal();
        const rounds = runUntil(sim, () => valuesOf(sim, 'c').every((v) => v === 210), 40);
        expect(rounds).toBeLessThan(40);
        expect(allLiveEqual(sim)).toBe(true);
      });
    }
  });

  for (const withState of [true, false]) {
    it(`crash and restart ${withState ? 'with' : 'without'} state loses no acknowledged increment`, () => {
      for (const seed of seeds(3)) {
        withSeed(seed, () => {
          const sim = new Simulation({ nodes: 5, seed, config: { gossipIntervalMs: 200 } });
          let expected = 0;
          const inc = (i: number, n: number): void => {
            const r = sim.nodes[i]?.replica.keyspace.incrBy(key('c'), n);
            if (r?.ok) expected += n;
          };
          for (let round = 0; round < 10; round++) {
            for (let i = 0; i < 5; i++) if (sim.nodes[i]?.up) inc(i, 1 + sim.rng.int(10));
            sim.runUntil(sim.now + 200);
          }
          // Node 0's increments have reached its peers; now it dies and comes back.
          sim.crash(0);
          sim.runUntil(sim.now + 400);
          sim.restart(0, withState);
          // The restarted node writes at once, before it has heard from anyone: with a new slot per
          // incarnation these increments cannot hide behind its old, larger slot held by peers.
          for (let k = 0; k < 5; k++) inc(0, 7);
          for (let round = 0; round < 5; round++) {
            for (let i = 0; i < 5; i++) inc(i, 1);
            sim.runUntil(sim.now + 200);
          }
          const rounds = runUntil(sim, () => valuesOf(sim, 'c').every((v) => v === expected), 50);
          expect(rounds, `values ${valuesOf(sim, 'c').join(',')} expected ${expected}`).toBeLessThan(50);
        });
      }
    });
  }
});
