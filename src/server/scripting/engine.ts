// The script engine of one node: the script cache (SHA1 → compiled chunk), EVAL's run with KEYS and
// ARGV, redis.call / redis.pcall through the command table, the busy-reply-threshold and SCRIPT KILL.
// A script runs atomically on this node: nothing else runs until it ends (docs/scripting.md).

import { createHash } from 'node:crypto';
import * as errors from '../../errors.js';
import type { CommandResult, CommandServices, Session } from '../commands/types.js';
import { reply, type Reply } from '../commands/reply.js';
import { feedMonitors, stateOf, type BusyScript, type CommandState } from '../commands/state.js';
import { formatG } from '../resp/format-double.js';
import { popReply, pushBytes, pushErrorTable, pushReply } from './convert.js';
import { deniedFor, deniedName, permsOf, subcommandArity, wrongCount, type CommandAccess } from '../commands/access.js';
import { bytesOf, lauxlib, lua, luaString, type LuaJsFunction, type LuaState } from './fengari.js';
import { BUSY_REPLY_THRESHOLD_MS, BUSY_SLICE_MS, HOOK_EVERY_INSTRUCTIONS } from './limits.js';
import { createSandbox } from './sandbox.js';

/** Looks a command up by name for redis.call (the command table, injected: no import cycle). */
export type CommandLookup = (name: Uint8Array) => (CommandAccess & { write: boolean; denyoom: boolean }) | undefined;

interface Script {
  readonly sha: string;
  readonly body: Buffer;
  /** The compiled chunk, anchored in the registry. */
  readonly ref: number;
  /** From a `#!lua` shebang; compat (no shebang): false. */
  readonly shebang: boolean;
  readonly noWrites: boolean;
  /** `flags=allow-oom`: runs every command even while the node is over `maxmemory`. */
  readonly allowOom: boolean;
}

/** What one running script needs in its redis.call. */
interface Run {
  readonly ctx: CommandServices;
  readonly session: Session;
  readonly readOnly: boolean;
  readonly busy: BusyScript;
  resp: 2 | 3;
  /** The node was over `maxmemory` when the script started (and it lacks allow-oom): its first write may not add memory. */
  readonly oom: boolean;
}

const SCRIPT_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys']);

export function sha1hex(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

/** A script's shebang (`#!lua flags=no-writes`), as Redis 7.0's evalExtractShebangFlags reads it. */
function shebangOf(body: Buffer): { ok: true; length: number; shebang: boolean; noWrites: boolean; allowOom: boolean } | { ok: false; error: string } {
  if (body[0] !== 0x23 || body[1] !== 0x21) return { ok: true, length: 0, shebang: false, noWrites: false, allowOom: false };
  const end = body.indexOf(0x0a);
  if (end === -1) return { ok: false, error: 'Invalid script shebang' };
  const parts = body.toString('latin1', 0, end).split(/[ \t\r\v\f]+/).filter((p) => p !== '');
  if (parts.length === 0) return { ok: false, error: 'Invalid engine in script shebang' };
  if (parts[0] !== '#!lua') return { ok: false, error: `Unexpected engine in script shebang: ${parts[0] as string}` };
  let noWrites = false;
  let allowOom = false;
  for (const p of parts.slice(1)) {
    if (!p.startsWith('flags=')) return { ok: false, error: `Unknown lua shebang option: ${p}` };
    for (const f of p.slice(6).split(',')) {
      if (!SCRIPT_FLAGS.has(f)) return { ok: false, error: `Unexpected flag in script shebang: ${f}` };
      if (f === 'no-writes') noWrites = true;
      if (f === 'allow-oom') allowOom = true;
    }
  }
  return { ok: true, length: end, shebang: true, noWrites, allowOom };
}

const ERR_KILLED = 'Script killed by user with SCRIPT KILL...';

export class ScriptEngine {
  private L: LuaState | null = null;
  private readonly scripts = new Map<string, Script>();
  /** The script running now (its redis.call needs it); null between scripts. */
  private run: Run | null = null;
  /** A Lua thread to run the next script on, anchored in the registry. */
  private idleThread: { co: LuaState; ref: number } | null = null;

  constructor(
    private readonly lookup: CommandLookup,
    /** The clock the busy threshold is measured on (ms). */
    private readonly now: () => number,
  ) {}

  /** SCRIPT EXISTS: SHA1s in any letter case, as Redis compares them. */
  exists(sha: string): boolean {
    return this.scripts.has(sha.toLowerCase());
  }

  /** SCRIPT FLUSH: forgets every script and starts a fresh Lua state. */
  flush(): void {
    this.scripts.clear();
    this.L = null;
    this.idleThread = null;
  }

  /** SCRIPT LOAD and EVAL's first run: compiles (once) and caches. Returns the SHA1 or the error reply. */
  load(body: Buffer): { sha: string } | { error: Reply } {
    const sha = sha1hex(body);
    if (this.scripts.has(sha)) return { sha };
    const sb = shebangOf(body);
    if (!sb.ok) return { error: reply.error(errors.scriptShebang(sb.error)) };
    const L = this.state();
    // The shebang line is skipped but its newline kept, so line numbers stay the user's.
    const code = Uint8Array.from(body.subarray(sb.length));
    if (lauxlib.luaL_loadbufferx(L, code, null, luaString('@user_script'), luaString('t')) !== lua.LUA_OK) {
      const detail = lua.lua_tojsstring(L, -1);
      lua.lua_pop(L, 1);
      return { error: reply.error(errors.scriptCompile(detail)) };
    }
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.scripts.set(sha, { sha, body: Buffer.from(body), ref, shebang: sb.shebang, noWrites: sb.noWrites, allowOom: sb.allowOom });
    return { sha };
  }

  get size(): number {
    return this.scripts.size;
  }

  /** SCRIPT KILL. */
  kill(st: CommandState): Reply {
    const b = st.busy;
    if (b === null) return reply.error(errors.NOTBUSY);
    if (b.wrote) return reply.error(errors.UNKILLABLE);
    b.killed = true;
    return { kind: 'simple', value: 'OK' };
  }

  /**
   * EVAL / EVALSHA of a cached script (`sha`, lower case). Runs synchronously; a script still running
   * after busy-reply-threshold gives the event loop back between slices (other commands get BUSY,
   * SCRIPT KILL works) and the reply comes as a promise.
   */
  eval(ctx: CommandServices, caller: Session, sha: string, keys: readonly Buffer[], argv: readonly Buffer[], ro: boolean): CommandResult {
    const script = this.scripts.get(sha);
    if (script === undefined) return reply.error(errors.NOSCRIPT);
    if (ro && script.shebang && !script.noWrites) return reply.error(errors.SCRIPT_RO_COMMAND);
    // Over maxmemory, as Redis 7.0: a script that declares it may write (a shebang without no-writes
    // or allow-oom) is refused whole; a script without a shebang runs, and its first write that may
    // add memory fails (command() below); allow-oom runs everything.
    const oom = !script.allowOom && !script.noWrites && ctx.overMaxmemory?.() === true;
    if (oom && script.shebang) return reply.error(errors.OOM);
    const L = this.state();
    const st = stateOf(ctx);
    const busy: BusyScript = { yielded: false, wrote: false, killed: false };
    // The script's own session: its SELECT stays inside the script, as in Redis 7.
    const session: Session = { ...caller, inScript: true, multi: undefined, watching: undefined, monitoring: false };
    const run: Run = { ctx, session, readOnly: ro || script.noWrites, busy, resp: 2, oom };

    // A thread whose last script returned normally is reused (a fresh one costs more than the
    // script); one that failed is dropped, its stack holding the failure.
    let thread = this.idleThread;
    this.idleThread = null;
    if (thread === null) {
      const t = lua.lua_newthread(L);
      thread = { co: t, ref: lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX) };
    }
    const { co } = thread;
    lua.lua_settop(co, 0);
    this.setArray(L, 'KEYS', keys);
    this.setArray(L, 'ARGV', argv);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, script.ref);
    lua.lua_xmove(L, co, 1);

    const started = this.now();
    let sliceStart = started;
    lua.lua_sethook(
      co,
      (T) => {
        if (busy.killed) {
          pushErrorTable(T, ERR_KILLED);
          lua.lua_error(T);
          return;
        }
        // Only the script's own thread gives the loop back: a coroutine of the script must not be
        // resumed by anyone but the script, and a C call boundary (table.sort) cannot yield.
        if (T !== co || !lua.lua_isyieldable(T)) return;
        const now = this.now();
        if (!busy.yielded) {
          if (now - started < BUSY_REPLY_THRESHOLD_MS) return;
          busy.yielded = true;
        } else if (now - sliceStart < BUSY_SLICE_MS) return;
        lua.lua_yield(T, 0);
      },
      lua.LUA_MASKCOUNT,
      HOOK_EVERY_INSTRUCTIONS,
    );

    st.busy = busy;
    this.run = run;
    const finish = (status: number): Reply => {
      this.run = null;
      st.busy = null;
      if (session.lastWriteVersion !== undefined) caller.lastWriteVersion = session.lastWriteVersion;
      const r = crashed ? reply.error(errors.INTERNAL) : status === lua.LUA_OK ? this.result(co, L, run) : this.failure(co, L, sha);
      lua.lua_sethook(co, null, 0, 0);
      if (status === lua.LUA_OK && !crashed && this.L === L) {
        lua.lua_settop(co, 0);
        this.idleThread = thread;
      } else lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, thread.ref);
      if (busy.yielded) for (const f of st.idleListeners) f();
      return r;
    };
    /** A JavaScript exception out of the engine (a bug, or an allocation too large): the script fails with ERR internal error. */
    let crashed = false;
    const step = (): number => {
      this.run = run;
      try {
        return lua.lua_resume(co, L, 0);
      } catch {
        crashed = true;
        return -1;
      } finally {
        this.run = null;
      }
    };
    const first = step();
    if (first !== lua.LUA_YIELD) return finish(first);
    return new Promise<Reply>((resolve) => {
      const slice = (): void => {
        sliceStart = this.now();
        const s = step();
        if (s === lua.LUA_YIELD) setImmediate(slice);
        else resolve(finish(s));
      };
      setImmediate(slice);
    });
  }

  private result(co: LuaState, L: LuaState, run: Run): Reply {
    if (lua.lua_gettop(co) === 0) return { kind: 'bulk', value: null };
    lua.lua_settop(co, 1);
    // Converted on the main thread: the script's own stack may have no room left.
    lua.lua_xmove(co, L, 1);
    return popReply(L, run.resp);
  }

  /**
   * The reply to a script that raised an error, as Redis 7.0 words it: `ERR <message>` for a plain
   * error (a table's `err` as it is), then ` script: <sha>, on @user_script:<line>.` naming the
   * line of the script's function that raised it.
   */
  private failure(co: LuaState, L: LuaState, sha: string): Reply {
    // The error value moves to the main thread (the script's stack may be full); the script's
    // frames stay on its own stack, where lua_getstack reads them without pushing anything.
    lua.lua_xmove(co, L, 1);
    let msg: string;
    if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
      lua.lua_getfield(L, -1, luaString('err'));
      msg = lua.lua_type(L, -1) === lua.LUA_TSTRING ? bytesOf(lua.lua_tolstring(L, -1) as Uint8Array).toString('utf8') : 'ERR unknown error';
      lua.lua_pop(L, 1);
    } else {
      const s = lua.lua_tolstring(L, -1);
      msg = `ERR ${s === null ? 'execution failure' : bytesOf(s).toString('utf8')}`;
    }
    lua.lua_pop(L, 1);
    const ar = new lua.lua_Debug();
    for (let level = 0; lua.lua_getstack(co, level, ar) !== 0; level++) {
      lua.lua_getinfo(co, luaString('Sl'), ar);
      const what = ar.what === null ? '' : bytesOf(ar.what).toString('latin1');
      const source = ar.source === null ? '' : bytesOf(ar.source).toString('latin1');
      // The engine's functions (JavaScript, or the sandbox's Lua guards) are not where the script
      // failed: Redis names the script's function that called them.
      if (what === 'C' || what === 'J' || source === '@tally_init') continue;
      if (ar.currentline > 0) msg += ` script: ${sha}, on ${source}:${ar.currentline}.`;
      break;
    }
    return reply.error(msg);
  }

  private setArray(L: LuaState, name: string, items: readonly Buffer[]): void {
    lua.lua_pushglobaltable(L);
    pushBytes(L, name);
    lua.lua_createtable(L, items.length, 0);
    items.forEach((b, i) => {
      pushBytes(L, b);
      lua.lua_rawseti(L, -2, i + 1);
    });
    lua.lua_rawset(L, -3);
    lua.lua_pop(L, 1);
  }

  private state(): LuaState {
    this.L ??= createSandbox(this.api());
    return this.L;
  }

  /** redis.call / redis.pcall: the arguments, checked as Redis checks them, run through the command table. */
  private command(L: LuaState, raise: boolean): number {
    const run = this.run;
    const fail = (text: string): number => {
      pushErrorTable(L, text);
      return raise ? lua.lua_error(L) : 1;
    };
    if (run === null) return fail('redis.call/pcall can only be called inside a script invocation');
    const args = commandArgs(L);
    if (typeof args === 'string') return fail(args);
    lua.lua_settop(L, 0);
    const c = this.lookup(args[0] as Buffer);
    if (c === undefined) return fail('Unknown Redis command called from script');
    const arity = c.spec.arity;
    if (wrongCount(arity, args.length)) return fail('Wrong number of args calling Redis command from script');
    // A container command's subcommand is a command of its own to Redis's script caller: an unknown
    // one is an unknown command, and each has its arity (as runCommand checks outside scripts).
    const subArity = subcommandArity(c.spec, args);
    if (subArity === null) return fail('Unknown Redis command called from script');
    if (subArity !== undefined && wrongCount(subArity, args.length)) return fail('Wrong number of args calling Redis command from script');
    if (c.spec.flags.includes('noscript')) return fail('This Redis command is not allowed from script');
    const { ctx, session } = run;
    // The script's user, checked per call as Redis 7.0 does (after noscript, before the read-only rule).
    if (deniedFor(ctx, session, c, args) !== null) return fail(`-${errors.SCRIPT_NOPERM}`);
    if (c.write && run.readOnly) return fail('Write commands are not allowed from read-only scripts.');
    // Only before the script's first write: once it has written, stopping it halfway would leave half a script applied.
    if (c.denyoom && run.oom && !run.busy.wrote) return fail(`-${errors.OOM}`);
    if (c.write) run.busy.wrote = true;
    feedMonitors(ctx, session, args);
    let r: CommandResult;
    try {
      r = c.spec.run(ctx, session, args);
    } catch {
      r = reply.error(errors.INTERNAL);
    }
    if (c.write && ctx.consistency !== undefined) session.lastWriteVersion = ctx.consistency.version();
    // Nothing in the table answers later once WAIT is refused (noscript) and levels are not applied here.
    if (r instanceof Promise) {
      r.catch(() => {});
      return fail('This Redis command is not allowed from script');
    }
    pushReply(L, r, run.resp);
    if (raise && r.kind === 'error') return lua.lua_error(L);
    return 1;
  }

  private api(): Record<string, LuaJsFunction | number | string> {
    const wrongArgs = (L: LuaState): number => {
      pushErrorTable(L, 'wrong number or type of arguments');
      return 1;
    };
    return {
      call: (L) => this.command(L, true),
      pcall: (L) => this.command(L, false),
      error_reply: (L) => {
        if (lua.lua_gettop(L) !== 1 || lua.lua_type(L, -1) !== lua.LUA_TSTRING) return wrongArgs(L);
        const s = bytesOf(lua.lua_tolstring(L, -1) as Uint8Array).toString('utf8');
        pushErrorTable(L, s.startsWith('-') ? s : `-${s}`);
        return 1;
      },
      status_reply: (L) => {
        if (lua.lua_gettop(L) !== 1 || lua.lua_type(L, -1) !== lua.LUA_TSTRING) return wrongArgs(L);
        lua.lua_createtable(L, 0, 1);
        lua.lua_pushvalue(L, -2);
        lua.lua_setfield(L, -2, luaString('ok'));
        return 1;
      },
      sha1hex: (L) => {
        if (lua.lua_gettop(L) !== 1) {
          pushErrorTable(L, 'wrong number of arguments');
          return lua.lua_error(L);
        }
        const s = lua.lua_tolstring(L, 1);
        lua.lua_pushliteral(L, sha1hex(s ?? new Uint8Array()));
        return 1;
      },
      setresp: (L) => {
        const run = this.run;
        if (run === null) {
          pushErrorTable(L, 'redis.setresp can only be called inside a script invocation');
          return lua.lua_error(L);
        }
        if (lua.lua_gettop(L) !== 1) {
          pushErrorTable(L, 'redis.setresp() requires one argument.');
          return lua.lua_error(L);
        }
        const v = lua.lua_tonumber(L, 1);
        if (v !== 2 && v !== 3) {
          pushErrorTable(L, 'RESP version must be 2 or 3.');
          return lua.lua_error(L);
        }
        run.resp = v;
        return 0;
      },
      // tally has no log the script should write to: accepted and ignored (the arguments are checked).
      log: (L) => {
        if (lua.lua_gettop(L) < 2) {
          pushErrorTable(L, 'redis.log() requires two arguments or more.');
          return lua.lua_error(L);
        }
        return 0;
      },
      // Effects replication is the only kind there is (gossip carries state, not commands).
      set_repl: () => 0,
      replicate_commands: (L) => (lua.lua_pushboolean(L, true), 1),
      // Whether the script's user may run the command with these arguments (its role: access.ts).
      acl_check_cmd: (L) => {
        const fail = (text: string): number => {
          pushErrorTable(L, text);
          return lua.lua_error(L);
        };
        const run = this.run;
        if (run === null) return fail('redis.acl_check_cmd can only be called inside a script invocation');
        const args = commandArgs(L);
        if (typeof args === 'string') return fail(args);
        const c = this.lookup(args[0] as Buffer);
        // A subcommand the container does not have is no command, as Redis 7.0's lookupCommand finds none.
        if (c === undefined || subcommandArity(c.spec, args) === null) return fail('Invalid command passed to redis.acl_check_cmd()');
        lua.lua_pushboolean(L, deniedName(c, permsOf(run.session), args) === null);
        return 1;
      },
      LOG_DEBUG: 0,
      LOG_VERBOSE: 1,
      LOG_NOTICE: 2,
      LOG_WARNING: 3,
      REPL_NONE: 0,
      REPL_AOF: 1,
      REPL_SLAVE: 2,
      REPL_REPLICA: 2,
      REPL_ALL: 3,
      REDIS_VERSION: '7.2.0',
      REDIS_VERSION_NUM: 0x070200,
    };
  }
}

/**
 * The arguments of a redis.call-like function as command words (numbers as Redis's Lua formats
 * them), or the error text Redis gives for none or for an argument of another type.
 */
function commandArgs(L: LuaState): Buffer[] | string {
  const argc = lua.lua_gettop(L);
  if (argc === 0) return 'Please specify at least one argument for this redis lib call';
  const args: Buffer[] = [];
  for (let i = 1; i <= argc; i++) {
    const t = lua.lua_type(L, i);
    if (t === lua.LUA_TNUMBER) args.push(Buffer.from(formatG(lua.lua_tonumber(L, i)), 'latin1'));
    else if (t === lua.LUA_TSTRING) args.push(Buffer.from(bytesOf(lua.lua_tolstring(L, i) as Uint8Array)));
    else return 'Lua redis lib command arguments must be strings or integers';
  }
  return args;
}
