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

function guard(password: string | null, users: { name: string; passwordHash: string; role: 'read-only' }[] = [{ name: 'viewer', passwordHash: hashPassword('v-pw', { ln: 4, r: 8, p: 1 }), role: 'read-only' as const }]) {
  const table = new UserTable(password, password === null && users.length === 0 ? [] : users);
  const auth = new Authenticator({ users: table, sleep: () => Promise.resolve() });
  return new HttpGuard({ auth, tokens: new TokenSigner([Buffer.alloc(32, 1)], 'c'), refuses: protectedModeRefuses({ enabled: true, open: table.open }), hosts: ['127.0.0.1', 'node1.example'], httpPorts: [8101, 8102] });
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

  it('DNS rebinding: a node without credentials answers only its own names and IP addresses', async () => {
    const g = guard(null, []);
    for (const host of ['127.0.0.1:8101', 'localhost:8101', '[::1]:8101', 'node1.example:8101', 'NODE1.example', '10.0.0.7:8101']) {
      expect(await g.check(req({ host }), 'data'), host).toMatchObject({ ok: true });
    }
    for (const host of ['evil.example:8101', 'localhost.evil.example', '127.0.0.1.nip.io:8101']) {
      expect(await g.check(req({ host }), 'public'), host).toMatchObject({ ok: false, status: 403, error: expect.stringMatching(/DNS rebinding protection\)$/) });
    }
    // With credentials, a foreign name is fine: the data needs the password anyway.
    expect(await guard('pw', []).check(req({ host: 'tally.example.com', authorization: basic('', 'pw') }), 'data')).toMatchObject({ ok: true });
  });

  it('cross-site WebSocket hijacking: an upgrade from a page of another origin is refused', async () => {
    const g = guard(null, []);
    const up = (origin: string | undefined, host = '127.0.0.1:8101'): IncomingMessage => req({ upgrade: 'websocket', host, ...(origin === undefined ? {} : { origin }) });
    expect(await g.check(up(undefined), 'data')).toMatchObject({ ok: true });
    expect(await g.check(up('http://127.0.0.1:8101'), 'data')).toMatchObject({ ok: true });
    expect(await g.check(up('http://127.0.0.1:8102'), 'data')).toMatchObject({ ok: true }); // the dashboard of another node
    expect(await g.check(up('http://node1.example:8102', '10.0.0.7:8101'), 'data')).toMatchObject({ ok: true });
    for (const origin of ['http://evil.example', 'http://evil.example:8101', 'http://127.0.0.1:9999', 'null', 'not a url']) {
      expect(await g.check(up(origin), 'data'), origin).toMatchObject({ ok: false, status: 403, error: "ERR cross-origin WebSocket refused: only pages served by this cluster's nodes may open /ws" });
    }
    expect(g.foreignRefused).toBe(5);
  });
});
