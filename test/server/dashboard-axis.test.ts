// The dashboard's value-axis ticks (src/server/dashboard/static/axis.ts): labels never repeat, the
// top is above the data, and steps are 1-2-5 multiples. An idle chart read "1 ms, 1 ms, 0 ms, 0 ms".

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { axisTicks, fmtBytes, fmtMs, niceStep } from '../../src/server/dashboard/static/axis.js';

const labels = (max: number, fmt: (v: number) => string): string[] => axisTicks(max, fmt).ticks.map(fmt);

describe('dashboard axis ticks', () => {
  it('an idle chart (no data, or all zero) has four distinct labels', () => {
    expect(labels(0, fmtMs)).toEqual(['0 ms', '1 ms', '2 ms', '3 ms']);
    expect(labels(0, fmtBytes)).toEqual(['0 B', '1 B', '2 B', '3 B']);
    expect(labels(Number.NaN, fmtMs)).toEqual(['0 ms', '1 ms', '2 ms', '3 ms']);
  });

  it('small values that used to round to repeats get distinct labels', () => {
    // The old axis: max 1 ms × 1.15 in thirds read 0, 0, 1, 1 ms.
    expect(labels(1, fmtMs)).toEqual(['0 ms', '1 ms', '2 ms', '3 ms']);
    expect(labels(0.4, fmtMs)).toEqual(['0 ms', '1 ms', '2 ms', '3 ms']);
    expect(labels(250, fmtMs)).toEqual(['0 ms', '100 ms', '200 ms', '300 ms']);
    expect(labels(2400, fmtMs)).toEqual(['0 ms', '1.0 s', '2.0 s', '3.0 s']);
  });

  it('1-2-5 steps', () => {
    expect([0.07, 1, 1.2, 3, 7, 11, 450].map(niceStep)).toEqual([0.1, 1, 2, 5, 10, 20, 500]);
  });

  it('for any data: labels distinct, ticks from 0 in equal 1-2-5 steps, top above the data', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ min: 0, max: 1e12, noNaN: true }), fc.integer({ min: 0, max: 5000 })), fc.constantFrom(fmtMs, fmtBytes), (max, fmt) => {
        const a = axisTicks(max, fmt);
        expect(a.ticks).toHaveLength(4);
        expect(a.ticks[0]).toBe(0);
        expect(new Set(a.ticks.map(fmt)).size).toBe(4);
        expect(a.top).toBeGreaterThanOrEqual(max);
        const mantissa = a.step / Math.pow(10, Math.floor(Math.log10(a.step)));
        expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9)).toBe(true);
        a.ticks.forEach((t, i) => expect(t).toBeCloseTo(i * a.step, 6));
      }),
    );
  });
});
