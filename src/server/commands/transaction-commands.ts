// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH. The queue lives in the session (table.ts queues),
// so RESP and the WebSocket API share it. EXEC runs the queued commands one after another in one
// synchronous turn of the event loop: nothing else (no client, no gossip merge) runs between them.
// docs/commands.md, "Transactions", says what WATCH promises on a CRDT key.

import * as errors from '../../errors.js';
import { fullKey } from '../../keyspace/keyspace.js';
import { INTERNAL_ERROR, NULL_ARRAY, OK, reply, type Reply } from './reply.js';
import { DEFAULT_CONSISTENCY_TIMEOUT_MS, keysOf } from './consistency-commands.js';
import { feedMonitors, stateOf } from './state.js';
import { deniedFor, permsOf } from './access.js';
import { PERM_ALL } from '../auth/permissions.js';
import type { CommandResult, CommandServices, CommandSpec, QueuedCommand, Session } from './types.js';

const shared = (message: string): Reply => Object.freeze(reply.error(message));
const MULTI_NESTED = shared(errors.MULTI_NESTED);
const EXEC_WITHOUT_MULTI = shared(errors.EXEC_WITHOUT_MULTI);
const DISCARD_WITHOUT_MULTI = shared(errors.DISCARD_WITHOUT_MULTI);
const WATCH_INSIDE_MULTI = shared(errors.WATCH_INSIDE_MULTI);
const EXECABORT = shared(errors.EXECABORT);

/** Scripts may give the event loop back while busy (other clients get BUSY then): EXEC waits for them in place. */
const isScript = (spec: CommandSpec): boolean => spec.name.startsWith('eval');

const EXEC_NOPERM = shared(errors.EXEC_NOPERM);

/**
 * Runs one queued command; a command that throws (a bug) answers ERR internal error in its slot.
 * The user's permission is checked again first, as Redis 7.0 does: an AUTH queued before the
 * command may have logged the session in as a user who may not run it.
 */
function runOne(ctx: CommandServices, s: Session, q: QueuedCommand, cap: number): CommandResult {
  if (deniedFor(ctx, s, q.access, q.args, cap) !== null) return EXEC_NOPERM;
  feedMonitors(ctx, s, q.args);
  let r: CommandResult;
  try {
    r = q.spec.run(ctx, s, q.args);
  } catch {
    return INTERNAL_ERROR;
  }
  if (q.write && ctx.consistency !== undefined) s.lastWriteVersion = ctx.consistency.version();
  return r;
}

/**
 * The users a queued AUTH or HELLO ... AUTH logs in as (null: `default`): none for another command
 * (or a HELLO without AUTH). HELLO's options are read as HELLO reads them (server-commands.ts), so a
 * SETNAME value that reads "auth" is a name; each of its AUTHs may be the one still being checked.
 */
function loginTargets(q: QueuedCommand): (Buffer | null)[] {
  const a = q.args;
  if (q.spec.name === 'auth') return [a.length === 3 ? (a[1] as Buffer) : null];
  if (q.spec.name !== 'hello') return [];
  const users: Buffer[] = [];
  for (let i = 2; i < a.length; i++) {
    const opt = (a[i] as Buffer).toString('latin1').toLowerCase();
    if (opt === 'auth' && i + 2 < a.length) {
      users.push(a[i + 1] as Buffer);
      i += 2;
    } else if (opt === 'setname') i++;
  }
  return users;
}

/**
 * Runs the queue. Synchronous unless a command answers with a promise: a script that went busy is
 * awaited before the next command (while it is busy every other client gets BUSY, so still nothing
 * interleaves); any other promise (WAIT) touches no data and is awaited after the last command.
 *
 * A queued AUTH whose check finishes later (the first scrypt check of a user, a throttled address)
 * is not waited for, which would let other clients in: the commands after it run only if both the
 * user before and the user after may run them (`cap`), so none runs with rights it may not have.
 * (Redis would run them as the new user if the login succeeds, as the old one if it fails.)
 */
function runAll(ctx: CommandServices, s: Session, queued: readonly QueuedCommand[], cap = PERM_ALL): CommandResult {
  const out: (Reply | Promise<Reply>)[] = [];
  for (let i = 0; i < queued.length; i++) {
    const q = queued[i] as QueuedCommand;
    const r = runOne(ctx, s, q, cap);
    if (r instanceof Promise && isScript(q.spec)) {
      return r.then(async (first) => {
        out.push(first);
        const rest = await runAll(ctx, s, queued.slice(i + 1), cap);
        return settle(out, rest);
      });
    }
    if (r instanceof Promise) {
      for (const user of loginTargets(q)) cap &= ctx.auth?.userPerms(user) ?? permsOf(s);
    }
    out.push(r);
  }
  if (out.some((r) => r instanceof Promise)) return Promise.all(out).then((v) => ({ kind: 'array', value: v }));
  return { kind: 'array', value: out as Reply[] };
}

async function settle(before: readonly (Reply | Promise<Reply>)[], rest: Reply): Promise<Reply> {
  const head = await Promise.all(before);
  return { kind: 'array', value: [...head, ...(rest.kind === 'array' && rest.value !== null ? rest.value : [rest])] };
}

/** EXEC under the session's consistency levels: one majority read before, one majority wait after. */
function execQueued(ctx: CommandServices, s: Session, queued: readonly QueuedCommand[]): CommandResult {
  const c = ctx.consistency;
  const timeout = s.consistencyTimeoutMs ?? DEFAULT_CONSISTENCY_TIMEOUT_MS;
  const majorityWrites = c !== undefined && s.writeConsistency === 'majority' && queued.some((q) => q.write);
  const afterRun = (r: Reply): CommandResult => {
    if (!majorityWrites || c === undefined || r.kind !== 'array' || r.value === null) return r;
    const items = r.value;
    return c.waitMajority(c.version(), timeout).then((o) => {
      if (o.ok) return r;
      // As for one command: each write stays applied and keeps spreading, and says so.
      const err = reply.error(errors.noReplicas(o.count, o.needed, timeout, o.votersUnknown));
      return { kind: 'array', value: items.map((x, i) => ((queued[i] as QueuedCommand).write && x.kind !== 'error' ? err : x)) };
    });
  };
  const run = (): CommandResult => {
    const r = runAll(ctx, s, queued);
    return r instanceof Promise ? r.then(afterRun) : afterRun(r);
  };
  if (c !== undefined && s.readConsistency === 'majority') {
    const keys = [...new Set(queued.filter((q) => q.spec.flags.includes('readonly') && q.spec.keys[0] > 0).flatMap((q) => keysOf(q.spec, s, q.args)))];
    if (keys.length > 0) {
      // Nothing runs unless the read succeeds: the whole EXEC fails, with no write made.
      return c.majorityRead(keys, timeout).then((o) => (o.ok ? run() : reply.error(errors.noQuorum(o.count, o.needed, timeout, o.votersUnknown))));
    }
  }
  return run();
}

export const transactionCommands: CommandSpec[] = [
  {
    name: 'multi',
    arity: 1,
    flags: ['noscript', 'fast', 'allow_busy', 'loading', 'stale', 'connection'],
    keys: [0, 0, 0],
    run: (_ctx, s) => {
      if (s.multi !== undefined) return MULTI_NESTED;
      s.multi = { queued: [], dirty: false };
      return OK;
    },
  },
  {
    name: 'exec',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'skip_slowlog', 'connection'],
    keys: [0, 0, 0],
    run: (ctx, s) => {
      const m = s.multi;
      if (m === undefined) return EXEC_WITHOUT_MULTI;
      s.multi = undefined;
      const watches = stateOf(ctx).watches;
      const touched = s.watchDirty === true;
      watches.unwatchAll(s);
      if (m.dirty) return EXECABORT;
      if (touched) return NULL_ARRAY; // a watched key changed: nothing runs
      return execQueued(ctx, s, m.queued);
    },
  },
  {
    name: 'discard',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy', 'connection'],
    keys: [0, 0, 0],
    run: (ctx, s) => {
      if (s.multi === undefined) return DISCARD_WITHOUT_MULTI;
      s.multi = undefined;
      stateOf(ctx).watches.unwatchAll(s);
      return OK;
    },
  },
  {
    name: 'watch',
    arity: -2,
    flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy', 'connection'],
    keys: [1, -1, 1],
    run: (ctx, s, a) => {
      if (s.multi !== undefined) return WATCH_INSIDE_MULTI;
      const watches = stateOf(ctx).watches;
      for (let i = 1; i < a.length; i++) watches.watch(s, fullKey(s.db, a[i] as Buffer));
      return OK;
    },
  },
  {
    name: 'unwatch',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy', 'connection'],
    keys: [0, 0, 0],
    run: (ctx, s) => {
      stateOf(ctx).watches.unwatchAll(s);
      return OK;
    },
  },
];
