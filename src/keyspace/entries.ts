// A key's entry (types.ts): its classes (a counter key's entry is its counter), and pure helpers
// over one: its states, the visible one, epochs of its life, and the size limits a key and its
// state must fit. No table here; key-table.ts and keyspace.ts use them.

import { GCounter } from '../crdt/g-counter.js';
import { CounterBase } from '../crdt/counter-base.js';
import { generalizeCountFields } from '../crdt/count-fields.js';
import { PNCounter } from '../crdt/pn-counter.js';
import { CrdtError } from '../crdt/errors.js';
import { decodeState, isLive, KEY_TYPES, MULTI_TAG, SPLIT_SAFE_BYTES, tagOf, type CounterReaders, type CrdtByType, type TypedCrdt } from '../crdt/registry.js';
import type { Entry, EntryOf, KeyType } from './types.js';
import { decodeWithLife, isNoLife, LIFE_TAG, NO_LIFE, type Life } from './life.js';

export type CounterEntry = EntryOf<'gcounter'> | EntryOf<'pncounter'>;

/** Where a write of one type goes: the key's state of that type, or a way to create it. */
export interface Slot<T extends KeyType> {
  readonly entry: EntryOf<T> | undefined;
  create(crdt: CrdtByType[T]): EntryOf<T>;
}

/**
 * The bit of `idType` that marks an entry no longer its key's: replaced by another entry, or dropped
 * with its key. Bit 31, so `idType` stays a 32-bit integer (a small integer in V8); the id and type
 * below it need 31 bits (MAX_KEY_ID).
 */
const SUPERSEDED = 0x80000000 | 0;
/** The id and type bits of `idType`. */
const ID_TYPE = 0x7fffffff;

/** Each key type's index in KEY_TYPES: what an entry keeps of its type, in 3 bits beside its id. */
const TYPE_INDEX = Object.fromEntries(KEY_TYPES.map((t, i) => [t, i])) as Record<KeyType, number>;
// Stryker disable next-line all: a guard for a future ninth type
if (KEY_TYPES.length > 8) throw new Error(`entries.ts: ${KEY_TYPES.length} key types do not fit an entry's 3 type bits`);
/**
 * Ids an entry can hold: `(id + 1) * 8 + type index` stays a 31-bit integer (a small integer in V8).
 * 268 million keys, far more than a node's memory holds.
 */
export const MAX_KEY_ID = 2 ** 28 - 2;

/** The side object of a key that holds other states beside its visible one (at least one), and its life if any. */
class Rare {
  constructor(
    readonly others: readonly TypedCrdt[],
    readonly life: Life | undefined,
  ) {}
}

/**
 * What a key's entry holds besides its state (types.ts, `Entry`), on top of `Base`: 3 fields. A
 * key's other states and its life are rare (a key that has held several types; a TTL or a later
 * epoch), so they share one field, absent for most keys: the life itself when the key has one
 * state, else a side object of both (`Rare`); the type is 3 bits beside the key's id, and the
 * superseded mark the bit above them (all small integers). What the table keeps of a key for its
 * digest and counts is kept by id, not here (key-columns.ts). Readers see the fields of `Entry`
 * through accessors. (With 9 plain properties an entry took 96 bytes, a quarter of what a one-slot
 * key cost a node; the type beside the id made room for the key, which lets the table reach an
 * entry from its id without a lookup by key; the shares packed together took 88 -> 80; the digest
 * and counts shares by id, 80 -> 56, for 12 bytes of columns.)
 *
 * A counter key's entry is its counter (`PNCounterEntry`, `GCounterEntry`): these fields on top of
 * the counter's own, one object per key where an entry and its counter were two (80 + 56 bytes ->
 * 104, then 80 with the shares by id: `npm run bench -- layout`). Every other entry holds its state
 * (`KeyEntry`).
 */
function withEntryFields<B extends abstract new (...args: any[]) => object>(Base: B) {
  abstract class EntryFields extends Base {
    /**
     * `(id + 1) * 8 + the type's index`, and SUPERSEDED: id -1 (not in a table) is 0 above the type.
     * The type is set once, by the class's constructor.
     */
    protected idType = 0;
    /** The key this entry is of, once a table holds it ('' before). */
    // Stryker disable next-line StringLiteral: equivalent, a table sets the key as it stores the entry, and only entries it holds are read by id
    key = '';
    /** Undefined for most keys; the life alone for a key with one state; else both (`Rare`). Set once, by the class's constructor. */
    protected rare: Rare | Life | undefined = undefined;

    get type(): KeyType {
      return KEY_TYPES[this.idType & 7] as KeyType;
    }

    get id(): number {
      return ((this.idType & ID_TYPE) >> 3) - 1;
    }

    set id(v: number) {
      this.idType = ((v + 1) << 3) | (this.idType & (SUPERSEDED | 7));
    }

    get others(): readonly TypedCrdt[] | undefined {
      const r = this.rare;
      return r instanceof Rare ? r.others : undefined;
    }

    get life(): Life | undefined {
      const r = this.rare;
      return r instanceof Rare ? r.life : r;
    }

    /** No longer its key's entry (key-table.ts `store` and tombstone collection set it, never clear it). */
    get superseded(): boolean {
      return (this.idType & SUPERSEDED) !== 0;
    }

    set superseded(v: boolean) {
      this.idType = v ? this.idType | SUPERSEDED : this.idType & ~SUPERSEDED;
    }
  }
  return EntryFields;
}

class Plain {}

/** The entry of a key whose visible state is not a counter (or is the husk's shared one): 4 fields, 56 heap bytes. */
class KeyEntry extends withEntryFields(Plain) {
  constructor(
    type: KeyType,
    readonly crdt: TypedCrdt['crdt'],
    rare: Rare | Life | undefined,
  ) {
    super();
    this.idType = TYPE_INDEX[type];
    this.rare = rare;
  }
}

/**
 * The entry of a PN-Counter key, which is the counter itself: made as a copy of the state it is
 * given (`copyStateOf`), so a write to it never reaches the state it was made from, nor the reverse.
 */
class PNCounterEntry extends withEntryFields(PNCounter) {
  constructor(rare: Rare | Life | undefined, from?: PNCounter) {
    super();
    this.idType = TYPE_INDEX.pncounter;
    this.rare = rare;
    if (from !== undefined) this.copyStateOf(from);
  }

  /** An entry no table holds yet, read from untrusted bytes as `PNCounter.read` reads them (`decodeForMerge`). */
  static readFrom(bytes: Uint8Array): PNCounterEntry | CrdtError {
    const out = new PNCounterEntry(undefined);
    return CounterBase.readInto(out, bytes, 'PNCounter') ?? out;
  }

  get crdt(): PNCounter {
    return this;
  }
}

/** The entry of a G-Counter key, likewise. */
class GCounterEntry extends withEntryFields(GCounter) {
  constructor(rare: Rare | Life | undefined, from?: GCounter) {
    super();
    this.idType = TYPE_INDEX.gcounter;
    this.rare = rare;
    if (from !== undefined) this.copyStateOf(from);
  }

  /** As `PNCounterEntry.readFrom`, for a G-Counter. */
  static readFrom(bytes: Uint8Array): GCounterEntry | CrdtError {
    const out = new GCounterEntry(undefined);
    return CounterBase.readInto(out, bytes, 'GCounter') ?? out;
  }

  get crdt(): GCounter {
    return this;
  }
}

// As every counter class (crdt/count-fields.ts, `generalizeCountFields`): one counter past 2^31 - 1 must not
// box the counts of every counter entry (`npm run bench -- layout`, "keyspace, one past 2^31").
generalizeCountFields(new PNCounterEntry(undefined));
generalizeCountFields(new GCounterEntry(undefined));

/**
 * A key's entry. Every entry is made here, of one of the three classes above (entries copied by
 * object spread, then given their digest fields, each had a hidden class of their own in V8, about
 * 216 heap bytes per key). A counter's entry is a copy of `crdt` (the caller writes to the entry's
 * `crdt` from then on); any other entry holds `crdt` itself, and so does the husk's (its one
 * shared, frozen state).
 */
export function makeEntry<T extends KeyType>(type: T, crdt: CrdtByType[T], others?: readonly TypedCrdt[], life?: Life): EntryOf<T> {
  const o = others === undefined || others.length === 0 ? undefined : others;
  const l = life === undefined || isNoLife(life) ? undefined : life;
  const rare = o !== undefined ? new Rare(o, l) : l === undefined ? undefined : sharedLife(l);
  let e: object;
  if (type === 'pncounter' && crdt !== HUSK_COUNTER) e = new PNCounterEntry(rare, crdt as PNCounter);
  else if (type === 'gcounter') e = new GCounterEntry(rare, crdt as GCounter);
  else e = new KeyEntry(type, crdt, rare);
  return e as unknown as EntryOf<T>;
}

/**
 * A key state received from a peer, decoded as `decodeState` decodes it (the same states and errors),
 * except that a counter is read straight into the entry a key new here takes (`entryFor`): a peer
 * catching up on a bulk load decoded each key's counter and then copied it into its entry.
 */
export function decodeForMerge(tag: number, bytes: Uint8Array): TypedCrdt | CrdtError {
  return decodeState(tag, bytes, ENTRY_READERS);
}

const ENTRY_READERS: CounterReaders = { pncounter: (b) => PNCounterEntry.readFrom(b), gcounter: (b) => GCounterEntry.readFrom(b) };

/** One key's state from a peer or the disk, decoded for `KeyTable.mergeDecoded`. */
export interface DecodedKey {
  readonly key: string;
  /**
   * The key's state: one typed CRDT (as itself, not in a list: nearly every key), or one per type
   * for a key that has held several. `mergeDecoded` takes either.
   */
  readonly states: TypedCrdt | readonly TypedCrdt[];
  /** Its epoch and TTL (life.ts). */
  readonly life: Life;
}

/**
 * `key`'s state of tag `tag` from untrusted bytes, as `decodeWithLife` decodes it (the same states
 * and errors), for a merge. A state of one type and no life (nearly every key of a catch-up or a
 * load from disk) is decoded alone, without the list and the two Results around it, and a counter
 * straight into the entry a new key takes (`decodeForMerge`).
 */
export function decodeKey(key: string, tag: number, bytes: Uint8Array): DecodedKey | CrdtError {
  if (tag !== MULTI_TAG && tag !== LIFE_TAG) {
    const one = decodeForMerge(tag, bytes);
    return one instanceof CrdtError ? one : { key, states: one, life: NO_LIFE };
  }
  const r = decodeWithLife(tag, bytes);
  return r.ok ? { key, states: r.value.states, life: r.value.life } : r.error;
}

/** A decoded key's states as a list (a new one of one state if it came alone). */
export function decodedStates(d: DecodedKey): readonly TypedCrdt[] {
  const s = d.states;
  return Array.isArray(s) ? s : [s as TypedCrdt];
}

/**
 * The entry of a key new here whose one state is `t`, with no life: `t`'s counter itself when
 * `decodeForMerge` read it into an entry no table holds yet (nothing else holds it: the caller's
 * decoded state goes with the frame), else `makeEntry`'s copy.
 */
export function entryFor(t: TypedCrdt): Entry {
  const c = t.crdt;
  if ((c instanceof PNCounterEntry || c instanceof GCounterEntry) && c.key === '' && c.id === -1 && c.life === undefined && c.others === undefined) return c as unknown as Entry;
  return makeEntry(t.type, t.crdt) as Entry;
}

/**
 * The lives of keys past an expiry with no TTL in their epoch (a husk, or a key written again
 * before its next EXPIRE), one per epoch up to this bound, shared by every such key: lives are never
 * changed (a new TTL makes a new life), and a husk is what an expired key leaves behind until it is
 * written again, one per key a rate limiter ever saw. Sharing them takes 48 heap bytes off each,
 * and keeping a lone life in the entry without a side object around it 40 more (`npm run bench --
 * layout`).
 */
const SHARED_EPOCHS = 256;
const sharedLives: (Life | undefined)[] = [];

function sharedLife(l: Life): Life {
  if (l.ttlVersion !== 0) return l;
  // Stryker disable next-line ConditionalExpression: equivalent, a deadline always comes with a TTL version above 0 (withTtl); kept should that ever change
  if (l.deadline !== null) return l;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for memory, the bound only keeps the shared objects few
  if (l.epoch >= SHARED_EPOCHS) return l;
  let r = sharedLives[l.epoch];
  if (r === undefined) {
    r = Object.freeze({ epoch: l.epoch, ttlVersion: 0, deadline: null });
    sharedLives[l.epoch] = r;
  }
  return r;
}

/**
 * Whether an entry kept since its key changed (the digest's queue), or reached by its key's id, can
 * be read as the key's state now, without looking the key up: it is still the key's, and
 * it has no TTL deadline (reading a key with one may end its life).
 */
export function currentAsKept(e: Entry): boolean {
  // Stryker disable next-line ConditionalExpression: equivalent but for work, a key whose life has no deadline looks up to the same entry
  return e.superseded !== true && (e.life === undefined || e.life.deadline === null);
}

export function isCounter(e: Entry): e is CounterEntry {
  return e.type === 'pncounter' || e.type === 'gcounter';
}

export function isType<T extends KeyType>(e: Entry, type: T): e is EntryOf<T> {
  return e.type === type;
}


/** Every state of a key, the visible one first. */
export function statesOf(e: Entry): TypedCrdt[] {
  const first = { type: e.type, crdt: e.crdt } as TypedCrdt;
  return e.others === undefined ? [first] : [first, ...e.others];
}

/** An entry over `states`: the visible one is the live state of highest tag, or the highest tag if none is live. */
export function entryOf(states: readonly TypedCrdt[]): Entry {
  let best: TypedCrdt | undefined;
  // Stryker disable next-line BooleanLiteral: equivalent, the first state always sets it (best is undefined then)
  let bestLive = false;
  for (const s of states) {
    const live = isLive(s);
    if (best === undefined || (live && !bestLive) || (live === bestLive && tagOf(s.type) > tagOf(best.type))) {
      best = s;
      bestLive = live;
    }
  }
  const primary = best as TypedCrdt;
  return makeEntry(primary.type, primary.crdt, states.filter((s) => s !== primary)) as Entry;
}

/**
 * The one empty counter every husk holds. Frozen: nothing writes into a husk's state in place (a
 * write to a husk makes a new state, and a merge into one builds a new entry: key-table.ts), so a
 * write that tried would throw rather than reach every husk. Shared, it takes 56 heap bytes off each
 * expired key a node keeps.
 */
export const HUSK_COUNTER: PNCounter = Object.freeze(new PNCounter()) as PNCounter;

/** The state of a key in an epoch nobody has written yet: an empty counter, which does not exist. */
export function husk(): TypedCrdt {
  return { type: 'pncounter', crdt: HUSK_COUNTER };
}

/** The epoch after `l` ended: no TTL yet. */
export function nextEpoch(l: Life): Life {
  return { epoch: l.epoch + 1, ttlVersion: 0, deadline: null };
}

/** `e` with its life replaced (no life field at all for epoch 0 without a TTL). */
export function withLife<E extends Entry>(e: E, life: Life | undefined): E {
  return makeEntry(e.type, e.crdt, e.others, life) as E;
}

/** The only state of a key in an epoch nobody wrote yet. */
export function isHusk(e: Entry): boolean {
  return e.others === undefined && e.type === 'pncounter' && e.crdt.replicaCount() === 0;
}

/** An empty PN-Counter: the same state as a husk's. */
export function isHuskState(s: TypedCrdt): boolean {
  return s.type === 'pncounter' && s.crdt.replicaCount() === 0;
}

/** A state that holds nothing (a husk's): not kept beside the states of a new type. */
export function isEmptyState(s: TypedCrdt): boolean {
  return (s.type === 'pncounter' || s.type === 'gcounter') && s.crdt.replicaCount() === 0;
}

export function liveCount(e: Entry): number {
  let n = isLive(e) ? 1 : 0;
  for (const s of e.others ?? []) if (isLive(s)) n++;
  return n;
}

/** A new, empty counter entry of `type`. */
export function newCounter(type: 'gcounter' | 'pncounter'): CounterEntry {
  return (type === 'gcounter' ? new GCounterEntry(undefined) : new PNCounterEntry(undefined)) as unknown as CounterEntry;
}

/**
 * The most a key's state (or one of its parts) may take in a gossip frame of `maxMessageBytes` that
 * carries nothing else (the envelope and the key itself aside): replication sends a larger state in
 * parts of this size (anti-entropy.ts), and TOPK.RESERVE refuses a Top-K whose one writer could
 * exceed it (a Top-K record is indivisible).
 */
export function keyStateBudget(maxMessageBytes: number, key: string): number {
  return maxMessageBytes - 512 - key.length - 64;
}

/** The longest key accepted, in bytes, with the default frame limit (the commands check it first). */
export const MAX_KEY_BYTES = 32 * 1024;

/**
 * The longest key that still leaves room, in a gossip frame, for the key's state in parts: at most
 * half of what a frame holds beside the envelope and a part. 32 KiB with the default 1 MiB frames;
 * about 1.6 KB with the smallest, 4 KiB.
 */
export function maxKeyBytesFor(maxMessageBytes: number): number {
  return Math.min(MAX_KEY_BYTES, Math.floor((maxMessageBytes - 512 - 64 - SPLIT_SAFE_BYTES) / 2));
}

