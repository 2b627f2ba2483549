// SCAN's cursor over a changing keyspace: the keys of one database in a hash table of 2^k buckets
// (a key's bucket: low bits of a 32-bit hash of its bytes), walked in Redis's reverse-binary cursor
// order (dict.c, dictScan), so the table may double between two calls without a key present for
// the whole scan being missed. Built on the first SCAN, then kept up by the keyspace's change
// listener; INCR pays nothing until someone scans.

import type { Keyspace } from '../../keyspace/keyspace.js';

/** FNV-1a over the key string's char codes (a full key: db char, then bytes as latin1). */
function hash32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The bits of a 32-bit value in reverse order. */
function rev32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return ((v >>> 16) | (v << 16)) >>> 0;
}

const MIN_BITS = 2;
const MAX_BITS = 30;

/** One database's keys for SCAN. Keys that the keyspace no longer stores are dropped as the scan meets them. */
export class ScanTable {
  private bits = MIN_BITS;
  private buckets: string[][] = [[], [], [], []];
  private readonly members = new Set<string>();

  add(key: string): void {
    if (this.members.has(key)) return;
    this.members.add(key);
    (this.buckets[hash32(key) & this.mask()] as string[]).push(key);
    if (this.members.size > this.buckets.length && this.bits < MAX_BITS) this.grow();
  }

  get size(): number {
    return this.members.size;
  }

  private mask(): number {
    return (1 << this.bits) - 1;
  }

  private grow(): void {
    this.bits++;
    const next: string[][] = Array.from({ length: 1 << this.bits }, () => []);
    const m = this.mask();
    for (const b of this.buckets) for (const k of b) (next[hash32(k) & m] as string[]).push(k);
    this.buckets = next;
  }

  /**
   * Visits buckets from `cursor` until at least `count` keys were seen (or the walk ends), as
   * Redis's scanGenericCommand does (COUNT is a hint: whole buckets are returned). Calls `visit`
   * for each stored key, which answers whether the key is live (a tombstone, a deleted key, does
   * not count toward `count`); answers the next cursor, 0 at the end. `stored(key)` says whether
   * the keyspace still holds the key at all: a key it has dropped leaves the table.
   */
  scan(cursor: number, count: number, stored: (key: string) => boolean, visit: (key: string) => boolean): number {
    let v = cursor >>> 0;
    let seen = 0;
    const maxIterations = count * 10; // Redis's cap on empty buckets per call
    let iterations = 0;
    do {
      const m = this.mask();
      const bucket = this.buckets[v & m] as string[];
      let w = 0;
      for (let i = 0; i < bucket.length; i++) {
        const k = bucket[i] as string;
        if (!stored(k)) {
          this.members.delete(k);
          continue;
        }
        bucket[w++] = k;
        if (visit(k)) seen++;
      }
      bucket.length = w;
      // Next cursor: set the bits above the mask, reverse, increment, reverse back (dict.c).
      v = (v | ~m) >>> 0;
      v = rev32(v);
      v = (v + 1) >>> 0;
      v = rev32(v);
      iterations++;
    } while (v !== 0 && seen < count && iterations < maxIterations);
    return v;
  }
}

/** The SCAN tables of a keyspace, one per database, made on first use and kept up by the change listener. */
export class ScanIndex {
  private readonly tables = new Map<number, ScanTable>();
  private listening = false;

  constructor(private readonly keyspace: Keyspace) {}

  table(db: number): ScanTable {
    if (!this.listening) {
      this.listening = true;
      // New keys come through here, written locally or merged from a peer (a tombstone too: it is
      // filtered when scanned, and becomes visible when the key is created again).
      this.keyspace.onChange((key) => this.tables.get(key.charCodeAt(0))?.add(key));
    }
    let t = this.tables.get(db);
    if (t === undefined) {
      t = new ScanTable();
      for (const key of this.keyspace.keys()) if (key.charCodeAt(0) === db) t.add(key);
      this.tables.set(db, t);
    }
    return t;
  }
}
