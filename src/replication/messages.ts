// Gossip messages and their versioned codec. Frames are msgpack arrays:
//   [protocolVersion, clusterName, senderId, senderIncarnation, senderAddress, kind, body]
// Bodies are compact tuples on the wire (docs/gossip.md gives the layout) and named records in the
// logic: `decodeEnvelope` validates and converts, `encodeEnvelope` converts back. Decoding is strict:
// anything that is not exactly a known shape is a typed rejection, never a throw.

import { Packr } from 'msgpackr';
import { err, ok, type Result } from '../util/result.js';
import { MsgpackWriter, writeDeltaBody } from './delta-writer.js';

/** Bump when a message shape changes incompatibly; frames of another version are rejected. */
export const PROTOCOL_VERSION = 1;

/**
 * Bytes a frame may exceed `maxMessageBytes` by: the envelope and membership records around the key
 * states, which the replica budgets separately. The transport and the decoder both allow this much.
 */
export const FRAME_SLACK_BYTES = 4096;

/** The largest frame accepted for a given `maxMessageBytes`. */
export function maxFrameBytes(maxMessageBytes: number): number {
  return maxMessageBytes + FRAME_SLACK_BYTES;
}

export const MsgKind = {
  Digest: 1,
  Delta: 2,
  Ping: 3,
  PingReq: 4,
  Ack: 5,
  Have: 6,
  ReadReq: 7,
  ReadResp: 8,
  Repair: 9,
} as const;
export type MsgKind = (typeof MsgKind)[keyof typeof MsgKind];

/**
 * Liveness of one incarnation (alive, suspect, dead; left = it stopped and said so), plus Removed:
 * the member is no longer part of the cluster (it left for good with `tally leave`, or an operator
 * removed it: docs/gossip.md, "Membership changes").
 */
export const MemberState = { Alive: 0, Suspect: 1, Dead: 2, Left: 3, Removed: 4 } as const;
export type MemberState = (typeof MemberState)[keyof typeof MemberState];
export const MEMBER_STATE_NAMES = ['alive', 'suspect', 'dead', 'left', 'removed'] as const;

/**
 * The incarnation of a removal by an operator (TALLY.REMOVE): above any a node can start with, so
 * the record outranks every record of that id, past and future. A removed id stays removed.
 */
export const REMOVED_INCARNATION = Number.MAX_SAFE_INTEGER;

/** Most accusers a Suspect record carries (more would not shorten the timeout further). */
export const MAX_ACCUSERS = 8;

/**
 * What a node believes of one member: precedence by (incarnation, seq), then by state. A Suspect
 * record may carry its accusers: the members whose own failure detector suspected it (sorted,
 * distinct, at most MAX_ACCUSERS). Relaying a record does not add the relay, so the count is of
 * independent suspicions, which Lifeguard's timeout shrinks with.
 */
export interface MemberRecord {
  readonly id: string;
  readonly address: string;
  readonly incarnation: number;
  readonly seq: number;
  readonly state: MemberState;
  readonly accusers?: readonly string[];
  /**
   * A member still catching up after it joined: it counts toward no majority (not in the size, not
   * as a holder, not as a reader) until it clears this by raising its seq (docs/consistency.md).
   */
  readonly joining?: true;
}

/** One origin of a version vector: its known version, and while a transfer is incomplete, where it resumes. */
export interface VectorEntry {
  readonly origin: string;
  readonly known: number;
  /** Present only when above `known`. */
  readonly cursor?: number;
}

/** A key's whole state as it travels: full key, type tag, CRDT codec bytes. */
export interface KeyState {
  readonly key: string;
  readonly tag: number;
  readonly bytes: Uint8Array;
}

/** The versions (from, to] of one origin that a Delta carries. */
export interface OriginRange {
  readonly origin: string;
  readonly from: number;
  readonly to: number;
  /** The origin's entries in the range as flat pairs [index into `states`, version, ...], oldest first. */
  readonly entries: readonly number[];
  /** True if the range reaches the sender's known version (the transfer is complete); false if cut at the size limit. */
  readonly complete: boolean;
}

/** The push-pull opener: the sender's vector hash, membership hash, and optionally its full vector. */
export interface DigestBody {
  /** Hash of the sender's version vector. */
  hash: string;
  /** Hash of the sender's membership table. */
  membersHash: string;
  /** The full vector, or null when the sender expects the peer to be in sync. */
  vector: VectorEntry[] | null;
  /** Whether the receiver should answer with its own digest if it lacks anything. */
  wantReply: boolean;
  /**
   * The sender's state digest (keyspace.ts): with equal vector hashes, a different state digest
   * means the states differ all the same, and a repair compares them bucket by bucket. Absent from
   * nodes that predate it.
   */
  stateHash?: string;
  /**
   * The state digest of what the sender holds durably: on disk as of its last commit, or in memory
   * when it keeps no store (it then restarts empty). Tombstone collection's evidence
   * (tombstone-gc.ts). Absent from nodes that predate it.
   */
  durableState?: string;
  /** The state digest at which the sender last collected its tombstones (it held that state durably then). */
  collectedState?: string;
  /**
   * Answer with your full vector even if you lack nothing (a joining node measuring how far it has
   * caught up, a leaving one how far its hand-off went). Ignored by nodes that predate it.
   */
  askVector?: true;
  /**
   * The sender's slot-fold bounds (slot-folds.ts): `[nodeId, bound]`, every incarnation of nodeId
   * below bound folded into its pseudo-slot. Present, even empty, from every node that folds: a node
   * folds only once every member sends it. Absent from nodes that predate it.
   */
  folds?: FoldBoundsWire;
  /**
   * How many voters the sender counts (membership.ts `voterCount`: forgotten ones included). A node
   * that heard of fewer members does not collect or fold on their evidence alone (the replica's
   * `gcMembers`). Absent from nodes that predate it.
   */
  voters?: number;
}

/** `[nodeId, bound]` pairs (slot-folds.ts, `FoldBounds`). */
export type FoldBoundsWire = readonly (readonly [string, number])[];

/** Most fold bounds a frame may carry (one per node id that ever restarted while writing). */
export const MAX_FOLD_BOUNDS = 4096;

/**
 * Anti-entropy's answer to a digest: the key states behind one or more origins' version ranges, and
 * optionally the membership table. (Not to be confused with a CRDT mutator's delta: this carries
 * each key's whole state.)
 */
export interface DeltaBody {
  ranges: OriginRange[];
  states: KeyState[];
  /**
   * Key states already written as msgpack, `[key, tag, bytes]` each, `count` of them, sent after
   * `states` (one array on the wire): a Delta built by anti-entropy writes its states this way, with
   * no object or view per key (`PackedStates`). Never set on a decoded frame.
   */
  packed?: PackedStates;
  /** The sender's membership table, when the receiver's membership hash differed. */
  members: MemberRecord[] | null;
  /** True when the sender had more to send than fitted: the receiver should ask again at once. */
  more: boolean;
  /** This frame is part `index` of batch `batch`: a key too large for one frame, sent in parts (no ranges). */
  part?: PartOf;
  /** Apply this frame's ranges only if every earlier part of this batch arrived (a key sent in parts). */
  needs?: PartsNeeded;
  /** The sender's slot-fold bounds when it has any: its states are folded by them (DigestBody.folds). */
  folds?: FoldBoundsWire;
}

/** Key states written as msgpack (DeltaBody.packed). */
export interface PackedStates {
  /** The states' msgpack, one after another, with no array header. */
  bytes: Uint8Array;
  count: number;
}

/** A frame of parts of a key too large for one frame: which transfer, which part. */
export interface PartOf {
  batch: number;
  index: number;
}
/** How many part frames of a batch must have arrived for a frame's claims to hold. */
export interface PartsNeeded {
  batch: number;
  parts: number;
}

export interface PingBody {
  seq: number;
}
/** Asks the receiver to ping `target` at `address` for the sender (SWIM's indirect probe). */
export interface PingReqBody {
  seq: number;
  target: string;
  address: string;
}
export interface AckBody {
  seq: number;
  /** The responder's clock when it answered: with the probe's round trip, an estimate of its offset (clock-skew.ts). */
  time?: number;
}

/** After a delta completes some of the sender's own origin, the receiver tells it what it now holds. */
export interface HaveBody {
  vector: VectorEntry[];
}
/** A majority read: the current state of these keys, please. */
export interface ReadReqBody {
  id: number;
  keys: string[];
}
/** The answer to a ReadReq: the states of the keys the responder has. */
export interface ReadRespBody {
  id: number;
  states: KeyState[];
  /** Counts as an answer only if every part frame of this batch arrived (a key sent in parts). */
  needs?: PartsNeeded;
  /** The sender's slot-fold bounds when it has any (DigestBody.folds). */
  folds?: FoldBoundsWire;
}
/**
 * State repair: the sender's per-bucket state digests (DIGEST_BUCKETS x 8 bytes). The receiver
 * ships its keys of every bucket whose digest differs, and with `wantReply` sends its own digests
 * back so the sender ships its keys of those buckets too.
 */
export interface RepairBody {
  buckets: Uint8Array;
  wantReply: boolean;
}

/** Bytes of a Repair's bucket digests. */
export const REPAIR_DIGEST_BYTES = 256 * 8;

export type Message =
  | { kind: typeof MsgKind.Digest; body: DigestBody }
  | { kind: typeof MsgKind.Delta; body: DeltaBody }
  | { kind: typeof MsgKind.Ping; body: PingBody }
  | { kind: typeof MsgKind.PingReq; body: PingReqBody }
  | { kind: typeof MsgKind.Ack; body: AckBody }
  | { kind: typeof MsgKind.Have; body: HaveBody }
  | { kind: typeof MsgKind.ReadReq; body: ReadReqBody }
  | { kind: typeof MsgKind.ReadResp; body: ReadRespBody }
  | { kind: typeof MsgKind.Repair; body: RepairBody };

export interface Envelope {
  cluster: string;
  from: string;
  incarnation: number;
  address: string;
  msg: Message;
}

/** Why a frame was rejected: a stable code, counted in metrics and logged with the peer. */
export type RejectReason = 'malformed' | 'version' | 'cluster' | 'oversize' | 'self';

export interface Rejection {
  reason: RejectReason;
  detail: string;
}

const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false, mapsAsObjects: true });

// ---- records to wire tuples --------------------------------------------------------------------

type WireVector = [string, number] | [string, number, number];
type WireMember = [string, string, number, number, MemberState] | [string, string, number, number, MemberState, string[]] | [string, string, number, number, MemberState, string[], 1];
type WireState = [string, number, Uint8Array];

function vectorToWire(v: readonly VectorEntry[]): WireVector[] {
  return v.map((e) => (e.cursor !== undefined ? [e.origin, e.known, e.cursor] : [e.origin, e.known]));
}

export function memberToWire(r: MemberRecord): WireMember {
  const base: [string, string, number, number, MemberState] = [r.id, r.address, r.incarnation, r.seq, r.state];
  const accusers = r.accusers !== undefined && r.accusers.length > 0 ? [...r.accusers] : undefined;
  // A joining member: a 7th element 1 (with an empty accuser list unless it is a suspect).
  if (r.joining === true) return [...base, accusers ?? [], 1];
  return accusers !== undefined ? [...base, accusers] : base;
}

function statesToWire(s: readonly KeyState[]): WireState[] {
  return s.map((k) => [k.key, k.tag, k.bytes]);
}

/** The wire form of every body but a Delta's, which `writeDeltaBody` writes itself. */
function bodyToWire(msg: Exclude<Message, { kind: typeof MsgKind.Delta }>): object {
  switch (msg.kind) {
    case MsgKind.Digest: {
      const b = msg.body;
      const w = { h: b.hash, m: b.membersHash, v: b.vector === null ? null : vectorToWire(b.vector), r: b.wantReply };
      return { ...w, ...(b.stateHash === undefined ? {} : { s: b.stateHash }), ...(b.durableState === undefined ? {} : { d: b.durableState }), ...(b.collectedState === undefined ? {} : { c: b.collectedState }), ...(b.askVector === true ? { a: 1 } : {}), ...(b.folds === undefined ? {} : { f: b.folds }), ...(b.voters === undefined ? {} : { n: b.voters }) };
    }
    case MsgKind.Ping:
      return { s: msg.body.seq };
    case MsgKind.Ack:
      return msg.body.time === undefined ? { s: msg.body.seq } : { s: msg.body.seq, t: msg.body.time };
    case MsgKind.PingReq:
      return { s: msg.body.seq, t: msg.body.target, a: msg.body.address };
    case MsgKind.Have:
      return { v: vectorToWire(msg.body.vector) };
    case MsgKind.ReadReq:
      return { q: msg.body.id, k: msg.body.keys };
    case MsgKind.ReadResp:
      return { q: msg.body.id, k: statesToWire(msg.body.states), ...(msg.body.needs === undefined ? {} : { n: [msg.body.needs.batch, msg.body.needs.parts] }), ...(msg.body.folds === undefined ? {} : { f: msg.body.folds }) };
    case MsgKind.Repair:
      return { b: msg.body.buckets, r: msg.body.wantReply };
  }
}

/** Where Deltas are written (delta-writer.ts). */
const writer = new MsgpackWriter();

export function encodeEnvelope(env: Envelope): Uint8Array {
  const msg = env.msg;
  if (msg.kind !== MsgKind.Delta) return packr.pack([PROTOCOL_VERSION, env.cluster, env.from, env.incarnation, env.address, msg.kind, bodyToWire(msg)]);
  writer.begin();
  writer.array(7);
  writer.num(PROTOCOL_VERSION);
  writer.str(env.cluster);
  writer.str(env.from);
  writer.num(env.incarnation);
  writer.str(env.address);
  writer.num(msg.kind);
  writeDeltaBody(writer, msg.body, packr, memberToWire);
  return writer.end();
}

// ---- wire tuples to records, validating --------------------------------------------------------

const MAX_ID = 255;
/** Most voters a digest may report (far above any cluster: a forged count could only stop collection). */
const MAX_VOTERS = 100_000;
const MAX_KEY = 1 << 20;

function isStr(x: unknown, max = MAX_ID): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= max;
}
function isUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}
function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

/** Decodes and validates a frame. `cluster` is the expected cluster name. */
export function decodeEnvelope(bytes: Uint8Array, cluster: string, maxBytes: number): Result<Envelope, Rejection> {
  if (bytes.length > maxBytes) return err({ reason: 'oversize', detail: `${bytes.length} bytes > limit ${maxBytes}` });
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (e) {
    return err({ reason: 'malformed', detail: `not msgpack: ${(e as Error).message}` });
  }
  if (!Array.isArray(raw) || raw.length !== 7) return err({ reason: 'malformed', detail: 'envelope is not a 7-element array' });
  const [version, clusterName, from, incarnation, address, kind, body] = raw as unknown[];
  if (version !== PROTOCOL_VERSION) return err({ reason: 'version', detail: `protocol version ${String(version)}, expected ${PROTOCOL_VERSION}` });
  if (clusterName !== cluster) return err({ reason: 'cluster', detail: `cluster '${String(clusterName).slice(0, 64)}', expected '${cluster}'` });
  if (!isStr(from) || !isUint(incarnation) || !isStr(address, 1024)) return err({ reason: 'malformed', detail: 'bad sender fields' });
  const msg = decodeBody(kind, body);
  if (!msg.ok) return msg;
  return ok({ cluster, from, incarnation, address, msg: msg.value });
}

/** Fold bounds: at most MAX_FOLD_BOUNDS `[nodeId, bound]` pairs, bound a positive safe integer; null if anything else. */
function readFolds(f: unknown): FoldBoundsWire | null {
  if (!Array.isArray(f) || f.length > MAX_FOLD_BOUNDS) return null;
  const out: [string, number][] = [];
  for (const e of f as unknown[]) {
    if (!Array.isArray(e) || e.length !== 2 || !isStr(e[0]) || !isUint(e[1]) || e[1] === 0) return null;
    out.push([e[0], e[1]]);
  }
  return out;
}

function bad(detail: string): Result<never, Rejection> {
  return err({ reason: 'malformed', detail });
}

function decodeBody(kind: unknown, body: unknown): Result<Message, Rejection> {
  if (!isObj(body)) return bad('body is not a map');
  switch (kind) {
    case MsgKind.Digest: {
      const { h, m, v, r, s, d, c, a, f, n } = body;
      if (typeof h !== 'string' || h.length !== 16 || typeof m !== 'string' || m.length !== 16 || typeof r !== 'boolean')
        return bad('digest fields');
      if (s !== undefined && (typeof s !== 'string' || s.length !== 16)) return bad('digest state hash');
      if (d !== undefined && (typeof d !== 'string' || d.length !== 16)) return bad('digest durable state hash');
      if (c !== undefined && (typeof c !== 'string' || c.length !== 16)) return bad('digest collected state hash');
      if (a !== undefined && a !== 1) return bad('digest ask-vector flag');
      if (n !== undefined && (!isUint(n) || n > MAX_VOTERS)) return bad('digest voter count');
      const folds = f === undefined ? undefined : readFolds(f);
      if (folds === null) return bad('digest fold bounds');
      const stateHash = { ...(s === undefined ? {} : { stateHash: s }), ...(d === undefined ? {} : { durableState: d }), ...(c === undefined ? {} : { collectedState: c }), ...(a === 1 ? { askVector: true as const } : {}), ...(folds === undefined ? {} : { folds }), ...(n === undefined ? {} : { voters: n as number }) };
      if (v === null) return ok({ kind, body: { hash: h, membersHash: m, vector: null, wantReply: r, ...stateHash } });
      const vector = readVector(v);
      if (vector === undefined) return bad('digest vector');
      return ok({ kind, body: { hash: h, membersHash: m, vector, wantReply: r, ...stateHash } });
    }
    case MsgKind.Delta: {
      const { o, k, m, more, p, n, f } = body;
      const states = readStates(k);
      if (states === undefined) return bad('delta keys');
      if (!Array.isArray(o)) return bad('delta origins');
      const ranges: OriginRange[] = [];
      for (const e of o) {
        const range = readRange(e, states.length);
        if (range === undefined) return bad('delta origins');
        ranges.push(range);
      }
      let members: MemberRecord[] | null = null;
      if (m !== null) {
        if (!Array.isArray(m)) return bad('delta members');
        members = [];
        for (const r of m) {
          const rec = readMember(r);
          if (rec === undefined) return bad('delta members');
          members.push(rec);
        }
      }
      if (typeof more !== 'boolean') return bad('delta more');
      const part = p === undefined ? undefined : readPair(p, 0);
      const needs = n === undefined ? undefined : readPair(n, 1);
      if (part === null || needs === null || (part !== undefined && (ranges.length > 0 || needs !== undefined))) return bad('delta parts');
      const folds = f === undefined ? undefined : readFolds(f);
      if (folds === null) return bad('delta fold bounds');
      return ok({
        kind,
        body: {
          ranges, states, members, more,
          ...(part === undefined ? {} : { part: { batch: part[0], index: part[1] } }),
          ...(needs === undefined ? {} : { needs: { batch: needs[0], parts: needs[1] } }),
          ...(folds === undefined ? {} : { folds }),
        },
      });
    }
    case MsgKind.Ping: {
      if (!isUint(body.s)) return bad('seq');
      return ok({ kind, body: { seq: body.s } });
    }
    case MsgKind.Ack: {
      const { s, t } = body;
      if (!isUint(s) || (t !== undefined && !isUint(t))) return bad('ack fields');
      return ok({ kind, body: t === undefined ? { seq: s } : { seq: s, time: t } });
    }
    case MsgKind.PingReq: {
      const { s, t, a } = body;
      if (!isUint(s) || !isStr(t) || !isStr(a, 1024)) return bad('ping-req fields');
      return ok({ kind, body: { seq: s, target: t, address: a } });
    }
    case MsgKind.Have: {
      const vector = readVector(body.v);
      if (vector === undefined) return bad('have vector');
      return ok({ kind, body: { vector } });
    }
    case MsgKind.ReadReq: {
      const { q, k } = body;
      if (!isUint(q) || !Array.isArray(k) || k.length > 4096 || !k.every((x) => isStr(x, MAX_KEY))) return bad('read-req fields');
      return ok({ kind, body: { id: q, keys: k as string[] } });
    }
    case MsgKind.ReadResp: {
      const { q, k, n, f } = body;
      const states = readStates(k);
      const needs = n === undefined ? undefined : readPair(n, 1);
      const folds = f === undefined ? undefined : readFolds(f);
      if (!isUint(q) || states === undefined || needs === null || folds === null) return bad('read-resp fields');
      return ok({ kind, body: { id: q, states, ...(needs === undefined ? {} : { needs: { batch: needs[0], parts: needs[1] } }), ...(folds === undefined ? {} : { folds }) } });
    }
    case MsgKind.Repair: {
      const { b, r } = body;
      if (!(b instanceof Uint8Array) || b.length !== REPAIR_DIGEST_BYTES || typeof r !== 'boolean') return bad('repair fields');
      return ok({ kind, body: { buckets: b, wantReply: r } });
    }
    default:
      return bad(`unknown message kind ${String(kind)}`);
  }
}

/** A pair of unsigned integers, the second at least `min`; null if malformed. */
function readPair(v: unknown, min: number): [number, number] | null {
  if (!Array.isArray(v) || v.length !== 2 || !isUint(v[0]) || !isUint(v[1]) || v[1] < min) return null;
  return [v[0], v[1]];
}

function readStates(k: unknown): KeyState[] | undefined {
  if (!Array.isArray(k)) return undefined;
  // Sized at once, as the replica's decoded list (replica.ts, decodeStates).
  // Stryker disable next-line ArrayDeclaration: equivalent but for memory, an unsized array grows to the same list
  const out = new Array<KeyState>(k.length);
  for (let i = 0; i < k.length; i++) {
    const e: unknown = k[i];
    if (!Array.isArray(e) || e.length !== 3) return undefined;
    const [key, tag, bytes] = e as unknown[];
    if (!isStr(key, MAX_KEY) || !isUint(tag) || !(bytes instanceof Uint8Array)) return undefined;
    out[i] = { key, tag, bytes };
  }
  return out;
}

function readRange(e: unknown, keyCount: number): OriginRange | undefined {
  if (!Array.isArray(e) || e.length !== 5) return undefined;
  const [origin, from, to, entries, complete] = e as unknown[];
  if (!isStr(origin) || !isUint(from) || !isUint(to) || from >= to) return undefined;
  if (complete !== 0 && complete !== 1) return undefined;
  if (!Array.isArray(entries) || entries.length % 2 !== 0) return undefined;
  for (let i = 0; i < entries.length; i += 2) {
    const ki: unknown = entries[i];
    const v: unknown = entries[i + 1];
    if (!isUint(ki) || ki >= keyCount || !isUint(v) || v <= from || v > to) return undefined;
  }
  return { origin, from, to, entries: entries as number[], complete: complete === 1 };
}

function readVector(v: unknown): VectorEntry[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: VectorEntry[] = [];
  for (const e of v) {
    if (!Array.isArray(e) || !isStr(e[0]) || !isUint(e[1])) return undefined;
    if (e.length === 2) out.push({ origin: e[0], known: e[1] });
    else if (e.length === 3 && isUint(e[2]) && e[2] > e[1]) out.push({ origin: e[0], known: e[1], cursor: e[2] });
    else return undefined;
  }
  return out;
}

/** Accusers of a Suspect record: 1..MAX_ACCUSERS ids, strictly ascending (one canonical form). */
function isAccusers(a: unknown): a is string[] {
  if (!Array.isArray(a) || a.length === 0 || a.length > MAX_ACCUSERS) return false;
  for (let i = 0; i < a.length; i++) if (!isStr(a[i]) || (i > 0 && !((a[i - 1] as string) < (a[i] as string)))) return false;
  return true;
}

function readMember(r: unknown): MemberRecord | undefined {
  if (!Array.isArray(r) || r.length < 5 || r.length > 7) return undefined;
  const [id, address, incarnation, seq, state, accusers, joining] = r as unknown[];
  if (!isStr(id) || !isStr(address, 1024) || !isUint(incarnation) || !isUint(seq)) return undefined;
  if (typeof state !== 'number' || !Number.isInteger(state) || state < 0 || state > 4) return undefined;
  const st = state as MemberState;
  if (r.length === 5) return { id, address, incarnation, seq, state: st };
  if (r.length === 7) {
    // Joining: accusers only on a suspect (possibly none), and the flag is exactly 1.
    if (joining !== 1 || !Array.isArray(accusers)) return undefined;
    if (accusers.length === 0) return { id, address, incarnation, seq, state: st, joining: true };
    if (st !== MemberState.Suspect || !isAccusers(accusers)) return undefined;
    return { id, address, incarnation, seq, state: st, accusers, joining: true };
  }
  if (st !== MemberState.Suspect || !isAccusers(accusers)) return undefined;
  return { id, address, incarnation, seq, state: st, accusers };
}
