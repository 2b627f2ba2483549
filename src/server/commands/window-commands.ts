// Windowed-counter and rate-limit commands: WINDOW.CREATE, WINDOW.INCRBY, WINDOW.COUNT,
// WINDOW.SLIDING, WINDOW.INFO and THROTTLE. Syntax and replies: docs/crdt-windowed.md.

import { fullKey } from '../../keyspace/keyspace.js';
import type { KeyspaceError } from '../../keyspace/types.js';
import { THROTTLE_MAX_PERIOD_S } from '../../crdt/throttle.js';
import * as errors from '../../errors.js';
import { reply, type Reply } from './reply.js';
import { ERR_NOT_INTEGER, ERR_SYNTAX, ERR_WRONGTYPE, errKeyTooLong, MAX_KEY_BYTES, parseInt64 } from './parse.js';
import type { CommandServices, CommandSpec } from './types.js';

const OK: Reply = Object.freeze({ kind: 'simple', value: 'OK' });

export function errorReply(e: KeyspaceError): Reply {
  return { kind: 'error', message: e.message };
}

/** A safe integer >= min, or undefined. */
export function intArg(b: Buffer | undefined, min = 0): number | undefined {
  if (b === undefined) return undefined;
  const n = parseInt64(b);
  return typeof n === 'number' && n >= min ? n : undefined;
}

function key(s: { db: number }, b: Buffer): string {
  return fullKey(s.db, b);
}

const int = (v: number | bigint): Reply => ({ kind: 'int', value: v });

/** The refusal of a windowed write while this node's clock is off, or undefined. */
function clockOff(ctx: CommandServices): Reply | undefined {
  const c = ctx.clock?.();
  if (c === undefined || c.ok) return undefined;
  return reply.error(c.unverified ? errors.CLOCK_UNVERIFIED : errors.clockOff(Math.round(c.offsetMs), c.boundMs));
}

export const windowCommands: CommandSpec[] = [
  {
    name: 'window.create',
    arity: 4,
    flags: ['write', 'denyoom'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      if ((a[1] as Buffer).length > MAX_KEY_BYTES) return errKeyTooLong(ctx.keyspace.maxKeyBytes);
      const g = intArg(a[2], 1);
      const r = intArg(a[3], 1);
      if (g === undefined || r === undefined) return ERR_NOT_INTEGER;
      const res = ctx.keyspace.windowCreate(key(s, a[1] as Buffer), g, r);
      return res.ok ? OK : errorReply(res.error);
    },
  },
  {
    name: 'window.incrby',
    arity: -3,
    flags: ['write', 'denyoom', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      if (a.length !== 3 && a.length !== 5) return ERR_SYNTAX;
      const n = intArg(a[2], 0);
      if (n === undefined) return ERR_NOT_INTEGER;
      const now = ctx.now();
      let at = now;
      if (a.length === 5) {
        if ((a[3] as Buffer).toString('latin1').toUpperCase() !== 'AT') return ERR_SYNTAX;
        const t = intArg(a[4], 0);
        if (t === undefined) return ERR_NOT_INTEGER;
        at = t;
      }
      const off = clockOff(ctx);
      if (off !== undefined) return off;
      const res = ctx.keyspace.windowIncrBy(key(s, a[1] as Buffer), n, at, now);
      return res.ok ? int(res.value) : errorReply(res.error);
    },
  },
  {
    name: 'window.count',
    arity: 4,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const from = intArg(a[2], 0);
      const to = intArg(a[3], 0);
      if (from === undefined || to === undefined) return ERR_NOT_INTEGER;
      const res = ctx.keyspace.windowCount(key(s, a[1] as Buffer), from, to);
      return res.ok ? int(res.value) : errorReply(res.error);
    },
  },
  {
    name: 'window.sliding',
    arity: 3,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const sec = intArg(a[2], 1);
      if (sec === undefined) return ERR_NOT_INTEGER;
      const res = ctx.keyspace.windowSliding(key(s, a[1] as Buffer), sec * 1000, ctx.now());
      return res.ok ? int(Math.round(res.value)) : errorReply(res.error);
    },
  },
  {
    name: 'window.info',
    arity: 2,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const k = key(s, a[1] as Buffer);
      const t = ctx.keyspace.typeOf(k);
      if (t !== undefined && t !== 'window') return ERR_WRONGTYPE;
      const w = ctx.keyspace.window(k);
      if (w === undefined) return reply.error(errors.NO_WINDOW);
      const pairs: [string, number][] = [
        ['granularity', w.granularityS],
        ['retention', w.retentionS],
        ['buckets', w.bucketCount()],
        ['maxbuckets', w.keptBuckets],
        ['generation', w.generation],
      ];
      return { kind: 'array', value: pairs.flatMap(([n, v]) => [{ kind: 'bulk', value: n }, int(v)] as Reply[]) };
    },
  },
  {
    name: 'throttle',
    arity: -4,
    flags: ['write', 'denyoom', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      if (a.length > 5) return ERR_SYNTAX;
      if ((a[1] as Buffer).length > MAX_KEY_BYTES) return errKeyTooLong(ctx.keyspace.maxKeyBytes);
      const limit = intArg(a[2], 1);
      const period = intArg(a[3], 1);
      const cost = a.length === 5 ? intArg(a[4], 0) : 1;
      if (limit === undefined || period === undefined || cost === undefined) return ERR_NOT_INTEGER;
      if (period > THROTTLE_MAX_PERIOD_S) return reply.error(errors.throttlePeriodTooLong(THROTTLE_MAX_PERIOD_S));
      const off = cost > 0 ? clockOff(ctx) : undefined;
      if (off !== undefined) return off;
      const res = ctx.keyspace.throttle(key(s, a[1] as Buffer), limit, period, cost, ctx.now());
      if (!res.ok) return errorReply(res.error);
      const d = res.value;
      return { kind: 'array', value: [int(d.allowed ? 1 : 0), int(d.limit), int(d.remaining), int(d.retryAfterS), int(d.resetAfterS)] };
    },
  },
];
