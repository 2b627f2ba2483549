// Consistency commands: WAIT (Redis's meaning) and TALLY.CONSISTENCY (per-connection levels), and
// the wrapper that makes a command majority-acknowledged or majority-read when the session asks.

import * as errors from '../../errors.js';
import { reply, type Reply } from './reply.js';
import { fullKey } from '../../keyspace/keyspace.js';
import { ERR_NOT_INTEGER, ERR_SYNTAX, parseInt64 } from './parse.js';
import type { CommandResult, CommandServices, CommandSpec, Session } from './types.js';

/** Default time a majority write or read may take before it fails, in ms. */
export const DEFAULT_CONSISTENCY_TIMEOUT_MS = 1000;

const NO_CONSISTENCY: Reply = Object.freeze(reply.error(errors.NO_CONSISTENCY));

function level(b: Buffer | undefined): 'local' | 'majority' | null {
  const s = b?.toString('latin1').toLowerCase();
  return s === 'local' || s === 'majority' ? s : null;
}

export const consistencyCommands: CommandSpec[] = [
  {
    name: 'wait',
    arity: 3,
    flags: ['connection', 'noscript'],
    keys: [0, 0, 0],
    run: (ctx, s, a) => {
      const n = parseInt64(a[1] as Buffer);
      const t = parseInt64(a[2] as Buffer);
      if (n === null || n === 'range' || n < 0) return ERR_NOT_INTEGER;
      if (t === null || t === 'range') return ERR_NOT_INTEGER;
      if (t < 0) return reply.error(errors.TIMEOUT_NEGATIVE);
      const c = ctx.consistency;
      if (c === undefined) return NO_CONSISTENCY;
      // WAIT answers how many peers hold every write this connection made, even if fewer than asked.
      return c.waitHolders(s.lastWriteVersion ?? 0, n, t).then((o) => ({ kind: 'int', value: o.count }));
    },
  },
  {
    name: 'tally.consistency',
    arity: -1,
    flags: ['connection', 'fast', 'noscript'],
    keys: [0, 0, 0],
    run: (_ctx, s, a) => {
      for (let i = 1; i < a.length; i += 2) {
        const opt = (a[i] as Buffer).toString('latin1').toLowerCase();
        const val = a[i + 1];
        if (val === undefined) return ERR_SYNTAX;
        if (opt === 'writes' || opt === 'reads') {
          const l = level(val);
          if (l === null) return reply.error(errors.consistencyLevel(opt.toUpperCase()));
          if (opt === 'writes') s.writeConsistency = l;
          else s.readConsistency = l;
        } else if (opt === 'timeout') {
          const t = parseInt64(val);
          if (t === null || t === 'range' || t < 1 || t > 3_600_000) return reply.error(errors.CONSISTENCY_TIMEOUT);
          s.consistencyTimeoutMs = t;
        } else {
          return reply.error(errors.unknownConsistencyOption(opt));
        }
      }
      return {
        kind: 'array',
        value: [
          { kind: 'bulk', value: 'writes' },
          { kind: 'bulk', value: s.writeConsistency ?? 'local' },
          { kind: 'bulk', value: 'reads' },
          { kind: 'bulk', value: s.readConsistency ?? 'local' },
          { kind: 'bulk', value: 'timeout' },
          { kind: 'int', value: s.consistencyTimeoutMs ?? DEFAULT_CONSISTENCY_TIMEOUT_MS },
        ],
      };
    },
  },
];

/** The full keys a command names, by its key positions (first, last, step). */
export function keysOf(spec: CommandSpec, s: Session, args: readonly Buffer[]): string[] {
  const [first, last, step] = spec.keys;
  const end = last < 0 ? args.length + last : last;
  const out: string[] = [];
  for (let i = first; i <= end && i < args.length; i += Math.max(1, step)) out.push(fullKey(s.db, args[i] as Buffer));
  return out;
}

/**
 * Runs a command at the session's consistency levels. Local (the default) runs it as is. A
 * majority read first merges the keys' state from a majority of the cluster; a majority write is
 * answered once a majority holds it, or fails with NOREPLICAS (the write stays applied and keeps
 * spreading, so the error says so).
 */
export function runWithConsistency(ctx: CommandServices, s: Session, spec: CommandSpec, args: readonly Buffer[], isWrite: boolean = spec.flags.includes('write')): CommandResult {
  const c = ctx.consistency;
  if (c === undefined) return spec.run(ctx, s, args);
  const timeout = s.consistencyTimeoutMs ?? DEFAULT_CONSISTENCY_TIMEOUT_MS;
  if (s.readConsistency === 'majority' && spec.flags.includes('readonly') && spec.keys[0] > 0) {
    return c.majorityRead(keysOf(spec, s, args), timeout).then((o) => (o.ok ? spec.run(ctx, s, args) : reply.error(errors.noQuorum(o.count, o.needed, timeout, o.votersUnknown))));
  }
  const r = spec.run(ctx, s, args);
  if (!isWrite) return r;
  const version = c.version();
  s.lastWriteVersion = version;
  if (s.writeConsistency !== 'majority' || r instanceof Promise || r.kind === 'error') return r;
  return c.waitMajority(version, timeout).then((o) => (o.ok ? r : reply.error(errors.noReplicas(o.count, o.needed, timeout, o.votersUnknown))));
}
