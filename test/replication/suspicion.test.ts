// Suspicion timeouts (src/replication/suspicion.ts), against the formulas they implement: the
// minimum is mult x max(1, log10 N) x probe interval, one accuser gets the maximum (minimum x
// max mult), and each independent confirmation shrinks it on a log scale to the minimum at
// `indirectChecks` confirmations, never below.
import { describe, expect, it } from 'vitest';
import { maxSuspicionTimeout, suspicionTimeout } from '../../src/replication/suspicion.js';

const cfg = { suspicionMult: 4, suspicionMaxTimeoutMult: 6, probeIntervalMs: 1000, indirectChecks: 3 };

describe('suspicion timeouts', () => {
  it('scale with log10 of the cluster size, never below one for small clusters', () => {
    for (const n of [0, 1, 5, 10]) expect(maxSuspicionTimeout(cfg, n)).toBe(4 * 1000 * 6);
    expect(maxSuspicionTimeout(cfg, 100)).toBe(4 * 2 * 1000 * 6);
    expect(maxSuspicionTimeout(cfg, 1000)).toBeCloseTo(4 * 3 * 1000 * 6, 6);
  });

  it('one accuser (or none) gets the maximum; indirectChecks confirmations the minimum', () => {
    const min = 4 * 2 * 1000;
    const max = min * 6;
    expect(suspicionTimeout(cfg, 100, 0)).toBe(max);
    expect(suspicionTimeout(cfg, 100, 1)).toBe(max);
    expect(suspicionTimeout(cfg, 100, 4)).toBeCloseTo(min, 6);
    expect(suspicionTimeout(cfg, 100, 40)).toBeCloseTo(min, 6);
  });

  it('shrinks on a log scale between them: max - (max - min) x log(c + 1) / log(k + 1)', () => {
    const min = 4 * 1000;
    const max = min * 6;
    for (const c of [1, 2]) {
      const want = max - ((max - min) * Math.log(c + 1)) / Math.log(4);
      expect(suspicionTimeout(cfg, 3, c + 1)).toBeCloseTo(want, 6);
    }
    const t = [1, 2, 3, 4, 5].map((a) => suspicionTimeout(cfg, 3, a));
    for (let i = 1; i < t.length; i++) expect(t[i]).toBeLessThanOrEqual(t[i - 1] as number);
    expect(t[1]).toBeLessThan(t[0] as number);
    expect(t[2]).toBeLessThan(t[1] as number);
  });

  it('without indirect checks, one confirmation already gives the minimum', () => {
    const c0 = { ...cfg, indirectChecks: 0 };
    expect(suspicionTimeout(c0, 3, 1)).toBe(24_000);
    expect(suspicionTimeout(c0, 3, 2)).toBeCloseTo(4000, 6);
  });
});
