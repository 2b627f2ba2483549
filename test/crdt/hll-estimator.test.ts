// Ertl's improved raw estimator (src/crdt/hll-estimator.ts) against the formulas of its header and
// of the paper (arXiv 1702.01284), written out here as plain series summed term by term with Math.pow
// (the code squares and takes square roots step by step): the two agree to rounding for any
// histogram, and at the edges (an empty sketch, every register at the top rank) exactly.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ertlEstimate } from '../../src/crdt/hll-estimator.js';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';

/** sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1); infinite at 1. */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let s = x;
  for (let k = 1; k < 200; k++) {
    const term = Math.pow(x, 2 ** k) * 2 ** (k - 1);
    if (term === 0) break;
    s += term;
  }
  return s;
}

/** tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let s = 1 - x;
  for (let k = 1; k < 1100; k++) {
    const d = 1 - Math.pow(x, 2 ** -k);
    s -= d * d * 2 ** -k;
  }
  return s / 3;
}

/** The estimate of the header: z = m tau((m - C[q+1]) / m); z = (z + C[k]) / 2 for k = q..1; z += m sigma(C[0] / m); alpha m^2 / z. */
function model(c: number[], m: number, q: number): number {
  let z = m * tau((m - (c[q + 1] as number)) / m);
  for (let k = q; k >= 1; k--) z = (z + (c[k] as number)) / 2;
  z += m * sigma((c[0] as number) / m);
  return (m * m) / (2 * Math.LN2) / z;
}

function histogram(regs: Uint8Array, q: number): number[] {
  const c = new Array<number>(q + 2).fill(0);
  for (const r of regs) c[r] = (c[r] as number) + 1;
  return c;
}

describe('ertlEstimate', () => {
  it('agrees with the series, summed term by term, for any registers', () => {
    let ran = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(4, 6, 10, 14).chain((p) =>
          fc.tuple(
            fc.constant(p),
            fc.array(fc.tuple(fc.nat((1 << p) - 1), fc.integer({ min: 1, max: 65 - p })), { maxLength: 3 << p }),
          ),
        ),
        ([p, writes]) => {
          const m = 1 << p;
          const q = 64 - p;
          const regs = new Uint8Array(m);
          for (const [i, r] of writes) regs[i] = Math.max(regs[i] as number, r);
          const c = histogram(regs, q);
          const want = model(c, m, q);
          const got = ertlEstimate(c, m, q);
          if (want === 0) expect(got).toBe(0);
          else expect(Math.abs(got - want) / want).toBeLessThan(1e-9);
          // The sketch's estimate is this one, and its count the estimate rounded.
          const h = HyperLogLog.fromRegisters(p, 0, regs);
          expect(h.estimate()).toBe(got);
          expect(h.count()).toBe(Math.round(got));
          ran++;
        },
      ),
    );
    expect(ran).toBeGreaterThan(0);
  });

  it('at the edges: nothing, one register, a full spread, every register at the top rank', () => {
    const p = 4;
    const m = 16;
    const q = 60;
    const c = (pairs: [number, number][]): number[] => {
      const h = new Array<number>(q + 2).fill(0);
      for (const [k, n] of pairs) h[k] = n;
      return h;
    };
    expect(ertlEstimate(c([[0, m]]), m, q)).toBe(0);
    expect(ertlEstimate(c([[q + 1, m]]), m, q)).toBe(Infinity);
    for (const h of [
      c([
        [0, 15],
        [1, 1],
      ]),
      c([
        [0, 8],
        [1, 4],
        [2, 2],
        [3, 1],
        [5, 1],
      ]),
      c([[1, 16]]),
      c([
        [q + 1, 15],
        [0, 1],
      ]),
      c([
        [q + 1, 1],
        [q, 15],
      ]),
    ]) {
      const want = model(h, m, q);
      expect(Math.abs(ertlEstimate(h, m, q) - want) / want).toBeLessThan(1e-9);
    }
    // One element in one register is counted as one.
    const one = new Uint8Array(m);
    one[3] = 1;
    expect(HyperLogLog.fromRegisters(p, 0, one).count()).toBe(1);
  });
});
