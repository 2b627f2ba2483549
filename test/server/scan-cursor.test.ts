// SCAN's guarantee over a changing keyspace (src/server/commands/scan-cursor.ts): a key present from
// the start of a full iteration to its end is returned, here exactly once (Redis promises at least
// once), while keys are added and dropped between calls and dropped keys' ids are given again.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MIN_IDS_PER_CALL, scanIds, type KeysById } from '../../src/server/commands/scan-cursor.js';
import { testNode } from './command-harness.js';

/** Key ids as the key table gives them: dense from 0, a dropped key's id given to the next new key. */
class Ids implements KeysById {
  private readonly keys: (string | undefined)[] = [];
  private readonly free: number[] = [];
  readonly held = new Set<string>();

  get idBound(): number {
    return this.keys.length;
  }

  keyOf(id: number): string | undefined {
    return this.keys[id];
  }

  add(key: string): void {
    if (this.held.has(key)) return;
    this.held.add(key);
    const id = this.free.length > 0 ? (this.free.pop() as number) : this.keys.length;
    this.keys[id] = key;
  }

  drop(key: string): void {
    const id = this.keys.indexOf(key);
    if (id < 0) return;
    this.keys[id] = undefined;
    this.free.push(id);
    this.held.delete(key);
  }
}

/** A visit by id that hands `visit` the key at the id, and counts nothing where no key is. */
const byKey = (t: Ids, visit: (k: string) => boolean) => (id: number): boolean => {
  const k = t.keyOf(id);
  return k !== undefined && visit(k);
};

describe('scanIds', () => {
  it('returns every key present for the whole scan exactly once, while keys are added and dropped (ids given again) between calls', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 40 })), { maxLength: 60 }), fc.integer({ min: 1, max: 20 }), (initial, changes, count) => {
        const t = new Ids();
        for (let i = 0; i < initial; i++) t.add(`k${i}`);
        const always = new Set(t.held);
        const seen: string[] = [];
        let cursor = 0n;
        let step = 0;
        do {
          cursor = BigInt(scanIds(t, cursor, count, byKey(t, (k) => (seen.push(k), true))));
          const [adds, drops] = changes[step++] ?? [0, 0];
          for (const k of [...t.held].slice(0, drops)) {
            t.drop(k);
            always.delete(k);
          }
          for (let i = 0; i < adds; i++) t.add(`n${step}:${i}`);
        } while (cursor !== 0n);
        for (const k of always) expect(seen.filter((x) => x === k)).toHaveLength(1);
      }),
    );
  });

  it('each call visits ids in order from the cursor until COUNT keys counted, and answers the next id', () => {
    const t = new Ids();
    for (let i = 0; i < 10; i++) t.add(`k${i}`);
    t.drop('k3');
    const visited: string[] = [];
    // Keys of odd index do not count (another database's, or tombstones).
    const visit = byKey(t, (k: string): boolean => (visited.push(k), Number(k.slice(1)) % 2 === 0));
    expect(scanIds(t, 0n, 2, visit)).toBe(3); // k0 and k2 counted; k1 visited between
    expect(visited).toEqual(['k0', 'k1', 'k2']);
    visited.length = 0;
    expect(scanIds(t, 3n, 2, visit)).toBe(7); // id 3 is free; k4, k6 counted
    expect(visited).toEqual(['k4', 'k5', 'k6']);
    visited.length = 0;
    expect(scanIds(t, 7n, 5, visit)).toBe(0); // the rest: the walk ends
    expect(visited).toEqual(['k7', 'k8', 'k9']);
  });

  it('an empty table, or a cursor at or past the ids held, or a negative one, ends at once', () => {
    const t = new Ids();
    const visited: string[] = [];
    const visit = byKey(t, (k: string): boolean => (visited.push(k), true));
    expect(scanIds(t, 0n, 10, visit)).toBe(0);
    for (let i = 0; i < 5; i++) t.add(`k${i}`);
    expect(scanIds(t, 5n, 10, visit)).toBe(0);
    expect(scanIds(t, 2n ** 64n - 1n, 10, visit)).toBe(0);
    expect(scanIds(t, -1n, 10, visit)).toBe(0);
    expect(visited).toEqual([]);
    expect(scanIds(t, 4n, 10, visit)).toBe(0);
    expect(visited).toEqual(['k4']);
  });

  it('a call stops after max(10 x COUNT, MIN_IDS_PER_CALL) ids with too few keys counted, as Redis caps empty buckets per call', () => {
    const t = new Ids();
    const n = MIN_IDS_PER_CALL * 3;
    for (let i = 0; i < n; i++) t.add(`k${i}`);
    let visited = 0;
    const none = (): boolean => (visited++, false);
    expect(scanIds(t, 0n, 1, none)).toBe(MIN_IDS_PER_CALL);
    expect(visited).toBe(MIN_IDS_PER_CALL);
    const big = MIN_IDS_PER_CALL / 5; // a COUNT whose ten times is twice the floor
    expect(scanIds(t, 0n, big, none)).toBe(2 * MIN_IDS_PER_CALL);
    expect(scanIds(t, BigInt(2 * MIN_IDS_PER_CALL), big, none)).toBe(0);
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

  it('a database of a few live keys among many deleted ones and another database\'s is walked in one call of COUNT 1000', () => {
    let now = 1_700_000_000_000;
    const n = testNode({ now: () => now });
    const s = n.session();
    for (let i = 0; i < 15_000; i++) n.run(s, 'INCR', `gone:${i}`);
    for (let i = 0; i < 15_000; i++) n.run(s, 'DEL', `gone:${i}`); // tombstones, kept until collected
    n.run(s, 'SELECT', '2');
    for (let i = 0; i < 10_000; i++) n.run(s, 'INCR', `other:${i}`);
    n.run(s, 'SELECT', '0');
    for (const k of ['a', 'b', 'c', 'd']) n.run(s, 'INCR', k);
    n.run(s, 'PEXPIRE', 'd', '1000'); // a key with a deadline still ahead is listed
    n.run(s, 'PEXPIRE', 'c', '1'); // and one whose deadline passes before the scan is not
    now += 10;
    expect(n.run(s, 'SCAN', '0', 'COUNT', '1000')).toMatch(/^\*2\r\n\$1\r\n0\r\n\*3\r\n(\$1\r\n[abd]\r\n){3}$/);
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
