// The security fields of cluster.config.json: users (hash checked, never echoed), protectedMode, the
// tls section and tlsPort, respPort null; each error names the field. Paths resolve against the file.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../../src/config/cluster-config.js';
import { hashPassword } from '../../src/server/auth/password-hash.js';

const HASH = hashPassword('pw', { ln: 4, r: 8, p: 1 });
const base = (extra: Record<string, unknown> = {}, node: Record<string, unknown> = {}): unknown => ({
  cluster: 'c',
  nodes: [{ id: 'n1', gossipPort: 1, respPort: 2, httpPort: 3, ...node }],
  ...extra,
});

describe('security settings in the config', () => {
  it('defaults: no users, protected mode on, no TLS, no tlsPort', () => {
    const c = validateConfig(base());
    expect(c.auth.users).toEqual([]);
    expect(c.protectedMode).toBe(true);
    expect(c.tls).toBeNull();
    expect(c.nodes[0]?.tlsPort).toBeNull();
  });

  it('takes users with a scrypt hash and a role', () => {
    const c = validateConfig(base({ auth: { users: [{ name: 'alice@x', passwordHash: HASH, role: 'read-only' }] } }));
    expect(c.auth.users).toEqual([{ name: 'alice@x', passwordHash: HASH, role: 'read-only' }]);
  });

  it('refuses bad users, naming the field and never echoing a hash or a password', () => {
    const bad: [unknown, RegExp][] = [
      [{ users: [{ name: 'a b', passwordHash: HASH, role: 'admin' }] }, /^auth\.users\[0\]\.name: expected a user name/],
      [{ users: [{ name: 'a', passwordHash: 'plain text', role: 'admin' }] }, /^auth\.users\[0\]\.passwordHash: expected a scrypt hash from `tally passwd`/],
      [{ users: [{ name: 'a', passwordHash: HASH.replace('ln=4', 'ln=30'), role: 'admin' }] }, /^auth\.users\[0\]\.passwordHash: scrypt ln must be from 4 to 22, got 30$/],
      [{ users: [{ name: 'a', passwordHash: HASH, role: 'root' }] }, /^auth\.users\[0\]\.role: expected one of read-only, read-write, admin, got "root"/],
      [{ users: [{ name: 'a', passwordHash: HASH, role: 'admin', password: 'x' }] }, /^auth\.users\[0\]\.password: unknown field/],
      [{ users: [{ name: 'a', passwordHash: HASH, role: 'admin' }, { name: 'a', passwordHash: HASH, role: 'admin' }] }, /^auth\.users\[1\]\.name: duplicate user 'a'/],
      [{ password: 'p', users: [{ name: 'default', passwordHash: HASH, role: 'admin' }] }, /^auth\.users: a user named 'default' and auth\.password both/],
      [{ password: 'x'.repeat(600) }, /^auth\.password: expected a password of 1-512 characters or null, got "<600 characters>"$/],
    ];
    for (const [auth, why] of bad) {
      let msg = '';
      try {
        validateConfig(base({ auth }));
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg, JSON.stringify(auth).slice(0, 80)).toMatch(why);
      expect(msg).not.toContain(HASH.split('$')[4] as string);
      expect(msg).not.toContain('x'.repeat(600));
    }
  });

  it('validates protectedMode, the tls section, tlsPort and respPort null', () => {
    expect(validateConfig(base({ protectedMode: false })).protectedMode).toBe(false);
    expect(() => validateConfig(base({ protectedMode: 'no' }))).toThrow(/^protectedMode: expected true or false, got "no"/);
    const tls = { certFile: 'a.crt', keyFile: 'a.key' };
    const c = validateConfig(base({ tls }, { tlsPort: 4, respPort: null }));
    expect(c.tls).toEqual({ certFile: 'a.crt', keyFile: 'a.key', caFile: null, clientCerts: 'none', http: true, minVersion: 'TLSv1.2' });
    expect(c.nodes[0]).toMatchObject({ respPort: null, tlsPort: 4 });
    expect(() => validateConfig(base({}, { tlsPort: 4 }))).toThrow(/^nodes\[0\]\.tlsPort: needs the "tls" section/);
    expect(() => validateConfig(base({}, { respPort: null }))).toThrow(/^nodes\[0\]\.respPort: null \(no plaintext RESP\) needs a tlsPort/);
    expect(() => validateConfig(base({ tls: { ...tls, clientCerts: 'required' } }))).toThrow(/^tls\.caFile: clientCerts "required" needs the CA/);
    expect(() => validateConfig(base({ tls: { ...tls, clientCerts: 'yes' } }))).toThrow(/^tls\.clientCerts: expected one of none, optional, required/);
    expect(() => validateConfig(base({ tls: { ...tls, minVersion: 'TLSv1' } }))).toThrow(/^tls\.minVersion: expected one of TLSv1\.2, TLSv1\.3/);
    expect(() => validateConfig(base({ tls: { certFile: 'a' } }))).toThrow(/^tls\.keyFile: expected a file path, got nothing/);
    expect(() => validateConfig(base({ tls: { ...tls, ciphers: 'x' } }))).toThrow(/^tls\.ciphers: unknown field/);
    expect(() => validateConfig(base({ tls }, { tlsPort: 3 }))).toThrow(/^nodes\[0\]\.httpPort: 127\.0\.0\.1:3 is used twice/);
  });

  it('resolves the tls files against the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify(base({ tls: { certFile: 'tls/a.crt', keyFile: '/abs/a.key', caFile: 'ca.crt' } })));
    expect(loadConfig(file).tls).toMatchObject({ certFile: join(dir, 'tls/a.crt'), keyFile: '/abs/a.key', caFile: join(dir, 'ca.crt') });
  });
});
