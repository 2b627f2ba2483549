// Pruning of retired counter slots in the simulator (replication/slot-folds.ts): each restart of a
// writing node adds a slot to every key it writes; once every member holds one state in which a
// later incarnation wrote, the older incarnations fold into the node's pseudo-slot on every node.
// No increment is lost or counted twice by it, including with deletes on either side of the fold,
// partitions, lossy links, restarts without data, and a node that missed the fold.

import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/sim/network.js';
import { retiredSlotOf } from '../../src/replication/slot-folds.js';
import type { PNCounter } from '../../src/crdt/pn-counter.js';
import { SeededRng } from '../../src/util/rng.js';
import { allLiveEqual, key, runUntil, valuesOf } from './helpers.js';

function sim(seed: number, nodes = 3): Simulation {
  return new Simulation({ nodes, seed, faults: { loss: 0.05, duplicate: 0.02, reorder: 0.05 } });
}

/** Slot ids of counter `name` on node `i`, sorted. */
function slotsOf(s: Simulation, i: number, name: string): string[] {
  const e = s.nodes[i]?.replica.keyspace.entry(key(name));
  if (e === undefined || (e.type !== 'pncounter' && e.type !== 'gcounter')) return [];
  return (e.crdt as PNCounter).slotIds().sort();
}

const live = (s: Simulation): number[] => s.nodes.map((n, i) => (n.up ? i : -1)).filter((i) => i >= 0);

describe('pruning of retired slots', () => {
  it('folds every older incarnation of a restarted writer, and the values stay exact', () => {
    const s = sim(11);
    const KEYS = 8;
    const model = new Array<number>(KEYS).fill(0);
    const write = (node: number, k: number, n: number): void => {
      const r = s.nodes[node]?.replica.keyspace.incrBy(key(`k${k}`), n);
      if (r === undefined || !r.ok) throw new Error('write failed');
      model[k] = (model[k] as number) + n;
    };
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < KEYS; k++) write(0, k, k + 1 + round);
      write(1, round % KEYS, 3);
      runUntil(s, () => allLiveEqual(s), 60);
      s.crash(0);
      runUntil(s, () => false, 2);
      s.restart(0, true);
    }
    // The last incarnation writes every key, so the state every member holds shows it.
    for (let k = 0; k < KEYS; k++) write(0, k, 1);
    const slotsDone = (): boolean => live(s).every((i) => Array.from({ length: KEYS }, (_, k) => slotsOf(s, i, `k${k}`)).every((ids) => !ids.some((id) => /^n0:\d+$/.test(id) && id !== `n0:${s.nodes[0]?.incarnation}`)));
    expect(runUntil(s, () => allLiveEqual(s) && slotsDone(), 120)).toBeLessThan(120);
    for (let k = 0; k < KEYS; k++) expect(valuesOf(s, `k${k}`)).toEqual([model[k], model[k], model[k]]);
    // One slot for n0's live incarnation, one pseudo-slot for all five retired ones, and n1's where it wrote.
    expect(slotsOf(s, 2, 'k0')).toEqual([`n0:${s.nodes[0]?.incarnation}`, retiredSlotOf('n0'), 'n1:1'].sort());
    expect(slotsOf(s, 2, 'k7')).toEqual([`n0:${s.nodes[0]?.incarnation}`, retiredSlotOf('n0')].sort());
    for (const i of live(s)) expect(s.nodes[i]?.replica.foldBounds()).toEqual([['n0', s.nodes[0]?.incarnation]]);
    // The folded incarnations' log entries went too, where the live one's log holds the key: n0's
    // live incarnation wrote all 8 keys, n1 wrote 5 of them.
    expect(s.nodes.map((n) => n.replica.versions.entryCount())).toEqual([13, 13, 13]);
    expect(s.nodes.map((n) => n.replica.retiredOrigins())).toEqual([0, 0, 0]);
    // Writes go on as before, and a further restart folds into the same pseudo-slot.
    write(0, 0, 100);
    write(2, 0, 5);
    s.crash(0);
    s.restart(0, true);
    write(0, 0, 1);
    expect(runUntil(s, () => allLiveEqual(s) && slotsDone(), 120)).toBeLessThan(120);
    expect(valuesOf(s, 'k0')).toEqual([model[0], model[0], model[0]]);
    expect(slotsOf(s, 1, 'k0')).toEqual([`n0:${s.nodes[0]?.incarnation}`, retiredSlotOf('n0'), 'n1:1', 'n2:1'].sort());
  });

  it('deletes before and after the fold, on nodes that folded and that did not, remove exactly what they saw', () => {
    const s = sim(12);
    const [a, b] = [0, 1].map((i) => s.nodes[i]?.replica);
    a?.keyspace.incrBy(key('x'), 10);
    b?.keyspace.incrBy(key('x'), 1);
    runUntil(s, () => allLiveEqual(s), 60);
    s.crash(0);
    s.restart(0, true);
    s.nodes[0]?.replica.keyspace.incrBy(key('x'), 4); // n0:2 writes: n0:1 is retired in what all will hold
    runUntil(s, () => allLiveEqual(s), 60);
    // Cut n2 off before any fold: it keeps n0:1 unfolded and deletes x, seeing 15.
    s.partition((i) => (i === 2 ? 1 : 0));
    s.nodes[2]?.replica.keyspace.del(key('x'));
    s.nodes[0]?.replica.keyspace.incrBy(key('x'), 2);
    runUntil(s, () => false, 10);
    // n0 and n1 hold one state but n2 is a member they have not heard from: no fold yet.
    expect(slotsOf(s, 1, 'x')).toContain('n0:1');
    s.heal();
    expect(runUntil(s, () => allLiveEqual(s) && !slotsOf(s, 0, 'x').includes('n0:1'), 120)).toBeLessThan(120);
    // n2's delete removed the 15 it saw; n0's 2 written meanwhile survives it.
    expect(valuesOf(s, 'x')).toEqual([2, 2, 2]);
    // A delete after the fold, concurrent with a write on another node.
    s.partition((i) => (i === 0 ? 1 : 0));
    s.nodes[1]?.replica.keyspace.del(key('x'));
    s.nodes[0]?.replica.keyspace.incrBy(key('x'), 7);
    runUntil(s, () => false, 5);
    s.heal();
    expect(runUntil(s, () => allLiveEqual(s), 120)).toBeLessThan(120);
    expect(valuesOf(s, 'x')).toEqual([7, 7, 7]);
  });

  it('a node restarted without its data, and one that was down through the fold, count nothing twice', () => {
    const s = sim(13, 4);
    const model = new Map<string, number>();
    const inc = (node: number, name: string, n: number): void => {
      s.nodes[node]?.replica.keyspace.incrBy(key(name), n);
      model.set(name, (model.get(name) ?? 0) + n);
    };
    for (let k = 0; k < 5; k++) inc(k % 4, `k${k}`, 10 + k);
    runUntil(s, () => allLiveEqual(s), 60);
    for (const node of [0, 1]) {
      s.crash(node);
      s.restart(node, true);
      for (let k = 0; k < 5; k++) inc(node, `k${k}`, 1);
    }
    runUntil(s, () => allLiveEqual(s), 60);
    // n3 is down through the fold: it holds unfolded state, and the others wait for it.
    s.crash(3);
    for (let k = 0; k < 5; k++) inc(2, `k${k}`, 2);
    runUntil(s, () => false, 10);
    expect(slotsOf(s, 0, 'k0')).toContain('n0:1');
    s.restart(3, true);
    const folded = (): boolean => live(s).every((i) => !slotsOf(s, i, 'k0').includes('n0:1') && !slotsOf(s, i, 'k1').includes('n1:1'));
    expect(runUntil(s, () => allLiveEqual(s) && folded(), 120)).toBeLessThan(120);
    for (const [name, v] of model) expect(valuesOf(s, name)).toEqual([v, v, v, v]);
    // Wiped: n1 comes back empty, gets everything folded, and writes on.
    s.crash(1);
    s.restart(1, false);
    inc(1, 'k0', 5);
    expect(runUntil(s, () => allLiveEqual(s), 120)).toBeLessThan(120);
    for (const [name, v] of model) expect(valuesOf(s, name)).toEqual([v, v, v, v]);
  });

  it('random writes, deletes and restarts with data, then quiet: every value is the model, retired slots fold', () => {
    for (const seed of [21, 22, 23]) {
      const s = sim(seed);
      const rng = new SeededRng(seed);
      // A model per key: the value, and a delete resets it to what the deleting node... so keep deletes local to one node at a quiet moment.
      const model = new Map<string, number>();
      for (let step = 0; step < 40; step++) {
        const node = rng.nextU32() % 3;
        const name = `k${rng.nextU32() % 6}`;
        const roll = rng.nextU32() % 10;
        if (roll < 7) {
          const n = (rng.nextU32() % 5) + 1;
          s.nodes[node]?.replica.keyspace.incrBy(key(name), n);
          model.set(name, (model.get(name) ?? 0) + n);
        } else if (roll < 8) {
          // A delete on a converged cluster removes exactly the model's value.
          runUntil(s, () => allLiveEqual(s), 60);
          s.nodes[node]?.replica.keyspace.del(key(name));
          model.set(name, 0);
        } else {
          s.crash(node);
          runUntil(s, () => false, rng.nextU32() % 3);
          s.restart(node, true);
        }
        runUntil(s, () => false, rng.nextU32() % 2);
      }
      // Every node writes every key once more, so each one's latest incarnation is in the state.
      for (let node = 0; node < 3; node++) for (const name of model.keys()) {
        s.nodes[node]?.replica.keyspace.incrBy(key(name), 1);
        model.set(name, (model.get(name) as number) + 1);
      }
      const noRetired = (): boolean =>
        live(s).every((i) => [...model.keys()].every((name) => slotsOf(s, i, name).every((id) => !/:\d+$/.test(id) || s.nodes.some((n) => id === `${n.id}:${n.incarnation}`))));
      expect(runUntil(s, () => allLiveEqual(s) && noRetired(), 200)).toBeLessThan(200);
      for (const [name, v] of model) expect(valuesOf(s, name), `seed ${seed} ${name}`).toEqual([v, v, v]);
    }
  });
});
