// Counter commands: INCR, INCRBY, DECR, DECRBY, GET, MGET, SET, DEL, EXISTS, INCRBYFLOAT.

import { fullKey } from '../../keyspace/keyspace.js';
import type { KeyspaceError } from '../../keyspace/types.js';
import * as errors from '../../errors.js';
import { NULL_BULK, ZERO, ONE, reply, type Reply } from './reply.js';
import { ERR_KEY_TOO_LONG, ERR_NOT_INTEGER, ERR_OVERFLOW, ERR_SYNTAX, ERR_WRONGTYPE, MAX_KEY_BYTES, parseInt64 } from './parse.js';
import type { CommandServices, CommandSpec, Session } from './types.js';

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

/** Shared body of INCR/INCRBY/DECR/DECRBY. */
function incrBy(ctx: CommandServices, s: Session, keyArg: Buffer, n: number): Reply {
  if (keyArg.length > MAX_KEY_BYTES) return ERR_KEY_TOO_LONG;
  const key = fullKey(s.db, keyArg);
  const r = ctx.keyspace.incrBy(key, n, ctx.counterTypeFor);
  if (!r.ok) return keyError(r.error);
  return intReply(r.value);
}

function amount(b: Buffer, negate: boolean): number | Reply {
  const n = parseInt64(b);
  if (n === null) return ERR_NOT_INTEGER;
  if (n === 'range') return ERR_OVERFLOW; // a valid int64 beyond tally's exact range
  return negate ? -n : n;
}

export const counterCommands: CommandSpec[] = [
  {
    name: 'incr',
    arity: 2,
    flags: ['write', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => incrBy(ctx, s, a[1] as Buffer, 1),
  },
  {
    name: 'decr',
    arity: 2,
    flags: ['write', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => incrBy(ctx, s, a[1] as Buffer, -1),
  },
  {
    name: 'incrby',
    arity: 3,
    flags: ['write', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const n = amount(a[2] as Buffer, false);
      return typeof n === 'number' ? incrBy(ctx, s, a[1] as Buffer, n) : n;
    },
  },
  {
    name: 'decrby',
    arity: 3,
    flags: ['write', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const n = amount(a[2] as Buffer, true);
      return typeof n === 'number' ? incrBy(ctx, s, a[1] as Buffer, n) : n;
    },
  },
  {
    name: 'incrbyfloat',
    arity: 3,
    flags: ['write', 'fast'],
    keys: [1, 1, 1],
    run: () => INCRBYFLOAT_UNSUPPORTED,
  },
  {
    name: 'get',
    arity: 2,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const r = ctx.keyspace.getCounter(fullKey(s.db, a[1] as Buffer));
      if (!r.ok) return keyError(r.error);
      return r.value === null ? NULL_BULK : { kind: 'bulk', value: String(r.value) };
    },
  },
  {
    name: 'mget',
    arity: -2,
    flags: ['readonly', 'fast'],
    keys: [1, -1, 1],
    run: (ctx, s, a) => {
      const out: Reply[] = [];
      for (let i = 1; i < a.length; i++) {
        const r = ctx.keyspace.getCounter(fullKey(s.db, a[i] as Buffer));
        // Like Redis, MGET answers nil for a key of another type rather than failing.
        out.push(r.ok && r.value !== null ? { kind: 'bulk', value: String(r.value) } : NULL_BULK);
      }
      return { kind: 'array', value: out };
    },
  },
  {
    name: 'set',
    arity: 3,
    flags: ['write'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const keyArg = a[1] as Buffer;
      if (keyArg.length > MAX_KEY_BYTES) return ERR_KEY_TOO_LONG;
      const n = parseInt64(a[2] as Buffer);
      if (n === null) return SET_NOT_INTEGER;
      if (n === 'range') return ERR_OVERFLOW;
      const key = fullKey(s.db, keyArg);
      const r = ctx.keyspace.setCounter(key, n, ctx.counterTypeFor);
      if (!r.ok) return keyError(r.error);
          return { kind: 'simple', value: 'OK' };
    },
  },
  {
    name: 'del',
    arity: -2,
    flags: ['write'],
    keys: [1, -1, 1],
    run: (ctx, s, a) => {
      let n = 0;
      for (let i = 1; i < a.length; i++) {
        const key = fullKey(s.db, a[i] as Buffer);
        if (ctx.keyspace.del(key)) {
          n++;
                }
      }
      return intReply(n);
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

export { ERR_SYNTAX };
