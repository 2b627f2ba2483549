// Key types, typed command errors of the keyspace, and the change sink that replication implements.

import type { GCounter } from '../crdt/g-counter.js';
import type { PNCounter } from '../crdt/pn-counter.js';
import type { HyperLogLog } from '../crdt/hyperloglog.js';
import type { WindowedCounter } from '../crdt/windowed-counter.js';
import type { CountMinSketch } from '../crdt/count-min-sketch.js';
import type { TopK } from '../crdt/top-k.js';
import * as errors from '../errors.js';

export type KeyType = 'gcounter' | 'pncounter' | 'hll' | 'window' | 'cms' | 'topk';

export type Crdt = GCounter | PNCounter | HyperLogLog | WindowedCounter | CountMinSketch | TopK;

export interface Entry {
  type: KeyType;
  crdt: Crdt;
  /** The codec bytes of `crdt`, cached until the next change. */
  encoded?: Uint8Array | undefined;
}

/**
 * Errors a keyspace operation can return. `message` is the Redis error string where a Redis
 * command is mirrored, so every client protocol can pass it through unchanged.
 */
export type KeyspaceErrorCode =
  | 'WRONGTYPE'
  | 'OVERFLOW'
  | 'NOT_INTEGER'
  | 'GCOUNTER_DECREMENT'
  | 'HLL_INVALID'
  // windows and sketches (docs/crdt-windowed.md, docs/crdt-sketches.md): the message is the reply
  | 'NO_SUCH_KEY'
  | 'KEY_EXISTS'
  | 'INVALID';

export interface KeyspaceError {
  code: KeyspaceErrorCode;
  message: string;
}

export const WRONGTYPE: KeyspaceError = { code: 'WRONGTYPE', message: errors.WRONGTYPE };
export const OVERFLOW: KeyspaceError = { code: 'OVERFLOW', message: errors.OVERFLOW };
export const NOT_INTEGER: KeyspaceError = { code: 'NOT_INTEGER', message: errors.NOT_INTEGER };
export const GCOUNTER_DECREMENT: KeyspaceError = { code: 'GCOUNTER_DECREMENT', message: errors.GCOUNTER_DECREMENT };

/**
 * Told about every change to a key, so replication can version it and persistence can write it.
 * `local` is true for changes made by this node's own clients.
 */
export interface ChangeSink {
  changed(key: string, local: boolean): void;
}

/** Stable numeric codes for key types on the wire (the CRDT codec's type tags). */
export const TYPE_TAGS: Record<KeyType, number> = { gcounter: 1, pncounter: 2, hll: 3, window: 4, cms: 5, topk: 6 };
