// An HLL moves from a real redis-server to a tally cluster and back with a real client (ioredis):
// GET on Redis, SET on a tally node, gossip to the other node, more adds on tally, GET on tally, SET
// on Redis. At every step both sides count alike and hold the same bytes. Loopback only; every
// process is stopped by pid.

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, until, waitForMembers, type TestCluster } from './harness.js';
import { startRedisServer, type RedisServer } from '../oracle/redis-server.js';

let redisServer: RedisServer | undefined;
let cluster: TestCluster | undefined;
const clients: Redis[] = [];

function client(port: number): Redis {
  const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  clients.push(r);
  return r;
}

beforeAll(async () => {
  [redisServer, cluster] = await Promise.all([startRedisServer(), startCluster({ nodes: 2 })]);
  await waitForMembers(cluster, 2);
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all([cluster?.stopAll(), redisServer?.stop()]);
});

describe('moving a HyperLogLog between redis-server and tally', () => {
  it('Redis -> tally node A -> gossip -> node B -> more adds -> Redis, byte for byte and count for count', async () => {
    if (redisServer === undefined || cluster === undefined) throw new Error('servers did not start');
    const redis = client(redisServer.port);
    const a = client((cluster.nodes[0] as { respPort: number }).respPort);
    const b = client((cluster.nodes[1] as { respPort: number }).respPort);

    // A sparse HLL and a dense one, made in Redis.
    await redis.pfadd('small', ...Array.from({ length: 300 }, (_, i) => `visitor:${i}`));
    for (let i = 0; i < 60_000; i += 2000) await redis.pfadd('large', ...Array.from({ length: 2000 }, (_, j) => `visitor:${i + j}`));
    const smallCount = await redis.pfcount('small');
    const largeCount = await redis.pfcount('large');
    const small = await redis.getBuffer('small');
    const large = await redis.getBuffer('large');
    if (small === null || large === null) throw new Error('Redis lost its HLLs');
    expect(small[4]).toBe(1); // sparse
    expect(large.length).toBe(16 + 12288); // dense

    // Into tally, unchanged.
    expect(await a.set('small', small)).toBe('OK');
    expect(await a.set('large', large)).toBe('OK');
    expect((await a.getBuffer('small'))?.equals(small)).toBe(true);
    expect((await a.getBuffer('large'))?.equals(large)).toBe(true);
    expect(await a.pfcount('small')).toBe(smallCount);
    expect(await a.pfcount('large')).toBe(largeCount);

    // Gossip carries the registers to node B, which counts the same.
    await until('node B holds both HLLs', async () => (await b.pfcount('large')) === largeCount && (await b.pfcount('small')) === smallCount);
    expect(await b.pfcount('small', 'large')).toBe(await redis.pfcount('small', 'large'));

    // The same new elements, in Redis and on tally node B: the same registers again.
    const more = Array.from({ length: 5000 }, (_, i) => `visitor:${100_000 + i}`);
    await redis.pfadd('large', ...more);
    await b.pfadd('large', ...more);
    expect(await b.pfcount('large')).toBe(await redis.pfcount('large'));
    const fromB = await b.getBuffer('large');
    const inRedis = await redis.getBuffer('large');
    expect(fromB?.equals(inRedis as Buffer)).toBe(true);

    // Back into Redis: Redis reads tally's bytes as its own.
    expect(await redis.set('back', fromB as Buffer)).toBe('OK');
    expect(await redis.pfcount('back')).toBe(await b.pfcount('large'));
    expect(await redis.pfcount('back', 'small')).toBe(await b.pfcount('large', 'small'));

    // Node A catches up by gossip too.
    const target = await b.pfcount('large');
    await until('node A has the new elements', async () => (await a.pfcount('large')) === target);
  }, 120_000);

  it('refuses broken HYLL bytes with the error Redis gives at its next PF command', async () => {
    if (redisServer === undefined || cluster === undefined) throw new Error('servers did not start');
    const redis = client(redisServer.port);
    const a = client((cluster.nodes[0] as { respPort: number }).respPort);
    await redis.pfadd('h', 'x', 'y');
    const good = (await redis.getBuffer('h')) as Buffer;
    const cut = good.subarray(0, good.length - 1);
    await redis.set('cut', cut);
    const redisError = await redis.pfcount('cut', 'cut').catch((e: Error) => e.message);
    const tallyError = await a.set('cut', cut).catch((e: Error) => e.message);
    expect(tallyError).toBe(redisError);
    expect(tallyError).toBe('INVALIDOBJ Corrupted HLL object detected');
    const notHll = Buffer.from('HYLL\x07');
    await redis.set('nothll', notHll);
    expect(await a.set('nothll', notHll).catch((e: Error) => e.message)).toBe(await redis.pfcount('nothll').catch((e: Error) => e.message));
    expect(await a.exists('cut', 'nothll')).toBe(0);
  }, 60_000);
});
