// HyperLogLog: merge laws, delete generations, sparse/dense agreement, codec fuzzing, accuracy.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slowIt } from '../slow.js';
import { CODEC_VERSION, TypeTag } from '../../src/crdt/codec.js';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { SeededRng } from '../../src/util/rng.js';

/** Small precision so a few dozen elements reach both forms (m = 64, sparse up to 16 registers). */
const P = 6;

type Spec = { gen: number; els: number[]; dense: boolean };

function build({ gen, els, dense }: Spec, p = P): HyperLogLog {
  const h = HyperLogLog.create(p);
  for (let g = 0; g < gen; g++) h.clear();
  for (const e of els) h.add(`e${e}`);
  if (dense) h.promote();
  return h;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  gen: fc.nat(2),
  els: fc.array(fc.nat(300), { maxLength: 60 }),
  dense: fc.boolean(),
});
const sketchArb = specArb.map((s) => build(s));

function merged(a: HyperLogLog, b: HyperLogLog): HyperLogLog {
  const c = a.clone();
  const r = c.merge(b);
  expect(r.ok).toBe(true);
  return c;
}

describe('HyperLogLog basics', () => {
  it('rejects precision outside 4..18', () => {
    for (const p of [3, 19, 0, 14.5, Number.NaN]) expect(() => HyperLogLog.create(p)).toThrow(/precision/);
    expect(HyperLogLog.create().p).toBe(HyperLogLog.DEFAULT_PRECISION);
    expect(HyperLogLog.create(4).p).toBe(4);
    expect(HyperLogLog.create(18).p).toBe(18);
  });

  it('counts tiny sets exactly', () => {
    const h = HyperLogLog.create();
    expect(h.count()).toBe(0);
    expect(h.isEmpty()).toBe(true);
    for (let n = 1; n <= 200; n++) {
      const changed = h.add(`user:${n}`);
      if (n <= 20) expect(changed).toBe(true); // later, a new element may land on a higher register
      expect(h.add(`user:${n}`)).toBe(false); // a repeat never changes anything
      if (n <= 20) expect(h.count()).toBe(n);
      else expect(Math.abs(h.count() - n)).toBeLessThanOrEqual(Math.max(1, n * 0.03));
    }
    expect(h.isEmpty()).toBe(false);
  });

  it('caches the count and invalidates it on change', () => {
    const h = HyperLogLog.create();
    for (let i = 0; i < 1000; i++) h.add(`k${i}`);
    const c1 = h.count();
    expect(h.count()).toBe(c1);
    let i = 1000;
    while (!h.add(`k${i}`)) i++;
    // The cached count must be dropped: it now equals the count of the same registers computed afresh.
    const fresh = HyperLogLog.create();
    for (let j = 0; j <= i; j++) fresh.add(`k${j}`);
    expect(h.count()).toBe(fresh.count());
    expect(h.count()).not.toBe(c1);
  });

  it('promotes sparse to dense past m / 4 registers, keeping the value', () => {
    const h = HyperLogLog.create(10); // m = 1024, sparse holds up to 256
    let i = 0;
    let sparseAt256: HyperLogLog | null = null;
    while (!h.isDense()) {
      const before = h.clone();
      h.add(`x${i++}`);
      if (!h.isDense()) sparseAt256 = h.clone();
      else expect(before.registers().filter((r) => r !== 0).length).toBe(256);
    }
    expect(sparseAt256?.isDense()).toBe(false);
    expect(h.byteSize()).toBeGreaterThan(1024);
  });

  it('gives the same registers and estimate in sparse and dense form', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 300 }), fc.integer({ min: 4, max: 12 }), (els, p) => {
        const s = HyperLogLog.create(p);
        const d = HyperLogLog.create(p);
        d.promote();
        for (const e of els) expect(s.add(e)).toBe(d.add(e));
        expect(s.equals(d)).toBe(true);
        expect(d.equals(s)).toBe(true);
        expect(s.estimate()).toBe(d.estimate());
        expect(s.registers()).toEqual(d.registers());
      }),
      { numRuns: 200 },
    );
  });

  it('hashes a string and its UTF-8 bytes to the same element', () => {
    const a = HyperLogLog.create();
    const b = HyperLogLog.create();
    for (const s of ['plain', 'ünïcödé', '日本語', '😀 emoji']) {
      a.add(s);
      b.add(new TextEncoder().encode(s));
    }
    expect(a.equals(b)).toBe(true);
  });

  it('fromRegisters picks the natural form and validates', () => {
    const regs = new Uint8Array(64);
    regs[3] = 5;
    const h = HyperLogLog.fromRegisters(P, 2, regs);
    expect(h.isDense()).toBe(false);
    expect(h.generation).toBe(2);
    expect(h.registers()).toEqual(regs);
    expect(() => HyperLogLog.fromRegisters(P, 0, new Uint8Array(63))).toThrow();
    regs[0] = 60;
    expect(() => HyperLogLog.fromRegisters(P, 0, regs)).toThrow(/maximum rank/);
    expect(HyperLogLog.fromRegisters(P, 0, new Uint8Array(64).fill(1)).isDense()).toBe(true);
  });
});

describe('HyperLogLog merge', () => {
  it('errs on a precision mismatch and changes nothing', () => {
    const a = build({ gen: 0, els: [1, 2], dense: false }, 10);
    const before = a.clone();
    const r = a.merge(HyperLogLog.create(11));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('HLL_PRECISION_MISMATCH');
    expect(a.equals(before)).toBe(true);
  });

  it('is commutative', () => {
    fc.assert(fc.property(sketchArb, sketchArb, (a, b) => {
        expect(merged(a, b).equals(merged(b, a))).toBe(true);
      }));
  });

  it('is associative', () => {
    fc.assert(
      fc.property(sketchArb, sketchArb, sketchArb, (a, b, c) => {
        expect(merged(merged(a, b), c).equals(merged(a, merged(b, c)))).toBe(true);
      }),
    );
  });

  it('is idempotent and reports no change for a repeat', () => {
    fc.assert(
      fc.property(sketchArb, sketchArb, (a, b) => {
        expect(merged(a, a).equals(a)).toBe(true);
        const ab = merged(a, b);
        const again = ab.clone();
        const r = again.merge(b);
        expect(r.ok && r.value).toBe(false);
        expect(again.equals(ab)).toBe(true);
      }),
    );
  });

  it('reports a change exactly when the state changed, and never loses registers', () => {
    fc.assert(
      fc.property(sketchArb, sketchArb, (a, b) => {
        const c = a.clone();
        const r = c.merge(b);
        expect(r.ok && r.value).toBe(!c.equals(a));
        if (a.generation === b.generation) {
          const ra = a.registers();
          const rb = b.registers();
          expect(c.registers()).toEqual(ra.map((x, i) => Math.max(x, rb[i]!)));
        }
        expect(c.generation).toBe(Math.max(a.generation, b.generation));
      }),
    );
  });

  it('converges to the single-replica sketch for any split, interleaving and merge order', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), replica: fc.nat(7), el: fc.nat(500) }),
      fc.record({ kind: fc.constant('merge' as const), from: fc.nat(7), to: fc.nat(7) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.array(step, { maxLength: 120 }),
        fc.boolean(),
        (k, steps, denseFirst) => {
          const replicas = Array.from({ length: k }, () => HyperLogLog.create(P));
          if (denseFirst) replicas[0]!.promote();
          const single = HyperLogLog.create(P);
          for (const s of steps) {
            if (s.kind === 'add') {
              replicas[s.replica % k]!.add(`e${s.el}`);
              single.add(`e${s.el}`);
            } else {
              replicas[s.to % k]!.merge(replicas[s.from % k]!);
            }
          }
          // Anti-entropy in reverse order, then everyone pulls from replica 0.
          for (let i = k - 1; i > 0; i--) replicas[0]!.merge(replicas[i]!);
          for (const r of replicas) r.merge(replicas[0]!);
          for (const r of replicas) {
            expect(r.equals(single)).toBe(true);
            expect(r.estimate()).toBe(single.estimate());
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('HyperLogLog delete (generations)', () => {
  it('clear empties, bumps the generation and returns the new state as a delta', () => {
    const h = build({ gen: 0, els: [1, 2, 3], dense: false });
    const delta = h.clear();
    expect(h.count()).toBe(0);
    expect(h.generation).toBe(1);
    expect(delta.equals(h)).toBe(true);
    expect(delta).not.toBe(h);
  });

  it('a delete wins over concurrent adds at the old generation; later adds survive', () => {
    const a = HyperLogLog.create(P);
    const b = HyperLogLog.create(P);
    for (let i = 0; i < 50; i++) a.add(`e${i}`);
    b.merge(a);
    const delta = a.clear();
    for (let i = 50; i < 60; i++) b.add(`e${i}`); // concurrent with the delete: lost
    a.add('after');
    const r1 = b.merge(delta);
    expect(r1.ok && r1.value).toBe(true);
    expect(b.count()).toBe(0);
    expect(b.merge(a).ok).toBe(true);
    expect(b.count()).toBe(1);
    const stale = a.merge(build({ gen: 0, els: [1, 2, 3, 4], dense: true }));
    expect(stale.ok && stale.value).toBe(false);
    expect(a.equals(b)).toBe(true);
  });
});

describe('HyperLogLog delete keeps a small tombstone', () => {
  // A deleted HLL stays as a tombstone (its generation orders later writes on every node): it holds
  // no registers, no histogram and no Redis form, and written again it is what a new sketch is.
  it('holds nothing but its header, and written again gives a new sketch\'s registers, count and Redis bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 40 }), fc.array(fc.string(), { minLength: 1, maxLength: 40 }), fc.boolean(), (before, after, dense) => {
        const h = HyperLogLog.create(14);
        for (const e of before) h.add(e);
        if (dense) h.promote();
        h.clear();
        expect(h.byteSize()).toBe(96);
        const fresh = HyperLogLog.create(14);
        for (const e of after) expect(h.add(e)).toBe(fresh.add(e));
        expect(h.registers()).toEqual(fresh.registers());
        expect(h.count()).toBe(fresh.count());
        // Redis's sparse bytes depend on the order of the adds: the revived key's form was tracked from the first one.
        expect(h.redisBytes()).toEqual(fresh.redisBytes());
        h.noteRedisCount();
        fresh.noteRedisCount();
        expect(h.redisBytes()).toEqual(fresh.redisBytes());
      }),
      { numRuns: 100 },
    );
  });

  it('estimates a sparse sketch from its own entries only, whatever another sketch left in the shared histogram', () => {
    // Registers at the top ranks (q - 1 .. q + 1), counted into the scratch histogram first.
    for (const p of [4, 10, 14]) {
      const q = 64 - p;
      const high = new Uint8Array(1 << p);
      high[0] = q + 1;
      high[1] = q;
      high[2] = q - 1;
      const a = HyperLogLog.fromRegisters(p, 0, high);
      const b = HyperLogLog.fromRegisters(p, 0, Uint8Array.from({ length: 1 << p }, (_, i) => (i === 3 ? 1 : 0)));
      // Dense copies built from the registers (a clone would carry the cached estimate along).
      const dense = (h: HyperLogLog): HyperLogLog => {
        const d = HyperLogLog.fromRegisters(p, 0, h.registers());
        d.promote();
        return d;
      };
      expect(a.isDense()).toBe(false);
      expect(a.estimate()).toBe(dense(a).estimate());
      expect(b.estimate()).toBe(dense(b).estimate());
    }
  });

  it('gives clones registers and histograms of their own, sparse or dense', () => {
    for (const promote of [false, true]) {
      const h = HyperLogLog.create(10);
      for (let i = 0; i < 20; i++) h.add(`c${i}`);
      if (promote) h.promote();
      const c = h.clone();
      const count = c.estimate();
      const regs = c.registers();
      for (let i = 0; i < 200; i++) h.add(`d${i}`);
      expect(c.registers()).toEqual(regs);
      const again = HyperLogLog.fromRegisters(10, 0, regs);
      expect(c.estimate()).toBe(count);
      expect(c.equals(again)).toBe(true);
    }
  });

  it('merges a peer\'s state into a tombstone as into a new sketch at that generation', () => {
    const a = HyperLogLog.create(14);
    for (let i = 0; i < 30; i++) a.add(`e${i}`);
    const peer = a.clone();
    a.clear();
    peer.clear();
    for (let i = 0; i < 5; i++) peer.add(`p${i}`);
    const fresh = HyperLogLog.create(14);
    fresh.clear();
    expect(a.merge(peer)).toEqual({ ok: true, value: true });
    expect(fresh.merge(peer)).toEqual({ ok: true, value: true });
    expect(a.equals(fresh)).toBe(true);
    expect(a.redisBytes()).toEqual(fresh.redisBytes());
    expect(a.count()).toBe(5);
  });
});

describe('HyperLogLog union across keys', () => {
  it('takes the register max whatever the generations, keeping its own generation', () => {
    fc.assert(
      fc.property(sketchArb, sketchArb, (a, b) => {
        const u = a.clone();
        const r = u.unionWith(b);
        expect(r.ok).toBe(true);
        const ra = a.registers();
        const rb = b.registers();
        expect(u.registers()).toEqual(ra.map((x, i) => Math.max(x, rb[i]!)));
        expect(u.generation).toBe(a.generation);
        expect(r.ok && r.value).toBe(!u.equals(a));
      }),
    );
    const deletedOnce = HyperLogLog.create(P);
    deletedOnce.clear();
    deletedOnce.add('x');
    const never = build({ gen: 0, els: [1, 2, 3], dense: false });
    expect(deletedOnce.clone().unionWith(never).ok).toBe(true);
    const u = deletedOnce.clone();
    u.unionWith(never);
    // The union holds exactly the registers of one sketch of all four elements (at p = 6 two of
    // them may share a register, so compare registers, not a count of 4).
    const all = build({ gen: 0, els: [1, 2, 3], dense: false });
    all.add('x');
    expect(u.registers()).toEqual(all.registers());
    expect(u.count()).toBe(all.count());
    expect(HyperLogLog.create(P).unionWith(HyperLogLog.create(P + 1)).ok).toBe(false);
  });
});

function validEncodings(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [p, n, gen] of [
    [4, 0, 0],
    [4, 3, 1],
    [4, 40, 0],
    [6, 10, 300],
    [6, 200, 2],
    [10, 50, 0],
  ] as const) {
    const h = HyperLogLog.create(p);
    for (let g = 0; g < gen; g++) h.clear();
    for (let i = 0; i < n; i++) h.add(`c${i}`);
    out.push(h.encode());
  }
  return out;
}

function checkDecode(bytes: Uint8Array): void {
  const r = HyperLogLog.decode(bytes);
  if (!r.ok) {
    expect(r.error.code).toMatch(/^CODEC_/);
    return;
  }
  const h = r.value;
  expect(Buffer.from(h.encode()).equals(Buffer.from(bytes))).toBe(true);
  const again = HyperLogLog.decode(h.encode());
  expect(again.ok && again.value.equals(h)).toBe(true);
  const e = h.estimate();
  expect(Number.isFinite(e) && e >= 0).toBe(true);
  expect(merged(h, h).equals(h)).toBe(true);
}

describe('HyperLogLog codec', () => {
  it('round-trips sparse and dense sketches to identical bytes, canonically', () => {
    fc.assert(
      fc.property(specArb, fc.integer({ min: 4, max: 12 }), (spec, p) => {
        const h = build(spec, p);
        const bytes = h.encode();
        const r = HyperLogLog.decode(bytes);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value.equals(h)).toBe(true);
        expect(r.value.estimate()).toBe(h.estimate());
        expect(r.value.encode()).toEqual(bytes);
        // The in-memory form does not leak into the bytes.
        const forced = h.clone();
        forced.promote();
        expect(forced.encode()).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('is compact', () => {
    const h = HyperLogLog.create();
    for (let i = 0; i < 100; i++) h.add(`v${i}`);
    expect(h.encode().length).toBeLessThan(400);
    for (let i = 100; i < 100_000; i++) h.add(`v${i}`);
    expect(h.isDense()).toBe(true);
    const n = h.encode().length;
    expect(n).toBeGreaterThanOrEqual(12_288);
    expect(n).toBeLessThanOrEqual(12_288 + 8);
    const d = HyperLogLog.decode(h.encode());
    expect(d.ok && d.value.isDense() && d.value.equals(h)).toBe(true);
  });

  it('names what is wrong', () => {
    const good = build({ gen: 0, els: [1, 2, 3], dense: false });
    const bytes = good.encode();
    const code = (b: Uint8Array): string => {
      const r = HyperLogLog.decode(b);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code(new Uint8Array(0))).toBe('CODEC_TRUNCATED');
    expect(code(Uint8Array.from([CODEC_VERSION + 1, ...bytes.subarray(1)]))).toBe('CODEC_BAD_VERSION');
    expect(code(Uint8Array.from([CODEC_VERSION, TypeTag.GCounter, ...bytes.subarray(2)]))).toBe('CODEC_BAD_TYPE');
    expect(code(Uint8Array.from([CODEC_VERSION, TypeTag.HyperLogLog, 19, 0, 0, 0]))).toBe('CODEC_INVALID');
    expect(code(Uint8Array.from([...bytes, 0]))).toBe('CODEC_INVALID');
    expect(code(bytes.subarray(0, bytes.length - 1))).toBe('CODEC_TRUNCATED');
    // p=4, one sparse entry of rank 62 > 64 - 4 + 1.
    expect(code(Uint8Array.from([CODEC_VERSION, TypeTag.HyperLogLog, 4, 0, 0, 1, 62]))).toBe('CODEC_INVALID');
    // p=4, index 16 >= m.
    expect(code(Uint8Array.from([CODEC_VERSION, TypeTag.HyperLogLog, 4, 0, 0, 1, 0x81, 0x08]))).toBe('CODEC_INVALID');
    // p=4, dense form holding one non-zero register: non-canonical.
    expect(code(Uint8Array.from([CODEC_VERSION, TypeTag.HyperLogLog, 4, 0, 1, 1, ...new Uint8Array(11)]))).toBe(
      'CODEC_INVALID',
    );
    // Unknown form.
    expect(code(Uint8Array.from([CODEC_VERSION, TypeTag.HyperLogLog, 4, 0, 2, 0]))).toBe('CODEC_INVALID');
  });

  it('never throws on truncations at every length', () => {
    for (const bytes of validEncodings()) {
      for (let len = 0; len < bytes.length; len++) {
        expect(HyperLogLog.decode(bytes.subarray(0, len)).ok).toBe(false);
      }
      checkDecode(bytes);
    }
  });

  it('never throws on single-byte mutations, and anything accepted re-encodes identically', () => {
    for (const bytes of validEncodings()) {
      for (let i = 0; i < bytes.length; i++) {
        for (const v of [0, 1, 0x3f, 0x40, 0x7f, 0x80, 0xff, bytes[i]! ^ 1, bytes[i]! ^ 0x80]) {
          const mutated = bytes.slice();
          mutated[i] = v;
          checkDecode(mutated);
        }
      }
    }
  });

  it('never throws on random bytes, with or without a valid header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), fc.integer({ min: 0, max: 20 }), (tail, header, p) => {
        const bytes = header ? Uint8Array.from([CODEC_VERSION, TypeTag.HyperLogLog, p, ...tail]) : tail;
        checkDecode(bytes);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('HyperLogLog accuracy (p=14)', () => {
  const p = 14;
  const sigma = 1.04 / Math.sqrt(1 << p);

  /** Relative errors at log-spaced checkpoints (8 per decade) of one incremental stream per seed. */
  function sweep(seeds: number, maxN: number, element: (i: number, seed: number, buf: Uint8Array) => Uint8Array | string) {
    const checkpoints: number[] = [];
    for (let e = 0; e <= Math.log10(maxN) * 8 + 1e-9; e++) checkpoints.push(Math.round(10 ** (e / 8)));
    const rel: number[][] = checkpoints.map(() => []);
    const buf = new Uint8Array(16);
    for (let s = 0; s < seeds; s++) {
      const h = HyperLogLog.create(p);
      let n = 0;
      checkpoints.forEach((target, c) => {
        for (; n < target; n++) h.add(element(n, s, buf));
        rel[c]!.push((h.estimate() - target) / target);
      });
    }
    return { checkpoints, rel };
  }

  function byDecade(checkpoints: number[], rel: number[][]) {
    const decades = new Map<number, number[]>();
    checkpoints.forEach((n, c) => {
      const d = Math.floor(Math.log10(n) + 1e-9);
      decades.set(d, [...(decades.get(d) ?? []), ...rel[c]!]);
    });
    return [...decades].map(([d, xs]) => ({
      decade: d,
      mean: xs.reduce((a, x) => a + x, 0) / xs.length,
      rms: Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / xs.length),
    }));
  }

  slowIt('is unbiased with RMS error near 1.04/sqrt(m) up to 10^6 (strings el-i-seed)', () => {
    const { checkpoints, rel } = sweep(8, 1_000_000, (i, seed) => `el-${i}-${seed}`);
    const rows = byDecade(checkpoints, rel);
    for (const r of rows) {
      expect(Math.abs(r.mean), `mean error in decade 1e${r.decade}`).toBeLessThan(0.005);
      if (r.decade >= 3) expect(r.rms, `RMS error in decade 1e${r.decade}`).toBeLessThan(1.2 * sigma);
    }
    // No single checkpoint drifts either (Ertl removes the classic bump near 2.5m).
    checkpoints.forEach((n, c) => {
      const xs = rel[c]!;
      const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
      expect(Math.abs(mean), `mean error at n=${n}`).toBeLessThan(4 * (sigma / Math.sqrt(xs.length)) + 0.001);
    });
  });

  it('stays accurate on highly structured inputs (sequential 8-byte integers)', () => {
    const { checkpoints, rel } = sweep(4, 300_000, (i, seed, buf) => {
      const v = new DataView(buf.buffer);
      v.setUint32(0, i, true);
      v.setUint32(4, seed, true);
      return buf.subarray(0, 8);
    });
    for (const r of byDecade(checkpoints, rel)) {
      expect(Math.abs(r.mean)).toBeLessThan(0.008);
      if (r.decade >= 3) expect(r.rms).toBeLessThan(1.3 * sigma);
    }
  });

  it('stays accurate on random 16-byte buffers', () => {
    const rng = new SeededRng(7);
    const { checkpoints, rel } = sweep(4, 300_000, (_i, _s, buf) => {
      const v = new DataView(buf.buffer);
      for (let j = 0; j < 16; j += 4) v.setUint32(j, rng.nextU32(), true);
      return buf;
    });
    for (const r of byDecade(checkpoints, rel)) {
      expect(Math.abs(r.mean)).toBeLessThan(0.008);
      if (r.decade >= 3) expect(r.rms).toBeLessThan(1.3 * sigma);
    }
  });
});
