// Fixed scripts the random oracle does not draw, against a real redis-server, byte for byte:
// WATCH (the random runner's own writes would touch watched keys on one server only), RESP3 after
// HELLO 3 (every reply type tally sends, framed by the raw client), and SCRIPT KILL / BUSY.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startOracleServers, type OracleServers } from './oracle-servers.js';
import { RawRespClient, showBytes } from './raw-resp.js';

vi.setConfig({ testTimeout: 60_000 });

let servers: OracleServers | undefined;
let run = 0;
beforeAll(async () => {
  servers = await startOracleServers();
});
afterAll(async () => {
  await servers?.stop();
});

/** A step whose reply names the server (HELLO) is sent but not compared: `ignore`. */
type Script = readonly { readonly client: 0 | 1; readonly words: readonly string[]; readonly ignore?: boolean }[];

/** Runs a script of commands from two clients against each server; returns each server's replies. */
async function play(port: number, name: string, script: Script, prefix: string): Promise<string[]> {
  const clients = await Promise.all([RawRespClient.connect(port, name), RawRespClient.connect(port, name)]);
  try {
    await clients[0].send(['FLUSHALL']);
    const out: string[] = [];
    for (const step of script) out.push(showBytes(await clients[step.client].send(step.words.map((w) => w.replace('{k}', `${prefix}k`).replace('{j}', `${prefix}j`)))));
    return out;
  } finally {
    for (const c of clients) c.close();
  }
}

async function same(script: Script): Promise<void> {
  const s = servers as OracleServers;
  const prefix = `w${run++}:`;
  const [redis, tally] = await Promise.all([play(s.ports.redis, 'redis', script, prefix), play(s.ports.tally, 'tally', script, prefix)]);
  const lines = script.map((st, i) => `${st.client}: ${st.words.join(' ')}\n   redis ${redis[i]}\n   tally ${tally[i]}`);
  const shown = (r: string[]): string[] => r.map((x, i) => (script[i]?.ignore === true ? '(not compared)' : x));
  expect(shown(tally), lines.join('\n')).toEqual(shown(redis));
}

const a = (...words: string[]): { client: 0; words: string[] } => ({ client: 0, words });
const b = (...words: string[]): { client: 1; words: string[] } => ({ client: 1, words });

describe('WATCH, as redis-server answers it', () => {
  it('runs EXEC when no watched key changed, and answers nil when another client changed one', () =>
    same([a('WATCH', '{k}'), a('MULTI'), a('INCR', '{k}'), a('EXEC'), a('WATCH', '{k}', '{j}'), b('INCR', '{j}'), a('MULTI'), a('INCR', '{k}'), a('EXEC'), a('GET', '{k}')]));

  it('counts the client\'s own writes, DEL and FLUSHALL as changes; UNWATCH and DISCARD forget', () =>
    same([
      a('INCR', '{k}'), a('WATCH', '{k}'), a('INCR', '{k}'), a('MULTI'), a('GET', '{k}'), a('EXEC'),
      a('WATCH', '{k}'), b('DEL', '{k}'), a('MULTI'), a('PING'), a('EXEC'),
      a('WATCH', '{k}'), a('UNWATCH'), b('INCR', '{k}'), a('MULTI'), a('GET', '{k}'), a('EXEC'),
      a('WATCH', '{k}'), a('MULTI'), a('DISCARD'), b('INCR', '{k}'), a('MULTI'), a('GET', '{k}'), a('EXEC'),
      a('WATCH', '{j}'), b('FLUSHALL'), a('MULTI'), a('PING'), a('EXEC'),
    ]));

  it('refuses WATCH inside MULTI without dooming the transaction, and a watch of a missing key that stays missing holds', () =>
    same([a('MULTI'), a('WATCH', '{k}'), a('INCR', '{j}'), a('EXEC'), a('WATCH', '{k}'), b('GET', '{k}'), a('MULTI'), a('PING'), a('EXEC'), a('WATCH')]));
});

describe('RESP3, as redis-server answers it', () => {
  it('sends nulls, maps, sets, verbatim text and Lua\'s typed replies in RESP3 after HELLO 3, and RESP2 again after HELLO 2', () =>
    same([
      { client: 0, words: ['HELLO', '3', 'SETNAME', 'x'], ignore: true },
      a('GET', '{k}'),
      a('MGET', '{k}', '{j}'),
      a('INCR', '{k}'),
      a('CONFIG', 'GET', 'databases'),
      a('EVAL', 'return {double=3.5}', '0'),
      a('EVAL', 'return {double=0.1}', '0'),
      a('EVAL', "return {big_number='123456789012345678901234567890'}", '0'),
      a('EVAL', 'return {map={a=1}}', '0'),
      a('EVAL', "return {set={a=true}}", '0'),
      a('EVAL', 'return true', '0'),
      a('EVAL', 'return false', '0'),
      a('EVAL', "redis.setresp(3); return redis.call('GET', KEYS[1])", '1', '{j}'),
      a('EVAL', 'redis.setresp(3); return true', '0'),
      a('EVAL', 'redis.setresp(3); return false', '0'),
      a('EVAL', "redis.setresp(3); local t = redis.call('CONFIG', 'GET', 'databases'); return t", '0'),
      a('MULTI'),
      a('GET', '{j}'),
      a('EXEC'),
      a('WATCH', '{k}'),
      b('INCR', '{k}'),
      a('MULTI'),
      a('EXEC'),
      { client: 0, words: ['HELLO', '2'], ignore: true },
      a('GET', '{j}'),
      a('EVAL', 'return {double=3.5}', '0'),
      a('EVAL', 'return {map={a=1}}', '0'),
    ]));
});

describe('busy scripts', () => {
  it('SCRIPT KILL with no script running, as Redis answers it', () => same([a('SCRIPT', 'KILL'), a('SCRIPT', 'KILL', 'x')]));
});

describe('HELLO 3 itself', () => {
  it('answers a map naming tally, then RESP3 until HELLO 2', async () => {
    const s = servers as OracleServers;
    const c = await RawRespClient.connect(s.ports.tally, 'tally');
    try {
      const hello = (await c.send(['HELLO', '3'])).toString('latin1');
      expect(hello).toMatch(/^%7\r\n\$6\r\nserver\r\n\$5\r\ntally\r\n\$7\r\nversion\r\n\$[0-9]+\r\n[^\r]+\r\n\$5\r\nproto\r\n:3\r\n/);
      expect((await c.send(['GET', 'nosuch'])).toString('latin1')).toBe('_\r\n');
      expect((await c.send(['INFO', 'server'])).toString('latin1')).toMatch(/^=[0-9]+\r\ntxt:# Server\r\n/);
      expect((await c.send(['HELLO', '2'])).toString('latin1')).toMatch(/^\*14\r\n/);
      expect((await c.send(['GET', 'nosuch'])).toString('latin1')).toBe('$-1\r\n');
    } finally {
      c.close();
    }
  });
});
