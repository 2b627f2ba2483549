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
const keyTooLongReplies = new Map<number, Reply>();

/**
 * The reply to a key over MAX_KEY_BYTES (which commands check before anything else), naming the limit
 * of this node's keyspace, `maxKeyBytes`: lower than MAX_KEY_BYTES on a node with small gossip frames,
 * and a client must be told the limit that applies to it.
 */
export function errKeyTooLong(maxKeyBytes: number): Reply {
  let r = keyTooLongReplies.get(maxKeyBytes);
  if (r === undefined) keyTooLongReplies.set(maxKeyBytes, (r = shared(errors.keyTooLong(maxKeyBytes))));
  return r;
}

export function wrongArity(name: string): Reply {
  return reply.error(errors.wrongArity(name));
}

/**
 * Parses a signed 64-bit decimal the way Redis's string2ll does: optional '-', no '+', no leading
 * zeros, no spaces, within int64. Returns a bigint-free number when the value is a safe integer,
 * `'range'` when it is a valid int64 beyond 2^53 - 1 (the caller reports overflow), or `null`.
 * Reads `b[start, end)`, all of `b` by default.
 */
export function parseInt64(b: Buffer, start = 0, end = b.length): number | 'range' | null {
  const len = end - start;
  if (len === 0 || len > 20) return null;
  let i = start;
  let neg = false;
  if (b[start] === 0x2d) {
    if (len === 1) return null;
    neg = true;
    i++;
  }
  if (b[i] === 0x30) return end === i + 1 && !neg ? 0 : null;
  let v = 0;
  for (; i < end; i++) {
    const c = (b[i] as number) - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  if (v > Number.MAX_SAFE_INTEGER) {
    // Exact check against int64 bounds with bigint only on this rare path.
    const big = BigInt(b.toString('latin1', start, end));
    if (big > 9223372036854775807n || big < -9223372036854775808n) return null;
    return 'range';
  }
  return neg ? -v : v;
}

/**
 * Redis-style glob match (`*`, `?`, `[...]`, `\` escapes) of a whole string, by Redis's rules
 * (stringmatchlen): in a class, `x-y` is a range in either order (a reversed one is swapped), even
 * when y is `]`; `]` right after `[` or `[^` closes an empty class; a pattern that ends inside a
 * class closes it. test/oracle/glob-differential.test.ts compares it with redis-server.
 */
export function globMatch(pattern: string, s: string): boolean {
  return globAt(pattern, 0, s, 0, { giveUp: false }, 0);
}

/** Stars nested deeper than this match nothing, as in Redis (a guard against abusive patterns). */
const MAX_STAR_NESTING = 1000;

/**
 * `state.giveUp`: the rest of the pattern after some star matched nowhere in the rest of the string,
 * so no earlier star needs to try a longer match either (Redis's skipLongerMatches): without it,
 * `*a*a*a...b` takes exponential time.
 */
function globAt(p: string, pi: number, s: string, si: number, state: { giveUp: boolean }, nesting: number): boolean {
  if (nesting > MAX_STAR_NESTING) return false;
  while (pi < p.length) {
    const c = p[pi];
    if (c === '*') {
      while (p[pi + 1] === '*') pi++;
      if (pi === p.length - 1) return true;
      for (let k = si; k < s.length; k++) {
        if (globAt(p, pi + 1, s, k, state, nesting + 1)) return true;
        if (state.giveUp) return false;
      }
      state.giveUp = true;
      return false;
    }
    if (si >= s.length) return false;
    if (c === '?') {
      pi++;
      si++;
      continue;
    }
    if (c === '[') {
      let q = pi + 1;
      const negate = p[q] === '^';
      if (negate) q++;
      const ch = s.charCodeAt(si);
      let matched = false;
      for (;;) {
        if (p[q] === '\\' && q + 1 < p.length) {
          q++;
          if (p.charCodeAt(q) === ch) matched = true;
        } else if (p[q] === ']') {
          break;
        } else if (q >= p.length) {
          q = p.length - 1; // the pattern ended inside the class: it closes there
          break;
        } else if (q + 2 < p.length && p[q + 1] === '-') {
          const a = p.charCodeAt(q);
          const b = p.charCodeAt(q + 2);
          if (ch >= Math.min(a, b) && ch <= Math.max(a, b)) matched = true;
          q += 2;
        } else if (p.charCodeAt(q) === ch) {
          matched = true;
        }
        q++;
      }
      if (matched === negate) return false;
      pi = q + 1;
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
