// The composition root: wires config, identity, keyspace, replica, gossip transport, RESP server,
// HTTP server and the WebSocket client API into one running node. Nothing else constructs these;
// this file only wires (the parts' rules live in sessions.ts, services.ts, snapshot.ts, tick-loop.ts).

import { replicaSettings, type ClusterConfig, type NodeEntry } from '../config/cluster-config.js';
import { loadKeyring } from '../gossip/keyring-file.js';
import { withFaultControl } from '../gossip/fault-control.js';
import { WsGossipTransport } from '../gossip/ws-transport.js';
import { Keyspace } from '../keyspace/keyspace.js';
import { replicaIdOf } from '../crdt/replica-id.js';
import { bumpIncarnation } from '../persistence/identity.js';
import { openDurableState, type DurableState } from '../persistence/recovery.js';
import { replicaConfig } from '../replication/config.js';
import { MEMBER_STATE_NAMES, maxFrameBytes } from '../replication/messages.js';
import { Replica } from '../replication/replica.js';
import type { Session } from '../server/commands/types.js';
import { onScriptIdle, scriptBusy, sessionClosed } from '../server/commands/state.js';
import { ScriptHold } from './script-hold.js';
import { dashboardRoute } from '../server/dashboard/routes.js';
import { HttpServer } from '../server/http-server.js';
import { CommandMetrics, NodeMetrics } from '../server/metrics.js';
import { RespServer } from '../server/resp/server.js';
import { WsClientApi } from '../server/ws/server.js';
import type { Logger } from '../util/logger.js';
import { systemClock, systemRng } from '../util/system.js';
import { commandServices } from './services.js';
import { SessionRegistry } from './sessions.js';
import { takeSnapshot, VERSION } from './snapshot.js';
import { watchClock } from './clock-watch.js';
import { TickLoop } from './tick-loop.js';

export { VERSION };

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

/** How long a node that hears from no peer waits before it calls itself ready (a lone or first node). */
function readyGraceMs(cfg: ClusterConfig): number {
  return Math.max(1000, 5 * cfg.gossip.intervalMs);
}

export async function startNode(cfg: ClusterConfig, nodeId: string, log: Logger, overrides: NodeOverrides = {}): Promise<RunningNode> {
  const entry = cfg.nodes.find((n) => n.id === nodeId);
  if (entry === undefined) throw new Error(`--id: no node '${nodeId}' in the config (nodes: ${cfg.nodes.map((n) => n.id).join(', ')})`);
  const me: NodeEntry = { ...entry, ...overrides };
  const clock = systemClock;
  const keyring = loadKeyring(cfg);
  if (keyring === null) log.warn('auth.keyFile is null: gossip frames are neither authenticated nor encrypted');
  // Durable state first: a corrupt or foreign store stops the node before it binds a port.
  const durable: DurableState | null = cfg.persistence === 'none' ? null : openDurableState(cfg, nodeId, cfg.persistence, log.child({ component: 'persistence' }), clock);
  const identity = durable?.identity ?? bumpIncarnation(cfg.dataDir, nodeId, cfg.cluster, { now: clock.now() });
  const startedAt = clock.now();

  // The gossip port is bound first: the replica advertises the address it was bound at (a configured
  // 0 is an ephemeral port). Frames are handed to the replica once it exists (`deliverTo`, below).
  let services: ReturnType<typeof commandServices> | undefined;
  const transport = new WsGossipTransport({
    host: me.host,
    port: me.gossipPort,
    keyring,
    maxFrameBytes: maxFrameBytes(cfg.gossip.maxMessageBytes),
    onReject: (peer, reason, detail) => log.warn({ peer, reason, detail }, 'gossip frame rejected'),
    clock: () => clock.now(),
    logger: log.child({ component: 'gossip' }),
  });
  const gossipPort = await transport.listen();
  // Test-only link cutting for `tally verify`; the transport itself unless TALLY_FAULT_CONTROL is set.
  const faults = withFaultControl(transport, nodeId, me.host, log.child({ component: 'fault-control' }));
  const address = `${me.host}:${gossipPort}`;
  const addressOf = (n: NodeEntry): string => `${n.host}:${n.gossipPort}`;
  const others = cfg.nodes.filter((n) => n.id !== nodeId);

  const replica = new Replica({
    config: replicaConfig(replicaSettings(cfg.cluster, cfg.gossip)),
    identity: { nodeId, incarnation: identity.incarnation, address },
    rng: systemRng(),
    transport: faults.transport,
    seeds: others.filter((n) => cfg.seeds.includes(n.id)).map(addressOf),
    peers: others.map(addressOf),
    configuredSize: cfg.nodes.length,
    now: clock.now(),
    keyspace: durable?.keyspace ?? new Keyspace(replicaIdOf(nodeId, identity.incarnation)),
    events: {
      rejected: (peer, reason, detail) => log.warn({ peer, reason, detail }, 'gossip frame rejected'),
      memberChanged: (m, prev) =>
        log.info({ member: m.id, state: MEMBER_STATE_NAMES[m.state], was: prev === undefined ? 'unknown' : MEMBER_STATE_NAMES[prev], incarnation: m.incarnation }, 'member changed'),
    },
    // Persistence `always`: advertise only what is on disk (docs/consistency.md).
    ...(durable !== null && cfg.persistence === 'always' ? { durability: durable.commits } : {}),
  });
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

  const sessions = new SessionRegistry(clock, cfg.auth.password === null);
  const ports = { gossip: gossipPort, resp: me.respPort, http: me.httpPort };
  // Taken on demand (INFO, /status, /metrics), so only once every part below exists and is bound.
  const snapshot = (): ReturnType<typeof takeSnapshot> =>
    takeSnapshot({ cfg, nodeId, incarnation: identity.incarnation, address, startedAt, clock, replica, transport, resp, ws, sessions, durable, ports: () => ports });
  services = commandServices({ cfg, nodeId, version: VERSION, clock, replica, sessions, snapshot });
  onScriptIdle(services, () => hold.release());
  // Durability `always`: client replies wait for the group commit of the writes before them.
  const beforeFlush = cfg.persistence === 'always' && durable !== null ? { beforeFlush: durable.commits.durable.bind(durable.commits) } : {};

  // Every protocol's commands go through this wrapper of the command table: counted and timed (/metrics).
  const commandMetrics = new CommandMetrics();
  services.commandStats = () => commandMetrics.stats();
  const resp = new RespServer<Session>({
    host: me.host,
    port: me.respPort,
    handler: {
      open: (info) => {
        const s = sessions.open('resp', `${info.remoteAddress}:${info.remotePort}`);
        s.push = info.push;
        return s;
      },
      command: (s, args) => {
        s.lastCommandAt = clock.now();
        return commandMetrics.execute(services, s, args);
      },
      protocol: (s) => s.resp ?? 2,
      close: (s) => {
        sessionClosed(services, s);
        sessions.close(s);
      },
    },
    maxClients: cfg.maxClients,
    logger: log.child({ component: 'resp' }),
    ...beforeFlush,
  });
  const ws = new WsClientApi({
    services,
    ...beforeFlush,
    newSession: (remote: string) => sessions.open('ws', remote),
    closeSession: (s: Session) => {
      sessionClosed(services, s);
      sessions.close(s);
    },
    logger: log.child({ component: 'ws' }),
    execute: commandMetrics.execute,
    maxClients: cfg.maxClients,
  });
  replica.keyspace.onChange((key) => ws.notifyChanged(key));
  ports.resp = await resp.listen();

  const metrics = new NodeMetrics(snapshot, commandMetrics);
  if (durable !== null) durable.commits.onCommit = (ms) => metrics.observeCommit(ms / 1000);

  const http = new HttpServer(me.host, me.httpPort, {
    // Ready once caught up with a peer (a new, wiped or restarted node streams the state first).
    health: () => {
      const c = replica.clockStatus(clock.now());
      const degraded = c.ok ? {} : { degraded: `clock ${Math.round(c.offsetMs)} ms off from ${c.beyond} of ${c.peers} peers (tolerated: ${c.boundMs} ms): windowed writes refused` };
      return replica.caughtUp(clock.now(), readyGraceMs(cfg)) ? { live: true, ready: true, ...degraded } : { live: true, ready: false, detail: 'catching up with peers', ...degraded };
    },
    status: snapshot,
    extra: (req, res) => metrics.route(req, res) || dashboardRoute(req, res),
    upgrade: (req, socket, head) => ws.handleUpgrade(req, socket, head),
  });
  ports.http = await http.listen();

  const loop = new TickLoop(replica, clock, log);
  loop.start();
  const clockWatch = watchClock(replica, clock, log);
  log.info({ id: nodeId, incarnation: identity.incarnation, gossip: address, resp: `${me.host}:${ports.resp}`, http: `http://${me.host}:${ports.http}` }, 'node started');

  let stopped = false;
  return {
    id: nodeId,
    incarnation: identity.incarnation,
    ports,
    replica,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      loop.stop();
      clearInterval(clockWatch);
      await resp.close();
      replica.leave();
      // Give the leave notice a moment to go out before the sockets close.
      await new Promise((done) => setTimeout(done, 150));
      await ws.close();
      await http.close();
      faults.close();
      await transport.close();
      // Last: gossip may have merged until the transport closed. Commit what is left, then close.
      await durable?.close();
      log.info({ id: nodeId }, 'node stopped');
    },
  };
}
