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
  /** The RESP version this connection speaks: 2 until `HELLO 3`. The WebSocket API ignores it. */
  resp?: 2 | 3;
  /** MULTI state: the commands queued since MULTI, or undefined outside a transaction. */
  multi?: MultiState | undefined;
  /** The full keys this session WATCHes (transaction-commands.ts), and whether one changed since. */
  watching?: Set<string> | undefined;
  watchDirty?: boolean;
  /**
   * Sends a reply out of band (MONITOR's lines). Set by the protocol server where it can (RESP);
   * absent elsewhere.
   */
  push?: (r: Reply) => void;
  /** The session of a running script's redis.call (scripting/): no MULTI, no blocking, no BUSY check. */
  inScript?: boolean;
  /** MONITOR was called: every command of every client is pushed to this session. */
  monitoring?: boolean;
}

/** One command queued between MULTI and EXEC: its spec and arguments (copied: they outlive the socket chunk). */
export interface QueuedCommand {
  readonly spec: CommandSpec;
  readonly write: boolean;
  readonly args: readonly Buffer[];
}

export interface MultiState {
  readonly queued: QueuedCommand[];
  /** A command was refused while queuing (unknown, arity, ...): EXEC answers EXECABORT. */
  dirty: boolean;
}

/** One command's counters for INFO commandstats (calls, errors, and the time spent, in microseconds). */
export interface CommandStat {
  readonly name: string;
  readonly calls: number;
  readonly failed: number;
  readonly usec: number;
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
  clock?: () => { ok: boolean; offsetMs: number; boundMs: number };
  /** WAIT and majority levels; absent where a node has no peers to wait for (unit tests). */
  consistency?: ConsistencyServices;
  /** Per-command counters for INFO commandstats (the node's metrics); absent in unit tests. */
  commandStats?: () => readonly CommandStat[];
}

export type CommandResult = Reply | Promise<Reply>;

/**
 * Command flags, Redis's names: `noscript` (refused by redis.call), `allow-busy` (runs while a script
 * is busy), `no-multi`... as in COMMAND's reply; `connection`, tally's, marks connection commands.
 */
export type CommandFlag = 'write' | 'readonly' | 'fast' | 'admin' | 'noauth' | 'connection' | 'noscript' | 'allow_busy' | 'loading' | 'stale' | 'skip_monitor' | 'skip_slowlog';

export interface CommandSpec {
  /** Lower-case command name. */
  name: string;
  /** Redis arity: N > 0 means exactly N arguments including the name; -N means at least N. */
  arity: number;
  flags: readonly CommandFlag[];
  /** Key positions for COMMAND: first key, last key (-1 = last argument), step. */
  keys: readonly [number, number, number];
  /**
   * A container command's subcommands (lower case) and their arities, checked before the command
   * runs or is queued, as Redis checks them: an unknown one or a wrong arity inside MULTI dooms
   * the transaction.
   */
  subcommands?: Readonly<Record<string, number>>;
  run(ctx: CommandServices, session: Session, args: readonly Buffer[]): CommandResult;
}
