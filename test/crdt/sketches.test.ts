// Count-Min Sketch and Top-K CRDTs: never under-counting after any merges (fast-check), merge laws,
// the (epsilon, delta) bound measured over many seeds, Top-K recall on Zipf streams split over
// replicas, and both codecs under truncation, mutation and random bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slowIt } from '../slow.js';
import { CountMinSketch, cmsDimsFromProb } from '../../src/crdt/count-min-sketch.js';
import { SKETCH_CODEC_VERSION } from '../../src/crdt/sketch-matrix.js';
import { TopK } from '../../src/crdt/top-k.js';
import { SeededRng } from '../../src/util/rng.js';
import { seeds, withSeed } from '../sim/seeds.js';

const REPLICAS = ['a:1', 'b:1', 'c:3'];
const itemArb = fc.integer({ min: 0, max: 40 }).map((i) => `item-${i}`);
const opsArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), itemArb, fc.integer({ min: 1, max: 50 })), { maxLength: 60 });

function cms(): CountMinSketch {
  const r = CountMinSketch.create(16, 3); // small on purpose: many collisions
  if (!r.ok) throw r.error;
  return r.value;
}
function topk(): TopK {
  const r = TopK.create(3, 16, 3);
  if (!r.ok) throw r.error;
  return r.value;
}

/** Applies ops to per-replica states, merging at random points; returns the states and exact counts. */
function run<T extends { merge(o: T): boolean }>(make: () => T, add: (s: T, r: string, item: string, n: number) => void, ops: [number, string, number][], mergeEvery: number) {
  const states = REPLICAS.map(make);
  const exact = new Map<string, number>();
  ops.forEach(([r, item, n], i) => {
    add(states[r] as T, REPLICAS[r] as string, item, n);
    exact.set(item, (exact.get(item) ?? 0) + n);
    if (mergeEvery > 0 && i % mergeEvery === 0) (states[(r + 1) % 3] as T).merge(states[r] as T);
  });
  return { states, exact };
}

function merged<T extends { clone(): T; merge(o: T): boolean }>(a: T, b: T): T {
  const x = a.clone();
  x.merge(b);
  return x;
}

describe('CountMinSketch', () => {
  const add = (s: CountMinSketch, r: string, item: string, n: number): void => {
    const res = s.incrBy(r, [[item, n]]);
    if (!res.ok) throw res.error;
  };

  it('never under-counts, on every replica, after any merges', () => {
    fc.assert(
      fc.property(opsArb, fc.integer({ min: 0, max: 5 }), (ops, every) => {
        const { states, exact } = run(cms, add, ops, every);
        const full = states.reduce((x, s) => merged(x, s), cms());
        for (const s of [...states, full]) for (const [item] of exact) expect(Number(s.query(item))).toBeGreaterThanOrEqual(0);
        for (const [item, n] of exact) expect(Number(full.query(item))).toBeGreaterThanOrEqual(n);
        // Each replica never under-counts what it has seen: at least its own adds.
        states.forEach((s, ri) => {
          const own = new Map<string, number>();
          for (const [r, item, n] of ops) if (r === ri) own.set(item, (own.get(item) ?? 0) + n);
          for (const [item, n] of own) expect(Number(s.query(item))).toBeGreaterThanOrEqual(n);
        });
        expect(full.count()).toBe(ops.reduce((a, o) => a + o[2], 0));
      }),
    );
  });

  it('merge is commutative, associative and idempotent (generations included)', () => {
    const stateArb = fc.tuple(opsArb, fc.integer({ min: 0, max: 2 })).map(([ops, dels]) => {
      const s = cms();
      for (const [r, item, n] of ops) add(s, REPLICAS[r] as string, item, n);
      for (let i = 0; i < dels; i++) s.clear();
      return s;
    });
    fc.assert(
      fc.property(stateArb, stateArb, stateArb, (a, b, c) => {
        expect(merged(a, b).encode()).toStrictEqual(merged(b, a).encode());
        expect(merged(merged(a, b), c).encode()).toStrictEqual(merged(a, merged(b, c)).encode());
        expect(merged(a, a).encode()).toStrictEqual(a.encode());
      }),
    );
  });

  it('a single max-merged sketch would under-count; per-replica rows do not', () => {
    const a = cms();
    const b = cms();
    add(a, 'a:1', 'x', 5);
    add(b, 'b:1', 'x', 7);
    a.merge(b);
    expect(a.query('x')).toBeGreaterThanOrEqual(12); // max-merge of one matrix would say 7
  });

  slowIt('RedisBloom sizing, and error <= epsilon x N with probability >= 1 - delta over many seeds', () => {
    expect(cmsDimsFromProb(0.001, 0.01)).toEqual({ ok: true, value: { width: 2000, depth: 7 } });
    const eps = 0.01;
    const delta = 0.05;
    const dims = cmsDimsFromProb(eps, delta);
    if (!dims.ok) throw dims.error;
    let queries = 0;
    let bad = 0;
    for (const seed of seeds(30)) {
      withSeed(seed, () => {
        const rng = new SeededRng(seed);
        const s = CountMinSketch.create(dims.value.width, dims.value.depth);
        if (!s.ok) throw s.error;
        const exact = new Map<string, number>();
        let total = 0;
        for (let i = 0; i < 5000; i++) {
          // Skewed stream: a few heavy items and a long tail, spread over three replicas.
          const id = rng.next() < 0.3 ? rng.int(10) : rng.int(3000);
          const item = `s${seed}-${id}`;
          const n = 1 + rng.int(3);
          add(s.value, REPLICAS[rng.int(3)] as string, item, n);
          exact.set(item, (exact.get(item) ?? 0) + n);
          total += n;
        }
        for (const [item, n] of exact) {
          const q = Number(s.value.query(item));
          expect(q).toBeGreaterThanOrEqual(n);
          queries++;
          if (q - n > eps * total) bad++;
        }
      });
    }
    expect(bad / queries).toBeLessThanOrEqual(delta);
  });

  it('refuses negatives and overflow atomically', () => {
    const s = cms();
    expect(s.incrBy('a:1', [['x', 1], ['y', -1]]).ok).toBe(false);
    expect(s.query('x')).toBe(0);
    expect(s.incrBy('a:1', [['x', Number.MAX_SAFE_INTEGER]]).ok).toBe(true);
    const r = s.incrBy('a:1', [['y', 1]]);
    expect(r.ok ? '' : r.error.code).toBe('COUNTER_OVERFLOW');
  });

  it('weighted merge (CMS.MERGE) never under-counts the weighted sum', () => {
    const a = cms();
    const b = cms();
    add(a, 'a:1', 'x', 3);
    add(b, 'b:1', 'x', 4);
    add(b, 'b:1', 'y', 1);
    const d = cms();
    expect(d.replaceWithWeightedSum('c:3', [a, b], [2, 3])).toBeUndefined();
    expect(Number(d.query('x'))).toBeGreaterThanOrEqual(18);
    expect(Number(d.query('y'))).toBeGreaterThanOrEqual(3);
    expect(d.count()).toBe(2 * 3 + 3 * 5);
    expect(d.replaceWithWeightedSum('c:3', [a], [-1])?.code).toBe('SKETCH_NEGATIVE');
  });
});

/** Zipf(s) sampler over n ranks by inverse CDF. */
function zipf(rng: SeededRng, n: number, s: number): () => number {
  const cdf: number[] = [];
  let acc = 0;
  for (let i = 1; i <= n; i++) cdf.push((acc += 1 / i ** s));
  return () => {
    const u = rng.next() * acc;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

describe('TopK', () => {
  const add = (s: TopK, r: string, item: string, n: number): void => {
    const res = s.add(r, [[item, n]]);
    if (!res.ok) throw res.error;
  };

  it('merge is commutative, associative and idempotent, and replicas converge', () => {
    fc.assert(
      fc.property(opsArb, fc.integer({ min: 0, max: 5 }), opsArb, (ops, every, more) => {
        const { states } = run(topk, add, ops, every);
        const [a, b, c] = states as [TopK, TopK, TopK];
        const extra = topk();
        for (const [r, item, n] of more) add(extra, REPLICAS[r] as string, item, n);
        for (const [x, y, z] of [[a, b, c], [a, extra, b], [extra, c, a]] as [TopK, TopK, TopK][]) {
          expect(merged(x, y).encode()).toStrictEqual(merged(y, x).encode());
          expect(merged(merged(x, y), z).encode()).toStrictEqual(merged(x, merged(y, z)).encode());
          expect(merged(x, x).encode()).toStrictEqual(x.encode());
        }
        const all = [a, b, c].map((s) => [a, b, c].reduce((acc, o) => merged(acc, o), s));
        expect(all[0]?.list()).toEqual(all[1]?.list());
        expect(all[1]?.encode()).toStrictEqual(all[2]?.encode());
      }),
    );
  });

  slowIt('recall of the true top 10 on Zipf streams split over 3 replicas is >= 0.9', () => {
    let found = 0;
    let wanted = 0;
    for (const seed of seeds(10)) {
      withSeed(seed, () => {
        const rng = new SeededRng(seed);
        const next = zipf(rng, 5000, 1.1);
        const states = REPLICAS.map(() => {
          const t = TopK.create(10);
          if (!t.ok) throw t.error;
          return t.value;
        });
        const exact = new Map<string, number>();
        for (let i = 0; i < 30_000; i++) {
          const item = `z${seed}-${next()}`;
          const r = rng.int(3);
          add(states[r] as TopK, REPLICAS[r] as string, item, 1);
          exact.set(item, (exact.get(item) ?? 0) + 1);
          if (i % 1000 === 999) for (let j = 0; j < 3; j++) (states[j] as TopK).merge(states[(j + 1) % 3] as TopK);
        }
        const m = states.reduce((acc, s) => merged(acc, s));
        const truth = [...exact].sort((x, y) => y[1] - x[1]).slice(0, 10).map(([k]) => k);
        const got = new Set(m.list().map((e) => e.item.toString()));
        for (const t of truth) if (got.has(t)) found++;
        wanted += truth.length;
        for (const e of m.list()) expect(Number(e.count)).toBeGreaterThanOrEqual(exact.get(e.item.toString()) ?? 0);
      });
    }
    expect(found / wanted).toBeGreaterThanOrEqual(0.9);
  });

  it('reports the item an add expels from the top k', () => {
    const t = TopK.create(2, 64, 4);
    if (!t.ok) throw t.error;
    add(t.value, 'a:1', 'x', 5);
    add(t.value, 'a:1', 'y', 3);
    const r = t.value.add('a:1', [['z', 10]]);
    expect(r.ok && r.value[0]?.toString()).toBe('y');
    expect(t.value.list().map((e) => e.item.toString())).toEqual(['z', 'x']);
  });
});

describe('sketch codecs', () => {
  const kinds = [
    {
      name: 'CountMinSketch',
      make: (ops: [number, string, number][], del: boolean) => {
        const s = CountMinSketch.create(4, 2);
        if (!s.ok) throw s.error;
        for (const [r, item, n] of ops) s.value.incrBy(REPLICAS[r] as string, [[item, n]]);
        if (del) s.value.clear();
        return s.value as { encode(): Uint8Array };
      },
      decode: (b: Uint8Array) => CountMinSketch.decode(b) as { ok: boolean; value?: { encode(): Uint8Array }; error?: { code: string } },
    },
    {
      name: 'TopK',
      make: (ops: [number, string, number][], del: boolean) => {
        const s = TopK.create(2, 4, 2);
        if (!s.ok) throw s.error;
        for (const [r, item, n] of ops) s.value.add(REPLICAS[r] as string, [[item, n]]);
        if (del) s.value.clear();
        return s.value as { encode(): Uint8Array };
      },
      decode: (b: Uint8Array) => TopK.decode(b) as { ok: boolean; value?: { encode(): Uint8Array }; error?: { code: string } },
    },
  ];
  for (const k of kinds) {
    const check = (bytes: Uint8Array): void => {
      const r = k.decode(bytes);
      if (!r.ok) expect(r.error?.code).toMatch(/^CODEC_/);
      else if (bytes[0] === SKETCH_CODEC_VERSION) expect(r.value?.encode()).toStrictEqual(bytes); // canonical: success means the input was a valid encoding
      else {
        // Version 1 (every cell written) is still read; it re-encodes as version 2, a fixed point.
        const once = r.value?.encode() ?? new Uint8Array(0);
        expect(once[0]).toBe(SKETCH_CODEC_VERSION);
        expect(k.decode(once).value?.encode()).toStrictEqual(once);
      }
    };
    it(`${k.name}: round-trips, rejects truncations, survives mutations and random bytes`, () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), itemArb, fc.integer({ min: 1, max: 300 })), { maxLength: 12 }), fc.boolean(), (ops, del) => {
          const bytes = k.make(ops, del).encode();
          const back = k.decode(bytes);
          expect(back.ok).toBe(true);
          expect(back.value?.encode()).toStrictEqual(bytes);
          for (let n = 0; n < bytes.length; n++) expect(k.decode(bytes.subarray(0, n)).ok).toBe(false);
          for (let i = 0; i < bytes.length; i++) {
            for (const v of [0, 1, 0x7f, 0x80, 0xff, (bytes[i] ?? 0) ^ 1]) {
              const m = bytes.slice();
              m[i] = v;
              check(m);
            }
          }
        }),
        { numRuns: 60 },
      );
      fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => check(b)));
      fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => check(Uint8Array.from([1, k.name === 'TopK' ? 6 : 5, ...b]))));
    });
  }
});
