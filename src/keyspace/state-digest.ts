// The keyspace's state digest: equal digests mean equal state. The XOR over keys of a 60-bit hash
// of (key, encoded state), kept per key (by its id: key-columns.ts) and folded in lazily: a write only queues its
// key, and reading the digest (a few times per gossip round) hashes the keys changed since. Version
// vectors say which writes a node holds; whole key states may carry more (a key's state travels
// whole), so two nodes with equal vectors can still differ. Their state digests then differ too, and
// a repair compares per-bucket digests and ships the differing buckets' keys (anti-entropy.ts), as
// Dynamo's and Cassandra's Merkle-tree repair do.

import { hash64Bytes, hash64Lo, hash64String } from '../crdt/hash64.js';
import type { Entry } from './types.js';
import { currentAsKept } from './entries.js';
import type { KeyColumns } from './key-columns.js';

/** Buckets of the state digest: a repair compares these and ships the keys of the ones that differ. */
export const DIGEST_BUCKETS = 256;

/**
 * What `fold` needs of a key's state, filled in by the keyspace: its type tag and the 64-bit hash
 * of its encoding (`hash64Bytes` of the bytes as `hi`, then `hash64Lo()` as `lo`).
 */
export interface StateHash {
  tag: number;
  hi: number;
  lo: number;
}

/** Fills `out` from an encoded state (`hashState`'s general way); false if there is none. */
export function hashEncoded(enc: { tag: number; bytes: Uint8Array } | undefined, out: StateHash): boolean {
  if (enc === undefined) return false;
  out.tag = enc.tag;
  out.hi = hash64Bytes(enc.bytes);
  out.lo = hash64Lo();
  return true;
}

/** Keys per chunk of the digest's queue of changed keys. */
const QUEUE_CHUNK = 4096;

/** What a key is queued as: its entry, or the id of a compact key (key-table.ts). */
type Queued = Entry | number;

/** An empty chunk of the digest's queue with room for `n` cells (key, entry, key, ...). */
function chunkOf(n: number): (string | Queued)[] {
  // Stryker disable next-line ArrayDeclaration: equivalent but for memory, an unsized chunk grows to the same pairs
  return new Array<string | Queued>(n);
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The bucket of the state digest a key belongs to. */
export function digestBucket(key: string): number {
  return hash64String(key) & (DIGEST_BUCKETS - 1);
}

export class StateDigest {
  /**
   * Keys changed since they were last folded in, each followed by its entry when it was queued, in
   * chunks of QUEUE_CHUNK pairs: one growing array of a million keys was copied at each growth, which
   * made queuing cost twice as much.
   */
  private queue: (string | Queued)[][] = [];
  /**
   * The chunk being filled, and how much of it is: made at the size the last fold needed (at most a
   * whole chunk), so that it rarely grows. Grown pair by pair from empty, its copies were about 58
   * bytes allocated per key queued, against 16 for the pair itself.
   */
  // Stryker disable next-line ArrayDeclaration: equivalent, a cell is read only after it was written
  private tail: (string | Queued)[] = [];
  private tailLength = 0;
  /** How many cells (a key, then its entry) the last fold folded: the size of the next chunk. */
  private lastCells = 0;
  private hi = 0;
  private lo = 0;
  private readonly bucketHi = new Int32Array(DIGEST_BUCKETS);
  private readonly bucketLo = new Int32Array(DIGEST_BUCKETS);

  /** `columns`: where each key's share and pending mark are kept, by the key's id (its table's). */
  constructor(private readonly columns: KeyColumns) {}

  /** `key` (whose entry is `e`, held by the table; or a compact key held by id `e`) changed: fold its new state in at the next read. */
  changed(e: Queued, key: string): void {
    const id = typeof e === 'number' ? e : (e.id as number);
    // Stryker disable next-line ConditionalExpression: equivalent but for work, a key queued twice is folded once (the second finds it folded)
    if (this.columns.pending(id)) return;
    this.columns.setPending(id, true);
    let tail = this.tail;
    let n = this.tailLength;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator,BlockStatement: equivalent but for speed, any chunk size folds the same pairs in the same order
    if (n === 2 * QUEUE_CHUNK) {
      this.queue.push(tail);
      this.tail = tail = chunkOf(2 * QUEUE_CHUNK);
      n = 0;
    }
    // Past a chunk made smaller, the store grows it as a push would.
    tail[n] = key;
    tail[n + 1] = e;
    this.tailLength = n + 2;
  }

  /**
   * `key` (whose entry is `e`, still holding its id) is leaving the keyspace (a collected tombstone):
   * its share leaves the digest. The table then clears the id's cells.
   */
  removed(e: Entry, key: string): void {
    const id = e.id as number;
    const b = hash64String(key) & (DIGEST_BUCKETS - 1);
    const dHi = this.columns.digestHi(id);
    const dLo = this.columns.digestLo(id);
    this.hi ^= dHi;
    this.lo ^= dLo;
    this.bucketHi[b] = ((this.bucketHi[b] as number) ^ dHi) | 0;
    this.bucketLo[b] = ((this.bucketLo[b] as number) ^ dLo) | 0;
  }

  /**
   * Folds in every queued key, with its state's hash from the keyspace (`hashState` fills `out` and
   * returns false if the key has no state to fold); `visit` sees each entry folded
   * (the key table's counts fold along). A key's entry is the one queued with it while that is still
   * the key's and has no deadline; otherwise `entry` looks the key up (and an expired key folds in as
   * its next epoch). A compact key (queued by id, no entry) is what `entry` says it is now. At a million keys each lookup is a few cache misses: under a bulk load of new
   * keys this one was about 5% of a node's CPU.
   */
  fold(entry: (key: string, queued: Queued) => Queued | undefined, hashState: (key: string, e: Queued, out: StateHash) => boolean, visit?: (key: string, e: Queued) => void): void {
    // Stryker disable next-line ConditionalExpression: equivalent but for work, an empty queue folds nothing
    if (this.tailLength === 0) return;
    const queue = this.queue;
    const tail = this.tail;
    // Its filled part only: every chunk before it is full.
    tail.length = this.tailLength;
    queue.push(tail);
    // A fold's lookups may queue keys (an expired key folds in as its next epoch): into a new chunk,
    // set up before the fold runs.
    // Stryker disable next-line ArithmeticOperator: equivalent but for memory, the count only sizes the next chunk
    const cells = (queue.length - 1) * 2 * QUEUE_CHUNK + this.tailLength;
    this.queue = [];
    // Stryker disable next-line ArithmeticOperator,ConditionalExpression,EqualityOperator,MethodExpression: equivalent but for memory, any size holds the same pairs
    this.tail = chunkOf(Math.min(2 * QUEUE_CHUNK, Math.max(this.lastCells, cells)));
    this.tailLength = 0;
    this.lastCells = cells;
    for (const chunk of queue) for (let i = 0; i < chunk.length; i += 2) this.foldOne(chunk[i] as string, chunk[i + 1] as Queued, entry, hashState, visit);
  }

  private readonly out: StateHash = { tag: 0, hi: 0, lo: 0 };

  private foldOne(key: string, q: Queued, entry: (key: string, queued: Queued) => Queued | undefined, hashState: (key: string, e: Queued, out: StateHash) => boolean, visit?: (key: string, e: Queued) => void): void {
    const e = typeof q !== 'number' && currentAsKept(q) ? q : entry(key, q);
    if (e === undefined) return;
    const id = typeof e === 'number' ? e : (e.id as number);
    const columns = this.columns;
    if (!columns.pending(id)) return;
    columns.setPending(id, false);
    visit?.(key, e);
    const out = this.out;
    if (!hashState(key, e, out)) return;
    const k1 = hash64String(key);
    const k2 = hash64Lo();
    const s1 = out.hi;
    const s2 = out.lo;
    const hi = fmix(k1 ^ Math.imul(s1, 0x9e3779b1) ^ out.tag) >>> 2;
    const lo = fmix(k2 ^ Math.imul(s2, 0x85ebca77) ^ (out.tag << 8) ^ s1) >>> 2;
    const b = k1 & (DIGEST_BUCKETS - 1);
    const dHi = hi ^ columns.digestHi(id);
    const dLo = lo ^ columns.digestLo(id);
    this.hi ^= dHi;
    this.lo ^= dLo;
    this.bucketHi[b] = ((this.bucketHi[b] as number) ^ dHi) | 0;
    this.bucketLo[b] = ((this.bucketLo[b] as number) ^ dLo) | 0;
    columns.setDigest(id, hi, lo);
  }

  /** 16 hex digits (call `fold` first). */
  value(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }

  /** Each bucket's digest, DIGEST_BUCKETS x (hi, lo) as little-endian int32s (call `fold` first). */
  buckets(): Uint8Array {
    const out = new Uint8Array(DIGEST_BUCKETS * 8);
    const v = new DataView(out.buffer);
    for (let b = 0; b < DIGEST_BUCKETS; b++) {
      v.setInt32(b * 8, this.bucketHi[b] as number, true);
      v.setInt32(b * 8 + 4, this.bucketLo[b] as number, true);
    }
    return out;
  }
}
