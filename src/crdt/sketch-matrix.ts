// The counting core shared by the Count-Min Sketch and Top-K: one width x depth matrix of exact
// counts per replica that wrote, plus the per-cell sum over replicas (kept up to date), so a point
// query is O(depth). Per-replica matrices are what make the merged sketch never under-count: each
// replica's matrix is a valid sketch of its own stream, so their sum is one of the union stream.

import { hash64Bytes, hash64Lo } from './hash64.js';
import { COUNTER_MAX } from './counter-base.js';
import type { ReplicaId } from './replica-id.js';
import { CODEC_VERSION, uvarintSize, type ByteReader, type ByteWriter } from './codec.js';
import { readBounded, readId, sortIds, writeId } from './sketch-codec.js';

/** Most cells (width x depth) of one replica's matrix: 2^18 = 262,144 (2 MiB in memory per replica). */
export const SKETCH_MAX_CELLS = 1 << 18;
/** Most rows (hash functions). RedisBloom's prob 1e-9 needs 30. */
export const SKETCH_MAX_DEPTH = 32;

/**
 * Version byte of the Count-Min Sketch and Top-K encodings, which write each replica's matrix as
 * runs of cells (below). Version 1 (`CODEC_VERSION`), which wrote every cell, is still read.
 */
export const SKETCH_CODEC_VERSION = 2;
/** The versions the sketch decoders accept. */
export const SKETCH_CODEC_VERSIONS: readonly number[] = [CODEC_VERSION, SKETCH_CODEC_VERSION];

/**
 * Zero cells a run may hold in a row. From three on, ending the run and starting another (its gap
 * and length, about 2 bytes) costs less than writing the zeros (a byte each).
 */
export const RUN_MAX_ZEROS = 2;

/** An item as bytes: strings are their UTF-8 (so RESP Buffers and WebSocket strings agree). */
export function itemBytes(item: Uint8Array | string): Uint8Array {
  return typeof item === 'string' ? Buffer.from(item, 'utf8') : item;
}

/**
 * Reads a sketch's width and depth from untrusted bytes, enforcing the same cell limit as
 * creation (the bound that keeps a forged frame from allocating gigabytes).
 */
export function readDims(r: ByteReader): { width: number; depth: number } {
  const width = readBounded(r, 1, SKETCH_MAX_CELLS, 'width');
  const depth = readBounded(r, 1, SKETCH_MAX_DEPTH, 'depth');
  if (!r.failed && width * depth > SKETCH_MAX_CELLS) r.fail('too many cells');
  return { width, depth };
}

export function dimsError(width: number, depth: number): string | undefined {
  if (!Number.isSafeInteger(width) || width < 1) return `width ${String(width)} must be a positive integer`;
  if (!Number.isSafeInteger(depth) || depth < 1 || depth > SKETCH_MAX_DEPTH) return `depth ${String(depth)} must be an integer in 1..${SKETCH_MAX_DEPTH}`;
  if (width * depth > SKETCH_MAX_CELLS) return `width x depth = ${width * depth} is above the limit of ${SKETCH_MAX_CELLS} cells`;
  return undefined;
}

export class SketchMatrix {
  /** Replica -> its width*depth counts, row-major. Never holds an all-zero matrix. */
  readonly rows = new Map<ReplicaId, Float64Array>();
  /** Per-cell sum over replicas. Exact while `big` is false (every sum <= 2^53-1). */
  totals: Float64Array;
  /** Some per-cell sum passed 2^53-1 (only reachable through merges): queries then sum in bigint. */
  big = false;
  /** Per replica the sum of its first row (what it added), and their sum: kept so bounds checks are O(1). */
  private readonly sums = new Map<ReplicaId, number>();
  private total = 0;
  private readonly idx: Int32Array;

  constructor(
    readonly width: number,
    readonly depth: number,
  ) {
    this.totals = new Float64Array(width * depth);
    this.idx = new Int32Array(depth);
  }

  /** The cell of `item` in each row (Kirsch-Mitzenmacher double hashing of one 64-bit hash). Returns a shared scratch array. */
  cells(item: Uint8Array): Int32Array {
    const hi = hash64Bytes(item);
    const lo = hash64Lo() | 1;
    const w = this.width;
    for (let i = 0; i < this.depth; i++) this.idx[i] = i * w + (((hi + Math.imul(i, lo)) >>> 0) % w);
    return this.idx;
  }

  /** min over rows of the sum over replicas: never below the true count. */
  estimate(item: Uint8Array): number | bigint {
    return this.estimateCells(this.cells(item));
  }

  /** `estimate` from cells already computed by `cells` (callers may cache them). */
  estimateCells(c: Int32Array): number | bigint {
    if (this.big) return this.bigEstimate(c);
    let m = Infinity;
    for (let i = 0; i < this.depth; i++) m = Math.min(m, this.totals[c[i] as number] as number);
    return m;
  }

  /** Sum of replica `r`'s first row: how much `r` has added. */
  replicaTotal(r: ReplicaId): number {
    return this.sums.get(r) ?? 0;
  }

  /** Total added over all replicas (first row of the totals). */
  count(): number | bigint {
    const s = this.total;
    if (s <= Number.MAX_SAFE_INTEGER && !this.big) return s;
    let b = 0n;
    for (const m of this.rows.values()) for (let j = 0; j < this.width; j++) b += BigInt(m[j] as number);
    return b;
  }

  /** Adds `n` to `item`'s cells in replica `r`'s matrix. The caller has checked the bounds (`headroom`). */
  add(r: ReplicaId, item: Uint8Array, n: number): void {
    let m = this.rows.get(r);
    if (m === undefined) {
      m = new Float64Array(this.width * this.depth);
      this.rows.set(r, m);
    }
    const c = this.cells(item);
    for (let i = 0; i < this.depth; i++) {
      const k = c[i] as number;
      m[k] = (m[k] as number) + n;
      this.totals[k] = (this.totals[k] as number) + n;
    }
    this.sums.set(r, (this.sums.get(r) ?? 0) + n);
    this.total += n;
  }

  /**
   * How much replica `r` may still add without any cell (its own or a total) passing 2^53-1. Every
   * cell is at most its row's sum, so checking the row sums is enough.
   */
  headroom(r: ReplicaId): number {
    if (this.big) return 0;
    const c = this.count();
    return Math.min(COUNTER_MAX - this.replicaTotal(r), COUNTER_MAX - Number(c));
  }

  /** Cell-wise max of `theirs` into replica `r`'s matrix (a join). Returns whether anything changed. */
  maxMerge(r: ReplicaId, theirs: Float64Array): boolean {
    let m = this.rows.get(r);
    let changed = false;
    for (let k = 0; k < theirs.length; k++) {
      const v = theirs[k] as number;
      const cur = m === undefined ? 0 : (m[k] as number);
      if (v > cur) {
        if (m === undefined) {
          m = new Float64Array(this.width * this.depth);
          this.rows.set(r, m);
        }
        m[k] = v;
        this.bumpTotal(k, v - cur);
        if (k < this.width) this.bumpSum(r, v - cur);
        changed = true;
      }
    }
    return changed;
  }

  /** Replaces replica `r`'s matrix outright (Top-K's whole-record merge), keeping totals exact. */
  replace(r: ReplicaId, theirs: Float64Array): void {
    const m = this.rows.get(r);
    for (let k = 0; k < theirs.length; k++) {
      const d = (theirs[k] as number) - (m === undefined ? 0 : (m[k] as number));
      if (d !== 0) {
        this.bumpTotal(k, d);
        if (k < this.width) this.bumpSum(r, d);
      }
    }
    this.rows.set(r, theirs.slice());
  }

  copyFrom(o: SketchMatrix): void {
    this.rows.clear();
    for (const [id, m] of o.rows) this.rows.set(id, m.slice());
    this.totals = o.totals.slice();
    this.big = o.big;
    this.sums.clear();
    for (const [id, v] of o.sums) this.sums.set(id, v);
    this.total = o.total;
  }

  clear(): void {
    this.rows.clear();
    this.totals.fill(0);
    this.big = false;
    this.sums.clear();
    this.total = 0;
  }

  equals(o: SketchMatrix): boolean {
    if (this.width !== o.width || this.depth !== o.depth || this.rows.size !== o.rows.size) return false;
    for (const [id, m] of this.rows) {
      const x = o.rows.get(id);
      if (x === undefined) return false;
      for (let k = 0; k < m.length; k++) if (m[k] !== x[k]) return false;
    }
    return true;
  }

  byteSize(): number {
    return 64 + this.totals.length * 8 + this.rows.size * (96 + this.width * this.depth * 8);
  }

  /** `[replica count]` then per replica in id order: id, then its matrix as runs (`writeRuns`). */
  encodeRows(w: ByteWriter): void {
    const ids = sortIds(this.rows.keys());
    w.uvarint(ids.length);
    for (const id of ids) {
      writeId(w, id);
      const m = this.rows.get(id) as Float64Array;
      writeRuns(w, m, matrixRuns(m));
    }
  }

  /**
   * Reads what `encodeRows` wrote (version 2), or the cells one by one (version 1), into this
   * (empty) matrix; fails the reader on anything non-canonical.
   */
  decodeRows(r: ByteReader, version: number, onReplica?: (id: ReplicaId) => void): void {
    const cellsPer = this.width * this.depth;
    // Version 2: at least 6 bytes a replica (an id of 1 byte and its length, one run of one cell).
    const n = readBounded(r, 0, Math.floor(r.remaining / (version === CODEC_VERSION ? cellsPer + 2 : 6)), 'replica count');
    let prev: string | undefined;
    for (let i = 0; i < n && !r.failed; i++) {
      const id = readId(r, prev);
      if (id === undefined) return;
      prev = id;
      const m = new Float64Array(cellsPer);
      if (version === CODEC_VERSION) {
        let any = false;
        for (let k = 0; k < cellsPer; k++) {
          const v = r.uvarint();
          if (r.failed) return;
          m[k] = v;
          if (v !== 0) any = true;
        }
        if (!any) r.fail('all-zero replica matrix');
      } else {
        readRuns(r, m);
      }
      if (r.failed) return;
      this.install(id, m);
      onReplica?.(id);
    }
  }

  /** Takes `m` as the matrix of replica `r`, which this one does not hold yet (decoding: ids are unique). */
  private install(r: ReplicaId, m: Float64Array): void {
    let sum = 0;
    for (let k = 0; k < m.length; k++) {
      const v = m[k] as number;
      if (v === 0) continue;
      this.bumpTotal(k, v);
      if (k < this.width) sum += v;
    }
    this.rows.set(r, m);
    this.sums.set(r, sum);
    this.total += sum;
  }

  private bumpSum(r: ReplicaId, d: number): void {
    this.sums.set(r, (this.sums.get(r) ?? 0) + d);
    this.total += d;
  }

  private bumpTotal(k: number, d: number): void {
    const t = (this.totals[k] as number) + d;
    this.totals[k] = t;
    if (t > Number.MAX_SAFE_INTEGER) this.big = true;
  }

  private bigEstimate(c: Int32Array): bigint {
    let best: bigint | undefined;
    for (let i = 0; i < this.depth; i++) {
      let s = 0n;
      for (const m of this.rows.values()) s += BigInt(m[c[i] as number] as number);
      if (best === undefined || s < best) best = s;
    }
    return best ?? 0n;
  }
}

// ---- a matrix as runs of cells (the codec of version 2) -----------------------------------------
//
//   [run count >= 1] then per run: [gap][length >= 1][length cells], all uvarints
//
// `gap` counts the zero cells skipped since the end of the previous run (for the first run, since
// cell 0). Canonical: a run starts and ends with a non-zero cell and holds at most RUN_MAX_ZEROS zero
// cells in a row; runs after the first are more than RUN_MAX_ZEROS cells apart. So the runs of a
// matrix are its non-zero cells grouped wherever at most two zeros separate them: one encoding per
// matrix, and a matrix that is mostly zero (a wide sketch that saw few items, or a part made by
// `CountMinSketch.split`) costs what it holds instead of a byte per cell. An all-zero matrix has no
// runs and is not stored.

/**
 * The canonical runs of `cells[from, to)`, the cells outside taken as zero: flat `[start, end)`
 * pairs, `end` exclusive.
 */
export function matrixRuns(cells: Float64Array, from = 0, to = cells.length): number[] {
  const runs: number[] = [];
  let start = -1;
  // Stryker disable next-line UnaryOperator: `last` is only read once `start >= 0`, and it is set together with `start`, so its initial value is never read.
  let last = -1;
  for (let k = from; k < to; k++) {
    if (cells[k] === 0) continue;
    if (start >= 0 && k - last - 1 > RUN_MAX_ZEROS) {
      runs.push(start, last + 1);
      start = -1;
    }
    if (start < 0) start = k;
    last = k;
  }
  if (start >= 0) runs.push(start, last + 1);
  return runs;
}

/** Writes `runs` (from `matrixRuns`) of `cells`. */
export function writeRuns(w: ByteWriter, cells: Float64Array, runs: readonly number[]): void {
  w.uvarint(runs.length / 2);
  let pos = 0;
  for (let i = 0; i < runs.length; i += 2) {
    const start = runs[i] as number;
    const end = runs[i + 1] as number;
    w.uvarint(start - pos).uvarint(end - start);
    for (let k = start; k < end; k++) w.uvarint(cells[k] as number);
    pos = end;
  }
}

/** Bytes `writeRuns` writes for `runs` of `cells`. */
export function runsSize(cells: Float64Array, runs: readonly number[]): number {
  let n = uvarintSize(runs.length / 2);
  let pos = 0;
  for (let i = 0; i < runs.length; i += 2) {
    const start = runs[i] as number;
    const end = runs[i + 1] as number;
    n += uvarintSize(start - pos) + uvarintSize(end - start);
    for (let k = start; k < end; k++) n += uvarintSize(cells[k] as number);
    pos = end;
  }
  return n;
}

/** Reads runs into `m` (all zero, of the matrix's size); fails the reader on anything non-canonical. */
function readRuns(r: ByteReader, m: Float64Array): void {
  const size = m.length;
  // Runs of >= 1 cell, > RUN_MAX_ZEROS apart; each takes >= 3 bytes.
  const maxRuns = Math.min(Math.floor((size + RUN_MAX_ZEROS + 1) / (RUN_MAX_ZEROS + 2)), Math.floor(r.remaining / 3));
  const n = readBounded(r, 1, Math.max(1, maxRuns), 'run count');
  let pos = 0;
  for (let i = 0; i < n && !r.failed; i++) {
    const gap = r.uvarint();
    const len = r.uvarint();
    if (r.failed) return;
    if (i > 0 && gap <= RUN_MAX_ZEROS) return r.fail(`runs ${gap} cells apart`);
    if (len < 1 || gap > size - pos || len > size - pos - gap) return r.fail('run outside the matrix');
    const start = pos + gap;
    const end = start + len;
    let zeros = 0;
    for (let k = start; k < end; k++) {
      const v = r.uvarint();
      if (r.failed) return;
      if (v !== 0) {
        zeros = 0;
        m[k] = v;
      } else if (k === start || k === end - 1 || ++zeros > RUN_MAX_ZEROS) {
        return r.fail('run not canonical (a zero at an end, or too many in a row)');
      }
    }
    pos = end;
  }
}

/**
 * The most bytes `writeRuns` can write for one replica's matrix of `width` x `depth` whose rows each
 * sum to at most 2^53-1 (what every add keeps: it hits each row once). Per row, the largest sum of
 * cell sizes (a zero counted as a byte) is reached by raising cells level by level (every cell to 2
 * bytes, then to 3, ...: each level costs more per byte than the last); the runs' gaps and lengths
 * add at most 7 bytes, plus one per 16,384 cells (a run that long has a 3-byte length, and the 3 or
 * more zeros before every run after the first are not written).
 */
export function maxMatrixBytes(width: number, depth: number): number {
  let budget = BigInt(COUNTER_MAX);
  let row = width;
  let floor = 0n;
  for (let c = 1; c < 8; c++) {
    const next = 1n << BigInt(7 * c); // the least value of c + 1 bytes
    const step = next - floor;
    const raised = BigInt(width) < budget / step ? BigInt(width) : budget / step;
    row += Number(raised);
    budget -= raised * step;
    floor = next;
    if (raised < BigInt(width)) break;
  }
  return depth * row + 7 + Math.floor((width * depth) / 16_384);
}

/** Whether every row of one replica's matrix sums to the same total, at most 2^53-1 (each add hits every row once). */
export function rowSumsAgree(m: Float64Array, width: number, depth: number): boolean {
  let first = -1;
  for (let i = 0; i < depth; i++) {
    let sum = 0;
    for (let j = i * width, end = j + width; j < end; j++) sum += m[j] as number;
    // Sums of safe integers are exact up to 2^53-1; anything larger rounds to >= 2^53.
    if (sum > COUNTER_MAX) return false;
    if (first < 0) first = sum;
    else if (sum !== first) return false;
  }
  return true;
}
