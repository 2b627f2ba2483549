// Salted password hashes for the users of cluster.config.json: scrypt (node:crypto) in the PHC string
// format, `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>` with salt and hash in unpadded standard
// base64. `tally passwd` makes them; the node parses them at start (a bad one stops it, naming the
// field) and verifies AUTH passwords against them. docs/security.md ("Password hashes").

import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/** The cost of a hash: N = 2^ln, block size r, parallelism p (RFC 7914). */
export interface ScryptCost {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

/**
 * What `tally passwd` uses: N = 2^15 (32 MiB, about 0.1-0.2 s per check on a server core), r = 8, p = 1.
 * RFC 7914 suggests N = 2^14 for interactive logins; one step more, since a node checks a user's
 * password once and then keeps a keyed digest of it (authenticator.ts), so the cost is paid per
 * password guess, not per connection.
 */
export const DEFAULT_SCRYPT_COST: ScryptCost = Object.freeze({ ln: 15, r: 8, p: 1 });
/** Accepted ranges. ln below 14 is accepted with a warning at start (tests use small costs). */
export const SCRYPT_LIMITS = { ln: [4, 22], r: [1, 32], p: [1, 16], saltBytes: [16, 64], hashBytes: [16, 64] } as const;
export const RECOMMENDED_MIN_LN = 14;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export interface PasswordHash extends ScryptCost {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Memory scrypt needs for a cost, with room to spare (node's default maxmem is 32 MiB). */
function maxmem(c: ScryptCost): number {
  return 256 * 2 ** c.ln * c.r + 1024 * 1024;
}

function b64(b: Buffer): string {
  return b.toString('base64').replace(/=+$/, '');
}

/** Unpadded standard base64 of `min..max` bytes, canonical (re-encodes to itself), or null. */
function unb64(s: string, [min, max]: readonly [number, number]): Buffer | null {
  if (!/^[A-Za-z0-9+/]+$/.test(s)) return null;
  const b = Buffer.from(s, 'base64');
  if (b.length < min || b.length > max || b64(b) !== s) return null;
  return b;
}

/**
 * Parses a PHC scrypt string. Returns the hash, or a sentence saying what is wrong (never the hash
 * itself, which stays out of error messages and logs).
 */
export function parsePasswordHash(text: string): PasswordHash | string {
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([^$]*)\$([^$]*)$/.exec(text);
  if (m === null) return 'expected a scrypt hash from `tally passwd`: $scrypt$ln=<n>,r=<n>,p=<n>$<salt>$<hash>';
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const L = SCRYPT_LIMITS;
  if (ln < L.ln[0] || ln > L.ln[1]) return `scrypt ln must be from ${L.ln[0]} to ${L.ln[1]}, got ${ln}`;
  if (r < L.r[0] || r > L.r[1]) return `scrypt r must be from ${L.r[0]} to ${L.r[1]}, got ${r}`;
  if (p < L.p[0] || p > L.p[1]) return `scrypt p must be from ${L.p[0]} to ${L.p[1]}, got ${p}`;
  const salt = unb64(m[4] as string, L.saltBytes);
  if (salt === null) return `the salt must be unpadded base64 of ${L.saltBytes[0]} to ${L.saltBytes[1]} bytes`;
  const hash = unb64(m[5] as string, L.hashBytes);
  if (hash === null) return `the hash must be unpadded base64 of ${L.hashBytes[0]} to ${L.hashBytes[1]} bytes`;
  return { ln, r, p, salt, hash };
}

export function formatPasswordHash(h: PasswordHash): string {
  return `$scrypt$ln=${h.ln},r=${h.r},p=${h.p}$${b64(h.salt)}$${b64(h.hash)}`;
}

/** A new hash of `password` with a fresh random salt (synchronous: for `tally passwd` and tests). */
export function hashPassword(password: string | Buffer, cost: ScryptCost = DEFAULT_SCRYPT_COST): string {
  const salt = randomBytes(SALT_BYTES);
  const hash = scryptSync(password, salt, HASH_BYTES, { N: 2 ** cost.ln, r: cost.r, p: cost.p, maxmem: maxmem(cost) });
  return formatPasswordHash({ ...cost, salt, hash });
}

/**
 * Whether `password` matches `h`, computed off the event loop (libuv's thread pool). Never rejects:
 * a failure of scrypt itself (memory) counts as a mismatch.
 */
export function verifyPassword(password: Buffer, h: PasswordHash): Promise<boolean> {
  return new Promise((done) => {
    scrypt(password, h.salt, h.hash.length, { N: 2 ** h.ln, r: h.r, p: h.p, maxmem: maxmem(h) }, (err, derived) => {
      done(err === null && derived.length === h.hash.length && timingSafeEqual(derived, h.hash));
    });
  });
}
