// Redis's HYLL bytes: parsing untrusted input (every rejection a clear problem, never a throw), the
// Redis form kept beside a sketch (fresh, sparse rules, dense conversion, the cached count), and
// round trips. The byte-for-byte comparison with a live redis-server is test/oracle/hll-differential.test.ts;
// the literals here were read from redis-server 7.0.15.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { hasHyllMagic, HYLL_DENSE_BYTES, parseHyll, RedisHyllForm } from '../../src/crdt/redis-hyll.js';
import { unwrap } from '../unwrap.js';

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

  it('take a dense HYLL string as a dense form, which a raise keeps dense', () => {
    const regs = new Uint8Array(16384);
    regs[3] = 40;
    const dense = RedisHyllForm.fresh();
    dense.note(3, 40);
    const bytes = dense.bytes(regs);
    expect(bytes.length).toBe(HYLL_DENSE_BYTES);
    const form = unwrap(parseHyll(bytes)).form;
    expect(form.isDense()).toBe(true);
    regs[9] = 2;
    form.note(9, 2);
    const after = unwrap(parseHyll(form.bytes(regs)));
    expect(after.form.isDense()).toBe(true);
    expect([after.registers[3], after.registers[9]]).toEqual([40, 2]);
    expect(hex(form.bytes(regs).subarray(0, 16))).toBe(hex(bytes.subarray(0, 16)));
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

// Sparse bodies built opcode by opcode (docs/crdt-hll.md, "Redis's encoding"). The expected bytes
// of the join window, the bytes past the end and the 3,000-byte limit were checked on redis-server
// 7.0.15 (SET of the bytes, then PFADD of an element that raises the same register).
const VAL = (v: number, len = 1): number[] => [0x80 | ((v - 1) << 2) | (len - 1)];
const ZERO = (len: number): number[] => [len - 1];
const XZERO = (len: number): number[] => [0x40 | ((len - 1) >>> 8), (len - 1) & 0xff];
/** A sparse HYLL string of these opcodes, cached count 0 and stale. */
const sparse = (...ops: number[][]): Uint8Array => Uint8Array.from([...fromHex('48594c4c010000000000000000000080'), ...ops.flat()]);
/** Parses `bytes`, raises `index` to `value` through the form, and returns the bytes after. */
function raise(bytes: Uint8Array, index: number, value: number): { out: Uint8Array; form: RedisHyllForm } {
  const p = parseHyll(bytes);
  if (!p.ok) throw new Error(p.error.detail);
  const regs = p.value.registers.slice();
  regs[index] = value;
  p.value.form.note(index, value);
  return { out: p.value.form.bytes(regs), form: p.value.form };
}

/** Whether `bytes` parse to exactly `registers` (Buffer.equals: toEqual on 16,384 items is slow). */
const sameRegisters = (bytes: Uint8Array, registers: Uint8Array): boolean => Buffer.from(unwrap(parseHyll(bytes)).registers).equals(registers);

describe('the Redis form a sketch keeps', () => {
  // Elements whose registers (p = 14) are 0, 1, 2, 3 and 4, each at rank 1 (found by search).
  const AT = ['o12139', 'o33950', 'o2051', 'o68417', 'o13182'];
  const body = (h: HyperLogLog): string => hex(unwrap(h.redisBytes()).subarray(16)).slice(0, 4);

  it('is tracked from the first add of a new sketch, and of a deleted one written again (the order of adds shows)', () => {
    for (const start of ['new', 'deleted', 'deleted dense'] as const) {
      const rightToLeft = HyperLogLog.create(14);
      const leftToRight = HyperLogLog.create(14);
      for (const h of [rightToLeft, leftToRight]) {
        if (start === 'new') continue;
        h.add('before');
        if (start === 'deleted dense') h.promote();
        h.clear();
      }
      for (const e of [...AT].reverse()) rightToLeft.add(e);
      for (const e of AT) leftToRight.add(e);
      expect(rightToLeft.registers().subarray(0, 5)).toEqual(Uint8Array.from([1, 1, 1, 1, 1]));
      // As in Redis: VAL(1)x1 then VAL(1)x4 when set right to left, x4 then x1 left to right.
      expect([start, body(rightToLeft)]).toEqual([start, '8083']);
      expect([start, body(leftToRight)]).toEqual([start, '8380']);
    }
  });

  it('of a sketch made from registers, or replaced by a peer\'s later generation, is built from its registers', () => {
    const regs = new Uint8Array(16384);
    regs[7] = 3;
    regs[9000] = 12;
    const made = HyperLogLog.fromRegisters(14, 0, regs);
    expect(unwrap(parseHyll(unwrap(made.redisBytes()))).registers).toEqual(regs);
    // A sketch with a tracked form that a peer's delete and adds replace outright.
    const mine = HyperLogLog.create(14);
    for (const e of AT) mine.add(e);
    expect(body(mine)).toBe('8380');
    const peer = mine.clone();
    peer.clear();
    peer.add('peer');
    expect(unwrap(mine.merge(peer))).toBe(true);
    expect(unwrap(parseHyll(unwrap(mine.redisBytes()))).registers).toEqual(peer.registers());
  });
});

describe('Redis HYLL edges', () => {
  it('know the magic by all four bytes', () => {
    expect(hasHyllMagic(fromHex('48594c4c'))).toBe(true);
    for (let k = 0; k < 4; k++) {
      const b = fromHex('48594c4c');
      b[k]! ^= 0x20; // "hYLL", "HyLL", ...
      expect(hasHyllMagic(b), hex(b)).toBe(false);
    }
    expect(hasHyllMagic(fromHex('48594c'))).toBe(false);
  });

  it('accept a dense register of 51 (the highest rank) and refuse 52', () => {
    const dense = new Uint8Array(HYLL_DENSE_BYTES);
    dense.set(fromHex('48594c4c00'));
    dense[16] = 51;
    expect(unwrap(parseHyll(dense)).registers[0]).toBe(51);
    dense[16] = 52;
    const r = parseHyll(dense);
    expect(!r.ok && r.error.detail).toBe('dense register 0 = 52, above 51');
  });

  it('refuse a VAL run past the last register, and read a ZERO run as zeros', () => {
    const past = parseHyll(sparse(XZERO(16383), VAL(3, 2)));
    expect(!past.ok && past.error).toEqual({ problem: 'CORRUPT', detail: 'sparse runs past register 16384' });
    const r = unwrap(parseHyll(sparse(ZERO(64), VAL(3, 2), XZERO(16318))));
    expect([...r.registers.subarray(62, 68)]).toEqual([0, 0, 3, 3, 0, 0]);
  });

  it('copy the bytes they parse: the caller may reuse its buffer', () => {
    for (const b of [fromHex(REDIS_HELLO_COUNTED), (() => { const d = new Uint8Array(HYLL_DENSE_BYTES); d.set(fromHex('48594c4c00')); d[16] = 3; return d; })()]) {
      const p = unwrap(parseHyll(b));
      const before = hex(b);
      b.fill(0);
      expect(hex(p.form.bytes(p.registers))).toBe(before);
    }
  });

  it('keep a valid cached count through PFCOUNT, even one the registers do not give, and store a stale one whole', () => {
    // Redis trusts a valid cache: PFCOUNT answers it and leaves the header alone.
    const forged = '48594c4c01000000070000000000000063ff805bfe';
    const h = unwrap(HyperLogLog.fromRedisBytes(fromHex(forged)));
    h.noteRedisCount();
    expect(hex(unwrap(h.redisBytes()))).toBe(forged);
    const f = RedisHyllForm.fresh();
    f.invalidate();
    expect(f.cacheValid()).toBe(false);
    const big = 2 ** 40 + 0x1234;
    f.storeCount(big);
    expect(f.cacheValid()).toBe(true);
    expect(f.cachedValue()).toBe(big);
    expect(hex(f.bytes(new Uint8Array(16384)).subarray(8, 16))).toBe('3412000000010000');
    f.invalidate(); // the stale bit is not part of the value
    expect(f.cachedValue()).toBe(big);
    // Only the top byte holds the stale bit: a count whose other bytes have their top bit set keeps it.
    const g = RedisHyllForm.fresh();
    g.invalidate();
    g.storeCount(0x80ff);
    expect(g.cachedValue()).toBe(0x80ff);
  });

  it('join equal VALs within five opcodes of the one before a change, not the sixth', () => {
    // Register 1 raised to 5: the scan starts at register 0's VAL and stops before the pair at 5-6.
    const before = sparse(VAL(1), VAL(2), ZERO(1), VAL(3), ZERO(1), VAL(4), VAL(4), XZERO(16377));
    const { out } = raise(before, 1, 5);
    expect(hex(out.subarray(16))).toBe(hex(Uint8Array.from([...VAL(1), ...VAL(5), ...ZERO(1), ...VAL(3), ...ZERO(1), ...VAL(4), ...VAL(4), ...XZERO(16377)])));
  });

  it('never join with bytes left past the end by an earlier join', () => {
    // 16382 raised to 5 joins VAL5, VAL5, VAL5 into one VAL5x3; the two bytes the joins freed
    // still hold a VAL5, which must not join with the last opcode.
    const { out } = raise(sparse(XZERO(16381), VAL(5), ZERO(1), VAL(5)), 16382, 5);
    expect(hex(out.subarray(16))).toBe(hex(Uint8Array.from([...XZERO(16381), ...VAL(5, 3)])));
  });

  it('stay sparse at exactly 3,000 bytes and go dense at 3,001', () => {
    // 2,980 VALs (alternating, so none join), then zeros; raising the first register of the XZERO
    // splits it into VAL + XZERO: one byte more.
    const vals = Array.from({ length: 2980 }, (_, i) => VAL(1 + (i % 2)));
    const at3000 = raise(sparse(...vals, ZERO(1), XZERO(13403)), 2981, 3);
    expect(at3000.out.length).toBe(3000);
    expect(at3000.form.isDense()).toBe(false);
    expect(hex(at3000.out.subarray(16 + 2981))).toBe(hex(Uint8Array.from([...VAL(3), ...XZERO(13402)])));
    const at3001 = raise(sparse(...vals, ZERO(1), ZERO(1), XZERO(13402)), 2982, 3);
    expect(at3001.form.isDense()).toBe(true);
    expect(at3001.out.length).toBe(HYLL_DENSE_BYTES);
    expect(unwrap(parseHyll(at3001.out)).registers[2982]).toBe(3);
  });

  it('hold the registers raised, in any order and however the changes are queued', () => {
    let runs = 0;
    const raiseArb = fc.record({ index: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 16383 })), value: fc.integer({ min: 1, max: 32 }), read: fc.boolean() });
    fc.assert(
      fc.property(fc.array(raiseArb, { maxLength: 150 }), (raises) => {
        runs++;
        const model = new Uint8Array(16384);
        const queued = RedisHyllForm.fresh(); // bytes read only where `read` says
        const eager = RedisHyllForm.fresh(); // bytes read after every change
        for (const r of raises) {
          if (r.value <= model[r.index]!) continue; // only raises are noted, as the sketch does
          model[r.index] = r.value;
          queued.note(r.index, r.value);
          eager.note(r.index, r.value);
          eager.bytes(model);
          if (r.read) expect(sameRegisters(queued.bytes(model), model)).toBe(true);
        }
        const out = queued.bytes(model);
        expect(sameRegisters(out, model)).toBe(true);
        expect(hex(eager.bytes(model))).toBe(hex(out));
      }),
      { numRuns: 300 },
    );
    expect(runs).toBeGreaterThan(0);
  });
});

