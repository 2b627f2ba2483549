// Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (LOAD, EXISTS, FLUSH, KILL, HELP).
// The engine (src/server/scripting/) runs each script atomically on this node; docs/scripting.md.

import * as errors from '../../errors.js';
import { ScriptEngine, type CommandLookup } from '../scripting/engine.js';
import { OK, ONE, ZERO, reply, type Reply } from './reply.js';
import { helpReply } from './help.js';
import { ERR_NOT_INTEGER, parseInt64, wrongArity } from './parse.js';
import { extraState, feedMonitors, stateOf } from './state.js';
import type { CommandResult, CommandServices, CommandSpec, Session } from './types.js';

const SCRIPT_HELP = helpReply('SCRIPT', [
  'EXISTS <sha1> [<sha1> ...]',
  '    Return information about the existence of the scripts in the script cache.',
  'FLUSH [ASYNC|SYNC]',
  '    Flush the Lua scripts cache. Very dangerous on replicas.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the scripts cache.',
  '    * SYNC: Synchronously flush the scripts cache.',
  'KILL',
  '    Kill the currently executing Lua script.',
  'LOAD <script>',
  '    Load a script into the scripts cache without executing it.',
]);

const NOSCRIPT: Reply = Object.freeze(reply.error(errors.NOSCRIPT));

/** The script commands, over the command table's lookup (passed in: the table lists these specs). */
export function scriptCommands(lookup: CommandLookup): CommandSpec[] {
  const engine = (ctx: CommandServices): ScriptEngine => extraState(ctx, 'scripts', () => new ScriptEngine(lookup, () => ctx.now()));

  /** EVAL and friends: numkeys, then the script by body (compiled on first use) or by SHA1. */
  const evalGeneric = (byHash: boolean, ro: boolean) => (ctx: CommandServices, s: Session, a: readonly Buffer[]): CommandResult => {
    // Scripts feed MONITOR themselves, before their commands (Redis's evalCommand).
    feedMonitors(ctx, s, a);
    const n = parseInt64(a[2] as Buffer);
    if (n === null || n === 'range') return ERR_NOT_INTEGER;
    if (n > a.length - 3) return reply.error(errors.NUMKEYS_TOO_MANY);
    if (n < 0) return reply.error(errors.NUMKEYS_NEGATIVE);
    const e = engine(ctx);
    let sha: string;
    if (byHash) {
      const given = a[1] as Buffer;
      if (given.length !== 40) return NOSCRIPT;
      sha = given.toString('latin1').toLowerCase();
    } else {
      const loaded = e.load(a[1] as Buffer);
      if ('error' in loaded) return loaded.error;
      sha = loaded.sha;
    }
    return e.eval(ctx, s, sha, a.slice(3, 3 + n), a.slice(3 + n), ro);
  };

  const spec = (name: string, byHash: boolean, ro: boolean): CommandSpec => ({
    name,
    arity: -3,
    // Every user may run scripts: each redis.call is checked against the user's role (engine.ts).
    flags: ['noscript', 'skip_monitor', 'stale', 'connection'],
    keys: [0, 0, 0],
    run: evalGeneric(byHash, ro),
  });

  return [
    spec('eval', false, false),
    spec('evalsha', true, false),
    spec('eval_ro', false, true),
    spec('evalsha_ro', true, true),
    {
      name: 'script',
      arity: -2,
      flags: ['noscript'],
      keys: [0, 0, 0],
      subcommands: { load: 3, exists: -3, flush: -2, kill: 2, help: 2, debug: 3 },
      // Loading and asking about scripts is harmless; emptying the cache or killing another
      // client's script changes what others see, as a write does. DEBUG is answered as unsupported.
      subcommandFlags: { load: ['connection'], exists: ['connection'], help: ['connection'], debug: ['connection'], flush: ['write'], kill: ['write'] },
      run: (ctx, _s, a) => {
        const sub = (a[1] as Buffer).toString('latin1').toLowerCase();
        const e = engine(ctx);
        if (sub === 'help' && a.length === 2) return SCRIPT_HELP;
        if (sub === 'flush') {
          const mode = a.length === 3 ? (a[2] as Buffer).toString('latin1').toLowerCase() : a.length === 2 ? 'sync' : '';
          if (mode !== 'sync' && mode !== 'async') return reply.error(errors.SCRIPT_FLUSH_MODE);
          e.flush();
          return OK;
        }
        if (sub === 'exists') {
          if (a.length < 3) return wrongArity('script|exists');
          return { kind: 'array', value: a.slice(2).map((h) => (e.exists(h.toString('latin1')) ? ONE : ZERO)) };
        }
        if (sub === 'load' && a.length === 3) {
          const loaded = e.load(a[2] as Buffer);
          return 'error' in loaded ? loaded.error : { kind: 'bulk', value: loaded.sha };
        }
        if (sub === 'kill' && a.length === 2) return e.kill(stateOf(ctx));
        if (sub === 'debug' && a.length === 3) return reply.error(errors.SCRIPT_DEBUG_UNSUPPORTED);
        if (['help', 'load', 'kill', 'debug'].includes(sub)) return wrongArity(`script|${sub}`);
        return reply.errorBytes(errors.unknownSubcommand(a[1] as Buffer, 'SCRIPT'));
      },
    },
  ];
}

