// The slots of compact keys (key-table.ts, "compact keys"; docs/crdt-counters.md): a compact key's
// slot cells (key-columns.ts, one per writer, up to three) name their writers' replica ids by their
// index in this list, times two, plus one for a G-Counter. What a compact key's cells and counts stand
// for, read one way for every use: its type, tag and writers, its encoding, its digest hash, its
// byte estimate, its entry. Pure: no I/O, no clock.

import { ByteWriter, TypeTag } from '../crdt/codec.js';
import { plainCounterHash, writePlainCounter } from '../crdt/counter-codec.js';
import { plainCounterBytes } from '../crdt/counter-base.js';
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

  /** The ids of `cells[0..k)`, into a list reused by every call. */
  private ridsOf(cells: readonly number[], k: number): ReplicaId[] {
    const out = this.rids1;
    // Stryker disable next-line EqualityOperator: equivalent, a cell past k is never read
    for (let i = 0; i < k; i++) out[i] = this.ridOf(cells[i] as number);
    return out;
  }
  // Stryker disable next-line ArrayDeclaration: equivalent, every cell read is written first
  private readonly rids1: ReplicaId[] = [];

  /**
   * Appends the encoding of the counter of the `k` slots `cells[0..k)` holding `counts[0..k)` (one
   * type: the first cell's) to `w`; returns its tag.
   */
  writeInto(w: ByteWriter, cells: readonly number[], counts: readonly number[], k: number): number {
    const tag = CompactSlots.tagOf(cells[0] as number);
    writePlainCounter(w, tag, this.ridsOf(cells, k), counts, k);
    return tag;
  }

  /** The wire form of that counter. */
  encode(cells: readonly number[], counts: readonly number[], k: number): { tag: number; bytes: Uint8Array } {
    const w = new ByteWriter(24);
    const tag = this.writeInto(w, cells, counts, k);
    return { tag, bytes: w.finish() };
  }

  /** The high word of its encoding's hash (`hash64Lo()` then gives the low word). */
  hash(cells: readonly number[], counts: readonly number[], k: number): number {
    return plainCounterHash(CompactSlots.tagOf(cells[0] as number), this.ridsOf(cells, k), counts, k);
  }

  /** Its `byteSize()` (crdt/counter-base.ts). */
  bytes(cells: readonly number[], k: number): number {
    let chars = 0;
    for (let i = 0; i < k; i++) chars += this.ridOf(cells[i] as number).length;
    return plainCounterBytes(k, chars);
  }

  /** An entry of that counter (counts in [1, COMPACT_MAX] under valid ids: the increments cannot fail). */
  entry(cells: readonly number[], counts: readonly number[], k: number): Entry {
    const e = newCounter(CompactSlots.typeOf(cells[0] as number));
    for (let i = 0; i < k; i++) e.crdt.incrementInPlace(this.ridOf(cells[i] as number), counts[i] as number);
    return e;
  }
}
