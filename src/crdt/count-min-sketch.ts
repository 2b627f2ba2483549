// Count-Min Sketch as a CRDT (RedisBloom's CMS.* semantics): one matrix per replica that wrote,
// merged cell-wise by max per replica (each replica's own cells only grow), queried as the minimum
// over rows of the sum over replicas. Never under-counts. docs/crdt-sketches.md explains it.
//
// Invariants: width >= 1, 1 <= depth <= 32, width*depth <= 2^18; every cell an integer in
// [0, 2^53-1]; no all-zero replica matrix; a deleted (not created) sketch holds no matrix.

import { Generational } from './generational.js';
import { ByteReader, ByteWriter, TypeTag, uvarintSize } from './codec.js';
import { CrdtError } from './errors.js';
import { assertReplicaId, notIntegerError, overflowError } from './counter-base.js';
import type { ReplicaId } from './replica-id.js';
import { finishDecode, readBounded, readVersionedHeader, sortIds, writeId } from './sketch-codec.js';
import {
  dimsError,
  itemBytes,
  matrixRuns,
  readDims,
  RUN_MAX_ZEROS,
  SKETCH_CODEC_VERSION,
  SKETCH_CODEC_VERSIONS,
  SketchMatrix,
  writeRuns,
} from './sketch-matrix.js';
import { err, ok, type Result } from '../util/result.js';

const textEncoder = new TextEncoder();

/** A part's share of one replica's matrix: its cells in [from, to), the others taken as zero. */
interface Segment {
  id: ReplicaId;
  cells: Float64Array;
  from: number;
  to: number;
}

/** What a part made by `split` keeps until something reads its cells: its encoding and header. */
interface Packed {
  bytes: Uint8Array;
  width: number;
  depth: number;
  gen: number;
  live: boolean;
}

/**
 * RedisBloom's sizing (CMS.INITBYPROB error probability): width = ceil(2 / error),
 * depth = ceil(log(probability) / log(1/2)). Then an estimate exceeds the true count by more than
 * error x N (N = total count) with probability at most `probability` (per query, per row 1/2 by Markov).
 */
export function cmsDimsFromProb(error: number, probability: number): Result<{ width: number; depth: number }, CrdtError> {
  if (!(error > 0 && error < 1)) return err(new CrdtError('SKETCH_BAD_DIMENSIONS', 'error must be in (0, 1)'));
  if (!(probability > 0 && probability < 1)) return err(new CrdtError('SKETCH_BAD_DIMENSIONS', 'probability must be in (0, 1)'));
  const width = Math.ceil(2 / error);
  const depth = Math.max(1, Math.ceil(Math.log(probability) / Math.log(0.5)));
  const e = dimsError(width, depth);
  return e ? err(new CrdtError('SKETCH_BAD_DIMENSIONS', e)) : ok({ width, depth });
}

export class CountMinSketch extends Generational<CountMinSketch> {
  private mat: SketchMatrix | undefined;
  /**
   * Set on a part made by `split`, which holds only its encoding until anything but `encode` (or
   * the header getters) needs its cells: a 2^18-cell matrix takes 4 MiB in memory (cells and
   * totals), its part a few KB, and a wide sketch split for small frames has thousands of parts.
   */
  private packed: Packed | undefined;

  private constructor(width: number, depth: number, packed?: Packed) {
    super();
    if (packed === undefined) this.mat = new SketchMatrix(width, depth);
    else {
      this.packed = packed;
      this.gen = packed.gen;
      this.live = packed.live;
    }
  }

  /** The matrices; a packed part is decoded on first use. */
  private get m(): SketchMatrix {
    if (this.mat === undefined) {
      const p = this.packed as Packed;
      const r = CountMinSketch.decode(p.bytes);
      if (!r.ok) throw new Error(`a Count-Min Sketch part does not decode: ${r.error.message}`); // a bug in split
      this.mat = r.value.m;
      this.packed = undefined;
    }
    return this.mat;
  }

  /** A new (created) sketch, or SKETCH_BAD_DIMENSIONS. */
  static create(width: number, depth: number): Result<CountMinSketch, CrdtError> {
    const e = dimsError(width, depth);
    return e ? err(new CrdtError('SKETCH_BAD_DIMENSIONS', e)) : ok(new CountMinSketch(width, depth));
  }

  get width(): number {
    return this.mat?.width ?? (this.packed as Packed).width;
  }
  get depth(): number {
    return this.mat?.depth ?? (this.packed as Packed).depth;
  }
  replicaCount(): number {
    return this.m.rows.size;
  }
  /** Total of every increment (CMS.INFO count). */
  count(): number | bigint {
    return this.m.count();
  }

  /** Estimated count of `item`: >= its true count (over every replica merged here). */
  query(item: Uint8Array | string): number | bigint {
    return this.m.estimate(itemBytes(item));
  }

  /**
   * CMS.INCRBY: adds each (item, n >= 0) from replica `r`, all or nothing. Returns the new estimates.
   */
  incrBy(r: ReplicaId, pairs: readonly (readonly [Uint8Array | string, number])[]): Result<(number | bigint)[], CrdtError> {
    let sum = 0;
    for (const [, n] of pairs) {
      if (!Number.isSafeInteger(n)) return err(notIntegerError(n));
      if (n < 0) return err(new CrdtError('SKETCH_NEGATIVE', 'a Count-Min Sketch cannot be decremented'));
      sum += n;
    }
    if (!Number.isSafeInteger(sum) || sum > this.m.headroom(r)) return err(overflowError('the sketch count'));
    if (sum > 0 && !this.m.rows.has(r)) assertReplicaId(r);
    const out: (number | bigint)[] = [];
    for (const [item, n] of pairs) {
      const b = itemBytes(item);
      if (n > 0) this.m.add(r, b, n);
      out.push(this.m.estimate(b));
    }
    this.live = true;
    return ok(out);
  }

  /**
   * CMS.MERGE into this sketch: it becomes sum(weight_i x source_i), written as replica `r`'s matrix in
   * a new generation (like a DEL then an INCRBY). Sources must have this sketch's dimensions and the
   * weights must be >= 0 (a negative weight could make the sketch under-count). All or nothing.
   */
  replaceWithWeightedSum(r: ReplicaId, sources: readonly CountMinSketch[], weights: readonly number[]): CrdtError | undefined {
    const cells = this.m.width * this.m.depth;
    const acc = new Float64Array(cells);
    for (let i = 0; i < sources.length; i++) {
      const s = sources[i] as CountMinSketch;
      const wgt = weights[i] ?? 1;
      if (s.width !== this.width || s.depth !== this.depth) return new CrdtError('SKETCH_DIMENSION_MISMATCH', 'width/depth is not equal');
      if (!Number.isSafeInteger(wgt)) return notIntegerError(wgt);
      if (wgt < 0) return new CrdtError('SKETCH_NEGATIVE', 'weights must be >= 0');
      if (s.m.big && wgt > 0) return overflowError('the merged count');
      for (let k = 0; k < cells; k++) acc[k] = (acc[k] as number) + wgt * (s.m.totals[k] as number);
    }
    // Float sums are exact while every partial result stays below 2^53; any larger true value rounds to >= 2^53.
    let row0 = 0;
    for (let k = 0; k < cells; k++) if ((acc[k] as number) > Number.MAX_SAFE_INTEGER) return overflowError('the merged count');
    for (let j = 0; j < this.m.width; j++) row0 += acc[j] as number;
    if (row0 > Number.MAX_SAFE_INTEGER) return overflowError('the merged count');
    assertReplicaId(r);
    this.clear();
    this.live = true;
    if (row0 > 0) this.m.replace(r, acc);
    return undefined;
  }

  /**
   * A merge's body, for equal headers (Generational.merge decides the rest): each replica's matrix cell-wise by max.
   * Headers order by (generation, width, depth).
   */
  protected mergeBody(other: CountMinSketch): boolean {
    let changed = false;
    for (const [id, rows] of other.m.rows) if (this.m.maxMerge(id, rows)) changed = true;
    return changed;
  }

  /** DEL: a new generation, empty; concurrent unseen increments of the old generation are dropped. */
  clear(): void {
    this.gen++;
    this.live = false;
    this.m.clear();
  }

  /** Re-creates a deleted sketch with new dimensions (a new generation, so it wins over the tombstone). */
  recreate(width: number, depth: number): void {
    if (this.live) throw new Error('recreate() on a sketch that exists');
    const e = dimsError(width, depth);
    if (e) throw new CrdtError('SKETCH_BAD_DIMENSIONS', e);
    this.gen++;
    this.mat = new SketchMatrix(width, depth);
    this.packed = undefined;
    this.live = true;
  }

  clone(): CountMinSketch {
    const p = this.packed;
    if (this.mat === undefined && p !== undefined && p.gen === this.gen && p.live === this.live) return new CountMinSketch(0, 0, p);
    const out = new CountMinSketch(this.width, this.depth);
    out.adopt(this);
    return out;
  }

  equals(o: CountMinSketch): boolean {
    return this.gen === o.gen && this.live === o.live && this.m.equals(o.m);
  }

  byteSize(): number {
    return 48 + (this.mat === undefined ? (this.packed as Packed).bytes.length : this.mat.byteSize());
  }

  /**
   * `[version 2][tag 5][width][depth][generation][created u8]` then the replica matrices as runs
   * (sketch-matrix.ts). Version 1 (every cell written) is still decoded.
   */
  encode(): Uint8Array {
    const p = this.packed;
    if (this.mat === undefined && p !== undefined && p.gen === this.gen && p.live === this.live) return p.bytes.slice();
    const w = new ByteWriter(16 + this.m.rows.size * 64);
    this.writeHeader(w);
    this.m.encodeRows(w);
    return w.finish();
  }

  static decode(bytes: Uint8Array): Result<CountMinSketch, CrdtError> {
    const name = 'CountMinSketch';
    const r = new ByteReader(bytes);
    const version = readVersionedHeader(r, TypeTag.CountMinSketch, name, SKETCH_CODEC_VERSIONS);
    if (!version.ok) return version;
    const { width, depth } = readDims(r);
    const gen = r.uvarint();
    const live = readBounded(r, 0, 1, 'created flag');
    if (r.failed) return finishDecode(r, undefined as never, name);
    const out = new CountMinSketch(width, depth);
    out.gen = gen;
    out.live = live === 1;
    out.m.decodeRows(r, version.value, () => {
      if (!out.live) r.fail('a deleted sketch holds counts');
    });
    return finishDecode(r, out, name);
  }

  /**
   * This state in parts that each encode to at most `maxBytes` and merge independently: joined into
   * any state, in any order, they give exactly what joining this state gives. The unit is one cell of
   * one replica's matrix (merge is the cell-wise max per replica, so any cells of it are a smaller
   * state of the same sketch): a part holds, for one or more replicas, a range of its cells (the
   * others zero), under this state's header (generation, dimensions, created flag). Returns
   * `[this]` when the whole fits; undefined only when one cell with its header cannot fit (under
   * about 300 bytes: see SPLIT_SAFE_BYTES in registry.ts). Parts hold only their encoding until
   * something reads their cells.
   */
  split(maxBytes: number): CountMinSketch[] | undefined {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${String(maxBytes)}`);
    const plan = this.planParts(maxBytes);
    // One part is every matrix whole: this state fits. No part: it holds no cell (a tombstone, or a
    // created empty sketch), so it is its header alone.
    if (plan?.length === 1 || (plan?.length === 0 && this.encode().length <= maxBytes)) return [this];
    if (plan === undefined || plan.length === 0) return undefined; // a cell too large, or a header too large
    return plan.map((segments) => {
      const w = new ByteWriter(maxBytes);
      this.writeHeader(w);
      w.uvarint(segments.length);
      for (const s of segments) {
        writeId(w, s.id);
        writeRuns(w, s.cells, matrixRuns(s.cells, s.from, s.to));
      }
      const bytes = w.finish();
      if (bytes.length > maxBytes) throw new Error(`Count-Min Sketch part of ${bytes.length} bytes above ${maxBytes}`); // a bug in planParts
      return new CountMinSketch(0, 0, { bytes, width: this.width, depth: this.depth, gen: this.gen, live: this.live });
    });
  }

  /**
   * Cuts the replicas' non-zero cells, in replica then cell order, into parts of at most `maxBytes`
   * encoded, filling each part before starting the next. Sizes are tracked exactly as `encode`
   * writes them (sketch-matrix.ts, the runs codec), so a state that fits is planned as one part
   * holding every matrix whole: its own encoding. Undefined when a single cell cannot fit.
   * (One pass over the cells, no closures: it runs over 2^18 cells per replica.)
   */
  private planParts(maxBytes: number): Segment[][] | undefined {
    const head = 2 + uvarintSize(this.width) + uvarintSize(this.depth) + uvarintSize(this.gen) + 1;
    const parts: Segment[][] = [];
    let segments: Segment[] = [];
    let closedBytes = 0; // the finished segments of the part being filled
    for (const id of sortIds(this.m.rows.keys())) {
      const cells = this.m.rows.get(id) as Float64Array;
      const idLen = textEncoder.encode(id).length;
      const idCost = uvarintSize(idLen) + idLen;
      // The open segment: cells [from, last + 1), its closed runs, and its open run [runStart, last].
      let from = 0;
      let segBytes = 0; // its encoded size (valid while runStart >= 0)
      let runs = 0; // closed runs
      let runsBytes = 0; // their bytes: gap, length and cells
      let runStart = -1; // -1: the segment holds no cell yet
      let last = -1;
      let gapCost = 0; // the open run's gap varint
      let cellBytes = 0; // the open run's cells, zeros inside included
      for (let k = 0, n = cells.length; k < n; k++) {
        const v = cells[k] as number;
        if (v === 0) continue;
        const b = v < 0x80 ? 1 : uvarintSize(v);
        // The segment with cell k: extending the open run, or closing it and opening another.
        let seg: number;
        const extend = runStart >= 0 && k - last - 1 <= RUN_MAX_ZEROS;
        if (extend) {
          seg = idCost + uvarintSize(runs + 1) + runsBytes + gapCost + uvarintSize(k - runStart + 1) + cellBytes + (k - last - 1) + b;
        } else if (runStart >= 0) {
          const closed = runsBytes + gapCost + uvarintSize(last - runStart + 1) + cellBytes;
          seg = idCost + uvarintSize(runs + 2) + closed + uvarintSize(k - last - 1) + 1 + b;
        } else {
          seg = idCost + 1 + uvarintSize(k) + 1 + b; // the first run: its gap counts from cell 0
        }
        if (head + uvarintSize(segments.length + 1) + closedBytes + seg <= maxBytes) {
          if (extend) {
            cellBytes += k - last - 1 + b;
          } else {
            if (runStart >= 0) {
              runsBytes += gapCost + uvarintSize(last - runStart + 1) + cellBytes;
              runs++;
              gapCost = uvarintSize(k - last - 1);
            } else {
              gapCost = uvarintSize(k);
            }
            runStart = k;
            cellBytes = b;
          }
          last = k;
          segBytes = seg;
          continue;
        }
        // Full: finish this part, and go on with this replica's cells in a new one.
        if (runStart >= 0) {
          segments.push({ id, cells, from, to: last + 1 });
          closedBytes += segBytes;
        }
        if (segments.length === 0) return undefined; // one cell alone does not fit
        parts.push(segments);
        segments = [];
        closedBytes = 0;
        from = runStart = last = k;
        runs = runsBytes = 0;
        gapCost = uvarintSize(k);
        cellBytes = b;
        segBytes = idCost + 1 + gapCost + 1 + b;
        if (head + 1 + segBytes > maxBytes) return undefined;
      }
      if (runStart >= 0) {
        segments.push({ id, cells, from, to: last + 1 });
        closedBytes += segBytes;
      }
    }
    if (segments.length > 0) parts.push(segments);
    return parts;
  }

  private writeHeader(w: ByteWriter): void {
    w.u8(SKETCH_CODEC_VERSION).u8(TypeTag.CountMinSketch).uvarint(this.width).uvarint(this.depth).uvarint(this.gen).u8(this.live ? 1 : 0);
  }

  protected compareHeader(o: CountMinSketch): number {
    return this.gen - o.gen || this.width - o.width || this.depth - o.depth;
  }

  protected adopt(o: CountMinSketch): void {
    const m = new SketchMatrix(o.width, o.depth);
    m.copyFrom(o.m);
    this.mat = m;
    this.packed = undefined;
    this.gen = o.gen;
    this.live = o.live;
  }
}
