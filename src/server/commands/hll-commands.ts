// HyperLogLog commands: PFADD, PFCOUNT (several keys: the union), PFMERGE. Besides the CRDT, each
// keeps the HLL's Redis form (its HYLL bytes, for GET) changing as Redis's would: PFCOUNT of one key
// caches the count, PFMERGE marks it stale and goes dense when a source is dense.

import * as errors from '../../errors.js';
import type { HyperLogLog } from '../../crdt/hyperloglog.js';
import { fullKey } from '../../keyspace/keyspace.js';
import type { KeyspaceError } from '../../keyspace/types.js';
import type { Result } from '../../util/result.js';
import { ONE, ZERO, reply, type Reply } from './reply.js';
import { errKeyTooLong, MAX_KEY_BYTES } from './parse.js';
import type { CommandServices, CommandSpec, Session } from './types.js';
import type { ArgRanges } from './arg-ranges.js';

const ERR_NOT_AN_HLL: Reply = Object.freeze(reply.error(errors.NOT_AN_HLL));

/**
 * The reply to a keyspace error of a PF command: a key of another type gets Redis's PF text (every
 * PF command, for the key it names first, source or destination), anything else its own message.
 */
function hllError(e: KeyspaceError): Reply {
  return e.code === 'WRONGTYPE' ? ERR_NOT_AN_HLL : reply.error(e.message);
}

/** The live, non-empty HLLs among `keys` (another type is left to the keyspace's WRONGTYPE). */
function liveHlls(ctx: Parameters<CommandSpec['run']>[0], keys: readonly string[]): HyperLogLog[] {
  const out: HyperLogLog[] = [];
  for (const k of keys) {
    const e = ctx.keyspace.entry(k);
    if (e !== undefined && e.type === 'hll' && !e.crdt.isEmpty()) out.push(e.crdt);
  }
  return out;
}

/**
 * Why these HLLs cannot be combined (PFCOUNT of several keys, PFMERGE): a legacy-hash one with a
 * Redis-hash one, or two precisions. Checked before anything changes.
 */
function combineError(hlls: readonly HyperLogLog[]): Reply | undefined {
  const [first, ...rest] = hlls;
  if (first === undefined) return undefined;
  for (const h of rest) {
    const why = first.unionError(h);
    if (why === undefined) continue;
    return reply.error(why.code === 'HLL_HASH_MISMATCH' ? errors.HLL_HASH_MISMATCH : errors.hllPrecisionMismatch(h.p, first.p));
  }
  return undefined;
}

/** PFADD's answer: 1 if a register changed (or the key was made), else 0. */
function pfaddReply(r: Result<boolean, KeyspaceError>): Reply {
  if (!r.ok) return hllError(r.error);
  return r.value ? ONE : ZERO;
}

/** Where an element of PFADD on ranges is copied to be hashed (no Buffer per element); grows to ELEMENT_SCRATCH_MAX. */
let elementScratch = new Uint8Array(256);
const ELEMENT_SCRATCH_MAX = 64 * 1024;

/** Adds the element `buf[start, end)` to `h`, as `h.addBytes` of it would. */
function addRange(h: HyperLogLog, buf: Buffer, start: number, end: number): boolean {
  const n = end - start;
  // Stryker disable all: equivalent but for memory and speed, every way here hashes the element's same bytes
  if (n > elementScratch.length) {
    if (n > ELEMENT_SCRATCH_MAX) return h.addBytes(buf.subarray(start, end));
    elementScratch = new Uint8Array(Math.min(ELEMENT_SCRATCH_MAX, Math.max(n, 2 * elementScratch.length)));
  }
  // Stryker restore all
  const s = elementScratch;
  // Stryker disable next-line all: the loop and copy() put the same bytes in the scratch; the cut at 32 is for speed only
  if (n <= 32) for (let i = 0; i < n; i++) s[i] = buf[start + i] as number;
  else buf.copy(s, 0, start, end);
  return h.addPrefix(s, n);
}

/** PFADD on ranges: key at 1, elements from 2. */
function pfaddRanges(ctx: CommandServices, s: Session, a: ArgRanges): Reply {
  const ks = a.start(1);
  const ke = a.end(1);
  // Stryker disable next-line ConditionalExpression: equivalent, the keyspace refuses a longer new key with the same text (none exists)
  if (ke - ks > MAX_KEY_BYTES) return errKeyTooLong(ctx.keyspace.maxKeyBytes);
  const buf = a.buf;
  return pfaddReply(ctx.keyspace.pfaddEachAt(s.db, buf, ks, ke, a.count - 2, (h, i) => addRange(h, buf, a.start(i + 2), a.end(i + 2))));
}

/** PFCOUNT: one key's estimate, or the union's of several. */
function pfcount(ctx: CommandServices, s: Session, a: readonly Buffer[]): Reply {
  if (a.length === 2) return pfcountOne(ctx, fullKey(s.db, a[1] as Buffer));
  const keys: string[] = [];
  for (let i = 1; i < a.length; i++) keys.push(fullKey(s.db, a[i] as Buffer));
  const why = combineError(liveHlls(ctx, keys));
  if (why !== undefined) return why;
  const r = ctx.keyspace.pfcount(keys);
  return r.ok ? { kind: 'int', value: r.value } : hllError(r.error);
}

/** PFCOUNT of one key, which Redis caches in the HLL's header (what GET then shows). */
function pfcountOne(ctx: CommandServices, key: string): Reply {
  const r = ctx.keyspace.liveHll(key);
  if (!r.ok) return hllError(r.error);
  const h = r.value;
  if (h === undefined) return ZERO;
  const n = h.count();
  h.noteRedisCount();
  return { kind: 'int', value: n };
}

export const hllCommands: CommandSpec[] = [
  {
    name: 'pfadd',
    arity: -2,
    flags: ['write', 'denyoom', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      // Stryker disable next-line ConditionalExpression: equivalent, the keyspace refuses a longer new key with the same text (none exists)
      if ((a[1] as Buffer).length > MAX_KEY_BYTES) return errKeyTooLong(ctx.keyspace.maxKeyBytes);
      return pfaddReply(ctx.keyspace.pfadd(fullKey(s.db, a[1] as Buffer), a.slice(2)));
    },
    runRanges: pfaddRanges,
  },
  {
    name: 'pfcount',
    arity: -2,
    flags: ['readonly'],
    keys: [1, -1, 1],
    // One key reads a cached count or estimates from the register histogram (a sparse sketch counts
    // at most m/4 entries): microseconds at most, not timed for the slow log.
    untimedArgs: 2,
    run: pfcount,
    // One key (a page's unique visitors) without a Buffer per argument; a union takes the Buffers.
    runRanges: (ctx, s, a) => (a.count === 2 ? pfcountOne(ctx, ctx.keyspace.keyAt(s.db, a.buf, a.start(1), a.end(1))) : pfcount(ctx, s, a.buffers())),
  },
  {
    name: 'pfmerge',
    arity: -2,
    flags: ['write', 'denyoom'],
    keys: [1, -1, 1],
    run: (ctx, s, a) => {
      if ((a[1] as Buffer).length > MAX_KEY_BYTES) return errKeyTooLong(ctx.keyspace.maxKeyBytes);
      const dest = fullKey(s.db, a[1] as Buffer);
      const sources: string[] = [];
      for (let i = 2; i < a.length; i++) sources.push(fullKey(s.db, a[i] as Buffer));
      const named = liveHlls(ctx, [dest, ...sources]);
      const why = combineError(named);
      if (why !== undefined) return why;
      // Redis writes the union into a dense destination when any HLL named is dense.
      const dense = named.some((h) => h.isRedisDense());
      const r = ctx.keyspace.pfmerge(dest, sources);
      if (!r.ok) return hllError(r.error);
      const e = ctx.keyspace.entry(dest);
      if (e !== undefined && e.type === 'hll') e.crdt.noteRedisMerge(dense);
      return { kind: 'simple', value: 'OK' };
    },
  },
];
