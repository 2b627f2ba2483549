// Fuzzing AUTH, HELLO and ACL through the command table, as argument lists and as mutated RESP bytes
// through the parser: nothing throws or rejects, every reply encodes, and nothing bypasses the
// checks. A session only ever becomes a user whose exact password (and name) it sent; its permissions
// are always its user's role; a command that needs a permission never succeeds without it; and before
// a login every command but AUTH, HELLO and QUIT answers NOAUTH.

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { SessionRegistry } from '../../src/node/sessions.js';
import { Authenticator } from '../../src/server/auth/authenticator.js';
import { hashPassword } from '../../src/server/auth/password-hash.js';
import { PERM_ADMIN, PERM_WRITE, ROLE_PERMS } from '../../src/server/auth/permissions.js';
import { UserTable, type UserConfig } from '../../src/server/auth/users.js';
import type { Reply } from '../../src/server/commands/reply.js';
import { execute } from '../../src/server/commands/table.js';
import type { CommandServices, Session } from '../../src/server/commands/types.js';
import { encodeReplyToBuffer } from '../../src/server/resp/encoder.js';
import { RespParser } from '../../src/server/resp/parser.js';
import { FUZZ_TIMEOUT_MS, fuzzBytes } from './mutate.js';

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });

/** Each run checks scrypt hashes (cheap ones), so fewer runs than the pure decoders get. */
const RUNS = Math.max(200, Math.ceil(Number(process.env.TALLY_FUZZ_RUNS ?? 100_000) / 40));

const PASSWORDS = { viewer: 'v-pass', writer: 'w-pass', root: 'r-pass' } as const;
const CHEAP = { ln: 4, r: 8, p: 1 };
const USERS: UserConfig[] = [
  { name: 'viewer', passwordHash: hashPassword(PASSWORDS.viewer, CHEAP), role: 'read-only' },
  { name: 'writer', passwordHash: hashPassword(PASSWORDS.writer, CHEAP), role: 'read-write' },
  { name: 'root', passwordHash: hashPassword(PASSWORDS.root, CHEAP), role: 'admin' },
];
const ROLE_OF = new Map(USERS.map((u) => [u.name, u.role]));

function node(): { ctx: CommandServices; session: Session } {
  const table = new UserTable(null, USERS);
  let now = 0;
  // Waits are skipped and never refused: every attempt is really checked.
  const auth = new Authenticator({ users: table, now: () => (now += 1), sleep: () => Promise.resolve(), limiter: { maxWaitMs: 1e15 } });
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
    info: () => ({}),
    configValues: () => ({ databases: '16' }),
    listClients: () => registry.list(),
  };
  return { ctx, session: registry.open('resp', '10.0.0.9:1', '10.0.0.9') };
}

/** What a successful reply to `args` proves the session was allowed. */
function needs(args: readonly Buffer[]): number {
  const [a = '', b = ''] = args.map((x) => x.toString('latin1').toLowerCase());
  if (a === 'incr' || a === 'set' || a === 'del' || a === 'pfadd') return PERM_WRITE;
  if (a === 'flushall' || a === 'flushdb' || a === 'config') return PERM_ADMIN;
  if ((a === 'acl' && (b === 'list' || b === 'users')) || (a === 'client' && b === 'list')) return PERM_ADMIN;
  return 0;
}

const NOAUTH_OK = new Set(['auth', 'hello', 'quit']);

/** Runs `commands` on a fresh node and checks every invariant after each one. */
async function check(commands: readonly (readonly Buffer[])[]): Promise<void> {
  const { ctx, session } = node();
  const sent: Buffer[] = [];
  for (const args of commands) {
    const before = session.authenticated;
    let reply: Reply;
    try {
      reply = await execute(ctx, session, args);
    } catch (e) {
      throw new Error(`execute threw or rejected on ${JSON.stringify(args.map(String))}: ${String(e)}`);
    }
    encodeReplyToBuffer(reply);
    sent.push(...args);
    const shown = args.map(String).join(' ');
    const name = (args[0] ?? Buffer.alloc(0)).toString('latin1').toLowerCase();
    if (!before && !NOAUTH_OK.has(name) && args.length > 0 && reply.kind === 'error' && !reply.message.startsWith('ERR unknown command')) {
      expect(reply.message, shown).toBe('NOAUTH Authentication required.');
    }
    if (session.authenticated) {
      const user = session.user ?? '';
      const role = ROLE_OF.get(user);
      expect(role, `logged in as an unknown user '${user}' after ${shown}`).toBeDefined();
      const pw = Buffer.from(PASSWORDS[user as keyof typeof PASSWORDS]);
      expect(sent.some((x) => x.equals(pw)), `logged in as ${user} without its password`).toBe(true);
      expect(sent.some((x) => x.equals(Buffer.from(user))), `logged in as ${user} without its name`).toBe(true);
      expect(session.perms).toBe(ROLE_PERMS[role as keyof typeof ROLE_PERMS]);
    } else {
      expect(session.perms).toBe(0);
    }
    const ok = reply.kind !== 'error' && !(reply.kind === 'close' && reply.reply?.kind === 'error');
    if (ok && !NOAUTH_OK.has(name)) expect(session.authenticated, `${shown} answered without a login`).toBe(true);
    if (ok) expect((needs(args) & ~(session.perms ?? 0)) === 0, `${shown} ran for ${session.user} (perms ${session.perms})`).toBe(true);
  }
}

const word = (...xs: string[]): fc.Arbitrary<Buffer> => fc.constantFrom(...xs).map((s) => Buffer.from(s));
const anyBytes = fc.uint8Array({ maxLength: 12 }).map((u) => Buffer.from(u));
const userWord = fc.oneof(word('viewer', 'writer', 'root', 'default', 'VIEWER', 'root ', ''), anyBytes);
const passWord = fc.oneof(word(...Object.values(PASSWORDS), 'v-pas', 'r-pass\u0000', 'R-PASS', ''), anyBytes);
const authCmd = fc.oneof(
  fc.tuple(word('AUTH', 'auth'), passWord).map((a) => [...a]),
  fc.tuple(word('AUTH', 'Auth'), userWord, passWord).map((a) => [...a]),
  fc.array(fc.oneof(userWord, passWord), { maxLength: 5 }).map((xs) => [Buffer.from('AUTH'), ...xs]),
);
const helloCmd = fc
  .tuple(
    word('HELLO', 'hello'),
    fc.option(word('2', '3', '1', '-1', 'x', '99999999999999999999', ''), { nil: undefined }),
    fc.array(fc.oneof(fc.tuple(word('AUTH', 'auth'), userWord, passWord).map((a) => [...a]), fc.tuple(word('SETNAME', 'setname'), fc.oneof(word('n', 'a b', ''), anyBytes)).map((a) => [...a]), fc.oneof(word('AUTH', 'SETNAME', 'FOO'), anyBytes).map((x) => [x])), { maxLength: 3 }),
  )
  .map(([h, v, opts]) => [h, ...(v === undefined ? [] : [v]), ...opts.flat()]);
const aclCmd = fc.array(fc.oneof(word('WHOAMI', 'whoami', 'LIST', 'USERS', 'SETUSER', 'DELUSER', 'LOAD', 'GETUSER', 'x'), anyBytes), { maxLength: 3 }).map((xs) => [Buffer.from('ACL'), ...xs]);
const probe = fc.constantFrom(['INCR', 'k'], ['GET', 'k'], ['SET', 'k', '2'], ['FLUSHALL'], ['CONFIG', 'GET', 'databases'], ['ACL', 'LIST'], ['CLIENT', 'LIST'], ['PING'], ['QUIT']).map((xs) => xs.map((x) => Buffer.from(x)));
const commandArb = fc.oneof({ weight: 3, arbitrary: authCmd }, { weight: 2, arbitrary: helloCmd }, { weight: 2, arbitrary: aclCmd }, { weight: 3, arbitrary: probe });

/** A command as RESP multibulk bytes. */
function resp(args: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.flatMap((a) => [Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n')])]);
}
const SEEDS = [
  [['AUTH', 'writer', PASSWORDS.writer], ['INCR', 'k'], ['FLUSHALL']],
  [['HELLO', '2', 'AUTH', 'root', PASSWORDS.root, 'SETNAME', 'x'], ['ACL', 'LIST'], ['CONFIG', 'GET', 'databases']],
  [['AUTH', 'viewer', 'nope'], ['AUTH', PASSWORDS.viewer], ['ACL', 'WHOAMI'], ['GET', 'k'], ['INCR', 'k']],
].map((cmds) => Uint8Array.from(Buffer.concat(cmds.map((c) => resp(c.map((w) => Buffer.from(w)))))));

describe('AUTH, HELLO and ACL fuzz', () => {
  it(`never throws and never lets a session past its checks (${RUNS} random command sequences)`, async () => {
    await fc.assert(fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 12 }), (cmds) => check(cmds)), { numRuns: RUNS });
  });

  it(`the same through the RESP parser, from mutated pipelines (${RUNS} inputs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fuzzBytes(SEEDS, 200), async (bytes) => {
        const p = new RespParser({ maxBulkBytes: 4096, maxInlineBytes: 1024, maxMultibulkLength: 64 });
        p.push(Buffer.from(bytes));
        const cmds: Buffer[][] = [];
        for (let r = p.next(); r !== null && Array.isArray(r); r = p.next()) cmds.push(r.map((a) => Buffer.from(a)));
        await check(cmds);
      }),
      { numRuns: RUNS },
    );
  });
});
