// Splitting HyperLogLogs into parts (one unit: a non-zero register, under the sketch's generation):
// the split contract of split-helpers.ts over sparse and dense sketches of several precisions and
// generations, receivers of older, equal and newer generations, no empty part (an empty part of
// generation g is the delete that starts g), and the big cases: dense p = 14 into 1,000-byte parts,
// dense p = 18 into 3,000-byte parts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { checkSplit, permilleArb, type SplitKind } from './split-helpers.js';

/** The registry's merge and liveness (crdt/registry.ts). */
const k: SplitKind<HyperLogLog> = {
  encode: (x) => x.encode(),
  decode: (b) => HyperLogLog.decode(b),
  merge: (a, b) => {
    const r = a.merge(b);
    if (!r.ok) throw r.error;
  },
  clone: (x) => x.clone(),
  split: (x, n) => x.split(n),
  live: (x) => !x.isEmpty(),
  unitBytes: (x) => {
    if (x.isEmpty()) return x.encode().length;
    // The largest one-register sketch: that of the last non-zero register (its index is the largest).
    const regs = x.registers();
    let i = regs.length - 1;
    while (regs[i] === 0) i--;
    const one = new Uint8Array(regs.length);
    one[i] = regs[i] as number;
    return HyperLogLog.fromRegisters(x.p, x.generation, one).encode().length;
  },
  fullByCount: (x) => x.registers().filter((r) => r !== 0).length === x.registers().length / 4,
};

function build(p: number, gen: number, els: readonly number[], tag: string): HyperLogLog {
  const h = HyperLogLog.create(p);
  for (let g = 0; g < gen; g++) h.clear();
  for (const e of els) h.add(`${tag}${e}`);
  return h;
}

const specArb = fc.record({
  p: fc.constantFrom(4, 6, 8, 10),
  gen: fc.nat(2),
  els: fc.array(fc.nat(5000), { maxLength: 800, size: 'max' }),
});

describe('HyperLogLog split', () => {
  it('parts of at most maxBytes join, in any order, into any sketch as the whole does', () => {
    let split = 0;
    let runs = 0; // the share of runs that split, so a lower numRuns (mutation testing) checks the same
    fc.assert(
      fc.property(specArb, fc.array(fc.nat(5000), { maxLength: 300 }), permilleArb, fc.nat(), ({ p, gen, els }, other, permille, seed) => {
        const whole = build(p, gen, els, 'e');
        const maxBytes = Math.max(1, Math.round((whole.encode().length * permille) / 1000));
        const receivers = [
          HyperLogLog.create(p), // empty, generation 0
          build(p, gen, els.slice(0, els.length >> 1), 'e'), // older: part of the same stream
          build(p, gen, other, 'o'), // concurrent, same generation
          build(p, Math.max(0, gen - 1), other, 'o'), // an older generation: the whole replaces it
          build(p, gen + 1, other.slice(0, 3), 'o'), // a newer generation (a delete the whole has not seen): parts are ignored
          whole.clone(),
        ];
        runs++;
        if ((checkSplit(k, whole, maxBytes, receivers, seed)?.length ?? 0) > 1) split++;
      }),
      { numRuns: 250 },
    );
    expect(split).toBeGreaterThan(runs * 0.4);
  });

  it('never makes an empty part: a part of generation g joined into a live sketch of generation g keeps it live', () => {
    const whole = build(10, 3, Array.from({ length: 2000 }, (_, i) => i), 'e');
    whole.promote();
    const parts = whole.split(200) as HyperLogLog[];
    expect(parts.length).toBeGreaterThan(3);
    for (const part of parts) {
      expect(part.isEmpty()).toBe(false);
      expect(part.generation).toBe(3);
      const live = build(10, 3, [1, 2, 3], 'x');
      expect(live.merge(part).ok).toBe(true);
      expect(live.isEmpty()).toBe(false);
      // Into a sketch one generation behind, a part replaces it (the whole would too), never with nothing.
      const behind = build(10, 2, [1, 2, 3], 'x');
      behind.merge(part);
      expect(behind.generation).toBe(3);
      expect(behind.isEmpty()).toBe(false);
    }
  });

  it('returns the whole when it fits, undefined only when one register cannot fit', () => {
    const h = build(14, 0, [1, 2, 3], 'e');
    expect(h.split(h.encode().length)).toEqual([h]);
    const empty = HyperLogLog.create(14);
    expect(empty.split(5)).toBeUndefined(); // 6 bytes, no register to cut
    // The largest unit: generation 2^53-1 (8 bytes) and the last register of p = 18 (a 4-byte entry).
    const regs = new Uint8Array(1 << 18);
    regs[(1 << 18) - 1] = 40;
    regs[0] = 1;
    const big = HyperLogLog.fromRegisters(18, Number.MAX_SAFE_INTEGER, regs);
    expect(big.split(16)).toBeUndefined();
    expect(big.split(17)).toHaveLength(2);
    expect(() => h.split(Number.NaN)).toThrow(RangeError);
  });

  for (const [p, maxBytes, n] of [
    [14, 1000, 200_000],
    [18, 3000, 2_000_000],
  ] as const) {
    it(`splits a dense p = ${p} sketch into ${maxBytes}-byte parts`, () => {
      const whole = build(p, 1, Array.from({ length: n }, (_, i) => i), 'dense');
      expect(whole.isDense()).toBe(true);
      const older = build(p, 1, Array.from({ length: n >> 2 }, (_, i) => i), 'dense');
      const t0 = performance.now();
      const parts = whole.split(maxBytes) as HyperLogLog[];
      const ms = performance.now() - t0;
      // A register costs about a byte in a part (dense indexes are consecutive): parts are about full.
      const total = parts.reduce((s, x) => s + x.encode().length, 0);
      expect(total).toBeLessThan(whole.encode().length * 1.5);
      console.log(`dense p=${p}: ${whole.encode().length} B into ${parts.length} parts of <= ${maxBytes} B (${total} B in all) in ${ms.toFixed(1)} ms`);
      checkSplit(k, whole, maxBytes, [HyperLogLog.create(p), older], 7, { perPartLive: false });
    });
  }
});
