// Counter commands: INCR, INCRBY, DECR, DECRBY, GET, MGET, SET (with NX XX GET and the expiry options), GETSET,
// GETDEL, GETEX, SETNX, SETEX, PSETEX, MSET, MSETNX, DEL, UNLINK, STRLEN, EXISTS, TYPE, INCRBYFLOAT.

import { fullKey } from '../../keyspace/keyspace.js';
import type { KeyspaceError } from '../../keyspace/types.js';
import * as errors from '../../errors.js';
import { NULL_BULK, OK, ZERO, ONE, reply, type Reply } from './reply.js';
import { ERR_NOT_INTEGER, ERR_OVERFLOW, ERR_SYNTAX, ERR_WRONGTYPE, errKeyTooLong, MAX_KEY_BYTES, parseInt64, wrongArity } from './parse.js';
import type { CommandServices, CommandSpec, Session } from './types.js';
import type { ArgRanges } from './arg-ranges.js';
import { parseSetValue, readValue } from './string-values.js';

function keyError(e: KeyspaceError): Reply {
  switch (e.code) {
    case 'WRONGTYPE':
      return ERR_WRONGTYPE;
    case 'OVERFLOW':
      return ERR_OVERFLOW;
    case 'NOT_INTEGER':
      return ERR_NOT_INTEGER;
    default:
      return { kind: 'error', message: e.message };
  }
}

const INCRBYFLOAT_UNSUPPORTED: Reply = Object.freeze(reply.error(errors.INCRBYFLOAT_UNSUPPORTED));
const SET_NOT_INTEGER: Reply = Object.freeze(reply.error(errors.SET_NOT_INTEGER));

function intReply(v: number | bigint): Reply {
  return v === 0 ? ZERO : v === 1 ? ONE : { kind: 'int', value: v };
}

/** Shared body of INCR/INCRBY/DECR/DECRBY, on the key `buf[start, end)`. */
function incrBy(ctx: CommandServices, s: Session, buf: Buffer, start: number, end: number, n: number): Reply {
  // Stryker disable next-line ConditionalExpression: equivalent, the keyspace refuses a longer new key with the same text (none exists)
  if (end - start > MAX_KEY_BYTES) return errKeyTooLong(ctx.keyspace.maxKeyBytes);
  const r = ctx.keyspace.incrByAt(s.db, buf, start, end, n, ctx.counterTypeFor);
  if (!r.ok) return keyError(r.error);
  return intReply(r.value);
}

/** INCR/DECR (`delta` 1 or -1) on a Buffer argument. */
function incrArg(ctx: CommandServices, s: Session, key: Buffer, delta: number): Reply {
  return incrBy(ctx, s, key, 0, key.length, delta);
}

/** INCR/DECR on ranges: the key is argument 1. */
function incrRanges(ctx: CommandServices, s: Session, a: ArgRanges, delta: number): Reply {
  return incrBy(ctx, s, a.buf, a.start(1), a.end(1), delta);
}

/** The amount of INCRBY/DECRBY from `b[start, end)`, or the error reply. */
function amount(b: Buffer, start: number, end: number, negate: boolean): number | Reply {
  const n = parseInt64(b, start, end);
  if (n === null) return ERR_NOT_INTEGER;
  if (n === 'range') return ERR_OVERFLOW; // a valid int64 beyond tally's exact range
  return negate ? -n : n;
}

/** INCRBY/DECRBY: the amount is checked before the key (as Redis does). */
function incrByArgs(ctx: CommandServices, s: Session, key: Buffer, by: Buffer, negate: boolean): Reply {
  const n = amount(by, 0, by.length, negate);
  return typeof n === 'number' ? incrBy(ctx, s, key, 0, key.length, n) : n;
}

function incrByRanges(ctx: CommandServices, s: Session, a: ArgRanges, negate: boolean): Reply {
  const n = amount(a.buf, a.start(2), a.end(2), negate);
  return typeof n === 'number' ? incrBy(ctx, s, a.buf, a.start(1), a.end(1), n) : n;
}

export const counterCommands: CommandSpec[] = [
  {
    name: 'incr',
    arity: 2,
    flags: ['write', 'denyoom', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => incrArg(ctx, s, a[1] as Buffer, 1),
    runRanges: (ctx, s, a) => incrRanges(ctx, s, a, 1),
  },
  {
    name: 'decr',
    arity: 2,
    flags: ['write', 'denyoom', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => incrArg(ctx, s, a[1] as Buffer, -1),
    runRanges: (ctx, s, a) => incrRanges(ctx, s, a, -1),
  },
  {
    name: 'incrby',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => incrByArgs(ctx, s, a[1] as Buffer, a[2] as Buffer, false),
    runRanges: (ctx, s, a) => incrByRanges(ctx, s, a, false),
  },
  {
    name: 'decrby',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => incrByArgs(ctx, s, a[1] as Buffer, a[2] as Buffer, true),
    runRanges: (ctx, s, a) => incrByRanges(ctx, s, a, true),
  },
  {
    name: 'incrbyfloat',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    keys: [1, 1, 1],
    run: () => INCRBYFLOAT_UNSUPPORTED,
  },
  {
    name: 'get',
    arity: 2,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    // A counter's decimal value, or an HLL's HYLL bytes (as Redis holds them).
    run: (ctx, s, a) => readValue(ctx, fullKey(s.db, a[1] as Buffer)),
    runRanges: (ctx, s, a) => readValue(ctx, ctx.keyspace.keyAt(s.db, a.buf, a.start(1), a.end(1))),
  },
  {
    name: 'mget',
    arity: -2,
    flags: ['readonly', 'fast'],
    keys: [1, -1, 1],
    run: (ctx, s, a) => {
      const out: Reply[] = [];
      for (let i = 1; i < a.length; i++) {
        const r = readValue(ctx, fullKey(s.db, a[i] as Buffer));
        // Like Redis, MGET answers nil for a key of another type rather than failing.
        out.push(r.kind === 'bulk' ? r : NULL_BULK);
      }
      return { kind: 'array', value: out };
    },
  },
  {
    name: 'set',
    arity: -3,
    flags: ['write', 'denyoom'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => setCommand(ctx, s, a[1] as Buffer, a[2] as Buffer, a.slice(3)),
  },
  {
    name: 'getset',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => setCommand(ctx, s, a[1] as Buffer, a[2] as Buffer, [GET_WORD]),
  },
  {
    name: 'getdel',
    arity: 2,
    flags: ['write', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const key = fullKey(s.db, a[1] as Buffer);
      const r = readValue(ctx, key);
      if (r.kind !== 'bulk' || r.value === null) return r;
      ctx.keyspace.del(key);
      return r;
    },
  },
  {
    name: 'setnx',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const r = setCommand(ctx, s, a[1] as Buffer, a[2] as Buffer, [NX_WORD]);
      return r.kind === 'error' ? r : r.kind === 'bulk' ? ZERO : ONE;
    },
  },
  {
    name: 'setex',
    arity: 4,
    flags: ['write', 'denyoom'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => setCommand(ctx, s, a[1] as Buffer, a[3] as Buffer, [EX_WORD, a[2] as Buffer], 'setex'),
  },
  {
    name: 'psetex',
    arity: 4,
    flags: ['write', 'denyoom'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => setCommand(ctx, s, a[1] as Buffer, a[3] as Buffer, [PX_WORD, a[2] as Buffer], 'psetex'),
  },
  { name: 'getex', arity: -2, flags: ['write', 'fast'], keys: [1, 1, 1], run: getex },
  { name: 'mset', arity: -3, flags: ['write', 'denyoom'], keys: [1, -1, 2], run: (ctx, s, a) => mset(ctx, s, a, false) },
  { name: 'msetnx', arity: -3, flags: ['write', 'denyoom'], keys: [1, -1, 2], run: (ctx, s, a) => mset(ctx, s, a, true) },
  { name: 'del', arity: -2, flags: ['write'], keys: [1, -1, 1], run: (ctx, s, a) => del(ctx, s, a) },
  // UNLINK frees memory in the background in Redis; a tally delete is a small tombstone either way.
  { name: 'unlink', arity: -2, flags: ['write', 'fast'], keys: [1, -1, 1], run: (ctx, s, a) => del(ctx, s, a) },
  {
    name: 'strlen',
    arity: 2,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      // TYPE calls every key a string, so tools (redis-cli --bigkeys) ask STRLEN of any key: a counter's
      // decimal length; for the other types, the size of their encoded state (Redis: an HLL's byte length).
      // An HLL answers the length of its HYLL bytes, as in Redis (one with no Redis encoding: its state's).
      const key = fullKey(s.db, a[1] as Buffer);
      const r = readValue(ctx, key);
      if (r.kind === 'bulk') return intReply(r.value === null ? 0 : r.value.length);
      return intReply(ctx.keyspace.encodeKey(key)?.bytes.length ?? 0);
    },
  },
  {
    name: 'exists',
    arity: -2,
    flags: ['readonly', 'fast'],
    keys: [1, -1, 1],
    run: (ctx, s, a) => {
      let n = 0;
      for (let i = 1; i < a.length; i++) if (ctx.keyspace.exists(fullKey(s.db, a[i] as Buffer))) n++;
      return intReply(n);
    },
  },
  {
    name: 'type',
    arity: 2,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const t = ctx.keyspace.typeOf(fullKey(s.db, a[1] as Buffer));
      // Redis reports counters and HyperLogLogs as strings; TALLY.TYPE gives the CRDT type.
      return { kind: 'simple', value: t === undefined ? 'none' : 'string' };
    },
  },
  {
    name: 'tally.type',
    arity: 2,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => ({ kind: 'simple', value: ctx.keyspace.typeOf(fullKey(s.db, a[1] as Buffer)) ?? 'none' }),
  },
];

function del(ctx: CommandServices, s: Session, a: readonly Buffer[]): Reply {
  let n = 0;
  for (let i = 1; i < a.length; i++) if (ctx.keyspace.del(fullKey(s.db, a[i] as Buffer))) n++;
  return intReply(n);
}

const GET_WORD = Buffer.from('GET');
const NX_WORD = Buffer.from('NX');
const EX_WORD = Buffer.from('EX');
const PX_WORD = Buffer.from('PX');

/**
 * MSET / MSETNX: every pair is checked first (an integer value for a counter or a missing key, or
 * HYLL bytes for an HLL or a missing key; not too long), so a refused pair leaves every key as it
 * was. The one exception is an exhausted slot (below), which only a node that counted 2^53-1 into
 * a key meets.
 */
function mset(ctx: CommandServices, s: Session, a: readonly Buffer[], nx: boolean): Reply {
  if ((a.length - 1) % 2 !== 0) return wrongArity(nx ? 'msetnx' : 'mset');
  // MSETNX looks at existence first, as Redis does: a key that exists (of any type) answers 0.
  if (nx) for (let i = 1; i < a.length; i += 2) if (ctx.keyspace.exists(fullKey(s.db, a[i] as Buffer))) return ZERO;
  const pairs: [string, ReturnType<typeof parseSetValue>][] = [];
  for (let i = 1; i < a.length; i += 2) {
    const keyArg = a[i] as Buffer;
    if (keyArg.length > MAX_KEY_BYTES) return errKeyTooLong(ctx.keyspace.maxKeyBytes);
    const v = parseSetValue(a[i + 1] as Buffer, parseInt64, SET_NOT_INTEGER);
    if (v.kind === 'error') return v.reply;
    const key = fullKey(s.db, keyArg);
    const t = ctx.keyspace.typeOf(key);
    if (v.kind === 'hll') {
      if (t !== undefined && t !== 'hll') return ERR_WRONGTYPE;
    } else {
      if (t !== undefined && t !== 'pncounter' && t !== 'gcounter') return ERR_WRONGTYPE;
      // A missing key would be created as the type gcounterKeys gives its name.
      if (v.n < 0 && (t ?? ctx.counterTypeFor(key)) === 'gcounter') return keyError({ code: 'GCOUNTER_DECREMENT', message: errors.GCOUNTER_DECREMENT });
    }
    pairs.push([key, v]);
  }
  // A key named twice takes its last value, as in Redis (one write per key).
  const last = new Map(pairs);
  for (const [key, v] of last) {
    // Only a slot with no room left fails here (this node counted 2^53-1 into the key; see
    // crdt-counters.md), or HYLL bytes on a node of another HLL precision: the pairs before it stay
    // applied, and the error says which failure.
    const r = v.kind === 'hll' ? ctx.keyspace.setHll(key, v.hll) : v.kind === 'counter' ? ctx.keyspace.setCounter(key, v.n, ctx.counterTypeFor) : null;
    if (r !== null && !r.ok) return keyError(r.error);
  }
  return nx ? ONE : OK;
}
type ExpiryOption = 'EX' | 'PX' | 'EXAT' | 'PXAT';

interface SetOptions {
  nx: boolean;
  xx: boolean;
  get: boolean;
  keepttl: boolean;
  /** GETEX only. */
  persist: boolean;
  expire: { unit: ExpiryOption; arg: Buffer } | null;
}

/**
 * SET's options (`forGetex`: GETEX's), parsed as Redis 7.0's parseExtendedStringArgumentsOrReply
 * does: any case; NX/XX/GET/KEEPTTL for SET, PERSIST for GETEX, one kind of EX/PX/EXAT/PXAT (the
 * same one twice: the last wins) with its argument; a clash or anything else is a syntax error.
 */
function setOptions(opts: readonly Buffer[], forGetex = false): SetOptions | null {
  const o: SetOptions = { nx: false, xx: false, get: false, keepttl: false, persist: false, expire: null };
  for (let j = 0; j < opts.length; j++) {
    const w = (opts[j] as Buffer).toString('latin1').toUpperCase();
    const next = opts[j + 1];
    if (w === 'NX' && !o.xx && !forGetex) o.nx = true;
    else if (w === 'XX' && !o.nx && !forGetex) o.xx = true;
    else if (w === 'GET' && !forGetex) o.get = true;
    else if (w === 'KEEPTTL' && o.expire === null && !forGetex) o.keepttl = true;
    else if (w === 'PERSIST' && o.expire === null && forGetex) o.persist = true;
    else if ((w === 'EX' || w === 'PX' || w === 'EXAT' || w === 'PXAT') && !o.keepttl && !o.persist && (o.expire === null || o.expire.unit === w) && next !== undefined) {
      o.expire = { unit: w, arg: next };
      j++;
    } else return null;
  }
  return o;
}

/**
 * The deadline (ms since the epoch) of an EX/PX/EXAT/PXAT argument, checked as Redis 7.0's
 * getExpireMillisecondsOrReply checks it: not an integer is `ERR value is not an integer or out of
 * range`; zero, negative, or (tally's bound) a deadline beyond 2^53-1 ms is
 * `ERR invalid expire time in '<command>' command`.
 */
function expiryDeadline(e: { unit: ExpiryOption; arg: Buffer }, now: number, command: string): number | Reply {
  const n = parseInt64(e.arg);
  if (n === null) return ERR_NOT_INTEGER;
  const invalid = reply.error(errors.invalidExpireTime(command));
  if (n === 'range' || n <= 0) return invalid;
  const ms = e.unit === 'EX' || e.unit === 'EXAT' ? n * 1000 : n;
  const deadline = e.unit === 'EX' || e.unit === 'PX' ? now + ms : ms;
  return Number.isSafeInteger(ms) && Number.isSafeInteger(deadline) ? deadline : invalid;
}

/**
 * SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL] (and GETSET, SETNX, SETEX, PSETEX),
 * in Redis 7.0's order: the options, then the expiry's argument, then the old value (GET), then the
 * NX/XX condition, and only then the value, which must be an integer (so `SET k abc NX` on an
 * existing key answers nil, not the integer error). Without KEEPTTL the key's TTL is cleared, then
 * the expiry (if any) set, as one write: a deadline already past ends the key at once, as Redis does.
 * `command` names the command in the invalid-expire-time error.
 */
function setCommand(ctx: CommandServices, s: Session, keyArg: Buffer, value: Buffer, opts: readonly Buffer[], command = 'set'): Reply {
  const o = opts.length === 0 ? NO_OPTIONS : setOptions(opts);
  if (o === null) return ERR_SYNTAX;
  let deadline: number | null = null;
  if (o.expire !== null) {
    const d = expiryDeadline(o.expire, ctx.now(), command);
    if (typeof d !== 'number') return d;
    deadline = d;
  }
  const key = fullKey(s.db, keyArg);
  let old: Reply = OK;
  if (o.get) {
    old = readValue(ctx, key);
    if (old.kind === 'error') return old;
  }
  if (o.nx || o.xx) {
    const found = ctx.keyspace.exists(key);
    if ((o.nx && found) || (o.xx && !found)) return o.get ? old : NULL_BULK;
  }
  if (keyArg.length > MAX_KEY_BYTES) return errKeyTooLong(ctx.keyspace.maxKeyBytes);
  const v = parseSetValue(value, parseInt64, SET_NOT_INTEGER);
  if (v.kind === 'error') return v.reply;
  if (v.kind === 'hll') {
    // Redis HYLL bytes: the key becomes (or stays) an HLL with those registers.
    const r = ctx.keyspace.setHll(key, v.hll, o.keepttl);
    if (!r.ok) return keyError(r.error);
    if (deadline !== null && r.value) ctx.keyspace.expire(key, deadline);
    return old;
  }
  const r = ctx.keyspace.setCounter(key, v.n, ctx.counterTypeFor, o.keepttl);
  if (!r.ok) return keyError(r.error);
  if (deadline !== null) ctx.keyspace.expire(key, deadline);
  return old;
}

/**
 * GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST], as Redis 7.0: the options first (a syntax error
 * before anything), then the key (nil if missing, WRONGTYPE as GET), then the expiry's argument;
 * the value is answered as it was, and the TTL set or removed. A deadline already past ends the key.
 */
function getex(ctx: CommandServices, s: Session, a: readonly Buffer[]): Reply {
  const o = setOptions(a.slice(2), true);
  if (o === null) return ERR_SYNTAX;
  const key = fullKey(s.db, a[1] as Buffer);
  const value = readValue(ctx, key);
  if (value.kind !== 'bulk' || value.value === null) return value;
  if (o.expire !== null) {
    const d = expiryDeadline(o.expire, ctx.now(), 'getex');
    if (typeof d !== 'number') return d;
    ctx.keyspace.expire(key, d);
  } else if (o.persist) {
    ctx.keyspace.expire(key, null);
  }
  return value;
}

const NO_OPTIONS: SetOptions = Object.freeze({ nx: false, xx: false, get: false, keepttl: false, persist: false, expire: null });

export { ERR_SYNTAX };
