// KEYS and SCAN MATCH patterns against redis-server: tally's glob (`globMatch`, Redis's
// stringmatchlen) must select exactly the keys Redis selects, for random patterns over the
// characters that mean something in a pattern (`* ? [ ] ^ - \`) and a few that do not, including
// malformed ones (an unclosed `[`, a trailing `\`, a reversed range). The keys are every string of
// up to two of those characters, set once in a real redis-server; each pattern's KEYS reply there is
// compared with the same filter through globMatch.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globMatch } from '../../src/server/commands/parse.js';
import { RawRespClient } from './raw-resp.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

const RUNS = Number(process.env.TALLY_ORACLE_RUNS ?? 400);
const KEY_CHARS = ['a', 'b', 'c', '-', '^', ']', '[', '\\', '*', '?'];
const PATTERN_CHARS = [...KEY_CHARS, '[', '[', ']', '*', '?', '\\'];

/** Every key of one or two characters of KEY_CHARS, then a few longer ones. */
const KEYS = [...KEY_CHARS, ...KEY_CHARS.flatMap((x) => KEY_CHARS.map((y) => x + y)), 'abc', 'a-c', 'cab', 'a]b', 'b^a', 'ab\\'];

let redis: RedisServer | undefined;
let client: RawRespClient | undefined;

beforeAll(async () => {
  redis = await startRedisServer();
  client = await RawRespClient.connect(redis.port, 'redis');
  for (const k of KEYS) await client.send(['SET', k, '1']);
});

afterAll(async () => {
  client?.close();
  await redis?.stop();
});

/** The keys a KEYS reply lists, sorted. */
function listed(reply: Buffer): string[] {
  const text = reply.toString('latin1');
  return [...text.matchAll(/\$[0-9]+\r\n([^\r]*)\r\n/g)].map((m) => m[1] as string).sort();
}

describe('glob patterns against redis-server', () => {
  it('the keyset is as written (no key was dropped or merged by the server)', async () => {
    const c = client as RawRespClient;
    expect(listed(await c.send(['KEYS', '*']))).toEqual([...new Set(KEYS)].sort());
  });

  it(`selects the keys redis-server selects, for ${RUNS} random patterns`, async () => {
    const c = client as RawRespClient;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...PATTERN_CHARS), { minLength: 1, maxLength: 6 }), async (chars) => {
        runs++;
        const pattern = chars.join('');
        const expected = listed(await c.send(['KEYS', pattern]));
        const ours = [...new Set(KEYS)].filter((k) => globMatch(pattern, k)).sort();
        expect(ours, `pattern ${JSON.stringify(pattern)}`).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it.each([['[a-c]'], ['[c-a]'], ['[^a]'], ['[\\]]'], ['[a'], ['a\\'], ['\\*'], ['[]a]'], ['[-a]'], ['[a-]'], ['*a*'], ['?[^-]'], ['[\\-a]'], ['[^]']])('pattern %s', async (pattern) => {
    const c = client as RawRespClient;
    expect([...new Set(KEYS)].filter((k) => globMatch(pattern, k)).sort()).toEqual(listed(await c.send(['KEYS', pattern])));
  });
});
