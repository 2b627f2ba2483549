// The per-origin column of key versions by key id (src/replication/version-column.ts) against a Map:
// pages turn dense at 256 keys and sparse again below 64, and drop when empty; every read, write and
// delete must answer as the Map does across those changes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VersionColumn } from '../../src/replication/version-column.js';

type Op = { op: 'set'; id: number; v: number } | { op: 'delete'; id: number };

describe('VersionColumn', () => {
  it('answers get, set, delete, has and size as a Map does, across dense and sparse pages', () => {
    // Ids from three pages, most from one, so pages cross both thresholds back and forth.
    const id = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 500 }) }, { weight: 1, arbitrary: fc.integer({ min: 4096, max: 3 * 4096 - 1 }) });
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), id, v: fc.integer({ min: 1, max: 2 ** 40 }) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), id }) },
    );
    let crossed = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 200, maxLength: 2000, size: 'max' }), (ops) => {
        const col = new VersionColumn();
        const model = new Map<number, number>();
        let dense = false;
        for (const o of ops) {
          if (o.op === 'set') {
            expect(col.set(o.id, o.v)).toBe(model.get(o.id) ?? 0);
            model.set(o.id, o.v);
          } else {
            expect(col.delete(o.id)).toBe(model.delete(o.id));
          }
          expect(col.size).toBe(model.size);
          expect(col.get(o.id)).toBe(model.get(o.id) ?? 0);
          const isDense = (col as unknown as { dense: unknown[] }).dense[0] !== undefined;
          if (isDense !== dense) crossed++;
          dense = isDense;
        }
        for (let i = 0; i <= 500; i++) expect(col.get(i)).toBe(model.get(i) ?? 0);
        for (const [i, v] of model) {
          expect(col.get(i)).toBe(v);
          expect(col.has(i)).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
    expect(crossed).toBeGreaterThan(0);
  });

  it('a page turns dense at 256 keys, sparse below 64, and is dropped when empty', () => {
    const col = new VersionColumn();
    const pages = col as unknown as { dense: (Float64Array | undefined)[]; sparse: (Map<number, number> | undefined)[] };
    for (let i = 0; i < 255; i++) col.set(i, i + 1);
    expect([pages.dense[0], pages.sparse[0]?.size]).toEqual([undefined, 255]);
    // A new version of a key the page holds adds no key.
    col.set(7, 8);
    expect([pages.dense[0], pages.sparse[0]?.size]).toEqual([undefined, 255]);
    col.set(255, 256);
    expect(pages.dense[0]).toBeInstanceOf(Float64Array);
    expect(pages.sparse[0]).toBeUndefined();
    for (let i = 0; i < 256; i++) expect(col.get(i)).toBe(i + 1);
    for (let i = 0; i < 192; i++) col.delete(i);
    expect(pages.dense[0]).toBeInstanceOf(Float64Array); // 64 left
    col.delete(192);
    expect(pages.dense[0]).toBeUndefined();
    expect(pages.sparse[0]?.size).toBe(63);
    for (let i = 193; i < 256; i++) expect(col.get(i)).toBe(i + 1);
    for (let i = 193; i < 256; i++) col.delete(i);
    expect([pages.dense[0], pages.sparse[0], col.size]).toEqual([undefined, undefined, 0]);
    expect(col.delete(7)).toBe(false);
    expect(col.get(5000)).toBe(0);
  });
});
