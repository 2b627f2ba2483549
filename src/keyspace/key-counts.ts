// The key table's counts (DBSIZE, INFO keyspace and memory, /metrics): live keys per database and
// per type, tombstones, counter slots and approximate bytes. Kept as running sums, each key's share
// stored by its id (key-columns.ts) and refolded with its digest share (state-digest.ts): a write only queues its
// key, and reading the counts folds in the keys changed since. Before, every read walked every key:
// about 200 ms per INFO or /metrics scrape at a million keys, during which the node answered nothing.

import { isLive, KEY_TYPES } from '../crdt/registry.js';
import { DATABASES } from './full-key.js';
import type { Entry, KeyType } from './types.js';
import type { KeyColumns } from './key-columns.js';

const TYPE_INDEX: ReadonlyMap<KeyType, number> = new Map(KEY_TYPES.map((t, i) => [t, i]));
// A share keeps the type index in 3 bits.
if (KEY_TYPES.length > 8) throw new Error(`key-counts.ts: ${KEY_TYPES.length} key types do not fit a share's 3 bits`);

/**
 * A key's share of the counts: live (1 bit), its visible type's index (3 bits), its counter slots.
 * Folded in for every key changed, so it makes no array of the key's states (40 bytes of garbage
 * and about 1% of a node's CPU per key changed under a bulk load, bench scale).
 */
function shareOf(e: Entry): number {
  let slots = e.type === 'pncounter' || e.type === 'gcounter' ? e.crdt.replicaCount() : 0;
  const others = e.others;
  if (others !== undefined) for (const s of others) if (s.type === 'pncounter' || s.type === 'gcounter') slots += s.crdt.replicaCount();
  return packShare(isLive(e), e.type, slots);
}

/** A share from its three parts. */
function packShare(live: boolean, type: KeyType, slots: number): number {
  return (live ? 1 : 0) + 2 * (TYPE_INDEX.get(type) as number) + 16 * slots;
}

/** The approximate bytes a key holds: its key as a JavaScript string, its entry, its first state's `stateBytes`. */
function keyBytes(key: string, stateBytes: number): number {
  return 48 + key.length * 2 + stateBytes;
}

/** The approximate bytes a key's entry holds (its key as a JavaScript string, its states). */
function bytesOf(key: string, e: Entry): number {
  // (A compact key counts what its entry would: `accountCompact`.)
  let n = keyBytes(key, e.crdt.byteSize());
  for (const o of e.others ?? []) n += 16 + o.crdt.byteSize();
  return n;
}

export class KeyCounts {
  private readonly liveByDb = new Array<number>(DATABASES).fill(0);
  private readonly liveByType = new Array<number>(KEY_TYPES.length).fill(0);
  private live = 0;
  private counted = 0;
  private slotSum = 0;
  private byteSum = 0;

  /** `columns`: where each key's shares are kept, by the key's id (its table's). */
  constructor(private readonly columns: KeyColumns) {}

  /** Folds in `key`'s current share (its entry `e`, held by the table), replacing the share last folded in. */
  account(key: string, e: Entry): void {
    this.put(key, e.id as number, shareOf(e), bytesOf(key, e));
  }

  /** `account` for a compact key (key-table.ts), held by `id`: a live counter of `type` with `slots` slots, whose `byteSize()` is `stateBytes`. */
  accountCompact(key: string, id: number, type: 'pncounter' | 'gcounter', slots: number, stateBytes: number): void {
    this.put(key, id, packShare(true, type, slots), keyBytes(key, stateBytes));
  }

  /** Replaces the share last folded in for the key held by `id` with `share` and `bytes`. */
  private put(key: string, id: number, share: number, bytes: number): void {
    this.removeId(key, id);
    this.add(key.charCodeAt(0), share, 1);
    this.byteSum += bytes;
    this.columns.setShares(id, share, bytes);
  }

  /** Takes `key`'s share out (its entry `e` leaves the table, or is about to be refolded). */
  remove(key: string, e: Entry): void {
    this.removeId(key, e.id as number);
  }

  /** `remove` of the key held by `id`. */
  private removeId(key: string, id: number): void {
    const share = this.columns.countsShare(id);
    if (share < 0) return;
    this.add(key.charCodeAt(0), share, -1);
    this.byteSum -= this.columns.bytesShare(id);
    // Stryker disable next-line UnaryOperator: equivalent in every flow, a key whose share is taken out leaves the table or is given its new share at once (account)
    this.columns.setShares(id, -1, 0);
  }

  private add(db: number, share: number, sign: 1 | -1): void {
    this.counted += sign;
    if ((share & 1) === 1) {
      this.live += sign;
      this.liveByDb[db] = (this.liveByDb[db] as number) + sign;
      const t = (share >>> 1) & 7;
      this.liveByType[t] = (this.liveByType[t] as number) + sign;
    }
    this.slotSum += sign * Math.floor(share / 16);
  }

  /** Live keys per database. */
  byDb(): number[] {
    return [...this.liveByDb];
  }

  /** Live keys per type. */
  byType(): Record<KeyType, number> {
    return Object.fromEntries(KEY_TYPES.map((t, i) => [t, this.liveByType[i] as number])) as Record<KeyType, number>;
  }

  /** Keys counted that do not exist (tombstones, empty epochs). */
  get tombstones(): number {
    return this.counted - this.live;
  }

  get slots(): number {
    return this.slotSum;
  }

  get bytes(): number {
    return this.byteSum;
  }
}
