// The key table's index: key string -> the key's entry, by way of the key's id. An open-addressing
// hash table (linear probing) over one Int32Array of cells, each a key's id + 1 (28 bits) and the top
// 4 bits of its hash (its tag), and the entries by id in pages of 4,096. It replaces a
// Map<string, Entry>, whose lookups were 10-13% of every node's CPU under a bulk load
// (docs/crdt-counters.md, "The key index"): at a million keys each lookup is a few cache misses, and
// a Map's chain walk loads every key string it passes to compare it, where this table compares tags
// held beside the ids and loads a key only when they match (one in 16 of the other keys it passes).
// A cell held the whole 32-bit hash beside the id until December 7 2026: 8 bytes a slot, 16.8 per
// key at a million keys, where 4 bytes a slot now cost 8.4; a rebuild (the table doubling, a new
// seed) and a removal's backward shift hash the keys they move again instead of reading the hash.
// A key may also be held compact: its cell holds the key's string instead of an entry, and the
// table keeps its state elsewhere, by id (key-table.ts). The index hands out entries only: reaching
// a compact key as an entry (`get`, `getAt`, `at`) makes it one first (`promote`, the table's), in
// its place, with its id; the table may make an entry compact again (`demote`). The raw ways
// (`idOf`, `idAt`, `cell`, `keyAt`) make nothing.
// Pure: no I/O, no clock. Its hash seeds come from the caller (the node draws them at random; a
// table given none is seeded alike every time), and change nothing but where a key sits in the
// table (iteration is by id, not by slot).

import { flatKey } from './full-key.js';

/** What the index needs of an entry: its key and its id, both set by the index. */
export interface Indexed {
  key?: string;
  id?: number;
}

/** Ids per page of the id -> entry pages (pages, as one array grown by push to a million cost 115-190 ns a push here). */
const PAGE = 4096;
/** Slots of a new table (a power of two). */
const MIN_SLOTS = 1024;
/** The bits of a cell that hold the id + 1 (0: an empty slot). */
const ID_BITS = 0x0fffffff;
/** The bits of a cell (and of a hash) that hold its tag: the hash's top 4 bits. As int32. */
const TAG_BITS = ~ID_BITS;
/** The most ids a cell can hold (id + 1 within ID_BITS); entries.ts's MAX_KEY_ID is this. */
export const MAX_INDEX_ID = ID_BITS - 1;
/**
 * A probe longer than this on insert makes the table take a new hash seed and rebuild. With at most
 * half the slots taken and a sound hash, a run of full slots this long does not happen by chance
 * (under linear probing the odds of a run of k fall about as e^(-0.19 k) at half load, about 10^-11
 * per slot for 128; at 3/4 load, e^(-0.038 k): there a limit of 64 was passed every few tens of
 * thousands of keys, each time a rebuild, and a million keys took minutes), so it means keys chosen
 * to collide, which a new seed scatters.
 */
const MAX_PROBE = 128;

/**
 * A seeded 32-bit hash of a string: four chars per round (a full key's chars are bytes: full-key.ts;
 * a wider char only overlaps its neighbours' bits), murmur3's mixing, then its finalizer. Never 0 is
 * not required: an empty slot is told by its id field. Two UTF-16 code units per round until
 * December 8 2026: at the keys of redis-benchmark (21 chars) the lookup's hash was 4.6% of a node's
 * CPU under INCR at depth 16 (`perf`), and four a round halve the rounds.
 */
export function hashKey(s: string, seed: number): number {
  const n = s.length;
  let h = seed ^ n;
  let i = 0;
  const end4 = n - (n & 3);
  for (; i < end4; i += 4) {
    let k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, with no char left the word is 0, and mixing in 0 changes nothing
  if (i < n) {
    let k = 0;
    // Stryker disable next-line EqualityOperator: equivalent, past the end charCodeAt is NaN, which mixes in as 0
    for (let j = 0; i < n; i++, j += 8) k |= s.charCodeAt(i) << j;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * `hashKey` of the full key whose first char is `db` and whose other chars are the bytes
 * `bytes[start, end)` (a full key's form: full-key.ts), without making that string: a RESP
 * argument is looked up in place, and its string is made only for a key that is new. Its rounds
 * repeat `hashKey`'s inline on purpose: the two through shared helpers for the round, the last unit
 * and the finalizer hashed 7-15% slower in process (200,000 keys `user:N`, three alternations).
 */
export function hashKeyAt(db: number, bytes: Uint8Array, start: number, end: number, seed: number): number {
  const n = end - start + 1;
  let h = seed ^ n;
  // Char i of the full key is `db` for i = 0, else bytes[at + i] (at = start - 1).
  const at = start - 1;
  let i = 0;
  const end4 = n - (n & 3);
  for (; i < end4; i += 4) {
    const q = at + i;
    let k = (i === 0 ? db : (bytes[q] as number)) | ((bytes[q + 1] as number) << 8) | ((bytes[q + 2] as number) << 16) | ((bytes[q + 3] as number) << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, with no byte left the word is 0, and mixing in 0 changes nothing
  if (i < n) {
    let k = 0;
    for (let j = 0; i < n; i++, j += 8) k |= (i === 0 ? db : (bytes[at + i] as number)) << j;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Whether `key` is the full key of `bytes[start, end)` in database `db`. */
export function isKeyAt(key: string, db: number, bytes: Uint8Array, start: number, end: number): boolean {
  if (key.length !== end - start + 1 || key.charCodeAt(0) !== db) return false;
  for (let i = start, j = 1; i < end; i++, j++) if (key.charCodeAt(j) !== bytes[i]) return false;
  return true;
}

/** A cell of the id pages: a key's entry, a compact key's string, or nothing. */
type Cell<E> = E | string | undefined;

export class KeyIndex<E extends Indexed> {
  /** Slot i is the cell `(hash & TAG_BITS) | (id + 1)` of the key it holds, 0 when empty. At most half are taken. */
  private slots = new Int32Array(MIN_SLOTS);
  private mask = MIN_SLOTS - 1;
  private seed: number;
  private count = 0;
  /** Keys added since the table was last rebuilt. */
  private added = 0;
  /** The entries by id. */
  private readonly pages: Cell<E>[][] = [];
  private nextId = 0;
  /** Ids of removed keys, given again unless `holdIds` is on. */
  private readonly freeIds: number[] = [];
  /**
   * While on, a new key takes an id above every id given so far, never a removed key's: a walk by
   * id under way (`keys()`, one slice at a time) then reaches every key added meanwhile, as it
   * would a Map's.
   */
  holdIds = false;

  /** `seeds` gives the first hash seed and each after it (a reseed): any 32-bit integers, best drawn at random. */
  constructor(
    private readonly maxId: number,
    private readonly seeds: () => number,
  ) {
    if (maxId > MAX_INDEX_ID) throw new RangeError(`a key index gives at most ${MAX_INDEX_ID + 1} ids, not ${maxId + 1}`);
    this.seed = seeds();
  }

  get size(): number {
    return this.count;
  }

  /** One above the highest id given so far: every held key's id is below it. */
  get idBound(): number {
    return this.nextId;
  }

  /**
   * Makes the entry of a compact key, whose cell is `id` (the table's, set by `setPromote`): the
   * index puts it in the key's place. Without one, no key is ever compact.
   */
  private promote: ((id: number, key: string) => E) | undefined;

  setPromote(promote: (id: number, key: string) => E): void {
    this.promote = promote;
  }

  /** The entry of `key`, if held (a compact key made an entry). */
  get(key: string): E | undefined {
    const id = this.idOf(key);
    // Stryker disable next-line ConditionalExpression: equivalent, no cell sits at id -1
    return id < 0 ? undefined : this.at(id);
  }

  /** The id of `key`, or -1 if not held; a compact key stays compact. */
  idOf(key: string): number {
    const h = hashKey(key, this.seed);
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const s = slots[i] as number;
      if (s === 0) return -1;
      // Stryker disable next-line ConditionalExpression: equivalent but for speed, the key comparison below decides
      if (((s ^ h) & TAG_BITS) === 0) {
        const id = (s & ID_BITS) - 1;
        const c = (this.pages[id >>> 12] as Cell<E>[])[id & (PAGE - 1)] as E | string;
        if ((typeof c === 'string' ? c : c.key) === key) return id;
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * `get(fullKey(db, bytes.subarray(start, end)))` without making the key's string: the full key's
   * chars are the db and the bytes (full-key.ts). A key's string was 4-6% of a node's CPU under INCR.
   */
  getAt(db: number, bytes: Uint8Array, start: number, end: number): E | undefined {
    const id = this.idAt(db, bytes, start, end);
    // Stryker disable next-line ConditionalExpression: equivalent, no cell sits at id -1
    return id < 0 ? undefined : this.at(id);
  }

  /** `idOf` the full key of `bytes[start, end)` in database `db`, without making its string. */
  idAt(db: number, bytes: Uint8Array, start: number, end: number): number {
    const h = hashKeyAt(db, bytes, start, end, this.seed);
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const s = slots[i] as number;
      if (s === 0) return -1;
      // Stryker disable next-line ConditionalExpression: equivalent but for speed, the key comparison below decides
      if (((s ^ h) & TAG_BITS) === 0) {
        const id = (s & ID_BITS) - 1;
        const c = (this.pages[id >>> 12] as Cell<E>[])[id & (PAGE - 1)] as E | string;
        if (isKeyAt(typeof c === 'string' ? c : (c.key as string), db, bytes, start, end)) return id;
      }
      i = (i + 1) & mask;
    }
  }

  /** The entry holding `id`, if any (a compact key made an entry). */
  at(id: number): E | undefined {
    const c = this.pages[id >>> 12]?.[id & (PAGE - 1)];
    if (typeof c !== 'string') return c;
    const e = (this.promote as (id: number, key: string) => E)(id, c);
    (this.pages[id >>> 12] as Cell<E>[])[id & (PAGE - 1)] = e;
    e.key = c;
    e.id = id;
    return e;
  }

  /** Whether `id` is held by a compact key. */
  isCompact(id: number): boolean {
    return typeof this.pages[id >>> 12]?.[id & (PAGE - 1)] === 'string';
  }

  /** What `id`'s cell holds: its entry, a compact key's string, or undefined (no key). Makes nothing. */
  cell(id: number): E | string | undefined {
    return this.pages[id >>> 12]?.[id & (PAGE - 1)];
  }

  /** The key holding `id`, if any, compact or not. */
  keyAt(id: number): string | undefined {
    const c = this.pages[id >>> 12]?.[id & (PAGE - 1)];
    return typeof c === 'string' ? c : c?.key;
  }

  /**
   * Adds `e` for `key`, which the index does not hold (the caller has just looked): sets `e.key` (a
   * flat copy of `key` when that is a view of a longer string: full-key.ts, `flatKey`) and gives `e` an id.
   */
  add(key: string, e: E): void {
    const own = flatKey(key);
    // The key first: placing it may rebuild the table, which reads every held key.
    e.key = own;
    e.id = this.take(own, e);
  }

  /**
   * Adds `key` compact (the caller has just looked: not held), its state kept by the table (its key's
   * string flat, as `add`; `flat`: the caller made it so, and it is not copied again). Returns its id.
   */
  addCompact(key: string, flat = false): number {
    const own = flat ? key : flatKey(key);
    return this.take(own, own);
  }

  /** Gives `key` an id and the cell `c`, and places it in the table. */
  private take(key: string, c: E | string): number {
    // Stryker disable next-line EqualityOperator,ArithmeticOperator: equivalent but for memory and speed, a table a slot fuller or emptier
    if ((this.count + 1) * 2 > this.mask + 1) this.rebuild(2 * (this.mask + 1), this.seed);
    let id: number;
    if (this.freeIds.length > 0 && !this.holdIds) id = this.freeIds.pop() as number;
    else {
      if (this.nextId > this.maxId) throw new RangeError(`a key table holds at most ${this.maxId + 1} keys`);
      id = this.nextId++;
    }
    let page = this.pages[id >>> 12];
    // Stryker disable next-line ArrayDeclaration: equivalent but for memory, an empty array grows to the same cells
    if (page === undefined) this.pages[id >>> 12] = page = new Array<Cell<E>>(PAGE);
    page[id & (PAGE - 1)] = c;
    this.count++;
    this.added++;
    // A new seed at most once per as many adds as keys held: O(1) per add, whatever the keys.
    // Stryker disable next-line ConditionalExpression: equivalent but for speed, a reseed more often
    if (!this.place(hashKey(key, this.seed), id) && this.added >= this.count) this.rebuild(this.mask + 1, this.seeds());
    return id;
  }

  /** Puts `next` in the place of `prev`, the entry the index holds for its key: same key, same id. */
  replace(prev: E, next: E): void {
    const id = prev.id as number;
    (this.pages[id >>> 12] as Cell<E>[])[id & (PAGE - 1)] = next;
    next.key = prev.key as string;
    next.id = id;
  }

  /** Holds `e`'s key compact again (the table's state now keeps it by id): its cell becomes the key's string, same id, same place. */
  demote(e: E): void {
    const id = e.id as number;
    (this.pages[id >>> 12] as Cell<E>[])[id & (PAGE - 1)] = e.key as string;
  }

  /** Removes `e`, the entry the index holds for its key (a compact key is made an entry first). Its id is free to give again. */
  remove(e: E): void {
    const id = e.id as number;
    const slots = this.slots;
    const mask = this.mask;
    let i = hashKey(e.key as string, this.seed) & mask;
    while (((slots[i] as number) & ID_BITS) !== id + 1) i = (i + 1) & mask;
    // Backward-shift deletion: move each later slot of the run that may sit at i into i, so no
    // probe meets a hole before its key.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const cj = slots[j] as number;
      if (cj === 0) break;
      const home = this.homeOf(cj);
      // The entry at j may move to i if its home is not cyclically within (i, j].
      // Stryker disable next-line EqualityOperator: equivalent, i and j are never equal here
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        slots[i] = cj;
        i = j;
      }
    }
    slots[i] = 0;
    (this.pages[id >>> 12] as Cell<E>[])[id & (PAGE - 1)] = undefined;
    this.freeIds.push(id);
    this.count--;
    // Hand back what a mass removal (tombstone collection after a FLUSHALL) left empty, as a Map
    // does: half the slots once fewer than an eighth are taken, so a table shrinks and grows again
    // only after as many removals or adds as it holds.
    // Stryker disable next-line EqualityOperator,ArithmeticOperator: equivalent but for memory, a table that shrinks a key or two sooner or later
    if (this.count * 8 < this.mask + 1 && this.mask + 1 > MIN_SLOTS) this.rebuild((this.mask + 1) / 2, this.seed);
  }

  /** Slots the table has (4 bytes each), taken or not. */
  get slotCount(): number {
    return this.mask + 1;
  }

  /** Every held key (compact ones too), in the order of their ids. A key added during the walk is reached if its id is above the walk's place (always, with `holdIds` on). */
  *keys(): IterableIterator<string> {
    // Stryker disable next-line EqualityOperator: equivalent, no key sits at nextId
    for (let id = 0; id < this.nextId; id++) {
      const k = this.keyAt(id);
      if (k !== undefined) yield k;
    }
  }

  /**
   * Calls `f` with every held cell, in the order of their ids: an entry, or a compact key's string
   * with its id. Makes nothing (a walk of a million keys, when a collection decision passes).
   */
  forEachCell(f: (c: E | string, id: number) => void): void {
    // Stryker disable next-line EqualityOperator: equivalent, no cell sits at nextId
    for (let id = 0; id < this.nextId; id++) {
      const c = this.pages[id >>> 12]?.[id & (PAGE - 1)];
      if (c !== undefined) f(c, id);
    }
  }

  /** Every held entry, in the order of their ids; compact keys are not entries and are passed over. */
  *entries(): IterableIterator<E> {
    // Stryker disable next-line EqualityOperator: equivalent, no entry sits at nextId
    for (let id = 0; id < this.nextId; id++) {
      const c = this.pages[id >>> 12]?.[id & (PAGE - 1)];
      if (c !== undefined && typeof c !== 'string') yield c;
    }
  }

  /** The longest probe any held key needs: slots from its hash's home to where it sits. */
  longestProbe(): number {
    let longest = 0;
    const size = this.mask + 1;
    // Stryker disable next-line EqualityOperator: equivalent, past the end a slot reads as empty
    for (let i = 0; i < size; i++) {
      const c = this.slots[i] as number;
      if (c === 0) continue;
      // Stryker disable next-line ArithmeticOperator: equivalent, the mask takes the distance modulo the size either way
      const d = (i - this.homeOf(c) + size) & this.mask;
      // Stryker disable next-line EqualityOperator: equivalent, the same longest
      if (d > longest) longest = d;
    }
    return longest;
  }

  /** Probes from `h`'s home to the first empty slot and takes it. False if the probe ran past MAX_PROBE (it is placed all the same). */
  private place(h: number, id: number): boolean {
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    let probe = 0;
    while ((slots[i] as number) !== 0) {
      i = (i + 1) & mask;
      probe++;
    }
    slots[i] = (h & TAG_BITS) | (id + 1);
    // Stryker disable next-line EqualityOperator: equivalent but for speed, a reseed at 128 slots rather than 129
    return probe <= MAX_PROBE;
  }

  /** The home slot of the key whose cell is `c` (a cell holds only its hash's tag: the key is hashed again). */
  private homeOf(c: number): number {
    return hashKey(this.keyAt((c & ID_BITS) - 1) as string, this.seed) & this.mask;
  }

  /**
   * A new table of `size` slots hashed by `seed`, every held key hashed and placed again. Walked by
   * id, not by the old slots: the keys' strings were made about in the order of their ids, so they
   * are read about in the order they lie in memory (walked by slot, in hash order, a million new keys
   * took 40-50% longer in process).
   */
  private rebuild(size: number, seed: number): void {
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    this.seed = seed;
    this.added = 0;
    const pages = this.pages;
    // Stryker disable next-line EqualityOperator: equivalent, no cell sits at nextId
    for (let id = 0; id < this.nextId; id++) {
      const c = (pages[id >>> 12] as Cell<E>[])[id & (PAGE - 1)];
      if (c !== undefined) this.place(hashKey(typeof c === 'string' ? c : (c.key as string), seed), id);
    }
  }
}
