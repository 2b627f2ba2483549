// maxmemory on real node processes: n2 runs with a limit of one byte, n1 with none. n2 refuses
// client writes that may add memory (Redis's OOM), yet still merges what n1 accepts, so the two
// converge; INFO, CONFIG GET and /metrics show the limit and that n2 is over it. And the default
// limit keeps a node with a small heap alive through a bulk load that V8's cap would otherwise end.

import { spawnSync } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, MAIN, startCluster, until, waitForMembers, type TestCluster } from './harness.js';
import { pipeNewKeys, respClient } from './info.js';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ nodes: 2, config: { maxmemory: 0 }, nodeConfig: { n2: { maxmemory: '1' } } });
  await waitForMembers(c, 2);
});

afterAll(async () => {
  await c?.stopAll();
});

describe('maxmemory on a running cluster', () => {
  it('a node over its limit refuses writes with OOM but merges its peers\' writes', async () => {
    const [r1, r2] = [respClient(c, 0), respClient(c, 1)] as [Redis, Redis];
    await Promise.all([r1.connect(), r2.connect()]);
    try {
      await expect(r2.incr('mm:k')).rejects.toThrow("OOM command not allowed when used memory > 'maxmemory'.");
      await expect(r2.pfadd('mm:h', 'a')).rejects.toThrow('OOM');
      expect(await r1.incrby('mm:k', 7)).toBe(7);
      expect(await r1.pfadd('mm:h', 'a', 'b')).toBe(1);
      await until('n2 holds n1\'s writes', async () => (await r2.get('mm:k')) === '7' && (await r2.pfcount('mm:h')) === 2);
      // Writes that add nothing still run on n2, and reach n1.
      expect(await r2.del('mm:k')).toBe(1);
      await until('the delete reaches n1', async () => (await r1.get('mm:k')) === null);

      expect(await r2.config('GET', 'maxmemory*')).toEqual(['maxmemory', '1', 'maxmemory-policy', 'noeviction']);
      expect(await r1.config('GET', 'maxmemory')).toEqual(['maxmemory', '0']);
      const info = await r2.info('memory');
      expect(info).toMatch(/^maxmemory:1\r$/m);
      expect(info).toMatch(/^maxmemory_policy:noeviction\r$/m);
      expect(info).toMatch(/^tally_over_maxmemory:1\r$/m);
      expect(await r1.info('memory')).toMatch(/^tally_over_maxmemory:0\r$/m);
    } finally {
      r1.disconnect();
      r2.disconnect();
    }
    const m = await get(c.nodes[1] as Parameters<typeof get>[0], '/metrics');
    expect(m.text).toMatch(/^tally_maxmemory_bytes 1$/m);
    expect(m.text).toMatch(/^tally_over_maxmemory 1$/m);
    expect(await until('n2 logged that it is over maxmemory', () => c.log('n2').includes('used memory is over maxmemory'))).toBe(true);
  });

  it('tally node --maxmemory overrides the config, and a bad size is refused naming the flag', async () => {
    const bad = spawnSync(process.execPath, [MAIN, 'node', '--config', c.configPath, '--id', 'n2', '--maxmemory', 'lots'], { encoding: 'utf8', timeout: 20_000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`--maxmemory: expected a byte count (0 for no limit), a size such as "512mb" or "2gb", or "auto", got 'lots'`);
    await c.stop('n2');
    await c.start('n2', ['--maxmemory', '2gb']);
    const r2 = respClient(c, 1);
    await r2.connect();
    try {
      expect(await r2.config('GET', 'maxmemory')).toEqual(['maxmemory', String(2 * 1024 ** 3)]);
      expect(await r2.incr('mm:after')).toBe(1);
    } finally {
      r2.disconnect();
    }
  });
});

describe('the default maxmemory ("auto")', () => {
  it('keeps a node with a 256 MB heap up through 1.5 million new keys piped at once: each INCR either counts or gets OOM', async () => {
    const small = await startCluster({ nodes: 1, config: { persistence: 'everysec' }, env: { NODE_OPTIONS: '--max-old-space-size=256' } });
    try {
      const keys = 1_500_000;
      const { output, errors, replies } = pipeNewKeys(small, 0, keys);
      expect(Number.isNaN(replies), output.slice(-500)).toBe(false);
      expect(replies).toBe(keys);
      expect(errors).toBeGreaterThan(0);
      const c = respClient(small, 0);
      await c.connect();
      try {
        expect(await c.ping()).toBe('PONG');
        // Every INCR either counted (one key each) or was refused: nothing half-done, nothing lost.
        expect((await c.dbsize()) + errors).toBe(keys);
        const [, limit] = (await c.config('GET', 'maxmemory')) as [string, string];
        expect(Number(limit)).toBeGreaterThan(0);
        expect(Number(limit)).toBeLessThan(256 * 1024 * 1024);
      } finally {
        c.disconnect();
      }
      expect(small.log('n1')).not.toContain('heap out of memory');
    } finally {
      await small.stopAll();
    }
  }, 150_000);
});
