// A set of key ids (small non-negative integers, key-index.ts) as a bitmap, with a cursor that goes
// round it: the key table's keys with a TTL, which the sweep of expired keys visits a few at a time.
// A bit per id the table ever gave, where a Set of the keys took 37 heap bytes per key with a TTL
// (`npm run bench -- layout`, "keyspace, TTL"). Pure: no I/O, no clock.

/** Bits in a new bitmap (grown by doubling to hold the largest id added). */
const MIN_BITS = 1024;

export class IdSet {
  private words = new Uint32Array(MIN_BITS >>> 5);
  private count = 0;
  /** Where `next` looks first: the id after the one it last gave. */
  private cursor = 0;

  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    return ((this.words[id >>> 5] ?? 0) & (1 << (id & 31))) !== 0;
  }

  add(id: number): void {
    const w = id >>> 5;
    if (w >= this.words.length) {
      // Stryker disable next-line ArithmeticOperator: equivalent but for work, the loop below doubles until the word fits
      let n = this.words.length * 2;
      while (n <= w) n *= 2;
      const grown = new Uint32Array(n);
      grown.set(this.words);
      this.words = grown;
    }
    const bit = 1 << (id & 31);
    const word = this.words[w] as number;
    if ((word & bit) !== 0) return;
    this.words[w] = word | bit;
    this.count++;
  }

  delete(id: number): void {
    const w = id >>> 5;
    const bit = 1 << (id & 31);
    const word = this.words[w];
    if (word === undefined || (word & bit) === 0) return;
    this.words[w] = word & ~bit;
    this.count--;
  }

  /**
   * The first id in the set at or after the cursor, going round to 0 past the last (-1 if the set
   * is empty); the cursor moves past it. So `size` calls in a row, with nothing added meanwhile,
   * give each id once.
   */
  next(): number {
    // Stryker disable next-line ConditionalExpression: equivalent but for work, the scan finds nothing and returns -1
    if (this.count === 0) return -1;
    const words = this.words;
    const n = words.length;
    let start = this.cursor;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, a cursor past the end finds nothing in its word and wraps all the same
    if (start >= n * 32) start = 0;
    let w = start >>> 5;
    // The first word without the bits below the cursor; the loop wraps round to it in full.
    let word = (words[w] as number) & (~0 << (start & 31));
    // Stryker disable next-line UpdateOperator: equivalent while `count` is right, the scan returns before the bound
    for (let seen = 0; seen <= n; seen++) {
      if (word !== 0) {
        const id = w * 32 + (31 - Math.clz32(word & -word));
        this.cursor = id + 1;
        return id;
      }
      w = w + 1 === n ? 0 : w + 1;
      word = words[w] as number;
    }
    // Unreachable while `count` is right: some word holds a bit.
    // Stryker disable next-line UnaryOperator: unreachable
    return -1;
  }
}
