// Connection and server commands: PING, ECHO, AUTH, HELLO, SELECT, QUIT, CLIENT, DBSIZE, FLUSHDB,
// FLUSHALL, CONFIG GET, ACL, INFO. COMMAND lives in table.ts, which it describes.

import { DATABASES } from '../../keyspace/keyspace.js';
import * as errors from '../../errors.js';
import { CLOSE_OK, EMPTY_ARRAY, OK, PONG, reply, type Reply } from './reply.js';
import { ERR_NOT_INTEGER, ERR_SYNTAX, globMatch, parseInt64, wrongArity } from './parse.js';
import type { CommandServices, CommandSpec, LoginResult, Session, SessionAuth } from './types.js';
import { Authenticator } from '../auth/authenticator.js';
import { DEFAULT_USER, UserTable } from '../auth/users.js';
import { renderInfo } from './info.js';
import { helpReply } from './help.js';
import { BUSY_REPLY_THRESHOLD_MS } from '../scripting/limits.js';

const CLIENT_HELP = helpReply('CLIENT', [
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
]);
const CONFIG_HELP = helpReply('CONFIG', [
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
]);

const ACL_HELP = helpReply('ACL', [
  'LIST',
  '    Show users details in config file format.',
  'USERS',
  '    List all the registered usernames.',
  'WHOAMI',
  '    Return the current connection username.',
]);

const bulk = (v: string | Buffer): Reply => ({ kind: 'bulk', value: v });

const CLIENT_NAME_INVALID: Reply = Object.freeze(reply.error(errors.CLIENT_NAME_INVALID));

/** Unit tests build command services without `auth`: one `default` user with their `password`, no delays. */
const legacyAuth = new WeakMap<CommandServices, SessionAuth>();
function authOf(ctx: CommandServices): SessionAuth {
  if (ctx.auth !== undefined) return ctx.auth;
  let a = legacyAuth.get(ctx);
  if (a === undefined) {
    a = new Authenticator({ users: new UserTable(ctx.password), limiter: { baseDelayMs: 0, maxDelayMs: 0, maxFailuresPerConnection: Infinity } });
    legacyAuth.set(ctx, a);
  }
  return a;
}

/** A failed login's reply: the error, and the connection closed after it when the limiter says so. */
function loginReply(r: LoginResult): Reply {
  if (r.ok) return OK;
  return r.close ? reply.close(reply.error(r.error)) : reply.error(r.error);
}

/**
 * Logs `s` in. The arguments may be views of a socket buffer and the check may finish later
 * (scrypt, the limiter's delays), so they are copied first.
 */
function login(ctx: CommandServices, s: Session, user: Buffer | null, password: Buffer): LoginResult | Promise<LoginResult> {
  return authOf(ctx).login(s, user === null ? null : Buffer.from(user), Buffer.from(password));
}

/**
 * AUTH password | AUTH username password, answered as Redis 7.0 answers: more words are a syntax
 * error; an unknown user or a wrong password is WRONGPASS (usernames are case-sensitive), and a
 * failure keeps an earlier login. On a node without credentials `default` takes any password, as
 * Redis's `nopass` default user does, while the one-word form answers Redis's "called without any
 * password configured" error. Failures are slowed (src/server/auth/auth-limiter.ts).
 */
function auth(ctx: CommandServices, s: Session, a: readonly Buffer[]): Reply | Promise<Reply> {
  if (a.length > 3) return ERR_SYNTAX; // fewer than 2: the table's arity
  const r = login(ctx, s, a.length === 3 ? (a[1] as Buffer) : null, a[a.length - 1] as Buffer);
  return r instanceof Promise ? r.then(loginReply) : loginReply(r);
}

/**
 * `POST` and `Host:` as command names are an HTTP request arriving on the RESP port, most likely
 * sent by a web page a browser loaded (cross-protocol scripting: the body would run as commands).
 * As Redis does since 3.2.7, the connection is closed at once, unanswered, and the attempt logged.
 */
function crossProtocol(name: string): CommandSpec {
  return {
    name,
    arity: -1,
    flags: ['noauth', 'connection'],
    keys: [0, 0, 0],
    run: (ctx, s) => {
      authOf(ctx).suspicious(s, name);
      return CLOSE_SILENT;
    },
  };
}
const CLOSE_SILENT: Reply = Object.freeze({ kind: 'close' });

/** ACL WHOAMI, LIST, USERS; the subcommands that change users answer that users live in the config. */
function acl(ctx: CommandServices, s: Session, a: readonly Buffer[]): Reply {
  const sub = asciiLower(a[1] as Buffer);
  // The command table checked the subcommand and its arity (`subcommands` below).
  switch (sub) {
    case 'whoami':
      return bulk(s.user ?? DEFAULT_USER);
    case 'list':
      return { kind: 'array', value: authOf(ctx).aclList().map((l) => bulk(l)) };
    case 'users':
      return { kind: 'array', value: authOf(ctx).userNames().map((n) => bulk(n)) };
    case 'help':
      return ACL_HELP;
    default: // SETUSER, DELUSER, LOAD, SAVE: the table knows no other subcommand
      return reply.error(errors.aclUnsupported(sub.toUpperCase()));
  }
}

/**
 * CLIENT SETNAME and HELLO SETNAME, as Redis: an empty name removes the name; any byte outside
 * `!`..`~` is refused (CLIENT LIST separates its fields with spaces), and the name stays as it was.
 */
function setClientName(s: Session, name: Buffer): Reply {
  for (const c of name) if (c < 0x21 || c > 0x7e) return CLIENT_NAME_INVALID;
  s.name = name.length === 0 ? null : name.toString('latin1');
  return OK;
}

/** Lower-cases ASCII letters only, as C's tolower does where Redis compares names. */
function asciiLower(b: Buffer): string {
  return b.toString('latin1').replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * CONFIG GET, as Redis 7.0 answers it: a word with no glob character (`*`, `?`, `[`) names one
 * parameter in any case and comes back as sent; a pattern matches names case-insensitively and
 * yields them as tally spells them. A parameter named twice (in any case, by name or by pattern)
 * comes back once, as first named. Redis lists several in its hash table's order; tally lists them
 * in the order they were named (patterns: in the order of `configValues`).
 */
function configGet(ctx: CommandServices, a: readonly Buffer[]): Reply {
  const values = { ...ctx.configValues(), ...SCRIPT_CONFIG };
  const out: [Reply, Reply][] = [];
  const seen = new Set<string>();
  for (let i = 2; i < a.length; i++) {
    const word = a[i] as Buffer;
    const lower = asciiLower(word);
    if (!/[*?[]/.test(lower)) {
      if (Object.hasOwn(values, lower) && !seen.has(lower)) {
        seen.add(lower);
        out.push([bulk(Buffer.from(word)), bulk(values[lower] as string)]);
      }
      continue;
    }
    for (const [k, v] of Object.entries(values)) {
      if (!seen.has(k) && globMatch(lower, k)) {
        seen.add(k);
        out.push([bulk(k), bulk(v)]);
      }
    }
  }
  return reply.map(out);
}

/** Scripting's settings, fixed in tally (scripting/runner.ts): reported as Redis names them. */
const SCRIPT_CONFIG: Record<string, string> = { 'busy-reply-threshold': String(BUSY_REPLY_THRESHOLD_MS), 'lua-time-limit': String(BUSY_REPLY_THRESHOLD_MS) };

function clientInfoLine(ctx: CommandServices, c: Session): string {
  const now = ctx.now();
  return (
    `id=${c.id} addr=${c.remoteAddress} name=${c.name ?? ''} age=${Math.floor((now - c.createdAt) / 1000)} ` +
    `idle=${Math.floor((now - c.lastCommandAt) / 1000)} db=${c.db} proto=${c.protocol} cmd=${c.lastCommand} ` +
    // Redis 7.0's fields of the same names: the connection's user (none before AUTH) and RESP version.
    `user=${c.user ?? (c.authenticated ? DEFAULT_USER : '')} resp=${c.resp ?? 2}`
  );
}

/**
 * HELLO [protover [AUTH username password] [SETNAME clientname]], options applied in order as Redis
 * 7.0 does. An AUTH option whose check finishes later (scrypt, the limiter) continues with the options
 * after it once it succeeds. `protover` 3 switches the connection to RESP3, only once every option
 * has succeeded (a failed AUTH leaves the protocol as it was), as in Redis; the reply is the first
 * in the new protocol.
 */
const hello: CommandSpec = {
  name: 'hello',
  arity: -1,
  flags: ['noauth', 'fast', 'connection', 'noscript', 'allow_busy'],
  keys: [0, 0, 0],
  run: (ctx, s, a) => {
    let i = 1;
    let proto: 2 | 3 = s.resp ?? 2;
    if (a.length > 1) {
      const v = parseInt64(a[1] as Buffer);
      if (v === null || v === 'range') return reply.error(errors.HELLO_PROTOCOL_NOT_INTEGER);
      if (v !== 2 && v !== 3) return reply.error(errors.NOPROTO);
      proto = v;
      i = 2;
    }
    const first = i;
    for (; i < a.length; i++) {
      const opt = asciiLower(a[i] as Buffer);
      if (opt === 'auth' && i + 2 < a.length) {
        const r = login(ctx, s, a[i + 1] as Buffer, a[i + 2] as Buffer);
        if (r instanceof Promise) {
          // The rest of the command, copied (the arguments may be views of a socket buffer), runs after the check.
          const rest = [...a.slice(0, first), ...a.slice(i + 3)].map((b) => Buffer.from(b));
          return r.then((v) => (v.ok ? hello.run(ctx, s, rest) : loginReply(v)));
        }
        if (!r.ok) return loginReply(r);
        i += 2;
      } else if (opt === 'setname' && i + 1 < a.length) {
        // Set at once, as Redis 7.0 does: it stays even if a later option or the AUTH check fails.
        const r = setClientName(s, a[i + 1] as Buffer);
        if (r.kind === 'error') return r;
        i += 1;
      } else {
        return reply.errorBytes(errors.helloSyntax(a[i] as Buffer));
      }
    }
    if (!s.authenticated) return reply.error(errors.HELLO_NOAUTH);
    s.resp = proto;
    return reply.map([
      [bulk('server'), bulk('tally')],
      [bulk('version'), bulk(ctx.version)],
      [bulk('proto'), { kind: 'int', value: proto }],
      [bulk('id'), { kind: 'int', value: s.id }],
      [bulk('mode'), bulk('standalone')],
      [bulk('role'), bulk('master')],
      [bulk('modules'), EMPTY_ARRAY],
    ]);
  },
};

export const serverCommands: CommandSpec[] = [
  {
    name: 'ping',
    arity: -1,
    flags: ['fast', 'connection'],
    keys: [0, 0, 0],
    run: (_ctx, _s, a) => (a.length === 1 ? PONG : a.length === 2 ? bulk(a[1] as Buffer) : wrongArity('ping')),
  },
  {
    name: 'echo',
    arity: 2,
    flags: ['fast', 'connection'],
    keys: [0, 0, 0],
    run: (_ctx, _s, a) => bulk(Buffer.from(a[1] as Buffer)),
  },
  { name: 'auth', arity: -2, flags: ['noauth', 'fast', 'connection', 'noscript', 'allow_busy'], keys: [0, 0, 0], run: auth },
  hello,
  {
    name: 'select',
    arity: 2,
    flags: ['fast', 'connection'],
    keys: [0, 0, 0],
    run: (_ctx, s, a) => {
      const db = parseInt64(a[1] as Buffer);
      if (db === null || db === 'range') return ERR_NOT_INTEGER;
      if (db < 0 || db >= DATABASES) return reply.error(errors.DB_INDEX_OUT_OF_RANGE);
      s.db = db;
      return OK;
    },
  },
  { name: 'quit', arity: -1, flags: ['noauth', 'fast', 'connection', 'noscript', 'allow_busy'], keys: [0, 0, 0], run: () => CLOSE_OK },
  {
    name: 'client',
    arity: -2,
    flags: ['connection', 'noscript'],
    // CLIENT LIST shows every client's address and name: admin only, as Redis's client|list (@admin).
    subcommandFlags: { setname: ['connection'], getname: ['connection'], id: ['connection'], info: ['connection'], setinfo: ['connection'], help: ['connection'], list: ['admin', 'connection'] },
    keys: [0, 0, 0],
    // SETINFO is Redis 7.2's; clients send it at connect and tally accepts it.
    subcommands: { setname: 3, getname: 2, id: 2, info: 2, list: -2, setinfo: -4, help: 2 },
    // The table has checked the subcommand and its arity (runCommand; CLIENT is noscript).
    run: (ctx, s, a) => {
      const sub = asciiLower(a[1] as Buffer);
      switch (sub) {
        case 'setname':
          return setClientName(s, a[2] as Buffer);
        case 'getname':
          return { kind: 'bulk', value: s.name };
        case 'id':
          return { kind: 'int', value: s.id };
        case 'info':
          return reply.verbatim(clientInfoLine(ctx, s) + '\n');
        case 'list':
          return reply.verbatim(ctx.listClients().map((c) => clientInfoLine(ctx, c) + '\n').join(''));
        case 'setinfo':
          return OK; // redis clients announce lib-name/lib-ver; nothing to store
        default: // help
          return CLIENT_HELP;
      }
    },
  },
  {
    name: 'dbsize',
    arity: 1,
    flags: ['readonly', 'fast'],
    keys: [0, 0, 0],
    run: (ctx, s) => ({ kind: 'int', value: ctx.keyspace.countByDb()[s.db] ?? 0 }),
  },
  {
    name: 'flushdb',
    arity: -1,
    flags: ['write', 'admin'],
    keys: [0, 0, 0],
    run: (ctx, s, a) => flush(ctx, a, 'flushdb', s.db),
  },
  {
    name: 'flushall',
    arity: -1,
    flags: ['write', 'admin'],
    keys: [0, 0, 0],
    run: (ctx, _s, a) => flush(ctx, a, 'flushall', undefined),
  },
  {
    name: 'config',
    arity: -2,
    flags: ['admin', 'noscript'],
    subcommandFlags: { get: ['admin'], set: ['admin'], rewrite: ['admin'], resetstat: ['admin'], help: ['connection'] },
    keys: [0, 0, 0],
    subcommands: { get: -3, set: -4, rewrite: 2, resetstat: 2, help: 2 },
    // The table has checked the subcommand and its arity (runCommand; CONFIG is noscript).
    run: (ctx, _s, a) => {
      const sub = asciiLower(a[1] as Buffer);
      if (sub === 'get') return configGet(ctx, a);
      if (sub === 'help') return CONFIG_HELP;
      return reply.error(errors.configUnsupported(sub.toUpperCase())); // SET, REWRITE, RESETSTAT
    },
  },
  {
    name: 'acl',
    arity: -2,
    flags: ['admin'],
    // WHOAMI for everyone; the rest (and any subcommand not listed) for admins.
    subcommandFlags: { whoami: ['connection'], help: ['connection'], list: ['admin'], users: ['admin'], setuser: ['admin'], deluser: ['admin'], load: ['admin'], save: ['admin'] },
    keys: [0, 0, 0],
    // Checked before the command runs, and while a MULTI queues (an unknown one aborts EXEC), as Redis.
    subcommands: { whoami: 2, list: 2, users: 2, help: 2, setuser: -3, deluser: -3, load: 2, save: 2 },
    run: acl,
  },
  crossProtocol('post'),
  crossProtocol('host:'),
  {
    name: 'info',
    arity: -1,
    flags: ['readonly'],
    keys: [0, 0, 0],
    run: (ctx, _s, a) => reply.verbatim(renderInfo(ctx, a.slice(1).map((b) => b.toString().toLowerCase()))),
  },
];

function flush(ctx: CommandServices, a: readonly Buffer[], name: string, db: number | undefined): Reply {
  if (a.length > 2) return ERR_SYNTAX;
  if (a.length === 2) {
    const mode = (a[1] as Buffer).toString().toLowerCase();
    if (mode !== 'sync' && mode !== 'async') return ERR_SYNTAX;
  }
  void name;
  ctx.keyspace.flush(db);
  return OK;
}
