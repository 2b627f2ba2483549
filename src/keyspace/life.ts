// Expiry as a CRDT: a key's *life*. Every key lives in an epoch; a TTL is a register of the epoch
// (EXPIRE, PERSIST, SET...), and when a node's clock passes the deadline, that epoch is dead on that
// node: the key no longer exists there, and the next write starts the next epoch. A higher epoch
// wins a merge outright (its lives were born after the lower one died somewhere), equal epochs join.
// So an increment taken before the deadline (by the clock of the node that took it) never survives
// it, and one taken after the key expired on its node (in the next epoch) is never erased by that
// expiry. docs/crdt-counters.md, "Expiry".

import { ByteReader, ByteWriter, CODEC_VERSION } from '../crdt/codec.js';
import { CrdtError } from '../crdt/errors.js';
import { decodeKeyState, type TypedCrdt } from '../crdt/registry.js';
import { err, ok, type Result } from '../util/result.js';

/** A key's life: its epoch and the TTL register of that epoch. */
export interface Life {
  /** Bumped when a write finds the key's epoch dead (its deadline passed on this node). */
  readonly epoch: number;
  /** The TTL register's version: every EXPIRE, PERSIST or TTL-clearing write raises it. */
  readonly ttlVersion: number;
  /** ms since the epoch when this life ends; null: no TTL. */
  readonly deadline: number | null;
}

/** A key with no TTL, never expired. */
export const NO_LIFE: Life = Object.freeze({ epoch: 0, ttlVersion: 0, deadline: null });

/** The tag of a key state wrapped in its life (only keys with a TTL or past an expiry). */
export const LIFE_TAG = 0x40;

export function isNoLife(l: Life): boolean {
  return l.epoch === 0 && l.ttlVersion === 0 && l.deadline === null;
}

/** Whether the life has ended at `now`. */
export function expired(l: Life | undefined, now: number): boolean {
  return l !== undefined && l.deadline !== null && l.deadline <= now;
}

/**
 * The join of two lives of one epoch: the TTL register of higher version wins; at equal versions
 * (concurrent EXPIREs) the later deadline, no deadline being the latest (a PERSIST). Lives of
 * different epochs are never joined: the higher epoch replaces the lower.
 */
export function joinTtl(a: Life, b: Life): Life {
  if (a.ttlVersion !== b.ttlVersion) return a.ttlVersion > b.ttlVersion ? a : b;
  if (a.deadline === null) return a;
  if (b.deadline === null) return b;
  return a.deadline >= b.deadline ? a : b;
}

/** A new TTL (or none) over the one we know, so it wins over every register seen so far. */
export function withTtl(l: Life, deadline: number | null): Life {
  return { epoch: l.epoch, ttlVersion: l.ttlVersion + 1, deadline };
}

/** Wraps a key's state bytes (one type under its tag, or several) in its life, unless it has none. */
export function encodeWithLife(life: Life, inner: { tag: number; bytes: Uint8Array }): { tag: number; bytes: Uint8Array } {
  if (isNoLife(life)) return inner;
  const w = new ByteWriter(inner.bytes.length + 24);
  w.u8(CODEC_VERSION).u8(LIFE_TAG).uvarint(life.epoch).uvarint(life.ttlVersion).uvarint(life.deadline === null ? 0 : life.deadline + 1);
  w.u8(inner.tag).bytes(inner.bytes);
  return { tag: LIFE_TAG, bytes: w.finish() };
}

/** Decodes a key state received as (tag, bytes): its life and its typed CRDTs. Never throws. */
export function decodeWithLife(tag: number, bytes: Uint8Array): Result<{ life: Life; states: TypedCrdt[] }, CrdtError> {
  if (tag !== LIFE_TAG) {
    const states = decodeKeyState(tag, bytes);
    return states.ok ? ok({ life: NO_LIFE, states: states.value }) : states;
  }
  const r = new ByteReader(bytes);
  const version = r.u8();
  const t = r.u8();
  const epoch = r.uvarint();
  const ttlVersion = r.uvarint();
  const d = r.uvarint();
  const innerTag = r.u8();
  if (r.failed) return err(new CrdtError('CODEC_TRUNCATED', `key life: ${r.reason}`));
  if (version !== CODEC_VERSION) return err(new CrdtError('CODEC_BAD_VERSION', `key life: unknown version ${version}`));
  if (t !== LIFE_TAG) return err(new CrdtError('CODEC_BAD_TYPE', `key life: type tag ${t}, expected ${LIFE_TAG}`));
  if (innerTag === LIFE_TAG) return err(new CrdtError('CODEC_INVALID', 'key life: nested life'));
  const life: Life = { epoch, ttlVersion, deadline: d === 0 ? null : d - 1 };
  if (isNoLife(life)) return err(new CrdtError('CODEC_INVALID', 'key life: a key with no life is sent bare'));
  const states = decodeKeyState(innerTag, bytes.subarray(r.offset));
  return states.ok ? ok({ life, states: states.value }) : states;
}
