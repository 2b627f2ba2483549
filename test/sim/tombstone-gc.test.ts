// Tombstone collection in the simulator (replication/tombstone-gc.ts): deleted counters are dropped
// on every node once every member holds them durably, including after crashes, restarts with and
// without data and partitions, and no increment is lost or doubled by it: a key written again after
// its tombstone went counts exactly the new increments, on every node.

import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/sim/network.js';
import { allLiveEqual, key, runUntil, valuesOf } from './helpers.js';

function sim(seed: number, nodes = 3): Simulation {
  return new Simulation({ nodes, seed, faults: { loss: 0.05, duplicate: 0.02, reorder: 0.05 } });
}

const tombstones = (s: Simulation): number[] => s.live().map((n) => n.replica.keyspace.memoryStats().tombstones);
const entries = (s: Simulation): number[] => s.live().map((n) => n.replica.versions.entryCount());

describe('tombstone collection', () => {
  it('drops deleted counters on every node once all hold the delete, and their log entries', () => {
    const s = sim(1);
    for (let i = 0; i < 20; i++) s.nodes[i % 3]?.replica.keyspace.incrBy(key(`k${i}`), i + 1);
    expect(runUntil(s, () => allLiveEqual(s), 60)).toBeLessThan(60);
    // FLUSHALL on one node: every key deleted there.
    const r0 = s.nodes[0]?.replica;
    for (let i = 0; i < 20; i++) r0?.keyspace.del(key(`k${i}`));
    expect(runUntil(s, () => tombstones(s).every((t) => t === 0), 60)).toBeLessThan(60);
    expect(s.live().map((n) => n.replica.keyspace.size)).toEqual([0, 0, 0]);
    expect(entries(s)).toEqual([0, 0, 0]);
    expect(s.live().map((n) => n.replica.keyspace.collected).every((c) => c === 20)).toBe(true);
  });

  it('keys made after others were collected take their ids, and replicate and count exactly as any key', () => {
    // The version logs index keys by the key table's ids, and a collected key's id goes to the next
    // new key: five rounds of 20 new names (written on every node, deleted, collected) must leave
    // each round's values exact everywhere, with the ids of the first round serving every later one.
    const s = sim(4);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 20; i++) s.nodes[(i + round) % 3]?.replica.keyspace.incrBy(key(`r${round}k${i}`), i + 1);
      s.nodes[round % 3]?.replica.keyspace.incrBy(key(`r${round}k0`), 100);
      expect(runUntil(s, () => allLiveEqual(s), 60)).toBeLessThan(60);
      expect(valuesOf(s, `r${round}k0`)).toEqual([101, 101, 101]);
      expect(valuesOf(s, `r${round}k19`)).toEqual([20, 20, 20]);
      for (const n of s.live()) {
        const ids = Array.from({ length: 20 }, (_, i) => n.replica.keyspace.idOf(key(`r${round}k${i}`)));
        expect(Math.max(...ids)).toBeLessThan(20);
      }
      for (let i = 0; i < 20; i++) s.nodes[(round + 1) % 3]?.replica.keyspace.del(key(`r${round}k${i}`));
      expect(runUntil(s, () => tombstones(s).every((t) => t === 0) && s.live().every((n) => n.replica.keyspace.size === 0), 60)).toBeLessThan(60);
      expect(entries(s)).toEqual([0, 0, 0]);
    }
  });

  it('a key written again after collection counts only its new increments, on every node', () => {
    const s = sim(2);
    const [a, b, c] = [0, 1, 2].map((i) => s.nodes[i]?.replica);
    a?.keyspace.incrBy(key('x'), 5);
    b?.keyspace.incrBy(key('x'), 7);
    runUntil(s, () => allLiveEqual(s), 60);
    c?.keyspace.del(key('x'));
    // Collected on a only: a writes x again at once, while b and c may still hold the tombstone
    // with a's slot at 5 and its floor at 5.
    runUntil(s, () => a?.keyspace.entry(key('x')) === undefined, 60);
    expect(a?.keyspace.entry(key('x'))).toBeUndefined();
    a?.keyspace.incrBy(key('x'), 1);
    b?.keyspace.incrBy(key('x'), 2);
    expect(runUntil(s, () => allLiveEqual(s), 60)).toBeLessThan(60);
    expect(valuesOf(s, 'x')).toEqual([3, 3, 3]);
  });

  it('waits for a member that is down, and a restart with or without data neither loses nor resurrects', () => {
    const s = sim(3, 4);
    for (let i = 0; i < 10; i++) s.nodes[0]?.replica.keyspace.incrBy(key(`k${i}`), 1);
    runUntil(s, () => allLiveEqual(s), 60);
    s.crash(3);
    for (let i = 0; i < 10; i++) s.nodes[1]?.replica.keyspace.del(key(`k${i}`));
    s.nodes[2]?.replica.keyspace.incrBy(key('live'), 4);
    runUntil(s, () => allLiveEqual(s), 60);
    // n3 is down but not forgotten: its last report predates the deletes, so nothing goes.
    runUntil(s, () => false, 10);
    expect(tombstones(s)).toEqual([10, 10, 10]);
    // Back with its old data (the keys live there): the deletes reach it, then all collect.
    s.restart(3, true);
    expect(runUntil(s, () => tombstones(s).every((t) => t === 0), 120)).toBeLessThan(120);
    for (let i = 0; i < 10; i++) expect(valuesOf(s, `k${i}`)).toEqual([null, null, null, null]);
    expect(valuesOf(s, 'live')).toEqual([4, 4, 4, 4]);
    // A wiped restart after collection brings nothing back.
    s.crash(2);
    s.restart(2, false);
    runUntil(s, () => allLiveEqual(s), 60);
    for (let i = 0; i < 10; i++) expect(valuesOf(s, `k${i}`)).toEqual([null, null, null, null]);
    expect(tombstones(s)).toEqual([0, 0, 0, 0]);
  });

  it('a partition holds collection back until it heals, and concurrent increments survive the delete', () => {
    const s = sim(4);
    s.nodes[0]?.replica.keyspace.incrBy(key('p'), 3);
    runUntil(s, () => allLiveEqual(s), 60);
    s.partition((i) => (i === 2 ? 1 : 0));
    s.nodes[0]?.replica.keyspace.del(key('p'));
    s.nodes[2]?.replica.keyspace.incrBy(key('p'), 10); // concurrent with the delete: survives it
    runUntil(s, () => false, 15);
    expect(tombstones(s).slice(0, 2)).toEqual([1, 1]);
    s.heal();
    expect(runUntil(s, () => allLiveEqual(s), 60)).toBeLessThan(60);
    expect(valuesOf(s, 'p')).toEqual([10, 10, 10]);
    s.nodes[1]?.replica.keyspace.del(key('p'));
    expect(runUntil(s, () => tombstones(s).every((t) => t === 0) && allLiveEqual(s), 60)).toBeLessThan(60);
    s.nodes[2]?.replica.keyspace.incrBy(key('p'), 1);
    runUntil(s, () => allLiveEqual(s), 60);
    expect(valuesOf(s, 'p')).toEqual([1, 1, 1]);
  });
});
