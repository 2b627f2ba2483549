// A majority read must fetch: n1 and n3 cannot hear each other (the fault hook drops their gossip
// both ways) and gossip rounds are 30 s apart, so n3 learns n1's write only by asking n2. A majority
// write on n1 (acknowledged by n2) must be seen at once by a majority read on n3; a read that only
// looked at n3's own state would miss it (the test notes how often a local read did).

import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { FAULT_CONTROL_ENV, FAULT_POLL_MS } from '../../src/gossip/fault-control.js';
import { startCluster, waitForMembers, type TestCluster } from './harness.js';

let c: TestCluster;
const clients: Redis[] = [];
const faults = join(mkdtempSync(join(tmpdir(), 'tally-cut-')), 'faults.json');

function setRules(drop: Record<string, string[]>): void {
  writeFileSync(`${faults}.tmp`, JSON.stringify({ drop }));
  renameSync(`${faults}.tmp`, faults);
}

function redis(i: number): Redis {
  const r = new Redis({ host: '127.0.0.1', port: c.nodes[i]?.respPort as number, maxRetriesPerRequest: 0 });
  clients.push(r);
  return r;
}

beforeAll(async () => {
  setRules({});
  c = await startCluster({ nodes: 3, config: { gossip: { intervalMs: 30_000 } }, env: { [FAULT_CONTROL_ENV]: faults } });
  await waitForMembers(c, 3);
  const [n1, , n3] = c.nodes as [TestCluster['nodes'][number], TestCluster['nodes'][number], TestCluster['nodes'][number]];
  setRules({ n1: [`127.0.0.1:${n3.gossipPort}`], n3: [`127.0.0.1:${n1.gossipPort}`] });
  await new Promise((r) => setTimeout(r, FAULT_POLL_MS * 4));
}, 60_000);

afterAll(async () => {
  for (const r of clients) r.disconnect();
  await c?.stopAll();
});

describe('a majority read across a cut link', () => {
  it('sees every majority write acknowledged before it, fetched from the node in between', async () => {
    const w = redis(0);
    const local = redis(2);
    const rd = redis(2);
    await w.call('tally.consistency', 'writes', 'majority', 'timeout', '5000');
    await rd.call('tally.consistency', 'reads', 'majority', 'timeout', '5000');
    let staleLocal = 0;
    for (let i = 1; i <= 10; i++) {
      expect(await w.incr('across')).toBe(i);
      const seenLocally = await local.get('across');
      if (seenLocally !== String(i)) staleLocal++;
      expect(await rd.get('across')).toBe(String(i));
    }
    // The setup has bite: n3's own state lagged the acknowledged writes, so only fetching could pass.
    expect(staleLocal).toBeGreaterThan(0);
  });
});
