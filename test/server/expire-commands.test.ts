// The EXPIRE family at the command table, on a clock the test sets: the options (NX, XX, GT, LT in
// any case, which combine and which do not), relative and absolute times in seconds and
// milliseconds, the largest deadline tally keeps (2^53-1 ms), and what TTL, PTTL, EXPIRETIME and
// PEXPIRETIME answer. test/oracle/ compares the same commands with redis-server on random sequences.

import { describe, expect, it } from 'vitest';
import { testNode } from './command-harness.js';

const NOW = 1_700_000_000_000;

function node() {
  const n = testNode({ now: () => NOW });
  const s = n.session();
  return (...words: string[]): string => n.run(s, ...words);
}

describe('EXPIRE options', () => {
  it('NX sets only a key without a TTL, XX only one with, GT only a later deadline, LT only an earlier one', () => {
    const run = node();
    run('INCR', 'k');
    expect(run('EXPIRE', 'k', '100', 'xx')).toBe(':0\r\n');
    expect(run('EXPIRE', 'k', '100', 'Nx')).toBe(':1\r\n');
    expect(run('EXPIRE', 'k', '200', 'NX')).toBe(':0\r\n');
    expect(run('TTL', 'k')).toBe(':100\r\n');
    expect(run('EXPIRE', 'k', '50', 'GT')).toBe(':0\r\n');
    expect(run('EXPIRE', 'k', '150', 'gt')).toBe(':1\r\n');
    expect(run('EXPIRE', 'k', '300', 'LT')).toBe(':0\r\n');
    expect(run('EXPIRE', 'k', '120', 'lt', 'XX')).toBe(':1\r\n');
    expect(run('TTL', 'k')).toBe(':120\r\n');
    // A key without a TTL counts as one that never expires: GT never sets it, LT always does.
    run('PERSIST', 'k');
    expect(run('EXPIRE', 'k', '10', 'GT')).toBe(':0\r\n');
    expect(run('EXPIRE', 'k', '10', 'LT')).toBe(':1\r\n');
  });

  it('refuses NX with any other, GT with LT, and an unknown option, naming it, before touching the key', () => {
    const run = node();
    run('INCR', 'k');
    for (const other of ['XX', 'GT', 'LT']) expect(run('EXPIRE', 'k', '5', 'NX', other)).toBe('-ERR NX and XX, GT or LT options at the same time are not compatible\r\n');
    expect(run('EXPIRE', 'k', '5', 'GT', 'LT')).toBe('-ERR GT and LT options at the same time are not compatible\r\n');
    expect(run('EXPIRE', 'k', '5', 'XX', 'GT')).toBe(':0\r\n');
    expect(run('EXPIRE', 'k', '5', 'SOON')).toBe('-ERR Unsupported option SOON\r\n');
    expect(run('EXPIRE', 'k', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
    expect(run('TTL', 'k')).toBe(':-1\r\n');
  });
});

describe('EXPIRE times', () => {
  it('relative in seconds or ms, absolute in seconds or ms, each read back by the TTL family', () => {
    const run = node();
    for (const k of ['a', 'b', 'c', 'd']) run('INCR', k);
    expect(run('EXPIRE', 'a', '10')).toBe(':1\r\n');
    expect(run('PEXPIRE', 'b', '1500')).toBe(':1\r\n');
    expect(run('EXPIREAT', 'c', String(NOW / 1000 + 30))).toBe(':1\r\n');
    expect(run('PEXPIREAT', 'd', String(NOW + 2_499))).toBe(':1\r\n');
    expect([run('TTL', 'a'), run('PTTL', 'a'), run('EXPIRETIME', 'a'), run('PEXPIRETIME', 'a')]).toEqual([':10\r\n', ':10000\r\n', `:${NOW / 1000 + 10}\r\n`, `:${NOW + 10_000}\r\n`]);
    // TTL rounds to the nearest second, as Redis does: 1.5 s is 2, 2.499 s is 2.
    expect([run('TTL', 'b'), run('PTTL', 'b')]).toEqual([':2\r\n', ':1500\r\n']);
    expect([run('TTL', 'c'), run('EXPIRETIME', 'c')]).toEqual([':30\r\n', `:${NOW / 1000 + 30}\r\n`]);
    expect([run('TTL', 'd'), run('PEXPIRETIME', 'd'), run('EXPIRETIME', 'd')]).toEqual([':2\r\n', `:${NOW + 2_499}\r\n`, `:${Math.floor((NOW + 2_499) / 1000)}\r\n`]);
    // Missing key: -2 from each, and EXPIRE answers 0.
    expect([run('TTL', 'z'), run('PTTL', 'z'), run('EXPIRETIME', 'z'), run('PEXPIRETIME', 'z'), run('EXPIRE', 'z', '5')]).toEqual([':-2\r\n', ':-2\r\n', ':-2\r\n', ':-2\r\n', ':0\r\n']);
  });

  it('keeps deadlines up to 2^53-1 ms and refuses any later one, in every unit', () => {
    const run = node();
    run('INCR', 'k');
    const max = Number.MAX_SAFE_INTEGER;
    expect(run('PEXPIREAT', 'k', String(max))).toBe(':1\r\n');
    expect(run('PEXPIRETIME', 'k')).toBe(`:${max}\r\n`);
    expect(run('PEXPIREAT', 'k', String(max + 1))).toBe("-ERR invalid expire time in 'pexpireat' command\r\n");
    expect(run('PEXPIRE', 'k', String(max - NOW))).toBe(':1\r\n');
    expect(run('PEXPIRE', 'k', String(max - NOW + 1))).toBe("-ERR invalid expire time in 'pexpire' command\r\n");
    const maxS = Math.floor(max / 1000);
    expect(run('EXPIREAT', 'k', String(maxS))).toBe(':1\r\n');
    expect(run('EXPIREAT', 'k', String(maxS + 1))).toBe("-ERR invalid expire time in 'expireat' command\r\n");
    expect(run('EXPIRE', 'k', String(Math.floor((max - NOW) / 1000)))).toBe(':1\r\n');
    expect(run('EXPIRE', 'k', String(Math.floor((max - NOW) / 1000) + 1))).toBe("-ERR invalid expire time in 'expire' command\r\n");
    expect(run('EXPIRE', 'k', '9223372036854775807')).toBe("-ERR invalid expire time in 'expire' command\r\n");
    expect(run('EXPIRE', 'k', '99999999999999999999')).toBe('-ERR value is not an integer or out of range\r\n');
    // A time in the past deletes the key, as in Redis.
    expect(run('EXPIRE', 'k', '-1')).toBe(':1\r\n');
    expect(run('EXISTS', 'k')).toBe(':0\r\n');
  });
});
