// The key table's columns (src/keyspace/key-columns.ts): a key's shares of the digest and counts,
// kept by its id. Each id's cells are its own, every value reads back exactly, and a cleared id
// starts as a new one.
import { describe, expect, it } from 'vitest';
import { KeyColumns } from '../../src/keyspace/key-columns.js';

describe('KeyColumns', () => {
  it("an id's digest halves and pending mark are set and read independently", () => {
    const c = new KeyColumns();
    for (const id of [0, 1, 4095, 4096, 100_000]) {
      expect([c.digestHi(id), c.digestLo(id), c.pending(id), c.countsShare(id), c.bytesShare(id)]).toEqual([0, 0, false, -1, 0]);
      c.setPending(id, true);
      expect([c.digestHi(id), c.pending(id)]).toEqual([0, true]);
      c.setDigest(id, 0x3fffffff, -5); // the largest high half (30 bits); the low half is a whole int32
      expect([c.digestHi(id), c.digestLo(id), c.pending(id)]).toEqual([0x3fffffff, -5, true]);
      c.setPending(id, false);
      expect([c.digestHi(id), c.digestLo(id), c.pending(id)]).toEqual([0x3fffffff, -5, false]);
      c.setDigest(id, 5, 7);
      c.setPending(id, true);
      c.setPending(id, true);
      expect([c.digestHi(id), c.digestLo(id), c.pending(id)]).toEqual([5, 7, true]);
      // A high half wider than 30 bits keeps its low 30 and leaves the mark alone.
      c.setDigest(id, 0x7fffffff, 0);
      expect([c.digestHi(id), c.pending(id)]).toEqual([0x3fffffff, true]);
    }
  });

  it("an id's two shares of the counts are set together and read back exactly, small or large", () => {
    const c = new KeyColumns();
    // Packed in one cell while counts < 2^13 and bytes < 2^17; past either, in a side Map.
    const cases: [number, number][] = [[0, 0], [1, 150], [8191, 131_071], [8192, 10], [5, 131_072], [3, 2 ** 20], [16 * 100_000 + 7, 2 ** 40], [3, 96], [-1, 0], [0, 0]];
    for (const [counts, bytes] of cases) {
      c.setShares(7, counts, bytes);
      expect([c.countsShare(7), c.bytesShare(7)]).toEqual([counts, bytes]);
    }
    // Another id given the same large shares keeps its own: setting one leaves the other alone.
    c.setShares(7, 9000, 200_000);
    c.setShares(8, c.countsShare(7), c.bytesShare(7));
    c.setShares(7, 9001, 200_001);
    expect([c.countsShare(8), c.bytesShare(8), c.countsShare(7), c.bytesShare(7)]).toEqual([9000, 200_000, 9001, 200_001]);
    c.setShares(7, -1, 0);
    expect([c.countsShare(7), c.bytesShare(7)]).toEqual([-1, 0]);
    expect([c.countsShare(8), c.bytesShare(8)]).toEqual([9000, 200_000]);
  });

  it("ids' cells are their own, and a cleared id reads as a new one (large shares included)", () => {
    const c = new KeyColumns();
    c.setDigest(4095, 11, 12);
    c.setPending(4095, true);
    c.setShares(4095, 20, 300);
    c.setDigest(4096, 21, 22);
    c.setShares(4096, 9000, 2 ** 20);
    expect([c.digestHi(4094), c.digestLo(4094), c.pending(4094), c.countsShare(4094)]).toEqual([0, 0, false, -1]);
    expect([c.digestHi(4095), c.digestLo(4095), c.pending(4095), c.countsShare(4095), c.bytesShare(4095)]).toEqual([11, 12, true, 20, 300]);
    c.clear(4096);
    expect([c.digestHi(4096), c.digestLo(4096), c.pending(4096), c.countsShare(4096), c.bytesShare(4096)]).toEqual([0, 0, false, -1, 0]);
    // The cleared id's large pair is gone, not only hidden: packing a small one reads back small.
    c.setShares(4096, 1, 2);
    expect([c.countsShare(4096), c.bytesShare(4096)]).toEqual([1, 2]);
    c.clear(4095);
    expect([c.digestHi(4095), c.pending(4095), c.countsShare(4095)]).toEqual([0, false, -1]);
  });

  it('refuses an id no table gave (an entry not held)', () => {
    const c = new KeyColumns();
    expect(() => c.pending(-1)).toThrow(/id -1 is not a held key's/);
    expect(() => c.setShares(-1, 0, 0)).toThrow(RangeError);
  });
});
