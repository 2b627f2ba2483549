// The codec helpers of the counters' slot table (counter-base.ts, CounterBase): each slot's kind and
// varints, the header, the replica ids read (with the last few kept) and written (ASCII without a
// TextEncoder). The format itself is docs/crdt-counters.md's; CounterBase writes and reads whole states,
// and the whole state of a counter of plain slots is written here without a counter (compact keys:
// keyspace/compact-keys.ts).

import { ByteReader, ByteWriter, CODEC_VERSION, TypeTag, uvarintSize } from './codec.js';
import { hash64Lanes } from './hash64.js';
import { CrdtError } from './errors.js';
import { internReplicaId, type ReplicaId } from './replica-id.js';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

// A slot and its floor are written in one of four "kinds" (two bits, carried in the entry header):
//   0: slot = 0, floor = 0            nothing written
//   1: floor = 0, slot > 0            uvarint slot
//   2: floor = slot > 0               uvarint slot            (the state right after a reset)
//   3: 0 < floor < slot               uvarint slot, uvarint (slot - floor)
// Every state has exactly one kind, so encodings are canonical and decoders reject the others.

export type SlotKind = 0 | 1 | 2 | 3;

export function slotKind(p: number, f: number): SlotKind {
  if (p === 0) return 0;
  if (f === 0) return 1;
  return f === p ? 2 : 3;
}

export function writeSlot(w: ByteWriter, kind: SlotKind, p: number, f: number): void {
  if (kind === 0) return;
  w.uvarint(p);
  if (kind === 3) w.uvarint(p - f);
}

/** Bytes `writeSlot` writes. */
export function slotSize(kind: SlotKind, p: number, f: number): number {
  if (kind === 0) return 0;
  return uvarintSize(p) + (kind === 3 ? uvarintSize(p - f) : 0);
}

/** The floor of the slot `readSlot` read last (a second result without an array per slot). */
export const slotRead = { floor: 0 };

/**
 * Reads a slot of the given kind: returns the slot, its floor in `slotRead.floor`. Non-canonical
 * input fails the reader (the caller checks `r.failed`; what is returned then means nothing). A pair
 * returned per slot was two arrays per counter received.
 */
export function readSlot(r: ByteReader, kind: SlotKind): number {
  slotRead.floor = 0;
  if (kind === 0) return 0;
  // A failed read gives 0, which fails below too (the reader keeps its first reason).
  const p = r.uvarint();
  if (p === 0) {
    r.fail('zero slot written explicitly');
    return 0;
  }
  if (kind !== 3) {
    if (kind === 2) slotRead.floor = p;
    return p;
  }
  const live = r.uvarint();
  if (live === 0 || live >= p) {
    r.fail('floor must be strictly between 0 and the slot in kind 3');
    return 0;
  }
  slotRead.floor = p - live;
  return p;
}

/** Reads `[version][tag][count]`: the entry count, or the typed error (no Result: one per counter received). */
export function readHeader(r: ByteReader, tag: TypeTag, name: string): number | CrdtError {
  const version = r.u8();
  if (r.failed) return new CrdtError('CODEC_TRUNCATED', `${name}: empty input`);
  if (version !== CODEC_VERSION) return new CrdtError('CODEC_BAD_VERSION', `${name}: unknown version ${version}`);
  const t = r.u8();
  if (r.failed) return new CrdtError('CODEC_TRUNCATED', `${name}: missing type tag`);
  if (t !== tag) return new CrdtError('CODEC_BAD_TYPE', `${name}: type tag ${t}, expected ${tag}`);
  // A failed read gives a count of 0: the decoder then reports the reader's failure.
  const count = r.uvarint();
  // Every entry takes at least 3 bytes (header, one id byte, one slot byte).
  if (count > r.remaining / 3) return new CrdtError('CODEC_TRUNCATED', `${name}: ${count} entries cannot fit`);
  return count;
}

/**
 * The bytes of the last RECENT_IDS replica ids `readId` decoded, and the ids. The counters of a
 * Delta are mostly the same few writers', so most ids read were read just before: matched byte for
 * byte, an id is not decoded again. Building it a char at a time was 458 of the 3,300 bytes a
 * catching-up peer allocated per key (bench scale), and with three writers per key the one id last
 * read was never the next.
 */
const RECENT_IDS = 4;
const recentIdBytes: Uint8Array[] = [];
const recentIds: string[] = [];
let recentNext = 0;

/** Reads an entry's id bytes (length already known from the header) and checks canonical order. */
export function readId(r: ByteReader, len: number, prev: string | undefined): string | undefined {
  if (len === 0) {
    r.fail('empty replica id');
    return undefined;
  }
  if (len > r.remaining) {
    r.bytes(len); // fails the reader as truncated
    return undefined;
  }
  let id: string | undefined;
  for (let i = 0; i < recentIds.length; i++) {
    const b = recentIdBytes[i] as Uint8Array;
    if (b.length === len && r.skipIfNext(b)) {
      id = recentIds[i] as string;
      break;
    }
  }
  if (id === undefined) {
    const bytes = r.bytes(len);
    // ASCII ids (the usual `node:incarnation`) need no TextDecoder.
    let ascii = true;
    for (let i = 0; i < len; i++) if ((bytes[i] as number) >= 0x80) ascii = false;
    if (ascii) {
      id = String.fromCharCode.apply(null, bytes as unknown as number[]);
    } else {
      try {
        id = textDecoder.decode(bytes);
      } catch {
        r.fail('replica id is not valid UTF-8');
        return undefined;
      }
    }
    id = internReplicaId(id);
    recentIdBytes[recentNext] = bytes.slice();
    recentIds[recentNext] = id;
    recentNext = (recentNext + 1) % RECENT_IDS;
  }
  if (prev !== undefined && !(prev < id)) {
    r.fail(prev === id ? `duplicate replica id '${id}'` : 'replica ids not sorted');
    return undefined;
  }
  return id;
}

export function readerError(r: ByteReader, name: string): CrdtError {
  const code = r.reason.startsWith('truncated') ? 'CODEC_TRUNCATED' : 'CODEC_INVALID';
  return new CrdtError(code, `${name}: ${r.reason}`);
}

/** The replica id `idBytes` last encoded, and its bytes. */
let lastId = '';
let lastBytes: Uint8Array = new Uint8Array(0);
/** Ids `idBytes` encoded, with their bytes (emptied past ID_BYTES_MAX: ids come and go with incarnations). */
const idBytesOf = new Map<string, Uint8Array>();
const ID_BYTES_MAX = 4096;

/**
 * The UTF-8 bytes of a replica id, kept: a counter's slots are mostly one writer's, and ids are
 * interned (replica-id.ts), so most calls repeat the last id and compare one pointer. Writing an id a
 * byte at a time (after testing it was ASCII) took 90-100 ns per slot written, copying its kept bytes
 * 30-40 ns; every key created is encoded three times on its writer (its record and a Delta to each
 * of two peers), and writing entries was 7% of the writer's CPU in `bench scale --writers=1`. With
 * three writers per key the last id is rarely the next: the ids seen are kept in a bounded Map.
 * The bytes returned are shared: never write into them.
 */
export function idBytes(id: string): Uint8Array {
  // Stryker disable next-line ConditionalExpression: equivalent but for work, encoding again gives the same bytes
  if (id !== lastId) {
    let bytes = idBytesOf.get(id);
    // Stryker disable next-line ConditionalExpression: equivalent but for work, encoding again gives the same bytes
    if (bytes === undefined) {
      bytes = textEncoder.encode(id);
      // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent but for memory, the Map only saves encodings
      if (idBytesOf.size >= ID_BYTES_MAX) idBytesOf.clear();
      idBytesOf.set(id, bytes);
    }
    lastId = id;
    lastBytes = bytes;
  }
  return lastBytes;
}

/** Writes an entry head: uvarint `idBytes << kindBits | kinds`, then the id's UTF-8 bytes. */
export function writeEntryHead(w: ByteWriter, id: string, kindBits: number, kinds: number): void {
  const bytes = idBytes(id);
  w.uvarint(bytes.length * (1 << kindBits) + kinds).bytes(bytes);
}

/** The writer `plainCounterHash` encodes into (synchronous, never nested). */
const scratch = new ByteWriter(256);

/** One slot of a counter's codec form (`CounterBase.encode`): its head, its id, its P and N fields (N only for `two` lanes). */
export function writeSlotEntry(w: ByteWriter, id: ReplicaId, p: number, fp: number, n: number, fn: number, two: boolean): void {
  const pk = slotKind(p, fp);
  const nk = slotKind(n, fn);
  writeEntryHead(w, id, two ? 4 : 2, two ? pk * 4 + nk : pk);
  writeSlot(w, pk, p, fp);
  writeSlot(w, nk, n, fn);
}

/**
 * Appends the codec form of a counter of type `tag` (G- or PN-Counter) that holds one slot, replica
 * `rid`'s `p` increments (no floors, no decrements): the bytes `encode()` of such a counter gives,
 * without the counter (a compact key's whole state: keyspace/key-table.ts).
 */
export function writeOneSlotCounter(w: ByteWriter, tag: typeof TypeTag.GCounter | typeof TypeTag.PNCounter, rid: ReplicaId, p: number): ByteWriter {
  w.u8(CODEC_VERSION).u8(tag).uvarint(1);
  writeSlotEntry(w, rid, p, 0, 0, 0, tag === TypeTag.PNCounter);
  return w;
}

/**
 * A one-slot counter's encoding up to its count (`writeOneSlotCounter`: the header, the slot's head
 * and its replica id), which depends on the type and the id alone: the hash's lanes after its whole
 * words, and its bytes past them (0 to 3).
 */
interface OneSlotHead {
  readonly tag: number;
  readonly rid: ReplicaId;
  readonly lanes: Int32Array;
  /** Bytes the lanes took (a multiple of 4). */
  readonly hashed: number;
  readonly rest: Uint8Array;
}

/** Heads by replica id, for each type (emptied past ID_BYTES_MAX, as `idBytesOf`); and the last one used. */
const oneSlotHeads = new Map<number, Map<ReplicaId, OneSlotHead>>();
let lastHead: OneSlotHead | undefined;
/** Where `oneSlotCounterHash` writes a head's last bytes and the count. */
const countScratch = new ByteWriter(16);

function oneSlotHead(tag: typeof TypeTag.GCounter | typeof TypeTag.PNCounter, rid: ReplicaId): OneSlotHead {
  let byId = oneSlotHeads.get(tag);
  // Stryker disable next-line ConditionalExpression: equivalent but for work, a new Map only loses the heads kept
  if (byId === undefined) oneSlotHeads.set(tag, (byId = new Map()));
  let head = byId.get(rid);
  // Stryker disable next-line ConditionalExpression: equivalent but for work, a head made again is the same
  if (head === undefined) {
    // The encoding of a count of 1 ends in that count's one byte: the head is all before it.
    const w = new ByteWriter(64);
    writeOneSlotCounter(w, tag, rid, 1);
    const bytes = w.finish().subarray(0, w.length - 1);
    const hashed = bytes.length - (bytes.length & 3);
    const lanes = new Int32Array(2);
    hash64Lanes(bytes, hashed / 4, lanes);
    head = { tag, rid, lanes, hashed, rest: bytes.slice(hashed) };
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent but for memory, the Map only saves heads
    if (byId.size >= ID_BYTES_MAX) byId.clear();
    byId.set(rid, head);
  }
  return head;
}

/**
 * `plainCounterHash` of one slot: replica `rid`'s `p` increments (at least 1). Its encoding's head is
 * hashed once per type and id (`OneSlotHead`), so only its last bytes and the count are hashed per
 * call: the state digest folds every changed compact key in by this hash, and writing and hashing
 * the whole encoding took 150-240 ns a key in process (a million keys made three nodes fold three
 * million).
 */
function oneSlotCounterHash(tag: typeof TypeTag.GCounter | typeof TypeTag.PNCounter, rid: ReplicaId, p: number): number {
  let head = lastHead;
  // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent but for work, the Map holds the same head
  if (head === undefined || head.rid !== rid || head.tag !== tag) lastHead = head = oneSlotHead(tag, rid);
  const w = countScratch.reset();
  const rest = head.rest;
  for (let i = 0; i < rest.length; i++) w.u8(rest[i] as number);
  return w.uvarint(p).hashAfter(head.lanes, head.hashed);
}

/** Slot indexes sorted by id, reused by `writePlainCounter`. */
const plainOrder: number[] = [];

/**
 * Appends the codec form of a counter of type `tag` that holds `k` plain slots (1 <= k <= 9,
 * the slots a counter sorts by insertion): replica `rids[i]`'s `ps[i]` increments (at least 1, no floors, no decrements), the ids
 * distinct. The bytes `encode()` of such a counter gives, without the counter (a compact key of
 * several writers: keyspace/key-table.ts).
 */
export function writePlainCounter(
  w: ByteWriter,
  tag: typeof TypeTag.GCounter | typeof TypeTag.PNCounter,
  rids: readonly ReplicaId[],
  ps: readonly number[],
  k: number,
): ByteWriter {
  // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent but for speed, one slot sorts to itself
  if (k === 1) return writeOneSlotCounter(w, tag, rids[0] as ReplicaId, ps[0] as number);
  // Sorted by id by insertion (as `writeState` sorts a few slots).
  for (let i = 0; i < k; i++) {
    const id = rids[i] as ReplicaId;
    let j = i - 1;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, plainOrder[-1] is undefined, whose id compares false; ids are never equal
    while (j >= 0 && (rids[plainOrder[j] as number] as ReplicaId) > id) {
      plainOrder[j + 1] = plainOrder[j] as number;
      j--;
    }
    plainOrder[j + 1] = i;
  }
  w.u8(CODEC_VERSION).u8(tag).uvarint(k);
  const two = tag === TypeTag.PNCounter;
  for (let i = 0; i < k; i++) {
    const s = plainOrder[i] as number;
    writeSlotEntry(w, rids[s] as ReplicaId, ps[s] as number, 0, 0, 0, two);
  }
  return w;
}

/** `encodingHash()` of the counter `writePlainCounter` writes; `hash64Lo()` then gives the low word. */
export function plainCounterHash(tag: typeof TypeTag.GCounter | typeof TypeTag.PNCounter, rids: readonly ReplicaId[], ps: readonly number[], k: number): number {
  // Stryker disable next-line ConditionalExpression: equivalent but for speed, the general way hashes the same bytes
  if (k === 1) return oneSlotCounterHash(tag, rids[0] as ReplicaId, ps[0] as number);
  return writePlainCounter(scratch.reset(), tag, rids, ps, k).hash();
}
