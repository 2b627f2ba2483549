// The state of compact keys (key-table.ts, "compact keys"; docs/crdt-counters.md): a counter key of
// one to COMPACT_SLOTS plain slots (above 0, within COMPACT_MAX, no floors, no decrements) held with
// no entry, its slots' cells and counts in the table's columns by the key's id (key-columns.ts), its
// writers named through the table's list of replica ids (compact-slots.ts). This is everything read
// from or written to those cells: what state a compact key holds, which states one can hold, and the
// changes that keep a key compact (a merge, our increment). The table keeps the rest: the index, the
// listeners, when a key is made compact or an entry. Pure: no I/O, no clock.

import type { ByteWriter } from '../crdt/codec.js';
import { hash64Lo } from '../crdt/hash64.js';
import type { ReplicaId } from '../crdt/replica-id.js';
import type { TypedCrdt } from '../crdt/registry.js';
import { CompactSlots } from './compact-slots.js';
import { COMPACT_MAX, COMPACT_SLOTS, type KeyColumns } from './key-columns.js';
import type { StateHash } from './state-digest.js';
import type { Entry } from './types.js';

export class CompactKeys {
  /** The replica ids compact keys' slots name. */
  private readonly slots = new CompactSlots();
  /** A compact key's slot cells and counts, as `read` and `stateOf` leave them (reused). */
  // Stryker disable next-line ArrayDeclaration: equivalent, every cell read is written first
  private readonly cells: number[] = [];
  // Stryker disable next-line ArrayDeclaration: equivalent, every cell read is written first
  private readonly counts: number[] = [];
  // Stryker disable next-line ArrayDeclaration: equivalent, every cell read is written first
  private readonly ridsIn: ReplicaId[] = [];

  constructor(private readonly columns: KeyColumns) {}

  /** The slot cell of replica id `rid` for a PN-Counter (+1 for a G-Counter), or -1 if the list of ids is full. */
  cellOf(rid: ReplicaId): number {
    return this.slots.cellOf(rid);
  }

  /** Reads the slots of the compact key holding `id` into `cells` and `counts`; returns how many. */
  private read(id: number): number {
    const k = this.columns.compactWidth(id);
    for (let j = 0; j < k; j++) {
      this.cells[j] = this.columns.compactSlotAt(id, j);
      this.counts[j] = this.columns.compactCountAt(id, j);
    }
    return k;
  }

  /** The replica ids of the compact key holding `id`'s slots (a new list). */
  ridsOf(id: number): ReplicaId[] {
    const k = this.columns.compactWidth(id);
    // Stryker disable next-line ArrayDeclaration: equivalent, a fold names retired replica ids only, never one more string in the list
    const out: ReplicaId[] = [];
    for (let j = 0; j < k; j++) out.push(this.slots.ridOf(this.columns.compactSlotAt(id, j)));
    return out;
  }

  /** Adds the replica ids of the compact key holding `id`'s slots to `out`. */
  addIdsTo(id: number, out: Set<ReplicaId>): void {
    const k = this.columns.compactWidth(id);
    for (let j = 0; j < k; j++) out.add(this.slots.ridOf(this.columns.compactSlotAt(id, j)));
  }

  /** The type of the compact key holding `id` (its slots' cells all name the same). */
  typeOf(id: number): 'pncounter' | 'gcounter' {
    return CompactSlots.typeOf(this.columns.compactSlot(id));
  }

  /** The value of the compact key holding `id`: the sum of its slots' counts. */
  valueOf(id: number): number {
    const k = this.columns.compactWidth(id);
    let v = this.columns.compactCount(id);
    for (let j = 1; j < k; j++) v += this.columns.compactCountAt(id, j);
    return v;
  }

  /**
   * The state a compact key holding state `s` would have, kept for `set` or `merge`: `s` a G- or
   * PN-Counter of one to COMPACT_SLOTS slots, each above 0 and within COMPACT_MAX, with no floors and
   * no decrements. Returns how many slots, else -1.
   */
  stateOf(s: TypedCrdt): number {
    if (s.type !== 'pncounter' && s.type !== 'gcounter') return -1;
    const rids = this.ridsIn;
    // (-1 passes through the loop below untouched.)
    const k = s.crdt.plainSlotsInto(COMPACT_SLOTS, rids, this.counts);
    const g = s.type === 'gcounter' ? 1 : 0;
    // Stryker disable next-line EqualityOperator: equivalent but for work, a cell past k is never read (its id, one that some call read or undefined, is only listed)
    for (let j = 0; j < k; j++) {
      if ((this.counts[j] as number) > COMPACT_MAX) return -1;
      const base = this.slots.cellOf(rids[j] as ReplicaId);
      // Stryker disable next-line ConditionalExpression,UnaryOperator: a guard for 32,768 writer incarnations seen by one process
      if (base < 0) return -1;
      this.cells[j] = base + g;
    }
    return k;
  }

  /** Makes `id` (not compact) the compact key of the `k` slots `stateOf` kept. */
  set(id: number, k: number): void {
    this.columns.setCompact(id, this.counts[0] as number, this.cells[0] as number);
    for (let j = 1; j < k; j++) this.columns.addCompactSlot(id, this.cells[j] as number, this.counts[j] as number);
  }

  /**
   * Merges the `k` slots `stateOf` kept into the compact key holding `id`, if it stays compact: the
   * same type, and at most COMPACT_SLOTS slots between the two (each count becomes the larger, a slot
   * only the state holds is added). Returns whether it changed, or undefined (nothing changed: the
   * entry's way).
   */
  merge(id: number, k: number): boolean | undefined {
    const cols = this.columns;
    // Another type: the entry's way (a clash of types).
    if (((cols.compactSlot(id) ^ (this.cells[0] as number)) & 1) !== 0) return undefined;
    const width = cols.compactWidth(id);
    // The slots only the state holds: none may be added past COMPACT_SLOTS, or nothing changes here.
    let added = 0;
    for (let i = 0; i < k; i++) if (this.slotIndex(id, width, this.cells[i] as number) < 0) added++;
    if (width + added > COMPACT_SLOTS) return undefined;
    let changed = false;
    for (let i = 0; i < k; i++) {
      const cell = this.cells[i] as number;
      const p = this.counts[i] as number;
      const j = this.slotIndex(id, width, cell);
      if (j < 0) {
        cols.addCompactSlot(id, cell, p);
        changed = true;
      } else if (p > cols.compactCountAt(id, j)) {
        cols.setCompactCountAt(id, j, p);
        changed = true;
      }
    }
    return changed;
  }

  /** Which of the first `width` slots of the compact key holding `id` is `cell`'s writer's (-1: none). */
  private slotIndex(id: number, width: number, cell: number): number {
    for (let j = 0; j < width; j++) if (this.columns.compactSlotAt(id, j) >> 1 === cell >> 1) return j;
    return -1;
  }

  /**
   * Adds `n` (above 0, a safe integer) to the slot of cell `own` (ours) in the compact key holding
   * `id` (`key`), if it stays compact: our slot the key's, or one it has room for where `mayAdd(key)`
   * (no base for it: asked only then, not on every INCR), its count within COMPACT_MAX (2^32-1).
   * Returns the new value, or undefined (nothing changed: the entry's way).
   */
  incr(id: number, key: string, own: number, n: number, mayAdd: (key: string) => boolean): number | undefined {
    const cols = this.columns;
    // Our slot first, the only one of every key only this node writes: a lookup less on every INCR
    // (75 against 66 ns an INCRBY in process without it).
    // Stryker disable next-line ConditionalExpression: equivalent but for speed, the search below finds the first slot too
    if (cols.compactSlot(id) >> 1 === own >> 1) {
      const v = cols.compactCount(id) + n;
      // Past a compact cell: the entry's way, which holds it or refuses it.
      if (!(v <= COMPACT_MAX)) return undefined;
      cols.setCompactCount(id, v);
      return cols.compactWidth(id) === 1 ? v : this.valueOf(id);
    }
    const width = cols.compactWidth(id);
    // Our slot past the first, or a new one.
    const j = this.slotIndex(id, width, own);
    // Stryker disable next-line EqualityOperator: equivalent, the first slot is not ours here, so j is never 0
    if (j >= 0) {
      const v = cols.compactCountAt(id, j) + n;
      if (!(v <= COMPACT_MAX)) return undefined;
      cols.setCompactCountAt(id, j, v);
    } else {
      // A slot of ours that is new: room for it, a count within a cell, no base (a key this node
      // wrote before a collection of its tombstone starts our slot at its base: the entry's way).
      // Stryker disable next-line ConditionalExpression,UnaryOperator: a guard for 32,768 writer incarnations seen by one process
      if (width >= COMPACT_SLOTS || !(n <= COMPACT_MAX) || own < 0 || !mayAdd(key)) return undefined;
      cols.addCompactSlot(id, own + (cols.compactSlot(id) & 1), n);
    }
    return this.valueOf(id);
  }

  /** The wire form of the compact key holding `id`. */
  encode(id: number): { tag: number; bytes: Uint8Array } {
    return this.slots.encode(this.cells, this.counts, this.read(id));
  }

  /** Appends the encoding of the compact key holding `id` to `w`; returns its tag. */
  writeInto(id: number, w: ByteWriter): number {
    return this.slots.writeInto(w, this.cells, this.counts, this.read(id));
  }

  /** The digest's hash of the compact key holding `id`, into `out`. */
  hashInto(id: number, out: StateHash): void {
    const k = this.read(id);
    out.tag = CompactSlots.tagOf(this.cells[0] as number);
    out.hi = this.slots.hash(this.cells, this.counts, k);
    out.lo = hash64Lo();
  }

  /** The `byteSize()` of the compact key holding `id`'s state. */
  bytesOf(id: number): number {
    return this.slots.bytes(this.cells, this.read(id));
  }

  /** An entry of the state of the compact key holding `id`: a counter of its slots. */
  entry(id: number): Entry {
    return this.slots.entry(this.cells, this.counts, this.read(id));
  }
}
