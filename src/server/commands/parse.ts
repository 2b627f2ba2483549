// Argument parsing shared by commands: Redis's strict integer syntax, and the error replies commands
// share, made once from the texts in src/errors.ts so returning one allocates nothing.

import * as errors from '../../errors.js';
import { MAX_KEY_BYTES } from '../../keyspace/keyspace.js';
import { reply, type Reply } from './reply.js';

const shared = (message: string): Reply => Object.freeze(reply.error(message));

export const ERR_NOT_INTEGER = shared(errors.NOT_INTEGER);
export const ERR_OVERFLOW = shared(errors.OVERFLOW);
export const ERR_SYNTAX = shared(errors.SYNTAX);
export const ERR_WRONGTYPE = shared(errors.WRONGTYPE);
export const ERR_NOAUTH = shared(errors.NOAUTH);

/** Largest key accepted, in bytes: a key travels whole in every gossip delta that carries it (a keyspace with small frames accepts less). */
export { MAX_KEY_BYTES };
export const ERR_KEY_TOO_LONG = shared(errors.keyTooLong(MAX_KEY_BYTES));

export function wrongArity(name: string): Reply {
  return reply.error(errors.wrongArity(name));
}

/**
 * Parses a signed 64-bit decimal the way Redis's string2ll does: optional '-', no '+', no leading
 * zeros, no spaces, within int64. Returns a bigint-free number when the value is a safe integer,
 * `'range'` when it is a valid int64 beyond 2^53 - 1 (the caller reports overflow), or `null`.
 */
export function parseInt64(b: Buffer): number | 'range' | null {
  const len = b.length;
  if (len === 0 || len > 20) return null;
  let i = 0;
  let neg = false;
  if (b[0] === 0x2d) {
    if (len === 1) return null;
    neg = true;
    i = 1;
  }
  if (b[i] === 0x30) return len === i + 1 && !neg ? 0 : null;
  let v = 0;
  for (; i < len; i++) {
    const c = (b[i] as number) - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  if (v > Number.MAX_SAFE_INTEGER) {
    // Exact check against int64 bounds with bigint only on this rare path.
    const big = BigInt(b.toString('latin1'));
    if (big > 9223372036854775807n || big < -9223372036854775808n) return null;
    return 'range';
  }
  return neg ? -v : v;
}

/** Redis-style glob match (`*`, `?`, `[...]`, `\` escapes) of a whole string. */
export function globMatch(pattern: string, s: string): boolean {
  return globAt(pattern, 0, s, 0);
}

function globAt(p: string, pi: number, s: string, si: number): boolean {
  while (pi < p.length) {
    const c = p[pi];
    if (c === '*') {
      while (p[pi] === '*') pi++;
      if (pi === p.length) return true;
      for (let k = si; k <= s.length; k++) if (globAt(p, pi, s, k)) return true;
      return false;
    }
    if (si >= s.length) return false;
    if (c === '?') {
      pi++;
      si++;
      continue;
    }
    if (c === '[') {
      let end = pi + 1;
      const negate = p[end] === '^';
      if (negate) end++;
      let matched = false;
      const ch = s[si] as string;
      while (end < p.length && p[end] !== ']') {
        if (p[end] === '\\' && end + 1 < p.length) end++;
        if (p[end + 1] === '-' && end + 2 < p.length && p[end + 2] !== ']') {
          if (ch >= (p[end] as string) && ch <= (p[end + 2] as string)) matched = true;
          end += 3;
        } else {
          if (p[end] === ch) matched = true;
          end++;
        }
      }
      if (matched === negate) return false;
      pi = end + 1;
      si++;
      continue;
    }
    if (c === '\\' && pi + 1 < p.length) pi++;
    if (p[pi] !== s[si]) return false;
    pi++;
    si++;
  }
  return si === s.length;
}
