// Connection and server commands: PING, ECHO, AUTH, HELLO, SELECT, QUIT, CLIENT, DBSIZE, FLUSHDB,
// FLUSHALL, CONFIG GET, INFO. COMMAND lives in table.ts, which it describes.

import { timingSafeEqual } from 'node:crypto';
import { DATABASES } from '../../keyspace/keyspace.js';
import * as errors from '../../errors.js';
import { CLOSE_OK, EMPTY_ARRAY, OK, PONG, reply, type Reply } from './reply.js';
import { ERR_NOT_INTEGER, ERR_SYNTAX, globMatch, parseInt64, wrongArity } from './parse.js';
import type { CommandServices, CommandSpec, Session } from './types.js';
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

const bulk = (v: string | Buffer): Reply => ({ kind: 'bulk', value: v });

function checkPassword(ctx: CommandServices, given: Buffer): boolean {
  if (ctx.password === null) return false;
  const want = Buffer.from(ctx.password, 'utf8');
  return want.length === given.length && timingSafeEqual(want, given);
}

const WRONGPASS: Reply = Object.freeze(reply.error(errors.WRONGPASS));
const AUTH_WITHOUT_PASSWORD: Reply = Object.freeze(reply.error(errors.AUTH_WITHOUT_PASSWORD));
const CLIENT_NAME_INVALID: Reply = Object.freeze(reply.error(errors.CLIENT_NAME_INVALID));
const DEFAULT_USER = Buffer.from('default');

/**
 * AUTH password | AUTH username password, answered as Redis 7.0 answers with its one user, `default`
 * (usernames are case-sensitive): more words are a syntax error, another user is WRONGPASS. With no
 * password configured, `default` takes any password, as Redis's `nopass` default user does, while
 * the one-word form answers Redis's "called without any password configured" error.
 */
function auth(ctx: CommandServices, s: Session, a: readonly Buffer[]): Reply {
  if (a.length > 3) return ERR_SYNTAX;
  if (a.length < 2) return wrongArity('auth');
  if (a.length === 3 && !(a[1] as Buffer).equals(DEFAULT_USER)) return WRONGPASS;
  if (ctx.password === null) return a.length === 2 ? AUTH_WITHOUT_PASSWORD : OK;
  if (!checkPassword(ctx, a[a.length - 1] as Buffer)) return WRONGPASS;
  s.authenticated = true;
  return OK;
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
    `idle=${Math.floor((now - c.lastCommandAt) / 1000)} db=${c.db} proto=${c.protocol} cmd=${c.lastCommand}`
  );
}

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
  {
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
      for (; i < a.length; i++) {
        const opt = asciiLower(a[i] as Buffer);
        if (opt === 'auth' && i + 2 < a.length) {
          const r = auth(ctx, s, [Buffer.from('auth'), a[i + 1] as Buffer, a[i + 2] as Buffer]);
          if (r.kind === 'error') return r;
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
      // The protocol switches only once every option has succeeded, as in Redis; this reply is the first in it.
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
  },
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
    keys: [0, 0, 0],
    // SETINFO is Redis 7.2's; clients send it at connect and tally accepts it.
    subcommands: { setname: 3, getname: 2, id: 2, info: 2, list: -2, setinfo: -4, help: 2 },
    run: (ctx, s, a) => {
      const sub = asciiLower(a[1] as Buffer);
      switch (sub) {
        case 'setname':
          return a.length === 3 ? setClientName(s, a[2] as Buffer) : wrongArity('client|setname');
        case 'getname':
          return a.length === 2 ? { kind: 'bulk', value: s.name } : wrongArity('client|getname');
        case 'id':
          return a.length === 2 ? { kind: 'int', value: s.id } : wrongArity('client|id');
        case 'info':
          return a.length === 2 ? reply.verbatim(clientInfoLine(ctx, s) + '\n') : wrongArity('client|info');
        case 'list':
          return reply.verbatim(ctx.listClients().map((c) => clientInfoLine(ctx, c) + '\n').join(''));
        case 'setinfo':
          return OK; // redis clients announce lib-name/lib-ver; nothing to store
        case 'help':
          return a.length === 2 ? CLIENT_HELP : wrongArity('client|help');
        default:
          return reply.errorBytes(errors.unknownSubcommand(a[1] as Buffer, 'CLIENT'));
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
    flags: ['write'],
    keys: [0, 0, 0],
    run: (ctx, s, a) => flush(ctx, a, 'flushdb', s.db),
  },
  {
    name: 'flushall',
    arity: -1,
    flags: ['write'],
    keys: [0, 0, 0],
    run: (ctx, _s, a) => flush(ctx, a, 'flushall', undefined),
  },
  {
    name: 'config',
    arity: -2,
    flags: ['admin', 'noscript'],
    keys: [0, 0, 0],
    subcommands: { get: -3, set: -4, rewrite: 2, resetstat: 2, help: 2 },
    run: (ctx, _s, a) => {
      const sub = asciiLower(a[1] as Buffer);
      if (sub === 'get') return a.length < 3 ? wrongArity('config|get') : configGet(ctx, a);
      if (sub === 'help') return a.length === 2 ? CONFIG_HELP : wrongArity('config|help');
      if (sub === 'set' || sub === 'rewrite' || sub === 'resetstat') {
        return reply.error(errors.configUnsupported(sub.toUpperCase()));
      }
      return reply.errorBytes(errors.unknownSubcommand(a[1] as Buffer, 'CONFIG'));
    },
  },
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
