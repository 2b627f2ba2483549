// Types of the command table: the per-connection session, a command's spec, and the services the
// commands read (supplied by the composition root, so commands never construct anything).

import type { Keyspace } from '../../keyspace/keyspace.js';
import type { Reply } from './reply.js';

/** Per-connection state, whichever protocol the client speaks. */
export interface Session {
  readonly id: number;
  /** Selected database, 0..15. */
  db: number;
  name: string | null;
  authenticated: boolean;
  readonly protocol: 'resp' | 'ws';
  readonly remoteAddress: string;
  readonly createdAt: number;
  lastCommandAt: number;
  lastCommand: string;
  /** Version of this node's own latest write made by this session (for WAIT). */
  lastWriteVersion?: number;
  /** Consistency levels set with TALLY.CONSISTENCY (default local) and their timeout in ms. */
  writeConsistency?: 'local' | 'majority';
  readConsistency?: 'local' | 'majority';
  consistencyTimeoutMs?: number;
}

/** Outcome of waiting for peers: how many answered, how many were needed, whether in time. */
export interface ConsistencyOutcome {
  ok: boolean;
  count: number;
  needed: number;
}

/** What WAIT and the majority levels need from the replica (the node bridges its callbacks to promises). */
export interface ConsistencyServices {
  /** Version of this node's own latest write. */
  version(): number;
  /** Peers that, with this node, make a majority of the cluster. */
  majorityPeers(): number;
  /** Waits until `needed` peers hold our writes up to `version`; timeoutMs 0 waits forever. */
  waitHolders(version: number, needed: number, timeoutMs: number): Promise<ConsistencyOutcome>;
  /** Merges the keys' state from a majority of the cluster. */
  majorityRead(keys: string[], timeoutMs: number): Promise<ConsistencyOutcome>;
}

/** A member as INFO and the status API show it. */
export interface MemberView {
  id: string;
  address: string;
  state: string;
  incarnation: number;
  lastHeardMs: number | null;
}

/** What the commands need from the node. Built once by the composition root. */
export interface CommandServices {
  keyspace: Keyspace;
  /** Password for AUTH; null = no password, every connection is authenticated. */
  password: string | null;
  /**
   * The counter type a new key (a full key: db char, then the name as latin1) is created as: a
   * G-Counter when it matches `gcounterKeys`. Asked only when a key is created.
   */
  readonly counterTypeFor: (key: string) => 'gcounter' | 'pncounter';
  /** Static facts for INFO server, HELLO and CONFIG GET. */
  nodeId: string;
  clusterName: string;
  version: string;
  now(): number;
  /** INFO's sections, by name: the node renders them from one snapshot of its state (src/node/snapshot.ts). */
  info(): Record<string, Record<string, string | number>>;
  /** Values CONFIG GET can report, by Redis-style lowercase name. */
  configValues(): Record<string, string>;
  /** CLIENT LIST. */
  listClients(): Session[];
  /**
   * The verdict on this node's clock against its peers': windowed writes are refused while it is
   * off (docs/consistency.md, "Clocks"). Absent where there are no peers (unit tests): never off.
   */
  clock?: () => { ok: boolean; offsetMs: number; boundMs: number; unverified?: boolean };
  /** WAIT and majority levels; absent where a node has no peers to wait for (unit tests). */
  consistency?: ConsistencyServices;
}

export type CommandResult = Reply | Promise<Reply>;

export interface CommandSpec {
  /** Lower-case command name. */
  name: string;
  /** Redis arity: N > 0 means exactly N arguments including the name; -N means at least N. */
  arity: number;
  flags: readonly ('write' | 'readonly' | 'fast' | 'admin' | 'noauth' | 'connection')[];
  /** Key positions for COMMAND: first key, last key (-1 = last argument), step. */
  keys: readonly [number, number, number];
  run(ctx: CommandServices, session: Session, args: readonly Buffer[]): CommandResult;
}
