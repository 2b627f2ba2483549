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

describe('argument edges, as redis-server answers them', () => {
  it('SCAN reads its cursor as strtoul does (an empty one is 0), and refuses a bad option, count or missing value', () =>
    same([
      a('INCR', '{k}'),
      a('SCAN', '+0'), a('SCAN', '0', 'MATCH', '*', 'COUNT', '100'), a('SCAN', '0', 'match', '*k'), a('SCAN', '0', 'MATCH', '*j'),
      a('SCAN', '0', 'TYPE', 'STRING'), a('SCAN', '0', 'type', 'hash'), a('SCAN', '0', 'COUNT', '10', 'TYPE', 'string', 'MATCH', '*'),
      a('SCAN', '18446744073709551616'), a('SCAN', '-18446744073709551616'), a('SCAN', '99999999999999999999999'),
      a('SCAN', '1x'), a('SCAN', 'x1'), a('SCAN', ''), a('SCAN', '-'), a('SCAN', '+'), a('SCAN', '0x10'), a('SCAN', ' 0'), a('SCAN', '0 '),
      a('SCAN', '0', 'COUNT', '0'), a('SCAN', '0', 'COUNT', '-1'), a('SCAN', '0', 'COUNT', 'x'), a('SCAN', '0', 'COUNT'),
      a('SCAN', '0', 'MATCH'), a('SCAN', '0', 'TYPE'), a('SCAN', '0', 'FOO', 'bar'), a('SCAN', '0', 'COUNT', '5', 'MATCH'),
    ]));

  it('KEYS matches its pattern; MEMORY and SLOWLOG check their subcommands\' arguments', () =>
    same([
      a('INCR', '{k}'), a('INCR', '{j}'),
      a('KEYS', 'w*k'), a('KEYS', 'nothing*'),
      a('MEMORY', 'USAGE', '{j}x'), a('MEMORY', 'USAGE', '{k}', 'SAMPLES', 'x'), a('MEMORY', 'USAGE', '{k}', 'SAMPLES'),
      a('MEMORY', 'USAGE', '{k}', 'FOO', '5'), a('MEMORY', 'USAGE', '{k}', 'SAMPLES', '-1'), a('MEMORY', 'USAGE', '{k}', 'samples', '99999999999999999999'),
      a('MEMORY', 'USAGE', '{k}', 'SAMPLES', '5', 'SAMPLES'), a('MEMORY', 'USAGE', 'nokey', 'SAMPLES', '0'),
      a('MEMORY', 'PURGE', 'x'), a('MEMORY', 'USAGE'), a('MEMORY', 'FOO'), a('MEMORY', 'HELP', 'x'),
      a('SLOWLOG', 'LEN', 'x'), a('SLOWLOG', 'GET', '1', '2'), a('SLOWLOG', 'GET', 'x'), a('SLOWLOG', 'GET', '-2'),
      a('SLOWLOG', 'foo'), a('SLOWLOG', 'HELP', 'x'), a('SLOWLOG', 'RESET', 'x'),
    ]));

  it('HELLO checks its protocol version and each option in order; AUTH takes one or two words', () =>
    same([
      a('HELLO', 'x'), a('HELLO', '99999999999999999999'), a('HELLO', '1'), a('HELLO', '-2'),
      a('HELLO', '2', 'AUTH'), a('HELLO', '2', 'AUTH', 'default'), a('HELLO', '2', 'SETNAME'), a('HELLO', '2', 'FOO'),
      a('HELLO', '2', 'AUTH', 'default', 'x', 'y'), a('HELLO', '2', 'auth', 'default', 'x', 'SETNAME'),
      { client: 0, words: ['HELLO', '2', 'AUTH', 'default', 'any'], ignore: true },
      a('HELLO', '2', 'SETNAME', 'first', 'FOO'), a('CLIENT', 'GETNAME'),
      a('HELLO', '2', 'setname', 'second', 'SETNAME'), a('CLIENT', 'GETNAME'),
      a('HELLO', '2', 'SETNAME', 'bad name'), a('CLIENT', 'GETNAME'),
      a('AUTH', 'a', 'b', 'c'), a('AUTH'),
      a('CLIENT', 'SETNAME'), a('CLIENT', 'GETNAME', 'x'), a('CLIENT', 'ID', 'x'), a('CLIENT', 'INFO', 'x'), a('CLIENT', 'HELP', 'x'), a('CLIENT', 'NOPE'),
      a('CONFIG', 'GET'), a('CONFIG', 'HELP', 'x'), a('CONFIG', 'NOPE'), a('ACL', 'NOPE'), a('ACL', 'HELP', 'x'), a('ACL', 'WHOAMI'),
    ]));

  it('redis.call checks a container command\'s subcommand and its arity, as it checks a command\'s', () =>
    same([
      a('EVAL', "return redis.call('memory', 'purge', 'x')", '0'),
      a('EVAL', "return redis.call('slowlog', 'len', 'x')", '0'),
      a('EVAL', "return redis.call('memory', 'usage')", '0'),
      a('EVAL', "return redis.call('memory', 'nope')", '0'),
      a('EVAL', "return redis.call('config', 'get')", '0'),
      a('EVAL', "return redis.pcall('client', 'nope')", '0'),
      a('EVAL', "return redis.call('memory', 'usage', 'nokey')", '0'),
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
