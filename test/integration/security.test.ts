// Authentication: a client password (AUTH), and a gossip keyring that keeps out a node without
// the cluster key; malformed gossip frames are rejected, counted, and change nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { spawn } from 'node:child_process';
import { openSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN, startCluster, status, until, waitForMembers, type TestCluster } from './harness.js';

let c: TestCluster;
const clients: Redis[] = [];

beforeAll(async () => {
  c = await startCluster({ nodes: 3, deferred: ['n3'], config: { auth: { password: 's3cret' } } });
  await waitForMembers(c, 2);
}, 60_000);

afterAll(async () => {
  for (const r of clients) r.disconnect();
  await c?.stopAll();
});

describe('client password', () => {
  it('refuses every command before AUTH, and accepts them after', async () => {
    const r = new Redis({ host: '127.0.0.1', port: c.nodes[0]?.respPort as number, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
    clients.push(r);
    await r.connect();
    await expect(r.incr('x')).rejects.toThrow('NOAUTH Authentication required.');
    await expect(r.auth('wrong')).rejects.toThrow('WRONGPASS');
    expect(await r.auth('s3cret')).toBe('OK');
    expect(await r.incr('x')).toBe(1);
  });
});

describe('gossip keyring', () => {
  it('a node with the wrong cluster key can neither join nor inject increments', async () => {
    // n3 gets a config identical but for the key file.
    const cfg = JSON.parse(readFileSync(c.configPath, 'utf8')) as { auth: Record<string, unknown> };
    const badKey = join(c.dir, 'wrong.key');
    writeFileSync(badKey, 'd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmcteng=\n', { mode: 0o600 });
    cfg.auth = { keyFile: badKey, password: 's3cret' };
    const badConfig = join(c.dir, 'bad.json');
    writeFileSync(badConfig, JSON.stringify(cfg), { mode: 0o600 });
    const n3 = c.nodes[2] as (typeof c.nodes)[number];
    const out = openSync(n3.logFile, 'a');
    n3.proc = spawn(process.execPath, [MAIN, 'node', '--config', badConfig, '--id', 'n3'], { stdio: ['ignore', out, out] });
    await until('n3 healthy', async () => (await fetch(`http://127.0.0.1:${n3.httpPort}/health`)).ok);
    const intruder = new Redis({ host: '127.0.0.1', port: n3.respPort, password: 's3cret', maxRetriesPerRequest: 1 });
    clients.push(intruder);
    await intruder.incrby('x', 1000);
    // The honest nodes reject its frames and count the rejections...
    await until('rejections counted on n1', async () => {
      const s = await status(c.nodes[0] as never);
      return Object.values(s.gossip.transport.rejected).reduce((a, b) => a + b, 0) > 0;
    });
    // ...and after many gossip rounds n3 is still not a member, and its increments are nowhere.
    await new Promise((r) => setTimeout(r, 1500)); // 15 gossip intervals of 100 ms for the intruder to try
    const s1 = await status(c.nodes[0] as never);
    expect(s1.members.map((m) => m.id).sort()).toEqual(['n1', 'n2']);
    const honest = new Redis({ host: '127.0.0.1', port: c.nodes[1]?.respPort as number, password: 's3cret', maxRetriesPerRequest: 1 });
    clients.push(honest);
    expect(Number(await honest.get('x'))).toBeLessThan(1000);
    expect(c.log('n1')).toContain('gossip frame rejected');
    intruder.disconnect(); // before its node stops, so it does not retry a closed port
    await c.stop('n3');
  });

  it('garbage and forged frames on the gossip port are rejected and the node keeps serving', async () => {
    const n1 = c.nodes[0] as (typeof c.nodes)[number];
    const before = await status(n1);
    const ws = new WebSocket(`ws://127.0.0.1:${n1.gossipPort}/gossip`);
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    ws.send(Buffer.from([1, 0, 0, 0, 0, 9, 9, 9]));
    ws.send(Buffer.alloc(200, 7));
    ws.send('text is not a frame');
    await until('rejections counted', async () => {
      const s = await status(n1);
      const sum = (x: Record<string, number>): number => Object.values(x).reduce((a, b) => a + b, 0);
      return sum(s.gossip.transport.rejected) >= sum(before.gossip.transport.rejected) + 3;
    });
    ws.close();
    const r = new Redis({ host: '127.0.0.1', port: n1.respPort, password: 's3cret', maxRetriesPerRequest: 1 });
    clients.push(r);
    expect(await r.ping()).toBe('PONG');
    expect((await status(n1)).members.filter((m) => m.state === 'alive').length).toBe(2);
  });
});
