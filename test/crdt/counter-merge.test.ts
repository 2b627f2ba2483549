// Property tests of the counter CRDTs: merge laws, and convergence of replicas that exchange deltas
// and full states in any order (duplicated, reordered, via the codec) against a reference model of
// observed resets: the converged value is the sum of the increments that no reset had observed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GCounter } from '../../src/crdt/g-counter.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { buildG, buildPN, checkG, checkPN, gCounterArb, gRawArb, mergeInto, modelSlots, norm, pnCounterArb, pnRawArb, same, type RawSlots } from './counter-helpers.js';

type Counter = GCounter | PNCounter;

function merged<T extends Counter>(a: T, b: T): T {
  const c = a.clone() as T;
  mergeInto(c, b);
  return c;
}

const laws = <T extends Counter>(name: string, arb: fc.Arbitrary<T>, check: (c: T) => void, raw: fc.Arbitrary<RawSlots>, build: (r: RawSlots) => T): void => {
  describe(`${name} merge`, () => {
    it('is the pointwise max of every slot and floor (a floor raising its slot), so it inflates both inputs', () => {
      // Exact against a model computed from the raw slots alone: a merge by min, or one that dropped
      // a slot or a floor, is a semilattice too and passes the three laws below, but not this.
      let ran = 0;
      fc.assert(
        fc.property(raw, raw, (ra, rb) => {
          const a = build(ra);
          const b = build(rb);
          expect(a.entries()).toEqual(modelSlots(ra));
          const ab = merged(a, b);
          const want = modelSlots([...ra, ...rb]);
          expect(ab.entries()).toEqual(want);
          // Inflation, in the type's order: every field of the merge at least each input's.
          for (const s of [...a.entries(), ...b.entries()]) {
            const got = ab.slotOf(s.id);
            expect(got.p >= s.p && got.fp >= s.fp && got.n >= s.n && got.fn >= s.fn).toBe(true);
          }
          ran++;
        }),
      );
      expect(ran).toBeGreaterThan(0);
    });
    it('is commutative', () => {
      fc.assert(
        fc.property(arb, arb, (a, b) => {
          const ab = merged(a, b);
          const ba = merged(b, a);
          expect(same(ab, ba)).toBe(true);
          expect(ab.value()).toStrictEqual(ba.value());
          check(ab);
        }),
      );
    });
    it('is associative', () => {
      fc.assert(
        fc.property(arb, arb, arb, (a, b, c) => {
          const l = merged(merged(a, b), c);
          const r = merged(a, merged(b, c));
          expect(same(l, r)).toBe(true);
          expect(l.value()).toStrictEqual(r.value());
        }),
      );
    });
    it('is idempotent and absorbs its inputs', () => {
      fc.assert(
        fc.property(arb, arb, (a, b) => {
          expect(same(merged(a, a), a)).toBe(true);
          // merge reports a change exactly when the state changed.
          const c = a.clone();
          expect(mergeInto(c, b)).toBe(!same(a, merged(a, b)));
          expect(mergeInto(c, b)).toBe(false);
          const ab = merged(a, b);
          expect(same(merged(ab, b), ab)).toBe(true);
          expect(same(merged(ab, a), ab)).toBe(true);
        }),
      );
    });
  });
};

laws('GCounter', gCounterArb, checkG, gRawArb, buildG);
laws('PNCounter', pnCounterArb, checkPN, pnRawArb, buildPN);

// ---- the simulation ---------------------------------------------------------------------------

/** A step: op kind, two replica picks, an amount, and whether a delivered message stays queued. */
const stepArb = fc.tuple(fc.nat(9), fc.nat(7), fc.nat(7), fc.integer({ min: -50, max: 50 }), fc.boolean());
/** The same over up to 16 replicas: a counter's slots past the first 9 are found through an index (g-counter.ts, SCANNED_SLOTS). */
const wideStepArb = fc.tuple(fc.nat(9), fc.nat(15), fc.nat(15), fc.integer({ min: -50, max: 50 }), fc.boolean());

interface Msg {
  to: number;
  state: Counter;
  viaCodec: boolean;
  /** Reference model: the increment events this message makes its receiver aware of. */
  knows: Set<number>;
}

function simulate(pn: boolean, n: number, steps: [number, number, number, number, boolean][], resets: boolean): void {
  const ids = Array.from({ length: n }, (_, i) => `node${i}:${(i * 7) % 3}`);
  const reps: Counter[] = ids.map(() => (pn ? new PNCounter() : new GCounter()));
  const known = ids.map(() => new Set<number>());
  const events: { origin: number; amount: number }[] = [];
  const removed = new Set<number>();
  const queue: Msg[] = [];

  const send = (from: number, state: Counter, knows: Set<number>, to: number, viaCodec: boolean): void => {
    queue.push({ to, state, viaCodec, knows: new Set(knows) });
  };
  const ownKnowledge = (i: number): Set<number> =>
    new Set([...(known[i] ?? [])].filter((e) => events[e]?.origin === i));
  const deliver = (m: Msg): void => {
    let state = m.state;
    if (m.viaCodec) {
      const decoded = pn ? PNCounter.decode(m.state.encode()) : GCounter.decode(m.state.encode());
      expect(decoded.ok).toBe(true);
      if (!decoded.ok) return;
      state = decoded.value;
    }
    mergeInto(reps[m.to] as Counter, state);
    for (const e of m.knows) known[m.to]?.add(e);
  };

  for (const [kind, a, b, amt, keep] of steps) {
    const i = a % n;
    const j = b % n;
    const rep = reps[i] as Counter;
    const me = known[i] as Set<number>;
    const amount = pn ? amt : Math.abs(amt);
    if (kind <= 3) {
      const r = rep instanceof PNCounter ? rep.increment(ids[i] ?? '', amount) : rep.increment(ids[i] ?? '', amount);
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      if (amount !== 0) {
        me.add(events.length);
        events.push({ origin: i, amount });
      }
      if (kind <= 1) send(i, r.value, ownKnowledge(i), j, amt % 2 === 0);
    } else if (kind === 4 && resets) {
      const delta = rep.reset();
      for (const e of me) removed.add(e);
      send(i, delta, me, j, keep);
    } else if (kind === 5 && resets && rep instanceof PNCounter) {
      const r = rep.set(ids[i] ?? '', amount);
      expect(r.ok).toBe(true);
      for (const e of me) removed.add(e);
      if (amount !== 0) {
        me.add(events.length);
        events.push({ origin: i, amount });
      }
      if (r.ok) send(i, r.value, me, j, !keep);
    } else if (kind <= 7) {
      send(i, rep.clone(), me, j, keep); // full state
    } else if (queue.length > 0) {
      const k = (a * 8 + b) % queue.length; // any pending message: reordered delivery
      const m = queue[k] as Msg;
      if (!keep) queue.splice(k, 1); // else it stays queued and is delivered again later
      deliver(m);
    }
    if (rep instanceof PNCounter) checkPN(rep);
    else checkG(rep);
  }
  for (const m of queue) deliver(m);
  // Two rounds of all-to-all full states converge everyone.
  for (let round = 0; round < 2; round++) {
    for (let x = 0; x < n; x++) for (let y = 0; y < n; y++) if (x !== y) deliver({ to: y, state: (reps[x] as Counter).clone(), viaCodec: false, knows: known[x] as Set<number> });
  }
  const first = reps[0] as Counter;
  for (const r of reps) {
    expect(same(r, first)).toBe(true);
    expect(r.value()).toStrictEqual(first.value());
  }
  let expected = 0n;
  events.forEach((e, k) => {
    if (!removed.has(k)) expected += BigInt(e.amount);
  });
  expect(first.value()).toStrictEqual(norm(expected));
  if (!resets) expect(first.value()).toStrictEqual(norm(events.reduce((s, e) => s + BigInt(e.amount), 0n)));
}

describe('convergence across 2-8 replicas', () => {
  const run = (pn: boolean, resets: boolean) =>
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.array(stepArb, { maxLength: 120 }), (n, steps) =>
        simulate(pn, n, steps, resets),
      ),
      { numRuns: 150 },
    );
  it('PNCounter with resets and sets: value = increments no reset observed', () => run(true, true));
  it('PNCounter without resets: value = sum of every update', () => run(true, false));
  it('GCounter with resets', () => run(false, true));
  it('GCounter without resets', () => run(false, false));
});

describe('convergence across 10-16 replicas (a counter holding more slots than its array keeps)', () => {
  const run = (pn: boolean, resets: boolean) =>
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 16 }), fc.array(wideStepArb, { minLength: 60, maxLength: 200 }), (n, steps) =>
        simulate(pn, n, steps, resets),
      ),
      { numRuns: 60 },
    );
  it('PNCounter with resets and sets: value = increments no reset observed', () => run(true, true));
  it('GCounter without resets: value = sum of every update', () => run(false, false));
});
