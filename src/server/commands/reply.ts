// The protocol-neutral reply of one command: what the command table returns, and what RESP
// (resp/encoder.ts) and the WebSocket API (ws/codec.ts) each encode in their own way.

import { INTERNAL } from '../../errors.js';

/**
 * A reply to one command, independent of the wire protocol. `error.message` is the whole Redis error
 * text including its code (`ERR syntax error`, `WRONGTYPE Operation against a key holding the wrong
 * kind of value`; every text is in src/errors.ts). An error that quotes the client's own bytes (an
 * unknown command or subcommand) also carries them exactly in `error.bytes`, which RESP sends as
 * they are, as Redis does; `message` is then those bytes read as UTF-8, for the WebSocket API (whose
 * errors are text) and logs. `close` writes its `reply` (if any) and then closes the connection (QUIT).
 */
export type Reply =
  | { readonly kind: 'simple'; readonly value: string }
  | { readonly kind: 'error'; readonly message: string; readonly bytes?: Buffer }
  | { readonly kind: 'int'; readonly value: number | bigint }
  | { readonly kind: 'bulk'; readonly value: Buffer | string | null }
  | { readonly kind: 'array'; readonly value: readonly Reply[] | null }
  // RESP3 types: each has a RESP2 form (resp/encoder.ts), so a command returns one Reply for both.
  /** RESP3 `%`: field, value pairs; RESP2: a flat array of 2n elements. */
  | { readonly kind: 'map'; readonly value: readonly (readonly [Reply, Reply])[] }
  /** RESP3 `~`; RESP2: an array. */
  | { readonly kind: 'set'; readonly value: readonly Reply[] }
  /** RESP3 `,`; RESP2: a bulk string of the number as `%.17g` writes it (`inf`, `-inf`). */
  | { readonly kind: 'double'; readonly value: number }
  /** RESP3 `#t` / `#f`; RESP2: `:1` / `:0`. */
  | { readonly kind: 'bool'; readonly value: boolean }
  /** RESP3 `(`: an integer beyond int64, as decimal digits; RESP2: a bulk string. */
  | { readonly kind: 'bignum'; readonly value: string }
  /** RESP3 `=len\r\nfmt:...`: text with a three-letter format (`txt`); RESP2: a bulk string. */
  | { readonly kind: 'verbatim'; readonly format: string; readonly value: Buffer | string }
  /** RESP3 `>`: an out-of-band message (MONITOR lines are simple strings, as Redis sends them); RESP2: an array. */
  | { readonly kind: 'push'; readonly value: readonly Reply[] }
  | { readonly kind: 'close'; readonly reply?: Reply };

/** Reply constructors, for handlers that return a `Reply` rather than writing to the writer. */
export const reply = {
  simple: (value: string): Reply => ({ kind: 'simple', value }),
  error: (message: string): Reply => ({ kind: 'error', message }),
  /** An error whose exact bytes matter (it quotes the client's bytes): RESP sends `bytes` as they are. */
  errorBytes: (bytes: Buffer): Reply => ({ kind: 'error', message: bytes.toString('utf8'), bytes }),
  int: (value: number | bigint): Reply => ({ kind: 'int', value }),
  bulk: (value: Buffer | string | null): Reply => ({ kind: 'bulk', value }),
  array: (value: readonly Reply[] | null): Reply => ({ kind: 'array', value }),
  map: (pairs: readonly (readonly [Reply, Reply])[]): Reply => ({ kind: 'map', value: pairs }),
  set: (value: readonly Reply[]): Reply => ({ kind: 'set', value }),
  double: (value: number): Reply => ({ kind: 'double', value }),
  bool: (value: boolean): Reply => ({ kind: 'bool', value }),
  verbatim: (value: Buffer | string, format = 'txt'): Reply => ({ kind: 'verbatim', format, value }),
  close: (then?: Reply): Reply => (then === undefined ? { kind: 'close' } : { kind: 'close', reply: then }),
} as const;

/** Shared immutable replies: returning one of these allocates nothing. */
export const OK: Reply = Object.freeze({ kind: 'simple', value: 'OK' });
export const PONG: Reply = Object.freeze({ kind: 'simple', value: 'PONG' });
export const NULL_BULK: Reply = Object.freeze({ kind: 'bulk', value: null });
export const NULL_ARRAY: Reply = Object.freeze({ kind: 'array', value: null });
export const EMPTY_ARRAY: Reply = Object.freeze({ kind: 'array', value: Object.freeze([]) });
export const ZERO: Reply = Object.freeze({ kind: 'int', value: 0 });
export const ONE: Reply = Object.freeze({ kind: 'int', value: 1 });
export const QUEUED: Reply = Object.freeze({ kind: 'simple', value: 'QUEUED' });
export const EMPTY_MAP: Reply = Object.freeze({ kind: 'map', value: Object.freeze([]) });
/** QUIT's reply: `+OK`, then the server closes the connection. */
export const CLOSE_OK: Reply = Object.freeze({ kind: 'close', reply: OK });
/** What the server answers when a handler throws or rejects; details go to the log, not the client. */
export const INTERNAL_ERROR: Reply = Object.freeze({ kind: 'error', message: INTERNAL });
