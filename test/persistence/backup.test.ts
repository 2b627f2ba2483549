// `backupStore` (src/persistence/store.ts) on real LMDB files: the copy holds every record and the
// meta record, opens as a store, and is the data file alone; and each store it refuses to copy
// (missing, corrupt, never claimed, another node's or cluster's, into a path that exists) is refused
// with its exact message. The CLI around it is tested in test/cli/backup.test.ts.

import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { backupStore, DurableStore, StoreError, storePath } from '../../src/persistence/store.js';

const opened: DurableStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tally-backup-'));
}

/** A store of n1 in cluster c1 with `keys` records, closed. */
async function storeWith(dataDir: string, keys: string[], nodeId = 'n1', cluster = 'c1'): Promise<void> {
  const { store } = DurableStore.open({ dataDir, nodeId, cluster });
  store.claim({ cluster, nodeId, incarnation: 3 });
  await store.write(keys.map((k, i) => ({ key: fullKey(0, k), tag: 1, bytes: Uint8Array.of(i), stamp: { incarnation: 3, version: i + 1 } }))).flushed;
  await store.close();
}

async function refusal(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StoreError);
    return (e as Error).message;
  }
  throw new Error('the backup went ahead');
}

describe('backupStore', () => {
  it('copies every record and the meta record into a new file, which opens as the store', async () => {
    const dataDir = tmp();
    await storeWith(dataDir, ['a', 'b', 'x'.repeat(1500)]);
    const dest = join(tmp(), 'copy.mdb');
    const r = await backupStore({ dataDir, nodeId: 'n1', cluster: 'c1' }, dest);
    expect(r).toEqual({ path: dest, meta: { format: 2, cluster: 'c1', nodeId: 'n1', incarnation: 3 }, records: 3 });
    // The data file alone: reading the copy made a lock file, which is removed.
    expect(existsSync(dest)).toBe(true);
    expect(existsSync(`${dest}-lock`)).toBe(false);
    // Restored as another data dir's store, it loads as the original.
    const restored = tmp();
    mkdirSync(join(restored, 'n1'));
    cpSync(dest, storePath(restored, 'n1'));
    const { store, previous } = DurableStore.open({ dataDir: restored, nodeId: 'n1', cluster: 'c1' });
    opened.push(store);
    expect(previous).toEqual(r.meta);
    expect([...store.records()].map((x) => [x.key, [...x.bytes], x.stamp])).toEqual([
      [fullKey(0, 'a'), [0], { incarnation: 3, version: 1 }],
      [fullKey(0, 'b'), [1], { incarnation: 3, version: 2 }],
      [fullKey(0, 'x'.repeat(1500)), [2], { incarnation: 3, version: 3 }],
    ]);
  });

  it('copies a store that is open and being written', async () => {
    const dataDir = tmp();
    const { store } = DurableStore.open({ dataDir, nodeId: 'n1', cluster: 'c1' });
    opened.push(store);
    store.claim({ cluster: 'c1', nodeId: 'n1', incarnation: 1 });
    await store.write([{ key: fullKey(0, 'a'), tag: 1, bytes: Uint8Array.of(1) }]).flushed;
    const r = await backupStore({ dataDir, nodeId: 'n1', cluster: 'c1' }, join(tmp(), 'live.mdb'));
    expect(r.records).toBe(1);
    await store.write([{ key: fullKey(0, 'b'), tag: 1, bytes: Uint8Array.of(2) }]).flushed;
    expect([...store.records()]).toHaveLength(2);
  });

  it('no store: says where it looked and what to check', async () => {
    const dataDir = tmp();
    const message = await refusal(() => backupStore({ dataDir, nodeId: 'n1', cluster: 'c1' }, join(tmp(), 'x.mdb')));
    expect(message).toBe(`no data store at ${storePath(dataDir, 'n1')}: is dataDir right, and does node 'n1' run here with persistence "everysec" or "always"?`);
  });

  it('a corrupt store: nothing to back up', async () => {
    const dataDir = tmp();
    mkdirSync(join(dataDir, 'n1'));
    writeFileSync(storePath(dataDir, 'n1'), Buffer.alloc(100));
    const message = await refusal(() => backupStore({ dataDir, nodeId: 'n1', cluster: 'c1' }, join(tmp(), 'x.mdb')));
    expect(message).toBe(`the data store ${storePath(dataDir, 'n1')} is corrupt (100 bytes: truncated): nothing to back up`);
  });

  it('a destination that exists: refused, and left as it was', async () => {
    const dataDir = tmp();
    await storeWith(dataDir, ['a']);
    const dest = join(tmp(), 'exists.mdb');
    writeFileSync(dest, 'mine');
    const message = await refusal(() => backupStore({ dataDir, nodeId: 'n1', cluster: 'c1' }, dest));
    expect(message).toBe(`${dest} already exists: back up into a new directory`);
    expect(readFileSync(dest, 'utf8')).toBe('mine');
  });

  it('a store never claimed (a node that never finished starting): nothing to back up', async () => {
    const dataDir = tmp();
    const { store } = DurableStore.open({ dataDir, nodeId: 'n1', cluster: 'c1' });
    await store.close();
    const dest = join(tmp(), 'x.mdb');
    const message = await refusal(() => backupStore({ dataDir, nodeId: 'n1', cluster: 'c1' }, dest));
    expect(message).toBe(`the data store ${storePath(dataDir, 'n1')} has no meta record yet (a node that never finished starting): nothing to back up`);
    expect(existsSync(dest)).toBe(false);
  });

  it("another cluster's store, or another node's: refused, nothing copied", async () => {
    const dataDir = tmp();
    await storeWith(dataDir, ['a']);
    const dest = join(tmp(), 'x.mdb');
    const path = storePath(dataDir, 'n1');
    expect(await refusal(() => backupStore({ dataDir, nodeId: 'n1', cluster: 'prod' }, dest))).toBe(`the data store ${path} belongs to node 'n1' of cluster 'c1', not 'n1' of 'prod'`);
    // n2's store copied under n1's id.
    const other = tmp();
    await storeWith(other, ['a'], 'n2');
    mkdirSync(join(dataDir, 'n9'));
    cpSync(storePath(other, 'n2'), storePath(dataDir, 'n9'));
    expect(await refusal(() => backupStore({ dataDir, nodeId: 'n9', cluster: 'c1' }, dest))).toBe(`the data store ${storePath(dataDir, 'n9')} belongs to node 'n2' of cluster 'c1', not 'n9' of 'c1'`);
    expect(existsSync(dest)).toBe(false);
  });

  it('a record that does not decode: the backup is corrupt, naming the record', async () => {
    const dataDir = tmp();
    await storeWith(dataDir, ['a']);
    const db = open<Buffer, Buffer>({ path: storePath(dataDir, 'n1'), noSubdir: true, encoding: 'binary', keyEncoding: 'binary', compression: false });
    db.putSync(Buffer.from('\u0010bad', 'latin1'), Buffer.from([1, 2]));
    await db.close();
    const dir = tmp();
    const dest = join(dir, 'x.mdb');
    const message = await refusal(() => backupStore({ dataDir, nodeId: 'n1', cluster: 'c1' }, dest));
    expect(message).toBe(`the backup ${dest} is corrupt (unknown record kind 0x10 at record "\\u0010bad")`);
    expect(readdirSync(dir)).toEqual(['x.mdb']);
  });

  it.skipIf(platform() !== 'linux')('closes the source and the copy it opened', async () => {
    const sources: string[] = [];
    for (let i = 0; i < 10; i++) {
      const dataDir = tmp();
      await storeWith(dataDir, ['a']);
      sources.push(dataDir);
    }
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (const dataDir of sources) await backupStore({ dataDir, nodeId: 'n1', cluster: 'c1' }, join(tmp(), 'copy.mdb'));
    // An environment left open keeps its data and lock files: 20 or more for 10 backups.
    expect(fds() - before).toBeLessThan(10);
  });
});
