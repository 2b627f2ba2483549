// Every intended difference between tally's replies and redis-server's, in one table. The
// differential test (redis-differential.test.ts) accepts a mismatch only when one of these rows
// matches it, and docs/commands.md carries the same table (differences-doc.test.ts checks it).
// A mismatch that no row explains is a bug in tally, not a row to add.

import { Cmd, k, type Word } from './commands.js';
import { replyEnd } from './raw-resp.js';

/** One command as both servers ran it, and what followed. */
export interface Step {
  /** The words sent to both servers. */
  readonly words: readonly string[];
  /** Redis's reply and tally's, exact bytes. */
  readonly redis: Buffer;
  readonly tally: Buffer;
  /** The distinct keys the command names, and whether each exists on each server after it ran. */
  readonly keys: readonly string[];
  readonly redisExists: readonly boolean[];
  readonly tallyExists: readonly boolean[];
}

/** What tally acknowledged for one key (in one database) earlier in the current sequence. */
export interface KeyHistory {
  /**
   * Lower bounds of what this node has counted into the key's slot, up and down (slots never shrink,
   * not even on DEL or SET), and how many zero writes (`SET k 0`, `INCRBY k 0`) it ran, each of
   * which may have added one increment and one decrement.
   */
  readonly up: bigint;
  readonly down: bigint;
  readonly zeroWrites: number;
}

/** Read-only questions a row may ask, on the sequence's own connections (so in its database). */
export interface Probe {
  tally(words: readonly string[]): Promise<Buffer>;
  redis(words: readonly string[]): Promise<Buffer>;
  history(key: string): KeyHistory;
}

export interface Difference {
  /** Stable name, shown in test output when the row accepts a mismatch. */
  readonly id: string;
  /** The command and situation (markdown). */
  readonly case: string;
  /** A shortest sequence, from empty servers, whose last command shows the difference. */
  readonly example: readonly Cmd[];
  /** What redis-server 7.0 answers, and what tally answers (markdown). */
  readonly redis: string;
  readonly tally: string;
  /** Why tally differs (markdown). */
  readonly why: string;
  /** Whether this row explains the mismatch in `step` (replies, or the keys' existence after it). */
  matches(step: Step, probe: Probe): boolean | Promise<boolean>;
}

// Exact reply bytes tally answers in the cases below.
const OVERFLOW = '-ERR increment or decrement would overflow\r\n';
const NOT_INTEGER = '-ERR value is not an integer or out of range\r\n';
const SET_NOT_INTEGER = '-ERR value is not an integer or out of range (tally keys hold counters: SET takes an integer)\r\n';
const INCRBYFLOAT_REFUSED = '-ERR tally counters hold exact integers; INCRBYFLOAT is not supported (use INCRBY with an integer in your smallest unit)\r\n';
const OK = '+OK\r\n';
const HLL_TYPE = '+hll\r\n';

/** tally's exact range: ±(2^53 - 1). */
export const EXACT_MAX = 2n ** 53n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Parses like Redis's string2ll: optional '-', no '+', no leading zeros or spaces, within int64. */
export function strictInt64(s: string): bigint | null {
  if (!/^(0|-?[1-9][0-9]{0,19})$/.test(s)) return null;
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? null : v;
}

const abs = (v: bigint): bigint => (v < 0n ? -v : v);
const is = (reply: Buffer, text: string): boolean => reply.equals(Buffer.from(text, 'latin1'));
const c = (...words: Word[]): Cmd => new Cmd(words);
const name = (s: Step): string => (s.words[0] ?? '').toLowerCase();

/** The integer of an integer reply (`:n`), or null. */
export function integerReply(reply: Buffer): bigint | null {
  const m = /^:(-?[0-9]+)\r\n$/.exec(reply.toString('latin1'));
  return m === null ? null : BigInt(m[1] as string);
}

/** The element replies of an array reply, each as exact bytes, or null if it is not an array. */
export function arrayElements(reply: Buffer): Buffer[] | null {
  const m = /^\*(-?[0-9]+)\r\n/.exec(reply.toString('latin1', 0, Math.min(reply.length, 24)));
  if (m === null) return null;
  const out: Buffer[] = [];
  let p = (m[0] as string).length;
  for (let i = 0; i < Number(m[1]); i++) {
    const e = replyEnd(reply, p);
    if (e === null) return null;
    out.push(reply.subarray(p, e));
    p = e;
  }
  return out;
}

/** Whether the reply is a bulk string holding a Redis HyperLogLog (its internal bytes start "HYLL"). */
function isHllBulk(reply: Buffer): boolean {
  return /^\$[0-9]+\r\nHYLL/.test(reply.toString('latin1', 0, 16));
}

const COUNTER_WRITES = new Set(['incr', 'decr', 'incrby', 'decrby']);

/** The signed amount a counter write adds (SET: its value), or null if the word is no int64. */
/** The values a SET-like command writes: MSET's and MSETNX's every second word, SETEX's third, SET's second. */
function setValues(s: Step): string[] {
  const n = name(s);
  if (n === 'mset' || n === 'msetnx') return s.words.filter((_, i) => i >= 2 && i % 2 === 0);
  if (n === 'set' || n === 'getset' || n === 'setnx') return [s.words[2] ?? ''];
  if (n === 'setex' || n === 'psetex') return [s.words[3] ?? ''];
  return [];
}

function amountOf(s: Step): bigint | null {
  switch (name(s)) {
    case 'incr':
      return 1n;
    case 'decr':
      return -1n;
    case 'incrby':
    case 'set':
    case 'getset':
    case 'setnx':
      return strictInt64(s.words[2] ?? '');
    case 'setex':
    case 'psetex':
      return strictInt64(s.words[3] ?? '');
    case 'decrby': {
      const v = strictInt64(s.words[2] ?? '');
      return v === null ? null : -v;
    }
    default:
      return null;
  }
}

/** Whether the key `s.words[1]` exists on each server after the step. */
function existsAfter(s: Step, server: 'redis' | 'tally'): boolean | undefined {
  const i = s.keys.indexOf(s.words[1] ?? '');
  return i < 0 ? undefined : (server === 'redis' ? s.redisExists : s.tallyExists)[i];
}

export const DIFFERENCES: readonly Difference[] = [
  {
    id: 'counter-beyond-exact-range',
    case: '`INCR`, `DECR`, `INCRBY`, `DECRBY` whose amount or result is beyond ±(2^53−1)',
    example: [c('INCRBY', k('a'), '9007199254740991'), c('INCR', k('a'))],
    redis: 'the new value (int64 arithmetic), or its own error for the amount or the key',
    tally: '`ERR increment or decrement would overflow`, and nothing changes',
    why: 'tally counters are exact integers within ±(2^53−1) (JavaScript numbers, summed over per-node slots); leaving that range fails instead of rounding',
    matches: (s) => {
      if (!COUNTER_WRITES.has(name(s)) || !is(s.tally, OVERFLOW)) return false;
      const a = amountOf(s);
      if (a === null) return false;
      if (abs(a) > EXACT_MAX) return true;
      const n = integerReply(s.redis);
      return n !== null && abs(n) > EXACT_MAX;
    },
  },
  {
    id: 'set-beyond-exact-range',
    case: '`SET k v` (and `GETSET`, `SETNX`, `SETEX`, `PSETEX`, `MSET`, `MSETNX`) with an integer `v` beyond ±(2^53−1) (within int64)',
    example: [c('SET', k('a'), '9007199254740992')],
    redis: '`OK`',
    tally: '`ERR increment or decrement would overflow`, and nothing changes',
    why: 'as above: a counter holds only exact integers within ±(2^53−1)',
    matches: (s) => {
      const values = setValues(s);
      const beyond = values.some((w) => {
        const v = strictInt64(w);
        return v !== null && abs(v) > EXACT_MAX;
      });
      return beyond && !s.redis.toString('latin1').startsWith('-') && is(s.tally, OVERFLOW);
    },
  },
  {
    id: 'counter-slot-exhausted',
    case: 'an increment (or decrement, or `SET`) after this node has counted 2^53−1 into the key in that direction',
    example: [c('INCRBY', k('a'), '9007199254740991'), c('DECRBY', k('a'), '9007199254740991'), c('INCR', k('a'))],
    redis: 'the new value (or `OK`)',
    tally: '`ERR increment or decrement would overflow`, and nothing changes; `SET k 0` / `INCRBY k 0` answer as Redis does but leave no key',
    why: 'a PN-Counter keeps per-node totals of increments and of decrements that never shrink (not even on DEL or SET: an observed reset only raises floors), each within 2^53−1, so one node incarnation can count at most 2^53−1 each way over a key\'s life ([crdt-counters.md](crdt-counters.md))',
    matches: (s, p) => {
      const n = name(s);
      const isSet = n === 'set' || n === 'getset' || n === 'setnx' || n === 'setex' || n === 'psetex';
      if (n === 'mset' || n === 'msetnx') {
        // Each pair as a SET of its own: one whose key's slot is full explains the refusal, or the missing key.
        const within = new Map<string, KeyHistory>(); // the pairs before this one, of the same command
        for (let i = 1; i + 1 < s.words.length; i += 2) {
          const v = strictInt64(s.words[i + 1] ?? '');
          if (v === null || abs(v) > EXACT_MAX) continue;
          const k = s.words[i] ?? '';
          const u = within.get(k) ?? p.history(k);
          within.set(k, { up: u.up + (v > 0n ? v : 0n), down: u.down + (v < 0n ? -v : 0n), zeroWrites: u.zeroWrites + (v === 0n ? 1 : 0) });
          const slack = BigInt(u.zeroWrites);
          const full = v > 0n ? u.up + slack + v > EXACT_MAX : v < 0n ? u.down + slack - v > EXACT_MAX : u.up + slack >= EXACT_MAX || u.down + slack >= EXACT_MAX;
          if (full && (is(s.tally, OVERFLOW) || s.redis.equals(s.tally))) return true;
        }
        return false;
      }
      if (!(COUNTER_WRITES.has(n) || isSet)) return false;
      const a = amountOf(s);
      if (a === null || abs(a) > EXACT_MAX) return false;
      const u = p.history(s.words[1] ?? '');
      const slack = BigInt(u.zeroWrites);
      if (is(s.tally, OVERFLOW)) {
        const r = integerReply(s.redis);
        const redisOk = isSet ? !s.redis.toString('latin1').startsWith('-') : r !== null && abs(r) <= EXACT_MAX;
        const full = a > 0n ? u.up + slack + a > EXACT_MAX : a < 0n && u.down + slack - a > EXACT_MAX;
        return redisOk && full;
      }
      // A zero write needs one increment and one decrement to leave a key that exists at 0.
      return a === 0n && s.redis.equals(s.tally) && existsAfter(s, 'redis') === true && existsAfter(s, 'tally') === false && (u.up + slack >= EXACT_MAX || u.down + slack >= EXACT_MAX);
    },
  },
  {
    id: 'set-not-an-integer',
    case: '`SET k v` (with or without options that let it write), `GETSET`, `SETNX`, `SETEX`, `PSETEX`, `MSET`, `MSETNX` where a `v` is not an integer in Redis\'s strict syntax (`1.5`, `abc`, `""`, `+1`, `01`, `" 1"`, `-0`, beyond int64)',
    example: [c('SET', k('a'), '1.5')],
    redis: '`OK` (a string value), or the old value',
    tally: '`ERR value is not an integer or out of range (tally keys hold counters: SET takes an integer)`',
    why: 'tally keys hold counters (and sketches), never strings',
    matches: (s) => {
      const values = setValues(s);
      return values.some((v) => strictInt64(v) === null) && !s.redis.toString('latin1').startsWith('-') && is(s.tally, SET_NOT_INTEGER);
    },
  },
  {
    id: 'incrbyfloat',
    case: '`INCRBYFLOAT k x`',
    example: [c('INCRBYFLOAT', k('a'), '1.5')],
    redis: 'the new value as a bulk string, or `ERR value is not a valid float`',
    tally: '`ERR tally counters hold exact integers; INCRBYFLOAT is not supported (use INCRBY with an integer in your smallest unit)`',
    why: 'counts are exact integers, never rounded',
    matches: (s) => name(s) === 'incrbyfloat' && s.words.length === 3 && is(s.tally, INCRBYFLOAT_REFUSED),
  },
  {
    id: 'counter-command-on-hll',
    case: '`SET` (with any options), `SETEX`, `PSETEX`, `GETSET`, `MSET` of a value that is not HYLL bytes, and `INCR`, `DECR`, `INCRBY`, `DECRBY`, on a HyperLogLog key',
    example: [c('PFADD', k('a'), 'x0'), c('SET', k('a'), '1')],
    redis: 'SET, SETEX, PSETEX: `OK` (SET ... GET and GETSET: the HLL\'s HYLL bytes), replacing the HLL by the string; MSET: `OK`; the others: `ERR value is not an integer or out of range`',
    tally: '`WRONGTYPE Operation against a key holding the wrong kind of value`',
    why: 'a tally key\'s type is fixed when it is created (in Redis an HLL is a string): a HyperLogLog key takes only HYLL bytes (SET of them replaces it, as in Redis)',
    matches: async (s, p) => {
      const n = name(s);
      if (n === 'mset') {
        // MSET checks every pair first: one HLL among the keys refuses the whole command.
        if (!is(s.redis, OK) || !s.tally.toString('latin1').startsWith('-WRONGTYPE ')) return false;
        for (let i = 1; i < s.words.length; i += 2) if (is(await p.tally(['TALLY.TYPE', s.words[i] ?? '']), HLL_TYPE)) return true;
        return false;
      }
      const redisOk =
        n === 'set' || n === 'setex' || n === 'psetex' || n === 'getset'
          ? is(s.redis, OK) || isHllBulk(s.redis)
          : COUNTER_WRITES.has(n) && is(s.redis, NOT_INTEGER);
      // After the command: Redis may have replaced the key; tally's is still the HLL.
      return redisOk && s.tally.toString('latin1').startsWith('-WRONGTYPE ') && is(await p.tally(['TALLY.TYPE', s.words[1] ?? '']), HLL_TYPE);
    },
  },
  {
    id: 'empty-hll',
    case: '`PFADD k` with no elements, or `PFMERGE k` of missing or empty sources, on a missing key; `SET k` of HYLL bytes with no register set',
    example: [c('PFADD', k('a'))],
    redis: 'creates an empty HyperLogLog (EXISTS 1, TYPE string, DBSIZE counts it)',
    tally: 'the same reply, but no key exists',
    why: 'an empty HyperLogLog has no state to replicate: the key comes into existence with its first element',
    matches: async (s, p) =>
      ['pfadd', 'pfmerge', 'set', 'getset', 'setex', 'psetex'].includes(name(s)) &&
      s.redis.equals(s.tally) &&
      existsAfter(s, 'redis') === true &&
      existsAfter(s, 'tally') === false &&
      is(await p.redis(['PFCOUNT', s.words[1] ?? '']), ':0\r\n'),
  },

  {
    id: 'script-meets-a-difference',
    case: '`EVAL`, `EVALSHA`, `EVAL_RO` whose script calls a command on which tally differs (a row above)',
    example: [c('PFADD', k('a'), 'x0'), c('EVAL', "return redis.call('INCRBY', KEYS[1], ARGV[1])", '1', k('a'), '1')],
    redis: 'what the script makes of Redis\'s reply',
    tally: 'what the script makes of tally\'s reply: most often the script fails with tally\'s error text (`... script: <sha1>, on @user_script:1.`)',
    why: 'a script calls the same commands as a client, so each row above applies inside scripts too',
    matches: async (s, p) => {
      if (!/^eval(sha)?(_ro)?$/.test(name(s))) return false;
      if (TALLY_ONLY.some((t) => s.tally.toString('latin1').includes(t))) return true;
      if (!s.redis.equals(s.tally)) return false;
      // Same reply, a key exists on one server only: the script's write met a row that is about
      // existence (a zero write on an exhausted slot, an empty HyperLogLog).
      for (const [i, k] of s.keys.entries()) {
        if (s.redisExists[i] === s.tallyExists[i]) continue;
        const u = p.history(k);
        const full = u.up + BigInt(u.zeroWrites) >= EXACT_MAX || u.down + BigInt(u.zeroWrites) >= EXACT_MAX;
        if (!full && !is(await p.redis(['PFCOUNT', k]), ':0\r\n')) return false;
      }
      return true;
    },
  },
  {
    id: 'help-lists-tally-subcommands',
    case: '`CLIENT HELP`, `CONFIG HELP`, `COMMAND HELP`, `SCRIPT HELP`, `SLOWLOG HELP`, `MEMORY HELP`',
    example: [c('CLIENT', 'HELP')],
    redis: 'the help of every subcommand Redis has',
    tally: 'the same header and lines, for the subcommands tally has',
    why: 'tally lists what it answers (CLIENT KILL, CONFIG SET... are not there)',
    matches: (s) => (s.words[1] ?? '').toLowerCase() === 'help' && s.redis.toString('latin1').startsWith('*') && s.tally.toString('latin1').startsWith('*'),
  },
];

/** Error texts only tally writes: a script's error that quotes one of them met a row above. */
const TALLY_ONLY = [
  'increment or decrement would overflow',
  '(tally keys hold counters: SET takes an integer)',
  'tally counters hold exact integers',
  'WRONGTYPE Operation against a key holding the wrong kind of value',
  'tally has no key expiry yet',
];

/** The first row that explains the step's mismatch, or undefined (a bug). */
export async function explain(step: Step, probe: Probe, extra: readonly Difference[] = []): Promise<Difference | undefined> {
  for (const d of [...DIFFERENCES, ...extra]) if (await d.matches(step, probe)) return d;
  return undefined;
}

/** The table as docs/commands.md shows it, from its heading to the end of the table. */
export function differencesMarkdown(): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    '## Differences from Redis',
    '',
    'Every intended difference between tally\'s replies and redis-server\'s (7.0) for the commands both',
    'have. The Redis oracle (`test/oracle/redis-differential.test.ts`) sends the same random command',
    'sequences to a tally node and to a real redis-server, compares every reply byte for byte, and',
    'accepts a mismatch only when a row here explains it; any other difference is a bug. The rows live',
    'in `test/oracle/differences.ts`; `test/oracle/differences-doc.test.ts` checks that this copy agrees.',
    '',
    '| case | example | Redis answers | tally answers | why |',
    '| --- | --- | --- | --- | --- |',
    ...DIFFERENCES.map((d) => {
      const example = d.example.map((x) => `\`${x.toString()}\``).join(', ');
      return `| ${cell(d.case)} | ${cell(example)} | ${cell(d.redis)} | ${cell(d.tally)} | ${cell(d.why)} |`;
    }),
  ].join('\n');
}
