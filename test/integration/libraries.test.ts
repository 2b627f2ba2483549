// Real client libraries, unmodified, against a real 3-node cluster: ioredis (pipelines, MULTI,
// defineCommand with Lua, scanStream), redis-cli --scan, and node-redis 6 over RESP2 and RESP3. The rate-limit
// libraries need key expiry: libraries-expiry.test.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { startCluster, until, waitForMembers, type TestCluster } from './harness.js';

const run = promisify(execFile);

let c: TestCluster;
const closers: (() => unknown)[] = [];
const port = (i: number): number => (c.nodes[i] as { respPort: number }).respPort;

function ioredis(i: number): Redis {
  const r = new Redis({ host: '127.0.0.1', port: port(i), maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  closers.push(() => r.disconnect());
  return r;
}

async function nodeRedis(i: number, RESP: 2 | 3): Promise<ReturnType<typeof createClient>> {
  const r = createClient({ url: `redis://127.0.0.1:${port(i)}`, RESP, name: `node-redis-${RESP}` } as Parameters<typeof createClient>[0]);
  r.on('error', () => {});
  await r.connect();
  closers.push(() => r.destroy());
  return r as unknown as ReturnType<typeof createClient>;
}

beforeAll(async () => {
  c = await startCluster({ nodes: 3 });
  await waitForMembers(c, 3);
}, 60_000);

afterAll(async () => {
  for (const close of closers) await close();
  await c?.stopAll();
});

/** A fixed-window limiter over counters only (no expiry): the window is in the key, as many limiters do it. */
const LIMIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n > tonumber(ARGV[1]) then return {0, n} end
return {1, n}
`;

describe('ioredis', () => {
  it('pipelines, and runs MULTI/EXEC with every reply in order', async () => {
    const r = ioredis(0);
    const piped = await r.pipeline().incr('io:p').incrby('io:p', 4).get('io:p').exec();
    expect(piped).toEqual([[null, 1], [null, 5], [null, '5']]);
    const tx = await r.multi().incr('io:m').incrby('io:m', 2).get('io:m').pfadd('io:h', 'a', 'b').pfcount('io:h').exec();
    expect(tx).toEqual([[null, 1], [null, 3], [null, '3'], [null, 1], [null, 2]]);
  });

  it('a transaction with a command refused while queuing is discarded whole: EXECABORT, no write', async () => {
    const r = ioredis(0);
    await expect(r.multi().incr('io:abort').call('nosuchcommand', 'x').exec()).rejects.toThrow(/EXECABORT Transaction discarded because of previous errors/);
    expect(await r.get('io:abort')).toBeNull();
  });

  it('a runtime error inside EXEC is that command\'s reply; the others run', async () => {
    const r = ioredis(0);
    await r.pfadd('io:hll', 'x');
    const res = await r.multi().incr('io:rt').incr('io:hll').incr('io:rt').exec();
    expect(res?.[0]).toEqual([null, 1]);
    expect(String(res?.[1]?.[0])).toMatch(/WRONGTYPE/);
    expect(res?.[2]).toEqual([null, 2]);
  });

  it('WATCH: EXEC answers null when another client changed the key, and runs otherwise', async () => {
    const [a, b] = [ioredis(0), ioredis(0)];
    await a.watch('io:w');
    await b.incr('io:w');
    expect(await a.multi().incr('io:w').exec()).toBeNull();
    await a.watch('io:w');
    expect(await a.multi().incr('io:w').exec()).toEqual([[null, 2]]);
  });

  it('defineCommand runs a Lua rate limiter (EVALSHA, falling back to EVAL on NOSCRIPT), atomic on its node', async () => {
    const r = ioredis(1) as Redis & { limit(key: string, max: number): Promise<[number, number]> };
    await r.script('FLUSH');
    r.defineCommand('limit', { numberOfKeys: 1, lua: LIMIT_SCRIPT });
    const results = await Promise.all(Array.from({ length: 8 }, () => r.limit('io:rl:window-1', 5)));
    expect(results.map(([allowed]) => allowed).sort()).toEqual([0, 0, 0, 1, 1, 1, 1, 1]);
    expect(results.map(([, n]) => n).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Other nodes see the script's writes by gossip.
    const d = ioredis(2);
    await until('the script\'s count on another node', async () => (await d.get('io:rl:window-1')) === '8');
  });

  it('scanStream walks every key, and KEYS agrees', async () => {
    const r = ioredis(0);
    await r.select(5);
    const names = Array.from({ length: 300 }, (_, i) => `scan:${i}`);
    await r.pipeline(names.map((n) => ['incr', n])).exec();
    const seen = new Set<string>();
    await new Promise<void>((done, fail) => {
      const s = r.scanStream({ match: 'scan:*', count: 37 });
      s.on('data', (ks: string[]) => ks.forEach((k) => seen.add(k)));
      s.on('end', () => done());
      s.on('error', fail);
    });
    expect(seen.size).toBe(300);
    expect((await r.keys('scan:*')).length).toBe(300);
    await r.select(0);
  });

  it('redis-cli --scan lists a database exactly, past deleted keys and another database\'s', async () => {
    const r = ioredis(2);
    await r.select(6);
    const names = Array.from({ length: 400 }, (_, i) => `cli:${i}`);
    await r.pipeline(names.map((n) => ['incr', n])).exec();
    await r.del(...names.filter((_, i) => i % 4 === 0)); // tombstones among the ids the cursor walks
    await r.select(7);
    await r.pipeline(names.map((n) => ['incr', `other:${n}`])).exec();
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port(2)), '-n', '6', '--scan']);
    const listed = stdout.split('\n').filter((l) => l !== '');
    expect(listed.sort()).toEqual(names.filter((_, i) => i % 4 !== 0).sort());
    await r.select(0);
  });

  it('Lua errors reach the client with Redis\'s text', async () => {
    const r = ioredis(0);
    await expect(r.eval("return redis.call('nosuch')", 0)).rejects.toThrow(/ERR Unknown Redis command called from script script: [0-9a-f]{40}, on @user_script:1\./);
    await expect(r.evalsha('0'.repeat(40), 0)).rejects.toThrow(/NOSCRIPT/);
  });
});

describe('node-redis 6', () => {
  for (const RESP of [2, 3] as const) {
    it(`connects over RESP${RESP} (HELLO ${RESP} for RESP3), with counters, MULTI, Lua and SCAN`, async () => {
      const r = await nodeRedis(2, RESP);
      expect(await r.incrBy(`nr${RESP}:n`, 3)).toBe(3);
      expect(await r.get(`nr${RESP}:n`)).toBe('3');
      expect(await r.get(`nr${RESP}:missing`)).toBeNull();
      expect(await r.multi().incr(`nr${RESP}:m`).incr(`nr${RESP}:m`).get(`nr${RESP}:m`).exec()).toEqual([1, 2, '2']);
      expect(await r.pfAdd(`nr${RESP}:h`, ['a', 'b', 'c'])).toBe(1);
      expect(await r.pfCount(`nr${RESP}:h`)).toBe(3);
      expect(await r.eval(LIMIT_SCRIPT, { keys: [`nr${RESP}:rl`], arguments: ['1'] })).toEqual([1, 1]);
      expect(await r.eval(LIMIT_SCRIPT, { keys: [`nr${RESP}:rl`], arguments: ['1'] })).toEqual([0, 2]);
      const keys: string[] = [];
      for await (const batch of r.scanIterator({ MATCH: `nr${RESP}:*`, COUNT: 2 })) keys.push(...(batch as unknown as string[]));
      expect(new Set(keys)).toEqual(new Set([`nr${RESP}:n`, `nr${RESP}:m`, `nr${RESP}:h`, `nr${RESP}:rl`]));
      const hello = (await r.sendCommand(['HELLO'])) as unknown;
      expect(JSON.stringify(hello)).toContain('tally');
      expect(await r.clientGetName()).toBe(`node-redis-${RESP}`);
    });
  }
});
