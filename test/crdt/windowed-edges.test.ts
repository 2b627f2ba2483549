// WindowedCounter (src/crdt/windowed-counter.ts) at its edges: config bounds and messages, the
// derived sizes, each refusal of incrementAt with its code and message, fixed and sliding counts
// against a model computed from the entries, merges that bring only what truncation drops, delete
// and re-create, equality, and the decoder's refusals by reason.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/crdt/codec.js';
import { COUNTER_MAX } from '../../src/crdt/counter-base.js';
import { WINDOW_MAX_SKEW_MS, WindowedCounter, windowConfigError } from '../../src/crdt/windowed-counter.js';

const MAX = COUNTER_MAX;
const RANGE = 'would leave the supported range [-(2^53-1), 2^53-1]';

function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'no throw';
}

describe('window config', () => {
  it('accepts the bounds and refuses past them, saying which rule', () => {
    expect(windowConfigError(86_400, 86_400)).toBeUndefined();
    expect(windowConfigError(1, 1)).toBeUndefined();
    expect(windowConfigError(60, 60)).toBeUndefined();
    expect(windowConfigError(1, 10_000)).toBeUndefined();
    expect(windowConfigError(60, 600_000)).toBeUndefined();
    for (const g of [0, -60, 1.5, 7, 86_401, 172_800, NaN]) {
      const e = windowConfigError(g, 86_400);
      expect(e?.code).toBe('WINDOW_BAD_CONFIG');
      expect(e?.message).toBe(`granularity ${String(g)} s must divide a day (86400 s): e.g. 1, 60, 3600`);
    }
    for (const ret of [0, -60, 30, 90, 60.5, NaN]) {
      const e = windowConfigError(60, ret);
      expect(e?.code).toBe('WINDOW_BAD_CONFIG');
      expect(e?.message).toBe(`retention ${String(ret)} s must be a positive multiple of the granularity 60 s`);
    }
    expect(windowConfigError(1, 10_001)?.message).toBe('retention / granularity is 10001; at most 10000 buckets');
    expect(windowConfigError(60, 600_060)?.message).toBe('retention / granularity is 10001; at most 10000 buckets');
    expect(thrown(() => WindowedCounter.create(7, 70))).toBe('CrdtError: granularity 7 s must divide a day (86400 s): e.g. 1, 60, 3600');
  });

  it('derives its sizes from the config: kept buckets are the retention, the skew slack and one', () => {
    const w = WindowedCounter.create(60, 3600);
    expect([w.granularityS, w.retentionS, w.keptBuckets, w.maxBucket, w.horizon]).toEqual([60, 3600, 60 + 1 + 1, -1, -1]);
    // 5000 ms of skew over 2 s buckets is 2.5 buckets, rounded up.
    const two = WindowedCounter.create(2, 10);
    expect([two.granularityS, two.retentionS, two.keptBuckets]).toEqual([2, 10, 5 + 3 + 1]);
    expect(WindowedCounter.create(1, 10).keptBuckets).toBe(10 + WINDOW_MAX_SKEW_MS / 1000 + 1);
    expect([w.bucketOf(0), w.bucketOf(59_999), w.bucketOf(60_000), w.bucketOf(119_999)]).toEqual([0, 0, 1, 1]);
    expect(w.exists()).toBe(true);
    expect(w.generation).toBe(0);
  });
});

describe('incrementAt', () => {
  it('refuses with the code and message of each rule, changing nothing', () => {
    const w = WindowedCounter.create(1, 10);
    const now = 100_000;
    w.incrementAt('a:1', 3, now, now);
    const before = w.encode();
    const refuse = (r: string, n: number, at: number, at_now = now): string => {
      const e = w.incrementAt(r, n, at, at_now);
      return e === undefined ? 'ok' : `${e.code}: ${e.message}`;
    };
    expect(refuse('a:1', -1, now)).toBe('WINDOW_NEGATIVE: a windowed counter cannot be decremented');
    expect(refuse('a:1', 0.5, now)).toBe('COUNTER_NOT_INTEGER: amount 0.5 is not a safe integer');
    expect(refuse('a:1', 1, -1)).toBe('WINDOW_TOO_OLD: timestamp -1 is not a non-negative integer of ms');
    expect(refuse('a:1', 1, 1.5)).toBe('WINDOW_TOO_OLD: timestamp 1.5 is not a non-negative integer of ms');
    expect(refuse('a:1', 1, now + 5001)).toBe(`WINDOW_FUTURE: timestamp ${now + 5001} is more than 5000 ms ahead of this node's clock (${now})`);
    expect(refuse('a:1', 1, now - 10_000)).toBe(`WINDOW_TOO_OLD: timestamp ${now - 10_000} is older than the retention (10 s)`);
    expect(refuse('a:1', MAX - 2, now)).toBe(`COUNTER_OVERFLOW: replica a:1's count in one bucket ${RANGE}`);
    expect(w.encode()).toStrictEqual(before);
    // Exactly up to 2^53 - 1 in one slot.
    expect(refuse('a:1', MAX - 3, now)).toBe('ok');
    expect(w.bucketTotal(100)).toBe(MAX);
    expect(refuse('a:1', 1, now)).toBe(`COUNTER_OVERFLOW: replica a:1's count in one bucket ${RANGE}`);
    // Time 0 is a timestamp like any other.
    const z = WindowedCounter.create(1, 10);
    expect(z.incrementAt('a:1', 1, 0, 0)).toBeUndefined();
    expect(z.entries()).toEqual([[0, 'a:1', 1]]);
  });

  it('refuses a bucket the state has truncated already, even when the clock would keep it', () => {
    const w = WindowedCounter.create(1, 10); // 16 buckets kept
    w.incrementAt('a:1', 1, 100_000, 100_000);
    w.incrementAt('b:1', 1, 100_000, 100_000); // horizon 100: buckets up to 84 are truncated
    expect(w.horizon).toBe(100);
    // A node whose clock reads 90 s would keep bucket 84 (its retention starts at 81).
    const e = w.incrementAt('c:1', 1, 84_999, 90_000);
    expect(e?.code).toBe('WINDOW_TOO_OLD');
    expect(e?.message).toBe('timestamp 84999 is older than the retention (10 s)');
    expect(w.incrementAt('c:1', 1, 85_000, 90_000)).toBeUndefined();
    expect(w.entries()).toEqual([
      [85, 'c:1', 1],
      [100, 'a:1', 1],
      [100, 'b:1', 1],
    ]);
  });

  it('an amount of 0 stores nothing, and an invalid replica id throws', () => {
    const w = WindowedCounter.create(1, 10);
    expect(w.incrementAt('a:1', 0, 5000, 5000)).toBeUndefined();
    expect([w.bucketCount(), w.maxBucket, w.entries().length]).toEqual([0, -1, 0]);
    expect(w.encode()).toStrictEqual(WindowedCounter.create(1, 10).encode());
    expect(thrown(() => w.incrementAt('', 1, 5000, 5000))).toBe('RangeError: replica id must be a non-empty string');
    expect(w.bucketCount()).toBe(0);
    expect(w.incrementAt('a:1', 2, 5000, 5000)).toBeUndefined();
    expect(w.maxBucket).toBe(5);
  });

  it('an increment after a delete makes the window exist again', () => {
    const w = WindowedCounter.create(1, 10);
    w.incrementAt('a:1', 1, 5000, 5000);
    w.clear();
    expect([w.exists(), w.bucketCount(), w.maxBucket, w.generation]).toEqual([false, 0, -1, 1]);
    expect(w.incrementAt('a:1', 2, 6000, 6000)).toBeUndefined();
    expect(w.exists()).toBe(true);
    expect(w.entries()).toEqual([[6, 'a:1', 2]]);
  });
});

/** A window with the given (bucket, replica, count) slots, each written at its bucket's start. */
function windowOf(g: number, ret: number, slots: [number, string, number][]): WindowedCounter {
  const w = WindowedCounter.create(g, ret);
  for (const [b, r, n] of slots) expect(w.incrementAt(r, n, b * g * 1000, b * g * 1000)).toBeUndefined();
  return w;
}

describe('counts', () => {
  it('count sums the buckets holding an instant of [from, to]; bucketTotal one bucket', () => {
    const w = windowOf(1, 10, [
      [10, 'a:1', 1],
      [11, 'a:1', 2],
      [11, 'b:1', 8],
      [12, 'a:1', 4],
    ]);
    expect(w.count(11_000, 11_999)).toBe(10);
    expect(w.count(10_999, 11_000)).toBe(11);
    expect(w.count(11_999, 12_000)).toBe(14);
    expect(w.count(12_000, 12_000)).toBe(4);
    expect(w.count(0, 9_999)).toBe(0);
    expect(w.count(13_000, 99_000)).toBe(0);
    expect(w.count(0, 99_000)).toBe(15);
    expect(w.bucketTotal(11)).toBe(10);
    expect(w.bucketTotal(13)).toBe(0);
    // Past 2^53 - 1 the sums are exact bigints.
    const big = windowOf(1, 10, [
      [3, 'a:1', MAX],
      [3, 'b:1', MAX],
    ]);
    expect(big.count(0, 9_000)).toBe(2n * BigInt(MAX));
    expect(big.bucketTotal(3)).toBe(2n * BigInt(MAX));
  });

  it('sliding counts the straddling bucket in proportion and the later ones whole, up to the skew bound: exact against a model', () => {
    const slotArb = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom('a:1', 'b:1', 'c:1'), fc.integer({ min: 1, max: 1000 }));
    let ran = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 5),
        fc.array(slotArb, { maxLength: 30 }),
        fc.integer({ min: 0, max: 90_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        (g, slots, nowMs, windowMs) => {
          const w = WindowedCounter.create(g, 60);
          for (const [b, r, n] of slots) w.incrementAt(r, n, b * g * 1000, b * g * 1000);
          const gMs = g * 1000;
          const start = nowMs - windowMs;
          const bs = Math.floor(start / gMs);
          const be = Math.floor((nowMs + WINDOW_MAX_SKEW_MS) / gMs);
          let full = 0;
          let partial = 0;
          for (const [b, , n] of w.entries()) {
            if (b === bs) partial += n;
            else if (b > bs && b <= be) full += n;
          }
          const weight = ((bs + 1) * gMs - start) / gMs;
          const s = w.sliding(nowMs, windowMs);
          expect(s).toEqual({ estimate: full + partial * weight, full, partial, weight });
          ran++;
        },
      ),
    );
    expect(ran).toBeGreaterThan(0);
  });

  it('sliding, by hand: a short window over many buckets, and a window reaching past the newest', () => {
    const w = windowOf(1, 60, [
      ...Array.from({ length: 20 }, (_, i) => [20 + i, 'b:1', 1] as [number, string, number]),
      [40, 'a:1', 100],
      [50, 'a:1', 10],
      [54, 'a:1', 1],
      [55, 'a:1', 2],
      [56, 'a:1', 4],
      [62, 'a:1', 8], // beyond 55.5 s + 5 s of skew: not counted yet
    ]);
    // (53.5 s, 55.5 s]: bucket 53 straddles the start (half of it in), 54 and 55 whole, 56..60 within the skew bound.
    expect(w.sliding(55_500, 2000)).toEqual({ estimate: 7, full: 7, partial: 0, weight: 0.5 });
    // (49.75 s, 55.5 s]: bucket 49 straddles with a quarter in; 50 counts whole.
    expect(w.sliding(55_500, 5750)).toEqual({ estimate: 17, full: 17, partial: 0, weight: 0.25 });
    // (50.5 s, 55.5 s]: bucket 50 straddles the start and counts for half.
    expect(w.sliding(55_500, 5000)).toEqual({ estimate: 7 + 10 * 0.5, full: 7, partial: 10, weight: 0.5 });
    // (32 s, 62 s]: bucket 32 (one of b's) straddles with all of it in; 33..39 and 40..62 whole.
    expect(w.sliding(62_000, 30_000)).toEqual({ estimate: 7 + 125 + 1, full: 7 + 125, partial: 1, weight: 1 });
    expect(w.sliding(0, 1000).full).toBe(0);
  });
});

describe('merge', () => {
  it('a merge that brings only what truncation drops changes nothing and says so', () => {
    const a = windowOf(1, 10, [
      [100, 'x:1', 1],
      [100, 'y:1', 1],
    ]); // horizon 100, 16 kept: buckets <= 84 are gone
    const before = a.encode();
    expect(a.merge(windowOf(1, 10, [[84, 'z:1', 5]]))).toBe(false);
    expect(a.encode()).toStrictEqual(before);
    // A replica's own rule: x's newest is 100, so its bucket 84 is gone too, but 85 stays.
    const solo = windowOf(1, 10, [[100, 'x:1', 1]]);
    const soloBefore = solo.encode();
    expect(solo.merge(windowOf(1, 10, [[84, 'x:1', 5]]))).toBe(false);
    expect(solo.encode()).toStrictEqual(soloBefore);
    expect(solo.merge(windowOf(1, 10, [[85, 'x:1', 5]]))).toBe(true);
    expect(solo.entries()).toEqual([
      [85, 'x:1', 5],
      [100, 'x:1', 1],
    ]);
    // A smaller or equal count changes nothing; a larger one does.
    expect(solo.merge(windowOf(1, 10, [[85, 'x:1', 5]]))).toBe(false);
    expect(solo.merge(windowOf(1, 10, [[85, 'x:1', 6]]))).toBe(true);
    expect(solo.bucketTotal(85)).toBe(6);
    expect(solo.merge(solo)).toBe(false);
  });

  it('the higher generation wins outright; within one, created merges by OR', () => {
    const a = windowOf(1, 10, [[5, 'a:1', 1]]);
    const b = a.clone();
    b.clear();
    const keep = a.clone();
    expect(keep.merge(b)).toBe(true);
    expect([keep.exists(), keep.generation, keep.bucketCount(), keep.maxBucket]).toEqual([false, 1, 0, -1]);
    expect(b.merge(a)).toBe(false);
    // Re-created with another config in the same generation elsewhere: the larger header wins.
    const c = b.clone();
    c.recreate(2, 20);
    const d = b.clone();
    d.recreate(1, 20);
    const cd = c.clone();
    expect(cd.merge(d)).toBe(false);
    const dc = d.clone();
    expect(dc.merge(c)).toBe(true);
    expect(dc.equals(c)).toBe(true);
    expect([dc.granularityS, dc.retentionS, dc.generation, dc.exists()]).toEqual([2, 20, 2, true]);
    // Same generation and config, one deleted (never re-created) and one live: live wins.
    const dead = WindowedCounter.create(1, 10);
    dead.clear();
    const alive = WindowedCounter.create(1, 10);
    alive.clear();
    alive.recreate(1, 10);
    // recreate bumps the generation: make the dead one reach the same generation.
    dead.clear();
    expect([dead.generation, alive.generation]).toEqual([2, 2]);
    expect(dead.merge(alive)).toBe(true);
    expect(dead.exists()).toBe(true);
    expect(dead.merge(alive)).toBe(false);
  });

  it('recreate refuses a live window and a bad config', () => {
    const w = WindowedCounter.create(1, 10);
    expect(thrown(() => w.recreate(1, 10))).toBe('Error: recreate() on a window that exists');
    w.clear();
    expect(thrown(() => w.recreate(7, 70))).toBe('CrdtError: granularity 7 s must divide a day (86400 s): e.g. 1, 60, 3600');
    expect([w.exists(), w.generation, w.granularityS]).toEqual([false, 1, 1]);
    w.recreate(60, 120);
    expect([w.exists(), w.generation, w.granularityS, w.retentionS, w.keptBuckets]).toEqual([true, 2, 60, 120, 4]);
  });
});

describe('equals and clone', () => {
  it('tells apart every field', () => {
    const base = windowOf(1, 10, [
      [5, 'a:1', 1],
      [6, 'b:1', 2],
    ]);
    expect(base.equals(base.clone())).toBe(true);
    const variants = [
      windowOf(1, 10, [[5, 'a:1', 1]]),
      windowOf(1, 10, [
        [5, 'a:1', 1],
        [6, 'b:1', 3],
      ]),
      windowOf(1, 10, [
        [5, 'a:1', 1],
        [6, 'c:1', 2],
      ]),
      windowOf(1, 10, [
        [5, 'a:1', 1],
        [6, 'b:1', 2],
        [6, 'c:1', 2],
      ]),
      windowOf(1, 10, [
        [5, 'a:1', 1],
        [7, 'b:1', 2],
      ]),
      windowOf(1, 20, [
        [5, 'a:1', 1],
        [6, 'b:1', 2],
      ]),
      windowOf(2, 10, [
        [5, 'a:1', 1],
        [6, 'b:1', 2],
      ]),
    ];
    for (const v of variants) {
      expect(base.equals(v)).toBe(false);
      expect(v.equals(base)).toBe(false);
    }
    const empty = WindowedCounter.create(1, 10);
    const dead = WindowedCounter.create(1, 10);
    dead.clear();
    const dead2 = WindowedCounter.create(1, 10);
    dead2.clear();
    expect(dead.equals(dead2)).toBe(true);
    expect(empty.equals(dead)).toBe(false);
    // A clone is a copy: changing it leaves the original alone.
    const c = base.clone();
    c.incrementAt('a:1', 1, 5000, 5000);
    expect(base.bucketTotal(5)).toBe(1);
    expect(c.bucketTotal(5)).toBe(2);
    expect([c.maxBucket, c.granularityS, c.retentionS, c.generation]).toEqual([6, 1, 10, 0]);
  });

  it('split refuses a maxBytes that is not a positive integer', () => {
    const w = windowOf(1, 10, [[5, 'a:1', 1]]);
    for (const n of [0, -1, 1.5, NaN]) expect(thrown(() => w.split(n))).toBe(`RangeError: maxBytes must be a positive integer, got ${String(n)}`);
    expect(w.split(1)).toBeUndefined();
    expect(w.split(w.encode().length)).toEqual([w]);
  });
});

describe('decode refuses, by reason', () => {
  /** `[1][4][g][R][gen][created][ids][buckets]` as the codec writes it, from raw numbers. */
  function raw(g: number, rb: number, gen: number, created: number, ids: string[], buckets: [number, [number, number][]][]): Uint8Array {
    const w = new ByteWriter();
    w.u8(1).u8(4).uvarint(g).uvarint(rb).uvarint(gen).u8(created).uvarint(ids.length);
    for (const id of ids) w.string(id);
    w.uvarint(buckets.length);
    for (const [d, slots] of buckets) {
      w.uvarint(d).uvarint(slots.length);
      for (const [i, v] of slots) w.uvarint(i).uvarint(v);
    }
    return w.finish();
  }
  function reason(bytes: Uint8Array): string {
    const r = WindowedCounter.decode(bytes);
    return r.ok ? 'ok' : `${r.error.code}: ${r.error.message.replace(/ at byte \d+$/, '')}`;
  }

  it('accepts what the codec writes, and names what breaks it', () => {
    const good = raw(1, 10, 3, 1, ['a:1', 'b:1'], [
      [5, [[0, 1]]],
      [2, [
        [0, 2],
        [1, 3],
      ]],
    ]);
    const r = WindowedCounter.decode(good);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.entries()).toEqual([
        [5, 'a:1', 1],
        [7, 'a:1', 2],
        [7, 'b:1', 3],
      ]);
      expect([r.value.generation, r.value.maxBucket, r.value.granularityS, r.value.retentionS, r.value.exists()]).toEqual([3, 7, 1, 10, true]);
      expect(r.value.encode()).toStrictEqual(good);
    }
    expect(reason(raw(7, 10, 0, 1, [], []))).toBe('CODEC_INVALID: WindowedCounter: granularity must divide a day');
    expect(reason(raw(0, 10, 0, 1, [], []))).toBe('CODEC_INVALID: WindowedCounter: granularity 0 outside 1..86400');
    expect(reason(raw(1, 10_001, 0, 1, [], []))).toBe('CODEC_INVALID: WindowedCounter: retention buckets 10001 outside 1..10000');
    expect(reason(raw(1, 10, 0, 2, [], []))).toBe('CODEC_INVALID: WindowedCounter: created flag 2 outside 0..1');
    expect(reason(raw(1, 10, 1, 0, ['a:1'], [[5, [[0, 1]]]]))).toBe('CODEC_INVALID: WindowedCounter: a deleted window holds buckets');
    expect(reason(raw(1, 10, 1, 0, ['a:1'], []))).toBe('CODEC_INVALID: WindowedCounter: a deleted window holds buckets');
    expect(reason(raw(1, 10, 1, 0, [], []))).toBe('ok');
    expect(reason(raw(1, 10, 0, 1, ['a:1'], [
      [5, [[0, 1]]],
      [0, [[0, 1]]],
    ]))).toBe('CODEC_INVALID: WindowedCounter: bucket indexes not strictly ascending');
    // The first index is absolute: 0 is a bucket like any other.
    expect(reason(raw(1, 10, 0, 1, ['a:1'], [[0, [[0, 1]]]]))).toBe('ok');
    expect(reason(raw(1, 10, 0, 1, ['a:1', 'b:1'], [[5, [
      [1, 1],
      [0, 1],
    ]]]))).toBe('CODEC_INVALID: WindowedCounter: slots not sorted by replica');
    expect(reason(raw(1, 10, 0, 1, ['a:1', 'b:1'], [[5, [
      [0, 1],
      [0, 1],
    ]]]))).toBe('CODEC_INVALID: WindowedCounter: slots not sorted by replica');
    expect(reason(raw(1, 10, 0, 1, ['a:1', 'b:1'], [[5, [[0, 1]]]]))).toBe('CODEC_INVALID: WindowedCounter: unused replica id');
    expect(reason(raw(1, 10, 0, 1, ['a:1'], [[5, [[0, 0]]]]))).toBe('CODEC_INVALID: WindowedCounter: count 0 outside 1..9007199254740991');
    expect(reason(raw(1, 10, 0, 1, ['a:1'], [[5, [[1, 1]]]]))).toBe('CODEC_INVALID: WindowedCounter: replica index 1 outside 0..0');
    expect(reason(raw(1, 10, 0, 1, ['a:1'], [[5, []]]))).toBe('CODEC_INVALID: WindowedCounter: slot count 0 outside 1..1');
    // One replica keeps 16 buckets back from its newest (1 s x 10 s): 16 back from 20 is truncated.
    expect(reason(raw(1, 10, 0, 1, ['a:1'], [
      [4, [[0, 1]]],
      [16, [[0, 1]]],
    ]))).toBe('CODEC_INVALID: WindowedCounter: bucket outside the retained range');
    expect(reason(raw(1, 10, 0, 1, ['a:1'], [
      [5, [[0, 1]]],
      [15, [[0, 1]]],
    ]))).toBe('ok');
    // A bucket whose start in ms is past 2^53 - 1.
    const maxIndex = Math.floor(Number.MAX_SAFE_INTEGER / 1000);
    expect(reason(raw(1, 10, 0, 1, ['a:1'], [[maxIndex, [[0, 1]]]]))).toBe('ok');
    expect(reason(raw(1, 10, 0, 1, ['a:1'], [[maxIndex + 1, [[0, 1]]]]))).toBe('CODEC_INVALID: WindowedCounter: bucket index out of range');
  });
});

describe('truncation over long histories', () => {
  const ids = ['a:1', 'b:1', 'c:1', 'd:1'];
  const incArb = fc.record({
    kind: fc.constant('inc' as const),
    r: fc.constantFrom(...ids),
    n: fc.integer({ min: 1, max: 9 }),
    at: fc.integer({ min: 0, max: 80_000 }),
    lag: fc.integer({ min: -5000, max: 30_000 }),
  });
  const mergeArb = fc.record({
    kind: fc.constant('merge' as const),
    writes: fc.array(fc.record({ r: fc.constantFrom(...ids), n: fc.integer({ min: 1, max: 9 }), at: fc.integer({ min: 0, max: 80_000 }) }), { maxLength: 6 }),
  });

  /**
   * The state after any history is the slots written (summed by increments the clock let in, by max
   * across merges) cut by the truncation rule of the top of windowed-counter.ts, applied once at the
   * end: its thresholds only grow, so a slot cut on the way is cut at the end too.
   */
  function model(slots: Map<string, [number, string, number]>, kept: number): [number, string, number][] {
    const top = new Map<string, number>();
    for (const [b, r] of slots.values()) top.set(r, Math.max(top.get(r) ?? -1, b));
    const h = [...top.values()].sort((x, y) => y - x)[1] ?? -1;
    return [...slots.values()]
      .filter(([b, r]) => b > h - kept && b > (top.get(r) as number) - kept)
      .sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  }

  it('after every increment and merge, the slots, newest bucket, horizon and codec match the model', () => {
    let ran = 0;
    let cut = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 4, arbitrary: incArb }, { weight: 1, arbitrary: mergeArb }), { minLength: 1, maxLength: 60 }), (ops) => {
        const w = WindowedCounter.create(1, 10);
        const kept = w.keptBuckets;
        const slots = new Map<string, [number, string, number]>();
        for (const op of ops) {
          if (op.kind === 'inc') {
            const now = op.at + op.lag;
            const b = Math.floor(op.at / 1000);
            const e = w.incrementAt(op.r, op.n, op.at, now);
            if (b > Math.floor(now / 1000) - 10) {
              const s = slots.get(`${b}|${op.r}`);
              slots.set(`${b}|${op.r}`, [b, op.r, (s?.[2] ?? 0) + op.n]);
            } else expect(e?.code).toBe('WINDOW_TOO_OLD');
          } else {
            const o = WindowedCounter.create(1, 10);
            for (const x of op.writes) o.incrementAt(x.r, x.n, x.at, x.at);
            w.merge(o);
            for (const [b, r, n] of o.entries()) {
              const s = slots.get(`${b}|${r}`);
              slots.set(`${b}|${r}`, [b, r, Math.max(s?.[2] ?? 0, n)]);
            }
          }
          const want = model(slots, kept);
          expect(w.entries()).toEqual(want);
          if (want.length < slots.size) cut++;
          expect(w.maxBucket).toBe(want.length === 0 ? -1 : Math.max(...want.map(([b]) => b)));
          expect(w.bucketCount()).toBe(new Set(want.map(([b]) => b)).size);
        }
        const tops = new Map<string, number>();
        for (const [b, r] of w.entries()) tops.set(r, Math.max(tops.get(r) ?? -1, b));
        expect(w.horizon).toBe([...tops.values()].sort((x, y) => y - x)[1] ?? -1);
        const d = WindowedCounter.decode(w.encode());
        expect(d.ok && d.value.equals(w)).toBe(true);
        ran++;
      }),
      { numRuns: 200 },
    );
    expect(ran).toBeGreaterThan(0);
    expect(cut).toBeGreaterThan(0);
  });

  it('keeps truncating after a gap of empty buckets longer than the bucket count', () => {
    // a writes buckets 0..3 and 10, then 100, 200, 300 (nothing in between): after each cut, the oldest bucket left lies
    // far above the cut, past a walk of at most bucketCount steps.
    const w = WindowedCounter.create(1, 10); // 16 kept
    for (const b of [0, 1, 2, 3, 10]) w.incrementAt('a:1', 1, b * 1000, b * 1000);
    expect(w.bucketCount()).toBe(5);
    w.incrementAt('a:1', 1, 100_000, 100_000);
    expect(w.entries()).toEqual([[100, 'a:1', 1]]);
    w.incrementAt('a:1', 1, 200_000, 200_000);
    expect(w.entries()).toEqual([[200, 'a:1', 1]]);
    w.incrementAt('a:1', 1, 300_000, 300_000);
    expect(w.entries()).toEqual([[300, 'a:1', 1]]);
  });
});

describe('sizes', () => {
  it('byteSize grows with every slot, more for a new bucket than for a slot in one that exists', () => {
    const w = WindowedCounter.create(1, 10);
    const empty = w.byteSize();
    expect(empty).toBeGreaterThan(0);
    w.incrementAt('a:1', 1, 5000, 5000);
    const one = w.byteSize();
    w.incrementAt('b:1', 1, 5000, 5000);
    const two = w.byteSize();
    w.incrementAt('c:1', 1, 5000, 5000);
    const three = w.byteSize();
    w.incrementAt('a:1', 1, 6000, 6000);
    const newBucket = w.byteSize();
    expect(two - one).toBeGreaterThan(0);
    expect(three - two).toBe(two - one); // each slot in an existing bucket costs the same
    expect(one - empty).toBeGreaterThan(two - one);
    expect(newBucket - three).toBe(one - empty);
    w.incrementAt('a:1', 5, 6000, 6000); // a count, no new slot
    expect(w.byteSize()).toBe(newBucket);
  });

  it('split packs parts as full as the codec allows: one replica, 16 buckets of 4 bytes', () => {
    // [1][4][g 1][R 10][gen 0][created 1] [1 id: len 3 'a:1'] [bucket count] then per bucket:
    // index delta, slot count 1, id index 0, count: 12 + 4k bytes for k buckets (indexes under 128).
    const w = WindowedCounter.create(1, 10);
    for (let b = 100; b <= 115; b++) w.incrementAt('a:1', 1, b * 1000, b * 1000);
    expect(w.bucketCount()).toBe(16);
    expect(w.encode().length).toBe(12 + 4 * 16);
    const parts = w.split(12 + 4 * 5) as WindowedCounter[];
    expect(parts.map((p) => p.encode().length)).toEqual([32, 32, 32, 16]);
    expect(parts.map((p) => p.entries().map(([b]) => b))).toEqual([
      [100, 101, 102, 103, 104],
      [105, 106, 107, 108, 109],
      [110, 111, 112, 113, 114],
      [115],
    ]);
    expect(parts.map((p) => p.maxBucket)).toEqual([104, 109, 114, 115]);
    const joined = WindowedCounter.create(1, 10);
    for (const p of parts) joined.merge(p);
    expect(joined.equals(w)).toBe(true);
  });

  it('decodes two replicas holding more buckets than one may, and refuses counts beyond the bytes', () => {
    // b's newest is 90, a's 100: the horizon is 90, so a keeps (84, 100] and b keeps (74, 90]: 26 buckets.
    const w = WindowedCounter.create(1, 10);
    for (let b = 75; b <= 90; b++) w.incrementAt('b:1', 1, b * 1000, b * 1000);
    for (let b = 85; b <= 100; b++) w.incrementAt('a:1', 1, b * 1000, b * 1000);
    expect(w.bucketCount()).toBe(26);
    const d = WindowedCounter.decode(w.encode());
    expect(d.ok && d.value.equals(w)).toBe(true);
    const reason = (bytes: number[]): string => {
      const r = WindowedCounter.decode(Uint8Array.from(bytes));
      return r.ok ? `ok ${r.value.maxBucket}` : `${r.error.code}: ${r.error.message}`;
    };
    expect(reason([1, 4, 1, 10, 0, 1, 0, 0])).toBe('ok -1');
    // The bound is the bytes left, the count's own byte included.
    expect(reason([1, 4, 1, 10, 0, 1, 0, 5])).toBe('CODEC_INVALID: WindowedCounter: bucket count 5 outside 0..1 at byte 8');
    expect(reason([1, 4, 1, 10, 0, 1, 5, 0])).toBe('CODEC_INVALID: WindowedCounter: replica count 5 outside 0..2 at byte 7');
  });
});

describe('more edges', () => {
  it('a created and a deleted window of the same generation, both without buckets, are not equal', () => {
    const live = WindowedCounter.decode(Uint8Array.from([1, 4, 1, 10, 1, 1, 0, 0]));
    const dead = WindowedCounter.decode(Uint8Array.from([1, 4, 1, 10, 1, 0, 0, 0]));
    expect(live.ok && dead.ok).toBe(true);
    if (live.ok && dead.ok) {
      expect([live.value.exists(), dead.value.exists()]).toEqual([true, false]);
      expect(live.value.equals(dead.value)).toBe(false);
      expect(dead.value.equals(live.value)).toBe(false);
    }
    // A deleted window that lists a bucket but no replica is refused for the bucket.
    const r = WindowedCounter.decode(Uint8Array.from([1, 4, 1, 10, 1, 0, 0, 1, 5, 1, 0, 1]));
    expect(r.ok ? 'ok' : r.error.message).toMatch(/^WindowedCounter: a deleted window holds buckets at byte \d+$/);
  });

  it('split keeps every part within maxBytes with more than 128 replicas in a part (two-byte replica indexes)', () => {
    const w = WindowedCounter.create(1, 10);
    for (let i = 0; i < 200; i++) w.incrementAt(`r${i}:1`, 1 + i, 5000, 5000);
    for (let i = 0; i < 200; i += 3) w.incrementAt(`r${i}:1`, 1, 6000, 6000);
    const whole = w.encode().length;
    for (const max of [300, 1000, Math.floor(whole * 0.6), Math.floor(whole * 0.8), whole - 1]) {
      const parts = w.split(max) as WindowedCounter[];
      expect(parts.length).toBeGreaterThan(1);
      for (const p of parts) expect(p.encode().length).toBeLessThanOrEqual(max);
      const joined = WindowedCounter.create(1, 10);
      for (const p of parts) joined.merge(p);
      expect(joined.equals(w)).toBe(true);
    }
  });

  it('split takes buckets in index order whatever order they were written in', () => {
    const w = WindowedCounter.create(1, 10);
    for (const b of [110, 112, 111, 104, 113]) w.incrementAt('a:1', 1, b * 1000, 113_000);
    // 12 + 4k bytes for k buckets (see above): parts of two buckets.
    const parts = w.split(12 + 4 * 2) as WindowedCounter[];
    expect(parts.map((p) => p.entries().map(([b]) => b))).toEqual([[104, 110], [111, 112], [113]]);
    expect(parts.map((p) => p.maxBucket)).toEqual([110, 112, 113]);
  });
});
