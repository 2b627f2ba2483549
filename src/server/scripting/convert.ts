// Redis's conversion rules between command replies and Lua values (script_lua.c), both ways:
// redis.call's reply becomes a Lua value (RESP2 rules unless the script called redis.setresp(3)),
// and the script's return value becomes the command's reply.

import type { Reply } from '../commands/reply.js';
import { formatG } from '../resp/format-double.js';
import { bytesOf, lua, luaString, type LuaState } from './fengari.js';

/** A Lua table nested deeper than this is refused (a table may contain itself). */
const MAX_DEPTH = 1000;

const K = {
  ok: luaString('ok'),
  err: luaString('err'),
  double: luaString('double'),
  big_number: luaString('big_number'),
  verbatim_string: luaString('verbatim_string'),
  format: luaString('format'),
  string: luaString('string'),
  map: luaString('map'),
  set: luaString('set'),
};

/** Pushes bytes (or a JS string as UTF-8) as a Lua string; copies, so Lua never shares a socket buffer. */
export function pushBytes(L: LuaState, v: Buffer | string): void {
  lua.lua_pushstring(L, typeof v === 'string' ? luaString(v) : Uint8Array.from(v));
}

/**
 * Pushes `{ err = "<CODE> <message>" }` as Redis's luaPushErrorBuff does: a text starting with '-'
 * takes its first word as the code, any other gets the code ERR; a trailing CR/LF is trimmed.
 */
export function pushErrorTable(L: LuaState, text: string): void {
  let code = 'ERR';
  let msg = text;
  if (text.startsWith('-')) {
    const space = text.indexOf(' ');
    if (space === -1) msg = text.slice(1);
    else {
      code = text.slice(1, space);
      msg = text.slice(space + 1);
    }
  }
  msg = msg.replace(/^[\r\n]+|[\r\n]+$/g, '');
  lua.lua_createtable(L, 0, 1);
  pushBytes(L, `${code} ${msg}`);
  lua.lua_setfield(L, -2, K.err);
}

function pushField(L: LuaState, key: Uint8Array): void {
  lua.lua_setfield(L, -2, key);
}

/** Pushes a command's reply as the Lua value Redis gives a script (`resp` is redis.setresp's protocol). */
export function pushReply(L: LuaState, r: Reply, resp: 2 | 3): void {
  lua.lua_checkstack(L, 4);
  switch (r.kind) {
    case 'int':
      lua.lua_pushnumber(L, Number(r.value));
      return;
    case 'bulk':
      if (r.value === null) {
        if (resp === 3) lua.lua_pushnil(L);
        else lua.lua_pushboolean(L, false);
      } else pushBytes(L, r.value);
      return;
    case 'simple':
      lua.lua_createtable(L, 0, 1);
      pushBytes(L, r.value);
      pushField(L, K.ok);
      return;
    case 'error':
      // A reply's error text has its code first (`WRONGTYPE ...`): as Redis gets it, `-` + text.
      pushErrorTable(L, `-${r.bytes !== undefined ? r.bytes.toString('latin1') : r.message}`);
      return;
    case 'array':
      if (r.value === null) {
        if (resp === 3) lua.lua_pushnil(L);
        else lua.lua_pushboolean(L, false);
        return;
      }
      pushArray(L, r.value, resp);
      return;
    case 'push':
    case 'set':
      if (resp === 2) return pushArray(L, r.value, resp);
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, r.value.length);
      for (const x of r.value) {
        pushReply(L, x, resp);
        lua.lua_pushboolean(L, true);
        lua.lua_rawset(L, -3);
      }
      pushField(L, K.set);
      return;
    case 'map':
      if (resp === 2) return pushArray(L, r.value.flat(), resp);
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, r.value.length);
      for (const [k, v] of r.value) {
        pushReply(L, k, resp);
        pushReply(L, v, resp);
        lua.lua_rawset(L, -3);
      }
      pushField(L, K.map);
      return;
    case 'double':
      if (resp === 2) return pushBytes(L, formatG(r.value));
      lua.lua_createtable(L, 0, 1);
      lua.lua_pushnumber(L, r.value);
      pushField(L, K.double);
      return;
    case 'bool':
      if (resp === 3) lua.lua_pushboolean(L, r.value);
      else lua.lua_pushnumber(L, r.value ? 1 : 0);
      return;
    case 'bignum':
      if (resp === 2) return pushBytes(L, r.value);
      lua.lua_createtable(L, 0, 1);
      pushBytes(L, r.value);
      pushField(L, K.big_number);
      return;
    case 'verbatim':
      if (resp === 2) return pushBytes(L, r.value);
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, 2);
      pushBytes(L, r.value);
      pushField(L, K.string);
      pushBytes(L, r.format);
      pushField(L, K.format);
      pushField(L, K.verbatim_string);
      return;
    case 'close':
      if (r.reply !== undefined) pushReply(L, r.reply, resp);
      else lua.lua_pushboolean(L, false);
      return;
  }
}

function pushArray(L: LuaState, items: readonly Reply[], resp: 2 | 3): void {
  lua.lua_createtable(L, items.length, 0);
  items.forEach((x, i) => {
    pushReply(L, x, resp);
    lua.lua_rawseti(L, -2, i + 1);
  });
}

/** `(long long)` of a Lua number, as C converts it (truncation; beyond int64: the nearest end). */
function toInt64(n: number): number | bigint {
  if (Number.isNaN(n)) return -(2n ** 63n);
  const t = Math.trunc(n);
  if (Number.isSafeInteger(t)) return t;
  if (t >= 2 ** 63) return 2n ** 63n - 1n;
  if (t <= -(2 ** 63)) return -(2n ** 63n);
  return BigInt(t);
}

/** The string at `key` of the table at the top of the stack, or null (a raw get, as Redis does). */
function stringField(L: LuaState, key: Uint8Array): Buffer | null {
  lua.lua_pushstring(L, key);
  lua.lua_rawget(L, -2);
  const s = lua.lua_type(L, -1) === lua.LUA_TSTRING ? Buffer.from(bytesOf(lua.lua_tolstring(L, -1) as Uint8Array)) : null;
  lua.lua_pop(L, 1);
  return s;
}

/**
 * The reply for the Lua value at the top of the stack (popped): Redis's luaReplyToRedisReply.
 * `scriptResp` is the protocol the script set with redis.setresp (booleans depend on it).
 */
export function popReply(L: LuaState, scriptResp: 2 | 3, depth = 0): Reply {
  const t = lua.lua_type(L, -1);
  lua.lua_checkstack(L, 6);
  try {
    if (depth > MAX_DEPTH) return { kind: 'error', message: 'ERR reached lua stack limit' };
    if (t === lua.LUA_TSTRING) return { kind: 'bulk', value: Buffer.from(bytesOf(lua.lua_tolstring(L, -1) as Uint8Array)) };
    if (t === lua.LUA_TBOOLEAN) {
      const b = lua.lua_toboolean(L, -1);
      if (scriptResp === 3) return { kind: 'bool', value: b };
      return b ? { kind: 'int', value: 1 } : { kind: 'bulk', value: null };
    }
    if (t === lua.LUA_TNUMBER) return { kind: 'int', value: toInt64(lua.lua_tonumber(L, -1)) };
    if (t !== lua.LUA_TTABLE) return { kind: 'bulk', value: null };
    const err = stringField(L, K.err);
    if (err !== null) return { kind: 'error', message: err.toString('utf8'), bytes: err };
    const ok = stringField(L, K.ok);
    if (ok !== null) return { kind: 'simple', value: ok.toString('latin1').replace(/[\r\n]/g, ' ') };
    lua.lua_pushstring(L, K.double);
    lua.lua_rawget(L, -2);
    if (lua.lua_type(L, -1) === lua.LUA_TNUMBER) {
      const d = lua.lua_tonumber(L, -1);
      lua.lua_pop(L, 1);
      return { kind: 'double', value: d };
    }
    lua.lua_pop(L, 1);
    const big = stringField(L, K.big_number);
    if (big !== null) return { kind: 'bignum', value: big.toString('latin1').replace(/[\r\n]/g, ' ') };
    lua.lua_pushstring(L, K.verbatim_string);
    lua.lua_rawget(L, -2);
    if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
      const format = stringField(L, K.format);
      const str = stringField(L, K.string);
      if (format !== null && str !== null) {
        lua.lua_pop(L, 1);
        return { kind: 'verbatim', format: format.toString('latin1'), value: str };
      }
    }
    lua.lua_pop(L, 1);
    for (const kind of ['map', 'set'] as const) {
      lua.lua_pushstring(L, K[kind]);
      lua.lua_rawget(L, -2);
      if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
        const pairs: [Reply, Reply][] = [];
        const members: Reply[] = [];
        lua.lua_pushnil(L);
        while (lua.lua_next(L, -2) !== 0) {
          // stack: table, key, value
          if (kind === 'map') {
            lua.lua_pushvalue(L, -2);
            const k = popReply(L, scriptResp, depth + 1);
            const v = popReply(L, scriptResp, depth + 1);
            pairs.push([k, v]);
          } else {
            lua.lua_pop(L, 1);
            lua.lua_pushvalue(L, -1);
            members.push(popReply(L, scriptResp, depth + 1));
          }
        }
        lua.lua_pop(L, 1);
        return kind === 'map' ? { kind: 'map', value: pairs } : { kind: 'set', value: members };
      }
      lua.lua_pop(L, 1);
    }
    const items: Reply[] = [];
    for (let j = 1; ; j++) {
      lua.lua_rawgeti(L, -1, j);
      if (lua.lua_type(L, -1) === lua.LUA_TNIL) {
        lua.lua_pop(L, 1);
        break;
      }
      items.push(popReply(L, scriptResp, depth + 1));
    }
    return { kind: 'array', value: items };
  } finally {
    lua.lua_pop(L, 1);
  }
}
