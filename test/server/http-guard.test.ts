// The HTTP guard: credentials from the Authorization header or a WebSocket subprotocol, protected
// mode, open routes, Basic and bearer logins, tokens that cannot mint tokens, and 429 when throttled.

import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { Authenticator } from '../../src/server/auth/authenticator.js';
import { hashPassword } from '../../src/server/auth/password-hash.js';
import { protectedModeRefuses } from '../../src/server/auth/protected-mode.js';
import { TokenSigner } from '../../src/server/auth/tokens.js';
import { UserTable } from '../../src/server/auth/users.js';
import { credentialsOf, HttpGuard, type GuardResult } from '../../src/server/http-guard.js';

function req(headers: Record<string, string> = {}, ip = '127.0.0.1'): IncomingMessage {
  return { headers, socket: { remoteAddress: ip, destroy: () => {} } } as unknown as IncomingMessage;
}
const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

function guard(password: string | null, users = [{ name: 'viewer', passwordHash: hashPassword('v-pw', { ln: 4, r: 8, p: 1 }), role: 'read-only' as const }]) {
  const table = new UserTable(password, password === null && users.length === 0 ? [] : users);
  const auth = new Authenticator({ users: table, sleep: () => Promise.resolve() });
  return new HttpGuard({ auth, tokens: new TokenSigner([Buffer.alloc(32, 1)], 'c'), refuses: protectedModeRefuses({ enabled: true, open: table.open }) });
}

describe('credentialsOf', () => {
  it('reads Basic (first colon splits, empty user is default), Bearer, and the credential subprotocols', () => {
    expect(credentialsOf(req({ authorization: basic('alice', 'p:w:d') }))).toEqual({ kind: 'basic', user: Buffer.from('alice'), password: Buffer.from('p:w:d') });
    expect(credentialsOf(req({ authorization: basic('', 'pw') }))).toEqual({ kind: 'basic', user: null, password: Buffer.from('pw') });
    expect(credentialsOf(req({ authorization: 'bearer tly1.a.b' }))).toEqual({ kind: 'bearer', token: 'tly1.a.b' });
    expect(credentialsOf(req({ 'sec-websocket-protocol': 'tally, tally-bearer.tly1.x.y' }))).toEqual({ kind: 'bearer', token: 'tly1.x.y' });
    const sub = Buffer.from('bob:s3c').toString('base64url');
    expect(credentialsOf(req({ 'sec-websocket-protocol': `tally-basic.${sub}, tally` }))).toEqual({ kind: 'basic', user: Buffer.from('bob'), password: Buffer.from('s3c') });
    expect(credentialsOf(req({}))).toEqual({ kind: 'none' });
    for (const bad of ['Basic', 'Digest abc', `Basic ${Buffer.from('nocolon').toString('base64')}`, `Bearer ${'x'.repeat(5000)}`]) expect(credentialsOf(req({ authorization: bad })).kind).toBe('bad');
  });
});

describe('HttpGuard', () => {
  it('protected mode: a node without credentials refuses non-loopback peers, even for the dashboard files', async () => {
    const g = guard(null, []);
    expect(await g.check(req({}, '10.1.1.1'), 'public')).toMatchObject({ ok: false, status: 403, error: expect.stringMatching(/^DENIED Redis is running in protected mode/) });
    expect(await g.check(req({}, '127.0.0.1'), 'data')).toMatchObject({ ok: true, user: { name: 'default', perms: 7 } });
    expect(g.protectedModeRefused).toBe(1);
  });

  it('with users: data needs credentials; Basic and tokens work; a token cannot mint a token', async () => {
    const g = guard(null);
    expect(await g.check(req({}, '10.1.1.1'), 'public')).toMatchObject({ ok: true });
    const none = (await g.check(req({}), 'data')) as Extract<GuardResult, { ok: false }>;
    expect(none).toMatchObject({ ok: false, status: 401, error: 'NOAUTH Authentication required.', headers: { 'www-authenticate': 'Basic realm="tally", charset="UTF-8"' } });
    expect(await g.check(req({ 'x-requested-with': 'tally-dashboard' }), 'data')).toMatchObject({ headers: { 'www-authenticate': 'Bearer realm="tally"' } });
    expect(await g.check(req({ authorization: basic('viewer', 'bad') }), 'data')).toMatchObject({ ok: false, status: 401, error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    expect(await g.check(req({ authorization: basic('viewer', 'v-pw') }), 'login')).toMatchObject({ ok: true, user: { name: 'viewer', perms: 1 } });
    const t = g.issueToken('viewer');
    expect(t?.user).toBe('viewer');
    expect(await g.check(req({ authorization: `Bearer ${t?.token}` }), 'data')).toMatchObject({ ok: true, user: { name: 'viewer' } });
    expect(await g.check(req({ authorization: `Bearer ${t?.token}` }), 'login')).toMatchObject({ ok: false, status: 401 });
    expect(await g.check(req({ authorization: 'Bearer tly1.forged.token' }), 'data')).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 429 with Retry-After when the address has queued too many failures', async () => {
    const g = guard('pw', []);
    let last: GuardResult | undefined;
    for (let i = 0; i < 60 && (last === undefined || last.ok || last.status !== 429); i++) last = await g.check(req({ authorization: basic('', `guess${i}`) }, '10.9.9.9'), 'data');
    expect(last).toMatchObject({ ok: false, status: 429, headers: { 'retry-after': expect.stringMatching(/^\d+$/) } });
  });
});
