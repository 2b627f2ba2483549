// The explorer's one window into CRDT internals: per-replica counter slots, window buckets, sketch
// headers. Everything the fault explorer's checkers read below the keyspace's public commands goes
// through here, so a change of the keyspace's entry shape is one edit in this file. An entry may
// keep states of other types beside its own (`others`); every reader here looks at all of them.
// Every reader here reads a key as it is stored, raw: a command's read would end a key whose
// deadline passed, so a checker reading through one would change the history it checks, and would
// hide a key the sweep failed to end (the expiry check's memory test).

import { Keyspace } from '../keyspace/keyspace.js';
import type { KeyType } from '../keyspace/types.js';
import { encodeKeyState, isLive, tagOf, type TypedCrdt } from '../crdt/registry.js';
import { encodeWithLife, NO_LIFE, type Life } from '../keyspace/life.js';
import type { Entry } from '../keyspace/types.js';
import { statesOf } from '../keyspace/entries.js';
import type { Clock } from '../util/clock.js';
import { parseReplicaId } from '../crdt/replica-id.js';
import { isRetiredSlot, retiredSlotOf, SlotFolds } from '../replication/slot-folds.js';

/** A replica's increments (`p`) and decrements (`n`) in one counter key; they never shrink. */
export interface SlotView {
  p: number;
  n: number;
}

const ZERO: SlotView = Object.freeze({ p: 0, n: 0 });

/**
 * Every typed state stored at `key`: the entry's own, then any it keeps of other types (an entry
 * that has held several types may keep one state per type in `others`).
 */
function statesAt(ks: Keyspace, key: string): TypedCrdt[] {
  const e = rawEntry(ks, key);
  if (e === undefined) return [];
  const others = (e as { others?: readonly TypedCrdt[] | undefined }).others ?? [];
  return [e as TypedCrdt, ...others];
}

/** The state of one type stored at `key`, if any. */
function stateOf<T extends KeyType>(ks: Keyspace, key: string, type: T): Extract<TypedCrdt, { type: T }> | undefined {
  for (const s of statesAt(ks, key)) if (s.type === type) return s as Extract<TypedCrdt, { type: T }>;
  return undefined;
}

/** Whether `key` stores a state of `type`, live or a tombstone. */
export function holdsType(ks: Keyspace, key: string, type: KeyType): boolean {
  return stateOf(ks, key, type) !== undefined;
}

/** A short description of what `key` holds, for failure reports: `pncounter live`, `hll tombstone gen 2`. */
export function describeKey(ks: Keyspace, key: string): string {
  const states = statesAt(ks, key);
  if (states.length === 0) return 'absent';
  return states.map(describeState).join(' + ');
}

function describeState(t: TypedCrdt): string {
  const live = isLive(t) ? 'live' : 'tombstone';
  switch (t.type) {
    case 'gcounter':
    case 'pncounter':
      return `${t.type} ${live} value ${String(t.crdt.value())} slots ${t.crdt.replicaCount()}`;
    case 'hll':
      return `hll ${live} gen ${t.crdt.generation}`;
    case 'window':
      return `window ${live} gen ${t.crdt.generation} ${t.crdt.granularityS}s/${t.crdt.retentionS}s maxBucket ${t.crdt.maxBucket}`;
    case 'cms':
      return `cms ${live} gen ${t.crdt.generation} ${t.crdt.width}x${t.crdt.depth}`;
    case 'topk':
      return `topk ${live} gen ${t.crdt.generation}`;
  }
}

/** The keyspace's entries as stored (KeyTable keeps them private: this file is the explorer's one window). */
/** `key`'s entry as stored: unlike `Keyspace.entry`, reading it never ends it, and a compact key stays compact. */
function rawEntry(ks: Keyspace, key: string): Entry | undefined {
  return ks.storedEntry(key);
}

/** `key`'s wire form as stored: `Keyspace.encodeKey` without ending the key. */
function rawEncoding(ks: Keyspace, key: string): { tag: number; bytes: Uint8Array } | undefined {
  const e = rawEntry(ks, key);
  if (e === undefined) return undefined;
  // A key whose deadline has not passed: reading it ends nothing, so the keyspace's cache serves.
  if (e.life?.deadline === null || e.life?.deadline === undefined || e.life.deadline > keyspaceNow(ks)) return ks.encodeKey(key);
  // As KeyTable.encodeKey, without caching.
  const inner = e.others === undefined ? { tag: tagOf(e.type), bytes: e.crdt.encode() } : encodeKeyState(statesOf(e).map((s) => ({ tag: tagOf(s.type), bytes: s.crdt.encode() })));
  return e.life === undefined ? inner : encodeWithLife(e.life, inner);
}

/** The life of `key` as stored (a key whose deadline passed keeps it until read or swept); NO_LIFE when absent. */
export function lifeOf(ks: Keyspace, key: string): Life {
  return rawEntry(ks, key)?.life ?? NO_LIFE;
}

/** The epoch `key` is in, as stored (0 when absent). */
export function epochOf(ks: Keyspace, key: string): number {
  return lifeOf(ks, key).epoch;
}

/** The clock a keyspace's keys expire by (the replica's time in the simulator). */
export function keyspaceNow(ks: Keyspace): number {
  return (ks as unknown as { clock: Clock }).clock.now();
}

/** One stored key, as `storedKeys` reads it. */
export interface StoredKey {
  key: string;
  life: Life;
  /** Holds no state at all: an expired key's husk, or a key nobody has written in this epoch. */
  empty: boolean;
  /** Approximate heap bytes of its states. */
  bytes: number;
}

/** Every stored key, with its life and what it holds. */
export function storedKeys(ks: Keyspace): StoredKey[] {
  const out: StoredKey[] = [];
  ks.forEachStored((key, e) => {
    const states = [e as TypedCrdt, ...((e as { others?: readonly TypedCrdt[] | undefined }).others ?? [])];
    const empty = states.every((s) => (s.type === 'pncounter' || s.type === 'gcounter') && s.crdt.replicaCount() === 0);
    out.push({ key, life: e.life ?? NO_LIFE, empty, bytes: states.reduce((a, s) => a + s.crdt.byteSize(), 0) });
  });
  return out;
}

/**
 * The slot-fold bounds every reader here reads counters by (replication/slot-folds.ts): the union
 * of every node's, which the explorer sets before its checks. Nodes fold retired incarnations'
 * slots into their node's pseudo-slot at different moments; read through one set of bounds, a
 * state folded and one not yet folded say the same, and a join of the two counts nothing twice.
 */
let folds: SlotFolds | undefined;

/**
 * The explorer's graveyard of collected tombstones (explore.ts), read through the fold view. A
 * pseudo-slot is the one slot not written by its owner: folds write it, and in a key collected and
 * written again they start it afresh. The real cluster never meets the old one again (collection
 * needs every member to hold the tombstone, a fold every member to hold a state without it), but
 * the graveyard keeps it for ever. So a join with the graveyard takes no pseudo-slot from it (nor a
 * slot the view folds), and a read of a pseudo-slot adds the graveyard's to the store's instead:
 * the two are the key's lives before and after its collection.
 */
let grave: Keyspace | undefined;

/** Sets the bounds counters are read by (undefined or empty: as stored), and the graveyard (above). */
export function setFoldView(bounds: readonly (readonly [string, number])[] | undefined, graveyard?: Keyspace): void {
  grave = graveyard;
  if (bounds === undefined || bounds.length === 0) {
    folds = undefined;
    return;
  }
  folds = new SlotFolds();
  folds.adopt(bounds);
}

/** Where the graveyard's pseudo-slots and folded slots go when it is joined: a dead slot no store has. */
const GRAVE_VOID = 'grave:void';

/** Whether origin `r`'s slot is read as part of its node's pseudo-slot (setFoldView). */
export function foldedOrigin(r: string): string | undefined {
  return folds?.folds(r) === true ? retiredSlotOf(parseReplicaId(r).nodeId) : undefined;
}

/** `c` with its retired slots folded by the fold view: a copy if any fold applies, else `c`. */
function folded<C extends Extract<TypedCrdt, { type: 'pncounter' | 'gcounter' }>>(c: C): C {
  const plan = folds?.foldsFor(c.crdt.slotIds());
  if (plan === undefined) return c;
  const copy = c.crdt.clone();
  for (const [from, into] of plan) copy.foldSlot(from, into);
  return { type: c.type, crdt: copy } as C;
}

/**
 * The counter state of `key`: its PN-Counter, or its G-Counter, whichever holds slots (an expired
 * key's husk is an empty PN-Counter, which a merge may keep beside a G-Counter of the next epoch).
 * Read through the fold view.
 */
export function counterState(ks: Keyspace, key: string): Extract<TypedCrdt, { type: 'pncounter' | 'gcounter' }> | undefined {
  const pn = stateOf(ks, key, 'pncounter');
  const g = stateOf(ks, key, 'gcounter');
  const c = pn !== undefined && (pn.crdt.replicaCount() > 0 || g === undefined) ? pn : g;
  return c === undefined ? undefined : folded(c);
}

/**
 * Replica `r`'s slot in counter `key`: zero when the key is absent, undefined when it holds no
 * counter state. For an origin the fold view folds, its node's pseudo-slot (which holds the sum of
 * every folded incarnation of that node), plus the graveyard's unless `withGrave` is false.
 */
export function counterSlot(ks: Keyspace, key: string, r: string, withGrave = true): SlotView | undefined {
  const states = statesAt(ks, key);
  if (states.length === 0) return ZERO;
  const c = counterState(ks, key);
  if (c === undefined) return undefined;
  const target = foldedOrigin(r) ?? r;
  const s = c.crdt.slotOf(target);
  if (!withGrave || grave === undefined || ks === grave || folds === undefined || !isRetiredSlot(target) || epochOf(grave, key) !== epochOf(ks, key)) return { p: s.p, n: s.n };
  const old = counterState(grave, key)?.crdt.slotOf(target);
  return { p: s.p + (old?.p ?? 0), n: s.n + (old?.n ?? 0) };
}

/** Every replica id with a slot in counter `key` (empty without a counter state). */
export function counterReplicas(ks: Keyspace, key: string): string[] {
  const c = counterState(ks, key);
  return c === undefined ? [] : c.crdt.entries().map((s) => s.id);
}

/**
 * A window's header (generation, granularity, retention): a state with another header replaced or
 * was replaced by this one outright, so only increments under the same header must survive.
 */
export function windowHeader(ks: Keyspace, key: string): string | undefined {
  const w = stateOf(ks, key, 'window')?.crdt;
  return w === undefined ? undefined : `${w.generation}/${w.granularityS}/${w.retentionS}`;
}

export interface WindowShape {
  granularityMs: number;
  /** Buckets in the retention. */
  retentionBuckets: number;
  /** Buckets truncation keeps below the newest (retention + skew slack + 1). */
  keptBuckets: number;
  maxBucket: number;
}

export function windowShape(ks: Keyspace, key: string): WindowShape | undefined {
  const w = stateOf(ks, key, 'window')?.crdt;
  if (w === undefined) return undefined;
  return { granularityMs: w.granularityS * 1000, retentionBuckets: w.retentionS / w.granularityS, keptBuckets: w.keptBuckets, maxBucket: w.maxBucket };
}

/** Replica `r`'s count in bucket `bucket` of window `key` (0 when absent or another type). */
export function windowSlot(ks: Keyspace, key: string, bucket: number, r: string): number {
  const w = stateOf(ks, key, 'window')?.crdt;
  for (const [b, id, v] of w?.entries() ?? []) if (b === bucket && id === r) return v;
  return 0;
}

/** The generation of HLL `key`, or undefined when the key holds no HLL. */
export function hllGeneration(ks: Keyspace, key: string): number | undefined {
  return stateOf(ks, key, 'hll')?.crdt.generation;
}

/** Whether HLL `key` already holds `element` (adding it would change no register). Exact, not an estimate. */
export function hllHolds(ks: Keyspace, key: string, element: string): boolean {
  const h = stateOf(ks, key, 'hll')?.crdt;
  return h !== undefined && !h.clone().add(element);
}

/** A Count-Min Sketch's header (generation, width, depth), or undefined when the key holds none. */
export function cmsHeader(ks: Keyspace, key: string): string | undefined {
  const c = stateOf(ks, key, 'cms')?.crdt;
  return c === undefined ? undefined : `${c.generation}/${c.width}/${c.depth}`;
}

/** The sketch's estimate of `item` (0 when the key holds no CMS); never below the true count. */
export function cmsEstimate(ks: Keyspace, key: string, item: string): number {
  const c = stateOf(ks, key, 'cms')?.crdt;
  return c === undefined ? 0 : Number(c.query(item));
}

/** Whether two keyspaces hold exactly the same keys with the same encoded states (tombstones included). */
export function sameState(a: Keyspace, b: Keyspace): boolean {
  if (a.size !== b.size) return false;
  for (const key of a.keys()) {
    const x = rawEncoding(a, key);
    const y = rawEncoding(b, key);
    if (x === undefined || y === undefined || x.tag !== y.tag || !Buffer.from(x.bytes.buffer, x.bytes.byteOffset, x.bytes.byteLength).equals(y.bytes)) return false;
  }
  return true;
}

/** The keys on which two keyspaces differ (present on one only, or different states). */
export function differingKeys(a: Keyspace, b: Keyspace): string[] {
  const out: string[] = [];
  const all = new Set([...a.keys(), ...b.keys()]);
  for (const key of all) {
    const x = rawEncoding(a, key);
    const y = rawEncoding(b, key);
    if (x === undefined || y === undefined || x.tag !== y.tag || !Buffer.from(x.bytes.buffer, x.bytes.byteOffset, x.bytes.byteLength).equals(y.bytes)) out.push(key);
  }
  return out.sort();
}

/**
 * The join (CRDT merge) of every given state through the codec: what the cluster converges to once
 * gossip has carried everything everywhere. A write this lacks is lost, not merely late.
 */
export function joinStates(stores: readonly Keyspace[]): Keyspace {
  const out = new Keyspace('explorer:0');
  const view = folds;
  for (const ks of stores) {
    // Each store folded by the view before it is joined: a retired slot one store still holds
    // unfolded must not sit beside the pseudo-slot another store folded it into.
    const src = view === undefined ? ks : new Keyspace('explorer:0');
    if (view !== undefined) {
      for (const key of ks.keys()) {
        const e = rawEncoding(ks, key);
        if (e !== undefined) src.mergeRemote(key, e.tag, e.bytes);
      }
      src.foldSlots((ids) => view.foldsFor(ids));
      // The graveyard's pseudo-slots belong to its keys' earlier lives (see `grave`).
      if (ks === grave) src.foldSlots((ids) => {
        const out = ids.filter(isRetiredSlot).map((id) => [id, GRAVE_VOID] as const);
        return out.length === 0 ? undefined : out;
      });
    }
    for (const key of src.keys()) {
      const e = rawEncoding(src, key);
      if (e !== undefined) out.mergeRemote(key, e.tag, e.bytes);
    }
  }
  return out;
}
