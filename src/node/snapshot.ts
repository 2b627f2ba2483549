// One snapshot of a node's state, taken on demand: /status returns it as JSON, INFO renders its
// sections, /metrics reads its gauges and counters from it. A field added here is seen by all three.

import type { ClusterConfig } from '../config/cluster-config.js';
import type { GossipTransportStats } from '../gossip/ws-transport.js';
import type { KeyType } from '../keyspace/types.js';
import type { DurableState } from '../persistence/recovery.js';
import { MEMBER_STATE_NAMES } from '../replication/messages.js';
import type { Replica } from '../replication/replica.js';
import type { AuthStats } from '../server/auth/authenticator.js';
import type { RespServerStats } from '../server/resp/server.js';
import type { SecurityStats } from '../server/metrics.js';
import type { WsApiStats } from '../server/ws/server.js';
import { humanBytes, usedMemory } from './memory-guard.js';
import { runningAllocator } from '../util/allocator.js';
import { youngGenerationBytes } from '../util/system.js';

/** The process's malloc: read once, it cannot change. */
let allocator: 'jemalloc' | 'libc' | undefined;
import type { Clock } from '../util/clock.js';
import type { SessionRegistry } from './sessions.js';

export const VERSION = '0.1.0';

/** The parts of a running node the snapshot reads. */
export interface NodeParts {
  readonly cfg: ClusterConfig;
  readonly nodeId: string;
  readonly incarnation: number;
  /** This node's gossip address. */
  readonly address: string;
  /** maxmemory: the limit (0: none) and whether used memory was over it at the last sample. */
  readonly memoryGuard: { readonly limit: number; readonly over: boolean };
  readonly startedAt: number;
  readonly clock: Clock;
  readonly replica: Replica;
  readonly transport: { stats(): GossipTransportStats };
  readonly resp: { readonly stats: RespServerStats };
  readonly ws: { readonly stats: WsApiStats; watchedKeyCount(): number };
  readonly sessions: SessionRegistry;
  readonly durable: DurableState | null;
  /** Failed AUTH, slowed and refused attempts, NOPERM (src/server/auth/authenticator.ts). */
  readonly auth: { readonly stats: AuthStats };
  /** Connections and requests refused by protected mode, and failed TLS handshakes, over RESP and HTTP. */
  edgeStats(): { protectedModeRefused: number; tlsHandshakeErrors: number; foreignRefused: number };
  /** The bound ports (a configured 0 is an ephemeral port; null: that listener is off). */
  ports(): NodePorts;
}

export interface NodePorts {
  gossip: number;
  /** Plaintext RESP; null when the node serves RESP over TLS only. */
  resp: number | null;
  /** RESP over TLS; null when off. */
  tls: number | null;
  http: number;
}

export interface MemberView {
  id: string;
  address: string;
  state: (typeof MEMBER_STATE_NAMES)[number];
  incarnation: number;
  /** ms since a frame came from it directly; 0 for this node, null if never. */
  lastHeardMsAgo: number | null;
  /** Whether it counts toward majorities: false while it is joining (catching up) and once removed. */
  voter: boolean;
  /** Still catching up after it joined (docs/consistency.md, "Membership changes"). */
  joining: boolean;
}

export interface NodeSnapshot {
  node: { id: string; incarnation: number; cluster: string; version: string; address: string; uptimeMs: number; pid: number };
  ports: NodePorts;
  members: MemberView[];
  memberCounts: { alive: number; suspect: number; dead: number; left: number; removed: number };
  /**
   * The membership majorities are counted from (docs/consistency.md): `clusterSize` voters, of which
   * `majority` make a majority; whether this node itself is still joining.
   */
  quorum: { clusterSize: number; majority: number; joining: boolean };
  gossip: Replica['stats'] & { vectorHash: string; stateHash: string; origins: number; transport: GossipTransportStats };
  /** Live keys in all (`total`, what DBSIZE counts over every database), by type and by database; `entries` includes tombstones. */
  keys: { total: number; byType: Record<KeyType, number>; byDb: number[]; entries: number; bytes: number; typeConflicts: number };
  clients: { total: number; resp: number; ws: number; maxClients: number; watchedKeys: number };
  traffic: {
    commandsProcessed: number;
    connectionsAccepted: { resp: number; ws: number };
    connectionsRejected: { resp: number; ws: number };
    protocolErrors: { resp: number; ws: number };
    wsPushes: number;
  };
  /**
   * Process memory, and what the state holding it consists of: stored keys that are tombstones,
   * counter slots (one per node incarnation that wrote a key), version-log entries ((origin, key)
   * pairs), origins of incarnations no longer alive whose slots are not folded yet, and keys folded
   * since start (replication/slot-folds.ts); `tombstonesCollected`, deleted counters dropped since start (replication/tombstone-gc.ts).
   */
  memory: { used: number; heapUsed: number; rss: number; allocator: 'jemalloc' | 'libc'; maxmemory: number; overMaxmemory: boolean; tombstones: number; tombstonesCollected: number; slots: number; compactKeys: number; youngGeneration: number; versionLogEntries: number; versionLogCells: number; origins: number; retiredOrigins: number; slotFolds: number };
  /** Client security figures (server/metrics.ts, SecurityStats). */
  security: SecurityStats;
  persistence: Record<string, string | number>;
  /** The data store on disk (persistence/store.ts, `stats`); null without one (persistence "none"). */
  store: { records: number; bytes: number } | null;
  convergence: { maxLagMs: number; outOfSync: number; peers: number };
  /** This node's clock against its peers' (docs/consistency.md, "Clocks"); `offsets` by peer address: its clock minus ours, ms. */
  clock: { ok: boolean; offsetMs: number; boundMs: number; peers: number; beyond: number; unverified: boolean; offsets: Record<string, number> };
  /** Every configured node's endpoints, so the dashboard can reach all of them (https and wss under tls.http). */
  nodes: { id: string; http: string; ws: string; resp: string | null; tls: string | null }[];
}

export function takeSnapshot(p: NodeParts): NodeSnapshot {
  const { cfg, replica: r, clock } = p;
  const now = clock.now();
  const ports = p.ports();
  const [alive, suspect, dead, left, removed] = r.membership.countByState();
  const byType = r.keyspace.countByType();
  const byDb = r.keyspace.countByDb();
  const memory = process.memoryUsage();
  const held = r.keyspace.memoryStats();
  const clients = p.sessions.count();
  const secure = cfg.tls !== null && cfg.tls.http;
  const endpoint = (n: { id: string; host: string; httpPort: number; respPort: number | null; tlsPort: number | null }): NodeSnapshot['nodes'][number] => {
    const self = n.id === p.nodeId;
    const http = self ? ports.http : n.httpPort;
    const resp = self ? ports.resp : n.respPort;
    const tls = self ? ports.tls : n.tlsPort;
    return {
      id: n.id,
      http: `${secure ? 'https' : 'http'}://${n.host}:${http}`,
      ws: `${secure ? 'wss' : 'ws'}://${n.host}:${http}/ws`,
      resp: resp === null ? null : `${n.host}:${resp}`,
      tls: tls === null ? null : `${n.host}:${tls}`,
    };
  };
  const a = p.auth.stats;
  return {
    node: { id: p.nodeId, incarnation: p.incarnation, cluster: cfg.cluster, version: VERSION, address: p.address, uptimeMs: now - p.startedAt, pid: process.pid },
    ports,
    members: [...r.membership.all()].map((m) => ({
      id: m.id,
      address: m.address,
      state: MEMBER_STATE_NAMES[m.state],
      incarnation: m.incarnation,
      lastHeardMsAgo: m.id === p.nodeId ? 0 : m.lastHeard === 0 ? null : now - m.lastHeard,
      voter: r.membership.isVoter(m.id),
      joining: m.joining === true,
    })),
    memberCounts: { alive, suspect, dead, left, removed },
    quorum: { clusterSize: r.clusterSize(), majority: Math.floor(r.clusterSize() / 2) + 1, joining: r.joining },
    gossip: { ...r.stats, vectorHash: r.versions.hash, stateHash: r.keyspace.stateDigest(), origins: r.versions.originCount, transport: p.transport.stats() },
    keys: { total: byDb.reduce((a, b) => a + b, 0), byType, byDb, entries: r.keyspace.size, bytes: r.keyspace.byteSize(), typeConflicts: r.keyspace.typeConflicts },
    clients: { ...clients, maxClients: cfg.maxClients, watchedKeys: p.ws.watchedKeyCount() },
    traffic: {
      commandsProcessed: p.resp.stats.commandsProcessed,
      connectionsAccepted: { resp: p.resp.stats.connectionsAccepted, ws: p.ws.stats.connectionsAccepted },
      connectionsRejected: { resp: p.resp.stats.connectionsRejected, ws: p.ws.stats.connectionsRejected },
      protocolErrors: { resp: p.resp.stats.protocolErrors, ws: p.ws.stats.badFrames },
      wsPushes: p.ws.stats.pushes,
    },
    memory: {
      used: usedMemory(),
      heapUsed: memory.heapUsed,
      rss: memory.rss,
      allocator: (allocator ??= runningAllocator()),
      maxmemory: p.memoryGuard.limit,
      overMaxmemory: p.memoryGuard.over,
      tombstones: held.tombstones,
      tombstonesCollected: r.keyspace.collected,
      slots: held.slots,
      compactKeys: held.compact,
      youngGeneration: youngGenerationBytes(),
      versionLogEntries: r.versions.entryCount(),
      versionLogCells: r.versions.cellCount(),
      origins: r.versions.originCount,
      retiredOrigins: r.retiredOrigins(),
      slotFolds: r.foldedKeys,
    },
    security: {
      authFailures: { ...a.failures },
      authDelayed: a.delayed,
      authRefused: a.refused,
      deniedCommands: a.deniedCommands,
      ...p.edgeStats(),
    },
    persistence: { mode: cfg.persistence, ...(p.durable === null ? {} : p.durable.info()) },
    store: p.durable === null ? null : p.durable.store.stats(),
    convergence: r.convergence(now),
    clock: { ...r.clockStatus(now), offsets: Object.fromEntries([...r.clockSkew.offsets(now)].map(([a, o]) => [a, Math.round(o)])) },
    nodes: cfg.nodes.map(endpoint),
  };
}

/** The INFO sections of a snapshot, Redis's field names where Redis has the field (docs/operations.md). */
export function infoSections(s: NodeSnapshot): Record<string, Record<string, string | number>> {
  const sent = Object.values(s.gossip.sent).reduce((a, x) => a + x.bytes, 0);
  const received = Object.values(s.gossip.received).reduce((a, x) => a + x.bytes, 0);
  const keyspace: Record<string, string> = {};
  s.keys.byDb.forEach((n, db) => {
    if (n > 0) keyspace[`db${db}`] = `keys=${n},expires=0,avg_ttl=0`;
  });
  return {
    server: {
      redis_version: '7.2.0',
      tally_version: s.node.version,
      redis_mode: 'standalone',
      tally_node_id: s.node.id,
      tally_cluster: s.node.cluster,
      process_id: s.node.pid,
      uptime_in_seconds: Math.floor(s.node.uptimeMs / 1000),
    },
    clients: { connected_clients: s.clients.total, resp_clients: s.clients.resp, ws_clients: s.clients.ws, maxclients: s.clients.maxClients },
    memory: {
      used_memory: s.memory.used,
      used_memory_human: humanBytes(s.memory.used),
      used_memory_rss: s.memory.rss,
      used_memory_rss_human: humanBytes(s.memory.rss),
      // RSS over used memory, as Redis prints it (dashboards and redis_exporter read it).
      // Redis's field: which malloc the process runs on (util/allocator.ts).
      mem_allocator: s.memory.allocator,
      mem_fragmentation_ratio: s.memory.used > 0 ? (s.memory.rss / s.memory.used).toFixed(2) : '0.00',
      // Redis's names; the only policy is noeviction (a dropped counter would lose acknowledged increments).
      maxmemory: s.memory.maxmemory,
      maxmemory_human: humanBytes(s.memory.maxmemory),
      maxmemory_policy: 'noeviction',
      tally_over_maxmemory: s.memory.overMaxmemory ? 1 : 0,
      keyspace_bytes: s.keys.bytes,
      tally_keys: s.keys.total,
      tally_tombstones: s.memory.tombstones,
      tally_tombstones_collected: s.memory.tombstonesCollected,
      tally_counter_slots: s.memory.slots,
      tally_compact_keys: s.memory.compactKeys,
      tally_young_generation: s.memory.youngGeneration,
      tally_version_log_entries: s.memory.versionLogEntries,
      tally_version_log_cells: s.memory.versionLogCells,
      tally_origins: s.memory.origins,
      tally_retired_origins: s.memory.retiredOrigins,
      tally_slot_folds: s.memory.slotFolds,
    },
    persistence: { loading: 0, tally_persistence: s.persistence.mode ?? 'none', ...Object.fromEntries(Object.entries(s.persistence).filter(([k]) => k !== 'mode')) },
    stats: {
      total_commands_processed: s.traffic.commandsProcessed,
      total_connections_received: s.traffic.connectionsAccepted.resp + s.traffic.connectionsAccepted.ws,
      rejected_connections: s.traffic.connectionsRejected.resp + s.traffic.connectionsRejected.ws,
      // Redis 7.2's names: failed AUTH (every protocol) and commands refused with NOPERM.
      acl_access_denied_auth: s.security.authFailures.resp + s.security.authFailures.ws + s.security.authFailures.http,
      acl_access_denied_cmd: s.security.deniedCommands,
      tally_auth_delayed: s.security.authDelayed,
      tally_auth_refused: s.security.authRefused,
      tally_protected_mode_refused: s.security.protectedModeRefused,
      tally_tls_handshake_errors: s.security.tlsHandshakeErrors,
    },
    cluster: {
      cluster_name: s.node.cluster,
      node_id: s.node.id,
      incarnation: s.node.incarnation,
      members_alive: s.memberCounts.alive,
      members_suspect: s.memberCounts.suspect,
      members_dead: s.memberCounts.dead,
      members_left: s.memberCounts.left,
      members_removed: s.memberCounts.removed,
      cluster_size: s.quorum.clusterSize,
      cluster_majority: s.quorum.majority,
      joining: s.quorum.joining ? 1 : 0,
      members: s.members.map((m) => `${m.id}=${m.state}${m.joining ? '+joining' : ''}@${m.incarnation}`).join(','),
    },
    gossip: {
      gossip_rounds: s.gossip.rounds,
      gossip_bytes_out: sent,
      gossip_bytes_in: received,
      gossip_frames_rejected: Object.values(s.gossip.rejected).reduce((a, n) => a + n, 0),
      gossip_chunked_deltas: s.gossip.chunked,
      gossip_state_repairs: s.gossip.repairs,
      gossip_origins: s.gossip.origins,
      gossip_vector_hash: s.gossip.vectorHash,
      gossip_state_hash: s.gossip.stateHash,
    },
    clock: {
      tally_clock_ok: s.clock.ok ? 1 : 0,
      tally_clock_offset_ms: Math.round(s.clock.offsetMs),
      tally_clock_peers_measured: s.clock.peers,
      tally_clock_peers_beyond_bound: s.clock.beyond,
      tally_clock_max_skew_ms: s.clock.boundMs,
      tally_clock_unverified: s.clock.unverified ? 1 : 0,
    },
    keytypes: { ...s.keys.byType, tombstones: s.keys.entries - s.keys.total, type_conflicts: s.keys.typeConflicts },
    keyspace,
  };
}
