// Live key subscriptions of the WebSocket API: which connections watch which keys, and per
// (connection, key) throttled value pushes that coalesce bursts and always deliver the latest value.

import { performance } from 'node:perf_hooks';
import * as errors from '../../errors.js';
import { fullKey as toFullKey, type Keyspace } from '../../keyspace/keyspace.js';
import type { Logger } from '../../util/logger.js';
import { exactNumber } from './codec.js';

/** One value push: the key's current type and value. */
export interface WatchValue {
  type: 'pncounter' | 'gcounter' | 'hll' | 'window' | 'cms' | 'topk' | 'none';
  value: number | string | null;
}

/** The current type and value of a key, as a watch push carries it. */
export function watchValue(ks: Keyspace, fk: string): WatchValue {
  const type = ks.typeOf(fk);
  if (type === undefined) return { type: 'none', value: null };
  if (type === 'hll') {
    const r = ks.pfcount([fk]);
    return { type, value: r.ok ? r.value : null };
  }
  const r = ks.getCounter(fk);
  return { type, value: r.ok && r.value !== null ? exactNumber(r.value) : null };
}

/** The limits watches obey (WsClientApiOptions documents each). */
export interface WatchLimits {
  readonly watchThrottleMs: number;
  readonly maxWatchesPerClient: number;
  readonly softBufferedBytes: number;
}

/** What a connection's watches need from the connection that owns them. */
export interface WatchOwner {
  /** Session id, for logs. */
  readonly clientId: number;
  /** False once the connection is closing: nothing more is pushed. */
  readonly live: boolean;
  /** Unsent bytes on the socket (pushes are skipped past the soft limit). */
  readonly bufferedAmount: number;
  /** Sends one frame (after any reply held before it). */
  send(frame: object): void;
}

/** Counters the watches add to (the API's stats object). */
export interface WatchStats {
  pushes: number;
  droppedPushes: number;
}

/** fullKey -> the connections watching it. Empty sets are removed, so an unwatched key costs one failed lookup. */
export class WatchIndex {
  private readonly byKey = new Map<string, Set<ConnectionWatches>>();

  /** Tells watchers that a key changed (local write or gossip). O(1) when nobody watches it. */
  notifyChanged(fk: string): void {
    // Every write of every protocol comes here: with nothing watched, skip hashing the key (1.4% of
    // a node's CPU under INCR at depth 16).
    if (this.byKey.size === 0) return;
    const set = this.byKey.get(fk);
    if (set === undefined) return;
    for (const w of set) w.changed(fk);
  }

  /** Number of distinct keys watched by anyone. */
  get size(): number {
    return this.byKey.size;
  }

  add(fk: string, w: ConnectionWatches): void {
    let set = this.byKey.get(fk);
    if (set === undefined) this.byKey.set(fk, (set = new Set()));
    set.add(w);
  }

  remove(fk: string, w: ConnectionWatches): void {
    const set = this.byKey.get(fk);
    if (set === undefined) return;
    set.delete(w);
    if (set.size === 0) this.byKey.delete(fk);
  }
}

/** One watched key of one connection. */
interface WatchState {
  readonly fullKey: string;
  readonly key: string;
  readonly db: number;
  /** performance.now() of the last push; -Infinity before the first. */
  lastSentAt: number;
  /** Pending trailing-edge push; at most one per (client, key). */
  timer: NodeJS.Timeout | null;
}

/** The watches of one connection: its watched keys, their throttle timers and their pushes. */
export class ConnectionWatches {
  private readonly watches = new Map<string, WatchState>();

  constructor(
    private readonly index: WatchIndex,
    private readonly keyspace: Keyspace,
    private readonly limits: WatchLimits,
    private readonly stats: WatchStats,
    private readonly logger: Logger,
    private readonly owner: WatchOwner,
  ) {}

  /** Keys this connection watches. */
  get size(): number {
    return this.watches.size;
  }

  /**
   * Starts watching `keys` of database `db` (already watched ones are kept as they are). Returns the
   * error text, changing nothing, when the connection would pass `maxWatchesPerClient`; else null.
   */
  add(keys: readonly string[], db: number): string | null {
    const fks = keys.map((k) => toFullKey(db, k));
    let added = 0;
    for (const fk of new Set(fks)) if (!this.watches.has(fk)) added++;
    const max = this.limits.maxWatchesPerClient;
    if (this.watches.size + added > max) {
      return errors.tooManyWatches(this.watches.size + added, max);
    }
    for (let i = 0; i < keys.length; i++) {
      const fk = fks[i] as string;
      if (this.watches.has(fk)) continue;
      this.watches.set(fk, { fullKey: fk, key: keys[i] as string, db, lastSentAt: -Infinity, timer: null });
      this.index.add(fk, this);
    }
    return null;
  }

  /** Pushes the current value of each watched key of `keys` now (once each): a watch's first push. */
  pushCurrent(keys: readonly string[], db: number): void {
    const seen = new Set<string>();
    for (const k of keys) {
      const fk = toFullKey(db, k);
      const w = this.watches.get(fk);
      if (w === undefined || seen.has(fk)) continue;
      seen.add(fk);
      this.sendValue(w);
    }
  }

  /** Stops watching `keys` of database `db`; an empty list stops every watch of this connection. */
  remove(keys: readonly string[], db: number): void {
    const targets = keys.length === 0 ? [...this.watches.keys()] : keys.map((k) => toFullKey(db, k));
    for (const fk of targets) {
      const w = this.watches.get(fk);
      if (w === undefined) continue;
      if (w.timer !== null) clearTimeout(w.timer);
      this.watches.delete(fk);
      this.index.remove(fk, this);
    }
  }

  /** Drops every watch and timer (the connection is gone). */
  clear(): void {
    for (const w of this.watches.values()) {
      if (w.timer !== null) clearTimeout(w.timer);
      this.index.remove(w.fullKey, this);
    }
    this.watches.clear();
  }

  /** A watched key changed: schedule its push (coalescing changes within a throttle window). */
  changed(fk: string): void {
    const w = this.watches.get(fk);
    if (w === undefined || w.timer !== null || !this.owner.live) return;
    this.schedule(w, Math.max(0, w.lastSentAt + this.limits.watchThrottleMs - performance.now()));
  }

  private schedule(w: WatchState, delayMs: number): void {
    w.timer = setTimeout(() => {
      w.timer = null;
      this.push(w);
    }, delayMs);
    w.timer.unref();
  }

  private push(w: WatchState): void {
    if (!this.owner.live || this.watches.get(w.fullKey) !== w) return;
    if (this.owner.bufferedAmount > this.limits.softBufferedBytes) {
      // Backed up: skip, and try again a window later so the latest value still arrives after a drain.
      this.stats.droppedPushes++;
      this.schedule(w, Math.max(1, this.limits.watchThrottleMs));
      return;
    }
    this.sendValue(w);
  }

  private sendValue(w: WatchState): void {
    let v: WatchValue;
    try {
      v = watchValue(this.keyspace, w.fullKey);
    } catch (e) {
      this.logger.warn({ err: e, client: this.owner.clientId }, 'ws api: reading a watched key failed');
      return;
    }
    w.lastSentAt = performance.now();
    this.stats.pushes++;
    this.owner.send({ event: 'value', key: w.key, db: w.db, type: v.type, value: v.value });
  }
}
