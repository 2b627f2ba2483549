// Splitting Count-Min Sketches (one unit: a cell of one replica's matrix, merge being cell-wise max per
// replica) and Top-Ks (one unit: a replica's whole record, merge taking the greater record): the
// split contract of split-helpers.ts over several writers, generations, deletes and re-creations with
// other dimensions; a CMS of 262,144 x 1 cells written by 5 replicas; Top-K's worst-case record size.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slowIt } from '../slow.js';
import { ByteReader, uvarintSize } from '../../src/crdt/codec.js';
import { CountMinSketch } from '../../src/crdt/count-min-sketch.js';
import { TopK, topkMaxRecordBytes, TOPK_MAX_ITEM_BYTES } from '../../src/crdt/top-k.js';
import { SKETCH_CODEC_VERSION } from '../../src/crdt/sketch-matrix.js';
import { checkSplit, permilleArb, type SplitKind } from './split-helpers.js';
import { unwrap } from '../unwrap.js';

const IDS = Array.from({ length: 12 }, (_, i) => (i % 5 === 0 ? `${'s'.repeat(200)}:${i}` : i % 5 === 1 ? `ø${i}:1` : `node${i}:1`));
const DIMS = [
  [16, 3],
  [64, 2],
  [200, 1],
  [5, 8],
] as const;

type Op = { r: number; item: number; n: number };
const opArb: fc.Arbitrary<Op> = fc.record({
  r: fc.nat(IDS.length - 1),
  item: fc.nat(300),
  n: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 500 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 45 }) }),
});
const stateArb = fc.record({ ops: fc.array(opArb, { maxLength: 150, size: 'max' }), dims: fc.nat(DIMS.length - 1), dels: fc.nat(2), recreate: fc.boolean() });
type Spec = { ops: readonly Op[]; dims: number; dels: number; recreate: boolean };

// ---- Count-Min Sketch ----------------------------------------------------------------------------

/** The non-zero cells of each replica in a version-2 CMS encoding, read independently of the codec. */
function cmsCells(bytes: Uint8Array): { head: number; cells: [id: string, cell: number, value: number][] } {
  const r = new ByteReader(bytes);
  expect(r.u8()).toBe(SKETCH_CODEC_VERSION);
  r.u8();
  r.uvarint();
  r.uvarint();
  r.uvarint();
  r.u8();
  const head = r.offset;
  const cells: [string, number, number][] = [];
  const n = r.uvarint();
  for (let i = 0; i < n; i++) {
    const id = r.string(255);
    const runs = r.uvarint();
    let pos = 0;
    for (let j = 0; j < runs; j++) {
      pos += r.uvarint();
      const len = r.uvarint();
      for (let c = 0; c < len; c++, pos++) {
        const v = r.uvarint();
        if (v !== 0) cells.push([id, pos, v]);
      }
    }
  }
  expect(r.failed).toBe(false);
  return { head, cells };
}

const cmsKind: SplitKind<CountMinSketch> = {
  encode: (x) => x.encode(),
  decode: (b) => CountMinSketch.decode(b),
  merge: (a, b) => void a.merge(b),
  clone: (x) => x.clone(),
  split: (x, n) => x.split(n),
  live: (x) => x.exists(),
  // A sketch holding one cell: header, one replica, one run of one cell.
  unitBytes: (x) => {
    const bytes = x.encode();
    const { head, cells } = cmsCells(bytes);
    let max = cells.length === 0 ? bytes.length : 0;
    for (const [id, cell, v] of cells) {
      const len = Buffer.byteLength(id);
      max = Math.max(max, head + 1 + uvarintSize(len) + len + 1 + uvarintSize(cell) + 1 + uvarintSize(v));
    }
    return max;
  },
};

function buildCms({ ops, dims, dels, recreate }: Spec): CountMinSketch {
  const [w, d] = DIMS[dims] as readonly [number, number];
  const s = unwrap(CountMinSketch.create(w, d));
  const apply = (list: readonly Op[]): void => {
    for (const o of list) s.incrBy(IDS[o.r] as string, [[`item-${o.item}`, o.n]]); // an overflow changes nothing
  };
  apply(ops);
  for (let i = 0; i < dels; i++) s.clear();
  if (dels > 0 && recreate) {
    const [w2, d2] = DIMS[(dims + dels) % DIMS.length] as readonly [number, number];
    s.recreate(w2, d2);
    apply(ops.slice(0, ops.length >> 1));
  }
  return s;
}

describe('CountMinSketch split', () => {
  it('parts of at most maxBytes join, in any order, into any sketch as the whole does', () => {
    let split = 0;
    let runs = 0; // the share of runs that split, so a lower numRuns (mutation testing) checks the same
    fc.assert(
      fc.property(stateArb, fc.array(opArb, { maxLength: 40 }), permilleArb, fc.nat(), (spec, other, permille, seed) => {
        const whole = buildCms(spec);
        const maxBytes = Math.max(1, Math.round((whole.encode().length * permille) / 1000));
        const receivers = [
          buildCms({ ...spec, ops: [], dels: 0 }), // empty, generation 0
          buildCms({ ...spec, ops: spec.ops.slice(0, spec.ops.length >> 1) }), // older
          buildCms({ ...spec, ops: other }), // concurrent
          buildCms({ ...spec, ops: other, dels: spec.dels + 1, recreate: true }), // newer generation
          buildCms({ ...spec, ops: other, dels: 0 }), // older generation (unless the whole is generation 0)
          buildCms({ ...spec, ops: other, dims: (spec.dims + 1) % DIMS.length, dels: 0 }), // other dimensions
        ];
        runs++;
        if ((checkSplit(cmsKind, whole, maxBytes, receivers, seed)?.length ?? 0) > 1) split++;
      }),
      { numRuns: 300 },
    );
    expect(split).toBeGreaterThan(runs * 0.3);
  });

  it('cuts inside a replica: a matrix larger than maxBytes travels in parts of its cells', () => {
    const s = unwrap(CountMinSketch.create(2000, 5));
    for (let i = 0; i < 3000; i++) unwrap(s.incrBy('a:1', [[`k${i}`, 1 + (i % 700)]]));
    expect(s.replicaCount()).toBe(1);
    const parts = checkSplit(cmsKind, s, 1000, [unwrap(CountMinSketch.create(2000, 5))], 1) as CountMinSketch[];
    expect(parts.length).toBeGreaterThan(10);
    for (const p of parts) expect(p.replicaCount()).toBe(1);
  });

  it('keeps a part packed until its cells are read, and then behaves as any sketch', () => {
    const s = unwrap(CountMinSketch.create(1 << 16, 4));
    for (let i = 0; i < 5000; i++) unwrap(s.incrBy(`r${i % 3}:1`, [[`x${i}`, 1 + (i % 9)]]));
    const parts = s.split(2000) as CountMinSketch[];
    const part = parts[1] as CountMinSketch;
    expect(part.byteSize()).toBeLessThan(2100); // 4 MiB once unpacked
    const bytes = part.encode();
    expect([part.width, part.depth, part.generation, part.exists()]).toEqual([1 << 16, 4, 0, true]);
    expect(part.clone().encode()).toStrictEqual(bytes);
    expect(part.byteSize()).toBeLessThan(2100);
    const copy = unwrap(CountMinSketch.decode(bytes));
    expect(part.equals(copy)).toBe(true); // unpacks
    expect(part.byteSize()).toBeGreaterThan(1 << 20);
    expect(part.encode()).toStrictEqual(bytes);
    const other = parts[2] as CountMinSketch;
    const before = other.encode();
    const deleted = other.clone();
    deleted.clear();
    expect(deleted.generation).toBe(1);
    expect(deleted.exists()).toBe(false);
    expect(unwrap(CountMinSketch.decode(deleted.encode())).replicaCount()).toBe(0);
    expect(other.encode()).toStrictEqual(before); // the clone changed, not the part
    unwrap(other.incrBy('r9:1', [['new', 5]]));
    expect(Number(other.query('new'))).toBeGreaterThanOrEqual(5);
  });

  it('returns the whole when it fits, undefined only when one cell cannot fit', () => {
    const s = unwrap(CountMinSketch.create(1 << 18, 1));
    unwrap(s.incrBy('a:1', [['x', 1]]));
    expect(s.split(s.encode().length)).toEqual([s]);
    unwrap(s.incrBy('z'.repeat(255), [['y', Number.MAX_SAFE_INTEGER - 1]]));
    const unit = cmsKind.unitBytes(s);
    expect(unit).toBeLessThanOrEqual(300); // the bound count-min-sketch.ts documents
    expect(s.split(unit - 1)).toBeUndefined();
    expect(s.split(unit)).toHaveLength(2);
    s.clear();
    expect(s.split(s.encode().length - 1)).toBeUndefined(); // a tombstone: nothing to cut
  });

  slowIt('splits a 262,144 x 1 sketch written by 5 replicas', () => {
    const W = 1 << 18;
    const whole = unwrap(CountMinSketch.create(W, 1));
    const older = unwrap(CountMinSketch.create(W, 1));
    for (let r = 0; r < 5; r++) {
      for (let i = 0; i < 150_000; i++) {
        unwrap(whole.incrBy(`node${r}:1`, [[`r${r}-item-${i}`, 1 + (i % 1000)]]));
        if (i === 75_000) older.merge(whole);
      }
    }
    const bytes = whole.encode().length;
    for (const maxBytes of [3000, 1 << 20]) {
      const t0 = performance.now();
      const parts = whole.split(maxBytes) as CountMinSketch[];
      const ms = performance.now() - t0;
      const encoded = parts.reduce((n, p) => n + p.encode().length, 0);
      console.log(`CMS 262144 x 1, 5 writers: ${bytes} B into ${parts.length} parts of <= ${maxBytes} B (${encoded} B in all) in ${ms.toFixed(0)} ms`);
      // Parts hold only their encoding until read: thousands of them do not take 4 MiB each.
      for (const p of parts) expect(p.byteSize()).toBeLessThan(maxBytes + 100);
      const receivers = maxBytes === 3000 ? [unwrap(CountMinSketch.create(W, 1))] : [unwrap(CountMinSketch.create(W, 1)), older];
      checkSplit(cmsKind, whole, maxBytes, receivers, maxBytes, { direct: maxBytes !== 3000, perPartLive: false });
    }
  }, 120_000);
});

// ---- Top-K ---------------------------------------------------------------------------------------

const TOPK_DIMS = [
  [2, 8, 2],
  [3, 32, 3],
  [5, 16, 1],
] as const;

function buildTopK({ ops, dims, dels, recreate }: Spec): TopK {
  const [kk, w, d] = TOPK_DIMS[dims % TOPK_DIMS.length] as readonly [number, number, number];
  const t = unwrap(TopK.create(kk, w, d));
  const apply = (list: readonly Op[]): void => {
    for (const o of list) t.add(IDS[o.r] as string, [[o.item % 7 === 0 ? `${'long'.repeat(60)}-${o.item}` : `item-${o.item}`, o.n]]);
  };
  apply(ops);
  for (let i = 0; i < dels; i++) t.clear();
  if (dels > 0 && recreate) {
    const [k2, w2, d2] = TOPK_DIMS[(dims + dels) % TOPK_DIMS.length] as readonly [number, number, number];
    t.recreate(k2, w2, d2);
    apply(ops.slice(0, ops.length >> 1));
  }
  return t;
}

const topkKind: SplitKind<TopK> = {
  encode: (x) => x.encode(),
  decode: (b) => TopK.decode(b),
  merge: (a, b) => void a.merge(b),
  clone: (x) => x.clone(),
  split: (x, n) => x.split(n),
  live: (x) => x.exists(),
  unitBytes: (x) => x.largestRecordBytes() || x.encode().length,
};

describe('TopK split', () => {
  it('parts of whole records join, in any order, into any Top-K as the whole does', () => {
    let split = 0;
    let runs = 0; // the share of runs that split, so a lower numRuns (mutation testing) checks the same
    fc.assert(
      fc.property(stateArb, fc.array(opArb, { maxLength: 40 }), permilleArb, fc.nat(), (spec, other, permille, seed) => {
        const whole = buildTopK(spec);
        const [kk, w, d] = TOPK_DIMS[spec.dims % TOPK_DIMS.length] as readonly [number, number, number];
        if (spec.dels === 0) expect(whole.largestRecordBytes()).toBeLessThanOrEqual(topkMaxRecordBytes(kk, w, d));
        const maxBytes = Math.max(1, Math.round((whole.encode().length * permille) / 1000));
        const receivers = [
          buildTopK({ ...spec, ops: [], dels: 0 }),
          buildTopK({ ...spec, ops: spec.ops.slice(0, spec.ops.length >> 1) }), // older records of the same replicas
          buildTopK({ ...spec, ops: other }),
          buildTopK({ ...spec, ops: [...spec.ops, ...other] }), // newer records of the same replicas
          buildTopK({ ...spec, ops: other, dels: spec.dels + 1, recreate: true }),
          buildTopK({ ...spec, ops: other, dels: 0 }),
        ];
        runs++;
        if ((checkSplit(topkKind, whole, maxBytes, receivers, seed)?.length ?? 0) > 1) split++;
      }),
      { numRuns: 200 },
    );
    expect(split).toBeGreaterThan(runs / 5);
  });

  it('never cuts a record: a part with a piece of a greater record would replace a complete smaller one', () => {
    const t = unwrap(TopK.create(3, 64, 3));
    for (let i = 0; i < 200; i++) unwrap(t.add(`w${i % 4}:1`, [[`i${i % 23}`, 1 + (i % 5)]]));
    const one = t.largestRecordBytes();
    expect(t.split(one - 1)).toBeUndefined();
    const parts = t.split(one) as TopK[];
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(parts.reduce((n, p) => n + p.replicaCount(), 0)).toBe(4);
  });

  it('bounds one record by topkMaxRecordBytes, close to a worst case', () => {
    const [kk, w, d] = [3, 4, 2];
    const t = unwrap(TopK.create(kk, w, d));
    const id = 'i'.repeat(255);
    // 2k candidates of the longest size, each counted 2^50 (8-byte cells, rows summing below 2^53).
    for (let i = 0; i < 2 * kk; i++) unwrap(t.add(id, [[`${String(i).padStart(TOPK_MAX_ITEM_BYTES, '#')}`, 2 ** 50]]));
    const actual = t.largestRecordBytes();
    const bound = topkMaxRecordBytes(kk, w, d);
    expect(actual).toBeLessThanOrEqual(bound);
    expect(bound - actual).toBeLessThan(32);
    // The limits the creation check applies, at the frame sizes of the docs (crdt-sketches.md).
    expect(topkMaxRecordBytes(10, 1024, 5)).toBe(56_681);
    expect(topkMaxRecordBytes(1, 8, 1)).toBeLessThan(3000);
  });
});
