// Tunable consistency with real processes: majority writes are read at once by majority reads on
// other nodes; WAIT counts replicas; with the majority paused (SIGSTOP) writes and reads fail with
// NOREPLICAS / NOQUORUM instead of answering wrongly, and recover on SIGCONT.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startCluster, waitForMembers, type TestCluster } from './harness.js';

let c: TestCluster;
const clients: Redis[] = [];

function redis(i: number): Redis {
  const r = new Redis({ host: '127.0.0.1', port: c.nodes[i]?.respPort as number, maxRetriesPerRequest: 0 });
  clients.push(r);
  return r;
}

beforeAll(async () => {
  c = await startCluster({ nodes: 3 });
  await waitForMembers(c, 3);
}, 60_000);

afterAll(async () => {
  for (const n of c?.nodes ?? []) if (n.proc?.pid !== undefined) process.kill(n.proc.pid, 'SIGCONT');
  for (const r of clients) r.disconnect();
  await c?.stopAll();
});

describe('consistency levels over RESP', () => {
  it('a majority write is seen at once by a majority read on another node', async () => {
    const w = redis(0);
    const rd = redis(2);
    expect(await w.call('tally.consistency', 'writes', 'majority', 'timeout', '2000')).toEqual(['writes', 'majority', 'reads', 'local', 'timeout', 2000]);
    await rd.call('tally.consistency', 'reads', 'majority');
    for (let i = 1; i <= 20; i++) {
      expect(await w.incr('strong')).toBe(i);
      // No waiting between the acknowledged write and the read on another node.
      expect(await rd.get('strong')).toBe(String(i));
    }
  });

  it('WAIT returns how many peers hold this connection\'s writes', async () => {
    const r = redis(1);
    await r.incrby('waited', 7);
    expect(await r.call('wait', '2', '2000')).toBe(2);
    await expect(r.call('wait', 'x', '10')).rejects.toThrow('ERR value is not an integer or out of range');
  });

  it('without a reachable majority, majority writes and reads fail with a clear error', async () => {
    const [n2, n3] = [c.nodes[1], c.nodes[2]];
    const w = redis(0);
    await w.call('tally.consistency', 'writes', 'majority', 'reads', 'majority', 'timeout', '400');
    process.kill(n2?.proc?.pid as number, 'SIGSTOP');
    process.kill(n3?.proc?.pid as number, 'SIGSTOP');
    try {
      await expect(w.incr('lonely')).rejects.toThrow(/^NOREPLICAS majority not reached: 0 of the 1 peers/);
      await expect(w.get('lonely')).rejects.toThrow(/^NOQUORUM majority read failed: 0 of the 1 peers/);
      const local = redis(0);
      expect(await local.get('lonely')).toBe('1'); // applied locally, as the error said
    } finally {
      process.kill(n2?.proc?.pid as number, 'SIGCONT');
      process.kill(n3?.proc?.pid as number, 'SIGCONT');
    }
    expect(await w.incr('lonely')).toBe(2);
    expect(await w.get('lonely')).toBe('2');
  });
});
