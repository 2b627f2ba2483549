// Nodes that start one after another log no warning for the peers not up yet ("not reachable yet",
// info); a peer that was reached and then dies is still a WARN. Real processes on 127.0.0.1.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, until, waitForMembers, type TestCluster } from './harness.js';

let c: TestCluster;
beforeAll(async () => {
  c = await startCluster({ nodes: 2, deferred: ['n2'] });
}, 60_000);
afterAll(async () => {
  await c?.stopAll();
});

/** The n1 log lines about n2's gossip address, as [level, msg]. */
function linesAbout(port: number): [number, string][] {
  return c
    .log('n1')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; peer?: string })
    .filter((o) => o.peer === `127.0.0.1:${port}`)
    .map((o) => [o.level, o.msg]);
}

describe('gossip peer reachability in the log', () => {
  it('a peer not started yet is info, not WARN; once reached and lost, WARN', async () => {
    const n2 = c.nodes[1]!;
    await until('n1 to note n2 not reachable yet', () => linesAbout(n2.gossipPort).some(([, m]) => m.startsWith('gossip peer not reachable yet')));
    await c.start('n2');
    await waitForMembers(c, 2);
    const before = linesAbout(n2.gossipPort);
    expect(before.filter(([level]) => level >= 40)).toEqual([]);
    expect(before.find(([, m]) => m.startsWith('gossip peer not reachable yet'))?.[0]).toBe(30);

    await c.stop('n2', 'SIGKILL');
    await until('n1 to warn that n2 is unreachable', () => linesAbout(n2.gossipPort).some(([level, m]) => level === 40 && m.startsWith('gossip peer unreachable')));
  });
});
