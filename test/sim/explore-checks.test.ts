// The explorer's checkers catch planted violations (so a passing run is not vacuous), allow what is
// legitimate (a wiped node's un-gossiped writes, DEL), and a seed replays the same history.

import { describe, expect, it } from 'vitest';
import { Simulation, SimOverload } from '../../src/sim/network.js';
import { Ledger, type Holders } from '../../src/sim/explore-ledger.js';
import { checkConvergence, checkDigests, checkEpochEnd, checkExpiry, checkKnown, checkLostWrites, checkMajorityRead, checkResurrections, checkWait, SWEEP_SLACK_MS } from '../../src/sim/explore-checks.js';
import { EPOCH_MS } from '../../src/sim/explore-draw.js';
import { exploreSeed } from '../../src/sim/explore.js';
import { counterSlot, epochOf, hllGeneration, joinStates, setFoldView, windowHeader, windowSlot, cmsHeader } from '../../src/sim/inspect.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { encodeWithLife } from '../../src/keyspace/life.js';
import { key } from './helpers.js';

const K = key('c0');

function cluster(seed = 1): { sim: Simulation; ledger: Ledger; holders: Holders } {
  const sim = new Simulation({ nodes: 3, seed, config: { gossipIntervalMs: 200, probeIntervalMs: 500, probeTimeoutMs: 200 }, epochMs: EPOCH_MS });
  sim.runUntil(1000);
  return { sim, ledger: new Ledger(), holders: (k) => sim.nodes[k]?.replica.keyspace };
}

function node(sim: Simulation, i: number): NonNullable<Simulation['nodes'][number]> {
  const n = sim.nodes[i];
  if (n === undefined) throw new Error(`no node ${i}`);
  return n;
}

/** INCRBY on node i, recorded in the ledger as the workload does. */
function incr(sim: Simulation, ledger: Ledger, i: number, n: number, k = K): number {
  const r = node(sim, i).replica;
  expect(r.keyspace.incrBy(k, n).ok).toBe(true);
  const slot = counterSlot(r.keyspace, k, r.origin);
  if (slot === undefined) throw new Error('not a counter');
  ledger.counterWrite({ key: k, epoch: epochOf(r.keyspace, k), origin: r.origin, node: i, version: r.version, slot, t: sim.now });
  return r.version;
}

const stores = (sim: Simulation): Keyspace[] => sim.nodes.map((n) => n.replica.keyspace);

describe('explorer checkers', () => {
  it('lost-write through the fold view: folded and unfolded stores join to the same counts, and a loss in a folded slot is caught', () => {
    const ledger = new Ledger();
    const write = (origin: string, p: number): void =>
      ledger.counterWrite({ key: K, epoch: 0, origin, node: 0, version: p, slot: { p, n: 0 }, t: 0 });
    write('n0:1', 5);
    write('n0:2', 3);
    write('n1:1', 2);
    const store = (slots: Record<string, number>): Keyspace => {
      const ks = new Keyspace('x:1');
      const c = new PNCounter();
      for (const [id, p] of Object.entries(slots)) c.mergeSlot(id, p, 0);
      ks.mergeDecoded(K, { type: 'pncounter', crdt: c });
      return ks;
    };
    const unfolded = store({ 'n0:1': 5, 'n0:2': 3, 'n0:3': 1, 'n1:1': 2 });
    const folded = store({ 'n0:retired': 8, 'n0:3': 1, 'n1:1': 2 });
    try {
      setFoldView([['n0', 3]]);
      // Joined as stored, the pseudo-slot would sit beside the slots folded into it: 19, not 11.
      expect(checkLostWrites(ledger, [unfolded, folded], 0, 0)).toEqual([]);
      const j = joinStates([unfolded, folded]);
      expect(j.getCounter(K)).toEqual({ ok: true, value: 11 });
      expect(counterSlot(j, K, 'n0:1')).toEqual({ p: 8, n: 0 });
      // Planted: the pseudo-slot holds less than the two writes folded into it.
      const short = store({ 'n0:retired': 7, 'n0:3': 1, 'n1:1': 2 });
      expect(checkLostWrites(ledger, [short], 0, 0).map((v) => v.kind)).toEqual(['pseudo-slot below the acknowledged writes folded into it']);
    } finally {
      setFoldView(undefined);
    }
  });

  it('through the fold view, a key collected and written again: its pseudo-slot starts afresh, and the collected tombstone ended the old one\'s requirements', () => {
    const ledger = new Ledger();
    const write = (origin: string, p: number): void =>
      ledger.counterWrite({ key: K, epoch: 0, origin, node: 0, version: p, slot: { p, n: 0 }, t: 0 });
    const store = (slots: Record<string, [number, number]>): Keyspace => {
      const ks = new Keyspace('x:1');
      const c = new PNCounter();
      for (const [id, [p, fp]] of Object.entries(slots)) c.mergeSlot(id, p, fp);
      ks.mergeDecoded(K, { type: 'pncounter', crdt: c });
      return ks;
    };
    // n0:1 wrote 12, a delete removed it, the tombstone (n0:1 folded into the pseudo-slot) was
    // collected everywhere; then n0:2 wrote 4 into the key anew, and was folded in turn.
    const grave = store({ 'n0:retired': [12, 12], 'n1:1': [1, 1] });
    const live = store({ 'n0:retired': [4, 0], 'n0:3': [1, 0] });
    try {
      write('n0:1', 12);
      setFoldView([['n0', 2]]);
      ledger.collected(K, grave); // n0:1's write ends with the tombstone that holds it
      write('n0:2', 4);
      setFoldView([['n0', 3]], grave);
      expect(checkLostWrites(ledger, [live, grave], 0, 0)).toEqual([]);
      expect(checkResurrections([live], grave, 0)).toEqual([]);
      // Planted: the new life's pseudo-slot lost one of n0:2's increments.
      const short = store({ 'n0:retired': [3, 0], 'n0:3': [1, 0] });
      expect(checkLostWrites(ledger, [short, grave], 0, 0).map((v) => v.kind)).toEqual(['pseudo-slot below the acknowledged writes folded into it']);
      // Planted: a collected delete comes back (a store lacking n1:1's floor).
      const back = store({ 'n0:retired': [4, 0], 'n1:1': [1, 0] });
      expect(checkResurrections([back], grave, 0).map((v) => v.kind)).toEqual(['a collected delete no longer holds']);
    } finally {
      setFoldView(undefined);
    }
  });

  it('a key collected twice: what each tombstone held ends with it, so the lives\' pseudo-slots are not joined into one (seed 500107)', () => {
    type Slot = [p: number, fp: number, n?: number, fn?: number];
    const store = (slots: Record<string, Slot>): Keyspace => {
      const ks = new Keyspace('x:1');
      const c = new PNCounter();
      for (const [id, [p, fp, n = 0, fn = 0]] of Object.entries(slots)) c.mergeSlot(id, p, fp, n, fn);
      ks.mergeDecoded(K, { type: 'pncounter', crdt: c });
      return ks;
    };
    const run = (tellLedger: boolean, secondTomb: Keyspace): string[] => {
      const ledger = new Ledger();
      const write = (origin: string, p: number, n: number): void =>
        ledger.counterWrite({ key: K, epoch: 0, origin, node: 0, version: p + n, slot: { p, n }, t: 0 });
      try {
        // First life: n0:1 decremented 68 and was folded; n0:2 incremented 209; a delete, collected.
        write('n0:1', 0, 68);
        write('n0:2', 209, 0);
        setFoldView([['n0', 2]]);
        const first = store({ 'n0:retired': [0, 0, 68, 68], 'n0:2': [209, 209] });
        if (tellLedger) ledger.collected(K, first);
        // Second life: n0:2 writes on from its base (a decrement of 61), is folded, deleted, collected.
        write('n0:2', 209, 61);
        setFoldView([['n0', 3]]);
        if (tellLedger) ledger.collected(K, secondTomb);
        // The graveyard joins the two tombstones: its pseudo-slot keeps the larger of each count,
        // 209 and 68, not the 209 and 129 the two lives' folds held between them.
        const grave = joinStates([first, secondTomb]);
        setFoldView([['n0', 3]], grave);
        const live = store({ 'n1:1': [5, 0] });
        return checkLostWrites(ledger, [live, grave], 0, 0).map((v) => v.kind);
      } finally {
        setFoldView(undefined);
      }
    };
    const second = store({ 'n0:retired': [209, 209, 61, 61] });
    expect(run(true, second)).toEqual([]);
    // Without the collections, the graveyard alone is read, and reports the loss that seed 500107 did.
    expect(run(false, second)).toEqual(['pseudo-slot below the acknowledged writes folded into it']);
    // Planted: the second tombstone lacks n0:2's decrement. It ends nothing, and the loss is caught.
    expect(run(true, store({ 'n0:retired': [209, 209] }))).toEqual(['pseudo-slot below the acknowledged writes folded into it']);
  });

  it('a wipe lowers a folded origin\'s floor to what the other stores hold of this life, not to the graveyard\'s earlier life (seed 1003275)', () => {
    type Slot = [p: number, fp: number];
    const store = (slots: Record<string, Slot>): Keyspace => {
      const ks = new Keyspace('x:1');
      const c = new PNCounter();
      for (const [id, [p, fp]] of Object.entries(slots)) c.mergeSlot(id, p, fp);
      ks.mergeDecoded(K, { type: 'pncounter', crdt: c });
      return ks;
    };
    const run = (survivor: Keyspace): string[] => {
      const ledger = new Ledger();
      const write = (origin: string, p: number): void =>
        ledger.counterWrite({ key: K, epoch: 0, origin, node: 2, version: p, slot: { p, n: 0 }, t: 0 });
      try {
        // First life: n2:1 wrote 112, was folded, deleted, and the tombstone collected everywhere.
        write('n2:1', 112);
        setFoldView([['n2', 2]]);
        const grave = store({ 'n2:retired': [112, 112] });
        ledger.collected(K, grave);
        // Second life: n2:2 wrote 25 (deleted later: 25/25), folded when n2:3 began. Node 0 holds
        // it; the other store (a node that joined apart) never had it. Node 0 is wiped.
        write('n2:2', 25);
        setFoldView([['n2', 3]], grave);
        ledger.wipe(0, 0, (k) => (k === 1 ? survivor : undefined), 2);
        return checkLostWrites(ledger, [survivor, grave], 0, 0).map((v) => v.kind);
      } finally {
        setFoldView(undefined);
      }
    };
    // Every copy of this life's n2:2 slot is gone: lost legitimately. The graveyard's n2:retired
    // (112, the first life's) is no copy of it.
    expect(run(store({ 'n3:1': [95, 0] }))).toEqual([]);
    // A survivor holding this life's pseudo-slot keeps the requirement up, and must still meet it.
    const kept = store({ 'n2:retired': [25, 25], 'n3:1': [95, 0] });
    expect(run(kept)).toEqual([]);
    const ledger = new Ledger();
    try {
      ledger.counterWrite({ key: K, epoch: 0, origin: 'n2:1', node: 2, version: 112, slot: { p: 112, n: 0 }, t: 0 });
      setFoldView([['n2', 2]]);
      const grave = store({ 'n2:retired': [112, 112] });
      ledger.collected(K, grave);
      ledger.counterWrite({ key: K, epoch: 0, origin: 'n2:2', node: 2, version: 25, slot: { p: 25, n: 0 }, t: 0 });
      setFoldView([['n2', 3]], grave);
      ledger.wipe(0, 0, (k) => (k === 1 ? kept : undefined), 2);
      // Planted: the copy the wipe left is lost too, untold: the loss is caught.
      expect(checkLostWrites(ledger, [store({ 'n3:1': [95, 0] }), grave], 0, 0).map((v) => v.kind)).toEqual(['pseudo-slot below the acknowledged writes folded into it']);
    } finally {
      setFoldView(undefined);
    }
  });

  it('lost-write: a write only a wiped node held is lost; allowed only when the ledger knows of the wipe', () => {
    const { sim, ledger } = cluster();
    incr(sim, ledger, 0, 5); // not gossiped yet
    // Planted: the data directory is lost, but the ledger is not told, so the write must survive.
    sim.crash(0);
    sim.restart(0, false);
    sim.runUntil(sim.now + 3000);
    const v = checkLostWrites(ledger, stores(sim), sim.localNow(0), sim.now);
    expect(v.map((x) => x.kind)).toEqual(['counter slot below an acknowledged write']);

    // The same history told truthfully: persistence none loses it legitimately.
    const t = cluster();
    incr(t.sim, t.ledger, 0, 5);
    t.sim.crash(0);
    t.ledger.wipe(0, t.sim.now, (k) => (k === 0 ? undefined : t.holders(k)), 3);
    t.sim.restart(0, false);
    t.sim.runUntil(t.sim.now + 3000);
    expect(checkLostWrites(t.ledger, stores(t.sim), t.sim.localNow(0), t.sim.now)).toEqual([]);
  });

  it('lost-write: a write vouched for by WAIT survives a wipe of fewer nodes than vouched', () => {
    const { sim, ledger, holders } = cluster();
    const v = incr(sim, ledger, 0, 7);
    sim.runUntil(sim.now + 2000); // everyone holds it
    ledger.vouch(node(sim, 0).replica.origin, v, 2);
    // Planted: the two peers lose it without the ledger being told, then node 0 is wiped (told).
    for (const i of [1, 2]) {
      sim.crash(i);
      sim.restart(i, false);
    }
    sim.crash(0);
    ledger.wipe(0, sim.now, (k) => (k === 0 ? undefined : holders(k)), 3);
    sim.restart(0, false);
    expect(checkLostWrites(ledger, stores(sim), sim.localNow(0), sim.now).map((x) => x.kind)).toEqual(['counter slot below an acknowledged write']);
  });

  it('lost-write: a peer that left counts against the copies a WAIT vouched for, as a wipe does (seed 16462)', () => {
    const run = (leaves: boolean): string[] => {
      const { sim, ledger, holders } = cluster();
      const v = incr(sim, ledger, 0, 7);
      sim.runUntil(sim.now + 2000); // everyone holds it
      ledger.vouch(node(sim, 0).replica.origin, v, 2);
      // n1 leaves, told to the ledger (or, planted, loses it untold); then n2 and n0 are wiped (told).
      if (leaves) ledger.depart(1, sim.now, joinStates([node(sim, 1).replica.keyspace]));
      // The explorer's holders: a node wiped or left holds nothing any more (n1 lost untold does).
      const gone = new Set<number>(leaves ? [1] : []);
      for (const i of [1, 2, 0]) {
        sim.crash(i);
        if (i === 1) continue;
        gone.add(i);
        ledger.wipe(i, sim.now, (k) => (gone.has(k) ? undefined : holders(k)), 3);
      }
      for (const i of [1, 2, 0]) sim.restart(i, false);
      return checkLostWrites(ledger, stores(sim), sim.localNow(0), sim.now).map((x) => x.kind);
    };
    // Two of the three copies told gone: the third (n1's) was required, and it is lost.
    expect(run(false)).toEqual(['counter slot below an acknowledged write']);
    // n1 left: all three copies are gone legitimately.
    expect(run(true)).toEqual([]);
  });

  it('lost-write: a peer wiped after taking a write but before the WAIT reported it counts against the vouch', () => {
    // Seeds 27465 and 28953: the writer still counted a peer that had crashed without its data.
    const { sim, ledger, holders } = cluster();
    const origin = node(sim, 0).replica.origin;
    const v = incr(sim, ledger, 0, 7);
    sim.runUntil(sim.now + 2000); // node 1 holds it
    for (const i of [1, 2]) {
      sim.crash(i);
      ledger.wipe(i, sim.now, (k) => (k === i ? undefined : holders(k)), 3);
    }
    ledger.vouch(origin, v, 1); // reported after the wipes, from node 0's stale view of node 1
    sim.crash(0);
    ledger.wipe(0, sim.now, () => undefined, 3);
    for (const i of [0, 1, 2]) sim.restart(i, false);
    sim.runUntil(sim.now + 3000);
    expect(checkLostWrites(ledger, stores(sim), sim.localNow(0), sim.now)).toEqual([]);
    // Vouched by two peers, one wipe of a peer and the writer's leave one copy: still required.
    const t = cluster();
    const w = incr(t.sim, t.ledger, 0, 7);
    t.sim.runUntil(t.sim.now + 2000);
    t.sim.crash(1);
    t.ledger.wipe(1, t.sim.now, (k) => (k === 1 ? undefined : t.holders(k)), 3);
    t.ledger.vouch(node(t.sim, 0).replica.origin, w, 2);
    t.sim.crash(0);
    t.ledger.wipe(0, t.sim.now, (k) => (k === 0 || k === 1 ? undefined : t.holders(k)), 3);
    // Planted: node 2, the copy left, loses it too without the ledger being told.
    t.sim.crash(2);
    for (const i of [0, 1, 2]) t.sim.restart(i, false);
    t.sim.runUntil(t.sim.now + 3000);
    expect(checkLostWrites(t.ledger, stores(t.sim), t.sim.localNow(0), t.sim.now).map((x) => x.kind)).toContain('counter slot below an acknowledged write');
  });

  it('lost-write: DEL is an observed reset, never a lost increment; a planted shortfall is caught', () => {
    const { sim, ledger } = cluster();
    incr(sim, ledger, 0, 5);
    incr(sim, ledger, 1, 3);
    node(sim, 2).replica.keyspace.del(K);
    sim.runUntil(sim.now + 3000);
    expect(checkLostWrites(ledger, stores(sim), sim.localNow(0), sim.now)).toEqual([]);
    ledger.counterWrite({ key: K, epoch: 0, origin: node(sim, 0).replica.origin, node: 0, version: 1, slot: { p: 6, n: 0 }, t: sim.now });
    expect(checkLostWrites(ledger, stores(sim), sim.localNow(0), sim.now)).toHaveLength(1);
  });

  it('lost-write: windows, HLL elements and CMS counts', () => {
    const { sim, ledger } = cluster();
    const ks = node(sim, 0).replica.keyspace;
    const origin = node(sim, 0).replica.origin;
    const w = key('w0');
    const now = Math.floor(sim.localNow(0));
    expect(ks.windowCreate(w, 1, 600).ok).toBe(true);
    expect(ks.windowIncrBy(w, 4, now, now).ok).toBe(true);
    const header = windowHeader(ks, w) ?? '';
    const bucket = Math.floor(now / 1000);
    ledger.windowWrite(w, 0, header, bucket, origin, windowSlot(ks, w, bucket, origin), 'n0');
    const h = key('h0');
    expect(ks.pfadd(h, ['a', 'b']).ok).toBe(true);
    ledger.hllAdd({ key: h, epoch: 0, generation: hllGeneration(ks, h) ?? 0, element: 'a', origin, node: 0, t: sim.now, exempt: false });
    const m = key('m0');
    expect(ks.cmsInit(m, 50, 3).ok).toBe(true);
    expect(ks.cmsIncrBy(m, [[Buffer.from('i1'), 3]]).ok).toBe(true);
    ledger.cmsAdd(m, 0, cmsHeader(ks, m) ?? '', 'i1', origin, 3, sim.now);
    sim.runUntil(sim.now + 3000);
    expect(checkLostWrites(ledger, stores(sim), sim.localNow(0), sim.now)).toEqual([]);
    // Planted: more than was written, an element never added, a count never made.
    ledger.windowWrite(w, 0, header, bucket, origin, 9, 'planted');
    ledger.hllAdd({ key: h, epoch: 0, generation: hllGeneration(ks, h) ?? 0, element: 'never-added', origin, node: 0, t: sim.now, exempt: false });
    ledger.cmsAdd(m, 0, cmsHeader(ks, m) ?? '', 'i2', origin, 1, sim.now);
    const kinds = checkLostWrites(ledger, stores(sim), sim.localNow(0), sim.now).map((x) => x.kind);
    expect(kinds.sort()).toEqual(['cms under-counts', 'hll element lost', 'window bucket below an acknowledged increment']);
    // A delete generation removes them by design: nothing is required any more.
    ks.del(w);
    ks.del(h);
    ks.del(m);
    sim.runUntil(sim.now + 3000);
    expect(checkLostWrites(ledger, stores(sim), sim.localNow(0), sim.now)).toEqual([]);
  });

  it('wait-overcount: a faked WAIT count before anyone holds the write', () => {
    const { sim, ledger, holders } = cluster();
    const v = incr(sim, ledger, 0, 2);
    const origin = node(sim, 0).replica.origin;
    const fake = { ok: true, count: 2, needed: 2 };
    expect(checkWait(ledger, holders, 3, 0, origin, v, fake, sim.now, 'WAIT 2')?.invariant).toBe('wait-overcount');
    sim.runUntil(sim.now + 2000);
    expect(checkWait(ledger, holders, 3, 0, origin, v, fake, sim.now, 'WAIT 2')).toBeUndefined();
  });

  it('wait-overcount: a peer that left is judged by what it held as it left (explorer seeds 8787, 58073)', () => {
    const { sim, ledger, holders } = cluster();
    const v = incr(sim, ledger, 0, 2);
    const origin = node(sim, 0).replica.origin;
    sim.runUntil(sim.now + 2000); // n1 and n2 hold it
    // n1 leaves; the writer (paused, say) has not heard and still counts it: that is no over-count.
    const gone = (k: number): ReturnType<Holders> => (k === 1 ? undefined : holders(k));
    const counted = { ok: true, count: 2, needed: 2 };
    ledger.departures.set(1, { t: sim.now, held: joinStates([node(sim, 1).replica.keyspace]) });
    expect(checkWait(ledger, gone, 3, 0, origin, v, counted, sim.now, 'WAIT 2')).toBeUndefined();
    // Had it left holding nothing of it, counting it is.
    ledger.departures.set(1, { t: sim.now, held: new Keyspace('n1:9') });
    const v2 = checkWait(ledger, gone, 3, 0, origin, v, counted, sim.now, 'WAIT 2');
    expect(v2?.invariant).toBe('wait-overcount');
    expect(v2?.detail).toContain('when it left');
    // And a peer that left before the write never held it.
    ledger.departures.set(1, { t: sim.now - 5000, held: joinStates([node(sim, 1).replica.keyspace]) });
    expect(checkWait(ledger, gone, 3, 0, origin, v, counted, sim.now, 'WAIT 2')?.detail).toContain('nothing (left before the write)');
  });

  it('wait-overcount: the real WAIT of a converged cluster passes', () => {
    const { sim, ledger, holders } = cluster();
    const r = node(sim, 1).replica;
    const v = incr(sim, ledger, 1, 4);
    let result: ReturnType<typeof checkWait> | 'pending' = 'pending';
    r.awaitHolders(v, 2, sim.localNow(1) + 2000, (o) => {
      expect(o.count).toBe(2);
      result = checkWait(ledger, holders, 3, 1, r.origin, v, o, sim.now, 'WAIT 2');
    });
    sim.runUntil(sim.now + 2500);
    expect(result).toBeUndefined();
  });

  it('majority-read: a read that misses a majority write acknowledged before it', () => {
    const { sim, ledger } = cluster();
    const v = incr(sim, ledger, 0, 9);
    ledger.majorityAcked(node(sim, 0).replica.origin, v, 'planted ack');
    const start = ++ledger.seq;
    expect(checkMajorityRead(ledger, 1, node(sim, 1).replica.keyspace, [K], start, sim.now).map((x) => x.invariant)).toEqual(['majority-read']);
    // Reads of other keys, and reads that started before the ack, are not bound by it.
    expect(checkMajorityRead(ledger, 1, node(sim, 1).replica.keyspace, [key('other')], start, sim.now)).toEqual([]);
    expect(checkMajorityRead(ledger, 1, node(sim, 1).replica.keyspace, [K], 0, sim.now)).toEqual([]);
    sim.runUntil(sim.now + 2000);
    expect(checkMajorityRead(ledger, 1, node(sim, 1).replica.keyspace, [K], start, sim.now)).toEqual([]);
  });

  it('known-overclaim: a known version advanced without the data', () => {
    const { sim, ledger } = cluster();
    const v = incr(sim, ledger, 0, 3);
    const checked = new Map<string, number>();
    expect(checkKnown(ledger, sim, 1, node(sim, 1).replica.keyspace, checked)).toEqual([]);
    node(sim, 1).replica.versions.advance(node(sim, 0).replica.origin, v); // planted
    expect(checkKnown(ledger, sim, 1, node(sim, 1).replica.keyspace, checked).map((x) => x.invariant)).toEqual(['known-overclaim']);
  });

  it('convergence: a partition that never heals; then the heal converges', () => {
    const { sim, ledger } = cluster();
    sim.partition((i) => (i === 0 ? 0 : 1));
    incr(sim, ledger, 0, 1);
    incr(sim, ledger, 2, 1);
    sim.runUntil(sim.now + 5000);
    expect(checkConvergence(sim, 5000)?.kind).toBe('states differ');
    sim.heal();
    sim.runUntil(sim.now + 10_000);
    expect(checkConvergence(sim, 10_000)).toBeUndefined();
  });

  it('resurrection: a stale live state merged into a collected key is caught; a key written again after collection is not', () => {
    const { sim } = cluster();
    const a = node(sim, 0).replica.keyspace;
    a.incrBy(K, 5);
    const stale = a.encodeKey(K);
    if (stale === undefined) throw new Error('no state');
    a.del(K);
    const grave = new Keyspace('grave:0');
    a.collectTombstones((k, st) => void grave.mergeRemote(k, st.tag, st.bytes));
    expect(a.entry(K)).toBeUndefined();
    expect(checkResurrections(stores(sim), grave, sim.now)).toEqual([]);
    a.incrBy(K, 2); // written again: starts above the collected slot
    expect(checkResurrections(stores(sim), grave, sim.now)).toEqual([]);
    node(sim, 1).replica.keyspace.mergeRemote(K, stale.tag, stale.bytes); // the pre-delete state comes back
    const v = checkResurrections(stores(sim), grave, sim.now);
    expect(v.map((x) => x.invariant)).toEqual(['resurrection']);
    expect(v[0]?.detail).toContain('n1: c0 is 5');
  });

  it('digest: equal vector hashes over different states', () => {
    const { sim } = cluster();
    expect(checkDigests(sim)).toBeUndefined();
    // Planted: state merged into node 1 without any version, so its digest does not change.
    const other = new Keyspace('x:1');
    other.incrBy(K, 1);
    const e = other.encodeKey(K);
    if (e === undefined) throw new Error('no state');
    node(sim, 1).replica.keyspace.mergeRemote(K, e.tag, e.bytes);
    expect(checkDigests(sim)?.invariant).toBe('digest');
  });

  it('traffic: the simulator stops a run past its frame limits', () => {
    const sim = new Simulation({ nodes: 3, seed: 1, limits: { inFlight: 2 } });
    expect(() => sim.runUntil(5000)).toThrow(SimOverload);
  });
});

/** A keyspace on a settable clock, as a node's: its keys expire by it. */
function clocked(origin: string, clock: { t: number }): Keyspace {
  return new Keyspace(origin, { clock: { now: () => clock.t } });
}

/** INCRBY on a standalone keyspace, recorded in the ledger with the epoch it was taken in, as the workload does. */
function write(ledger: Ledger, ks: Keyspace, n: number, k = K): void {
  expect(ks.incrBy(k, n).ok).toBe(true);
  const slot = counterSlot(ks, k, ks.replicaId);
  if (slot === undefined) throw new Error('not a counter');
  ledger.counterWrite({ key: k, epoch: epochOf(ks, k), origin: ks.replicaId, node: 0, version: 1, slot, t: 0 });
}

/** `from`'s state of `k` wrapped as epoch `epoch` with no TTL: a forged state of a later epoch. */
function forged(from: Keyspace, epoch: number, k = K): { tag: number; bytes: Uint8Array } {
  const e = from.encodeKey(k);
  if (e === undefined) throw new Error('no state');
  return encodeWithLife({ epoch, ttlVersion: 1, deadline: null }, e);
}

const kinds = (vs: { kind: string }[]): string[] => vs.map((v) => v.kind).sort();

describe('explorer checkers: expiry', () => {
  const T0 = EPOCH_MS;

  it('lost-write: an ended epoch takes its writes, but only an epoch in which a TTL was set may end', () => {
    const clock = { t: T0 };
    const a = clocked('a:1', clock);
    const ledger = new Ledger();
    write(ledger, a, 5);
    expect(a.expire(K, T0 + 1000)).toBe(true);
    clock.t = T0 + 1000;
    expect(a.exists(K)).toBe(false);
    // Planted: the ledger never heard of the TTL, so the expiry erased writes of an epoch that could not end.
    expect(kinds(checkLostWrites(ledger, [a], T0, 0))).toEqual(['an epoch with no TTL set in it ended']);
    expect(checkLostWrites(ledger, [a], T0, 0)[0]?.invariant).toBe('expiry');
    ledger.ttlSet(K, 0, T0 + 1000, 'EXPIRE on n0');
    expect(checkLostWrites(ledger, [a], T0, 0)).toEqual([]);
    // An increment acknowledged after the key expired on its node is required, as any other.
    write(ledger, a, 2);
    expect(epochOf(a, K)).toBe(1);
    expect(checkLostWrites(ledger, [a], T0, 0)).toEqual([]);
    // Planted: that epoch erased by a later one although no TTL was ever set in it.
    const b = new Keyspace('b:1');
    b.incrBy(K, 1);
    const f = forged(b, 2);
    expect(a.mergeRemote(K, f.tag, f.bytes)).toEqual({ ok: true, value: true });
    expect(kinds(checkLostWrites(ledger, [a], T0, 0))).toEqual(['an epoch with no TTL set in it ended']);
    // Planted: the next epoch's write lost without any later epoch (its slot gone).
    const t = new Ledger();
    t.ttlSet(K, 0, T0 + 1000, 'EXPIRE on n0');
    t.counterWrite({ key: K, epoch: 1, origin: 'a:1', node: 0, version: 2, slot: { p: 3, n: 0 }, t: 0 });
    const c = clocked('a:1', clock);
    c.incrBy(K, 1);
    c.expire(K, T0 + 1000);
    c.incrBy(K, 2); // epoch 1, slot p=2 < 3
    expect(kinds(checkLostWrites(t, [c], T0, 0))).toEqual(['counter slot below an acknowledged write']);
  });

  it('expiry: no increment of an ended epoch is visible after the heal', () => {
    const clock = { t: T0 };
    const a = clocked('a:1', clock);
    const ledger = new Ledger();
    write(ledger, a, 5);
    a.expire(K, T0 + 1000);
    ledger.ttlSet(K, 0, T0 + 1000, 'EXPIRE');
    clock.t = T0 + 1000;
    write(ledger, a, 2); // epoch 1: a:1's slot starts afresh
    expect(a.getCounter(K)).toEqual({ ok: true, value: 2 });
    expect(checkExpiry(ledger, [{ i: 0, ks: a }], 0)).toEqual([]);
    // Planted: epoch 0's slot carried into epoch 1 (as a merge that joined the epochs would).
    const old = new Keyspace('a:1');
    old.incrBy(K, 5);
    const f = forged(old, 1);
    a.mergeRemote(K, f.tag, f.bytes);
    expect(a.getCounter(K)).toEqual({ ok: true, value: 5 });
    const v = checkExpiry(ledger, [{ i: 0, ks: a }], 0);
    expect(kinds(v)).toEqual(['an increment of an ended epoch survives']);
    expect(v[0]?.invariant).toBe('expiry');
  });

  it('expiry: a key in an epoch nobody wrote holds nothing, on every node', () => {
    const clock = { t: T0 };
    const a = clocked('a:1', clock);
    const ledger = new Ledger();
    const h = key('h0');
    expect(a.pfadd(h, ['x', 'y']).ok).toBe(true);
    ledger.touch(h, 0);
    a.expire(h, T0 + 1000);
    clock.t = T0 + 1000;
    a.sweepExpired(10);
    expect(checkExpiry(ledger, [{ i: 0, ks: a }], 0)).toEqual([]);
    // Planted: the ended epoch's HLL lives on in the next epoch, which nobody wrote.
    const old = new Keyspace('a:1');
    old.pfadd(h, ['x', 'y']);
    const f = forged(old, 1, h);
    a.mergeRemote(h, f.tag, f.bytes);
    expect(kinds(checkExpiry(ledger, [{ i: 0, ks: a }], 0))).toEqual(['a key in an epoch nobody wrote holds state']);
    // Written in that epoch (as the ledger records every operation's epochs): allowed.
    ledger.touch(h, 1);
    expect(checkExpiry(ledger, [{ i: 0, ks: a }], 0)).toEqual([]);
  });

  it('expiry: an expired key nobody reads frees its memory by the sweep', () => {
    const clock = { t: T0 };
    const a = clocked('a:1', clock);
    const ledger = new Ledger();
    write(ledger, a, 5);
    a.expire(K, T0 + 1000);
    ledger.ttlSet(K, 0, T0 + 1000, 'EXPIRE');
    clock.t = T0 + 1000 + SWEEP_SLACK_MS;
    // Planted: nothing swept (a node whose tick never swept); the checker itself must not end it.
    expect(kinds(checkExpiry(ledger, [{ i: 0, ks: a }], 0))).toEqual(['an expired key still holds its state']);
    expect(kinds(checkExpiry(ledger, [{ i: 0, ks: a }], 0))).toEqual(['an expired key still holds its state']);
    expect(a.sweepExpired(10)).toBe(1);
    expect(checkExpiry(ledger, [{ i: 0, ks: a }], 0)).toEqual([]);
  });

  it('expiry: an epoch ends on a node only once a deadline set in it passed on that node\'s clock', () => {
    const ledger = new Ledger();
    expect(checkEpochEnd(ledger, 0, K, 0, T0, 0)?.kind).toBe('an epoch ended on a node before any deadline set in it passed on its clock');
    ledger.ttlSet(K, 0, T0 + 500, 'EXPIRE on n1');
    // Planted: the node's clock is before the only deadline.
    expect(checkEpochEnd(ledger, 0, K, 0, T0 + 499, 0)?.invariant).toBe('expiry');
    expect(checkEpochEnd(ledger, 0, K, 0, T0 + 500, 0)).toBeUndefined();
    // A node whose clock runs ahead ends it early by true time: allowed, its clock passed the deadline.
    ledger.ttlSet(K, 1, T0 + 60_000, 'EXPIRE on n2');
    expect(checkEpochEnd(ledger, 2, K, 1, T0 + 60_000, 0)).toBeUndefined();
    expect(checkEpochEnd(ledger, 2, K, 1, T0 + 59_999, 0)).toBeDefined();
  });

  it('wait, known and majority reads: a write whose epoch ended on a peer is not missing there', () => {
    const { sim, ledger, holders } = cluster();
    const v = incr(sim, ledger, 0, 4);
    const origin = node(sim, 0).replica.origin;
    sim.runUntil(sim.now + 2000);
    // The key expires on every node (a TTL everyone holds); the write went with it, by design.
    expect(node(sim, 0).replica.keyspace.expire(K, Math.floor(sim.localNow(0)) + 100)).toBe(true);
    ledger.ttlSet(K, 0, Math.floor(sim.localNow(0)) + 100, 'PEXPIRE 100');
    sim.runUntil(sim.now + 2000);
    for (let i = 0; i < 3; i++) expect(epochOf(node(sim, i).replica.keyspace, K)).toBe(1);
    // Node 0 no longer holds it either, so a WAIT that counts peers for it over-counts nothing.
    expect(checkWait(ledger, holders, 3, 0, origin, v, { ok: true, count: 2, needed: 2 }, sim.now, 'WAIT 2')).toBeUndefined();
    node(sim, 1).replica.versions.advance(origin, v + 5);
    expect(checkKnown(ledger, sim, 1, node(sim, 1).replica.keyspace, new Map())).toEqual([]);
    ledger.majorityAcked(origin, v, 'ack');
    expect(checkMajorityRead(ledger, 1, node(sim, 1).replica.keyspace, [K], ++ledger.seq, sim.now)).toEqual([]);
    expect(checkLostWrites(ledger, stores(sim), sim.localNow(0), sim.now)).toEqual([]);
  });
});

describe('exploreSeed', () => {
  it('is a pure function of the seed: the same history and outcome twice', () => {
    for (const seed of [3, 11]) {
      const a = exploreSeed(seed, { trace: true });
      const b = exploreSeed(seed, { trace: true });
      expect(b).toEqual(a);
      expect(a.trace.length).toBeGreaterThan(10);
    }
    expect(exploreSeed(4, { trace: true }).trace).not.toEqual(exploreSeed(5, { trace: true }).trace);
  });

  it('exercises what it checks: acknowledged writes, WAIT, majority writes and reads, wipes, heals', () => {
    const totals = { counterWrites: 0, majorityWritesOk: 0, waits: 0, readsOk: 0, wipes: 0, heals: 0, ttlsSet: 0, persisted: 0, epochEnds: 0 };
    for (let seed = 1; seed <= 12; seed++) {
      const o = exploreSeed(seed);
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += o.stats[k];
      expect(o.replay).toBe(`node dist/src/cli/main.js simulate --explore --seed ${seed}`);
    }
    expect(totals.counterWrites).toBeGreaterThan(500);
    expect(totals.majorityWritesOk).toBeGreaterThan(20);
    expect(totals.waits).toBeGreaterThan(20);
    expect(totals.readsOk).toBeGreaterThan(20);
    expect(totals.wipes).toBeGreaterThan(0);
    expect(totals.heals).toBeGreaterThanOrEqual(12);
    // Expiry: TTLs set and removed, and epochs that ended on nodes' clocks during the histories.
    expect(totals.ttlsSet).toBeGreaterThan(50);
    expect(totals.persisted).toBeGreaterThan(0);
    expect(totals.epochEnds).toBeGreaterThan(50);
  });

  it('changes membership as it runs: joins, graceful leaves and removals, with majority reads checked after them', () => {
    // The invariant under test is the majority-read check: a read after a majority-acknowledged
    // write sees it, whatever joined, left or was removed in between (docs/consistency.md).
    let joins = 0;
    let leaves = 0;
    let removals = 0;
    let readsAfterChange = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const o = exploreSeed(seed, { trace: true });
      expect(o.ok, `seed ${seed}: ${o.violations.map((v) => v.detail).join('; ')}`).toBe(true);
      let changed = false;
      for (const line of o.trace) {
        if (/ join: n\d+ with only itself and the seed/.test(line)) [joins, changed] = [joins + 1, true];
        if (/ leave of n\d+ -> ok=true/.test(line)) [leaves, changed] = [leaves + 1, true];
        if (/ remove n\d+ through n\d+/.test(line)) [removals, changed] = [removals + 1, true];
        if (changed && / majority read .* -> ok=true/.test(line)) readsAfterChange++;
      }
    }
    expect(joins).toBeGreaterThan(5);
    expect(leaves).toBeGreaterThan(0);
    expect(removals).toBeGreaterThan(0);
    expect(readsAfterChange).toBeGreaterThan(20);
  }, 180_000);
});
