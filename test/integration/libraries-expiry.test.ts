// Rate-limit libraries, unmodified, against a real 3-node cluster: they need key expiry (EXPIRE,
// PEXPIRE, PTTL, SET ... EX/PX, and the Lua scripts that call them), which tally has as a CRDT
// (docs/crdt-counters.md, "Expiry"). Each library runs on one node; the TTLs it set reach the others.

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { startCluster, until, waitForMembers, type TestCluster } from './harness.js';

let c: TestCluster;
const closers: (() => unknown)[] = [];
const port = (i: number): number => (c.nodes[i] as { respPort: number }).respPort;

beforeAll(async () => {
  c = await startCluster({ nodes: 3 });
  await waitForMembers(c, 3);
}, 60_000);

afterAll(async () => {
  for (const close of closers) await close();
  await c?.stopAll();
});

describe('rate limiting with expiry', () => {
  it('ioredis: multi().incr(k).expire(k, 60).exec() from issue 15 counts and sets the expiry, which reaches the other nodes', async () => {
    const r = new Redis({ host: '127.0.0.1', port: port(0), maxRetriesPerRequest: 1 });
    r.on('error', () => {});
    closers.push(() => r.disconnect());
    const res = await r.multi().incr('issue15').expire('issue15', 60).exec();
    expect(res).toEqual([[null, 1], [null, 1]]);
    const ttl = await r.pttl('issue15');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    const deadline = await r.pexpiretime('issue15');
    const other = new Redis({ host: '127.0.0.1', port: port(2), maxRetriesPerRequest: 1 });
    other.on('error', () => {});
    closers.push(() => other.disconnect());
    await until('the count and its deadline to reach n3', async () => (await other.get('issue15')) === '1' && (await other.pexpiretime('issue15')) === deadline);
  });

  it('express-rate-limit with rate-limit-redis (node-redis 6, RESP3) allows 3 requests a window and refuses the 4th', async () => {
    const client = createClient({ url: `redis://127.0.0.1:${port(1)}` });
    client.on('error', () => {});
    await client.connect();
    closers.push(() => client.destroy());
    const app = express();
    const errors: unknown[] = [];
    app.use(
      rateLimit({
        windowMs: 60_000,
        limit: 3,
        standardHeaders: 'draft-7',
        legacyHeaders: false,
        passOnStoreError: false,
        store: new RedisStore({ sendCommand: (...args: string[]) => client.sendCommand(args) }),
      }),
    );
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      errors.push(err);
      res.status(500).send(String(err));
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => server.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(url)).status);
    if (errors.length > 0) throw errors[0];
    expect(statuses).toEqual([200, 200, 200, 429]);
    // The store's key holds the hits, with the window's TTL.
    const keys = await client.keys('rl:*');
    expect(keys.length).toBe(1);
    expect(await client.get(keys[0] as string)).toBe('4');
    const ttl = await client.pTTL(keys[0] as string);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('rate-limiter-flexible RateLimiterRedis (ioredis) consumes 2 points and refuses the 3rd', async () => {
    const r = new Redis({ host: '127.0.0.1', port: port(2), maxRetriesPerRequest: 1, enableOfflineQueue: false });
    r.on('error', () => {});
    closers.push(() => r.disconnect());
    await once(r, 'ready');
    const limiter = new RateLimiterRedis({ storeClient: r, points: 2, duration: 60, keyPrefix: 'rlflex' });
    expect((await limiter.consume('user')).remainingPoints).toBe(1);
    expect((await limiter.consume('user')).remainingPoints).toBe(0);
    const refused = await limiter.consume('user').then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ remainingPoints: 0, consumedPoints: 3 });
    const ms = (refused as { msBeforeNext: number }).msBeforeNext;
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThanOrEqual(60_000);
  });
});
