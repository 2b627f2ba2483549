// MONITOR and SLOWLOG at the command table, in Redis's formats: the MONITOR line (time, database,
// client, each argument quoted as sdscatrepr quotes it), who receives it and until when; the slow
// log's order, ids, length bound, GET's count and argument trimming, RESET, and its errors.

import { performance } from 'node:perf_hooks';
import { describe, expect, it, vi } from 'vitest';
import { encodeReplyToBuffer } from '../../src/server/resp/encoder.js';
import type { Reply } from '../../src/server/commands/reply.js';
import { quoteRepr, sessionClosed, SLOWLOG_MAX_LEN, stateOf } from '../../src/server/commands/state.js';
import type { Session } from '../../src/server/commands/types.js';
import { testNode } from './command-harness.js';

const text = (r: Reply): string => encodeReplyToBuffer(r).toString('latin1');

/** A session that receives out-of-band replies (as a RESP connection does), and what it received. */
function monitoring(s: Session): string[] {
  const got: string[] = [];
  s.push = (r) => got.push(text(r));
  return got;
}

describe('quoteRepr', () => {
  it('quotes as Redis sdscatrepr does: escapes for \\\\ " \\n \\r \\t \\a \\b, \\xHH for other bytes outside printable ASCII', () => {
    expect(quoteRepr(Buffer.from('plain text 09~'))).toBe('"plain text 09~"');
    expect(quoteRepr(Buffer.from('a\\b"c\nd\re\tf\x07g\x08h'))).toBe('"a\\\\b\\"c\\nd\\re\\tf\\ag\\bh"');
    expect(quoteRepr(Buffer.from([0x00, 0x1f, 0x20, 0x7e, 0x7f, 0xff]))).toBe('"\\x00\\x1f ~\\x7f\\xff"');
    expect(quoteRepr(Buffer.alloc(0))).toBe('""');
  });
});

describe('MONITOR', () => {
  it('streams every other command to the monitoring session, with time, database and client address', () => {
    const n = testNode({ now: () => 1_700_000_123_456 });
    const mon = n.session();
    const got = monitoring(mon);
    expect(n.run(mon, 'MONITOR')).toBe('+OK\r\n');
    const c = n.session();
    n.run(c, 'SELECT', '3');
    n.run(c, 'INCRBY', 'page\n1', '5');
    expect(got).toEqual(['+1700000123.456000 [0 127.0.0.1:1] "SELECT" "3"\r\n', '+1700000123.456000 [3 127.0.0.1:1] "INCRBY" "page\\n1" "5"\r\n']);
  });

  it('feeds every monitor until its connection closes, and a script\'s commands as from "lua"', () => {
    const n = testNode({ now: () => 1_700_000_000_007 });
    const [m1, m2] = [n.session(), n.session()];
    const [g1, g2] = [monitoring(m1), monitoring(m2)];
    n.run(m1, 'MONITOR');
    n.run(m2, 'MONITOR');
    const c = n.session();
    n.run(c, 'EVAL', "return redis.call('INCR', KEYS[1])", '1', 'k');
    const line = (what: string): string => `+1700000000.007000 ${what}\r\n`;
    const expected = [line('[0 127.0.0.1:1] "EVAL" "return redis.call(\'INCR\', KEYS[1])" "1" "k"'), line('[0 lua] "INCR" "k"')];
    expect(g1).toEqual(expected);
    expect(g2).toEqual(expected);
    sessionClosed(n.ctx, m1);
    n.run(c, 'PING');
    expect(g1).toHaveLength(2);
    expect(g2).toEqual([...expected, line('[0 127.0.0.1:1] "PING"')]);
    expect(stateOf(n.ctx).monitors.size).toBe(1);
  });

  it('is refused where replies cannot be pushed (the WebSocket API), and only queued inside MULTI', () => {
    const n = testNode();
    const ws = n.session();
    expect(n.run(ws, 'MONITOR')).toBe('-ERR MONITOR is only available over RESP\r\n');
    const c = n.session();
    monitoring(c);
    n.run(c, 'MULTI');
    expect(n.run(c, 'MONITOR')).toBe('+QUEUED\r\n');
    expect(stateOf(n.ctx).monitors.size).toBe(0);
  });
});

describe('SLOWLOG', () => {
  const entry = (i: number, args: Buffer[] = [Buffer.from('INCR'), Buffer.from(`k${i}`)]) => ({ time: 1_700_000_000 + i, micros: 10_000 + i, args, addr: `127.0.0.1:${i}`, name: `c${i}` });

  it('GET answers the newest first, ten unless counted, with ids, times, durations, arguments, address and name', () => {
    const n = testNode();
    const s = n.session();
    const log = stateOf(n.ctx).slowlog;
    for (let i = 0; i < 12; i++) log.add(entry(i));
    expect(n.run(s, 'SLOWLOG', 'LEN')).toBe(':12\r\n');
    const one = (i: number): string => `*6\r\n:${i}\r\n:${1_700_000_000 + i}\r\n:${10_000 + i}\r\n*2\r\n$4\r\nINCR\r\n$${`k${i}`.length}\r\nk${i}\r\n$${`127.0.0.1:${i}`.length}\r\n127.0.0.1:${i}\r\n$${`c${i}`.length}\r\nc${i}\r\n`;
    const newest = (count: number): string => `*${count}\r\n${Array.from({ length: count }, (_, j) => one(11 - j)).join('')}`;
    expect(n.run(s, 'SLOWLOG', 'GET')).toBe(newest(10));
    expect(n.run(s, 'slowlog', 'get', '2')).toBe(newest(2));
    expect(n.run(s, 'SLOWLOG', 'GET', '0')).toBe('*0\r\n');
    expect(n.run(s, 'SLOWLOG', 'GET', '-1')).toBe(newest(12));
    expect(n.run(s, 'SLOWLOG', 'GET', '9007199254740993')).toBe(newest(12));
    expect(n.run(s, 'SLOWLOG', 'GET', '-2')).toBe('-ERR count should be greater than or equal to -1\r\n');
    expect(n.run(s, 'SLOWLOG', 'GET', 'x')).toBe('-ERR count should be greater than or equal to -1\r\n');
    expect(n.run(s, 'SLOWLOG', 'RESET')).toBe('+OK\r\n');
    expect(n.run(s, 'SLOWLOG', 'LEN')).toBe(':0\r\n');
    // Ids go on after a reset, as Redis's do.
    log.add(entry(0));
    expect(n.run(s, 'SLOWLOG', 'GET')).toMatch(/^\*1\r\n\*6\r\n:12\r\n/);
  });

  it('keeps the newest 128, and trims arguments past 32 and bytes past 128 as Redis does', () => {
    const n = testNode();
    const s = n.session();
    const log = stateOf(n.ctx).slowlog;
    for (let i = 0; i < SLOWLOG_MAX_LEN + 5; i++) log.add(entry(i));
    expect(n.run(s, 'SLOWLOG', 'LEN')).toBe(`:${SLOWLOG_MAX_LEN}\r\n`);
    expect(log.get(-1).map((e) => e.id)).toEqual(Array.from({ length: SLOWLOG_MAX_LEN }, (_, j) => SLOWLOG_MAX_LEN + 4 - j));
    log.reset();
    log.add(entry(0, Array.from({ length: 40 }, (_, i) => Buffer.from(`a${i}`))));
    const many = n.run(s, 'SLOWLOG', 'GET', '1');
    expect(many).toContain('*32\r\n$2\r\na0\r\n');
    expect(many).toContain('$3\r\na30\r\n$22\r\n... (9 more arguments)\r\n');
    log.reset();
    log.add(entry(0, [Buffer.from('SET'), Buffer.alloc(130, 'x')]));
    expect(n.run(s, 'SLOWLOG', 'GET', '1')).toContain(`$146\r\n${'x'.repeat(128)}... (2 more bytes)\r\n`);
    log.reset();
    log.add(entry(0, Array.from({ length: 32 }, (_, i) => Buffer.from(`a${i}`))));
    expect(n.run(s, 'SLOWLOG', 'GET', '1')).toContain('$3\r\na31\r\n$11\r\n127.0.0.1:0');
  });

  it('logs a command that took at least 10 ms, with its arguments, client and name', () => {
    const n = testNode({ now: () => 1_700_000_000_000 });
    const s = n.session();
    n.run(s, 'CLIENT', 'SETNAME', 'slowpoke');
    // Two million Lua iterations take far longer than 10 ms on any machine.
    const script = 'local i = 0 while i < 2000000 do i = i + 1 end return i';
    expect(n.run(s, 'EVAL', script, '0')).toBe(':2000000\r\n');
    const log = stateOf(n.ctx).slowlog.get(-1);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ id: 0, time: 1_700_000_000, addr: '127.0.0.1:1', name: 'slowpoke' });
    expect((log[0]?.micros ?? 0) >= 10_000).toBe(true);
    expect(log[0]?.args.map((a) => a.toString())).toEqual(['EVAL', script, '0']);
  });

  it('logs a command that took exactly 10000 us (Redis logs at slowlog-log-slower-than, not only above), with an empty name for an unnamed client', () => {
    const n = testNode({ now: () => 1_700_000_005_000 });
    const s = n.session();
    // The command's own time as the table measures it: performance.now() before and after.
    const clock = vi.spyOn(performance, 'now');
    try {
      clock.mockReturnValueOnce(500).mockReturnValueOnce(509.999);
      expect(n.run(s, 'KEYS', 'a*')).toBe('*0\r\n');
      expect(stateOf(n.ctx).slowlog.length).toBe(0);
      clock.mockReturnValueOnce(500).mockReturnValueOnce(510);
      expect(n.run(s, 'KEYS', 'b*')).toBe('*0\r\n');
    } finally {
      clock.mockRestore();
    }
    expect(n.run(s, 'SLOWLOG', 'GET')).toBe('*1\r\n*6\r\n:0\r\n:1700000005\r\n:10000\r\n*2\r\n$4\r\nKEYS\r\n$2\r\nb*\r\n$11\r\n127.0.0.1:1\r\n$0\r\n\r\n');
  });

  it('does not time PFCOUNT of one key (O(1): a cached count or a bounded histogram), but times a union', () => {
    const n = testNode();
    const s = n.session();
    n.run(s, 'PFADD', 'a', 'x');
    const clock = vi.spyOn(performance, 'now');
    try {
      clock.mockReturnValue(500);
      expect(n.run(s, 'PFCOUNT', 'a')).toBe(':1\r\n');
      expect(clock).not.toHaveBeenCalled();
      clock.mockReturnValueOnce(500).mockReturnValueOnce(510);
      expect(n.run(s, 'PFCOUNT', 'a', 'b')).toBe(':1\r\n');
      expect(clock).toHaveBeenCalledTimes(2);
    } finally {
      clock.mockRestore();
    }
    expect(stateOf(n.ctx).slowlog.get(-1).map((e) => e.args.map((x) => x.toString()))).toEqual([['PFCOUNT', 'a', 'b']]);
  });

  it('answers HELP, and names a wrong arity or unknown subcommand', () => {
    const n = testNode();
    const s = n.session();
    expect(n.run(s, 'SLOWLOG', 'HELP')).toMatch(/^\*\d+\r\n\+SLOWLOG <subcommand>/);
    expect(n.run(s, 'SLOWLOG', 'LEN', 'x')).toBe("-ERR wrong number of arguments for 'slowlog|len' command\r\n");
    expect(n.run(s, 'SLOWLOG', 'GET', '1', '2')).toBe("-ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.\r\n");
    expect(n.run(s, 'SLOWLOG', 'NOPE')).toMatch(/^-ERR unknown subcommand 'NOPE'\. Try SLOWLOG HELP\.\r\n$/);
  });
});
