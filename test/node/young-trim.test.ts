// The young-generation trim (src/node/young-trim.ts): a young-generation collection every TRIM_MS
// while V8's young generation is over TRIM_ABOVE_BYTES, so that V8 shrinks it once the node is quiet.
// The size reader and the collection are injected for the policy; the last test runs V8's own, in
// this process; test/integration/young-trim.test.ts runs it in a real node after a burst of writes.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { TRIM_ABOVE_BYTES, TRIM_MS, YoungTrim } from '../../src/node/young-trim.js';
import { minorGc, youngGenerationBytes } from '../../src/util/system.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('YoungTrim', () => {
  it('collects only while the young generation is over the threshold, and counts what it asked for', () => {
    let size = TRIM_ABOVE_BYTES;
    let asked = 0;
    const t = new YoungTrim(
      () => size,
      () => {
        asked++;
        return true;
      },
    );
    expect(t.tick()).toBe(false);
    size = TRIM_ABOVE_BYTES + 1;
    expect(t.tick()).toBe(true);
    expect(t.tick()).toBe(true);
    size = 1024 * 1024;
    expect(t.tick()).toBe(false);
    expect([asked, t.collections]).toEqual([2, 2]);
  });

  it('counts nothing when the runtime refuses a collection', () => {
    const t = new YoungTrim(
      () => 64 * 1024 * 1024,
      () => false,
    );
    expect(t.tick()).toBe(false);
    expect(t.collections).toBe(0);
  });

  it('looks every TRIM_MS once started, and not after stop', () => {
    vi.useFakeTimers();
    let looks = 0;
    const t = new YoungTrim(
      () => {
        looks++;
        return 0;
      },
      () => true,
    );
    t.start();
    t.start();
    vi.advanceTimersByTime(TRIM_MS - 1);
    expect(looks).toBe(0);
    vi.advanceTimersByTime(1);
    expect(looks).toBe(1);
    vi.advanceTimersByTime(3 * TRIM_MS);
    expect(looks).toBe(4);
    t.stop();
    vi.advanceTimersByTime(10 * TRIM_MS);
    expect(looks).toBe(4);
  });

  it("reads V8's young generation and runs its collection", () => {
    const before = youngGenerationBytes();
    expect(before).toBeGreaterThan(0);
    expect(minorGc()).toBe(true);
    expect(youngGenerationBytes()).toBeGreaterThan(0);
  });
});
