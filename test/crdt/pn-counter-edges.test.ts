// PNCounter (src/crdt/pn-counter.ts) on paths the other counter tests leave open: non-integer and
// zero increments through `increment` itself (not `decrement`, which checks first), and local moves
// on a counter whose sum in only one lane has passed 2^53 - 1 after the smaller slot was merged first
// (so the number kept for that lane below the range is no longer the sum).
import { describe, expect, it } from 'vitest';
import { COUNTER_MAX } from '../../src/crdt/counter-base.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';

const MAX = COUNTER_MAX;
const OUT = 'the value would leave the supported range [-(2^53-1), 2^53-1]';

function refusal(r: { ok: true } | { ok: false; error: { code: string; message: string } }): string {
  return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`;
}

describe('PNCounter increments', () => {
  it('refuses a non-integer amount to increment, changing nothing', () => {
    const c = new PNCounter();
    c.increment('a:1', 3);
    const before = c.encode();
    for (const bad of [1.5, -0.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)]) {
      expect(refusal(c.increment('a:1', bad))).toBe(`COUNTER_NOT_INTEGER: amount ${String(bad)} is not a safe integer`);
      expect(c.incrementInPlace('b:1', bad)?.code).toBe('COUNTER_NOT_INTEGER');
    }
    expect(c.encode()).toStrictEqual(before);
    expect(c.value()).toBe(3);
    expect(c.replicaCount()).toBe(1);
  });

  it('an increment by 0 succeeds and adds no slot, to the counter or its delta', () => {
    const c = new PNCounter();
    const r = c.increment('a:1', 0);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.entries()).toEqual([]);
    expect(c.incrementInPlace('b:1', 0)).toBeUndefined();
    expect(c.replicaCount()).toBe(0);
    expect(c.entries()).toEqual([]);
    expect(c.exists()).toBe(false);
    expect(c.encode()).toStrictEqual(new PNCounter().encode());
    c.increment('c:1', 2);
    c.increment('c:1', 0);
    expect(c.entries()).toEqual([{ id: 'c:1', p: 2, fp: 0, n: 0, fn: 0 }]);
  });
});

describe('PNCounter beyond the range in one lane', () => {
  it('increments lane past the range (small slot merged first): one more is refused, one less allowed', () => {
    const c = new PNCounter();
    c.mergeSlot('a:1', 5, 0);
    c.mergeSlot('b:1', MAX, 0); // increments sum to 2^53 + 4
    expect(c.value()).toBe(BigInt(MAX) + 5n);
    expect(refusal(c.increment('z:1', 1))).toBe(`COUNTER_OVERFLOW: ${OUT}`);
    expect(c.slotOf('z:1')).toEqual({ id: 'z:1', p: 0, fp: 0, n: 0, fn: 0 });
    expect(refusal(c.decrement('z:1', 1))).toBe('ok');
    expect(c.value()).toBe(BigInt(MAX) + 4n);
  });

  it('decrements lane past the range (small slot merged first): one more is refused, one less allowed', () => {
    const c = new PNCounter();
    c.mergeSlot('a:1', 0, 0, 5, 0);
    c.mergeSlot('b:1', 0, 0, MAX, 0); // decrements sum to 2^53 + 4
    expect(c.value()).toBe(-(BigInt(MAX) + 5n));
    expect(refusal(c.decrement('z:1', 1))).toBe(`COUNTER_OVERFLOW: ${OUT}`);
    expect(c.slotOf('z:1')).toEqual({ id: 'z:1', p: 0, fp: 0, n: 0, fn: 0 });
    expect(refusal(c.increment('z:1', 1))).toBe('ok');
    expect(c.value()).toBe(-(BigInt(MAX) + 4n));
  });
});
