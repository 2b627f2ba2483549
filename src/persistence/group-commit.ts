// Group commit: collects the keys that changed (local writes and gossip merges) and writes each one's
// current state once per commit, so many clients share one transaction and a hot key updated
// thousands of times between commits is written once. `everysec` commits from a 1 s timer, or at
// once when COMMIT_KEYS keys are listed (a bulk load, whose clients wait while two commits' worth
// are listed behind the one being written: `behind`); `always` commits as soon as the previous
// commit is done, and `durable()` hands the client edges a promise to wait on before they answer
// (Redis's own order: replies go out after the fsync).

import type { ByteWriter } from '../crdt/codec.js';
import type { ChangeListener } from '../keyspace/types.js';
import type { DurableStore } from './store.js';
import type { LocalStamp } from '../replication/version-log.js';

export type DurableMode = 'everysec' | 'always';

/** ms between commits under `everysec`: Redis's appendfsync everysec bound. */
export const EVERYSEC_INTERVAL_MS = 1000;

/** ms before a failed commit is retried. */
const RETRY_MS = 100;

/**
 * Keys listed that start a commit at once, before the timer (`everysec`): a bulk load's commits stay
 * within twice this size and a socket read (`behind`), not a second of writes. A commit
 * is still every key changed until it starts, so what is on disk is always a prefix of the writes.
 * LMDB keeps the pages a transaction dirtied for reuse until the store closes, and the commit's
 * record buffers stay with the allocator: a million new keys in commits of a second each held about
 * 100 MB of a writer's RSS that nothing else used (docs/crdt-counters.md, "RSS with compact keys").
 */
export const COMMIT_KEYS = 32_768;

/**
 * Keys listed behind a commit being written at which the client servers stop running commands
 * (`behind`): two commits' worth, so the next commit fills while one is written (ingest and disk
 * overlap), and no commit is much larger than two (LMDB keeps as many pages as its largest
 * transaction dirtied). With one commit's worth the writer of `bench scale --writers=1` held a little
 * less RSS (107-111 B per key against 111-113), but its ingest took 15-20% longer (three
 * alternations, 3.86-3.99 s against 3.28-3.48).
 */
export const BEHIND_KEYS = 2 * COMMIT_KEYS;

/**
 * The part of the keyspace a group commit uses: its change notifications and each key's current
 * whole state, by key or by the key's id in its table.
 */
export interface StateSource {
  onChange(listener: ChangeListener): () => void;
  encodeKey(key: string): { tag: number; bytes: Uint8Array } | undefined;
  /** The key holding `id` now, if any. */
  keyOf(id: number): string | undefined;
  /**
   * Appends the bytes of `encodeKey` of the key holding `id` now to `w`, without a lookup by key,
   * and returns their tag (undefined, writing nothing, if no key holds `id`).
   */
  encodeIdInto(id: number, w: ByteWriter): number | undefined;
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
  /** The most keys one commit wrote (a bulk load's stay within about BEHIND_KEYS under `everysec`: `behind`). */
  largestCommitKeys: number;
  /** Changes marked (before coalescing). */
  changes: number;
  failures: number;
  /** Duration of the last commit, ms (write + sync). */
  lastCommitMs: number;
  /** Sum of commit durations, ms (mean = totalCommitMs / commits). */
  totalCommitMs: number;
}

export class GroupCommit {
  readonly stats: GroupCommitStats = { commits: 0, keysWritten: 0, largestCommitKeys: 0, changes: 0, failures: 0, lastCommitMs: 0, totalCommitMs: 0 };
  /**
   * Keys changed since the last commit started, by their ids in the keyspace's table (each listed
   * once: its bit in `marked`). A change comes with the key's entry, and so its id; the commit then
   * reaches the key's state by id. A Set of key strings here cost a writing node 6-8% of its CPU under
   * a bulk load of new keys, and 8% more when its commit looked each key up again (a lookup in a
   * table of a million keys is mostly cache misses). An id stands for whichever key holds it at the
   * commit: a key dropped meanwhile (collected) is heard of again by key (`dirty`), and one that got
   * its id is itself changed, so both are written as they are then.
   */
  private ids: number[] = [];
  /** One bit per id: listed in `ids`. */
  private marked = new Uint32Array(1024);
  /** Keys changed with no entry to tell their id (a key dropped from the table). */
  private dirty = new Set<string>();
  /** A local write is among the keys listed (clients wait for the next commit). */
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
  /** Told when the commit being written is written (`behind`), created on demand. */
  private written: Waiters | null = null;
  /** Told when the commit scheduled starts (`behind`), created on demand. */
  private starting: Waiters | null = null;
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
  stampOf: ((key: string, id?: number) => LocalStamp) | undefined;

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
    this.unsubscribe = source.onChange((key, origin, id) => this.changed(key, origin === 'local', id));
  }

  /**
   * A key's state changed; `local` for a client's write (which `always` acknowledges only once
   * durable); `id` the key's id after the change, -1 (or absent) when the key is no longer in the
   * keyspace.
   */
  changed(key: string, local: boolean, id = -1): void {
    if (this.closed) return;
    this.stats.changes++;
    if (id >= 0) this.mark(id);
    else this.dirty.add(key);
    if (local) this.localDirty = true;
    if (this.mode === 'always' || this.ids.length >= COMMIT_KEYS) this.commitSoon();
  }

  /** Lists `id` for the next commit, once. */
  private mark(id: number): void {
    const w = id >>> 5;
    const bit = 1 << (id & 31);
    if (w >= this.marked.length) {
      const grown = new Uint32Array(Math.max(this.marked.length * 2, w + 1));
      grown.set(this.marked);
      this.marked = grown;
    }
    if (((this.marked[w] as number) & bit) !== 0) return;
    this.marked[w] = (this.marked[w] as number) | bit;
    this.ids.push(id);
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

  /**
   * Under `everysec`, when the client servers should wait before running more commands: a promise
   * that settles when there is room again, else undefined. Room runs out when BEHIND_KEYS keys are
   * listed while a commit is being written (the promise settles once it is written), or COMMIT_KEYS
   * while one is about to start (it settles at the start, which takes every key listed). The RESP and
   * WebSocket servers run no command of a client meanwhile (`admit`). Without it the writer's commits
   * grew with its ingest (each took longer, so more arrived meanwhile): a million new keys went in 9
   * commits of about 110,000, and LMDB keeps as many pages as its largest transaction dirtied until
   * the store closes (16-20 MB a million keys, against 4 MB in commits of 30,000). It also keeps the
   * keys not yet on disk within what `everysec` promises when the disk falls behind.
   */
  behind(): Promise<void> | undefined {
    if (this.mode !== 'everysec') return undefined;
    const pending = this.pending();
    if (this.writing) return pending >= BEHIND_KEYS ? (this.written ??= waiters()).promise : undefined;
    if (this.scheduled && pending >= COMMIT_KEYS) return (this.starting ??= waiters()).promise;
    return undefined;
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

  /**
   * What is not on disk yet: `keys` listed for the next commit, and `commits` written or syncing
   * (INFO persistence: a backlog that does not drain means the disk is slower than the writes).
   */
  backlog(): { keys: number; commits: number } {
    return { keys: this.pending(), commits: this.unflushed };
  }

  /** Keys listed for the next commit (a key listed both by id and by key counts twice). */
  private pending(): number {
    return this.ids.length + this.dirty.size;
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
    const starting = this.starting;
    this.starting = null;
    starting?.resolve();
    // Stryker disable next-line LogicalOperator: commitSoon() checked both before scheduling, and only commit() sets `writing` or empties the lists
    if (this.writing || this.pending() === 0) return;
    const keys = this.dirty;
    const ids = this.ids;
    this.dirty = new Set();
    this.ids = [];
    const w = this.next ?? waiters();
    this.next = null;
    this.inflight = w;
    const local = this.localDirty;
    this.localDirty = false;
    if (local) this.pendingLocal = w;
    // Each record is written as it is built (store.begin): a list of them all, held until the last
    // was built, kept every record alive through the collections that ran meanwhile.
    const batch = this.store.begin();
    let written = 0;
    const { source, stampOf } = this;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      this.marked[id >>> 5] = (this.marked[id >>> 5] as number) & ~(1 << (id & 31));
      const key = source.keyOf(id);
      // No key holds it now: the one that did was dropped, and is in `keys`.
      if (key === undefined) continue;
      // Written straight into the record (store.ts, startRecord).
      batch.endRecord(source.encodeIdInto(id, batch.startRecord(key, stampOf?.(key, id))));
      written++;
    }
    // A key also listed by id (dropped, then made again) is written twice in one batch, alike.
    for (const key of keys) {
      const e = source.encodeKey(key);
      if (e === undefined) batch.remove(key);
      else batch.put(key, e.tag, e.bytes, stampOf?.(key));
      written++;
    }
    const started = this.now();
    this.writing = true;
    this.unflushed++;
    const { committed, flushed } = batch.end();
    const fail = (e: unknown): void => {
      this.stats.failures++;
      // Not durable: put the keys back so a later commit retries them, and fail the waiters.
      for (const k of keys) this.dirty.add(k);
      for (const id of ids) this.mark(id);
      if (local) this.localDirty = true;
      this.onFailure(e, keys.size + ids.length);
      if (!this.failing && !this.closed) {
        // A failing disk is retried, but not in a tight loop.
        this.failing = true;
        setTimeout(() => {
          this.failing = false;
          this.commitSoon();
        }, RETRY_MS).unref();
      }
    };
    const wrote = (): void => {
      this.writing = false;
      const w = this.written;
      this.written = null;
      w?.resolve();
    };
    committed.then(
      () => {
        wrote();
        // The next commit may be written while this one syncs: syncs overlap, batches stay large.
        if (this.mode === 'always' || this.next !== null || this.ids.length >= COMMIT_KEYS) this.commitSoon();
      },
      () => {
        wrote();
      },
    );
    flushed.then(
      () => {
        this.unflushed--;
        this.stats.commits++;
        this.stats.keysWritten += written;
        // Stryker disable next-line EqualityOperator: equivalent, the same largest
        if (written > this.stats.largestCommitKeys) this.stats.largestCommitKeys = written;
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
        // Stryker disable next-line ConditionalExpression,EqualityOperator: fail() puts the keys back, and every reader of `inflight` looks at what is pending first until the next commit replaces it
        if (this.inflight === w) this.inflight = null;
        fail(e);
        w.reject(e);
      },
    );
  }
}
