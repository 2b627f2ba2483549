// Folding a retired slot into a live one (CounterBase.foldSlot; docs/crdt-counters.md, "Retired
// slots"). The argument there: after a state H that every node held, in which the folded replica had
// stopped writing, folding commutes with merge, so nodes may fold at different moments and merge
// with nodes that have not folded yet, by folding the other side first. Checked here against an
// unfolded world driven by the same operations: every node's folded state must be exactly the fold
// of its unfolded twin, and so has the same value. And the counterexample: a fold made while a reset
// from before H is still in flight brings back increments that both resets removed.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { GCounter } from '../../src/crdt/g-counter.js';

const R = 'a:1'; // retired: node a's first incarnation
const L = 'a:2'; // its next incarnation, the fold target

type Op =
  | { op: 'incr'; node: number; n: number }
  | { op: 'reset'; node: number }
  | { op: 'merge'; from: number; to: number }
  | { op: 'fold'; node: number };

/** The writer of each node: node 0 is a (R before H, L after), node 1 is b, node 2 writes nothing. */
function writerOf(node: number, afterH: boolean): string | undefined {
  if (node === 0) return afterH ? L : R;
  return node === 1 ? 'b:1' : undefined;
}

const opArb = (withFold: boolean): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({ op: fc.constant('incr' as const), node: fc.integer({ min: 0, max: 2 }), n: fc.integer({ min: -5, max: 9 }) }),
    fc.record({ op: fc.constant('reset' as const), node: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ op: fc.constant('merge' as const), from: fc.integer({ min: 0, max: 2 }), to: fc.integer({ min: 0, max: 2 }) }),
    ...(withFold ? [fc.record({ op: fc.constant('fold' as const), node: fc.integer({ min: 0, max: 2 }) })] : []),
  );

function folded(c: PNCounter): PNCounter {
  const out = c.clone();
  out.foldSlot(R, L);
  return out;
}

function apply(states: PNCounter[], o: Op, afterH: boolean, foldedAt?: boolean[]): void {
  if (o.op === 'incr') {
    const w = writerOf(o.node, afterH);
    if (w !== undefined) states[o.node]?.incrementInPlace(w, o.n);
  } else if (o.op === 'reset') {
    states[o.node]?.resetInPlace();
  } else if (o.op === 'merge') {
    const from = states[o.from] as PNCounter;
    const to = states[o.to] as PNCounter;
    if (foldedAt === undefined) {
      to.merge(from.clone());
      return;
    }
    // A node that folded folds what it receives; one that receives a folded state adopts the fold.
    const either = (foldedAt[o.from] ?? false) || (foldedAt[o.to] ?? false);
    if (either) {
      to.foldSlot(R, L);
      foldedAt[o.to] = true;
      to.merge(folded(from));
    } else {
      to.merge(from.clone());
    }
  } else if (foldedAt !== undefined) {
    states[o.node]?.foldSlot(R, L);
    foldedAt[o.node] = true;
  }
}

describe('folding a retired slot', () => {
  it('keeps the value and the other slots, and leaves one slot where there were two', () => {
    const c = new PNCounter();
    c.incrementInPlace(R, 7);
    c.incrementInPlace(R, -2);
    c.incrementInPlace('b:1', 3);
    c.resetInPlace();
    c.incrementInPlace(R, 4);
    c.incrementInPlace(L, 1);
    expect(c.value()).toBe(5);
    expect(c.foldSlot(R, L)).toBe(true);
    expect(c.value()).toBe(5);
    expect(c.entries()).toEqual([
      { id: L, p: 12, fp: 7, n: 2, fn: 2 },
      { id: 'b:1', p: 3, fp: 3, n: 0, fn: 0 },
    ]);
    // A target with no slot yet gets the folded one; nothing to fold changes nothing.
    const g = new GCounter();
    g.increment(R, 3);
    expect(g.foldSlot(R, L)).toBe(true);
    expect(g.entries()).toEqual([{ id: L, p: 3, fp: 0, n: 0, fn: 0 }]);
    expect(g.foldSlot(R, L)).toBe(false);
    expect(g.foldSlot(L, L)).toBe(false);
    // Increments go on from the folded slot.
    g.increment(L, 2);
    expect(g.value()).toBe(5);
  });

  it('refuses a fold whose sums would pass 2^53-1, changing nothing', () => {
    const c = new PNCounter();
    c.incrementInPlace(R, Number.MAX_SAFE_INTEGER);
    c.mergeSlot(L, 1, 0); // a merge is never refused: the value is now 2^53, a bigint
    expect(c.value()).toBe(2n ** 53n);
    const before = c.entries();
    expect(c.foldSlot(R, L)).toBe(false);
    expect(c.entries()).toEqual(before);
    expect(() => c.foldSlot(R, '')).toThrow(RangeError);
    // The decrements alike: a sum of exactly 2^53-1 folds, one more does not.
    const d = new PNCounter();
    d.incrementInPlace(R, -(Number.MAX_SAFE_INTEGER - 1));
    d.mergeSlot(L, 0, 0, 1, 0);
    expect(d.foldSlot(R, L)).toBe(true);
    expect(d.entries()).toEqual([{ id: L, p: 0, fp: 0, n: Number.MAX_SAFE_INTEGER, fn: 0 }]);
    const e = new PNCounter();
    e.incrementInPlace(R, -Number.MAX_SAFE_INTEGER);
    e.mergeSlot(L, 0, 0, 1, 0);
    const eBefore = e.entries();
    expect(e.foldSlot(R, L)).toBe(false);
    expect(e.entries()).toEqual(eBefore);
  });

  it('commutes with merge after a state every node held: folded nodes equal the fold of an unfolded world', () => {
    let checks = 0;
    fc.assert(
      fc.property(fc.array(opArb(false), { maxLength: 25 }), fc.array(opArb(true), { minLength: 1, maxLength: 40 }), (before, after) => {
        // Before H: R writes; resets and merges in any order.
        const pre = [new PNCounter(), new PNCounter(), new PNCounter()];
        for (const o of before) apply(pre, o, false);
        // H: every node holds the join of everything.
        const h = new PNCounter();
        for (const s of pre) h.merge(s);
        const plain = [h.clone(), h.clone(), h.clone()];
        const fold = [h.clone(), h.clone(), h.clone()];
        const foldedAt = [false, false, false];
        for (const o of after) {
          apply(plain, o, true);
          apply(fold, o, true, foldedAt);
          for (let i = 0; i < 3; i++) {
            const f = fold[i] as PNCounter;
            const p = plain[i] as PNCounter;
            expect(f.value()).toEqual(p.value());
            expect(f.entries()).toEqual(foldedAt[i] ? folded(p).entries() : p.entries());
            checks++;
          }
        }
        // Everything meets: one state, R gone, the same value as the unfolded join.
        const all = new PNCounter();
        for (const s of plain) all.merge(s);
        const allFolded = folded(fold[0] as PNCounter);
        for (const s of fold) allFolded.merge(folded(s));
        expect(allFolded.value()).toEqual(all.value());
        expect(allFolded.entries()).toEqual(folded(all).entries());
        expect(allFolded.entries().some((s) => s.id === R)).toBe(false);
      }),
      { numRuns: 500 },
    );
    expect(checks).toBeGreaterThan(500);
  });

  it('does not commute without that state: a reset from before it, still in flight, brings increments back', () => {
    // The doc's counterexample. R wrote 5 and stopped; L is at 10.
    const y = new PNCounter(); // saw L at 10, R at 2, then reset
    y.incrementInPlace(L, 10);
    y.incrementInPlace(R, 2);
    y.resetInPlace();
    const x = new PNCounter(); // saw L at 8, R at 5, then reset
    x.incrementInPlace(L, 8);
    x.incrementInPlace(R, 5);
    x.resetInPlace();
    const z = new PNCounter(); // holds the latest slots, no reset
    z.incrementInPlace(L, 10);
    z.incrementInPlace(R, 5);
    const plain = z.clone();
    plain.merge(y);
    plain.merge(x);
    expect(plain.value()).toBe(0);
    // x folds now, before y's reset reached it: not every node held one state.
    const early = x.clone();
    early.foldSlot(R, L);
    early.merge(folded(y));
    early.merge(folded(z));
    expect(early.value()).toBe(2);
  });
});
