// Password hashes: the PHC scrypt format round-trips, parsing refuses malformed strings with a reason
// that never echoes the hash, and verification accepts the password and nothing else.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPasswordHash, hashPassword, parsePasswordHash, verifyPassword, type PasswordHash } from '../../../src/server/auth/password-hash.js';

const CHEAP = { ln: 4, r: 8, p: 1 };

describe('password hashes', () => {
  it('formats as $scrypt$ln=..,r=..,p=..$salt$hash and parses back', () => {
    const text = hashPassword('correct horse', CHEAP);
    expect(text).toMatch(/^\$scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const h = parsePasswordHash(text) as PasswordHash;
    expect(typeof h).toBe('object');
    expect(formatPasswordHash(h)).toBe(text);
  });

  it('uses a fresh salt for every hash of the same password', () => {
    expect(hashPassword('same', CHEAP)).not.toBe(hashPassword('same', CHEAP));
  });

  it('verifies the password and refuses any other, off the event loop', async () => {
    const h = parsePasswordHash(hashPassword('s3cret \u00e9', CHEAP)) as PasswordHash;
    expect(await verifyPassword(Buffer.from('s3cret \u00e9'), h)).toBe(true);
    expect(await verifyPassword(Buffer.from('s3cret e'), h)).toBe(false);
    expect(await verifyPassword(Buffer.from(''), h)).toBe(false);
  });

  it('the default cost is N = 2^15, r = 8, p = 1', () => {
    expect(hashPassword('x')).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
  });

  it('refuses malformed hashes with a reason that does not show the hash', () => {
    const good = hashPassword('x', CHEAP);
    const [, , params, salt, hash] = good.split('$');
    const bad: [string, RegExp][] = [
      ['plaintext', /expected a scrypt hash/],
      [`$argon2id$${params}$${salt}$${hash}`, /expected a scrypt hash/],
      [`$scrypt$ln=3,r=8,p=1$${salt}$${hash}`, /ln must be from 4 to 22, got 3/],
      [`$scrypt$ln=23,r=8,p=1$${salt}$${hash}`, /ln must be from 4 to 22/],
      [`$scrypt$ln=10,r=0,p=1$${salt}$${hash}`, /r must be from 1 to 32/],
      [`$scrypt$ln=10,r=8,p=17$${salt}$${hash}`, /p must be from 1 to 16/],
      [`$scrypt$${params}$c2FsdA$${hash}`, /the salt must be/],
      [`$scrypt$${params}$${salt}=$${hash}`, /the salt must be/],
      [`$scrypt$${params}$${salt}$${hash}xy`, /the hash must be/],
      [`$scrypt$${params}$${salt}$${hash}@`, /the hash must be/],
      [`$scrypt$${params}$${salt}$`, /the hash must be/],
      [`${good}$`, /expected a scrypt hash/],
    ];
    for (const [text, why] of bad) {
      const r = parsePasswordHash(text);
      expect(r, text).toMatch(why);
      expect(r as string).not.toContain(hash as string);
    }
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `$scrypt$ln=4,r=8,p=1$${s}`)), (s) => {
        const r = parsePasswordHash(s);
        expect(['string', 'object']).toContain(typeof r);
      }),
      { numRuns: 2000 },
    );
  });
});
