// Healing after long partitions: each side declares the other dead, forgets it, and (after an hour)
// drops even the tombstones, yet after the heal every node agrees on every key within 10 s of
// virtual time. Regression for the cluster that split for good (../shared/repro r6, r6b, r6c).

import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/sim/network.js';
import { MemberState } from '../../src/replication/messages.js';
import { seeds, withSeed } from './seeds.js';
import { slowIt } from '../slow.js';
import { allLiveEqual, key, valuesOf } from './helpers.js';

const MINUTE = 60_000;

/** Virtual ms from now until every live node holds the same state and `expected` for `name`, or Infinity. */
function healTime(sim: Simulation, name: string, expected: number, limitMs: number): number {
  const start = sim.now;
  while (sim.now - start <= limitMs) {
    if (valuesOf(sim, name).every((v) => v === expected) && allLiveEqual(sim)) return sim.now - start;
    sim.runUntil(sim.now + 100);
  }
  return Infinity;
}

function allAlive(sim: Simulation): boolean {
  return sim.live().every((n) => [...n.replica.membership.all()].filter((m) => m.state === MemberState.Alive).length === sim.nodes.length);
}

describe('healing after a partition of any length', () => {
  for (const [label, ms] of [
    ['30 s', 30_000],
    ['5 min', 5 * MINUTE],
    ['1 h', 60 * MINUTE],
  ] as const) {
    (ms > 5 * MINUTE ? slowIt : it)(`2/2 split for ${label}: every key agrees within 10 s of the heal`, () => {
      for (const seed of seeds(3)) {
        withSeed(seed, () => {
          const sim = new Simulation({ nodes: 4, seed, config: { gossipIntervalMs: 200 } });
          sim.runUntil(2000);
          sim.partition((i) => (i < 2 ? 0 : 1));
          sim.nodes[0]?.replica.keyspace.incrBy(key('hits'), 1);
          sim.nodes[3]?.replica.keyspace.incrBy(key('hits'), 100);
          sim.runUntil(sim.now + ms);
          sim.heal();
          const t = healTime(sim, 'hits', 101, 10_000);
          expect(t, `values ${valuesOf(sim, 'hits').join(',')}`).toBeLessThanOrEqual(10_000);
          sim.runUntil(sim.now + 10_000);
          expect(allAlive(sim)).toBe(true);
        });
      }
    });
  }

  it('the only seed cut off alone for 5 min rejoins (r6b)', () => {
    for (const seed of seeds(3)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 4, seed, config: { gossipIntervalMs: 200 } });
        sim.runUntil(2000);
        sim.partition((i) => (i === 0 ? 0 : 1));
        sim.nodes[0]?.replica.keyspace.incrBy(key('hits'), 1);
        sim.nodes[2]?.replica.keyspace.incrBy(key('hits'), 10);
        sim.runUntil(sim.now + 5 * MINUTE);
        sim.heal();
        expect(healTime(sim, 'hits', 11, 10_000)).toBeLessThanOrEqual(10_000);
      });
    }
  });

  slowIt('nodes that joined through a seed (no shared roster), split 3/3 for 1 h (r6c)', () => {
    for (const seed of seeds(3)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 6, seed, prejoined: false, config: { gossipIntervalMs: 200 } });
        sim.runUntil(10_000);
        expect([...(sim.nodes[5]?.replica.membership.all() ?? [])].length).toBe(6);
        sim.partition((i) => (i < 3 ? 0 : 1));
        sim.nodes[0]?.replica.keyspace.incrBy(key('hits'), 1);
        sim.nodes[5]?.replica.keyspace.incrBy(key('hits'), 100);
        sim.runUntil(sim.now + 60 * MINUTE + 5 * MINUTE);
        sim.heal();
        expect(healTime(sim, 'hits', 101, 10_000)).toBeLessThanOrEqual(10_000);
        sim.runUntil(sim.now + 10_000);
        expect(allAlive(sim)).toBe(true);
      });
    }
  });
});
