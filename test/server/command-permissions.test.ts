// Users and roles in the command table: who may run what (from the command flags), Redis 7.0's NOPERM
// text with `command|subcommand` names, ACL WHOAMI / LIST / USERS, AUTH with users, and HELLO's AUTH
// option, which may finish later and then goes on with the options after it.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { SessionRegistry } from '../../src/node/sessions.js';
import { Authenticator } from '../../src/server/auth/authenticator.js';
import { hashPassword } from '../../src/server/auth/password-hash.js';
import { permsNeeded, type CommandFlag } from '../../src/server/auth/permissions.js';
import { UserTable, type UserConfig } from '../../src/server/auth/users.js';
import { commandNames, execute, lookupBytes } from '../../src/server/commands/table.js';
import type { CommandServices } from '../../src/server/commands/types.js';
import { encodeReplyToBuffer } from '../../src/server/resp/encoder.js';

const CHEAP = { ln: 4, r: 8, p: 1 };
const USERS: UserConfig[] = [
  { name: 'viewer', passwordHash: hashPassword('view-pw', CHEAP), role: 'read-only' },
  { name: 'writer', passwordHash: hashPassword('write-pw', CHEAP), role: 'read-write' },
  { name: 'root', passwordHash: hashPassword('root-pw', CHEAP), role: 'admin' },
];

function node(password: string | null = null, users: UserConfig[] = USERS) {
  const table = new UserTable(password, users);
  const auth = new Authenticator({ users: table, sleep: () => Promise.resolve() });
  const registry = new SessionRegistry({ now: () => 0 } as never, table.open);
  const ctx: CommandServices = {
    keyspace: new Keyspace('n1:1'),
    auth,
    password: null,
    counterTypeFor: () => 'pncounter',
    nodeId: 'n1',
    clusterName: 't',
    version: '0',
    now: () => 0,
    info: () => ({ server: { redis_version: '7.2.0' } }),
    configValues: () => ({ databases: '16', maxclients: '10000' }),
    listClients: () => registry.list(),
  };
  const connect = () => {
    const s = registry.open('resp', '10.0.0.1:5000', '10.0.0.1');
    const send = async (...words: string[]): Promise<string> => encodeReplyToBuffer(await execute(ctx, s, words.map((w) => Buffer.from(w)))).toString('latin1');
    return { s, send, ctx };
  };
  return { ctx, auth, connect };
}

const NOPERM = (name: string): string => `-NOPERM this user has no permissions to run the '${name}' command\r\n`;

describe('roles', () => {
  it('read-only reads; writes, admin commands and admin subcommands answer NOPERM with Redis 7.0 names', async () => {
    const c = node().connect();
    expect(await c.send('GET', 'k')).toBe('-NOAUTH Authentication required.\r\n');
    expect(await c.send('AUTH', 'viewer', 'view-pw')).toBe('+OK\r\n');
    expect(await c.send('GET', 'k')).toBe('$-1\r\n');
    expect(await c.send('EXISTS', 'k')).toBe(':0\r\n');
    expect(await c.send('PING')).toBe('+PONG\r\n');
    expect(await c.send('SELECT', '1')).toBe('+OK\r\n');
    expect(await c.send('CLIENT', 'SETNAME', 'dash')).toBe('+OK\r\n');
    expect(await c.send('INCR', 'k')).toBe(NOPERM('incr'));
    expect(await c.send('SET', 'k', '1')).toBe(NOPERM('set'));
    expect(await c.send('PFADD', 'h', 'a')).toBe(NOPERM('pfadd'));
    expect(await c.send('FLUSHALL')).toBe(NOPERM('flushall'));
    expect(await c.send('CONFIG', 'GET', 'maxclients')).toBe(NOPERM('config|get'));
    expect(await c.send('config', 'SET', 'x', 'y')).toBe(NOPERM('config|set'));
    expect(await c.send('ACL', 'LIST')).toBe(NOPERM('acl|list'));
    expect(await c.send('ACL', 'users')).toBe(NOPERM('acl|users'));
    expect(await c.send('CLIENT', 'LIST')).toBe(NOPERM('client|list'));
    // A subcommand tally does not have is refused before the permission check, as Redis checks a
    // subcommand's existence first; every subcommand it has is in subcommandFlags (test below).
    expect(await c.send('CLIENT', 'KILL', 'x')).toBe("-ERR unknown subcommand 'KILL'. Try CLIENT HELP.\r\n");
    expect(await c.send('ACL', 'WHOAMI')).toBe('$6\r\nviewer\r\n');
    // Arity comes first, as in Redis.
    expect(await c.send('INCR')).toBe("-ERR wrong number of arguments for 'incr' command\r\n");
  });

  it('read-write writes but may not flush or configure; admin may do everything', async () => {
    const n = node();
    const w = n.connect();
    expect(await w.send('AUTH', 'writer', 'write-pw')).toBe('+OK\r\n');
    expect(await w.send('INCR', 'k')).toBe(':1\r\n');
    expect(await w.send('FLUSHDB')).toBe(NOPERM('flushdb'));
    expect(await w.send('FLUSHALL')).toBe(NOPERM('flushall'));
    expect(await w.send('CONFIG', 'GET', 'databases')).toBe(NOPERM('config|get'));
    const r = n.connect();
    expect(await r.send('AUTH', 'root', 'root-pw')).toBe('+OK\r\n');
    expect(await r.send('CONFIG', 'GET', 'databases')).toBe('*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n');
    expect(await r.send('CLIENT', 'LIST')).toMatch(/^\$\d+\r\nid=1 .*\nid=2 /s);
    expect(await r.send('FLUSHALL')).toBe('+OK\r\n');
    expect(n.auth.stats.deniedCommands).toBe(3);
  });

  it('every command of the table: a role runs it exactly when its flags allow', async () => {
    const roles = { viewer: 'view-pw', writer: 'write-pw', root: 'root-pw' } as const;
    const perms = { viewer: 1, writer: 3, root: 7 } as const;
    for (const [user, pw] of Object.entries(roles) as [keyof typeof roles, string][]) {
      const c = node().connect();
      await c.send('AUTH', user, pw);
      const fill = (words: string[], arity: number): string[] => [...words, ...Array<string>(Math.max(0, Math.abs(arity) - words.length)).fill('1')];
      for (const name of commandNames()) {
        const spec = lookupBytes(Buffer.from(name));
        if (spec === undefined || name === 'quit') continue;
        if (spec.subcommandFlags !== undefined) {
          // Each subcommand it lists, with the arity the table checks first.
          for (const [sub, flags] of Object.entries(spec.subcommandFlags)) {
            const args = fill([name, sub], spec.subcommands?.[sub] ?? spec.arity);
            const r = await c.send(...args);
            const allowed = (permsNeeded(flags) & ~perms[user]) === 0;
            expect(r.startsWith('-NOPERM'), `${user} ${args.join(' ')}: ${r}`).toBe(!allowed);
          }
          continue;
        }
        // A container without per-subcommand flags: its first subcommand.
        const first = spec.subcommands === undefined ? undefined : Object.entries(spec.subcommands)[0];
        const args = first === undefined ? fill([name], spec.arity) : fill([name, first[0]], first[1]);
        const r = await c.send(...args);
        const allowed = (permsNeeded(spec.flags as CommandFlag[]) & ~perms[user]) === 0;
        expect(r.startsWith('-NOPERM'), `${user} ${args.join(' ')}: ${r}`).toBe(!allowed);
      }
      // Every subcommand a container has is given its rights: none falls back to admin unseen.
      for (const name of commandNames()) {
        const spec = lookupBytes(Buffer.from(name));
        if (spec?.subcommands === undefined || spec.subcommandFlags === undefined) continue;
        expect(Object.keys(spec.subcommands).filter((sub) => !(sub in (spec.subcommandFlags ?? {}))), name).toEqual([]);
      }
    }
  });

  it('a command with no classifying flag needs read-write (fail closed)', () => {
    expect(permsNeeded([])).toBe(2);
    expect(permsNeeded(['fast'])).toBe(2);
    expect(permsNeeded(['connection', 'fast'])).toBe(0);
    expect(permsNeeded(['readonly', 'fast'])).toBe(1);
    expect(permsNeeded(['write', 'admin'])).toBe(4);
  });
});

describe('permissions inside transactions and scripts', () => {
  const EXECABORT = '-EXECABORT Transaction discarded because of previous errors.\r\n';
  const EXEC_NOPERM =
    '-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n';

  it('queuing a command the user may not run answers NOPERM and dooms the transaction, as Redis 7.0', async () => {
    const n = node();
    const c = n.connect();
    await c.send('AUTH', 'viewer', 'view-pw');
    expect(await c.send('MULTI')).toBe('+OK\r\n');
    expect(await c.send('SET', 'k', '1')).toBe(NOPERM('set'));
    expect(await c.send('GET', 'k')).toBe('+QUEUED\r\n');
    expect(await c.send('EXEC')).toBe(EXECABORT);
    expect(n.ctx.keyspace.exists('\0k')).toBe(false);
    // Reads in a transaction are fine.
    expect(await c.send('MULTI')).toBe('+OK\r\n');
    expect(await c.send('GET', 'k')).toBe('+QUEUED\r\n');
    expect(await c.send('EXEC')).toBe('*1\r\n$-1\r\n');
    // An admin subcommand too, named as Redis names it.
    expect(await c.send('MULTI')).toBe('+OK\r\n');
    expect(await c.send('CONFIG', 'GET', 'maxclients')).toBe(NOPERM('config|get'));
    expect(await c.send('EXEC')).toBe(EXECABORT);
  });

  it('EXEC checks each command again: after a queued AUTH as a read-only user, writes are refused in their slot', async () => {
    for (const warm of [false, true]) {
      const n = node();
      // warm: the viewer's password was checked before, so the queued AUTH finishes at once (a keyed
      // digest); cold: its scrypt check finishes later, and the commands after it may not write either.
      if (warm) await n.connect().send('AUTH', 'viewer', 'view-pw');
      const c = n.connect();
      await c.send('AUTH', 'writer', 'write-pw');
      expect(await c.send('MULTI')).toBe('+OK\r\n');
      expect(await c.send('SET', 'k', '1')).toBe('+QUEUED\r\n');
      expect(await c.send('AUTH', 'viewer', 'view-pw')).toBe('+QUEUED\r\n');
      expect(await c.send('SET', 'k', '2')).toBe('+QUEUED\r\n');
      expect(await c.send('INCR', 'k')).toBe('+QUEUED\r\n');
      expect(await c.send('GET', 'k')).toBe('+QUEUED\r\n');
      expect(await c.send('EXEC'), warm ? 'warm' : 'cold').toBe(`*5\r\n+OK\r\n+OK\r\n${EXEC_NOPERM}${EXEC_NOPERM}$1\r\n1\r\n`);
      expect(n.ctx.keyspace.getCounter('\0k')).toEqual({ ok: true, value: 1 });
      expect(await c.send('ACL', 'WHOAMI')).toBe('$6\r\nviewer\r\n');
    }
  });

  it('a queued AUTH still being checked narrows EXEC to what both users may run (fail closed)', async () => {
    const n = node();
    const c = n.connect();
    await c.send('AUTH', 'writer', 'write-pw');
    await c.send('MULTI');
    await c.send('AUTH', 'viewer', 'wrong');
    await c.send('INCR', 'k');
    // Redis would run the INCR as the writer once the login failed; tally cannot know yet when it runs.
    expect(await c.send('EXEC')).toBe(`*2\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n${EXEC_NOPERM}`);
    expect(await c.send('ACL', 'WHOAMI')).toBe('$6\r\nwriter\r\n');
    expect(await c.send('INCR', 'k')).toBe(':1\r\n');
  });

  it('a queued HELLO ... AUTH still being checked narrows EXEC the same way, wherever AUTH stands among its options', async () => {
    for (const hello of [
      ['HELLO', '2', 'AUTH', 'viewer', 'view-pw'],
      ['HELLO', '2', 'SETNAME', 'x', 'AUTH', 'viewer', 'view-pw'],
      // A client name that reads "auth" is a name, not the option.
      ['HELLO', '2', 'SETNAME', 'auth', 'AUTH', 'viewer', 'view-pw'],
      ['hello', '2', 'setname', 'AUTH', 'auth', 'viewer', 'view-pw'],
      // Two logins: the commands after run only if every user involved may run them.
      ['HELLO', '2', 'AUTH', 'root', 'root-pw', 'AUTH', 'viewer', 'view-pw'],
    ]) {
      const n = node();
      const c = n.connect();
      await c.send('AUTH', 'writer', 'write-pw');
      await c.send('MULTI');
      expect(await c.send(...hello)).toBe('+QUEUED\r\n');
      await c.send('INCR', 'k');
      await c.send('GET', 'k');
      const r = await c.send('EXEC');
      expect(r, hello.join(' ')).toMatch(/^\*3\r\n\*14\r\n\$6\r\nserver\r\n/);
      expect(r.endsWith(`${EXEC_NOPERM}$-1\r\n`), hello.join(' ')).toBe(true);
      expect(await c.send('ACL', 'WHOAMI')).toBe('$6\r\nviewer\r\n');
    }
  });

  it('a trailing AUTH without its password is no login: only the complete AUTH before it narrows EXEC', async () => {
    const n = node();
    const c = n.connect();
    await c.send('AUTH', 'writer', 'write-pw');
    await c.send('MULTI');
    await c.send('HELLO', '2', 'AUTH', 'root', 'root-pw', 'AUTH', 'viewer');
    await c.send('INCR', 'k');
    expect(await c.send('EXEC')).toBe("*2\r\n-ERR Syntax error in HELLO option 'AUTH'\r\n:1\r\n");
    expect(await c.send('ACL', 'WHOAMI')).toBe('$4\r\nroot\r\n');
  });

  it('a HELLO without AUTH inside EXEC changes nobody\'s rights', async () => {
    const n = node();
    const c = n.connect();
    await c.send('AUTH', 'viewer', 'view-pw');
    await n.connect().send('HELLO', '2', 'AUTH', 'writer', 'write-pw'); // warm: checked once before
    const w = n.connect();
    await w.send('AUTH', 'writer', 'write-pw');
    await w.send('MULTI');
    await w.send('HELLO', '2', 'SETNAME', 'auth');
    await w.send('INCR', 'k');
    expect(await w.send('EXEC')).toMatch(/^\*2\r\n\*14\r\n.*:1\r\n$/s);
  });

  it('a queued one-word AUTH logs in as the default user: EXEC is narrowed to what that user may run', async () => {
    const n = node(null, [...USERS, { name: 'default', passwordHash: hashPassword('dflt-pw', CHEAP), role: 'read-only' }]);
    const c = n.connect();
    await c.send('AUTH', 'root', 'root-pw');
    await c.send('MULTI');
    await c.send('AUTH', 'dflt-pw');
    await c.send('INCR', 'k');
    expect(await c.send('EXEC')).toBe(`*2\r\n+OK\r\n${EXEC_NOPERM}`);
    expect(await c.send('ACL', 'WHOAMI')).toBe('$7\r\ndefault\r\n');
  });

  it('a queued AUTH that fails at once narrows nothing: the commands after it run as the user before', async () => {
    const n = node();
    await n.connect().send('AUTH', 'viewer', 'view-pw'); // warm: the viewer's next check answers at once
    const c = n.connect();
    await c.send('AUTH', 'writer', 'write-pw');
    await c.send('MULTI');
    await c.send('AUTH', 'viewer', 'wrong');
    await c.send('INCR', 'k');
    expect(await c.send('EXEC')).toBe('*2\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n:1\r\n');
  });

  it("a script's redis.call of a command its user may not run raises Redis 7.0's error; pcall returns it", async () => {
    const n = node();
    const c = n.connect();
    await c.send('AUTH', 'viewer', 'view-pw');
    const SET = "return redis.call('set','k','1')";
    const sha = createHash('sha1').update(SET).digest('hex');
    expect(await c.send('EVAL', SET, '0')).toBe(`-ERR The user executing the script can't run this command or subcommand script: ${sha}, on @user_script:1.\r\n`);
    expect(await c.send('EVAL', "return redis.pcall('incr','k')", '0')).toBe("-ERR The user executing the script can't run this command or subcommand\r\n");
    expect(await c.send('EVALSHA', sha, '0')).toMatch(/^-ERR The user executing the script can't run/);
    // Before the read-only rule, as in Redis.
    expect(await c.send('EVAL_RO', SET, '0')).toMatch(/^-ERR The user executing the script can't run/);
    expect(n.ctx.keyspace.exists('\0k')).toBe(false);
    expect(await c.send('EVAL', "return redis.call('get','k')", '0')).toBe('$-1\r\n');
    expect(await c.send('SCRIPT', 'FLUSH')).toBe(NOPERM('script|flush'));
    // redis.acl_check_cmd answers for the script's user.
    expect(await c.send('EVAL', "return redis.acl_check_cmd('set','k','1')", '0')).toBe('$-1\r\n');
    expect(await c.send('EVAL', "return redis.acl_check_cmd('get','k')", '0')).toBe(':1\r\n');
    expect(await c.send('EVAL', "return redis.acl_check_cmd('client','list')", '0')).toBe('$-1\r\n');
    expect(await c.send('SCRIPT', 'EXISTS', sha)).toBe('*1\r\n:1\r\n');
    // A container named alone is checked as the container; an unknown subcommand is no command (Redis 7.0's lookupCommand).
    expect(await c.send('EVAL', "return redis.acl_check_cmd('config')", '0')).toBe('$-1\r\n');
    expect(await c.send('EVAL', "return redis.acl_check_cmd('client')", '0')).toBe(':1\r\n');
    const BAD = "return redis.acl_check_cmd('config','nosuch')";
    expect(await c.send('EVAL', BAD, '0')).toBe(`-ERR Invalid command passed to redis.acl_check_cmd() script: ${createHash('sha1').update(BAD).digest('hex')}, on @user_script:1.\r\n`);
    expect(await c.send('EVAL', "return redis.acl_check_cmd('Config','GET')", '0')).toBe('$-1\r\n');

    // A writer's script writes; a writer's read-only script gets the read-only rule's error.
    const w = n.connect();
    await w.send('AUTH', 'writer', 'write-pw');
    expect(await w.send('EVALSHA', sha, '0')).toBe('+OK\r\n');
    expect(await w.send('EVAL', "return redis.acl_check_cmd('set','k','1')", '0')).toBe(':1\r\n');
    expect(await w.send('EVAL_RO', SET, '0')).toBe(`-ERR Write commands are not allowed from read-only scripts. script: ${sha}, on @user_script:1.\r\n`);
    // A script inside EXEC runs as the user too.
    expect(await c.send('MULTI')).toBe('+OK\r\n');
    expect(await c.send('EVALSHA', sha, '0')).toBe('+QUEUED\r\n');
    expect(await c.send('EXEC')).toMatch(/^\*1\r\n-ERR The user executing the script can't run/);
    expect(n.ctx.keyspace.getCounter('\0k')).toEqual({ ok: true, value: 1 });
  });
});

describe('ACL', () => {
  it('WHOAMI, USERS and LIST (hashes only; a plain auth.password as a keyed digest)', async () => {
    const n = node('plain-default-pw', USERS);
    const c = n.connect();
    expect(await c.send('AUTH', 'plain-default-pw')).toBe('+OK\r\n');
    expect(await c.send('ACL', 'WHOAMI')).toBe('$7\r\ndefault\r\n');
    expect(await c.send('ACL', 'USERS')).toBe('*4\r\n$7\r\ndefault\r\n$4\r\nroot\r\n$6\r\nviewer\r\n$6\r\nwriter\r\n');
    const list = await c.send('ACL', 'LIST');
    expect(list).toMatch(/user default on #[0-9a-f]{64} ~\* &\* \+@all\r\n/);
    expect(list).toContain(`user viewer on #${USERS[0]?.passwordHash} ~* &* -@all +@read +@connection\r\n`);
    expect(list).toContain('user writer on #$scrypt$');
    expect(list).not.toContain('plain-default-pw');
    expect(await c.send('ACL', 'SETUSER', 'x', 'on')).toBe("-ERR ACL SETUSER is not supported: tally's users are configured in cluster.config.json (auth.users)\r\n");
    expect(await c.send('ACL', 'Foo')).toBe("-ERR unknown subcommand 'Foo'. Try ACL HELP.\r\n");
    expect(await c.send('ACL', 'WHOAMI', 'x')).toBe("-ERR wrong number of arguments for 'acl|whoami' command\r\n");
  });

  it('on a node without credentials: the default user, nopass, as Redis shows it', async () => {
    const c = node(null, []).connect();
    expect(await c.send('ACL', 'WHOAMI')).toBe('$7\r\ndefault\r\n');
    expect(await c.send('ACL', 'LIST')).toBe('*1\r\n$34\r\nuser default on nopass ~* &* +@all\r\n');
  });
});

describe('AUTH and HELLO with users', () => {
  it('AUTH user password; an unknown user or a wrong password is WRONGPASS; the one-word form is the default user', async () => {
    const c = node().connect();
    const WRONGPASS = '-WRONGPASS invalid username-password pair or user is disabled.\r\n';
    expect(await c.send('AUTH', 'nobody', 'view-pw')).toBe(WRONGPASS);
    expect(await c.send('AUTH', 'VIEWER', 'view-pw')).toBe(WRONGPASS);
    expect(await c.send('AUTH', 'view-pw')).toBe(WRONGPASS); // no default user on this node
    expect(await c.send('AUTH', 'viewer', 'view-pw')).toBe('+OK\r\n');
  });

  it("HELLO 2 AUTH logs in (after the scrypt check) and then applies the options after it", async () => {
    const c = node().connect();
    const r = await c.send('HELLO', '2', 'AUTH', 'writer', 'write-pw', 'SETNAME', 'after');
    expect(r).toMatch(/^\*14\r\n\$6\r\nserver\r\n\$5\r\ntally\r\n/);
    expect(await c.send('CLIENT', 'GETNAME')).toBe('$5\r\nafter\r\n');
    expect(await c.send('ACL', 'WHOAMI')).toBe('$6\r\nwriter\r\n');
  });

  it('a failed HELLO AUTH keeps a SETNAME before it (Redis 7.0 applies options in order) and skips those after', async () => {
    const c = node().connect();
    expect(await c.send('HELLO', '2', 'SETNAME', 'before', 'AUTH', 'writer', 'bad', 'SETNAME', 'after')).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    expect(c.s.name).toBe('before');
    expect(c.s.authenticated).toBe(false);
    expect(await c.send('HELLO', '2')).toMatch(/^-NOAUTH HELLO must be called/);
  });

  it('HELLO 3 AUTH logs in (after the scrypt check), then switches the connection to RESP3', async () => {
    const c = node().connect();
    const r = await execute(c.ctx, c.s, ['HELLO', '3', 'AUTH', 'writer', 'write-pw', 'SETNAME', 'r3'].map((w) => Buffer.from(w)));
    expect(r.kind).toBe('map');
    expect(encodeReplyToBuffer(r, 3).toString('latin1')).toMatch(/^%7\r\n\$6\r\nserver\r\n\$5\r\ntally\r\n.*\$5\r\nproto\r\n:3\r\n/s);
    expect(c.s.authenticated).toBe(true);
    expect(c.s.user).toBe('writer');
    expect(c.s.resp).toBe(3);
    expect(c.s.name).toBe('r3');
    expect(await c.send('ACL', 'WHOAMI')).toBe('$6\r\nwriter\r\n');
  });

  it('a failed HELLO 3 AUTH leaves the connection unauthenticated and on RESP2', async () => {
    const c = node().connect();
    expect(await c.send('HELLO', '3', 'AUTH', 'writer', 'bad')).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    expect(c.s.authenticated).toBe(false);
    expect(c.s.resp ?? 2).toBe(2);
    expect(await c.send('HELLO', '4', 'AUTH', 'writer', 'write-pw')).toBe('-NOPROTO unsupported protocol version\r\n');
    expect(c.s.authenticated).toBe(false);
  });
});

describe('an HTTP request on the RESP port', () => {
  it('POST or Host: closes the connection unanswered, even before AUTH, as Redis does', async () => {
    const n = node();
    const c = n.connect();
    const r = await execute(n.ctx, c.s, [Buffer.from('POST'), Buffer.from('/'), Buffer.from('HTTP/1.1')]);
    expect(r).toEqual({ kind: 'close' });
    expect(await execute(n.ctx, c.s, [Buffer.from('Host:'), Buffer.from('127.0.0.1:6379')])).toEqual({ kind: 'close' });
    expect(n.auth.stats.crossProtocol).toBe(2);
  });
});
