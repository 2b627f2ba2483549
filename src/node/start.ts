// The composition root: wires config, identity, keyspace, replica, gossip transport, RESP server,
// HTTP server and the WebSocket client API into one running node. Nothing else constructs these;
// this file only wires (the parts' rules live in sessions.ts, services.ts, snapshot.ts, tick-loop.ts).

import { replicaSettings, seedAddresses, startsJoining, type ClusterConfig, type NodeEntry } from '../config/cluster-config.js';
import { assertPrivateFile } from '../config/secret-files.js';
import { loadKeyring } from '../gossip/keyring-file.js';
import { faultControlFromEnv } from '../gossip/fault-control.js';
import { WsGossipTransport } from '../gossip/ws-transport.js';
import { Keyspace } from '../keyspace/keyspace.js';
import { replicaIdOf } from '../crdt/replica-id.js';
import { bumpIncarnation } from '../persistence/identity.js';
import { openDurableState, type DurableState } from '../persistence/recovery.js';
import { replicaConfig } from '../replication/config.js';
import { MEMBER_STATE_NAMES, maxFrameBytes } from '../replication/messages.js';
import { Replica } from '../replication/replica.js';
import type { FoldBounds } from '../replication/slot-folds.js';
import type { Session } from '../server/commands/types.js';
import { onScriptIdle, scriptBusy, sessionClosed } from '../server/commands/state.js';
import { ScriptHold } from './script-hold.js';
import { dashboardRoute } from '../server/dashboard/routes.js';
import * as errors from '../errors.js';
import { HttpGuard } from '../server/http-guard.js';
import { HttpServer } from '../server/http-server.js';
import { CommandMetrics, NodeMetrics } from '../server/metrics.js';
import { RespServer, type RespConnectionHandler, type RespServerStats } from '../server/resp/server.js';
import { loadServerTls, type ServerTls } from '../server/tls.js';
import { WsClientApi } from '../server/ws/server.js';
import type { Logger } from '../util/logger.js';
import { systemClock, systemRng } from '../util/system.js';
import { commandServices } from './services.js';
import { SessionRegistry } from './sessions.js';
import { takeSnapshot, VERSION, type NodePorts } from './snapshot.js';
import { MemoryGuard, resolveMaxmemory } from './memory-guard.js';
import { YoungTrim } from './young-trim.js';
import { assertGossipKeyOffLoopback, assertSecretFiles, clientSecurity, sumStats } from './client-security.js';
import { watchClock } from './clock-watch.js';
import { TickLoop } from './tick-loop.js';

export { VERSION };

/** At most one log line per this many ms about crossing maxmemory. */
const MEMORY_LOG_EVERY_MS = 10_000;

export interface NodeOverrides {
  host?: string;
  bindHost?: string;
  gossipPort?: number;
  respPort?: number;
  tlsPort?: number;
  httpPort?: number;
  /** This node's memory limit (bytes, or "auto"). */
  maxmemory?: number | 'auto';
}

export interface RunningNode {
  id: string;
  incarnation: number;
  ports: NodePorts;
  replica: Replica;
  /**
   * Reads the TLS certificate, key and CA files again and uses them for new connections (SIGHUP);
   * open connections and gossip carry on. Throws (and keeps the old ones) when a file is bad.
   */
  reloadTls(): void;
  /** Graceful stop: stop accepting, tell peers we leave, flush, close everything. */
  stop(): Promise<void>;
  /**
   * Resolves when this node is no longer a member: `left` after TALLY.LEAVE handed off (the reply
   * has gone out), `removed` when an operator removed it (TALLY.REMOVE on another node). Either way
   * it has stopped gossiping for good, and the process should stop (`tally node` does).
   */
  departed: Promise<'left' | 'removed'>;
}

/** Persists raised slot-fold bounds before anything they fold (Replica's `saveFolds`); false, logged, if the store refused. */
function saveFolds(durable: DurableState, bounds: FoldBounds, log: Logger): boolean {
  try {
    durable.store.saveFolds(bounds);
    log.info({ folds: bounds }, 'retired counter slots folded');
    return true;
  } catch (err) {
    log.error({ err }, 'could not record slot-fold bounds in the data store; retired slots stay unfolded');
    return false;
  }
}

/** How long a node that hears from no peer waits before it calls itself ready (a lone or first node). */
function readyGraceMs(cfg: ClusterConfig): number {
  return Math.max(1000, 5 * cfg.gossip.intervalMs);
}

export async function startNode(cfg: ClusterConfig, nodeId: string, log: Logger, overrides: NodeOverrides = {}): Promise<RunningNode> {
  const entry = cfg.nodes.find((n) => n.id === nodeId);
  if (entry === undefined) throw new Error(`--id: no node '${nodeId}' in the config (nodes: ${cfg.nodes.map((n) => n.id).join(', ')})`);
  // `--host` alone moves both addresses, as before there were two.
  const me: NodeEntry = { ...entry, ...(overrides.host !== undefined && overrides.bindHost === undefined && entry.bindHost === entry.host ? { bindHost: overrides.host } : {}), ...overrides };
  // Secrets on disk: refused when other users may read them, before anything is opened.
  assertSecretFiles(cfg);
  assertGossipKeyOffLoopback(cfg, me);
  // Test-only fault hook for `tally verify` (null unless TALLY_FAULT_CONTROL is set): cut links, skewed clock.
  const faults = faultControlFromEnv(nodeId, me.host, log.child({ component: 'fault-control' }));
  const clock = faults?.clock ?? systemClock;
  let serverTls: ServerTls | undefined = cfg.tls === null ? undefined : loadServerTls(cfg.tls);
  const keyring = loadKeyring(cfg);
  if (keyring === null) log.warn('auth.keyFile is null: gossip frames are neither authenticated nor encrypted');
  // Durable state first: a corrupt or foreign store stops the node before it binds a port.
  const durable: DurableState | null = cfg.persistence === 'none' ? null : openDurableState(cfg, nodeId, cfg.persistence, log.child({ component: 'persistence' }), clock, systemRng());
  const identity = durable?.identity ?? bumpIncarnation(cfg.dataDir, nodeId, cfg.cluster, { now: clock.now() });
  const startedAt = clock.now();
  let departed: (why: 'left' | 'removed') => void = () => {};
  const departedPromise = new Promise<'left' | 'removed'>((done) => (departed = done));

  // The gossip port is bound first: the replica advertises the address it was bound at (a configured
  // 0 is an ephemeral port). Frames are handed to the replica once it exists (`deliverTo`, below).
  let services: ReturnType<typeof commandServices> | undefined;
  const transport = new WsGossipTransport({
    host: me.bindHost,
    port: me.gossipPort,
    keyring,
    maxFrameBytes: maxFrameBytes(cfg.gossip.maxMessageBytes),
    onReject: (peer, reason, detail) => log.warn({ peer, reason, detail }, 'gossip frame rejected'),
    clock: () => clock.now(),
    logger: log.child({ component: 'gossip' }),
  });
  const gossipPort = await transport.listen();
  const address = `${me.host}:${gossipPort}`;
  const addressOf = (n: NodeEntry): string => `${n.host}:${n.gossipPort}`;
  const others = cfg.nodes.filter((n) => n.id !== nodeId);
  const joining = startsJoining(cfg, nodeId);

  const replica = new Replica({
    config: replicaConfig(replicaSettings(cfg.cluster, cfg.gossip)),
    identity: { nodeId, incarnation: identity.incarnation, address },
    rng: systemRng(),
    transport: faults?.wrap(transport) ?? transport,
    seeds: seedAddresses(cfg, nodeId),
    peers: others.map(addressOf),
    configured: cfg.nodes.map((n) => n.id),
    // Named alone with seed addresses: it joins a running cluster (docs/consistency.md, "Membership changes").
    joining,
    now: clock.now(),
    ...(durable !== null ? { restoredStamps: durable.stamps, foldBounds: durable.foldBounds, saveFolds: (b: FoldBounds) => saveFolds(durable, b, log) } : {}),
    keyspace: durable?.keyspace ?? new Keyspace(replicaIdOf(nodeId, identity.incarnation), { clock, rng: systemRng(), maxMessageBytes: cfg.gossip.maxMessageBytes }),
    events: {
      rejected: (peer, reason, detail) => log.warn({ peer, reason, detail }, 'gossip frame rejected'),
      memberChanged: (m, prev) =>
        log.info({ member: m.id, state: MEMBER_STATE_NAMES[m.state], was: prev === undefined ? 'unknown' : MEMBER_STATE_NAMES[prev], incarnation: m.incarnation, ...(m.joining === true ? { joining: true } : {}) }, 'member changed'),
      removed: () => {
        log.error({ id: nodeId }, 'an operator removed this node from the cluster (TALLY.REMOVE): it stops, and its id can never rejoin; start it under a new id to add it back');
        departed('removed');
      },
    },
    // Persistence `always`: advertise only what is on disk (docs/consistency.md).
    ...(durable !== null && cfg.persistence === 'always' ? { durability: durable.commits } : {}),
    // Tombstone collection counts a state as ours once it is on disk (tombstone-gc.ts).
    ...(durable !== null ? { disk: durable.commits } : {}),
  });
  // Each record carries the key's local stamp, so a restart does not announce it again.
  if (durable !== null) durable.commits.stampOf = (key, id) => replica.stampOf(key, id);
  // Frames wait while a Lua script is busy (script-hold.ts); `services` exists by the time one arrives.
  const hold = new ScriptHold<{ peer: string; frame: Uint8Array }>(
    () => services !== undefined && scriptBusy(services),
    (f) => replica.receive(f.peer, f.frame, clock.now()),
  );
  transport.deliverTo(
    (peer, frame) => hold.receive({ peer, frame }),
    (peerAddress, offsetMs) => replica.noteClockNotice(peerAddress, offsetMs),
  );
  replica.keyspace.onTypeConflict((key, types) =>
    log.warn({ key: JSON.stringify(key.slice(1)), db: key.charCodeAt(0), types }, 'key created concurrently as several types: the higher type tag shows, the other states are kept'),
  );

  // Users, AUTH and its limiter, protected mode, HTTP tokens (docs/security.md).
  const { users, auth, refuses, tokens } = clientSecurity(cfg, me, log.child({ component: 'auth' }));

  const sessions = new SessionRegistry(clock, users.open);
  const ports: NodePorts = { gossip: gossipPort, resp: me.respPort, tls: me.tlsPort, http: me.httpPort };
  // Both RESP listeners' counters, as one (INFO, /status and /metrics count RESP as one protocol).
  const respStats = (): RespServerStats => sumStats([resp?.stats, respTls?.stats]);
  // maxmemory (docs/operations.md, "Memory limit"). Near the limit the node may cross it many times
  // a second (a collection frees garbage, writes add more): one log line per 10 s at most.
  const memoryLog = { at: -Infinity, crossings: 0 };
  const memoryGuard = new MemoryGuard(resolveMaxmemory(me.maxmemory ?? cfg.maxmemory), undefined, (over, used) => {
    memoryLog.crossings++;
    const now = clock.now();
    if (now - memoryLog.at < MEMORY_LOG_EVERY_MS) return;
    const fields = { usedMemory: used, maxmemory: memoryGuard.limit, crossings: memoryLog.crossings };
    memoryLog.at = now;
    memoryLog.crossings = 0;
    if (over) log.warn(fields, 'used memory is over maxmemory: commands that may add memory are refused with OOM until it is back under (merges from peers still apply)');
    else log.info(fields, 'used memory is back under maxmemory: writes are accepted again');
  });
  // Taken on demand (INFO, /status, /metrics), so only once every part below exists and is bound.
  const snapshot = (): ReturnType<typeof takeSnapshot> =>
    takeSnapshot({
      cfg, nodeId, memoryGuard, incarnation: identity.incarnation, address, startedAt, clock, replica, transport, ws, sessions, durable, auth,
      resp: { stats: respStats() },
      edgeStats: () => ({
        protectedModeRefused: respStats().connectionsRefused + guard.protectedModeRefused,
        tlsHandshakeErrors: respStats().tlsHandshakeErrors + http.tlsHandshakeErrors,
        foreignRefused: guard.foreignRefused,
      }),
      ports: () => ports,
    });
  const svc = commandServices({ cfg, nodeId, version: VERSION, clock, replica, sessions, snapshot, auth, maxmemory: memoryGuard.limit, left: () => setTimeout(() => departed('left'), 100) });
  services = svc;
  // maxmemory (docs/operations.md, "Memory limit"): sampled, and read by the commands as a flag.
  if (memoryGuard.limit > 0) svc.overMaxmemory = () => memoryGuard.check();
  onScriptIdle(svc, () => hold.release());
  // Durability `always`: client replies wait for the group commit of the writes before them.
  const beforeFlush = cfg.persistence === 'always' && durable !== null ? { beforeFlush: durable.commits.durable.bind(durable.commits) } : {};
  // Durability `everysec`: a client's commands wait while the disk is two commits behind (group-commit.ts, `behind`).
  const admit = cfg.persistence === 'everysec' && durable !== null ? { admit: durable.commits.behind.bind(durable.commits) } : {};

  // Every protocol's commands go through this wrapper of the command table: counted and timed (/metrics).
  const commandMetrics = new CommandMetrics();
  svc.commandStats = () => commandMetrics.stats();
  const handler: RespConnectionHandler<Session> = {
    open: (info) => {
      const s = sessions.open('resp', `${info.remoteAddress}:${info.remotePort}`, info.remoteAddress);
      s.push = info.push;
      return s;
    },
    received: (s) => {
      s.lastCommandAt = clock.now();
    },
    command: (s, args) => commandMetrics.execute(svc, s, args),
    commandRanges: (s, args) => commandMetrics.executeRanges(svc, s, args),
    protocol: (s) => s.resp ?? 2,
    close: (s) => {
      sessionClosed(svc, s);
      sessions.close(s);
    },
  };
  const refuse = (ip: string): string | null => (refuses(ip) ? errors.PROTECTED_MODE_DENIED : null);
  const respOptions = { host: me.bindHost, handler, maxClients: cfg.maxClients, refuse, ...beforeFlush, ...admit };
  const resp = me.respPort === null ? undefined : new RespServer<Session>({ ...respOptions, port: me.respPort, logger: log.child({ component: 'resp' }) });
  const respTls = me.tlsPort === null || serverTls === undefined ? undefined : new RespServer<Session>({ ...respOptions, port: me.tlsPort, tls: serverTls, logger: log.child({ component: 'resp-tls' }) });
  const ws = new WsClientApi({
    services: svc,
    ...beforeFlush,
    ...admit,
    newSession: (remote: string) => sessions.open('ws', remote, remote),
    closeSession: (s: Session) => {
      sessionClosed(svc, s);
      sessions.close(s);
    },
    logger: log.child({ component: 'ws' }),
    execute: commandMetrics.execute,
    maxClients: cfg.maxClients,
  });
  replica.keyspace.onChange((key) => ws.notifyChanged(key));
  if (resp !== undefined) ports.resp = await resp.listen();
  if (respTls !== undefined) ports.tls = await respTls.listen();

  const metrics = new NodeMetrics(snapshot, commandMetrics);
  if (durable !== null) durable.commits.onCommit = (ms) => metrics.observeCommit(ms / 1000);

  // /status, /metrics, /auth/token and /ws need credentials once the node has any (HTTP Basic, or a
  // token signed with a key derived from the gossip key file, so it opens every node of the cluster).
  const guard = new HttpGuard({
    auth,
    tokens,
    refuses,
    hosts: [...cfg.nodes.map((n) => n.host), me.host],
    httpPorts: [...cfg.nodes.map((n) => n.httpPort), me.httpPort],
  });
  const http = new HttpServer({
    host: me.bindHost,
    port: me.httpPort,
    ...(serverTls !== undefined && cfg.tls?.http === true ? { tls: serverTls } : {}),
    guard,
    logger: log.child({ component: 'http' }),
    routes: {
      // Ready once caught up with a peer (a new, wiped or restarted node streams the state first).
      health: () => {
        const c = replica.clockStatus(clock.now());
        const degraded = c.ok ? {} : { degraded: `clock ${Math.round(c.offsetMs)} ms off from ${c.beyond} of ${c.peers} peers (tolerated: ${c.boundMs} ms): windowed writes refused` };
        return replica.caughtUp(clock.now(), readyGraceMs(cfg)) ? { live: true, ready: true, ...degraded } : { live: true, ready: false, detail: 'catching up with peers', ...degraded };
      },
      status: snapshot,
      data: (req, res) => metrics.route(req, res),
      assets: (req, res) => dashboardRoute(req, res),
      upgrade: (req, socket, head, user) => ws.handleUpgrade(req, socket, head, user),
    },
  });
  ports.http = await http.listen();

  const loop = new TickLoop(replica, clock, log);
  loop.start();
  memoryGuard.start();
  const youngTrim = new YoungTrim();
  youngTrim.start();
  const clockWatch = watchClock(replica, clock, log);
  const scheme = serverTls !== undefined && cfg.tls?.http === true ? 'https' : 'http';
  log.info(
    { id: nodeId, incarnation: identity.incarnation, gossip: address, resp: ports.resp === null ? 'off' : `${me.host}:${ports.resp}`, ...(ports.tls === null ? {} : { tls: `${me.host}:${ports.tls}` }), http: `${scheme}://${me.host}:${ports.http}` },
    'node started',
  );

  let stopped = false;
  return {
    id: nodeId,
    incarnation: identity.incarnation,
    ports,
    replica,
    departed: departedPromise,
    reloadTls: () => {
      if (cfg.tls === null) return;
      assertPrivateFile(cfg.tls.keyFile, 'tls.keyFile', "this node's TLS private key");
      const fresh = loadServerTls(cfg.tls);
      respTls?.reloadTls(fresh);
      if (cfg.tls.http) http.reloadTls(fresh);
      serverTls = fresh;
      log.info({ certFile: cfg.tls.certFile }, 'TLS certificate, key and CA reloaded for new connections');
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      loop.stop();
      memoryGuard.stop();
      youngTrim.stop();
      clearInterval(clockWatch);
      await Promise.all([resp?.close(), respTls?.close()]);
      replica.leave();
      // Give the leave notice a moment to go out before the sockets close.
      await new Promise((done) => setTimeout(done, 150));
      await ws.close();
      await http.close();
      faults?.close();
      await transport.close();
      // Last: gossip may have merged until the transport closed. Commit what is left, then close.
      await durable?.close();
      log.info({ id: nodeId }, 'node stopped');
    },
  };
}
