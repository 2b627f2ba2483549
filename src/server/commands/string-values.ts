// What the string commands (GET, MGET, GETDEL, GETEX, GETSET, SET ... GET, STRLEN) read and SET
// writes, for the two kinds of key a Redis string can stand for: a counter (its decimal value) and
// a HyperLogLog (Redis's HYLL bytes, so HLLs move between Redis and tally: docs/crdt-hll.md).

import * as errors from '../../errors.js';
import { HyperLogLog } from '../../crdt/hyperloglog.js';
import { hasHyllMagic, type HyllError } from '../../crdt/redis-hyll.js';
import { NULL_BULK, reply, type Reply } from './reply.js';
import { ERR_OVERFLOW, ERR_WRONGTYPE } from './parse.js';
import type { CommandServices } from './types.js';

const ERR_HLL_CORRUPT: Reply = Object.freeze(reply.error(errors.HLL_CORRUPT));
const ERR_NOT_AN_HLL: Reply = Object.freeze(reply.error(errors.NOT_AN_HLL));
const ERR_HLL_LEGACY: Reply = Object.freeze(reply.error(errors.HLL_LEGACY_HASH));

/**
 * The value of `key` as GET answers it: a counter's decimal, an HLL's HYLL bytes, nil for a missing
 * key, or an error reply (WRONGTYPE for the other types; an HLL with no Redis encoding says why).
 */
export function readValue(ctx: CommandServices, key: string): Reply {
  const r = ctx.keyspace.getCounter(key);
  if (r.ok) return r.value === null ? NULL_BULK : { kind: 'bulk', value: String(r.value) };
  if (r.error.code !== 'WRONGTYPE') return { kind: 'error', message: r.error.message };
  const e = ctx.keyspace.entry(key);
  if (e === undefined || e.type !== 'hll') return ERR_WRONGTYPE;
  return hllValue(e.crdt);
}

/** An HLL's HYLL bytes as a bulk reply, or why it has none. */
export function hllValue(h: HyperLogLog): Reply {
  const bytes = h.redisBytes();
  if (bytes.ok) return { kind: 'bulk', value: Buffer.from(bytes.value.buffer, bytes.value.byteOffset, bytes.value.length) };
  return h.hash === 'legacy' ? ERR_HLL_LEGACY : reply.error(errors.hllNoRedisEncoding(h.p));
}

/** Redis's answer for HYLL bytes it would refuse at the next PF command. */
export function hyllErrorReply(e: HyllError): Reply {
  return e.problem === 'NOT_HLL' ? ERR_NOT_AN_HLL : ERR_HLL_CORRUPT;
}

/**
 * A SET value: an HLL when it starts with the HYLL magic (checked: Redis's error texts for a broken
 * one), otherwise an integer for a counter. `notInteger` is the caller's reply for neither.
 */
export function parseSetValue(
  value: Buffer,
  parseInt: (b: Buffer) => number | null | 'range',
  notInteger: Reply,
): { kind: 'counter'; n: number } | { kind: 'hll'; hll: HyperLogLog } | { kind: 'error'; reply: Reply } {
  if (hasHyllMagic(value)) {
    const h = HyperLogLog.fromRedisBytes(value);
    return h.ok ? { kind: 'hll', hll: h.value } : { kind: 'error', reply: hyllErrorReply(h.error) };
  }
  const n = parseInt(value);
  if (n === null) return { kind: 'error', reply: notInteger };
  if (n === 'range') return { kind: 'error', reply: ERR_OVERFLOW };
  return { kind: 'counter', n };
}
