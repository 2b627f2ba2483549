// The node's memory guard: what a maxmemory setting means in bytes, and the sampled over/under flag
// with a report of each crossing (the node logs them). The used-memory reader is injected here; the
// node reads V8's used heap and the memory outside it that V8 counts (`usedMemory`;
// test/integration/maxmemory.test.ts runs it for real).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { getHeapStatistics } from 'node:v8';
import { AUTO_HEADROOM_BYTES, AUTO_SHARE, CHECK_EVERY, humanBytes, MemoryGuard, resolveMaxmemory, SAMPLE_MS, usedMemory } from '../../src/node/memory-guard.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('resolveMaxmemory', () => {
  it('"auto" is a share of the heap limit, and at least the headroom below it; a number is bytes, 0 none', () => {
    expect(resolveMaxmemory('auto', 4_000_000_000)).toBe(Math.floor(4_000_000_000 * AUTO_SHARE));
    // A 256 MB heap (304 MB with the young generation): the headroom decides.
    expect(resolveMaxmemory('auto', 304 * 1024 ** 2)).toBe(304 * 1024 ** 2 - AUTO_HEADROOM_BYTES);
    expect(resolveMaxmemory('auto', 100 * 1024 ** 2)).toBe(1);
    expect(resolveMaxmemory('auto')).toBeGreaterThan(0);
    expect(resolveMaxmemory(0, 4_000_000_000)).toBe(0);
    expect(resolveMaxmemory(1234, 4_000_000_000)).toBe(1234);
  });
});

describe('usedMemory', () => {
  it('counts what typed arrays hold outside the heap, as well as the heap', () => {
    const before = usedMemory();
    const heapBefore = getHeapStatistics().used_heap_size;
    const held = new Float64Array(4 * 1024 * 1024); // 32 MiB outside the heap
    const grew = usedMemory() - before;
    expect(grew).toBeGreaterThanOrEqual(32 * 1024 ** 2);
    expect(getHeapStatistics().used_heap_size - heapBefore).toBeLessThan(8 * 1024 ** 2);
    expect(held.length).toBe(4 * 1024 * 1024);
  });
});

describe('humanBytes', () => {
  it('writes sizes as INFO maxmemory_human does', () => {
    expect([0, 1, 1023, 1024, 1536, 1048576, 3 * 1024 ** 3, 2 * 1024 ** 4, 1024 ** 5, 2048 * 1024 ** 5].map(humanBytes)).toEqual([
      '0B', '1B', '1023B', '1.00K', '1.50K', '1.00M', '3.00G', '2.00T', '1.00P', '2048.00P',
    ]);
  });
});

describe('MemoryGuard', () => {
  it('is over only while the last sample was above the limit, and reports each crossing once', () => {
    let used = 50;
    const seen: [boolean, number][] = [];
    const g = new MemoryGuard(100, () => used, (over, u) => seen.push([over, u]));
    g.sample();
    expect(g.over).toBe(false);
    used = 100;
    g.sample();
    expect(g.over).toBe(false); // at the limit is not over it
    used = 150;
    g.sample();
    g.sample();
    expect(g.over).toBe(true);
    used = 90;
    g.sample();
    expect(g.over).toBe(false);
    expect(seen).toEqual([
      [true, 150],
      [false, 90],
    ]);
  });

  it('check() reads memory again every CHECK_EVERY calls, between timer samples', () => {
    let used = 10;
    const read = vi.fn(() => used);
    const g = new MemoryGuard(100, read);
    used = 500;
    for (let i = 1; i < CHECK_EVERY; i++) expect(g.check()).toBe(false);
    expect(read).not.toHaveBeenCalled();
    expect(g.check()).toBe(true);
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('with no limit never reads memory and is never over', () => {
    const read = vi.fn(() => 1e12);
    const g = new MemoryGuard(0, read);
    vi.useFakeTimers();
    g.start();
    expect(vi.getTimerCount()).toBe(0);
    g.sample();
    for (let i = 0; i < 2 * CHECK_EVERY; i++) g.check();
    expect(g.over).toBe(false);
    expect(read).not.toHaveBeenCalled();
    g.stop();
  });

  it('samples at start and every SAMPLE_MS until stopped', () => {
    vi.useFakeTimers();
    let used = 500;
    const g = new MemoryGuard(100, () => used);
    g.start();
    g.start(); // a second start keeps the one timer
    expect(vi.getTimerCount()).toBe(1);
    expect(g.over).toBe(true);
    used = 10;
    vi.advanceTimersByTime(SAMPLE_MS - 1);
    expect(g.over).toBe(true);
    vi.advanceTimersByTime(1);
    expect(g.over).toBe(false);
    g.stop();
    used = 500;
    vi.advanceTimersByTime(10 * SAMPLE_MS);
    expect(g.over).toBe(false);
  });
});
