// The Count-Min Sketch's edges, each pinned by exact values: sizing by probability, INCRBY's
// refusals and its all-or-nothing check, CMS.MERGE's weights and overflow bounds, DEL and
// re-creation by generation, the packed parts `split` makes, and the decoder's refusals. Written
// against the mutants Stryker left alive (docs/testing.md, "Mutation testing").
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CountMinSketch, cmsDimsFromProb } from '../../src/crdt/count-min-sketch.js';
import { itemBytes, SketchMatrix } from '../../src/crdt/sketch-matrix.js';
import { unwrap } from '../unwrap.js';

const MAX = Number.MAX_SAFE_INTEGER;

const cms = (width = 16, depth = 3): CountMinSketch => unwrap(CountMinSketch.create(width, depth));
const decoded = (bytes: Uint8Array): CountMinSketch => unwrap(CountMinSketch.decode(bytes));

/** Two items whose cells differ in every row of a depth-1 sketch of `width`. */
function apart(width: number): [string, string] {
  const s = cms(width, 1);
  s.incrBy('a:1', [['x', 1]]);
  for (let i = 0; ; i++) if (s.query(`y${i}`) === 0) return ['x', `y${i}`];
}

describe('cmsDimsFromProb', () => {
  it('sizes as RedisBloom does: width ceil(2 / error), depth ceil(log2(1 / probability)), at least 1', () => {
    expect(cmsDimsFromProb(0.01, 0.01)).toEqual({ ok: true, value: { width: 200, depth: 7 } });
    expect(cmsDimsFromProb(0.3, 0.25)).toEqual({ ok: true, value: { width: 7, depth: 2 } });
    expect(cmsDimsFromProb(0.5, 0.99)).toEqual({ ok: true, value: { width: 4, depth: 1 } });
  });

  it.each([0, 1, -0.5, 1.5, Number.NaN])('refuses error %s', (error) => {
    const r = cmsDimsFromProb(error, 0.01);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('SKETCH_BAD_DIMENSIONS');
      expect(r.error.message).toBe('error must be in (0, 1)');
    }
  });

  it.each([0, 1, -0.5, 1.5, Number.NaN])('refuses probability %s', (probability) => {
    const r = cmsDimsFromProb(0.01, probability);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe('probability must be in (0, 1)');
  });

  it('refuses a size beyond the cell limit with the dimension error', () => {
    const r = cmsDimsFromProb(1e-6, 0.01);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('SKETCH_BAD_DIMENSIONS');
  });
});

describe('CMS.INCRBY', () => {
  it('refuses a negative or non-integer amount, naming it, and changes nothing', () => {
    const s = cms();
    s.incrBy('a:1', [['x', 3]]);
    const before = s.encode();
    const neg = s.incrBy('a:1', [['x', 1], ['y', -1]]);
    expect(neg.ok ? undefined : [neg.error.code, neg.error.message]).toEqual(['SKETCH_NEGATIVE', 'a Count-Min Sketch cannot be decremented']);
    const frac = s.incrBy('a:1', [['x', 1.5]]);
    expect(frac.ok ? undefined : [frac.error.code, frac.error.message]).toEqual(['COUNTER_NOT_INTEGER', 'amount 1.5 is not a safe integer']);
    expect(s.encode()).toEqual(before);
  });

  it('accepts 0: an estimate, and no row for a replica that added nothing', () => {
    const s = cms();
    expect(s.incrBy('a:1', [['x', 0]])).toEqual({ ok: true, value: [0] });
    expect(s.replicaCount()).toBe(0);
    expect(s.encode()).toEqual(cms().encode());
    s.incrBy('b:1', [['x', 2]]);
    expect(s.incrBy('a:1', [['x', 0], ['x', 5]])).toEqual({ ok: true, value: [2, 7] });
    expect(s.replicaCount()).toBe(2);
  });

  it('checks the replica id only when it adds a row', () => {
    const s = cms();
    expect(s.incrBy('', [['x', 0]]).ok).toBe(true);
    expect(() => s.incrBy('', [['x', 1]])).toThrow('replica id must be a non-empty string');
    expect(s.count()).toBe(0);
  });

  it('refuses a total beyond 2^53-1 with nothing added, and allows exactly up to it', () => {
    const s = cms();
    const over = s.incrBy('a:1', [['x', MAX], ['y', 1]]);
    expect(over.ok ? undefined : [over.error.code, over.error.message]).toEqual(['COUNTER_OVERFLOW', 'the sketch count would leave the supported range [-(2^53-1), 2^53-1]']);
    expect(s.count()).toBe(0);
    expect(s.incrBy('a:1', [['x', MAX - 1]]).ok).toBe(true);
    expect(s.incrBy('b:1', [['y', 1]]).ok).toBe(true);
    expect(s.count()).toBe(MAX);
    expect(s.incrBy('b:1', [['y', 1]]).ok).toBe(false);
  });
});

describe('CMS.MERGE (replaceWithWeightedSum)', () => {
  it('becomes the weighted sum, as replica r in a new generation', () => {
    const a = cms();
    a.incrBy('a:1', [['x', 2], ['y', 1]]);
    const b = cms();
    b.incrBy('b:1', [['x', 10]]);
    const dest = cms();
    dest.incrBy('c:1', [['z', 100]]);
    const gen = dest.generation;
    expect(dest.replaceWithWeightedSum('c:1', [a, b], [3, 0])).toBeUndefined();
    expect(dest.generation).toBe(gen + 1);
    expect(dest.query('x')).toBe(6);
    expect(dest.query('y')).toBe(3);
    expect(dest.count()).toBe(9);
    expect(dest.replicaCount()).toBe(1);
    // A missing weight is 1.
    expect(dest.replaceWithWeightedSum('c:1', [a, b], [])).toBeUndefined();
    expect(dest.query('x')).toBe(12);
  });

  it('a sum of nothing leaves an existing, empty sketch with no replica row', () => {
    const dest = cms();
    dest.incrBy('c:1', [['z', 1]]);
    dest.clear();
    expect(dest.exists()).toBe(false);
    expect(dest.replaceWithWeightedSum('c:1', [cms()], [5])).toBeUndefined();
    expect(dest.exists()).toBe(true);
    expect(dest.replicaCount()).toBe(0);
    expect(dest.count()).toBe(0);
  });

  it.each([
    [cms(8, 3), 'width'],
    [cms(16, 2), 'depth'],
  ])('refuses a source of another %s', (src) => {
    const dest = cms();
    dest.incrBy('c:1', [['z', 1]]);
    const e = dest.replaceWithWeightedSum('c:1', [cms(), src], [1, 1]);
    expect([e?.code, e?.message]).toEqual(['SKETCH_DIMENSION_MISMATCH', 'width/depth is not equal']);
    expect(dest.query('z')).toBe(1);
  });

  it('refuses a negative or fractional weight; a weight of 0 is fine', () => {
    const dest = cms();
    const neg = dest.replaceWithWeightedSum('c:1', [cms()], [-1]);
    expect([neg?.code, neg?.message]).toEqual(['SKETCH_NEGATIVE', 'weights must be >= 0']);
    const frac = dest.replaceWithWeightedSum('c:1', [cms()], [0.5]);
    expect([frac?.code, frac?.message]).toEqual(['COUNTER_NOT_INTEGER', 'amount 0.5 is not a safe integer']);
    expect(dest.replaceWithWeightedSum('c:1', [cms()], [0])).toBeUndefined();
  });

  it('a source whose totals passed 2^53-1 is refused with a weight, ignored with weight 0', () => {
    const big = cms();
    big.incrBy('a:1', [['x', 2 ** 52]]);
    const other = cms();
    other.incrBy('b:1', [['x', 2 ** 52]]);
    big.merge(other);
    const dest = cms();
    const e = dest.replaceWithWeightedSum('c:1', [big], [1]);
    expect([e?.code, e?.message]).toEqual(['COUNTER_OVERFLOW', 'the merged count would leave the supported range [-(2^53-1), 2^53-1]']);
    expect(dest.replaceWithWeightedSum('c:1', [big], [0])).toBeUndefined();
    expect(dest.count()).toBe(0);
  });

  it('a cell of exactly 2^53-1 is allowed; a row summing past it is refused though no cell passes', () => {
    const [x, y] = apart(16);
    const one = cms(16, 1);
    one.incrBy('a:1', [[x, MAX]]);
    const dest = cms(16, 1);
    expect(dest.replaceWithWeightedSum('c:1', [one], [1])).toBeUndefined();
    expect(dest.query(x)).toBe(MAX);
    const a = cms(16, 1);
    a.incrBy('a:1', [[x, 2 ** 52]]);
    const b = cms(16, 1);
    b.incrBy('b:1', [[y, 2 ** 52]]);
    const e = dest.replaceWithWeightedSum('c:1', [a, b], [1, 1]);
    expect(e?.code).toBe('COUNTER_OVERFLOW');
    expect(dest.query(x)).toBe(MAX); // unchanged
  });
});

describe('merge, DEL and re-creation', () => {
  it('merge says whether it changed anything', () => {
    const a = cms();
    const b = cms();
    b.incrBy('b:1', [['x', 2]]);
    expect(a.merge(b)).toBe(true);
    expect(a.merge(b)).toBe(false);
    b.incrBy('b:1', [['x', 1]]);
    expect(a.merge(b)).toBe(true);
    expect(a.query('x')).toBe(3);
  });

  it('recreate refuses a live sketch and bad dimensions; a re-created sketch wins over its tombstone', () => {
    const s = cms();
    s.incrBy('a:1', [['x', 4]]);
    expect(() => s.recreate(8, 2)).toThrow('recreate() on a sketch that exists');
    s.clear();
    const tombstone = s.clone();
    expect(() => s.recreate(0, 2)).toThrow();
    s.recreate(8, 2);
    expect([s.exists(), s.width, s.depth, s.generation]).toEqual([true, 8, 2, tombstone.generation + 1]);
    expect(s.merge(tombstone)).toBe(false);
    expect(tombstone.merge(s)).toBe(true);
    expect([tombstone.exists(), tombstone.width, tombstone.depth]).toEqual([true, 8, 2]);
  });

  it('equals compares the generation and the created flag, not only the counts', () => {
    const a = cms();
    const b = cms();
    expect(a.equals(b)).toBe(true);
    b.clear();
    const c = cms();
    c.clear();
    expect(b.equals(c)).toBe(true);
    expect(a.equals(b)).toBe(false); // same (empty) counts, another generation
    const d = decoded(cms().encode().map((byte, i) => (i === 5 ? 0 : byte))); // created flag cleared
    expect([d.generation, d.exists()]).toEqual([0, false]);
    expect(a.equals(d)).toBe(false);
  });
});

describe('packed parts', () => {
  function wide(): CountMinSketch {
    const s = cms(2048, 2);
    for (let i = 0; i < 400; i++) s.incrBy(i % 2 === 0 ? 'a:1' : 'b:1', [[`item-${i}`, 1 + (i % 200)]]);
    return s;
  }

  it('refuses a size that is not a positive integer', () => {
    for (const bad of [0, -3, 1.5, Number.NaN]) expect(() => cms().split(bad)).toThrow(`maxBytes must be a positive integer, got ${String(bad)}`);
  });

  it('a part encodes to its own bytes, which a caller cannot change, and clones as itself', () => {
    const s = wide();
    const parts = s.split(1024) as CountMinSketch[];
    expect(parts.length).toBeGreaterThan(2);
    const p = parts[1] as CountMinSketch;
    const bytes = p.encode();
    bytes[0] = 99;
    expect(p.encode()[0]).toBe(2);
    const c = p.clone();
    expect(c.encode()).toEqual(p.encode());
    expect([c.width, c.depth, c.generation, c.exists()]).toEqual([2048, 2, s.generation, true]);
    // Merged, the parts are the whole.
    const joined = cms(2048, 2);
    for (const q of parts) joined.merge(q.clone());
    expect(joined.equals(s)).toBe(true);
  });

  it('a part of a deleted generation stays deleted when decoded', () => {
    const s = wide();
    s.clear();
    s.merge(wide()); // a lower generation: no change
    expect(s.split(64)).toEqual([s]);
    expect(decoded(s.encode()).exists()).toBe(false);
  });

  // The planner tracks encoded sizes exactly as encode writes them: a state fits in exactly its own
  // length, and not in one byte less; every part of a split fits, and the parts are the whole.
  it('plans to the byte: whole at its own length, in parts one byte below, each within the limit', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(8, 24, 64, 512),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 3000 }), fc.oneof(fc.integer({ min: 1, max: 127 }), fc.integer({ min: 1, max: 100_000 }))), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 40, max: 600 }),
        (width, ops, limit) => {
          runs++;
          const s = cms(width, 3);
          for (const [r, item, n] of ops) s.incrBy(['a:1', 'b:2', 'c:3'][r] as string, [[`i${item}`, n]]);
          const size = s.encode().length;
          expect(s.split(size)).toEqual([s]);
          const below = s.split(size - 1) as CountMinSketch[];
          expect(below.length).toBeGreaterThan(1);
          const parts = s.split(limit);
          if (parts === undefined) return;
          const joined = cms(width, 3);
          for (const p of parts) {
            expect(p.encode().length).toBeLessThanOrEqual(limit);
            joined.merge(p);
          }
          expect(joined.equals(s)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    expect(runs).toBeGreaterThan(0);
  });
});

describe('the planner at varint boundaries', () => {
  // A count crossing 127/128 (runs in a segment, cells in a run) changes its varint's size: the
  // random property above rarely lands there, so these sketches are built to.
  const cellOf = (item: string): number => new SketchMatrix(4096, 1).cells(itemBytes(item))[0] as number;

  /**
   * A depth-1 sketch of one replica with `runs` runs of one two-byte cell each (cells 3 or more
   * apart, all below cell 3000) and, with `pair`, a last run of two adjacent cells above them.
   */
  function sparse(runs: number, pair = false): CountMinSketch {
    const s = cms(4096, 1);
    const cells: number[] = [];
    for (let i = 0; cells.length < runs; i++) {
      const c = cellOf(`i${i}`);
      if (c >= 3000 || cells.some((u) => Math.abs(u - c) <= 3)) continue;
      cells.push(c);
      s.incrBy('a:1', [[`i${i}`, 200]]);
    }
    if (pair) {
      const at = new Map<number, string>();
      for (let i = 0; ; i++) {
        const c = cellOf(`p${i}`);
        if (c < 3000) continue;
        const next = at.get(c + 1) ?? at.get(c - 1);
        if (next !== undefined) {
          s.incrBy('a:1', [[`p${i}`, 200], [next, 200]]);
          break;
        }
        at.set(c, `p${i}`);
      }
    }
    return s;
  }

  /**
   * A depth-1 sketch of one replica whose cells 0 .. `len` - 1 are all non-zero (one run of `len`
   * cells) and then `after` lone cells further on.
   */
  function dense(len: number, after = 0): CountMinSketch {
    const width = len + 40;
    const s = cms(width, 1);
    const m = new SketchMatrix(width, 1);
    const filled = new Set<number>();
    const lone: number[] = [];
    for (let i = 0; filled.size < len || lone.length < after; i++) {
      const c = m.cells(itemBytes(`d${i}`))[0] as number;
      if (c >= len + 5 && lone.length < after && lone.every((u) => Math.abs(u - c) > 3)) {
        lone.push(c);
        s.incrBy('a:1', [[`d${i}`, 1]]);
      }
      if (c >= len || filled.has(c)) continue;
      filled.add(c);
      s.incrBy('a:1', [[`d${i}`, 1]]);
    }
    return s;
  }

  it.each([
    ['126 runs', () => sparse(126)],
    ['127 runs', () => sparse(127)],
    ['128 runs', () => sparse(128)],
    ['129 runs', () => sparse(129)],
    ['a run of 127 cells', () => dense(127)],
    ['a run of 128 cells', () => dense(128)],
    ['a run of 129 cells', () => dense(129)],
    ['127 runs, then a run of two', () => sparse(127, true)],
    ['128 runs, then a run of two', () => sparse(128, true)],
    ['a run of 127 cells, then two more', () => dense(127, 2)],
    ['a run of 128 cells, then two more', () => dense(128, 2)],
    ['a run of 129 cells, then two more', () => dense(129, 2)],
  ])('%s: whole at its own length, parts one byte below, every limit kept', (_, make) => {
    const s = make();
    const size = s.encode().length;
    expect(s.split(size)).toEqual([s]);
    expect((s.split(size - 1) as CountMinSketch[]).length).toBe(2);
    for (let limit = size - 40; limit < size; limit++) {
      const parts = s.split(limit) as CountMinSketch[];
      const joined = cms(s.width, 1);
      for (const p of parts) {
        expect(p.encode().length).toBeLessThanOrEqual(limit);
        joined.merge(p);
      }
      expect(joined.equals(s)).toBe(true);
    }
  });
});

describe('decode', () => {
  it('names the type and the field it refuses', () => {
    const s = cms();
    s.incrBy('a:1', [['x', 1]]);
    const bytes = s.encode();
    const truncated = CountMinSketch.decode(bytes.subarray(0, 3));
    expect(truncated.ok ? '' : truncated.error.message).toContain('CountMinSketch');
    const flag = CountMinSketch.decode(bytes.map((b, i) => (i === 5 ? 2 : b)));
    expect(flag.ok ? '' : flag.error.message).toContain('created flag');
    const deleted = CountMinSketch.decode(bytes.map((b, i) => (i === 5 ? 0 : b)));
    expect(deleted.ok ? '' : deleted.error.message).toContain('a deleted sketch holds counts');
  });
});
