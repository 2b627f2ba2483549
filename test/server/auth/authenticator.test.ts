// The authenticator on a fake clock and a fake sleep: who gets in, how failures are slowed per
// connection and per address, that a checked password is remembered as a digest (later checks cost an
// HMAC), that a node without credentials answers failures at once, and that no log line holds a password.

import { describe, expect, it } from 'vitest';
import { Authenticator, type AuthSubject, type AuthVerdict } from '../../../src/server/auth/authenticator.js';
import { hashPassword } from '../../../src/server/auth/password-hash.js';
import { PERM_ALL, PERM_READ } from '../../../src/server/auth/permissions.js';
import { UserTable } from '../../../src/server/auth/users.js';
import type { Session } from '../../../src/server/commands/types.js';
import type { Logger } from '../../../src/util/logger.js';

const SECRET = 'hunter2-do-not-log';
const users = (): UserTable =>
  new UserTable(null, [
    { name: 'alice', passwordHash: hashPassword(SECRET, { ln: 4, r: 8, p: 1 }), role: 'read-only' },
    { name: 'root', passwordHash: hashPassword('root-pw', { ln: 4, r: 8, p: 1 }), role: 'admin' },
  ]);

function memoryLogger(lines: string[]): Logger {
  const log = (level: string) => (a: object | string, b?: string): void => {
    lines.push(`${level} ${typeof a === 'string' ? a : `${JSON.stringify(a)} ${b ?? ''}`}`);
  };
  const l: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => l };
  return l;
}

function setup(table = users()) {
  let now = 0;
  const sleeps: number[] = [];
  const lines: string[] = [];
  const a = new Authenticator({
    users: table,
    logger: memoryLogger(lines),
    now: () => now,
    // Records the wait and returns at once; time moves only when a test advances it.
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  return { a, sleeps, lines, advance: (ms: number) => (now += ms) };
}

const subject = (ip = '10.0.0.1'): AuthSubject => ({ remoteAddress: `${ip}:5555`, ip, protocol: 'resp' });
const session = (): Session => ({ id: 1, db: 0, name: null, authenticated: false, user: null, perms: 0, protocol: 'resp', remoteAddress: '10.0.0.1:1', ip: '10.0.0.1', createdAt: 0, lastCommandAt: 0, lastCommand: '' });
const b = (s: string): Buffer => Buffer.from(s);

describe('Authenticator', () => {
  it('logs a session in as the user, with the role permissions, and leaves it alone on failure', async () => {
    const { a } = setup();
    const s = session();
    expect(await a.login(s, b('alice'), b('wrong'))).toMatchObject({ ok: false, error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    expect(s).toMatchObject({ authenticated: false, user: null, perms: 0 });
    expect(await a.login(s, b('alice'), b(SECRET))).toEqual({ ok: true });
    expect(s).toMatchObject({ authenticated: true, user: 'alice', perms: PERM_READ });
    // A later failure keeps the earlier login, as Redis does.
    expect(await a.login(s, b('root'), b('nope'))).toMatchObject({ ok: false });
    expect(s).toMatchObject({ user: 'alice', perms: PERM_READ });
    expect(await a.login(s, b('root'), b('root-pw'))).toEqual({ ok: true });
    expect(s).toMatchObject({ user: 'root', perms: PERM_ALL });
  });

  it('checks a hash once off the event loop, then with a digest: a wrong password is then answered at once', async () => {
    const { a } = setup();
    const first = a.check(subject(), b('alice'), b(SECRET));
    expect(first).toBeInstanceOf(Promise);
    expect(((await first) as AuthVerdict).ok).toBe(true);
    const again = a.check(subject('10.0.0.2'), b('alice'), b(SECRET));
    expect(again).toMatchObject({ ok: true });
    const wrong = a.check(subject('10.0.0.3'), b('alice'), b('guess'));
    expect(wrong).toMatchObject({ ok: false });
  });

  it('slows the failures of one connection: the first at once, then 100, 200, 400 ms..., and closes it after ten', async () => {
    const { a, sleeps } = setup(new UserTable('pw'));
    const s = subject();
    const verdicts: AuthVerdict[] = [];
    for (let i = 0; i < 10; i++) verdicts.push(await a.check(s, null, b(`guess${i}`)));
    expect(verdicts.map((v) => v.ok)).toEqual(Array(10).fill(false));
    expect(verdicts.map((v) => (v.ok ? null : v.close))).toEqual([false, false, false, false, false, false, false, false, false, true]);
    // Per-connection delays, and once the address has 5 failures, its slots as well.
    expect(sleeps.filter((ms) => [100, 200, 400, 800, 1600, 3200, 5000].includes(ms)).length).toBeGreaterThanOrEqual(7);
    expect(a.stats.failures.resp).toBe(10);
  });

  it('spaces an address with many failures, even for the right password, and refuses beyond the longest wait', async () => {
    const { a, sleeps } = setup(new UserTable('pw'));
    // Ten failures, each on its own connection (no per-connection delay): the last five already wait for slots.
    for (let i = 0; i < 10; i++) await a.check(subject(), null, b('x'));
    expect(sleeps.length).toBe(4); // the 7th to 10th attempts waited for their slots
    const ok = await a.check(subject(), null, b('pw'));
    expect(ok.ok).toBe(true); // the right password, after its slot too
    const delayed = a.stats.delayed;
    // Many attempts at the same instant: their slots run out past 30 s and the rest are refused unchecked.
    const burst = Array.from({ length: 40 }, () => a.check({ ...subject(), authFailures: 0 }, null, b('pw')));
    const refused = burst.filter((v) => !(v instanceof Promise) && !v.ok);
    expect(refused.length).toBeGreaterThan(0);
    expect((refused[0] as { error: string }).error).toMatch(/^ERR too many failed AUTH attempts from this address; try again in \d+ s$/);
    expect(a.stats.refused).toBe(refused.length);
    expect(a.stats.delayed - delayed).toBe(40 - refused.length);
    expect((await Promise.all(burst)).filter((v) => v.ok).length).toBe(40 - refused.length);
  });

  it('on a node without credentials: default takes any password, other users fail at once, nothing is slowed', async () => {
    const { a, sleeps } = setup(new UserTable(null));
    const s = session();
    expect(a.login(s, null, b('x'))).toMatchObject({ ok: false, error: expect.stringMatching(/^ERR AUTH <password> called without any password/) });
    expect(a.login(s, b('default'), b('anything'))).toEqual({ ok: true });
    for (let i = 0; i < 20; i++) expect(a.login(s, b('bob'), b('x'))).toMatchObject({ ok: false, close: false });
    expect(sleeps).toEqual([]);
  });

  it('logs failures with the user and address, at most one line per address per 10 s, never the password', async () => {
    const { a, lines, advance } = setup();
    for (let i = 0; i < 3; i++) await a.check(subject(), b('alice'), b(SECRET + i));
    await a.check(subject(), b('evil\nuser\u0000'), b(SECRET));
    advance(10_001);
    await a.check(subject(), b('alice'), b(`${SECRET}x`));
    const warn = lines.filter((l) => l.startsWith('warn'));
    expect(warn.length).toBe(2);
    expect(warn[0]).toContain('"user":"alice"');
    expect(warn[0]).toContain('"remoteAddress":"10.0.0.1"');
    expect(warn[1]).toContain('"suppressedSinceLastLine":3');
    for (const l of lines) expect(l).not.toContain(SECRET);
  });
});
