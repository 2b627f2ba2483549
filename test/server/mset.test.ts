// MSET, MSETNX and SET with values of every kind tally keeps: integers for counters, Redis's HYLL
// bytes for HyperLogLogs. Every pair is checked before any is written, so a refused pair leaves every
// key as it was; a G-Counter key (gcounterKeys) takes no negative value.

import { describe, expect, it } from 'vitest';
import * as errors from '../../src/errors.js';
import { testNode } from './command-harness.js';

function node() {
  // Keys named views:* are G-Counters, as with gcounterKeys: ["views:*"].
  const n = testNode({ counterTypeFor: (key) => (key.slice(1).startsWith('views:') ? 'gcounter' : 'pncounter') });
  const s = n.session();
  const run = (...words: (string | Buffer)[]): string => n.run(s, ...words);
  run('PFADD', 'src', 'a', 'b', 'c');
  // GET of an HLL answers Redis's HYLL bytes, which SET and MSET take back.
  const reply = Buffer.from(run('GET', 'src'), 'latin1');
  const head = reply.indexOf('\r\n');
  const bytes = reply.subarray(head + 2, head + 2 + Number(reply.toString('latin1', 1, head)));
  return { run, bytes };
}

describe('MSET and MSETNX', () => {
  it('write counters and HyperLogLogs in one command, the last value of a key named twice winning', () => {
    const { run, bytes } = node();
    expect(run('MSET', 'c', '5', 'h', bytes, 'c', '7')).toBe('+OK\r\n');
    expect(run('GET', 'c')).toBe('$1\r\n7\r\n');
    expect(run('TYPE', 'h')).toBe('+string\r\n');
    expect(run('PFCOUNT', 'h')).toBe(':3\r\n');
  });

  it('refuse a pair whose value does not fit the key\'s type, and then write no pair at all', () => {
    const { run, bytes } = node();
    run('MSET', 'c', '5', 'h', bytes);
    expect(run('MSET', 'x', '1', 'c', bytes)).toBe(`-${errors.WRONGTYPE}\r\n`);
    expect(run('MSET', 'x', '1', 'h', '9')).toBe(`-${errors.WRONGTYPE}\r\n`);
    expect(run('MSET', 'x', '1', 'c', 'nine')).toMatch(/^-ERR /);
    expect(run('EXISTS', 'x')).toBe(':0\r\n');
    expect(run('GET', 'c')).toBe('$1\r\n5\r\n');
    expect(run('PFCOUNT', 'h')).toBe(':3\r\n');
  });

  it('refuse a negative value for a G-Counter key, and write nothing', () => {
    const { run } = node();
    expect(run('INCRBY', 'views:home', '4')).toBe(':4\r\n');
    expect(run('MSET', 'x', '1', 'views:home', '-1')).toBe(`-${errors.GCOUNTER_DECREMENT}\r\n`);
    expect(run('MSET', 'x', '1', 'views:new', '-1')).toBe(`-${errors.GCOUNTER_DECREMENT}\r\n`);
    expect(run('EXISTS', 'x', 'views:new')).toBe(':0\r\n');
    expect(run('MSET', 'x', '1', 'views:home', '2')).toBe('+OK\r\n');
    expect(run('MGET', 'x', 'views:home')).toBe('*2\r\n$1\r\n1\r\n$1\r\n2\r\n');
  });

  it('need whole pairs; MSETNX writes nothing if any key exists, of any type', () => {
    const { run } = node();
    expect(run('MSET', 'a', '1', 'b')).toBe("-ERR wrong number of arguments for 'mset' command\r\n");
    expect(run('MSETNX', 'a', '1', 'b')).toBe("-ERR wrong number of arguments for 'msetnx' command\r\n");
    expect(run('MSETNX', 'a', '1', 'b', '2')).toBe(':1\r\n');
    expect(run('MSETNX', 'n', '1', 'src', '2')).toBe(':0\r\n');
    expect(run('MSETNX', 'n', '1', 'b', '3')).toBe(':0\r\n');
    expect(run('MGET', 'n', 'b')).toBe('*2\r\n$-1\r\n$1\r\n2\r\n');
  });
});

describe('SET of HYLL bytes', () => {
  it('with EX, the HyperLogLog expires as a counter would', () => {
    const { run, bytes } = node();
    expect(run('SET', 'h', bytes, 'EX', '100')).toBe('+OK\r\n');
    expect(run('TTL', 'h')).toBe(':100\r\n');
    expect(run('SET', 'h2', bytes)).toBe('+OK\r\n');
    expect(run('TTL', 'h2')).toBe(':-1\r\n');
    expect(run('SET', 'h2', bytes, 'NX', 'EX', '5')).toBe('$-1\r\n');
    expect(run('TTL', 'h2')).toBe(':-1\r\n');
  });
});
