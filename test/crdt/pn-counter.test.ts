// PNCounter (src/crdt/pn-counter.ts) at its boundaries: which slot a refusal names, the value at
// exactly ±(2^53 - 1) as a number, local moves beyond the range (allowed back toward it or no
// farther out), and SET / existAtZero on a slot with no room left.
import { describe, expect, it } from 'vitest';
import { COUNTER_MAX } from '../../src/crdt/counter-base.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';

const MAX = COUNTER_MAX;

function message(r: { ok: true } | { ok: false; error: { message: string } }): string {
  return r.ok ? 'ok' : r.error.message;
}

describe('PNCounter boundaries', () => {
  it('a refusal names the value or the lane of the slot that has no room', () => {
    const c = new PNCounter();
    c.mergeSlot('a:1', MAX, MAX, MAX, MAX); // both lanes spent, value 0
    expect(message(c.increment('a:1', 1))).toBe("replica a:1's increments slot would leave the supported range [-(2^53-1), 2^53-1]");
    expect(message(c.decrement('a:1', 1))).toBe("replica a:1's decrements slot would leave the supported range [-(2^53-1), 2^53-1]");
    expect(message(c.set('a:1', 5))).toBe("replica a:1's slot would leave the supported range [-(2^53-1), 2^53-1]");
    expect(message(c.set('a:1', -5))).toBe("replica a:1's slot would leave the supported range [-(2^53-1), 2^53-1]");
    expect(message(c.decrement('a:1', 1.5))).toBe('amount 1.5 is not a safe integer');
    expect(message(c.set('a:1', 0.5))).toBe('amount 0.5 is not a safe integer');
    const d = new PNCounter();
    d.increment('b:1', MAX);
    expect(message(d.increment('c:1', 1))).toBe('the value would leave the supported range [-(2^53-1), 2^53-1]');
    expect(message(d.decrement('c:1', 1))).toBe('ok');
  });

  it('SET to a slot with exactly enough room succeeds; existAtZero needs room for one of each', () => {
    const c = new PNCounter();
    c.mergeSlot('a:1', MAX - 5, MAX - 5);
    expect(c.set('a:1', 5).ok).toBe(true);
    expect(c.value()).toBe(5);
    const z = new PNCounter();
    z.mergeSlot('a:1', MAX - 1, MAX - 1, MAX - 1, MAX - 1);
    z.existAtZero('a:1');
    expect(z.exists()).toBe(true);
    expect(z.value()).toBe(0);
    for (const [p, n] of [
      [MAX, 0],
      [0, MAX],
    ] as const) {
      const full = new PNCounter();
      full.mergeSlot('a:1', p, p, n, n);
      full.existAtZero('a:1');
      expect(full.exists()).toBe(false);
      expect(full.slotOf('a:1')).toEqual({ id: 'a:1', p, fp: p, n, fn: n });
    }
  });

  it('a value of exactly ±(2^53 - 1) reads as a number, past it as a bigint', () => {
    const c = new PNCounter();
    c.mergeSlot('a:1', MAX, 0);
    c.mergeSlot('b:1', 1, 0);
    c.mergeSlot('c:1', 0, 0, 1, 0); // P = 2^53 (a bigint), N = 1: the value is 2^53 - 1
    expect(c.value()).toBe(MAX);
    c.mergeSlot('d:1', 1, 0);
    expect(c.value()).toBe(BigInt(MAX) + 1n);
    const n = new PNCounter();
    n.mergeSlot('a:1', 0, 0, MAX, 0);
    n.mergeSlot('b:1', 0, 0, 1, 0);
    n.mergeSlot('c:1', 1, 0);
    expect(n.value()).toBe(-MAX);
  });

  it('beyond the range, a local move is allowed back toward it or into it, never farther out', () => {
    const c = new PNCounter();
    c.mergeSlot('a:1', MAX, 0);
    c.mergeSlot('b:1', 2, 0); // value 2^53 + 1
    expect(c.increment('z:1', 1).ok).toBe(false);
    expect(c.increment('z:1', 0).ok).toBe(true);
    expect(c.decrement('z:1', 1).ok).toBe(true); // 2^53: closer, still out
    expect(c.value()).toBe(BigInt(MAX) + 1n);
    expect(c.decrement('z:1', 1).ok).toBe(true); // 2^53 - 1: in range
    expect(c.value()).toBe(MAX);
    const far = new PNCounter();
    far.mergeSlot('a:1', MAX, 0);
    far.mergeSlot('b:1', MAX, 0); // 2^54 - 2
    // Down by 2^53 - 1 lands exactly on 2^53 - 1.
    expect(far.decrement('z:1', MAX).ok).toBe(true);
    expect(far.value()).toBe(MAX);
    const neg = new PNCounter();
    neg.mergeSlot('a:1', 0, 0, MAX, 0);
    neg.mergeSlot('b:1', 0, 0, 2, 0); // -(2^53 + 1)
    expect(neg.decrement('z:1', 1).ok).toBe(false);
    expect(neg.increment('z:1', 1).ok).toBe(true);
    expect(neg.value()).toBe(-(BigInt(MAX) + 1n));
  });
});
