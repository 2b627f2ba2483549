// HTTP bearer tokens: a token opens the user it was issued to until it expires, on every node with
// the same key; tampering, another key, an expired token or a changed password all refuse it; and
// verification never throws on garbage.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../../src/server/auth/password-hash.js';
import { TokenSigner } from '../../../src/server/auth/tokens.js';
import { UserTable } from '../../../src/server/auth/users.js';

const key = Buffer.alloc(32, 7);
const other = Buffer.alloc(32, 9);
const aliceHash = hashPassword('pw', { ln: 4, r: 8, p: 1 });
const users = new UserTable(null, [{ name: 'alice', passwordHash: aliceHash, role: 'read-only' }]);

describe('TokenSigner', () => {
  it('issues a token that opens its user on any node with the same key', () => {
    let now = 1_000;
    const a = new TokenSigner([key], 'c', () => now, 60_000);
    const b = new TokenSigner([other, key], 'c', () => now, 60_000); // the key rotating: still accepted
    const { token, expiresAt } = a.issue(users.get('alice') as never);
    expect(token).toMatch(/^tly1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(expiresAt).toBe(61_000);
    expect(a.verify(token, users)?.name).toBe('alice');
    expect(b.verify(token, users)?.name).toBe('alice');
    now = 61_000;
    expect(a.verify(token, users)).toBeNull();
  });

  it('refuses another key, another cluster, a tampered token, and a token of a changed password', () => {
    const a = new TokenSigner([key], 'c');
    const { token } = a.issue(users.get('alice') as never);
    expect(new TokenSigner([other], 'c').verify(token, users)).toBeNull();
    expect(new TokenSigner([key], 'other-cluster').verify(token, users)).toBeNull();
    const [p, payload, mac] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), u: 'admin' })).toString('base64url');
    expect(a.verify(`${p}.${forged}.${mac}`, users)).toBeNull();
    expect(a.verify(`${p}.${payload}.${mac.slice(1)}`, users)).toBeNull();
    const changed = new UserTable(null, [{ name: 'alice', passwordHash: hashPassword('new', { ln: 4, r: 8, p: 1 }), role: 'read-only' }]);
    expect(a.verify(token, changed)).toBeNull();
  });

  it('a token of a per-process key (no key file) opens only that signer', () => {
    const a = new TokenSigner([], 'c');
    const b = new TokenSigner([], 'c');
    const { token } = a.issue(users.get('alice') as never);
    expect(a.verify(token, users)?.name).toBe('alice');
    expect(b.verify(token, users)).toBeNull();
  });

  it('never throws on garbage', () => {
    const a = new TokenSigner([key], 'c');
    const { token } = a.issue(users.get('alice') as never);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 2000 }), fc.nat(token.length).chain((i) => fc.string().map((s) => token.slice(0, i) + s + token.slice(i)))), (s) => {
        const r = a.verify(s, users);
        expect(r === null || r.name === 'alice').toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
