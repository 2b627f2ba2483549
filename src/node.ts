// The composition root: wires config, identity, keyspace, replica, gossip transport, RESP server,
// HTTP server and the WebSocket client API into one running node. Nothing else constructs these.

import { readFileSync } from 'node:fs';
import { fullKey } from './keyspace/keyspace.js';
import { replicaSettings, type ClusterConfig, type NodeEntry } from './config/cluster-config.js';
import { bumpIncarnation } from './persistence/identity.js';
import { openDurableState, type DurableState } from './persistence/recovery.js';
import { replicaConfig } from './replication/config.js';
import { MEMBER_STATE_NAMES, maxFrameBytes } from './replication/messages.js';
import { Replica } from './replication/replica.js';
import { globMatch } from './server/commands/parse.js';
import type { CommandServices, Session } from './server/commands/types.js';
import { Keyring } from './gossip/frame-auth.js';
import { WsGossipTransport } from './gossip/ws-transport.js';
import { withFaultControl } from './gossip/fault-control.js';
import { HttpServer } from './server/http-server.js';
import { RespServer, type RespConnectionHandler } from './server/resp/server.js';
import { WsClientApi } from './server/ws/server.js';
import { CommandMetrics, NodeMetrics } from './server/metrics.js';
import { dashboardRoute } from './server/dashboard/routes.js';
import type { Logger } from './util/logger.js';
import { systemClock, systemRng } from './util/system.js';

export const VERSION = '0.1.0';

export interface NodeOverrides {
  host?: string;
  gossipPort?: number;
  respPort?: number;
  httpPort?: number;
}

export interface RunningNode {
  id: string;
  incarnation: number;
  ports: { gossip: number; resp: number; http: number };
  replica: Replica;
  /** Graceful stop: stop accepting, tell peers we leave, flush, close everything. */
  stop(): Promise<void>;
}

/** Reads the gossip keyring named by the config, or null when auth is off. */
export function loadKeyring(cfg: ClusterConfig): Keyring | null {
  const file = cfg.auth.keyFile;
  if (file === null) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `auth.keyFile: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); create one with \`tally keygen > ${file}\` and give every node the same file`,
    );
  }
  const keys = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  try {
    return Keyring.fromBase64(keys, cfg.cluster);
  } catch (e) {
    throw new Error(`auth.keyFile ${file}: ${(e as Error).message}`);
  }
}

/** How long a node that hears from no peer waits before it calls itself ready (a lone or first node). */
function readyGraceMs(cfg: ClusterConfig): number {
  return Math.max(1000, 5 * cfg.gossip.intervalMs);
}

export async function startNode(cfg: ClusterConfig, nodeId: string, log: Logger, overrides: NodeOverrides = {}): Promise<RunningNode> {
  const entry = cfg.nodes.find((n) => n.id === nodeId);
  if (entry === undefined) throw new Error(`--id: no node '${nodeId}' in the config (nodes: ${cfg.nodes.map((n) => n.id).join(', ')})`);
  const me: NodeEntry = { ...entry, ...overrides };
  const keyring = loadKeyring(cfg);
  if (keyring === null) log.warn('auth.keyFile is null: gossip frames are neither authenticated nor encrypted');
  // Durable state first: a corrupt or foreign store stops the node before it binds a port.
  const durable: DurableState | null = cfg.persistence === 'none' ? null : openDurableState(cfg, nodeId, cfg.persistence, log);
  const identity = durable?.identity ?? bumpIncarnation(cfg.dataDir, nodeId, cfg.cluster, { now: Date.now() });
  const clock = systemClock;
  const startedAt = clock.now();

  // Late-bound: the transport delivers frames to the replica, which is built with the transport.
  let replica: Replica | undefined;
  const transport = new WsGossipTransport({
    host: me.host,
    port: me.gossipPort,
    keyring,
    maxFrameBytes: maxFrameBytes(cfg.gossip.maxMessageBytes),
    onFrame: (peer, frame) => replica?.receive(peer, frame, clock.now()),
    onReject: (peer, reason, detail) => log.warn({ peer, reason, detail }, 'gossip frame rejected'),
    clock: () => clock.now(),
    logger: log.child({ component: 'gossip' }),
  });
  const gossipPort = await transport.listen();
  // Test-only link cutting for `tally verify`; the transport itself unless TALLY_FAULT_CONTROL is set.
  const faults = withFaultControl(transport, nodeId, me.host, log.child({ component: 'fault-control' }));
  const address = `${me.host}:${gossipPort}`;
  const seeds = cfg.seeds
    .map((id) => cfg.nodes.find((n) => n.id === id))
    .filter((n): n is NodeEntry => n !== undefined && n.id !== nodeId)
    .map((n) => `${n.host}:${n.gossipPort}`);

  let wsApi: WsClientApi | undefined;
  replica = new Replica({
    config: replicaConfig(replicaSettings(cfg.cluster, cfg.gossip)),
    identity: { nodeId, incarnation: identity.incarnation, address },
    rng: systemRng(),
    transport: faults.transport,
    seeds,
    configuredSize: cfg.nodes.length,
    now: clock.now(),
    events: {
      rejected: (peer, reason, detail) => log.warn({ peer, reason, detail }, 'gossip frame rejected'),
      memberChanged: (m, prev) =>
        log.info({ member: m.id, state: MEMBER_STATE_NAMES[m.state], was: prev === undefined ? 'unknown' : MEMBER_STATE_NAMES[prev], incarnation: m.incarnation }, 'member changed'),
    },
    ...(durable === null ? {} : { keyspace: durable.keyspace }),
    // Persistence `always`: advertise only what is on disk (docs/consistency.md).
    ...(durable !== null && cfg.persistence === 'always' ? { durability: durable.commits } : {}),
  });
  const r = replica;
  r.keyspace.onChange((key) => wsApi?.notifyChanged(key));
  r.keyspace.onTypeConflict((key, types) => log.warn({ key: JSON.stringify(key.slice(1)), db: key.charCodeAt(0), types }, 'key created concurrently as several types: the higher type tag shows, the other states are kept'));
  // Durability `always`: client replies wait for the group commit of the writes before them.
  const beforeFlush = cfg.persistence === 'always' && durable !== null ? { beforeFlush: durable.commits.durable.bind(durable.commits) } : {};

  // Sessions of every protocol, for CLIENT LIST and INFO clients.
  const sessions = new Map<number, Session>();
  let nextSessionId = 1;
  const newSession = (protocol: 'resp' | 'ws', remoteAddress: string): Session => {
    const s: Session = {
      id: nextSessionId++,
      db: 0,
      name: null,
      authenticated: cfg.auth.password === null,
      protocol,
      remoteAddress,
      createdAt: clock.now(),
      lastCommandAt: clock.now(),
      lastCommand: '',
    };
    sessions.set(s.id, s);
    return s;
  };

  const gcounterPatterns = cfg.gcounterKeys;
  const services: CommandServices = {
    keyspace: r.keyspace,
    password: cfg.auth.password,
    // A full key is the db char then the key's bytes as latin1: the name is the rest, no Buffer needed.
    counterTypeFor: (key) => (gcounterPatterns.length > 0 && gcounterPatterns.some((p) => globMatch(p, key.slice(1))) ? 'gcounter' : 'pncounter'),
    nodeId,
    clusterName: cfg.cluster,
    version: VERSION,
    startedAt,
    now: () => clock.now(),
    infoSections: () => infoSections(),
    configValues: () => ({
      databases: '16',
      save: '',
      appendonly: cfg.persistence === 'none' ? 'no' : 'yes',
      maxclients: String(cfg.maxClients),
      'tally-gossip-interval-ms': String(cfg.gossip.intervalMs),
      'tally-fanout': String(cfg.gossip.fanout),
      'tally-persistence': cfg.persistence,
    }),
    listClients: () => [...sessions.values()],
    consistency: {
      version: () => r.version,
      majorityPeers: () => r.majorityPeers(),
      // The replica checks deadlines in tick(), which the loop below runs at least every 50 ms.
      waitHolders: (version, needed, timeoutMs) =>
        new Promise((done) => r.awaitHolders(version, needed, timeoutMs === 0 ? Infinity : clock.now() + timeoutMs, done)),
      majorityRead: (keys, timeoutMs) => new Promise((done) => r.majorityRead(keys, clock.now() + timeoutMs, done)),
    },
  };

  // Every protocol's commands go through this wrapper of the command table: counted and timed (/metrics).
  const commandMetrics = new CommandMetrics();
  const handler: RespConnectionHandler<Session> = {
    open: (info) => newSession('resp', `${info.remoteAddress}:${info.remotePort}`),
    command: (s, args) => {
      s.lastCommandAt = clock.now();
      return commandMetrics.execute(services, s, args);
    },
    close: (s) => {
      sessions.delete(s.id);
    },
  };
  const resp = new RespServer<Session>({ host: me.host, port: me.respPort, handler, maxClients: cfg.maxClients, logger: log.child({ component: 'resp' }), ...beforeFlush });
  const respPort = await resp.listen();

  wsApi = new WsClientApi({
    services,
    ...beforeFlush,
    newSession: (remote: string) => newSession('ws', remote),
    closeSession: (s: Session) => {
      sessions.delete(s.id);
    },
    logger: log.child({ component: 'ws' }),
    execute: commandMetrics.execute,
    maxClients: cfg.maxClients,
  });
  const api = wsApi;

  const members = (): object[] =>
    [...r.membership.all()].map((m) => ({
      id: m.id,
      address: m.address,
      state: MEMBER_STATE_NAMES[m.state],
      incarnation: m.incarnation,
      lastHeardMsAgo: m.id === nodeId ? 0 : m.lastHeard === 0 ? null : clock.now() - m.lastHeard,
    }));

  const infoSections = (): Record<string, Record<string, string | number>> => {
    const [alive, suspect, dead, left] = r.membership.countByState();
    const gossipOut = Object.values(r.stats.sent).reduce((a, s) => a + s.bytes, 0);
    const gossipIn = Object.values(r.stats.received).reduce((a, s) => a + s.bytes, 0);
    const byType = r.keyspace.countByType();
    let respClients = 0;
    let wsClients = 0;
    for (const s of sessions.values()) if (s.protocol === 'resp') respClients++; else wsClients++;
    return {
      clients: { connected_clients: respClients + wsClients, resp_clients: respClients, ws_clients: wsClients, maxclients: cfg.maxClients },
      persistence: { loading: 0, tally_persistence: cfg.persistence, ...(durable === null ? {} : durable.info()) },
      stats: { total_commands_processed: resp.stats.commandsProcessed, total_connections_received: resp.stats.connectionsAccepted + api.stats.connectionsAccepted, rejected_connections: resp.stats.connectionsRejected + api.stats.connectionsRejected },
      cluster: {
        cluster_name: cfg.cluster,
        node_id: nodeId,
        incarnation: identity.incarnation,
        members_alive: alive,
        members_suspect: suspect,
        members_dead: dead,
        members_left: left,
        members: [...r.membership.all()].map((m) => `${m.id}=${MEMBER_STATE_NAMES[m.state]}@${m.incarnation}`).join(','),
      },
      gossip: {
        gossip_rounds: r.stats.rounds,
        gossip_bytes_out: gossipOut,
        gossip_bytes_in: gossipIn,
        gossip_frames_rejected: Object.values(r.stats.rejected).reduce((a, n) => a + n, 0),
        gossip_chunked_deltas: r.stats.chunked,
        gossip_origins: r.versions.originCount,
        gossip_vector_hash: r.versions.hash,
      },
      keytypes: { ...byType, type_conflicts: r.keyspace.typeConflicts },
    };
  };

  const metrics = new NodeMetrics(
    {
      replica: r,
      transport,
      resp,
      ws: api,
      clients: () => {
        let ws = 0;
        for (const s of sessions.values()) if (s.protocol === 'ws') ws++;
        return { resp: sessions.size - ws, ws };
      },
      now: () => clock.now(),
      startedAt,
      incarnation: identity.incarnation,
      version: VERSION,
    },
    commandMetrics,
  );
  if (durable !== null) durable.commits.onCommit = (ms) => metrics.observeCommit(ms / 1000);

  let httpPort = me.httpPort;
  const http: HttpServer = new HttpServer(me.host, me.httpPort, {
    // Ready once caught up with a peer (a new, wiped or restarted node streams the state first).
    health: () => (r.caughtUp(clock.now(), readyGraceMs(cfg)) ? { live: true, ready: true } : { live: true, ready: false, detail: 'catching up with peers' }),
    status: (): object => ({
      node: { id: nodeId, incarnation: identity.incarnation, cluster: cfg.cluster, version: VERSION, address, uptimeMs: clock.now() - startedAt, pid: process.pid },
      ports: { gossip: gossipPort, resp: respPort, http: httpPort },
      members: members(),
      gossip: { ...r.stats, vectorHash: r.versions.hash, origins: r.versions.originCount, transport: transport.stats() },
      keys: { ...r.keyspace.countByType(), total: r.keyspace.size },
      clients: { total: sessions.size, ws: api.clientCount() },
      convergence: r.convergence(clock.now()),
      // Every configured node's endpoints, so the dashboard can reach all of them.
      nodes: cfg.nodes.map((n) => ({ id: n.id, http: `http://${n.host}:${n.id === nodeId ? httpPort : n.httpPort}`, ws: `ws://${n.host}:${n.id === nodeId ? httpPort : n.httpPort}/ws`, resp: `${n.host}:${n.id === nodeId ? respPort : n.respPort}` })),
    }),
    extra: (req, res) => metrics.route(req, res) || dashboardRoute(req, res),
    upgrade: (req, socket, head) => api.handleUpgrade(req, socket, head),
  });
  httpPort = await http.listen();

  // Drive the replica: tick when it next has work, at least every 50 ms.
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const loop = (): void => {
    if (stopped) return;
    const now = clock.now();
    try {
      r.tick(now);
    } catch (e) {
      log.error({ err: e }, 'replica tick failed');
    }
    const wait = Math.min(50, Math.max(1, r.nextTickAt() - clock.now()));
    timer = setTimeout(loop, wait);
  };
  loop();

  log.info({ id: nodeId, incarnation: identity.incarnation, gossip: address, resp: `${me.host}:${respPort}`, http: `http://${me.host}:${httpPort}` }, 'node started');

  return {
    id: nodeId,
    incarnation: identity.incarnation,
    ports: { gossip: gossipPort, resp: respPort, http: httpPort },
    replica: r,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await resp.close();
      r.leave();
      // Give the leave notice a moment to go out before the sockets close.
      await new Promise((done) => setTimeout(done, 150));
      await api.close();
      await http.close();
      faults.close();
      await transport.close();
      // Last: gossip may have merged until the transport closed. Commit what is left, then close.
      await durable?.close();
      log.info({ id: nodeId }, 'node stopped');
    },
  };
}

export { fullKey };
