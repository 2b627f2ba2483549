// Gossip messages and their versioned codec. Frames are msgpack arrays:
//   [protocolVersion, clusterName, senderId, senderIncarnation, senderAddress, kind, body]
// Decoding is strict: anything that is not exactly a known shape is a typed rejection, never a throw.

import { Packr } from 'msgpackr';
import { err, ok, type Result } from '../util/result.js';
import type { VectorEntry } from './version-log.js';

/** Bump when a message shape changes incompatibly; frames of another version are rejected. */
export const PROTOCOL_VERSION = 1;

export const MsgKind = {
  Digest: 1,
  Delta: 2,
  Ping: 3,
  PingReq: 4,
  Ack: 5,
  Have: 6,
  ReadReq: 7,
  ReadResp: 8,
} as const;
export type MsgKind = (typeof MsgKind)[keyof typeof MsgKind];

export const MemberState = { Alive: 0, Suspect: 1, Dead: 2, Left: 3 } as const;
export type MemberState = (typeof MemberState)[keyof typeof MemberState];
export const MEMBER_STATE_NAMES = ['alive', 'suspect', 'dead', 'left'] as const;

/** What one node believes of one member: precedence by (incarnation, seq), then by state. */
/**
 * What a node believes of one member. A Suspect record may carry its accusers: the members whose own
 * failure detector suspected it (sorted, distinct, at most MAX_ACCUSERS). Relaying a record does not
 * add the relay, so the count is of independent suspicions, which Lifeguard's timeout shrinks with.
 */
export type MemberRecord = [id: string, address: string, incarnation: number, seq: number, state: MemberState, accusers?: string[]];

/** Most accusers a Suspect record carries (more would not shorten the timeout further). */
export const MAX_ACCUSERS = 8;

/** The push-pull opener: the sender's vector hash, membership hash, and optionally its full vector. */
export interface DigestBody {
  /** Hash of the sender's version vector. */
  h: string;
  /** Hash of the sender's membership table. */
  m: string;
  /** The full vector, or null when the sender expects the peer to be in sync. */
  v: VectorEntry[] | null;
  /** Whether the receiver should answer with its own digest if it lacks anything. */
  r: boolean;
}

/** Key states for one or more origins' version ranges, and optionally the membership table. */
export interface DeltaBody {
  /**
   * Per origin: the range of versions this message carries, (from, to], the origin's entries in that
   * range as flat pairs [index into k, version, ...] oldest first, and 1 if the range reaches the
   * sender's known version (the transfer is complete), 0 if it was cut at the size limit.
   */
  o: [origin: string, from: number, to: number, entries: number[], complete: 0 | 1][];
  /** Key states: full key, type tag, CRDT codec bytes. */
  k: [key: string, tag: number, state: Uint8Array][];
  /** The sender's membership table, when the receiver's membership hash differed. */
  m: MemberRecord[] | null;
  /** True when the sender had more to send than fitted: the receiver should ask again at once. */
  more: boolean;
}

export interface PingBody {
  s: number;
}
export interface PingReqBody {
  s: number;
  t: string;
  a: string;
}
export interface AckBody {
  s: number;
}

/** After a delta completes some of the sender's own origin, the receiver tells it what it now holds. */
export interface HaveBody {
  v: VectorEntry[];
}
/** A majority read: the current state of these keys, please. */
export interface ReadReqBody {
  q: number;
  k: string[];
}
/** The answer to a ReadReq: the states of the keys the responder has. */
export interface ReadRespBody {
  q: number;
  k: [key: string, tag: number, state: Uint8Array][];
}

export type Message =
  | { kind: typeof MsgKind.Digest; body: DigestBody }
  | { kind: typeof MsgKind.Delta; body: DeltaBody }
  | { kind: typeof MsgKind.Ping; body: PingBody }
  | { kind: typeof MsgKind.PingReq; body: PingReqBody }
  | { kind: typeof MsgKind.Ack; body: AckBody }
  | { kind: typeof MsgKind.Have; body: HaveBody }
  | { kind: typeof MsgKind.ReadReq; body: ReadReqBody }
  | { kind: typeof MsgKind.ReadResp; body: ReadRespBody };

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

export function encodeEnvelope(env: Envelope): Uint8Array {
  return packr.pack([PROTOCOL_VERSION, env.cluster, env.from, env.incarnation, env.address, env.msg.kind, env.msg.body]);
}

const MAX_ID = 255;
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

function bad(detail: string): Result<never, Rejection> {
  return err({ reason: 'malformed', detail });
}

function decodeBody(kind: unknown, body: unknown): Result<Message, Rejection> {
  if (!isObj(body)) return bad('body is not a map');
  switch (kind) {
    case MsgKind.Digest: {
      const { h, m, v, r } = body;
      if (typeof h !== 'string' || h.length !== 16 || typeof m !== 'string' || m.length !== 16 || typeof r !== 'boolean')
        return bad('digest fields');
      if (v !== null && !isVector(v)) return bad('digest vector');
      return ok({ kind, body: { h, m, v: v as VectorEntry[] | null, r } });
    }
    case MsgKind.Delta: {
      const { o, k, m, more } = body;
      if (!Array.isArray(k) || !k.every((e) => Array.isArray(e) && e.length === 3 && isStr(e[0], MAX_KEY) && isUint(e[1]) && e[2] instanceof Uint8Array))
        return bad('delta keys');
      if (!Array.isArray(o) || !o.every((e) => isOriginRange(e, k.length))) return bad('delta origins');
      if (m !== null && !(Array.isArray(m) && m.every(isMemberRecord))) return bad('delta members');
      if (typeof more !== 'boolean') return bad('delta more');
      return ok({ kind, body: { o: o as DeltaBody['o'], k: k as DeltaBody['k'], m: m as MemberRecord[] | null, more } });
    }
    case MsgKind.Ping:
    case MsgKind.Ack: {
      if (!isUint(body.s)) return bad('seq');
      return ok({ kind, body: { s: body.s } });
    }
    case MsgKind.PingReq: {
      const { s, t, a } = body;
      if (!isUint(s) || !isStr(t) || !isStr(a, 1024)) return bad('ping-req fields');
      return ok({ kind, body: { s, t, a } });
    }
    case MsgKind.Have: {
      if (!isVector(body.v)) return bad('have vector');
      return ok({ kind, body: { v: body.v as VectorEntry[] } });
    }
    case MsgKind.ReadReq: {
      const { q, k } = body;
      if (!isUint(q) || !Array.isArray(k) || k.length > 4096 || !k.every((x) => isStr(x, MAX_KEY))) return bad('read-req fields');
      return ok({ kind, body: { q, k: k as string[] } });
    }
    case MsgKind.ReadResp: {
      const { q, k } = body;
      if (!isUint(q) || !Array.isArray(k) || !k.every((e) => Array.isArray(e) && e.length === 3 && isStr(e[0], MAX_KEY) && isUint(e[1]) && e[2] instanceof Uint8Array))
        return bad('read-resp fields');
      return ok({ kind, body: { q, k: k as ReadRespBody['k'] } });
    }
    default:
      return bad(`unknown message kind ${String(kind)}`);
  }
}

function isOriginRange(e: unknown, keyCount: number): boolean {
  if (!Array.isArray(e) || e.length !== 5 || !isStr(e[0]) || !isUint(e[1]) || !isUint(e[2]) || e[1] >= e[2]) return false;
  if (e[4] !== 0 && e[4] !== 1) return false;
  const entries: unknown = e[3];
  if (!Array.isArray(entries) || entries.length % 2 !== 0) return false;
  for (let i = 0; i < entries.length; i += 2) {
    const ki: unknown = entries[i];
    const v: unknown = entries[i + 1];
    if (!isUint(ki) || ki >= keyCount || !isUint(v) || v <= e[1] || v > e[2]) return false;
  }
  return true;
}

function isVector(v: unknown): boolean {
  return (
    Array.isArray(v) &&
    v.every((e) => Array.isArray(e) && (e.length === 2 || (e.length === 3 && isUint(e[2]) && e[2] > e[1])) && isStr(e[0]) && isUint(e[1]))
  );
}

/** Accusers of a Suspect record: 1..MAX_ACCUSERS ids, strictly ascending (one canonical form). */
function isAccusers(a: unknown): boolean {
  if (!Array.isArray(a) || a.length === 0 || a.length > MAX_ACCUSERS) return false;
  for (let i = 0; i < a.length; i++) if (!isStr(a[i]) || (i > 0 && !((a[i - 1] as string) < (a[i] as string)))) return false;
  return true;
}

function isMemberRecord(r: unknown): boolean {
  return (
    Array.isArray(r) &&
    (r.length === 5 || (r.length === 6 && r[4] === MemberState.Suspect && isAccusers(r[5]))) &&
    isStr(r[0]) &&
    isStr(r[1], 1024) &&
    isUint(r[2]) &&
    isUint(r[3]) &&
    typeof r[4] === 'number' &&
    Number.isInteger(r[4]) &&
    r[4] >= 0 &&
    r[4] <= 3
  );
}
