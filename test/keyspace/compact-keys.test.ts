// Compact keys (src/keyspace/key-table.ts, "compact keys"): a counter of one slot held with no entry,
// its key's string in the index and its count and slot in the table's columns. What they must never
// change is what anyone sees: a keyspace holding them answers, encodes, digests, counts and tells
// its listeners exactly what one without them does, whatever happens to the keys. The differential
// property below checks that step by step; the examples pin which operations keep a key compact
// (the memory the layout exists for), which make it an entry, and that a slot fold bringing an entry
// back to one slot makes it compact again.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TypeTag } from '../../src/crdt/codec.js';
import { GCounter } from '../../src/crdt/g-counter.js';
import { COUNTER_MAX, oneSlotCounterBytes, plainCounterBytes } from '../../src/crdt/counter-base.js';
import { plainCounterHash, writeOneSlotCounter, writePlainCounter } from '../../src/crdt/counter-codec.js';
import { ByteWriter } from '../../src/crdt/codec.js';
import { hash64Bytes, hash64Lo } from '../../src/crdt/hash64.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { COMPACT_MAX, COMPACT_SLOTS, KeyColumns } from '../../src/keyspace/key-columns.js';
import { KeyIndex } from '../../src/keyspace/key-index.js';
import { fullKey, Keyspace } from '../../src/keyspace/keyspace.js';

const T0 = 1_700_000_000_000;
const k = (name: string): string => fullKey(0, name);

/** Two keyspaces alike but for compact keys, on one clock, each logging what its listeners hear. */
function pair(): { on: Keyspace; off: Keyspace; clock: { t: number }; heardOn: unknown[]; heardOff: unknown[] } {
  const clock = { t: T0 };
  const on = new Keyspace('n1:1', { clock: { now: () => clock.t } });
  const off = new Keyspace('n1:1', { clock: { now: () => clock.t }, compact: false });
  const heardOn: unknown[] = [];
  const heardOff: unknown[] = [];
  on.onChange((key, origin, id) => heardOn.push([key, origin, id]));
  off.onChange((key, origin, id) => heardOff.push([key, origin, id]));
  return { on, off, clock, heardOn, heardOff };
}

/** Everything a keyspace shows of its state. */
function view(ks: Keyspace): unknown {
  const keys = [...ks.keys()];
  return {
    digest: ks.stateDigest(),
    buckets: Buffer.from(ks.bucketDigests()).toString('hex'),
    // (How many keys are compact is the one figure that differs, and is checked apart.)
    memory: { ...ks.memoryStats(), compact: undefined },
    bytes: ks.byteSize(),
    byDb: ks.countByDb(),
    byType: ks.countByType(),
    keys,
    ids: keys.map((key) => ks.idOf(key)),
    states: keys.map((key) => {
      const e = ks.encodeKey(key);
      return e === undefined ? null : [e.tag, Buffer.from(e.bytes).toString('hex')];
    }),
  };
}

type Op =
  | { op: 'incr'; key: number; n: number; g: boolean; at: boolean }
  | { op: 'get' | 'del' | 'exists' | 'type' | 'encode' | 'stored' | 'ttl'; key: number }
  | { op: 'expire'; key: number; ms: number }
  | { op: 'set'; key: number; n: number }
  | { op: 'pfadd'; key: number }
  | { op: 'peer'; key: number; n: number; g: boolean; p: number }
  | { op: 'peerdel' | 'peerjoin'; key: number; p: number }
  | { op: 'echo'; key: number }
  | { op: 'restart' }
  | { op: 'collect' }
  | { op: 'tick'; ms: number }
  | { op: 'fold' }
  | { op: 'slotfold' };

const keyArb = fc.integer({ min: 0, max: 5 });
/** Which of three peers (with us, four writers: one more than a compact key holds). */
const peerArb = fc.integer({ min: 0, max: 2 });
const nArb = fc.oneof(fc.constantFrom(1, 2, 7, 0, -1, -3, COUNTER_MAX, COUNTER_MAX - 1, 2 ** 31, COMPACT_MAX, COMPACT_MAX - 1, 1.5), fc.integer({ min: -5, max: 50 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('incr' as const), key: keyArb, n: nArb, g: fc.boolean(), at: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('get' as const, 'del' as const, 'exists' as const, 'type' as const, 'encode' as const, 'stored' as const, 'ttl' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const), key: keyArb, ms: fc.integer({ min: 1, max: 3000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('set' as const), key: keyArb, n: fc.integer({ min: -3, max: 9 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pfadd' as const), key: keyArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('peer' as const), key: keyArb, n: fc.integer({ min: -2, max: 9 }), g: fc.boolean(), p: peerArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('peerdel' as const, 'peerjoin' as const), key: keyArb, p: peerArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('echo' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'collect' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 4000 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'fold' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'slotfold' as const }) },
);

/**
 * The folds of our incarnations a restart retired into our pseudo-slot `n1:retired`, what
 * replication/slot-folds.ts decides once every member has seen their last values.
 */
function ownFolds(ks: Keyspace): (slots: readonly string[]) => readonly (readonly [string, string])[] | undefined {
  const me = ks.replicaId;
  return (slots) => {
    const old = slots.filter((s) => s !== me && s !== 'n1:retired' && s.startsWith('n1:'));
    return old.length === 0 ? undefined : old.map((s) => [s, 'n1:retired'] as const);
  };
}

/** Applies `o` to `ks` (one of `peers` writes and ships for 'peer'); returns what the operation answered. */
function apply(ks: Keyspace, peers: readonly Keyspace[], o: Op, restarts: number): unknown {
  const key = 'key' in o ? k(`c${o.key}`) : '';
  const peer = peers['p' in o ? o.p : 0] as Keyspace;
  switch (o.op) {
    case 'incr': {
      const createAs = o.g ? 'gcounter' : 'pncounter';
      if (!o.at) return ks.incrBy(key, o.n, createAs);
      const bytes = Buffer.from(`..${key.slice(1)}.`, 'latin1');
      return ks.incrByAt(0, bytes, 2, bytes.length - 1, o.n, createAs);
    }
    case 'get':
      return ks.getCounter(key);
    case 'del':
      return ks.del(key);
    case 'exists':
      return ks.exists(key);
    case 'type':
      return ks.typeOf(key);
    case 'ttl':
      return ks.deadlineOf(key);
    case 'encode': {
      const e = ks.encodeKey(key);
      const id = ks.idOf(key);
      return [e?.tag, e && Buffer.from(e.bytes).toString('hex'), id >= 0 ? Buffer.from(ks.encodeId(id)?.bytes ?? []).toString('hex') : null];
    }
    case 'stored': {
      // Inspection changes nothing: a compact key stays compact.
      const was = ks.isCompact(key);
      const e = ks.storedEntry(key);
      expect(ks.isCompact(key)).toBe(was);
      return e === undefined ? null : [e.type, e.key];
    }
    case 'expire':
      return ks.expire(key, T0 + o.ms);
    case 'set':
      return ks.setCounter(key, o.n);
    case 'pfadd':
      return ks.pfadd(key, ['a', 'b']);
    case 'peer': {
      // A peer's own writes (one slot of its id, a PN- or G-Counter; a decrement or a type clash fails there).
      const r = peer.incrBy(key, o.n, o.g ? 'gcounter' : 'pncounter');
      const e = peer.encodeKey(key);
      return [r, e === undefined ? null : ks.mergeRemote(key, e.tag, e.bytes)];
    }
    case 'peerdel': {
      // A delete on the peer (floors), shipped.
      peer.del(key);
      const e = peer.encodeKey(key);
      return e === undefined ? null : ks.mergeRemote(key, e.tag, e.bytes);
    }
    case 'peerjoin': {
      // The peer takes our state, writes, and ships it back: a slot more (with the other peers' it took before).
      const mine = ks.encodeKey(key);
      if (mine !== undefined) peer.mergeRemote(key, mine.tag, mine.bytes);
      peer.incrBy(key, 1);
      const e = peer.encodeKey(key);
      return e === undefined ? null : ks.mergeRemote(key, e.tag, e.bytes);
    }
    case 'echo': {
      // Our own state of the key, back from a peer that holds it as it is (a repair, a catch-up).
      const e = ks.encodeKey(key);
      return e === undefined ? null : ks.mergeRemote(key, e.tag, e.bytes);
    }
    case 'restart':
      ks.setReplicaId(`n1:${restarts + 2}`);
      return null;
    case 'collect':
      return ks.collectTombstones();
    case 'tick':
    case 'fold':
      return ks.stateDigest();
    case 'slotfold':
      // Mid-sequence, so that the operations after it meet keys a fold made compact again.
      return ks.foldSlots(ownFolds(ks));
  }
}

describe('compact keys', () => {
  it('a keyspace with compact keys answers, encodes, digests, counts and tells its listeners what one without them does, under any operations', () => {
    const slotsSeen: number[] = [];
    // (Size 'max': fast-check's default size drew 6 operations a run on average, too few to meet a
    // peer's stale copy of one of our slots.)
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }), (ops) => {
        const { on, off, clock, heardOn, heardOff } = pair();
        const peersOf = (): Keyspace[] => ['n2:1', 'n3:1', 'n4:1'].map((id) => new Keyspace(id, { clock: { now: () => clock.t } }));
        const peerOn = peersOf();
        const peerOff = peersOf();
        let restarts = 0;
        for (const o of ops) {
          if (o.op === 'tick') clock.t += o.ms;
          const a = apply(on, peerOn, o, restarts);
          const b = apply(off, peerOff, o, restarts);
          if (o.op === 'restart') restarts++;
          expect(a, JSON.stringify(o)).toEqual(b);
          expect(heardOn).toEqual(heardOff);
        }
        expect(view(on)).toEqual(view(off));
        expect(on.memoryStats().compact).toBe([...on.keys()].filter((key) => on.isCompact(key)).length);
        expect(off.memoryStats().compact).toBe(0);
        // The fold of slots a restart retired: every key folds alike, compact or not.
        const ids = [...on.counterSlotIds()];
        expect(ids.sort()).toEqual([...off.counterSlotIds()].sort());
        const before = heardOn.length;
        expect(on.foldSlots(ownFolds(on))).toBe(off.foldSlots(ownFolds(off)));
        expect(view(on)).toEqual(view(off));
        expect(heardOn).toEqual(heardOff);
        expect(off.memoryStats().compact).toBe(0);
        // Every key the fold changed and left a counter of one to three slots above 0 and within a
        // count cell, no floors, no decrements, no life, is compact again.
        for (const key of new Set(heardOn.slice(before).map((h) => (h as [string])[0]))) {
          const e = off.storedEntry(key);
          const ps: number[] = [];
          const plain = e !== undefined && e.others === undefined && e.life === undefined && (e.type === 'pncounter' || e.type === 'gcounter') && e.crdt.plainSlotsInto(COMPACT_SLOTS, [], ps) > 0;
          expect(on.isCompact(key), key).toBe(plain && ps.every((p) => p <= COMPACT_MAX));
        }
        // And the keys of several writers were met: the property reaches them (most runs hold some).
        slotsSeen.push(...[...on.keys()].filter((key) => on.isCompact(key)).map((key) => (on.storedEntry(key)?.crdt as PNCounter).replicaCount()));
      }),
      { numRuns: 300 },
    );
    expect(new Set(slotsSeen)).toEqual(new Set([1, 2, 3]));
  });

  it('INCR of new and held keys keeps them compact through reads, digests, encodings and counts; the rest makes an entry', () => {
    const ks = new Keyspace('n1:1', { clock: { now: () => T0 } });
    const a = k('a');
    expect(ks.incrBy(a, 1)).toEqual({ ok: true, value: 1 });
    expect(ks.incrBy(a, 41)).toEqual({ ok: true, value: 42 });
    const bytes = Buffer.from('xa', 'latin1');
    expect(ks.incrByAt(0, bytes, 1, 2, 8)).toEqual({ ok: true, value: 50 });
    expect(ks.incrBy(k('g'), 3, 'gcounter')).toEqual({ ok: true, value: 3 });
    ks.stateDigest();
    ks.memoryStats();
    expect([ks.getCounter(a), ks.exists(a), ks.typeOf(a), ks.typeOf(k('g')), ks.deadlineOf(a), ks.keyAt(0, bytes, 1, 2)]).toEqual([{ ok: true, value: 50 }, true, 'pncounter', 'gcounter', null, a]);
    const id = ks.idOf(a);
    const want = new PNCounter();
    want.increment('n1:1', 50);
    expect(ks.encodeKey(a)?.bytes).toEqual(want.encode());
    expect(ks.encodeId(id)?.bytes).toEqual(want.encode());
    const w = new ByteWriter(8);
    expect(ks.encodeIdInto(id, w)).toBe(TypeTag.PNCounter);
    expect(w.finish()).toEqual(want.encode());
    expect([ks.isCompact(a), ks.isCompact(k('g'))]).toEqual([true, true]);
    // A peer's one-slot state of a key new here is held compact; our INCR adds our slot, and a third
    // writer's makes three: still compact. A fourth writer's makes it an entry.
    const peer = new Keyspace('n2:1');
    peer.incrBy(k('p'), 4);
    const wire = peer.encodeKey(k('p'));
    expect(ks.mergeRemote(k('p'), wire?.tag as number, wire?.bytes as Uint8Array)).toEqual({ ok: true, value: true });
    expect(ks.mergeRemote(k('p'), wire?.tag as number, wire?.bytes as Uint8Array)).toEqual({ ok: true, value: false });
    expect([ks.isCompact(k('p')), ks.getCounter(k('p'))]).toEqual([true, { ok: true, value: 4 }]);
    expect(ks.incrBy(k('p'), 1)).toEqual({ ok: true, value: 5 });
    expect(ks.isCompact(k('p'))).toBe(true);
    const third = new Keyspace('n3:1');
    const ours = ks.encodeKey(k('p')) as { tag: number; bytes: Uint8Array };
    third.mergeRemote(k('p'), ours.tag, ours.bytes);
    third.incrBy(k('p'), 2);
    const three = third.encodeKey(k('p')) as { tag: number; bytes: Uint8Array };
    expect(ks.mergeRemote(k('p'), three.tag, three.bytes)).toEqual({ ok: true, value: true });
    expect([ks.isCompact(k('p')), ks.getCounter(k('p')), ks.incrBy(k('p'), 3)]).toEqual([true, { ok: true, value: 7 }, { ok: true, value: 10 }]);
    const want3 = new PNCounter();
    want3.increment('n2:1', 4);
    want3.increment('n3:1', 2);
    want3.increment('n1:1', 4);
    expect(ks.encodeKey(k('p'))?.bytes).toEqual(want3.encode());
    const fourth = new Keyspace('n4:1');
    fourth.incrBy(k('p'), 5);
    const four = fourth.encodeKey(k('p')) as { tag: number; bytes: Uint8Array };
    ks.mergeRemote(k('p'), four.tag, four.bytes);
    expect([ks.isCompact(k('p')), ks.getCounter(k('p'))]).toEqual([false, { ok: true, value: 15 }]);
    // A decrement, a TTL: an entry from then on. A write after a restart adds the new incarnation's slot.
    ks.incrBy(a, -1);
    expect(ks.isCompact(a)).toBe(false);
    expect(ks.getCounter(a)).toEqual({ ok: true, value: 49 });
    ks.incrBy(k('t'), 1);
    ks.expire(k('t'), T0 + 60_000);
    expect(ks.isCompact(k('t'))).toBe(false);
    ks.incrBy(k('r'), 1);
    ks.setReplicaId('n1:2');
    expect(ks.incrBy(k('r'), 1)).toEqual({ ok: true, value: 2 });
    expect(ks.isCompact(k('r'))).toBe(true);
    // A key made after the restart is compact under the new id.
    ks.incrBy(k('s'), 5);
    expect(ks.isCompact(k('s'))).toBe(true);
    expect([...ks.counterSlotIds()].sort()).toEqual(['n1:1', 'n1:2', 'n2:1', 'n3:1', 'n4:1']);
    // Made by INCRBY 0 or a decrement: not compact. SET of a missing key is its INCRBY (compact);
    // SET of a held one is an observed reset, floors and all (an entry).
    ks.incrBy(k('zero'), 0);
    ks.incrBy(k('neg'), -2);
    ks.setCounter(k('set'), 4);
    expect([ks.isCompact(k('zero')), ks.isCompact(k('neg')), ks.isCompact(k('set'))]).toEqual([false, false, true]);
    ks.setCounter(k('set'), 4);
    expect([ks.isCompact(k('set')), ks.getCounter(k('set'))]).toEqual([false, { ok: true, value: 4 }]);
  });

  it("a slot fold that leaves a key what a compact key holds makes it compact again: a restarted writer's keys, same id, same value, same digest", () => {
    const on = new Keyspace('n1:1', { clock: { now: () => T0 } });
    const off = new Keyspace('n1:1', { clock: { now: () => T0 }, compact: false });
    const heard: unknown[] = [];
    on.onChange((key, origin, id) => heard.push([key, origin, id]));
    const peer = new Keyspace('n2:1');
    peer.incrBy(k('both'), 2);
    const wire = peer.encodeKey(k('both')) as { tag: number; bytes: Uint8Array };
    peer.incrBy(k('clash'), 1, 'gcounter');
    const clash = peer.encodeKey(k('clash')) as { tag: number; bytes: Uint8Array };
    peer.incrBy(k('gclash'), 4);
    const gclash = peer.encodeKey(k('gclash')) as { tag: number; bytes: Uint8Array };
    peer.incrBy(k('newclash'), 1, 'gcounter');
    const newclash = peer.encodeKey(k('newclash')) as { tag: number; bytes: Uint8Array };
    // Made in this order, so the keys a fold makes compact again have ids past the first few.
    const names = ['both', 'ttl', 'dec', 'clash', 'gclash', 'big', 'again', 'r', 'g'];
    for (const ks of [on, off]) {
      ks.incrBy(k('both'), 1);
      ks.mergeRemote(k('both'), wire.tag, wire.bytes);
      ks.incrBy(k('ttl'), 1);
      ks.expire(k('ttl'), T0 + 60_000);
      ks.incrBy(k('dec'), 3);
      ks.incrBy(k('dec'), -1);
      // Live as a PN-Counter (ours) and a G-Counter (the peer's) at once.
      ks.incrBy(k('clash'), 1);
      ks.mergeRemote(k('clash'), clash.tag, clash.bytes);
      // The same, the other way round: our G-Counter is the state kept beside the peer's PN-Counter.
      ks.incrBy(k('gclash'), 1, 'gcounter');
      ks.mergeRemote(k('gclash'), gclash.tag, gclash.bytes);
      ks.incrBy(k('big'), COMPACT_MAX);
      ks.incrBy(k('big'), 1);
      ks.incrBy(k('again'), 2);
      ks.incrBy(k('r'), 5);
      ks.incrBy(k('g'), 2, 'gcounter');
      // The restart. A key written again after it holds the new incarnation's slot too.
      ks.setReplicaId('n1:2');
      ks.incrBy(k('again'), 1);
      // Keys made after the restart: compact under the new id, and no fold names their slots; one of
      // them live as two types, neither of which a fold names.
      ks.incrBy(k('s'), 3);
      ks.incrBy(k('newclash'), 2);
      ks.mergeRemote(k('newclash'), newclash.tag, newclash.bytes);
    }
    const all = [...names, 's', 'newclash'];
    const ids = all.map((n) => on.idOf(k(n)));
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Two writers (ours and the peer's, or our two incarnations): compact.
    expect(all.map((n) => on.isCompact(k(n)))).toEqual([true, false, false, false, false, false, true, true, true, true, false]);
    heard.length = 0;
    // Every key made before the restart held a slot of n1:1 (gclash only in the state beside its
    // shown one), and changes; the two made after it do not.
    expect(on.foldSlots(ownFolds(on))).toBe(9);
    expect(off.foldSlots(ownFolds(off))).toBe(9);
    // n1:retired's slot in place of n1:1's, beside the peer's or the new incarnation's or alone, with
    // no life, no decrements, no other type, within a count cell: compact. A TTL, a decrement, a type
    // clash, a count past 2^32-1: entries.
    expect(all.map((n) => on.isCompact(k(n)))).toEqual([true, false, false, false, false, false, true, true, true, true, false]);
    expect(all.map((n) => on.idOf(k(n)))).toEqual(ids);
    expect(heard).toEqual(names.map((n, i) => [k(n), 'remote', ids[i]]));
    expect([on.getCounter(k('r')), on.typeOf(k('g')), on.getCounter(k('g')), on.getCounter(k('big')), on.getCounter(k('again'))]).toEqual([{ ok: true, value: 5 }, 'gcounter', { ok: true, value: 2 }, { ok: true, value: COMPACT_MAX + 1 }, { ok: true, value: 3 }]);
    expect((on.storedEntry(k('r'))?.crdt as PNCounter).slotIds()).toEqual(['n1:retired']);
    expect(view(on)).toEqual(view(off));
    expect((on.storedEntry(k('again'))?.crdt as PNCounter).slotIds().sort()).toEqual(['n1:2', 'n1:retired']);
    expect([on.memoryStats().compact, off.memoryStats().compact]).toEqual([5, 0]);
    // It goes on as a compact key of the pseudo-slot: our INCR adds our slot beside it; a peer's
    // state of another type makes an entry.
    expect(on.incrBy(k('r'), 4)).toEqual({ ok: true, value: 9 });
    off.incrBy(k('r'), 4);
    expect(on.isCompact(k('r'))).toBe(true);
    const theirs = peer.encodeKey(k('both')) as { tag: number; bytes: Uint8Array };
    on.mergeRemote(k('g'), theirs.tag, theirs.bytes);
    off.mergeRemote(k('g'), theirs.tag, theirs.bytes);
    expect(on.isCompact(k('g'))).toBe(false);
    expect(view(on)).toEqual(view(off));
  });

  it("a fold makes compact a key of the first replica id the table lists, and a merge during a fold pass makes a new key", () => {
    // A peer's key of four incarnations, n3:1 to n3:4, all retired since: merged as an entry (four
    // slots, one more than a compact key holds), then folded into n3:retired alone, the first id this
    // table's list of compact slots holds.
    const peer = new Keyspace('n3:1');
    peer.incrBy(k('w'), 2);
    for (const i of [2, 3, 4]) {
      peer.setReplicaId(`n3:${i}`);
      peer.incrBy(k('w'), 1);
    }
    const two = peer.encodeKey(k('w')) as { tag: number; bytes: Uint8Array };
    const ks = new Keyspace('n9:1');
    ks.mergeRemote(k('w'), two.tag, two.bytes);
    expect(ks.isCompact(k('w'))).toBe(false);
    const folds = (ids: readonly string[]): readonly (readonly [string, string])[] | undefined => {
      const old = ids.filter((id) => id !== 'n3:retired' && id.startsWith('n3:'));
      return old.length === 0 ? undefined : old.map((id) => [id, 'n3:retired'] as const);
    };
    expect(ks.foldSlots(folds)).toBe(1);
    expect([ks.isCompact(k('w')), ks.getCounter(k('w'))]).toEqual([true, { ok: true, value: 5 }]);
    // A pass under way, and a merge of a key not held: the key is made, the pass reaches it later.
    ks.startFold(folds);
    const one = new Keyspace('n4:1');
    one.incrBy(k('new'), 7);
    const wire = one.encodeKey(k('new')) as { tag: number; bytes: Uint8Array };
    expect(ks.mergeRemote(k('new'), wire.tag, wire.bytes)).toEqual({ ok: true, value: true });
    expect(ks.foldStep(10)).toBe(0);
    expect([ks.isCompact(k('new')), ks.getCounter(k('new'))]).toEqual([true, { ok: true, value: 7 }]);
  });

  it('our count in a slot past the first: compact up to exactly 2^32-1, an entry past it', () => {
    const ks = new Keyspace('n1:1');
    const peer = new Keyspace('n2:1');
    peer.incrBy(k('x'), 1);
    const wire = peer.encodeKey(k('x')) as { tag: number; bytes: Uint8Array };
    ks.mergeRemote(k('x'), wire.tag, wire.bytes);
    expect(ks.incrBy(k('x'), COMPACT_MAX - 1)).toEqual({ ok: true, value: COMPACT_MAX });
    // Our slot's count exactly 2^32-1.
    expect(ks.incrBy(k('x'), 1)).toEqual({ ok: true, value: COMPACT_MAX + 1 });
    expect(ks.isCompact(k('x'))).toBe(true);
    expect(ks.incrBy(k('x'), 1)).toEqual({ ok: true, value: COMPACT_MAX + 2 });
    expect(ks.isCompact(k('x'))).toBe(false);
  });

  it('a merge that fills a compact key to three slots keeps it compact, whatever the cells read before it', () => {
    const ks = new Keyspace('n1:1');
    const [p2, p3, p4] = ['n2:1', 'n3:1', 'n4:1'].map((id) => new Keyspace(id)) as [Keyspace, Keyspace, Keyspace];
    const wireOf = (from: Keyspace, key: string): { tag: number; bytes: Uint8Array } => from.encodeKey(key) as { tag: number; bytes: Uint8Array };
    const ship = (from: Keyspace, key: string): void => {
      const wire = wireOf(from, key);
      ks.mergeRemote(key, wire.tag, wire.bytes);
    };
    // n4 builds on our y while it holds only our slot: its state is n4's and ours.
    ks.incrBy(k('y'), 1);
    const ours = wireOf(ks, k('y'));
    p4.mergeRemote(k('y'), ours.tag, ours.bytes);
    p4.incrBy(k('y'), 5);
    // y then gains n2's slot; x holds ours, n2's and n3's.
    p2.incrBy(k('y'), 1);
    ship(p2, k('y'));
    ks.incrBy(k('x'), 1);
    for (const p of [p2, p3]) {
      p.incrBy(k('x'), 1);
      ship(p, k('x'));
    }
    expect([ks.isCompact(k('x')), ks.isCompact(k('y'))]).toEqual([true, true]);
    // x read last: its third slot, n3's, is in no state of y.
    ks.encodeKey(k('x'));
    ship(p4, k('y'));
    expect([ks.isCompact(k('y')), ks.getCounter(k('y'))]).toEqual([true, { ok: true, value: 7 }]);
  });

  it('a count past a compact cell (2^32-1) makes an entry, exact to 2^53-1, and one past that fails as it always has', () => {
    const ks = new Keyspace('n1:1');
    ks.incrBy(k('big'), COMPACT_MAX - 1);
    expect(ks.isCompact(k('big'))).toBe(true);
    expect(ks.incrBy(k('big'), 1)).toEqual({ ok: true, value: COMPACT_MAX });
    expect(ks.isCompact(k('big'))).toBe(true);
    expect(ks.incrBy(k('big'), 1)).toEqual({ ok: true, value: COMPACT_MAX + 1 });
    expect(ks.isCompact(k('big'))).toBe(false);
    // Created past it, or merged in past it: an entry at once.
    ks.incrBy(k('huge'), COMPACT_MAX + 1);
    expect([ks.isCompact(k('huge')), ks.getCounter(k('huge'))]).toEqual([false, { ok: true, value: COMPACT_MAX + 1 }]);
    const peer = new Keyspace('n2:1');
    peer.incrBy(k('far'), 2 ** 40);
    const wire = peer.encodeKey(k('far'));
    ks.mergeRemote(k('far'), wire?.tag as number, wire?.bytes as Uint8Array);
    expect([ks.isCompact(k('far')), ks.getCounter(k('far'))]).toEqual([false, { ok: true, value: 2 ** 40 }]);
    ks.incrBy(k('max'), COUNTER_MAX);
    expect(ks.incrBy(k('max'), 1).ok).toBe(false);
    expect(ks.getCounter(k('max'))).toEqual({ ok: true, value: COUNTER_MAX });
  });

  it('the plain-slots codec helpers give what a counter of those one to three slots gives', () => {
    const rid = fc.stringMatching(/^[a-z][a-z0-9]{0,11}:[1-9][0-9]{0,5}$/);
    const count = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constant(COMPACT_MAX), fc.integer({ min: 1, max: COMPACT_MAX }));
    fc.assert(
      fc.property(fc.boolean(), fc.uniqueArray(fc.tuple(rid, count), { minLength: 1, maxLength: 3, selector: ([r]) => r }), (g, slots) => {
        const c = g ? new GCounter() : new PNCounter();
        for (const [r, p] of slots) c.increment(r, p);
        const tag = g ? TypeTag.GCounter : TypeTag.PNCounter;
        const rids = slots.map(([r]) => r);
        const ps = slots.map(([, p]) => p);
        expect(writePlainCounter(new ByteWriter(4), tag, rids, ps, slots.length).finish()).toEqual(c.encode());
        const hi = plainCounterHash(tag, rids, ps, slots.length);
        const lo = hash64Lo();
        expect([hi, lo]).toEqual([hash64Bytes(c.encode()), hash64Lo()]);
        expect(plainCounterBytes(slots.length, rids.join('').length)).toBe(c.byteSize());
        // Lists longer than k (a list reused by every call): only the first k count.
        const more = [...rids, 'a:0', '0:0'];
        expect(writePlainCounter(new ByteWriter(4), tag, more, [...ps, 5, 6], slots.length).finish()).toEqual(c.encode());
      }),
    );
  });

  it('the one-slot codec helpers give what a counter of that one slot gives', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.stringMatching(/^[a-z][a-z0-9]{0,11}:[1-9][0-9]{0,5}$/), fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constant(COUNTER_MAX), fc.integer({ min: 1, max: COUNTER_MAX })), (g, rid, p) => {
        const c = g ? new GCounter() : new PNCounter();
        c.increment(rid, p);
        const tag = g ? TypeTag.GCounter : TypeTag.PNCounter;
        const bytes = writeOneSlotCounter(new ByteWriter(4), tag, rid, p).finish();
        expect(bytes).toEqual(c.encode());
        const hi = plainCounterHash(tag, [rid], [p], 1);
        const lo = hash64Lo();
        expect([hi, lo]).toEqual([hash64Bytes(c.encode()), hash64Lo()]);
        expect(oneSlotCounterBytes(rid)).toBe(c.byteSize());
      }),
    );
  });
});

describe('KeyIndex with compact cells', () => {
  type Item = { key?: string; id?: number; made?: boolean };
  it('holds a compact key as its string; the raw ways make nothing, the entry ways make its entry once, in its place', () => {
    const made: [number, string][] = [];
    const index = new KeyIndex<Item>(1 << 20, () => 7);
    index.setPromote((id, key) => {
      made.push([id, key]);
      return { made: true };
    });
    const ids = ['a', 'b', 'c'].map((s) => index.addCompact(k(s)));
    const e: Item = {};
    index.add(k('d'), e);
    expect(ids).toEqual([0, 1, 2]);
    expect([index.idOf(k('b')), index.isCompact(1), index.cell(1), index.keyAt(1), index.isCompact(3), index.keyAt(3)]).toEqual([1, true, k('b'), k('b'), false, k('d')]);
    const bytes = Buffer.from('c', 'latin1');
    expect(index.idAt(0, bytes, 0, 1)).toBe(2);
    expect([...index.keys()]).toEqual([k('a'), k('b'), k('c'), k('d')]);
    expect([...index.entries()]).toEqual([e]);
    const cells: [unknown, number][] = [];
    index.forEachCell((c, id) => cells.push([c, id]));
    expect(cells).toEqual([[k('a'), 0], [k('b'), 1], [k('c'), 2], [e, 3]]);
    expect(made).toEqual([]);
    // Reached as an entry: made once, keyed and numbered, then held.
    const b = index.get(k('b')) as Item;
    expect(b).toEqual({ made: true, key: k('b'), id: 1 });
    expect(index.at(1)).toBe(b);
    expect(index.getAt(0, bytes, 0, 1)).toEqual({ made: true, key: k('c'), id: 2 });
    expect(made).toEqual([[1, k('b')], [2, k('c')]]);
    expect(index.isCompact(1)).toBe(false);
    // Many compact keys: the table grows and rehashes them by their strings.
    for (let i = 0; i < 5000; i++) index.addCompact(k(`m${i}`));
    for (let i = 0; i < 5000; i += 97) expect(index.idOf(k(`m${i}`))).toBe(4 + i);
    expect(index.idOf(k('a'))).toBe(0);
    expect(index.get(k('missing'))).toBeUndefined();
  });
});

describe('KeyColumns compact pages', () => {
  it('keep a compact key’s count and slot; a page left with none gives its arrays back at the next release, not before', () => {
    const c = new KeyColumns();
    c.setCompact(5, COMPACT_MAX, 3);
    c.setCompact(4100, 7, 0);
    expect([c.compactCount(5), c.compactSlot(5), c.compactCount(4100), c.compactSlot(4100), c.compactPages]).toEqual([COMPACT_MAX, 3, 7, 0, 2]);
    c.setCompactCount(5, 9);
    expect(c.compactCount(5)).toBe(9);
    c.uncompact(5);
    expect(c.compactPages).toBe(2);
    c.setCompact(6, 1, 2); // another key in the page before the release: it stays
    c.releaseCompactPages();
    expect([c.compactPages, c.compactCount(6)]).toEqual([2, 1]);
    c.uncompact(6);
    c.uncompact(4100);
    c.releaseCompactPages();
    expect(c.compactPages).toBe(0);
    c.setCompact(6, 4, 2);
    expect([c.compactPages, c.compactCount(6), c.compactSlot(6)]).toEqual([1, 4, 2]);
  });

  it('keep a compact key’s other slots, up to three in all; an id made compact again starts with one; a page given back gives them back too', () => {
    const c = new KeyColumns();
    c.setCompact(7, 5, 4);
    expect(c.compactWidth(7)).toBe(1);
    c.addCompactSlot(7, 0, 9);
    c.addCompactSlot(7, 2, COMPACT_MAX);
    expect([c.compactWidth(7), [0, 1, 2].map((j) => [c.compactSlotAt(7, j), c.compactCountAt(7, j)])]).toEqual([
      3,
      [[4, 5], [0, 9], [2, COMPACT_MAX]],
    ]);
    expect(() => c.addCompactSlot(7, 6, 1)).toThrow(/key-columns: compact key 7 holds 3 slots already/);
    c.setCompactCountAt(7, 0, 6);
    c.setCompactCountAt(7, 2, 1);
    expect([c.compactCount(7), c.compactCountAt(7, 1), c.compactCountAt(7, 2)]).toEqual([6, 9, 1]);
    // Its neighbours keep one slot each.
    c.setCompact(8, 1, 0);
    c.setCompact(6, 1, 0);
    expect([c.compactWidth(6), c.compactWidth(8)]).toEqual([1, 1]);
    // The id goes to another key: one slot again.
    c.uncompact(7);
    c.setCompact(7, 3, 8);
    expect([c.compactWidth(7), c.compactSlotAt(7, 0), c.compactCountAt(7, 0)]).toEqual([1, 8, 3]);
    c.addCompactSlot(7, 10, 2);
    expect([c.compactWidth(7), c.compactSlotAt(7, 1)]).toEqual([2, 10]);
    for (const id of [6, 7, 8]) c.uncompact(id);
    c.releaseCompactPages();
    expect(c.compactPages).toBe(0);
    c.setCompact(7, 1, 0);
    expect(c.compactWidth(7)).toBe(1);
  });
});

describe('compact keys at their edges', () => {
  const wireOf = (ks: Keyspace, key: string): { tag: number; bytes: Uint8Array } => ks.encodeKey(key) as { tag: number; bytes: Uint8Array };

  it('a counter is plain slots only with one to `max` slots, each above 0, no floors, no decrements', () => {
    const slots = (c: PNCounter | GCounter, max = COMPACT_SLOTS): unknown => {
      const rids: string[] = [];
      const ps: number[] = [];
      const n = c.plainSlotsInto(max, rids, ps);
      return n < 0 ? n : [rids.slice(0, n), ps.slice(0, n)];
    };
    const one = new PNCounter();
    expect(slots(one)).toBe(-1);
    one.increment('a:1', 1);
    expect(slots(one)).toEqual([['a:1'], [1]]);
    const g = new GCounter();
    g.increment('b:1', 3);
    g.increment('a:1', 2);
    expect(slots(g)).toEqual([['a:1', 'b:1'], [2, 3]]);
    const three = new PNCounter();
    for (const [r, n] of [['a:1', 1], ['b:1', 2], ['c:1', 3]] as const) three.increment(r, n);
    expect(slots(three)).toEqual([['c:1', 'a:1', 'b:1'], [3, 1, 2]]);
    expect(slots(three, 2)).toBe(-1);
    three.increment('d:1', 1);
    expect(slots(three)).toBe(-1);
    expect(slots(three, 4)).not.toBe(-1);
    const dec = new PNCounter();
    dec.increment('a:1', 5);
    dec.decrement('a:1', 1);
    expect(slots(dec)).toBe(-1);
    // A decrement in a slot past the first; a slot at 0 past the first (made to exist at 0 by INCRBY 0).
    const decTwo = new PNCounter();
    decTwo.increment('a:1', 5);
    decTwo.decrement('b:1', 1);
    decTwo.increment('a:1', 1);
    expect(slots(decTwo)).toBe(-1);
    const zero = new PNCounter();
    zero.increment('b:1', 0);
    zero.existAtZero('b:1');
    zero.increment('a:1', 2);
    expect(slots(zero)).toBe(-1);
    const reset = new PNCounter();
    reset.increment('a:1', 4);
    reset.reset();
    expect(slots(reset)).toBe(-1);
    // One slot above its floor (a delete observed, then a write): p 5, floor 4.
    reset.increment('a:1', 1);
    expect([reset.value(), slots(reset)]).toEqual([1, -1]);
    // A slot past the first above its floor, the first without one.
    const low = new PNCounter();
    low.increment('a:1', 4);
    low.reset();
    low.increment('a:1', 2);
    low.increment('b:1', 3);
    low.mergeSlot('b:1', 3, 0);
    const clean = new PNCounter();
    clean.increment('b:1', 3);
    clean.merge(low);
    expect(clean.slotOf('a:1')).toEqual({ id: 'a:1', p: 6, fp: 4, n: 0, fn: 0 });
    clean.increment('b:1', 1);
    expect(slots(clean)).toBe(-1);
    // Floors past the first slot (a delete observed, then a write by another).
    const floored = new PNCounter();
    floored.increment('a:1', 4);
    floored.increment('b:1', 1);
    floored.reset();
    floored.increment('a:1', 1);
    floored.increment('b:1', 1);
    expect(slots(floored)).toBe(-1);
    expect(oneSlotCounterBytes('n1:1')).toBe(60);
  });

  it('merged states: the first id a table meets, two peers in turn, a count of exactly 2^32-1, a count of 1', () => {
    const ks = new Keyspace('n1:1');
    const a = new Keyspace('na:1');
    const b = new Keyspace('nb:1');
    a.incrBy(k('x'), 1); // a count of 1, and the first id this table meets (index 0)
    b.incrBy(k('y'), COMPACT_MAX);
    ks.mergeRemote(k('x'), wireOf(a, k('x')).tag, wireOf(a, k('x')).bytes);
    ks.mergeRemote(k('y'), wireOf(b, k('y')).tag, wireOf(b, k('y')).bytes);
    a.incrBy(k('x'), 1);
    ks.mergeRemote(k('x'), wireOf(a, k('x')).tag, wireOf(a, k('x')).bytes);
    expect([ks.isCompact(k('x')), ks.isCompact(k('y'))]).toEqual([true, true]);
    expect([ks.getCounter(k('x')), ks.getCounter(k('y'))]).toEqual([{ ok: true, value: 2 }, { ok: true, value: COMPACT_MAX }]);
  });

  it('made by INCR: exactly 2^32-1 compact, not 0 or below, and beside a collected key of ours', () => {
    const ks = new Keyspace('n1:1');
    ks.incrBy(k('max'), COMPACT_MAX);
    ks.incrBy(k('zero'), 0);
    ks.incrBy(k('neg'), -1);
    expect([ks.isCompact(k('max')), ks.isCompact(k('zero')), ks.isCompact(k('neg'))]).toEqual([true, false, false]);
    expect([ks.getCounter(k('zero')), ks.getCounter(k('neg'))]).toEqual([{ ok: true, value: 0 }, { ok: true, value: -1 }]);
    // A collected key this node wrote keeps a base for its slot: that key is made an entry, any other compact.
    ks.incrBy(k('gone'), 3);
    ks.del(k('gone'));
    expect(ks.collectTombstones()).toEqual([k('gone')]);
    ks.incrBy(k('gone'), 1);
    ks.incrBy(k('other'), 1);
    expect([ks.isCompact(k('gone')), ks.isCompact(k('other')), ks.getCounter(k('gone'))]).toEqual([false, true, { ok: true, value: 1 }]);
    // The same for our slot added to a key a peer made: not beside a base of ours, compact beside one for another key.
    const peer = new Keyspace('n2:1');
    ks.incrBy(k('gone2'), 3);
    ks.del(k('gone2'));
    expect(ks.collectTombstones()).toEqual([k('gone2')]);
    for (const key of [k('gone2'), k('theirs')]) {
      peer.incrBy(key, 2);
      const wire = peer.encodeKey(key) as { tag: number; bytes: Uint8Array };
      ks.mergeRemote(key, wire.tag, wire.bytes);
      expect(ks.isCompact(key)).toBe(true);
    }
    expect(ks.incrBy(k('theirs'), COMPACT_MAX)).toEqual({ ok: true, value: COMPACT_MAX + 2 });
    expect(ks.incrBy(k('gone2'), 1)).toEqual({ ok: true, value: 3 });
    expect([ks.isCompact(k('theirs')), ks.isCompact(k('gone2'))]).toEqual([true, false]);
  });

  it('storedEntry reads a compact key as a copy and leaves it compact; an entry as itself; a missing key as nothing', () => {
    const ks = new Keyspace('n1:1');
    ks.incrBy(k('c'), 3);
    ks.incrBy(k('e'), -3);
    const c = ks.storedEntry(k('c'));
    expect([c?.type, c?.key, c && (c.crdt as PNCounter).value(), ks.isCompact(k('c'))]).toEqual(['pncounter', k('c'), 3, true]);
    expect(ks.storedEntry(k('c'))).not.toBe(c);
    expect(ks.storedEntry(k('e'))).toBe(ks.entry(k('e')));
    expect(ks.storedEntry(k('none'))).toBeUndefined();
    const seen: [string, unknown][] = [];
    ks.forEachStored((key, e) => seen.push([key, (e.crdt as PNCounter).value()]));
    expect(seen).toEqual([[k('c'), 3], [k('e'), -3]]);
    expect(ks.isCompact(k('c'))).toBe(true);
  });

  it("an index's cells are read by id across pages", () => {
    const index = new KeyIndex<{ key?: string; id?: number }>(1 << 20, () => 3);
    for (let i = 0; i < 4200; i++) {
      if (i % 3 === 0) index.add(k(`e${i}`), {});
      else index.addCompact(k(`c${i}`));
    }
    for (const id of [0, 1, 2, 3, 4095, 4096, 4097, 4199]) {
      const c = index.cell(id);
      const key = id % 3 === 0 ? k(`e${id}`) : k(`c${id}`);
      expect([typeof c === 'string' ? c : c?.key, index.isCompact(id), index.keyAt(id)]).toEqual([key, id % 3 !== 0, key]);
    }
  });
});
