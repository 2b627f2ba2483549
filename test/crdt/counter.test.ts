// Unit tests of GCounter and PNCounter: range and type errors, observed reset, exists, bigint reads.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { CrdtError } from '../../src/crdt/errors.js';
import type { Result } from '../../src/util/result.js';
import { GCounter } from '../../src/crdt/g-counter.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { hash64Bytes, hash64Lo } from '../../src/crdt/hash64.js';
import { MAX, checkG, checkPN } from './counter-helpers.js';

function code(r: Result<unknown, CrdtError>): string | undefined {
  return r.ok ? undefined : r.error.code;
}

describe('GCounter', () => {
  it('counts, merges and returns same-class deltas', () => {
    const a = new GCounter();
    const b = new GCounter();
    const d1 = a.increment('a:1', 5);
    expect(d1.ok).toBe(true);
    if (!d1.ok) return;
    expect(d1.value).toBeInstanceOf(GCounter);
    expect(d1.value.replicaCount()).toBe(1);
    b.increment('b:1', 2);
    b.merge(d1.value);
    expect(b.value()).toBe(7);
    a.merge(b);
    expect(a.equals(b)).toBe(true);
    expect(a.increment('a:1').ok).toBe(true); // default n = 1
    expect(a.value()).toBe(8);
    checkG(a);
  });

  it('rejects decrements and non-integers, changing nothing', () => {
    const g = new GCounter();
    g.increment('a:1', 3);
    const before = g.clone();
    expect(code(g.increment('a:1', -1))).toBe('GCOUNTER_DECREMENT');
    for (const bad of [1.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)]) {
      expect(code(g.increment('a:1', bad))).toBe('COUNTER_NOT_INTEGER');
    }
    expect(g.equals(before)).toBe(true);
    expect(g.value()).toBe(3);
  });

  it('allows exactly 2^53-1 and refuses one more, changing nothing', () => {
    const g = new GCounter();
    expect(g.increment('a:1', MAX).ok).toBe(true);
    expect(g.value()).toBe(MAX);
    const before = g.clone();
    expect(code(g.increment('a:1', 1))).toBe('COUNTER_OVERFLOW');
    expect(code(g.increment('b:1', 1))).toBe('COUNTER_OVERFLOW'); // value, though b's slot has room
    expect(g.equals(before)).toBe(true);
    expect(g.replicaCount()).toBe(1);
    expect(g.increment('a:1', 0).ok).toBe(true); // a no-op
    // After a reset the value has room but a:1's slot does not: slots never shrink.
    g.reset();
    expect(g.incrementInPlace('a:1', 1)?.code).toBe('COUNTER_OVERFLOW');
    expect(g.incrementInPlace('b:1', MAX)).toBeUndefined();
    expect(g.value()).toBe(MAX);
    checkG(g);
  });

  it('reads an exact bigint once merges pass 2^53-1, and a number again after a reset', () => {
    const a = new GCounter();
    const b = new GCounter();
    a.increment('a:1', MAX);
    b.increment('b:1', MAX);
    a.merge(b);
    expect(a.value()).toBe(2n * BigInt(MAX));
    expect(code(a.increment('c:1', 1))).toBe('COUNTER_OVERFLOW');
    checkG(a);
    a.reset();
    expect(a.value()).toBe(0);
    expect(a.exists()).toBe(false);
  });

  it('rejects invalid replica ids as misuse', () => {
    const g = new GCounter();
    expect(() => g.increment('', 1)).toThrow(RangeError);
    expect(() => g.increment('x'.repeat(256), 1)).toThrow(RangeError);
    expect(() => g.increment('\ud800', 1)).toThrow(RangeError);
    expect(() => g.mergeSlot('a:1', 1, 0, 1, 0)).toThrow(RangeError); // decrements in a G-Counter
    expect(() => g.mergeSlot('a:1', 1, 2)).toThrow(RangeError); // floor above slot
    expect(() => g.merge(new PNCounter() as never)).toThrow(TypeError);
    expect(g.increment('é'.repeat(127), 1).ok).toBe(true); // 254 bytes
    expect(g.replicaCount()).toBe(1);
  });
});

describe('PNCounter', () => {
  it('increments, decrements and reads P - N', () => {
    const c = new PNCounter();
    c.increment('a:1', 10);
    c.decrement('a:1', 3);
    c.increment('b:1', -4);
    expect(c.value()).toBe(3);
    expect(c.replicaCount()).toBe(2);
    expect(code(c.decrement('a:1', 0.5))).toBe('COUNTER_NOT_INTEGER');
    checkPN(c);
  });

  it('allows exactly ±(2^53-1) and refuses one more, changing nothing', () => {
    const c = new PNCounter();
    expect(c.increment('a:1', MAX).ok).toBe(true);
    let before = c.clone();
    expect(code(c.increment('b:1', 1))).toBe('COUNTER_OVERFLOW');
    expect(c.equals(before)).toBe(true);
    const d = new PNCounter();
    expect(d.decrement('a:1', MAX).ok).toBe(true);
    expect(d.value()).toBe(-MAX);
    before = d.clone();
    expect(code(d.decrement('a:1', 1))).toBe('COUNTER_OVERFLOW');
    expect(code(d.decrement('b:1', 1))).toBe('COUNTER_OVERFLOW');
    expect(d.equals(before)).toBe(true);
    expect(d.increment('a:1', MAX).ok).toBe(true); // back to 0: P slot has room
    expect(d.value()).toBe(0);
    expect(d.exists()).toBe(true); // a key at 0 that was never deleted still exists
  });

  it('reads a bigint beyond the range; local ops may move it back toward the range only', () => {
    const a = new PNCounter();
    const b = new PNCounter();
    a.increment('a:1', MAX);
    b.increment('b:1', MAX);
    a.merge(b);
    expect(a.value()).toBe(2n * BigInt(MAX));
    expect(code(a.increment('c:1', 1))).toBe('COUNTER_OVERFLOW');
    expect(a.decrement('c:1', 1).ok).toBe(true);
    expect(a.value()).toBe(2n * BigInt(MAX) - 1n);
    expect(a.decrement('d:1', MAX).ok).toBe(true);
    expect(a.value()).toBe(MAX - 1); // a number again
    checkPN(a);
    // Both halves beyond the range, the difference small: a number.
    const c = new PNCounter();
    c.mergeSlot('a:1', MAX, 0);
    c.mergeSlot('b:1', MAX, 0);
    c.mergeSlot('c:1', 0, 0, MAX, 0);
    c.mergeSlot('d:1', 0, 0, MAX - 5, 0);
    expect(c.value()).toBe(5);
    expect(c.increment('e:1', MAX - 5).ok).toBe(true);
    expect(code(c.increment('e:1', 1))).toBe('COUNTER_OVERFLOW');
    checkPN(c);
  });

  it('observed reset removes exactly what the resetter saw', () => {
    const a = new PNCounter();
    const b = new PNCounter();
    a.increment('a:1', 5);
    b.merge(a);
    b.increment('b:1', 3); // a has not seen this
    const del = a.reset();
    expect(a.value()).toBe(0);
    expect(a.exists()).toBe(false);
    b.merge(del);
    a.merge(b);
    expect(a.value()).toBe(3);
    expect(b.value()).toBe(3);
    expect(a.equals(b)).toBe(true);
  });

  it('two concurrent resets of the same state give 0, not a double subtraction', () => {
    const a = new PNCounter();
    a.increment('a:1', 5);
    a.decrement('a:1', 1);
    const b = a.clone();
    const da = a.reset();
    const db = b.reset();
    a.merge(db);
    b.merge(da);
    expect(a.value()).toBe(0);
    expect(b.value()).toBe(0);
    expect(a.exists()).toBe(false);
    expect(a.increment('a:1', 2).ok).toBe(true); // the key comes back
    expect(a.value()).toBe(2);
  });

  it('set is a reset plus an increment, as one delta', () => {
    const a = new PNCounter();
    const b = new PNCounter();
    a.increment('a:1', 10);
    b.merge(a);
    b.increment('b:1', 2); // unseen by a's SET
    const s = a.set('a:1', -4);
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect(a.value()).toBe(-4);
    const c = new PNCounter();
    c.merge(s.value); // the delta alone carries the whole SET
    expect(c.value()).toBe(-4);
    b.merge(s.value);
    a.merge(b);
    expect(a.value()).toBe(-2);
    expect(b.value()).toBe(-2);
    expect(code(a.set('a:1', 1.5))).toBe('COUNTER_NOT_INTEGER');
    // A set that would overflow the slot changes nothing.
    const d = new PNCounter();
    d.increment('a:1', MAX);
    d.reset();
    const before = d.clone();
    expect(code(d.set('a:1', 1))).toBe('COUNTER_OVERFLOW');
    expect(d.equals(before)).toBe(true);
    expect(d.set('a:1', -MAX).ok).toBe(true); // the N slot has room
    expect(d.value()).toBe(-MAX);
    // Both of a:1's lanes are full: SET 0 still succeeds, as a reset to a 0 that does not exist.
    expect(d.set('a:1', 0).ok).toBe(true);
    expect(d.value()).toBe(0);
    expect(d.exists()).toBe(false);
  });

  it('set to 0 leaves a counter that exists at 0, on every replica, until a reset that saw it', () => {
    const a = new PNCounter();
    a.increment('a:1', 7);
    const s = a.set('a:1', 0);
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect(a.value()).toBe(0);
    expect(a.exists()).toBe(true);
    const b = new PNCounter();
    b.merge(s.value); // the delta carries it
    expect(b.value()).toBe(0);
    expect(b.exists()).toBe(true);
    b.reset(); // a DEL that observed the SET
    a.merge(b);
    expect(a.exists()).toBe(false);
    // A counter that already exists keeps its slots: set to 0 of an existing 0 changes nothing more.
    const c = new PNCounter();
    c.increment('c:1', 3);
    c.decrement('c:1', 3);
    const before = c.clone();
    c.existAtZero('c:1');
    expect(c.equals(before)).toBe(true);
  });

  it('deltas apply the operation on any replica; slice carries chosen slots', () => {
    const a = new PNCounter();
    const r = a.increment('a:1', 4);
    expect(r.ok && r.value instanceof PNCounter).toBe(true);
    const other = new PNCounter();
    other.increment('z:1', 1);
    if (r.ok) other.merge(r.value);
    expect(other.value()).toBe(5);
    a.incrementInPlace('a:1', -1);
    other.merge(a.slice(['a:1', 'nobody:1']));
    expect(other.value()).toBe(4);
    expect(other.byteSize()).toBeGreaterThan(a.byteSize());
  });

  it('keeps exact state when local writes move between replicas (fast-slot bookkeeping)', () => {
    const c = new PNCounter();
    for (const id of ['r:1', 'r:2', 'r:3']) {
      const other = new PNCounter();
      other.increment(id, 10);
      c.merge(other);
    }
    c.increment('r:3', 1); // a merged, non-first slot becomes the local one
    c.decrement('r:2', 2);
    c.increment('me:1', 5);
    c.increment('r:3', 1);
    expect(c.value()).toBe(35);
    expect(c.replicaCount()).toBe(4);
    expect(c.slotOf('r:3')).toStrictEqual({ id: 'r:3', p: 12, fp: 0, n: 0, fn: 0 });
    const d = PNCounter.decode(c.encode());
    expect(d.ok && d.value.equals(c)).toBe(true);
    expect(c.clone().equals(c)).toBe(true);
    checkPN(c);
  });
});

describe('the value, computed from the slots when read', () => {
  it('equals the exact sum of every slot above its floor, from 1 to 12 slots (searched and indexed), near and past 2^53-1; exists iff some slot is above its floor; encodingHash is the hash of encode()', () => {
    let big = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.integer({ min: 0, max: 11 }),
            p: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: MAX - 1000, max: MAX })),
            fpShare: fc.double({ min: 0, max: 1, noNaN: true }),
            n: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: MAX - 1000, max: MAX })),
            fnShare: fc.double({ min: 0, max: 1, noNaN: true }),
            reset: fc.boolean(),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        (ops) => {
          const c = new PNCounter();
          const g = new GCounter();
          for (const o of ops) {
            const fp = Math.floor(o.p * o.fpShare);
            const fn = Math.floor(o.n * o.fnShare);
            c.mergeSlot(`r${o.id}:1`, o.p, fp, o.n, fn);
            g.mergeSlot(`r${o.id}:1`, o.p, fp);
            if (o.reset && o.id === 0) {
              c.resetInPlace();
              g.resetInPlace();
            }
          }
          let p = 0n;
          let n = 0n;
          let gp = 0n;
          for (const s of c.entries()) {
            p += BigInt(s.p - s.fp);
            n += BigInt(s.n - s.fn);
          }
          for (const s of g.entries()) gp += BigInt(s.p - s.fp);
          const norm = (v: bigint): number | bigint => (v <= BigInt(MAX) && v >= -BigInt(MAX) ? Number(v) : v);
          if (p > BigInt(MAX) || n > BigInt(MAX)) big++;
          expect(c.value()).toStrictEqual(norm(p - n));
          expect(g.value()).toStrictEqual(norm(gp));
          expect(c.exists()).toBe(p > 0n || n > 0n);
          expect(g.exists()).toBe(gp > 0n);
          // A copy reads the same.
          expect(c.clone().value()).toStrictEqual(c.value());
          // The digest's hash of the state, without the bytes, is the hash of the bytes.
          for (const x of [c, g]) {
            const hi = x.encodingHash();
            const lo = hash64Lo();
            const bytes = x.encode();
            expect([hi, lo]).toEqual([hash64Bytes(bytes), hash64Lo()]);
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(big).toBeGreaterThan(0); // sums past 2^53-1 were met
  });
});
