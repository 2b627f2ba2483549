// The arguments of the Count-Min Sketch and Top-K commands, as RedisBloom reads them (and the key
// limit of PFADD and PFMERGE, which create HLLs as these create sketches): the decimal
// forms of an error rate, probability or decay, the key length limit, pairs and their arity,
// CMS.MERGE's WEIGHTS, TOPK.INCRBY's increments, what TOPK.ADD answers for an expelled item, and
// TOPK.LIST's WITHCOUNT. window-sketch-commands.test.ts covers what the sketches count.

import { describe, expect, it } from 'vitest';
import * as errors from '../../src/errors.js';
import { MAX_KEY_BYTES } from '../../src/keyspace/entries.js';
import { testNode } from './command-harness.js';

const err = (message: string): string => `-${message}\r\n`;

function node() {
  const n = testNode();
  const s = n.session();
  return (...words: string[]): string => n.run(s, ...words);
}

describe('error rates, probabilities and decays', () => {
  // Strictly between 0 and 1, written as a plain decimal: digits, an optional point, an optional exponent.
  const inside = ['0.5', '.05', '00.5', '1e-1', '5e-1', '5E-1', '5e-01', '.5e0', '0.25e+0'];
  const refused = ['0', '0.0', '1', '1.', '1.5', '-0.5', '+0.5', ' 0.5', '0.5 ', '0.5x', 'x0.5', 'abc', '', '0x1', 'e-1', '.e1'];

  it('CMS.INITBYPROB takes an error rate and a probability inside (0, 1), and names which one it refuses', () => {
    const run = node();
    inside.forEach((v, i) => expect(run('CMS.INITBYPROB', `ok${i}`, v, '0.5'), v).toBe('+OK\r\n'));
    inside.forEach((v, i) => expect(run('CMS.INITBYPROB', `okp${i}`, '0.5', v), v).toBe('+OK\r\n'));
    for (const v of refused) {
      expect(run('CMS.INITBYPROB', 'bad', v, '0.5'), v).toBe(err(errors.CMS_INVALID_OVERESTIMATION));
      expect(run('CMS.INITBYPROB', 'bad', '0.5', v), v).toBe(err(errors.CMS_INVALID_PROB));
    }
    expect(run('EXISTS', 'bad')).toBe(':0\r\n');
  });

  it('TOPK.RESERVE takes a decay inside (0, 1], 1 included', () => {
    const run = node();
    [...inside, '1', '1.0', '1.', '1e0'].forEach((v, i) => expect(run('TOPK.RESERVE', `t${i}`, '3', '8', '4', v), v).toBe('+OK\r\n'));
    for (const v of refused.filter((x) => !['1', '1.'].includes(x))) expect(run('TOPK.RESERVE', 'bad', '3', '8', '4', v), v).toBe(err(errors.TOPK_INVALID_DECAY));
    expect(run('TOPK.RESERVE', 'bad', '3', '8', '4', '1.01')).toBe(err(errors.TOPK_INVALID_DECAY));
    expect(run('EXISTS', 'bad')).toBe(':0\r\n');
  });
});

describe('key length', () => {
  it('creating an HLL under a key of the limit works, one byte more is refused (PFADD, PFMERGE\'s destination)', () => {
    const run = node();
    const at = 'h'.repeat(MAX_KEY_BYTES);
    const over = 'h'.repeat(MAX_KEY_BYTES + 1);
    const tooLong = err(errors.keyTooLong(MAX_KEY_BYTES));
    expect(run('PFADD', over, 'a')).toBe(tooLong);
    expect(run('PFMERGE', over)).toBe(tooLong);
    expect(run('DBSIZE')).toBe(':0\r\n');
    expect(run('PFADD', at, 'a')).toBe(':1\r\n');
    expect(run('PFMERGE', at.slice(1) + 'x', at)).toBe('+OK\r\n');
    expect(run('PFCOUNT', at.slice(1) + 'x')).toBe(':1\r\n');
  });

  it('creating a sketch under a key of the limit works, one byte more is refused', () => {
    const run = node();
    const at = 'k'.repeat(MAX_KEY_BYTES);
    const over = 'k'.repeat(MAX_KEY_BYTES + 1);
    const tooLong = err(errors.keyTooLong(MAX_KEY_BYTES));
    expect(run('CMS.INITBYDIM', over, '4', '2')).toBe(tooLong);
    expect(run('CMS.INITBYPROB', over, '0.1', '0.1')).toBe(tooLong);
    expect(run('TOPK.RESERVE', over, '3')).toBe(tooLong);
    expect(run('DBSIZE')).toBe(':0\r\n');
    expect(run('CMS.INITBYDIM', at, '4', '2')).toBe('+OK\r\n');
    expect(run('DEL', at)).toBe(':1\r\n');
    expect(run('CMS.INITBYPROB', at, '0.1', '0.1')).toBe('+OK\r\n');
    expect(run('DEL', at)).toBe(':1\r\n');
    expect(run('TOPK.RESERVE', at, '3')).toBe('+OK\r\n');
  });
});

describe('pairs, numkeys and weights', () => {
  it('CMS.INCRBY and TOPK.INCRBY need whole pairs; TOPK.INCRBY increments of at least 1', () => {
    const run = node();
    run('CMS.INITBYDIM', 'c', '16', '2');
    run('TOPK.RESERVE', 't', '2');
    expect(run('CMS.INCRBY', 'c', 'a', '1', 'b')).toBe("-ERR wrong number of arguments for 'cms.incrby' command\r\n");
    expect(run('CMS.INCRBY', 'c', 'a', '1', 'b', '2')).toBe('*2\r\n:1\r\n:2\r\n');
    expect(run('TOPK.INCRBY', 't', 'a', '1', 'b')).toBe("-ERR wrong number of arguments for 'topk.incrby' command\r\n");
    expect(run('TOPK.INCRBY', 't', 'a', '1', 'b', '0')).toBe(err(errors.TOPK_INVALID_INCREMENT));
    expect(run('TOPK.INCRBY', 't', 'a', 'x')).toBe(err(errors.TOPK_INVALID_INCREMENT));
    expect(run('TOPK.COUNT', 't', 'a')).toBe('*1\r\n:0\r\n');
    expect(run('TOPK.INCRBY', 't', 'a', '1', 'b', '1')).toBe('*2\r\n$-1\r\n$-1\r\n');
  });

  it('CMS.MERGE needs numkeys sources, then nothing or WEIGHTS with one weight per source', () => {
    const run = node();
    for (const k of ['d', 'x', 'y']) run('CMS.INITBYDIM', k, '16', '2');
    run('CMS.INCRBY', 'x', 'a', '2');
    run('CMS.INCRBY', 'y', 'a', '5');
    expect(run('CMS.MERGE', 'd', '3', 'x', 'y')).toBe("-ERR wrong number of arguments for 'cms.merge' command\r\n");
    expect(run('CMS.MERGE', 'd', '0', 'x')).toBe(err(errors.CMS_INVALID_NUMKEYS));
    expect(run('CMS.MERGE', 'd', '2', 'x', 'y', 'WEIGHTS', '1')).toBe('-ERR syntax error\r\n');
    expect(run('CMS.MERGE', 'd', '2', 'x', 'y', 'WEIGHTZ', '1', '1')).toBe('-ERR syntax error\r\n');
    expect(run('CMS.MERGE', 'd', '2', 'x', 'y', 'weights', '1', 'q')).toBe(err(errors.CMS_INVALID_WEIGHT));
    expect(run('CMS.QUERY', 'd', 'a')).toBe('*1\r\n:0\r\n');
    expect(run('CMS.MERGE', 'd', '2', 'x', 'y', 'weights', '3', '1')).toBe('+OK\r\n');
    expect(run('CMS.QUERY', 'd', 'a')).toBe('*1\r\n:11\r\n');
    expect(run('CMS.MERGE', 'd', '1', 'x')).toBe('+OK\r\n');
    expect(run('CMS.QUERY', 'd', 'a')).toBe('*1\r\n:2\r\n');
  });

  it('TOPK.RESERVE takes k alone or with width, depth and decay, nothing in between', () => {
    const run = node();
    expect(run('TOPK.RESERVE', 't', '3', '8')).toBe("-ERR wrong number of arguments for 'topk.reserve' command\r\n");
    expect(run('TOPK.RESERVE', 't', '3', '8', '4')).toBe("-ERR wrong number of arguments for 'topk.reserve' command\r\n");
    expect(run('TOPK.RESERVE', 't', '3', '8', '4', '0.9', 'x')).toBe("-ERR wrong number of arguments for 'topk.reserve' command\r\n");
    expect(run('TOPK.RESERVE', 't', '3', '8', '4', '0.9')).toBe('+OK\r\n');
    // The decay is checked and then not used (a mergeable Top-K, not HeavyKeeper: docs/crdt-sketches.md).
    expect(run('TOPK.INFO', 't')).toBe('*8\r\n$1\r\nk\r\n:3\r\n$5\r\nwidth\r\n:8\r\n$5\r\ndepth\r\n:4\r\n$5\r\ndecay\r\n$1\r\n0\r\n');
  });
});

describe('Top-K answers', () => {
  it('TOPK.ADD names the item each addition expelled from the list, nil where none was', () => {
    const run = node();
    run('TOPK.RESERVE', 't', '1', '64', '4', '1');
    expect(run('TOPK.ADD', 't', 'a')).toBe('*1\r\n$-1\r\n');
    expect(run('TOPK.INCRBY', 't', 'b', '5')).toBe('*1\r\n$1\r\na\r\n');
    expect(run('TOPK.ADD', 't', 'b', 'c')).toBe('*2\r\n$-1\r\n$-1\r\n');
    expect(run('TOPK.LIST', 't')).toBe('*1\r\n$1\r\nb\r\n');
  });

  it('TOPK.LIST takes WITHCOUNT in any case and nothing else', () => {
    const run = node();
    run('TOPK.RESERVE', 't', '2');
    run('TOPK.INCRBY', 't', 'a', '3', 'b', '1');
    expect(run('TOPK.LIST', 't', 'withcount')).toBe('*4\r\n$1\r\na\r\n:3\r\n$1\r\nb\r\n:1\r\n');
    expect(run('TOPK.LIST', 't')).toBe('*2\r\n$1\r\na\r\n$1\r\nb\r\n');
    expect(run('TOPK.LIST', 't', 'WITHCOUNTS')).toBe('-ERR syntax error\r\n');
    expect(run('TOPK.LIST', 't', 'WITHCOUNT', 'x')).toBe('-ERR syntax error\r\n');
  });
});
