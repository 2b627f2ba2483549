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
/**
 * The largest count a compact key holds: a 32-bit cell. A counter past it (a byte counter, a running
 * total) is an entry, whose count is exact to 2^53-1: 4 bytes a key less for every other key, where
 * a 64-bit cell would serve the few that pass 4 billion.
 */
export const COMPACT_MAX = 0xffffffff;
/**
 * The most slots a compact key holds: a key written on three nodes (every key of a counter behind a
 * load balancer that spreads writes over a three-node cluster). Its slots past the first are in two
 * more cells of each of two arrays, made for a page only once such a key takes an id in it.
 */
export const COMPACT_SLOTS = 3;
/** Cells per id of the arrays of compact keys' other slots. */
const EXTRA = COMPACT_SLOTS - 1;

export class KeyColumns {
  private readonly pages: Int32Array[] = [];
  /**
   * Compact keys' counts (key-table.ts, "compact keys"; at most COMPACT_MAX), and their slots (the
   * replica id's index in the table's list, times two, plus one for a G-Counter): pages made only
   * once a compact key takes an id in them. Read only while the id's key is compact.
   */
  private readonly counts: (Uint32Array | undefined)[] = [];
  private readonly slots: (Uint16Array | undefined)[] = [];
  /**
   * The other slots of compact keys of several writers, EXTRA cells per id: their counts, and their
   * slot cells plus one (0: none; a key's are filled from the first). Pages made only once such a key
   * takes an id in them; read only while the id's key is compact.
   */
  private readonly extraCounts: (Uint32Array | undefined)[] = [];
  private readonly extraSlots: (Uint16Array | undefined)[] = [];
  /** Compact keys per page: a page left with none gives its two arrays back (`releaseCompactPages`). */
  private readonly compactIn: number[] = [];
  /** Whether some page may have been left with no compact key since the last release. */
  // Stryker disable next-line BooleanLiteral: equivalent but for work, a release with nothing to give back walks the pages and gives nothing
  private emptied = false;
  /** Compact keys in all. */
  compactKeys = 0;
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
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for memory, a pair left in the side Map is never read once the cell is written over
    if (p[at] === UNPACKED) this.unpacked.delete(id);
    // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent, none (-1, 0) packs to 0 as well
    if (counts < 0) {
      p[at] = 0;
      return;
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent but for memory, a pair at either bound packs below 2^30 as well, and the side Map holds any pair
    if (counts <= COUNTS_MASK && bytes < BYTES_PACKED) {
      p[at] = (counts | (bytes << COUNTS_BITS)) + 1;
      return;
    }
    p[at] = UNPACKED;
    this.unpacked.set(id, { counts, bytes });
  }

  /** A compact key's count. */
  compactCount(id: number): number {
    return (this.counts[id >>> 12] as Uint32Array)[id & (PAGE - 1)] as number;
  }

  /** A compact key's slot cell. */
  compactSlot(id: number): number {
    return (this.slots[id >>> 12] as Uint16Array)[id & (PAGE - 1)] as number;
  }

  setCompactCount(id: number, count: number): void {
    (this.counts[id >>> 12] as Uint32Array)[id & (PAGE - 1)] = count;
  }

  /** Makes `id` (not compact) a compact key's: its count and slot cell, its only slot. */
  setCompact(id: number, count: number, slot: number): void {
    this.page(id);
    const pi = id >>> 12;
    this.compactIn[pi] = (this.compactIn[pi] ?? 0) + 1;
    this.compactKeys++;
    // Stryker disable next-line ArithmeticOperator: equivalent but for memory, a larger page holds the same cells
    (this.counts[pi] ??= new Uint32Array(PAGE))[id & (PAGE - 1)] = count;
    (this.slots[pi] ??= new Uint16Array(PAGE))[id & (PAGE - 1)] = slot;
    // A key that held this id before may have left other slots in its cells.
    const xs = this.extraSlots[pi];
    if (xs !== undefined) xs.fill(0, EXTRA * (id & (PAGE - 1)), EXTRA * (id & (PAGE - 1)) + EXTRA);
  }

  /** How many slots the compact key holding `id` has (1 to COMPACT_SLOTS). */
  compactWidth(id: number): number {
    const xs = this.extraSlots[id >>> 12];
    if (xs === undefined) return 1;
    const at = EXTRA * (id & (PAGE - 1));
    let k = 1;
    while (k <= EXTRA && xs[at + k - 1] !== 0) k++;
    return k;
  }

  /** The slot cell of the compact key holding `id`'s slot `j` (0: its first, `compactSlot`; below `compactWidth`). */
  compactSlotAt(id: number, j: number): number {
    if (j === 0) return this.compactSlot(id);
    return ((this.extraSlots[id >>> 12] as Uint16Array)[EXTRA * (id & (PAGE - 1)) + j - 1] as number) - 1;
  }

  /** The count of the compact key holding `id`'s slot `j` (below `compactWidth`). */
  compactCountAt(id: number, j: number): number {
    if (j === 0) return this.compactCount(id);
    return (this.extraCounts[id >>> 12] as Uint32Array)[EXTRA * (id & (PAGE - 1)) + j - 1] as number;
  }

  /** Sets the count of the compact key holding `id`'s slot `j` (below `compactWidth`). */
  setCompactCountAt(id: number, j: number, count: number): void {
    if (j === 0) this.setCompactCount(id, count);
    else (this.extraCounts[id >>> 12] as Uint32Array)[EXTRA * (id & (PAGE - 1)) + j - 1] = count;
  }

  /** Gives the compact key holding `id` (of fewer than COMPACT_SLOTS slots) one slot more, `slot` holding `count`. */
  addCompactSlot(id: number, slot: number, count: number): void {
    const j = this.compactWidth(id);
    if (j > EXTRA) throw new RangeError(`key-columns: compact key ${id} holds ${j} slots already`);
    const pi = id >>> 12;
    const at = EXTRA * (id & (PAGE - 1)) + j - 1;
    // Stryker disable next-line ArithmeticOperator: equivalent but for memory, a larger page holds the same cells
    (this.extraSlots[pi] ??= new Uint16Array(EXTRA * PAGE))[at] = slot + 1;
    // Stryker disable next-line ArithmeticOperator: equivalent but for memory, a larger page holds the same cells
    (this.extraCounts[pi] ??= new Uint32Array(EXTRA * PAGE))[at] = count;
  }

  /** `id`'s key is no longer compact (it has an entry now). */
  uncompact(id: number): void {
    const pi = id >>> 12;
    const left = (this.compactIn[pi] as number) - 1;
    this.compactIn[pi] = left;
    this.compactKeys--;
    // Stryker disable next-line ConditionalExpression: equivalent but for work, a release walks the pages either way and gives back only empty ones
    if (left === 0) this.emptied = true;
  }

  /**
   * Gives back the count and slot arrays of pages that hold no compact key (10 bytes an id, 12 more
   * with the arrays of other slots). Not at
   * once, as the last one there leaves: a key made compact by INCR and an entry by the EXPIRE after
   * it (a rate limiter's every key) would make and drop them each time. The table calls this now and
   * then (at each fold of its digest).
   */
  releaseCompactPages(): void {
    // Stryker disable next-line ConditionalExpression: equivalent but for work, a walk with no page to give back gives none
    if (!this.emptied) return;
    // Stryker disable next-line BooleanLiteral: equivalent but for work, the next release walks again
    this.emptied = false;
    const n = this.compactIn.length;
    // Stryker disable next-line EqualityOperator: equivalent, past the end the count reads undefined, never 0
    for (let pi = 0; pi < n; pi++) {
      // Stryker disable next-line ConditionalExpression: equivalent, a page given back already is given back again to the same undefined
      if (this.compactIn[pi] !== 0 || this.counts[pi] === undefined) continue;
      this.counts[pi] = undefined;
      this.slots[pi] = undefined;
      this.extraCounts[pi] = undefined;
      this.extraSlots[pi] = undefined;
    }
  }

  /** Pages holding compact keys' counts (for tests). */
  get compactPages(): number {
    let n = 0;
    for (const c of this.counts) if (c !== undefined) n++;
    return n;
  }

  /** Clears `id`'s cells: its key left the table, and the id may go to another key. */
  clear(id: number): void {
    const p = this.page(id);
    const at = CELLS * (id & (PAGE - 1));
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: equivalent but for memory, a pair left in the side Map is never read once the cell is written over
    if (p[at + 2] === UNPACKED) this.unpacked.delete(id);
    p[at] = 0;
    p[at + 1] = 0;
    p[at + 2] = 0;
  }
}
