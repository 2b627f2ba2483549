// cluster.config.json: the cluster's description, read and validated in one place. Every error names
// the field (as a JSON path) and what is accepted; unknown fields are errors, so typos never pass.

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, DEFAULT_REPLICA_CONFIG, REPLICA_CONFIG_RANGES, replicaConfig, type ReplicaConfig } from '../replication/config.js';
import { parsePasswordHash } from '../server/auth/password-hash.js';
import { ROLES, type Role } from '../server/auth/permissions.js';
import { parseJsonSource, positionOf } from './json-source.js';
import { ALLOCATORS, type Allocator } from '../util/allocator.js';

export interface NodeEntry {
  /** Stable node id: letters, digits, '-', '_' and '.', at most 64 characters. */
  id: string;
  /**
   * The address peers dial and clients are told (the advertised address). Default 127.0.0.1. Never a
   * wildcard (0.0.0.0, ::): nobody can dial that; put the wildcard in `bindHost`.
   */
  host: string;
  /**
   * The address the node's listeners bind to (gossip, RESP, HTTP). Default: `host`. Differs from it
   * behind NAT or in a container: bind 0.0.0.0 inside, advertise the address others reach it at.
   * The ports are the same on both sides (map each port to the same number).
   */
  bindHost: string;
  /** WebSocket gossip port. */
  gossipPort: number;
  /** Redis protocol (RESP2) port, plaintext; null = none (with `tlsPort`: RESP over TLS only). */
  respPort: number | null;
  /** Redis protocol over TLS (Redis's tls-port); needs the `tls` section. null (the default) = none. */
  tlsPort: number | null;
  /** HTTP port (HTTPS when tls.http): /health, /status, /metrics, the dashboard and the WebSocket client API at /ws. */
  httpPort: number;
  /** This node's memory limit, in place of the cluster's `maxmemory` (a machine with less memory); absent: the cluster's. */
  maxmemory?: number | 'auto';
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
  /**
   * Where a starting node contacts the cluster: ids of nodes in `nodes`, or gossip addresses
   * `host:gossipPort` of nodes this config does not list (a node joining a running cluster from a
   * config naming only itself: docs/configuration.md, "Joining a running cluster"). Default: every node.
   */
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
  /**
   * Each node's memory limit in bytes (0: none), or "auto" (the default): 3/4 of the V8 heap limit, and at least 192 MB below it.
   * Over it, commands that may add memory are refused with OOM (Redis's noeviction); docs/operations.md,
   * "Memory limit". Given as bytes or Redis's units: "512mb", "2gb", "100000kb".
   */
  maxmemory: number | 'auto';
  /** TLS for clients; null (the default) = plaintext only. */
  tls: TlsSettings | null;
  /**
   * The malloc of each node's process, set by whatever starts it (util/allocator.ts): "auto" (the
   * default) jemalloc where it is installed, "jemalloc" (refuse to start without it), "system".
   */
  allocator: Allocator;
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

/** One thing wrong with a config: the field as a JSON path (`nodes[2].respPort`; `config` for the whole) and what. */
export interface ConfigIssue {
  path: string;
  message: string;
  /** Where in the file (set by loadConfig). */
  line?: number;
  column?: number;
}

/** A config with one or more issues; `message` lists every one, a line each. */
export class ClusterConfigError extends Error {
  override readonly name = 'ClusterConfigError';
  constructor(
    message: string,
    readonly issues: readonly ConfigIssue[] = [],
  ) {
    super(message);
  }
}

type Json = unknown;

/** Collects every issue of one validation, so a file with several mistakes gets them all at once. */
class Issues {
  readonly list: ConfigIssue[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
  expected(path: string, what: string, got: Json): void {
    const shown = JSON.stringify(got);
    this.add(path, `expected ${what}, got ${shown === undefined ? 'nothing' : shown.slice(0, 80)}`);
  }
  /** An object's fields, each unknown one an issue; null (and an issue) if `v` is not an object. */
  obj(path: string, v: Json, allowed: readonly string[]): Record<string, Json> | null {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.expected(path, 'an object', v);
      return null;
    }
    const prefix = path === 'config' ? '' : `${path}.`;
    for (const k of Object.keys(v)) if (!allowed.includes(k)) this.add(`${prefix}${k}`, `unknown field (allowed: ${allowed.join(', ')})`);
    return v as Record<string, Json>;
  }
  int(path: string, v: Json, lo: number, hi: number, dflt: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      this.expected(path, `an integer from ${lo} to ${hi}`, v);
      return dflt;
    }
    return v;
  }
  str(path: string, v: Json, re: RegExp, what: string): string {
    if (typeof v !== 'string' || !re.test(v)) {
      this.expected(path, what, v);
      return '';
    }
    return v;
  }
}

const ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const USER_RE = /^[A-Za-z0-9_.@+-]{1,64}$/;
const HOST_RE = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$|^localhost$|^::1$|^[A-Za-z0-9.-]{1,253}$/;
/** Addresses that mean "every interface": fine to bind, impossible to dial. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::']);
/** A seed's gossip address: host:port (the host as in `host`). */
const SEED_ADDRESS_RE = /^(.+):(\d{1,5})$/;

/** Whether a seed entry is an address (`host:port`) rather than a node id (ids have no colon). */
export function isSeedAddress(seed: string): boolean {
  return seed.includes(':');
}

/**
 * The gossip addresses node `selfId` contacts to join: its seeds that are node ids, at their
 * configured addresses, and its seeds that are addresses; never its own.
 */
export function seedAddresses(cfg: ClusterConfig, selfId: string): string[] {
  const self = cfg.nodes.find((n) => n.id === selfId);
  const own = self === undefined ? '' : `${self.host}:${self.gossipPort}`;
  const out: string[] = [];
  for (const s of cfg.seeds) {
    if (s === selfId) continue;
    const n = isSeedAddress(s) ? undefined : cfg.nodes.find((x) => x.id === s);
    const address = isSeedAddress(s) ? s : n === undefined ? undefined : `${n.host}:${n.gossipPort}`;
    if (address !== undefined && address !== own && !out.includes(address)) out.push(address);
  }
  return out;
}

/**
 * Whether node `selfId` starts as a joining member: its config names no other node (only itself)
 * and gives seed addresses, so it joins a running cluster and counts toward majorities once caught
 * up. A config listing several nodes (the roster form) makes them members from the start, and a
 * node alone with no seeds founds a cluster of one.
 */
export function startsJoining(cfg: ClusterConfig, selfId: string): boolean {
  return cfg.nodes.every((n) => n.id === selfId) && seedAddresses(cfg, selfId).length > 0;
}
const GOSSIP_FIELD: Record<keyof GossipSettings, keyof typeof REPLICA_CONFIG_RANGES> = {
  intervalMs: 'gossipIntervalMs',
  fanout: 'fanout',
  maxMessageBytes: 'maxMessageBytes',
  probeIntervalMs: 'probeIntervalMs',
  probeTimeoutMs: 'probeTimeoutMs',
  indirectChecks: 'indirectChecks',
  suspicionMult: 'suspicionMult',
  suspicionMaxTimeoutMult: 'suspicionMaxTimeoutMult',
  deadForgetMs: 'deadForgetMs',
  reconnectIntervalMs: 'reconnectIntervalMs',
  maxClockSkewMs: 'maxClockSkewMs',
};

/**
 * Validates parsed JSON into a ClusterConfig, filling defaults. Every issue is collected, not only
 * the first: throws one ClusterConfigError whose `issues` name each field (as a JSON path).
 */
export function validateConfig(raw: Json): ClusterConfig {
  const v = new Issues();
  const top = v.obj('config', raw, ['cluster', 'nodes', 'seeds', 'gossip', 'dataDir', 'persistence', 'auth', 'gcounterKeys', 'logLevel', 'maxClients', 'protectedMode', 'maxmemory', 'tls', 'allocator', '$comment']);
  if (top === null) throw new ClusterConfigError(v.list.map((i) => `${i.path}: ${i.message}`).join('\n'), v.list);
  const cluster = v.str('cluster', top.cluster, /^[A-Za-z0-9_.-]{1,64}$/, 'a cluster name of 1-64 letters, digits, "_", "." or "-"');
  let nodes: NodeEntry[] = [];
  if (!Array.isArray(top.nodes) || top.nodes.length === 0 || top.nodes.length > 1000) v.expected('nodes', 'a list of 1 to 1000 nodes', top.nodes);
  else
    nodes = top.nodes.map((n: Json, i: number) => {
      const p = `nodes[${i}]`;
      const o = v.obj(p, n, ['id', 'host', 'bindHost', 'gossipPort', 'respPort', 'tlsPort', 'httpPort', 'maxmemory']);
      if (o === null) return { id: '', host: '', bindHost: '', gossipPort: 0, respPort: 0, tlsPort: null, httpPort: 0 };
      const host = o.host === undefined ? '127.0.0.1' : v.str(`${p}.host`, o.host, HOST_RE, 'a host name or IP address');
      if (WILDCARD_HOSTS.has(host)) v.add(`${p}.host`, `${host} is where peers would dial this node, and nobody can dial a wildcard address: set host to the address peers reach this node at, and bindHost to ${host}`);
      const bindHost = o.bindHost === undefined ? host : WILDCARD_HOSTS.has(o.bindHost as string) ? (o.bindHost as string) : v.str(`${p}.bindHost`, o.bindHost, HOST_RE, 'a host name or IP address to listen on (0.0.0.0 or :: for every interface)');
      const entry: NodeEntry = {
        id: v.str(`${p}.id`, o.id, ID_RE, 'an id of 1-64 letters, digits, "_", "." or "-"'),
        host,
        bindHost,
        gossipPort: v.int(`${p}.gossipPort`, o.gossipPort, 0, 65535, 0),
        respPort: o.respPort === null ? null : v.int(`${p}.respPort`, o.respPort, 0, 65535, 0),
        tlsPort: o.tlsPort === undefined || o.tlsPort === null ? null : v.int(`${p}.tlsPort`, o.tlsPort, 0, 65535, 0),
        httpPort: v.int(`${p}.httpPort`, o.httpPort, 0, 65535, 0),
      };
      if (entry.respPort === null && entry.tlsPort === null) v.add(`${p}.respPort`, 'null (no plaintext RESP) needs a tlsPort');
      if (o.maxmemory !== undefined) entry.maxmemory = parseMaxmemory(v, `${p}.maxmemory`, o.maxmemory);
      return entry;
    });
  const ids = new Set<string>();
  const endpoints = new Set<string>();
  nodes.forEach((n, i) => {
    if (n.id !== '' && ids.has(n.id)) v.add(`nodes[${i}].id`, `duplicate node id '${n.id}'`);
    ids.add(n.id);
    for (const [field, port] of [['gossipPort', n.gossipPort], ['respPort', n.respPort], ['tlsPort', n.tlsPort], ['httpPort', n.httpPort]] as const) {
      if (port === 0 || port === null) continue; // ephemeral, none, or already reported: cannot collide
      const ep = `${n.host}:${port}`;
      if (endpoints.has(ep)) v.add(`nodes[${i}].${field}`, `${ep} is used twice in the config`);
      endpoints.add(ep);
    }
  });
  let seeds = nodes.map((n) => n.id);
  if (top.seeds !== undefined) {
    if (!Array.isArray(top.seeds) || top.seeds.length === 0) v.expected('seeds', 'a non-empty list of node ids or gossip addresses (host:port)', top.seeds);
    else
      seeds = top.seeds.map((s: Json, i: number) => {
        if (typeof s === 'string' && isSeedAddress(s)) {
          const m = SEED_ADDRESS_RE.exec(s);
          const port = m === null ? NaN : Number(m[2]);
          if (m === null || !HOST_RE.test(m[1] as string) || WILDCARD_HOSTS.has(m[1] as string) || !(port >= 1 && port <= 65535))
            v.expected(`seeds[${i}]`, "a node id, or a node's gossip address as host:port (port 1-65535, not a wildcard host)", s);
          return s;
        }
        const id = v.str(`seeds[${i}]`, s, ID_RE, "a node id, or a node's gossip address as host:port");
        if (id !== '' && nodes.length > 0 && !ids.has(id)) v.add(`seeds[${i}]`, `'${id}' is not the id of a node in "nodes" (a node this config does not list is given by its gossip address, host:port)`);
        return id;
      });
  }
  const g = (top.gossip === undefined ? null : v.obj('gossip', top.gossip, Object.keys(DEFAULT_GOSSIP))) ?? {};
  const gossip: GossipSettings = { ...DEFAULT_GOSSIP };
  // The ranges are the replica's (REPLICA_CONFIG_RANGES), checked field by field so each is reported.
  for (const f of Object.keys(DEFAULT_GOSSIP) as (keyof GossipSettings)[]) {
    if (g[f] === undefined) continue;
    const [lo, hi] = REPLICA_CONFIG_RANGES[GOSSIP_FIELD[f]];
    gossip[f] = v.int(`gossip.${f}`, g[f], lo, hi, DEFAULT_GOSSIP[f]);
  }
  if (g.probeTimeoutMs !== undefined || g.probeIntervalMs !== undefined) {
    if (gossip.probeTimeoutMs > gossip.probeIntervalMs) v.add('gossip.probeTimeoutMs', `must not exceed gossip.probeIntervalMs (${gossip.probeIntervalMs}), got ${gossip.probeTimeoutMs}`);
  }
  const dataDir = top.dataDir === undefined ? '.tally-data' : v.str('dataDir', top.dataDir, /^.{1,4096}$/, 'a directory path');
  const persistence = top.persistence === undefined ? 'none' : top.persistence;
  if (!(PERSISTENCE_MODES as readonly unknown[]).includes(persistence))
    v.expected('persistence', '"none" (memory only), "everysec" (on disk within a second) or "always" (on disk before the reply)', persistence);
  const a = (top.auth === undefined ? null : v.obj('auth', top.auth, ['keyFile', 'password', 'users'])) ?? {};
  let password: string | null = null;
  if (a.password !== undefined && a.password !== null) {
    // Never echo a password in an error: only its length is wrong here.
    if (typeof a.password === 'string' && /^.{1,512}$/.test(a.password)) password = a.password;
    else v.expected('auth.password', 'a password of 1-512 characters or null', typeof a.password === 'string' ? `<${a.password.length} characters>` : a.password);
  }
  const auth: AuthSettings = {
    keyFile: a.keyFile === undefined || a.keyFile === null ? null : v.str('auth.keyFile', a.keyFile, /^.{1,4096}$/, 'a file path or null'),
    password,
    users: users(v, a.users),
  };
  if (auth.password !== null && auth.users.some((u) => u.name === 'default'))
    v.add('auth.users', "a user named 'default' and auth.password both set the default user's password; keep one");
  let gcounterKeys: string[] = [];
  if (top.gcounterKeys !== undefined) {
    if (!Array.isArray(top.gcounterKeys)) v.expected('gcounterKeys', 'a list of glob patterns', top.gcounterKeys);
    else gcounterKeys = top.gcounterKeys.map((p: Json, i: number) => v.str(`gcounterKeys[${i}]`, p, /^.{1,1024}$/, 'a glob pattern'));
  }
  const logLevel = top.logLevel === undefined ? 'info' : top.logLevel;
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) v.expected('logLevel', `one of ${LOG_LEVELS.join(', ')}`, logLevel);
  const maxClients = top.maxClients === undefined ? 10_000 : v.int('maxClients', top.maxClients, 1, 1_000_000, 10_000);
  if (top.protectedMode !== undefined && typeof top.protectedMode !== 'boolean') v.expected('protectedMode', 'true or false', top.protectedMode);
  const protectedMode = top.protectedMode !== false;
  const maxmemory = top.maxmemory === undefined ? 'auto' : parseMaxmemory(v, 'maxmemory', top.maxmemory);
  const tls = tlsSettings(v, top.tls);
  const allocator = top.allocator === undefined ? 'auto' : top.allocator;
  if (!ALLOCATORS.includes(allocator as Allocator)) v.expected('allocator', `one of ${ALLOCATORS.join(', ')}`, allocator);
  nodes.forEach((n, i) => {
    if (n.tlsPort !== null && tls === null) v.add(`nodes[${i}].tlsPort`, 'needs the "tls" section (certFile, keyFile)');
  });
  if (v.list.length > 0) throw new ClusterConfigError(v.list.map((i) => `${i.path}: ${i.message}`).join('\n'), v.list);
  // The replica's own check, on what passed the above: the two must agree (one range table).
  try {
    replicaConfig(replicaSettings(cluster, gossip), (f) => (f === 'gossipIntervalMs' ? 'gossip.intervalMs' : f === 'clusterName' ? 'cluster' : `gossip.${f}`));
  } catch (e) {
    if (e instanceof ConfigError) throw new ClusterConfigError(e.message, [{ path: e.message.split(':')[0] ?? 'gossip', message: e.message }]);
    throw e;
  }
  return { cluster, nodes, seeds, gossip, dataDir, persistence: persistence as Persistence, auth, gcounterKeys, logLevel: logLevel as LogLevel, maxClients, protectedMode, maxmemory, tls, allocator: allocator as Allocator };
}

/** Redis's memory units (config.c's memtoull): k and m are powers of 1000, kb and mb of 1024. */
const MEMORY_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };

/** What `maxmemory` accepts, for the errors that name it. */
export const MAXMEMORY_FORMS = 'a byte count (0 for no limit), a size such as "512mb" or "2gb", or "auto"';

/** A `maxmemory` value: "auto", a byte count, or a count with a unit ("512mb"); null if it is none of these. */
export function memorySize(raw: unknown): number | 'auto' | null {
  if (raw === 'auto') return 'auto';
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? raw : null;
  const m = typeof raw === 'string' ? /^(\d{1,15})\s*([a-z]{0,2})$/i.exec(raw.trim()) : null;
  const unit = m === null ? undefined : MEMORY_UNITS[(m[2] as string).toLowerCase()];
  if (m === null || unit === undefined) return null;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : null;
}

function parseMaxmemory(v: Issues, path: string, raw: Json): number | 'auto' {
  const size = memorySize(raw);
  if (size === null) v.expected(path, MAXMEMORY_FORMS, raw);
  return size ?? 'auto';
}

function users(v: Issues, list: Json): UserEntry[] {
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.length > 1000) {
    v.expected('auth.users', 'a list of at most 1000 users', list);
    return [];
  }
  const names = new Set<string>();
  const out: UserEntry[] = [];
  list.forEach((u: Json, i: number) => {
    const p = `auth.users[${i}]`;
    const o = v.obj(p, u, ['name', 'passwordHash', 'role']);
    if (o === null) return;
    const name = v.str(`${p}.name`, o.name, USER_RE, 'a user name of 1-64 letters, digits, "_", ".", "@", "+" or "-"');
    if (name !== '' && names.has(name)) v.add(`${p}.name`, `duplicate user '${name}'`);
    names.add(name);
    if (typeof o.passwordHash !== 'string') return v.expected(`${p}.passwordHash`, 'a scrypt hash from `tally passwd`', o.passwordHash);
    const parsed = parsePasswordHash(o.passwordHash);
    // The message says what is wrong without echoing the hash.
    if (typeof parsed === 'string') return v.add(`${p}.passwordHash`, parsed);
    if (!(ROLES as readonly unknown[]).includes(o.role)) return v.expected(`${p}.role`, `one of ${ROLES.join(', ')}`, o.role);
    out.push({ name, passwordHash: o.passwordHash, role: o.role as Role });
  });
  return out;
}

function tlsSettings(v: Issues, raw: Json): TlsSettings | null {
  if (raw === undefined || raw === null) return null;
  const o = v.obj('tls', raw, ['certFile', 'keyFile', 'caFile', 'clientCerts', 'http', 'minVersion']);
  if (o === null) return null;
  const path = (f: string): string => v.str(`tls.${f}`, o[f], /^.{1,4096}$/, 'a file path');
  const clientCerts = o.clientCerts === undefined ? 'none' : o.clientCerts;
  if (!(CLIENT_CERT_MODES as readonly unknown[]).includes(clientCerts)) v.expected('tls.clientCerts', `one of ${CLIENT_CERT_MODES.join(', ')}`, clientCerts);
  const minVersion = o.minVersion === undefined ? 'TLSv1.2' : o.minVersion;
  if (!(TLS_VERSIONS as readonly unknown[]).includes(minVersion)) v.expected('tls.minVersion', `one of ${TLS_VERSIONS.join(', ')}`, minVersion);
  if (o.http !== undefined && typeof o.http !== 'boolean') v.expected('tls.http', 'true or false', o.http);
  const caFile = o.caFile === undefined || o.caFile === null ? null : path('caFile');
  if (clientCerts !== 'none' && caFile === null) v.add('tls.caFile', `clientCerts "${String(clientCerts)}" needs the CA that client certificates chain to`);
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

/**
 * Reads and validates a config file; relative paths in it become relative to the file. Errors name
 * the file, and each issue its line and column: `<file>:<line>:<column>: <path>: <what>`, one a line.
 */
export function loadConfig(path: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ClusterConfigError(`cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const src = parseJsonSource(text);
  if (!src.ok) {
    const { message, pos } = src.error;
    throw new ClusterConfigError(`config file ${path} is not valid JSON: ${path}:${pos.line}:${pos.column}: ${message}`, [
      { path: 'config', message, line: pos.line, column: pos.column },
    ]);
  }
  let cfg: ClusterConfig;
  try {
    cfg = validateConfig(src.value);
  } catch (e) {
    if (!(e instanceof ClusterConfigError)) throw e;
    const issues = e.issues.map((i) => {
      const pos = positionOf(src.positions, i.path === 'config' ? '' : i.path);
      return pos === undefined ? i : { ...i, line: pos.line, column: pos.column };
    });
    const lines = issues.map((i) => `${path}:${i.line ?? 1}:${i.column ?? 1}: ${i.path}: ${i.message}`);
    throw new ClusterConfigError(issues.length === 1 ? (lines[0] as string) : `${issues.length} errors in ${path}:\n  ${lines.join('\n  ')}`, issues);
  }
  const base = dirname(resolve(path));
  cfg.dataDir = isAbsolute(cfg.dataDir) ? cfg.dataDir : resolve(base, cfg.dataDir);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  if (cfg.auth.keyFile !== null) cfg.auth.keyFile = abs(cfg.auth.keyFile);
  if (cfg.tls !== null) cfg.tls = { ...cfg.tls, certFile: abs(cfg.tls.certFile), keyFile: abs(cfg.tls.keyFile), caFile: cfg.tls.caFile === null ? null : abs(cfg.tls.caFile) };
  return cfg;
}
