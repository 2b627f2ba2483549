// The store's on-disk format byte for byte (src/persistence/store.ts): the record key (inline up to
// 1024 bytes, else 0xFE + SHA-256), the record value ([tag][state], a long key's length and bytes,
// the 0xFC stamp of uvarints), read back from a plain LMDB handle; every way a record or the meta
// record can be damaged, each refused with its exact message; and the store's own lifecycle.

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import { DurableStore, MAX_INLINE_KEY_BYTES, StoreError, storePath, type KeyRecord } from '../../src/persistence/store.js';

const MOVE_ASIDE = 'Move it (and its -lock file) aside to start this node empty: it rejoins and streams the state its peers hold, and only increments that no other node had are lost.';
const META = Buffer.from([0xff, 0x6d, 0x65, 0x74, 0x61]);
const META_OK = JSON.stringify({ format: 2, cluster: 'c1', nodeId: 'n1', incarnation: 1 });

const opened: DurableStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tally-format-'));
}

function openStore(dataDir: string): DurableStore {
  const { store } = DurableStore.open({ dataDir, nodeId: 'n1', cluster: 'c1' });
  opened.push(store);
  return store;
}

/** A new store, claimed (so it opens again). */
function newStore(dataDir: string): DurableStore {
  const store = openStore(dataDir);
  store.claim({ cluster: 'c1', nodeId: 'n1', incarnation: 1 });
  return store;
}

async function closeAll(): Promise<void> {
  for (const s of opened.splice(0)) await s.close();
}

const rawOptions = (dir: string) => ({ path: storePath(dir, 'n1'), noSubdir: true, encoding: 'binary', keyEncoding: 'binary', compression: false }) as const;

/** Writes records as they are, past the store (an older tally, or damage). */
async function rawPut(dir: string, entries: [Buffer, Buffer][]): Promise<void> {
  mkdirSync(join(dir, 'n1'), { recursive: true });
  const db = open<Buffer, Buffer>(rawOptions(dir));
  for (const [k, v] of entries) db.putSync(k, v);
  await db.close();
}

/** Every record as LMDB holds it, meta record included. */
async function rawAll(dir: string): Promise<Map<string, Buffer>> {
  const db = open<Buffer, Buffer>(rawOptions(dir));
  const out = new Map<string, Buffer>();
  for (const { key, value } of db.getRange({})) out.set(Buffer.from(key).toString('hex'), Buffer.from(value));
  await db.close();
  return out;
}

/** A data dir holding a meta record and `entries`; the message loadInto refuses it with. */
async function loadError(entries: [Buffer, Buffer][]): Promise<{ path: string; message: string }> {
  const dir = tmp();
  await rawPut(dir, [[META, Buffer.from(META_OK)], ...entries]);
  const store = openStore(dir);
  try {
    store.loadInto(new Keyspace('n1:2'));
  } catch (e) {
    expect(e).toBeInstanceOf(StoreError);
    return { path: store.path, message: (e as Error).message };
  }
  throw new Error('loadInto accepted the records');
}

const k = (s: string): Buffer => Buffer.from(s, 'latin1');
const hashKey = (key: string): Buffer => Buffer.concat([Buffer.from([0xfe]), createHash('sha256').update(k(key)).digest()]);
const shown = (b: Buffer): string => JSON.stringify(b.toString('latin1'));
/** A record with its bytes as a plain array, to compare strictly (a `stamp: undefined` field fails). */
const plain = (r: KeyRecord | undefined): unknown => (r === undefined ? r : { ...r, bytes: [...r.bytes] });

describe('the record format on disk', () => {
  it('lives at <dataDir>/<id>/store.mdb', () => {
    expect(storePath('/data', 'n1')).toBe(join('/data', 'n1', 'store.mdb'));
    const dir = tmp();
    openStore(dir);
    expect(statSync(join(dir, 'n1', 'store.mdb')).isFile()).toBe(true);
  });

  it('an unstamped record is [tag][state] under the key itself, uncompressed however large', async () => {
    const dir = tmp();
    const store = openStore(dir);
    const big = Buffer.alloc(5000, 0x61); // over lmdb-js's compression threshold
    await store.write([{ key: fullKey(0, 'a'), tag: 1, bytes: Uint8Array.of(7, 8, 9) }, { key: fullKey(2, 'big'), tag: 0, bytes: big }]).committed;
    await closeAll();
    const raw = await rawAll(dir);
    expect(raw.get(k(fullKey(0, 'a')).toString('hex'))).toEqual(Buffer.from([1, 7, 8, 9]));
    expect(raw.get(k(fullKey(2, 'big')).toString('hex'))).toEqual(Buffer.concat([Buffer.from([0]), big]));
  });

  it('a key of 1024 bytes is its own record key; from 1025 bytes, 0xFE and its SHA-256, the key inside the value', async () => {
    const dir = tmp();
    const store = newStore(dir);
    const inline = fullKey(0, 'i'.repeat(MAX_INLINE_KEY_BYTES - 1));
    const long = fullKey(0, 'l'.repeat(MAX_INLINE_KEY_BYTES));
    expect(k(inline).length).toBe(1024);
    expect(k(long).length).toBe(1025);
    await store.write([{ key: inline, tag: 1, bytes: Uint8Array.of(5) }, { key: long, tag: 2, bytes: Uint8Array.of(6, 7) }]).committed;
    await closeAll();
    const raw = await rawAll(dir);
    expect([...raw.keys()].sort()).toEqual([k(inline).toString('hex'), hashKey(long).toString('hex'), META.toString('hex')].sort());
    expect(raw.get(k(inline).toString('hex'))).toEqual(Buffer.from([1, 5]));
    const value = Buffer.alloc(5 + 1025 + 2);
    value[0] = 2;
    value.writeUInt32BE(1025, 1);
    k(long).copy(value, 5);
    value.set([6, 7], 1030);
    expect(raw.get(hashKey(long).toString('hex'))).toEqual(value);
    const again = openStore(dir);
    expect([...again.records()].map((r) => r.key).sort()).toEqual([inline, long].sort());
  });

  it('a stamp is 0xFC and two uvarints before the record, at every length up to 2^53 - 1', async () => {
    const dir = tmp();
    const store = newStore(dir);
    const cases: [LocalStampLike, number[]][] = [
      [{ incarnation: 0, version: 127 }, [0x00, 0x7f]],
      [{ incarnation: 128, version: 300 }, [0x80, 0x01, 0xac, 0x02]],
      [{ incarnation: 2 ** 35, version: 16_384 }, [0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x80, 0x80, 0x01]],
      [{ incarnation: Number.MAX_SAFE_INTEGER, version: 1 }, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]],
    ];
    const records: KeyRecord[] = cases.map(([stamp], i) => ({ key: fullKey(0, `k${i}`), tag: 1, bytes: Uint8Array.of(40 + i), stamp }));
    const long = fullKey(0, 'l'.repeat(2000));
    records.push({ key: long, tag: 1, bytes: Uint8Array.of(9), stamp: { incarnation: 5, version: 6 } });
    await store.write(records).committed;
    await closeAll();
    const raw = await rawAll(dir);
    cases.forEach(([, uvarints], i) => {
      expect(raw.get(k(fullKey(0, `k${i}`)).toString('hex')), `k${i}`).toEqual(Buffer.from([0xfc, ...uvarints, 1, 40 + i]));
    });
    expect(raw.get(hashKey(long).toString('hex'))?.subarray(0, 8)).toEqual(Buffer.from([0xfc, 5, 6, 1, 0, 0, 0x07, 0xd1]));
    // And back: records() and loadInto give every stamp as written.
    const again = openStore(dir);
    const back = [...again.records()];
    expect(back).toHaveLength(records.length);
    for (const r of records) expect(plain(back.find((b) => b.key === r.key))).toStrictEqual(plain(r));
  });

  it('records() gives no stamp field for an unstamped record, and skips a record that does not decode', async () => {
    const dir = tmp();
    await rawPut(dir, [
      [META, Buffer.from(META_OK)],
      [k(fullKey(0, 'a')), Buffer.from([1, 2, 3])],
      [k('\u0010bad'), Buffer.from([1, 2, 3])],
    ]);
    const store = openStore(dir);
    expect([...store.records()].map(plain)).toStrictEqual([{ key: fullKey(0, 'a'), tag: 1, bytes: [2, 3] }]);
  });

  it('loadInto without a stamp map loads stamped records too', async () => {
    const dir = tmp();
    const store = openStore(dir);
    const src = new Keyspace('n9:1');
    src.incrBy(fullKey(0, 'a'), 12);
    const e = src.encodeKey(fullKey(0, 'a'));
    if (e === undefined) throw new Error('no state');
    await store.write([{ key: fullKey(0, 'a'), ...e, stamp: { incarnation: 3, version: 4 } }]).committed;
    const back = new Keyspace('n1:2');
    expect(store.loadInto(back)).toBe(1);
    expect(back.getCounter(fullKey(0, 'a'))).toEqual({ ok: true, value: 12 });
  });
});

type LocalStampLike = { incarnation: number; version: number };

describe('a record that does not decode', () => {
  const at = (path: string, what: string, key: Buffer): string => `the data store ${path} is corrupt (${what} at record ${shown(key)}). ${MOVE_ASIDE}`;
  const key = k(fullKey(0, 'hits'));

  it('a stamp whose version is cut short, longer than 8 bytes, or past 2^53 - 1: bad stamp', async () => {
    for (const value of [
      [0xfc, 0x01, 0x80], // the incarnation reads, the version does not end
      [0xfc, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00, 1, 2], // a 9-byte zero
      [0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00, 1, 2], // 2^56 - 1
    ]) {
      const { path, message } = await loadError([[key, Buffer.from(value)]]);
      expect(message, JSON.stringify(value)).toBe(at(path, 'bad stamp', key));
    }
  });

  it('an empty value, stamped or not: empty value; a tag alone goes to the codec', async () => {
    for (const value of [[], [0xfc, 0x01, 0x01]]) {
      const { path, message } = await loadError([[key, Buffer.from(value)]]);
      expect(message, JSON.stringify(value)).toBe(at(path, 'empty value', key));
    }
    const { path, message } = await loadError([[key, Buffer.from([1])]]);
    expect(message.startsWith(`the data store ${path} is corrupt (key ${shown(key)}: `)).toBe(true);
  });

  it('a record key that is neither a full key nor a long key: unknown record kind', async () => {
    const bad = k('\u0010hits');
    const { path, message } = await loadError([[bad, Buffer.from([1, 2])]]);
    expect(message).toBe(at(path, 'unknown record kind 0x10', bad));
  });

  it('a long-key record cut short, or whose key is not the one hashed', async () => {
    const long = 'x'.repeat(1500);
    const rk = hashKey(long);
    const withKey = (n: number, keyBytes: Buffer, state: number[]): Buffer => {
      const head = Buffer.alloc(5);
      head[0] = 1;
      head.writeUInt32BE(n, 1);
      return Buffer.concat([head, keyBytes, Buffer.from(state)]);
    };
    for (const [value, what] of [
      [Buffer.from([1, 0, 0, 5]), 'truncated long-key record'],
      [withKey(1500, k(long).subarray(0, 1499), []), 'truncated long-key record'],
      [withKey(0, Buffer.alloc(0), []), 'long key does not match its hash'],
      [withKey(1500, k('y'.repeat(1500)), [2, 3]), 'long key does not match its hash'],
    ] as const) {
      const { path, message } = await loadError([[rk, value]]);
      expect(message, what).toBe(at(path, what, rk));
    }
  });

  it('a long-key record whose state is empty still decodes (the codec refuses it)', async () => {
    const long = 'z'.repeat(1500);
    const head = Buffer.alloc(5);
    head[0] = 1;
    head.writeUInt32BE(1500, 1);
    const dir = tmp();
    await rawPut(dir, [[META, Buffer.from(META_OK)], [hashKey(long), Buffer.concat([head, k(long)])]]);
    const store = openStore(dir);
    expect([...store.records()].map(plain)).toStrictEqual([{ key: long, tag: 1, bytes: [] }]);
    expect(() => store.loadInto(new Keyspace('n1:2'))).toThrow(`the data store ${store.path} is corrupt (key ${shown(hashKey(long))}: `);
  });

  it('names at most the first 64 characters of the key', async () => {
    const long = k(fullKey(0, 'q'.repeat(99)));
    const { message } = await loadError([[long, Buffer.from([2, 99, 99, 99])]]);
    expect(message).toContain(`(key "\\u0000${'q'.repeat(63)}": `);
  });
});

describe('opening', () => {
  const refusal = (dir: string): string => {
    try {
      openStore(dir);
    } catch (e) {
      expect(e).toBeInstanceOf(StoreError);
      expect((e as Error).name).toBe('StoreError');
      return (e as Error).message;
    }
    throw new Error('the store opened');
  };

  it('a new store has no meta record until claimed', async () => {
    const dir = tmp();
    const { store, previous } = DurableStore.open({ dataDir: dir, nodeId: 'n1', cluster: 'c1' });
    opened.push(store);
    expect(previous).toBeNull();
    expect(store.meta()).toBeNull();
    store.claim({ cluster: 'c1', nodeId: 'n1', incarnation: 7 });
    await closeAll();
    const again = DurableStore.open({ dataDir: dir, nodeId: 'n1', cluster: 'c1' });
    opened.push(again.store);
    expect(again.previous).toEqual({ format: 2, cluster: 'c1', nodeId: 'n1', incarnation: 7 });
  });

  it('an empty file is a new store (LMDB initialises it)', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'n1'));
    writeFileSync(storePath(dir, 'n1'), '');
    const store = openStore(dir);
    expect(store.meta()).toBeNull();
  });

  it('a file of two pages that is not LMDB: no meta page, not truncated', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'n1'));
    writeFileSync(storePath(dir, 'n1'), Buffer.alloc(8192, 0x33));
    expect(refusal(dir)).toBe(`the data store ${storePath(dir, 'n1')} is corrupt (no LMDB meta page: not an LMDB file, or overwritten). ${MOVE_ASIDE}`);
  });

  it('a path LMDB cannot open: refuses, naming the path and the reason', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'n1'));
    symlinkSync(storePath(dir, 'n1'), storePath(dir, 'n1')); // a symlink loop
    const message = refusal(dir);
    expect(message.startsWith(`the data store ${storePath(dir, 'n1')} cannot be opened (`)).toBe(true);
    expect(message.endsWith(`): it is corrupt or not an LMDB file. ${MOVE_ASIDE}`)).toBe(true);
  });

  it('records but no meta record: refuses as corrupt', async () => {
    const dir = tmp();
    await rawPut(dir, [[k(fullKey(0, 'a')), Buffer.from([1, 2])]]);
    expect(refusal(dir)).toBe(`the data store ${storePath(dir, 'n1')} is corrupt (records but no meta record). ${MOVE_ASIDE}`);
  });

  it('a meta record that is not JSON, or lacks a field: refuses as corrupt, with that message alone', async () => {
    const notJson = tmp();
    await rawPut(notJson, [[META, Buffer.from('{not json')]]);
    expect(refusal(notJson)).toBe(`the data store ${storePath(notJson, 'n1')} is corrupt (its meta record is not JSON). ${MOVE_ASIDE}`);
    for (const meta of [
      'null',
      '5',
      '{"cluster":"c1","nodeId":"n1","incarnation":1}',
      '{"format":"2","cluster":"c1","nodeId":"n1","incarnation":1}',
      '{"format":2,"nodeId":"n1","incarnation":1}',
      '{"format":2,"cluster":"c1","incarnation":1}',
      '{"format":2,"cluster":"c1","nodeId":1,"incarnation":1}',
      '{"format":2,"cluster":"c1","nodeId":"n1"}',
      '{"format":2,"cluster":"c1","nodeId":"n1","incarnation":"1"}',
      '{"format":2,"cluster":"c1","nodeId":"n1","incarnation":1.5}',
    ]) {
      const dir = tmp();
      await rawPut(dir, [[META, Buffer.from(meta)]]);
      expect(refusal(dir), meta).toBe(`the data store ${storePath(dir, 'n1')} is corrupt (its meta record lacks format, cluster, nodeId or incarnation). ${MOVE_ASIDE}`);
    }
  });

  it('a store whose pages LMDB cannot read: refuses as corrupt', async () => {
    const dir = tmp();
    openStore(dir).claim({ cluster: 'c1', nodeId: 'n1', incarnation: 1 });
    await closeAll();
    const path = storePath(dir, 'n1');
    const file = readFileSync(path);
    file.fill(0, 8192); // the meta pages stay; the tree they point at is gone
    writeFileSync(path, file);
    const message = refusal(dir);
    expect(message.startsWith(`the data store ${path} cannot be read (`)).toBe(true);
    expect(message.endsWith(`): it is corrupt. ${MOVE_ASIDE}`)).toBe(true);
  });

  /** A claimed store of `n` counter records, closed, and its file's bytes. */
  async function storeOf(n: number): Promise<{ dir: string; path: string; file: Buffer }> {
    const dir = tmp();
    const store = newStore(dir);
    const ks = new Keyspace('n1:1');
    const records: KeyRecord[] = [];
    for (let i = 0; i < n; i++) {
      const key = fullKey(0, `key:${i}`);
      ks.incrBy(key, i + 1);
      const enc = ks.encodeKey(key);
      if (enc !== undefined) records.push({ key, ...enc });
    }
    await store.write(records).flushed;
    await closeAll();
    const path = storePath(dir, 'n1');
    return { dir, path, file: readFileSync(path) };
  }

  it('a tree whose pages crash a reader: refuses as corrupt, and this process lives on', async () => {
    const { dir, path, file } = await storeOf(3000);
    const reasons: string[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      // 20 bytes of the pages after the two meta pages set to pseudo-random values (xorshift).
      let x = 0x2545f491 ^ seed;
      const next = (): number => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return x >>> 0;
      };
      const damaged = Buffer.from(file);
      for (let i = 0; i < 20; i++) damaged[8192 + (next() % (file.length - 8192))] = next() & 0xff;
      writeFileSync(path, damaged);
      let message: string;
      try {
        openStore(dir);
        await closeAll();
        continue; // these bytes fell where reading does not go (free pages, or a value: the load decodes those)
      } catch (e) {
        message = (e as Error).message;
      }
      const head = `the data store ${path} cannot be read (`;
      const tail = `): it is corrupt. ${MOVE_ASIDE}`;
      expect(message.startsWith(head) && message.endsWith(tail), message).toBe(true);
      reasons.push(message.slice(head.length, -tail.length));
    }
    // Some of these crash LMDB outright (a reader in this process would have died with it); others
    // fail with an LMDB error or hide records; every refusal names the store and what to do.
    expect(reasons.some((r) => /^a reader crashed on it with SIG[A-Z]+$/.test(r)), reasons.join('; ')).toBe(true);
  });

  it('a tree that hides records from a reader: refuses, with the count LMDB lists and the count read', async () => {
    const { dir, path, file } = await storeOf(300);
    // LMDB keeps the number of records in its meta pages (with the meta record: 301). Raised to
    // 305 there, the tree now holds fewer than listed: what a branch page overwritten by damage
    // does to a reader, which then skips the records under it without an error.
    const listed = Buffer.alloc(8);
    listed.writeBigUInt64LE(301n);
    let raised = 0;
    for (const page of [0, 4096]) {
      const at = file.subarray(page, page + 256).indexOf(listed);
      if (at < 0) continue;
      file.writeBigUInt64LE(305n, page + at);
      raised++;
    }
    expect(raised).toBeGreaterThan(0);
    writeFileSync(path, file);
    expect(refusal(dir)).toBe(`the data store ${path} cannot be read (its B-tree lists 305 records, but 301 could be read): it is corrupt. ${MOVE_ASIDE}`);
  });

  it.skipIf(platform() !== 'linux')('closes every file it opened when it refuses a store', async () => {
    const dirs: string[] = [];
    for (let i = 0; i < 15; i++) {
      const dir = tmp();
      await rawPut(dir, [[META, Buffer.from(JSON.stringify({ format: 2, cluster: 'other', nodeId: 'n1', incarnation: 1 }))]]);
      const notLmdb = tmp();
      mkdirSync(join(notLmdb, 'n1'));
      writeFileSync(storePath(notLmdb, 'n1'), Buffer.alloc(8192, 0x33));
      dirs.push(dir, notLmdb);
    }
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (const dir of dirs) expect(() => openStore(dir)).toThrow(StoreError);
    // Two or more descriptors per refusal would leak 30 or more; allow for the rest of the process.
    expect(fds() - before).toBeLessThan(10);
  });
});

describe('writing', () => {
  it('removes what it is told to, in the same transaction as the records', async () => {
    const dir = tmp();
    const store = openStore(dir);
    const long = fullKey(0, 'l'.repeat(1500));
    await store.write([{ key: fullKey(0, 'a'), tag: 1, bytes: Uint8Array.of(1) }, { key: long, tag: 1, bytes: Uint8Array.of(2) }]).committed;
    const { committed, flushed } = store.write([{ key: fullKey(0, 'b'), tag: 1, bytes: Uint8Array.of(3) }], [fullKey(0, 'a'), long]);
    await committed;
    expect([...store.records()].map((r) => r.key)).toEqual([fullKey(0, 'b')]);
    await flushed;
  });

  it('an empty write commits at once; what it committed is readable when `committed` resolves', async () => {
    const store = openStore(tmp());
    await store.write([]).committed;
    await store.write([]).flushed;
    await store.write([{ key: fullKey(0, 'a'), tag: 1, bytes: Uint8Array.of(1) }]).committed;
    expect([...store.records()]).toHaveLength(1);
  });

  it('after close: every write fails with StoreError, and closing again is harmless', async () => {
    const dir = tmp();
    const store = openStore(dir);
    await store.close();
    await store.close();
    const { committed, flushed } = store.write([{ key: fullKey(0, 'a'), tag: 1, bytes: Uint8Array.of(1) }]);
    await expect(committed).rejects.toThrow(new StoreError(`the data store ${store.path} is closed`));
    await expect(flushed).rejects.toBeInstanceOf(StoreError);
    // A batch begun after close: records built in place and removals are dropped, and it fails too.
    const batch = store.begin();
    batch.startRecord(fullKey(0, 'b')).u8(1);
    batch.endRecord(1);
    batch.remove(fullKey(0, 'c'));
    await expect(batch.end().committed).rejects.toThrow(new StoreError(`the data store ${store.path} is closed`));
    const again = openStore(dir);
    expect([...again.records()]).toEqual([]);
  });
});
