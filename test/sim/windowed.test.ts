// Windowed counters, CMS and Top-K in the simulator: replicas converge to identical state under loss
// and reordering, with skewed clocks; THROTTLE over-admission stays within the documented bound.
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/sim/network.js';
import { runThrottleExperiment } from '../../src/sim/throttle-experiment.js';
import { WINDOW_MAX_SKEW_MS } from '../../src/crdt/windowed-counter.js';
import { seeds, withSeed } from './seeds.js';
import { allLiveEqual, key, runUntil } from './helpers.js';

describe('windowed counters and sketches in the simulator', () => {
  it('converge across replicas with skewed clocks, loss and reordering', () => {
    for (const seed of seeds(4)) {
      withSeed(seed, () => {
        const n = 8;
        const sim = new Simulation({ nodes: n, seed, config: { gossipIntervalMs: 200 }, faults: { loss: 0.1, duplicate: 0.05, reorder: 0.2 } });
        // Clock offsets within the skew bound, some ahead, some behind.
        const skew = Array.from({ length: n }, () => Math.floor((sim.rng.next() * 2 - 1) * WINDOW_MAX_SKEW_MS * 0.9));
        const ks = (i: number) => sim.nodes[i]!.replica.keyspace;
        sim.runUntil(1000);
        ks(0).windowCreate(key('w'), 1, 30);
        ks(1).cmsInit(key('c'), 64, 4);
        ks(2).topkReserve(key('t'), 3, 64, 4);
        sim.runUntil(3000);
        let exact = 0;
        const exactCms = new Map<string, number>();
        for (let round = 0; round < 60; round++) {
          for (let i = 0; i < n; i++) {
            const now = Math.floor(sim.now) + 10_000 + (skew[i] as number);
            const c = 1 + sim.rng.int(5);
            const r = ks(i).windowIncrBy(key('w'), c, now, now);
            if (r.ok) exact += c;
            const item = `i${sim.rng.int(20)}`;
            if (ks(i).cmsIncrBy(key('c'), [[Buffer.from(item), c]]).ok) exactCms.set(item, (exactCms.get(item) ?? 0) + c);
            ks(i).topkAdd(key('t'), [[Buffer.from(item), c]]);
          }
          sim.runUntil(sim.now + 100);
        }
        const rounds = runUntil(sim, () => allLiveEqual(sim), 60);
        expect(rounds).toBeLessThan(60);
        // Everything written is inside the retention (6 s of writes, 30 s kept): nothing was truncated.
        for (const node of sim.nodes) {
          const ksn = node.replica.keyspace;
          const total = ksn.windowCount(key('w'), 0, 1e9);
          expect(total.ok && total.value).toBe(exact);
          const q = ksn.cmsQuery(key('c'), [...exactCms.keys()].map((s) => Buffer.from(s)));
          expect(q.ok).toBe(true);
          if (q.ok) [...exactCms.values()].forEach((v, j) => expect(Number(q.value[j])).toBeGreaterThanOrEqual(v));
        }
      });
    }
  });

  it('a DEL of a window converges (generation) and the key can be recreated', () => {
    for (const seed of seeds(3)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 4, seed, config: { gossipIntervalMs: 200 } });
        const ks = (i: number) => sim.nodes[i]!.replica.keyspace;
        ks(0).windowCreate(key('w'), 1, 60);
        runUntil(sim, () => allLiveEqual(sim), 30);
        for (let i = 0; i < 4; i++) ks(i).windowIncrBy(key('w'), 1, sim.now, sim.now);
        runUntil(sim, () => allLiveEqual(sim), 30);
        ks(1).del(key('w'));
        runUntil(sim, () => allLiveEqual(sim), 30);
        for (let i = 0; i < 4; i++) expect(ks(i).exists(key('w'))).toBe(false);
        expect(ks(2).windowCreate(key('w'), 60, 3600).ok).toBe(true);
        runUntil(sim, () => allLiveEqual(sim), 30);
        for (let i = 0; i < 4; i++) expect(ks(i).window(key('w'))?.granularityS).toBe(60);
      });
    }
  });

  it('THROTTLE admits about the limit on one node, and over-admits within the gossip-lag bound on many', () => {
    const one = runThrottleExperiment({ nodes: 1, ratePerS: 200, gossipIntervalMs: 200, limit: 100, periodS: 10, seed: 1 });
    expect(one.ratio).toBeLessThanOrEqual(1.02); // the interpolation may admit a hair over, never far
    expect(one.ratio).toBeGreaterThanOrEqual(0.95);
    for (const seed of seeds(2)) {
      withSeed(seed, () => {
        const r = runThrottleExperiment({ nodes: 5, ratePerS: 500, gossipIntervalMs: 200, limit: 1000, periodS: 10, seed });
        // Bound (docs): extra ~ rate x lag x (N-1)/N with lag ~ a few gossip intervals: 500/s x 1 s x 0.8 = 400.
        expect(r.ratio).toBeGreaterThanOrEqual(0.95);
        expect(r.maxInPeriod).toBeLessThanOrEqual(1000 + 500 * 1.0 * 0.8);
      });
    }
  });
});
