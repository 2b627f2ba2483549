// The explorer's one window into CRDT internals: per-replica counter slots, window buckets, sketch
// headers. Everything the fault explorer's checkers read below the keyspace's public commands goes
// through here, so a change of the keyspace's entry shape is one edit in this file. An entry may
// keep states of other types beside its own (`others`); every reader here looks at all of them.

import { Keyspace } from '../keyspace/keyspace.js';
import type { KeyType } from '../keyspace/types.js';
import { isLive, type TypedCrdt } from '../crdt/registry.js';

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
  const e = ks.entry(key);
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

/** Replica `r`'s slot in counter `key`: zero when the key is absent, undefined when it holds no counter state. */
export function counterSlot(ks: Keyspace, key: string, r: string): SlotView | undefined {
  const states = statesAt(ks, key);
  if (states.length === 0) return ZERO;
  const c = stateOf(ks, key, 'pncounter') ?? stateOf(ks, key, 'gcounter');
  if (c === undefined) return undefined;
  const s = c.crdt.slotOf(r);
  return { p: s.p, n: s.n };
}

/** Every replica id with a slot in counter `key` (empty without a counter state). */
export function counterReplicas(ks: Keyspace, key: string): string[] {
  const c = stateOf(ks, key, 'pncounter') ?? stateOf(ks, key, 'gcounter');
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
    const x = a.encodeKey(key);
    const y = b.encodeKey(key);
    if (x === undefined || y === undefined || x.tag !== y.tag || !Buffer.from(x.bytes.buffer, x.bytes.byteOffset, x.bytes.byteLength).equals(y.bytes)) return false;
  }
  return true;
}

/** The keys on which two keyspaces differ (present on one only, or different states). */
export function differingKeys(a: Keyspace, b: Keyspace): string[] {
  const out: string[] = [];
  const all = new Set([...a.keys(), ...b.keys()]);
  for (const key of all) {
    const x = a.encodeKey(key);
    const y = b.encodeKey(key);
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
  for (const ks of stores) {
    for (const key of ks.keys()) {
      const e = ks.encodeKey(key);
      if (e !== undefined) out.mergeRemote(key, e.tag, e.bytes);
    }
  }
  return out;
}
