// CounterBase: the slot table GCounter and PNCounter share (merge, reset, slot folds, codec; its
// codec helpers are counter-codec.ts's), with the limits, errors and size rules of counter slots.
// docs/crdt-counters.md explains the semantics.
//
// Invariants (hold for every instance, including decoded ones), for each replica r:
//   - p, fp, n, fn are integers with 0 <= fp <= p <= COUNTER_MAX and 0 <= fn <= n <= COUNTER_MAX;
//   - a stored entry has p > 0 or n > 0 (an all-zero slot is the same as an absent one);
//   - a GCounter has n = fn = 0 everywhere.
// The value is computed from the slots when read (`sumP`, `sumN`): no running sums to keep true.

import { ByteReader, ByteWriter, CODEC_VERSION, TypeTag, uvarintSize } from './codec.js';
import { idBytes, readerError, readHeader, readId, readSlot, slotKind, slotRead, slotSize, writeSlotEntry, type SlotKind } from './counter-codec.js';
import { CrdtError } from './errors.js';
import { type ReplicaId } from './replica-id.js';
import { err, ok, type Result } from '../util/result.js';

/** Largest slot, floor and (local) counter value: 2^53 - 1, the largest exactly representable integer. */
export const COUNTER_MAX = Number.MAX_SAFE_INTEGER;
/** Longest replica id, in UTF-8 bytes. */
export const MAX_REPLICA_ID_BYTES = 255;

/** Slots beyond the first searched linearly in their flat array; more are found through an index (CounterBase.rest). */
const SCANNED_SLOTS = 8;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * One replica's slot: `p` = sum of its increments, `fp` = increments floor (what observed resets
 * removed); `n`, `fn` the same for decrements (always 0 in a GCounter).
 */
export interface CounterSlot {
  readonly id: ReplicaId;
  p: number;
  fp: number;
  n: number;
  fn: number;
}

/** The counts of the slot a local write goes to (`CounterBase.localSlot`), written in place. */
export interface LocalSlot {
  p: number;
  n: number;
}

/**
 * The id `assertReplicaId` last passed (at first an object no id can be): a node's own writes create
 * every new key's slot under the same id, and checking it again, a regular expression over it, was
 * 56 bytes allocated per new key.
 */
let lastValidId: unknown = {};

/** Throws (misuse, not untrusted input) unless `id` is a non-empty, well-formed string of <= 255 UTF-8 bytes. */
export function assertReplicaId(id: ReplicaId): void {
  // Stryker disable next-line ConditionalExpression: equivalent but for work, the checks below pass the same id again
  if (id === lastValidId) return;
  if (typeof id !== 'string' || id.length === 0) throw new RangeError('replica id must be a non-empty string');
  // Fast path: at most 3 UTF-8 bytes per UTF-16 unit, and no surrogates to be ill-formed.
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for work, the full check below passes and fails the same ids
  if (!(id.length <= MAX_REPLICA_ID_BYTES / 3 && !/[\ud800-\udfff]/.test(id))) {
    const bytes = textEncoder.encode(id);
    if (bytes.length > MAX_REPLICA_ID_BYTES) {
      throw new RangeError(`replica id is ${bytes.length} UTF-8 bytes; at most ${MAX_REPLICA_ID_BYTES} allowed`);
    }
    if (textDecoder.decode(bytes) !== id) throw new RangeError('replica id is not well-formed UTF-16 (lone surrogate)');
  }
  lastValidId = id;
}

export function notIntegerError(n: unknown): CrdtError {
  return new CrdtError('COUNTER_NOT_INTEGER', `amount ${String(n)} is not a safe integer`);
}

export function overflowError(what: string): CrdtError {
  return new CrdtError('COUNTER_OVERFLOW', `${what} would leave the supported range [-(2^53-1), 2^53-1]`);
}

/**
 * The writer every counter encodes into (encoding is synchronous and never nested), so an encode
 * allocates only its result: a writer per call, sized too small for a typical 17-character replica
 * id, cost two more allocations and a copy, about a tenth of a catching-up node's CPU (bench scale).
 */
const scratch = new ByteWriter(256);
/** The reader every counter decode uses (`readInto`; decodes never nest). */
const NOTHING = new Uint8Array(0);
const reader = new ByteReader(NOTHING);

/** The offsets of the slots of the counter being encoded, in id order (`writeState`). */
const order: number[] = [];

// ---- the slot table shared by both counters ----------------------------------------------------

/** Cells per slot in `CounterBase.rest`: the id, then p, fp, n and fn. */
const STRIDE = 5;
/** Where the slots of `CounterBase.rest` begin: its first two cells are the first slot's floors. */
const BASE = 2;
/** `indexOf`: the first slot (the counter's own fields). */
const HEAD = -1;
/** `indexOf`: no such slot. */
const NONE = -2;

/** The first slot's floors, then the other slots of a counter, flat: `[fp, fn, id, p, fp, n, fn, id, p, ...]` (`CounterBase.rest`). */
type Rest = (ReplicaId | number)[];

/**
 * The id -> offset index of a `rest` of more than SCANNED_SLOTS slots (a linear search made merges
 * of 50-slot counters 6x slower): built when first needed, and kept true by the changes that keep
 * the array (a push, the swap in `localSlot`); a new array gets its own. Weak: it goes with its array.
 */
const bigIndexes = new WeakMap<Rest, Map<ReplicaId, number>>();

/** `byteSize()` of the counter `writeOneSlotCounter` writes (one slot, no array of others). */
export function oneSlotCounterBytes(rid: ReplicaId): number {
  return plainCounterBytes(1, rid.length);
}

/**
 * `byteSize()` of a counter of `k` plain slots (1 <= k <= SCANNED_SLOTS + 1) whose ids have
 * `idChars` characters in all: the object with its first slot, and for more than one the array of
 * the first slot's floors and the other slots (a header, two cells and five per slot).
 */
export function plainCounterBytes(k: number, idChars: number): number {
  return k === 1 ? 56 + idChars : 56 + 48 + 8 * (BASE + STRIDE * (k - 1)) + idChars;
}

/** Internal base of GCounter and PNCounter: slots, floors, merge, reset, codec. */
export abstract class CounterBase {
  // The counter is its own first slot: `rid`, `p` and `n` below, with the floors `fp` and `fn`, are
  // the most recently locally written slot (`rid` '' and all zero while the counter holds none; not
  // `id`, which a key's entry that is its own counter has for the key's id). Most
  // keys hold one slot, written by the local replica, so a key is this one object and the hot path
  // touches nothing else. (The first design, PN = two G-Counter objects each with a Map, took 418
  // heap bytes per 1-replica key; the first slot as an object of its own, 136 with this object;
  // inline, 104; with the sums past 2^53 in a side object (`big`), 96; with the sums computed when
  // read, 72; with the first slot's floors in `rest`, 56.)
  // The first slot's floors are `rest`'s first two cells: they are 0 until a reset (DEL, SET) or a
  // merge of one, so most counters have no `rest` and pay no field for them. The other slots (one per
  // other live writer: retired ones are folded away) follow in `rest`, five cells per slot, an array
  // of exactly its length while it holds at most SCANNED_SLOTS slots, searched linearly; past that it
  // grows by push and is searched through an index (`bigIndexes`). A key written on three nodes holds
  // two: an object per slot and an array of them took 192 heap bytes, the flat array takes 128 (`npm
  // run bench -- layout`, "keyspace, 3 slots"); a Map of two slot objects took about 180 more.
  // Undefined when the first slot's floors are 0 and there are no other slots; the first slot is held
  // whenever `rest` is. A slot the counter hands out is a copy, never its cells.
  protected rid: ReplicaId = '';
  protected p = 0;
  protected n = 0;
  protected rest: Rest | undefined;

  /** The first slot's increments floor (`rest`'s first cell; 0 without one). */
  protected get fp(): number {
    const r = this.rest;
    return r === undefined ? 0 : (r[0] as number);
  }

  /** The first slot's decrements floor (`rest`'s second cell; 0 without one). */
  protected get fn(): number {
    const r = this.rest;
    return r === undefined ? 0 : (r[1] as number);
  }

  /** Sets the first slot's floors: into `rest`, made only for floors above 0 and dropped when it holds nothing else. */
  private setFloors(fp: number, fn: number): void {
    const r = this.rest;
    if (r === undefined) {
      if (fp !== 0 || fn !== 0) this.rest = [fp, fn];
      return;
    }
    // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent but for memory, a fold's removeRest drops an array left with zero floors alone before this sees it
    if (fp === 0 && fn === 0 && r.length === BASE) {
      this.rest = undefined;
      return;
    }
    r[0] = fp;
    r[1] = fn;
  }

  // The sums of the live parts (p - fp, n - fn) are computed when read, not kept: a key has one slot
  // per live writer, so a read adds one to three pairs, and two running sums with a side object for
  // the exact ones past 2^53-1 cost every counter 24 bytes (96 -> 72 per one-slot key).

  /** Sum of (p - fp) over every slot: a number while at most COUNTER_MAX, else the exact bigint (only merges reach it). */
  protected sumP(): number | bigint {
    return this.liveSum(1);
  }

  /** Sum of (n - fn) over every slot, likewise. */
  protected sumN(): number | bigint {
    return this.liveSum(3);
  }

  /** The live sum of one side: `off` 1 for p - fp, 3 for n - fn (the cells' offsets in a slot of `rest`). */
  private liveSum(off: 1 | 3): number | bigint {
    let sum = off === 1 ? this.p - this.fp : this.n - this.fn;
    const rest = this.rest;
    if (rest === undefined) return sum;
    for (let i = BASE; i < rest.length; i += STRIDE) {
      // Each term is in [0, COUNTER_MAX] and so is the sum so far: their sum is exact when at most
      // COUNTER_MAX, and any larger true sum rounds to at least 2^53, so the test is exact.
      sum += (rest[i + off] as number) - (rest[i + off + 1] as number);
      if (sum > COUNTER_MAX) return this.bigSum(off);
    }
    return sum;
  }

  /** The exact live sum of one side (as `liveSum`), past COUNTER_MAX. */
  private bigSum(off: 1 | 3): bigint {
    let sum = BigInt(off === 1 ? this.p - this.fp : this.n - this.fn);
    const rest = this.rest as Rest;
    for (let i = BASE; i < rest.length; i += STRIDE) sum += BigInt((rest[i + off] as number) - (rest[i + off + 1] as number));
    return sum;
  }

  /** A new empty counter of the same class. */
  protected abstract empty(): this;
  /** 1 for a GCounter (increments only), 2 for a PNCounter; fixes the codec's entry layout. */
  protected abstract lanes(): 1 | 2;
  protected abstract tag(): TypeTag;

  /** True iff some slot is above its floor (false when new, or after a reset that saw everything). */
  exists(): boolean {
    if (this.p > this.fp || this.n > this.fn) return true;
    const rest = this.rest;
    if (rest === undefined) return false;
    // Stryker disable next-line EqualityOperator: equivalent, past the end the cells read undefined, and undefined > undefined is false
    for (let i = BASE; i < rest.length; i += STRIDE) {
      if ((rest[i + 1] as number) > (rest[i + 2] as number) || (rest[i + 3] as number) > (rest[i + 4] as number)) return true;
    }
    return false;
  }

  replicaCount(): number {
    const rest = this.rest;
    return this.rid === '' ? 0 : 1 + (rest === undefined ? 0 : (rest.length - BASE) / STRIDE);
  }

  /** Replica `r`'s slot and floors (all 0 when absent). A copy: mutating it changes nothing. */
  slotOf(r: ReplicaId): CounterSlot {
    const i = this.indexOf(r);
    return i === NONE ? { id: r, p: 0, fp: 0, n: 0, fn: 0 } : this.slotAt(i);
  }

  /** Every slot's replica id, in no particular order (slot pruning looks for retired ones). */
  slotIds(): ReplicaId[] {
    if (this.rid === '') return [];
    const out = [this.rid];
    const rest = this.rest;
    if (rest !== undefined) for (let i = BASE; i < rest.length; i += STRIDE) out.push(rest[i] as ReplicaId);
    return out;
  }

  /** Adds the ids of this counter's slots to `out` (`slotIds` without an array: a walk of every key uses it). */
  addSlotIdsTo(out: Set<ReplicaId>): void {
    if (this.rid === '') return;
    out.add(this.rid);
    const rest = this.rest;
    if (rest !== undefined) for (let i = BASE; i < rest.length; i += STRIDE) out.add(rest[i] as ReplicaId);
  }

  /** Copies of every slot, sorted by id (canonical order). */
  entries(): CounterSlot[] {
    return this.sorted();
  }

  /**
   * Observed reset (DEL): raise every floor to its slot, removing exactly what this replica has
   * seen. Returns the delta (every slot with its floors). Never fails.
   */
  reset(): this {
    this.resetInPlace();
    return this.clone();
  }

  /** Merges `other` into this counter: pointwise max of every slot and floor. Never fails. Returns whether this changed. */
  merge(other: this): boolean {
    // Stryker disable next-line ConditionalExpression: equivalent but for work, a counter merged into itself changes nothing
    if (other === this) return false;
    if (other.lanes() !== this.lanes()) throw new TypeError('cannot merge a PNCounter with a GCounter');
    // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, mergeFields ignores an all-zero slot (an empty counter's first place)
    let changed = other.rid !== '' ? this.mergeFields(other.rid, other.p, other.fp, other.n, other.fn) : false;
    const rest = other.rest;
    if (rest !== undefined) {
      for (let i = BASE; i < rest.length; i += STRIDE) {
        if (this.mergeFields(rest[i] as ReplicaId, rest[i + 1] as number, rest[i + 2] as number, rest[i + 3] as number, rest[i + 4] as number)) changed = true;
      }
    }
    return changed;
  }

  /**
   * Merges one replica's state (as decoded or restored from disk). Checked: a value breaking the
   * invariants (or decrements on a GCounter) is misuse and throws.
   */
  mergeSlot(r: ReplicaId, p: number, fp: number, n = 0, fn = 0): void {
    const okPair = (a: number, f: number): boolean => Number.isSafeInteger(a) && Number.isSafeInteger(f) && f >= 0 && a >= f;
    if (!okPair(p, fp) || !okPair(n, fn) || (this.lanes() === 1 && n !== 0)) {
      throw new RangeError(`invalid slot for ${r}: p=${p} fp=${fp} n=${n} fn=${fn}`);
    }
    // Stryker disable next-line ConditionalExpression: equivalent but for work, a slot the counter holds has a valid id
    if ((p > 0 || n > 0) && this.indexOf(r) === NONE) assertReplicaId(r);
    this.mergeFields(r, p, fp, n, fn);
  }

  /**
   * Makes this counter (an empty one of the same class) a copy of `src`: what `clone` and a key's
   * entry that is its own counter (keyspace/entries.ts) start from. The first slot is copied field by field, the
   * other slots into an array of their own, so that no write to either reaches the other.
   */
  protected copyStateOf(src: CounterBase): void {
    this.rid = src.rid;
    this.p = src.p;
    this.n = src.n;
    const rest = src.rest;
    if (rest !== undefined) this.rest = rest.slice();
  }

  /**
   * The slots of a counter whose every slot is plain (p at least 1, no floors, no decrements), into
   * `rids` and `ps`: how many (1 to `max`), or -1 if some slot is not plain, it holds none, or more
   * than `max`. What a compact key of several writers holds (keyspace/key-table.ts).
   */
  plainSlotsInto(max: number, rids: ReplicaId[], ps: number[]): number {
    // (A counter with no slot holds p 0.)
    if (this.p < 1 || this.n !== 0) return -1;
    rids[0] = this.rid;
    ps[0] = this.p;
    const rest = this.rest;
    if (rest === undefined) return 1;
    // Floors: fp above 0 (fn <= n = 0 needs no look).
    if (rest[0] !== 0) return -1;
    const k = 1 + (rest.length - BASE) / STRIDE;
    if (k > max) return -1;
    for (let i = BASE, j = 1; i < rest.length; i += STRIDE, j++) {
      const p = rest[i + 1] as number;
      // No floor on its increments, no decrements (and so no floor on them). A slot held counts
      // something, so with no decrements p is above 0.
      if (rest[i + 2] !== 0 || rest[i + 3] !== 0) return -1;
      rids[j] = rest[i] as ReplicaId;
      ps[j] = p;
    }
    return k;
  }

  /** A delta holding only the given replicas' slots and floors (what a keyspace sends after incrementInPlace). */
  slice(replicas: Iterable<ReplicaId>): this {
    const out = this.empty();
    for (const r of replicas) this.copyInto(out, r);
    return out;
  }

  /** `slice([r])` without the iterable: the delta of a local increment. */
  protected sliceOne(r: ReplicaId): this {
    const out = this.empty();
    this.copyInto(out, r);
    return out;
  }

  /** Merges replica `r`'s slot, if this counter holds one, into `out`. */
  private copyInto(out: CounterBase, r: ReplicaId): void {
    const i = this.indexOf(r);
    if (i === HEAD) out.mergeFields(r, this.p, this.fp, this.n, this.fn);
    else if (i !== NONE) {
      const rest = this.rest as Rest;
      out.mergeFields(r, rest[i + 1] as number, rest[i + 2] as number, rest[i + 3] as number, rest[i + 4] as number);
    }
  }

  /**
   * This counter in parts that each encode to at most `maxBytes` and merge independently: joined
   * into any state, in any order, they give exactly what joining this counter gives. The unit is
   * one replica's slot with its floors (merge is slot-wise max, so any set of slots is a smaller
   * state; a floor travels with its slot, so no part resurrects what a reset removed). Slots above
   * their floors come first, so the first parts carry the live counts; a part of reset slots only
   * does not exist (`exists()` false), like the delta of a reset. Returns `[this]` when the whole
   * fits; undefined only when one slot with its header cannot fit (at most 292 bytes).
   */
  split(maxBytes: number): this[] | undefined {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${String(maxBytes)}`);
    if (this.encode().length <= maxBytes) return [this];
    const two = this.lanes() === 2;
    const live = (s: CounterSlot): boolean => s.p > s.fp || s.n > s.fn;
    const slots = this.sorted().sort((a, b) => Number(live(b)) - Number(live(a))); // stable: ids stay sorted within each group
    const parts: this[] = [];
    let ids: ReplicaId[] = [];
    let bytes = 0;
    for (const s of slots) {
      const pk = slotKind(s.p, s.fp);
      const nk = slotKind(s.n, s.fn);
      const idLen = idBytes(s.id).length;
      const cost = uvarintSize(idLen * (two ? 16 : 4) + (two ? pk * 4 + nk : pk)) + idLen + slotSize(pk, s.p, s.fp) + slotSize(nk, s.n, s.fn);
      if (2 + uvarintSize(ids.length + 1) + bytes + cost > maxBytes) {
        if (ids.length === 0) return undefined;
        parts.push(this.slice(ids));
        ids = [];
        bytes = 0;
        if (3 + cost > maxBytes) return undefined;
      }
      ids.push(s.id);
      bytes += cost;
    }
    if (ids.length > 0) parts.push(this.slice(ids));
    return parts.length > 0 ? parts : undefined; // an empty counter larger than maxBytes
  }

  clone(): this {
    const out = this.empty();
    out.copyStateOf(this);
    return out;
  }

  /** Same slots and floors, whatever the insertion order. */
  equals(other: this): boolean {
    if (this.replicaCount() !== other.replicaCount()) return false;
    for (const s of this.list()) {
      const i = other.indexOf(s.id);
      if (i === NONE) return false;
      const o = other.slotAt(i);
      if (o.p !== s.p || o.fp !== s.fp || o.n !== s.n || o.fn !== s.fn) return false;
    }
    return true;
  }

  /**
   * Approximate in-memory bytes: the object with its first slot, the array of its floors and other
   * slots if any (its header, two cells and five per slot) and its index past SCANNED_SLOTS, and
   * every slot's id.
   */
  byteSize(): number {
    const rest = this.rest;
    let bytes = oneSlotCounterBytes(this.rid);
    if (rest === undefined) return bytes;
    const slots = (rest.length - BASE) / STRIDE;
    bytes += 48 + 8 * rest.length + (slots > SCANNED_SLOTS ? 96 + 16 * slots : 0);
    for (let i = BASE; i < rest.length; i += STRIDE) bytes += (rest[i] as ReplicaId).length;
    return bytes;
  }

  /**
   * `[CODEC_VERSION][tag][count uvarint]`, then per replica in sorted id order:
   * `[head uvarint][id UTF-8][P fields][N fields]`, head = idBytes << 2 | pKind for a GCounter and
   * idBytes << 4 | pKind << 2 | nKind for a PNCounter (kinds: see the codec helpers above).
   */
  encode(): Uint8Array {
    return this.writeState(scratch.reset()).finish();
  }

  /** Appends `encode()`'s bytes to `w`, without building them apart (into a commit's record, or a Delta's states). */
  encodeInto(w: ByteWriter): void {
    this.writeState(w);
  }

  /**
   * `hash64Bytes(this.encode())` without building the bytes (the state digest hashes every changed
   * key's encoding: a copy of it per key was garbage at once); `hash64Lo()` then gives the low word.
   */
  encodingHash(): number {
    return this.writeState(scratch.reset()).hash();
  }

  /** Writes the codec form (`encode`) to `w`. */
  private writeState(w: ByteWriter): ByteWriter {
    const two = this.lanes() === 2;
    const rest = this.rest;
    // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent but for speed, the sorted list of one slot writes the same bytes
    if (rest === undefined) {
      // At most one slot (most keys): no list to sort.
      w.u8(CODEC_VERSION).u8(this.tag()).uvarint(this.rid === '' ? 0 : 1);
      if (this.rid !== '') this.writeSlotEntry(w, this.rid, this.p, this.fp, this.n, this.fn, two);
      return w;
    }
    // Stryker disable next-line ArithmeticOperator: equivalent but for speed, a count too large takes the sorted list, which writes the same bytes
    const n = (rest.length - BASE) / STRIDE + 1;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator,BlockStatement: equivalent but for speed, either way of sorting writes the same bytes
    if (n > SCANNED_SLOTS + 1) {
      const slots = this.sorted();
      w.u8(CODEC_VERSION).u8(this.tag()).uvarint(slots.length);
      for (const s of slots) this.writeSlotEntry(w, s.id, s.p, s.fp, s.n, s.fn, two);
      return w;
    }
    // Up to SCANNED_SLOTS + 1 slots: their offsets sorted by id by insertion into the reused `order`,
    // not a new list and Array.prototype.sort (whose work arrays were a quarter of what a node
    // allocated while three writers updated a million keys, bench scale).
    order[0] = HEAD;
    // Stryker disable next-line EqualityOperator: equivalent, one more pass places an undefined id past the n offsets written
    for (let k = 1; k < n; k++) {
      const at = BASE + (k - 1) * STRIDE;
      const id = rest[at] as ReplicaId;
      let j = k - 1;
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, order[-1] is undefined, whose id compares false; ids are never equal
      while (j >= 0 && this.idAt(order[j] as number) > id) {
        order[j + 1] = order[j] as number;
        j--;
      }
      order[j + 1] = at;
    }
    w.u8(CODEC_VERSION).u8(this.tag()).uvarint(n);
    for (let k = 0; k < n; k++) {
      const i = order[k] as number;
      if (i === HEAD) this.writeSlotEntry(w, this.rid, this.p, this.fp, this.n, this.fn, two);
      else this.writeSlotEntry(w, rest[i] as ReplicaId, rest[i + 1] as number, rest[i + 2] as number, rest[i + 3] as number, rest[i + 4] as number, two);
    }
    return w;
  }

  private writeSlotEntry(w: ByteWriter, id: ReplicaId, p: number, fp: number, n: number, fn: number, two: boolean): void {
    writeSlotEntry(w, id, p, fp, n, fn, two);
  }

  /** Decodes untrusted bytes into `out` (empty). Never throws; malformed or non-canonical input is an error. */
  protected static decodeInto<T extends CounterBase>(out: T, bytes: Uint8Array, name: string): Result<T, CrdtError> {
    const e = CounterBase.readInto(out, bytes, name);
    return e === undefined ? ok(out) : err(e);
  }

  /**
   * `decodeInto` without a Result: undefined once `out` holds the state, else the error. With one
   * reader for every decode, a counter received costs its own objects only (registry.ts, `decodeState`).
   */
  protected static readInto(out: CounterBase, bytes: Uint8Array, name: string): CrdtError | undefined {
    const r = reader.reset(bytes);
    const count = readHeader(r, out.tag(), name);
    if (typeof count !== 'number') return count;
    const two = out.lanes() === 2;
    const maxHead = MAX_REPLICA_ID_BYTES * (two ? 16 : 4) + (two ? 15 : 3);
    let prev: string | undefined;
    for (let i = 0; i < count && !r.failed; i++) {
      const h = r.uvarint();
      // Stryker disable next-line ConditionalExpression: equivalent, a failed reader keeps its first reason and the id read below is undefined
      if (r.failed) break;
      if (h > maxHead) r.fail('entry head out of range');
      const pk = (two ? (h >>> 2) & 3 : h & 3) as SlotKind;
      const nk = (two ? h & 3 : 0) as SlotKind;
      if (pk === 0 && nk === 0) r.fail('empty entry');
      const id = r.failed ? undefined : readId(r, h >>> (two ? 4 : 2), prev);
      if (id === undefined) break;
      const p = readSlot(r, pk);
      const fp = slotRead.floor;
      const n = readSlot(r, nk);
      // Stryker disable next-line ConditionalExpression: equivalent but for work, a failed reader ends the loop and `out` is dropped (merging zeros or a slot read before the failure changes nothing that is kept)
      if (r.failed) break;
      out.mergeFields(id, p, fp, n, slotRead.floor);
      prev = id;
    }
    if (!r.failed && r.remaining > 0) r.fail(`${r.remaining} trailing bytes`);
    const e = r.failed ? readerError(r, name) : undefined;
    reader.reset(NOTHING); // holds no frame alive
    return e;
  }

  /**
   * Folds replica `from`'s slot into replica `into`'s: `into`'s slot and floors become the sums of the
   * two, and `from`'s slot is gone; the value is unchanged. This commutes with merge only under the
   * conditions of docs/crdt-counters.md, "Retired slots": every state that can still meet this one is
   * at least a state every member held, in which `from` was retired (replication/slot-folds.ts
   * decides when). Returns false, changing
   * nothing, if `from` holds no slot, `from === into`, or a sum would pass 2^53-1. An invalid `into`
   * id is misuse and throws.
   */
  foldSlot(from: ReplicaId, into: ReplicaId): boolean {
    if (from === into) return false;
    const si = this.indexOf(from);
    if (si === NONE) return false;
    const s = this.slotAt(si);
    const ti = this.indexOf(into);
    const t = ti === NONE ? undefined : this.slotAt(ti);
    const p = (t?.p ?? 0) + s.p;
    const n = (t?.n ?? 0) + s.n;
    // Floors are at most their slots, so their sums fit when the slots' do.
    if (p > COUNTER_MAX || n > COUNTER_MAX) return false;
    // Stryker disable next-line ConditionalExpression: equivalent but for work, a slot the counter holds has a valid id
    if (t === undefined) assertReplicaId(into);
    const fp = (t?.fp ?? 0) + s.fp;
    const fn = (t?.fn ?? 0) + s.fn;
    if (si === HEAD) {
      // Another slot (`into`'s, perhaps) takes the first place: its cells move into this object.
      const rest = this.rest;
      if (rest === undefined || rest.length === BASE) this.setHead('', 0, 0, 0, 0);
      else {
        this.setHead(rest[BASE] as ReplicaId, rest[BASE + 1] as number, rest[BASE + 2] as number, rest[BASE + 3] as number, rest[BASE + 4] as number);
        this.removeRest(BASE);
      }
    } else {
      this.removeRest(si);
    }
    // Found again: the slots may have moved.
    const ii = this.indexOf(into);
    if (ii !== NONE) this.setAt(ii, p, fp, n, fn);
    else if (this.rid === '') this.setHead(into, p, fp, n, fn);
    else this.addRest(into, p, fp, n, fn);
    // The value is kept: (p_t + p_s) - (fp_t + fp_s) = (p_t - fp_t) + (p_s - fp_s), and likewise for n.
    return true;
  }

  /** Raises every floor to its slot. */
  resetInPlace(): void {
    this.setFloors(this.p, this.n);
    const rest = this.rest;
    if (rest === undefined) return;
    for (let i = BASE; i < rest.length; i += STRIDE) {
      rest[i + 2] = rest[i + 1] as number;
      rest[i + 4] = rest[i + 3] as number;
    }
  }

  /** The slot replica `r` writes locally, created if absent (id checked then), moved to the first place (`this`). */
  protected localSlot(r: ReplicaId): LocalSlot {
    if (this.rid === r && r !== '') return this.head();
    const rest = this.rest;
    const i = this.restIndexOf(r);
    if (rest !== undefined && i !== NONE) {
      // The first slot is held whenever `rest` is: the two swap places.
      const id = this.rid;
      const p = this.p;
      const fp = this.fp;
      const n = this.n;
      const fn = this.fn;
      this.setHead(r, rest[i + 1] as number, rest[i + 2] as number, rest[i + 3] as number, rest[i + 4] as number);
      rest[i] = id;
      rest[i + 1] = p;
      rest[i + 2] = fp;
      rest[i + 3] = n;
      rest[i + 4] = fn;
      const index = bigIndexes.get(rest);
      if (index !== undefined) {
        index.delete(r);
        index.set(id, i);
      }
      return this.head();
    }
    assertReplicaId(r);
    if (this.rid !== '') this.addRest(this.rid, this.p, this.fp, this.n, this.fn);
    this.setHead(r, 0, 0, 0, 0);
    return this.head();
  }

  /** The first slot's counts: this object, seen as them (no copy on the write path). */
  protected head(): LocalSlot {
    return this as unknown as LocalSlot;
  }

  private setHead(id: ReplicaId, p: number, fp: number, n: number, fn: number): void {
    this.rid = id;
    this.p = p;
    this.n = n;
    this.setFloors(fp, fn);
  }

  /** Where replica `r`'s slot is: HEAD, its offset in `rest`, or NONE. */
  private indexOf(r: ReplicaId): number {
    if (this.rid === r && r !== '') return HEAD;
    return this.restIndexOf(r);
  }

  /** The offset of replica `r`'s slot in `rest`, or NONE. */
  private restIndexOf(r: ReplicaId): number {
    const rest = this.rest;
    if (rest === undefined) return NONE;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: equivalent but for speed, the index and the search find the same slot
    if (rest.length - BASE > STRIDE * SCANNED_SLOTS) return bigIndex(rest).get(r) ?? NONE;
    // Stryker disable next-line EqualityOperator: equivalent, past the end the cell reads undefined, never an id
    for (let i = BASE; i < rest.length; i += STRIDE) if (rest[i] === r) return i;
    return NONE;
  }

  /** The id of the slot at `i` (HEAD or an offset in `rest`). */
  private idAt(i: number): ReplicaId {
    return i === HEAD ? this.rid : ((this.rest as Rest)[i] as ReplicaId);
  }

  /** A copy of the slot at `i` (HEAD or an offset in `rest`). */
  private slotAt(i: number): CounterSlot {
    if (i === HEAD) return { id: this.rid, p: this.p, fp: this.fp, n: this.n, fn: this.fn };
    const rest = this.rest as Rest;
    return { id: rest[i] as ReplicaId, p: rest[i + 1] as number, fp: rest[i + 2] as number, n: rest[i + 3] as number, fn: rest[i + 4] as number };
  }

  /** Sets the counts of the slot at `i` (HEAD or an offset in `rest`). */
  private setAt(i: number, p: number, fp: number, n: number, fn: number): void {
    if (i === HEAD) {
      this.p = p;
      this.n = n;
      this.setFloors(fp, fn);
      return;
    }
    const rest = this.rest as Rest;
    rest[i + 1] = p;
    rest[i + 2] = fp;
    rest[i + 3] = n;
    rest[i + 4] = fn;
  }

  /**
   * Adds a slot at the end of `rest`: a new array of exactly the new length (a push would reserve
   * room for more) up to SCANNED_SLOTS slots, then pushed (and indexed).
   */
  private addRest(id: ReplicaId, p: number, fp: number, n: number, fn: number): void {
    const rest = this.rest;
    if (rest === undefined) {
      this.rest = [0, 0, id, p, fp, n, fn];
      return;
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator,BlockStatement: equivalent but for memory, a new array or a push hold the same cells
    if (rest.length - BASE < STRIDE * SCANNED_SLOTS) {
      this.rest = rest.concat(id, p, fp, n, fn);
      return;
    }
    rest.push(id, p, fp, n, fn);
    bigIndexes.get(rest)?.set(id, rest.length - STRIDE);
  }

  /** Removes the slot at offset `i` of `rest` (undefined when neither another slot nor a floor of the first is left). */
  private removeRest(i: number): void {
    const rest = this.rest as Rest;
    // Stryker disable next-line ConditionalExpression,ArithmeticOperator: equivalent but for memory, foldSlot (the only caller) sets the first slot's floors next, and setFloors drops an array left with zero floors alone
    if (rest.length === BASE + STRIDE) {
      this.rest = undefined;
      this.setFloors(rest[0] as number, rest[1] as number);
    } else {
      this.rest = rest.slice(0, i).concat(rest.slice(i + STRIDE));
    }
  }

  /** Copies of every slot, the first one first. */
  private list(): CounterSlot[] {
    const out: CounterSlot[] = this.rid !== '' ? [this.slotAt(HEAD)] : [];
    const rest = this.rest;
    if (rest !== undefined) for (let i = BASE; i < rest.length; i += STRIDE) out.push(this.slotAt(i));
    return out;
  }

  /** Copies of every slot, sorted by id. */
  private sorted(): CounterSlot[] {
    // Stryker disable next-line EqualityOperator: equivalent, a counter's ids are never equal
    return this.list().sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /**
   * Pointwise max of one valid slot (replica `id`'s counts) into this counter; slot = max(slot,
   * floor) (a floor proves it). Returns whether anything changed.
   */
  private mergeFields(id: ReplicaId, op: number, ofp: number, on: number, ofn: number): boolean {
    let i = this.indexOf(id);
    if (i === NONE) {
      // Stryker disable next-line BooleanLiteral: no caller reads the result for an all-zero slot (only mergeSlot passes one, and it returns void)
      if (op === 0 && on === 0) return false; // all-zero: no entry
      if (this.rid === '') {
        this.rid = id;
        i = HEAD;
      } else {
        this.addRest(id, 0, 0, 0, 0);
        i = (this.rest as Rest).length - STRIDE;
      }
    }
    const rest = this.rest as Rest;
    const sp = i === HEAD ? this.p : (rest[i + 1] as number);
    const sfp = i === HEAD ? this.fp : (rest[i + 2] as number);
    const sn = i === HEAD ? this.n : (rest[i + 3] as number);
    const sfn = i === HEAD ? this.fn : (rest[i + 4] as number);
    const fp = Math.max(sfp, ofp);
    const p = Math.max(sp, op, fp);
    const fn = Math.max(sfn, ofn);
    const n = Math.max(sn, on, fn);
    if (p === sp && fp === sfp && n === sn && fn === sfn) return false;
    this.setAt(i, p, fp, n, fn);
    return true;
  }
}

/** The index of a long `rest` (`bigIndexes`), built if it has none. */
function bigIndex(rest: Rest): Map<ReplicaId, number> {
  let index = bigIndexes.get(rest);
  // Stryker disable next-line ConditionalExpression: equivalent but for work, an index built again holds the same
  if (index === undefined) {
    index = new Map();
    // Stryker disable next-line EqualityOperator: equivalent, past the end the cell reads undefined, never looked up
    for (let i = BASE; i < rest.length; i += STRIDE) index.set(rest[i] as ReplicaId, i);
    bigIndexes.set(rest, index);
  }
  return index;
}
