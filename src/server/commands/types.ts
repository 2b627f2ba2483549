// Types of the command table: the per-connection session, a command's spec, and the services the
// commands read (supplied by the composition root, so commands never construct anything).

import type { Keyspace } from '../../keyspace/keyspace.js';
import type { Reply } from '../resp/encoder.js';

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
  /** True if a new key with this name (as latin1 bytes) is created as a G-Counter. */
  isGCounterKey(key: string): boolean;
  /** Static facts for INFO server, HELLO and CONFIG GET. */
  nodeId: string;
  clusterName: string;
  version: string;
  startedAt: number;
  now(): number;
  /** Sections of INFO that belong to other layers (clients, cluster, gossip, persistence). */
  infoSections(): Record<string, Record<string, string | number>>;
  /** Values CONFIG GET can report, by Redis-style lowercase name. */
  configValues(): Record<string, string>;
  /** CLIENT LIST. */
  listClients(): Session[];
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
