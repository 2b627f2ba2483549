// The split contract, checked the same way for every CRDT type (docs/crdt-*.md, "Parts"): parts of
// at most maxBytes that decode canonically, joined in a random order into any receiver give the
// receiver joined with the whole, the whole unsplit when it fits, undefined exactly when one unit
// cannot fit, parts that fill their frames, and no part that deletes what the whole does not.
import fc from 'fast-check';
import { expect } from 'vitest';
import type { CrdtError } from '../../src/crdt/errors.js';
import type { Result } from '../../src/util/result.js';
import { SeededRng } from '../../src/util/rng.js';

export interface SplitKind<T> {
  encode(x: T): Uint8Array;
  decode(b: Uint8Array): Result<T, CrdtError>;
  /** Joins `from` into `into` (the registry's merge). */
  merge(into: T, from: T): void;
  clone(x: T): T;
  split(x: T, maxBytes: number): T[] | undefined;
  live(x: T): boolean;
  /** Encoded bytes of the largest state holding one indivisible unit of `x` (x's own size when it has none). */
  unitBytes(x: T): number;
  /** Counters: a part of reset slots only is not live (like a reset's delta); they must come after the live ones. */
  tombstoneParts?: boolean;
  /** Whether a part is full for a reason other than bytes (an HLL part at m / 4 registers). */
  fullByCount?(part: T): boolean;
}

/** Byte-for-byte equality (Buffer.equals: a deep equality of large arrays is slow), with a diff on failure. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (!Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)) expect(actual, what).toStrictEqual(expected);
}

/** maxBytes as a share of a state's size: mostly 30%..100% (several parts), sometimes down to a byte (too small). */
export const permilleArb = fc.oneof(fc.integer({ min: 1, max: 1100 }), fc.integer({ min: 300, max: 1000 }));

/** A copy of `xs` in a seeded random order. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const rng = new SeededRng(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export interface SplitCheck {
  /** Check the join into each receiver also with the part objects (not only their decoded bytes). */
  direct?: boolean;
  /** Check, per part and receiver, that a part never makes a live result not live. */
  perPartLive?: boolean;
}

/**
 * Splits `whole` into `maxBytes` and checks the contract against each receiver (an empty state among
 * them, as the caller chooses). Returns the parts (undefined when a unit cannot fit, as required).
 */
export function checkSplit<T>(k: SplitKind<T>, whole: T, maxBytes: number, receivers: readonly T[], seed: number, opts: SplitCheck = {}): T[] | undefined {
  const before = k.encode(whole);
  const parts = k.split(whole, maxBytes);
  expectSameBytes(k.encode(whole), before, 'split changes nothing');
  if (before.length <= maxBytes) {
    expect(parts).toHaveLength(1);
    expectSameBytes(k.encode((parts as T[])[0] as T), before, 'the whole, unsplit');
    return parts;
  }
  const unit = k.unitBytes(whole);
  if (unit > maxBytes) {
    expect(parts, `a unit of ${unit} bytes cannot fit ${maxBytes}`).toBeUndefined();
    return undefined;
  }
  expect(parts, `every unit fits (${unit} <= ${maxBytes} bytes)`).toBeDefined();
  const ps = parts as T[];
  expect(ps.length).toBeGreaterThan(1);
  // No part deletes what the whole does not.
  if (k.live(whole)) {
    if (k.tombstoneParts) {
      const lives = ps.map((p) => k.live(p));
      expect(lives[0]).toBe(true);
      expect(lives.indexOf(false) < 0 || lives.lastIndexOf(true) < lives.indexOf(false), 'live parts first').toBe(true);
    } else {
      for (const p of ps) expect(k.live(p), 'every part of a live state is live').toBe(true);
    }
  }
  // Each part on its own, in a random order: within the limit, full, decodes canonically. Decoded
  // parts are joined as they come and not kept (a part of a wide sketch decodes to megabytes).
  const bytes = ps.map((p) => k.encode(p));
  const results = receivers.map((s) => k.clone(s));
  const order = shuffled(
    ps.map((_, i) => i),
    seed,
  );
  for (const i of order) {
    const b = bytes[i] as Uint8Array;
    expect(b.length, `part ${i} of ${ps.length}`).toBeLessThanOrEqual(maxBytes);
    // Full: the next unit did not fit (a unit costs at most `unit` bytes within a part, a few more
    // where a part's size is estimated from above: a window's index and count varints).
    if (i < ps.length - 1 && !(k.fullByCount?.(ps[i] as T) ?? false)) expect(b.length + unit + 8, `part ${i} is full`).toBeGreaterThan(maxBytes);
    const back = k.decode(b);
    if (!back.ok) throw new Error(`part ${i} does not decode: ${back.error.message}`);
    expectSameBytes(k.encode(back.value), b, 'a part encodes canonically');
    results.forEach((r) => k.merge(r, back.value));
  }
  receivers.forEach((s, ri) => {
    const expected = k.clone(s);
    k.merge(expected, whole);
    const want = k.encode(expected);
    expectSameBytes(k.encode(results[ri] as T), want, `receiver ${ri}: parts as bytes`);
    if (opts.direct ?? true) {
      const direct = k.clone(s);
      for (const p of shuffled(ps, seed + ri + 1000)) k.merge(direct, p);
      expectSameBytes(k.encode(direct), want, `receiver ${ri}: part objects`);
    }
    if ((opts.perPartLive ?? true) && !k.tombstoneParts && k.live(expected)) {
      for (const b of bytes) {
        const one = k.clone(s);
        const back = k.decode(b);
        if (back.ok) k.merge(one, back.value);
        expect(k.live(one), `receiver ${ri}: one part never makes it not exist`).toBe(true);
      }
    }
  });
  return ps;
}
