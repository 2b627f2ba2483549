// The one registry of CRDT types: each key type's wire tag, decoder, merge and liveness in one row.
// The keyspace, replication and persistence look types up here; adding a type is one CRDT file, one
// row below and one command file.

import { err, type Result } from '../util/result.js';
import { TypeTag } from './codec.js';
import { CountMinSketch } from './count-min-sketch.js';
import { CrdtError } from './errors.js';
import { GCounter } from './g-counter.js';
import { HyperLogLog } from './hyperloglog.js';
import { PNCounter } from './pn-counter.js';
import { TopK } from './top-k.js';
import { WindowedCounter } from './windowed-counter.js';

/** The CRDT class behind each key type. */
export interface CrdtByType {
  gcounter: GCounter;
  pncounter: PNCounter;
  hll: HyperLogLog;
  window: WindowedCounter;
  cms: CountMinSketch;
  topk: TopK;
}

export type KeyType = keyof CrdtByType;
export type Crdt = CrdtByType[KeyType];

/** A CRDT together with its type: the discriminated union the keyspace stores and replication ships. */
export type TypedCrdt = { [T in KeyType]: { readonly type: T; readonly crdt: CrdtByType[T] } }[KeyType];

/** One row: everything generic code needs to know about a type. */
export interface CrdtType<T extends KeyType> {
  readonly type: T;
  /** The type tag: the second byte of the codec and the tag of a key state on the wire. Never reused. */
  readonly tag: number;
  /** Decodes untrusted bytes; never throws. */
  decode(bytes: Uint8Array): Result<CrdtByType[T], CrdtError>;
  /** Joins `from` into `into` (a remote state into the local one). Returns whether `into` changed. */
  merge(into: CrdtByType[T], from: CrdtByType[T]): boolean;
  /** Whether the key exists (created and not deleted); a state that is not live is a tombstone. */
  live(crdt: CrdtByType[T]): boolean;
}

const counterLive = (c: GCounter | PNCounter): boolean => c.exists();

export const CRDT_TYPES: { readonly [T in KeyType]: CrdtType<T> } = {
  gcounter: { type: 'gcounter', tag: TypeTag.GCounter, decode: GCounter.decode, merge: (a, b) => a.merge(b), live: counterLive },
  pncounter: { type: 'pncounter', tag: TypeTag.PNCounter, decode: PNCounter.decode, merge: (a, b) => a.merge(b), live: counterLive },
  // Merging HLLs of another precision is refused by the sketch and changes nothing.
  hll: { type: 'hll', tag: TypeTag.HyperLogLog, decode: HyperLogLog.decode, merge: (a, b) => { const r = a.merge(b); return r.ok && r.value; }, live: (h) => !h.isEmpty() },
  window: { type: 'window', tag: TypeTag.WindowedCounter, decode: WindowedCounter.decode, merge: (a, b) => a.merge(b), live: (w) => w.exists() },
  cms: { type: 'cms', tag: TypeTag.CountMinSketch, decode: CountMinSketch.decode, merge: (a, b) => a.merge(b), live: (c) => c.exists() },
  topk: { type: 'topk', tag: TypeTag.TopK, decode: TopK.decode, merge: (a, b) => a.merge(b), live: (t) => t.exists() },
};

export const KEY_TYPES: readonly KeyType[] = Object.keys(CRDT_TYPES) as KeyType[];

const BY_TAG: ReadonlyMap<number, KeyType> = new Map(KEY_TYPES.map((t) => [CRDT_TYPES[t].tag, t]));

/** The key type of a wire tag, or undefined for an unknown tag. */
export function typeOfTag(tag: number): KeyType | undefined {
  return BY_TAG.get(tag);
}

/** The wire tag of a key type. */
export function tagOf(type: KeyType): number {
  return CRDT_TYPES[type].tag;
}

/** Decodes a key state received as (tag, bytes): the typed CRDT, or why it is not one. Never throws. */
export function decodeTagged(tag: number, bytes: Uint8Array): Result<TypedCrdt, CrdtError> {
  const type = BY_TAG.get(tag);
  if (type === undefined) return err(new CrdtError('CODEC_BAD_TYPE', `unknown type tag ${tag}`));
  return decodeAs(type, bytes);
}

/** Decodes bytes as a CRDT of a known type. Never throws. */
function decodeAs(type: KeyType, bytes: Uint8Array): Result<TypedCrdt, CrdtError> {
  const r = (CRDT_TYPES[type] as CrdtType<KeyType>).decode(bytes);
  return r.ok ? { ok: true, value: { type, crdt: r.value } as TypedCrdt } : r;
}

/** Joins `from` into `into`; both must be the same type (the caller checked). Returns whether `into` changed. */
export function mergeSameType(into: TypedCrdt, from: TypedCrdt): boolean {
  if (into.type !== from.type) throw new TypeError(`cannot merge a ${from.type} into a ${into.type}`);
  return (CRDT_TYPES[into.type] as CrdtType<KeyType>).merge(into.crdt as never, from.crdt as never);
}

/** Whether a typed CRDT is live (exists; not a tombstone). */
export function isLive(t: TypedCrdt): boolean {
  return (CRDT_TYPES[t.type] as CrdtType<KeyType>).live(t.crdt as never);
}
