// Group commit: collects the keys that changed (local writes and gossip merges) and writes each one's
// current state once per commit, so many clients share one transaction and a hot key updated
// thousands of times between commits is written once. `everysec` commits from a 1 s timer; `always`
// commits as soon as the previous commit is done, and `durable()` hands the client edges a promise
// to wait on before they answer (Redis's own order: replies go out after the fsync).

import type { ChangeListener, Entry } from '../keyspace/types.js';
import type { DurableStore, KeyRecord } from './store.js';
import type { LocalStamp } from '../replication/version-log.js';

export type DurableMode = 'everysec' | 'always';

/** ms between commits under `everysec`: Redis's appendfsync everysec bound. */
export const EVERYSEC_INTERVAL_MS = 1000;

/** ms before a failed commit is retried. */
const RETRY_MS = 100;

/** The part of the keyspace a group commit uses: its change notifications and each key's current whole state. */
export interface StateSource {
  onChange(listener: ChangeListener): () => void;
  encodeKey(key: string): { tag: number; bytes: Uint8Array } | undefined;
  /**
   * `encodeKey`, given the entry the key had when it changed: encoded as it is while it is still the
   * key's (no lookup), else as `encodeKey`.
   */
  encodeCurrent?(key: string, e: Entry): { tag: number; bytes: Uint8Array } | undefined;
}

/** What a commit failure is reported to (the node logs it). */
export type CommitFailure = (err: unknown, keys: number) => void;

interface Waiters {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function waiters(): Waiters {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejection nobody waits for must not crash the process: the failure is reported separately.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export interface GroupCommitStats {
  commits: number;
  /** Key records written (after coalescing). */
  keysWritten: number;
  /** Changes marked (before coalescing). */
  changes: number;
  failures: number;
  /** Duration of the last commit, ms (write + sync). */
  lastCommitMs: number;
  /** Sum of commit durations, ms (mean = totalCommitMs / commits). */
  totalCommitMs: number;
}

export class GroupCommit {
  readonly stats: GroupCommitStats = { commits: 0, keysWritten: 0, changes: 0, failures: 0, lastCommitMs: 0, totalCommitMs: 0 };
  /** Keys changed since the last commit started (but see `fresh`). */
  private dirty = new Set<string>();
  /**
   * Keys created since the last commit started (ChangeListener's `created`): listed without the
   * Set, whose add was 6-8% of a node's CPU under a bulk load of new keys (a lookup in a table of a
   * second's worth of keys, grown from empty each commit). A key created and then changed before the
   * commit is in both, and written once; one created, collected and created again is listed twice
   * here and written twice in one batch, with the same state. Each key is followed by its entry when
   * it was created (or undefined), so that the commit encodes it without looking the key up again.
   */
  private fresh: (string | Entry | undefined)[] = [];
  /** A local write is among `dirty` (clients wait for the next commit). */
  private localDirty = false;
  /** A commit is being written (not yet committed): the next one waits, gathering more keys. */
  private writing = false;
  /** Commits written but not yet synced. */
  private unflushed = 0;
  /** The newest commit carrying local writes whose sync is still pending. */
  private pendingLocal: Waiters | null = null;
  /** Waiters of the next commit (created on demand). */
  private next: Waiters | null = null;
  /** Waiters of the newest commit written and not yet synced. */
  private inflight: Waiters | null = null;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failing = false;
  private readonly unsubscribe: () => void;
  /** Told each durable commit's duration in ms (write + sync), for metrics. */
  onCommit: ((ms: number) => void) | undefined;
  /**
   * Each key's local stamp, written beside its state (the replica's `stampOf`, set once it exists).
   * Without it records carry none, and a restart announces their keys again (always safe).
   */
  stampOf: ((key: string) => LocalStamp) | undefined;

  constructor(
    private readonly store: DurableStore,
    private readonly source: StateSource,
    readonly mode: DurableMode,
    private readonly onFailure: CommitFailure = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {
    if (mode === 'everysec') {
      this.timer = setInterval(() => this.commitSoon(), EVERYSEC_INTERVAL_MS);
      this.timer.unref();
    }
    // Every change from now on, local or merged from a peer, is written by a coming commit.
    this.unsubscribe = source.onChange((key, origin, created, entry) => this.changed(key, origin === 'local', created === true, entry));
  }

  /**
   * A key's state changed; `local` for a client's write (which `always` acknowledges only once
   * durable); `created` when the key was not in the keyspace before this change, and `entry` its
   * entry then, if known.
   */
  changed(key: string, local: boolean, created = false, entry?: Entry): void {
    if (this.closed) return;
    this.stats.changes++;
    if (created) this.fresh.push(key, entry);
    else this.dirty.add(key);
    if (local) this.localDirty = true;
    if (this.mode === 'always') this.commitSoon();
  }

  /**
   * Undefined when every local write made so far is on disk; otherwise a promise that resolves once
   * they all are (or rejects if the commit failed). The RESP and WebSocket servers hold replies on it.
   */
  durable(): Promise<void> | undefined {
    if (this.localDirty) return (this.next ??= waiters()).promise;
    return this.pendingLocal?.promise;
  }

  /**
   * Calls `done` once every change made so far (local or merged from a peer) is on disk: at once if
   * nothing is pending, else after the commit that covers it. A failed commit never calls it (the
   * caller asks again with its next change). The replica's durability barrier under `always`.
   */
  afterDurable(done: () => void): void {
    if (this.pending() > 0) {
      (this.next ??= waiters()).promise.then(done, () => {});
      this.commitSoon();
    } else if (this.inflight !== null) {
      this.inflight.promise.then(done, () => {});
    } else {
      done();
    }
  }

  /**
   * Calls `done(true)` once every change made so far is on disk, or `done(false)` if the commit
   * that was to write it failed; unlike `afterDurable` it never hastens a commit (`everysec` keeps
   * its one commit a second). Tombstone collection's evidence (replication/tombstone-gc.ts).
   */
  whenDurable(done: (ok: boolean) => void): void {
    const p = this.pending() > 0 ? (this.next ??= waiters()).promise : this.inflight?.promise;
    if (p === undefined) done(true);
    else p.then(() => done(true), () => done(false));
  }

  /** Commits everything changed so far; resolves once it is on disk. */
  flush(): Promise<void> {
    if (this.pending() === 0) return this.unflushed > 0 || this.writing ? (this.pendingLocal?.promise ?? this.idle()) : Promise.resolve();
    const w = (this.next ??= waiters());
    this.commitSoon();
    return w.promise;
  }

  /** Stops the timer and commits what is left. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    // Stryker disable next-line UpdateOperator: the loop ends when nothing is pending; the bound of 100 is only a guard
    for (let i = 0; i < 100 && (this.writing || this.unflushed > 0 || this.pending() > 0); i++) {
      try {
        await this.flush();
      } catch {
        break; // reported by onFailure; nothing more can be done at shutdown
      }
    }
    this.closed = true;
    this.unsubscribe();
  }

  /** Keys listed for the next commit (a key listed twice counts twice). */
  private pending(): number {
    return this.dirty.size + this.fresh.length / 2;
  }

  /** Resolves once no commit is being written or synced. */
  private async idle(): Promise<void> {
    while (this.writing || this.unflushed > 0) await new Promise((r) => setTimeout(r, 1));
  }

  private commitSoon(): void {
    if (this.scheduled || this.writing || this.failing || this.pending() === 0) return;
    this.scheduled = true;
    // After the I/O callbacks of this turn: every client whose data arrived now shares the commit.
    setImmediate(() => {
      this.scheduled = false;
      this.commit();
    });
  }

  private commit(): void {
    // Stryker disable next-line LogicalOperator: commitSoon() checked both before scheduling, and only commit() sets `writing` or empties `dirty`
    if (this.writing || this.pending() === 0) return;
    const keys = this.dirty;
    const fresh = this.fresh;
    this.dirty = new Set();
    this.fresh = [];
    const w = this.next ?? waiters();
    this.next = null;
    this.inflight = w;
    const local = this.localDirty;
    this.localDirty = false;
    if (local) this.pendingLocal = w;
    const records: KeyRecord[] = [];
    const removed: string[] = [];
    const take = (key: string, entry?: Entry): void => {
      const e = entry === undefined || this.source.encodeCurrent === undefined ? this.source.encodeKey(key) : this.source.encodeCurrent(key, entry);
      if (e === undefined) removed.push(key);
      else if (this.stampOf === undefined) records.push({ key, tag: e.tag, bytes: e.bytes });
      else records.push({ key, tag: e.tag, bytes: e.bytes, stamp: this.stampOf(key) });
    };
    // A key created and then changed again is in both lists: written once, from the Set. (The Set
    // is empty under a bulk load of new keys, where the check costs next to nothing.)
    for (let i = 0; i < fresh.length; i += 2) {
      const key = fresh[i] as string;
      if (!keys.has(key)) take(key, fresh[i + 1] as Entry | undefined);
    }
    for (const key of keys) take(key);
    const started = this.now();
    this.writing = true;
    this.unflushed++;
    const { committed, flushed } = this.store.write(records, removed);
    const fail = (e: unknown): void => {
      this.stats.failures++;
      // Not durable: put the keys back so a later commit retries them, and fail the waiters.
      for (const k of keys) this.dirty.add(k);
      for (let i = 0; i < fresh.length; i += 2) this.dirty.add(fresh[i] as string);
      if (local) this.localDirty = true;
      this.onFailure(e, keys.size + fresh.length / 2);
      if (!this.failing && !this.closed) {
        // A failing disk is retried, but not in a tight loop.
        this.failing = true;
        setTimeout(() => {
          this.failing = false;
          this.commitSoon();
        }, RETRY_MS).unref();
      }
    };
    committed.then(
      () => {
        this.writing = false;
        // The next commit may be written while this one syncs: syncs overlap, batches stay large.
        if (this.mode === 'always' || this.next !== null) this.commitSoon();
      },
      () => {
        this.writing = false;
      },
    );
    flushed.then(
      () => {
        this.unflushed--;
        this.stats.commits++;
        this.stats.keysWritten += records.length + removed.length;
        this.stats.lastCommitMs = this.now() - started;
        this.stats.totalCommitMs += this.stats.lastCommitMs;
        this.onCommit?.(this.stats.lastCommitMs);
        if (this.pendingLocal === w) this.pendingLocal = null;
        if (this.inflight === w) this.inflight = null;
        w.resolve();
      },
      (e: unknown) => {
        this.unflushed--;
        if (this.pendingLocal === w) this.pendingLocal = null;
        // Stryker disable next-line ConditionalExpression,EqualityOperator: fail() puts the keys back, and every reader of `inflight` looks at `dirty` first until the next commit replaces it
        if (this.inflight === w) this.inflight = null;
        fail(e);
        w.reject(e);
      },
    );
  }
}
