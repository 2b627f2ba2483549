// Windowed counter: a grow-only counter split into time buckets of a fixed granularity, one slot
// per (bucket, replica), merged by max per slot, with old buckets truncated as a function of the
// state alone (never of a clock) so merge stays a join. docs/crdt-windowed.md explains it.
//
// Truncation follows the *second* newest replica: the horizon H is the second largest of the
// replicas' newest buckets (none with one replica), and a slot (b, r) is kept iff
// b > H - keptBuckets and b > newest(r) - keptBuckets. So one replica whose clock runs far ahead can
// never truncate the others' present (it did: one node an hour ahead erased every window it gossiped
// to); its own buckets stay bounded by the per-replica rule, and reads ignore buckets beyond the skew
// bound. Both thresholds only grow with the state, so merge stays a join.
//
// Invariants (every instance, decoded ones included):
//   - granularityS divides 86,400 (a day); retentionS = R * granularityS with 1 <= R <= WINDOW_MAX_BUCKETS;
//   - every stored slot count is an integer in [1, 2^53-1]; an empty bucket is not stored;
//   - every stored slot (b, r) satisfies the truncation rule above;
//   - b * granularityMs is a safe integer;
//   - !created implies no buckets (a deleted key holds nothing).

import { Generational } from './generational.js';
import { ByteReader, ByteWriter, CODEC_VERSION, TypeTag, uvarintSize } from './codec.js';
import { CrdtError } from './errors.js';
import { assertReplicaId, COUNTER_MAX, notIntegerError, overflowError } from './counter-base.js';
import type { ReplicaId } from './replica-id.js';
import { ExactSum, finishDecode, readBounded, readId, readTypeHeader, sortIds, writeId } from './sketch-codec.js';
import { err, type Result } from '../util/result.js';

/** Seconds in a day: every granularity divides it, so buckets align to UTC days on every node. */
export const WINDOW_DAY_S = 86_400;
/** Most buckets a retention may span (retention / granularity). Bounds memory per key. */
export const WINDOW_MAX_BUCKETS = 10_000;
/**
 * Largest clock skew tolerated, in ms: an increment stamped more than this ahead of the writing
 * node's clock is refused (WINDOW_FUTURE). Also the slack of extra buckets kept past the retention,
 * so a node whose clock runs up to this much behind still reads complete windows.
 */
export const WINDOW_MAX_SKEW_MS = 5_000;

/** Why `config` is not valid, or undefined when it is. */
export function windowConfigError(granularityS: number, retentionS: number): CrdtError | undefined {
  if (!Number.isSafeInteger(granularityS) || granularityS < 1 || granularityS > WINDOW_DAY_S || WINDOW_DAY_S % granularityS !== 0) {
    return new CrdtError('WINDOW_BAD_CONFIG', `granularity ${String(granularityS)} s must divide a day (86400 s): e.g. 1, 60, 3600`);
  }
  if (!Number.isSafeInteger(retentionS) || retentionS < granularityS || retentionS % granularityS !== 0) {
    return new CrdtError('WINDOW_BAD_CONFIG', `retention ${String(retentionS)} s must be a positive multiple of the granularity ${granularityS} s`);
  }
  if (retentionS / granularityS > WINDOW_MAX_BUCKETS) {
    return new CrdtError('WINDOW_BAD_CONFIG', `retention / granularity is ${retentionS / granularityS}; at most ${WINDOW_MAX_BUCKETS} buckets`);
  }
  return undefined;
}

/** A sliding-window estimate: `full` buckets counted whole plus `partial` (the oldest, straddling bucket) weighted by `weight`. */
export interface SlidingCount {
  /** full + partial * weight: the interpolated count of the last `windowMs`. */
  estimate: number;
  full: number | bigint;
  partial: number;
  weight: number;
}

type Bucket = Map<ReplicaId, number>;

export class WindowedCounter extends Generational<WindowedCounter> {
  private readonly buckets = new Map<number, Bucket>();
  private maxB = -1;
  /**
   * Each replica's newest bucket, and with it `minB`, the oldest bucket present: a cache, null when
   * stale. An increment keeps it up to date and truncates only when a bucket may fall out of range,
   * so it costs O(replicas), not a scan of the window (a 1 s x 1 h window of 5 writers has 18,000
   * slots); merges, deletes and decodes drop it and the next reader rebuilds it.
   */
  private top: Map<ReplicaId, number> | null = null;
  private minB = Infinity;
  private gMs: number;
  private r: number;

  private constructor(granularityS: number, retentionS: number) {
    super();
    this.gMs = granularityS * 1000;
    this.r = retentionS / granularityS;
  }

  /** A new, existing (created) window. Invalid config is misuse and throws; check with `windowConfigError` first. */
  static create(granularityS: number, retentionS: number): WindowedCounter {
    const e = windowConfigError(granularityS, retentionS);
    if (e) throw e;
    return new WindowedCounter(granularityS, retentionS);
  }

  get granularityS(): number {
    return this.gMs / 1000;
  }
  get retentionS(): number {
    return (this.r * this.gMs) / 1000;
  }
  /**
   * Buckets kept by truncation: the retention, plus the clock-skew slack, plus one for the bucket a
   * sliding window's start straddles. So a node whose clock is up to WINDOW_MAX_SKEW_MS behind the
   * fastest writer still reads a complete retention.
   */
  get keptBuckets(): number {
    return this.r + Math.ceil(WINDOW_MAX_SKEW_MS / this.gMs) + 1;
  }
  /** The newest bucket's index (bucket b covers [b*g, (b+1)*g) ms), or -1 when empty. */
  get maxBucket(): number {
    return this.maxB;
  }

  /** Each replica's newest bucket (the cache; callers do not change it). */
  private newestByReplica(): Map<ReplicaId, number> {
    if (this.top === null) {
      const top = new Map<ReplicaId, number>();
      let min = Infinity;
      for (const [b, bucket] of this.buckets) {
        if (b < min) min = b;
        for (const r of bucket.keys()) if (b > (top.get(r) ?? -1)) top.set(r, b);
      }
      this.top = top;
      this.minB = min;
    }
    return this.top;
  }

  /**
   * The truncation horizon: the second largest of the replicas' newest buckets, or -1 with fewer
   * than two replicas (then each replica's own rule truncates). It only grows as the state grows.
   */
  get horizon(): number {
    let first = -1;
    let second = -1;
    for (const b of this.newestByReplica().values()) {
      if (b > first) [first, second] = [b, first];
      else if (b > second) second = b;
    }
    return second;
  }

  private slotCount(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }

  /** A slot (b, r) was added: the cache of newest buckets, the oldest and the newest follow it. */
  private noteSlot(b: number, r: ReplicaId): void {
    const top = this.newestByReplica();
    if (b > (top.get(r) ?? -1)) top.set(r, b);
    if (b > this.maxB) this.maxB = b;
    if (b < this.minB) this.minB = b;
  }

  /**
   * Drops every slot the truncation rule no longer keeps (see the top of the file). Every threshold
   * is at most the newest bucket - keptBuckets, so only buckets from the oldest up to there are
   * visited (none, the common case, while the window has not advanced past its oldest bucket).
   */
  private truncate(): void {
    const top = this.newestByReplica();
    let first = -1;
    let second = -1;
    for (const b of top.values()) {
      if (b > first) [first, second] = [b, first];
      else if (b > second) second = b;
    }
    const kept = this.keptBuckets;
    const limit = first - kept;
    if (this.minB > limit) return;
    const h = second;
    let min = Infinity;
    const visit = (b: number, bucket: Bucket): void => {
      if (b <= h - kept) {
        this.buckets.delete(b);
        return;
      }
      for (const r of bucket.keys()) if (b <= (top.get(r) as number) - kept) bucket.delete(r);
      if (bucket.size === 0) this.buckets.delete(b);
      else if (b < min) min = b;
    };
    // Bucket indexes are integers: walk the range when it is shorter than the map.
    // Stryker disable next-line ArithmeticOperator,ConditionalExpression,EqualityOperator: either walk visits exactly the buckets up to limit (minB is the oldest present); the choice only changes the cost
    const byRange = limit - this.minB < this.buckets.size;
    if (byRange) {
      for (let b = this.minB; b <= limit; b++) {
        const bucket = this.buckets.get(b);
        if (bucket !== undefined) visit(b, bucket);
      }
    } else {
      for (const [b, bucket] of this.buckets) if (b <= limit) visit(b, bucket);
    }
    // A replica's own rule never drops its newest bucket; the horizon drops all of a replica whose
    // newest is under it. The newest bucket of all (first) is never under a threshold.
    for (const [r, b] of top) if (b <= h - kept) top.delete(r);
    if (this.buckets.size === 0) {
      this.minB = Infinity;
      this.maxB = -1;
      return;
    }
    // The oldest left: a visited bucket that kept a slot, else the first present above the range
    // (a bounded walk, then a scan of the map).
    for (let b = limit + 1, steps = 0; min === Infinity && b <= this.maxB && steps < this.buckets.size; b++, steps++) if (this.buckets.has(b)) min = b;
    if (min === Infinity) for (const b of this.buckets.keys()) if (b < min) min = b;
    this.minB = min;
  }
  bucketCount(): number {
    return this.buckets.size;
  }

  bucketOf(ms: number): number {
    return Math.floor(ms / this.gMs);
  }

  /**
   * Adds `n` >= 0 at time `atMs` from replica `r`, the node's clock reading `nowMs`. Refused (nothing
   * changes) when `atMs` is more than WINDOW_MAX_SKEW_MS ahead of `nowMs` (WINDOW_FUTURE), before the
   * retention or in a bucket the state has already truncated (WINDOW_TOO_OLD), or on overflow.
   */
  incrementAt(r: ReplicaId, n: number, atMs: number, nowMs: number): CrdtError | undefined {
    if (!Number.isSafeInteger(n)) return notIntegerError(n);
    if (n < 0) return new CrdtError('WINDOW_NEGATIVE', 'a windowed counter cannot be decremented');
    if (!Number.isSafeInteger(atMs) || atMs < 0) return new CrdtError('WINDOW_TOO_OLD', `timestamp ${String(atMs)} is not a non-negative integer of ms`);
    if (atMs > nowMs + WINDOW_MAX_SKEW_MS) {
      return new CrdtError('WINDOW_FUTURE', `timestamp ${atMs} is more than ${WINDOW_MAX_SKEW_MS} ms ahead of this node's clock (${nowMs})`);
    }
    const b = this.bucketOf(atMs);
    if (b <= this.bucketOf(nowMs) - this.r || b <= this.horizon - this.keptBuckets) {
      return new CrdtError('WINDOW_TOO_OLD', `timestamp ${atMs} is older than the retention (${this.retentionS} s)`);
    }
    if (n === 0) return undefined;
    const bucket = this.buckets.get(b);
    const cur = bucket?.get(r) ?? 0;
    if (cur + n > COUNTER_MAX) return overflowError(`replica ${r}'s count in one bucket`);
    if (cur === 0) assertReplicaId(r);
    if (bucket === undefined) this.buckets.set(b, new Map([[r, n]]));
    else bucket.set(r, cur + n);
    if (cur === 0) {
      // A new slot may be its replica's newest, which moves the truncation thresholds.
      this.noteSlot(b, r);
      this.truncate();
    }
    this.live = true;
    return undefined;
  }

  /** Sum of every bucket that holds an instant of [fromMs, toMs] (fixed windows at bucket resolution). */
  count(fromMs: number, toMs: number): number | bigint {
    const lo = this.bucketOf(fromMs);
    const hi = this.bucketOf(toMs);
    const sum = new ExactSum();
    for (const [b, bucket] of this.buckets) if (b >= lo && b <= hi) for (const v of bucket.values()) sum.add(v);
    return sum.value();
  }

  /** Count of one bucket (all replicas). */
  bucketTotal(b: number): number | bigint {
    const sum = new ExactSum();
    for (const v of this.buckets.get(b)?.values() ?? []) sum.add(v);
    return sum.value();
  }

  /**
   * Sliding window (nowMs - windowMs, nowMs], interpolated: buckets entirely inside count whole; the
   * oldest bucket, which straddles the start, counts in proportion to its overlap (as if its events
   * were spread evenly over it). Buckets after `nowMs` (stamped by nodes whose clocks run ahead, within
   * the skew bound) are counted too: a rate limiter would rather over- than under-count. Buckets
   * further ahead than the skew bound (a clock gone wrong) are not counted until their time comes.
   */
  sliding(nowMs: number, windowMs: number): SlidingCount {
    const start = nowMs - windowMs;
    const bs = this.bucketOf(start);
    const be = this.bucketOf(nowMs + WINDOW_MAX_SKEW_MS);
    const weight = ((bs + 1) * this.gMs - start) / this.gMs;
    const full = new ExactSum();
    let partial = 0;
    // Walk the index range when it is shorter than the bucket table (a short window over a long retention).
    const visit = (b: number, bucket: Bucket): void => {
      if (b < bs || b > be) return;
      if (b === bs) for (const v of bucket.values()) partial += v;
      else for (const v of bucket.values()) full.add(v);
    };
    // Stryker disable next-line ArithmeticOperator,ConditionalExpression,EqualityOperator,MethodExpression: either walk visits every bucket visit() counts; the choice only changes the cost
    if (Math.min(this.maxB, be) - bs + 1 < this.buckets.size) {
      for (let b = Math.max(bs, 0); b <= Math.min(this.maxB, be); b++) {
        const bucket = this.buckets.get(b);
        if (bucket !== undefined) visit(b, bucket);
      }
    } else {
      for (const [b, bucket] of this.buckets) visit(b, bucket);
    }
    const f = full.value();
    return { estimate: Number(f) + partial * weight, full: f, partial, weight };
  }

  /**
   * A merge's body, for equal headers (Generational.merge decides the rest): slots by max, then truncate.
   * Headers order by (generation, granularity, retention).
   */
  protected mergeBody(other: WindowedCounter): boolean {
    let changed = false;
    // Both thresholds only grow with the state: a slot below them now would be truncated anyway.
    const kept = this.keptBuckets;
    const cut = this.horizon - kept;
    const top = this.newestByReplica();
    for (const [b, ob] of other.buckets) {
      if (b <= cut) continue;
      let mine = this.buckets.get(b);
      for (const [id, v] of ob) {
        const had = mine?.get(id);
        if (b <= (top.get(id) ?? -Infinity) - kept || v <= (had ?? 0)) continue;
        if (mine === undefined) this.buckets.set(b, (mine = new Map()));
        mine.set(id, v);
        if (had === undefined) this.noteSlot(b, id);
        changed = true;
      }
    }
    if (changed) this.truncate();
    return changed;
  }

  /** DEL: a new generation with no buckets; the key no longer exists. Unseen concurrent increments of the old generation are dropped. */
  clear(): void {
    this.gen++;
    this.live = false;
    this.buckets.clear();
    this.maxB = -1;
    this.top = null;
  }

  /** Re-creates a deleted window (a new generation, so it wins over the tombstone), possibly with another config. */
  recreate(granularityS: number, retentionS: number): void {
    if (this.live) throw new Error('recreate() on a window that exists');
    const e = windowConfigError(granularityS, retentionS);
    if (e) throw e;
    this.gen++;
    this.gMs = granularityS * 1000;
    this.r = retentionS / granularityS;
    this.live = true;
  }

  /**
   * This window in parts that each encode to at most `maxBytes` and merge independently: joined into
   * any state, in any order, they give exactly what joining this window gives. The unit is one
   * (bucket, replica) count; a part holds some of them under this window's header (generation,
   * granularity, retention, created flag). Merge is a join, per (bucket, replica) max then
   * truncation, and truncation keeps every bucket within keptBuckets of the newest one present:
   * every part's buckets lie within that range of its own newest (no newer than the whole's), so
   * each part is a valid state below the whole, and the parts' join is the whole (the part holding
   * the newest bucket truncates nothing the whole keeps). A deleted window holds no buckets and is
   * never split, so every part is created (live). Returns `[this]` when the whole fits; undefined
   * only when one count with its header cannot fit (at most 300 bytes).
   */
  split(maxBytes: number): WindowedCounter[] | undefined {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${String(maxBytes)}`);
    if (this.encode().length <= maxBytes) return [this];
    const all = new Set<string>();
    for (const b of this.buckets.values()) for (const id of b.keys()) all.add(id);
    const idCost = new Map<string, number>();
    for (const id of all) {
      const len = Buffer.byteLength(id, 'utf8');
      idCost.set(id, uvarintSize(len) + len);
    }
    // Upper bounds where a part's own numbers are at most the whole's: id indexes, id and bucket counts.
    const idxCost = uvarintSize(Math.max(0, all.size - 1));
    const head = 3 + uvarintSize(this.granularityS) + uvarintSize(this.r) + uvarintSize(this.gen) + uvarintSize(all.size) + uvarintSize(this.buckets.size);
    const parts: WindowedCounter[] = [];
    let cur = new Map<number, Bucket>();
    let used = new Set<string>();
    let bytes = 0;
    let prevB = 0;
    const flush = (): void => {
      const w = new WindowedCounter(this.granularityS, this.retentionS);
      w.gen = this.gen;
      w.live = this.live;
      for (const [b, m] of cur) w.buckets.set(b, m);
      w.maxB = prevB;
      parts.push(w);
      cur = new Map();
      used = new Set();
      bytes = prevB = 0;
    };
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) {
      const bucket = this.buckets.get(b) as Bucket;
      const slotsCost = uvarintSize(bucket.size);
      for (const id of sortIds(bucket.keys())) {
        const v = bucket.get(id) as number;
        const cost = (): number => idxCost + uvarintSize(v) + (used.has(id) ? 0 : (idCost.get(id) as number)) + (cur.has(b) ? 0 : uvarintSize(b - prevB) + slotsCost);
        let c = cost();
        if (head + bytes + c > maxBytes) {
          if (cur.size === 0) return undefined;
          flush();
          c = cost();
          if (head + c > maxBytes) return undefined;
        }
        let mine = cur.get(b);
        if (mine === undefined) {
          mine = new Map();
          cur.set(b, mine);
          prevB = b;
        }
        mine.set(id, v);
        used.add(id);
        bytes += c;
      }
    }
    if (cur.size > 0) flush();
    return parts.length > 0 ? parts : undefined;
  }

  clone(): WindowedCounter {
    const out = new WindowedCounter(1, 1);
    out.adopt(this);
    return out;
  }

  equals(other: WindowedCounter): boolean {
    if (this.compareHeader(other) !== 0 || this.live !== other.live || this.buckets.size !== other.buckets.size) return false;
    for (const [b, mine] of this.buckets) {
      const o = other.buckets.get(b);
      if (o === undefined || o.size !== mine.size) return false;
      for (const [id, v] of mine) if (o.get(id) !== v) return false;
    }
    return true;
  }

  /** Approximate heap bytes: the object, and per bucket its Map, and per slot a Map entry. Replica id strings are shared. */
  byteSize(): number {
    let bytes = 96;
    for (const b of this.buckets.values()) bytes += 120 + 40 * b.size;
    return bytes;
  }

  /** Every (bucket, replica, count), sorted: for tests and inspection. */
  entries(): [number, ReplicaId, number][] {
    const out: [number, ReplicaId, number][] = [];
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) {
      const bucket = this.buckets.get(b) as Bucket;
      for (const id of sortIds(bucket.keys())) out.push([b, id, bucket.get(id) as number]);
    }
    return out;
  }

  /**
   * `[version][tag 4][granularity_s][R][generation][created u8][ids: count, then sorted length-prefixed
   * UTF-8][buckets: count, then ascending: index delta (the first absolute), slot count, then per slot
   * (id index, ascending) (count >= 1)]`, all integers uvarints. Canonical: equal states, equal bytes.
   */
  encode(): Uint8Array {
    const ids = new Set<string>();
    for (const b of this.buckets.values()) for (const id of b.keys()) ids.add(id);
    const sortedIds = sortIds(ids);
    const index = new Map(sortedIds.map((id, i) => [id, i]));
    const w = new ByteWriter(32 + sortedIds.length * 12 + this.buckets.size * 8);
    w.u8(CODEC_VERSION).u8(TypeTag.WindowedCounter).uvarint(this.granularityS).uvarint(this.r).uvarint(this.gen).u8(this.live ? 1 : 0);
    w.uvarint(sortedIds.length);
    for (const id of sortedIds) writeId(w, id);
    w.uvarint(this.buckets.size);
    let prev = 0;
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) {
      w.uvarint(b - prev);
      prev = b;
      const bucket = this.buckets.get(b) as Bucket;
      const slots = [...bucket].map(([id, v]) => [index.get(id) as number, v] as const).sort((x, y) => x[0] - y[0]);
      w.uvarint(slots.length);
      for (const [i, v] of slots) w.uvarint(i).uvarint(v);
    }
    return w.finish();
  }

  /** Decodes untrusted bytes. Never throws; malformed or non-canonical input is a typed error. */
  static decode(bytes: Uint8Array): Result<WindowedCounter, CrdtError> {
    const name = 'WindowedCounter';
    const r = new ByteReader(bytes);
    const he = readTypeHeader(r, TypeTag.WindowedCounter, name);
    if (he) return err(he);
    const g = readBounded(r, 1, WINDOW_DAY_S, 'granularity');
    const rb = readBounded(r, 1, WINDOW_MAX_BUCKETS, 'retention buckets');
    if (!r.failed && windowConfigError(g, g * rb) !== undefined) r.fail('granularity must divide a day');
    const gen = r.uvarint();
    const flag = readBounded(r, 0, 1, 'created flag');
    if (r.failed) return finishDecode(r, undefined as never, name);
    const out = new WindowedCounter(g, g * rb);
    out.gen = gen;
    out.live = flag === 1;
    const nIds = readBounded(r, 0, r.remaining, 'replica count');
    const ids: string[] = [];
    for (let i = 0; i < nIds && !r.failed; i++) {
      const id = readId(r, ids[ids.length - 1]);
      if (id !== undefined) ids.push(id);
    }
    const used = new Uint8Array(ids.length);
    // Each replica keeps at most keptBuckets buckets; the truncation rule is checked below.
    const nb = readBounded(r, 0, Math.min(r.remaining, out.keptBuckets * Math.max(1, nIds)), 'bucket count');
    if (!out.live && (nIds > 0 || nb > 0)) r.fail('a deleted window holds buckets');
    const maxIndex = Math.floor(Number.MAX_SAFE_INTEGER / out.gMs);
    let b = 0;
    for (let k = 0; k < nb && !r.failed; k++) {
      const d = r.uvarint();
      if (k > 0 && d === 0) r.fail('bucket indexes not strictly ascending');
      b += d;
      if (b > maxIndex) r.fail('bucket index out of range');
      const ns = readBounded(r, 1, ids.length, 'slot count');
      const bucket: Bucket = new Map();
      let prevIdx = -1;
      for (let s = 0; s < ns && !r.failed; s++) {
        const idx = readBounded(r, 0, ids.length - 1, 'replica index');
        if (!r.failed && idx <= prevIdx) r.fail('slots not sorted by replica');
        const v = readBounded(r, 1, COUNTER_MAX, 'count');
        if (r.failed) break;
        prevIdx = idx;
        used[idx] = 1;
        bucket.set(ids[idx] as string, v);
      }
      out.buckets.set(b, bucket);
    }
    if (!r.failed && nb > 0) {
      out.maxB = b;
      const slots = out.slotCount();
      out.truncate();
      if (out.slotCount() !== slots) r.fail('bucket outside the retained range');
    }
    if (!r.failed && used.some((u) => u === 0)) r.fail('unused replica id');
    return finishDecode(r, out, name);
  }

  // ---- internals ----

  /** Order of the header (generation, granularity, retention): the higher wins a merge outright. */
  protected compareHeader(o: WindowedCounter): number {
    return this.gen - o.gen || this.gMs - o.gMs || this.r - o.r;
  }


  protected adopt(o: WindowedCounter): void {
    this.gMs = o.gMs;
    this.r = o.r;
    this.gen = o.gen;
    this.live = o.live;
    this.maxB = o.maxB;
    this.top = null;
    this.buckets.clear();
    for (const [b, m] of o.buckets) this.buckets.set(b, new Map(m));
  }
}
