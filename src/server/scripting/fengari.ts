// fengari (Lua 5.3 in JavaScript) loaded for Redis scripts, with its numbers made to behave as Lua
// 5.1's, the Lua of Redis: every number is a double (fengari's integers are 32 bits and wrap, so
// `ARGV[1] * 1000` or a sum of counters past 2^31 would silently be wrong), and an integral float
// prints without `.0` (`tostring(10/2)` is "5", as in Redis). docs/scripting.md, "The engine".

import { createRequire } from 'node:module';
import { formatG } from '../resp/format-double.js';

/** A Lua string as fengari holds it: the bytes. */
export type LuaString = Uint8Array;
/** A lua_State (opaque). */
export type LuaState = { readonly __luaState: unique symbol };
export type LuaJsFunction = (L: LuaState) => number;

export interface LuaDebug {
  what: LuaString | null;
  source: LuaString | null;
  currentline: number;
}

/** The subset of fengari's C-like API tally uses (fengari ships no types). */
export interface LuaApi {
  LUA_OK: number;
  LUA_YIELD: number;
  LUA_ERRSYNTAX: number;
  LUA_REGISTRYINDEX: number;
  LUA_RIDX_GLOBALS: number;
  LUA_MASKCOUNT: number;
  LUA_TNIL: number;
  LUA_TBOOLEAN: number;
  LUA_TNUMBER: number;
  LUA_TSTRING: number;
  LUA_TTABLE: number;
  lua_Debug: new () => LuaDebug;
  lua_absindex(L: LuaState, i: number): number;
  lua_checkstack(L: LuaState, n: number): boolean;
  lua_createtable(L: LuaState, narr: number, nrec: number): void;
  lua_error(L: LuaState): number;
  lua_getfield(L: LuaState, i: number, k: LuaString): number;
  lua_getglobal(L: LuaState, name: LuaString): number;
  lua_getinfo(L: LuaState, what: LuaString, ar: LuaDebug): number;
  lua_getstack(L: LuaState, level: number, ar: LuaDebug): number;
  lua_gettop(L: LuaState): number;
  lua_insert(L: LuaState, i: number): void;
  lua_isyieldable(L: LuaState): boolean;
  lua_newthread(L: LuaState): LuaState;
  lua_next(L: LuaState, i: number): number;
  lua_pop(L: LuaState, n: number): void;
  lua_pushboolean(L: LuaState, b: boolean): void;
  lua_pushcfunction(L: LuaState, f: LuaJsFunction): void;
  lua_pushliteral(L: LuaState, s: string): void;
  lua_pushnil(L: LuaState): void;
  lua_pushnumber(L: LuaState, n: number): void;
  lua_pushglobaltable(L: LuaState): void;
  lua_pushstring(L: LuaState, s: LuaString): void;
  lua_pushvalue(L: LuaState, i: number): void;
  lua_rawget(L: LuaState, i: number): number;
  lua_rawgeti(L: LuaState, i: number, n: number): number;
  lua_rawset(L: LuaState, i: number): void;
  lua_rawseti(L: LuaState, i: number, n: number): void;
  lua_resume(L: LuaState, from: LuaState, nargs: number): number;
  lua_setfield(L: LuaState, i: number, k: LuaString): void;
  lua_setglobal(L: LuaState, name: LuaString): void;
  lua_sethook(L: LuaState, f: ((L: LuaState, ar: LuaDebug) => void) | null, mask: number, count: number): void;
  lua_settop(L: LuaState, i: number): void;
  lua_toboolean(L: LuaState, i: number): boolean;
  lua_tojsstring(L: LuaState, i: number): string;
  lua_tolstring(L: LuaState, i: number): LuaString | null;
  lua_tonumber(L: LuaState, i: number): number;
  lua_tothread(L: LuaState, i: number): LuaState;
  lua_type(L: LuaState, i: number): number;
  lua_xmove(from: LuaState, to: LuaState, n: number): void;
  lua_yield(L: LuaState, n: number): number;
}

export interface LauxApi {
  luaL_newstate(): LuaState;
  luaL_loadbufferx(L: LuaState, buf: LuaString, size: number | null, name: LuaString, mode: LuaString | null): number;
  luaL_requiref(L: LuaState, name: LuaString, f: LuaJsFunction, global: number): void;
  luaL_ref(L: LuaState, t: number): number;
  luaL_unref(L: LuaState, t: number, ref: number): void;
}

export interface LuaLibs {
  luaopen_base: LuaJsFunction;
  luaopen_table: LuaJsFunction;
  luaopen_string: LuaJsFunction;
  luaopen_math: LuaJsFunction;
  luaopen_coroutine: LuaJsFunction;
}

interface TValue {
  ttisinteger(): boolean;
  value: number;
  setfltvalue(n: number): void;
  setsvalue(s: unknown): void;
}

const require = createRequire(import.meta.url);

function load(): { lua: LuaApi; lauxlib: LauxApi; lualib: LuaLibs } {
  // luaconf.js reads FENGARICONF once, when first loaded: integral floats print as Lua 5.1 prints them.
  const before = process.env.FENGARICONF;
  process.env.FENGARICONF = JSON.stringify({ LUA_COMPAT_FLOATSTRING: true });
  try {
    const f = require('fengari') as { lua: LuaApi; lauxlib: LauxApi; lualib: LuaLibs };
    const lobject = require('fengari/src/lobject.js') as {
      luaO_str2num: (s: LuaString, o: TValue) => number;
      luaO_tostring: (L: LuaState, o: TValue) => void;
      luaO_pushvfstring: (L: LuaState, fmt: LuaString, argp: unknown[]) => unknown;
    };
    const lstring = require('fengari/src/lstring.js') as { luaS_bless: (L: LuaState, s: LuaString) => unknown };
    // Numbers print as Lua 5.1's "%.14g" prints them (fengari's own formatting differs past 1e14).
    lobject.luaO_tostring = (L, o) => {
      const text = o.ttisinteger() ? String(o.value) : formatG(o.value, 14);
      o.setsvalue(lstring.luaS_bless(L, new Uint8Array(Buffer.from(text, 'latin1'))));
    };
    // tostring() formats a float through lua_pushfstring("%f"): the same "%.14g" there.
    const pushvfstring = lobject.luaO_pushvfstring;
    const PERCENT_S = new Uint8Array([37, 115]);
    lobject.luaO_pushvfstring = (L, fmt, argp) => {
      if (fmt.length === 2 && fmt[0] === 37 && fmt[1] === 102 && typeof argp[0] === 'number') {
        return pushvfstring(L, PERCENT_S, [new Uint8Array(Buffer.from(formatG(argp[0], 14), 'latin1'))]);
      }
      return pushvfstring(L, fmt, argp);
    };
    // Every numeral (source text, tonumber, string coercion) becomes a double. fengari's modules call
    // luaO_str2num through the module object, so replacing the export reaches them all.
    const str2num = lobject.luaO_str2num;
    lobject.luaO_str2num = (s, o) => {
      const n = str2num(s, o);
      if (n !== 0 && o.ttisinteger()) o.setfltvalue(o.value);
      return n;
    };
    return f;
  } finally {
    if (before === undefined) delete process.env.FENGARICONF;
    else process.env.FENGARICONF = before;
  }
}

const loaded = load();
export const lua: LuaApi = loaded.lua;
export const lauxlib: LauxApi = loaded.lauxlib;
export const lualib: LuaLibs = loaded.lualib;

/** A JS string as a Lua string (UTF-8 bytes). */
export const luaString = (s: string): LuaString => new Uint8Array(Buffer.from(s, 'utf8'));
/** A Lua string's bytes as a Buffer view (no copy). */
export const bytesOf = (s: LuaString): Buffer => Buffer.from(s.buffer, s.byteOffset, s.byteLength);
