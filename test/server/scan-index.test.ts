// SCAN's guarantee over a changing keyspace, as Redis states it: a key present from the start of a
// full iteration to its end is returned at least once, however the table grows meanwhile.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScanTable } from '../../src/server/commands/scan-index.js';
import { testNode } from './command-harness.js';

describe('ScanTable', () => {
  it('returns every key present for the whole scan at least once, while keys are added and dropped between calls', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 40 })), { maxLength: 60 }), fc.integer({ min: 1, max: 20 }), (initial, changes, count) => {
        const t = new ScanTable();
        const stored = new Set<string>();
        const add = (k: string): void => {
          stored.add(k);
          t.add(k);
        };
        for (let i = 0; i < initial; i++) add(`\u0000k${i}`);
        const always = new Set(stored);
        const seen = new Set<string>();
        let cursor = 0;
        let step = 0;
        do {
          cursor = t.scan(cursor, count, (k) => stored.has(k), (k) => (seen.add(k), true));
          // A bounded number of changes: a table that grows faster than the scan forever never ends (in Redis too).
          const [adds, drops] = changes[step++] ?? [0, 0];
          for (let i = 0; i < adds; i++) add(`\u0000n${step}:${i}`);
          for (const k of [...stored].slice(0, drops)) {
            stored.delete(k);
            always.delete(k);
          }
        } while (cursor !== 0);
        for (const k of always) expect(seen.has(k), k).toBe(true);
      }),
    );
  });
});

describe('SCAN and KEYS on the command table', () => {
  it('walks a database with MATCH, COUNT and TYPE, skipping deleted keys; KEYS agrees', () => {
    const n = testNode();
    const s = n.session();
    for (let i = 0; i < 50; i++) n.run(s, 'INCR', `k:${i}`);
    n.run(s, 'PFADD', 'h:1', 'x');
    n.run(s, 'DEL', 'k:0');
    n.run(n.session(), 'INCR', 'k:other-db-not'); // db 0 as well
    let cursor = '0';
    const seen: string[] = [];
    do {
      const reply = n.run(s, 'SCAN', cursor, 'MATCH', 'k:[0-9]*', 'COUNT', '7');
      const m = /^\*2\r\n\$[0-9]+\r\n([0-9]+)\r\n\*([0-9]+)\r\n(.*)$/s.exec(reply);
      expect(m).not.toBeNull();
      cursor = m?.[1] as string;
      for (const k of (m?.[3] as string).matchAll(/\$[0-9]+\r\n([^\r]*)\r\n/g)) seen.push(k[1] as string);
    } while (cursor !== '0');
    expect(new Set(seen)).toEqual(new Set(Array.from({ length: 49 }, (_, i) => `k:${i + 1}`)));
    expect(n.run(s, 'SCAN', '0', 'TYPE', 'hash', 'COUNT', '1000')).toBe('*2\r\n$1\r\n0\r\n*0\r\n');
    expect(n.run(s, 'KEYS', 'h:*')).toBe('*1\r\n$3\r\nh:1\r\n');
    expect(n.run(s, 'SCAN', 'x')).toBe('-ERR invalid cursor\r\n');
    expect(n.run(s, 'SCAN', '0', 'COUNT', '0')).toBe('-ERR syntax error\r\n');
  });

  it('a scan started after keys were created since the last one finds them too; COUNT bounds each call', () => {
    const n = testNode();
    const s = n.session();
    /** Every key of one full scan, and how many calls it took. */
    const scanAll = (count: string): { keys: Set<string>; calls: number } => {
      let cursor = '0';
      const keys = new Set<string>();
      let calls = 0;
      do {
        const m = /^\*2\r\n\$[0-9]+\r\n([0-9]+)\r\n\*([0-9]+)\r\n(.*)$/s.exec(n.run(s, 'SCAN', cursor, 'COUNT', count));
        cursor = m?.[1] as string;
        for (const k of (m?.[3] as string).matchAll(/\$[0-9]+\r\n([^\r]*)\r\n/g)) keys.add(k[1] as string);
        calls++;
      } while (cursor !== '0' && calls < 10_000);
      return { keys, calls };
    };
    for (let i = 0; i < 10; i++) n.run(s, 'INCR', `a${i}`);
    n.run(s, 'SELECT', '1');
    n.run(s, 'INCR', 'before');
    n.run(s, 'SELECT', '0');
    expect(scanAll('10').keys.size).toBe(10);
    // Created after the first scan built its table, by a write or by a merge alike.
    for (let i = 0; i < 90; i++) n.run(s, 'INCR', `b${i}`);
    n.run(s, 'SELECT', '1');
    n.run(s, 'INCR', 'elsewhere');
    n.run(s, 'SELECT', '0');
    const all = scanAll('10');
    expect([...all.keys].sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `a${i}`), ...Array.from({ length: 90 }, (_, i) => `b${i}`)].sort());
    // Redis's COUNT is a hint of the work per call: 100 keys ten at a time take several calls, not one.
    expect(all.calls).toBeGreaterThanOrEqual(5);
    expect(scanAll('1000').calls).toBe(1);
  });

  it('MEMORY USAGE and STRLEN answer for any key; missing keys get nil and 0', () => {
    const n = testNode();
    const s = n.session();
    n.run(s, 'SET', 'c', '12345');
    n.run(s, 'PFADD', 'h', 'a', 'b');
    expect(n.run(s, 'STRLEN', 'c')).toBe(':5\r\n');
    expect(n.run(s, 'STRLEN', 'h')).toMatch(/^:[1-9][0-9]*\r\n$/);
    expect(n.run(s, 'STRLEN', 'none')).toBe(':0\r\n');
    expect(n.run(s, 'MEMORY', 'USAGE', 'c')).toMatch(/^:[1-9][0-9]*\r\n$/);
    expect(n.run(s, 'MEMORY', 'USAGE', 'none')).toBe('$-1\r\n');
    expect(n.run(s, 'MEMORY', 'USAGE', 'c', 'SAMPLES', '0')).toMatch(/^:/);
  });

  it('MEMORY PURGE runs a full garbage collection where the node offers one, and answers OK either way', () => {
    const n = testNode();
    const s = n.session();
    expect(n.run(s, 'MEMORY', 'PURGE')).toBe('+OK\r\n');
    let purges = 0;
    n.ctx.purgeMemory = () => (purges++, true);
    expect(n.run(s, 'memory', 'purge')).toBe('+OK\r\n');
    expect(purges).toBe(1);
    expect(n.run(s, 'MEMORY', 'PURGE', 'now')).toBe("-ERR wrong number of arguments for 'memory|purge' command\r\n");
    expect(purges).toBe(1);
    expect(n.run(s, 'MEMORY', 'HELP')).toContain('\r\n+PURGE\r\n+    Attempt to purge dirty pages for reclamation by the allocator.\r\n');
  });
});

describe('ScanTable, call by call', () => {
  /** The documented bucket hash: FNV-1a over the key string's char codes. */
  const fnv = (k: string): number => [...k].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 0x01000193), 0x811c9dc5) >>> 0;
  /** dict.c's next cursor for a table of 2^bits buckets: set the high bits, reverse, add one, reverse back. */
  const next = (v: number, bits: number): number => {
    const rev = (x: number): number => {
      let r = 0;
      for (let i = 0; i < 32; i++) r = (r << 1) | ((x >>> i) & 1);
      return r >>> 0;
    };
    return rev((rev((v | ~((1 << bits) - 1)) >>> 0) + 1) >>> 0);
  };
  const keys = (n: number, prefix = 'k'): string[] => Array.from({ length: n }, (_, i) => `\u0000${prefix}${i}`);

  it('an empty table visits nothing and its walk ends at once', () => {
    const t = new ScanTable();
    const visited: string[] = [];
    expect(t.scan(0, 10, () => true, (k) => (visited.push(k), true))).toBe(0);
    expect(visited).toEqual([]);
  });

  it('with every key stored, a full walk visits each key once, however often it was added', () => {
    const t = new ScanTable();
    const all = keys(100);
    for (const k of all) t.add(k);
    for (const k of all) t.add(k);
    expect(t.size).toBe(100);
    const visited: string[] = [];
    let cursor = 0;
    do cursor = t.scan(cursor, 5, () => true, (k) => (visited.push(k), true));
    while (cursor !== 0);
    expect(visited.sort()).toEqual([...all].sort());
  });

  it('a key the keyspace no longer stores is not visited and leaves the table', () => {
    const t = new ScanTable();
    for (const k of keys(3)) t.add(k);
    const visited: string[] = [];
    expect(t.scan(0, 100, (k) => k !== '\u0000k1', (k) => (visited.push(k), true))).toBe(0);
    expect(visited.sort()).toEqual(['\u0000k0', '\u0000k2']);
    expect(t.size).toBe(2);
  });

  it('each call visits whole buckets in reverse-binary order until it has seen COUNT live keys', () => {
    // The table doubles from 4 buckets each time it holds more keys than buckets: 64 keys fit 64, 100 need 128.
    for (const [size, bits] of [[64, 6], [100, 7]] as const) {
    const all = keys(size);
    const t = new ScanTable();
    for (const k of all) t.add(k);
    const bucketOf = (k: string): number => fnv(k) & ((1 << bits) - 1);
    let cursor = 0;
    for (let call = 0; call < 40 && (call === 0 || cursor !== 0); call++) {
      const visited: string[] = [];
      const after = t.scan(cursor, 2, () => true, (k) => (visited.push(k), true));
      // The model: walk buckets from `cursor` until two keys were seen, at most 20 buckets.
      const expected: string[] = [];
      let v = cursor;
      let buckets = 0;
      do {
        expected.push(...all.filter((k) => bucketOf(k) === v));
        v = next(v, bits);
        buckets++;
      } while (v !== 0 && expected.length < 2 && buckets < 20);
      expect(visited.sort()).toEqual(expected.sort());
      expect(after).toBe(v);
      cursor = after;
    }
    }
  });

  it('stops after ten times COUNT buckets without a live key, as Redis caps empty buckets per call', () => {
    const t = new ScanTable();
    for (const k of keys(100)) t.add(k);
    // Every key dropped: no call sees one, so each stops after 10 buckets (COUNT 1).
    let expected = 0;
    for (let i = 0; i < 10; i++) expected = next(expected, 7);
    expect(t.scan(0, 1, () => false, () => true)).toBe(expected);
    expect(t.size).toBeLessThan(100);
  });

  it('a tombstone (visit answers false) does not count toward COUNT', () => {
    const t = new ScanTable();
    for (const k of keys(6)) t.add(k);
    const visited: string[] = [];
    // Nothing live: the whole table (8 buckets, under the cap of 10 * 2) is walked in one call.
    expect(t.scan(0, 2, () => true, (k) => (visited.push(k), false))).toBe(0);
    expect(visited).toHaveLength(6);
  });
});
