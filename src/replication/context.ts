// What the replica's parts share: the node's identity, the event hooks, the statistics, and the
// context object each part (failure detector, anti-entropy, quorum) is handed at construction.

import type { Keyspace } from '../keyspace/keyspace.js';
import type { Rng } from '../util/rng.js';
import type { ClockSkew } from './clock-skew.js';
import type { ReplicaConfig } from './config.js';
import type { Member, Membership } from './membership.js';
import type { MemberState, Message, RejectReason } from './messages.js';
import type { VersionLog } from './version-log.js';

export interface ReplicaIdentity {
  /** Stable node id (from the config). */
  nodeId: string;
  /** Grows at every start of the node. */
  incarnation: number;
  /** Where peers reach this node (opaque to the replica; the transport understands it). */
  address: string;
}

/** Hooks for the edges: logging and metrics. All optional; none is called on the client hot path. */
export interface ReplicaEvents {
  rejected?(peer: string, reason: RejectReason | 'state', detail: string): void;
  memberChanged?(member: Member, previous: MemberState | undefined): void;
  /** A tombstone was collected (tombstone-gc.ts): its key and its last state, as it travels. */
  collected?(key: string, state: { tag: number; bytes: Uint8Array }): void;
  /** This node raised its slot-fold bounds (slot-folds.ts) to `bounds` and folded `keys` keys by them. */
  folded?(bounds: readonly (readonly [string, number])[], keys: number): void;
  /** An operator removed this node from the cluster: it stopped gossiping for good (docs/operations.md). */
  removed?(): void;
}

/** Message kind names, indexed by MsgKind, for statistics. */
export const KIND_NAMES = ['', 'digest', 'delta', 'ping', 'ping-req', 'ack', 'have', 'read-req', 'read-resp', 'repair'] as const;

export interface ReplicaStats {
  rounds: number;
  sent: Record<string, { frames: number; bytes: number }>;
  received: Record<string, { frames: number; bytes: number }>;
  rejected: Record<string, number>;
  /** Delta messages cut at the size limit (a backlog streaming in chunks). */
  chunked: number;
  /** Times tick() found this node had been frozen, and voided its probes in flight. */
  stalls: number;
  /** State repairs started: equal version vectors, stably different states (anti-entropy.ts). */
  repairs: number;
  /** Keys too large for one frame, sent as parts. */
  partedKeys: number;
  /** Keys that could not be split to fit a frame (skipped: should never happen; see crdt/registry.ts splitState). */
  unsplittable: number;
}

/** The replica as its parts see it. */
export interface ReplicaContext {
  readonly cfg: ReplicaConfig;
  readonly self: ReplicaIdentity;
  /** This incarnation's origin id: the slot its increments go to and the origin of its versions. */
  readonly origin: string;
  readonly rng: Rng;
  readonly membership: Membership;
  readonly versions: VersionLog;
  readonly keyspace: Keyspace;
  readonly events: ReplicaEvents;
  readonly stats: ReplicaStats;
  /** Estimates of peers' clocks against ours. */
  readonly clockSkew: ClockSkew;
  /** The replica's clock: the time of the tick or frame being handled. */
  readonly now: number;
  /** Set by leave(): the node no longer gossips or probes. */
  readonly leaving: boolean;
  send(address: string, msg: Message): void;
}
