import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IdSet } from '../../src/keyspace/id-set.js';

describe('IdSet', () => {
  it('holds ids like a Set, across the growth of its bitmap and on both sides of every 32-bit word', () => {
    const s = new IdSet();
    const model = new Set<number>();
    // 2048 is the first bit of the word just past a doubled bitmap (64 words of 32): it grows twice.
    const ids = [0, 1, 31, 32, 33, 63, 64, 1023, 1024, 1025, 2048, 70_000, 31 + 32 * 5000];
    for (const id of ids) {
      s.add(id);
      s.add(id); // twice: counted once
      model.add(id);
      expect(s.size).toBe(model.size);
    }
    for (const id of ids) expect(s.has(id)).toBe(true);
    for (const id of [2, 30, 34, 1022, 2047, 2049, 69_999, 10_000_000]) expect(s.has(id)).toBe(false);
    const lone = new IdSet();
    lone.add(2048);
    expect(lone.has(2048)).toBe(true);
    expect(lone.next()).toBe(2048);
    s.delete(31);
    s.delete(31);
    s.delete(10_000_000); // past the bitmap: nothing
    s.delete(2); // never added: nothing
    model.delete(31);
    expect(s.size).toBe(model.size);
    expect(s.has(31)).toBe(false);
    expect(s.has(32)).toBe(true);
  });

  it('next gives every id once per round, from where it stopped, in id order, and -1 when empty', () => {
    const s = new IdSet();
    expect(s.next()).toBe(-1);
    for (const id of [5, 40, 31, 2000]) s.add(id);
    expect([s.next(), s.next()]).toEqual([5, 31]);
    s.add(6); // behind the cursor: reached after the wrap
    expect([s.next(), s.next(), s.next(), s.next(), s.next()]).toEqual([40, 2000, 5, 6, 31]);
    s.delete(40);
    expect([s.next(), s.next(), s.next()]).toEqual([2000, 5, 6]);
    for (const id of [5, 6, 31, 2000]) s.delete(id);
    expect(s.size).toBe(0);
    expect(s.next()).toBe(-1);
    // A lone id below the cursor, in the cursor's own word, is found by going round to it.
    s.add(33);
    s.add(60);
    expect(s.next()).toBe(33);
    expect(s.next()).toBe(60);
    s.delete(33);
    s.add(34);
    s.delete(60);
    expect(s.next()).toBe(34);
    s.add(31 + 32 * 40); // bit 31 of a word: the sign bit of the word
    expect(s.next()).toBe(31 + 32 * 40);
  });

  it('behaves as a sorted Set with a round-robin cursor under random adds, deletes and nexts', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(2), fc.nat(3000)), { maxLength: 300 }), (ops) => {
        const s = new IdSet();
        const model = new Set<number>();
        let cursor = 0;
        for (const [op, id] of ops) {
          if (op === 0) {
            s.add(id);
            model.add(id);
          } else if (op === 1) {
            s.delete(id);
            model.delete(id);
          } else {
            const sorted = [...model].sort((a, b) => a - b);
            const want = sorted.find((x) => x >= cursor) ?? sorted[0] ?? -1;
            expect(s.next()).toBe(want);
            if (want >= 0) cursor = want + 1;
          }
          expect(s.size).toBe(model.size);
          expect(s.has(id)).toBe(model.has(id));
        }
      }),
    );
  });
});
