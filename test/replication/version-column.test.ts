// The per-origin column of key versions by key id (src/replication/version-column.ts) against a Map:
// pages turn dense at 256 keys and sparse again below 64, and drop when empty; a dense page's cells
// are 32 bits around a base of its own, and 64 once a version falls outside them; every read, write
// and delete must answer as the Map does across those changes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VersionColumn } from '../../src/replication/version-column.js';

type Op = { op: 'set'; id: number; v: number } | { op: 'delete'; id: number } | { op: 'replace'; id: number; v: number; held: boolean; from: number };

describe('VersionColumn', () => {
  it('answers get, set, replace, delete, has and size as a Map does, across dense and sparse pages', () => {
    // Ids from three pages, most from one, so pages cross both thresholds back and forth.
    // Versions close together (a page of one origin's keys), and in runs with `far` some 2^31 or more
    // apart (a wide page): without, the pages stay narrow.
    const versionArb = fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 2 ** 40, max: 2 ** 40 + 5000 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 53 - 1 }) }, { weight: 1, arbitrary: fc.constantFrom(2 ** 40 - 2 ** 31, 2 ** 40 - 2 ** 31 + 1, 2 ** 40 + 2 ** 31 - 1, 2 ** 40 + 2 ** 31) });
    const near = (v: number): number => 2 ** 40 + (v % 5000);
    const id = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 500 }) }, { weight: 1, arbitrary: fc.integer({ min: 4096, max: 3 * 4096 - 1 }) });
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), id, v: versionArb }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), id }) },
      // From the version held (`held`, 0 for an id not held) or from another (0 among them).
      { weight: 2, arbitrary: fc.record({ op: fc.constant('replace' as const), id, v: versionArb, held: fc.boolean(), from: fc.oneof(fc.constant(0), versionArb) }) },
    );
    let crossed = 0;
    let widened = 0;
    let narrowed = 0;
    fc.assert(
      fc.property(fc.boolean(), fc.array(opArb, { minLength: 200, maxLength: 2000, size: 'max' }), (far, ops) => {
        const col = new VersionColumn();
        const model = new Map<number, number>();
        let dense = false;
        for (const o of ops) {
          if (o.op === 'set') {
            const v = far ? o.v : near(o.v);
            expect(col.set(o.id, v)).toBe(model.get(o.id) ?? 0);
            model.set(o.id, v);
          } else if (o.op === 'replace') {
            const v = far ? o.v : near(o.v);
            const now = model.get(o.id) ?? 0;
            const from = o.held ? now : far ? o.from : near(o.from);
            // Replaced only from the version held, and never from none.
            const ok = from !== 0 && from === now;
            expect(col.replace(o.id, from, v)).toBe(ok);
            if (ok) model.set(o.id, v);
          } else {
            expect(col.delete(o.id)).toBe(model.delete(o.id));
          }
          expect(col.size).toBe(model.size);
          expect(col.get(o.id)).toBe(model.get(o.id) ?? 0);
          const { narrow, wide } = col.pages;
          const isDense = narrow + wide > 0;
          if (isDense !== dense) crossed++;
          dense = isDense;
          if (wide > 0) widened++;
          if (narrow > 0) narrowed++;
        }
        for (let i = 0; i <= 500; i++) {
          expect(col.get(i)).toBe(model.get(i) ?? 0);
          expect(col.has(i)).toBe(model.has(i));
        }
        for (const [i, v] of model) {
          expect(col.get(i)).toBe(v);
          expect(col.has(i)).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
    expect(crossed).toBeGreaterThan(0);
    expect(widened).toBeGreaterThan(0);
    expect(narrowed).toBeGreaterThan(0);
  });

  it('a page turns dense at 256 keys, sparse below 64, and is dropped when empty', () => {
    const col = new VersionColumn();
    const pages = col as unknown as { sparse: (Map<number, number> | undefined)[] };
    for (let i = 0; i < 255; i++) col.set(i, i + 1);
    expect([col.pages, pages.sparse[0]?.size]).toEqual([{ narrow: 0, wide: 0 }, 255]);
    // A new version of a key the page holds adds no key.
    col.set(7, 8);
    expect([col.pages, pages.sparse[0]?.size]).toEqual([{ narrow: 0, wide: 0 }, 255]);
    col.set(255, 256);
    expect([col.pages, pages.sparse[0]]).toEqual([{ narrow: 1, wide: 0 }, undefined]);
    for (let i = 0; i < 256; i++) expect(col.get(i)).toBe(i + 1);
    for (let i = 0; i < 192; i++) col.delete(i);
    expect(col.pages).toEqual({ narrow: 1, wide: 0 }); // 64 left
    col.delete(192);
    expect(col.pages).toEqual({ narrow: 0, wide: 0 });
    expect(pages.sparse[0]?.size).toBe(63);
    for (let i = 193; i < 256; i++) expect(col.get(i)).toBe(i + 1);
    for (let i = 193; i < 256; i++) col.delete(i);
    expect([col.pages, pages.sparse[0], col.size]).toEqual([{ narrow: 0, wide: 0 }, undefined, 0]);
    expect(col.delete(7)).toBe(false);
    expect(col.get(5000)).toBe(0);
  });

  it('replaces a version only from the one held: in a dense page within its cells, widening it for one outside, and in a wide page', () => {
    const base = 2 ** 45;
    const col = new VersionColumn();
    // Every key at the base, so the page is dense around it.
    for (let i = 0; i < 300; i++) col.set(i, base);
    expect(col.pages).toEqual({ narrow: 1, wide: 0 });
    expect(col.replace(1, base + 1, base + 2)).toBe(false); // not the version held
    expect(col.replace(400, 0, 5)).toBe(false); // never from none
    expect([col.get(1), col.get(400), col.size]).toEqual([base, 0, 300]);
    // Both edges of the 32-bit cells stay narrow.
    expect(col.replace(1, base, base + 2 ** 31 - 1)).toBe(true);
    expect(col.replace(2, base, base - 2 ** 31 + 1)).toBe(true);
    expect(col.replace(3, base, base + 7)).toBe(true);
    expect([col.pages, col.get(1), col.get(2), col.get(3), col.get(4), col.size]).toEqual([{ narrow: 1, wide: 0 }, base + 2 ** 31 - 1, base - 2 ** 31 + 1, base + 7, base, 300]);
    // One past an edge: the page turns 64 bits, every version kept.
    expect(col.replace(4, base, base + 2 ** 31)).toBe(true);
    expect([col.pages, col.get(1), col.get(2), col.get(3), col.get(4), col.get(5), col.size]).toEqual([{ narrow: 0, wide: 1 }, base + 2 ** 31 - 1, base - 2 ** 31 + 1, base + 7, base + 2 ** 31, base, 300]);
    expect(col.replace(5, base + 1, 9)).toBe(false);
    expect(col.replace(5, base, 9)).toBe(true);
    expect([col.get(5), col.size]).toEqual([9, 300]);
    const low = new VersionColumn();
    for (let i = 0; i < 300; i++) low.set(i, base);
    expect(low.replace(0, base, base - 2 ** 31)).toBe(true);
    expect([low.pages, low.get(0), low.get(1)]).toEqual([{ narrow: 0, wide: 1 }, base - 2 ** 31, base]);
  });

  it('a dense page holds versions within 2^31 of its base (the version that made it dense) in 32 bits, and turns 64 bits for one outside', () => {
    const base = 2 ** 45;
    const col = new VersionColumn();
    for (let i = 0; i < 255; i++) col.set(i, base - 2 ** 31 + 1 + i);
    col.set(255, base);
    expect(col.pages).toEqual({ narrow: 1, wide: 0 });
    // Both edges fit.
    col.set(300, base + 2 ** 31 - 1);
    col.set(0, base - 2 ** 31 + 1);
    expect([col.pages, col.get(300), col.get(0), col.get(254)]).toEqual([{ narrow: 1, wide: 0 }, base + 2 ** 31 - 1, base - 2 ** 31 + 1, base - 2 ** 31 + 255]);
    expect(col.set(301, base + 2 ** 31)).toBe(0);
    expect(col.pages).toEqual({ narrow: 0, wide: 1 });
    expect([col.get(301), col.get(300), col.get(255), col.get(0), col.get(302), col.size]).toEqual([base + 2 ** 31, base + 2 ** 31 - 1, base, base - 2 ** 31 + 1, 0, 258]);
    // The other edge, on another page; and a version at 2^53-1.
    const other = new VersionColumn();
    for (let i = 0; i < 256; i++) other.set(4096 + i, 1000 + i);
    expect(other.set(4096 + 300, 1255 - 2 ** 31)).toBe(0);
    expect([other.pages, other.get(4096 + 300), other.get(4096)]).toEqual([{ narrow: 0, wide: 1 }, 1255 - 2 ** 31, 1000]);
    // Sparse versions at the edges of the base that makes a page dense fit; one past them does not.
    const edges = new VersionColumn();
    edges.set(0, base + 2 ** 31 - 1);
    edges.set(1, base - 2 ** 31 + 1);
    for (let i = 2; i < 255; i++) edges.set(i, base + i);
    edges.set(255, base);
    expect([edges.pages, edges.get(0), edges.get(1), edges.get(2), edges.get(255), edges.get(256)]).toEqual([{ narrow: 1, wide: 0 }, base + 2 ** 31 - 1, base - 2 ** 31 + 1, base + 2, base, 0]);
    const past = new VersionColumn();
    past.set(0, base + 2 ** 31);
    for (let i = 1; i < 255; i++) past.set(i, base + i);
    past.set(255, base);
    expect([past.pages, past.get(0), past.get(1), past.get(255), past.get(256)]).toEqual([{ narrow: 0, wide: 1 }, base + 2 ** 31, base + 1, base, 0]);
    const far = new VersionColumn();
    for (let i = 0; i < 255; i++) far.set(i, 1 + i);
    far.set(255, 2 ** 53 - 1);
    expect([far.pages, far.get(255), far.get(0)]).toEqual([{ narrow: 0, wide: 1 }, 2 ** 53 - 1, 1]);
    expect(far.set(255, 7)).toBe(2 ** 53 - 1);
  });
});
