// The one command table every client protocol shares: look up, check arity and authentication,
// run, and return a protocol-neutral Reply (RESP and the WebSocket API only encode it).

import type { Reply } from '../resp/encoder.js';
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
      return { kind: 'array', value: a.slice(2).map((n) => { const s = BY_NAME.get(n.toString().toLowerCase()); return s ? describe(s) : { kind: 'array', value: null }; }) };
    }
    if (sub === 'list') return { kind: 'array', value: ALL.map((s) => ({ kind: 'bulk', value: s.name })) };
    return { kind: 'error', message: `ERR unknown subcommand '${sub}'. Try COMMAND HELP.` };
  },
};

const ALL: readonly CommandSpec[] = [...counterCommands, ...hllCommands, ...windowCommands, ...sketchCommands, ...serverCommands, ...consistencyCommands, commandCommand];

const BY_NAME = new Map<string, CommandSpec>();
for (const spec of ALL) {
  BY_NAME.set(spec.name, spec);
  BY_NAME.set(spec.name.toUpperCase(), spec); // the common spellings resolve without lower-casing
}

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

export function lookup(name: string): CommandSpec | undefined {
  return BY_NAME.get(name) ?? BY_NAME.get(name.toLowerCase());
}

export function commandNames(): string[] {
  return ALL.map((s) => s.name);
}

/** Executes one command for a session. Never throws for bad input: every problem is an error Reply. */
export function execute(ctx: CommandServices, session: Session, args: readonly Buffer[]): CommandResult {
  const first = args[0];
  if (first === undefined) return { kind: 'error', message: 'ERR empty command' };
  const name = first.toString('latin1');
  const spec = lookup(name);
  if (spec === undefined) {
    const shown = name.length > 128 ? `${name.slice(0, 128)}...` : name;
    const rest = args
      .slice(1, 6)
      .map((b) => `'${b.toString('latin1').slice(0, 64)}' `)
      .join('');
    return { kind: 'error', message: `ERR unknown command '${shown}', with args beginning with: ${rest}` };
  }
  if (!session.authenticated && !spec.flags.includes('noauth')) return ERR_NOAUTH;
  if (spec.arity > 0 ? args.length !== spec.arity : args.length < -spec.arity) return wrongArity(spec.name);
  session.lastCommand = spec.name;
  if (session.writeConsistency === 'majority' || session.readConsistency === 'majority' || spec.flags.includes('write'))
    return runWithConsistency(ctx, session, spec, args);
  return spec.run(ctx, session, args);
}
