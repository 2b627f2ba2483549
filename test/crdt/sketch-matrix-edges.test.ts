// Edges of the sketches' counting core (SketchMatrix and its run-length codec) and of the shared
// header / replica-id codec helpers, with exact values: dimension limits and their messages, the
// bookkeeping of per-replica sums and totals through add / maxMerge / replace / decode, the switch
// to bigint arithmetic past 2^53-1, exact run sizes, and every decoder failure's reason.
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, CODEC_VERSION, TypeTag } from '../../src/crdt/codec.js';
import { COUNTER_MAX } from '../../src/crdt/counter-base.js';
import { ExactSum, finishDecode, readBounded, readerError, readId, readTypeHeader, readVersionedHeader, sortIds } from '../../src/crdt/sketch-codec.js';
import {
  dimsError,
  itemBytes,
  matrixRuns,
  maxMatrixBytes,
  readDims,
  rowSumsAgree,
  runsSize,
  SKETCH_CODEC_VERSION,
  SKETCH_CODEC_VERSIONS,
  SketchMatrix,
  writeRuns,
} from '../../src/crdt/sketch-matrix.js';

const MAX = Number.MAX_SAFE_INTEGER; // 2^53-1, COUNTER_MAX
const X = itemBytes('x');
const Y = itemBytes('y');
const Z = itemBytes('z');

const f64 = (cells: readonly number[]): Float64Array => Float64Array.from(cells);
const reader = (bytes: readonly number[]): ByteReader => new ByteReader(Uint8Array.from(bytes));
/** 'a' as a length-prefixed id. */
const A = [1, 0x61];
const B = [1, 0x62];

/** Decodes `bytes` (rows only) into a fresh width x depth matrix; the matrix, the reader and the replicas reported. */
function decode(width: number, depth: number, bytes: readonly number[], version = SKETCH_CODEC_VERSION) {
  const m = new SketchMatrix(width, depth);
  const r = reader(bytes);
  const seen: string[] = [];
  m.decodeRows(r, version, (id) => seen.push(id));
  return { m, r, seen };
}

/** Expects decoding to fail with exactly `reason`, leaving the matrix empty and no replica reported. */
function expectRejected(width: number, depth: number, bytes: readonly number[], reason: string, version = SKETCH_CODEC_VERSION): void {
  const { m, r, seen } = decode(width, depth, bytes, version);
  expect(r.failed).toBe(true);
  expect(r.reason).toBe(reason);
  expect(m.rows.size).toBe(0);
  expect(seen).toStrictEqual([]);
  expect(m.count()).toBe(0);
}

describe('sketch dimensions', () => {
  it('readDims rejects each bound with its own reason', () => {
    const w0 = reader([0, 1]);
    expect(readDims(w0)).toStrictEqual({ width: 0, depth: 1 });
    expect(w0.reason).toBe('width 0 outside 1..262144 at byte 1');

    const d33 = reader([1, 33]);
    expect(readDims(d33)).toStrictEqual({ width: 1, depth: 33 });
    expect(d33.reason).toBe('depth 33 outside 1..32 at byte 2');

    // 2^18 x 2 cells: each bound alone holds, their product does not.
    const big = reader([0x80, 0x80, 0x10, 2]);
    expect(readDims(big)).toStrictEqual({ width: 262_144, depth: 2 });
    expect(big.failed).toBe(true);
    expect(big.reason).toBe('too many cells at byte 4');

    for (const [bytes, dims] of [
      [[0x80, 0x80, 0x10, 1], { width: 262_144, depth: 1 }],
      [[0x80, 0x80, 0x08, 2], { width: 131_072, depth: 2 }],
      [[3, 32], { width: 3, depth: 32 }],
    ] as const) {
      const r = reader(bytes);
      expect(readDims(r)).toStrictEqual(dims);
      expect(r.failed).toBe(false);
      expect(r.remaining).toBe(0);
    }
  });

  it('dimsError names the first bad dimension exactly', () => {
    expect(dimsError(0, 4)).toBe('width 0 must be a positive integer');
    expect(dimsError(-3, 4)).toBe('width -3 must be a positive integer');
    expect(dimsError(1.5, 4)).toBe('width 1.5 must be a positive integer');
    expect(dimsError(Number.NaN, 4)).toBe('width NaN must be a positive integer');
    expect(dimsError(4, 0)).toBe('depth 0 must be an integer in 1..32');
    expect(dimsError(4, 2.5)).toBe('depth 2.5 must be an integer in 1..32');
    expect(dimsError(4, 33)).toBe('depth 33 must be an integer in 1..32');
    expect(dimsError(262_144, 2)).toBe('width x depth = 524288 is above the limit of 262144 cells');
    expect(dimsError(8193, 32)).toBe('width x depth = 262176 is above the limit of 262144 cells');
    for (const [w, d] of [
      [1, 1],
      [1, 32],
      [2, 32],
      [262_144, 1],
      [131_072, 2],
      [8192, 32],
    ]) {
      expect(dimsError(w as number, d as number), `${w} x ${d}`).toBeUndefined();
    }
  });
});

describe('SketchMatrix bookkeeping', () => {
  it('maps an item to one fixed cell per row', () => {
    const m = new SketchMatrix(1000, 4);
    expect(Array.from(m.cells(X))).toStrictEqual([349, 1500, 2651, 3098]);
    expect(Array.from(m.cells(Y))).toStrictEqual([243, 1662, 2785, 3204]);
    expect(Array.from(new SketchMatrix(4, 3).cells(X))).toStrictEqual([1, 4, 11]);
    expect(Array.from(new SketchMatrix(64, 3).cells(Z))).toStrictEqual([49, 126, 139]);
  });

  it('add keeps cells, totals, per-replica sums and the count exact', () => {
    const m = new SketchMatrix(64, 3);
    // x, y, z take distinct cells in every row of a 64 x 3 matrix.
    m.add('a', X, 3);
    m.add('a', Y, 4);
    m.add('b', X, 5);
    m.add('b', Z, 1);
    expect(m.estimate(X)).toBe(8);
    expect(m.estimate(Y)).toBe(4);
    expect(m.estimate(Z)).toBe(1);
    expect(m.replicaTotal('a')).toBe(7);
    expect(m.replicaTotal('b')).toBe(6);
    expect(m.replicaTotal('c')).toBe(0);
    expect(m.count()).toBe(13);
    const a = new Float64Array(192);
    for (const k of [61, 116, 171]) a[k] = 3;
    for (const k of [19, 94, 169]) a[k] = 4;
    expect(m.rows.get('a')).toStrictEqual(a);
    expect(m.totals[61]).toBe(8);
    expect(m.totals[139]).toBe(1);
    expect(m.totals.reduce((s, v) => s + v, 0)).toBe(13 * 3);
    // The count binds, not the replica's own sum (which is never above it).
    expect(m.headroom('a')).toBe(COUNTER_MAX - 13);
    expect(m.headroom('b')).toBe(COUNTER_MAX - 13);
    expect(m.headroom('new')).toBe(COUNTER_MAX - 13);
    expect(m.big).toBe(false);
    expect(m.byteSize()).toBe(64 + 192 * 8 + 2 * (96 + 192 * 8));
  });

  it('byteSize counts the totals and each replica matrix', () => {
    const m = new SketchMatrix(3, 2);
    expect(m.byteSize()).toBe(112);
    m.add('a', X, 1);
    expect(m.byteSize()).toBe(256);
  });

  it('stays in numbers up to 2^53-1 exactly', () => {
    const m = new SketchMatrix(2, 2);
    expect(m.maxMerge('a', f64([MAX, 0, MAX, 0]))).toBe(true);
    expect(m.big).toBe(false);
    expect(m.count()).toBe(MAX);
    expect(m.replicaTotal('a')).toBe(MAX);
    expect(m.headroom('a')).toBe(0);
    expect(m.headroom('b')).toBe(0);
    expect(m.estimateCells(Int32Array.from([0, 2]))).toBe(MAX);
    expect(m.estimateCells(Int32Array.from([1, 2]))).toBe(0);
  });

  it('a per-cell sum past 2^53-1 switches estimates to exact bigint (min over rows)', () => {
    const m = new SketchMatrix(4, 3);
    const c = Array.from(m.cells(X)); // [1, 4, 11]
    const mk = (vals: readonly number[]): Float64Array => {
      const out = new Float64Array(12);
      vals.forEach((v, i) => (out[c[i] as number] = v));
      return out;
    };
    m.maxMerge('a', mk([MAX, MAX, MAX]));
    expect(m.big).toBe(false);
    expect(m.estimate(X)).toBe(MAX);
    // Row sums over replicas: 2^53+9, 2^53+2, 2^53+19; the least is the middle row's.
    m.maxMerge('b', mk([10, 3, 20]));
    expect(m.big).toBe(true);
    expect(m.estimate(X)).toBe(9_007_199_254_740_994n);
    expect(m.estimateCells(Int32Array.from(c))).toBe(9_007_199_254_740_994n);
    // The least row first, then last.
    const first = new SketchMatrix(4, 3);
    first.maxMerge('a', mk([MAX, MAX, MAX]));
    first.maxMerge('b', mk([1, 7, 9]));
    expect(first.estimate(X)).toBe(9_007_199_254_740_992n);
    const last = new SketchMatrix(4, 3);
    last.maxMerge('a', mk([MAX, MAX, MAX]));
    last.maxMerge('b', mk([9, 7, 2]));
    expect(last.estimate(X)).toBe(9_007_199_254_740_993n);
    // An item none of whose cells was touched: every row sums to 0.
    expect(m.estimateCells(Int32Array.from([0, 5, 10]))).toBe(0n);
    // The count is the first rows' sum, in bigint past 2^53-1; a big matrix has no headroom.
    expect(m.count()).toBe(9_007_199_254_741_001n);
    expect(m.replicaTotal('a')).toBe(MAX);
    expect(m.replicaTotal('b')).toBe(10);
    expect(m.headroom('a')).toBe(0);
    expect(m.headroom('b')).toBe(0);
    expect(m.headroom('c')).toBe(0);
  });

  it('counts in bigint once the first rows pass 2^53-1, even with no cell past it', () => {
    const m = new SketchMatrix(2, 2);
    m.maxMerge('a', f64([2 ** 52, 2 ** 52 - 1, 2 ** 52 - 1, 2 ** 52]));
    m.maxMerge('b', f64([5, 0, 0, 5]));
    expect(m.big).toBe(false);
    expect(m.count()).toBe(9_007_199_254_740_996n);
    expect(m.replicaTotal('a')).toBe(MAX);
    expect(m.replicaTotal('b')).toBe(5);
    expect(m.headroom('b')).toBe(-5);
  });

  it('counts in bigint once any cell is big, even with small first rows', () => {
    const m = new SketchMatrix(2, 2);
    m.maxMerge('a', f64([0, 0, MAX, 0]));
    expect(m.big).toBe(false);
    expect(m.count()).toBe(0);
    m.maxMerge('b', f64([0, 0, 1, 0]));
    expect(m.big).toBe(true);
    expect(m.count()).toBe(0n);
    expect(m.headroom('a')).toBe(0);
    expect(m.replicaTotal('b')).toBe(0);
  });

  it('maxMerge raises cells by the difference and reports whether anything changed', () => {
    const m = new SketchMatrix(4, 2);
    expect(m.maxMerge('a', f64([1, 2, 0, 0, 0, 3, 0, 0]))).toBe(true);
    expect(m.replicaTotal('a')).toBe(3);
    expect(m.maxMerge('a', f64([3, 1, 0, 0, 0, 0, 4, 0]))).toBe(true);
    expect(m.rows.get('a')).toStrictEqual(f64([3, 2, 0, 0, 0, 3, 4, 0]));
    expect(m.totals).toStrictEqual(f64([3, 2, 0, 0, 0, 3, 4, 0]));
    expect(m.replicaTotal('a')).toBe(5);
    expect(m.count()).toBe(5);
    expect(m.maxMerge('a', f64([2, 2, 0, 0, 0, 1, 4, 0]))).toBe(false);
    expect(m.maxMerge('b', f64([0, 0, 0, 0, 0, 0, 0, 0]))).toBe(false);
    expect(m.rows.has('b')).toBe(false);
    expect(m.maxMerge('b', f64([0, 0, 0, 7, 0, 0, 0, 0]))).toBe(true);
    expect(m.totals).toStrictEqual(f64([3, 2, 0, 7, 0, 3, 4, 0]));
    expect(m.replicaTotal('b')).toBe(7);
    expect(m.count()).toBe(12);
  });

  it('replace swaps a matrix, moving totals and first-row sums by the difference', () => {
    const m = new SketchMatrix(2, 2);
    const mine = f64([1, 2, 3, 4]);
    m.replace('a', mine);
    expect(m.replicaTotal('a')).toBe(3);
    expect(m.count()).toBe(3);
    expect(m.totals).toStrictEqual(f64([1, 2, 3, 4]));
    mine[0] = 100; // replace copies
    expect(m.rows.get('a')).toStrictEqual(f64([1, 2, 3, 4]));
    m.replace('b', f64([0, 1, 1, 0]));
    m.replace('a', f64([0, 5, 7, 0]));
    expect(m.rows.get('a')).toStrictEqual(f64([0, 5, 7, 0]));
    expect(m.totals).toStrictEqual(f64([0, 6, 8, 0]));
    expect(m.replicaTotal('a')).toBe(5);
    expect(m.replicaTotal('b')).toBe(1);
    expect(m.count()).toBe(6);
  });

  it('copyFrom copies deeply; clear empties', () => {
    const o = new SketchMatrix(4, 2);
    o.maxMerge('a', f64([1, 0, 0, 0, 0, 1, 0, 0]));
    o.add('b', X, 2);
    const c = new SketchMatrix(4, 2);
    c.add('z', Y, 9);
    c.copyFrom(o);
    expect(c.equals(o)).toBe(true);
    expect(c.count()).toBe(3);
    expect(c.replicaTotal('z')).toBe(0);
    expect(c.replicaTotal('b')).toBe(2);
    o.maxMerge('a', f64([5, 0, 0, 0, 0, 5, 0, 0]));
    o.add('b', X, 1);
    expect(c.rows.get('a')).toStrictEqual(f64([1, 0, 0, 0, 0, 1, 0, 0]));
    expect(c.estimate(X)).toBe(2);
    expect(c.count()).toBe(3);
    expect(c.equals(o)).toBe(false);
    c.clear();
    expect(c.rows.size).toBe(0);
    expect(c.count()).toBe(0);
    expect(c.totals).toStrictEqual(new Float64Array(8));
  });

  it('equals compares dimensions, replicas and every cell', () => {
    expect(new SketchMatrix(4, 1).equals(new SketchMatrix(4, 1))).toBe(true);
    expect(new SketchMatrix(4, 1).equals(new SketchMatrix(3, 1))).toBe(false);
    expect(new SketchMatrix(2, 2).equals(new SketchMatrix(2, 3))).toBe(false);
    expect(new SketchMatrix(2, 3).equals(new SketchMatrix(3, 2))).toBe(false);
    const mk = (rows: [string, number[]][]): SketchMatrix => {
      const m = new SketchMatrix(2, 2);
      for (const [id, cells] of rows) m.maxMerge(id, f64(cells));
      return m;
    };
    const a = mk([['a', [1, 0, 0, 1]]]);
    expect(a.equals(mk([['a', [1, 0, 0, 1]]]))).toBe(true);
    expect(a.equals(mk([['a', [1, 0, 0, 1]], ['b', [1, 0, 1, 0]]]))).toBe(false);
    expect(mk([['a', [1, 0, 0, 1]], ['b', [1, 0, 1, 0]]]).equals(a)).toBe(false);
    expect(a.equals(mk([['b', [1, 0, 0, 1]]]))).toBe(false);
    expect(a.equals(mk([['a', [1, 0, 0, 2]]]))).toBe(false);
    expect(a.equals(mk([['a', [2, 0, 0, 1]]]))).toBe(false);
  });
});

describe('the rows codec', () => {
  // a: [0,4,0 | 2,2,0] (one run, cells 1..4); b: [1,0,0 | 0,0,1] (two runs, 4 zeros apart).
  const V2 = [2, ...A, 1, 1, 4, 4, 0, 2, 2, ...B, 2, 0, 1, 1, 4, 1, 1];
  const V1 = [2, ...A, 0, 4, 0, 2, 2, 0, ...B, 1, 0, 0, 0, 0, 1];

  function source(): SketchMatrix {
    const m = new SketchMatrix(3, 2);
    m.maxMerge('b', f64([1, 0, 0, 0, 0, 1]));
    m.maxMerge('a', f64([0, 4, 0, 2, 2, 0]));
    return m;
  }

  it('encodes each replica in id order as runs, byte for byte', () => {
    const w = new ByteWriter();
    source().encodeRows(w);
    expect(Array.from(w.finish())).toStrictEqual(V2);
  });

  for (const [version, bytes] of [
    [SKETCH_CODEC_VERSION, V2],
    [CODEC_VERSION, V1],
  ] as const) {
    it(`decodes version ${version} to the same state, sums and totals included`, () => {
      const { m, r, seen } = decode(3, 2, bytes, version);
      expect(r.failed).toBe(false);
      expect(r.remaining).toBe(0);
      expect(seen).toStrictEqual(['a', 'b']);
      expect(m.equals(source())).toBe(true);
      expect(m.rows.get('a')).toStrictEqual(f64([0, 4, 0, 2, 2, 0]));
      expect(m.totals).toStrictEqual(f64([1, 4, 0, 2, 2, 1]));
      expect(m.replicaTotal('a')).toBe(4);
      expect(m.replicaTotal('b')).toBe(1);
      expect(m.count()).toBe(5);
      expect(m.big).toBe(false);
      expect(m.headroom('a')).toBe(COUNTER_MAX - 5);
    });
  }

  it('decoding a cell past 2^53-1 in sum makes the matrix big', () => {
    const w = new ByteWriter();
    w.uvarint(2).string('a').uvarint(1).uvarint(0).uvarint(1).uvarint(MAX);
    w.string('b').uvarint(1).uvarint(0).uvarint(1).uvarint(1);
    const { m, r } = decode(1, 1, Array.from(w.finish()));
    expect(r.failed).toBe(false);
    expect(m.big).toBe(true);
    expect(m.count()).toBe(9_007_199_254_740_992n);
    expect(m.estimate(X)).toBe(9_007_199_254_740_992n);
  });

  it('decodes a version-1 matrix with no zero cell', () => {
    const { m, r } = decode(3, 2, [1, ...A, 1, 2, 3, 3, 2, 1], CODEC_VERSION);
    expect(r.failed).toBe(false);
    expect(m.rows.get('a')).toStrictEqual(f64([1, 2, 3, 3, 2, 1]));
    expect(m.count()).toBe(6);
  });

  it('rejects an all-zero version-1 matrix', () => {
    expectRejected(3, 2, [1, ...A, 0, 0, 0, 0, 0, 0], 'all-zero replica matrix at byte 9', CODEC_VERSION);
  });

  it('rejects a truncated version-1 matrix', () => {
    expectRejected(3, 2, [1, 6, ...Buffer.from('abcdef'), 1, 2], 'truncated at byte 10', CODEC_VERSION);
  });

  it('bounds the replica count by the bytes left (a replica takes >= 6 bytes, or cells + 2 in version 1)', () => {
    expectRejected(3, 2, [2, ...A, 1, 0, 1, 5], 'replica count 2 outside 0..1 at byte 1');
    expectRejected(4, 2, [2, ...A, 1, 1, 1, 1, 1, 1, 1, 1, 1], 'replica count 2 outside 0..1 at byte 1', CODEC_VERSION);
    // Exactly enough bytes for one replica of each version.
    expect(decode(3, 2, [1, ...A, 1, 0, 1, 5]).m.count()).toBe(5);
    expect(decode(4, 2, [1, ...A, 1, 1, 1, 1, 1, 1, 1, 1], CODEC_VERSION).m.count()).toBe(4);
  });

  it('rejects duplicate and unsorted ids, keeping the replicas before', () => {
    for (const [first, reason] of [
      [A, "duplicate replica id 'a' at byte 9"],
      [B, 'replica ids not sorted at byte 9'],
    ] as const) {
      const { m, r, seen } = decode(1, 1, [2, ...first, 1, 0, 1, 1, ...A, 1, 0, 1, 1]);
      expect(r.reason).toBe(reason);
      expect(seen).toStrictEqual([first === A ? 'a' : 'b']);
      expect(m.rows.size).toBe(1);
      expect(m.count()).toBe(1);
    }
  });
});

describe('the runs codec', () => {
  /** One replica 'a' with these raw runs. */
  const runs = (list: readonly [gap: number, cells: readonly number[]][], count = list.length): number[] => [
    1,
    ...A,
    count,
    ...list.flatMap(([gap, cells]) => [gap, cells.length, ...cells]),
  ];

  it('matrixRuns groups non-zero cells at most two zeros apart', () => {
    expect(matrixRuns(f64([0, 0, 0, 0, 0]))).toStrictEqual([]);
    expect(matrixRuns(f64([]))).toStrictEqual([]);
    expect(matrixRuns(f64([7]))).toStrictEqual([0, 1]);
    expect(matrixRuns(f64([0, 1, 0, 0, 2, 0, 0, 0, 3, 0]))).toStrictEqual([1, 5, 8, 9]);
    expect(matrixRuns(f64([1, 0, 0, 0, 1]))).toStrictEqual([0, 1, 4, 5]);
    expect(matrixRuns(f64([1, 0, 0, 1, 0, 0, 1]))).toStrictEqual([0, 7]);
    expect(matrixRuns(f64([5, 0, 0, 0, 0, 6, 0]), 1, 7)).toStrictEqual([5, 6]);
    expect(matrixRuns(f64([5, 0, 0, 0, 0, 6, 0]), 1, 5)).toStrictEqual([]);
  });

  it('runsSize is what writeRuns writes, on 32 runs with far-apart ends', () => {
    const cells = new Float64Array(128);
    for (let k = 0; k < 128; k += 4) cells[k] = 1;
    cells[124] = 300;
    const rs = matrixRuns(cells);
    expect(rs.length).toBe(64);
    expect(rs.slice(0, 4)).toStrictEqual([0, 1, 4, 5]);
    expect(rs.slice(-2)).toStrictEqual([124, 125]);
    const w = new ByteWriter();
    writeRuns(w, cells, rs);
    const bytes = Array.from(w.finish());
    // 32 runs, then [gap, 1, cell] each: the first gap 0, then 3; the last cell 2 bytes.
    expect(bytes.length).toBe(98);
    expect(bytes.slice(0, 7)).toStrictEqual([32, 0, 1, 1, 3, 1, 1]);
    expect(bytes.slice(-4)).toStrictEqual([3, 1, 0xac, 0x02]);
    expect(runsSize(cells, rs)).toBe(98);
    // One long run: the length and the gaps in 2 bytes.
    const wide = new Float64Array(300);
    wide[200] = 1;
    wide[299] = 2;
    const wr = matrixRuns(wide);
    expect(wr).toStrictEqual([200, 201, 299, 300]);
    const w2 = new ByteWriter();
    writeRuns(w2, wide, wr);
    expect(Array.from(w2.finish())).toStrictEqual([2, 0xc8, 0x01, 1, 1, 98, 1, 2]);
    expect(runsSize(wide, wr)).toBe(8);
    const dense = new Float64Array(200).fill(1);
    const w3 = new ByteWriter();
    writeRuns(w3, dense, matrixRuns(dense));
    expect(w3.length).toBe(204);
    expect(runsSize(dense, matrixRuns(dense))).toBe(204);
    expect(runsSize(new Float64Array(4), [])).toBe(1);
  });

  it('decodes canonical runs', () => {
    // Two runs in 5 cells: the most that fit.
    const five = decode(5, 1, runs([[0, [1]], [3, [1]]]));
    expect(five.r.failed).toBe(false);
    expect(five.m.rows.get('a')).toStrictEqual(f64([1, 0, 0, 0, 1]));
    expect(five.m.replicaTotal('a')).toBe(2);
    const gaps = decode(16, 1, runs([[1, [4, 0, 0, 5]], [3, [6]], [6, [7]]]));
    expect(gaps.r.failed).toBe(false);
    expect(gaps.m.rows.get('a')).toStrictEqual(f64([0, 4, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 7]));
    expect(gaps.m.count()).toBe(22);
  });

  it('bounds the run count by the cells and by the bytes left', () => {
    // 4 cells hold one run at most.
    expectRejected(4, 1, runs([[0, [1]], [3, [1]]]), 'run count 2 outside 1..1 at byte 4');
    // 100 cells, but 4 bytes left hold one run.
    expectRejected(100, 1, runs([[0, [1]]], 5), 'run count 5 outside 1..1 at byte 4');
    // (Two padding bytes keep the replica count in bounds.)
    expectRejected(16, 1, [...runs([]), 0, 0], 'run count 0 outside 1..1 at byte 4');
  });

  it('rejects runs too close, outside the matrix, or not canonical, with their reasons', () => {
    expectRejected(16, 1, runs([[0, [1]], [2, [2]]]), 'runs 2 cells apart at byte 9');
    expectRejected(16, 1, runs([[0, [1]], [0, [2]]]), 'runs 0 cells apart at byte 9');
    expectRejected(4, 1, runs([[4, [1]]]), 'run outside the matrix at byte 6');
    expectRejected(4, 1, runs([[2, [1, 2, 3]]]), 'run outside the matrix at byte 6');
    expectRejected(4, 1, runs([[0, []], [0, []]], 1), 'run outside the matrix at byte 6');
    expectRejected(16, 1, runs([[0, [1]], [14, [2, 3]]]), 'run outside the matrix at byte 9');
    const notCanonical = 'run not canonical (a zero at an end, or too many in a row)';
    expectRejected(16, 1, runs([[0, [0, 1]]]), `${notCanonical} at byte 7`);
    expectRejected(16, 1, runs([[0, [1, 0]]]), `${notCanonical} at byte 8`);
    expectRejected(16, 1, runs([[0, [1, 0, 0, 0, 2]]]), `${notCanonical} at byte 10`);
    expectRejected(16, 1, runs([[0, [1, 2]]]).slice(0, -1), 'truncated at byte 7');
  });
});

describe('maxMatrixBytes and rowSumsAgree', () => {
  it('bounds one replica matrix exactly as documented', () => {
    // One cell raised through all 8 byte sizes: 8 bytes, plus 7 for the runs.
    expect(maxMatrixBytes(1, 1)).toBe(15);
    expect(maxMatrixBytes(3, 2)).toBe(55);
    expect(maxMatrixBytes(100, 5)).toBe(3582);
    // 8192 cells a row reach 6 bytes and only 1999 of them 7; one more byte per 16,384 cells.
    expect(maxMatrixBytes(8192, 2)).toBe(102_310);
    expect(maxMatrixBytes(16_384, 1)).toBe(100_247);
    // The bound holds for the matrix that reaches it: a single cell of 2^53-1 per row.
    const m = f64([MAX, MAX]);
    const w = new ByteWriter();
    writeRuns(w, m, matrixRuns(m));
    expect(w.length).toBeLessThanOrEqual(maxMatrixBytes(1, 2));
    expect(w.length).toBe(19);
    expect(maxMatrixBytes(1, 2)).toBe(23);
  });

  it('rowSumsAgree checks every row against the first, and the 2^53-1 limit', () => {
    expect(rowSumsAgree(f64([1, 2, 3, 0]), 2, 2)).toBe(true);
    expect(rowSumsAgree(f64([1, 2, 3, 1]), 2, 2)).toBe(false);
    expect(rowSumsAgree(f64([0, 0, 0, 0]), 2, 2)).toBe(true);
    expect(rowSumsAgree(f64([0, 0, 1, 0]), 2, 2)).toBe(false);
    expect(rowSumsAgree(f64([0, 0, 0, 0, 1, 0]), 2, 3)).toBe(false);
    expect(rowSumsAgree(f64([MAX, 0, 0, MAX]), 2, 2)).toBe(true);
    expect(rowSumsAgree(f64([MAX, 1, 1, MAX]), 2, 2)).toBe(false);
    expect(rowSumsAgree(f64([MAX, 1]), 2, 1)).toBe(false);
  });
});

describe('shared codec helpers', () => {
  const header = (bytes: readonly number[]) => readVersionedHeader(reader(bytes), TypeTag.CountMinSketch, 'CMS', SKETCH_CODEC_VERSIONS);
  const expectErr = (res: ReturnType<typeof header>, code: string, message: string): void => {
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.error.code).toBe(code);
      expect(res.error.message).toBe(message);
    }
  };

  it('readVersionedHeader: the version read, or a typed error with its message', () => {
    expect(header([2, TypeTag.CountMinSketch])).toStrictEqual({ ok: true, value: 2 });
    expect(header([1, TypeTag.CountMinSketch])).toStrictEqual({ ok: true, value: 1 });
    expectErr(header([]), 'CODEC_TRUNCATED', 'CMS: empty input');
    expectErr(header([9, TypeTag.CountMinSketch]), 'CODEC_BAD_VERSION', 'CMS: unknown version 9');
    expectErr(header([0]), 'CODEC_BAD_VERSION', 'CMS: unknown version 0');
    expectErr(header([2]), 'CODEC_TRUNCATED', 'CMS: missing type tag');
    expectErr(header([2, TypeTag.TopK]), 'CODEC_BAD_TYPE', 'CMS: type tag 6, expected 5');
  });

  it('readTypeHeader accepts only version 1', () => {
    expect(readTypeHeader(reader([1, TypeTag.WindowedCounter]), TypeTag.WindowedCounter, 'W')).toBeUndefined();
    const e = readTypeHeader(reader([2, TypeTag.WindowedCounter]), TypeTag.WindowedCounter, 'W');
    expect(e?.code).toBe('CODEC_BAD_VERSION');
    expect(e?.message).toBe('W: unknown version 2');
  });

  it('readerError and finishDecode: truncation vs any other failure, trailing bytes', () => {
    const fresh = readerError(reader([]), 'N');
    expect([fresh.code, fresh.message]).toStrictEqual(['CODEC_INVALID', 'N: invalid']);
    const t = reader([]);
    t.u8();
    const te = readerError(t, 'N');
    expect([te.code, te.message]).toStrictEqual(['CODEC_TRUNCATED', 'N: truncated at byte 0']);
    const bad = reader([1]);
    bad.fail('bad thing, not truncated');
    const be = readerError(bad, 'N');
    expect([be.code, be.message]).toStrictEqual(['CODEC_INVALID', 'N: bad thing, not truncated at byte 0']);

    const trailing = reader([1, 2, 3]);
    trailing.u8();
    const res = finishDecode(trailing, 'v', 'N');
    expect(res.ok).toBe(false);
    if (!res.ok) expect([res.error.code, res.error.message]).toStrictEqual(['CODEC_INVALID', 'N: 2 trailing bytes at byte 1']);
    const done = reader([7]);
    done.u8();
    expect(finishDecode(done, 'v', 'N')).toStrictEqual({ ok: true, value: 'v' });
  });

  it('sortIds sorts in JavaScript string order', () => {
    expect(sortIds(['b:1', 'a:2', 'a:10', 'B', 'é', 'a'])).toStrictEqual(['B', 'a', 'a:10', 'a:2', 'b:1', 'é']);
    expect(sortIds(new Map([['z', 1], ['y', 2]]).keys())).toStrictEqual(['y', 'z']);
    const many = Array.from({ length: 300 }, (_, i) => `n${(i * 7919) % 300}:1`);
    const sorted = sortIds(many);
    for (let i = 1; i < sorted.length; i++) expect((sorted[i - 1] as string) < (sorted[i] as string)).toBe(true);
  });

  it('readId: non-empty, strictly after the previous id', () => {
    const ok = reader([...B]);
    expect(readId(ok, 'a')).toBe('b');
    expect(ok.failed).toBe(false);
    expect(readId(reader([...A]), undefined)).toBe('a');
    const cases: [number[], string | undefined, string][] = [
      [[0], undefined, 'empty replica id at byte 1'],
      [[0], 'a', 'empty replica id at byte 1'],
      [[...B], 'b', "duplicate replica id 'b' at byte 2"],
      [[...A], 'b', 'replica ids not sorted at byte 2'],
      [[3, 0x61], undefined, 'truncated at byte 1'],
    ];
    for (const [bytes, prev, reason] of cases) {
      const r = reader(bytes);
      expect(readId(r, prev), reason).toBeUndefined();
      expect(r.reason).toBe(reason);
    }
  });

  it('readBounded fails outside [min, max] naming what was read', () => {
    const r = reader([5]);
    expect(readBounded(r, 1, 3, 'thing')).toBe(5);
    expect(r.reason).toBe('thing 5 outside 1..3 at byte 1');
    const lo = reader([0]);
    expect(readBounded(lo, 1, 3, 'other')).toBe(0);
    expect(lo.reason).toBe('other 0 outside 1..3 at byte 1');
    const inRange = reader([3]);
    expect(readBounded(inRange, 1, 3, 'thing')).toBe(3);
    expect(inRange.failed).toBe(false);
  });

  it('ExactSum stays a number up to 2^53-1, then sums exactly in bigint', () => {
    const s = new ExactSum();
    expect(s.value()).toBe(0);
    s.add(3);
    s.add(4);
    expect(s.value()).toBe(7);
    s.add(MAX - 7);
    expect(s.value()).toBe(MAX);
    s.add(5);
    expect(s.value()).toBe(9_007_199_254_740_996n);
    s.add(10);
    s.add(MAX);
    expect(s.value()).toBe(18_014_398_509_481_997n);
  });
});
