// The pure helpers over one key entry (src/keyspace/entries.ts): which state of a key is visible,
// what counts as an empty husk, one shape for every entry, and the size limits a key must fit.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GCounter } from '../../src/crdt/g-counter.js';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { decodeState, KEY_TYPES, SPLIT_SAFE_BYTES, tagOf, type TypedCrdt } from '../../src/crdt/registry.js';
import { CrdtError } from '../../src/crdt/errors.js';
import type { Entry } from '../../src/keyspace/types.js';
import { decodeForMerge, entryFor, entryOf, husk, HUSK_COUNTER, isEmptyState, isHusk, isType, keyStateBudget, makeEntry, MAX_KEY_BYTES, MAX_KEY_ID, maxKeyBytesFor, newCounter, statesOf } from '../../src/keyspace/entries.js';

const pn = (n: number): TypedCrdt => {
  const c = new PNCounter();
  if (n !== 0) c.incrementInPlace('a:1', n);
  return { type: 'pncounter', crdt: c };
};
const g = (n: number): TypedCrdt => {
  const c = new GCounter();
  if (n !== 0) c.incrementInPlace('a:1', n);
  return { type: 'gcounter', crdt: c };
};
const hll = (live: boolean): TypedCrdt => {
  const h = HyperLogLog.create();
  h.add('x');
  if (!live) h.clear();
  return { type: 'hll', crdt: h };
};
const deleted = (t: TypedCrdt): TypedCrdt => {
  if (t.type === 'pncounter' || t.type === 'gcounter') t.crdt.resetInPlace();
  return t;
};

describe('entries', () => {
  it('isType tells the visible type', () => {
    const e = makeEntry('gcounter', new GCounter());
    expect(isType(e, 'gcounter')).toBe(true);
    expect(isType(e, 'pncounter')).toBe(false);
  });

  it('entryOf shows a live state before a deleted one, and among equals the higher tag; the rest stay beside it', () => {
    expect(tagOf('hll')).toBeGreaterThan(tagOf('pncounter'));
    // Live PN-Counter beside a deleted HLL (higher tag): the live one shows.
    const a = entryOf([deleted(hll(false)), pn(3)]);
    expect(a.type).toBe('pncounter');
    expect(statesOf(a).map((s) => s.type)).toEqual(['pncounter', 'hll']);
    // Two live states: the higher tag shows, whatever the order.
    expect(entryOf([pn(3), hll(true)]).type).toBe('hll');
    expect(entryOf([hll(true), pn(3)]).type).toBe('hll');
    // Nothing live: the higher tag shows.
    expect(entryOf([deleted(pn(3)), hll(false)]).type).toBe('hll');
    expect(entryOf([hll(false), deleted(pn(3))]).type).toBe('hll');
    // One state: no others at all.
    expect(entryOf([g(2)]).others).toBeUndefined();
  });

  it('a husk is a lone empty PN-Counter; an empty state is an empty counter of either type', () => {
    expect(isHusk(makeEntry('pncounter', new PNCounter()))).toBe(true);
    expect(isHusk(makeEntry('pncounter', pn(1).crdt as PNCounter))).toBe(false);
    expect(isHusk(makeEntry('gcounter', new GCounter()))).toBe(false);
    expect(isHusk(makeEntry('pncounter', new PNCounter(), [hll(true)]))).toBe(false);
    expect(isEmptyState(pn(0))).toBe(true);
    expect(isEmptyState(g(0))).toBe(true);
    expect(isEmptyState(pn(2))).toBe(false);
    expect(isEmptyState(g(2))).toBe(false);
    // A deleted counter still holds its slots (and floors): not empty.
    expect(isEmptyState(deleted(pn(2)))).toBe(false);
    expect(isEmptyState(hll(false))).toBe(false);
  });

  it('every entry has the same fields in the same order, with no others or life when there are none', () => {
    const entryFields = ['idType', 'key', 'rare'];
    // Three fields besides the state: the rare ones (other states, life) in one side object, the
    // type and the superseded mark beside the key's id in its table, and the key. (The key's
    // shares of the digest and counts are its table's, by id: key-columns.ts.)
    const held = [entryOf([pn(1), hll(true)]), makeEntry('hll', HyperLogLog.create(), [], { epoch: 0, ttlVersion: 0, deadline: null }), entryOf([husk()])];
    for (const e of held) expect(Object.keys(e)).toEqual([...entryFields, 'crdt']);
    // A counter key's entry is its counter: the counter's own four fields, then the same three.
    const counters = [makeEntry('pncounter', new PNCounter()), newCounter('gcounter'), newCounter('pncounter'), makeEntry('gcounter', g(3).crdt as GCounter, [hll(false)])];
    for (const e of counters) {
      expect(Object.keys(e)).toEqual(['rid', 'p', 'n', 'rest', ...entryFields]);
      expect(e.crdt).toBe(e);
    }
    expect(held[1]?.others).toBeUndefined();
    expect(held[1]?.life).toBeUndefined();
    expect(statesOf(held[0] as Entry).map((s) => s.type)).toEqual(['hll', 'pncounter']);
    expect(statesOf(counters[3] as Entry).map((s) => s.type)).toEqual(['gcounter', 'hll']);
    expect(makeEntry('hll', HyperLogLog.create(), undefined, { epoch: 2, ttlVersion: 1, deadline: 5 }).life).toEqual({ epoch: 2, ttlVersion: 1, deadline: 5 });
    expect(makeEntry('pncounter', pn(2).crdt as PNCounter, undefined, { epoch: 2, ttlVersion: 1, deadline: 5 }).life).toEqual({ epoch: 2, ttlVersion: 1, deadline: 5 });
    // The husk's entry holds the one shared state, not a copy of it.
    expect(entryOf([husk()]).crdt).toBe(HUSK_COUNTER);
  });

  it("a counter's entry is a copy of the state it was made from: no write to either reaches the other", () => {
    // Three slots, so that the copy has other slots (and a local write moves its slot to the front).
    const src = new PNCounter();
    src.incrementInPlace('a:1', 5);
    src.incrementInPlace('b:1', -2);
    src.incrementInPlace('c:1', 7);
    src.resetInPlace();
    src.incrementInPlace('c:1', 1);
    const before = src.encode();
    const e = makeEntry('pncounter', src);
    expect(e.crdt.encode()).toEqual(before);
    expect(e.crdt.value()).toBe(1);
    // Writes to the entry, to the first slot and to the others, leave the source as it was.
    e.crdt.incrementInPlace('a:1', 10);
    e.crdt.incrementInPlace('b:1', -3);
    expect(e.crdt.value()).toBe(8);
    expect(src.encode()).toEqual(before);
    // And writes to the source do not reach the entry.
    const after = e.crdt.encode();
    src.incrementInPlace('b:1', 100);
    src.resetInPlace();
    expect(e.crdt.encode()).toEqual(after);
    // A G-Counter likewise, made from another entry (withLife's way).
    const g1 = newCounter('gcounter');
    g1.crdt.incrementInPlace('a:1', 2);
    g1.crdt.incrementInPlace('b:1', 3);
    const g2 = makeEntry('gcounter', g1.crdt as GCounter, undefined, { epoch: 1, ttlVersion: 0, deadline: null });
    g2.crdt.incrementInPlace('a:1', 4);
    expect([g1.crdt.value(), g2.crdt.value()]).toEqual([5, 9]);
  });

  it('decodeForMerge decodes as decodeState does, states and errors alike, but reads a counter into an entry of its own', () => {
    const src = new PNCounter();
    src.incrementInPlace('a:1', 5);
    src.incrementInPlace('b:1', -2);
    const gsrc = new GCounter();
    gsrc.incrementInPlace('a:1', 3);
    const h = HyperLogLog.create();
    h.add('x');
    const valid: [number, Uint8Array][] = [
      [tagOf('pncounter'), src.encode()],
      [tagOf('gcounter'), gsrc.encode()],
      [tagOf('hll'), h.encode()],
      [tagOf('pncounter'), new PNCounter().encode()],
    ];
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.nat(), fc.nat(255), fc.boolean(), (which, pos, byte, mutate) => {
        const [tag, good] = valid[which] as [number, Uint8Array];
        const bytes = Uint8Array.from(good);
        if (mutate) bytes[pos % bytes.length] = byte;
        const a = decodeState(tag, bytes);
        const b = decodeForMerge(tag, bytes);
        if (a instanceof CrdtError) {
          expect(b).toBeInstanceOf(CrdtError);
          expect([(b as CrdtError).code, (b as CrdtError).message]).toEqual([a.code, a.message]);
          return;
        }
        expect(b).not.toBeInstanceOf(CrdtError);
        const t = b as TypedCrdt;
        expect(t.type).toBe(a.type);
        expect(t.crdt.encode()).toEqual(a.crdt.encode());
        // A counter is read into an entry (its own state, nothing shared with the bytes or another state).
        const entry = entryFor(t);
        expect(entry.crdt.encode()).toEqual(a.crdt.encode());
        if (t.type === 'pncounter' || t.type === 'gcounter') expect(entry).toBe(t.crdt);
        else expect(entry).not.toBe(t.crdt);
      }),
      { numRuns: 500 },
    );
  });

  it('entryFor takes a decoded counter as the entry only while no table holds it; else, and for any other counter, a copy', () => {
    const src = new PNCounter();
    src.incrementInPlace('a:1', 5);
    const t = decodeForMerge(tagOf('pncounter'), src.encode()) as TypedCrdt;
    const first = entryFor(t);
    expect(first).toBe(t.crdt);
    // Once a table holds it (its key and id set), the same state makes a copy.
    first.key = 'k';
    first.id = 0;
    const second = entryFor(t);
    expect(second).not.toBe(first);
    (second.crdt as PNCounter).incrementInPlace('a:1', 1);
    expect([(first.crdt as PNCounter).value(), (second.crdt as PNCounter).value()]).toEqual([5, 6]);
    // Held by no table but keyed, or with an id, or a plain counter, or an entry with a life: copies.
    const keyed = decodeForMerge(tagOf('pncounter'), src.encode()) as TypedCrdt;
    (keyed.crdt as unknown as Entry).key = 'j';
    expect(entryFor(keyed)).not.toBe(keyed.crdt);
    const withId = decodeForMerge(tagOf('gcounter'), new GCounter().encode()) as TypedCrdt;
    (withId.crdt as unknown as Entry).id = 3;
    expect(entryFor(withId)).not.toBe(withId.crdt);
    expect(entryFor(pn(2))).not.toBe(pn(2).crdt);
    const lived = makeEntry('pncounter', src, undefined, { epoch: 2, ttlVersion: 1, deadline: 5 });
    expect(entryFor({ type: 'pncounter', crdt: lived.crdt as PNCounter })).not.toBe(lived);
    const beside = makeEntry('pncounter', src, [hll(true)]);
    expect(entryFor({ type: 'pncounter', crdt: beside.crdt as PNCounter })).not.toBe(beside);
  });

  it("an entry's type and id are kept apart in one field, for every type and up to the largest id", () => {
    for (const type of KEY_TYPES) {
      // The state's class does not matter here: only the fields the entry packs.
      const e = makeEntry(type, new PNCounter() as never) as Entry;
      expect([e.type, e.id]).toEqual([type, -1]);
      for (const id of [0, 1, 4095, 4096, 123_456_789, MAX_KEY_ID, -1]) {
        e.id = id;
        expect([e.type, e.id]).toEqual([type, id]);
      }
    }
    // The largest id still packs into a 31-bit integer beside the type's 3 bits.
    expect((MAX_KEY_ID + 1) * 8 + 7).toBeLessThan(2 ** 31);
  });

  it("the superseded mark shares the id's word without disturbing the id or the type", () => {
    for (const type of KEY_TYPES) {
      const e = makeEntry(type, new PNCounter() as never) as Entry;
      expect(e.superseded).toBe(false);
      for (const id of [0, 4096, MAX_KEY_ID]) {
        e.id = id;
        e.superseded = true;
        expect([e.type, e.id, e.superseded]).toEqual([type, id, true]);
        // An id set on a superseded entry keeps the mark (a table never does, but nothing is lost).
        e.id = id - 1;
        expect([e.type, e.id, e.superseded]).toEqual([type, id - 1, true]);
        e.superseded = false;
        expect([e.type, e.id, e.superseded]).toEqual([type, id - 1, false]);
        e.superseded = false;
        expect(e.superseded).toBe(false);
      }
    }
  });

  it('size limits: a key state budget leaves the envelope and the key; keys keep room for a part', () => {
    expect(keyStateBudget(1 << 20, 'k'.repeat(10))).toBe((1 << 20) - 512 - 10 - 64);
    expect(keyStateBudget(4096, 'abc')).toBe(4096 - 512 - 3 - 64);
    expect(maxKeyBytesFor(1 << 20)).toBe(MAX_KEY_BYTES);
    expect(maxKeyBytesFor(4096)).toBe(Math.floor((4096 - 512 - 64 - SPLIT_SAFE_BYTES) / 2));
    expect(maxKeyBytesFor(4096)).toBe(1600);
    expect(maxKeyBytesFor(Infinity)).toBe(MAX_KEY_BYTES);
  });
});
