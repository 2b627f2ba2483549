// The keyspace: key -> typed CRDT, with type checks, change notification and merge of remote state.
// Keys are full keys (full-key.ts): the database char, then the key's bytes as latin1.

import { GCounter } from '../crdt/g-counter.js';
import { PNCounter } from '../crdt/pn-counter.js';
import { HyperLogLog } from '../crdt/hyperloglog.js';
import { WindowedCounter, windowConfigError } from '../crdt/windowed-counter.js';
import { CountMinSketch } from '../crdt/count-min-sketch.js';
import { TopK } from '../crdt/top-k.js';
import { throttleDecide, throttleWindowConfig, type ThrottleResult } from '../crdt/throttle.js';
import type { CrdtError } from '../crdt/errors.js';
import type { ReplicaId } from '../crdt/replica-id.js';
import { decodeKeyState, deleteState, encodeKeyState, isLive, KEY_TYPES, mergeSameType, tagOf, type CrdtByType, type TypedCrdt } from '../crdt/registry.js';
import { err, ok, type Result } from '../util/result.js';
import { DATABASES } from './full-key.js';
import { hash64Bytes, hash64Lo, hash64String } from '../crdt/hash64.js';
import {
  GCOUNTER_DECREMENT,
  NOT_INTEGER,
  OVERFLOW,
  WRONGTYPE,
  type ChangeListener,
  type ChangeOrigin,
  type Entry,
  type EntryOf,
  type KeyType,
  type KeyspaceError,
} from './types.js';

export { DATABASES, fullKey, splitKey } from './full-key.js';

/**
 * The counter type a missing key is created as: a type, or a rule asked only when the key is
 * created (the `gcounterKeys` globs), so writes to existing keys never evaluate it.
 */
export type CreateAs = 'pncounter' | 'gcounter' | ((key: string) => 'pncounter' | 'gcounter');

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

/** Buckets of the state digest: a repair compares these and ships the keys of the ones that differ. */
export const DIGEST_BUCKETS = 256;

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const NO_WINDOW: KeyspaceError = { code: 'NO_SUCH_KEY', message: 'ERR no such window key (create it with WINDOW.CREATE)' };
const NO_CMS: KeyspaceError = { code: 'NO_SUCH_KEY', message: 'CMS: key does not exist' };
const NO_TOPK: KeyspaceError = { code: 'NO_SUCH_KEY', message: 'TopK: key does not exist' };

type CounterEntry = EntryOf<'gcounter'> | EntryOf<'pncounter'>;

/** Where a write of one type goes: the key's state of that type, or a way to create it. */
interface Slot<T extends KeyType> {
  readonly entry: EntryOf<T> | undefined;
  create(crdt: CrdtByType[T]): EntryOf<T>;
}

function isCounter(e: Entry): e is CounterEntry {
  return e.type === 'pncounter' || e.type === 'gcounter';
}

function isType<T extends KeyType>(e: Entry, type: T): e is EntryOf<T> {
  return e.type === type;
}

/** Every state of a key, the visible one first. */
function statesOf(e: Entry): TypedCrdt[] {
  const first = { type: e.type, crdt: e.crdt } as TypedCrdt;
  return e.others === undefined ? [first] : [first, ...e.others];
}

/** An entry over `states`: the visible one is the live state of highest tag, or the highest tag if none is live. */
function entryOf(states: readonly TypedCrdt[]): Entry {
  let best: TypedCrdt | undefined;
  let bestLive = false;
  for (const s of states) {
    const live = isLive(s);
    if (best === undefined || (live && !bestLive) || (live === bestLive && tagOf(s.type) > tagOf(best.type))) {
      best = s;
      bestLive = live;
    }
  }
  const primary = best as TypedCrdt;
  const others = states.filter((s) => s !== primary);
  return (others.length === 0 ? { type: primary.type, crdt: primary.crdt } : { type: primary.type, crdt: primary.crdt, others }) as Entry;
}

function liveCount(e: Entry): number {
  let n = isLive(e) ? 1 : 0;
  for (const s of e.others ?? []) if (isLive(s)) n++;
  return n;
}

export class Keyspace {
  private readonly entries = new Map<string, Entry>();
  private listeners: ChangeListener[] = [];
  /** Keys changed since the state digest last folded them in. */
  private digestQueue: string[] = [];
  private digestHi = 0;
  private digestLo = 0;
  private readonly bucketHi = new Int32Array(DIGEST_BUCKETS);
  private readonly bucketLo = new Int32Array(DIGEST_BUCKETS);
  private conflictListener: ((key: string, types: KeyType[]) => void) | undefined;
  /** Merges that left a key live as two types at once (a concurrent creation; docs/crdt-counters.md, "Types"). */
  typeConflicts = 0;

  constructor(
    private replica: ReplicaId,
    private readonly hllPrecision = HyperLogLog.DEFAULT_PRECISION,
  ) {}

  /** The replica id local increments are written under (changes at each incarnation). */
  get replicaId(): ReplicaId {
    return this.replica;
  }

  setReplicaId(id: ReplicaId): void {
    this.replica = id;
  }

  /** Calls `listener` after every change of a key, local or remote. Returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Told when a merge leaves a key live as several types (counted in `typeConflicts`), for the log. */
  onTypeConflict(listener: (key: string, types: KeyType[]) => void): void {
    this.conflictListener = listener;
  }

  entry(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  /** The type of a key that exists (tombstones of deleted keys do not). */
  typeOf(key: string): KeyType | undefined {
    const e = this.entries.get(key);
    return e && isLive(e) ? e.type : undefined;
  }

  /** Adds `n` (may be negative) to a counter, creating it as `createAs` if missing. Returns the new value. */
  incrBy(key: string, n: number, createAs: CreateAs = 'pncounter'): Result<CounterValue, KeyspaceError> {
    let e = this.entries.get(key);
    if (e === undefined) {
      if (!Number.isSafeInteger(n)) return err(NOT_INTEGER);
      const type = typeof createAs === 'function' ? createAs(key) : createAs;
      if (type === 'gcounter' && n < 0) return err(GCOUNTER_DECREMENT);
      const c: CounterEntry = type === 'gcounter' ? { type, crdt: new GCounter() } : { type, crdt: new PNCounter() };
      const failure = c.crdt.incrementInPlace(this.replica, n);
      if (failure !== undefined) return err(counterError(failure));
      this.entries.set(key, c);
      e = c;
    } else {
      if (!isCounter(e)) {
        const c = this.retypeAsCounter(key, e, createAs);
        if (!c.ok) return c;
        e = c.value;
        if (n < 0 && e.type === 'gcounter') return err(GCOUNTER_DECREMENT);
      }
      const failure = e.crdt.incrementInPlace(this.replica, n);
      if (failure !== undefined) return err(counterError(failure));
    }
    // INCRBY k 0 on a missing (or deleted) PN-Counter leaves it holding 0, as in Redis.
    if (n === 0 && e.type === 'pncounter') e.crdt.existAtZero(this.replica);
    this.changed(e, key, 'local');
    return ok(e.crdt.value());
  }

  /** Sets a counter to `value` by an observed reset plus an increment (Redis SET on a counter). */
  setCounter(key: string, value: number, createAs: CreateAs = 'pncounter'): Result<CounterValue, KeyspaceError> {
    const found = this.entries.get(key);
    if (found === undefined) return this.incrBy(key, value, createAs);
    const c = isCounter(found) ? ok(found) : this.retypeAsCounter(key, found, createAs);
    if (!c.ok) return c;
    const e = c.value;
    if (e.type === 'gcounter') {
      if (value < 0) return err(GCOUNTER_DECREMENT);
      const probe = e.crdt.clone();
      probe.reset();
      const r = probe.increment(this.replica, value);
      if (!r.ok) return err(counterError(r.error));
      e.crdt.merge(probe);
    } else {
      const r = e.crdt.set(this.replica, value);
      if (!r.ok) return err(counterError(r.error));
    }
    this.changed(e, key, 'local');
    return ok(e.crdt.value());
  }

  /** The value of a counter, `null` if missing, or WRONGTYPE for another type. */
  getCounter(key: string): Result<CounterValue | null, KeyspaceError> {
    const e = this.entries.get(key);
    if (e === undefined || !isLive(e)) return ok(null);
    if (!isCounter(e)) return err(WRONGTYPE);
    return ok(e.crdt.value());
  }

  /** Deletes a key: an observed reset for counters, a generation bump for the others. Returns whether it existed. */
  del(key: string): boolean {
    const e = this.entries.get(key);
    if (e === undefined || !isLive(e)) return false;
    // Every live state: a key live as two types (a concurrent creation) is deleted whole.
    for (const s of statesOf(e)) if (isLive(s)) deleteState(s);
    this.changed(e, key, 'local');
    return true;
  }

  exists(key: string): boolean {
    const e = this.entries.get(key);
    return e !== undefined && isLive(e);
  }

  /** PFADD: adds elements, creating the HLL. Returns whether any register changed (or it was created). */
  pfadd(key: string, elements: readonly (Uint8Array | string)[]): Result<boolean, KeyspaceError> {
    const found = this.typed(key, 'hll');
    if (!found.ok) return found;
    let e = found.value.entry;
    let changed = false;
    if (e === undefined) {
      e = found.value.create(HyperLogLog.create(this.hllPrecision));
      changed = true;
    } else if (!isLive(e)) {
      changed = true; // re-creating a deleted HLL makes it exist again
    }
    const h = e.crdt;
    for (const el of elements) if (h.add(el)) changed = true;
    if (changed) this.changed(e, key, 'local');
    return ok(changed);
  }

  /** PFCOUNT over one or more keys: the cardinality of their union. Missing keys count as empty. */
  pfcount(keys: readonly string[]): Result<number, KeyspaceError> {
    const hlls = this.liveHlls(keys);
    if (!hlls.ok) return hlls;
    const [first, ...rest] = hlls.value;
    if (first === undefined) return ok(0);
    if (rest.length === 0) return ok(first.count());
    const union = first.clone();
    for (const h of rest) union.unionWith(h);
    return ok(union.count());
  }

  /** PFMERGE dest src...: dest becomes the union of itself and the sources. */
  pfmerge(dest: string, sources: readonly string[]): Result<true, KeyspaceError> {
    const hlls = this.liveHlls([dest, ...sources]);
    if (!hlls.ok) return hlls;
    const found = this.typed(dest, 'hll');
    if (!found.ok) return found;
    const d = found.value.entry ?? found.value.create(HyperLogLog.create(this.hllPrecision));
    const target = d.crdt;
    // A union of different keys: register max regardless of each key's delete generation.
    for (const h of hlls.value) if (h !== target) target.unionWith(h);
    this.changed(d, dest, 'local');
    return ok(true);
  }

  /** The live HLLs among `keys` (missing and deleted keys skipped), or WRONGTYPE. */
  private liveHlls(keys: readonly string[]): Result<HyperLogLog[], KeyspaceError> {
    const hlls: HyperLogLog[] = [];
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e === undefined || !isLive(e)) continue;
      if (e.type !== 'hll') return err(WRONGTYPE);
      hlls.push(e.crdt);
    }
    return ok(hlls);
  }

  // ---- windowed counters and rate limits (docs/crdt-windowed.md) ----

  /** WINDOW.CREATE: 'created', or 'exists' for a live window of the same config; KEY_EXISTS for another config. */
  windowCreate(key: string, granularityS: number, retentionS: number): Result<'created' | 'exists', KeyspaceError> {
    const configError = windowConfigError(granularityS, retentionS);
    if (configError) return err(invalid('ERR ', configError));
    const found = this.typed(key, 'window');
    if (!found.ok) return found;
    const w = found.value.entry?.crdt;
    if (w?.exists()) {
      if (w.granularityS === granularityS && w.retentionS === retentionS) return ok('exists');
      return err({ code: 'KEY_EXISTS', message: `ERR window exists with granularity ${w.granularityS} s and retention ${w.retentionS} s` });
    }
    if (w) w.recreate(granularityS, retentionS);
    this.changed(found.value.entry ?? found.value.create(WindowedCounter.create(granularityS, retentionS)), key, 'local');
    return ok('created');
  }

  /** WINDOW.INCRBY: adds n >= 0 at `atMs` (the node's time by default). Returns the new total of that bucket. */
  windowIncrBy(key: string, n: number, atMs: number, nowMs: number): Result<number | bigint, KeyspaceError> {
    const found = this.peek(key, 'window');
    if (!found.ok) return found;
    const e = found.value;
    if (!e?.crdt.exists()) return err(NO_WINDOW);
    const w = e.crdt;
    const failure = w.incrementAt(this.replica, n, atMs, nowMs);
    if (failure) return err(invalid('ERR ', failure));
    if (n > 0) this.changed(e, key, 'local');
    return ok(w.bucketTotal(w.bucketOf(atMs)));
  }

  /** WINDOW.COUNT: the sum of the buckets holding [fromMs, toMs]; 0 for a missing key. */
  windowCount(key: string, fromMs: number, toMs: number): Result<number | bigint, KeyspaceError> {
    if (fromMs > toMs) return err({ code: 'INVALID', message: 'ERR from is after to' });
    const found = this.peek(key, 'window');
    if (!found.ok) return found;
    const w = found.value?.crdt;
    return ok(w?.exists() === true ? w.count(fromMs, toMs) : 0);
  }

  /** WINDOW.SLIDING: the interpolated count of the last `windowMs` before `nowMs`; 0 for a missing key. */
  windowSliding(key: string, windowMs: number, nowMs: number): Result<number, KeyspaceError> {
    const found = this.peek(key, 'window');
    if (!found.ok) return found;
    const w = found.value?.crdt;
    if (!w?.exists()) return ok(0);
    if (windowMs > w.retentionS * 1000) return err({ code: 'INVALID', message: `ERR the window is longer than the retention (${w.retentionS} s)` });
    return ok(w.sliding(nowMs, windowMs).estimate);
  }

  /** The window of a key (read-only use: WINDOW.INFO, tests). */
  window(key: string): WindowedCounter | undefined {
    const e = this.entries.get(key);
    return e?.type === 'window' && isLive(e) ? e.crdt : undefined;
  }

  /**
   * THROTTLE: checks `cost` against `limit` over the sliding `periodS`, counting it when allowed. A
   * missing key is created as a window sized for the period (`throttleWindowConfig`).
   */
  throttle(key: string, limit: number, periodS: number, cost: number, nowMs: number): Result<ThrottleResult, KeyspaceError> {
    const found = this.typed(key, 'window');
    if (!found.ok) return found;
    let e = found.value.entry;
    const cfg = throttleWindowConfig(periodS);
    if (e === undefined) {
      e = found.value.create(WindowedCounter.create(cfg.granularityS, cfg.retentionS));
      this.changed(e, key, 'local');
    } else if (!e.crdt.exists()) {
      e.crdt.recreate(cfg.granularityS, cfg.retentionS);
      this.changed(e, key, 'local');
    } else if (e.crdt.retentionS < periodS) {
      return err({ code: 'INVALID', message: `ERR the period is longer than the key's window retention (${e.crdt.retentionS} s)` });
    }
    const w = e.crdt;
    const d = throttleDecide(w, limit, periodS * 1000, cost, nowMs);
    if (d.allowed && cost > 0) {
      const failure = w.incrementAt(this.replica, cost, nowMs, nowMs);
      if (failure) return err(invalid('ERR ', failure));
      this.changed(e, key, 'local');
    }
    return ok(d);
  }

  // ---- Count-Min Sketch (docs/crdt-sketches.md); errors as RedisBloom's ----

  /** CMS.INITBYDIM / CMS.INITBYPROB (after sizing). */
  cmsInit(key: string, width: number, depth: number): Result<true, KeyspaceError> {
    const found = this.typed(key, 'cms');
    if (!found.ok) return found;
    const c = found.value.entry?.crdt;
    if (c?.exists()) return err({ code: 'KEY_EXISTS', message: 'CMS: key already exists' });
    const fresh = CountMinSketch.create(width, depth);
    if (!fresh.ok) return err(invalid('CMS: ', fresh.error));
    if (c) c.recreate(width, depth);
    this.changed(found.value.entry ?? found.value.create(fresh.value), key, 'local');
    return ok(true);
  }

  /** CMS.INCRBY: all or nothing; the new estimates. */
  cmsIncrBy(key: string, pairs: readonly (readonly [Uint8Array, number])[]): Result<(number | bigint)[], KeyspaceError> {
    const e = this.existing(key, 'cms', NO_CMS);
    if (!e.ok) return e;
    const r = e.value.crdt.incrBy(this.replica, pairs);
    if (!r.ok) return err(invalid('CMS: ', r.error));
    this.changed(e.value, key, 'local');
    return r;
  }

  cmsQuery(key: string, items: readonly Uint8Array[]): Result<(number | bigint)[], KeyspaceError> {
    const e = this.existing(key, 'cms', NO_CMS);
    if (!e.ok) return e;
    const c = e.value.crdt;
    return ok(items.map((i) => c.query(i)));
  }

  /** CMS.MERGE dest numkeys src... [WEIGHTS w...]: dest (which must exist) becomes the weighted sum of the sources. */
  cmsMerge(dest: string, sources: readonly string[], weights: readonly number[]): Result<true, KeyspaceError> {
    const d = this.existing(dest, 'cms', NO_CMS);
    if (!d.ok) return d;
    const srcs: CountMinSketch[] = [];
    for (const s of sources) {
      const c = this.existing(s, 'cms', NO_CMS);
      if (!c.ok) return c;
      srcs.push(c.value === d.value ? c.value.crdt.clone() : c.value.crdt);
    }
    const failure = d.value.crdt.replaceWithWeightedSum(this.replica, srcs, weights);
    if (failure) return err(invalid('CMS: ', failure));
    this.changed(d.value, dest, 'local');
    return ok(true);
  }

  cmsInfo(key: string): Result<{ width: number; depth: number; count: number | bigint }, KeyspaceError> {
    const e = this.existing(key, 'cms', NO_CMS);
    if (!e.ok) return e;
    const c = e.value.crdt;
    return ok({ width: c.width, depth: c.depth, count: c.count() });
  }

  // ---- Top-K ----

  topkReserve(key: string, k: number, width: number, depth: number): Result<true, KeyspaceError> {
    const found = this.typed(key, 'topk');
    if (!found.ok) return found;
    const t = found.value.entry?.crdt;
    if (t?.exists()) return err({ code: 'KEY_EXISTS', message: 'TopK: key already exists' });
    const fresh = TopK.create(k, width, depth);
    if (!fresh.ok) return err(invalid('TopK: ', fresh.error));
    if (t) t.recreate(k, width, depth);
    this.changed(found.value.entry ?? found.value.create(fresh.value), key, 'local');
    return ok(true);
  }

  /** TOPK.ADD / TOPK.INCRBY: per item, the item it pushed out of the top k, or null. */
  topkAdd(key: string, pairs: readonly (readonly [Uint8Array, number])[]): Result<(Buffer | null)[], KeyspaceError> {
    const e = this.existing(key, 'topk', NO_TOPK);
    if (!e.ok) return e;
    const r = e.value.crdt.add(this.replica, pairs);
    if (!r.ok) return err(invalid('TopK: ', r.error));
    this.changed(e.value, key, 'local');
    return r;
  }

  /** The Top-K of a key (TOPK.LIST, QUERY, COUNT, INFO read it directly). */
  topk(key: string): Result<TopK, KeyspaceError> {
    const e = this.existing(key, 'topk', NO_TOPK);
    return e.ok ? ok(e.value.crdt) : e;
  }

  /**
   * A key's slot for a write of `type`: its state of that type (live or a tombstone) as `entry`, or
   * none, with `create` to store a new one; WRONGTYPE if the key exists as another type. A deleted key
   * has no type: its state of `type` becomes the visible one, and a new one keeps the other states.
   */
  private typed<T extends KeyType>(key: string, type: T): Result<Slot<T>, KeyspaceError> {
    const e = this.entries.get(key);
    const create = (others: readonly TypedCrdt[] | undefined) => (crdt: CrdtByType[T]): EntryOf<T> => {
      const next = { type, crdt, ...(others === undefined || others.length === 0 ? {} : { others }) } as unknown as EntryOf<T>;
      return this.store(key, next);
    };
    if (e === undefined) return ok({ entry: undefined, create: create(undefined) });
    if (isType(e, type)) return ok({ entry: e, create: create(e.others) });
    if (isLive(e)) return err(WRONGTYPE);
    const states = statesOf(e);
    const mine = states.find((s) => s.type === type);
    const others = states.filter((s) => s !== mine);
    if (mine === undefined) return ok({ entry: undefined, create: create(others) });
    const entry = create(others)(mine.crdt as CrdtByType[T]);
    return ok({ entry, create: create(others) });
  }

  /** A key's state of `type` for a read: undefined if absent or deleted, WRONGTYPE if it exists as another type. */
  private peek<T extends KeyType>(key: string, type: T): Result<EntryOf<T> | undefined, KeyspaceError> {
    const e = this.entries.get(key);
    if (e === undefined) return ok(undefined);
    if (isType(e, type)) return ok(e);
    return isLive(e) ? err(WRONGTYPE) : ok(undefined);
  }

  /** `typed` for the counter family: either counter type takes a deleted key; a new one is created as `createAs`. */
  private retypeAsCounter(key: string, e: Entry, createAs: CreateAs): Result<CounterEntry, KeyspaceError> {
    if (isLive(e)) return err(WRONGTYPE);
    const states = statesOf(e);
    const mine = states.find((s) => s.type === 'gcounter' || s.type === 'pncounter');
    const type = typeof createAs === 'function' ? createAs(key) : createAs;
    const counter = (mine ?? (type === 'gcounter' ? { type, crdt: new GCounter() } : { type, crdt: new PNCounter() })) as CounterEntry;
    const others = states.filter((s) => s !== mine);
    const next = (others.length === 0 ? { type: counter.type, crdt: counter.crdt } : { type: counter.type, crdt: counter.crdt, others }) as CounterEntry;
    return ok(this.store(key, next));
  }

  /** A live key of `type`, or `missing` (absent or deleted), or WRONGTYPE. */
  private existing<T extends KeyType>(key: string, type: T, missing: KeyspaceError): Result<EntryOf<T>, KeyspaceError> {
    const e = this.entries.get(key);
    if (e === undefined) return err(missing);
    if (!isType(e, type)) return err(isLive(e) ? WRONGTYPE : missing);
    return isLive(e) ? ok(e) : err(missing);
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
    for (const [k, e] of this.entries) if (isLive(e)) counts[k.charCodeAt(0)] = (counts[k.charCodeAt(0)] ?? 0) + 1;
    return counts;
  }

  /** Live keys per type. */
  countByType(): Record<KeyType, number> {
    const c = Object.fromEntries(KEY_TYPES.map((t) => [t, 0])) as Record<KeyType, number>;
    for (const e of this.entries.values()) if (isLive(e)) c[e.type]++;
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
    e.encoded ??= e.others === undefined ? { tag: tagOf(e.type), bytes: e.crdt.encode() } : encodeKeyState(statesOf(e).map((s) => ({ tag: tagOf(s.type), bytes: s.crdt.encode() })));
    return e.encoded;
  }

  /** Every change of a key goes through here: drop its cached encoding and tell the listeners. */
  private changed(e: Entry, key: string, origin: ChangeOrigin): void {
    e.encoded = undefined;
    if (e.digestPending !== true) {
      e.digestPending = true;
      this.digestQueue.push(key);
    }
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) (ls[i] as ChangeListener)(key, origin);
  }

  /**
   * Merges a key's state received from a peer or read from disk. Untrusted bytes: a decode error is
   * returned, and nothing changes.
   */
  mergeRemote(key: string, tag: number, bytes: Uint8Array): Result<boolean, string> {
    const decoded = decodeKeyState(tag, bytes);
    if (!decoded.ok) return err(decoded.error.message);
    return ok(this.mergeDecoded(key, decoded.value));
  }

  /**
   * Merges already decoded remote states of one key (which this keyspace then owns): each joins this
   * key's state of its type, or is kept beside the others. Nothing is ever discarded for a type
   * mismatch: a key live as two types (created concurrently as both) shows the one of higher tag,
   * the same on every node, keeps the other, and is counted and reported. Returns whether anything changed.
   */
  mergeDecoded(key: string, incoming: TypedCrdt | readonly TypedCrdt[]): boolean {
    const list: readonly TypedCrdt[] = Array.isArray(incoming) ? incoming : [incoming as TypedCrdt];
    const e = this.entries.get(key);
    let changed = false;
    let target: Entry;
    if (e === undefined) {
      target = this.store(key, entryOf(list.map((s) => ({ ...s }) as TypedCrdt)));
      changed = true;
    } else if (list.length === 1 && e.others === undefined && e.type === (list[0] as TypedCrdt).type) {
      // The usual case: one state of the key's one type.
      if (!mergeSameType(e, list[0] as TypedCrdt)) return false;
      target = e;
      changed = true;
    } else {
      const before = liveCount(e);
      const states = statesOf(e);
      for (const s of list) {
        const mine = states.find((m) => m.type === s.type);
        if (mine === undefined) {
          states.push({ ...s } as TypedCrdt);
          changed = true;
        } else if (mergeSameType(mine, s)) {
          changed = true;
        }
      }
      if (!changed) return false;
      target = this.store(key, entryOf(states));
      if (liveCount(target) > 1 && before <= 1) {
        this.typeConflicts++;
        this.conflictListener?.(key, statesOf(target).filter(isLive).map((s) => s.type));
      }
    }
    this.changed(target, key, 'remote');
    return changed;
  }

  /** Stores `e` for `key`, replacing the key's entry: the old entry's share of the state digest carries over. */
  private store<E extends Entry>(key: string, e: E): E {
    const old = this.entries.get(key);
    if (old !== undefined && old !== e) {
      if (old.digestHi !== undefined) {
        e.digestHi = old.digestHi;
        e.digestLo = old.digestLo ?? 0;
      }
      if (old.digestPending === true) e.digestPending = true;
    }
    this.entries.set(key, e);
    return e;
  }

  // ---- the state digest: equal digests mean equal state ------------------------------------------
  //
  // The XOR over keys of a 60-bit hash of (key, encoded state), kept per key and folded in lazily:
  // a write only queues its key, and reading the digest (a few times per gossip round) hashes the
  // keys changed since. Version vectors say which writes a node holds; whole key states may carry
  // more (a key's state travels whole), so two nodes with equal vectors can still differ. Their state
  // digests then differ too, and a repair compares per-bucket digests and ships the differing
  // buckets' keys (anti-entropy.ts), as Dynamo's and Cassandra's Merkle-tree repair do.

  private foldDigest(): void {
    const queue = this.digestQueue;
    if (queue.length === 0) return;
    this.digestQueue = [];
    for (const key of queue) {
      const e = this.entries.get(key);
      if (e === undefined || e.digestPending !== true) continue;
      e.digestPending = false;
      const enc = this.encodeKey(key) as { tag: number; bytes: Uint8Array };
      const k1 = hash64String(key);
      const k2 = hash64Lo();
      const s1 = hash64Bytes(enc.bytes);
      const s2 = hash64Lo();
      const hi = fmix(k1 ^ Math.imul(s1, 0x9e3779b1) ^ enc.tag) >>> 2;
      const lo = fmix(k2 ^ Math.imul(s2, 0x85ebca77) ^ (enc.tag << 8) ^ s1) >>> 2;
      const b = k1 & (DIGEST_BUCKETS - 1);
      const dHi = hi ^ (e.digestHi ?? 0);
      const dLo = lo ^ (e.digestLo ?? 0);
      this.digestHi ^= dHi;
      this.digestLo ^= dLo;
      this.bucketHi[b] = ((this.bucketHi[b] as number) ^ dHi) | 0;
      this.bucketLo[b] = ((this.bucketLo[b] as number) ^ dLo) | 0;
      e.digestHi = hi;
      e.digestLo = lo;
    }
  }

  /** The state digest: 16 hex digits; equal on two nodes iff (with overwhelming probability) every key's state is. */
  stateDigest(): string {
    this.foldDigest();
    return this.digestHi.toString(16).padStart(8, '0') + this.digestLo.toString(16).padStart(8, '0');
  }

  /** The digest of each bucket of keys, DIGEST_BUCKETS x (hi, lo) as little-endian uint32s. */
  bucketDigests(): Uint8Array {
    this.foldDigest();
    const out = new Uint8Array(DIGEST_BUCKETS * 8);
    const v = new DataView(out.buffer);
    for (let b = 0; b < DIGEST_BUCKETS; b++) {
      v.setInt32(b * 8, this.bucketHi[b] as number, true);
      v.setInt32(b * 8 + 4, this.bucketLo[b] as number, true);
    }
    return out;
  }

  /** The bucket of the state digest a key belongs to. */
  static digestBucket(key: string): number {
    return hash64String(key) & (DIGEST_BUCKETS - 1);
  }

  /** Every stored key (tombstones too) in one of `buckets`. */
  keysInBuckets(buckets: ReadonlySet<number>): string[] {
    const out: string[] = [];
    for (const key of this.entries.keys()) if (buckets.has(Keyspace.digestBucket(key))) out.push(key);
    return out;
  }

  /** Approximate memory held by key states, in bytes. */
  byteSize(): number {
    let n = 0;
    for (const [k, e] of this.entries) {
      n += 48 + k.length * 2 + e.crdt.byteSize();
      for (const o of e.others ?? []) n += 16 + o.crdt.byteSize();
    }
    return n;
  }
}

function invalid(prefix: string, e: CrdtError): KeyspaceError {
  return { code: e.code === 'COUNTER_OVERFLOW' ? 'OVERFLOW' : 'INVALID', message: `${prefix}${e.message}` };
}

