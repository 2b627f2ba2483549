// Types of the command table: the per-connection session, a command's spec, and the services the
// commands read (supplied by the composition root, so commands never construct anything).

import type { Keyspace } from '../../keyspace/keyspace.js';
import type { CommandFlag } from '../auth/permissions.js';
import type { Reply } from './reply.js';
import type { CommandAccess } from './access.js';
import type { ArgRanges } from './arg-ranges.js';

/** Per-connection state, whichever protocol the client speaks. */
export interface Session {
  readonly id: number;
  /** Selected database, 0..15. */
  db: number;
  name: string | null;
  authenticated: boolean;
  /**
   * The user this connection is authenticated as (`default` on a node without credentials), or
   * null before AUTH. Absent (sessions made outside the node, in unit tests): `default`.
   */
  user?: string | null;
  /**
   * What the user may run: PERM_* bits (src/server/auth/permissions.ts). Absent: everything once
   * authenticated (the default user's permissions), nothing before.
   */
  perms?: number;
  /** Failed AUTH attempts on this connection (the limiter slows and finally closes it). */
  authFailures?: number;
  readonly protocol: 'resp' | 'ws';
  /** `ip:port` of the client (CLIENT LIST's addr). */
  readonly remoteAddress: string;
  /** The client's IP address alone, which failed AUTH attempts are counted by. Absent: `remoteAddress`. */
  readonly ip?: string;
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
  /** Its permission rule, checked again when EXEC runs it (access.ts). */
  readonly access: CommandAccess;
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
  /** A majority wait on a joining node that never learned the voters before its deadline. */
  votersUnknown?: true;
}

/** What WAIT and the majority levels need from the replica (the node bridges its callbacks to promises). */
export interface ConsistencyServices {
  /** Version of this node's own latest write. */
  version(): number;
  /** Waits until `needed` peers hold our writes up to `version`; timeoutMs 0 waits forever. */
  waitHolders(version: number, needed: number, timeoutMs: number): Promise<ConsistencyOutcome>;
  /**
   * Waits until a majority of the cluster's voters (with this node if it is one) hold our writes up
   * to `version`. A joining node that does not know the voters yet starts counting once it does.
   */
  waitMajority(version: number, timeoutMs: number): Promise<ConsistencyOutcome>;
  /** Merges the keys' state from a majority of the cluster. */
  majorityRead(keys: string[], timeoutMs: number): Promise<ConsistencyOutcome>;
}

/** What TALLY.LEAVE and TALLY.REMOVE need from the replica (docs/operations.md, "Adding and removing nodes"). */
export interface MembershipServices {
  /**
   * Graceful leave for good: resolves once a majority of the other members hold everything this
   * node holds (it then stops counting, and the node stops shortly after the reply), or fails by
   * `timeoutMs` and the node stays a member.
   */
  leave(timeoutMs: number): Promise<{ ok: boolean; holders: number; needed: number; failure?: 'handoff' | 'alone' | 'busy' }>;
  /** Removes the dead or stopped member `id` for good; the reason when refused. */
  remove(id: string): { ok: true } | { ok: false; error: { code: 'self' } | { code: 'unknown' } | { code: 'already' } | { code: 'live'; state: string } };
}

/** A member as INFO and the status API show it. */
export interface MemberView {
  id: string;
  address: string;
  state: string;
  incarnation: number;
  lastHeardMs: number | null;
}

/** The outcome of AUTH or HELLO's AUTH option. */
export type LoginResult = { readonly ok: true } | { readonly ok: false; readonly error: string; readonly close: boolean };

/** Users and their credentials, as the commands see them (the node's Authenticator, src/server/auth/). */
export interface SessionAuth {
  /** No password and no users: `default` needs no password (AUTH's one-word form then answers an error). */
  readonly open: boolean;
  /**
   * Checks `password` for `user` (null: the one-word AUTH, user `default`); on success the session
   * becomes that user. A failure leaves the session as it was. Never rejects.
   */
  login(s: Session, user: Buffer | null, password: Buffer): LoginResult | Promise<LoginResult>;
  /** What user `name` (null: `default`) may run, PERM_* bits; undefined for no such user. */
  userPerms(name: Buffer | null): number | undefined;
  /** A command refused with NOPERM: counted and logged. */
  denied(s: Session, command: string): void;
  /** An HTTP request on the RESP port (`POST`, `Host:`): logged; the connection is closed. */
  suspicious(s: Session, command: string): void;
  /** ACL USERS: every user name, sorted. */
  userNames(): string[];
  /** ACL LIST: one line per user, secrets as hashes only. */
  aclList(): string[];
}

/** What the commands need from the node. Built once by the composition root. */
export interface CommandServices {
  keyspace: Keyspace;
  /**
   * Users, AUTH and permissions. The node always supplies it. Absent (unit tests of the table): one
   * `default` user with `password` (or none when null), checked without the limiter's delays.
   */
  auth?: SessionAuth;
  /** Password of `default` when `auth` is absent; null = no password, every connection is authenticated. */
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
  /** TALLY.LEAVE and TALLY.REMOVE; absent where a node has no cluster (unit tests). */
  membership?: MembershipServices;
  /** Per-command counters for INFO commandstats (the node's metrics); absent in unit tests. */
  commandStats?: () => readonly CommandStat[];
  /**
   * MEMORY PURGE: a full garbage collection now, so INFO used_memory counts only what the node still
   * holds. Returns false where the runtime offers none; absent in unit tests.
   */
  purgeMemory?: () => boolean;
  /**
   * Whether used memory is over `maxmemory` now (sampled by the node's memory guard): commands with
   * the `denyoom` flag are then refused with OOM, as Redis's noeviction policy does. Absent: no limit.
   */
  overMaxmemory?: () => boolean;
}

export type CommandResult = Reply | Promise<Reply>;

export type { CommandFlag };

export interface CommandSpec {
  /** Lower-case command name. */
  name: string;
  /** Redis arity: N > 0 means exactly N arguments including the name; -N means at least N. */
  arity: number;
  /**
   * Redis-style flags, shown by COMMAND. They also decide which roles may run the command
   * (src/server/auth/permissions.ts): `admin`, `write`, `readonly`, or `connection` for everyone; a
   * command with none of them needs the read-write role.
   */
  flags: readonly CommandFlag[];
  /**
   * For a container command (CLIENT, CONFIG, ACL): the flags that decide who may run each subcommand,
   * by lower-case name, and NOPERM names it `command|subcommand` as Redis does. A subcommand not
   * listed needs the admin role (fail closed). Without this field, `flags` decide for every form.
   */
  subcommandFlags?: Readonly<Record<string, readonly CommandFlag[]>>;
  /** Key positions for COMMAND: first key, last key (-1 = last argument), step. */
  keys: readonly [number, number, number];
  /**
   * A container command's subcommands (lower case) and their arities, checked before the command
   * runs or is queued, as Redis checks them: an unknown one or a wrong arity inside MULTI dooms
   * the transaction.
   */
  subcommands?: Readonly<Record<string, number>>;
  /**
   * For a command without the `fast` flag whose form with exactly this many arguments (its name
   * included) is O(1): that form is not timed for the slow log, as a `fast` command is not. PFCOUNT
   * of one key reads a cached count or estimates from a bounded histogram; a union of several is
   * still timed. COMMAND shows the flags as they are.
   */
  untimedArgs?: number;
  run(ctx: CommandServices, session: Session, args: readonly Buffer[]): CommandResult;
  /**
   * The same command on its arguments as byte ranges of the socket chunk (`ArgRanges`), for the hot
   * counter and HLL commands: it must answer and change exactly what `run` does with `args.buffers()`
   * (test/server/arg-ranges.test.ts holds every such command to that). Only synchronous commands
   * have one; `runRanged` (table.ts) calls it once every check before `run` has passed.
   */
  runRanges?(ctx: CommandServices, session: Session, args: ArgRanges): Reply;
}
