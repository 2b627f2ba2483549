// The explorer's one window into CRDT internals: per-replica counter slots, window buckets, sketch
// headers. Everything the fault explorer's checkers read below the keyspace's public commands goes
// through here, so a change of the keyspace's entry shape (a key holding states of several types)
// is one edit in this file.

import { Keyspace } from '../keyspace/keyspace.js';
import type { KeyType } from '../keyspace/types.js';
import { isLive } from '../crdt/registry.js';

/** A replica's increments (`p`) and decrements (`n`) in one counter key; they never shrink. */
export interface SlotView {
  p: number;
  n: number;
}

const ZERO: SlotView = Object.freeze({ p: 0, n: 0 });

/** The type of the state stored at `key`, live or a tombstone; undefined when absent. */
export function storedType(ks: Keyspace, key: string): KeyType | undefined {
  return ks.entry(key)?.type;
}

/** A short description of what `key` holds, for failure reports: `pncounter live`, `hll tombstone gen 2`. */
export function describeKey(ks: Keyspace, key: string): string {
  const e = ks.entry(key);
  if (e === undefined) return 'absent';
  const live = isLive(e) ? 'live' : 'tombstone';
  switch (e.type) {
    case 'gcounter':
    case 'pncounter':
      return `${e.type} ${live} value ${String(e.crdt.value())} slots ${e.crdt.replicaCount()}`;
    case 'hll':
      return `hll ${live} gen ${e.crdt.generation}`;
    case 'window':
      return `window ${live} gen ${e.crdt.generation} ${e.crdt.granularityS}s/${e.crdt.retentionS}s maxBucket ${e.crdt.maxBucket}`;
    case 'cms':
      return `cms ${live} gen ${e.crdt.generation} ${e.crdt.width}x${e.crdt.depth}`;
    case 'topk':
      return `topk ${live} gen ${e.crdt.generation}`;
  }
}

/** Replica `r`'s slot in counter `key`, or undefined when the key holds no counter state. */
export function counterSlot(ks: Keyspace, key: string, r: string): SlotView | undefined {
  const e = ks.entry(key);
  if (e === undefined) return ZERO;
  if (e.type !== 'pncounter' && e.type !== 'gcounter') return undefined;
  const s = e.crdt.slotOf(r);
  return { p: s.p, n: s.n };
}

/** Every replica id with a slot in counter `key` (empty for other types). */
export function counterReplicas(ks: Keyspace, key: string): string[] {
  const e = ks.entry(key);
  if (e === undefined || (e.type !== 'pncounter' && e.type !== 'gcounter')) return [];
  return e.crdt.entries().map((s) => s.id);
}

/**
 * A window's header (generation, granularity, retention): a state with another header replaced or
 * was replaced by this one outright, so only increments under the same header must survive.
 */
export function windowHeader(ks: Keyspace, key: string): string | undefined {
  const e = ks.entry(key);
  if (e?.type !== 'window') return undefined;
  return `${e.crdt.generation}/${e.crdt.granularityS}/${e.crdt.retentionS}`;
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
  const e = ks.entry(key);
  if (e?.type !== 'window') return undefined;
  const w = e.crdt;
  return { granularityMs: w.granularityS * 1000, retentionBuckets: w.retentionS / w.granularityS, keptBuckets: w.keptBuckets, maxBucket: w.maxBucket };
}

/** Replica `r`'s count in bucket `bucket` of window `key` (0 when absent or another type). */
export function windowSlot(ks: Keyspace, key: string, bucket: number, r: string): number {
  const e = ks.entry(key);
  if (e?.type !== 'window') return 0;
  for (const [b, id, v] of e.crdt.entries()) if (b === bucket && id === r) return v;
  return 0;
}

/** The generation of HLL `key`, or undefined when the key holds no HLL. */
export function hllGeneration(ks: Keyspace, key: string): number | undefined {
  const e = ks.entry(key);
  return e?.type === 'hll' ? e.crdt.generation : undefined;
}

/** Whether HLL `key` already holds `element` (adding it would change no register). Exact, not an estimate. */
export function hllHolds(ks: Keyspace, key: string, element: string): boolean {
  const e = ks.entry(key);
  if (e?.type !== 'hll') return false;
  return !e.crdt.clone().add(element);
}

/** A Count-Min Sketch's header (generation, width, depth), or undefined when the key holds none. */
export function cmsHeader(ks: Keyspace, key: string): string | undefined {
  const e = ks.entry(key);
  if (e?.type !== 'cms') return undefined;
  return `${e.crdt.generation}/${e.crdt.width}/${e.crdt.depth}`;
}

/** The sketch's estimate of `item` (0 when the key holds no CMS); never below the true count. */
export function cmsEstimate(ks: Keyspace, key: string, item: string): number {
  const e = ks.entry(key);
  if (e?.type !== 'cms') return 0;
  return Number(e.crdt.query(item));
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
