// maxmemory (noeviction) against a real redis-server, byte for byte: both servers run with a limit
// of one byte, so every command that may add memory is refused with OOM and everything else runs.
// Also: the `denyoom` flag of every command both servers have is redis-server's own.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCluster, type TestCluster } from '../integration/harness.js';
import { commandNames, lookupBytes } from '../../src/server/commands/table.js';
import { RawRespClient, showBytes } from './raw-resp.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

let redis: RedisServer | undefined;
let tally: TestCluster | undefined;
beforeAll(async () => {
  [redis, tally] = await Promise.all([startRedisServer({ settings: ['--maxmemory', '1'] }), startCluster({ nodes: 1, config: { maxmemory: 1 } })]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), tally?.stopAll()]);
});

const ports = (): [string, number][] => [
  ['redis', (redis as RedisServer).port],
  ['tally', ((tally as TestCluster).nodes[0] as { respPort: number }).respPort],
];

/** Each server's replies to `script`, as shown bytes. */
async function play(script: readonly (readonly string[])[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [name, port] of ports()) {
    const c = await RawRespClient.connect(port, name);
    try {
      const replies: string[] = [];
      for (const words of script) replies.push(showBytes(await c.send([...words])));
      out[name] = replies;
    } finally {
      c.close();
    }
  }
  return out;
}

describe('maxmemory 1 (noeviction), as redis-server answers it', () => {
  it('refuses writes that may add memory, runs reads, DEL, EXPIRE and CONFIG GET, and applies the limit inside MULTI and scripts', async () => {
    const script = [
      ['INCR', 'mm:k'], ['INCRBY', 'mm:k', '3'], ['SET', 'mm:k', '5'], ['SETNX', 'mm:k', '5'], ['MSET', 'mm:a', '1', 'mm:b', '2'], ['GETSET', 'mm:k', '1'],
      ['PFADD', 'mm:h', 'a'], ['PFMERGE', 'mm:h', 'mm:g'], ['GET', 'mm:k'], ['PFCOUNT', 'mm:h'], ['DEL', 'mm:k'], ['EXPIRE', 'mm:k', '10'], ['EXISTS', 'mm:k'],
      ['CONFIG', 'GET', 'maxmemory-policy'],
      ['MULTI'], ['GET', 'mm:k'], ['EXEC'], ['MULTI'], ['DISCARD'], ['MULTI'], ['EXEC'],
      ['EVAL', "return redis.call('incr', KEYS[1])", '1', 'mm:x'],
      ['EVAL', "return redis.pcall('incr', KEYS[1])['err']", '1', 'mm:x'],
      ['EVAL', "redis.call('del', KEYS[1]); return redis.call('incr', KEYS[1])", '1', 'mm:x'],
      ['EVAL', "#!lua\nreturn redis.call('get', KEYS[1])", '1', 'mm:x'],
      ['EVAL', "#!lua flags=allow-oom\nreturn redis.call('incr', KEYS[1])", '1', 'mm:x'],
      ['EVAL', "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", '1', 'mm:x'],
      ['DEL', 'mm:x'],
    ];
    const r = await play(script);
    const lines = script.map((w, i) => `${w.join(' ')}\n   redis ${r.redis?.[i]}\n   tally ${r.tally?.[i]}`);
    expect(r.tally, lines.join('\n')).toEqual(r.redis);
    expect(r.tally?.[0]).toContain('OOM command not allowed');
  });

  it('marks as denyoom exactly the commands redis-server marks, of those both have', async () => {
    const c = await RawRespClient.connect((redis as RedisServer).port, 'redis');
    const differ: string[] = [];
    try {
      for (const name of commandNames()) {
        const info = (await c.send(['COMMAND', 'INFO', name])).toString('latin1');
        if (info === '*1\r\n$-1\r\n') continue; // tally's own command (WINDOW.*, CMS.*, TALLY.*...)
        const theirs = info.includes('\r\n+denyoom\r\n');
        const ours = lookupBytes(Buffer.from(name))?.flags.includes('denyoom') === true;
        if (theirs !== ours) differ.push(`${name}: redis ${theirs}, tally ${ours}`);
      }
    } finally {
      c.close();
    }
    expect(differ).toEqual([]);
  });
});
