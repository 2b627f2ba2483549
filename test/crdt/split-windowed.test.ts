// Splitting windowed counters into parts (one unit: a (bucket, replica) count, under the window's
// header): the split contract of split-helpers.ts over windows with many replicas and buckets,
// generations, deletes and re-creations with other configs, and receivers whose newest bucket is
// ahead of or behind the whole's (truncation in merge), of older, equal and newer generations.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slowIt } from '../slow.js';
import { uvarintSize } from '../../src/crdt/codec.js';
import { WindowedCounter } from '../../src/crdt/windowed-counter.js';
import { checkSplit, permilleArb, type SplitKind } from './split-helpers.js';

const IDS = Array.from({ length: 30 }, (_, i) => (i % 7 === 0 ? `${'w'.repeat(180)}:${i}` : i % 7 === 1 ? `ü${i}:2` : `n${i}:1`));

const k: SplitKind<WindowedCounter> = {
  encode: (x) => x.encode(),
  decode: (b) => WindowedCounter.decode(b),
  merge: (a, b) => void a.merge(b),
  clone: (x) => x.clone(),
  split: (x, n) => x.split(n),
  live: (x) => x.exists(),
  // A window holding one count: header, one id, one bucket (absolute index), one slot.
  unitBytes: (x) => {
    const head = 3 + uvarintSize(x.granularityS) + uvarintSize(x.retentionS / x.granularityS) + uvarintSize(x.generation) + 1 + 1;
    let max = x.bucketCount() === 0 ? x.encode().length : 0;
    for (const [b, id, v] of x.entries()) {
      const len = Buffer.byteLength(id);
      max = Math.max(max, head + uvarintSize(len) + len + uvarintSize(b) + 1 + 1 + uvarintSize(v));
    }
    return max;
  },
};

type Op = { r: number; n: number; at: number };
const opArb: fc.Arbitrary<Op> = fc.record({
  r: fc.nat(IDS.length - 1),
  n: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 1000 }) }, { weight: 1, arbitrary: fc.maxSafeNat() }),
  at: fc.integer({ min: 0, max: 40_000 }),
});

/** A 1 s x 20 s window (26 buckets kept) from ops stamped `at + base`, then `dels` deletes (the last maybe re-created as 2 s x 20 s). */
function build(ops: readonly Op[], base: number, dels: number, recreate: boolean): WindowedCounter {
  const w = WindowedCounter.create(1, 20);
  const apply = (list: readonly Op[]): void => {
    for (const o of list) {
      const at = o.at + base;
      w.incrementAt(IDS[o.r] as string, o.n, at, at); // refusals (overflow, too old) change nothing
    }
  };
  apply(ops);
  for (let i = 0; i < dels; i++) w.clear();
  if (dels > 0 && recreate) {
    w.recreate(dels % 2 === 0 ? 1 : 2, 20);
    apply(ops.slice(0, ops.length >> 1));
  }
  return w;
}

const stateArb = fc.record({ ops: fc.array(opArb, { maxLength: 120, size: 'max' }), dels: fc.nat(2), recreate: fc.boolean() });

describe('WindowedCounter split', () => {
  it('parts of at most maxBytes join, in any order, into any window as the whole does', () => {
    let split = 0;
    let runs = 0; // the share of runs that split, so a lower numRuns (mutation testing) checks the same
    fc.assert(
      fc.property(stateArb, fc.array(opArb, { maxLength: 40 }), permilleArb, fc.nat(), ({ ops, dels, recreate }, other, permille, seed) => {
        const whole = build(ops, 0, dels, recreate);
        const maxBytes = Math.max(1, Math.round((whole.encode().length * permille) / 1000));
        const receivers = [
          WindowedCounter.create(1, 20), // empty, generation 0
          build(ops.slice(0, ops.length >> 1), 0, dels, recreate), // older
          build(other, 0, dels, recreate), // concurrent, same header
          build(other, 30_000, dels, recreate), // newest bucket ahead: truncates some of the whole's
          build(other, -30_000, dels, recreate), // newest bucket behind: the whole's truncate it
          build(other, 0, dels + 1, true), // a newer generation
          build(other, 0, 0, false), // an older generation (unless the whole is generation 0)
          WindowedCounter.create(60, 3600), // generation 0, a larger config
        ];
        runs++;
        if ((checkSplit(k, whole, maxBytes, receivers, seed)?.length ?? 0) > 1) split++;
      }),
      { numRuns: 300 },
    );
    expect(split).toBeGreaterThan(runs * 0.3);
  });

  it('returns the whole when it fits, undefined only when one count cannot fit; a deleted window is never split', () => {
    const w = WindowedCounter.create(1, 60);
    w.incrementAt('a:1', 3, 1_000_000, 1_000_000);
    expect(w.split(w.encode().length)).toEqual([w]);
    w.incrementAt('x'.repeat(255), Number.MAX_SAFE_INTEGER, 1_001_000, 1_001_000);
    const unit = k.unitBytes(w);
    expect(unit).toBeLessThanOrEqual(300); // the bound windowed-counter.ts documents
    expect(w.split(unit - 1)).toBeUndefined();
    expect(w.split(unit)).toHaveLength(2);
    w.clear();
    expect(w.split(w.encode().length)).toEqual([w]);
    expect(w.split(w.encode().length - 1)).toBeUndefined();
  });

  slowIt('splits a full 1 s x 1 h window of 5 writers into 3,000-byte parts', () => {
    const w = WindowedCounter.create(1, 3600);
    for (let t = 0; t < 3600; t++) for (let r = 0; r < 5; r++) w.incrementAt(`node${r}:1`, 1 + ((t * 7 + r) % 5000), t * 1000, t * 1000);
    const older = w.clone();
    for (let t = 3600; t < 3700; t++) w.incrementAt('node0:1', 1, t * 1000, t * 1000);
    const t0 = performance.now();
    const parts = w.split(3000) as WindowedCounter[];
    const ms = performance.now() - t0;
    console.log(`window 1 s x 1 h, 5 writers: ${w.encode().length} B into ${parts.length} parts of <= 3000 B in ${ms.toFixed(1)} ms`);
    checkSplit(k, w, 3000, [WindowedCounter.create(1, 3600), older], 3, { perPartLive: false });
  });
});
