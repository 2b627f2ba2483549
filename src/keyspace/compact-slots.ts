// The slots of compact keys (key-table.ts, "compact keys"; docs/crdt-counters.md): a compact key's
// slot cell (key-columns.ts) names its writer's replica id by its index in this list, times two,
// plus one for a G-Counter. What a compact key's cell and count stand for, read one way for every
// use: its type, tag and writer, its encoding, its digest hash, its entry. Pure: no I/O, no clock.

import { ByteWriter, TypeTag } from '../crdt/codec.js';
import { oneSlotCounterHash, writeOneSlotCounter } from '../crdt/g-counter.js';
import type { ReplicaId } from '../crdt/replica-id.js';
import { newCounter } from './entries.js';
import type { Entry } from './types.js';

/** Replica ids a list holds at most: an index times two, plus one, fits a 16-bit cell. */
const MAX_IDS = 0x8000;

export class CompactSlots {
  // Stryker disable next-line ArrayDeclaration: equivalent, the indexes are the list's own (a list that starts with a cell more gives others)
  private readonly rids: ReplicaId[] = [];
  private readonly index = new Map<ReplicaId, number>();
  /** The id the last `cellOf` looked up, and its cell: a peer's keys arrive by the thousand from one writer. */
  // Stryker disable next-line StringLiteral: equivalent, no replica id is '' or any other invalid id, so the first lookup never hits
  private lastRid: ReplicaId = '';
  // Stryker disable next-line UnaryOperator: equivalent, read only after a lookup set it
  private lastCell = -1;

  /** The cell of replica id `rid` for a PN-Counter (+1 for a G-Counter), added to the list if new; -1 if the list is full. */
  cellOf(rid: ReplicaId): number {
    // Stryker disable next-line ConditionalExpression: equivalent but for work, the Map gives the same cell
    if (rid === this.lastRid) return this.lastCell;
    let i = this.index.get(rid);
    if (i === undefined) {
      // Stryker disable next-line ConditionalExpression,EqualityOperator,UnaryOperator: a guard for 32,768 writer incarnations seen by one process
      if (this.rids.length >= MAX_IDS) return -1;
      i = this.rids.length;
      this.rids.push(rid);
      this.index.set(rid, i);
    }
    this.lastRid = rid;
    return (this.lastCell = i * 2);
  }

  /** The writer of the slot `cell` names. */
  ridOf(cell: number): ReplicaId {
    return this.rids[cell >> 1] as ReplicaId;
  }

  /** The type a cell names. */
  static typeOf(cell: number): 'pncounter' | 'gcounter' {
    return (cell & 1) === 1 ? 'gcounter' : 'pncounter';
  }

  /** The type tag a cell names. */
  static tagOf(cell: number): typeof TypeTag.GCounter | typeof TypeTag.PNCounter {
    return (cell & 1) === 1 ? TypeTag.GCounter : TypeTag.PNCounter;
  }

  /** Appends the encoding of the counter of `cell` holding `count` to `w`; returns its tag. */
  writeInto(w: ByteWriter, cell: number, count: number): number {
    const tag = CompactSlots.tagOf(cell);
    writeOneSlotCounter(w, tag, this.ridOf(cell), count);
    return tag;
  }

  /** The wire form of the counter of `cell` holding `count`. */
  encode(cell: number, count: number): { tag: number; bytes: Uint8Array } {
    const w = new ByteWriter(24);
    const tag = this.writeInto(w, cell, count);
    return { tag, bytes: w.finish() };
  }

  /** The high word of its encoding's hash (`hash64Lo()` then gives the low word). */
  hash(cell: number, count: number): number {
    return oneSlotCounterHash(CompactSlots.tagOf(cell), this.ridOf(cell), count);
  }

  /** An entry of the counter of `cell` holding `count` (a count in [1, COMPACT_MAX] under a valid id: the increment cannot fail). */
  entry(cell: number, count: number): Entry {
    const e = newCounter(CompactSlots.typeOf(cell));
    e.crdt.incrementInPlace(this.ridOf(cell), count);
    return e;
  }
}
