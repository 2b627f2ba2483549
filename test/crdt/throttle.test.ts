// THROTTLE's decision (src/crdt/throttle.ts) against models: the window config by its documented
// rule (the largest divisor of a day at most period / 60, a retention of whole buckets covering the
// period), and every field of the answer recomputed from the window's entries: what is used, what
// remains, when a retry fits (the first whole second, by a linear search) and when the window empties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { THROTTLE_MAX_PERIOD_S, throttleDecide, throttleUsed, throttleWindowConfig } from '../../src/crdt/throttle.js';
import { WINDOW_MAX_SKEW_MS, WindowedCounter } from '../../src/crdt/windowed-counter.js';

/** The largest divisor of 86,400 that is at most max(1, floor(period / 60)). */
function granularityModel(periodS: number): number {
  const target = Math.max(1, Math.floor(periodS / 60));
  let best = 1;
  for (let d = 1; d <= 86_400; d++) if (86_400 % d === 0 && d <= target) best = d;
  return best;
}

/** Every bucket holding an instant of (now - period, now + skew], summed from the entries: the oldest counts whole. */
function usedModel(w: WindowedCounter, periodMs: number, nowMs: number): number {
  const gMs = w.granularityS * 1000;
  const lo = Math.floor((nowMs - periodMs) / gMs);
  const hi = Math.floor((nowMs + WINDOW_MAX_SKEW_MS) / gMs);
  let n = 0;
  for (const [b, , v] of w.entries()) if (b >= lo && b <= hi) n += v;
  return n;
}

describe('throttleWindowConfig', () => {
  it('picks the largest divisor of a day up to period / 60, and whole buckets covering the period', () => {
    const check = (periodS: number): void => {
      const g = granularityModel(periodS);
      expect(throttleWindowConfig(periodS)).toEqual({ granularityS: g, retentionS: Math.ceil(periodS / g) * g });
    };
    for (const p of [1, 59, 60, 61, 119, 120, 7000, 6000, 3600, 86_400, 86_400 * 60, 86_400 * 61, THROTTLE_MAX_PERIOD_S]) check(p);
    let ran = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: THROTTLE_MAX_PERIOD_S }), (p) => {
        check(p);
        ran++;
      }),
    );
    expect(ran).toBeGreaterThan(0);
    // By hand: 7000 s / 60 = 116, and 108 = 2^2 * 3^3 is the largest divisor of 86,400 up to it.
    expect(throttleWindowConfig(7000)).toEqual({ granularityS: 108, retentionS: 65 * 108 });
    expect(throttleWindowConfig(THROTTLE_MAX_PERIOD_S)).toEqual({ granularityS: 86_400, retentionS: THROTTLE_MAX_PERIOD_S });
    expect(THROTTLE_MAX_PERIOD_S).toBe(365 * 86_400);
  });
});

describe('throttleDecide', () => {
  it('every field of the answer against a model of the window', () => {
    let ran = 0;
    let refused = 0;
    let retried = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(10, 60, 120, 150),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 1, max: 20 })), { maxLength: 40 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 999 }),
        (periodS, writes, limit, cost, ms) => {
          const T = 1_700_000_000_000;
          const now = T + 300_000 + ms;
          const cfg = throttleWindowConfig(periodS);
          const w = WindowedCounter.create(cfg.granularityS, cfg.retentionS);
          for (const [dt, n] of [...writes].sort((a, b) => a[0] - b[0])) w.incrementAt('a:1', n, T + dt, T + dt);
          const periodMs = periodS * 1000;
          const used = usedModel(w, periodMs, now);
          expect(throttleUsed(w, periodMs, now)).toBe(used);
          const before = w.encode();
          const d = throttleDecide(w, limit, periodMs, cost, now);
          expect(w.encode()).toStrictEqual(before); // decides, changes nothing
          const allowed = used + cost <= limit;
          expect(d.allowed).toBe(allowed);
          expect(d.limit).toBe(limit);
          expect(d.remaining).toBe(Math.max(0, limit - used - (allowed ? cost : 0)));
          // Retry: the first whole second at which the same cost fits, found by walking; -1 when allowed or never.
          let retry = -1;
          if (!allowed && cost <= limit) {
            retry = 1;
            while (usedModel(w, periodMs, now + retry * 1000) + cost > limit) retry++;
            retried++;
          }
          expect(d.retryAfterS).toBe(retry);
          // Reset: the first whole second at which the window (after the increment, if allowed) counts nothing.
          const after = w.clone();
          if (allowed && cost > 0) after.incrementAt('a:1', cost, now, now);
          if (after.bucketCount() === 0) expect(d.resetAfterS).toBe(0);
          else {
            expect(usedModel(after, periodMs, now + d.resetAfterS * 1000)).toBe(0);
            if (d.resetAfterS > 0) expect(usedModel(after, periodMs, now + (d.resetAfterS - 1) * 1000)).toBeGreaterThan(0);
          }
          if (!allowed) refused++;
          ran++;
        },
      ),
    );
    expect(ran).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(retried).toBeGreaterThan(0);
  });

  it('by hand: 10 per 60 s with 1 s buckets', () => {
    const w = WindowedCounter.create(1, 60);
    const now = 1_000_000; // bucket 1000
    expect(throttleDecide(w, 10, 60_000, 1, now)).toEqual({ allowed: true, limit: 10, remaining: 9, retryAfterS: -1, resetAfterS: 61 });
    expect(throttleDecide(w, 10, 60_000, 0, now)).toEqual({ allowed: true, limit: 10, remaining: 10, retryAfterS: -1, resetAfterS: 0 });
    w.incrementAt('a:1', 4, now - 30_000, now - 30_000); // bucket 970
    w.incrementAt('a:1', 6, now, now); // bucket 1000
    // Full: 10 used. The 4 leave when the period's start passes bucket 970's end (971 s): 31 s from now.
    expect(throttleDecide(w, 10, 60_000, 4, now)).toEqual({ allowed: false, limit: 10, remaining: 0, retryAfterS: 31, resetAfterS: 61 });
    expect(throttleDecide(w, 10, 60_000, 5, now)).toEqual({ allowed: false, limit: 10, remaining: 0, retryAfterS: 61, resetAfterS: 61 });
    expect(throttleDecide(w, 10, 60_000, 11, now)).toEqual({ allowed: false, limit: 10, remaining: 0, retryAfterS: -1, resetAfterS: 61 });
    expect(throttleDecide(w, 12, 60_000, 2, now)).toEqual({ allowed: true, limit: 12, remaining: 0, retryAfterS: -1, resetAfterS: 61 });
    // Half a second into bucket 1000 the reset is half a second less, rounded up.
    expect(throttleDecide(w, 12, 60_000, 1, now + 500).resetAfterS).toBe(61);
    expect(throttleDecide(w, 12, 60_000, 1, now + 1000).resetAfterS).toBe(61);
    expect(throttleDecide(w, 12, 60_000, 0, now + 1000).resetAfterS).toBe(60);
    expect(throttleDecide(w, 12, 60_000, 0, now + 100_000).resetAfterS).toBe(0);
    // A cost of exactly the limit fits once the window is empty: 61 s, when bucket 1000 leaves.
    expect(throttleDecide(w, 10, 60_000, 10, now)).toEqual({ allowed: false, limit: 10, remaining: 0, retryAfterS: 61, resetAfterS: 61 });
  });

  it('near time 0: an empty window resets at once, bucket 0 like any other', () => {
    const w = WindowedCounter.create(1, 60);
    expect(throttleDecide(w, 10, 60_000, 0, 0)).toEqual({ allowed: true, limit: 10, remaining: 10, retryAfterS: -1, resetAfterS: 0 });
    expect(throttleDecide(w, 10, 60_000, 0, 500)).toEqual({ allowed: true, limit: 10, remaining: 10, retryAfterS: -1, resetAfterS: 0 });
    w.incrementAt('a:1', 3, 500, 500); // bucket 0, which ends at 1 s: empty from 61 s, 60.5 s from now
    expect(throttleDecide(w, 10, 60_000, 0, 500)).toEqual({ allowed: true, limit: 10, remaining: 7, retryAfterS: -1, resetAfterS: 61 });
    expect(throttleDecide(w, 10, 60_000, 8, 500)).toEqual({ allowed: false, limit: 10, remaining: 7, retryAfterS: 61, resetAfterS: 61 });
  });
});
