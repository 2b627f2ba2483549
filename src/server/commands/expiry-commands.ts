// Expiry: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX XX GT LT), TTL, PTTL, EXPIRETIME,
// PEXPIRETIME, PERSIST. A key's TTL is a CRDT register of its life (keyspace/life.ts,
// docs/crdt-counters.md "Expiry"); replies and errors are Redis 7.0's.

import { fullKey } from '../../keyspace/keyspace.js';
import * as errors from '../../errors.js';
import { ONE, ZERO, reply, type Reply } from './reply.js';
import { ERR_NOT_INTEGER, parseInt64 } from './parse.js';
import type { CommandServices, CommandSpec, Session } from './types.js';

type Cond = 'NX' | 'XX' | 'GT' | 'LT';

/** The largest deadline a key can have: ms in a safe integer. */
const MAX_DEADLINE_MS = Number.MAX_SAFE_INTEGER;

/**
 * The shared body of the EXPIRE family. `unitMs` is 1000 for seconds; `absolute` for *AT.
 * Options as Redis parses them: any of NX XX GT LT, with NX exclusive of the others and GT of LT.
 */
function expireCommand(name: string, unitMs: number, absolute: boolean): CommandSpec {
  return {
    name,
    arity: -3,
    flags: ['write', 'fast'],
    keys: [1, 1, 1],
    run: (ctx: CommandServices, s: Session, a: readonly Buffer[]): Reply => {
      const n = parseInt64(a[2] as Buffer);
      if (n === null) return ERR_NOT_INTEGER;
      let nx = false;
      let xx = false;
      let gt = false;
      let lt = false;
      for (const opt of a.slice(3)) {
        const o = opt.toString('latin1').toUpperCase();
        if (o === 'NX') nx = true;
        else if (o === 'XX') xx = true;
        else if (o === 'GT') gt = true;
        else if (o === 'LT') lt = true;
        else return reply.error(errors.unsupportedOption(opt.toString('latin1')));
      }
      if (nx && (xx || gt || lt)) return reply.error(errors.EXPIRE_NX_EXCLUSIVE);
      if (gt && lt) return reply.error(errors.EXPIRE_GT_LT);
      const now = ctx.now();
      const invalid = reply.error(errors.invalidExpireTime(name));
      if (n === 'range') return invalid;
      const scaled = n * unitMs;
      const deadline = absolute ? scaled : now + scaled;
      if (!Number.isSafeInteger(scaled) || !Number.isSafeInteger(deadline) || deadline > MAX_DEADLINE_MS) return invalid;
      const cond: Cond | undefined = nx ? 'NX' : xx ? 'XX' : gt ? 'GT' : lt ? 'LT' : undefined;
      return ctx.keyspace.expire(fullKey(s.db, a[1] as Buffer), deadline, cond) ? ONE : ZERO;
    },
  };
}

/** TTL and its family: -2 for a missing key, -1 without a TTL, else the time left or the deadline. */
function ttlCommand(name: string, fn: (deadline: number, now: number) => number): CommandSpec {
  return {
    name,
    arity: 2,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const d = ctx.keyspace.deadlineOf(fullKey(s.db, a[1] as Buffer));
      if (d === undefined) return reply.int(-2);
      if (d === null) return reply.int(-1);
      return reply.int(fn(d, ctx.now()));
    },
  };
}

export const expiryCommands: readonly CommandSpec[] = [
  expireCommand('expire', 1000, false),
  expireCommand('pexpire', 1, false),
  expireCommand('expireat', 1000, true),
  expireCommand('pexpireat', 1, true),
  // Redis rounds TTL to the nearest second: (ms + 500) / 1000.
  ttlCommand('ttl', (d, now) => Math.floor((Math.max(0, d - now) + 500) / 1000)),
  ttlCommand('pttl', (d, now) => Math.max(0, d - now)),
  ttlCommand('expiretime', (d) => Math.floor(d / 1000)),
  ttlCommand('pexpiretime', (d) => d),
  {
    name: 'persist',
    arity: 2,
    flags: ['write', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => (ctx.keyspace.expire(fullKey(s.db, a[1] as Buffer), null) ? ONE : ZERO),
  },
];
