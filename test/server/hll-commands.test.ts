// PFADD, PFCOUNT and PFMERGE at the command table: the key-length limit, the refusal to combine HLLs
// that cannot be combined (a legacy-hash one with a Redis-hash one, two precisions), and PFMERGE's
// dense destination when a source is dense (what GET's HYLL bytes then show, as in Redis).

import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { MAX_KEY_BYTES } from '../../src/server/commands/parse.js';
import { testNode } from './command-harness.js';

const TOO_LONG = `-ERR key is too long (tally accepts keys of at most ${MAX_KEY_BYTES} bytes)\r\n`;

/** An HLL a peer merged in: precision `p`, a few registers set, with `hash`. */
function peerHll(p: number, hash: 'redis' | 'legacy'): HyperLogLog {
  const regs = new Uint8Array(1 << p);
  regs[1] = 2;
  regs[7] = 1;
  return HyperLogLog.fromRegisters(p, 0, regs, hash);
}

describe('PF commands and the key-length limit', () => {
  it('PFADD and PFMERGE refuse a key longer than the limit and create nothing; a key of exactly the limit is fine', () => {
    const n = testNode();
    const s = n.session();
    const long = 'k'.repeat(MAX_KEY_BYTES + 1);
    const max = 'm'.repeat(MAX_KEY_BYTES);
    expect(n.run(s, 'PFADD', long, 'a')).toBe(TOO_LONG);
    expect(n.run(s, 'PFMERGE', long)).toBe(TOO_LONG);
    expect(n.run(s, 'DBSIZE')).toBe(':0\r\n');
    expect(n.run(s, 'PFADD', max, 'a')).toBe(':1\r\n');
    expect(n.run(s, 'PFMERGE', max, max)).toBe('+OK\r\n');
    expect(n.run(s, 'PFCOUNT', max)).toBe(':1\r\n');
  });

  it("on a node with small gossip frames, the keyspace's lower limit is the one PFADD and PFMERGE answer with (not a WRONGTYPE)", () => {
    const n = testNode({ maxMessageBytes: 4096 });
    const s = n.session();
    const limit = n.ctx.keyspace.maxKeyBytes;
    expect(limit).toBeLessThan(MAX_KEY_BYTES);
    const lower = `-ERR key is too long (tally accepts keys of at most ${limit} bytes)\r\n`;
    const key = 'k'.repeat(limit + 1);
    expect(n.run(s, 'PFADD', key, 'a')).toBe(lower);
    expect(n.run(s, 'PFMERGE', key)).toBe(lower);
    expect(n.run(s, 'PFADD', 'k'.repeat(limit), 'a')).toBe(':1\r\n');
  });

  it('on a node with small gossip frames, a key over 32 KiB is told the node\'s own limit by every command that checks keys first', () => {
    const n = testNode({ maxMessageBytes: 4096 });
    const s = n.session();
    const lower = `-ERR key is too long (tally accepts keys of at most ${n.ctx.keyspace.maxKeyBytes} bytes)\r\n`;
    const huge = 'k'.repeat(MAX_KEY_BYTES + 1);
    const cmds: string[][] = [
      ['INCR', huge], ['INCRBY', huge, '2'], ['DECR', huge], ['SET', huge, '1'],
      ['PFADD', huge, 'a'], ['PFMERGE', huge],
      ['WINDOW.CREATE', huge, '1', '60'], ['THROTTLE', huge, '10', '60'],
      ['CMS.INITBYDIM', huge, '100', '4'], ['CMS.INITBYPROB', huge, '0.01', '0.01'], ['TOPK.RESERVE', huge, '3'],
    ];
    for (const c of cmds) expect(n.run(s, ...(c as [string, ...string[]])), c[0]).toBe(lower);
    expect(n.run(s, 'DBSIZE')).toBe(':0\r\n');
    // On a node with the default frames, the limit is MAX_KEY_BYTES itself.
    const d = testNode();
    expect(d.run(d.session(), 'INCR', huge)).toBe(TOO_LONG);
  });
});

describe('HLLs that cannot be combined', () => {
  const HASH = "-ERR cannot combine a HyperLogLog written with tally's legacy hash and one written with Redis's hash (the same element lands in different registers)\r\n";

  it("PFCOUNT and PFMERGE of a legacy-hash HLL with a Redis-hash one are refused, whichever comes first, and nothing changes", () => {
    const n = testNode();
    const s = n.session();
    n.ctx.keyspace.mergeDecoded(fullKey(0, 'old'), { type: 'hll', crdt: peerHll(14, 'legacy') });
    n.run(s, 'PFADD', 'new', 'a', 'b', 'c');
    expect(n.run(s, 'PFCOUNT', 'old')).toBe(':2\r\n');
    expect(n.run(s, 'PFCOUNT', 'new', 'old')).toBe(HASH);
    expect(n.run(s, 'PFCOUNT', 'old', 'missing', 'new')).toBe(HASH);
    expect(n.run(s, 'PFMERGE', 'new', 'old')).toBe(HASH);
    expect(n.run(s, 'PFMERGE', 'dest', 'old', 'new')).toBe(HASH);
    expect(n.run(s, 'EXISTS', 'dest')).toBe(':0\r\n');
    expect(n.run(s, 'PFCOUNT', 'new')).toBe(':3\r\n');
  });

  it('PFCOUNT and PFMERGE of two precisions are refused, naming the later one given and the first', () => {
    const n = testNode();
    const s = n.session();
    n.ctx.keyspace.mergeDecoded(fullKey(0, 'p12'), { type: 'hll', crdt: peerHll(12, 'redis') });
    n.run(s, 'PFADD', 'p14', 'a');
    const mismatch = (given: number, held: number): string =>
      `-ERR HyperLogLog precision ${given} does not match this node's ${held} (Redis HYLL bytes hold precision 14: set hllPrecision to 14)\r\n`;
    expect(n.run(s, 'PFCOUNT', 'p14', 'p12')).toBe(mismatch(12, 14));
    expect(n.run(s, 'PFCOUNT', 'p12', 'p14')).toBe(mismatch(14, 12));
    expect(n.run(s, 'PFMERGE', 'p14', 'p12')).toBe(mismatch(12, 14));
    expect(n.run(s, 'PFMERGE', 'p12', 'p14')).toBe(mismatch(14, 12));
    // Two HLLs of one kind combine.
    n.run(s, 'PFADD', 'other', 'b');
    expect(n.run(s, 'PFCOUNT', 'p14', 'other')).toBe(':2\r\n');
  });
});

describe('PFMERGE into a new destination', () => {
  /** GET's HYLL header: encoding byte 4 is 0 (dense) or 1 (sparse). */
  const encoding = (reply: string): number => {
    const body = reply.slice(reply.indexOf('\r\n') + 2);
    expect(body.slice(0, 4)).toBe('HYLL');
    return body.charCodeAt(4);
  };

  it('is dense when a source is dense, as Redis writes it, and sparse when every source is sparse', () => {
    const n = testNode();
    const s = n.session();
    const many = Array.from({ length: 3000 }, (_, i) => `e${i}`);
    n.run(s, 'PFADD', 'big', ...many);
    n.run(s, 'PFADD', 'small', 'a', 'b');
    expect(encoding(n.run(s, 'GET', 'big'))).toBe(0);
    expect(encoding(n.run(s, 'GET', 'small'))).toBe(1);
    expect(n.run(s, 'PFMERGE', 'd1', 'small')).toBe('+OK\r\n');
    expect(encoding(n.run(s, 'GET', 'd1'))).toBe(1);
    expect(n.run(s, 'PFMERGE', 'd2', 'small', 'big')).toBe('+OK\r\n');
    expect(encoding(n.run(s, 'GET', 'd2'))).toBe(0);
    // Dense by its form, not by its size: a dense HLL of one register (SET of Redis's bytes) makes the union dense.
    const oneRegister = Buffer.alloc(16 + 12288);
    oneRegister.write('HYLL', 'latin1');
    oneRegister[15] = 0x80; // no cached count
    oneRegister[16] = 0x01; // register 0 = 1
    expect(n.run(s, 'SET', 'dk', oneRegister)).toBe('+OK\r\n');
    expect(n.run(s, 'PFCOUNT', 'dk')).toBe(':1\r\n');
    expect(n.run(s, 'PFMERGE', 'd3', 'small', 'dk')).toBe('+OK\r\n');
    expect(encoding(n.run(s, 'GET', 'd3'))).toBe(0);
    // A dense destination stays dense when merged with sparse sources.
    expect(n.run(s, 'PFMERGE', 'big', 'small')).toBe('+OK\r\n');
    expect(encoding(n.run(s, 'GET', 'big'))).toBe(0);
  });
});
