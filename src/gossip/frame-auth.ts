// Sealing and opening of gossip frames with a cluster keyring: AES-256-GCM, bound to the cluster
// name, with replay protection. Pure: no sockets, no timers; time comes in as an argument.
// docs/gossip-transport.md describes the wire format and the key rotation procedure.

import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { err, ok, type Result } from '../util/result.js';

/** The first byte of every sealed frame. Bump when the layout below changes incompatibly. */
export const FRAME_VERSION = 1;
/** Bytes in one cluster key (AES-256). */
export const KEY_BYTES = 32;
/** Bytes of the key id: the first 4 bytes of SHA-256(key). Names the key without revealing it. */
export const KEY_ID_BYTES = 4;
/** AES-GCM nonce length (the 96 bits GCM is designed for). */
export const NONCE_BYTES = 12;
/** AES-GCM authentication tag length (the full 128 bits). */
export const TAG_BYTES = 16;
/** Bytes of the sender's session id inside the plaintext. */
export const SESSION_ID_BYTES = 8;
/** Clear header: version, key id, nonce. */
export const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES;
/** Encrypted prefix of the plaintext: timestamp u64, session id, sequence u64. */
export const INNER_HEADER_BYTES = 8 + SESSION_ID_BYTES + 8;
/** Bytes a sealed frame adds to its payload (57). */
export const FRAME_OVERHEAD = HEADER_BYTES + INNER_HEADER_BYTES + TAG_BYTES;
/** Default replay window: frames whose timestamp is further than this from `now` are stale. */
export const DEFAULT_REPLAY_WINDOW_MS = 60_000;
/** Default bound on the sessions a FrameOpener remembers (one per sender process start, roughly). */
export const DEFAULT_MAX_SESSIONS = 16_384;

/**
 * How far the clock may step back before a sealer starts a new session: a smaller step (NTP slewing,
 * jitter between clock reads) keeps the session and stamps the last timestamp again.
 */
export const CLOCK_STEP_BACK_MS = 1_000;

/** The largest sequence number within one sealer session: the nonce carries it as a u32. */
const MAX_SEQ = 0xffff_ffff;
const TWO_32 = 0x1_0000_0000;

/** Why a frame was refused. Stable codes: counted in metrics, logged with the peer, listed in the docs. */
export type AuthRejectReason = 'format' | 'unknown-key' | 'auth' | 'stale' | 'replay' | 'oversize';

export interface AuthRejection {
  reason: AuthRejectReason;
  detail: string;
  /** For 'stale': the (authenticated) timestamp the frame carried, which a clock notice echoes. */
  ts?: number;
}

/**
 * A clock notice: what a node answers, on the connection it came in on, to an authenticated frame it
 * refused as stale. Sealed like any frame, its payload is `[0x4e][1][u64 echoed timestamp][u64 the
 * refusing node's clock]`. The sender opens it without the replay window (its clock is the suspect),
 * and believes it only if the echoed timestamp is one of its own recent ones: so a node learns that
 * its clock is off even though every frame it sends is refused (docs/gossip-transport.md).
 */
export interface ClockNotice {
  /** The timestamp of our refused frame, as we wrote it. */
  echoedTs: number;
  /** The refusing node's clock when it refused it. */
  peerNow: number;
}

const NOTICE_MAGIC = 0x4e;
const NOTICE_VERSION = 1;
const NOTICE_BYTES = 2 + 8 + 8;
/** How old (by our own clock) a timestamp a notice echoes may be: older notices are replays or late. */
const NOTICE_MAX_AGE_MS = 10 * 60_000;

interface RingKey {
  /** Hex of the key id, for logs and errors. */
  id: string;
  /** The key id as it appears on the wire, read as a u32 big-endian (map lookup without allocation). */
  idNum: number;
  key: KeyObject;
  /** Additional authenticated data: [version][key id][cluster name utf-8]. */
  aad: Buffer;
}

/**
 * The cluster's keys. `keys[0]` seals outgoing frames; every key opens incoming ones, so a key can be
 * added everywhere before anyone sends with it, and dropped after nobody does (docs: rotation).
 */
export class Keyring {
  readonly clusterName: string;
  /** Key ids (hex of the first 4 bytes of SHA-256(key)) in keyring order; index 0 is the sending key. */
  readonly keyIds: readonly string[];
  /** @internal */
  readonly primary: RingKey;
  private readonly byId: Map<number, RingKey>;

  constructor(opts: { keys: Buffer[]; clusterName: string }) {
    const { keys, clusterName } = opts;
    if (typeof clusterName !== 'string' || clusterName.length === 0) {
      throw new Error('Keyring: clusterName must be a non-empty string');
    }
    if (!Array.isArray(keys) || keys.length === 0) throw new Error('Keyring: at least one key is required');
    this.clusterName = clusterName;
    const cluster = Buffer.from(clusterName, 'utf8');
    this.byId = new Map();
    const ring: RingKey[] = [];
    keys.forEach((raw, i) => {
      if (!(raw instanceof Uint8Array) || raw.length !== KEY_BYTES) {
        // Never echo key material into an error message.
        const len = raw instanceof Uint8Array ? `${raw.length} bytes` : typeof raw;
        throw new Error(`Keyring: key ${i} must be ${KEY_BYTES} bytes, got ${len}`);
      }
      const idBytes = createHash('sha256').update(raw).digest().subarray(0, KEY_ID_BYTES);
      const idNum = idBytes.readUInt32BE(0);
      const id = idBytes.toString('hex');
      if (this.byId.has(idNum)) throw new Error(`Keyring: key ${i} (id ${id}) appears twice`);
      const aad = Buffer.concat([Buffer.from([FRAME_VERSION]), idBytes, cluster]);
      const entry: RingKey = { id, idNum, key: createSecretKey(Buffer.from(raw)), aad };
      this.byId.set(idNum, entry);
      ring.push(entry);
    });
    this.primary = ring[0]!;
    this.keyIds = Object.freeze(ring.map((k) => k.id));
  }

  /** Builds a keyring from base64 keys (as in config files and environment variables). */
  static fromBase64(list: string[], clusterName: string): Keyring {
    if (!Array.isArray(list) || list.length === 0) throw new Error('Keyring: at least one key is required');
    const keys = list.map((s, i) => {
      const trimmed = typeof s === 'string' ? s.trim() : '';
      const buf = Buffer.from(trimmed, 'base64');
      // Buffer.from is lenient (skips junk characters), so require a canonical round trip.
      if (buf.length !== KEY_BYTES || buf.toString('base64').replace(/=+$/, '') !== trimmed.replace(/=+$/, '')) {
        throw new Error(`Keyring: key ${i} is not the base64 of ${KEY_BYTES} bytes (decoded ${buf.length} bytes)`);
      }
      return buf;
    });
    return new Keyring({ keys, clusterName });
  }

  /** A fresh random key, base64. */
  static generateKey(): string {
    return randomBytes(KEY_BYTES).toString('base64');
  }

  /** @internal */
  lookup(idNum: number): RingKey | undefined {
    return this.byId.get(idNum);
  }
}

function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * TWO_32 + buf.readUInt32BE(offset + 4);
}

/**
 * Seals outgoing frames for one process. Owns a random 8-byte session id and a sequence that grows by
 * one per frame; timestamps never go backwards within a session, so sequence order is timestamp order
 * (FrameOpener relies on that to forget idle sessions safely). When the clock steps back by more
 * than CLOCK_STEP_BACK_MS (it had jumped ahead and was corrected), the sealer starts a new session
 * stamped with the corrected time: clamping to the old timestamp instead would stamp every frame in
 * the future until the true time caught up, and peers would refuse them all as stale.
 */
export class FrameSealer {
  private keyring: Keyring;
  private sessionId: Buffer = randomBytes(SESSION_ID_BYTES);
  private seq = 0;
  private lastTs = 0;
  /** Scratch for the nonce and the encrypted inner header, reused across frames. */
  private readonly nonce = Buffer.alloc(NONCE_BYTES);
  private readonly inner = Buffer.alloc(INNER_HEADER_BYTES);

  constructor(keyring: Keyring) {
    this.keyring = keyring;
  }

  /** Switches the sending key (rotation). The session and its sequence carry on. */
  setKeyring(keyring: Keyring): void {
    this.keyring = keyring;
  }

  /** The current session id, hex (for logs and tests). */
  get session(): string {
    return this.sessionId.toString('hex');
  }

  /** Seals a clock notice answering a refused frame stamped `echoedTs`. */
  sealNotice(echoedTs: number, now: number): Buffer {
    const payload = Buffer.alloc(NOTICE_BYTES);
    payload[0] = NOTICE_MAGIC;
    payload[1] = NOTICE_VERSION;
    writeU64(payload, Math.max(0, Math.floor(echoedTs)), 2);
    writeU64(payload, Math.max(0, Math.floor(now)), 10);
    return this.seal(payload, now);
  }

  /** Seals one payload. `now` is wall-clock milliseconds. Throws only on misuse (a bad `now`). */
  seal(payload: Uint8Array, now: number): Buffer {
    if (!Number.isFinite(now) || now < 0) throw new RangeError(`FrameSealer.seal: now must be a non-negative number, got ${String(now)}`);
    const t = Math.floor(now);
    if (this.seq >= MAX_SEQ || t < this.lastTs - CLOCK_STEP_BACK_MS) {
      // The nonce carries the sequence as a u32: start a new session rather than ever reuse a nonce.
      // Likewise after a clock step back: a session's timestamps never decrease (see above). The old
      // session's frames stay refused: each opener keeps the old session's sequence until all its
      // accepted frames are stale (docs/gossip-transport.md, "Replay protection").
      this.sessionId = randomBytes(SESSION_ID_BYTES);
      this.seq = 0;
      this.lastTs = t;
    }
    this.seq += 1;
    this.lastTs = Math.max(this.lastTs, t);
    const k = this.keyring.primary;
    // Nonce = session id (8 random bytes) || sequence (u32). Within a session the sequence never
    // repeats; across sessions (process starts, sealers, sequence wrap) the 64-bit random session id
    // makes a collision negligible (birthday bound over the number of sessions, not of frames). So a
    // (key, nonce) pair is never reused, which AES-GCM requires absolutely. Purely random 96-bit nonces
    // would be limited to ~2^32 frames per key across the whole cluster (NIST SP 800-38D).
    this.sessionId.copy(this.nonce, 0);
    this.nonce.writeUInt32BE(this.seq, SESSION_ID_BYTES);
    writeU64(this.inner, this.lastTs, 0);
    this.sessionId.copy(this.inner, 8);
    writeU64(this.inner, this.seq, 8 + SESSION_ID_BYTES);

    const out = Buffer.allocUnsafe(FRAME_OVERHEAD + payload.length);
    out[0] = FRAME_VERSION;
    out.writeUInt32BE(k.idNum, 1);
    this.nonce.copy(out, 1 + KEY_ID_BYTES);
    const cipher = createCipheriv('aes-256-gcm', k.key, this.nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(k.aad);
    let pos = HEADER_BYTES;
    pos += cipher.update(this.inner).copy(out, pos);
    if (payload.length > 0) pos += cipher.update(payload).copy(out, pos);
    pos += cipher.final().copy(out, pos);
    cipher.getAuthTag().copy(out, pos);
    return out;
  }
}

export interface FrameOpenerOptions {
  /** Accept timestamps within ± this many ms of `now`. Default 60,000 (clock skew plus queueing). */
  replayWindowMs?: number;
  /** Largest payload accepted, bytes. Default: no limit here (the transport limits the socket). */
  maxPayloadBytes?: number;
  /** Most sender sessions remembered at once. Default 16,384. */
  maxSessions?: number;
}

interface SessionState {
  /** Highest sequence accepted from this session. */
  hwm: number;
  /** Highest timestamp accepted from this session. */
  maxTs: number;
}

/**
 * Opens incoming frames: checks the format, the key, the tag (which also covers the cluster name), the
 * timestamp window and the per-session sequence. One opener per process, shared by all connections, so
 * a frame replayed on another connection is still caught. Never throws.
 */
export class FrameOpener {
  private keyring: Keyring;
  private readonly windowMs: number;
  private readonly maxPayload: number;
  private readonly maxSessions: number;
  /** Session id (hex) -> state, ordered by last acceptance (re-inserted on every accept). */
  private readonly sessions = new Map<string, SessionState>();
  /**
   * Timestamp floor for unknown sessions: the highest `maxTs` of a session evicted early (map full).
   * A frame from an unknown session at or below it might replay an evicted session, so it is refused.
   */
  private evictedFloor = -Infinity;

  constructor(keyring: Keyring, opts: FrameOpenerOptions = {}) {
    this.keyring = keyring;
    this.windowMs = opts.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
    this.maxPayload = opts.maxPayloadBytes ?? Number.MAX_SAFE_INTEGER;
    this.maxSessions = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (!(this.windowMs > 0)) throw new RangeError(`FrameOpener: replayWindowMs must be > 0, got ${this.windowMs}`);
    if (!(this.maxPayload >= 0)) throw new RangeError(`FrameOpener: maxPayloadBytes must be >= 0, got ${this.maxPayload}`);
    if (!Number.isSafeInteger(this.maxSessions) || this.maxSessions < 1) {
      throw new RangeError(`FrameOpener: maxSessions must be an integer >= 1, got ${this.maxSessions}`);
    }
  }

  /** Switches the accepted keys (rotation). Replay state is kept. */
  setKeyring(keyring: Keyring): void {
    this.keyring = keyring;
  }

  /** Sessions currently remembered (for stats and tests). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  open(frame: Uint8Array, now: number): Result<Uint8Array, AuthRejection> {
    try {
      return this.openUnchecked(frame, now);
    } catch (e) {
      // Nothing below should throw; this is the belt to the braces, so untrusted input never escapes.
      return err({ reason: 'format', detail: `unexpected: ${(e as Error).message}` });
    }
  }

  /**
   * Opens a clock notice (see ClockNotice): authenticated like any frame, but outside the replay
   * window, and accepted only if it echoes a timestamp of ours at most 10 minutes old. Never throws.
   */
  openNotice(frame: Uint8Array, now: number): Result<ClockNotice, AuthRejection> {
    try {
      const r = this.decrypt(frame);
      if (!r.ok) return r;
      const body = r.value.subarray(INNER_HEADER_BYTES);
      if (body.length !== NOTICE_BYTES || body[0] !== NOTICE_MAGIC || body[1] !== NOTICE_VERSION) return err({ reason: 'format', detail: 'not a clock notice' });
      const echoedTs = readU64(body, 2);
      const peerNow = readU64(body, 10);
      if (echoedTs > now + 1_000 || echoedTs < now - NOTICE_MAX_AGE_MS) return err({ reason: 'stale', detail: `notice echoes timestamp ${echoedTs}, not one of ours of the last 10 minutes` });
      return ok({ echoedTs, peerNow });
    } catch (e) {
      return err({ reason: 'format', detail: `unexpected: ${(e as Error).message}` });
    }
  }

  private openUnchecked(frame: Uint8Array, now: number): Result<Uint8Array, AuthRejection> {
    const r = this.decrypt(frame);
    if (!r.ok) return r;
    const plain = r.value;
    // Authenticated from here on: the fields were written by a holder of the key.
    const ts = readU64(plain, 0);
    const session = plain.toString('hex', 8, 8 + SESSION_ID_BYTES);
    const seq = readU64(plain, 8 + SESSION_ID_BYTES);
    if (Math.abs(ts - now) > this.windowMs) {
      return err({ reason: 'stale', detail: `timestamp ${ts} is ${Math.round(ts - now)} ms from now (window ±${this.windowMs})`, ts });
    }
    this.forgetIdle(now);
    const state = this.sessions.get(session);
    if (state !== undefined) {
      if (seq <= state.hwm) return err({ reason: 'replay', detail: `session ${session} seq ${seq} <= last accepted ${state.hwm}` });
      state.hwm = seq;
      state.maxTs = Math.max(state.maxTs, ts);
      this.sessions.delete(session); // move to the end: the map stays ordered by last acceptance
      this.sessions.set(session, state);
    } else {
      if (ts <= this.evictedFloor) {
        return err({ reason: 'replay', detail: `session ${session} unknown and timestamp ${ts} <= eviction floor ${this.evictedFloor}` });
      }
      this.admit(session, { hwm: seq, maxTs: ts }, now);
    }
    return ok(plain.subarray(INNER_HEADER_BYTES));
  }

  /** Checks the format, the key and the tag; the plaintext (inner header + payload), or why not. */
  private decrypt(frame: Uint8Array): Result<Buffer, AuthRejection> {
    if (!(frame instanceof Uint8Array)) return err({ reason: 'format', detail: 'not bytes' });
    if (frame.length < FRAME_OVERHEAD) return err({ reason: 'format', detail: `${frame.length} bytes < minimum ${FRAME_OVERHEAD}` });
    if (frame.length - FRAME_OVERHEAD > this.maxPayload) {
      return err({ reason: 'oversize', detail: `payload ${frame.length - FRAME_OVERHEAD} bytes > limit ${this.maxPayload}` });
    }
    const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    if (buf[0] !== FRAME_VERSION) return err({ reason: 'format', detail: `frame version ${buf[0]}, expected ${FRAME_VERSION}` });
    const idNum = buf.readUInt32BE(1);
    const k = this.keyring.lookup(idNum);
    if (k === undefined) return err({ reason: 'unknown-key', detail: `key id ${idNum.toString(16).padStart(8, '0')} is not in the keyring` });

    const nonce = buf.subarray(1 + KEY_ID_BYTES, HEADER_BYTES);
    const tagAt = buf.length - TAG_BYTES;
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', k.key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(k.aad);
      decipher.setAuthTag(buf.subarray(tagAt));
      const body = decipher.update(buf.subarray(HEADER_BYTES, tagAt));
      const fin = decipher.final(); // throws when the tag does not verify
      plain = fin.length === 0 ? body : Buffer.concat([body, fin]);
    } catch {
      return err({ reason: 'auth', detail: `tag does not verify under key ${k.id} for cluster '${this.keyring.clusterName}'` });
    }

    return ok(plain);
  }

  /**
   * Forgets sessions from the head of the map whose every accepted frame is now stale: `maxTs` below
   * `now - window`. Safe because timestamps never decrease along a session's sequence, so any frame of
   * that session at or below its high-water mark would be refused as stale anyway. Amortised O(1).
   */
  private forgetIdle(now: number): void {
    const cutoff = now - this.windowMs;
    for (const [id, s] of this.sessions) {
      if (s.maxTs >= cutoff) break;
      this.sessions.delete(id);
    }
  }

  private admit(session: string, state: SessionState, now: number): void {
    if (this.sessions.size >= this.maxSessions) {
      // Full: sweep every idle session (not only the head), then evict the least recently accepted.
      const cutoff = now - this.windowMs;
      for (const [id, s] of this.sessions) if (s.maxTs < cutoff) this.sessions.delete(id);
      while (this.sessions.size >= this.maxSessions) {
        const first = this.sessions.entries().next().value;
        if (first === undefined) break;
        this.sessions.delete(first[0]);
        this.evictedFloor = Math.max(this.evictedFloor, first[1].maxTs);
      }
    }
    this.sessions.set(session, state);
  }
}
