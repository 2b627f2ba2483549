// Who may run this form of a command: the one permission check of the command table, run where a
// command is queued or run (runCommand), again for each command EXEC runs (an AUTH queued before it
// may have changed the user), and for each redis.call of a script. docs/security.md, "Users and roles".

import { PERM_ADMIN, PERM_ALL, permsNeeded } from '../auth/permissions.js';
import type { CommandServices, CommandSpec, Session } from './types.js';

/** What a user needs to run a command, computed once from its flags (table.ts resolves every command with it). */
export interface CommandAccess {
  readonly spec: CommandSpec;
  /** PERM_* bits a user needs to run it (from its flags), for every form without `subs`. */
  readonly needs: number;
  /** Per subcommand (lower case), the bits needed; null for a command without `subcommandFlags`. */
  readonly subs: ReadonlyMap<string, number> | null;
}

/** The access rule of a command spec. */
export function accessOf(spec: CommandSpec): CommandAccess {
  const subs = spec.subcommandFlags === undefined ? null : new Map(Object.entries(spec.subcommandFlags).map(([sub, flags]) => [sub, permsNeeded(flags)]));
  return { spec, needs: permsNeeded(spec.flags), subs };
}

/** Lower-cases ASCII letters of a subcommand name. */
function lowerAscii(b: Buffer): string {
  return b.toString('latin1').replace(/[A-Z]/g, (ch) => ch.toLowerCase());
}

/**
 * The name NOPERM reports when a user with `perms` may not run this form of the command, or null when
 * it may: `name`, or `name|sub` for a listed subcommand of a container command (Redis 7.0's names).
 * A subcommand a container does not list needs the admin role (fail closed).
 */
export function deniedName(c: CommandAccess, perms: number, args: readonly Buffer[]): string | null {
  if (c.subs === null || args.length < 2) return (c.needs & ~perms) === 0 ? null : c.spec.name;
  const sub = lowerAscii(args[1] as Buffer);
  const needs = c.subs.get(sub);
  if (needs === undefined) return (PERM_ADMIN & ~perms) === 0 ? null : c.spec.name;
  return (needs & ~perms) === 0 ? null : `${c.spec.name}|${sub}`;
}

/** The session's permissions: a session without a user's bits (no credentials configured) may do everything once authenticated. */
export function permsOf(session: Session): number {
  return session.perms ?? (session.authenticated ? PERM_ALL : 0);
}

/**
 * Checks that the session's user may run `args` as `c`: null if so, else the name NOPERM reports,
 * after telling the authenticator (which logs and counts the refusal). `cap` narrows the user's
 * permissions further (EXEC after a queued AUTH whose check has not finished).
 */
export function deniedFor(ctx: CommandServices, session: Session, c: CommandAccess, args: readonly Buffer[], cap = PERM_ALL): string | null {
  if (c.needs === 0 && c.subs === null) return null;
  const denied = deniedName(c, permsOf(session) & cap, args);
  if (denied !== null) ctx.auth?.denied(session, denied);
  return denied;
}

/** Whether `n` arguments (the name included) break Redis's `arity`: exactly `arity` if positive, at least `-arity` if negative. */
export function wrongCount(arity: number, n: number): boolean {
  return arity > 0 ? n !== arity : n < -arity;
}

/**
 * The arity of the subcommand `args` names, for a container command (CLIENT, CONFIG, MEMORY...):
 * null when it has no such subcommand (own properties only: `constructor` is none), undefined
 * when the command has no subcommands or none was given. Checked by runCommand (table.ts), by redis.call and by
 * redis.acl_check_cmd.
 */
export function subcommandArity(spec: CommandSpec, args: readonly Buffer[]): number | null | undefined {
  const subs = spec.subcommands;
  if (subs === undefined || args.length < 2) return undefined;
  const sub = (args[1] as Buffer).toString('latin1').toLowerCase();
  return Object.hasOwn(subs, sub) ? (subs[sub] as number) : null;
}
