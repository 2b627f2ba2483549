// maxmemory with Redis's noeviction policy, through the command table: while the node is over its
// limit, commands that may add memory (`denyoom`) are refused with Redis's OOM text and change
// nothing; everything else runs. The node's sampling (MemoryGuard) is tested in test/node.

import { describe, expect, it } from 'vitest';
import { commandNames, lookupBytes } from '../../src/server/commands/table.js';
import { testNode, type TestNode } from './command-harness.js';

const OOM = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";

/** A test node whose memory guard says `over` while `limit.over` is true. */
function limited(): { n: TestNode; limit: { over: boolean } } {
  const n = testNode();
  const limit = { over: true };
  n.ctx.overMaxmemory = () => limit.over;
  return { n, limit };
}

describe('maxmemory (noeviction) in the command table', () => {
  it('refuses INCR with OOM while over, runs reads, DEL and EXPIRE, and accepts INCR again once under', () => {
    const { n, limit } = limited();
    const s = n.session();
    limit.over = false;
    expect(n.run(s, 'INCR', 'k')).toBe(':1\r\n');
    limit.over = true;
    expect(n.run(s, 'INCR', 'k')).toBe(OOM);
    expect(n.run(s, 'INCRBY', 'k', '5')).toBe(OOM);
    expect(n.run(s, 'GET', 'k')).toBe('$1\r\n1\r\n');
    expect(n.run(s, 'EXPIRE', 'k', '100')).toBe(':1\r\n');
    expect(n.run(s, 'DEL', 'k')).toBe(':1\r\n');
    expect(n.run(s, 'PING')).toBe('+PONG\r\n');
    limit.over = false;
    expect(n.run(s, 'INCR', 'k')).toBe(':1\r\n');
  });

  it('refuses every denyoom command and changes nothing; the flag marks exactly the commands that create or grow state', () => {
    const { n } = limited();
    const s = n.session();
    const before = n.ctx.keyspace.stateDigest();
    const args: Record<string, string[]> = {
      incr: ['k'], decr: ['k'], incrby: ['k', '2'], decrby: ['k', '2'], incrbyfloat: ['k', '1.5'], set: ['k', '3'], getset: ['k', '3'], setnx: ['k', '3'],
      setex: ['k', '10', '3'], psetex: ['k', '10000', '3'], mset: ['k', '1', 'j', '2'], msetnx: ['k', '1', 'j', '2'], pfadd: ['h', 'a'], pfmerge: ['h', 'g'],
      'window.create': ['w', '60', '6'], 'window.incrby': ['w', '1'], throttle: ['t', '10', '60'], 'cms.initbydim': ['c', '10', '3'], 'cms.initbyprob': ['c', '0.01', '0.01'],
      'cms.incrby': ['c', 'a', '1'], 'cms.merge': ['c', '1', 'd'], 'topk.reserve': ['tk', '3'], 'topk.add': ['tk', 'a'], 'topk.incrby': ['tk', 'a', '1'],
    };
    const denyoom = commandNames().filter((name) => lookupBytes(Buffer.from(name))?.flags.includes('denyoom') === true);
    expect(denyoom.sort()).toEqual(Object.keys(args).sort());
    for (const name of denyoom) expect(n.run(s, name, ...(args[name] as string[])), name).toBe(OOM);
    expect(n.ctx.keyspace.stateDigest()).toBe(before);
    expect(n.run(s, 'DBSIZE')).toBe(':0\r\n');
  });

  it('runs every command when the node has no limit (no guard)', () => {
    const n = testNode();
    expect(n.run(n.session(), 'INCR', 'k')).toBe(':1\r\n');
  });

  it('inside MULTI refuses anything but EXEC, DISCARD and QUIT, and the refusal dooms the transaction', () => {
    const { n, limit } = limited();
    const s = n.session();
    expect(n.run(s, 'MULTI')).toBe('+OK\r\n');
    expect(n.run(s, 'GET', 'k')).toBe(OOM);
    expect(n.run(s, 'EXEC')).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    expect(n.run(s, 'MULTI')).toBe('+OK\r\n');
    expect(n.run(s, 'DISCARD')).toBe('+OK\r\n');
    expect(n.run(s, 'MULTI')).toBe('+OK\r\n');
    expect(n.run(s, 'EXEC')).toBe('*0\r\n');
    limit.over = false;
    expect(n.run(s, 'INCR', 'k')).toBe(':1\r\n');
  });

  it('EXEC of a queue with a denyoom command is refused if the node went over meanwhile; a queue of reads still runs', () => {
    const { n, limit } = limited();
    const s = n.session();
    limit.over = false;
    n.run(s, 'MULTI');
    n.run(s, 'GET', 'k');
    n.run(s, 'INCR', 'k');
    limit.over = true;
    expect(n.run(s, 'EXEC')).toBe(`-EXECABORT Transaction discarded because of: ${OOM.slice(1)}`);
    expect(n.run(s, 'GET', 'k')).toBe('$-1\r\n');
    limit.over = false;
    n.run(s, 'MULTI');
    n.run(s, 'GET', 'k');
    n.run(s, 'DEL', 'k');
    limit.over = true;
    expect(n.run(s, 'EXEC')).toBe('*2\r\n$-1\r\n:0\r\n');
    // DISCARD of a queue with a denyoom command is not refused: it frees the queue.
    limit.over = false;
    n.run(s, 'MULTI');
    n.run(s, 'INCR', 'k');
    limit.over = true;
    expect(n.run(s, 'DISCARD')).toBe('+OK\r\n');
    expect(n.run(s, 'GET', 'k')).toBe('$-1\r\n');
  });

  it('scripts as Redis 7.0: without a shebang the first write that may add memory fails, not one after a write; a shebang without flags is refused whole; allow-oom and no-writes run', () => {
    const { n, limit } = limited();
    const s = n.session();
    limit.over = false;
    n.run(s, 'INCR', 'x');
    limit.over = true;
    expect(n.run(s, 'EVAL', "return redis.call('incr', 'x')", '0')).toMatch(/^-OOM command not allowed when used memory > 'maxmemory'\. script: [0-9a-f]{40}, on @user_script:1\.\r\n$/);
    expect(n.run(s, 'EVAL', "return redis.pcall('incr', 'x')['err']", '0')).toBe("$55\r\nOOM command not allowed when used memory > 'maxmemory'.\r\n");
    // After a write (DEL adds nothing), stopping halfway would leave half the script applied: it runs on.
    expect(n.run(s, 'EVAL', "redis.call('del', 'y'); return redis.call('incr', 'x')", '0')).toBe(':2\r\n');
    expect(n.run(s, 'EVAL', "#!lua\nreturn redis.call('get', 'x')", '0')).toBe(OOM);
    expect(n.run(s, 'EVAL', "#!lua flags=allow-oom\nreturn redis.call('incr', 'x')", '0')).toBe(':3\r\n');
    expect(n.run(s, 'EVAL', "#!lua flags=no-writes\nreturn redis.call('get', 'x')", '0')).toBe('$1\r\n3\r\n');
    expect(n.run(s, 'EVAL', "return redis.call('get', 'x')", '0')).toBe('$1\r\n3\r\n');
    // A read before the write is not a write: the INCR after it is still the first write.
    expect(n.run(s, 'EVAL', "redis.call('get', 'x'); return redis.call('incr', 'x')", '0')).toMatch(/^-OOM /);
    // Under the limit, every script runs.
    limit.over = false;
    expect(n.run(s, 'EVAL', "#!lua\nreturn redis.call('incr', 'x')", '0')).toBe(':4\r\n');
    expect(n.run(s, 'EVAL', "return redis.call('incr', 'x')", '0')).toBe(':5\r\n');
  });
});
