// The keyspace: key -> typed CRDT, with type checks, change notification and merge of remote state.
// Keys are full keys (full-key.ts): the database char, then the key's bytes as latin1.

import { GCounter } from '../crdt/g-counter.js';
import { PNCounter } from '../crdt/pn-counter.js';
import { HyperLogLog } from '../crdt/hyperloglog.js';
import { WindowedCounter, windowConfigError } from '../crdt/windowed-counter.js';
import { CountMinSketch } from '../crdt/count-min-sketch.js';
import { TopK, topkMaxRecordBytes } from '../crdt/top-k.js';
import { throttleDecide, throttleWindowConfig, type ThrottleResult } from '../crdt/throttle.js';
import type { CrdtError } from '../crdt/errors.js';
import type { ReplicaId } from '../crdt/replica-id.js';
import { deleteState, encodeKeyState, isLive, KEY_TYPES, mergeSameType, SPLIT_SAFE_BYTES, splitState, tagOf, type CrdtByType, type TypedCrdt } from '../crdt/registry.js';
import { err, ok, type Result } from '../util/result.js';
import { DATABASES } from './full-key.js';
import * as errors from '../errors.js';
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

import { carryDigest, digestBucket, StateDigest } from './state-digest.js';
import { decodeWithLife, encodeWithLife, expired, isNoLife, joinTtl, NO_LIFE, withTtl, type Life } from './life.js';
import type { Clock } from '../util/clock.js';

export { DATABASES, fullKey, splitKey } from './full-key.js';
export { DIGEST_BUCKETS } from './state-digest.js';

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



const NO_WINDOW: KeyspaceError = { code: 'NO_SUCH_KEY', message: errors.NO_WINDOW };
const NO_CMS: KeyspaceError = { code: 'NO_SUCH_KEY', message: errors.CMS_NO_KEY };
const NO_TOPK: KeyspaceError = { code: 'NO_SUCH_KEY', message: errors.TOPK_NO_KEY };

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

/** The state of a key in an epoch nobody has written yet: an empty counter, which does not exist. */
function husk(): TypedCrdt {
  return { type: 'pncounter', crdt: new PNCounter() };
}

/** The epoch after `l` ended: no TTL yet. */
function nextEpoch(l: Life): Life {
  return { epoch: l.epoch + 1, ttlVersion: 0, deadline: null };
}

/** `e` with its life replaced (no life field at all for epoch 0 without a TTL). */
function withLife<E extends Entry>(e: E, life: Life | undefined): E {
  const { life: _old, encoded: _enc, ...rest } = e;
  return (life === undefined || isNoLife(life) ? { ...rest } : { ...rest, life }) as E;
}

/** The only state of a key in an epoch nobody wrote yet. */
function isHusk(e: Entry): boolean {
  return e.others === undefined && e.type === 'pncounter' && e.crdt.replicaCount() === 0;
}

/** A state that holds nothing (a husk's): not kept beside the states of a new type. */
function isEmptyState(s: TypedCrdt): boolean {
  return (s.type === 'pncounter' || s.type === 'gcounter') && s.crdt.replicaCount() === 0;
}

function liveCount(e: Entry): number {
  let n = isLive(e) ? 1 : 0;
  for (const s of e.others ?? []) if (isLive(s)) n++;
  return n;
}

/**
 * The most a key's state (or one of its parts) may take in a gossip frame of `maxMessageBytes` that
 * carries nothing else (the envelope and the key itself aside): replication sends a larger state in
 * parts of this size (anti-entropy.ts), and TOPK.RESERVE refuses a Top-K whose one writer could
 * exceed it (a Top-K record is indivisible).
 */
export function keyStateBudget(maxMessageBytes: number, key: string): number {
  return maxMessageBytes - 512 - key.length - 64;
}

/** The longest key accepted, in bytes, with the default frame limit (the commands check it first). */
export const MAX_KEY_BYTES = 32 * 1024;

/**
 * The longest key that still leaves room, in a gossip frame, for the key's state in parts: at most
 * half of what a frame holds beside the envelope and a part. 32 KiB with the default 1 MiB frames;
 * about 1.6 KB with the smallest, 4 KiB.
 */
export function maxKeyBytesFor(maxMessageBytes: number): number {
  return Math.min(MAX_KEY_BYTES, Math.floor((maxMessageBytes - 512 - 64 - SPLIT_SAFE_BYTES) / 2));
}

/** The clock of a keyspace given none: its keys never expire. */
const NEVER: Clock = { now: () => 0 };

export class Keyspace {
  private readonly entries = new Map<string, Entry>();
  private listeners: ChangeListener[] = [];
  private readonly digest = new StateDigest();
  private conflictListener: ((key: string, types: KeyType[]) => void) | undefined;
  /** Merges that left a key live as two types at once (a concurrent creation; docs/crdt-counters.md, "Types"). */
  typeConflicts = 0;

  /** Keys with a TTL (for the sweep of expired keys). */
  private readonly expiring = new Set<string>();
  private clock: Clock;

  /**
   * `clock` decides when keys with a TTL expire (the node's clock; the replica's virtual one in the
   * simulator). Without one, nothing ever expires.
   */
  constructor(
    private replica: ReplicaId,
    options: { clock?: Clock; hllPrecision?: number; maxMessageBytes?: number } = {},
  ) {
    this.clock = options.clock ?? NEVER;
    this.hllPrecision = options.hllPrecision ?? HyperLogLog.DEFAULT_PRECISION;
    this.maxMessageBytes = options.maxMessageBytes ?? Infinity;
    this.maxKeyBytes = maxKeyBytesFor(this.maxMessageBytes);
    this.keyTooLong = { code: 'INVALID', message: errors.keyTooLong(this.maxKeyBytes) };
  }

  /** The longest key this keyspace creates (full keys hold one more char: the database). */
  readonly maxKeyBytes: number;
  private readonly keyTooLong: KeyspaceError;

  /** The frame limit this keyspace was built for (a copy of it is built alike). */
  get frameLimit(): number {
    return this.maxMessageBytes;
  }

  private readonly hllPrecision: number;
  /** The cluster's gossip frame limit (replication's `maxMessageBytes`): what one indivisible state must fit. */
  private readonly maxMessageBytes: number;

  /** Whether a clock was given (the replica gives its own to a keyspace without one). */
  get hasClock(): boolean {
    return this.clock !== NEVER;
  }

  setClock(clock: Clock): void {
    this.clock = clock;
  }

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

  /** A key's entry (an expired key's is its next, empty epoch). */
  entry(key: string): Entry | undefined {
    return this.get(key);
  }

  /** The type of a key that exists (tombstones of deleted keys do not). */
  typeOf(key: string): KeyType | undefined {
    const e = this.get(key);
    return e && isLive(e) ? e.type : undefined;
  }

  /** Adds `n` (may be negative) to a counter, creating it as `createAs` if missing. Returns the new value. */
  incrBy(key: string, n: number, createAs: CreateAs = 'pncounter'): Result<CounterValue, KeyspaceError> {
    let e = this.get(key);
    // A key in an epoch nobody wrote yet (after an expiry) is created like a new one, in that epoch.
    if (e === undefined || isHusk(e)) {
      if (e === undefined && key.length - 1 > this.maxKeyBytes) return err(this.keyTooLong);
      if (!Number.isSafeInteger(n)) return err(NOT_INTEGER);
      const type = typeof createAs === 'function' ? createAs(key) : createAs;
      if (type === 'gcounter' && n < 0) return err(GCOUNTER_DECREMENT);
      const c: CounterEntry = type === 'gcounter' ? { type, crdt: new GCounter() } : { type, crdt: new PNCounter() };
      const failure = c.crdt.incrementInPlace(this.replica, n);
      if (failure !== undefined) return err(counterError(failure));
      e = this.store(key, c);
    } else {
      let retyped = false;
      if (!isCounter(e)) {
        const c = this.retypeAsCounter(key, e, createAs);
        if (!c.ok) return c;
        e = c.value;
        retyped = true;
        if (n < 0 && e.type === 'gcounter') return err(GCOUNTER_DECREMENT);
      }
      const failure = e.crdt.incrementInPlace(this.replica, n);
      if (failure !== undefined) return err(counterError(failure));
      if (retyped) e = this.store(key, e);
    }
    // INCRBY k 0 on a missing (or deleted) PN-Counter leaves it holding 0, as in Redis.
    if (n === 0 && e.type === 'pncounter') e.crdt.existAtZero(this.replica);
    this.changed(e, key, 'local');
    return ok(e.crdt.value());
  }

  /** Sets a counter to `value` by an observed reset plus an increment (Redis SET on a counter). */
  setCounter(key: string, value: number, createAs: CreateAs = 'pncounter', keepTtl = false): Result<CounterValue, KeyspaceError> {
    const found = this.get(key);
    if (found === undefined) return this.incrBy(key, value, createAs);
    const c = isCounter(found) ? ok(found) : this.retypeAsCounter(key, found, createAs);
    if (!c.ok) return c;
    let e = c.value;
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
    if (e !== found) e = this.store(key, e);
    this.changed(keepTtl ? e : this.clearTtl(key, e), key, 'local');
    return ok(e.crdt.value());
  }

  /** The value of a counter, `null` if missing, or WRONGTYPE for another type. */
  getCounter(key: string): Result<CounterValue | null, KeyspaceError> {
    const e = this.get(key);
    if (e === undefined || !isLive(e)) return ok(null);
    if (!isCounter(e)) return err(WRONGTYPE);
    return ok(e.crdt.value());
  }

  /** Deletes a key: an observed reset for counters, a generation bump for the others. Returns whether it existed. */
  del(key: string): boolean {
    const e = this.get(key);
    if (e === undefined || !isLive(e)) return false;
    // Every live state: a key live as two types (a concurrent creation) is deleted whole.
    for (const s of statesOf(e)) if (isLive(s)) deleteState(s);
    this.changed(this.clearTtl(key, e), key, 'local');
    return true;
  }

  exists(key: string): boolean {
    const e = this.get(key);
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

  /**
   * SET of Redis HYLL bytes (already parsed into `value`): creates the HLL, or replaces a live one
   * (a delete, then `value`'s registers at the new generation; see HyperLogLog.assign). WRONGTYPE for
   * a live key of another type. Clears the TTL unless `keepTtl`. Returns whether the key now exists
   * (an HLL of no registers leaves none, as PFADD of nothing does).
   */
  setHll(key: string, value: HyperLogLog, keepTtl = false): Result<boolean, KeyspaceError> {
    // Every HLL of the cluster has the configured precision (merges of two precisions are refused).
    if (value.p !== this.hllPrecision) return err({ code: 'INVALID', message: errors.hllPrecisionMismatch(value.p, this.hllPrecision) });
    const found = this.typed(key, 'hll');
    if (!found.ok) return found;
    const e = found.value.entry ?? found.value.create(HyperLogLog.create(this.hllPrecision));
    const r = e.crdt.assign(value);
    if (!r.ok) return err({ code: 'INVALID', message: errors.hllPrecisionMismatch(value.p, e.crdt.p) });
    this.changed(keepTtl ? e : this.clearTtl(key, e), key, 'local');
    return ok(isLive(e));
  }

  /** The live HLLs among `keys` (missing and deleted keys skipped), or WRONGTYPE. */
  private liveHlls(keys: readonly string[]): Result<HyperLogLog[], KeyspaceError> {
    const hlls: HyperLogLog[] = [];
    for (const k of keys) {
      const e = this.get(k);
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
      return err({ code: 'KEY_EXISTS', message: errors.windowExists(w.granularityS, w.retentionS) });
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
    if (fromMs > toMs) return err({ code: 'INVALID', message: errors.FROM_AFTER_TO });
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
    if (windowMs > w.retentionS * 1000) return err({ code: 'INVALID', message: errors.windowLongerThanRetention(w.retentionS) });
    return ok(w.sliding(nowMs, windowMs).estimate);
  }

  /** The window of a key (read-only use: WINDOW.INFO, tests). */
  window(key: string): WindowedCounter | undefined {
    const e = this.get(key);
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
      return err({ code: 'INVALID', message: errors.periodLongerThanRetention(e.crdt.retentionS) });
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
    if (c?.exists()) return err({ code: 'KEY_EXISTS', message: errors.CMS_KEY_EXISTS });
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
    if (t?.exists()) return err({ code: 'KEY_EXISTS', message: errors.TOPK_KEY_EXISTS });
    const fresh = TopK.create(k, width, depth);
    if (!fresh.ok) return err(invalid('TopK: ', fresh.error));
    // One writer's record travels whole: refused up front if even that could not fit in a frame.
    const worst = topkMaxRecordBytes(k, width, depth);
    const room = keyStateBudget(this.maxMessageBytes, key);
    if (worst > room) return err({ code: 'INVALID', message: errors.topkRecordTooLarge(worst, room) });
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
    const e = this.get(key);
    if (e === undefined && key.length - 1 > this.maxKeyBytes) return err(this.keyTooLong);
    const create = (others: readonly TypedCrdt[] | undefined) => (crdt: CrdtByType[T]): EntryOf<T> => {
      const next = { type, crdt, ...(others === undefined || others.length === 0 ? {} : { others }) } as unknown as EntryOf<T>;
      return this.store(key, next);
    };
    if (e === undefined) return ok({ entry: undefined, create: create(undefined) });
    if (isType(e, type)) return ok({ entry: e, create: create(e.others) });
    if (isLive(e)) return err(WRONGTYPE);
    const states = statesOf(e).filter((s) => !isEmptyState(s));
    const mine = states.find((s) => s.type === type);
    const others = states.filter((s) => s !== mine);
    if (mine === undefined) return ok({ entry: undefined, create: create(others) });
    const entry = create(others)(mine.crdt as CrdtByType[T]);
    return ok({ entry, create: create(others) });
  }

  /** A key's state of `type` for a read: undefined if absent or deleted, WRONGTYPE if it exists as another type. */
  private peek<T extends KeyType>(key: string, type: T): Result<EntryOf<T> | undefined, KeyspaceError> {
    const e = this.get(key);
    if (e === undefined) return ok(undefined);
    if (isType(e, type)) return ok(e);
    return isLive(e) ? err(WRONGTYPE) : ok(undefined);
  }

  /** `typed` for the counter family: either counter type takes a deleted key; a new one is created as `createAs`. */
  /**
   * A deleted key of another type as a counter entry, not yet stored: the caller stores it only once
   * its write succeeded, so a refused write leaves no empty counter behind (one that no peer would
   * ever hear of: the explorer's seed 606).
   */
  private retypeAsCounter(key: string, e: Entry, createAs: CreateAs): Result<CounterEntry, KeyspaceError> {
    if (isLive(e)) return err(WRONGTYPE);
    const states = statesOf(e).filter((s) => !isEmptyState(s));
    const mine = states.find((s) => s.type === 'gcounter' || s.type === 'pncounter');
    const type = typeof createAs === 'function' ? createAs(key) : createAs;
    const counter = (mine ?? (type === 'gcounter' ? { type, crdt: new GCounter() } : { type, crdt: new PNCounter() })) as CounterEntry;
    const others = states.filter((s) => s !== mine);
    const next = (others.length === 0 ? { type: counter.type, crdt: counter.crdt } : { type: counter.type, crdt: counter.crdt, others }) as CounterEntry;
    return ok(next);
  }

  /** A live key of `type`, or `missing` (absent or deleted), or WRONGTYPE. */
  private existing<T extends KeyType>(key: string, type: T, missing: KeyspaceError): Result<EntryOf<T>, KeyspaceError> {
    const e = this.get(key);
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
    const e = this.get(key);
    if (e === undefined) return undefined;
    // Cached until the key changes: one key travels in several deltas per gossip round.
    if (e.encoded === undefined) {
      const inner = e.others === undefined ? { tag: tagOf(e.type), bytes: e.crdt.encode() } : encodeKeyState(statesOf(e).map((s) => ({ tag: tagOf(s.type), bytes: s.crdt.encode() })));
      e.encoded = e.life === undefined ? inner : encodeWithLife(e.life, inner);
    }
    return e.encoded;
  }

  /**
   * A key's state as parts of at most `maxBytes` encoded bytes each (each state of a key of several
   * types split on its own), whose merge equals the whole state; undefined if some part cannot fit.
   */
  partsOf(key: string, maxBytes: number): { tag: number; bytes: Uint8Array }[] | undefined {
    const e = this.get(key);
    if (e === undefined) return undefined;
    const out: { tag: number; bytes: Uint8Array }[] = [];
    for (const s of statesOf(e)) {
      const parts = splitState(s, maxBytes);
      if (parts === undefined) return undefined;
      // Every part carries the key's life: a part of one epoch never joins another epoch.
      for (const p of parts) out.push(encodeWithLife(e.life ?? NO_LIFE, { tag: tagOf(p.type), bytes: p.crdt.encode() }));
    }
    return out;
  }

  /** Every change of a key goes through here: drop its cached encoding and tell the listeners. */
  private changed(e: Entry, key: string, origin: ChangeOrigin): void {
    e.encoded = undefined;
    this.digest.changed(e, key);
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) (ls[i] as ChangeListener)(key, origin);
  }

  /**
   * Merges a key's state received from a peer or read from disk. Untrusted bytes: a decode error is
   * returned, and nothing changes.
   */
  mergeRemote(key: string, tag: number, bytes: Uint8Array): Result<boolean, string> {
    const decoded = decodeWithLife(tag, bytes);
    if (!decoded.ok) return err(decoded.error.message);
    return ok(this.mergeDecoded(key, decoded.value.states, decoded.value.life));
  }

  /**
   * Merges already decoded remote states of one key (which this keyspace then owns): each joins this
   * key's state of its type, or is kept beside the others. Nothing is ever discarded for a type
   * mismatch: a key live as two types (created concurrently as both) shows the one of higher tag,
   * the same on every node, keeps the other, and is counted and reported. Returns whether anything changed.
   */
  mergeDecoded(key: string, incoming: TypedCrdt | readonly TypedCrdt[], incomingLife: Life = NO_LIFE): boolean {
    let list: readonly TypedCrdt[] = Array.isArray(incoming) ? incoming : [incoming as TypedCrdt];
    let life = incomingLife;
    // Dead on arrival (its deadline passed on our clock): what it means here is its next, empty epoch.
    if (expired(life, this.clock.now())) {
      life = nextEpoch(life);
      list = [];
    }
    const e = this.get(key);
    const ours = e?.life ?? NO_LIFE;
    if (e !== undefined && life.epoch < ours.epoch) return false; // an epoch that already ended here
    let changed = false;
    let target: Entry;
    if (e === undefined || life.epoch > ours.epoch) {
      // A later epoch replaces an earlier one outright: the earlier ended somewhere first.
      target = this.store(key, withLife(entryOf(list.length > 0 ? list.map((s) => ({ ...s }) as TypedCrdt) : [husk()]), life), true);
      changed = true;
    } else if (list.length === 1 && e.others === undefined && e.type === (list[0] as TypedCrdt).type) {
      // The usual case: one state of the key's one type, in the same epoch.
      changed = mergeSameType(e, list[0] as TypedCrdt);
      target = e;
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
      target = changed ? this.store(key, withLife(entryOf(states), ours)) : e;
      if (changed && liveCount(target) > 1 && before <= 1) {
        this.typeConflicts++;
        this.conflictListener?.(key, statesOf(target).filter(isLive).map((s) => s.type));
      }
    }
    // The same epoch: join the TTL registers.
    if (e !== undefined && life.epoch === ours.epoch) {
      const joined = joinTtl(ours, life);
      if (joined !== ours && (joined.ttlVersion !== ours.ttlVersion || joined.deadline !== ours.deadline)) {
        target = this.store(key, withLife(target, joined));
        changed = true;
      }
    }
    if (!changed) return false;
    this.noteDeadline(key, target.life);
    this.changed(target, key, 'remote');
    return true;
  }

  // ---- expiry (life.ts) ------------------------------------------------------------------------

  /**
   * A key's entry, its life checked against the clock: an expired key's entry becomes its next epoch,
   * empty (it no longer exists, and the next write starts afresh). Every operation reads through here.
   */
  private get(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e === undefined || e.life === undefined || e.life.deadline === null || e.life.deadline > this.clock.now()) return e;
    const next = this.store(key, withLife(entryOf([husk()]), nextEpoch(e.life)), true);
    this.expiring.delete(key);
    this.changed(next, key, 'expire');
    return next;
  }

  /**
   * Sets the TTL of a live key (EXPIRE and its family; `deadline` null is PERSIST), if `cond` allows:
   * NX only without a TTL, XX only with one, GT only later, LT only sooner (no TTL counts as
   * infinite), as Redis. Returns whether the TTL was set. A deadline already past ends the key now.
   */
  expire(key: string, deadline: number | null, cond?: 'NX' | 'XX' | 'GT' | 'LT'): boolean {
    const e = this.get(key);
    if (e === undefined || liveCount(e) === 0) return false;
    const life = e.life ?? NO_LIFE;
    const cur = life.deadline;
    if (cond === 'NX' && cur !== null) return false;
    if (cond === 'XX' && cur === null) return false;
    if (cond === 'GT' && (cur === null || deadline === null || deadline <= cur)) return false;
    if (cond === 'LT' && cur !== null && (deadline === null || deadline >= cur)) return false;
    if (deadline === null && cur === null) return false;
    const next = this.store(key, withLife(e, withTtl(life, deadline)), true);
    this.noteDeadline(key, next.life);
    this.changed(next, key, 'local');
    if (deadline !== null && deadline <= this.clock.now()) this.get(key);
    return true;
  }

  /** The TTL of a key: undefined if it does not exist, null if it has no TTL, else its deadline (ms). */
  deadlineOf(key: string): number | null | undefined {
    const e = this.get(key);
    if (e === undefined || liveCount(e) === 0) return undefined;
    return e.life?.deadline ?? null;
  }

  /** Ends the lives whose deadline passed, up to `budget` keys: an expired key frees its memory without being read. */
  sweepExpired(budget: number): number {
    let n = 0;
    const now = this.clock.now();
    for (const key of this.expiring) {
      if (budget-- <= 0) break;
      const e = this.entries.get(key);
      if (e?.life?.deadline === null || e?.life === undefined) {
        this.expiring.delete(key);
      } else if (e.life.deadline <= now) {
        this.get(key);
        n++;
      } else {
        // Not yet: to the back, so the next sweeps reach the others.
        this.expiring.delete(key);
        this.expiring.add(key);
      }
    }
    return n;
  }

  /** Keys with a TTL, for the sweep. */
  private noteDeadline(key: string, life: Life | undefined): void {
    if (life?.deadline !== null && life?.deadline !== undefined) this.expiring.add(key);
    else this.expiring.delete(key);
  }

  /** A write that replaces a key's value (SET without KEEPTTL, DEL) clears its TTL, in a way that wins over the TTLs seen so far. */
  private clearTtl(key: string, e: Entry): Entry {
    if (e.life === undefined || e.life.deadline === null) return e;
    const next = this.store(key, withLife(e, withTtl(e.life, null)), true);
    this.expiring.delete(key);
    return next;
  }

  /** Stores `e` for `key`, replacing the key's entry: the old entry's share of the state digest carries over. */
  private store<E extends Entry>(key: string, e: E, lifeGiven = false): E {
    const old = this.entries.get(key);
    let stored = e;
    if (old !== undefined && old !== e) {
      // A replacement entry of the same key keeps its life, unless the caller gave it one.
      if (!lifeGiven && old.life !== undefined && e.life === undefined) stored = withLife(e, old.life);
      carryDigest(old, stored);
    }
    this.entries.set(key, stored);
    return stored;
  }

  // ---- the state digest (state-digest.ts): equal digests mean equal state ----------------------

  /** The state digest: 16 hex digits; equal on two nodes iff (with overwhelming probability) every key's state is. */
  stateDigest(): string {
    this.digest.fold(this.entryFn, this.encodeFn);
    return this.digest.value();
  }

  /** The digest of each bucket of keys, DIGEST_BUCKETS x (hi, lo) as little-endian int32s. */
  bucketDigests(): Uint8Array {
    this.digest.fold(this.entryFn, this.encodeFn);
    return this.digest.buckets();
  }

  /** Every stored key (tombstones too) in one of `buckets`. */
  keysInBuckets(buckets: ReadonlySet<number>): string[] {
    const out: string[] = [];
    for (const key of this.entries.keys()) if (buckets.has(digestBucket(key))) out.push(key);
    return out;
  }

  private readonly entryFn = (key: string): Entry | undefined => this.entries.get(key);
  private readonly encodeFn = (key: string): { tag: number; bytes: Uint8Array } | undefined => this.encodeKey(key);

  /**
   * What the keyspace holds, for INFO memory and /metrics (one pass over every key, like `byteSize`):
   * `tombstones`, stored keys that do not exist (deleted, or an expired key's empty next epoch), which
   * replication still carries; `slots`, the replica slots of every counter state (G- and PN-Counters),
   * one per node incarnation that ever wrote the key.
   */
  memoryStats(): { entries: number; tombstones: number; slots: number } {
    let tombstones = 0;
    let slots = 0;
    for (const e of this.entries.values()) {
      if (!isLive(e)) tombstones++;
      for (const s of statesOf(e)) if (s.type === 'pncounter' || s.type === 'gcounter') slots += s.crdt.replicaCount();
    }
    return { entries: this.entries.size, tombstones, slots };
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

