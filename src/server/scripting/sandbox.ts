// The Lua state scripts run in, as Redis 7.0 sets it up: the base, table, string, math and coroutine
// libraries and `bit`; no io, os, package, require, debug, loadfile, dofile or print (nothing reaches
// files, processes or the network); `unpack` and `loadstring` as in Lua 5.1 (text only: no bytecode);
// and read-only globals and libraries, so one script cannot change what the next one sees.

import { lauxlib, lua, lualib, luaString, type LuaJsFunction, type LuaState } from './fengari.js';

/** Runs trusted setup code in `L`; throws on failure (a bug in tally, not a client input). */
function setup(L: LuaState, code: string): void {
  if (lauxlib.luaL_loadbufferx(L, luaString(code), null, luaString('@tally_init'), luaString('t')) !== lua.LUA_OK) {
    throw new Error(`scripting setup does not compile: ${lua.lua_tojsstring(L, -1)}`);
  }
  const thread = lua.lua_newthread(L);
  lua.lua_insert(L, -2);
  lua.lua_xmove(L, thread, 1);
  const status = lua.lua_resume(thread, L, 0);
  if (status !== lua.LUA_OK) throw new Error(`scripting setup failed: ${lua.lua_tojsstring(thread, -1)}`);
  lua.lua_pop(L, 1);
}

const u32 = (n: number): number => n >>> 0;
const i32 = (n: number): number => n | 0;
/** LuaBitOp's argument conversion: a number, wrapped to 32 bits. */
function bitArg(L: LuaState, i: number): number {
  const n = lua.lua_tonumber(L, i);
  return Number.isFinite(n) ? i32(Number(BigInt.asIntN(32, BigInt(Math.trunc(n))))) : 0;
}

/** LuaBitOp (`bit`), which Redis bundles: 32-bit operations whose results are signed. */
const BIT: Record<string, LuaJsFunction> = {
  tobit: (L) => (lua.lua_pushnumber(L, bitArg(L, 1)), 1),
  bnot: (L) => (lua.lua_pushnumber(L, ~bitArg(L, 1)), 1),
  band: (L) => {
    let r = -1;
    for (let i = 1; i <= lua.lua_gettop(L); i++) r &= bitArg(L, i);
    lua.lua_pushnumber(L, r);
    return 1;
  },
  bor: (L) => {
    let r = 0;
    for (let i = 1; i <= lua.lua_gettop(L); i++) r |= bitArg(L, i);
    lua.lua_pushnumber(L, r);
    return 1;
  },
  bxor: (L) => {
    let r = 0;
    for (let i = 1; i <= lua.lua_gettop(L); i++) r ^= bitArg(L, i);
    lua.lua_pushnumber(L, r);
    return 1;
  },
  lshift: (L) => (lua.lua_pushnumber(L, bitArg(L, 1) << (bitArg(L, 2) & 31)), 1),
  rshift: (L) => (lua.lua_pushnumber(L, i32(bitArg(L, 1) >>> (bitArg(L, 2) & 31))), 1),
  arshift: (L) => (lua.lua_pushnumber(L, bitArg(L, 1) >> (bitArg(L, 2) & 31)), 1),
  rol: (L) => {
    const a = bitArg(L, 1);
    const n = bitArg(L, 2) & 31;
    lua.lua_pushnumber(L, i32((a << n) | (a >>> (32 - n))));
    return 1;
  },
  ror: (L) => {
    const a = bitArg(L, 1);
    const n = bitArg(L, 2) & 31;
    lua.lua_pushnumber(L, i32((a >>> n) | (a << (32 - n))));
    return 1;
  },
  bswap: (L) => {
    const a = u32(bitArg(L, 1));
    lua.lua_pushnumber(L, i32(((a & 0xff) << 24) | ((a & 0xff00) << 8) | ((a >>> 8) & 0xff00) | (a >>> 24)));
    return 1;
  },
  tohex: (L) => {
    const a = u32(bitArg(L, 1));
    let n = lua.lua_gettop(L) >= 2 ? bitArg(L, 2) : 8;
    const upper = n < 0;
    if (upper) n = -n;
    n = Math.min(8, Math.max(1, n));
    const hex = a.toString(16).padStart(8, '0').slice(8 - n);
    lua.lua_pushliteral(L, upper ? hex.toUpperCase() : hex);
    return 1;
  },
};

/**
 * The globals and libraries are frozen by Lua code: each library is replaced by an empty proxy
 * whose reads go to the library and whose writes fail; the global table refuses new names and
 * reads of missing ones, with Redis's words; rawset refuses the protected tables; the string
 * metatable is hidden. KEYS and ARGV are set from JavaScript with a raw set, which the script cannot do.
 */
const PROTECT = `
local rawset, setmetatable, error, next, type = rawset, setmetatable, error, next, type
local protected = setmetatable({}, { __mode = 'k' })
local function readonly()
  error('Attempt to modify a readonly table', 2)
end
local function freeze(t)
  local proxy = setmetatable({}, {
    __index = t, __newindex = readonly, __metatable = false,
    __pairs = function() return next, t, nil end,
    __len = function() return #t end,
  })
  protected[proxy] = true
  return proxy
end
for _, name in ipairs({ 'string', 'table', 'math', 'coroutine', 'bit', 'redis' }) do
  _G[name] = freeze(_G[name])
end
getmetatable('').__metatable = false
_G.rawset = function(t, k, v)
  if protected[t] then error('Attempt to modify a readonly table', 0) end
  return rawset(t, k, v)
end
protected[_G] = true
setmetatable(_G, {
  __index = function(_, k) error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end,
  __newindex = readonly,
  __metatable = false,
})
`;

/** Lua 5.1 names Redis scripts use, defined from 5.3's. */
const COMPAT = `
unpack = table.unpack
table.getn = function(t) return #t end
math.pow = function(a, b) return a ^ b end
math.mod = math.fmod
local load = load
-- Text chunks only (a binary chunk is not something a script needs); 5.1's loadstring takes a string.
_G.load = function(chunk, name, mode, env)
  if env ~= nil then return load(chunk, name, 't', env) end
  return load(chunk, name, 't')
end
_G.loadstring = function(s, name) return load(s, name, 't') end
-- Redis 7's pcall gives a redis.call error as its text, as before errors were tables.
local pcall0, pack, tunpack, type = pcall, table.pack, table.unpack, type
_G.pcall = function(...)
  local r = pack(pcall0(...))
  if not r[1] and type(r[2]) == 'table' and type(r[2].err) == 'string' then return false, r[2].err end
  return tunpack(r, 1, r.n)
end
`;

/** Base library functions a script must not have (files, output), as Redis leaves them out. */
const REMOVED = ['dofile', 'loadfile', 'print', 'require', 'module', 'package', 'io', 'os', 'debug'];

/**
 * A new Lua state with Redis's libraries and the `redis` table built from `api` (name → function;
 * numbers and strings for constants), every global then frozen.
 */
export function createSandbox(api: Record<string, LuaJsFunction | number | string>): LuaState {
  const L = lauxlib.luaL_newstate();
  const libs: [string, LuaJsFunction][] = [
    ['_G', lualib.luaopen_base],
    ['table', lualib.luaopen_table],
    ['string', lualib.luaopen_string],
    ['math', lualib.luaopen_math],
    ['coroutine', lualib.luaopen_coroutine],
  ];
  for (const [name, open] of libs) {
    lauxlib.luaL_requiref(L, luaString(name), open, 1);
    lua.lua_pop(L, 1);
  }
  for (const name of REMOVED) {
    lua.lua_pushnil(L);
    lua.lua_setglobal(L, luaString(name));
  }
  const table = (entries: Record<string, LuaJsFunction | number | string>, global: string): void => {
    lua.lua_createtable(L, 0, Object.keys(entries).length);
    for (const [k, v] of Object.entries(entries)) {
      if (typeof v === 'function') lua.lua_pushcfunction(L, v);
      else if (typeof v === 'number') lua.lua_pushnumber(L, v);
      else lua.lua_pushliteral(L, v);
      lua.lua_setfield(L, -2, luaString(k));
    }
    lua.lua_setglobal(L, luaString(global));
  };
  table(BIT, 'bit');
  table(api, 'redis');
  setup(L, COMPAT);
  setup(L, PROTECT);
  return L;
}
