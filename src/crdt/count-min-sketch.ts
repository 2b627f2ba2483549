// Count-Min Sketch as a CRDT (RedisBloom's CMS.* semantics): one matrix per replica that wrote,
// merged cell-wise by max per replica (each replica's own cells only grow), queried as the minimum
// over rows of the sum over replicas. Never under-counts. docs/crdt-sketches.md explains it.
//
// Invariants: width >= 1, 1 <= depth <= 32, width*depth <= 2^18; every cell an integer in
// [0, 2^53-1]; no all-zero replica matrix; a deleted (not created) sketch holds no matrix.

import { Generational } from './generational.js';
import { ByteReader, ByteWriter, TypeTag } from './codec.js';
import { CrdtError } from './errors.js';
import { assertReplicaId, notIntegerError, overflowError } from './g-counter.js';
import type { ReplicaId } from './replica-id.js';
import { finishDecode, readBounded, readVersionedHeader } from './sketch-codec.js';
import { dimsError, itemBytes, readDims, SKETCH_CODEC_VERSION, SKETCH_CODEC_VERSIONS, SketchMatrix } from './sketch-matrix.js';
import { err, ok, type Result } from '../util/result.js';

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
  private m: SketchMatrix;

  private constructor(width: number, depth: number) {
    super();
    this.m = new SketchMatrix(width, depth);
  }

  /** A new (created) sketch, or SKETCH_BAD_DIMENSIONS. */
  static create(width: number, depth: number): Result<CountMinSketch, CrdtError> {
    const e = dimsError(width, depth);
    return e ? err(new CrdtError('SKETCH_BAD_DIMENSIONS', e)) : ok(new CountMinSketch(width, depth));
  }

  get width(): number {
    return this.m.width;
  }
  get depth(): number {
    return this.m.depth;
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
    this.m = new SketchMatrix(width, depth);
    this.live = true;
  }

  clone(): CountMinSketch {
    const out = new CountMinSketch(this.width, this.depth);
    out.adopt(this);
    return out;
  }

  equals(o: CountMinSketch): boolean {
    return this.gen === o.gen && this.live === o.live && this.m.equals(o.m);
  }

  byteSize(): number {
    return 48 + this.m.byteSize();
  }

  /**
   * `[version 2][tag 5][width][depth][generation][created u8]` then the replica matrices as runs
   * (sketch-matrix.ts). Version 1 (every cell written) is still decoded.
   */
  encode(): Uint8Array {
    const w = new ByteWriter(16 + this.m.rows.size * 64);
    w.u8(SKETCH_CODEC_VERSION).u8(TypeTag.CountMinSketch).uvarint(this.width).uvarint(this.depth).uvarint(this.gen).u8(this.live ? 1 : 0);
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

  protected compareHeader(o: CountMinSketch): number {
    return this.gen - o.gen || this.width - o.width || this.depth - o.depth;
  }

  protected adopt(o: CountMinSketch): void {
    this.m = new SketchMatrix(o.width, o.depth);
    this.m.copyFrom(o.m);
    this.gen = o.gen;
    this.live = o.live;
  }
}
