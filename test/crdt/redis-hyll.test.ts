// Redis's HYLL bytes: parsing untrusted input (every rejection a clear problem, never a throw), the
// Redis form kept beside a sketch (fresh, sparse rules, dense conversion, the cached count), and
// round trips. The byte-for-byte comparison with a live redis-server is test/oracle/hll-differential.test.ts;
// the literals here were read from redis-server 7.0.15.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { HYLL_DENSE_BYTES, parseHyll, RedisHyllForm } from '../../src/crdt/redis-hyll.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

/** redis-server after `PFADD k hello`: one VAL at register 9216, cached count stale (0 with the top bit). */
const REDIS_HELLO = '48594c4c01000000000000000000008063ff805bfe';
/** The same after `PFCOUNT k`: the count 1 cached, valid. */
const REDIS_HELLO_COUNTED = '48594c4c01000000010000000000000063ff805bfe';

describe('Redis HYLL bytes', () => {
  it("are what redis-server holds after PFADD, and after PFCOUNT caches the count", () => {
    const h = HyperLogLog.create(14);
    h.add('hello');
    expect(h.redisBytes()).toEqual({ ok: true, value: fromHex(REDIS_HELLO) });
    h.noteRedisCount();
    expect(h.redisBytes()).toEqual({ ok: true, value: fromHex(REDIS_HELLO_COUNTED) });
    h.add('hello'); // no register changes: the cache stays valid
    expect(h.redisBytes()).toEqual({ ok: true, value: fromHex(REDIS_HELLO_COUNTED) });
  });

  it('round-trip through SET unchanged, and a sketch made from them counts as Redis does', () => {
    const h = HyperLogLog.fromRedisBytes(fromHex(REDIS_HELLO_COUNTED));
    if (!h.ok) throw new Error(h.error.detail);
    expect(h.value.count()).toBe(1);
    expect(h.value.registers()[9216]).toBe(1);
    expect(hex((h.value.redisBytes() as { value: Uint8Array }).value)).toBe(REDIS_HELLO_COUNTED);
  });

  it('go dense past the sparse limit, keeping the header', () => {
    const h = HyperLogLog.create(14);
    for (let i = 0; i < 5000; i++) h.add(`el:${i}`);
    const b = h.redisBytes();
    if (!b.ok) throw b.error;
    expect(b.value.length).toBe(HYLL_DENSE_BYTES);
    expect(b.value[4]).toBe(0);
    expect(b.value[15]! & 0x80).toBe(0x80);
    const back = HyperLogLog.fromRedisBytes(b.value);
    expect(back.ok && back.value.equals(h)).toBe(true);
  });

  it('go dense for a register above 32, which a sparse VAL cannot hold', () => {
    const f = RedisHyllForm.fresh();
    f.note(7, 32);
    expect(f.isDense()).toBe(false);
    f.note(8, 33);
    expect(f.isDense()).toBe(true);
    const regs = new Uint8Array(16384);
    regs[7] = 32;
    regs[8] = 33;
    const parsed = parseHyll(f.bytes(regs));
    expect(parsed.ok && parsed.value.registers[8]).toBe(33);
  });

  it('join neighbouring equal VALs near a change only, as Redis does (the order of adds shows)', () => {
    // Registers 0..4 at 1, set right to left: Redis ends with VAL(1)x1 then VAL(1)x4, not x4 then x1.
    const f = RedisHyllForm.fresh();
    for (const i of [4, 3, 2, 1, 0]) f.note(i, 1);
    const body = hex(f.bytes(new Uint8Array(16384)).subarray(16));
    expect(body.slice(0, 4)).toBe('8083');
    const g = RedisHyllForm.fresh();
    for (const i of [0, 1, 2, 3, 4]) g.note(i, 1);
    expect(hex(g.bytes(new Uint8Array(16384)).subarray(16)).slice(0, 4)).toBe('8380');
  });

  it('name what is wrong: not an HLL (WRONGTYPE in Redis) or corrupt (INVALIDOBJ)', () => {
    const cases: [string, string, RegExp][] = [
      ['', 'NOT_HLL', /shorter than/],
      ['48594c4c01', 'NOT_HLL', /shorter than/],
      ['48594c4d01000000000000000000000063ff805bfe', 'NOT_HLL', /magic/],
      ['48594c4c02000000000000000000000063ff805bfe', 'NOT_HLL', /encoding 2/],
      ['48594c4c00000000000000000000000063ff805bfe', 'NOT_HLL', /dense HYLL of 21 bytes/],
      ['48594c4c01000000000000000000000063ff805b', 'CORRUPT', /cut off/],
      ['48594c4c01000000000000000000000063ff805bfd', 'CORRUPT', /cover 16383/],
      ['48594c4c01000000000000000000000063ff805bff', 'CORRUPT', /past register/],
      ['48594c4c010000000000000000000000', 'CORRUPT', /cover 0/],
    ];
    for (const [bytes, problem, detail] of cases) {
      const r = parseHyll(fromHex(bytes));
      expect(r.ok, bytes).toBe(false);
      if (!r.ok) {
        expect(r.error.problem, bytes).toBe(problem);
        expect(r.error.detail, bytes).toMatch(detail);
      }
    }
    const dense = new Uint8Array(HYLL_DENSE_BYTES);
    dense.set(fromHex('48594c4c00'));
    dense[16] = 52; // register 0 = 52: no hash makes it, tally refuses it
    const r = parseHyll(dense);
    expect(!r.ok && r.error.problem).toBe('CORRUPT');
  });

  it('never throw on truncations, mutations and random bytes; what parses re-presents byte for byte', () => {
    const seeds: Uint8Array[] = [fromHex(REDIS_HELLO), fromHex(REDIS_HELLO_COUNTED)];
    const big = HyperLogLog.create(14);
    for (let i = 0; i < 1500; i++) big.add(`el:${i}`);
    seeds.push((big.redisBytes() as { value: Uint8Array }).value);
    for (let i = 1500; i < 9000; i++) big.add(`el:${i}`);
    seeds.push((big.redisBytes() as { value: Uint8Array }).value);
    const check = (b: Uint8Array): void => {
      const r = HyperLogLog.fromRedisBytes(b);
      if (!r.ok) {
        expect(['NOT_HLL', 'CORRUPT']).toContain(r.error.problem);
        expect(r.error.detail.length).toBeGreaterThan(0);
        return;
      }
      const again = r.value.redisBytes();
      expect(again.ok && hex(again.value)).toBe(hex(b));
      // And it keeps working as a sketch: adds, a count, the bytes after them parse again.
      r.value.add('one more');
      expect(Number.isInteger(r.value.count())).toBe(true);
      expect(parseHyll((r.value.redisBytes() as { value: Uint8Array }).value).ok).toBe(true);
    };
    for (const s of seeds) for (let n = 0; n <= Math.min(s.length, 64); n++) check(s.subarray(0, n));
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 1, max: 255 }), (s, at, x) => {
        const b = s.slice();
        b[at % b.length] = b[at % b.length]! ^ x;
        check(b);
      }),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => {
        check(Uint8Array.from([...fromHex('48594c4c01000000000000000000000'.padEnd(32, '0')), ...tail]));
        check(tail);
      }),
      { numRuns: 1500 },
    );
  });
});
