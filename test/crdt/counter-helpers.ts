// Shared helpers for the counter tests: arbitrary states built through the public API, and an
// invariant checker that recomputes everything from the entries with bigints.
import fc from 'fast-check';
import { expect } from 'vitest';
import { GCounter } from '../../src/crdt/g-counter.js';
import { COUNTER_MAX } from '../../src/crdt/counter-base.js';
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

/** Raw slot writes `[id, [p, fp], [n, fn]]`, as plain data: a counter is built from them by the code under test, a model without it. */
export type RawSlots = [string, [number, number], [number, number]][];

export const gRawArb: fc.Arbitrary<RawSlots> = fc.array(fc.tuple(fc.constantFrom(...IDS), slotArb).map(([id, s]) => [id, s, [0, 0]] as RawSlots[number]), { maxLength: 8 });
export const pnRawArb: fc.Arbitrary<RawSlots> = fc.array(fc.tuple(fc.constantFrom(...IDS), slotArb, slotArb), { maxLength: 8 });

export function buildG(raw: RawSlots): GCounter {
  const g = new GCounter();
  for (const [id, [p, f]] of raw) g.mergeSlot(id, p, f);
  return g;
}

export function buildPN(raw: RawSlots): PNCounter {
  const c = new PNCounter();
  for (const [id, [p, fp], [n, fn]] of raw) {
    c.mergeSlot(id, p, fp);
    c.mergeSlot(id, 0, 0, n, fn);
  }
  return c;
}

/**
 * The model of a counter built from (or merged from counters built from) `raw`: per id, every field
 * the max of its writes, and a slot at least its floor. Computed from the data alone, so a merge by
 * min or a dropped field in the code under test cannot shape it.
 */
export function modelSlots(raw: RawSlots): { id: string; p: number; fp: number; n: number; fn: number }[] {
  const m = new Map<string, { id: string; p: number; fp: number; n: number; fn: number }>();
  for (const [id, [p, fp], [n, fn]] of raw) {
    const s = m.get(id) ?? { id, p: 0, fp: 0, n: 0, fn: 0 };
    s.fp = Math.max(s.fp, fp);
    s.fn = Math.max(s.fn, fn);
    s.p = Math.max(s.p, p, s.fp);
    s.n = Math.max(s.n, n, s.fn);
    m.set(id, s);
  }
  return [...m.values()].filter((s) => s.p + s.n > 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export const gCounterArb: fc.Arbitrary<GCounter> = gRawArb.map(buildG);
export const pnCounterArb: fc.Arbitrary<PNCounter> = pnRawArb.map(buildPN);

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
