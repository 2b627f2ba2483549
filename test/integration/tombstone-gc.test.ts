// Tombstone collection on real node processes (replication/tombstone-gc.ts): after FLUSHALL on one
// node, every node drops the deleted counters (INFO memory shows tombstones fall to 0 and counts the
// collected ones), and a key written again afterwards, on a node restarted with its data, counts
// only its new increments everywhere.

import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, until, waitForMembers, type TestCluster } from './harness.js';
import { respClient, tallyMemory } from './info.js';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ nodes: 3 });
  await waitForMembers(c, 3);
});

afterAll(async () => {
  await c?.stopAll();
});

const client = (i: number): Redis => respClient(c, i);
const memory = (i: number): Promise<Record<string, number>> => tallyMemory(c, i);

describe('tombstone collection', () => {
  it('after FLUSHALL every node drops the tombstones; a key written again counts only the new increments', async () => {
    const rs = [0, 1, 2].map(client);
    await Promise.all(rs.map((r) => r.connect()));
    try {
      for (let k = 0; k < 30; k++) await (rs[k % 3] as Redis).incrby(`gc:${k}`, k + 1);
      await until('every node holds the 30 keys', async () => (await Promise.all(rs.map((r) => r.dbsize()))).every((n) => n === 30));
      await (rs[1] as Redis).flushall();
      const after = await until('tombstones collected on every node', async () => {
        const m = await Promise.all([0, 1, 2].map(memory));
        return m.every((x) => x.tally_tombstones === 0 && (x.tally_tombstones_collected ?? 0) >= 30) ? m : undefined;
      });
      for (const m of after) expect(m.tally_keys).toBe(0);
    } finally {
      for (const r of rs) r.disconnect();
    }
    // n3 restarts with its data, then writes a collected key again: every node counts exactly that.
    await c.stop('n3');
    await c.start('n3');
    await waitForMembers(c, 3);
    const rs2 = [0, 1, 2].map(client);
    await Promise.all(rs2.map((r) => r.connect()));
    try {
      await (rs2[2] as Redis).incrby('gc:5', 2);
      await (rs2[0] as Redis).incrby('gc:5', 1);
      await until('gc:5 is 3 on every node', async () => (await Promise.all(rs2.map((r) => r.get('gc:5')))).every((v) => v === '3'));
      expect(await Promise.all(rs2.map((r) => r.get('gc:6')))).toEqual([null, null, null]);
    } finally {
      for (const r of rs2) r.disconnect();
    }
  });
});
