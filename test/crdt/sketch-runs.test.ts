// The sketches' matrix codec (version 2): each replica's matrix as canonical runs of cells. Arbitrary
// matrices (zeros anywhere) round-trip through it; version 1 (every cell written) is still read, to
// the same state; non-canonical runs are rejected; Top-K records whose rows do not sum alike too.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter, CODEC_VERSION, TypeTag } from '../../src/crdt/codec.js';
import { CountMinSketch } from '../../src/crdt/count-min-sketch.js';
import { matrixRuns, RUN_MAX_ZEROS, runsSize, SKETCH_CODEC_VERSION } from '../../src/crdt/sketch-matrix.js';
import { TopK } from '../../src/crdt/top-k.js';

/** Version 1 bytes of a Count-Min Sketch with the given matrices (what the previous encoder wrote). */
function legacyCms(width: number, depth: number, gen: number, records: readonly [string, readonly number[]][]): Uint8Array {
  const w = new ByteWriter();
  w.u8(CODEC_VERSION).u8(TypeTag.CountMinSketch).uvarint(width).uvarint(depth).uvarint(gen).u8(1).uvarint(records.length);
  for (const [id, cells] of records) {
    w.string(id);
    for (const v of cells) w.uvarint(v);
  }
  return w.finish();
}

/** Version 2 bytes of a one-replica Count-Min Sketch 16 x 1 whose runs are written as given. */
function runsCms(runs: readonly [gap: number, cells: readonly number[]][]): Uint8Array {
  const w = new ByteWriter();
  w.u8(SKETCH_CODEC_VERSION).u8(TypeTag.CountMinSketch).uvarint(16).uvarint(1).uvarint(0).u8(1).uvarint(1).string('a:1');
  w.uvarint(runs.length);
  for (const [gap, cells] of runs) {
    w.uvarint(gap).uvarint(cells.length);
    for (const v of cells) w.uvarint(v);
  }
  return w.finish();
}

/** A matrix with long zero stretches, short ones and large values: every shape of run boundary. */
const cellArb = fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 300 }) }, { weight: 1, arbitrary: fc.maxSafeNat() });
const matrixArb = (size: number): fc.Arbitrary<number[]> => fc.array(cellArb, { minLength: size, maxLength: size }).filter((m) => m.some((v) => v !== 0));

describe('the runs codec of sketch matrices', () => {
  it('round-trips arbitrary matrices; version 1 decodes to the same state', () => {
    const W = 9;
    const D = 3;
    fc.assert(
      fc.property(fc.array(matrixArb(W * D), { minLength: 1, maxLength: 3 }), fc.nat(5), (mats, gen) => {
        const records = mats.map((m, i): [string, number[]] => [`r${i}:1`, m]);
        const legacy = CountMinSketch.decode(legacyCms(W, D, gen, records));
        expect(legacy.ok).toBe(true);
        if (!legacy.ok) return;
        const bytes = legacy.value.encode();
        expect(bytes[0]).toBe(SKETCH_CODEC_VERSION);
        const back = CountMinSketch.decode(bytes);
        expect(back.ok).toBe(true);
        if (!back.ok) return;
        expect(back.value.equals(legacy.value)).toBe(true);
        expect(back.value.encode()).toStrictEqual(bytes);
        // Runs: start and end non-zero, at most RUN_MAX_ZEROS zeros inside in a row, more apart.
        for (const [, m] of records) {
          const cells = Float64Array.from(m);
          const runs = matrixRuns(cells);
          for (let i = 0; i < runs.length; i += 2) {
            const [s, e] = [runs[i] as number, runs[i + 1] as number];
            expect(cells[s]).not.toBe(0);
            expect(cells[e - 1]).not.toBe(0);
            expect(m.slice(s, e).join(',')).not.toMatch(new RegExp(`(^|,)(0,){${RUN_MAX_ZEROS + 1}}`));
            if (i > 0) expect(s - (runs[i - 1] as number)).toBeGreaterThan(RUN_MAX_ZEROS);
          }
          expect(runs.length).toBeGreaterThan(0);
          // The one-by-one width of a cell bounds a run-encoded matrix within a few bytes.
          const oneByOne = m.reduce((n, v) => n + new ByteWriter().uvarint(v).length, 0);
          expect(runsSize(cells, runs)).toBeLessThanOrEqual(oneByOne + 7);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('writes a mostly-zero matrix in a few bytes', () => {
    const s = CountMinSketch.create(65_536, 4);
    if (!s.ok) throw s.error;
    s.value.incrBy('a:1', [['x', 5], ['y', 1]]);
    // Version 1 wrote 262,144 bytes of cells here.
    expect(s.value.encode().length).toBeLessThan(80);
  });

  it('rejects non-canonical runs', () => {
    expect(CountMinSketch.decode(runsCms([[0, [1, 0, 0, 2]]])).ok).toBe(true);
    expect(CountMinSketch.decode(runsCms([[0, [1]], [3, [2]]])).ok).toBe(true);
    expect(CountMinSketch.decode(runsCms([[13, [1, 2, 3]]])).ok).toBe(true);
    const bad: [string, [number, number[]][]][] = [
      ['no runs', []],
      ['a zero first', [[0, [0, 1]]]],
      ['a zero last', [[0, [1, 0]]]],
      ['three zeros in a row', [[0, [1, 0, 0, 0, 2]]]],
      ['runs 2 apart', [[0, [1]], [2, [2]]]],
      ['a run past the end', [[14, [1, 2, 3]]]],
      ['an empty run', [[0, []]]],
    ];
    for (const [why, runs] of bad) {
      const r = CountMinSketch.decode(runsCms(runs));
      expect(r.ok, why).toBe(false);
      if (!r.ok) expect(r.error.code, why).toMatch(/^CODEC_/);
    }
  });

  it('rejects a Top-K record whose rows do not sum alike', () => {
    const t = TopK.create(2, 4, 2);
    if (!t.ok) throw t.error;
    t.value.add('a:1', [['x', 3]]);
    const good = t.value.encode();
    expect(TopK.decode(good).ok).toBe(true);
    // One record, cells 0 (row 0) and 7 (row 1): rows summing to 3 and 3, then to 3 and 4.
    const record = (second: number): Uint8Array => {
      const w = new ByteWriter();
      w.u8(SKETCH_CODEC_VERSION).u8(TypeTag.TopK).uvarint(2).uvarint(4).uvarint(2).uvarint(0).u8(1).uvarint(1).string('a:1');
      w.uvarint(2).uvarint(0).uvarint(1).uvarint(3).uvarint(6).uvarint(1).uvarint(second);
      w.uvarint(1).string('x');
      return w.finish();
    };
    expect(TopK.decode(record(3)).ok).toBe(true);
    const r = TopK.decode(record(4));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/rows do not sum alike/);
  });
});
