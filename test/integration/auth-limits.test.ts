// Failed AUTH is slowed, against a real node process and raw RESP connections: per connection (the
// k-th failure waits 100 ms x 2^(k-2)) and per address (past five recent failures, attempts from
// 127.0.0.1, right or wrong, take spaced slots), counted in /metrics and INFO, logged without the
// password. Only lower bounds on time are checked: a loaded machine can only make replies slower.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, startCluster, until, type TestCluster, type TestNode } from './harness.js';
import { RawRespClient } from '../oracle/raw-resp.js';

const PASSWORD = 'limits-Secret-pw';
let c: TestCluster;
let n: TestNode;

beforeAll(async () => {
  c = await startCluster({ nodes: 1, config: { auth: { password: PASSWORD } } });
  n = c.nodes[0] as TestNode;
});

afterAll(async () => {
  await c?.stopAll();
});

async function timed(client: RawRespClient, words: string[]): Promise<{ ms: number; reply: string }> {
  const t0 = performance.now();
  const reply = (await client.send(words)).toString();
  return { ms: performance.now() - t0, reply };
}

describe('failed AUTH', () => {
  it('is slowed per connection, then per address, right password included, and counted', async () => {
    const one = await RawRespClient.connect(n.respPort, 'tally');
    const attempts = [];
    for (let i = 0; i < 4; i++) attempts.push(await timed(one, ['AUTH', `wrong-${i}`]));
    one.close();
    expect(attempts.map((a) => a.reply)).toEqual(Array(4).fill('-WRONGPASS invalid username-password pair or user is disabled.\r\n'));
    expect(attempts[1]?.ms).toBeGreaterThanOrEqual(95);
    expect(attempts[2]?.ms).toBeGreaterThanOrEqual(195);
    expect(attempts[3]?.ms).toBeGreaterThanOrEqual(395);
    // Two more failures from other connections: 127.0.0.1 has six recent failures...
    for (let i = 0; i < 2; i++) {
      const x = await RawRespClient.connect(n.respPort, 'tally');
      await x.send(['AUTH', `again-${i}`]);
      x.close();
    }
    // ...so attempts from it, on fresh connections and with the right password, wait for slots.
    const conns = await Promise.all([0, 1, 2].map(() => RawRespClient.connect(n.respPort, 'tally')));
    const right = await Promise.all(conns.map((x) => timed(x, ['AUTH', PASSWORD])));
    for (const x of conns) x.close();
    expect(right.map((r) => r.reply)).toEqual(['+OK\r\n', '+OK\r\n', '+OK\r\n']);
    expect(Math.max(...right.map((r) => r.ms))).toBeGreaterThanOrEqual(200);
    const metrics = (await get(n, '/metrics')).text;
    expect(Number(/^tally_auth_failures_total\{protocol="resp"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(6);
    expect(Number(/^tally_auth_throttled_total\{outcome="delayed"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    const admin = await RawRespClient.connect(n.respPort, 'tally');
    await admin.send(['AUTH', PASSWORD]);
    const info = (await admin.send(['INFO', 'stats'])).toString();
    admin.close();
    expect(Number(/acl_access_denied_auth:(\d+)/.exec(info)?.[1])).toBeGreaterThanOrEqual(6);
    await until('the AUTH failure log line', () => c.log('n1').includes('"msg":"AUTH failed"'));
    expect(c.log('n1')).not.toContain('wrong-0');
    expect(c.log('n1')).not.toContain(PASSWORD);
  });
});
