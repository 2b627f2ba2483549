// The WebSocket API's frames: decoding and validating a request frame (pure, never throws), encoding
// a frame, and mapping a command's Reply to its msgpack value. docs/client-api.md specifies both.

import { isUtf8 } from 'node:buffer';
import { Packr, Unpackr } from 'msgpackr';
import * as errors from '../../errors.js';
import { DATABASES } from '../../keyspace/keyspace.js';
import { MAX_KEY_BYTES } from '../commands/parse.js';
import type { Reply } from '../commands/reply.js';

type Arg = string | Uint8Array | number | bigint;
/** A well-formed request frame. */
export type Request =
  | { readonly id: number; readonly kind: 'cmd'; readonly cmd: string; readonly args: readonly Buffer[]; readonly db: number | undefined }
  | { readonly id: number; readonly kind: 'watch' | 'unwatch'; readonly keys: readonly string[]; readonly db: number | undefined };
/** A frame decoded to a request, or to the error reply it gets. */
export type Decoded = Request | { readonly kind: 'bad'; readonly id: number | null; readonly err: string };

const packr = new Packr({ useRecords: false, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint', moreTypes: false });

/** The bytes of one outgoing frame (a plain msgpack map). Throws for a value msgpack cannot carry. */
export function encodeFrame(msg: object): Buffer {
  return packr.pack(msg);
}

/** An integer given as a number or a bigint (msgpack int64), as a safe number; otherwise null. */
function asInt(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : null;
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
  return null;
}

function argToBuffer(a: Arg): Buffer | null {
  if (typeof a === 'string') return Buffer.from(a, 'utf8');
  if (a instanceof Uint8Array) return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (typeof a === 'bigint') return Buffer.from(a.toString(), 'latin1');
  if (typeof a === 'number' && Number.isFinite(a)) {
    // Integers exactly in decimal (1e21 as "1000000000000000000000", never "1e+21"); others as JS prints them.
    return Buffer.from(Number.isInteger(a) ? BigInt(a).toString() : String(a), 'latin1');
  }
  return null;
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Decodes and validates one frame. Pure: never throws, never touches state. Unknown fields are ignored
 * so newer clients can add optional ones.
 */
export function decodeFrame(data: Buffer, isBinary: boolean): Decoded {
  const bad = (id: number | null, err: string): Decoded => ({ kind: 'bad', id, err });
  if (!isBinary) return bad(null, errors.WS_TEXT_FRAME);
  let msg: unknown;
  try {
    msg = unpackr.unpack(data);
  } catch (e) {
    const why = e instanceof Error ? e.message.slice(0, 120) : 'decode failed';
    return bad(null, errors.wsNotMsgpack(why));
  }
  if (!isPlainMap(msg)) return bad(null, errors.WS_NOT_A_MAP);
  if (!has(msg, 'id')) return bad(null, errors.WS_MISSING_ID);
  const id = asInt(msg.id);
  if (id === null) return bad(null, errors.WS_BAD_ID);
  const kinds = (['cmd', 'watch', 'unwatch'] as const).filter((k) => has(msg, k));
  if (kinds.length !== 1) {
    return bad(id, kinds.length === 0 ? errors.WS_NO_KIND : errors.WS_EXCLUSIVE_KINDS);
  }
  let db: number | undefined;
  if (has(msg, 'db') && msg.db !== undefined && msg.db !== null) {
    const d = asInt(msg.db);
    if (d === null || d < 0 || d >= DATABASES) return bad(id, errors.wsBadDb(DATABASES - 1));
    db = d;
  }
  const kind = kinds[0] as 'cmd' | 'watch' | 'unwatch';
  if (kind === 'cmd') {
    const cmd = msg.cmd;
    if (typeof cmd !== 'string' || cmd === '') return bad(id, errors.WS_BAD_CMD);
    const raw = msg.args ?? [];
    if (!Array.isArray(raw)) return bad(id, errors.WS_BAD_ARGS);
    const args: Buffer[] = [Buffer.from(cmd, 'utf8')];
    for (let i = 0; i < raw.length; i++) {
      const b = argToBuffer(raw[i] as Arg);
      if (b === null) return bad(id, errors.wsBadArg(i));
      args.push(b);
    }
    return { id, kind, cmd, args, db };
  }
  const keys = msg[kind];
  if (!Array.isArray(keys)) return bad(id, errors.wsBadKeyList(kind));
  if (kind === 'watch' && keys.length === 0) return bad(id, errors.WS_EMPTY_WATCH);
  for (let i = 0; i < keys.length; i++) {
    const k: unknown = keys[i];
    if (typeof k !== 'string') return bad(id, errors.wsBadKey(kind, i));
    if (Buffer.byteLength(k, 'utf8') > MAX_KEY_BYTES) return bad(id, errors.wsKeyTooLong(kind, i, MAX_KEY_BYTES));
  }
  return { id, kind, keys: keys as string[], db };
}

/** A counter as it goes on the wire: a number when exact, else its decimal string. */
export function exactNumber(v: number | bigint): number | string {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : BigInt(v).toString();
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** Maps a non-error Reply to its msgpack value (docs/client-api.md, "Value mapping"). */
export function replyValue(r: Reply): unknown {
  switch (r.kind) {
    case 'simple':
      return r.value;
    case 'int':
      return exactNumber(r.value);
    case 'bulk': {
      const v = r.value;
      if (v === null || typeof v === 'string') return v;
      return isUtf8(v) ? v.toString('utf8') : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    }
    case 'array':
      return r.value === null ? null : r.value.map((x) => (x.kind === 'error' ? { err: x.message } : replyValue(x)));
    case 'error':
      return { err: r.message };
    // RESP3 types keep their RESP2 shape here, so WebSocket clients see what they always saw.
    case 'map':
      return r.value.flatMap(([k, v]) => [replyValue(k), replyValue(v)]);
    case 'set':
    case 'push':
      return r.value.map((x) => (x.kind === 'error' ? { err: x.message } : replyValue(x)));
    case 'double':
      return r.value;
    case 'bool':
      return r.value;
    case 'bignum':
      return r.value;
    case 'verbatim':
      return typeof r.value === 'string' ? r.value : replyValue({ kind: 'bulk', value: r.value });
    case 'close':
      return r.reply === undefined ? null : replyValue(r.reply);
  }
}
