// Group commit (src/persistence/group-commit.ts) on a real store whose disk the test slows down:
// each write goes to LMDB at once, but its `committed` and `flushed` wait until the test releases
// them (or fails them), as a slow or failing disk would. So every step is an event the test
// controls: which commit is being written, which is syncing, and what waits on which.

import { mkdtempSync, stat } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import { BEHIND_KEYS, COMMIT_KEYS, EVERYSEC_INTERVAL_MS, GroupCommit, type DurableMode } from '../../src/persistence/group-commit.js';
import { DurableStore, type RecordBatch } from '../../src/persistence/store.js';
import type { LocalStamp } from '../../src/replication/version-log.js';
import type { Entry } from '../../src/keyspace/types.js';

const opened: DurableStore[] = [];
const commits: GroupCommit[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of commits.splice(0)) c.onCommit = undefined;
  for (const s of opened.splice(0)) await s.close();
});

/** One write the group commit made, held until the test releases it. */
interface HeldWrite {
  keys: string[];
  removed: string[];
  /** Lets its `committed` resolve (the next commit may start). */
  commit(): void;
  /** What the group commit was handed: await it after `commit()` to know the group commit heard. */
  committed: Promise<void>;
  /** Lets it commit and sync (`flushed`). */
  sync(): void;
  /** Fails it, as a disk error would: its commit if not yet committed, else its sync. */
  fail(e: unknown): void;
}

/** A real store whose writes wait for the test; `writes` lists them in order, `next()` awaits the next one. */
function heldStore(): { store: DurableStore; writes: HeldWrite[]; next(): Promise<HeldWrite> } {
  const { store } = DurableStore.open({ dataDir: mkdtempSync(join(tmpdir(), 'tally-gc-')), nodeId: 'n1', cluster: 'c1' });
  opened.push(store);
  const writes: HeldWrite[] = [];
  let waiting: ((w: HeldWrite) => void)[] = [];
  // Every write goes through `begin` (store.write too): the batch records what it is handed.
  const realBegin = store.begin.bind(store);
  store.begin = () => {
    const b = realBegin();
    const keys: string[] = [];
    const removed: string[] = [];
    let started = '';
    const held = {
      put: (key: string, tag: number, bytes: Uint8Array, stamp?: LocalStamp) => {
        keys.push(key);
        b.put(key, tag, bytes, stamp);
      },
      startRecord: (key: string, stamp?: LocalStamp) => {
        started = key;
        return b.startRecord(key, stamp);
      },
      endRecord: (tag: number | undefined) => {
        if (tag !== undefined) keys.push(started);
        b.endRecord(tag);
      },
      remove: (key: string) => {
        removed.push(key);
        b.remove(key);
      },
      end: () => hold(b.end(), keys, removed),
    };
    return held as unknown as RecordBatch;
  };
  const hold = (r: { committed: Promise<void>; flushed: Promise<void> }, keys: string[], removed: string[]): { committed: Promise<void>; flushed: Promise<void> } => {
    let commit!: () => void;
    let failCommit!: (e: unknown) => void;
    let sync!: () => void;
    let failSync!: (e: unknown) => void;
    const commitGate = new Promise<void>((res, rej) => {
      commit = res;
      failCommit = rej;
    });
    const syncGate = new Promise<void>((res, rej) => {
      sync = res;
      failSync = rej;
    });
    syncGate.catch(() => {});
    const committed = Promise.all([r.committed, commitGate]).then(() => undefined);
    const flushed = Promise.all([committed, r.flushed, syncGate]).then(() => undefined);
    const w: HeldWrite = {
      keys,
      removed,
      commit,
      committed: committed.catch(() => {}),
      sync: () => {
        commit();
        sync();
      },
      fail: (e) => {
        failCommit(e);
        failSync(e);
      },
    };
    writes.push(w);
    for (const f of waiting.splice(0)) f(w);
    return { committed, flushed };
  };
  return { store, writes, next: () => new Promise((res) => waiting.push(res)) };
}

function groupCommit(store: DurableStore, ks: Keyspace, mode: DurableMode, onFailure?: (err: unknown, keys: number) => void, now?: () => number): GroupCommit {
  const gc = new GroupCommit(store, ks, mode, onFailure, now);
  commits.push(gc);
  return gc;
}

/** One turn of the event loop: every promise settled by now has run its callbacks, every setImmediate queued before has run. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Resumes in the poll phase (an I/O callback): a setImmediate queued from there runs in this same
 * loop iteration, before any timer, so a test can look one turn ahead of a 100 ms retry timer.
 */
const ioTurn = (): Promise<void> => new Promise((r) => stat(tmpdir(), () => r()));

/** Whether `p` has settled, watched from now on. */
function watch(p: Promise<unknown> | undefined): { settled: boolean; ok: boolean | undefined } {
  const s = { settled: false, ok: undefined as boolean | undefined };
  p?.then(
    () => Object.assign(s, { settled: true, ok: true }),
    () => Object.assign(s, { settled: true, ok: false }),
  );
  return s;
}

/** A peer's state of `key` merged into `ks` (a 'remote' change). */
function mergeFromPeer(ks: Keyspace, key: string, n = 1): void {
  const peer = new Keyspace('n2:1');
  peer.incrBy(key, n);
  const e = peer.encodeKey(key);
  if (e === undefined) throw new Error('no state');
  const r = ks.mergeRemote(key, e.tag, e.bytes);
  if (!r.ok) throw new Error(r.error);
}

const onDisk = (store: DurableStore): string[] => [...store.records()].map((r) => r.key).sort();

const A = fullKey(0, 'a');
const B = fullKey(0, 'b');
const C = fullKey(0, 'c');

describe('group commit under always', () => {
  it('durable(): undefined with nothing written; after a local write, one promise for every writer until that commit is on disk', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    expect(gc.durable()).toBeUndefined();
    ks.incrBy(A, 1);
    const p = gc.durable();
    expect(p).toBeInstanceOf(Promise);
    ks.incrBy(B, 1);
    expect(gc.durable()).toBe(p);
    await turn();
    expect(writes.map((w) => w.keys)).toEqual([[A, B]]);
    // Being written, then written but not synced: still that commit's promise.
    expect(gc.durable()).toBe(p);
    writes[0]?.commit();
    await writes[0]?.committed;
    expect(gc.durable()).toBe(p);
    const s = watch(p);
    await turn();
    expect(s.settled).toBe(false);
    writes[0]?.sync();
    await p;
    expect(gc.durable()).toBeUndefined();
    expect(onDisk(store)).toEqual([A, B]);
  });

  it("a peer's merge is written at once but holds no reply; afterDurable waits for its sync", async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    mergeFromPeer(ks, A);
    expect(gc.durable()).toBeUndefined();
    await turn();
    expect(writes.map((w) => w.keys)).toEqual([[A]]);
    expect(gc.durable()).toBeUndefined();
    const calls: string[] = [];
    gc.afterDurable(() => calls.push('after'));
    gc.whenDurable((ok) => calls.push(`when ${ok}`));
    await turn();
    expect(calls).toEqual([]);
    writes[0]?.sync();
    await gc.flush();
    await turn();
    expect(calls).toEqual(['after', 'when true']);
    expect(gc.stats).toMatchObject({ commits: 1, keysWritten: 1, changes: 1, failures: 0 });
  });

  it('changes made while a commit is written wait for it, then go out together in the next one; the backlog counts both', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    expect(gc.backlog()).toEqual({ keys: 0, commits: 0 });
    mergeFromPeer(ks, A);
    expect(gc.backlog()).toEqual({ keys: 1, commits: 0 });
    await turn();
    expect(gc.backlog()).toEqual({ keys: 0, commits: 1 });
    mergeFromPeer(ks, B);
    await turn();
    mergeFromPeer(ks, C);
    await turn();
    expect(writes.map((w) => w.keys)).toEqual([[A]]);
    expect(gc.backlog()).toEqual({ keys: 2, commits: 1 });
    writes[0]?.commit(); // committed, still syncing: the next commit may be written beside the sync
    await writes[0]?.committed;
    await turn();
    expect(writes.map((w) => w.keys)).toEqual([[A], [B, C]]);
    expect(gc.backlog()).toEqual({ keys: 0, commits: 2 });
    for (const w of writes) w.sync();
    await gc.flush();
    expect(gc.backlog()).toEqual({ keys: 0, commits: 0 });
  });

  it('nothing pending: afterDurable and whenDurable answer at once, flush resolves within a turn', async () => {
    const { store } = heldStore();
    const gc = groupCommit(store, new Keyspace('n1:1'), 'always');
    const calls: string[] = [];
    gc.afterDurable(() => calls.push('after'));
    gc.whenDurable((ok) => calls.push(`when ${ok}`));
    expect(calls).toEqual(['after', 'when true']);
    const f = watch(gc.flush());
    await turn();
    expect(f).toEqual({ settled: true, ok: true });
  });

  it('after a commit is on disk, nothing is pending again: afterDurable and whenDurable answer at once', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    ks.incrBy(A, 1);
    const p = gc.durable();
    await turn();
    writes[0]?.sync();
    await p;
    const calls: string[] = [];
    gc.afterDurable(() => calls.push('after'));
    gc.whenDurable((ok) => calls.push(`when ${ok}`));
    expect(calls).toEqual(['after', 'when true']);
  });

  it('afterDurable with a change not yet written: not at once, after the commit that writes it', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    mergeFromPeer(ks, A);
    let onDiskThen: string[] | undefined;
    gc.afterDurable(() => {
      onDiskThen = onDisk(store);
    });
    expect(onDiskThen).toBeUndefined();
    await turn();
    writes[0]?.sync();
    await gc.flush();
    await turn();
    expect(onDiskThen).toEqual([A]);
  });

  it('overlapping commits: a sync that ends does not answer for a later commit still syncing', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    ks.incrBy(A, 1);
    const p1 = gc.durable();
    await turn();
    writes[0]?.commit();
    await writes[0]?.committed;
    ks.incrBy(B, 1);
    const p2 = gc.durable();
    expect(p2).not.toBe(p1);
    await turn();
    expect(writes.map((w) => w.keys)).toEqual([[A], [B]]);
    // The first commit syncs; the second is written, not synced.
    writes[0]?.sync();
    await p1;
    expect(gc.durable()).toBe(p2);
    const after: string[] = [];
    gc.afterDurable(() => after.push('after'));
    gc.whenDurable((ok) => after.push(`when ${ok}`));
    const f = watch(gc.flush());
    await turn();
    expect(after).toEqual([]);
    expect(f.settled).toBe(false);
    writes[1]?.sync();
    await p2;
    await turn();
    expect(after).toEqual(['after', 'when true']);
    expect(f).toEqual({ settled: true, ok: true });
    expect(gc.durable()).toBeUndefined();
  });

  it('flush during a commit of merges only: resolves once that commit is synced', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    mergeFromPeer(ks, A);
    await turn();
    const f1 = watch(gc.flush()); // being written
    writes[0]?.commit();
    await writes[0]?.committed;
    const f2 = watch(gc.flush()); // written, syncing
    await turn();
    await turn();
    expect([f1.settled, f2.settled]).toEqual([false, false]);
    writes[0]?.sync();
    await vi.waitUntil(() => f1.settled && f2.settled);
    expect([f1.ok, f2.ok]).toEqual([true, true]);
  });

  it('a key the keyspace no longer holds is removed from the store; stats time each commit on the clock given', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const times = [10, 35, 100, 107];
    const gc = groupCommit(store, ks, 'always', undefined, () => times.shift() ?? 0);
    const seen: number[] = [];
    gc.onCommit = (ms) => seen.push(ms);
    const old = store.write([{ key: C, tag: 1, bytes: Uint8Array.of(1) }]);
    writes[0]?.sync();
    await old.flushed;
    ks.incrBy(A, 1);
    gc.changed(C, false); // gone from the keyspace (a collected tombstone)
    await turn();
    expect(writes[1]).toMatchObject({ keys: [A], removed: [C] });
    writes[1]?.sync();
    await gc.flush();
    await vi.waitUntil(() => gc.stats.commits === 1);
    expect(onDisk(store)).toEqual([A]);
    expect(gc.stats).toEqual({ commits: 1, keysWritten: 2, largestCommitKeys: 2, changes: 2, failures: 0, lastCommitMs: 25, totalCommitMs: 25 });
    ks.incrBy(B, 1);
    await turn();
    writes[2]?.sync();
    await vi.waitUntil(() => gc.stats.commits === 2);
    expect(gc.stats).toEqual({ commits: 2, keysWritten: 3, largestCommitKeys: 2, changes: 3, failures: 0, lastCommitMs: 7, totalCommitMs: 32 });
    expect(seen).toEqual([25, 7]);
  });

  it('keys created by a write or a merge are written like any change; one created and changed again before its commit is written once', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const heard: [string, number | undefined][] = [];
    ks.onChange((key, origin, id) => heard.push([`${key.slice(1)} ${origin}`, id]));
    const gc = groupCommit(store, ks, 'always');
    ks.incrBy(A, 1); // created
    ks.incrBy(A, 2); // changed again in the same turn: before the commit
    mergeFromPeer(ks, B, 5); // created by a merge
    mergeFromPeer(ks, C, 1);
    ks.del(C); // created, then deleted: a tombstone, still a key
    await turn();
    // Each change names the key's entry, whose id the commit reaches it by.
    expect(heard).toEqual([
      ['a local', 0],
      ['a local', 0],
      ['b remote', 1],
      ['c remote', 2],
      ['c local', 2],
    ]);
    expect(writes).toHaveLength(1);
    expect([...(writes[0]?.keys ?? [])].sort()).toEqual([A, B, C]);
    writes[0]?.sync();
    await gc.flush();
    await vi.waitUntil(() => gc.stats.commits === 1);
    expect(gc.stats).toMatchObject({ commits: 1, keysWritten: 3, changes: 5 });
    // What is on disk is each key's state at the commit.
    const back = new Keyspace('n3:1');
    for (const r of store.records()) expect(back.mergeRemote(r.key, r.tag, r.bytes).ok).toBe(true);
    expect([back.getCounter(A), back.getCounter(B), back.getCounter(C)]).toEqual([
      { ok: true, value: 3 },
      { ok: true, value: 5 },
      { ok: true, value: null },
    ]);
    expect(gc.durable()).toBeUndefined();
  });

  it('without a clock given, commit times are measured on the performance clock', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    ks.incrBy(A, 1);
    await turn();
    writes[0]?.sync();
    await gc.durable();
    await vi.waitUntil(() => gc.stats.commits === 1);
    expect(Number.isFinite(gc.stats.lastCommitMs)).toBe(true);
    expect(gc.stats.lastCommitMs).toBeGreaterThanOrEqual(0);
    expect(gc.stats.totalCommitMs).toBe(gc.stats.lastCommitMs);
  });

  it('holds no timer', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { store } = heldStore();
    groupCommit(store, new Keyspace('n1:1'), 'always');
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('changes carry their key\'s id to the commit', () => {
  it('keys created or changed since the last commit are written as they are then, reached by their ids, never looked up', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    const lookups = vi.spyOn(ks, 'encodeKey');
    ks.incrBy(A, 1);
    ks.incrBy(B, 2);
    mergeFromPeer(ks, C, 3);
    await turn();
    expect(writes.map((w) => w.keys)).toEqual([[A, B, C]]);
    writes[0]?.sync();
    await gc.flush();
    ks.incrBy(B, 5);
    mergeFromPeer(ks, A, 4);
    ks.incrBy(B, 1);
    await turn();
    expect(writes[1]?.keys).toEqual([B, A]);
    expect(lookups).not.toHaveBeenCalled();
    writes[1]?.sync();
    await gc.flush();
    expect(ks.getCounter(B)).toEqual({ ok: true, value: 8 });
    const byKey = new Map([...store.records()].map((r) => [r.key, r]));
    for (const k of [A, B, C]) expect(Buffer.from(byKey.get(k)?.bytes ?? [])).toEqual(Buffer.from(ks.encodeKey(k)?.bytes ?? [0xff]));
  });

  it('a key changed again, or told again with the id of an entry no longer its own, is written once, as it is now, reached by its id', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    ks.incrBy(A, 1);
    const first = ks.entry(A) as Entry;
    ks.incrBy(A, 4);
    expect(ks.expire(A, Date.now() + 60_000)).toBe(true); // another entry for A
    expect(ks.entry(A)).not.toBe(first);
    // The first entry's id told again: it still names A, whose state now is what is written.
    gc.changed(A, true, first.id);
    ks.incrBy(B, 7);
    const lookups = vi.spyOn(ks, 'encodeKey');
    await turn();
    // B reached by its id alone; A too, then read by key, since a key with a TTL is read where its life is checked.
    expect(lookups.mock.calls.map((c) => c[0])).toEqual([A]);
    expect(writes[0]?.keys.sort()).toEqual([A, B]);
    writes[0]?.sync();
    await gc.flush();
    const byKey = new Map([...store.records()].map((r) => [r.key, r]));
    for (const k of [A, B]) expect(Buffer.from(byKey.get(k)?.bytes ?? [])).toEqual(Buffer.from(ks.encodeKey(k)?.bytes ?? [0xff]));
    expect(ks.getCounter(A)).toEqual({ ok: true, value: 5 });
  });

  it('keys past the first 32,768 ids are listed once each however often they change', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    const keys = Array.from({ length: 40_000 }, (_, i) => fullKey(0, `u${i}`));
    for (const key of keys) ks.incrBy(key, 1);
    for (const key of keys) ks.incrBy(key, 1);
    await turn();
    expect(writes[0]?.keys).toHaveLength(40_000);
    expect(new Set(writes[0]?.keys).size).toBe(40_000);
    writes[0]?.sync();
    await gc.flush();
    ks.incrBy(keys[39_999] as string, 1);
    ks.incrBy(keys[39_999] as string, 1);
    await turn();
    expect(writes[1]?.keys).toEqual([keys[39_999]]);
    writes[1]?.sync();
    await gc.flush();
    expect(gc.stats.keysWritten).toBe(40_001);
  });

  it('a first change at an id far past the bits kept so far is listed once', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const keys = Array.from({ length: 70_000 }, (_, i) => fullKey(0, `u${i}`));
    for (const key of keys) ks.incrBy(key, 1);
    const gc = groupCommit(store, ks, 'always');
    const last = keys[69_999] as string;
    expect(ks.idOf(last)).toBe(69_999);
    ks.incrBy(last, 1);
    ks.incrBy(last, 1);
    await turn();
    expect(writes[0]?.keys).toEqual([last]);
    writes[0]?.sync();
    await gc.flush();
    expect(ks.getCounter(last)).toEqual({ ok: true, value: 3 });
  });

  it('a key dropped and its id given to another before the commit: the first is removed, the other written', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    ks.incrBy(A, 1);
    await turn();
    writes[0]?.sync();
    await gc.flush();
    expect(onDisk(store)).toEqual([A]);
    const id = ks.idOf(A);
    ks.del(A);
    expect(ks.collectTombstones()).toEqual([A]);
    ks.incrBy(B, 2);
    expect(ks.idOf(B)).toBe(id);
    await turn();
    expect(writes[1]).toMatchObject({ keys: [B], removed: [A] });
    writes[1]?.sync();
    await gc.flush();
    expect(onDisk(store)).toEqual([B]);
  });
});

describe('group commit under everysec', () => {
  it('commits on its interval, on flush and on afterDurable, never on a change or whenDurable alone', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'everysec');
    expect(vi.getTimerCount()).toBe(1);
    ks.incrBy(A, 1);
    const when: boolean[] = [];
    gc.whenDurable((ok) => when.push(ok));
    await turn();
    await turn();
    expect(writes).toHaveLength(0);
    vi.advanceTimersByTime(EVERYSEC_INTERVAL_MS);
    await turn();
    expect(writes.map((w) => w.keys)).toEqual([[A]]);
    // A change while it is written, nobody waiting: it waits for the next interval.
    ks.incrBy(B, 1);
    writes[0]?.sync();
    await vi.waitUntil(() => when.length === 1);
    expect(when).toEqual([true]);
    await turn();
    await turn();
    expect(writes).toHaveLength(1);
    // afterDurable hastens it.
    let after = false;
    gc.afterDurable(() => {
      after = true;
    });
    await turn();
    expect(writes.map((w) => w.keys)).toEqual([[A], [B]]);
    // A flush during that commit brings the next one as soon as it is committed.
    ks.incrBy(C, 1);
    const f = gc.flush();
    await turn();
    expect(writes).toHaveLength(2);
    writes[1]?.commit();
    await writes[1]?.committed;
    await turn();
    expect(writes.map((w) => w.keys)).toEqual([[A], [B], [C]]);
    writes[1]?.sync();
    writes[2]?.sync();
    await f;
    expect(after).toBe(true);
    await gc.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a bulk load commits every COMMIT_KEYS keys without waiting for the interval; each commit is every key listed until it starts', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'everysec');
    const key = (i: number): string => fullKey(0, `k${i}`);
    for (let i = 0; i < COMMIT_KEYS - 1; i++) ks.incrBy(key(i), 1);
    // A key written again is listed once.
    ks.incrBy(key(0), 1);
    await turn();
    await turn();
    expect(writes).toHaveLength(0);
    ks.incrBy(key(COMMIT_KEYS - 1), 1);
    await turn();
    expect(writes.map((w) => w.keys.length)).toEqual([COMMIT_KEYS]);
    // While it is written, COMMIT_KEYS arrive (one of them a key of the first again): the next commit
    // takes them all as soon as this one is committed, not at the interval, and not before.
    for (let i = COMMIT_KEYS; i < 2 * COMMIT_KEYS - 1; i++) ks.incrBy(key(i), 1);
    ks.incrBy(key(5), 1);
    await turn();
    expect(writes).toHaveLength(1);
    writes[0]?.commit();
    await writes[0]?.committed;
    await turn();
    expect(writes.map((w) => w.keys.length)).toEqual([COMMIT_KEYS, COMMIT_KEYS]);
    expect(writes[1]?.keys).toContain(key(5));
    // Fewer left than COMMIT_KEYS: they wait for the interval.
    writes[1]?.commit();
    await writes[1]?.committed;
    for (let i = 0; i < 3; i++) ks.incrBy(key(i), 1);
    await turn();
    await turn();
    expect(writes).toHaveLength(2);
    vi.advanceTimersByTime(EVERYSEC_INTERVAL_MS);
    await turn();
    expect(writes.map((w) => w.keys.length)).toEqual([COMMIT_KEYS, COMMIT_KEYS, 3]);
    for (const w of writes) w.sync();
    await gc.close();
  });

  it('behind: a wait from COMMIT_KEYS keys listed until the commit about to start has started, or from BEHIND_KEYS until the one being written is written', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { store, writes, next: nextWrite } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'everysec');
    const key = (i: number): string => fullKey(0, `k${i}`);
    expect(BEHIND_KEYS).toBe(2 * COMMIT_KEYS);
    expect(gc.behind()).toBeUndefined();
    for (let i = 0; i < COMMIT_KEYS - 1; i++) ks.incrBy(key(i), 1);
    expect(gc.behind()).toBeUndefined();
    ks.incrBy(key(COMMIT_KEYS - 1), 1);
    // A full commit is scheduled (it starts after this turn's I/O): wait for it to start, no longer.
    const start = watch(gc.behind());
    await Promise.resolve();
    expect(start.settled).toBe(false);
    await turn();
    expect(writes.map((w) => w.keys.length)).toEqual([COMMIT_KEYS]);
    expect(start).toEqual({ settled: true, ok: true });
    // It took every key listed: room again while it is written, until BEHIND_KEYS are listed.
    expect(gc.behind()).toBeUndefined();
    for (let i = COMMIT_KEYS; i < COMMIT_KEYS + BEHIND_KEYS - 1; i++) ks.incrBy(key(i), 1);
    expect(gc.behind()).toBeUndefined();
    ks.incrBy(key(COMMIT_KEYS + BEHIND_KEYS - 1), 1);
    // Now wait until the one being written is written (one wait for every client).
    const first = gc.behind();
    expect(gc.behind()).toBe(first);
    const written = watch(first);
    await turn();
    await turn();
    expect(written.settled).toBe(false);
    expect(writes).toHaveLength(1);
    writes[0]?.commit();
    await writes[0]?.committed;
    await Promise.resolve();
    expect(written).toEqual({ settled: true, ok: true });
    // Written: the next starts this turn with every key listed, so a client asking now waits for that start only.
    const next = watch(gc.behind());
    await turn();
    expect(writes.map((w) => w.keys.length)).toEqual([COMMIT_KEYS, BEHIND_KEYS]);
    expect(next).toEqual({ settled: true, ok: true });
    expect(gc.behind()).toBeUndefined();
    // A failed write ends the wait too (the keys go back to the list, and the retry is the disk's business).
    for (let i = 0; i < BEHIND_KEYS; i++) ks.incrBy(key(i), 1);
    const failing = watch(gc.behind());
    writes[1]?.fail(new Error('EIO'));
    await vi.waitUntil(() => failing.settled);
    expect(failing.ok).toBe(true);
    // Not written and not scheduled (the failing disk waits for its retry timer): no wait, whatever is listed.
    expect(gc.behind()).toBeUndefined();
    const retry = await nextWrite();
    expect(retry.keys).toHaveLength(COMMIT_KEYS + BEHIND_KEYS);
    writes[0]?.sync();
    retry.sync();
    await gc.close();
  });

  it('behind: a commit about to start with fewer than COMMIT_KEYS keys is no reason to wait', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'everysec');
    for (let i = 0; i < 3; i++) ks.incrBy(fullKey(0, `k${i}`), 1);
    const f = gc.flush(); // schedules a commit of three keys
    expect(gc.behind()).toBeUndefined();
    await turn();
    expect(writes.map((w) => w.keys.length)).toEqual([3]);
    writes[0]?.sync();
    await f;
    await gc.close();
  });

  it('behind never waits under always (every reply already waits for its commit)', async () => {
    const { store } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    for (let i = 0; i < COMMIT_KEYS + 1; i++) ks.incrBy(fullKey(0, `k${i}`), 1);
    expect(gc.behind()).toBeUndefined();
    await turn();
    for (let i = 0; i < COMMIT_KEYS + 1; i++) ks.incrBy(fullKey(0, `k${i}`), 1);
    expect(gc.behind()).toBeUndefined();
  });
});

describe('a failing disk', () => {
  it('a failed local commit: reported with its key count, its writers told, the keys retried until on disk', async () => {
    const { store, writes, next } = heldStore();
    const ks = new Keyspace('n1:1');
    const failures: [unknown, number][] = [];
    let failed!: () => void;
    const firstFailure = new Promise<void>((r) => {
      failed = r;
    });
    const gc = groupCommit(store, ks, 'always', (err, keys) => {
      failures.push([err, keys]);
      failed();
    });
    ks.incrBy(A, 1);
    ks.incrBy(B, 1);
    const p = watch(gc.durable());
    const when: boolean[] = [];
    gc.whenDurable((ok) => when.push(ok));
    await turn();
    await ioTurn();
    const disk = new Error('ENOSPC');
    writes[0]?.fail(disk);
    await firstFailure;
    // Still not durable: a reply asked for now waits too.
    expect(gc.durable()).toBeInstanceOf(Promise);
    // No new commit before the retry, even for a new write (this turn ends before any timer).
    ks.incrBy(C, 1);
    await turn();
    expect(writes).toHaveLength(1);
    expect(failures).toEqual([[disk, 2]]);
    expect(gc.stats.failures).toBe(1);
    expect(p).toEqual({ settled: true, ok: false });
    expect(when).toEqual([false]);
    // The retry writes every key again.
    const retry = await next();
    expect(retry.keys.sort()).toEqual([A, B, C]);
    const again = gc.durable();
    retry.sync();
    await again;
    expect(onDisk(store)).toEqual([A, B, C]);
    expect(gc.durable()).toBeUndefined();
    expect(gc.stats).toMatchObject({ commits: 1, failures: 1 });
  });

  it('a failed commit of merges only holds no reply; a flush waiting on it waits for it to end', async () => {
    const { store, writes, next } = heldStore();
    const ks = new Keyspace('n1:1');
    let failed!: () => void;
    const failure = new Promise<void>((r) => {
      failed = r;
    });
    const gc = groupCommit(store, ks, 'always', () => failed());
    mergeFromPeer(ks, A);
    await turn();
    const f = watch(gc.flush());
    await turn();
    expect(f.settled).toBe(false);
    writes[0]?.fail(new Error('EIO'));
    await failure;
    expect(gc.durable()).toBeUndefined();
    await vi.waitUntil(() => f.settled);
    (await next()).sync();
    await gc.flush();
    expect(onDisk(store)).toEqual([A]);
  });

  it("a failed commit of merges does not answer for a later commit's local writes still syncing", async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    let failed!: () => void;
    const failure = new Promise<void>((r) => {
      failed = r;
    });
    const gc = groupCommit(store, ks, 'always', () => failed());
    mergeFromPeer(ks, A);
    await turn();
    writes[0]?.commit();
    await writes[0]?.committed;
    ks.incrBy(B, 1);
    const p = gc.durable();
    await turn();
    expect(writes.map((w) => w.keys)).toEqual([[A], [B]]);
    // The merges' commit fails to sync; the local write's commit is still syncing.
    writes[0]?.fail(new Error('EIO'));
    await failure;
    expect(gc.durable()).toBe(p);
    writes[1]?.sync();
    await p;
  });

  it('close with a failing disk gives up after one failure and ignores changes after it', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const failures: number[] = [];
    const gc = groupCommit(store, ks, 'always', (_e, keys) => failures.push(keys));
    ks.incrBy(A, 1);
    const closing = gc.close();
    await turn();
    writes[0]?.fail(new Error('EIO'));
    await closing;
    expect(failures).toEqual([1]);
    const changes = gc.stats.changes;
    gc.changed(B, true);
    expect(gc.stats.changes).toBe(changes);
  });
});

describe('close', () => {
  it('commits what is left and waits for a commit in flight; changes after it are not tracked', async () => {
    const { store, writes } = heldStore();
    const ks = new Keyspace('n1:1');
    const gc = groupCommit(store, ks, 'always');
    mergeFromPeer(ks, A);
    await turn();
    writes[0]?.commit();
    await writes[0]?.committed;
    const closing = watch(gc.close());
    await turn();
    await turn();
    expect(closing.settled).toBe(false);
    writes[0]?.sync();
    await vi.waitUntil(() => closing.settled);
    expect(onDisk(store)).toEqual([A]);
    gc.changed(B, true);
    ks.incrBy(C, 1);
    expect(gc.durable()).toBeUndefined();
    expect(gc.stats.changes).toBe(1);
  });
});
