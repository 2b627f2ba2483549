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
import type { CommandResult, CommandServices, CommandSpec, Session } from './types.js';

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
    return reply.error(errors.unknownSubcommand(sub, 'COMMAND'));
  },
};

const EMPTY_COMMAND: Reply = Object.freeze(reply.error(errors.EMPTY_COMMAND));

const ALL: readonly CommandSpec[] = [...counterCommands, ...hllCommands, ...windowCommands, ...sketchCommands, ...serverCommands, ...consistencyCommands, commandCommand];

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

/** A command as the hot path needs it: its spec and its flags, resolved once at start-up. */
interface Compiled {
  readonly spec: CommandSpec;
  readonly write: boolean;
  readonly noauth: boolean;
}

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
const BY_HASH = new Map<number, Compiled[]>();
let LONGEST = 0;
for (const spec of new Set(ALL)) {
  const c: Compiled = { spec, write: spec.flags.includes('write'), noauth: spec.flags.includes('noauth') };
  const h = nameHash(Buffer.from(spec.name, 'latin1'));
  const list = BY_HASH.get(h);
  if (list === undefined) BY_HASH.set(h, [c]);
  else list.push(c);
  LONGEST = Math.max(LONGEST, spec.name.length);
}

function lookupCompiled(b: Uint8Array): Compiled | undefined {
  const n = b.length;
  if (n > LONGEST) return undefined;
  const list = BY_HASH.get(nameHash(b));
  if (list === undefined) return undefined;
  for (const c of list) {
    const name = c.spec.name;
    if (name.length !== n) continue;
    let i = 0;
    for (; i < n; i++) {
      let x = b[i] as number;
      if (x >= 65 && x <= 90) x |= 32;
      if (x !== name.charCodeAt(i)) break;
    }
    if (i === n) return c;
  }
  return undefined;
}

/** The command named by `name`'s bytes, in any case (`INCR`, `incr`, `InCr`), or undefined. */
export function lookupBytes(name: Uint8Array): CommandSpec | undefined {
  return lookupCompiled(name)?.spec;
}

export function commandNames(): string[] {
  return ALL.map((s) => s.name);
}

/** Executes one command for a session. Never throws for bad input: every problem is an error Reply. */
export function execute(ctx: CommandServices, session: Session, args: readonly Buffer[]): CommandResult {
  const first = args[0];
  if (first === undefined) return EMPTY_COMMAND;
  const c = lookupCompiled(first);
  if (c === undefined) {
    return reply.error(errors.unknownCommand(first.toString('latin1'), args.slice(1, 6).map((b) => b.toString('latin1'))));
  }
  const spec = c.spec;
  if (!session.authenticated && !c.noauth) return ERR_NOAUTH;
  if (spec.arity > 0 ? args.length !== spec.arity : args.length < -spec.arity) return wrongArity(spec.name);
  session.lastCommand = spec.name;
  if (session.writeConsistency === 'majority' || session.readConsistency === 'majority' || c.write)
    return runWithConsistency(ctx, session, spec, args, c.write);
  return spec.run(ctx, session, args);
}
