// Users and roles against real node processes with ioredis, redis-cli and the typed client; NOPERM and
// WRONGPASS compared byte for byte with a real redis-server whose ACL users have the same rights; and
// secrets that stay secret: no password in the log, INFO, CONFIG GET, /status or /metrics.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TallyClient } from '../../src/client/index.js';
import { hashPassword } from '../../src/server/auth/password-hash.js';
import { get, startCluster, until, waitForMembers, type TestCluster, type TestNode } from './harness.js';
import { RawRespClient, showBytes, type Words } from '../oracle/raw-resp.js';
import { startRedisServer, type RedisServer } from '../oracle/redis-server.js';

const run = promisify(execFile);
const CHEAP = { ln: 10, r: 8, p: 1 };
const PW = { viewer: 'v1ewer-Secret', writer: 'wr1ter-Secret', root: 'r00t-Secret', default: 'def4ult-Secret' } as const;
let c: TestCluster;
let redis: RedisServer | undefined;
const conns: Redis[] = [];

beforeAll(async () => {
  [c, redis] = await Promise.all([
    startCluster({
      nodes: 2,
      config: {
        auth: {
          password: PW.default,
          users: [
            { name: 'viewer', passwordHash: hashPassword(PW.viewer, CHEAP), role: 'read-only' },
            { name: 'writer', passwordHash: hashPassword(PW.writer, CHEAP), role: 'read-write' },
            { name: 'root', passwordHash: hashPassword(PW.root, CHEAP), role: 'admin' },
          ],
        },
      },
    }),
    startRedisServer(),
  ]);
  await waitForMembers(c, 2);
}, 90_000);

afterAll(async () => {
  for (const r of conns) r.disconnect();
  await Promise.all([c?.stopAll(), redis?.stop()]);
});

const node = (i: number): TestNode => c.nodes[i] as TestNode;
function ioredis(n: TestNode, username: string, password: string): Redis {
  const r = new Redis({ host: '127.0.0.1', port: n.respPort, username, password, maxRetriesPerRequest: 1 });
  conns.push(r);
  return r;
}

describe('users with ioredis, redis-cli and the typed client', () => {
  it('each role runs what it may, and gets NOPERM for the rest', async () => {
    const writer = ioredis(node(0), 'writer', PW.writer);
    const viewer = ioredis(node(1), 'viewer', PW.viewer);
    const root = ioredis(node(0), 'root', PW.root);
    expect(await writer.incrby('u:k', 3)).toBe(3);
    await until('the viewer to read it on n2', async () => (await viewer.get('u:k')) === '3');
    await expect(viewer.incr('u:k')).rejects.toThrow("NOPERM this user has no permissions to run the 'incr' command");
    await expect(writer.flushall()).rejects.toThrow("NOPERM this user has no permissions to run the 'flushall' command");
    await expect(writer.config('GET', 'maxclients')).rejects.toThrow("NOPERM this user has no permissions to run the 'config|get' command");
    expect(await root.config('GET', 'maxclients')).toEqual(['maxclients', '10000']);
    expect(await root.call('ACL', 'USERS')).toEqual(['default', 'root', 'viewer', 'writer']);
    expect(await viewer.call('ACL', 'WHOAMI')).toBe('viewer');
  });

  it('redis-cli --user --pass, and the one-word AUTH as the default user', async () => {
    const args = ['-p', String(node(0).respPort), '--no-auth-warning'];
    expect((await run('redis-cli', [...args, '--user', 'writer', '--pass', PW.writer, 'INCR', 'u:cli'])).stdout.trim()).toBe('1');
    expect((await run('redis-cli', [...args, '-a', PW.default, 'ACL', 'WHOAMI'])).stdout.trim()).toBe('default');
    const wrong = await run('redis-cli', [...args, '--user', 'writer', '--pass', 'nope', 'GET', 'u:cli']);
    expect(wrong.stderr + wrong.stdout).toContain('WRONGPASS');
  });

  it('the typed client logs in as a user (on the upgrade and with AUTH)', async () => {
    const t = await TallyClient.connect(`ws://127.0.0.1:${node(1).httpPort}/ws`, { username: 'viewer', password: PW.viewer, reconnect: false });
    try {
      expect(await t.command('ACL', 'WHOAMI')).toBe('viewer');
      await expect(t.incr('u:k')).rejects.toMatchObject({ code: 'NOPERM' });
    } finally {
      await t.close();
    }
  });
});

describe('NOPERM and WRONGPASS are Redis 7.0\'s', () => {
  // The same rights on both: Redis's categories differ from tally's roles in places (INFO is
  // @dangerous, CLIENT LIST is in @connection, FLUSHALL in @write; every role may use transactions
  // and scripts, whose commands are checked one by one; SCRIPT FLUSH and KILL need read-write), so
  // the Redis users are adjusted to tally's roles, and only commands both servers have are compared.
  const REDIS_USERS: Words[] = [
    ['ACL', 'SETUSER', 'viewer', 'on', `>${PW.viewer}`, '~*', '&*', '-@all', '+@read', '+@connection', '+@transaction', '+@scripting', '-script|flush', '-script|kill', '-client|list', '+acl|whoami'],
    ['ACL', 'SETUSER', 'writer', 'on', `>${PW.writer}`, '~*', '&*', '-@all', '+@read', '+@write', '+@connection', '+@transaction', '+@scripting', '-client|list', '+acl|whoami', '-flushall', '-flushdb'],
  ];
  const SET_SCRIPT = "return redis.call('set','tx:k','1')";
  const SCRIPTS: Words[][] = [
    [['AUTH', 'viewer', PW.viewer], ['GET', 'k'], ['INCR', 'k'], ['SET', 'k', '1'], ['DEL', 'k'], ['PFADD', 'h', 'a'], ['PFCOUNT', 'h'], ['CONFIG', 'GET', 'maxclients'], ['FLUSHALL'], ['FLUSHDB'], ['ACL', 'LIST'], ['ACL', 'USERS'], ['ACL', 'WHOAMI'], ['CLIENT', 'LIST'], ['INCR']],
    [['AUTH', 'writer', PW.writer], ['INCR', 'k'], ['DEL', 'k'], ['FLUSHALL'], ['CONFIG', 'GET', 'databases'], ['ACL', 'LIST'], ['ACL', 'WHOAMI']],
    [['AUTH', 'viewer', 'wrong'], ['AUTH', 'nobody', PW.viewer], ['AUTH', 'VIEWER', PW.viewer], ['HELLO', '2', 'AUTH', 'viewer', 'wrong']],
    // Transactions: NOPERM while queuing dooms EXEC; reads go through.
    [['AUTH', 'viewer', PW.viewer], ['MULTI'], ['SET', 'tx:k', '1'], ['GET', 'tx:k'], ['EXEC'], ['MULTI'], ['GET', 'tx:k'], ['EXISTS', 'tx:k'], ['EXEC'], ['MULTI'], ['CONFIG', 'GET', 'maxclients'], ['INCR', 'tx:k'], ['DISCARD'], ['WATCH', 'tx:k'], ['MULTI'], ['FLUSHDB'], ['EXEC']],
    // EXEC checks again: an AUTH queued before a write takes the right to write away.
    [['AUTH', 'writer', PW.writer], ['MULTI'], ['SET', 'tx:w', '1'], ['AUTH', 'viewer', PW.viewer], ['SET', 'tx:w', '2'], ['INCR', 'tx:w'], ['GET', 'tx:w'], ['EXEC'], ['ACL', 'WHOAMI'], ['DEL', 'tx:w']],
    // Scripts: each redis.call is checked against the user; pcall returns the error.
    [['AUTH', 'viewer', PW.viewer], ['EVAL', SET_SCRIPT, '0'], ['EVAL', "return redis.pcall('incr','tx:k')", '0'], ['EVAL', "return redis.call('get','tx:k')", '0'], ['EVAL_RO', SET_SCRIPT, '0'], ['SCRIPT', 'FLUSH'], ['EVAL', "return redis.acl_check_cmd('set','tx:k','1')", '0'], ['EVAL', "return redis.acl_check_cmd('get','tx:k')", '0'], ['EVAL', "return redis.acl_check_cmd('config','get','x')", '0'], ['EVAL', "return redis.acl_check_cmd('nosuch')", '0'], ['EVAL', 'return redis.acl_check_cmd()', '0'], ['MULTI'], ['EVAL', SET_SCRIPT, '0'], ['EXEC'], ['AUTH', 'writer', PW.writer], ['EVAL_RO', SET_SCRIPT, '0'], ['EVAL', "return redis.call('flushall')", '0'], ['EVAL', "return redis.call('del','tx:k')", '0']],
  ];

  it.each(SCRIPTS.map((s) => [s.map((w) => w.join(' ')).join('; '), s] as const))('%s', async (_name, script) => {
    if (redis === undefined) throw new Error('redis-server did not start');
    const admin = await RawRespClient.connect(redis.port, 'redis');
    for (const u of REDIS_USERS) expect((await admin.send(u)).toString()).toBe('+OK\r\n');
    admin.close();
    const [r, t] = await Promise.all([RawRespClient.connect(redis.port, 'redis'), RawRespClient.connect(node(0).respPort, 'tally')]);
    try {
      for (const words of script) {
        const [rr, tt] = await Promise.all([r.send(words), t.send(words)]);
        // WRONGTYPE-free keys: replies of GET, PFCOUNT may differ only in value, never here (fresh keys).
        expect(showBytes(tt), `${words.join(' ')}: redis answered ${showBytes(rr)}`).toBe(showBytes(rr));
      }
    } finally {
      r.close();
      t.close();
    }
  });
});

describe('secrets stay secret', () => {
  it('no password appears in INFO, CONFIG GET *, /status, /metrics or the logs', async () => {
    const root = ioredis(node(0), 'root', PW.root);
    // Some failures, so the log has AUTH lines to look at.
    for (const p of ['wrong-1', PW.viewer.toUpperCase()]) {
      const r = new Redis({ host: '127.0.0.1', port: node(0).respPort, username: 'viewer', password: p, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      r.on('error', () => {});
      await r.connect().catch(() => undefined);
      r.disconnect();
    }
    const texts = [
      String(await root.info('everything')),
      JSON.stringify(await root.config('GET', '*')),
      JSON.stringify(await root.call('ACL', 'LIST')),
      (await get(node(0), '/status')).text,
      (await get(node(0), '/metrics')).text,
    ];
    await until('the failed AUTH to be logged', () => c.log('n1').includes('AUTH failed'));
    texts.push(c.log('n1'), c.log('n2'));
    for (const t of texts) for (const secret of [...Object.values(PW), 'wrong-1', PW.viewer.toUpperCase()]) expect(t).not.toContain(secret);
    expect(c.log('n1')).toMatch(/"user":"(viewer|writer)".*"remoteAddress":"(::ffff:)?127\.0\.0\.1".*"msg":"AUTH failed"/);
  });
});
