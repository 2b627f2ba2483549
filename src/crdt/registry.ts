// The one registry of CRDT types: each key type's wire tag, decoder, merge and liveness in one row.
// The keyspace, replication and persistence look types up here; adding a type is one CRDT file, one
// row below and one command file.

import { err, ok, type Result } from '../util/result.js';
import { ByteReader, ByteWriter, CODEC_VERSION, TypeTag } from './codec.js';
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
  /** DEL: removes what this state holds, as the type's delete semantics say (an observed reset, a new generation). */
  delete(crdt: CrdtByType[T]): void;
  /**
   * The state in parts that each encode to at most `maxBytes` and merge independently (joined into
   * any state, in any order, they give what joining the whole gives): `[crdt]` itself when it fits,
   * undefined when one indivisible unit of it cannot fit. See `splitState`.
   */
  split(crdt: CrdtByType[T], maxBytes: number): CrdtByType[T][] | undefined;
}

const counterLive = (c: GCounter | PNCounter): boolean => c.exists();

export const CRDT_TYPES: { readonly [T in KeyType]: CrdtType<T> } = {
  gcounter: { type: 'gcounter', tag: TypeTag.GCounter, decode: GCounter.decode, merge: (a, b) => a.merge(b), live: counterLive, delete: (c) => c.resetInPlace(), split: (c, n) => c.split(n) },
  pncounter: { type: 'pncounter', tag: TypeTag.PNCounter, decode: PNCounter.decode, merge: (a, b) => a.merge(b), live: counterLive, delete: (c) => c.resetInPlace(), split: (c, n) => c.split(n) },
  // Merging HLLs of another precision is refused by the sketch and changes nothing; of another hash
  // family (legacy / Redis's) it is a join by family (docs/crdt-hll.md, "Hash families").
  hll: { type: 'hll', tag: TypeTag.HyperLogLog, decode: HyperLogLog.decode, merge: (a, b) => { const r = a.merge(b); return r.ok && r.value; }, live: (h) => !h.isEmpty(), delete: (h) => void h.clear(), split: (h, n) => h.split(n) },
  window: { type: 'window', tag: TypeTag.WindowedCounter, decode: WindowedCounter.decode, merge: (a, b) => a.merge(b), live: (w) => w.exists(), delete: (w) => w.clear(), split: (w, n) => w.split(n) },
  cms: { type: 'cms', tag: TypeTag.CountMinSketch, decode: CountMinSketch.decode, merge: (a, b) => a.merge(b), live: (c) => c.exists(), delete: (c) => c.clear(), split: (c, n) => c.split(n) },
  topk: { type: 'topk', tag: TypeTag.TopK, decode: TopK.decode, merge: (a, b) => a.merge(b), live: (t) => t.exists(), delete: (t) => t.clear(), split: (t, n) => t.split(n) },
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
  const one = decodeState(tag, bytes);
  return one instanceof CrdtError ? err(one) : ok(one);
}

/**
 * How `decodeState` reads a counter: into a new counter of its class (`PLAIN_READERS`), or into an
 * object of a subclass the caller makes (a key's entry that is its counter: keyspace/entries.ts,
 * `decodeForMerge`). Either reads the same bytes to the same state, with the same errors.
 */
export interface CounterReaders {
  readonly pncounter: (bytes: Uint8Array) => PNCounter | CrdtError;
  readonly gcounter: (bytes: Uint8Array) => GCounter | CrdtError;
}

const PLAIN_READERS: CounterReaders = { pncounter: (b) => PNCounter.read(b), gcounter: (b) => GCounter.read(b) };

/**
 * `decodeTagged` without a Result: the typed CRDT, or the error. Counters (nearly every state a node
 * receives) are read without a Result at any step: the Results, the reader and the slot pairs of the
 * layers between a frame and its counters were most of what a peer catching up on a bulk load
 * allocated per key, besides the counter itself.
 */
export function decodeState(tag: number, bytes: Uint8Array, readers: CounterReaders = PLAIN_READERS): TypedCrdt | CrdtError {
  // Stryker disable next-line BlockStatement: equivalent but for speed, the general way below decodes the same counter and error
  if (tag === TypeTag.PNCounter) {
    const c = readers.pncounter(bytes);
    return c instanceof CrdtError ? c : { type: 'pncounter', crdt: c };
  }
  // Stryker disable next-line BlockStatement: equivalent but for speed, as above
  if (tag === TypeTag.GCounter) {
    const c = readers.gcounter(bytes);
    return c instanceof CrdtError ? c : { type: 'gcounter', crdt: c };
  }
  const type = BY_TAG.get(tag);
  if (type === undefined) return new CrdtError('CODEC_BAD_TYPE', `unknown type tag ${tag}`);
  const r = (CRDT_TYPES[type] as CrdtType<KeyType>).decode(bytes);
  return r.ok ? ({ type, crdt: r.value } as TypedCrdt) : r.error;
}

/**
 * A state too large for one gossip frame, in parts of at most `maxBytes` encoded bytes each (a
 * CRDT's own encoding, as `encode()` writes it), so that one large key never blocks the others:
 *
 * - every part is an ordinary, self-contained state of the same type (it decodes, and encodes
 *   canonically), and `[t]` itself is returned when the whole already fits;
 * - joining the parts into any state S, in any order, gives exactly S joined with the whole: each
 *   part lies below the whole in the type's join order and their join is the whole, so
 *   `S ⊔ p1 ⊔ ... ⊔ pn = S ⊔ (p1 ⊔ ... ⊔ pn) = S ⊔ whole` by associativity. Parts carry the whole's
 *   delete state (floors with their slots, the generation and created flag in every part), so no
 *   part deletes what the whole does not, nor resurrects what a delete removed;
 * - undefined only when one indivisible unit with its header exceeds `maxBytes`: never for
 *   `maxBytes >= SPLIT_SAFE_BYTES` except a Top-K record (bounded by `topkMaxRecordBytes`, which
 *   TOPK.RESERVE checks against the frame size).
 *
 * The units: a counter slot with its floors, an HLL register, a window's (bucket, replica) count,
 * a CMS cell of one replica's matrix, a Top-K replica record. docs/crdt-*.md, "Parts", say more.
 * A `maxBytes` that is not a positive integer is misuse and throws.
 */
export function splitState(t: TypedCrdt, maxBytes: number): TypedCrdt[] | undefined {
  const parts = (CRDT_TYPES[t.type] as CrdtType<KeyType>).split(t.crdt as never, maxBytes) as Crdt[] | undefined;
  return parts?.map((crdt) => ({ type: t.type, crdt }) as TypedCrdt);
}

/**
 * `splitState` never returns undefined for `maxBytes` at least this, except for a Top-K whose one
 * record is larger: the largest indivisible unit of the other types with its header (a counter
 * slot, a window count or a CMS cell with a 255-byte replica id, 8-byte counts and generation) is
 * under 300 bytes.
 */
export const SPLIT_SAFE_BYTES = 320;

/** Joins `from` into `into`; both must be the same type (the caller checked). Returns whether `into` changed. */
export function mergeSameType(into: TypedCrdt, from: TypedCrdt): boolean {
  if (into.type !== from.type) throw new TypeError(`cannot merge a ${from.type} into a ${into.type}`);
  return (CRDT_TYPES[into.type] as CrdtType<KeyType>).merge(into.crdt as never, from.crdt as never);
}

/** Whether a typed CRDT is live (exists; not a tombstone). */
export function isLive(t: TypedCrdt): boolean {
  return (CRDT_TYPES[t.type] as CrdtType<KeyType>).live(t.crdt as never);
}

/** DEL of one typed state. */
export function deleteState(t: TypedCrdt): void {
  (CRDT_TYPES[t.type] as CrdtType<KeyType>).delete(t.crdt as never);
}

// ---- a key's whole state: one typed CRDT, or several ------------------------------------------
//
// A key almost always holds one type, encoded as that CRDT's own bytes under its tag. A key that was
// deleted and re-created as another type, or created concurrently as two types on two nodes, holds
// one state per type (docs/crdt-counters.md, "Types"): it travels under MULTI_TAG as
// `[CODEC_VERSION][MULTI_TAG][count >= 2]` then per state, by ascending tag, `[tag][len][bytes]`.

/** The tag of a key state holding several types. Never a CRDT's own tag. */
export const MULTI_TAG = 0;

/** Encodes a key's states (sorted by tag by the caller or not: the encoding sorts) with each state's bytes. */
export function encodeKeyState(states: readonly { tag: number; bytes: Uint8Array }[]): { tag: number; bytes: Uint8Array } {
  if (states.length === 1) return states[0] as { tag: number; bytes: Uint8Array };
  const sorted = [...states].sort((a, b) => a.tag - b.tag);
  const w = new ByteWriter(16 + sorted.reduce((n, s) => n + s.bytes.length + 6, 0));
  w.u8(CODEC_VERSION).u8(MULTI_TAG).uvarint(sorted.length);
  for (const s of sorted) w.u8(s.tag).lenBytes(s.bytes);
  return { tag: MULTI_TAG, bytes: w.finish() };
}

/** Decodes a key state received as (tag, bytes): its typed CRDTs (one, or one per type). Never throws. */
export function decodeKeyState(tag: number, bytes: Uint8Array): Result<TypedCrdt[], CrdtError> {
  if (tag !== MULTI_TAG) {
    const one = decodeState(tag, bytes);
    return one instanceof CrdtError ? err(one) : ok([one]);
  }
  const r = new ByteReader(bytes);
  const version = r.u8();
  const t = r.u8();
  const count = r.uvarint();
  if (r.failed) return err(new CrdtError('CODEC_TRUNCATED', 'key state: truncated header'));
  if (version !== CODEC_VERSION) return err(new CrdtError('CODEC_BAD_VERSION', `key state: unknown version ${version}`));
  if (t !== MULTI_TAG) return err(new CrdtError('CODEC_BAD_TYPE', `key state: type tag ${t}, expected ${MULTI_TAG}`));
  if (count < 2 || count > KEY_TYPES.length) return err(new CrdtError('CODEC_INVALID', `key state: ${count} states (2 to ${KEY_TYPES.length})`));
  const out: TypedCrdt[] = [];
  let prev = MULTI_TAG;
  for (let i = 0; i < count; i++) {
    const tag = r.u8();
    const inner = r.lenBytes(bytes.length);
    if (r.failed) return err(new CrdtError('CODEC_TRUNCATED', `key state: ${r.reason}`));
    if (tag <= prev) return err(new CrdtError('CODEC_INVALID', 'key state: tags not strictly ascending'));
    prev = tag;
    const one = decodeState(tag, inner);
    if (one instanceof CrdtError) return err(one);
    out.push(one);
  }
  if (r.remaining > 0) return err(new CrdtError('CODEC_INVALID', `key state: ${r.remaining} trailing bytes`));
  return ok(out);
}
