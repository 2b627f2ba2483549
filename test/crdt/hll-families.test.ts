// The two hash families of the HyperLogLog (docs/crdt-hll.md, "Hash families"): sketches written
// before tally hashed as Redis does keep their hash, decode from the bytes old nodes wrote, never
// combine with Redis-hash sketches in a union, and merge with them by a rule that is a join.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HyperLogLog, type HllHash } from '../../src/crdt/hyperloglog.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

// Bytes written by tally before the Redis hash (main at e77ce25), and what that code made of them.
/** p = 14, generation 0, sparse: 'a', 'b', 'hello' added with the legacy hash. */
const OLD_ABH = '01030e000003c2c80983a610838b0a';
/** The same code's encoding after also adding 'c'. */
const OLD_ABH_C = '01030e000004c2c809c12883fd0f838b0a';
/** An empty sketch of generation 1 (a deleted key's tombstone). */
const OLD_TOMBSTONE = '01030e010000';

function sketch(hash: HllHash, gen: number, els: readonly number[], p = 8): HyperLogLog {
  // Registers drawn from element numbers, in either family (the family only labels them here).
  const regs = new Uint8Array(1 << p);
  for (const e of els) regs[(e * 37) % regs.length] = 1 + (e % 7);
  return HyperLogLog.fromRegisters(p, gen, regs, hash);
}

const stateArb = fc.record({
  hash: fc.constantFrom<HllHash>('redis', 'legacy'),
  gen: fc.integer({ min: 0, max: 2 }),
  els: fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 12 }),
});
const build = (s: { hash: HllHash; gen: number; els: number[] }): HyperLogLog => sketch(s.hash, s.gen, s.els);
const joined = (a: HyperLogLog, b: HyperLogLog): HyperLogLog => {
  const x = a.clone();
  expect(x.merge(b).ok).toBe(true);
  return x;
};

describe('HyperLogLog hash families', () => {
  it('new sketches hash as Redis does; an empty one has no family but Redis', () => {
    const h = HyperLogLog.create(14);
    expect(h.hash).toBe('redis');
    h.add('x');
    expect(h.hash).toBe('redis');
    expect(HyperLogLog.decode(fromHex(OLD_TOMBSTONE)).ok && HyperLogLog.decode(fromHex(OLD_TOMBSTONE))).toMatchObject({ value: { hash: 'redis', generation: 1 } });
  });

  it('decodes what tally wrote before the Redis hash as legacy, keeps adding with the legacy hash, and re-encodes the old bytes', () => {
    const d = HyperLogLog.decode(fromHex(OLD_ABH));
    if (!d.ok) throw d.error;
    const h = d.value;
    expect(h.hash).toBe('legacy');
    expect(h.count()).toBe(3);
    expect(hex(h.encode())).toBe(OLD_ABH);
    expect(h.add('c')).toBe(true);
    expect(hex(h.encode())).toBe(OLD_ABH_C);
    expect(h.add('a')).toBe(false);
  });

  it('addPrefix(b, len) adds what addBytes of the first len bytes adds, in either family', () => {
    const legacy = HyperLogLog.decode(fromHex(OLD_ABH));
    if (!legacy.ok) throw legacy.error;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.nat()), { maxLength: 30 }), fc.boolean(), (els, old) => {
        const a = old ? legacy.value.clone() : HyperLogLog.create(12);
        const b = a.clone();
        for (const [bytes, extra] of els) {
          // The element sits at the start of a longer buffer, with other bytes after it.
          const padded = new Uint8Array(bytes.length + (extra % 9));
          padded.set(bytes);
          padded.fill(0xab, bytes.length);
          expect(a.addPrefix(padded, bytes.length)).toBe(b.addBytes(bytes));
        }
        expect(hex(a.encode())).toBe(hex(b.encode()));
        expect(a.hash).toBe(old ? 'legacy' : 'redis');
      }),
    );
  });

  it('encodes Redis-hash sketches in forms old nodes refuse, and an empty one as they wrote it', () => {
    const h = HyperLogLog.create(14);
    h.add('a');
    expect(h.encode()[4]).toBe(2); // sparse, Redis hash
    h.promote();
    for (let i = 0; i < 20_000; i++) h.add(`el:${i}`);
    expect(h.encode()[4]).toBe(3); // dense, Redis hash
    h.clear();
    expect(hex(h.encode())).toBe(OLD_TOMBSTONE);
  });

  it('refuses an empty sketch in a family form (one state, one encoding)', () => {
    const r = HyperLogLog.decode(fromHex('01030e01' + '02' + '00'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('CODEC_INVALID');
  });

  it('round-trips either family, sparse and dense, keeping the family', () => {
    fc.assert(
      fc.property(stateArb, fc.boolean(), (s, dense) => {
        const h = build(s);
        if (dense) h.promote();
        const d = HyperLogLog.decode(h.encode());
        expect(d.ok).toBe(true);
        if (!d.ok) return;
        expect(d.value.equals(h)).toBe(true);
        expect(d.value.hash).toBe(h.isEmpty() ? 'redis' : s.hash);
      }),
    );
  });

  it('merge across families is a join: commutative, associative, idempotent', () => {
    fc.assert(
      fc.property(stateArb, stateArb, stateArb, (sa, sb, sc) => {
        const [a, b, c] = [build(sa), build(sb), build(sc)];
        expect(joined(a, b).equals(joined(b, a))).toBe(true);
        expect(joined(joined(a, b), c).equals(joined(a, joined(b, c)))).toBe(true);
        expect(joined(a, a).equals(a)).toBe(true);
        const x = joined(a, b);
        expect(x.merge(b)).toEqual({ ok: true, value: false });
      }),
      { numRuns: 500 },
    );
  });

  it('at one generation the Redis family replaces the legacy one; an empty sketch takes either', () => {
    const legacy = sketch('legacy', 1, [1, 2, 3]);
    const redis = sketch('redis', 1, [4]);
    const x = joined(legacy, redis);
    expect(x.hash).toBe('redis');
    expect(x.equals(redis)).toBe(true);
    expect(joined(redis, legacy).equals(redis)).toBe(true);
    const empty = sketch('redis', 1, []);
    expect(joined(empty, legacy).equals(legacy)).toBe(true);
    // A delete (a higher generation) replaces either family, as always.
    const deleted = legacy.clone();
    deleted.clear();
    expect(joined(redis, deleted).isEmpty()).toBe(true);
  });

  it('refuses a union of a legacy and a Redis sketch, changing nothing; an empty one takes the other family', () => {
    const legacy = sketch('legacy', 0, [1, 2]);
    const redis = sketch('redis', 0, [3]);
    const before = redis.clone();
    const r = redis.unionWith(legacy);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('HLL_HASH_MISMATCH');
    expect(redis.equals(before)).toBe(true);
    const dest = HyperLogLog.create(8);
    expect(dest.unionWith(legacy)).toEqual({ ok: true, value: true });
    expect(dest.hash).toBe('legacy');
    expect(dest.unionWith(sketch('redis', 0, [])).ok).toBe(true);
  });

  it('has no Redis bytes for a legacy sketch or another precision, and says why', () => {
    const legacy = HyperLogLog.decode(fromHex(OLD_ABH));
    if (!legacy.ok) throw legacy.error;
    const r = legacy.value.redisBytes();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/legacy hash/);
    const p12 = HyperLogLog.create(12);
    p12.add('x');
    const q = p12.redisBytes();
    expect(q.ok).toBe(false);
    if (!q.ok) expect(q.error.code).toBe('HLL_NOT_REDIS');
  });

  it('a delete of a legacy sketch starts a Redis-hash generation', () => {
    const d = HyperLogLog.decode(fromHex(OLD_ABH));
    if (!d.ok) throw d.error;
    const h = d.value;
    h.clear();
    h.add('hello');
    expect(h.hash).toBe('redis');
    expect(h.registers()[9216]).toBe(1);
  });
});
