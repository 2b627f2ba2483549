// Shared helpers for the counter tests: arbitrary states built through the public API, and an
// invariant checker that recomputes everything from the entries with bigints.
import fc from 'fast-check';
import { expect } from 'vitest';
import { COUNTER_MAX, GCounter } from '../../src/crdt/g-counter.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';

export const MAX = COUNTER_MAX;
export const IDS = ['a:1', 'b:1', 'b:2', 'c:1', 'd:7', 'é:1', 'n10:3', 'z:99'];

/** The canonical JS form of an exact value: a number when safe, else a bigint. */
export function norm(v: bigint): number | bigint {
  return v >= -BigInt(MAX) && v <= BigInt(MAX) ? Number(v) : v;
}

const amount = fc.oneof(
  { weight: 4, arbitrary: fc.nat(1000) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, MAX, MAX - 1, 2 ** 52) },
  { weight: 1, arbitrary: fc.maxSafeNat() },
);

/** A valid slot/floor pair. */
const slotArb = fc.tuple(amount, amount).map(([a, b]) => (a >= b ? [a, b] : [b, a]) as [number, number]);

export const gCounterArb: fc.Arbitrary<GCounter> = fc
  .array(fc.tuple(fc.constantFrom(...IDS), slotArb), { maxLength: 8 })
  .map((entries) => {
    const g = new GCounter();
    for (const [id, [p, f]] of entries) g.mergeSlot(id, p, f);
    return g;
  });

export const pnCounterArb: fc.Arbitrary<PNCounter> = fc
  .array(fc.tuple(fc.constantFrom(...IDS), slotArb, slotArb), { maxLength: 8 })
  .map((entries) => {
    const c = new PNCounter();
    for (const [id, [p, fp], [n, fn]] of entries) {
      c.mergeSlot(id, p, fp);
      c.mergeSlot(id, 0, 0, n, fn);
    }
    return c;
  });

function checkSlot(p: number, f: number): void {
  expect(Number.isSafeInteger(p) && Number.isSafeInteger(f)).toBe(true);
  expect(f >= 0 && f <= p && p <= MAX).toBe(true);
}

/** Checks every invariant of a counter against its entries, recomputing value and exists with bigints. */
export function checkCounter(c: GCounter | PNCounter): void {
  let v = 0n;
  let live = false;
  let prev = '';
  const entries = c.entries();
  for (const e of entries) {
    expect(e.id > prev).toBe(true); // sorted, unique
    prev = e.id;
    checkSlot(e.p, e.fp);
    checkSlot(e.n, e.fn);
    if (c instanceof GCounter) expect(e.n + e.fn).toBe(0);
    expect(e.p + e.n).toBeGreaterThan(0);
    v += BigInt(e.p - e.fp) - BigInt(e.n - e.fn);
    live ||= e.p > e.fp || e.n > e.fn;
  }
  expect(c.replicaCount()).toBe(entries.length);
  expect(c.value()).toStrictEqual(norm(v));
  expect(c.exists()).toBe(live);
}

export const checkG = checkCounter;
export const checkPN = checkCounter;

/** `a.merge(b)` for either class (merge takes the same class as its receiver). */
export function mergeInto<T extends GCounter | PNCounter>(a: T, b: T): boolean {
  return (a as unknown as { merge(o: T): boolean }).merge(b);
}

/** `a.equals(b)`, checked against a comparison of the sorted entries. */
export function same<T extends GCounter | PNCounter>(a: T, b: T): boolean {
  const eq = (a as unknown as { equals(o: T): boolean }).equals(b);
  expect(eq).toBe(JSON.stringify(a.entries()) === JSON.stringify(b.entries()));
  return eq;
}
