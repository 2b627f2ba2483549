// The command model of the Redis oracle: fast-check arbitraries for random command sequences over a
// small key set (so types collide and keys are reused) and small integers plus edge values.

import { createHash } from 'node:crypto';
import fc from 'fast-check';

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

/**
 * A word of a command: literal text, a key, or a key pattern (the runner prefixes keys and patterns
 * to isolate one sequence).
 */
export type Word = string | { readonly key: string } | { readonly pattern: string };

/** One generated command. Its string form is the redis-cli line, so fast-check prints it readably. */
export class Cmd {
  constructor(readonly words: readonly Word[]) {}

  /** The words as sent, keys prefixed with `prefix`. */
  resolve(prefix: string): string[] {
    return this.words.map((w) => (typeof w === 'string' ? w : 'key' in w ? prefix + w.key : prefix + w.pattern));
  }

  /** The distinct keys the command names, prefixed. */
  keys(prefix: string): string[] {
    return [...new Set(this.words.flatMap((w) => (typeof w === 'string' || !('key' in w) ? [] : [prefix + w.key])))];
  }

  toString(): string {
    return showWords(this.resolve(''));
  }

  [fc.toStringMethod](): string {
    return this.toString();
  }
}

/** A command as a redis-cli line: words with spaces, quotes or nothing in them are quoted. */
export function showWords(words: readonly (string | Buffer)[]): string {
  return words.map((w) => (typeof w !== 'string' ? `<${w.length} bytes>` : /^[\x21-\x7e]+$/.test(w) && !/["']/.test(w) ? w : JSON.stringify(w))).join(' ');
}

/** Few keys, so that types collide and deleted keys are reused; one is not ASCII (keys are bytes). */
export const KEYS = ['a', 'b', 'c\u00e9'] as const;

/**
 * HyperLogLog elements. Few, so PFADD repeats them; none share a register with another (the test
 * checks first), so small PFCOUNTs are exact. Large sets come from a bulk PFADD of `el:<n>` words.
 */
export const ELEMENTS = ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7'] as const;

/** Integer edge values: 0, -1, both ends of tally's exact range ±(2^53-1) and of int64, and just past them. */
export const EDGE_INTEGERS = [
  '0',
  '-1',
  '9007199254740991',
  '-9007199254740991',
  '9007199254740992',
  '-9007199254740992',
  '9223372036854775807',
  '-9223372036854775808',
  '9223372036854775808',
  '-9223372036854775809',
] as const;

/** Words that look like integers to a lax parser and are not, to Redis's string2ll. */
export const NOT_INTEGERS = ['1.5', 'abc', '', '+1', '01', ' 1', '1 ', '-0', '1e3', '0x10'] as const;

/** A key word, for examples and the table's reproductions. */
export const k = (name: string): { key: string } => ({ key: name });
const key = fc.constantFrom(...KEYS).map(k);
const keys = (min: number, max: number): fc.Arbitrary<{ key: string }[]> => fc.array(key, { minLength: min, maxLength: max });
const smallInt = fc.integer({ min: -5, max: 5 }).map(String);
/** Mostly small integers, so counters stay in range and values collide; sometimes an edge value. */
const integer = fc.oneof({ weight: 6, arbitrary: smallInt }, { weight: 2, arbitrary: fc.constantFrom(...EDGE_INTEGERS) });
/** An argument that should be an integer: usually one, sometimes a near miss. */
const amount = fc.oneof({ weight: 8, arbitrary: integer }, { weight: 1, arbitrary: fc.constantFrom(...NOT_INTEGERS) });
const element = fc.constantFrom(...ELEMENTS);
/**
 * Any argument: short words, numbers, long ones (Redis cuts them in its errors, by bytes: after an
 * even-length word the cut falls inside a two-byte character), CR LF, NUL (C strings end there) and UTF-8.
 */
const anyWord = fc.oneof(
  fc.constantFrom('a', 'b', 'x0', 'xyz', '', 'a\r\nb', 'a\u0000b', 'h\u00e9llo', '\u00e9'.repeat(70)),
  integer,
  fc.constantFrom(...NOT_INTEGERS),
  fc.string({ maxLength: 70 }),
);

/** The command name in upper case, lower case or mixed: names are case-insensitive. */
function named(name: string): fc.Arbitrary<string> {
  const mixed = [...name].map((c, i) => (i % 2 === 0 ? c.toLowerCase() : c)).join('');
  return fc.constantFrom(name, name.toLowerCase(), mixed);
}

function command(name: string | fc.Arbitrary<string>, ...rest: fc.Arbitrary<Word | Word[]>[]): fc.Arbitrary<Cmd> {
  const n = typeof name === 'string' ? named(name) : name.chain(named);
  return fc.tuple(n, ...rest).map(([first, ...r]) => new Cmd([first, ...r.flat()]));
}

/**
 * SET's expiry options: times far enough away that no key expires between the two servers' replies
 * (each server takes its own clock; the oracle copies tally's deadline into Redis when it copies a
 * key), a time in the past (the key ends at once on both), and the errors of a bad time or a clash.
 */
const SET_EXPIRY: readonly string[][] = [
  ['EX', '1000'],
  ['PX', '1000000'],
  ['EXAT', '4102444800'],
  ['PXAT', '4102444800000'],
  ['EXAT', '1'],
  ['KEEPTTL'],
  ['GET', 'KEEPTTL'],
  ['NX', 'EX', '2000'],
  ['XX', 'PX', '3000000', 'GET'],
  ['EX', '1000', 'EX', '2000'],
  ['EX', '0'],
  ['PX', '-1'],
  ['EX', 'x'],
  ['EX', '1000', 'PX', '1000'],
  ['KEEPTTL', 'EX', '1000'],
  ['PERSIST'],
];

/** Commands whose meaning should match Redis's, with weights that keep sequences interesting. */
const CORE: fc.WeightedArbitrary<Cmd>[] = [
  { weight: 6, arbitrary: command('INCR', key) },
  { weight: 4, arbitrary: command('DECR', key) },
  { weight: 8, arbitrary: command('INCRBY', key, amount) },
  { weight: 5, arbitrary: command('DECRBY', key, amount) },
  { weight: 1, arbitrary: command('INCRBYFLOAT', key, fc.oneof(integer, fc.constantFrom(...NOT_INTEGERS))) },
  { weight: 6, arbitrary: command('GET', key) },
  { weight: 2, arbitrary: command('MGET', keys(1, 4)) },
  { weight: 6, arbitrary: command('SET', key, amount) },
  {
    weight: 1,
    arbitrary: command('SET', key, integer, fc.constantFrom(['NX'], ['XX'], ['GET'], ['EX', '1000'], ['KEEPTTL'], ['BAD'])),
  },
  { weight: 4, arbitrary: command('DEL', keys(1, 3)) },
  { weight: 3, arbitrary: command('EXISTS', keys(1, 4)) },
  { weight: 3, arbitrary: command('TYPE', key) },
  { weight: 2, arbitrary: command('DBSIZE') },
  { weight: 6, arbitrary: command('PFADD', key, fc.array(element, { maxLength: 4 })) },
  // Hundreds or thousands of elements at once: sets past Redis's sparse limit, estimates far from exact.
  {
    weight: 2,
    arbitrary: command(
      'PFADD',
      key,
      fc.tuple(fc.integer({ min: 0, max: 50_000 }), fc.oneof(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1000, max: 5000 }))).map(([start, n]) => Array.from({ length: n }, (_, i) => `el:${start + i}`)),
    ),
  },
  { weight: 4, arbitrary: command('PFCOUNT', keys(1, 3)) },
  { weight: 3, arbitrary: command('PFMERGE', key, keys(0, 2)) },
  { weight: 1, arbitrary: command('FLUSHDB', fc.constantFrom([], ['ASYNC'], ['SYNC'], ['LATER'])) },
  { weight: 1, arbitrary: command('FLUSHALL', fc.constantFrom([], ['SYNC'])) },
  { weight: 2, arbitrary: command('SELECT', fc.constantFrom('0', '1', '0', '1', '15', '16', '-1', '01', 'x')) },
  { weight: 1, arbitrary: command('PING', fc.constantFrom([], ['hello'])) },
  { weight: 1, arbitrary: command('ECHO', anyWord) },
  {
    weight: 3,
    arbitrary: command(
      'SET',
      key,
      amount,
      fc.constantFrom(['NX'], ['XX'], ['GET'], ['nx', 'GET'], ['XX', 'get'], ['GET', 'GET'], ['NX', 'XX'], ['EX'], ['BAD'], ...SET_EXPIRY),
    ),
  },
  { weight: 2, arbitrary: command('UNLINK', keys(1, 3)) },
  { weight: 2, arbitrary: command('SETNX', key, amount) },
  { weight: 2, arbitrary: command(fc.constantFrom('MSET', 'MSETNX'), fc.array(fc.tuple(key, amount), { minLength: 1, maxLength: 3 }).map((ps) => ps.flat())) },
  { weight: 2, arbitrary: command('STRLEN', key) },
  { weight: 1, arbitrary: command('KEYS', fc.constantFrom('*', 'a*', '?', '[ab]', 'c*', 'x*').map((p) => ({ pattern: p }))) },
  {
    weight: 1,
    arbitrary: command('SCAN', fc.constant('0'), fc.constantFrom(['MATCH', '*'], ['match', '[ab]'], ['MATCH', '*', 'TYPE', 'string'], ['MATCH', '*', 'TYPE', 'hash']).map(([m, p, ...rest]) => [m as string, { pattern: p as string }, ...rest]), fc.constant(['COUNT', '1000'])),
  },
  { weight: 1, arbitrary: command('SCAN', fc.constantFrom(['x'], ['0', 'COUNT', '0'], ['0', 'COUNT', 'x'], ['0', 'FOO'], ['0', 'MATCH'])) },
];

/**
 * Transactions: MULTI, a few commands queued (any of the above, errors included), then EXEC or
 * DISCARD. WATCH is not drawn here (the runner's own writes into Redis, after an accepted
 * difference, would touch a watched key on one server only): watch-differential.test.ts has it.
 */
const TRANSACTION: fc.WeightedArbitrary<Cmd>[] = [
  { weight: 3, arbitrary: command('MULTI') },
  { weight: 3, arbitrary: command('EXEC') },
  { weight: 1, arbitrary: command('DISCARD') },
  { weight: 1, arbitrary: command(fc.constantFrom('MULTI', 'EXEC', 'DISCARD'), fc.constant(['x'])) },
];

/** Scripts over counters: KEYS and ARGV are the sequence's keys and amounts. */
export const SCRIPTS = [
  "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  "return redis.call('GET', KEYS[1])",
  "return {redis.call('INCR', KEYS[1]), redis.call('DECR', KEYS[2])}",
  "return redis.pcall('INCRBYX', KEYS[1])",
  "local v = redis.call('GET', KEYS[1]) if v then return tonumber(v) * 2 end return false",
  "return redis.call('SET', KEYS[1], ARGV[1])",
  "return redis.status_reply('FINE')",
  "return redis.error_reply('MY error')",
  "return {1, 2.9, -2.9, 'x', true, false, {ok='S'}}",
  "error('boom')",
  "return redis.call('PFADD', KEYS[1], ARGV[1])",
  "return redis.call('EXISTS', KEYS[1], KEYS[2])",
  "return redis.pcall('INCR', KEYS[1], KEYS[2])",
  "local n = redis.call('INCR', KEYS[1]) if n > 3 then return redis.error_reply('LIMIT reached') end return n",
  "return nosuchglobal",
  "return redis.call('DEL', KEYS[1])",
] as const;

const script = fc.constantFrom(...SCRIPTS);
const SCRIPTING: fc.WeightedArbitrary<Cmd>[] = [
  { weight: 4, arbitrary: fc.tuple(named('EVAL'), script, key, key, amount).map(([n, body, k1, k2, arg]) => new Cmd([n, body, '2', k1, k2, arg])) },
  { weight: 2, arbitrary: fc.tuple(named('EVALSHA'), script, key, key, amount).map(([n, body, k1, k2, arg]) => new Cmd([n, sha1(body), '2', k1, k2, arg])) },
  { weight: 1, arbitrary: fc.tuple(named('EVAL_RO'), script, key, key, amount).map(([n, body, k1, k2, arg]) => new Cmd([n, body, '2', k1, k2, arg])) },
  { weight: 1, arbitrary: command('SCRIPT', fc.constantFrom('LOAD', 'load'), script) },
  { weight: 1, arbitrary: fc.tuple(named('SCRIPT'), fc.constantFrom('EXISTS', 'exists'), script, fc.constantFrom('x', 'abc')).map(([n, sub, body, other]) => new Cmd([n, sub, sha1(body).toUpperCase(), other])) },
  { weight: 1, arbitrary: command('EVAL', fc.constantFrom(['return 1', '-1'], ['return 1', 'x'], ['return 1', '3', 'a'], ['return 1'])) },
  { weight: 1, arbitrary: command('EVALSHA', fc.constantFrom(['abc', '0'], ['0123456789012345678901234567890123456789', '0'])) },
  { weight: 1, arbitrary: command('SCRIPT', fc.constantFrom(['FLUSH'], ['FLUSH', 'SYNC'], ['FLUSH', 'x'], ['EXISTS'], ['KILL'], ['NOSUCH'])) },
];

/** Client names: valid ones (every byte in `!`..`~`), empty (removes the name) and each kind of bad byte. */
const clientName = fc.constantFrom('abc', '', 'a b', 'a\u00e9', 'x\n', 'a-b_c.d', '!~', 'a\tb', 'x\u007f', 'a\u0000b');

/**
 * Connection and server commands whose replies do not depend on the server's identity or settings
 * (neither server has a password; CONFIG SET is never sent: it would change Redis; HELLO only with
 * options that fail, since its reply names the server). CONFIG GET asks for one parameter at a time
 * (by name or pattern): Redis lists several in its hash table's order.
 */
const CONNECTION: fc.WeightedArbitrary<Cmd>[] = [
  { weight: 1, arbitrary: command('AUTH', fc.constantFrom(['secret'], ['default', 'secret'], ['DEFAULT', 'secret'], ['bob', 'secret'], ['a', 'b', 'c'], ['default', 'a', 'b'])) },
  { weight: 1, arbitrary: command('CLIENT', fc.constantFrom('SETNAME', 'setname'), clientName) },
  { weight: 1, arbitrary: command('CLIENT', fc.constantFrom(['GETNAME'], ['getname'], ['GETNAME', 'x'], ['SETNAME'], ['SETNAME', 'a', 'b'], ['ID', 'x'], ['INFO', 'x'])) },
  {
    weight: 1,
    arbitrary: command(fc.constantFrom('CLIENT', 'CONFIG', 'COMMAND'), fc.constantFrom('FOO', 'foo', 'NoSuch', 'h\u00e9', 'a\r\nb', 'a\u0000b', 'x'.repeat(140))),
  },
  {
    weight: 2,
    arbitrary: command(
      'CONFIG',
      fc.constantFrom(
        ['GET', 'databases'],
        ['get', 'DATABASES'],
        ['GET', 'DataBases', 'databases'],
        ['GET', 'DATA*'],
        ['GET', 'd?tabases'],
        ['GET', '[cd]atabases'],
        ['GET', 'databases', 'DATA*'],
        ['GET', 'DATA*', 'DATABASES'],
        ['GET', 'nosuch'],
        ['GET', 'nosuch*'],
        ['GET'],
        ['GET', 'save'],
        ['GET', 'SAVE', 'nosuch'],
      ),
    ),
  },
  { weight: 1, arbitrary: command(fc.constantFrom('CLIENT', 'CONFIG')) },
  {
    weight: 1,
    arbitrary: command(
      'HELLO',
      fc.constantFrom(['2', 'FOO'], ['2', 'foo', 'x'], ['2', 'h\u00e9'], ['2', 'SETNAME'], ['2', 'AUTH', 'default'], ['2', 'AUTH', 'bob', 'x'], ['x']),
    ),
  },
  { weight: 1, arbitrary: command('HELLO', fc.constant('2'), fc.constantFrom('SETNAME', 'setname'), clientName, fc.constant('FOO')) },
];

/** Wrong arities: every command above with too few or too many words. */
const WRONG_ARITY: fc.Arbitrary<Cmd>[] = [
  command('INCR', fc.constantFrom([], ['a', 'b'])),
  command('DECR', fc.constantFrom([], ['a', '1'])),
  command('INCRBY', fc.constantFrom([], ['a'], ['a', '1', '2'])),
  command('DECRBY', fc.constantFrom([], ['a'], ['a', '1', '2'])),
  command('INCRBYFLOAT', fc.constantFrom([], ['a'], ['a', '1', '2'])),
  command('GET', fc.constantFrom([], ['a', 'b'])),
  command('MGET'),
  command('SET', fc.constantFrom([], ['a'])),
  command('DEL'),
  command('EXISTS'),
  command('TYPE', fc.constantFrom([], ['a', 'b'])),
  command('DBSIZE', fc.constantFrom(['a'], ['a', 'b'])),
  command('PFADD'),
  command('PFCOUNT'),
  command('PFMERGE'),
  command('SELECT', fc.constantFrom([], ['0', '1'])),
  command('PING', fc.constantFrom(['a', 'b'])),
  command('ECHO', fc.constantFrom([], ['a', 'b'])),
  command('FLUSHDB', fc.constantFrom(['SYNC', 'ASYNC'])),
  command('GETSET', fc.constantFrom([], ['a'], ['a', '1', '2'])),
  command('GETDEL', fc.constantFrom([], ['a', 'b'])),
  command('STRLEN', fc.constantFrom([], ['a', 'b'])),
  command('UNLINK'),
  command('SETNX', fc.constantFrom([], ['a'], ['a', '1', '2'])),
  command(fc.constantFrom('MSET', 'MSETNX'), fc.constantFrom([], ['a'], ['a', '1', 'b'])),
  command('KEYS', fc.constantFrom([], ['a', 'b'])),
  command('SCAN'),
  command('WATCH'),
  command('UNWATCH', fc.constant(['x'])),
  command('EVAL', fc.constantFrom([], ['return 1'])),
];

/** Names no server knows, with up to 8 arguments (Redis shows the first ones in its error). */
const UNKNOWN = fc
  .tuple(fc.constantFrom('NOSUCH', 'incrr', 'PFADDX', 'get.x', 'x'.repeat(140)), fc.array(anyWord, { maxLength: 8 }))
  .map(([n, args]) => new Cmd([n, ...args]));

/**
 * Redis commands that tally does not have yet but whose meaning should match once it does: each is
 * generated only when the tally under test lists it in COMMAND LIST, so the oracle covers it the day it
 * lands.
 */
const LANDING: Record<string, fc.Arbitrary<Cmd>> = {
  getdel: command('GETDEL', key),
  getset: command('GETSET', key, amount),
  expire: command('EXPIRE', key, fc.constantFrom('1000', '2000', '0', '-1', 'x')),
  setex: command('SETEX', key, fc.constantFrom('1000', '2000', '0', '-1', 'x'), amount),
  psetex: command('PSETEX', key, fc.constantFrom('1000000', '0', 'x'), amount),
  getex: command('GETEX', key, fc.constantFrom([], ['EX', '1000'], ['PX', '2000000'], ['EXAT', '4102444800'], ['PXAT', '1'], ['PERSIST'], ['EX', '0'], ['KEEPTTL'], ['EX', '1000', 'PERSIST'])),
  persist: command('PERSIST', key),
  ttl: command('TTL', key),
};

export interface ModelOptions {
  /** Lower-case names from tally's COMMAND LIST: which LANDING commands to generate. */
  tallyCommands: ReadonlySet<string>;
  maxLength: number;
}

/** Which LANDING commands the given tally implements. */
export function landed(tallyCommands: ReadonlySet<string>): string[] {
  return Object.keys(LANDING).filter((n) => tallyCommands.has(n));
}

/** A random command. */
export function commandArb(o: ModelOptions): fc.Arbitrary<Cmd> {
  const landing = landed(o.tallyCommands).map((n) => ({ weight: 3, arbitrary: LANDING[n] as fc.Arbitrary<Cmd> }));
  return fc.oneof(...CORE, ...CONNECTION, ...TRANSACTION, ...SCRIPTING, ...landing, { weight: 3, arbitrary: fc.oneof(...WRONG_ARITY) }, { weight: 2, arbitrary: UNKNOWN });
}

/** A random sequence of commands, run from empty servers. */
export function sequenceArb(o: ModelOptions): fc.Arbitrary<Cmd[]> {
  return fc.array(commandArb(o), { minLength: 1, maxLength: o.maxLength, size: 'max' });
}
