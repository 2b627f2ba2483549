// The HyperLogLog's sparse form (src/crdt/hll-sparse.ts) through the sketch: the union of two sparse
// sketches against a register-wise max computed from plain arrays (and whether it changed), the sparse
// wire form against the bytes docs/crdt-hll.md gives, and the decoder's refusal of ranks and indexes
// out of range.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';

/** Unsigned LEB128 bytes of a safe integer. */
function leb128(v: number): number[] {
  const out: number[] = [];
  do {
    const low = v % 128;
    v = Math.floor(v / 128);
    out.push(v > 0 ? low | 0x80 : low);
  } while (v > 0);
  return out;
}

/** The sparse encoding of `regs` (docs/crdt-hll.md): header, form 2 (sparse, Redis's hash), count, then per non-zero register `(index - previous - 1) * 64 + rank`. */
function sparseBytes(p: number, gen: number, regs: Uint8Array): number[] {
  const entries: number[] = [];
  let prev = -1;
  let n = 0;
  regs.forEach((r, i) => {
    if (r === 0) return;
    entries.push(...leb128((i - prev - 1) * 64 + r));
    prev = i;
    n++;
  });
  return [1, 3, p, ...leb128(gen), n === 0 ? 0 : 2, ...leb128(n), ...entries];
}

/** Registers of precision p with at most m / 4 non-zero (the sparse form), ranks 1..q+1. */
const sparseRegs = (p: number): fc.Arbitrary<Uint8Array> =>
  fc
    .uniqueArray(fc.tuple(fc.nat((1 << p) - 1), fc.integer({ min: 1, max: 65 - p })), { maxLength: 1 << (p - 2), selector: ([i]) => i })
    .map((pairs) => {
      const regs = new Uint8Array(1 << p);
      for (const [i, r] of pairs) regs[i] = r;
      return regs;
    });

const pArb = fc.constantFrom(4, 5, 6, 8);

describe('HyperLogLog sparse form', () => {
  it('the union of two sparse sketches is the register-wise max, and reports whether the other raised or added any', () => {
    let ran = 0;
    let changedSome = 0;
    fc.assert(
      fc.property(
        pArb.chain((p) => fc.tuple(fc.constant(p), sparseRegs(p), sparseRegs(p))),
        ([p, a, b]) => {
          const x = HyperLogLog.fromRegisters(p, 0, a);
          const y = HyperLogLog.fromRegisters(p, 0, b);
          const want = a.map((r, i) => Math.max(r, b[i] as number));
          const raised = b.some((r, i) => r > (a[i] as number));
          const r = x.unionWith(y);
          expect(r).toEqual({ ok: true, value: raised });
          expect([...x.registers()]).toEqual([...want]);
          expect(x.equals(HyperLogLog.fromRegisters(p, 0, want))).toBe(true);
          // The other sketch is unchanged.
          expect([...y.registers()]).toEqual([...b]);
          if (raised) changedSome++;
          ran++;
        },
      ),
    );
    expect(ran).toBeGreaterThan(0);
    expect(changedSome).toBeGreaterThan(0);
  });

  it('unions, by hand: interleaved indexes, equal indexes both ways, and one side empty', () => {
    const p = 4;
    const regs = (pairs: [number, number][]): Uint8Array => {
      const out = new Uint8Array(16);
      for (const [i, r] of pairs) out[i] = r;
      return out;
    };
    const x = HyperLogLog.fromRegisters(p, 0, regs([
      [1, 5],
      [7, 2],
    ]));
    const y = HyperLogLog.fromRegisters(p, 0, regs([
      [0, 1],
      [7, 2],
      [15, 3],
    ]));
    expect(x.unionWith(y)).toEqual({ ok: true, value: true });
    expect([...x.registers()]).toEqual([...regs([
      [0, 1],
      [1, 5],
      [7, 2],
      [15, 3],
    ])]);
    // Equal index, lower rank in the other: nothing changes.
    const lower = HyperLogLog.fromRegisters(p, 0, regs([[1, 4]]));
    expect(x.unionWith(lower)).toEqual({ ok: true, value: false });
    const higher = HyperLogLog.fromRegisters(p, 0, regs([[1, 6]]));
    expect(x.unionWith(higher)).toEqual({ ok: true, value: true });
    expect(x.registers()[1]).toBe(6);
    // Into an empty sketch: everything is added.
    const e = HyperLogLog.fromRegisters(p, 0, new Uint8Array(16));
    expect(e.unionWith(higher)).toEqual({ ok: true, value: true });
    expect([...e.registers()]).toEqual([...regs([[1, 6]])]);
    // Past m / 4 non-zero registers the union goes dense, with the same registers.
    const a4 = HyperLogLog.fromRegisters(p, 0, regs([
      [0, 1],
      [2, 1],
      [4, 1],
      [6, 1],
    ]));
    const b4 = HyperLogLog.fromRegisters(p, 0, regs([
      [1, 2],
      [3, 2],
      [5, 2],
      [7, 2],
    ]));
    expect(a4.unionWith(b4)).toEqual({ ok: true, value: true });
    expect([...a4.registers()]).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(a4.encode().length).toBe(5 + 12); // header, form, 16 registers of 6 bits
  });

  it('encodes the sparse form as docs/crdt-hll.md gives it, and decodes it back', () => {
    let ran = 0;
    fc.assert(
      fc.property(
        pArb.chain((p) => fc.tuple(fc.constant(p), sparseRegs(p))),
        fc.nat(300),
        ([p, regs], gen) => {
          const h = HyperLogLog.fromRegisters(p, gen, regs);
          const bytes = h.encode();
          expect([...bytes]).toEqual(sparseBytes(p, gen, regs));
          const d = HyperLogLog.decode(bytes);
          expect(d.ok).toBe(true);
          if (d.ok) {
            expect([...d.value.registers()]).toEqual([...regs]);
            expect(d.value.generation).toBe(gen);
          }
          ran++;
        },
      ),
    );
    expect(ran).toBeGreaterThan(0);
  });

  it('a union that stays at m / 4 non-zero registers encodes as the sparse bytes of the max', () => {
    const p = 4;
    const a = new Uint8Array(16);
    a[3] = 9;
    a[9] = 1;
    const b = new Uint8Array(16);
    b[0] = 61; // the largest rank at p = 4
    b[15] = 2;
    const x = HyperLogLog.fromRegisters(p, 0, a);
    expect(x.unionWith(HyperLogLog.fromRegisters(p, 0, b)).ok).toBe(true);
    const want = a.map((r, i) => Math.max(r, b[i] as number));
    expect([...x.encode()]).toEqual(sparseBytes(p, 0, want));
  });

  it('refuses sparse entries of rank 0, of a rank above q + 1, or past the last register', () => {
    const decode = (p: number, entries: number[]): string => {
      const bytes = Uint8Array.from([1, 3, p, 0, 2, ...leb128(entries.length), ...entries.flatMap(leb128)]);
      const r = HyperLogLog.decode(bytes);
      return r.ok ? `ok ${[...r.value.registers()].join(',')}` : `${r.error.code}: ${r.error.message}`;
    };
    // p = 4: 16 registers, q = 60, ranks 1..61.
    expect(decode(4, [0 * 64 + 61, 14 * 64 + 1])).toBe('ok 61,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1');
    expect(decode(4, [0 * 64 + 62])).toBe('CODEC_INVALID: HyperLogLog: sparse rank 62 outside 1..61');
    expect(decode(4, [3 * 64 + 0])).toBe('CODEC_INVALID: HyperLogLog: sparse rank 0 outside 1..61');
    expect(decode(4, [15 * 64 + 1])).toBe('ok 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1');
    expect(decode(4, [16 * 64 + 1])).toBe('CODEC_INVALID: HyperLogLog: sparse index 16 not below 16');
    expect(decode(4, [2 * 64 + 1, 13 * 64 + 1])).toBe('CODEC_INVALID: HyperLogLog: sparse index 16 not below 16');
    // p = 8: ranks 1..57.
    expect(decode(8, [57])).toBe(`ok 57${',0'.repeat(255)}`);
    expect(decode(8, [58])).toBe('CODEC_INVALID: HyperLogLog: sparse rank 58 outside 1..57');
    // An entry list cut inside its last varint is reported as truncated.
    const cut = HyperLogLog.decode(Uint8Array.from([1, 3, 4, 0, 2, 2, 0x01, 0x81]));
    expect(cut.ok ? 'ok' : cut.error.code).toBe('CODEC_TRUNCATED');
  });
});
