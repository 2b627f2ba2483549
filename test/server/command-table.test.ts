// The command table: name lookup from the name's bytes (any letter case, exact names only), and the
// replies that must be Redis 7.0's byte for byte (what RESP sends), from literals redis-server sent.
// test/oracle/ compares the same cases, and many more, with a live redis-server.
import { describe, expect, it } from 'vitest';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { encodeReplyToBuffer } from '../../src/server/resp/encoder.js';
import { commandNames, execute, lookupBytes, resolveCommand } from '../../src/server/commands/table.js';
import type { CommandServices, Session } from '../../src/server/commands/types.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A node's command table with no peers, and one session: `resp(...words)` answers RESP's exact bytes. */
function node(password: string | null = null): { resp: (...words: (string | Buffer)[]) => Buffer; session: Session } {
  const ctx: CommandServices = {
    keyspace: new Keyspace('n1:1'),
    password,
    counterTypeFor: () => 'pncounter',
    nodeId: 'n1',
    clusterName: 't',
    version: '0',
    now: () => 0,
    info: () => ({}),
    configValues: () => ({ databases: '16', save: '', appendonly: 'no', maxclients: '10000' }),
    listClients: () => [],
  };
  const session: Session = { id: 1, db: 0, name: null, authenticated: password === null, protocol: 'resp', remoteAddress: '', createdAt: 0, lastCommandAt: 0, lastCommand: '' };
  const resp = (...words: (string | Buffer)[]): Buffer => {
    const r = execute(ctx, session, words.map((w) => (typeof w === 'string' ? Buffer.from(w, 'utf8') : w)));
    if (r instanceof Promise) throw new Error('these commands answer at once');
    return encodeReplyToBuffer(r);
  };
  return { resp, session };
}

/** The bytes of a RESP reply written as text, one character a byte (`\xc3` stays one byte). */
const bytes = (latin1: string): Buffer => Buffer.from(latin1, 'latin1');

describe('subcommands', () => {
  it('every command with per-subcommand rights names the same subcommands in its table, so an unknown one is refused before it runs (and while a MULTI queues)', () => {
    for (const name of commandNames()) {
      const spec = lookupBytes(b(name));
      if (spec?.subcommandFlags === undefined) continue;
      expect(Object.keys(spec.subcommands ?? {}).sort(), name).toEqual(Object.keys(spec.subcommandFlags).sort());
    }
  });
});

describe('command lookup by bytes', () => {
  it('resolves every command in lower, upper and mixed case, to the spec of that name', () => {
    const names = commandNames();
    expect(new Set(names).size).toBe(names.length); // no name is defined twice
    for (const name of names) {
      const mixed = [...name].map((ch, i) => (i % 2 === 0 ? ch.toUpperCase() : ch)).join('');
      for (const spelling of [name, name.toUpperCase(), mixed]) expect(lookupBytes(b(spelling))?.name).toBe(name);
    }
  });

  it('finds nothing for near misses, prefixes, extensions, empty and non-letter case folds', () => {
    for (const miss of ['', 'inc', 'incrr', 'incr ', ' incr', 'in\u00e7r', 'pfaddx', 'x'.repeat(100), 'INCR\u0000']) {
      expect(lookupBytes(b(miss))).toBeUndefined();
    }
    // Only A-Z fold: '@' (0x40) and '`' (0x60) differ by the same bit as 'A' and 'a', and must not match.
    expect(lookupBytes(b('window.incrby'))?.name).toBe('window.incrby');
    expect(lookupBytes(b('window\u000eincrby'))).toBeUndefined();
  });

  it('finds nothing for a name of the same length whose folded FNV-1a hash equals a command\'s (a hash match is not a name match)', () => {
    // 'incrb' + six bytes, found by a meet-in-the-middle search: the same 32-bit hash as INCRBYFLOAT.
    const twin = Buffer.from('696e6372629394d99f0014', 'hex');
    const fnv = (x: Buffer): number => x.reduce((h, c) => Math.imul(h ^ (c >= 65 && c <= 90 ? c | 32 : c), 0x01000193), 0x811c9dc5) >>> 0;
    expect(twin.length).toBe('incrbyfloat'.length);
    expect(fnv(twin)).toBe(fnv(b('INCRBYFLOAT')));
    expect(resolveCommand(twin)).toBeUndefined();
    expect(resolveCommand(b('INCRBYFLOAT'))?.spec.name).toBe('incrbyfloat');
    const { resp } = node();
    expect(resp(twin, 'k', '1').toString('latin1')).toMatch(/^-ERR unknown command 'incrb.*', with args beginning with: 'k' '1' \r\n$/s);
    expect(resp('GET', 'k')).toEqual(bytes('$-1\r\n'));
  });

  it('no proper prefix of a command name resolves to it, not even one in the same bucket of the name table', () => {
    const fnv = (x: Buffer): number => x.reduce((h, c) => Math.imul(h ^ (c >= 65 && c <= 90 ? c | 32 : c), 0x01000193), 0x811c9dc5) >>> 0;
    // The table's buckets are the hash's low 10 bits: 'd' falls in DECR's, so the compare meets it.
    expect(fnv(b('d')) & 1023).toBe(fnv(b('decr')) & 1023);
    expect(resolveCommand(b('d'))).toBeUndefined();
    expect(resolveCommand(b('D'))).toBeUndefined();
    for (const name of commandNames()) {
      for (let len = 0; len < name.length; len++) expect(resolveCommand(b(name.slice(0, len)))?.spec.name).not.toBe(name);
    }
  });

  it('looks up a view into a larger buffer by its own bytes only', () => {
    const big = b('xxINCRyy');
    expect(lookupBytes(big.subarray(2, 6))?.name).toBe('incr');
    expect(lookupBytes(big.subarray(2, 7))).toBeUndefined();
  });

  it('resolves a command to its position in commandNames(), the index per-command counters use', () => {
    const names = commandNames();
    names.forEach((name, i) => {
      const c = resolveCommand(b(name.toUpperCase()));
      expect(c?.index).toBe(i);
      expect(c?.spec.name).toBe(name);
    });
    expect(resolveCommand(undefined)).toBeUndefined();
    expect(resolveCommand(b('nosuch'))).toBeUndefined();
  });
});

describe('PFADD, PFCOUNT and PFMERGE on a key that is not an HLL', () => {
  it("answer Redis's own WRONGTYPE text, for the key, any source and the destination", () => {
    const { resp } = node();
    const NOT_HLL = bytes('-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n');
    resp('INCR', 'n');
    resp('PFADD', 'h', 'x');
    resp('WINDOW.CREATE', 'w', '1', '60');
    expect(resp('PFADD', 'n', 'x')).toEqual(NOT_HLL);
    expect(resp('PFADD', 'n')).toEqual(NOT_HLL);
    expect(resp('PFCOUNT', 'n')).toEqual(NOT_HLL);
    expect(resp('PFCOUNT', 'h', 'missing', 'n')).toEqual(NOT_HLL);
    expect(resp('PFMERGE', 'n', 'h')).toEqual(NOT_HLL);
    expect(resp('PFMERGE', 'h', 'n')).toEqual(NOT_HLL);
    expect(resp('PFMERGE', 'new', 'h', 'n')).toEqual(NOT_HLL);
    expect(resp('EXISTS', 'new')).toEqual(bytes(':0\r\n'));
    // TYPE calls every tally key a string, so a window is a string that holds no HLL too.
    expect(resp('PFADD', 'w', 'x')).toEqual(NOT_HLL);
    // Other commands keep the general text.
    expect(resp('INCR', 'h')).toEqual(bytes('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'));
  });
});

describe('an unknown command', () => {
  it("is answered as Redis 7.0's processCommand writes it, byte for byte", () => {
    const { resp } = node();
    const x140 = 'x'.repeat(140);
    const digits70 = '1234567890'.repeat(7);
    const cases: [(string | Buffer)[], string][] = [
      [['NOSUCH'], "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"],
      [['nosuchcmd', 'a'], "-ERR unknown command 'nosuchcmd', with args beginning with: 'a' \r\n"],
      // The name is cut to 128 bytes, with no "...".
      [[x140], `-ERR unknown command '${'x'.repeat(128)}', with args beginning with: \r\n`],
      // Arguments are shown while under 128 bytes in all, the last cut to what is left.
      [['NOSUCH', 'a'.repeat(140), 'b'], `-ERR unknown command 'NOSUCH', with args beginning with: '${'a'.repeat(128)}' \r\n`],
      [['NOSUCH', digits70, digits70.slice(0, 60), 'zz'], `-ERR unknown command 'NOSUCH', with args beginning with: '${digits70}' '${digits70.slice(0, 55)}' \r\n`],
      [['NOSUCH', ...'123456789'.split('')], `-ERR unknown command 'NOSUCH', with args beginning with: ${'123456789'.split('').map((c) => `'${c}' `).join('')}\r\n`],
      // C strings: a NUL byte ends a word. CR and LF become spaces.
      [[b('NO\x00SUCH'), b('a\x00b'), 'c'], "-ERR unknown command 'NO', with args beginning with: 'a' 'c' \r\n"],
      [['x', 'a\r\nb'], "-ERR unknown command 'x', with args beginning with: 'a  b' \r\n"],
    ];
    for (const [words, want] of cases) expect(resp(...words).toString('latin1'), words.join(' ')).toBe(want);
  });

  it("sends the client's bytes back as they came, even cut inside a UTF-8 character", () => {
    const { resp } = node();
    expect(resp('NOSUCH', 'a', 'h\u00e9llo')).toEqual(Buffer.from("-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'h\u00e9llo' \r\n", 'utf8'));
    // 'x0' takes 5 bytes, leaving 123 for 70 two-byte characters: 61 of them and the first byte of one.
    const got = resp('NOSUCH', 'x0', '\u00e9'.repeat(70), 'z');
    const want = Buffer.concat([Buffer.from("-ERR unknown command 'NOSUCH', with args beginning with: 'x0' '" + '\u00e9'.repeat(61), 'utf8'), bytes("\xc3' \r\n")]);
    expect(got).toEqual(want);
  });
});

describe('an unknown subcommand', () => {
  it('is shown as the client sent it: its case and its bytes, cut to 128 bytes', () => {
    const { resp } = node();
    expect(resp('CLIENT', 'FOO').toString('latin1')).toBe("-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
    expect(resp('config', 'NoSuch').toString('latin1')).toBe("-ERR unknown subcommand 'NoSuch'. Try CONFIG HELP.\r\n");
    expect(resp('command', 'foo').toString('latin1')).toBe("-ERR unknown subcommand 'foo'. Try COMMAND HELP.\r\n");
    expect(resp('CONFIG', 'h\u00e9')).toEqual(Buffer.from("-ERR unknown subcommand 'h\u00e9'. Try CONFIG HELP.\r\n", 'utf8'));
    expect(resp('CLIENT', 'f\r\no').toString('latin1')).toBe("-ERR unknown subcommand 'f  o'. Try CLIENT HELP.\r\n");
    expect(resp('CLIENT', b('a\x00b')).toString('latin1')).toBe("-ERR unknown subcommand 'a'. Try CLIENT HELP.\r\n");
    expect(resp('CLIENT', 'y'.repeat(150)).toString('latin1')).toBe(`-ERR unknown subcommand '${'y'.repeat(128)}'. Try CLIENT HELP.\r\n`);
  });

  it('is any name the table does not list itself, even one every object has (constructor, __proto__, toString)', () => {
    const { resp } = node();
    for (const [cmd, sub] of [['CLIENT', 'constructor'], ['CONFIG', '__proto__'], ['MEMORY', 'toString'], ['SLOWLOG', 'hasOwnProperty'], ['ACL', 'valueOf']] as const) {
      expect(resp(cmd, sub).toString('latin1')).toBe(`-ERR unknown subcommand '${sub}'. Try ${cmd} HELP.\r\n`);
    }
    expect(resp('EVAL', "return redis.pcall('memory', 'constructor')", '0').toString('latin1')).toMatch(/^-ERR Unknown Redis command called from script/);
  });

  it('and so is an unknown HELLO option', () => {
    const { resp } = node();
    expect(resp('HELLO', '2', 'Foo').toString('latin1')).toBe("-ERR Syntax error in HELLO option 'Foo'\r\n");
    expect(resp('HELLO', '2', 'SETNAME').toString('latin1')).toBe("-ERR Syntax error in HELLO option 'SETNAME'\r\n");
    expect(resp('HELLO', '2', 'h\u00e9')).toEqual(Buffer.from("-ERR Syntax error in HELLO option 'h\u00e9'\r\n", 'utf8'));
  });
});

describe('AUTH', () => {
  const WRONGPASS = '-WRONGPASS invalid username-password pair or user is disabled.\r\n';

  it('without a password: the default user takes any password, other users do not exist', () => {
    const { resp } = node();
    expect(resp('AUTH', 'default', 'anything').toString()).toBe('+OK\r\n');
    expect(resp('AUTH', 'DEFAULT', 'anything').toString()).toBe(WRONGPASS);
    expect(resp('AUTH', 'bob', 'secret').toString()).toBe(WRONGPASS);
    expect(resp('AUTH', 'a', 'b', 'c').toString()).toBe('-ERR syntax error\r\n');
    expect(resp('AUTH', 'secret').toString()).toBe(
      '-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n',
    );
    expect(resp('AUTH').toString()).toBe("-ERR wrong number of arguments for 'auth' command\r\n");
    expect(resp('HELLO', '2', 'AUTH', 'bob', 'x').toString()).toBe(WRONGPASS);
    expect(resp('HELLO', '2', 'AUTH', 'default', 'x').toString()).toMatch(/^\*14\r\n/);
  });

  it('with a password: the one- and two-word forms, as redis-server --requirepass answers them', () => {
    const { resp, session } = node('secret');
    expect(resp('AUTH', 'wrong').toString()).toBe(WRONGPASS);
    expect(resp('AUTH', 'default', 'wrong').toString()).toBe(WRONGPASS);
    expect(resp('AUTH', 'bob', 'secret').toString()).toBe(WRONGPASS);
    expect(resp('AUTH', 'DEFAULT', 'secret').toString()).toBe(WRONGPASS);
    expect(resp('AUTH', 'a', 'b', 'c').toString()).toBe('-ERR syntax error\r\n');
    expect(session.authenticated).toBe(false);
    expect(resp('AUTH', 'secret').toString()).toBe('+OK\r\n');
    expect(session.authenticated).toBe(true);
    const other = node('secret');
    expect(other.resp('AUTH', 'default', 'secret').toString()).toBe('+OK\r\n');
    expect(other.session.authenticated).toBe(true);
  });
});

describe('client names', () => {
  const INVALID = '-ERR Client names cannot contain spaces, newlines or special characters.\r\n';

  it('take only bytes from ! to ~; a refused name leaves the name as it was; an empty one removes it', () => {
    const { resp } = node();
    expect(resp('CLIENT', 'SETNAME', '!a-b_c.d~').toString()).toBe('+OK\r\n');
    for (const bad of ['a b', 'a\u00e9', 'x\n', 'a\tb', 'x\u007f', 'a\u0000b', '\u00a0']) {
      expect(resp('CLIENT', 'SETNAME', bad).toString(), JSON.stringify(bad)).toBe(INVALID);
      expect(resp('CLIENT', 'GETNAME').toString()).toBe('$9\r\n!a-b_c.d~\r\n');
    }
    expect(resp('CLIENT', 'SETNAME', '').toString()).toBe('+OK\r\n');
    expect(resp('CLIENT', 'GETNAME').toString()).toBe('$-1\r\n');
  });

  it('CLIENT INFO names the user and the RESP version, as Redis 7.0 does', () => {
    const { resp } = node();
    expect(resp('CLIENT', 'INFO').toString()).toMatch(/ user=default resp=2\n\r\n$/);
    resp('HELLO', '3');
    expect(resp('CLIENT', 'INFO').toString()).toMatch(/ user=default resp=3\n\r\n$/);
    const locked = node('secret');
    expect(locked.resp('AUTH', 'secret').toString()).toBe('+OK\r\n');
    expect(locked.resp('CLIENT', 'INFO').toString()).toMatch(/ user=default resp=2\n\r\n$/);
  });

  it('HELLO SETNAME checks the name the same way, and sets it at once, as Redis 7.0 does', () => {
    const { resp } = node();
    expect(resp('HELLO', '2', 'SETNAME', 'a b').toString()).toBe(INVALID);
    expect(resp('HELLO', '2', 'setname', 'ab', 'FOO').toString()).toBe("-ERR Syntax error in HELLO option 'FOO'\r\n");
    expect(resp('CLIENT', 'GETNAME').toString()).toBe('$2\r\nab\r\n');
    expect(resp('HELLO', '2', 'SETNAME', '').toString()).toMatch(/^\*14\r\n/);
    expect(resp('CLIENT', 'GETNAME').toString()).toBe('$-1\r\n');
  });
});

describe('CONFIG GET', () => {
  it('echoes a name as sent, gives a pattern\'s matches as tally spells them, and each parameter once', () => {
    const { resp } = node();
    const pair = (name: string, value: string): string => `$${name.length}\r\n${name}\r\n$${value.length}\r\n${value}\r\n`;
    expect(resp('CONFIG', 'GET', 'DATABASES').toString()).toBe(`*2\r\n${pair('DATABASES', '16')}`);
    expect(resp('config', 'get', 'DataBases', 'databases', 'DATABASES').toString()).toBe(`*2\r\n${pair('DataBases', '16')}`);
    expect(resp('CONFIG', 'GET', 'DATA*').toString()).toBe(`*2\r\n${pair('databases', '16')}`);
    expect(resp('CONFIG', 'GET', 'd?tabases').toString()).toBe(`*2\r\n${pair('databases', '16')}`);
    expect(resp('CONFIG', 'GET', 'DATA*', 'DATABASES').toString()).toBe(`*2\r\n${pair('databases', '16')}`);
    expect(resp('CONFIG', 'GET', 'DATABASES', 'data*').toString()).toBe(`*2\r\n${pair('DATABASES', '16')}`);
    // Several come back in the order asked (Redis: in its hash table's order, which no client can rely on).
    expect(resp('CONFIG', 'GET', 'SAVE', 'nosuch', 'MaxClients').toString()).toBe(`*4\r\n${pair('SAVE', '')}${pair('MaxClients', '10000')}`);
    expect(resp('CONFIG', 'GET', 'nosuch').toString()).toBe('*0\r\n');
    expect(resp('CONFIG', 'GET', '__proto__').toString()).toBe('*0\r\n');
  });
});

describe('integers at the edges of what a counter holds (exact to 2^53 − 1, test/oracle/differences.ts)', () => {
  const OVERFLOW = '-ERR increment or decrement would overflow\r\n';
  it('an increment past the edge on either side is the overflow error and changes nothing', () => {
    const { resp } = node();
    expect(resp('SET', 'n', '9007199254740990').toString()).toBe('+OK\r\n');
    expect(resp('INCRBY', 'n', '1').toString()).toBe(':9007199254740991\r\n');
    expect(resp('INCR', 'n').toString()).toBe(OVERFLOW);
    expect(resp('GET', 'n').toString()).toBe('$16\r\n9007199254740991\r\n');
    expect(resp('SET', 'm', '-9007199254740991').toString()).toBe('+OK\r\n');
    for (const c of [['DECR', 'm'], ['DECRBY', 'm', '1'], ['INCRBY', 'm', '-1']]) expect(resp(...c).toString(), c.join(' ')).toBe(OVERFLOW);
    expect(resp('GET', 'm').toString()).toBe('$17\r\n-9007199254740991\r\n');
    // An amount beyond the edge, positive or negative, on a missing key: overflow, and no key.
    expect(resp('INCRBY', 'x', '9007199254740992').toString()).toBe(OVERFLOW);
    expect(resp('INCRBY', 'x', '-9007199254740992').toString()).toBe(OVERFLOW);
    expect(resp('EXISTS', 'x').toString()).toBe(':0\r\n');
    // Past int64 it is not an integer at all, as in Redis.
    expect(resp('INCRBY', 'x', '9223372036854775808').toString()).toBe('-ERR value is not an integer or out of range\r\n');
    expect(resp('INCRBY', 'x', '-9223372036854775809').toString()).toBe('-ERR value is not an integer or out of range\r\n');
  });

  it('INCRBYFLOAT is refused with a text that says what to do instead, and changes nothing', () => {
    const { resp } = node();
    resp('INCRBY', 'f', '3');
    expect(resp('INCRBYFLOAT', 'f', '1.5').toString()).toBe('-ERR tally counters hold exact integers; INCRBYFLOAT is not supported (use INCRBY with an integer in your smallest unit)\r\n');
    expect(resp('GET', 'f').toString()).toBe('$1\r\n3\r\n');
  });
});

describe('COMMAND', () => {
  it('lists, counts, describes and documents the same commands, in any case, and names an unknown subcommand', () => {
    const { resp } = node();
    const names = [...commandNames()];
    const count = resp('COMMAND', 'COUNT').toString('latin1');
    expect(count).toBe(`:${names.length}\r\n`);
    const list = resp('command', 'list').toString('latin1');
    // Names only: one bulk string each, nothing else.
    expect(list).toBe(`*${names.length}\r\n${names.map((name) => `$${name.length}\r\n${name}\r\n`).join('')}`);
    // COMMAND and COMMAND INFO describe every command; INFO of names, each or nil, in the order asked.
    const all = resp('COMMAND').toString('latin1');
    expect(all.startsWith(`*${names.length}\r\n*`)).toBe(true);
    expect(resp('COMMAND', 'Info').toString('latin1')).toBe(all);
    expect(resp('COMMAND', 'INFO', 'nosuch', 'GET').toString('latin1')).toBe('*2\r\n*-1\r\n*6\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n');
    // DOCS of every command, or of the named ones that exist.
    expect(resp('COMMAND', 'DOCS').toString('latin1').startsWith(`*${2 * names.length}\r\n`)).toBe(true);
    const docs = resp('COMMAND', 'DOCS', 'incr', 'nosuch').toString('latin1');
    expect(docs.startsWith('*2\r\n$4\r\nincr\r\n')).toBe(true);
    expect(resp('COMMAND', 'HELP').toString('latin1')).toMatch(/^\*\d+\r\n\+COMMAND <subcommand>/);
    expect(resp('COMMAND', 'HELP', 'x').toString('latin1')).toBe("-ERR wrong number of arguments for 'command|help' command\r\n");
    expect(resp('COMMAND', 'Nope').toString('latin1')).toBe("-ERR unknown subcommand 'Nope'. Try COMMAND HELP.\r\n");
  });
});
