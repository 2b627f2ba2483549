// What the key table keeps of each key beside its entry, by the key's id (key-index.ts): its share
// of the state digest (two 30-bit halves) with the digest's pending mark, and its two shares of the
// table's counts (key-counts.ts). Three 32-bit cells per id in pages of typed arrays, where they
// were three fields of every entry: 8 heap bytes each, 24 per key, against 12 here (`npm run bench
// -- layout`). A key keeps its id while the table holds it, so a replacement entry takes these over
// with nothing to copy; an id given to another key starts from cleared cells (`clear`).
// Pure: no I/O, no clock.

/** Ids per page (as key-index.ts pages its entries). */
const PAGE = 4096;
/** Cells per id: the digest's high half and the marks, its low half, the counts shares. */
const CELLS = 3;
/** The bit of an id's first cell that marks its key changed since its digest share was folded in. */
const PENDING = 0x40000000;
/** The rest of the first cell: the digest's high half (30 bits, state-digest.ts). */
const HI = PENDING - 1;
/**
 * Shares packed in the third cell, plus one (0: none): the counts share in the low 13 bits, the
 * bytes share above them while under 2^17, so that the whole stays below 2^30. A pair that does not
 * fit (a big sketch, a counter of hundreds of slots) is kept in a side Map and the cell holds -1.
 */
const COUNTS_BITS = 13;
// Literals and int32 operations: what V8 computes as a double once would be boxed.
const COUNTS_MASK = 0x1fff;
const BYTES_PACKED = 0x20000;
const UNPACKED = -1;

export class KeyColumns {
  private readonly pages: Int32Array[] = [];
  /** The shares of ids whose pair does not pack (their third cell is UNPACKED). */
  private readonly unpacked = new Map<number, { counts: number; bytes: number }>();

  /** The page holding `id`'s cells, made on first use; ids below 0 (an entry no table holds) have none. */
  private page(id: number): Int32Array {
    if (id < 0) throw new RangeError(`key-columns: id ${id} is not a held key's`);
    const p = this.pages[id >>> 12];
    // Stryker disable next-line ConditionalExpression: equivalent but for memory, a page made again would hold zeros the same
    if (p !== undefined) return p;
    // Stryker disable next-line ArithmeticOperator: equivalent but for memory, a larger page holds the same cells
    return (this.pages[id >>> 12] = new Int32Array(CELLS * PAGE));
  }

  /** `id`'s share of the digest, high half (0 while it has none). */
  digestHi(id: number): number {
    return (this.page(id)[CELLS * (id & (PAGE - 1))] as number) & HI;
  }

  /** `id`'s share of the digest, low half. */
  digestLo(id: number): number {
    return this.page(id)[CELLS * (id & (PAGE - 1)) + 1] as number;
  }

  /** Sets `id`'s share of the digest (30-bit halves), keeping its pending mark. */
  setDigest(id: number, hi: number, lo: number): void {
    const p = this.page(id);
    const at = CELLS * (id & (PAGE - 1));
    p[at] = ((p[at] as number) & PENDING) | (hi & HI);
    p[at + 1] = lo;
  }

  /** Whether `id`'s key changed since its share was folded into the digest. */
  pending(id: number): boolean {
    return ((this.page(id)[CELLS * (id & (PAGE - 1))] as number) & PENDING) !== 0;
  }

  setPending(id: number, v: boolean): void {
    const p = this.page(id);
    const at = CELLS * (id & (PAGE - 1));
    p[at] = v ? (p[at] as number) | PENDING : (p[at] as number) & ~PENDING;
  }

  /** `id`'s share of the counts (-1: none yet). */
  countsShare(id: number): number {
    const c = this.page(id)[CELLS * (id & (PAGE - 1)) + 2] as number;
    if (c === UNPACKED) return (this.unpacked.get(id) as { counts: number }).counts;
    return c === 0 ? -1 : (c - 1) & COUNTS_MASK;
  }

  /** `id`'s share of the counted bytes (0 with none). */
  bytesShare(id: number): number {
    const c = this.page(id)[CELLS * (id & (PAGE - 1)) + 2] as number;
    if (c === UNPACKED) return (this.unpacked.get(id) as { bytes: number }).bytes;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, no share (0) shifts to 0 bytes as well
    return c === 0 ? 0 : (c - 1) >> COUNTS_BITS;
  }

  /** Sets both shares of `id` (-1 and 0: none). */
  setShares(id: number, counts: number, bytes: number): void {
    const p = this.page(id);
    const at = CELLS * (id & (PAGE - 1)) + 2;
    if (p[at] === UNPACKED) this.unpacked.delete(id);
    if (counts < 0) p[at] = 0;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for memory, a pair at either bound packs below 2^30 as well, and the side Map holds any pair
    else if (counts <= COUNTS_MASK && bytes < BYTES_PACKED) p[at] = (counts | (bytes << COUNTS_BITS)) + 1;
    else {
      p[at] = UNPACKED;
      this.unpacked.set(id, { counts, bytes });
    }
  }

  /** Clears `id`'s cells: its key left the table, and the id may go to another key. */
  clear(id: number): void {
    const p = this.page(id);
    const at = CELLS * (id & (PAGE - 1));
    if (p[at + 2] === UNPACKED) this.unpacked.delete(id);
    p[at] = 0;
    p[at + 1] = 0;
    p[at + 2] = 0;
  }
}
