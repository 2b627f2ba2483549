// The keyspace: key -> typed CRDT, with type checks, change notification and merge of remote state.
// Keys are "full keys": one char for the database (0-15) followed by the key's bytes as latin1, so
// binary keys round-trip exactly and every protocol (RESP bytes, WebSocket strings) maps to one form.

import { GCounter } from '../crdt/g-counter.js';
import { PNCounter } from '../crdt/pn-counter.js';
import { HyperLogLog } from '../crdt/hyperloglog.js';
import { WindowedCounter, windowConfigError } from '../crdt/windowed-counter.js';
import { CountMinSketch } from '../crdt/count-min-sketch.js';
import { TopK } from '../crdt/top-k.js';
import { throttleDecide, throttleWindowConfig, type ThrottleResult } from '../crdt/throttle.js';
import type { CrdtError } from '../crdt/errors.js';
import type { ReplicaId } from '../crdt/replica-id.js';
import { err, ok, type Result } from '../util/result.js';
import {
  GCOUNTER_DECREMENT,
  NOT_INTEGER,
  OVERFLOW,
  TYPE_TAGS,
  WRONGTYPE,
  type ChangeSink,
  type Crdt,
  type Entry,
  type KeyType,
  type KeyspaceError,
} from './types.js';

export const DATABASES = 16;

/**
 * The counter type a missing key is created as: a type, or a rule asked only when the key is
 * created (the `gcounterKeys` globs), so writes to existing keys never evaluate it.
 */
export type CreateAs = 'pncounter' | 'gcounter' | ((key: string) => 'pncounter' | 'gcounter');

/** Buffer's latin1 decoder without the `toString` dispatch (present on every Node Buffer, not typed). */
type Latin1Decoder = { latin1Slice(start: number, end: number): string };

/** Scratch bytes for building a full key (db byte + key bytes), so one decode yields one flat string. */
let keyScratch = Buffer.allocUnsafeSlow(256);
/** Keys longer than this are converted without the scratch buffer (which never grows past it). */
const SCRATCH_MAX = 64 * 1024;

/** The full key of `key` in database `db`. */
export function fullKey(db: number, key: Uint8Array | string): string {
  if (typeof key === 'string') return String.fromCharCode(db) + Buffer.from(key, 'utf8').toString('latin1');
  const n = key.length;
  if (n >= SCRATCH_MAX) {
    // A bare Uint8Array is viewed, not copied.
    const b = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    return String.fromCharCode(db) + b.toString('latin1');
  }
  // Hot path (every RESP key): copy into scratch and decode once. Concatenating the db char to a
  // decoded key instead makes a cons string, which V8 must flatten again to hash it as a Map key.
  if (n >= keyScratch.length) keyScratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(n + 1, 2 * keyScratch.length)));
  const s = keyScratch;
  s[0] = db;
  if (n <= 32) for (let i = 0; i < n; i++) s[i + 1] = key[i] as number;
  else s.set(key, 1);
  return (s as unknown as Latin1Decoder).latin1Slice(0, n + 1);
}

/** Splits a full key into its database and the key as a Buffer. */
export function splitKey(full: string): { db: number; key: Buffer } {
  return { db: full.charCodeAt(0), key: Buffer.from(full.slice(1), 'latin1') };
}

const TAG_TO_TYPE: ReadonlyMap<number, KeyType> = new Map(
  (Object.entries(TYPE_TAGS) as [KeyType, number][]).map(([t, n]) => [n, t]),
);

function counterError(e: CrdtError): KeyspaceError {
  switch (e.code) {
    case 'COUNTER_OVERFLOW':
      return OVERFLOW;
    case 'GCOUNTER_DECREMENT':
      return GCOUNTER_DECREMENT;
    default:
      return NOT_INTEGER;
  }
}

export type CounterValue = number | bigint;

const NO_WINDOW: KeyspaceError = { code: 'NO_SUCH_KEY', message: 'ERR no such window key (create it with WINDOW.CREATE)' };
const NO_CMS: KeyspaceError = { code: 'NO_SUCH_KEY', message: 'CMS: key does not exist' };
const NO_TOPK: KeyspaceError = { code: 'NO_SUCH_KEY', message: 'TopK: key does not exist' };

export class Keyspace {
  private readonly entries = new Map<string, Entry>();
  /** Remote merges that met a key of another type, resolved by the fixed type order. */
  typeConflicts = 0;

  constructor(
    private replica: ReplicaId,
    private sink: ChangeSink = { changed: () => {} },
    private readonly hllPrecision = HyperLogLog.DEFAULT_PRECISION,
  ) {}

  /** The replica id local increments are written under (changes at each incarnation). */
  get replicaId(): ReplicaId {
    return this.replica;
  }

  setReplicaId(id: ReplicaId): void {
    this.replica = id;
  }

  /** Routes change notifications to a new sink (a restarted replica taking over restored state). */
  attach(sink: ChangeSink): void {
    this.sink = sink;
  }

  entry(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  /** The type of a key that exists (tombstones of deleted keys do not). */
  typeOf(key: string): KeyType | undefined {
    const e = this.entries.get(key);
    return e && live(e) ? e.type : undefined;
  }

  /** Adds `n` (may be negative) to a counter, creating it as `createAs` if missing. Returns the new value. */
  incrBy(key: string, n: number, createAs: CreateAs = 'pncounter'): Result<CounterValue, KeyspaceError> {
    let e = this.entries.get(key);
    if (e === undefined) {
      if (!Number.isSafeInteger(n)) return err(NOT_INTEGER);
      const type = typeof createAs === 'function' ? createAs(key) : createAs;
      if (type === 'gcounter' && n < 0) return err(GCOUNTER_DECREMENT);
      e = { type, crdt: type === 'gcounter' ? new GCounter() : new PNCounter() };
      const failure = (e.crdt as GCounter | PNCounter).incrementInPlace(this.replica, n);
      if (failure !== undefined) return err(counterError(failure));
      this.entries.set(key, e);
    } else {
      if (!isCounter(e)) return err(WRONGTYPE);
      const failure = (e.crdt as GCounter | PNCounter).incrementInPlace(this.replica, n);
      if (failure !== undefined) return err(counterError(failure));
    }
    // INCRBY k 0 on a missing (or deleted) PN-Counter leaves it holding 0, as in Redis.
    if (n === 0 && e.type === 'pncounter') (e.crdt as PNCounter).existAtZero(this.replica);
    this.touchEntry(e, key, true);
    return ok((e.crdt as GCounter | PNCounter).value());
  }

  /** Sets a counter to `value` by an observed reset plus an increment (Redis SET on a counter). */
  setCounter(key: string, value: number, createAs: CreateAs = 'pncounter'): Result<CounterValue, KeyspaceError> {
    const e = this.entries.get(key);
    if (e === undefined) return this.incrBy(key, value, createAs);
    if (!isCounter(e)) return err(WRONGTYPE);
    if (e.type === 'gcounter') {
      if (value < 0) return err(GCOUNTER_DECREMENT);
      const g = e.crdt as GCounter;
      const probe = g.clone();
      probe.reset();
      const r = probe.increment(this.replica, value);
      if (!r.ok) return err(counterError(r.error));
      g.merge(probe);
    } else {
      const r = (e.crdt as PNCounter).set(this.replica, value);
      if (!r.ok) return err(counterError(r.error));
    }
    this.touch(key, true);
    return ok((e.crdt as GCounter | PNCounter).value());
  }

  /** The value of a counter, `null` if missing, or WRONGTYPE for an HLL. */
  getCounter(key: string): Result<CounterValue | null, KeyspaceError> {
    const e = this.entries.get(key);
    if (e === undefined || !live(e)) return ok(null);
    if (!isCounter(e)) return err(WRONGTYPE);
    return ok((e.crdt as GCounter | PNCounter).value());
  }

  /** Deletes a key: an observed reset for counters, a generation bump for HLLs. Returns whether it existed. */
  del(key: string): boolean {
    const e = this.entries.get(key);
    if (e === undefined || !live(e)) return false;
    if (isCounter(e)) (e.crdt as GCounter | PNCounter).reset();
    else (e.crdt as HyperLogLog | WindowedCounter | CountMinSketch | TopK).clear();
    this.touch(key, true);
    return true;
  }

  exists(key: string): boolean {
    const e = this.entries.get(key);
    return e !== undefined && live(e);
  }

  /** PFADD: adds elements, creating the HLL. Returns whether any register changed (or it was created). */
  pfadd(key: string, elements: readonly (Uint8Array | string)[]): Result<boolean, KeyspaceError> {
    let e = this.entries.get(key);
    let changed = false;
    if (e === undefined) {
      e = { type: 'hll', crdt: HyperLogLog.create(this.hllPrecision) };
      this.entries.set(key, e);
      changed = true;
    } else if (e.type !== 'hll') {
      return err(WRONGTYPE);
    } else if (!live(e)) {
      changed = true; // re-creating a deleted HLL makes it exist again
    }
    const h = e.crdt as HyperLogLog;
    for (const el of elements) if (h.add(el)) changed = true;
    if (changed) this.touchEntry(e, key, true);
    return ok(changed);
  }

  /** PFCOUNT over one or more keys: the cardinality of their union. Missing keys count as empty. */
  pfcount(keys: readonly string[]): Result<number, KeyspaceError> {
    const hlls: HyperLogLog[] = [];
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e === undefined || !live(e)) continue;
      if (e.type !== 'hll') return err(WRONGTYPE);
      hlls.push(e.crdt as HyperLogLog);
    }
    if (hlls.length === 0) return ok(0);
    if (hlls.length === 1) return ok((hlls[0] as HyperLogLog).count());
    const union = unionOf(hlls);
    return ok(union.count());
  }

  /** PFMERGE dest src...: dest becomes the union of itself and the sources. */
  pfmerge(dest: string, sources: readonly string[]): Result<true, KeyspaceError> {
    const hlls: HyperLogLog[] = [];
    for (const k of [dest, ...sources]) {
      const e = this.entries.get(k);
      if (e === undefined || !live(e)) continue;
      if (e.type !== 'hll') return err(WRONGTYPE);
      hlls.push(e.crdt as HyperLogLog);
    }
    let d = this.entries.get(dest);
    if (d === undefined) {
      d = { type: 'hll', crdt: HyperLogLog.create(this.hllPrecision) };
      this.entries.set(dest, d);
    } else if (d.type !== 'hll') {
      // A deleted key keeps its type (its tombstone still replicates), so it cannot become an HLL.
      return err(WRONGTYPE);
    }
    const target = d.crdt as HyperLogLog;
    // A union of different keys: register max regardless of each key's delete generation.
    for (const h of hlls) if (h !== target) target.unionWith(h);
    this.touch(dest, true);
    return ok(true);
  }

  // ---- windowed counters and rate limits (docs/crdt-windowed.md) ----

  /** WINDOW.CREATE: 'created', or 'exists' for a live window of the same config; KEY_EXISTS for another config. */
  windowCreate(key: string, granularityS: number, retentionS: number): Result<'created' | 'exists', KeyspaceError> {
    const configError = windowConfigError(granularityS, retentionS);
    if (configError) return err(invalid('ERR ', configError));
    const found = this.typed<WindowedCounter>(key, 'window');
    if (!found.ok) return found;
    const w = found.value;
    if (w?.exists()) {
      if (w.granularityS === granularityS && w.retentionS === retentionS) return ok('exists');
      return err({ code: 'KEY_EXISTS', message: `ERR window exists with granularity ${w.granularityS} s and retention ${w.retentionS} s` });
    }
    if (w) w.recreate(granularityS, retentionS);
    else this.entries.set(key, { type: 'window', crdt: WindowedCounter.create(granularityS, retentionS) });
    this.touch(key, true);
    return ok('created');
  }

  /** WINDOW.INCRBY: adds n >= 0 at `atMs` (the node's time by default). Returns the new total of that bucket. */
  windowIncrBy(key: string, n: number, atMs: number, nowMs: number): Result<number | bigint, KeyspaceError> {
    const found = this.typed<WindowedCounter>(key, 'window');
    if (!found.ok) return found;
    const w = found.value;
    if (!w?.exists()) return err(NO_WINDOW);
    const e = w.incrementAt(this.replica, n, atMs, nowMs);
    if (e) return err(invalid('ERR ', e));
    if (n > 0) this.touch(key, true);
    return ok(w.bucketTotal(w.bucketOf(atMs)));
  }

  /** WINDOW.COUNT: the sum of the buckets holding [fromMs, toMs]; 0 for a missing key. */
  windowCount(key: string, fromMs: number, toMs: number): Result<number | bigint, KeyspaceError> {
    if (fromMs > toMs) return err({ code: 'INVALID', message: 'ERR from is after to' });
    const found = this.typed<WindowedCounter>(key, 'window');
    if (!found.ok) return found;
    return ok(found.value?.exists() === true ? found.value.count(fromMs, toMs) : 0);
  }

  /** WINDOW.SLIDING: the interpolated count of the last `windowMs` before `nowMs`; 0 for a missing key. */
  windowSliding(key: string, windowMs: number, nowMs: number): Result<number, KeyspaceError> {
    const found = this.typed<WindowedCounter>(key, 'window');
    if (!found.ok) return found;
    const w = found.value;
    if (!w?.exists()) return ok(0);
    if (windowMs > w.retentionS * 1000) return err({ code: 'INVALID', message: `ERR the window is longer than the retention (${w.retentionS} s)` });
    return ok(w.sliding(nowMs, windowMs).estimate);
  }

  /** The window of a key (read-only use: WINDOW.INFO, tests). */
  window(key: string): WindowedCounter | undefined {
    const e = this.entries.get(key);
    return e?.type === 'window' && live(e) ? (e.crdt as WindowedCounter) : undefined;
  }

  /**
   * THROTTLE: checks `cost` against `limit` over the sliding `periodS`, counting it when allowed. A
   * missing key is created as a window sized for the period (`throttleWindowConfig`).
   */
  throttle(key: string, limit: number, periodS: number, cost: number, nowMs: number): Result<ThrottleResult, KeyspaceError> {
    const found = this.typed<WindowedCounter>(key, 'window');
    if (!found.ok) return found;
    let w = found.value;
    const cfg = throttleWindowConfig(periodS);
    if (w === undefined) {
      w = WindowedCounter.create(cfg.granularityS, cfg.retentionS);
      this.entries.set(key, { type: 'window', crdt: w });
      this.touch(key, true);
    } else if (!w.exists()) {
      w.recreate(cfg.granularityS, cfg.retentionS);
      this.touch(key, true);
    } else if (w.retentionS < periodS) {
      return err({ code: 'INVALID', message: `ERR the period is longer than the key's window retention (${w.retentionS} s)` });
    }
    const d = throttleDecide(w, limit, periodS * 1000, cost, nowMs);
    if (d.allowed && cost > 0) {
      const e = w.incrementAt(this.replica, cost, nowMs, nowMs);
      if (e) return err(invalid('ERR ', e));
      this.touch(key, true);
    }
    return ok(d);
  }

  // ---- Count-Min Sketch (docs/crdt-sketches.md); errors as RedisBloom's ----

  /** CMS.INITBYDIM / CMS.INITBYPROB (after sizing). */
  cmsInit(key: string, width: number, depth: number): Result<true, KeyspaceError> {
    const found = this.typed<CountMinSketch>(key, 'cms');
    if (!found.ok) return found;
    const c = found.value;
    if (c?.exists()) return err({ code: 'KEY_EXISTS', message: 'CMS: key already exists' });
    const fresh = CountMinSketch.create(width, depth);
    if (!fresh.ok) return err(invalid('CMS: ', fresh.error));
    if (c) c.recreate(width, depth);
    else this.entries.set(key, { type: 'cms', crdt: fresh.value });
    this.touch(key, true);
    return ok(true);
  }

  /** CMS.INCRBY: all or nothing; the new estimates. */
  cmsIncrBy(key: string, pairs: readonly (readonly [Uint8Array, number])[]): Result<(number | bigint)[], KeyspaceError> {
    const c = this.existing<CountMinSketch>(key, 'cms', NO_CMS);
    if (!c.ok) return c;
    const r = c.value.incrBy(this.replica, pairs);
    if (!r.ok) return err(invalid('CMS: ', r.error));
    this.touch(key, true);
    return r;
  }

  cmsQuery(key: string, items: readonly Uint8Array[]): Result<(number | bigint)[], KeyspaceError> {
    const c = this.existing<CountMinSketch>(key, 'cms', NO_CMS);
    if (!c.ok) return c;
    return ok(items.map((i) => c.value.query(i)));
  }

  /** CMS.MERGE dest numkeys src... [WEIGHTS w...]: dest (which must exist) becomes the weighted sum of the sources. */
  cmsMerge(dest: string, sources: readonly string[], weights: readonly number[]): Result<true, KeyspaceError> {
    const d = this.existing<CountMinSketch>(dest, 'cms', NO_CMS);
    if (!d.ok) return d;
    const srcs: CountMinSketch[] = [];
    for (const s of sources) {
      const c = this.existing<CountMinSketch>(s, 'cms', NO_CMS);
      if (!c.ok) return c;
      srcs.push(c.value === d.value ? c.value.clone() : c.value);
    }
    const e = d.value.replaceWithWeightedSum(this.replica, srcs, weights);
    if (e) return err(invalid('CMS: ', e));
    this.touch(dest, true);
    return ok(true);
  }

  cmsInfo(key: string): Result<{ width: number; depth: number; count: number | bigint }, KeyspaceError> {
    const c = this.existing<CountMinSketch>(key, 'cms', NO_CMS);
    if (!c.ok) return c;
    return ok({ width: c.value.width, depth: c.value.depth, count: c.value.count() });
  }

  // ---- Top-K ----

  topkReserve(key: string, k: number, width: number, depth: number): Result<true, KeyspaceError> {
    const found = this.typed<TopK>(key, 'topk');
    if (!found.ok) return found;
    const t = found.value;
    if (t?.exists()) return err({ code: 'KEY_EXISTS', message: 'TopK: key already exists' });
    const fresh = TopK.create(k, width, depth);
    if (!fresh.ok) return err(invalid('TopK: ', fresh.error));
    if (t) t.recreate(k, width, depth);
    else this.entries.set(key, { type: 'topk', crdt: fresh.value });
    this.touch(key, true);
    return ok(true);
  }

  /** TOPK.ADD / TOPK.INCRBY: per item, the item it pushed out of the top k, or null. */
  topkAdd(key: string, pairs: readonly (readonly [Uint8Array, number])[]): Result<(Buffer | null)[], KeyspaceError> {
    const t = this.existing<TopK>(key, 'topk', NO_TOPK);
    if (!t.ok) return t;
    const r = t.value.add(this.replica, pairs);
    if (!r.ok) return err(invalid('TopK: ', r.error));
    this.touch(key, true);
    return r;
  }

  /** The Top-K of a key (TOPK.LIST, QUERY, COUNT, INFO read it directly). */
  topk(key: string): Result<TopK, KeyspaceError> {
    return this.existing<TopK>(key, 'topk', NO_TOPK);
  }

  /** A key's CRDT if it has `type` (live or a tombstone), undefined if absent, WRONGTYPE if another type. */
  private typed<T extends Crdt>(key: string, type: KeyType): Result<T | undefined, KeyspaceError> {
    const e = this.entries.get(key);
    if (e === undefined) return ok(undefined);
    return e.type === type ? ok(e.crdt as T) : err(WRONGTYPE);
  }

  /** A live key of `type`, or `missing` (absent or deleted), or WRONGTYPE. */
  private existing<T extends Crdt>(key: string, type: KeyType, missing: KeyspaceError): Result<T, KeyspaceError> {
    const e = this.entries.get(key);
    if (e === undefined || (e.type === type && !live(e))) return err(missing);
    return e.type === type ? ok(e.crdt as T) : err(WRONGTYPE);
  }

  /** Drops every key of one database (or all with `db` undefined) by deleting each live key. */
  flush(db?: number): number {
    let n = 0;
    for (const key of this.entries.keys()) {
      if (db !== undefined && key.charCodeAt(0) !== db) continue;
      if (this.del(key)) n++;
    }
    return n;
  }

  /** Live keys per database, for INFO keyspace. */
  countByDb(): number[] {
    const counts = new Array<number>(DATABASES).fill(0);
    for (const [k, e] of this.entries) if (live(e)) counts[k.charCodeAt(0)] = (counts[k.charCodeAt(0)] ?? 0) + 1;
    return counts;
  }

  /** Live keys per type. */
  countByType(): Record<KeyType, number> {
    const c: Record<KeyType, number> = { gcounter: 0, pncounter: 0, hll: 0, window: 0, cms: 0, topk: 0 };
    for (const e of this.entries.values()) if (live(e)) c[e.type]++;
    return c;
  }

  /** Every stored key, including tombstones (which replication must still carry). */
  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  get size(): number {
    return this.entries.size;
  }

  /** The wire form of a key's whole state: its type tag and the CRDT codec's bytes. */
  encodeKey(key: string): { tag: number; bytes: Uint8Array } | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    // Cached until the key changes: one key travels in several deltas per gossip round.
    e.encoded ??= e.crdt.encode();
    return { tag: TYPE_TAGS[e.type], bytes: e.encoded };
  }

  /** Every change of a key goes through here: drop its cached encoding and tell the sink. */
  private touch(key: string, local: boolean): void {
    const e = this.entries.get(key);
    if (e !== undefined) e.encoded = undefined;
    this.sink.changed(key, local);
  }

  /** `touch` for a caller that holds the entry already (the write hot paths): no second lookup. */
  private touchEntry(e: Entry, key: string, local: boolean): void {
    e.encoded = undefined;
    this.sink.changed(key, local);
  }

  /**
   * Merges a key's state received from a peer. Untrusted bytes: a decode error is returned, and
   * nothing changes.
   */
  mergeRemote(key: string, tag: number, bytes: Uint8Array): Result<boolean, string> {
    const type = TAG_TO_TYPE.get(tag);
    if (type === undefined) return err(`unknown type tag ${tag}`);
    const decoded = decodeCrdt(type, bytes);
    if (!decoded.ok) return err(decoded.error.message);
    return ok(this.mergeDecoded(key, type, decoded.value));
  }

  /**
   * Merges an already decoded remote state (which this keyspace then owns). Concurrent creation of
   * one key with two types resolves everywhere the same way: the higher type tag wins (documented in
   * docs/commands.md), and the conflict is counted. Returns whether the local state changed.
   */
  mergeDecoded(key: string, type: KeyType, incoming: Crdt): boolean {
    const e = this.entries.get(key);
    let changed: boolean;
    if (e === undefined) {
      this.entries.set(key, { type, crdt: incoming });
      changed = true;
    } else if (e.type !== type) {
      this.typeConflicts++;
      if (TYPE_TAGS[type] < TYPE_TAGS[e.type]) return false;
      this.entries.set(key, { type, crdt: incoming });
      changed = true;
    } else if (type === 'hll') {
      const r = (e.crdt as HyperLogLog).merge(incoming as HyperLogLog);
      changed = r.ok && r.value;
    } else if (type === 'window' || type === 'cms' || type === 'topk') {
      changed = (e.crdt as WindowedCounter).merge(incoming as WindowedCounter);
    } else {
      changed = (e.crdt as GCounter).merge(incoming as GCounter);
    }
    if (changed) this.touch(key, false);
    return changed;
  }

  /** Approximate memory held by key states, in bytes. */
  byteSize(): number {
    let n = 0;
    for (const [k, e] of this.entries) n += 48 + k.length * 2 + e.crdt.byteSize();
    return n;
  }
}

function live(e: Entry): boolean {
  return e.type === 'hll' ? !(e.crdt as HyperLogLog).isEmpty() : (e.crdt as GCounter | PNCounter | WindowedCounter | CountMinSketch | TopK).exists();
}

function isCounter(e: Entry): boolean {
  return e.type === 'pncounter' || e.type === 'gcounter';
}

function invalid(prefix: string, e: CrdtError): KeyspaceError {
  return { code: e.code === 'COUNTER_OVERFLOW' ? 'OVERFLOW' : 'INVALID', message: `${prefix}${e.message}` };
}

function unionOf(hlls: HyperLogLog[]): HyperLogLog {
  const u = (hlls[0] as HyperLogLog).clone();
  for (let i = 1; i < hlls.length; i++) u.unionWith(hlls[i] as HyperLogLog);
  return u;
}

export function decodeCrdt(type: KeyType, bytes: Uint8Array): Result<Crdt, CrdtError> {
  switch (type) {
    case 'gcounter':
      return GCounter.decode(bytes);
    case 'pncounter':
      return PNCounter.decode(bytes);
    case 'hll':
      return HyperLogLog.decode(bytes);
    case 'window':
      return WindowedCounter.decode(bytes);
    case 'cms':
      return CountMinSketch.decode(bytes);
    case 'topk':
      return TopK.decode(bytes);
  }
}
