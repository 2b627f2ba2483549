// SET's expiry options (EX, PX, EXAT, PXAT, KEEPTTL), SETEX, PSETEX and GETEX on a fake clock: Redis
// 7.0's replies and error texts (each checked against redis-server 7.0.15), the order of its checks,
// and what the TTL becomes. The Redis oracle (test/oracle/) draws them at random against a real one.

import { describe, expect, it } from 'vitest';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { testNode, type TestNode } from './command-harness.js';

const T = 1_700_000_000_000;

function node(): { n: TestNode; clock: { t: number }; run: (...w: string[]) => string } {
  const clock = { t: T };
  const n = testNode({ now: () => clock.t });
  n.ctx.keyspace = new Keyspace('n1:1', { clock: { now: () => clock.t } });
  const s = n.session();
  return { n, clock, run: (...w) => n.run(s, ...w) };
}

const OK = '+OK\r\n';
const NIL = '$-1\r\n';
const SYNTAX = '-ERR syntax error\r\n';
const NOT_INT = '-ERR value is not an integer or out of range\r\n';
const invalid = (cmd: string): string => `-ERR invalid expire time in '${cmd}' command\r\n`;
const int = (v: number): string => `:${v}\r\n`;

describe('SET with an expiry', () => {
  it('EX, PX, EXAT and PXAT set the TTL; SET without KEEPTTL clears it, KEEPTTL keeps it', () => {
    const { run } = node();
    expect(run('SET', 'a', '1', 'EX', '100')).toBe(OK);
    expect(run('PTTL', 'a')).toBe(int(100_000));
    expect(run('set', 'a', '2', 'px', '1500')).toBe(OK);
    expect(run('PEXPIRETIME', 'a')).toBe(int(T + 1500));
    expect(run('SET', 'a', '3', 'EXAT', String(T / 1000 + 50))).toBe(OK);
    expect(run('PEXPIRETIME', 'a')).toBe(int(T + 50_000));
    expect(run('SET', 'a', '4', 'PXAT', String(T + 7))).toBe(OK);
    expect(run('PTTL', 'a')).toBe(int(7));
    expect(run('SET', 'a', '5', 'KEEPTTL')).toBe(OK);
    expect(run('PTTL', 'a')).toBe(int(7));
    expect(run('GET', 'a')).toBe('$1\r\n5\r\n');
    expect(run('SET', 'a', '6')).toBe(OK);
    expect(run('TTL', 'a')).toBe(int(-1));
    // The same option twice: the last wins, as in Redis.
    expect(run('SET', 'a', '7', 'EX', '10', 'EX', '20')).toBe(OK);
    expect(run('TTL', 'a')).toBe(int(20));
  });

  it('the key expires at its deadline, and SET EXAT in the past sets and ends it at once', () => {
    const { run, clock } = node();
    expect(run('SET', 'a', '1', 'PX', '100')).toBe(OK);
    clock.t += 99;
    expect(run('GET', 'a')).toBe('$1\r\n1\r\n');
    clock.t += 1;
    expect(run('GET', 'a')).toBe(NIL);
    expect(run('EXISTS', 'a')).toBe(int(0));
    expect(run('SET', 'b', '1', 'EXAT', '1')).toBe(OK);
    expect(run('EXISTS', 'b')).toBe(int(0));
    // An increment after the expiry starts the key afresh.
    expect(run('INCR', 'a')).toBe(int(1));
    expect(run('TTL', 'a')).toBe(int(-1));
  });

  it('a bad time: Redis 7.0 texts, checked before GET, NX/XX and the value; nothing changes', () => {
    const { run } = node();
    expect(run('SET', 'a', '1')).toBe(OK);
    for (const t of ['0', '-5']) expect(run('SET', 'a', '2', 'EX', t)).toBe(invalid('set'));
    expect(run('SET', 'a', '2', 'PX', '0')).toBe(invalid('set'));
    expect(run('SET', 'a', '2', 'EXAT', '0')).toBe(invalid('set'));
    expect(run('SET', 'a', '2', 'EX', '9223372036854775807')).toBe(invalid('set'));
    expect(run('SET', 'a', '2', 'PX', '9223372036854775807')).toBe(invalid('set'));
    expect(run('SET', 'a', '2', 'EX', 'x')).toBe(NOT_INT);
    expect(run('SET', 'a', '2', 'PX', '1.5')).toBe(NOT_INT);
    expect(run('SET', 'a', '2', 'GET', 'EX', '0')).toBe(invalid('set'));
    expect(run('SET', 'a', '2', 'NX', 'EX', '0')).toBe(invalid('set'));
    expect(run('SET', 'a', 'abc', 'EX', '0')).toBe(invalid('set'));
    expect(run('GET', 'a')).toBe('$1\r\n1\r\n');
    expect(run('TTL', 'a')).toBe(int(-1));
  });

  it('clashing or incomplete options are syntax errors', () => {
    const { run } = node();
    for (const opts of [['EX', '10', 'PX', '10'], ['EX', '10', 'KEEPTTL'], ['KEEPTTL', 'PXAT', '10'], ['EX'], ['PERSIST'], ['EXAT', '10', 'EX', '10']]) {
      expect(run('SET', 'a', '1', ...opts), opts.join(' ')).toBe(SYNTAX);
    }
    expect(run('EXISTS', 'a')).toBe(int(0));
  });

  it('with NX, XX and GET: the condition and the old value as without an expiry; the TTL only when it wrote', () => {
    const { run } = node();
    expect(run('SET', 'a', '1', 'XX', 'EX', '100', 'GET')).toBe(NIL);
    expect(run('EXISTS', 'a')).toBe(int(0));
    expect(run('SET', 'b', '1', 'NX', 'GET', 'EX', '100')).toBe(NIL);
    expect(run('TTL', 'b')).toBe(int(100));
    expect(run('SET', 'b', '2', 'NX', 'EX', '5')).toBe(NIL);
    expect(run('TTL', 'b')).toBe(int(100));
    expect(run('SET', 'b', '3', 'XX', 'GET', 'KEEPTTL')).toBe('$1\r\n1\r\n');
    expect(run('TTL', 'b')).toBe(int(100));
  });
});

describe('SETEX, PSETEX, GETEX', () => {
  it('SETEX and PSETEX set the value and the TTL, with their own names in the time error', () => {
    const { run } = node();
    expect(run('SETEX', 'a', '100', '5')).toBe(OK);
    expect(run('TTL', 'a')).toBe(int(100));
    expect(run('PSETEX', 'a', '2500', '6')).toBe(OK);
    expect(run('PTTL', 'a')).toBe(int(2500));
    expect(run('GET', 'a')).toBe('$1\r\n6\r\n');
    expect(run('SETEX', 'a', '0', '1')).toBe(invalid('setex'));
    expect(run('SETEX', 'a', 'x', '1')).toBe(NOT_INT);
    expect(run('PSETEX', 'a', '-1', '1')).toBe(invalid('psetex'));
    expect(run('SETEX', 'a', '10')).toBe("-ERR wrong number of arguments for 'setex' command\r\n");
    expect(run('GET', 'a')).toBe('$1\r\n6\r\n');
    // A value that is not an integer: tally's SET error, after the time was found good.
    expect(run('SETEX', 'a', '10', 'abc')).toMatch(/^-ERR value is not an integer or out of range \(tally keys hold counters/);
  });

  it('GETEX answers the value and sets or removes the TTL', () => {
    const { run, clock } = node();
    expect(run('SETEX', 'a', '100', '5')).toBe(OK);
    expect(run('GETEX', 'a')).toBe('$1\r\n5\r\n');
    expect(run('TTL', 'a')).toBe(int(100));
    expect(run('GETEX', 'a', 'PERSIST')).toBe('$1\r\n5\r\n');
    expect(run('TTL', 'a')).toBe(int(-1));
    expect(run('GETEX', 'a', 'PX', '300')).toBe('$1\r\n5\r\n');
    expect(run('PTTL', 'a')).toBe(int(300));
    expect(run('GETEX', 'a', 'EXAT', String(T / 1000 + 9))).toBe('$1\r\n5\r\n');
    expect(run('PEXPIRETIME', 'a')).toBe(int(T + 9000));
    clock.t += 9000;
    expect(run('GETEX', 'a')).toBe(NIL);
    expect(run('SET', 'b', '7')).toBe(OK);
    expect(run('GETEX', 'b', 'PXAT', '1')).toBe('$1\r\n7\r\n');
    expect(run('EXISTS', 'b')).toBe(int(0));
  });

  it("GETEX's errors, in Redis 7.0's order: options, then the key, then the time", () => {
    const { run } = node();
    expect(run('GETEX', 'nokey', 'EX', '0')).toBe(NIL);
    expect(run('SET', 'a', '5')).toBe(OK);
    expect(run('GETEX', 'a', 'EX', '0')).toBe(invalid('getex'));
    expect(run('GETEX', 'a', 'EX', 'x')).toBe(NOT_INT);
    for (const opts of [['EX', '10', 'PX', '10'], ['KEEPTTL'], ['PERSIST', 'EX', '10'], ['NX'], ['GET'], ['EX']]) {
      expect(run('GETEX', 'nokey', ...opts), opts.join(' ')).toBe(SYNTAX);
    }
    expect(run('PFADD', 'h', 'x')).toBe(int(1));
    // An HLL answers its HYLL bytes (as in Redis) and takes the TTL.
    expect(run('GETEX', 'h', 'EX', '10')).toMatch(/^\$\d+\r\nHYLL/);
    expect(run('TTL', 'h')).toBe(int(10));
    expect(run('GETEX')).toBe("-ERR wrong number of arguments for 'getex' command\r\n");
    expect(run('TTL', 'a')).toBe(int(-1));
  });
});
