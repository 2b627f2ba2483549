// Keyspace-wide and server introspection commands: SCAN, KEYS, MEMORY USAGE, TIME, SLOWLOG, MONITOR.

import * as errors from '../../errors.js';
import { fullKey } from '../../keyspace/keyspace.js';
import { NULL_BULK, OK, reply, type Reply } from './reply.js';
import { ERR_NOT_INTEGER, ERR_SYNTAX, globMatch, parseInt64 } from './parse.js';
import { helpReply } from './help.js';
import { scanIds } from './scan-cursor.js';
import { stateOf, type SlowlogEntry } from './state.js';
import type { CommandServices, CommandSpec, Session } from './types.js';

const bulk = (v: string | Buffer): Reply => ({ kind: 'bulk', value: v });
const int = (v: number): Reply => ({ kind: 'int', value: v });
const INVALID_CURSOR: Reply = Object.freeze(reply.error(errors.INVALID_CURSOR));

/**
 * SCAN's cursor as Redis's strtoul reads it: digits with an optional sign, within 64 bits, no
 * leading space; an empty cursor reads as 0 there too. A negative one wraps there; here it is past
 * every key id, so it ends the walk (scan-cursor.ts), as any cursor past the ids held does.
 */
function parseCursor(b: Buffer): bigint | null {
  const s = b.toString('latin1');
  if (s === '') return 0n;
  if (!/^[+-]?[0-9]+$/.test(s)) return null;
  let v = BigInt(s);
  if (v > 2n ** 64n - 1n || v < -(2n ** 64n - 1n)) return null;
  return v;
}

/** A key of `db` as the client's bytes (latin1 form of a full key, without its db char). */
const nameOf = (key: string): Buffer => Buffer.from(key.slice(1), 'latin1');

function scan(ctx: CommandServices, s: Session, a: readonly Buffer[]): Reply {
  const cursor = parseCursor(a[1] as Buffer);
  if (cursor === null) return INVALID_CURSOR;
  let count = 10;
  let pattern: string | null = null;
  let type: string | null = null;
  for (let i = 2; i < a.length; ) {
    const opt = (a[i] as Buffer).toString('latin1').toLowerCase();
    const left = a.length - i;
    if (opt === 'count' && left >= 2) {
      const n = parseInt64(a[i + 1] as Buffer);
      if (n === null) return ERR_NOT_INTEGER;
      if (n !== 'range' && n < 1) return ERR_SYNTAX;
      count = n === 'range' ? Number.MAX_SAFE_INTEGER : n;
      i += 2;
    } else if (opt === 'match' && left >= 2) {
      const p = (a[i + 1] as Buffer).toString('latin1');
      pattern = p === '*' ? null : p;
      i += 2;
    } else if (opt === 'type' && left >= 2) {
      type = (a[i + 1] as Buffer).toString('latin1').toLowerCase();
      i += 2;
    } else {
      return ERR_SYNTAX;
    }
  }
  const ks = ctx.keyspace;
  const keys: Reply[] = [];
  const next = scanIds(ks, cursor, Math.min(count, 1_000_000), (id) => {
    const k = ks.keyOf(id);
    // No key, another database's, or a tombstone (the key was deleted) or an ended life.
    if (k === undefined || k.charCodeAt(0) !== s.db || !ks.existsAt(id)) return false;
    if (type !== null && type !== 'string') return true; // TYPE reports every tally key as a string
    if (pattern === null || globMatch(pattern, k.slice(1))) keys.push(bulk(nameOf(k)));
    return true;
  });
  return { kind: 'array', value: [bulk(String(next)), { kind: 'array', value: keys }] };
}

/** MEMORY USAGE's estimate: what the keyspace accounts for the key (its state and the key itself). */
function memoryUsage(ctx: CommandServices, key: string): number | null {
  const e = ctx.keyspace.entry(key);
  if (e === undefined || !ctx.keyspace.exists(key)) return null;
  let n = 48 + (key.length - 1) + e.crdt.byteSize();
  for (const o of e.others ?? []) n += 16 + o.crdt.byteSize();
  return n;
}

const MEMORY_HELP = helpReply('MEMORY', [
  'PURGE',
  '    Attempt to purge dirty pages for reclamation by the allocator.',
  'USAGE <key> [SAMPLES <count>]',
  '    Return memory in bytes used by <key> and its value. Nested values are',
  '    sampled up to <count> times (default: 5, 0 means sample all).',
]);

const SLOWLOG_HELP = helpReply('SLOWLOG', [
  'GET [<count>]',
  '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
  '    Entries are made of:',
  '    id, timestamp, time in microseconds, arguments array, client IP and port,',
  '    client name',
  'LEN',
  '    Return the length of the slowlog.',
  'RESET',
  '    Reset the slowlog.',
]);

/** A slow log entry as Redis shows it: at most 32 arguments, each cut to 128 bytes. */
function slowlogEntry(e: SlowlogEntry): Reply {
  const args: Reply[] = [];
  const shown = Math.min(e.args.length, 32);
  for (let i = 0; i < shown; i++) {
    if (i === 31 && e.args.length > 32) {
      args.push(bulk(`... (${e.args.length - 31} more arguments)`));
      break;
    }
    const a = e.args[i] as Buffer;
    args.push(bulk(a.length > 128 ? Buffer.concat([a.subarray(0, 128), Buffer.from(`... (${a.length - 128} more bytes)`)]) : a));
  }
  return { kind: 'array', value: [int(e.id), int(e.time), int(e.micros), { kind: 'array', value: args }, bulk(e.addr), bulk(e.name)] };
}

export const keysCommands: CommandSpec[] = [
  { name: 'scan', arity: -2, flags: ['readonly'], keys: [0, 0, 0], run: scan },
  {
    name: 'keys',
    arity: 2,
    flags: ['readonly'],
    keys: [0, 0, 0],
    run: (ctx, s, a) => {
      const p = (a[1] as Buffer).toString('latin1');
      const all = p === '*';
      const out: Reply[] = [];
      for (const k of ctx.keyspace.keys()) {
        if (k.charCodeAt(0) !== s.db || !ctx.keyspace.exists(k)) continue;
        if (all || globMatch(p, k.slice(1))) out.push(bulk(nameOf(k)));
      }
      return { kind: 'array', value: out };
    },
  },
  {
    name: 'memory',
    arity: -2,
    flags: [],
    keys: [0, 0, 0],
    subcommands: { usage: -3, help: 2, purge: 2 },
    // MEMORY USAGE reads a key (Redis: @read). PURGE is a full garbage collection, which stops the
    // node for as long as it takes (about a second per million keys): admin only, unlike Redis.
    subcommandFlags: { usage: ['readonly'], help: ['connection'], purge: ['admin'] },
    // The table has checked the subcommand and its arity (runCommand; redis.call as well).
    run: (ctx, s, a) => {
      const sub = (a[1] as Buffer).toString('latin1').toLowerCase();
      if (sub === 'help') return MEMORY_HELP;
      // As Redis without jemalloc: OK whether or not there was anything to give back.
      if (sub === 'purge') {
        ctx.purgeMemory?.();
        return OK;
      }
      // USAGE key [SAMPLES count]...: as Redis reads it, every SAMPLES is checked (tally's estimate samples nothing).
      for (let j = 3; j < a.length; j += 2) {
        if ((a[j] as Buffer).toString('latin1').toLowerCase() !== 'samples' || j + 1 >= a.length) return ERR_SYNTAX;
        const n = parseInt64(a[j + 1] as Buffer);
        if (n === null || n === 'range') return ERR_NOT_INTEGER;
        if (n < 0) return ERR_SYNTAX;
      }
      const n = memoryUsage(ctx, fullKey(s.db, a[2] as Buffer));
      return n === null ? NULL_BULK : int(n);
    },
  },
  {
    name: 'time',
    arity: 1,
    flags: ['loading', 'stale', 'fast', 'connection'],
    keys: [0, 0, 0],
    run: (ctx) => {
      const ms = ctx.now();
      return { kind: 'array', value: [bulk(String(Math.floor(ms / 1000))), bulk(String(Math.floor((ms % 1000) * 1000)))] };
    },
  },
  {
    name: 'slowlog',
    arity: -2,
    // Admin, as in Redis: the slow log shows other clients' commands, arguments and addresses.
    flags: ['admin'],
    keys: [0, 0, 0],
    subcommands: { get: -2, len: 2, reset: 2, help: 2 },
    run: (ctx, _s, a) => {
      const log = stateOf(ctx).slowlog;
      const sub = (a[1] as Buffer).toString('latin1').toLowerCase();
      if (sub === 'help') return SLOWLOG_HELP;
      if (sub === 'len') return int(log.length);
      if (sub === 'reset') {
        log.reset();
        return OK;
      }
      // GET [count]: Redis 7.0 checks GET's upper bound here, with its own text.
      if (a.length > 3) return reply.errorBytes(errors.subcommandSyntax(a[1] as Buffer, 'SLOWLOG'));
      let count = 10;
      if (a.length === 3) {
        const n = parseInt64(a[2] as Buffer);
        if (n === null || (n !== 'range' && n < -1)) return reply.error(errors.SLOWLOG_COUNT);
        count = n === 'range' ? Number.MAX_SAFE_INTEGER : n;
      }
      return { kind: 'array', value: log.get(count).map(slowlogEntry) };
    },
  },
  {
    name: 'monitor',
    arity: 1,
    flags: ['admin', 'noscript', 'loading', 'stale'],
    keys: [0, 0, 0],
    run: (ctx, s) => {
      if (s.push === undefined) return reply.error(errors.MONITOR_OVER_WS);
      if (s.multi !== undefined) return OK;
      s.monitoring = true;
      stateOf(ctx).monitors.add(s);
      return OK;
    },
  },
];
