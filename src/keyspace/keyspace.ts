// The keyspace: key -> typed CRDT. The typed operations (counters, HyperLogLog, windowed counters
// and THROTTLE, Count-Min Sketch, Top-K) with their type checks, over the key table (key-table.ts:
// entries, lives and expiry, merge of remote state, digest).

import { HyperLogLog } from '../crdt/hyperloglog.js';
import { WindowedCounter, windowConfigError } from '../crdt/windowed-counter.js';
import { CountMinSketch } from '../crdt/count-min-sketch.js';
import { TopK, topkMaxRecordBytes } from '../crdt/top-k.js';
import { throttleDecide, throttleWindowConfig, type ThrottleResult } from '../crdt/throttle.js';
import type { CrdtError } from '../crdt/errors.js';
import { deleteState, isLive, type CrdtByType, type TypedCrdt } from '../crdt/registry.js';
import { err, ok, type Result } from '../util/result.js';
import * as errors from '../errors.js';
import { GCOUNTER_DECREMENT, NOT_INTEGER, OVERFLOW, WRONGTYPE, type Entry, type EntryOf, type KeyType, type KeyspaceError } from './types.js';
import { isCounter, isEmptyState, isHusk, isType, keyStateBudget, makeEntry, newCounter, statesOf, type CounterEntry, type Slot } from './entries.js';
import { KeyTable } from './key-table.js';
import { fullKeyAt } from './full-key.js';

export { DATABASES, fullKey, fullKeyAt, splitKey } from './full-key.js';
export { DIGEST_BUCKETS } from './state-digest.js';
export { keyStateBudget, MAX_KEY_BYTES, maxKeyBytesFor } from './entries.js';

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

export class Keyspace extends KeyTable {
  /** Adds `n` (may be negative) to a counter, creating it as `createAs` if missing. Returns the new value. */
  incrBy(key: string, n: number, createAs: CreateAs = 'pncounter'): Result<CounterValue, KeyspaceError> {
    const id = this.idOf(key);
    if (id >= 0 && this.entries.isCompact(id)) {
      const v = this.incrCompact(id, key, n);
      if (v !== undefined) return ok(v);
    }
    return this.incrEntry(key, id < 0 ? undefined : this.entryAt(id), n, createAs);
  }

  /**
   * `incrBy` of the key whose bytes are `bytes[start, end)` in database `db` (a RESP argument in
   * place). A key the table holds is written under its entry's own string: a string is made only
   * for a new key, and the key is looked up once either way.
   */
  incrByAt(db: number, bytes: Uint8Array, start: number, end: number, n: number, createAs: CreateAs = 'pncounter'): Result<CounterValue, KeyspaceError> {
    const id = this.entries.idAt(db, bytes, start, end);
    // A string fullKeyAt made is flat already: the index need not copy it (`flatKey`).
    if (id < 0) return this.incrEntry(fullKeyAt(db, bytes, start, end), undefined, n, createAs, true);
    const c = this.entries.cell(id);
    if (typeof c === 'string') {
      const v = this.incrCompact(id, c, n);
      if (v !== undefined) return ok(v);
    }
    const e = this.entryAt(id) as Entry;
    return this.incrEntry(e.key as string, e, n, createAs);
  }

  /** `incrBy` of `key`, whose entry (read through `get`) is `e`; `flat`: `key` is a flat string of its own (full-key.ts, `flatKey`). */
  private incrEntry(key: string, e: Entry | undefined, n: number, createAs: CreateAs, flat = false): Result<CounterValue, KeyspaceError> {
    if (e !== undefined && isCounter(e) && !isHusk(e)) return this.incrHeld(key, e, n);
    let written: CounterEntry;
    // A key in an epoch nobody wrote yet (after an expiry) is created like a new one, in that epoch.
    if (e === undefined || isHusk(e)) {
      if (e === undefined && key.length - 1 > this.maxKeyBytes) return err(this.keyTooLong);
      // Stryker disable next-line ConditionalExpression: equivalent, the counter's own write refuses the same with the same error
      if (!Number.isSafeInteger(n)) return err(NOT_INTEGER);
      const type = typeof createAs === 'function' ? createAs(key) : createAs;
      // Stryker disable next-line ConditionalExpression: equivalent, the G-Counter's own write refuses a decrement with the same error
      if (type === 'gcounter' && n < 0) return err(GCOUNTER_DECREMENT);
      // Most new keys: held compact, with no entry (key-table.ts, "compact keys").
      if (e === undefined && this.insertCompact(key, type, n, flat)) return ok(n);
      const c = newCounter(type);
      this.primeOwnSlot(key, c.crdt, type === 'gcounter');
      const failure = c.crdt.incrementInPlace(this.replica, n);
      if (failure !== undefined) return err(counterError(failure));
      // A new key: one index operation (a husk's entry is replaced, carrying its digest share).
      // Stryker disable next-line ConditionalExpression: equivalent but for work, store() also adds a key not held
      written = e === undefined ? this.insert(key, c) : this.store(key, c);
    } else {
      // Another type: retyped into a new entry, stored only once the write succeeds.
      const c = this.retypeAsCounter(key, e, createAs);
      if (!c.ok) return c;
      const retyped = c.value;
      // Stryker disable next-line ConditionalExpression: equivalent, the G-Counter's own write refuses a decrement with the same error
      if (n < 0 && retyped.type === 'gcounter') return err(GCOUNTER_DECREMENT);
      this.primeOwnSlot(key, retyped.crdt, retyped.type === 'gcounter');
      // A retyped counter was never stored: a failed write changed nothing.
      const failure = retyped.crdt.incrementInPlace(this.replica, n);
      if (failure !== undefined) return err(counterError(failure));
      written = this.store(key, retyped);
    }
    return this.incremented(key, written, n);
  }

  /** `incrBy` of a counter the table holds (read through `get`): the common case, one entry written in place. */
  private incrHeld(key: string, e: CounterEntry, n: number): Result<CounterValue, KeyspaceError> {
    const primed = this.primeOwnSlot(key, e.crdt, e.type === 'gcounter');
    const failure = e.crdt.incrementInPlace(this.replica, n);
    if (failure !== undefined) {
      // The primed slot is a change even when the write fails.
      if (primed) this.changed(e, key, 'local');
      return err(counterError(failure));
    }
    return this.incremented(key, e, n);
  }

  /** The end of every successful `incrBy`: the change noted, the new value returned. */
  private incremented(key: string, e: CounterEntry, n: number): Result<CounterValue, KeyspaceError> {
    // INCRBY k 0 on a missing (or deleted) PN-Counter leaves it holding 0, as in Redis.
    // Stryker disable next-line ConditionalExpression: equivalent, a PN-Counter just written with n != 0 exists, and existAtZero then does nothing
    if (n === 0 && e.type === 'pncounter') e.crdt.existAtZero(this.replica);
    this.changed(e, key, 'local');
    return ok(e.crdt.value());
  }

  /** Sets a counter to `value` by an observed reset plus an increment (Redis SET on a counter). */
  setCounter(key: string, value: number, createAs: CreateAs = 'pncounter', keepTtl = false): Result<CounterValue, KeyspaceError> {
    const found = this.get(key);
    // A key in an epoch nobody wrote yet (after an expiry) is created like a missing one, as its
    // createAs type: its husk is an empty PN-Counter, not a type (the explorer's seed 8).
    if (found === undefined || isHusk(found)) return this.incrBy(key, value, createAs);
    const c = isCounter(found) ? ok(found) : this.retypeAsCounter(key, found, createAs);
    if (!c.ok) return c;
    let e = c.value;
    if (e.type === 'gcounter' && value < 0) return err(GCOUNTER_DECREMENT);
    const primed = this.primeOwnSlot(key, e.crdt, e.type === 'gcounter');
    const failed = (error: CrdtError): Result<CounterValue, KeyspaceError> => {
      if (primed && e === found) this.changed(e, key, 'local');
      return err(counterError(error));
    };
    if (e.type === 'gcounter') {
      const probe = e.crdt.clone();
      probe.reset();
      const r = probe.increment(this.replica, value);
      if (!r.ok) return failed(r.error);
      e.crdt.merge(probe);
    } else {
      const r = e.crdt.set(this.replica, value);
      if (!r.ok) return failed(r.error);
    }
    if (e !== found) e = this.store(key, e);
    this.changed(keepTtl ? e : this.clearTtl(key, e), key, 'local');
    return ok(e.crdt.value());
  }

  /** The value of a counter, `null` if missing, or WRONGTYPE for another type. */
  getCounter(key: string): Result<CounterValue | null, KeyspaceError> {
    const id = this.idOf(key);
    if (id < 0) return ok(null);
    if (this.entries.isCompact(id)) return ok(this.compactValue(id));
    const e = this.entryAt(id);
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
    const id = this.idOf(key);
    if (id < 0) return false;
    // A compact key is a counter above 0.
    if (this.entries.isCompact(id)) return true;
    const e = this.entryAt(id);
    return e !== undefined && isLive(e);
  }

  /** PFADD: adds elements, creating the HLL. Returns whether any register changed (or it was created). */
  pfadd(key: string, elements: readonly (Uint8Array | string)[]): Result<boolean, KeyspaceError> {
    return this.pfaddEach(key, elements.length, (h, i) => h.add(elements[i] as Uint8Array | string));
  }

  /** PFADD of `count` elements that `addAt(h, i)` adds to the key's HLL one by one (the RESP path adds them from byte ranges). */
  pfaddEach(key: string, count: number, addAt: (h: HyperLogLog, i: number) => boolean): Result<boolean, KeyspaceError> {
    return this.pfaddEntry(key, this.get(key), count, addAt);
  }

  /**
   * `pfaddEach` of the key whose bytes are `bytes[start, end)` in database `db` (a RESP argument in
   * place): a key the table holds is written under its entry's own string, as `incrByAt` does.
   */
  pfaddEachAt(db: number, bytes: Uint8Array, start: number, end: number, count: number, addAt: (h: HyperLogLog, i: number) => boolean): Result<boolean, KeyspaceError> {
    // A PFADD of a counter key answers WRONGTYPE through its entry: a compact key is made one then.
    const e = this.getAt(db, bytes, start, end);
    return this.pfaddEntry(e === undefined ? fullKeyAt(db, bytes, start, end) : (e.key as string), e, count, addAt);
  }

  /** `pfaddEach` of `key`, whose entry (read through `get`) is `held`. */
  private pfaddEntry(key: string, held: Entry | undefined, count: number, addAt: (h: HyperLogLog, i: number) => boolean): Result<boolean, KeyspaceError> {
    let e: EntryOf<'hll'>;
    // Re-creating a deleted HLL makes it exist again: a change even if no register moves.
    let changed: boolean;
    if (held !== undefined && isType(held, 'hll')) {
      e = held;
      changed = !isLive(held);
    } else {
      const found = this.typedEntry(key, held, 'hll');
      if (!found.ok) return found;
      const f = found.value.entry;
      if (f === undefined) {
        e = found.value.create(HyperLogLog.create(this.hllPrecision));
        changed = true;
      } else {
        e = f;
        changed = !isLive(f);
      }
    }
    const h = e.crdt;
    for (let i = 0; i < count; i++) if (addAt(h, i)) changed = true;
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

  /**
   * The live HLL of `key` (undefined when it is missing or deleted), or WRONGTYPE: PFCOUNT of one
   * key, the read of a page's unique visitors, in one lookup.
   */
  liveHll(key: string): Result<HyperLogLog | undefined, KeyspaceError> {
    const e = this.get(key);
    if (e === undefined || !isLive(e)) return ok(undefined);
    return e.type === 'hll' ? ok(e.crdt) : err(WRONGTYPE);
  }

  /** The live HLLs among `keys` (missing and deleted keys skipped), or WRONGTYPE. */
  private liveHlls(keys: readonly string[]): Result<HyperLogLog[], KeyspaceError> {
    const hlls: HyperLogLog[] = [];
    for (const k of keys) {
      const r = this.liveHll(k);
      if (!r.ok) return r;
      if (r.value !== undefined) hlls.push(r.value);
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
    return this.typedEntry(key, this.get(key), type);
  }

  /** `typed` of `key`, whose entry (read through `get`) is `e`. */
  private typedEntry<T extends KeyType>(key: string, e: Entry | undefined, type: T): Result<Slot<T>, KeyspaceError> {
    // Stryker disable next-line ConditionalExpression: equivalent, the keyspace holds no key longer than the limit
    if (e === undefined && key.length - 1 > this.maxKeyBytes) return err(this.keyTooLong);
    const create = (others: readonly TypedCrdt[] | undefined) => (crdt: CrdtByType[T]): EntryOf<T> => {
      const next = makeEntry(type, crdt, others);
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
    const counter = (mine ?? newCounter(type)) as CounterEntry;
    const others = states.filter((s) => s !== mine);
    const next = makeEntry(counter.type, counter.crdt, others) as CounterEntry;
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
    for (const key of this.keys()) {
      if (db !== undefined && key.charCodeAt(0) !== db) continue;
      if (this.del(key)) n++;
    }
    return n;
  }
}

function invalid(prefix: string, e: CrdtError): KeyspaceError {
  return { code: e.code === 'COUNTER_OVERFLOW' ? 'OVERFLOW' : 'INVALID', message: `${prefix}${e.message}` };
}

