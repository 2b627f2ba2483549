// The durable store on a real LMDB file: round trip of every key type (long and binary keys too),
// group commit coalescing, identity floors, and the exact errors for corrupt, foreign and newer
// data directories (each names the path and what to do).

import { mkdtempSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import { GroupCommit } from '../../src/persistence/group-commit.js';
import { bumpIncarnation } from '../../src/persistence/identity.js';
import { VIEW_CHUNK_BYTES } from '../../src/crdt/codec.js';
import { DurableStore, MAX_INLINE_KEY_BYTES, STORE_FORMAT, StoreError, storePath } from '../../src/persistence/store.js';
import { replicaConfig } from '../../src/replication/config.js';
import { Replica } from '../../src/replication/replica.js';
import { SeededRng } from '../../src/util/rng.js';

const opened: DurableStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tally-store-'));
}

function openStore(dataDir: string, nodeId = 'n1', cluster = 'c1'): DurableStore {
  const { store } = DurableStore.open({ dataDir, nodeId, cluster });
  opened.push(store);
  return store;
}

async function closeAll(): Promise<void> {
  for (const s of opened.splice(0)) await s.close();
}

/** Writes every key of `ks` through a group commit and waits for it. */
async function persistAll(store: DurableStore, ks: Keyspace): Promise<GroupCommit> {
  const gc = new GroupCommit(store, ks, 'always');
  // Keys written before the group commit existed: mark them as a restore would not.
  for (const k of ks.keys()) gc.changed(k, true);
  await gc.flush();
  return gc;
}

describe('DurableStore', () => {
  it('round-trips counters, HLLs, tombstones, binary and long keys exactly', async () => {
    const dir = tmp();
    const store = openStore(dir);
    store.claim({ cluster: 'c1', nodeId: 'n1', incarnation: 1 });
    const ks = new Keyspace('n1:1');
    ks.incrBy(fullKey(0, 'hits'), 41);
    ks.incrBy(fullKey(0, 'hits'), 1);
    ks.incrBy(fullKey(3, 'neg'), -7);
    ks.incrBy(fullKey(0, 'views:a'), 5, 'gcounter');
    ks.incrBy(fullKey(0, Buffer.from([0, 255, 13, 10])), 9);
    ks.incrBy(fullKey(0, 'x'.repeat(MAX_INLINE_KEY_BYTES + 500)), 3);
    ks.pfadd(fullKey(0, 'visitors'), ['alice', 'bob', 'carol']);
    ks.incrBy(fullKey(0, 'gone'), 2);
    ks.del(fullKey(0, 'gone'));
    await persistAll(store, ks);
    await closeAll();

    const again = openStore(dir);
    const back = new Keyspace('n1:2');
    expect(again.loadInto(back)).toBe(ks.size);
    for (const k of ks.keys()) expect(back.encodeKey(k)).toEqual(ks.encodeKey(k));
    expect(back.getCounter(fullKey(0, 'hits'))).toEqual({ ok: true, value: 42 });
    expect(back.getCounter(fullKey(0, 'x'.repeat(MAX_INLINE_KEY_BYTES + 500)))).toEqual({ ok: true, value: 3 });
    expect(back.pfcount([fullKey(0, 'visitors')])).toEqual({ ok: true, value: 3 });
    expect(back.exists(fullKey(0, 'gone'))).toBe(false);
    expect(again.meta()).toEqual({ format: STORE_FORMAT, cluster: 'c1', nodeId: 'n1', incarnation: 1 });
  });

  it('keys a record by the full key\'s latin1 bytes, short or long, high bytes included, and loads each back', async () => {
    const dir = tmp();
    const store = openStore(dir);
    store.claim({ cluster: 'c1', nodeId: 'n1', incarnation: 1 });
    const ks = new Keyspace('n1:1');
    // Around the length where the store stops copying a key byte by byte (64 with its database byte).
    const keys = [1, 2, 62, 63, 64, 65, 200].map((n) => fullKey(2, Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) % 256))));
    keys.forEach((k, i) => ks.incrBy(k, i + 1));
    // Past MAX_INLINE_KEY_BYTES a record is keyed by 0xFE and the SHA-256 of the key, never the key.
    const long = fullKey(2, 'L'.repeat(MAX_INLINE_KEY_BYTES + 10));
    ks.incrBy(long, 99);
    await persistAll(store, ks);
    await closeAll();
    const db = open({ path: storePath(dir, 'n1'), noSubdir: true, encoding: 'binary', keyEncoding: 'binary' });
    const stored = new Set<string>();
    for (const { key } of db.getRange()) stored.add(Buffer.from(key as Uint8Array).toString('hex'));
    await db.close();
    for (const k of keys) expect(stored.has(Buffer.from(k, 'latin1').toString('hex'))).toBe(true);
    expect(stored.has(Buffer.from(long, 'latin1').toString('hex'))).toBe(false);
    const hashed = [...stored].filter((h) => h.startsWith('fe'));
    expect(hashed).toHaveLength(1);
    expect((hashed[0] as string).length).toBe(2 * 33);
    const again = openStore(dir);
    const back = new Keyspace('n1:2');
    expect(again.loadInto(back)).toBe(keys.length + 1);
    keys.forEach((k, i) => expect(back.getCounter(k)).toEqual({ ok: true, value: i + 1 }));
    expect(back.getCounter(long)).toEqual({ ok: true, value: 99 });
  });

  it('reports its records and the bytes of its file: records follow the keys, collection included; the file only grows', async () => {
    const store = openStore(tmp());
    // Not yet claimed: no meta record either.
    expect(store.stats().records).toBe(0);
    store.claim({ cluster: 'c1', nodeId: 'n1', incarnation: 1 });
    const empty = store.stats();
    expect(empty.records).toBe(0);
    expect(empty.bytes % 4096).toBe(0);
    expect(empty.bytes).toBeGreaterThan(0);
    const ks = new Keyspace('n1:1');
    const gc = new GroupCommit(store, ks, 'always');
    for (let i = 0; i < 2000; i++) ks.incrBy(fullKey(0, `k${i}`), i + 1);
    await gc.flush();
    const full = store.stats();
    expect(full.records).toBe(2000);
    // The file's size, as the file system sees it.
    expect(full.bytes).toBe(statSync(store.path).size);
    // 2,000 records of about 30 bytes each, on 4 KiB pages.
    expect(full.bytes).toBeGreaterThanOrEqual(empty.bytes + 60_000);
    for (let i = 0; i < 500; i++) ks.del(fullKey(0, `k${i}`));
    await gc.flush();
    expect(store.stats().records).toBe(2000);
    expect(ks.collectTombstones()).toHaveLength(500);
    await gc.flush();
    expect(store.stats().records).toBe(1500);
    expect(store.stats().bytes).toBeGreaterThanOrEqual(full.bytes);
    await gc.close();
    await closeAll();
    // Closed, it reports what it last saw.
    expect(store.stats().records).toBe(1500);
  });

  it('group commit writes a key once per commit however often it changed, and shares one commit among writers', async () => {
    const dir = tmp();
    const store = openStore(dir);
    const ks = new Keyspace('n1:1');
    const gc = new GroupCommit(store, ks, 'always');
    const waits: (Promise<void> | undefined)[] = [];
    for (let i = 0; i < 1000; i++) {
      ks.incrBy(fullKey(0, 'hot'), 1); // the group commit hears of it from the keyspace
      if (i % 100 === 0) ks.incrBy(fullKey(0, `cold${i}`), 1);
      waits.push(gc.durable());
    }
    // Every writer of this turn waits on the same commit.
    expect(new Set(waits).size).toBe(1);
    await Promise.all(waits);
    expect(gc.durable()).toBeUndefined();
    expect(gc.stats.commits).toBe(1);
    expect(gc.stats.changes).toBe(1010);
    expect(gc.stats.keysWritten).toBe(11);
    const rec = [...store.records()].find((r) => r.key === fullKey(0, 'hot'));
    expect(Buffer.from(rec?.bytes ?? [])).toEqual(Buffer.from(ks.encodeKey(fullKey(0, "hot"))?.bytes ?? [1]));
  });

  it('does not write the restored keys again when a new replica re-announces them', async () => {
    const store = openStore(tmp());
    const ks = new Keyspace('n1:1');
    ks.incrBy(fullKey(0, 'a'), 1);
    const gc = new GroupCommit(store, ks, 'always');
    const r = new Replica({ config: replicaConfig({ clusterName: 'c1' }), identity: { nodeId: 'n1', incarnation: 2, address: 'n1' }, rng: new SeededRng(1), transport: { send: () => {} }, keyspace: ks, now: 0 });
    // Re-announced as this incarnation's change (so peers learn of it), but not a change to write.
    expect(r.versions.known(r.origin)).toBe(1);
    expect(gc.durable()).toBeUndefined();
    expect(gc.stats.changes).toBe(0);
    // A write after that is tracked.
    ks.incrBy(fullKey(0, 'a'), 1);
    expect(gc.stats.changes).toBe(1);
    await gc.close();
  });

  it('keeps each key\'s local stamp beside its state; a format 1 record loads without one', async () => {
    const dir = tmp();
    const store = openStore(dir);
    store.claim({ cluster: 'c1', nodeId: 'n1', incarnation: 2 });
    const ks = new Keyspace('n1:2');
    const r = new Replica({ config: replicaConfig({ clusterName: 'c1' }), identity: { nodeId: 'n1', incarnation: 2, address: 'n1' }, rng: new SeededRng(1), transport: { send: () => {} }, keyspace: ks, now: 0 });
    const gc = new GroupCommit(store, ks, 'always');
    gc.stampOf = (key) => r.stampOf(key);
    ks.incrBy(fullKey(0, 'a'), 1);
    ks.incrBy(fullKey(0, 'x'.repeat(MAX_INLINE_KEY_BYTES + 10)), 1);
    ks.mergeRemote(fullKey(0, 'b'), ...(() => {
      const other = new Keyspace('n2:1');
      other.incrBy(fullKey(0, 'b'), 5);
      const e = other.encodeKey(fullKey(0, 'b'));
      if (e === undefined) throw new Error('no state');
      return [e.tag, e.bytes] as const;
    })());
    await gc.flush();
    await gc.close();
    await closeAll();
    // A format 1 record, as an older tally wrote it: [tag][state].
    const db = open({ path: storePath(dir, 'n1'), noSubdir: true, encoding: 'binary', keyEncoding: 'binary' });
    const old = new Keyspace('n1:1');
    old.incrBy(fullKey(0, 'old'), 7);
    const e = old.encodeKey(fullKey(0, 'old'));
    if (e === undefined) throw new Error('no state');
    db.putSync(Buffer.from(fullKey(0, 'old'), 'latin1'), Buffer.concat([Buffer.from([e.tag]), e.bytes]));
    await db.close();
    const again = openStore(dir);
    const back = new Keyspace('n1:3');
    const stamps = new Map();
    expect(again.loadInto(back, stamps)).toBe(4);
    expect(stamps).toEqual(new Map([
      [fullKey(0, 'a'), { incarnation: 2, version: 1 }],
      [fullKey(0, 'x'.repeat(MAX_INLINE_KEY_BYTES + 10)), { incarnation: 2, version: 2 }],
      [fullKey(0, 'b'), { incarnation: 0, version: 0 }],
    ]));
    expect(back.getCounter(fullKey(0, 'old'))).toEqual({ ok: true, value: 7 });
    expect(back.getCounter(fullKey(0, 'b'))).toEqual({ ok: true, value: 5 });
  });

  it('writes a stamp of any size beside a short or a long key, and reads each record back as written', async () => {
    const dir = tmp();
    const store = openStore(dir);
    store.claim({ cluster: 'c1', nodeId: 'n1', incarnation: 2 });
    const long = fullKey(0, 'y'.repeat(MAX_INLINE_KEY_BYTES + 3));
    const written = [
      { key: fullKey(0, 's'), tag: 2, bytes: Uint8Array.of(1, 2, 3), stamp: { incarnation: 1_733_450_000_123, version: 300 } },
      { key: fullKey(0, 'edge'), tag: 2, bytes: Uint8Array.of(6), stamp: { incarnation: 128, version: 127 } },
      { key: long, tag: 1, bytes: Uint8Array.of(9), stamp: { incarnation: 127, version: 2 ** 53 - 1 } },
      { key: fullKey(3, 'n'), tag: 2, bytes: Uint8Array.of(4, 5) },
      { key: fullKey(0, 'z'.repeat(MAX_INLINE_KEY_BYTES + 1)), tag: 2, bytes: Uint8Array.of(7) },
    ];
    await store.write(written).flushed;
    const plain = (r: { key: string; tag: number; bytes: Uint8Array; stamp?: unknown }) => ({ key: r.key, tag: r.tag, bytes: [...r.bytes], stamp: r.stamp });
    const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : 1);
    expect([...store.records()].map(plain).sort(byKey)).toEqual(written.map(plain).sort(byKey));
  });

  it('records written into the shared record buffer read back as written across many buffers, in one transaction and the next; a dropped record leaves no trace', async () => {
    const dir = tmp();
    const store = openStore(dir);
    store.claim({ cluster: 'c1', nodeId: 'n1', incarnation: 2 });
    const rng = new SeededRng(7);
    const expected = new Map<string, { key: string; tag: number; bytes: number[]; stamp?: { incarnation: number; version: number } }>();
    const state = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => rng.int(256));
    // Two transactions: the second's records are written after the first's views were handed to LMDB.
    for (let round = 0; round < 2; round++) {
      const batch = store.begin();
      for (let i = 0; i < 1_500; i++) {
        const key = i % 97 === 0 ? fullKey(1, `long-${round}-${i}-`.padEnd(MAX_INLINE_KEY_BYTES + 10, 'x')) : fullKey(0, `k-${round}-${i}`);
        // About 600 KB a round, many record buffers, and one state larger than a buffer.
        const bytes = state(i === 700 ? VIEW_CHUNK_BYTES + 1_000 : 1 + rng.int(800));
        const stamp = i % 3 === 0 ? undefined : { incarnation: 1_733_450_000_000 + i, version: 1 + rng.int(2 ** 40) };
        const w = batch.startRecord(key, stamp);
        w.bytes(bytes);
        if (i % 50 === 49) {
          batch.endRecord(undefined); // nothing held the key: the record is dropped
          continue;
        }
        const tag = 1 + rng.int(5);
        batch.endRecord(tag);
        expected.set(key, { key, tag, bytes: [...bytes], ...(stamp === undefined ? {} : { stamp }) });
      }
      // A record put whole, between records written in place.
      batch.put(fullKey(2, `whole-${round}`), 3, Uint8Array.of(round, 1, 2));
      expected.set(fullKey(2, `whole-${round}`), { key: fullKey(2, `whole-${round}`), tag: 3, bytes: [round, 1, 2] });
      await batch.end().flushed;
    }
    const plain = (r: { key: string; tag: number; bytes: Uint8Array; stamp?: unknown }) => ({ key: r.key, tag: r.tag, bytes: [...r.bytes], ...(r.stamp === undefined ? {} : { stamp: r.stamp }) });
    const got = new Map([...store.records()].map((r) => [r.key, plain(r)]));
    expect(got.size).toBe(expected.size);
    for (const [key, rec] of expected) expect(got.get(key)).toEqual(rec);
    expect(() => store.begin().endRecord(1)).toThrow(/no record was started/);
  });

  it('a stamp that does not decode: refuses as corrupt on load', async () => {
    const dir = tmp();
    const s = openStore(dir);
    s.claim({ cluster: 'c1', nodeId: 'n1', incarnation: 1 });
    await closeAll();
    const db = open({ path: storePath(dir, 'n1'), noSubdir: true, encoding: 'binary', keyEncoding: 'binary' });
    db.putSync(Buffer.from('\u0000hits', 'latin1'), Buffer.from([0xfc, 0x81]));
    await db.close();
    const again = openStore(dir);
    expect(() => again.loadInto(new Keyspace('n1:2'))).toThrow(`the data store ${storePath(dir, 'n1')} is corrupt (bad stamp at record "\\u0000hits")`);
  });

  it('everysec commits from its timer and on flush, and never holds replies', async () => {
    const store = openStore(tmp());
    const ks = new Keyspace('n1:1');
    const gc = new GroupCommit(store, ks, 'everysec');
    ks.incrBy(fullKey(0, 'a'), 5);
    const deadline = Date.now() + 5_000;
    while (gc.stats.commits === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(gc.stats.commits).toBe(1);
    ks.incrBy(fullKey(0, 'a'), 1);
    await gc.close();
    expect(gc.stats.commits).toBe(2);
    const back = new Keyspace('n1:2');
    store.loadInto(back);
    expect(back.getCounter(fullKey(0, 'a'))).toEqual({ ok: true, value: 6 });
  });
});

describe('the data directory', () => {
  it('is created 0700 by the store and by the identity: no other user may read the counts or key names', () => {
    for (const first of ['store', 'identity'] as const) {
      const dataDir = join(tmp(), 'data'); // missing: created too
      if (first === 'store') openStore(dataDir);
      else bumpIncarnation(dataDir, 'n1', 'c1');
      expect(statSync(join(dataDir, 'n1')).mode & 0o777, `${first}: <dataDir>/<id>`).toBe(0o700);
      expect(statSync(dataDir).mode & 0o777, `${first}: <dataDir>`).toBe(0o700);
      // The other one, on the directory the first made: it stays 0700.
      if (first === 'store') bumpIncarnation(dataDir, 'n1', 'c1');
      else openStore(dataDir);
      expect(statSync(join(dataDir, 'n1')).mode & 0o777).toBe(0o700);
    }
  });
});

describe('opening a data directory that is not ours', () => {
  const expectError = (fn: () => unknown, ...parts: string[]): void => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    for (const p of parts) expect((err as Error).message).toContain(p);
  };

  it('another cluster: refuses, naming the path and what to do', async () => {
    const dir = tmp();
    openStore(dir, 'n1', 'c1').claim({ cluster: 'c1', nodeId: 'n1', incarnation: 4 });
    await closeAll();
    const path = storePath(dir, 'n1');
    expectError(() => openStore(dir, 'n1', 'other'), `the data store ${path} belongs to cluster 'c1', not 'other'. Check the config's "cluster" and dataDir`);
  });

  it("another node's store (copied under this node's id): refuses", async () => {
    const dir = tmp();
    openStore(dir, 'n2', 'c1').claim({ cluster: 'c1', nodeId: 'n2', incarnation: 4 });
    await closeAll();
    mkdirSync(join(dir, 'n1'));
    writeFileSync(storePath(dir, 'n1'), readFileSync(storePath(dir, 'n2')));
    expectError(() => openStore(dir, 'n1', 'c1'), `the data store ${storePath(dir, 'n1')} belongs to node 'n2', not 'n1'. Check --id and dataDir`);
  });

  it('a newer format: refuses, saying to upgrade', async () => {
    const dir = tmp();
    const db = open({ path: storePath(dir, 'n1'), noSubdir: true, encoding: 'binary', keyEncoding: 'binary' });
    mkdirSync(join(dir, 'n1'), { recursive: true });
    db.putSync(Buffer.from([0xff, 0x6d, 0x65, 0x74, 0x61]), Buffer.from(JSON.stringify({ format: STORE_FORMAT + 1, cluster: 'c1', nodeId: 'n1', incarnation: 9 })));
    await db.close();
    expectError(() => openStore(dir), `the data store ${storePath(dir, 'n1')} was written by a newer tally (format ${STORE_FORMAT + 1}; this one reads format ${STORE_FORMAT}). Upgrade tally`);
  });

  it('a file that is not LMDB: refuses as corrupt, saying to move it aside', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'n1'));
    writeFileSync(storePath(dir, 'n1'), Buffer.alloc(64 * 1024, 0x5a));
    expectError(() => openStore(dir), `the data store ${storePath(dir, 'n1')} is corrupt (no LMDB meta page: not an LMDB file, or overwritten). Move it (and its -lock file) aside`);
  });

  it('a store whose first meta page is overwritten: refuses as corrupt, though its second is intact', async () => {
    // LMDB reads the first meta page for the page size; lmdb-js crashes (SIGSEGV) on a damaged one.
    const dir = tmp();
    openStore(dir).claim({ cluster: 'c1', nodeId: 'n1', incarnation: 1 });
    await closeAll();
    const path = storePath(dir, 'n1');
    const file = readFileSync(path);
    file.fill(0, 0, 4096);
    expect(file.readUInt32LE(4096 + 24)).toBe(0xbeefc0de); // the second meta page
    writeFileSync(path, file);
    expectError(() => openStore(dir), `the data store ${path} is corrupt (no LMDB meta page: not an LMDB file, or overwritten). Move it (and its -lock file) aside`);
  });

  it('a truncated store: refuses as corrupt', async () => {
    const dir = tmp();
    openStore(dir).claim({ cluster: 'c1', nodeId: 'n1', incarnation: 1 });
    await closeAll();
    const path = storePath(dir, 'n1');
    writeFileSync(path, readFileSync(path).subarray(0, 100));
    expectError(() => openStore(dir), `the data store ${path} is corrupt (100 bytes: truncated)`);
  });

  it('a record that does not decode: refuses as corrupt on load, naming the key', async () => {
    const dir = tmp();
    const s = openStore(dir);
    s.claim({ cluster: 'c1', nodeId: 'n1', incarnation: 1 });
    await closeAll();
    const db = open({ path: storePath(dir, 'n1'), noSubdir: true, encoding: 'binary', keyEncoding: 'binary' });
    db.putSync(Buffer.from('\u0000hits', 'latin1'), Buffer.from([2, 99, 99, 99]));
    await db.close();
    const again = openStore(dir);
    expect(() => again.loadInto(new Keyspace('n1:2'))).toThrow(`the data store ${storePath(dir, 'n1')} is corrupt (key "\\u0000hits"`);
  });

  it('a corrupt meta record: refuses', async () => {
    const dir = tmp();
    const db = open({ path: storePath(dir, 'n1'), noSubdir: true, encoding: 'binary', keyEncoding: 'binary' });
    db.putSync(Buffer.from([0xff, 0x6d, 0x65, 0x74, 0x61]), Buffer.from('{not json'));
    await db.close();
    expectError(() => openStore(dir), `the data store ${storePath(dir, 'n1')} is corrupt (its meta record is not JSON)`);
  });
});

describe('incarnations', () => {
  it('a new or wiped node starts at the clock, above every incarnation it had; a restart adds one', () => {
    const dir = tmp();
    expect(bumpIncarnation(dir, 'n1', 'c', { now: 1_700_000_000_000 }).incarnation).toBe(1_700_000_000_000);
    // The clock went back: still one more than the last.
    expect(bumpIncarnation(dir, 'n1', 'c', { now: 5 }).incarnation).toBe(1_700_000_000_001);
    // The store saw a later one (identity.json restored from an old copy): above that.
    expect(bumpIncarnation(dir, 'n1', 'c', { now: 5, above: 1_800_000_000_000 }).incarnation).toBe(1_800_000_000_001);
  });
});
