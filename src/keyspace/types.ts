// Key entries, typed command errors of the keyspace, and the change listeners it notifies.

import type { CrdtByType, KeyType, TypedCrdt } from '../crdt/registry.js';
import type { Life } from './life.js';
import * as errors from '../errors.js';

export type { Crdt, KeyType } from '../crdt/registry.js';

/**
 * A stored key: its visible type and CRDT (a discriminated union on `type`), plus a cache of its
 * encoding. A key that has held several types keeps one state per type (`others`): the visible one
 * is live whenever any is (the live one of highest tag), so a deleted key takes any type again and a
 * concurrent creation as two types loses no write (docs/crdt-counters.md, "Types"). Every entry is
 * made by `makeEntry` (entries.ts), whose classes store the rare fields and the pending mark packed
 * (a counter key's entry is the counter itself, `crdt` returning it).
 */
export type Entry = {
  [T in KeyType]: {
    readonly type: T;
    readonly crdt: CrdtByType[T];
    /** The states of the key's other types, if it has held any; never two of one type. */
    readonly others?: readonly TypedCrdt[] | undefined;
    /** The key's epoch and TTL (life.ts); absent: epoch 0, no TTL. */
    readonly life?: Life | undefined;
    /**
     * No longer the key's entry: another replaced it, or the key was dropped. Whoever kept the entry
     * since a change (the digest's queue) looks the key up again
     * instead of reading a stale state.
     */
    superseded?: boolean;
    /**
     * The key's id in its table (key-table.ts), the same for every entry the key has while the table
     * holds it: what the version logs index keys by. -1 or absent: not in a table.
     */
    id?: number;
    /** The key, once a table holds the entry (it reaches an entry from its id: key-table.ts). */
    key?: string;
  };
}[KeyType];

/** An entry of one known type. */
export type EntryOf<T extends KeyType> = Extract<Entry, { type: T }>;

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
 * Who changed a key: this node's clients ('local'), a merge of a peer's state ('remote'), or its
 * life ending on this node's clock ('expire': every node computes it alike, so it is not versioned).
 */
export type ChangeOrigin = 'local' | 'remote' | 'expire' | 'collect';

/**
 * Told about every change of a key, in the order they happen: the version log versions local ones,
 * the group commit writes both kinds, WebSocket watches push both kinds. `id`: the key's id in its
 * table after the change (-1 when the key was dropped), for a listener that wants its state later
 * without a lookup by key.
 */
export type ChangeListener = (key: string, origin: ChangeOrigin, id: number) => void;
