// The Redis oracle with a password: a tally node with `auth.password` and a redis-server started with
// `--requirepass` get the same short scripts, each on a fresh connection, and must answer every
// command byte for byte alike: AUTH in its one-, two- and three-word forms, what an unauthenticated
// connection may do, and that a failed AUTH keeps an earlier login. (The random sequences of
// redis-differential.test.ts run without a password, where AUTH answers differently.)

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCluster, type TestCluster } from '../integration/harness.js';
import { RawRespClient, showBytes, type Words } from './raw-resp.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

const PASSWORD = 'secret';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

let redis: RedisServer | undefined;
let cluster: TestCluster | undefined;

beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedisServer({ password: PASSWORD }), startCluster({ nodes: 1, config: { auth: { password: PASSWORD } } })]);
});

afterAll(async () => {
  await Promise.all([cluster?.stopAll(), redis?.stop()]);
});

/**
 * Scripts whose every reply must match. Left out, and listed in docs/commands.md: a connection that
 * has not authenticated gets NOAUTH from tally before an arity error or an unknown subcommand, where
 * Redis checks those first; HELLO's NOAUTH text is Redis 7.2's.
 */
const SCRIPTS: Words[][] = [
  [['AUTH']],
  [['AUTH', PASSWORD], ['GET', 'k']],
  [['AUTH', 'wrong'], ['GET', 'k']],
  [['AUTH', 'default', PASSWORD], ['GET', 'k']],
  [['AUTH', 'default', 'wrong'], ['GET', 'k']],
  [['AUTH', 'DEFAULT', PASSWORD]],
  [['AUTH', 'bob', PASSWORD]],
  [['AUTH', 'a', 'b', 'c'], ['AUTH', 'default', PASSWORD, 'x']],
  [['auth', PASSWORD], ['AUTH', 'wrong'], ['AUTH', 'bob', 'x'], ['GET', 'k']],
  [['GET', 'k'], ['PING'], ['CLIENT', 'SETNAME', 'x'], ['SELECT', '1'], ['NOSUCH', 'x']],
  [['HELLO', '2', 'AUTH', 'bob', 'x'], ['HELLO', '2', 'AUTH', 'default', 'wrong'], ['HELLO', '2', 'SETNAME', 'a b'], ['HELLO', '2', 'FOO']],
  [['QUIT']],
];

describe('tally against redis-server --requirepass', () => {
  it.each(SCRIPTS.map((s) => [s.map((w) => w.join(' ')).join('; '), s] as const))('%s', async (_name, script) => {
    if (redis === undefined || cluster === undefined) throw new Error('the servers did not start');
    const tallyPort = (cluster.nodes[0] as { respPort: number }).respPort;
    const [r, t] = await Promise.all([RawRespClient.connect(redis.port, 'redis'), RawRespClient.connect(tallyPort, 'tally')]);
    try {
      for (const words of script) {
        const [rr, tt] = await Promise.all([r.send(words), t.send(words)]);
        expect(showBytes(tt), `${words.join(' ')}: redis answered ${showBytes(rr)}`).toBe(showBytes(rr));
      }
    } finally {
      r.close();
      t.close();
    }
  });
});
