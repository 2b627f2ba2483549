// Connection and server commands at the command table, on a clock the test sets: PING, SELECT's
// range, CLIENT's subcommands and its LIST/INFO line, FLUSHDB and FLUSHALL with their modes, and
// CONFIG's subcommands. test/oracle/ compares the Redis-shaped replies with redis-server byte for
// byte; here each is pinned where the oracle's random sequences rarely go.

import { describe, expect, it } from 'vitest';
import { execute } from '../../src/server/commands/table.js';
import type { CommandServices, Session } from '../../src/server/commands/types.js';
import { encodeReplyToBuffer } from '../../src/server/resp/encoder.js';
import { testNode } from './command-harness.js';

const NOW = 1_700_000_123_000;

describe('PING and SELECT', () => {
  it('PING answers PONG, or its one argument as a bulk string; SELECT takes databases 0 to 15', () => {
    const n = testNode();
    const s = n.session();
    expect(n.run(s, 'PING')).toBe('+PONG\r\n');
    expect(n.run(s, 'PING', 'hi there')).toBe('$8\r\nhi there\r\n');
    expect(n.run(s, 'PING', 'a', 'b')).toBe("-ERR wrong number of arguments for 'ping' command\r\n");
    expect(n.run(s, 'SELECT', '15')).toBe('+OK\r\n');
    expect(s.db).toBe(15);
    for (const bad of ['16', '-1']) expect(n.run(s, 'SELECT', bad)).toBe('-ERR DB index is out of range\r\n');
    expect(n.run(s, 'SELECT', 'one')).toBe('-ERR value is not an integer or out of range\r\n');
    expect(n.run(s, 'SELECT', '0')).toBe('+OK\r\n');
    expect(s.db).toBe(0);
  });
});

describe('CLIENT', () => {
  /** A node whose CLIENT LIST lists `others` beside the calling session. */
  function withClients(): { s: Session; ctx: CommandServices } {
    const base = testNode({ now: () => NOW });
    const s = base.session();
    const other: Session = { ...base.session(), id: 9, name: 'worker', db: 3, remoteAddress: '127.0.0.1:5000', createdAt: NOW - 65_000, lastCommandAt: NOW - 2_500, lastCommand: 'incr', protocol: 'ws', resp: 3 };
    const ctx: CommandServices = { ...base.ctx, listClients: () => [s, other] };
    return { s, ctx };
  }

  it('ID, INFO and GETNAME describe the calling connection; SETINFO is accepted', () => {
    const n = testNode({ now: () => NOW });
    const s = { ...n.session(), createdAt: NOW - 10_400, lastCommandAt: NOW - 999, lastCommand: 'get' };
    expect(n.run(s, 'CLIENT', 'ID')).toBe(`:${s.id}\r\n`);
    expect(n.run(s, 'CLIENT', 'GETNAME')).toBe('$-1\r\n');
    n.run(s, 'CLIENT', 'SETNAME', 'me');
    // The command being run is the connection's last one: CLIENT, just now.
    const line = `id=${s.id} addr=127.0.0.1:1 name=me age=10 idle=0 db=0 proto=resp cmd=client user=default resp=2\n`;
    expect(n.run(s, 'CLIENT', 'INFO')).toBe(`$${line.length}\r\n${line}\r\n`);
    expect(n.run(s, 'CLIENT', 'SETINFO', 'LIB-NAME', 'ioredis')).toBe('+OK\r\n');
    expect(n.run(s, 'CLIENT', 'HELP')).toMatch(/^\*\d+\r\n\+CLIENT <subcommand>/);
    expect(n.run(s, 'CLIENT', 'Nope')).toBe("-ERR unknown subcommand 'Nope'. Try CLIENT HELP.\r\n");
  });

  it('LIST has a line per connection, with its name, age, idle time, database, protocol and last command', () => {
    const { ctx, s } = withClients();
    const r = execute(ctx, s, [Buffer.from('CLIENT'), Buffer.from('LIST')]);
    if (r instanceof Promise) throw new Error('CLIENT LIST answered later');
    const text = encodeReplyToBuffer(r).toString('latin1');
    const lines = text.split('\r\n')[1]?.split('\n') ?? [];
    expect(lines[1]).toBe('id=9 addr=127.0.0.1:5000 name=worker age=65 idle=2 db=3 proto=ws cmd=incr user=default resp=3');
    expect(lines[0]).toMatch(new RegExp(`^id=${s.id} addr=127\\.0\\.0\\.1:1 name= age=\\d+ idle=\\d+ db=0 proto=resp cmd=client user=default resp=2$`));
  });
});

describe('FLUSHDB and FLUSHALL', () => {
  it('take SYNC or ASYNC in any case and nothing else; FLUSHDB empties only the current database', () => {
    const n = testNode();
    const s = n.session();
    const fill = (): void => {
      n.run(s, 'SELECT', '0');
      n.run(s, 'INCR', 'a');
      n.run(s, 'SELECT', '1');
      n.run(s, 'INCR', 'b');
    };
    fill();
    expect(n.run(s, 'FLUSHDB', 'later')).toBe('-ERR syntax error\r\n');
    expect(n.run(s, 'FLUSHDB', 'ASYNC', 'x')).toBe('-ERR syntax error\r\n');
    expect(n.run(s, 'DBSIZE')).toBe(':1\r\n');
    expect(n.run(s, 'FLUSHDB', 'async')).toBe('+OK\r\n');
    expect(n.run(s, 'DBSIZE')).toBe(':0\r\n');
    n.run(s, 'SELECT', '0');
    expect(n.run(s, 'DBSIZE')).toBe(':1\r\n');
    fill();
    expect(n.run(s, 'FLUSHALL', 'soon')).toBe('-ERR syntax error\r\n');
    expect(n.run(s, 'FLUSHALL', 'Sync')).toBe('+OK\r\n');
    expect(n.run(s, 'DBSIZE')).toBe(':0\r\n');
    n.run(s, 'SELECT', '0');
    expect(n.run(s, 'DBSIZE')).toBe(':0\r\n');
  });
});

describe('CONFIG', () => {
  it('SET, REWRITE and RESETSTAT say tally is configured elsewhere; HELP and GET answer; others are unknown', () => {
    const n = testNode();
    const s = n.session();
    for (const [sub, words] of [['SET', ['maxmemory', '1']], ['REWRITE', []], ['RESETSTAT', []]] as const) {
      expect(n.run(s, 'CONFIG', sub.toLowerCase(), ...words)).toBe(`-ERR CONFIG ${sub} is not supported: tally is configured by cluster.config.json and command-line flags\r\n`);
    }
    expect(n.run(s, 'CONFIG', 'HELP')).toMatch(/^\*\d+\r\n\+CONFIG <subcommand>/);
    expect(n.run(s, 'CONFIG', 'GET', 'databases')).toBe('*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n');
    expect(n.run(s, 'CONFIG', 'Wat')).toBe("-ERR unknown subcommand 'Wat'. Try CONFIG HELP.\r\n");
  });
});
