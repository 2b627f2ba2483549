// Top-K heavy hitters as a CRDT (RedisBloom's TOPK.* commands): per replica, a Count-Min matrix of
// what it added plus a bounded candidate set it alone maintains; the merged list is the k candidates
// (union over replicas) with the highest merged estimate. docs/crdt-sketches.md explains the design.
//
// Each replica's record (matrix, candidates) changes only through that replica's own adds, each of
// which grows the matrix total n_r, so records are ordered by n_r (ties, reachable only by corrupt
// peers, broken by content): merge takes the greater record per replica, a join.
//
// Invariants: 1 <= k <= TOPK_MAX_K; dimensions as the CMS; every replica stored has a non-zero
// matrix and at most 2k candidates, each 1..TOPK_MAX_ITEM_BYTES bytes; a deleted sketch holds nothing.

import { Generational } from './generational.js';
import { ByteReader, ByteWriter, TypeTag, uvarintSize } from './codec.js';
import { CrdtError } from './errors.js';
import { assertReplicaId, MAX_REPLICA_ID_BYTES, notIntegerError, overflowError } from './counter-base.js';
import type { ReplicaId } from './replica-id.js';
import { finishDecode, readBounded, readVersionedHeader, sortIds } from './sketch-codec.js';
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
  SKETCH_MAX_CELLS,
} from './sketch-matrix.js';
import { err, ok, type Result } from '../util/result.js';

export const TOPK_MAX_K = 1000;
/** Longest item, in bytes: every candidate travels in every gossip delta of the key. */
export const TOPK_MAX_ITEM_BYTES = 1024;

/** Default width when TOPK.RESERVE gives none: max(1024, 32k) (RedisBloom's 8 suits HeavyKeeper, not a CMS). */
export function topkDefaultWidth(k: number): number {
  return Math.min(Math.max(1024, 32 * k), Math.floor(SKETCH_MAX_CELLS / TOPK_DEFAULT_DEPTH));
}
export const TOPK_DEFAULT_DEPTH = 5;

/**
 * The most bytes a Top-K state holding one replica's record (its matrix and candidates: the unit
 * `split` cannot cut, since merge takes a whole record) can encode to, for these creation parameters,
 * whatever the generation, the replica id and the counts: the header, a 255-byte id, the matrix
 * (`maxMatrixBytes`: every row sums to the replica's total, at most 2^53-1) and 2k candidates of
 * TOPK_MAX_ITEM_BYTES. TOPK.RESERVE refuses parameters whose record could outgrow a gossip frame.
 */
export function topkMaxRecordBytes(k: number, width: number, depth: number): number {
  const header = 2 + uvarintSize(k) + uvarintSize(width) + uvarintSize(depth) + uvarintSize(Number.MAX_SAFE_INTEGER) + 1 + 1;
  const id = uvarintSize(MAX_REPLICA_ID_BYTES) + MAX_REPLICA_ID_BYTES;
  const candidates = uvarintSize(2 * k) + 2 * k * (uvarintSize(TOPK_MAX_ITEM_BYTES) + TOPK_MAX_ITEM_BYTES);
  return header + id + maxMatrixBytes(width, depth) + candidates;
}

export interface TopKEntry {
  item: Buffer;
  count: number | bigint;
}

function cmpCount(a: number | bigint, b: number | bigint): number {
  return a > b ? 1 : a < b ? -1 : 0;
}

export class TopK extends Generational<TopK> {
  private m: SketchMatrix;
  /** Per replica, its candidate items (latin1 strings of the item bytes). */
  private cands = new Map<ReplicaId, Set<string>>();
  private cached: { item: string; count: number | bigint }[] | undefined;
  /** Cells of candidate items (a cache: hashing dominates list and offer otherwise). */
  private cellCache = new Map<string, Int32Array>();

  private constructor(
    private kk: number,
    width: number,
    depth: number,
  ) {
    super();
    this.m = new SketchMatrix(width, depth);
  }

  static create(k: number, width = topkDefaultWidth(k), depth = TOPK_DEFAULT_DEPTH): Result<TopK, CrdtError> {
    if (!Number.isSafeInteger(k) || k < 1 || k > TOPK_MAX_K) return err(new CrdtError('SKETCH_BAD_DIMENSIONS', `k must be an integer in 1..${TOPK_MAX_K}`));
    const e = dimsError(width, depth);
    return e ? err(new CrdtError('SKETCH_BAD_DIMENSIONS', e)) : ok(new TopK(k, width, depth));
  }

  get k(): number {
    return this.kk;
  }
  get width(): number {
    return this.m.width;
  }
  get depth(): number {
    return this.m.depth;
  }
  /** Candidates each replica keeps: 2k. */
  get capacity(): number {
    return 2 * this.kk;
  }
  replicaCount(): number {
    return this.m.rows.size;
  }

  /** The merged estimate of `item` (never below its true count). */
  query(item: Uint8Array | string): number | bigint {
    return this.m.estimate(itemBytes(item));
  }

  /** The top k: candidates of every replica, by merged estimate (descending), ties by item bytes. */
  list(): TopKEntry[] {
    this.cached ??= this.computeList();
    return this.cached.map((e) => ({ item: Buffer.from(e.item, 'latin1'), count: e.count }));
  }

  /** Whether `item` is in the top k. */
  has(item: Uint8Array | string): boolean {
    this.cached ??= this.computeList();
    const s = Buffer.from(itemBytes(item)).toString('latin1');
    return this.cached.some((e) => e.item === s);
  }

  /**
   * TOPK.ADD / TOPK.INCRBY: adds each (item, n >= 1) from replica `r`, all or nothing. Returns, per
   * item, the item it pushed out of the top k, or null.
   */
  add(r: ReplicaId, pairs: readonly (readonly [Uint8Array | string, number])[]): Result<(Buffer | null)[], CrdtError> {
    let sum = 0;
    const bytes: Uint8Array[] = [];
    for (const [item, n] of pairs) {
      if (!Number.isSafeInteger(n)) return err(notIntegerError(n));
      if (n < 1) return err(new CrdtError('SKETCH_NEGATIVE', 'increment must be >= 1'));
      const b = itemBytes(item);
      if (b.length === 0 || b.length > TOPK_MAX_ITEM_BYTES) {
        return err(new CrdtError('SKETCH_ITEM_TOO_LONG', `items must be 1..${TOPK_MAX_ITEM_BYTES} bytes`));
      }
      bytes.push(b);
      sum += n;
    }
    if (!Number.isSafeInteger(sum) || sum > this.m.headroom(r)) return err(overflowError('the sketch count'));
    if (!this.m.rows.has(r)) assertReplicaId(r);
    const out: (Buffer | null)[] = [];
    for (let i = 0; i < pairs.length; i++) {
      const b = bytes[i] as Uint8Array;
      const s = Buffer.from(b).toString('latin1');
      const before = (this.cached ??= this.computeList());
      this.m.add(r, b, (pairs[i] as readonly [unknown, number])[1]);
      this.offer(r, s);
      const afterList = (this.cached = this.computeList());
      let expelled: string | undefined;
      if (afterList.some((e) => e.item === s)) {
        const after = new Set(afterList.map((e) => e.item));
        expelled = before.find((x) => !after.has(x.item))?.item;
      }
      out.push(expelled === undefined ? null : Buffer.from(expelled, 'latin1'));
    }
    this.live = true;
    return ok(out);
  }

  /**
   * A merge's body, for equal headers (Generational.merge decides the rest): the greater record per replica.
   * Headers order by (generation, k, width, depth).
   */
  protected mergeBody(other: TopK): boolean {
    let changed = false;
    for (const [id, rows] of other.m.rows) {
      const oc = other.cands.get(id) ?? new Set<string>();
      const mine = this.m.rows.get(id);
      if (mine !== undefined && this.compareRecord(mine, this.cands.get(id), rows, oc) >= 0) continue;
      this.m.replace(id, rows);
      this.cands.set(id, new Set(oc));
      changed = true;
    }
    if (changed) this.cached = undefined;
    return changed;
  }

  /** DEL: a new generation, empty. */
  clear(): void {
    this.gen++;
    this.live = false;
    this.m.clear();
    this.cands.clear();
    this.cached = undefined;
  }

  /** Re-creates a deleted Top-K (new generation) with new parameters. Invalid ones are misuse and throw. */
  recreate(k: number, width: number, depth: number): void {
    if (this.live) throw new Error('recreate() on a Top-K that exists');
    const fresh = TopK.create(k, width, depth);
    if (!fresh.ok) throw fresh.error;
    this.gen++;
    this.kk = k;
    this.m = new SketchMatrix(width, depth);
    this.cellCache.clear();
    this.cands.clear();
    this.cached = undefined;
    this.live = true;
  }

  /**
   * This Top-K in parts that each encode to at most `maxBytes` and merge independently: joined into
   * any state, in any order, they give exactly what joining this one gives. The unit is one
   * replica's record, whole: merge takes per replica the greater record (by its total), so a record
   * cut in pieces would not merge (a piece of a greater record would replace the receiver's
   * complete smaller one). A part holds some records under this state's header (generation, k,
   * dimensions, created flag). A deleted Top-K holds no records and is never split, so every part
   * is created (live). Returns `[this]` when the whole fits; undefined when one record with its
   * header cannot fit (`largestRecordBytes()` > maxBytes; at most `topkMaxRecordBytes`).
   */
  split(maxBytes: number): TopK[] | undefined {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${String(maxBytes)}`);
    if (this.encode().length <= maxBytes) return [this];
    const head = this.headerBytes();
    const parts: TopK[] = [];
    let ids: ReplicaId[] = [];
    let bytes = 0;
    const flush = (): void => {
      const t = new TopK(this.kk, this.width, this.depth);
      t.gen = this.gen;
      t.live = this.live;
      for (const id of ids) {
        t.m.replace(id, this.m.rows.get(id) as Float64Array);
        t.cands.set(id, new Set(this.cands.get(id)));
      }
      parts.push(t);
      ids = [];
      bytes = 0;
    };
    for (const id of sortIds(this.m.rows.keys())) {
      const cost = this.recordBytes(id);
      if (head + uvarintSize(ids.length + 1) + bytes + cost > maxBytes) {
        if (ids.length === 0) return undefined;
        flush();
        if (head + 1 + cost > maxBytes) return undefined;
      }
      ids.push(id);
      bytes += cost;
    }
    if (ids.length > 0) flush();
    return parts.length > 0 ? parts : undefined;
  }

  /** Bytes of the largest state holding one replica's record (this header): `split` needs at least that. 0 when there is none. */
  largestRecordBytes(): number {
    let max = 0;
    for (const id of this.m.rows.keys()) max = Math.max(max, this.recordBytes(id));
    return max === 0 ? 0 : this.headerBytes() + 1 + max;
  }

  clone(): TopK {
    const out = new TopK(this.kk, this.width, this.depth);
    out.adopt(this);
    return out;
  }

  equals(o: TopK): boolean {
    if (this.compareHeader(o) !== 0 || this.live !== o.live || !this.m.equals(o.m)) return false;
    for (const [id, c] of this.cands) {
      const x = o.cands.get(id);
      if (x === undefined || x.size !== c.size || [...c].some((s) => !x.has(s))) return false;
    }
    return true;
  }

  byteSize(): number {
    let b = 64 + this.m.byteSize();
    for (const c of this.cands.values()) for (const s of c) b += 48 + s.length;
    return b;
  }

  /**
   * `[version 2][tag 6][k][width][depth][generation][created u8]`, the replica matrices as runs (sketch-matrix.ts),
   * then per replica in the same id order: candidate count, and the candidates sorted, length-prefixed.
   */
  encode(): Uint8Array {
    const w = new ByteWriter(32 + this.m.rows.size * 256);
    w.u8(SKETCH_CODEC_VERSION).u8(TypeTag.TopK).uvarint(this.kk).uvarint(this.width).uvarint(this.depth).uvarint(this.gen).u8(this.live ? 1 : 0);
    this.m.encodeRows(w);
    for (const id of sortIds(this.m.rows.keys())) {
      // Stryker disable next-line ArrayDeclaration: every replica with a matrix has a candidate set (add, merge, decode and split all set one), so the default is never used
      const c = sortIds(this.cands.get(id) ?? []);
      w.uvarint(c.length);
      for (const s of c) w.lenBytes(Buffer.from(s, 'latin1'));
    }
    return w.finish();
  }

  static decode(bytes: Uint8Array): Result<TopK, CrdtError> {
    const name = 'TopK';
    const r = new ByteReader(bytes);
    const version = readVersionedHeader(r, TypeTag.TopK, name, SKETCH_CODEC_VERSIONS);
    if (!version.ok) return version;
    const k = readBounded(r, 1, TOPK_MAX_K, 'k');
    const { width, depth } = readDims(r);
    const gen = r.uvarint();
    const live = readBounded(r, 0, 1, 'created flag');
    if (r.failed) return finishDecode(r, undefined as never, name);
    const out = new TopK(k, width, depth);
    out.gen = gen;
    out.live = live === 1;
    const ids: string[] = [];
    out.m.decodeRows(r, version.value, (id) => {
      if (!out.live) r.fail('a deleted Top-K holds counts');
      // Each add hits every row once, so a record's rows sum alike (and topkMaxRecordBytes holds).
      else if (!rowSumsAgree(out.m.rows.get(id) as Float64Array, width, depth)) r.fail(`replica ${id}'s rows do not sum alike`);
      ids.push(id);
    });
    for (const id of ids) {
      if (r.failed) break;
      const n = readBounded(r, 0, 2 * k, 'candidate count');
      const set = new Set<string>();
      let prev: string | undefined;
      for (let i = 0; i < n && !r.failed; i++) {
        const b = r.lenBytes(TOPK_MAX_ITEM_BYTES);
        if (r.failed) break;
        const s = Buffer.from(b).toString('latin1');
        if (s.length === 0) r.fail('empty item');
        else if (prev !== undefined && !(prev < s)) r.fail('candidates not sorted or duplicated');
        prev = s;
        set.add(s);
      }
      out.cands.set(id, set);
    }
    return finishDecode(r, out, name);
  }

  // ---- internals ----

  /** Replica `r`'s candidate set takes `s` if it has room, or if `s` now out-estimates its weakest member. */
  private offer(r: ReplicaId, s: string): void {
    let set = this.cands.get(r);
    if (set === undefined) {
      set = new Set();
      this.cands.set(r, set);
    }
    if (set.has(s)) return;
    if (set.size < this.capacity) {
      set.add(s);
      return;
    }
    let weakest: string | undefined;
    let weakestCount: number | bigint = 0;
    for (const c of set) {
      const v = this.m.estimateCells(this.cellsOf(c));
      if (weakest === undefined || cmpCount(v, weakestCount) < 0 || (v === weakestCount && c > weakest)) {
        weakest = c;
        weakestCount = v;
      }
    }
    if (weakest !== undefined && cmpCount(this.m.estimateCells(this.cellsOf(s)), weakestCount) > 0) {
      set.delete(weakest);
      set.add(s);
    }
  }

  private computeList(): { item: string; count: number | bigint }[] {
    const all = new Set<string>();
    for (const c of this.cands.values()) for (const s of c) all.add(s);
    const scored = [...all].map((item) => ({ item, count: this.m.estimateCells(this.cellsOf(item)) }));
    scored.sort((a, b) => cmpCount(b.count, a.count) || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
    return scored.slice(0, this.kk);
  }

  private cellsOf(s: string): Int32Array {
    let c = this.cellCache.get(s);
    if (c === undefined) {
      // Bounded: drop the cache when it outgrows the candidates several times over.
      // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator,MethodExpression: only when the cache is dropped (memory); every cached entry is the item's cells for the current dimensions, so a miss recomputes the same cells
      if (this.cellCache.size > 8 * this.capacity * Math.max(1, this.cands.size)) this.cellCache.clear();
      c = this.m.cells(Buffer.from(s, 'latin1')).slice();
      this.cellCache.set(s, c);
    }
    return c;
  }

  /** `[version][tag][k][width][depth][generation][created]`. */
  private headerBytes(): number {
    return 3 + uvarintSize(this.kk) + uvarintSize(this.width) + uvarintSize(this.depth) + uvarintSize(this.gen);
  }

  /** Bytes of replica `id`'s record as `encode` writes it: id and matrix, then its candidates. */
  private recordBytes(id: ReplicaId): number {
    const m = this.m.rows.get(id) as Float64Array;
    const idLen = Buffer.byteLength(id, 'utf8');
    let n = uvarintSize(idLen) + idLen + runsSize(m, matrixRuns(m));
    const c = this.cands.get(id);
    n += uvarintSize(c?.size ?? 0);
    // Stryker disable next-line ArrayDeclaration: every replica with a matrix has a candidate set, so the default is never used
    for (const s of c ?? []) n += uvarintSize(s.length) + s.length; // latin1: one char a byte
    return n;
  }

  protected compareHeader(o: TopK): number {
    return this.gen - o.gen || this.kk - o.kk || this.width - o.width || this.depth - o.depth;
  }

  /** Total order on one replica's records: its total first, then content (ties only from corrupt peers). */
  private compareRecord(a: Float64Array, ac: Set<string> | undefined, b: Float64Array, bc: Set<string>): number {
    let ta = 0;
    let tb = 0;
    for (let j = 0; j < this.width; j++) {
      ta += a[j] as number;
      tb += b[j] as number;
    }
    if (ta !== tb) return ta - tb;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
    // Stryker disable next-line ArrayDeclaration: `a` is this replica's matrix, so its candidate set `ac` exists and the default is never used
    const x = sortIds(ac ?? []);
    const y = sortIds(bc);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as string) < (y[i] as string) ? -1 : 1;
    return x.length - y.length;
  }

  protected adopt(o: TopK): void {
    this.kk = o.kk;
    if (this.m.width !== o.width || this.m.depth !== o.depth) this.cellCache.clear();
    this.m = new SketchMatrix(o.width, o.depth);
    this.m.copyFrom(o.m);
    this.cands = new Map([...o.cands].map(([id, c]) => [id, new Set(c)]));
    this.gen = o.gen;
    this.live = o.live;
    this.cached = undefined;
  }
}
