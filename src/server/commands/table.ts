// The one command table every client protocol shares: look up, check arity and authentication,
// run, and return a protocol-neutral Reply (RESP and the WebSocket API only encode it).

import * as errors from '../../errors.js';
import { reply, type Reply } from './reply.js';
import { consistencyCommands, runWithConsistency } from './consistency-commands.js';
import { counterCommands } from './counter-commands.js';
import { hllCommands } from './hll-commands.js';
import { sketchCommands } from './sketch-commands.js';
import { windowCommands } from './window-commands.js';
import { ERR_NOAUTH, wrongArity } from './parse.js';
import { serverCommands } from './server-commands.js';
import { expiryCommands } from './expiry-commands.js';
import type { CommandResult, CommandServices, CommandSpec, Session } from './types.js';
import { PERM_ADMIN, PERM_ALL, permsNeeded } from '../auth/permissions.js';

const commandCommand: CommandSpec = {
  name: 'command',
  arity: -1,
  flags: ['connection'],
  keys: [0, 0, 0],
  run: (_ctx, _s, a) => {
    const sub = a.length > 1 ? (a[1] as Buffer).toString().toLowerCase() : '';
    if (sub === '') return { kind: 'array', value: ALL.map(describe) };
    if (sub === 'count') return { kind: 'int', value: ALL.length };
    if (sub === 'docs') return { kind: 'array', value: [] }; // redis-cli asks at start-up; no docs is fine
    if (sub === 'info') {
      return { kind: 'array', value: a.slice(2).map((n) => { const s = lookupBytes(n); return s ? describe(s) : { kind: 'array', value: null }; }) };
    }
    if (sub === 'list') return { kind: 'array', value: ALL.map((s) => ({ kind: 'bulk', value: s.name })) };
    return reply.errorBytes(errors.unknownSubcommand(a[1] as Buffer, 'COMMAND'));
  },
};

const EMPTY_COMMAND: Reply = Object.freeze(reply.error(errors.EMPTY_COMMAND));

const ALL: readonly CommandSpec[] = [...counterCommands, ...expiryCommands, ...hllCommands, ...windowCommands, ...sketchCommands, ...serverCommands, ...consistencyCommands, commandCommand];

function describe(s: CommandSpec): Reply {
  return {
    kind: 'array',
    value: [
      { kind: 'bulk', value: s.name },
      { kind: 'int', value: s.arity },
      { kind: 'array', value: s.flags.map((f) => ({ kind: 'simple', value: f })) },
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
export interface ResolvedCommand {
  readonly spec: CommandSpec;
  /** The command's position in `commandNames()`: a dense index for per-command counters. */
  readonly index: number;
  readonly write: boolean;
  readonly noauth: boolean;
  /** PERM_* bits a user needs to run it (from its flags), for every form without `subs`. */
  readonly needs: number;
  /** Per subcommand (lower case), the bits needed; null for a command without `subcommandFlags`. */
  readonly subs: ReadonlyMap<string, number> | null;
}

/** Runs a resolved command (or answers the lookup's error when `c` is undefined); `runCommand`'s shape. */
export type CommandRunner = (ctx: CommandServices, session: Session, c: ResolvedCommand | undefined, args: readonly Buffer[]) => CommandResult;

/** FNV-1a over the name's bytes with ASCII letters folded to lower case. */
function nameHash(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    let c = b[i] as number;
    if (c >= 65 && c <= 90) c |= 32;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h;
}

/** Commands by the hash of their name: a RESP command name resolves from its bytes, with no string made. */
const BY_HASH = new Map<number, ResolvedCommand[]>();
let LONGEST = 0;
ALL.forEach((spec, index) => {
  const subs = spec.subcommandFlags === undefined ? null : new Map(Object.entries(spec.subcommandFlags).map(([sub, flags]) => [sub, permsNeeded(flags)]));
  const c: ResolvedCommand = Object.freeze({ spec, index, write: spec.flags.includes('write'), noauth: spec.flags.includes('noauth'), needs: permsNeeded(spec.flags), subs });
  const h = nameHash(Buffer.from(spec.name, 'latin1'));
  const list = BY_HASH.get(h);
  if (list === undefined) BY_HASH.set(h, [c]);
  else list.push(c);
  LONGEST = Math.max(LONGEST, spec.name.length);
});

/** The command named by `name`'s bytes, in any case (`INCR`, `incr`, `InCr`), or undefined (also for no name). */
export function resolveCommand(name: Uint8Array | undefined): ResolvedCommand | undefined {
  if (name === undefined) return undefined;
  const n = name.length;
  if (n > LONGEST) return undefined;
  const list = BY_HASH.get(nameHash(name));
  if (list === undefined) return undefined;
  for (const c of list) {
    const cname = c.spec.name;
    if (cname.length !== n) continue;
    let i = 0;
    for (; i < n; i++) {
      let x = name[i] as number;
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

/** Lower-cases ASCII letters of a subcommand name. */
function lowerAscii(b: Buffer): string {
  return b.toString('latin1').replace(/[A-Z]/g, (ch) => ch.toLowerCase());
}

/**
 * The name NOPERM reports when the session's user may not run this form of the command, or null when
 * it may: `name`, or `name|sub` for a listed subcommand of a container command (Redis 7.0's names).
 */
function deniedName(c: ResolvedCommand, perms: number, args: readonly Buffer[]): string | null {
  if (c.subs === null || args.length < 2) return (c.needs & ~perms) === 0 ? null : c.spec.name;
  const sub = lowerAscii(args[1] as Buffer);
  const needs = c.subs.get(sub);
  if (needs === undefined) return (PERM_ADMIN & ~perms) === 0 ? null : c.spec.name;
  return (needs & ~perms) === 0 ? null : `${c.spec.name}|${sub}`;
}

/**
 * Runs `c`, resolved from `args[0]` by `resolveCommand`: checks authentication, arity and the user's
 * permission (NOPERM, after arity as in Redis), records the
 * name in `session.lastCommand` (CLIENT LIST) and applies the session's consistency levels. When `c`
 * is undefined it answers the empty- or unknown-command error. Never throws for bad input.
 */
export function runCommand(ctx: CommandServices, session: Session, c: ResolvedCommand | undefined, args: readonly Buffer[]): CommandResult {
  if (c === undefined) {
    const first = args[0];
    if (first === undefined) return EMPTY_COMMAND;
    return reply.errorBytes(errors.unknownCommand(first, args.slice(1)));
  }
  const spec = c.spec;
  if (!session.authenticated && !c.noauth) return ERR_NOAUTH;
  if (spec.arity > 0 ? args.length !== spec.arity : args.length < -spec.arity) return wrongArity(spec.name);
  if (c.needs !== 0 || c.subs !== null) {
    const denied = deniedName(c, session.perms ?? (session.authenticated ? PERM_ALL : 0), args);
    if (denied !== null) {
      ctx.auth?.denied(session, denied);
      return reply.error(errors.noPermission(denied));
    }
  }
  session.lastCommand = spec.name;
  if (session.writeConsistency === 'majority' || session.readConsistency === 'majority' || c.write)
    return runWithConsistency(ctx, session, spec, args, c.write);
  return spec.run(ctx, session, args);
}

/** Executes one command for a session. Never throws for bad input: every problem is an error Reply. */
export function execute(ctx: CommandServices, session: Session, args: readonly Buffer[]): CommandResult {
  return runCommand(ctx, session, resolveCommand(args[0]), args);
}
