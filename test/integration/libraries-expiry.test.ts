// Rate-limit libraries, unmodified, against a real 3-node cluster. THEY NEED KEY EXPIRY (EXPIRE,
// PEXPIRE, PTTL, SET ... EX), WHICH TALLY DOES NOT HAVE YET, so every test here is `it.fails`: it
// is expected to fail, and `expectExpiryFailure` checks that the failure is the missing expiry
// (an unknown PTTL/PEXPIRE/EXPIRE, or SET's expiry options refused). A failure for any other
// reason makes the test return normally, which `it.fails` reports as an error. When expiry lands,
// these tests start passing, `it.fails` turns red, and each becomes a plain `it`.

import { once } from 'node:events';
import { inspect } from 'node:util';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { startCluster, waitForMembers, type TestCluster } from './harness.js';

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

const EXPIRY = /unknown command '(pexpire|expire|pttl|ttl)'|Unknown Redis command called from script|tally has no key expiry yet/i;

/** Runs `body`; rethrows a failure caused by the missing expiry (it.fails passes), swallows any other (it.fails fails). */
async function expectExpiryFailure(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const text = inspect(e, { depth: 5 }); // ioredis hangs a transaction's queued errors on the error object
    if (EXPIRY.test(text)) throw e;
    console.error('failed for a reason other than the missing expiry:', e);
    return;
  }
}

describe('rate limiting that needs expiry (expected to fail until tally has EXPIRE/PEXPIRE/PTTL)', () => {
  it.fails('ioredis: multi().incr(k).expire(k, 60).exec() from issue 15 counts and sets the expiry', () =>
    expectExpiryFailure(async () => {
      const r = new Redis({ host: '127.0.0.1', port: port(0), maxRetriesPerRequest: 1 });
      r.on('error', () => {});
      closers.push(() => r.disconnect());
      const res = await r.multi().incr('issue15').expire('issue15', 60).exec();
      expect(res).toEqual([[null, 1], [null, 1]]);
    }),
  );

  it.fails('express-rate-limit with rate-limit-redis (node-redis 6, RESP3) allows 3 requests a window and refuses the 4th', () =>
    expectExpiryFailure(async () => {
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
    }),
  );

  it.fails('rate-limiter-flexible RateLimiterRedis (ioredis) consumes 2 points and refuses the 3rd', () =>
    expectExpiryFailure(async () => {
      const r = new Redis({ host: '127.0.0.1', port: port(2), maxRetriesPerRequest: 1, enableOfflineQueue: false });
      r.on('error', () => {});
      closers.push(() => r.disconnect());
      await once(r, 'ready');
      const limiter = new RateLimiterRedis({ storeClient: r, points: 2, duration: 60, keyPrefix: 'rlflex' });
      expect((await limiter.consume('user')).remainingPoints).toBe(1);
      expect((await limiter.consume('user')).remainingPoints).toBe(0);
      await expect(limiter.consume('user')).rejects.toMatchObject({ remainingPoints: 0 });
    }),
  );
});
