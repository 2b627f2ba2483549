// Splitting G- and PN-Counters into parts (one unit: a replica's slot with its floors): the split
// contract of split-helpers.ts over states with many replicas, resets (floors), long and non-ASCII
// replica ids and extreme counts, joined into empty, older, concurrent and newer (reset) receivers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GCounter } from '../../src/crdt/g-counter.js';
import { COUNTER_MAX } from '../../src/crdt/counter-base.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { checkSplit, permilleArb, type SplitKind } from './split-helpers.js';

/** 60 ids: short ones, 200-byte ones, non-ASCII ones. */
const IDS = Array.from({ length: 60 }, (_, i) => (i % 10 === 0 ? `${'n'.repeat(200)}:${i}` : i % 10 === 1 ? `é${i}:1` : `node${i}:${i % 3}`));

const amount = fc.oneof({ weight: 5, arbitrary: fc.nat(5000) }, { weight: 1, arbitrary: fc.constantFrom(0, COUNTER_MAX, 2 ** 40) }, { weight: 1, arbitrary: fc.maxSafeNat() });
/** A valid (slot, floor) pair: floor 0 (never reset), equal (reset, nothing since), or between. */
const pairArb = fc.tuple(amount, amount, fc.nat(2)).map(([a, b, kind]): [number, number] => {
  const [hi, lo] = a >= b ? [a, b] : [b, a];
  return kind === 0 ? [hi, 0] : kind === 1 ? [hi, hi] : [hi, lo];
});
const slotsArb = fc.array(fc.tuple(fc.nat(IDS.length - 1), pairArb, pairArb), { maxLength: 45, size: 'max' });

function build<C extends GCounter | PNCounter>(make: () => C, slots: readonly [number, [number, number], [number, number]][]): C {
  const c = make();
  for (const [i, [p, fp], [n, fn]] of slots) c.mergeSlot(IDS[i] as string, p, fp, c instanceof PNCounter ? n : 0, c instanceof PNCounter ? fn : 0);
  return c;
}

function kind<C extends GCounter | PNCounter>(decode: (b: Uint8Array) => ReturnType<typeof GCounter.decode> | ReturnType<typeof PNCounter.decode>): SplitKind<C> {
  return {
    encode: (x) => x.encode(),
    decode: decode as SplitKind<C>['decode'],
    merge: (a, b) => void (a as unknown as { merge(o: C): boolean }).merge(b),
    clone: (x) => x.clone() as C,
    split: (x, n) => x.split(n) as C[] | undefined,
    live: (x) => x.exists(),
    unitBytes: (x) => Math.max(x.encode().length * (x.replicaCount() === 0 ? 1 : 0), ...x.entries().map((s) => x.slice([s.id]).encode().length)),
    tombstoneParts: true,
  };
}

/** Receivers: empty, the whole with every count lowered (an older state), a concurrent one, and a newer one that reset it and counted on. */
function receivers<C extends GCounter | PNCounter>(make: () => C, whole: C, other: C, seed: number): C[] {
  const older = make();
  whole.entries().forEach((s, i) => {
    const cut = (v: number, f: number): [number, number] => {
      const p = Math.floor(v / (2 + ((seed + i) % 3)));
      return [p, Math.min(f, p)];
    };
    const [p, fp] = cut(s.p, s.fp);
    const [n, fn] = cut(s.n, s.fn);
    older.mergeSlot(s.id, p, fp, n, fn);
  });
  const newer = whole.clone() as C;
  newer.resetInPlace();
  newer.mergeSlot(IDS[seed % IDS.length] as string, COUNTER_MAX, 0);
  return [make(), older, other, newer];
}

for (const [name, make, decode] of [
  ['GCounter', () => new GCounter(), GCounter.decode],
  ['PNCounter', () => new PNCounter(), PNCounter.decode],
] as const) {
  describe(`${name} split`, () => {
    const k = kind<GCounter | PNCounter>(decode);
    const mk = make as () => GCounter | PNCounter;

    it('parts of at most maxBytes join, in any order, into any state as the whole does', () => {
      let split = 0;
      let runs = 0; // the share of runs that split, so a lower numRuns (mutation testing) checks the same
      fc.assert(
        fc.property(slotsArb, slotsArb, permilleArb, fc.nat(), (a, b, permille, seed) => {
          const whole = build(mk, a);
          const maxBytes = Math.max(1, Math.round((whole.encode().length * permille) / 1000));
          runs++;
          if ((checkSplit(k, whole, maxBytes, receivers(mk, whole, build(mk, b), seed), seed)?.length ?? 0) > 1) split++;
        }),
        { numRuns: 300 },
      );
      expect(split).toBeGreaterThan(runs / 3);
    });

    it('returns the whole when it fits, and undefined only when one slot cannot fit', () => {
      const c = mk();
      c.mergeSlot('a:1', 5, 0);
      expect(c.split(c.encode().length)).toEqual([c]);
      const long = mk();
      long.mergeSlot('x'.repeat(255), COUNTER_MAX, 1);
      long.mergeSlot('y:1', 1, 0);
      const slot = long.slice(['x'.repeat(255)]).encode().length;
      expect(long.split(slot - 1)).toBeUndefined();
      expect(long.split(slot)).toHaveLength(2);
      expect(slot).toBeLessThanOrEqual(292); // the bound g-counter.ts documents
      expect(() => c.split(0)).toThrow(RangeError);
    });

    it('puts live slots first: a reset-only part comes last, and never removes a count the whole keeps', () => {
      const c = mk();
      for (let i = 0; i < 40; i++) c.mergeSlot(`dead${i}:1`, 1000 + i, 1000 + i);
      c.mergeSlot('live:1', 7, 0);
      const receiver = mk();
      receiver.mergeSlot('live:1', 3, 0);
      receiver.mergeSlot('dead0:1', 2000, 0); // counted after the reset it has not seen yet
      const parts = c.split(200) as (GCounter | PNCounter)[];
      expect(parts.length).toBeGreaterThan(2);
      expect(parts[0]?.exists()).toBe(true);
      expect(parts.slice(1).every((p) => !p.exists())).toBe(true);
      for (const p of parts.slice(1)) k.merge(receiver, p);
      k.merge(receiver, parts[0] as GCounter | PNCounter);
      const whole = mk();
      whole.mergeSlot('live:1', 3, 0);
      whole.mergeSlot('dead0:1', 2000, 0);
      k.merge(whole, c);
      expect(receiver.encode()).toStrictEqual(whole.encode());
      expect(receiver.value()).toBe(7 + 1000); // dead0's 1000 uncounted by the reset survive
    });
  });
}
