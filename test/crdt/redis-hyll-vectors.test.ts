// Replays HyperLogLog command sequences recorded from redis-server 7.0.15
// (fixtures/redis-hyll-vectors.json, made by test/oracle/record-hyll-vectors.ts) on tally's
// HyperLogLog, and checks every step's HYLL bytes: the sparse opcodes a change splits, raises and
// joins, ZERO and XZERO runs either side of it, the 64 changes the form queues, the conversion to
// dense, PFCOUNT's cached count and PFMERGE's. The live comparison is
// test/oracle/hll-differential.test.ts; this one runs in process, so mutation testing runs it too.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { parseHyll } from '../../src/crdt/redis-hyll.js';
import { bytesOf, type Vectors } from '../oracle/record-hyll-vectors.js';
import { unwrap } from '../unwrap.js';

const vectors = JSON.parse(readFileSync(new URL('fixtures/redis-hyll-vectors.json', import.meta.url), 'utf8')) as Vectors;

describe('Redis HYLL bytes, step by step as redis-server recorded them', () => {
  it('were recorded from redis-server 7.0, with sparse, dense and merge steps', () => {
    expect(vectors.redis).toMatch(/^7\.0\./);
    expect(vectors.cases.map((c) => c.name)).toEqual(['crowd-low', 'crowd-mid', 'zero-run-edges', 'spread-to-dense', 'merge']);
    const steps = vectors.cases.flatMap((c) => c.steps);
    expect(steps.some((s) => 'sha256' in s.get && s.get.length === 12304)).toBe(true); // dense
    expect(steps.filter((s) => s.op === 'add' && s.elements.length > 64).length).toBeGreaterThan(5); // past the queue
  });

  for (const c of vectors.cases) {
    it(`${c.name}: ${c.steps.length} steps give Redis's bytes, which parse back to the same registers`, () => {
      const keys = new Map<string, HyperLogLog>();
      let checked = 0;
      c.steps.forEach((s, n) => {
        const where = `${c.name} step ${n} (${s.op})`;
        let key: string;
        if (s.op === 'add') {
          key = s.key;
          const h = keys.get(key) ?? HyperLogLog.create(14);
          keys.set(key, h);
          for (const e of s.elements) h.add(e);
        } else if (s.op === 'count') {
          key = s.key;
          const h = keys.get(key)!;
          expect(h.count(), where).toBe(s.reply);
          h.noteRedisCount();
        } else {
          key = s.dest;
          // As PFMERGE does (src/server/commands/hll-commands.ts): dense if any HLL named is.
          const named = [s.dest, ...s.sources].flatMap((k) => keys.get(k) ?? []);
          const dense = named.some((h) => h.isRedisDense());
          const fresh = !keys.has(s.dest);
          const d = keys.get(s.dest) ?? HyperLogLog.create(14);
          keys.set(s.dest, d);
          for (const k of s.sources) if (keys.get(k) !== d) unwrap(d.unionWith(keys.get(k)!));
          d.noteRedisMerge(dense);
          if (fresh && !dense) {
            // A sketch with no local history (decoded from gossip) presents its registers as a
            // merge into a new key: the same bytes.
            const bare = HyperLogLog.fromRegisters(14, 0, d.registers());
            expect(bytesOf(unwrap(bare.redisBytes())), `${where}, from registers`).toEqual(s.get);
          }
        }
        const h = keys.get(key)!;
        const bytes = unwrap(h.redisBytes());
        expect(bytesOf(bytes), where).toEqual(s.get);
        const parsed = parseHyll(bytes);
        if (!parsed.ok) throw new Error(`${where}: ${parsed.error.detail}`);
        expect(Buffer.from(parsed.value.registers).equals(Buffer.from(h.registers())), where).toBe(true);
        // SET of those bytes presents them unchanged.
        expect(bytesOf(unwrap(unwrap(HyperLogLog.fromRedisBytes(bytes)).redisBytes())), `${where}, after SET`).toEqual(s.get);
        checked++;
      });
      expect(checked).toBe(c.steps.length);
    });
  }
});
