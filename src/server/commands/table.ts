// The one command table every client protocol shares: look up, check arity and authentication,
// run, and return a protocol-neutral Reply (RESP and the WebSocket API only encode it).

import * as errors from '../../errors.js';
import { performance } from 'node:perf_hooks';
import { QUEUED, reply, type Reply } from './reply.js';
import { feedMonitors, SLOWLOG_SLOWER_THAN_US, stateOf, type CommandState } from './state.js';
import { consistencyCommands, runWithConsistency } from './consistency-commands.js';
import { membershipCommands } from './membership-commands.js';
import { counterCommands } from './counter-commands.js';
import { hllCommands } from './hll-commands.js';
import { sketchCommands } from './sketch-commands.js';
import { windowCommands } from './window-commands.js';
import { ERR_NOAUTH, wrongArity } from './parse.js';
import { serverCommands } from './server-commands.js';
import { expiryCommands } from './expiry-commands.js';
import { helpReply } from './help.js';
import { commandDocs } from './command-docs.js';
import { transactionCommands } from './transaction-commands.js';
import { keysCommands } from './keys-commands.js';
import { scriptCommands } from './script-commands.js';
import type { CommandResult, CommandServices, CommandSpec, Session } from './types.js';
import { accessOf, deniedFor, permsOf, subcommandArity, wrongCount, type CommandAccess } from './access.js';
import type { ArgRanges } from './arg-ranges.js';

const commandCommand: CommandSpec = {
  name: 'command',
  arity: -1,
  flags: ['connection'],
  keys: [0, 0, 0],
  subcommands: { count: 2, docs: -2, info: -2, list: -2, help: 2 },
  run: (_ctx, _s, a) => {
    const sub = a.length > 1 ? (a[1] as Buffer).toString().toLowerCase() : '';
    if (sub === '') return { kind: 'array', value: ALL.map(describe) };
    if (sub === 'count') return { kind: 'int', value: ALL.length };
    if (sub === 'docs') return commandDocs(a.length > 2 ? a.slice(2).map((n) => lookupBytes(n)).filter((x) => x !== undefined) : ALL);
    if (sub === 'help' && a.length === 2) return COMMAND_HELP;
    if (sub === 'info') {
      if (a.length === 2) return { kind: 'array', value: ALL.map(describe) };
      return { kind: 'array', value: a.slice(2).map((n) => { const s = lookupBytes(n); return s ? describe(s) : { kind: 'array', value: null }; }) };
    }
    if (sub === 'list') return { kind: 'array', value: ALL.map((s) => ({ kind: 'bulk', value: s.name })) };
    return reply.errorBytes(errors.unknownSubcommand(a[1] as Buffer, 'COMMAND'));
  },
};

const COMMAND_HELP = helpReply('COMMAND', [
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
]);

const EMPTY_COMMAND: Reply = Object.freeze(reply.error(errors.EMPTY_COMMAND));

const ALL: readonly CommandSpec[] = [
  ...counterCommands,
  ...expiryCommands,
  ...hllCommands,
  ...windowCommands,
  ...sketchCommands,
  ...serverCommands,
  ...consistencyCommands,
  ...membershipCommands,
  ...transactionCommands,
  ...keysCommands,
  // redis.call looks commands up in this table; a function, so the lookup happens at call time.
  ...scriptCommands((name) => resolveCommand(name)),
  commandCommand,
];

function describe(s: CommandSpec): Reply {
  return {
    kind: 'array',
    value: [
      { kind: 'bulk', value: s.name },
      { kind: 'int', value: s.arity },
      { kind: 'set', value: s.flags.map((f) => ({ kind: 'simple', value: f })) },
      { kind: 'int', value: s.keys[0] },
      { kind: 'int', value: s.keys[1] },
      { kind: 'int', value: s.keys[2] },
    ],
  };
}

/**
 * A command resolved from its name: what the hot path needs, computed once at start-up. Callers that
 * want to know which command ran (the metrics) resolve first and then `runCommand` what they resolved,
 * so the name is looked up once and nobody reads it back from the session.
 */
export interface ResolvedCommand extends CommandAccess {
  /** The command's position in `commandNames()`: a dense index for per-command counters. */
  readonly index: number;
  readonly write: boolean;
  readonly noauth: boolean;
  /** Not fed to MONITOR (admin commands, and scripts, which feed it themselves: Redis's skip_monitor). */
  readonly unmonitored: boolean;
  /** Timed for the slow log: every command without the `fast` flag (but see `untimedArgs`). */
  readonly timed: boolean;
  /** The argument count of the command's untimed form (`CommandSpec.untimedArgs`), or -1. */
  readonly untimedArgs: number;
  /** May add memory: refused while the node is over `maxmemory` (Redis's denyoom). */
  readonly denyoom: boolean;
}

/** Runs a resolved command (or answers the lookup's error when `c` is undefined); `runCommand`'s shape. */
export type CommandRunner = (ctx: CommandServices, session: Session, c: ResolvedCommand | undefined, args: readonly Buffer[]) => CommandResult;

/** FNV-1a over the name's bytes (`b[start, end)`) with ASCII letters folded to lower case. */
function nameHash(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    let c = b[i] as number;
    if (c >= 65 && c <= 90) c |= 32;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h;
}

/**
 * Commands by the low bits of their name's hash: a RESP command name resolves from its bytes, with no
 * string made, and with an array index where a Map keyed by the whole hash cost a hash-table lookup
 * per command (1% of a node's CPU under INCR at depth 16, `perf`). A bucket's names are told apart by
 * their bytes.
 */
const NAME_BUCKETS = 1024;
const BY_HASH: (ResolvedCommand[] | undefined)[] = new Array<ResolvedCommand[] | undefined>(NAME_BUCKETS).fill(undefined);
let LONGEST = 0;
ALL.forEach((spec, index) => {
  // runRanged takes a command on ranges only down the plain path: no subcommands, never allowed
  // while a script is busy.
  if (spec.runRanges !== undefined && (spec.subcommands !== undefined || spec.subcommandFlags !== undefined || spec.flags.includes('allow_busy'))) {
    throw new Error(`command table: ${spec.name} has runRanges but subcommands or 'allow_busy'`);
  }
  const c: ResolvedCommand = Object.freeze({
    ...accessOf(spec),
    index,
    write: spec.flags.includes('write'),
    noauth: spec.flags.includes('noauth'),
    unmonitored: spec.flags.includes('admin') || spec.flags.includes('skip_monitor'),
    timed: !spec.flags.includes('fast') && !spec.flags.includes('skip_slowlog'),
    untimedArgs: spec.untimedArgs ?? -1,
    denyoom: spec.flags.includes('denyoom'),
  });
  const h = nameHash(Buffer.from(spec.name, 'latin1'), 0, spec.name.length) & (NAME_BUCKETS - 1);
  const list = BY_HASH[h];
  if (list === undefined) BY_HASH[h] = [c];
  else list.push(c);
  LONGEST = Math.max(LONGEST, spec.name.length);
});

/** The command named by `name`'s bytes, in any case (`INCR`, `incr`, `InCr`), or undefined (also for no name). */
export function resolveCommand(name: Uint8Array | undefined): ResolvedCommand | undefined {
  return name === undefined ? undefined : resolveCommandAt(name, 0, name.length);
}

/** The command named by the bytes `buf[start, end)`, in any case, or undefined. */
export function resolveCommandAt(buf: Uint8Array, start: number, end: number): ResolvedCommand | undefined {
  const n = end - start;
  // Stryker disable next-line ConditionalExpression: equivalent but for work, no name longer than the longest matches below
  if (n > LONGEST) return undefined;
  const list = BY_HASH[nameHash(buf, start, end) & (NAME_BUCKETS - 1)];
  if (list === undefined) return undefined;
  for (const c of list) {
    const cname = c.spec.name;
    // A proper prefix of a name may share its bucket ('d' and DECR do): the compare below would take it.
    if (cname.length !== n) continue;
    let i = 0;
    // Stryker disable next-line EqualityOperator: equivalent, one more step compares a byte with NaN and breaks at i === n
    for (; i < n; i++) {
      let x = buf[start + i] as number;
      // Stryker disable next-line ConditionalExpression: equivalent, a byte below 'A' folded reaches this compare only through a hash of the same fold (nameHash folds A-Z only), which no command's variant has
      if (x >= 65 && x <= 90) x |= 32;
      if (x !== cname.charCodeAt(i)) break;
    }
    if (i === n) return c;
  }
  return undefined;
}

/** The spec of the command named by `name`'s bytes, in any case, or undefined. */
export function lookupBytes(name: Uint8Array): CommandSpec | undefined {
  return resolveCommand(name)?.spec;
}

/** Every command name, in the order of `ResolvedCommand.index`. */
export function commandNames(): string[] {
  return ALL.map((s) => s.name);
}

/** Commands that run at once between MULTI and EXEC instead of being queued (Redis 7.0's list; RESET aside). */
const TX_CONTROL = new Set(['exec', 'discard', 'multi', 'watch', 'quit']);
const BUSY_REPLY: Reply = Object.freeze(reply.error(errors.BUSY_SCRIPT));
const OOM_REPLY: Reply = Object.freeze(reply.error(errors.OOM));
/** Commands a session in MULTI may still send while the node is over `maxmemory` (Redis 7.0's list; RESET aside). */
const OOM_EXEMPT_IN_MULTI = new Set(['exec', 'discard', 'quit']);

/**
 * Whether the node's memory limit refuses `c` now, as Redis's noeviction does: a `denyoom` command;
 * inside MULTI, anything but EXEC, DISCARD and QUIT (a queue would grow without bound); EXEC of a
 * queue holding a `denyoom` command. The memory check itself comes last: it is the dearest part.
 */
function refusedForMemory(ctx: CommandServices, session: Session, c: ResolvedCommand): boolean {
  const over = ctx.overMaxmemory;
  if (over === undefined) return false;
  const multi = session.multi;
  const may = c.denyoom || (multi !== undefined && (!OOM_EXEMPT_IN_MULTI.has(c.spec.name) || (c.spec.name === 'exec' && multi.queued.some((q) => q.spec.flags.includes('denyoom')))));
  return may && over();
}

/**
 * A command refused before it ran (unknown, NOAUTH, arity, NOPERM, OOM, BUSY): inside MULTI it dooms the
 * transaction (EXEC answers EXECABORT), and EXEC itself refused discards it with the reason, as
 * Redis's rejectCommand does. `reason` is the text after `EXECABORT ...because of: `.
 */
function reject(session: Session, name: string, r: Reply, reason: string): Reply {
  if (name === 'exec') {
    session.multi = undefined;
    return reply.error(errors.execAbort(reason));
  }
  if (session.multi !== undefined) session.multi.dirty = true;
  return r;
}

/** Whether the command may run while a script is busy (Redis's allow-busy flag; SCRIPT KILL only of SCRIPT's subcommands). */
function allowedWhileBusy(spec: CommandSpec, args: readonly Buffer[]): boolean {
  if (spec.name === 'script') return (args[1] as Buffer).length === 4 && (args[1] as Buffer).toString('latin1').toLowerCase() === 'kill';
  return spec.flags.includes('allow_busy');
}

/**
 * Runs `c`, resolved from `args[0]` by `resolveCommand`: checks authentication, arity and the user's
 * permission (NOPERM, after arity as in Redis), queues it inside MULTI (a refusal there dooms the
 * transaction), answers BUSY while a script is busy, records the name in `session.lastCommand`
 * (CLIENT LIST), feeds MONITOR and the slow log, and applies the session's consistency levels. When
 * `c` is undefined it answers the empty- or unknown-command error. Never throws for bad input.
 */
export function runCommand(ctx: CommandServices, session: Session, c: ResolvedCommand | undefined, args: readonly Buffer[]): CommandResult {
  if (c === undefined) {
    const first = args[0];
    if (first === undefined) return EMPTY_COMMAND;
    if (session.multi !== undefined) session.multi.dirty = true;
    return reply.errorBytes(errors.unknownCommand(first, args.slice(1)));
  }
  const spec = c.spec;
  if (!session.authenticated && !c.noauth) return reject(session, spec.name, ERR_NOAUTH, errors.NOAUTH);
  if (wrongCount(spec.arity, args.length)) {
    return reject(session, spec.name, wrongArity(spec.name), errors.wrongArity(spec.name).slice(4));
  }
  const arity = subcommandArity(spec, args);
  if (arity !== undefined) {
    const sub = (args[1] as Buffer).toString('latin1').toLowerCase();
    if (arity === null) {
      const e = errors.unknownSubcommand(args[1] as Buffer, spec.name.toUpperCase());
      return reject(session, spec.name, reply.errorBytes(e), e.toString('latin1').slice(4));
    }
    if (wrongCount(arity, args.length)) {
      return reject(session, spec.name, wrongArity(`${spec.name}|${sub}`), errors.wrongArity(`${spec.name}|${sub}`).slice(4));
    }
  }
  const denied = deniedFor(ctx, session, c, args);
  if (denied !== null) return reject(session, spec.name, reply.error(errors.noPermission(denied)), errors.noPermission(denied).slice('NOPERM '.length));
  if (refusedForMemory(ctx, session, c)) return reject(session, spec.name, OOM_REPLY, errors.OOM);
  const st = stateOf(ctx);
  if (st.busy !== null && st.busy.yielded && !allowedWhileBusy(spec, args)) return reject(session, spec.name, BUSY_REPLY, errors.BUSY_SCRIPT);
  if (session.multi !== undefined && !TX_CONTROL.has(spec.name)) {
    // Arguments may be views of the socket's buffer: the queue keeps copies.
    session.multi.queued.push({ spec, access: c, write: c.write, args: args.map((a) => Buffer.from(a)) });
    return QUEUED;
  }
  session.lastCommand = spec.name;
  if (st.monitors.size > 0 && !c.unmonitored) feedMonitors(ctx, session, args);
  if (c.timed && args.length !== c.untimedArgs) return timed(ctx, st, session, c, args);
  return dispatch(ctx, session, c, args);
}

function dispatch(ctx: CommandServices, session: Session, c: ResolvedCommand, args: readonly Buffer[]): CommandResult {
  const r = session.writeConsistency === 'majority' || session.readConsistency === 'majority' || c.write ? runWithConsistency(ctx, session, c.spec, args, c.write) : c.spec.run(ctx, session, args);
  if (!(r instanceof Promise)) return r;
  const st = stateOf(ctx);
  st.blocked++;
  return r.finally(() => st.blocked--);
}

/**
 * A command without the `fast` flag, timed for the slow log (fast ones, O(1), are not: two clock reads
 * would cost INCR some 15%). Its synchronous run is what counts, as Redis counts a command's own time.
 */
function timed(ctx: CommandServices, st: CommandState, session: Session, c: ResolvedCommand, args: readonly Buffer[]): CommandResult {
  const t0 = performance.now();
  const r = dispatch(ctx, session, c, args);
  const micros = Math.round((performance.now() - t0) * 1000);
  if (micros >= SLOWLOG_SLOWER_THAN_US) logSlow(ctx, st, session, micros, args);
  return r;
}

/** `timed` for a command run on ranges: its arguments become Buffers only for a slow log entry. */
function timedRanges(ctx: CommandServices, session: Session, run: NonNullable<CommandSpec['runRanges']>, args: ArgRanges): Reply {
  const t0 = performance.now();
  const r = run(ctx, session, args);
  const micros = Math.round((performance.now() - t0) * 1000);
  if (micros >= SLOWLOG_SLOWER_THAN_US) logSlow(ctx, stateOf(ctx), session, micros, args.buffers());
  return r;
}

/** Adds a command that took `micros` to the slow log (copies of its arguments, which may be views of a socket's chunk). */
function logSlow(ctx: CommandServices, st: CommandState, session: Session, micros: number, args: readonly Buffer[]): void {
  st.slowlog.add({ time: Math.floor(ctx.now() / 1000), micros, args: args.map((a) => Buffer.from(a)), addr: session.remoteAddress, name: session.name ?? '' });
}

/**
 * Whether a command whose arguments came as ranges may run on them: authenticated, of the right
 * arity, permitted, with nothing that needs its arguments as Buffers (MULTI queues copies, MONITOR
 * prints them, a busy script's refusal, majority levels, which read keys or wait).
 */
function plainRun(ctx: CommandServices, session: Session, c: ResolvedCommand, n: number): boolean {
  if (!(session.authenticated || c.noauth) || wrongCount(c.spec.arity, n) || (c.needs & ~permsOf(session)) !== 0) return false;
  if (session.multi !== undefined || session.readConsistency === 'majority' || session.writeConsistency === 'majority') return false;
  const st = stateOf(ctx);
  return (st.busy === null || !st.busy.yielded) && st.monitors.size === 0;
}

/**
 * `runCommand` for arguments as byte ranges (the RESP parser's whole requests): a command with
 * `runRanges` runs on them down the plain path, with runCommand's checks in its order and the same
 * bookkeeping (CLIENT LIST's last command, the session's last write for WAIT); anything else, and
 * every refusal but OOM, goes to runCommand with the arguments as Buffers. A Buffer per argument was
 * about 2% of a node's CPU under INCR at depth 16 (docs/resp.md, "Arguments as ranges").
 */
export function runRanged(ctx: CommandServices, session: Session, c: ResolvedCommand | undefined, args: ArgRanges): CommandResult {
  const run = c?.spec.runRanges;
  if (c === undefined || run === undefined || !plainRun(ctx, session, c, args.count)) return runCommand(ctx, session, c, args.buffers());
  const name = c.spec.name;
  if (refusedForMemory(ctx, session, c)) return reject(session, name, OOM_REPLY, errors.OOM);
  session.lastCommand = name;
  const r = c.timed && args.count !== c.untimedArgs ? timedRanges(ctx, session, run, args) : run(ctx, session, args);
  // As runWithConsistency does for a write at the local level: WAIT waits for this version.
  const cons = ctx.consistency;
  if (c.write && cons !== undefined) session.lastWriteVersion = cons.version();
  return r;
}

/** Executes one command for a session. Never throws for bad input: every problem is an error Reply. */
export function execute(ctx: CommandServices, session: Session, args: readonly Buffer[]): CommandResult {
  return runCommand(ctx, session, resolveCommand(args[0]), args);
}
