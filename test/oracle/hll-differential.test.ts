// The HyperLogLog oracle: random sequences of PFADD (a few elements, or thousands at once, so sets
// grow well past Redis's sparse limit and estimates are far from exact), PFCOUNT, PFMERGE, GET,
// GETDEL, DEL and SET, SET NX / XX / GET, GETSET and MSET of HYLL bytes (Redis's own, taken from
// its GET at run time, and corrupted copies of them) go to a real redis-server and a tally node.
// Every reply must be equal byte for byte, GET's HYLL bytes (sparse or dense, cached cardinality included) too, and
// so must every key's existence and HYLL bytes at the end. The one difference allowed is SET of
// broken HYLL bytes: Redis stores any string and refuses it at the next PF command, tally refuses it
// at once with the text Redis's PF command would answer (docs/crdt-hll.md, "Redis's encoding").
// More runs: TALLY_HLL_ORACLE_RUNS=500.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hasHyllMagic, parseHyll } from '../../src/crdt/redis-hyll.js';
import { showWords } from './commands.js';
import { RawRespClient, showBytes } from './raw-resp.js';
import { startOracleServers, type OracleServers } from './oracle-servers.js';

const RUNS = Number(process.env.TALLY_HLL_ORACLE_RUNS ?? 40);
const KEYS = ['h1', 'h2', 'h3'] as const;

vi.setConfig({ testTimeout: 600_000 });

type Op =
  | { kind: 'add'; key: number; elements: string[] }
  | { kind: 'bulk'; key: number; start: number; n: number }
  | { kind: 'count'; keys: number[] }
  | { kind: 'merge'; dest: number; sources: number[] }
  | { kind: 'get' | 'getdel' | 'del'; key: number }
  | { kind: 'copy'; from: number; to: number; how: 'SET' | 'GETSET' | 'SET GET' | 'SET NX' | 'SET XX' | 'MSET' }
  | { kind: 'corrupt'; from: number; to: number; cut: number; at: number; xor: number };

const key = fc.integer({ min: 0, max: KEYS.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), key, elements: fc.array(fc.constantFrom('a', 'b', 'c', 'hello', '', 'h\u00e9', 'x'.repeat(40)), { maxLength: 4 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('bulk' as const),
      key,
      start: fc.integer({ min: 0, max: 20_000 }),
      // Up to a few hundred (sparse), or thousands (past Redis's 3,000-byte sparse limit: dense).
      n: fc.oneof(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1000, max: 6000 })),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('count' as const), keys: fc.array(key, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('merge' as const), dest: key, sources: fc.array(key, { maxLength: 2 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('get' as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('getdel' as const, 'del' as const), key }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('copy' as const), from: key, to: key, how: fc.constantFrom('SET' as const, 'GETSET' as const, 'SET GET' as const, 'SET NX' as const, 'SET XX' as const, 'MSET' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('corrupt' as const),
      from: key,
      to: key,
      cut: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 40 })),
      at: fc.nat(),
      xor: fc.integer({ min: 0, max: 255 }),
    }),
  },
);

let servers: OracleServers | undefined;
let sequences = 0;

beforeAll(async () => {
  servers = await startOracleServers();
});

afterAll(async () => {
  await servers?.stop();
});

/** The payload of a bulk reply, or null for nil or anything else. */
function bulk(reply: Buffer): Buffer | null {
  if (reply[0] !== 0x24) return null;
  const head = reply.indexOf('\r\n');
  const len = Number(reply.toString('latin1', 1, head));
  return len < 0 ? null : reply.subarray(head + 2, head + 2 + len);
}

/** Broken copies of HYLL bytes: cut to `cut` bytes past the header (or not), one byte xor-ed. */
function corrupt(bytes: Buffer, cut: number, at: number, xor: number): Buffer {
  const out = Buffer.from(cut < 0 ? bytes : bytes.subarray(0, Math.min(bytes.length, 16 + cut)));
  if (out.length > 0 && xor !== 0) out[at % out.length] = (out[at % out.length] as number) ^ xor;
  // A cached count that disagrees with the registers yet is marked valid is the one case where tally
  // answers otherwise (from the registers; Redis trusts the cache): mark an edited cache stale.
  if (out.length >= 16 && at % out.length >= 8 && at % out.length < 16) out[15] = (out[15] as number) | 0x80;
  return out;
}

describe('HyperLogLogs against redis-server', () => {
  it(`answers ${RUNS} random PF / GET / SET-of-HYLL sequences byte for byte as redis-server does`, async () => {
    const s = servers;
    if (s === undefined) throw new Error('the servers did not start');
    const [redis, tally] = await Promise.all([RawRespClient.connect(s.ports.redis, 'redis'), RawRespClient.connect(s.ports.tally, 'tally')]);
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
          const prefix = `hll${sequences++}:`;
          const k = (i: number): string => prefix + KEYS[i];
          const log: string[] = [];
          const both = async (words: (string | Buffer)[]): Promise<[Buffer, Buffer]> => {
            const [r, t] = await Promise.all([redis.send(words), tally.send(words)]);
            log.push(`${showWords(words)}\n    redis ${showBytes(r).slice(0, 200)}\n    tally ${showBytes(t).slice(0, 200)}`);
            return [r, t];
          };
          const fail = (why: string): never => {
            throw new Error(`${why}\n${log.join('\n')}`);
          };
          const same = async (words: (string | Buffer)[]): Promise<void> => {
            const [r, t] = await both(words);
            if (!r.equals(t)) fail(`replies differ to ${showWords(words)}`);
            // The one intended difference on these commands (the 'empty-hll' row of differences.ts):
            // PFADD of nothing or PFMERGE of empty sources makes an empty HLL key in Redis only.
            const name = String(words[0]);
            if (name === 'PFADD' || name === 'PFMERGE') {
              const dest = String(words[1]);
              const [re, te] = await Promise.all([redis.send(['EXISTS', dest]), tally.send(['EXISTS', dest])]);
              if (!re.equals(te)) {
                if (!(await redis.send(['PFCOUNT', dest])).equals(Buffer.from(':0\r\n'))) fail(`${dest} exists on one server only`);
                await redis.send(['DEL', dest]);
              }
            }
          };
          for (const op of ops) {
            switch (op.kind) {
              case 'add':
                await same(['PFADD', k(op.key), ...op.elements]);
                break;
              case 'bulk':
                await same(['PFADD', k(op.key), ...Array.from({ length: op.n }, (_, i) => `el:${op.start + i}`)]);
                break;
              case 'count':
                await same(['PFCOUNT', ...op.keys.map(k)]);
                break;
              case 'merge':
                await same(['PFMERGE', k(op.dest), ...op.sources.map(k)]);
                break;
              case 'get':
                await same(['GET', k(op.key)]);
                break;
              case 'getdel':
                await same(['GETDEL', k(op.key)]);
                break;
              case 'del':
                await same(['DEL', k(op.key)]);
                break;
              case 'copy': {
                const value = bulk(await redis.send(['GET', k(op.from)]));
                if (value === null) break;
                const words = op.how === 'GETSET' || op.how === 'MSET' ? [op.how, k(op.to), value] : ['SET', k(op.to), value, ...op.how.split(' ').slice(1)];
                await same(words);
                break;
              }
              case 'corrupt': {
                const value = bulk(await redis.send(['GET', k(op.from)]));
                if (value === null) break;
                const bad = corrupt(value, op.cut, op.at, op.xor);
                const [r, t] = await both(['SET', k(op.to), bad]);
                if (r.equals(t)) break; // still a valid HYLL: both took it
                if (!hasHyllMagic(bad)) {
                  // No longer meant as an HLL: a string tally cannot hold ('set-not-an-integer').
                  if (!t.toString('latin1').startsWith('-ERR value is not an integer')) fail('a value without the HYLL magic got another error');
                  const tv = bulk(await tally.send(['GET', k(op.to)]));
                  if (tv === null) await redis.send(['DEL', k(op.to)]);
                  else await redis.send(['SET', k(op.to), tv]);
                  break;
                }
                const parsed = parseHyll(bad);
                if (parsed.ok) fail('tally refused HYLL bytes it parses');
                // Redis stored the string; its next PF command that reads the registers answers what
                // tally answered at SET (PFCOUNT of one key may answer the cached count unchecked).
                const rc = await redis.send(['PFCOUNT', k(op.to), k(op.to)]);
                log.push(`  (redis PFCOUNT of the stored bytes: ${showBytes(rc)})`);
                const tallyStricter = !parsed.ok && /above 51|cut off/.test(parsed.error.detail);
                if (!rc.equals(t) && !tallyStricter) fail(`tally's SET error is not what Redis answers for those bytes (${parsed.ok ? '' : parsed.error.detail})`);
                // Give Redis tally's state of the key again (tally did not change it).
                const tv = bulk(await tally.send(['GET', k(op.to)]));
                if (tv === null) await redis.send(['DEL', k(op.to)]);
                else await redis.send(['SET', k(op.to), tv]);
                break;
              }
            }
          }
          for (const i of KEYS.keys()) {
            await same(['EXISTS', k(i)]);
            await same(['GET', k(i)]);
          }
        }),
        { numRuns: RUNS },
      );
    } finally {
      redis.close();
      tally.close();
    }
  });

  it('moves an HLL of 100,000 elements from Redis to tally and back unchanged, with the same count', async () => {
    const s = servers;
    if (s === undefined) throw new Error('the servers did not start');
    const [redis, tally] = await Promise.all([RawRespClient.connect(s.ports.redis, 'redis'), RawRespClient.connect(s.ports.tally, 'tally')]);
    try {
      for (let i = 0; i < 100_000; i += 1000) {
        const words = ['PFADD', 'big'];
        for (let j = i; j < i + 1000; j++) words.push(`user:${j}`);
        await Promise.all([redis.send(words), tally.send(words)]);
      }
      const [rc, tc] = await Promise.all([redis.send(['PFCOUNT', 'big']), tally.send(['PFCOUNT', 'big'])]);
      expect(showBytes(tc)).toBe(showBytes(rc));
      const fromRedis = bulk(await redis.send(['GET', 'big']));
      expect(fromRedis?.length).toBe(16 + 12288);
      expect(bulk(await tally.send(['GET', 'big']))?.equals(fromRedis as Buffer)).toBe(true);
      expect((await tally.send(['SET', 'moved', fromRedis as Buffer])).toString()).toBe('+OK\r\n');
      expect(bulk(await tally.send(['GET', 'moved']))?.equals(fromRedis as Buffer)).toBe(true);
      expect(showBytes(await tally.send(['PFCOUNT', 'moved']))).toBe(showBytes(rc));
      await tally.send(['PFADD', 'moved', 'one-more']);
      await redis.send(['PFADD', 'big', 'one-more']);
      const back = bulk(await tally.send(['GET', 'moved']));
      expect((await redis.send(['SET', 'back', back as Buffer])).toString()).toBe('+OK\r\n');
      expect(bulk(await redis.send(['GET', 'back']))?.equals(bulk(await redis.send(['GET', 'big'])) as Buffer)).toBe(true);
      expect(showBytes(await redis.send(['PFCOUNT', 'back']))).toBe(showBytes(await tally.send(['PFCOUNT', 'moved'])));
    } finally {
      redis.close();
      tally.close();
    }
  });
});
