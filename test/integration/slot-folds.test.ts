// Pruning of retired slots on real node processes (replication/slot-folds.ts): a writing node killed
// with SIGKILL and restarted with its data twice leaves three incarnations' slots in every key it
// wrote; once the cluster is quiet every node folds the two old ones into the node's pseudo-slot
// (INFO memory: tally_slot_folds rises, tally_counter_slots falls), every count stays exact, and the
// bounds survive a restart of a node that folded (the store's meta record). Keys the writer wrote
// only before its first restart are left one slot, its pseudo-slot's, the others three, and every
// node holds them all compact again (INFO memory tally_compact_keys; keyspace/key-table.ts, `demote`).

import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { DurableStore } from '../../src/persistence/store.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, until, waitForMembers, type TestCluster } from './harness.js';
import { respClient, tallyMemory } from './info.js';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ nodes: 3, config: { persistence: 'everysec' } });
  await waitForMembers(c, 3);
});

afterAll(async () => {
  await c?.stopAll();
});

const client = (i: number): Redis => respClient(c, i);
const memory = (i: number): Promise<Record<string, number>> => tallyMemory(c, i);

const KEYS = 20;
/** Keys n1 writes once, before its first restart, and never again. */
const ONCE = 5;

/** Every key's value on node i. */
async function values(i: number): Promise<(string | null)[]> {
  const r = client(i);
  await r.connect();
  try {
    return await r.mget(...Array.from({ length: KEYS }, (_, k) => `fold:${k}`));
  } finally {
    r.disconnect();
  }
}

describe('pruning of retired slots', () => {
  it('folds a restarted writer\'s old incarnations on every node, keeps every count, and keeps the bounds across a restart', async () => {
    const model = new Array<number>(KEYS).fill(0);
    const writeAll = async (i: number, n: number): Promise<void> => {
      const r = client(i);
      await r.connect();
      try {
        for (let k = 0; k < KEYS; k++) {
          await r.incrby(`fold:${k}`, n);
          model[k] = (model[k] as number) + n;
        }
      } finally {
        r.disconnect();
      }
    };
    const converged = async (): Promise<boolean> => {
      const want = model.map(String);
      for (const i of [0, 1, 2]) if (JSON.stringify(await values(i)) !== JSON.stringify(want)) return false;
      return true;
    };
    await writeAll(1, 5); // n2 writes too: its slot stays
    {
      const r = client(0);
      await r.connect();
      try {
        for (let k = 0; k < ONCE; k++) await r.incrby(`once:${k}`, k + 1);
      } finally {
        r.disconnect();
      }
    }
    const onceValues = Array.from({ length: ONCE }, (_, k) => String(k + 1));
    for (let round = 0; round < 3; round++) {
      await writeAll(0, round + 1);
      await until(`round ${round}: every node holds n1's writes`, converged);
      if (round < 2) {
        await c.stop('n1', 'SIGKILL');
        await c.start('n1');
        await waitForMembers(c, 3);
      }
    }
    // n1's three incarnations wrote every key: 3 slots of n1 and one of n2 per key, before folding;
    // the once:* keys one slot of n1's first incarnation.
    const folded = await until('every node folded n1\'s two old incarnations', async () => {
      const m = await Promise.all([0, 1, 2].map(memory));
      return m.every((x) => (x.tally_slot_folds ?? 0) >= KEYS + ONCE && x.tally_counter_slots === KEYS * 3 + ONCE) ? m : undefined;
    }, 120_000);
    for (const m of folded) expect(m.tally_retired_origins).toBe(0);
    // The once:* keys, folded into n1's pseudo-slot, are compact again on every node, and so are the
    // others, left three slots (the pseudo-slot, n1's current incarnation's and n2's) where they held
    // four, one more than a compact key holds.
    for (const m of folded) expect(m.tally_compact_keys).toBe(KEYS + ONCE);
    expect(await converged()).toBe(true);
    for (const i of [0, 1, 2]) {
      const r = client(i);
      await r.connect();
      try {
        expect(await r.mget(...Array.from({ length: ONCE }, (_, k) => `once:${k}`))).toEqual(onceValues);
      } finally {
        r.disconnect();
      }
    }
    // n3 folded; stopped, its store's meta record holds the bounds (n1's third incarnation: the
    // highest of n1's the cluster had seen). It restarts with them, and a further restart of n1
    // folds into the same pseudo-slot.
    await c.stop('n3');
    const { store, previous } = DurableStore.open({ dataDir: join(c.dir, 'data'), nodeId: 'n3', cluster: 'it' });
    await store.close();
    expect(previous?.folds?.map(([id]) => id)).toEqual(['n1']);
    expect(previous?.folds?.[0]?.[1]).toBeGreaterThan(0);
    await c.start('n3');
    await waitForMembers(c, 3);
    await c.stop('n1', 'SIGKILL');
    await c.start('n1');
    await waitForMembers(c, 3);
    await writeAll(0, 7);
    await writeAll(2, 1);
    await until('every node holds the last writes', converged);
    await until('the third incarnation folded too', async () => {
      const m = await Promise.all([0, 1, 2].map(memory));
      return m.every((x) => x.tally_counter_slots === KEYS * 4 + ONCE) ? m : undefined;
    }, 120_000);
    expect(await converged()).toBe(true);
  });
});
