// The state digest (src/keyspace/state-digest.ts) on its own: an XOR over keys, so it depends only on
// the set of (key, state) pairs folded in, never on the order; a key's change replaces its share; the
// bucket digests XOR to the whole; and the values are pinned, because nodes compare them over the
// wire: two builds that hashed differently would never agree again.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hash64String } from '../../src/crdt/hash64.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { DIGEST_BUCKETS, digestBucket, hashEncoded, StateDigest } from '../../src/keyspace/state-digest.js';
import { KeyColumns } from '../../src/keyspace/key-columns.js';
import type { Entry } from '../../src/keyspace/types.js';

type Enc = { tag: number; bytes: Uint8Array };

/** A placeholder entry of id `id`: the digest reads only its id (and whether it is superseded). */
const entryOfId = (id: number): Entry => ({ type: 'pncounter', crdt: new PNCounter(), id }) as Entry;

/**
 * A tiny keyspace: entries and their encodings, which a test changes and then marks changed. Its
 * entries are plain objects cast to `Entry`, each given an id as a key table gives them (a dropped
 * key's id goes to the next new key).
 */
class Store {
  readonly entries = new Map<string, Entry>();
  readonly encodings = new Map<string, Enc | undefined>();
  readonly columns = new KeyColumns();
  readonly digest = new StateDigest(this.columns);
  private nextId = 0;
  private readonly freeIds: number[] = [];

  set(key: string, enc: Enc | undefined): void {
    let e = this.entries.get(key);
    if (e === undefined) {
      e = entryOfId(this.freeIds.pop() ?? this.nextId++);
      this.entries.set(key, e);
    }
    this.encodings.set(key, enc);
    this.digest.changed(e, key);
  }

  /** Drops a key as the key table does: its share leaves the digest, its id's cells are cleared for the next key, its entry is marked no longer the key's. */
  drop(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.digest.removed(e, key);
    this.columns.clear(e.id as number);
    this.freeIds.push(e.id as number);
    e.superseded = true;
    this.entries.delete(key);
  }

  /** Whether `key`'s change is still to be folded in. */
  pending(key: string): boolean {
    return this.columns.pending((this.entries.get(key) as Entry).id as number);
  }

  /** Replaces a key's entry as the key table's `store` does: the new one takes the key's id (and with it its share), the old entry is marked. */
  replace(key: string, enc: Enc | undefined): Entry {
    const old = this.entries.get(key) as Entry;
    const e = entryOfId(old.id as number);
    old.superseded = true;
    this.entries.set(key, e);
    this.encodings.set(key, enc);
    this.digest.changed(e, key);
    return e;
  }

  read(): { value: string; buckets: Uint8Array } {
    this.digest.fold(
      (k) => this.entries.get(k),
      (k, _e, out) => hashEncoded(this.encodings.get(k), out),
    );
    return { value: this.digest.value(), buckets: this.digest.buckets() };
  }
}

const enc = (tag: number, ...bytes: number[]): Enc => ({ tag, bytes: Uint8Array.from(bytes) });

/** XOR of the buckets' (hi, lo) halves, as the 16 hex digits `value()` prints. */
function xorOfBuckets(buckets: Uint8Array): string {
  const v = new DataView(buckets.buffer, buckets.byteOffset, buckets.byteLength);
  let hi = 0;
  let lo = 0;
  for (let b = 0; b < DIGEST_BUCKETS; b++) {
    hi ^= v.getInt32(b * 8, true);
    lo ^= v.getInt32(b * 8 + 4, true);
  }
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

describe('state digest', () => {
  it('is zero when empty, in 16 hex digits, with 256 zero buckets', () => {
    const s = new Store();
    const r = s.read();
    expect(r.value).toBe('0000000000000000');
    expect(r.buckets).toEqual(new Uint8Array(DIGEST_BUCKETS * 8));
  });

  it('puts a key in the bucket its hash names, and only there', () => {
    for (const key of ['a', 'b', '\u0000views:1', 'x'.repeat(300)]) {
      const b = digestBucket(key);
      expect(b).toBe(hash64String(key) % DIGEST_BUCKETS);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(DIGEST_BUCKETS);
      const s = new Store();
      s.set(key, enc(2, 1, 2, 3));
      const { buckets } = s.read();
      for (let i = 0; i < DIGEST_BUCKETS; i++) {
        const nonZero = buckets.subarray(i * 8, i * 8 + 8).some((x) => x !== 0);
        expect(nonZero, `bucket ${i} of key ${key.slice(0, 8)}`).toBe(i === b);
      }
    }
  });

  it('pins its values: nodes of different builds compare them', () => {
    const s = new Store();
    s.set('\u0000a', enc(2, 1, 2, 1, 3, 97, 58, 49, 5));
    s.set('\u0000b', enc(3, 1, 3, 14, 0));
    const r = s.read();
    expect(r.value).toBe(PINNED_VALUE);
    expect(xorOfBuckets(r.buckets)).toBe(PINNED_VALUE);
  });

  it('depends on the set of (key, tag, bytes), not the order; a change replaces the key share', () => {
    const stateArb = fc.record({ tag: fc.integer({ min: 0, max: 70 }), bytes: fc.uint8Array({ maxLength: 12 }) });
    const opsArb = fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), stateArb), { maxLength: 25 });
    fc.assert(
      fc.property(opsArb, fc.array(fc.nat(), { maxLength: 25 }), (ops, foldAt) => {
        // One store folds after every write; another only at random points; a third gets only the
        // final state of each key, in reverse order.
        const eager = new Store();
        const lazy = new Store();
        const last = new Map<string, Enc>();
        ops.forEach(([k, st], i) => {
          eager.set(k, st);
          eager.read();
          lazy.set(k, st);
          if (foldAt.includes(i)) lazy.read();
          last.set(k, st);
        });
        const final = new Store();
        for (const [k, st] of [...last].reverse()) final.set(k, st);
        const want = final.read();
        for (const got of [eager.read(), lazy.read()]) {
          expect(got.value).toBe(want.value);
          expect(Buffer.from(got.buckets).equals(want.buckets)).toBe(true);
        }
        expect(xorOfBuckets(want.buckets)).toBe(want.value);
        expect(want.value).toMatch(/^[0-9a-f]{16}$/);
      }),
    );
  });

  it('tells apart the tag, the bytes and the key', () => {
    const digestOf = (key: string, e: Enc): string => {
      const s = new Store();
      s.set(key, e);
      return s.read().value;
    };
    const base = digestOf('k', enc(2, 1, 2, 3));
    expect(digestOf('k', enc(3, 1, 2, 3))).not.toBe(base);
    expect(digestOf('k', enc(2, 1, 2, 4))).not.toBe(base);
    expect(digestOf('j', enc(2, 1, 2, 3))).not.toBe(base);
    // Both halves depend on each input.
    for (const other of [digestOf('k', enc(3, 1, 2, 3)), digestOf('k', enc(2, 1, 2, 4)), digestOf('j', enc(2, 1, 2, 3))]) {
      expect(other.slice(0, 8)).not.toBe(base.slice(0, 8));
      expect(other.slice(8)).not.toBe(base.slice(8));
    }
  });

  it('changing a key back restores the digest; a key with no encoding keeps its last share', () => {
    const s = new Store();
    s.set('a', enc(2, 1));
    const one = s.read().value;
    s.set('b', enc(2, 2));
    const two = s.read().value;
    expect(two).not.toBe(one);
    s.set('b', enc(2, 9));
    expect(s.read().value).not.toBe(two);
    s.set('b', enc(2, 2));
    expect(s.read().value).toBe(two);
    s.set('b', undefined);
    expect(s.read().value).toBe(two);
    expect(s.pending('b')).toBe(false);
  });

  it('skips a queued key whose entry is gone or already folded', () => {
    const s = new Store();
    s.set('a', enc(2, 1));
    s.drop('a');
    expect(s.read().value).toBe('0000000000000000');
    const columns = new KeyColumns();
    const d = new StateDigest(columns);
    const e = entryOfId(0);
    d.changed(e, 'k');
    columns.setPending(0, false); // folded through another path
    d.fold(
      () => e,
      (_k, _e, out) => hashEncoded(enc(2, 1), out),
    );
    expect(d.value()).toBe('0000000000000000');
  });

  it('folds the entry queued with a key without looking it up, unless it was replaced or has a deadline', () => {
    const looked: string[] = [];
    const entries = new Map<string, Entry>();
    const fold = (d: StateDigest): void =>
      d.fold(
        (k) => {
          looked.push(k);
          return entries.get(k);
        },
        (_k, _e, out) => hashEncoded(enc(2, 1), out),
      );
    const columns = new KeyColumns();
    const d = new StateDigest(columns);
    const a = entryOfId(0);
    entries.set('a', a);
    d.changed(a, 'a');
    fold(d);
    expect(looked).toEqual([]);
    expect(columns.pending(0)).toBe(false);
    const once = d.value();
    expect(once).not.toBe('0000000000000000');

    // Replaced while queued: the replacement (which takes the key's id, and with it the pending
    // mark and share) is found by its key.
    const share = [columns.digestHi(0), columns.digestLo(0)];
    const a2 = entryOfId(0);
    d.changed(a, 'a');
    a.superseded = true;
    entries.set('a', a2);
    fold(d);
    expect(looked).toEqual(['a']);
    expect([columns.pending(0), columns.digestHi(0), columns.digestLo(0)]).toEqual([false, ...share]);
    expect(d.value()).toBe(once);

    // A key with a deadline is looked up (its read may end its life).
    const b: Entry = { type: 'pncounter', crdt: new PNCounter(), id: 1, life: { epoch: 0, ttlVersion: 1, deadline: 5 } } as Entry;
    entries.set('b', b);
    d.changed(b, 'b');
    fold(d);
    expect(looked).toEqual(['a', 'b']);
  });

  it('a dropped key queued again after it was made anew folds once, as its new entry', () => {
    const s = new Store();
    s.set('k', enc(2, 1));
    const one = s.read().value;
    s.set('k', enc(2, 2));
    s.drop('k');
    s.set('k', enc(2, 1));
    s.replace('k', enc(2, 1));
    expect(s.read().value).toBe(one);
  });

  it('a key with no state to fold, right after one with a state, leaves the digest as if it were not there', () => {
    const s = new Store();
    s.set('a', enc(2, 1));
    const one = s.read().value;
    // The same key, then one with no state, in one fold.
    const t = new Store();
    t.set('a', enc(2, 1));
    t.set('c', undefined);
    expect(t.read().value).toBe(one);
  });

  it('many keys queued at once (chunks of the queue) fold to what they fold to one at a time', () => {
    const all = new Store();
    const each = new Store();
    for (let i = 0; i < 10_000; i++) {
      all.set(`k${i}`, enc(2, i & 0xff, i >> 8));
      each.set(`k${i}`, enc(2, i & 0xff, i >> 8));
      if (i % 97 === 0) each.read();
    }
    expect(all.read()).toEqual(each.read());
    expect([...all.entries.keys()].every((k) => !all.pending(k))).toBe(true);
  });

  it('folds of any sizes, one after another (chunks sized by the fold before), fold what one fold of the end state folds', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 1, maxLength: 6 }), fc.nat(5000), (batches, shift) => {
        const stepwise = new Store();
        const once = new Store();
        let n = 0;
        for (const size of batches) {
          for (let i = 0; i < size; i++) {
            // Keys met again across batches, with new bytes each time.
            const key = `k${(n + i * 7 + shift) % 12_000}`;
            const e = enc(2, n & 0xff, i & 0xff, (i >> 8) & 0xff);
            stepwise.set(key, e);
            once.encodings.set(key, e);
          }
          n += size;
          stepwise.read();
        }
        for (const key of once.encodings.keys()) once.set(key, once.encodings.get(key));
        expect(stepwise.read()).toEqual(once.read());
        expect([...stepwise.entries.keys()].every((k) => !stepwise.pending(k))).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('a key queued while a fold runs (as a lookup that makes an expired key its next epoch does) is folded by the next fold, not lost', () => {
    const s = new Store();
    for (let i = 0; i < 5000; i++) s.set(`k${i}`, enc(2, i & 0xff));
    const late = entryOfId(5000);
    let queued = false;
    s.digest.fold(
      (k) => s.entries.get(k),
      (k, _e, out) => {
        if (!queued && k === 'k4999') {
          queued = true;
          s.entries.set('late', late);
          s.encodings.set('late', enc(2, 42));
          s.digest.changed(late, 'late');
        }
        return hashEncoded(s.encodings.get(k), out);
      },
    );
    expect(queued).toBe(true);
    expect(s.columns.pending(5000)).toBe(true);
    const expected = new Store();
    for (let i = 0; i < 5000; i++) expected.set(`k${i}`, enc(2, i & 0xff));
    expected.set('late', enc(2, 42));
    expect(s.read()).toEqual(expected.read());
    expect(s.columns.pending(5000)).toBe(false);
  });

  it("a dropped key's id, given to a new key, starts with no share: the new key folds in alone", () => {
    const s = new Store();
    s.set('a', enc(2, 1));
    s.set('b', enc(2, 2));
    s.read();
    s.drop('a');
    s.set('c', enc(2, 3)); // takes a's id
    const want = new Store();
    want.set('b', enc(2, 2));
    want.set('c', enc(2, 3));
    expect(s.read()).toEqual(want.read());
  });
});

const PINNED_VALUE = '23c37ad80b172303';
