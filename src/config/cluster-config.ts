// cluster.config.json: the cluster's description, read and validated in one place. Every error names
// the field (as a JSON path) and what is accepted; unknown fields are errors, so typos never pass.

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, DEFAULT_REPLICA_CONFIG, replicaConfig, type ReplicaConfig } from '../replication/config.js';
import { parsePasswordHash } from '../server/auth/password-hash.js';
import { ROLES, type Role } from '../server/auth/permissions.js';

export interface NodeEntry {
  /** Stable node id: letters, digits, '-', '_' and '.', at most 64 characters. */
  id: string;
  /** Address the node listens on and peers dial. Default 127.0.0.1. */
  host: string;
  /** WebSocket gossip port. */
  gossipPort: number;
  /** Redis protocol (RESP2) port, plaintext; null = none (with `tlsPort`: RESP over TLS only). */
  respPort: number | null;
  /** Redis protocol over TLS (Redis's tls-port); needs the `tls` section. null (the default) = none. */
  tlsPort: number | null;
  /** HTTP port (HTTPS when tls.http): /health, /status, /metrics, the dashboard and the WebSocket client API at /ws. */
  httpPort: number;
}

/**
 * The config file's `gossip` section: the replica settings of the same names (`intervalMs` is the
 * replica's `gossipIntervalMs`). Units, defaults and the reason for each are documented once, in
 * ReplicaConfig (src/replication/config.ts), and the defaults below are taken from there.
 */
export type GossipSettings = Pick<
  ReplicaConfig,
  'fanout' | 'maxMessageBytes' | 'probeIntervalMs' | 'probeTimeoutMs' | 'indirectChecks' | 'suspicionMult' | 'suspicionMaxTimeoutMult' | 'deadForgetMs' | 'reconnectIntervalMs' | 'maxClockSkewMs'
> & { intervalMs: ReplicaConfig['gossipIntervalMs'] };

export interface AuthSettings {
  /**
   * File with the gossip keyring: one base64 32-byte key per line; the first key seals outgoing
   * frames, all keys open incoming ones (rotation without downtime: docs/gossip-transport.md).
   * Relative to the config file. null = gossip is neither authenticated nor encrypted (a warning is logged).
   */
  keyFile: string | null;
  /**
   * Password of the `default` user (Redis's requirepass), in plain text; null = none. Default null.
   * A config file holding one must not be readable by other users (the node refuses it otherwise).
   * Prefer a `default` entry in `users`, which holds a hash.
   */
  password: string | null;
  /** Users with a salted scrypt hash (`tally passwd`) and a role. Default none. docs/security.md. */
  users: UserEntry[];
}

/** One user of `auth.users`. */
export interface UserEntry {
  /** 1-64 of letters, digits, `_ . @ + -`; case-sensitive, as Redis's. `default` is the user of one-word AUTH. */
  name: string;
  /** `$scrypt$ln=..,r=..,p=..$salt$hash`, as `tally passwd` prints it. */
  passwordHash: string;
  /** read-only, read-write or admin (src/server/auth/permissions.ts). */
  role: Role;
}

export const CLIENT_CERT_MODES = ['none', 'optional', 'required'] as const;
export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

/** TLS for the client protocols: RESP on each node's tlsPort, and HTTPS/WSS on its httpPort. */
export interface TlsSettings {
  /** PEM certificate (chain) of the node. Relative to the config file. Re-read on SIGHUP. */
  certFile: string;
  /** PEM private key; refused when other users may read it (as ssh does). Relative to the config file. */
  keyFile: string;
  /** PEM CA bundle client certificates must chain to; needed unless clientCerts is "none". */
  caFile: string | null;
  /** Mutual TLS: "none" (the default: no client certificate asked), "optional" (checked when sent), "required". */
  clientCerts: (typeof CLIENT_CERT_MODES)[number];
  /** Serve HTTPS (and WSS at /ws) on httpPort instead of HTTP. Default true. */
  http: boolean;
  /** Oldest TLS version accepted. Default "TLSv1.2". */
  minVersion: (typeof TLS_VERSIONS)[number];
}

export interface ClusterConfig {
  /** Cluster name; every gossip frame is bound to it. */
  cluster: string;
  nodes: NodeEntry[];
  /** Ids of the nodes a starting node contacts to join. Default: every node. */
  seeds: string[];
  gossip: GossipSettings;
  /** Directory for node identities (and, with persistence, state). Relative to the config file. Default ".tally-data". */
  dataDir: string;
  /**
   * Durability of state (docs/durability.md). "none" (the default): memory only, a restarted node
   * gets its state back from its peers. "everysec": committed to disk at least every second, so a
   * crash loses at most about one second of this node's writes that gossip had not yet spread.
   * "always": a client's write is answered only once it is on disk (group commit).
   */
  persistence: Persistence;
  auth: AuthSettings;
  /** Glob patterns: a new key matching one is created as a G-Counter (only grows) instead of a PN-Counter. */
  gcounterKeys: string[];
  /** Log level: fatal, error, warn, info, debug, trace or silent. Default info. */
  logLevel: LogLevel;
  /** Maximum simultaneous client connections per node (RESP and WebSocket each). Default 10,000. */
  maxClients: number;
  /**
   * Redis's protected mode: with no password and no users, only loopback clients are served; others
   * read Redis's -DENIED explanation and are disconnected. Default true. docs/security.md.
   */
  protectedMode: boolean;
  /** TLS for clients; null (the default) = plaintext only. */
  tls: TlsSettings | null;
}

export const PERSISTENCE_MODES = ['none', 'everysec', 'always'] as const;
export type Persistence = (typeof PERSISTENCE_MODES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_GOSSIP: Readonly<GossipSettings> = Object.freeze({
  intervalMs: DEFAULT_REPLICA_CONFIG.gossipIntervalMs,
  fanout: DEFAULT_REPLICA_CONFIG.fanout,
  maxMessageBytes: DEFAULT_REPLICA_CONFIG.maxMessageBytes,
  probeIntervalMs: DEFAULT_REPLICA_CONFIG.probeIntervalMs,
  probeTimeoutMs: DEFAULT_REPLICA_CONFIG.probeTimeoutMs,
  indirectChecks: DEFAULT_REPLICA_CONFIG.indirectChecks,
  suspicionMult: DEFAULT_REPLICA_CONFIG.suspicionMult,
  suspicionMaxTimeoutMult: DEFAULT_REPLICA_CONFIG.suspicionMaxTimeoutMult,
  deadForgetMs: DEFAULT_REPLICA_CONFIG.deadForgetMs,
  reconnectIntervalMs: DEFAULT_REPLICA_CONFIG.reconnectIntervalMs,
  maxClockSkewMs: DEFAULT_REPLICA_CONFIG.maxClockSkewMs,
});

export class ClusterConfigError extends Error {
  override readonly name = 'ClusterConfigError';
}

type Json = unknown;

function fail(path: string, what: string, got: Json): never {
  const shown = JSON.stringify(got);
  throw new ClusterConfigError(`${path}: expected ${what}, got ${shown === undefined ? 'nothing' : shown.slice(0, 80)}`);
}

function obj(path: string, v: Json, allowed: readonly string[]): Record<string, Json> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object', v);
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw new ClusterConfigError(`${path}.${k}: unknown field (allowed: ${allowed.join(', ')})`);
  return v as Record<string, Json>;
}

function int(path: string, v: Json, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) fail(path, `an integer from ${lo} to ${hi}`, v);
  return v;
}

function str(path: string, v: Json, re: RegExp, what: string): string {
  if (typeof v !== 'string' || !re.test(v)) fail(path, what, v);
  return v;
}

const ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const USER_RE = /^[A-Za-z0-9_.@+-]{1,64}$/;
const HOST_RE = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$|^localhost$|^::1$|^[A-Za-z0-9.-]{1,253}$/;

/** Validates parsed JSON into a ClusterConfig, filling defaults. Throws ClusterConfigError naming the field. */
export function validateConfig(raw: Json): ClusterConfig {
  const top = obj('config', raw, ['cluster', 'nodes', 'seeds', 'gossip', 'dataDir', 'persistence', 'auth', 'gcounterKeys', 'logLevel', 'maxClients', 'protectedMode', 'tls', '$comment']);
  const cluster = str('cluster', top.cluster, /^[A-Za-z0-9_.-]{1,64}$/, 'a cluster name of 1-64 letters, digits, "_", "." or "-"');
  if (!Array.isArray(top.nodes) || top.nodes.length === 0 || top.nodes.length > 1000) fail('nodes', 'a list of 1 to 1000 nodes', top.nodes);
  const nodes: NodeEntry[] = top.nodes.map((n: Json, i: number) => {
    const p = `nodes[${i}]`;
    const o = obj(p, n, ['id', 'host', 'gossipPort', 'respPort', 'tlsPort', 'httpPort']);
    const entry: NodeEntry = {
      id: str(`${p}.id`, o.id, ID_RE, 'an id of 1-64 letters, digits, "_", "." or "-"'),
      host: o.host === undefined ? '127.0.0.1' : str(`${p}.host`, o.host, HOST_RE, 'a host name or IP address'),
      gossipPort: int(`${p}.gossipPort`, o.gossipPort, 0, 65535),
      respPort: o.respPort === null ? null : int(`${p}.respPort`, o.respPort, 0, 65535),
      tlsPort: o.tlsPort === undefined || o.tlsPort === null ? null : int(`${p}.tlsPort`, o.tlsPort, 0, 65535),
      httpPort: int(`${p}.httpPort`, o.httpPort, 0, 65535),
    };
    if (entry.respPort === null && entry.tlsPort === null) throw new ClusterConfigError(`${p}.respPort: null (no plaintext RESP) needs a tlsPort`);
    return entry;
  });
  const ids = new Set<string>();
  const endpoints = new Set<string>();
  nodes.forEach((n, i) => {
    if (ids.has(n.id)) throw new ClusterConfigError(`nodes[${i}].id: duplicate node id '${n.id}'`);
    ids.add(n.id);
    for (const [field, port] of [['gossipPort', n.gossipPort], ['respPort', n.respPort], ['tlsPort', n.tlsPort], ['httpPort', n.httpPort]] as const) {
      if (port === 0 || port === null) continue; // ephemeral or none: cannot collide
      const ep = `${n.host}:${port}`;
      if (endpoints.has(ep)) throw new ClusterConfigError(`nodes[${i}].${field}: ${ep} is used twice in the config`);
      endpoints.add(ep);
    }
  });
  let seeds = nodes.map((n) => n.id);
  if (top.seeds !== undefined) {
    if (!Array.isArray(top.seeds) || top.seeds.length === 0) fail('seeds', 'a non-empty list of node ids', top.seeds);
    seeds = top.seeds.map((s: Json, i: number) => {
      const id = str(`seeds[${i}]`, s, ID_RE, 'a node id');
      if (!ids.has(id)) throw new ClusterConfigError(`seeds[${i}]: '${id}' is not the id of a node in "nodes"`);
      return id;
    });
  }
  const g = top.gossip === undefined ? {} : obj('gossip', top.gossip, Object.keys(DEFAULT_GOSSIP));
  const gossip: GossipSettings = { ...DEFAULT_GOSSIP, ...(g as Partial<GossipSettings>) };
  // The ranges are the replica's: validated once, by replicaConfig, with errors named by JSON path.
  try {
    replicaConfig(replicaSettings(cluster, gossip), (f) => (f === 'gossipIntervalMs' ? 'gossip.intervalMs' : f === 'clusterName' ? 'cluster' : `gossip.${f}`));
  } catch (e) {
    if (e instanceof ConfigError) throw new ClusterConfigError(e.message);
    throw e;
  }
  const dataDir = top.dataDir === undefined ? '.tally-data' : str('dataDir', top.dataDir, /^.{1,4096}$/, 'a directory path');
  const persistence = top.persistence === undefined ? 'none' : top.persistence;
  if (!(PERSISTENCE_MODES as readonly unknown[]).includes(persistence))
    fail('persistence', '"none" (memory only), "everysec" (on disk within a second) or "always" (on disk before the reply)', persistence);
  const a = top.auth === undefined ? {} : obj('auth', top.auth, ['keyFile', 'password', 'users']);
  const auth: AuthSettings = {
    keyFile: a.keyFile === undefined || a.keyFile === null ? null : str('auth.keyFile', a.keyFile, /^.{1,4096}$/, 'a file path or null'),
    // Never echo a password in an error: only its length is wrong here.
    password: a.password === undefined || a.password === null ? null : typeof a.password === 'string' && /^.{1,512}$/.test(a.password) ? a.password : fail('auth.password', 'a password of 1-512 characters or null', typeof a.password === 'string' ? `<${a.password.length} characters>` : a.password),
    users: users(a.users),
  };
  if (auth.password !== null && auth.users.some((u) => u.name === 'default'))
    throw new ClusterConfigError("auth.users: a user named 'default' and auth.password both set the default user's password; keep one");
  let gcounterKeys: string[] = [];
  if (top.gcounterKeys !== undefined) {
    if (!Array.isArray(top.gcounterKeys)) fail('gcounterKeys', 'a list of glob patterns', top.gcounterKeys);
    gcounterKeys = top.gcounterKeys.map((p: Json, i: number) => str(`gcounterKeys[${i}]`, p, /^.{1,1024}$/, 'a glob pattern'));
  }
  const logLevel = top.logLevel === undefined ? 'info' : top.logLevel;
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) fail('logLevel', `one of ${LOG_LEVELS.join(', ')}`, logLevel);
  const maxClients = top.maxClients === undefined ? 10_000 : int('maxClients', top.maxClients, 1, 1_000_000);
  if (top.protectedMode !== undefined && typeof top.protectedMode !== 'boolean') fail('protectedMode', 'true or false', top.protectedMode);
  const protectedMode = top.protectedMode !== false;
  const tls = tlsSettings(top.tls);
  nodes.forEach((n, i) => {
    if (n.tlsPort !== null && tls === null) throw new ClusterConfigError(`nodes[${i}].tlsPort: needs the "tls" section (certFile, keyFile)`);
  });
  return { cluster, nodes, seeds, gossip, dataDir, persistence: persistence as Persistence, auth, gcounterKeys, logLevel: logLevel as LogLevel, maxClients, protectedMode, tls };
}

function users(v: Json): UserEntry[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > 1000) fail('auth.users', 'a list of at most 1000 users', v);
  const names = new Set<string>();
  return v.map((u: Json, i: number) => {
    const p = `auth.users[${i}]`;
    const o = obj(p, u, ['name', 'passwordHash', 'role']);
    const name = str(`${p}.name`, o.name, USER_RE, 'a user name of 1-64 letters, digits, "_", ".", "@", "+" or "-"');
    if (names.has(name)) throw new ClusterConfigError(`${p}.name: duplicate user '${name}'`);
    names.add(name);
    if (typeof o.passwordHash !== 'string') fail(`${p}.passwordHash`, 'a scrypt hash from `tally passwd`', o.passwordHash);
    const parsed = parsePasswordHash(o.passwordHash);
    // The message says what is wrong without echoing the hash.
    if (typeof parsed === 'string') throw new ClusterConfigError(`${p}.passwordHash: ${parsed}`);
    if (!(ROLES as readonly unknown[]).includes(o.role)) fail(`${p}.role`, `one of ${ROLES.join(', ')}`, o.role);
    return { name, passwordHash: o.passwordHash, role: o.role as Role };
  });
}

function tlsSettings(v: Json): TlsSettings | null {
  if (v === undefined || v === null) return null;
  const o = obj('tls', v, ['certFile', 'keyFile', 'caFile', 'clientCerts', 'http', 'minVersion']);
  const path = (f: string): string => str(`tls.${f}`, o[f], /^.{1,4096}$/, 'a file path');
  const clientCerts = o.clientCerts === undefined ? 'none' : o.clientCerts;
  if (!(CLIENT_CERT_MODES as readonly unknown[]).includes(clientCerts)) fail('tls.clientCerts', `one of ${CLIENT_CERT_MODES.join(', ')}`, clientCerts);
  const minVersion = o.minVersion === undefined ? 'TLSv1.2' : o.minVersion;
  if (!(TLS_VERSIONS as readonly unknown[]).includes(minVersion)) fail('tls.minVersion', `one of ${TLS_VERSIONS.join(', ')}`, minVersion);
  if (o.http !== undefined && typeof o.http !== 'boolean') fail('tls.http', 'true or false', o.http);
  const caFile = o.caFile === undefined || o.caFile === null ? null : path('caFile');
  if (clientCerts !== 'none' && caFile === null) throw new ClusterConfigError(`tls.caFile: clientCerts "${String(clientCerts)}" needs the CA that client certificates chain to`);
  return {
    certFile: path('certFile'),
    keyFile: path('keyFile'),
    caFile,
    clientCerts: clientCerts as TlsSettings['clientCerts'],
    http: o.http !== false,
    minVersion: minVersion as TlsSettings['minVersion'],
  };
}

/** The replica configuration a node of this cluster runs with (validated: see replicaConfig). */
export function replicaSettings(cluster: string, g: GossipSettings): Partial<ReplicaConfig> {
  return {
    clusterName: cluster,
    gossipIntervalMs: g.intervalMs,
    fanout: g.fanout,
    maxMessageBytes: g.maxMessageBytes,
    probeIntervalMs: g.probeIntervalMs,
    probeTimeoutMs: g.probeTimeoutMs,
    indirectChecks: g.indirectChecks,
    suspicionMult: g.suspicionMult,
    suspicionMaxTimeoutMult: g.suspicionMaxTimeoutMult,
    deadForgetMs: g.deadForgetMs,
    reconnectIntervalMs: g.reconnectIntervalMs,
    maxClockSkewMs: g.maxClockSkewMs,
  };
}

/** Reads and validates a config file; relative paths in it become relative to the file. */
export function loadConfig(path: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ClusterConfigError(`cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: Json;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ClusterConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  let cfg: ClusterConfig;
  try {
    cfg = validateConfig(raw);
  } catch (e) {
    if (e instanceof ClusterConfigError) throw new ClusterConfigError(`${path}: ${e.message}`);
    throw e;
  }
  const base = dirname(resolve(path));
  cfg.dataDir = isAbsolute(cfg.dataDir) ? cfg.dataDir : resolve(base, cfg.dataDir);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  if (cfg.auth.keyFile !== null) cfg.auth.keyFile = abs(cfg.auth.keyFile);
  if (cfg.tls !== null) cfg.tls = { ...cfg.tls, certFile: abs(cfg.tls.certFile), keyFile: abs(cfg.tls.keyFile), caFile: cfg.tls.caFile === null ? null : abs(cfg.tls.caFile) };
  return cfg;
}
