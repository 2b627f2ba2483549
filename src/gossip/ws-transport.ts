// The real gossip edge: carries the replica's opaque frames between node processes over WebSockets,
// sealed with the cluster keyring (frame-auth.ts). Owns every socket and timer; never throws from the
// network. docs/gossip-transport.md describes the wire, the limits, reconnects and the counters.

import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Transport } from '../replication/transport.js';
import { NOOP_LOGGER, type Logger } from '../util/logger.js';
import { FRAME_OVERHEAD, FrameOpener, FrameSealer, type AuthRejectReason, type Keyring } from './frame-auth.js';
import { STARTUP_QUIET_MS, unreachableLevel } from './unreachable-log.js';

/** The HTTP path of the gossip endpoint; any other path gets 404 on upgrade. */
export const GOSSIP_PATH = '/gossip';

export interface WsGossipTransportOptions {
  /** Interface to bind, e.g. `127.0.0.1`. */
  host: string;
  /** Port to bind; 0 picks an ephemeral port (returned by `listen()`). */
  port: number;
  /**
   * The cluster keyring. `null` turns authentication OFF: frames travel as is, readable and forgeable
   * by anyone who can reach the port. Only for tests and closed loopback setups.
   */
  keyring: Keyring | null;
  /** Largest replica frame (payload) in bytes, both ways. Larger inbound messages close the connection (1009). */
  maxFrameBytes: number;
  /**
   * Called with each authenticated payload; bind it to `replica.receive`. Its throws are caught and
   * logged. Or set it after `listen()` with `deliverTo` (the node binds the port before it builds the
   * replica that advertises it); until one is set, received frames are dropped.
   */
  onFrame?(peer: string, frame: Uint8Array): void;
  /** Called for each refused inbound message (the frame is dropped). For logs and metrics. */
  onReject(peer: string, reason: string, detail: string): void;
  /**
   * Called when a peer at `address` refused one of our frames as stale and told us its clock
   * (frame-auth.ts, ClockNotice): `offsetMs` is its clock minus ours, give or take the latency.
   */
  onClockNotice?(address: string, offsetMs: number): void;
  /** Wall-clock milliseconds, for frame timestamps, replay windows and queue ages. */
  clock: () => number;
  logger?: Logger;
  /** Uniform [0, 1) for backoff jitter. Default Math.random (this is the edge). */
  random?: () => number;
  /** Frames queued per peer while it connects; past it the oldest is dropped. Default 1,024. */
  maxQueuedFrames?: number;
  /** Bytes queued per peer while it connects; past it the oldest is dropped. Default 8 MiB. */
  maxQueuedBytes?: number;
  /** A queued frame older than this (ms) is dropped rather than sent: gossip state moves on. Default 5,000. */
  maxQueueAgeMs?: number;
  /** Past this many bytes in a socket's send buffer, new frames to that peer are dropped. Default 8 MiB. */
  maxBufferedBytes?: number;
  /** First reconnect delay (ms), doubled per failed attempt. Default 100. */
  backoffMinMs?: number;
  /** Largest reconnect delay (ms) before jitter. Default 5,000. */
  backoffMaxMs?: number;
  /** Jitter: the delay is scaled by a uniform factor in [1 - j, 1 + j]. Default 0.5. */
  backoffJitter?: number;
  /** Connect + handshake deadline for outbound connections (ms). Default 5,000. */
  connectTimeoutMs?: number;
  /** Refused frames after which an inbound connection is closed with 1008. Default 20. */
  maxRejectsPerConnection?: number;
  /** Most inbound connections at once; more get HTTP 503 on upgrade. Default 1,024. */
  maxInboundConnections?: number;
  /** Outbound sockets are pinged this often (ms); one unanswered ping terminates the socket. Default 15,000. */
  heartbeatMs?: number;
  /** Replay window for the frame opener (ms). Default 60,000. */
  replayWindowMs?: number;
  /**
   * For this long after construction (ms), a peer never reached yet is logged as unreachable at info,
   * not warn: the nodes of a cluster start one after another (unreachable-log.ts). Default 30,000.
   */
  startupQuietMs?: number;
}

export const GOSSIP_TRANSPORT_DEFAULTS = Object.freeze({
  maxQueuedFrames: 1_024,
  maxQueuedBytes: 8 * 1024 * 1024,
  maxQueueAgeMs: 5_000,
  maxBufferedBytes: 8 * 1024 * 1024,
  backoffMinMs: 100,
  backoffMaxMs: 5_000,
  backoffJitter: 0.5,
  connectTimeoutMs: 5_000,
  maxRejectsPerConnection: 20,
  maxInboundConnections: 1_024,
  heartbeatMs: 15_000,
  replayWindowMs: 60_000,
  startupQuietMs: STARTUP_QUIET_MS,
});

/** Why an inbound message was refused: the frame-auth codes (text frames count as 'format'). */
export type GossipRejectReason = AuthRejectReason;
/** Why an outbound frame was dropped before reaching the wire. */
export type GossipDropReason = 'queue-full' | 'expired' | 'backpressure' | 'oversize' | 'bad-address' | 'closed';

export interface GossipTransportStats {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  rejected: Record<GossipRejectReason, number>;
  dropped: Record<GossipDropReason, number>;
  connectionsOpen: { inbound: number; outbound: number };
  /** Outbound connection attempts made after a failure or a close (not first connects). */
  reconnects: number;
  /** Clock notices sent (we refused a peer's frame as stale) and received (a peer refused ours). */
  clockNotices: { sent: number; received: number };
}

/** Least time between two clock notices on one inbound connection (ms). */
const NOTICE_INTERVAL_MS = 10_000;

interface Queued {
  frame: Uint8Array;
  at: number;
}

/** One peer address: at most one socket, a bounded queue, and backoff state. */
interface Peer {
  address: string;
  ws: WebSocket | null;
  open: boolean;
  queue: Queued[];
  queuedBytes: number;
  /** Consecutive failed attempts since the last successful open. */
  failures: number;
  /** Whether any attempt was ever made (so later ones count as reconnects). */
  attempted: boolean;
  /** Earliest time (transport clock) of the next attempt. */
  notBefore: number;
  timer: NodeJS.Timeout | null;
  /** Set when a ping is out and not yet answered. */
  awaitingPong: boolean;
  /** Warned that this peer is unreachable since the last open (logged once per outage). */
  warnedDown: boolean;
  /** Logged at info that this peer is not reachable yet (start-up window, before the first open). */
  notedDown: boolean;
  /** Whether a connection to it ever opened. */
  everOpened: boolean;
}

/** Outbound sockets never expect data from the server; anything past this closes them. */
const OUTBOUND_MAX_PAYLOAD = 1024;

function checkNum(field: string, v: number, min: number): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min) throw new RangeError(`WsGossipTransport: ${field} must be a number >= ${min}, got ${String(v)}`);
  return v;
}

function zeroRejected(): Record<GossipRejectReason, number> {
  return { format: 0, 'unknown-key': 0, auth: 0, stale: 0, replay: 0, oversize: 0 };
}
function zeroDropped(): Record<GossipDropReason, number> {
  return { 'queue-full': 0, expired: 0, backpressure: 0, oversize: 0, 'bad-address': 0, closed: 0 };
}

function toBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export class WsGossipTransport implements Transport {
  /** Where authenticated payloads go (see `onFrame` in the options, and `deliverTo`). */
  private onFrame: ((peer: string, frame: Uint8Array) => void) | undefined;
  private onClockNotice: ((address: string, offsetMs: number) => void) | undefined;
  private readonly o: Required<Omit<WsGossipTransportOptions, 'keyring' | 'logger' | 'onFrame' | 'onClockNotice'>>;
  private readonly log: Logger;
  private readonly sealer: FrameSealer | null;
  private readonly opener: FrameOpener | null;
  private readonly overhead: number;
  private readonly peers = new Map<string, Peer>();
  private readonly inbound = new Set<WebSocket>();
  private httpServer: http.Server | null = null;
  private wss: WebSocketServer | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;
  /** Transport clock at construction: the start of the start-up window (`startupQuietMs`). */
  private readonly startedAt: number;
  private readonly counters = {
    framesIn: 0,
    bytesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    rejected: zeroRejected(),
    dropped: zeroDropped(),
    reconnects: 0,
    clockNoticesSent: 0,
    clockNoticesReceived: 0,
  };

  constructor(opts: WsGossipTransportOptions) {
    const d = GOSSIP_TRANSPORT_DEFAULTS;
    if (typeof opts.host !== 'string' || opts.host.length === 0) throw new Error('WsGossipTransport: host is required');
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new RangeError(`WsGossipTransport: port must be 0..65535, got ${opts.port}`);
    if (!Number.isSafeInteger(opts.maxFrameBytes) || opts.maxFrameBytes < 1) {
      throw new RangeError(`WsGossipTransport: maxFrameBytes must be a positive integer, got ${opts.maxFrameBytes}`);
    }
    this.o = {
      host: opts.host,
      port: opts.port,
      maxFrameBytes: opts.maxFrameBytes,
      onReject: opts.onReject,
      clock: opts.clock,
      random: opts.random ?? Math.random,
      maxQueuedFrames: checkNum('maxQueuedFrames', opts.maxQueuedFrames ?? d.maxQueuedFrames, 1),
      maxQueuedBytes: checkNum('maxQueuedBytes', opts.maxQueuedBytes ?? d.maxQueuedBytes, 1),
      maxQueueAgeMs: checkNum('maxQueueAgeMs', opts.maxQueueAgeMs ?? d.maxQueueAgeMs, 0),
      maxBufferedBytes: checkNum('maxBufferedBytes', opts.maxBufferedBytes ?? d.maxBufferedBytes, 0),
      backoffMinMs: checkNum('backoffMinMs', opts.backoffMinMs ?? d.backoffMinMs, 1),
      backoffMaxMs: checkNum('backoffMaxMs', opts.backoffMaxMs ?? d.backoffMaxMs, 1),
      backoffJitter: checkNum('backoffJitter', opts.backoffJitter ?? d.backoffJitter, 0),
      connectTimeoutMs: checkNum('connectTimeoutMs', opts.connectTimeoutMs ?? d.connectTimeoutMs, 1),
      maxRejectsPerConnection: checkNum('maxRejectsPerConnection', opts.maxRejectsPerConnection ?? d.maxRejectsPerConnection, 1),
      maxInboundConnections: checkNum('maxInboundConnections', opts.maxInboundConnections ?? d.maxInboundConnections, 1),
      heartbeatMs: checkNum('heartbeatMs', opts.heartbeatMs ?? d.heartbeatMs, 1),
      replayWindowMs: checkNum('replayWindowMs', opts.replayWindowMs ?? d.replayWindowMs, 1),
      startupQuietMs: checkNum('startupQuietMs', opts.startupQuietMs ?? d.startupQuietMs, 0),
    };
    this.startedAt = opts.clock();
    if (this.o.backoffJitter >= 1) throw new RangeError('WsGossipTransport: backoffJitter must be < 1');
    this.log = opts.logger ?? NOOP_LOGGER;
    if (opts.onFrame !== undefined) this.onFrame = opts.onFrame.bind(opts);
    if (opts.onClockNotice !== undefined) this.onClockNotice = opts.onClockNotice.bind(opts);
    if (opts.keyring !== null) {
      this.sealer = new FrameSealer(opts.keyring);
      this.opener = new FrameOpener(opts.keyring, { replayWindowMs: this.o.replayWindowMs, maxPayloadBytes: this.o.maxFrameBytes });
      this.overhead = FRAME_OVERHEAD;
    } else {
      this.sealer = null;
      this.opener = null;
      this.overhead = 0;
    }
  }

  /**
   * Swaps the keyring at run time (one step of a key rotation, docs/gossip-transport.md). Existing
   * connections carry on; the next frame is sealed with the new `keys[0]`. Throws if the transport
   * was built without a keyring (authentication cannot be switched on live).
   */
  setKeyring(keyring: Keyring): void {
    if (this.sealer === null || this.opener === null) throw new Error('WsGossipTransport: cannot set a keyring on a transport built with keyring null');
    this.sealer.setKeyring(keyring);
    this.opener.setKeyring(keyring);
    this.log.info({ keyIds: keyring.keyIds }, 'gossip keyring changed');
  }

  /** Where authenticated payloads (and clock notices) go from now on; replaces the handlers given at construction. */
  deliverTo(handler: (peer: string, frame: Uint8Array) => void, clockNotice?: (address: string, offsetMs: number) => void): void {
    this.onFrame = handler;
    if (clockNotice !== undefined) this.onClockNotice = clockNotice;
  }

  /** Starts listening on host:port; resolves with the bound port. */
  listen(): Promise<number> {
    if (this.closed) return Promise.reject(new Error('WsGossipTransport: closed'));
    if (this.httpServer !== null) return Promise.reject(new Error('WsGossipTransport: already listening'));
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.o.maxFrameBytes + this.overhead,
      perMessageDeflate: false,
      clientTracking: false,
    });
    wss.on('error', (e) => this.log.warn({ err: e.message }, 'gossip websocket server error'));
    const server = http.createServer((_req, res) => {
      // Plain HTTP has nothing to offer here.
      res.writeHead(404, { 'content-type': 'text/plain', connection: 'close' }).end('not found\n');
    });
    server.on('upgrade', (req, socket, head) => this.handleUpgrade(wss, req, socket, head));
    server.on('clientError', (_e, socket) => socket.destroy());
    this.wss = wss;
    this.httpServer = server;
    this.ensureHeartbeat();
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void =>
        reject(new Error(`cannot listen for gossip on ${this.o.host}:${this.o.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e }));
      server.once('error', onError);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', onError);
        server.on('error', (e) => this.log.warn({ err: e.message }, 'gossip http server error'));
        const addr = server.address();
        const port = typeof addr === 'object' && addr !== null ? addr.port : this.o.port;
        this.log.info({ host: this.o.host, port, auth: this.sealer !== null }, 'gossip transport listening');
        resolve(port);
      });
    });
  }

  /** Sends one frame to `address` (`host:port`). Best effort; never throws. */
  send(address: string, frame: Uint8Array): void {
    try {
      this.sendUnchecked(address, frame);
    } catch (e) {
      this.counters.dropped['bad-address'] += 1;
      this.log.warn({ peer: address, err: (e as Error).message }, 'gossip send failed');
    }
  }

  stats(): GossipTransportStats {
    let outbound = 0;
    for (const p of this.peers.values()) if (p.open) outbound += 1;
    const c = this.counters;
    return {
      framesIn: c.framesIn,
      bytesIn: c.bytesIn,
      framesOut: c.framesOut,
      bytesOut: c.bytesOut,
      rejected: { ...c.rejected },
      dropped: { ...c.dropped },
      connectionsOpen: { inbound: this.inbound.size, outbound },
      reconnects: c.reconnects,
      clockNotices: { sent: c.clockNoticesSent, received: c.clockNoticesReceived },
    };
  }

  /** Closes the server and every socket, and clears every timer. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const p of this.peers.values()) {
      if (p.timer !== null) clearTimeout(p.timer);
      p.timer = null;
      this.counters.dropped.closed += p.queue.length;
      p.queue = [];
      p.queuedBytes = 0;
      if (p.ws !== null) p.ws.terminate();
      p.ws = null;
      p.open = false;
    }
    this.peers.clear();
    for (const ws of this.inbound) ws.terminate();
    this.inbound.clear();
    const server = this.httpServer;
    this.httpServer = null;
    this.wss?.close();
    this.wss = null;
    if (server !== null) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  // ---- outbound ----

  private sendUnchecked(address: string, frame: Uint8Array): void {
    if (this.closed) {
      this.counters.dropped.closed += 1;
      return;
    }
    if (frame.length > this.o.maxFrameBytes) {
      // The peer would close the connection for it (1009) and take every other frame down with it.
      this.counters.dropped.oversize += 1;
      this.log.warn({ peer: address, bytes: frame.length, limit: this.o.maxFrameBytes }, 'gossip frame over the size limit dropped');
      return;
    }
    let p = this.peers.get(address);
    if (p === undefined) {
      p = {
        address,
        ws: null,
        open: false,
        queue: [],
        queuedBytes: 0,
        failures: 0,
        attempted: false,
        notBefore: 0,
        timer: null,
        awaitingPong: false,
        warnedDown: false,
        notedDown: false,
        everOpened: false,
      };
      this.peers.set(address, p);
    }
    if (p.open && p.ws !== null && p.ws.readyState === WebSocket.OPEN) {
      this.write(p, p.ws, frame);
      return;
    }
    // Connecting, closing (the close event will schedule a reconnect) or backing off: queue it.
    this.enqueue(p, frame);
    if (p.ws === null && p.timer === null) {
      const wait = p.notBefore - this.o.clock();
      if (wait <= 0) this.connect(p);
      else this.schedule(p, wait);
    }
  }

  private enqueue(p: Peer, frame: Uint8Array): void {
    // The caller may reuse its buffer once send() returns: keep a copy.
    p.queue.push({ frame: Uint8Array.prototype.slice.call(frame), at: this.o.clock() });
    p.queuedBytes += frame.length;
    while (p.queue.length > this.o.maxQueuedFrames || p.queuedBytes > this.o.maxQueuedBytes) {
      const old = p.queue.shift();
      if (old === undefined) break;
      p.queuedBytes -= old.frame.length;
      this.counters.dropped['queue-full'] += 1;
    }
  }

  /** Drops queued frames older than maxQueueAgeMs: a peer that stays down does not pile up stale gossip. */
  private expire(p: Peer): void {
    const cutoff = this.o.clock() - this.o.maxQueueAgeMs;
    while (p.queue.length > 0 && p.queue[0]!.at < cutoff) {
      const old = p.queue.shift()!;
      p.queuedBytes -= old.frame.length;
      this.counters.dropped.expired += 1;
    }
  }

  private write(p: Peer, ws: WebSocket, frame: Uint8Array): void {
    if (ws.bufferedAmount > this.o.maxBufferedBytes) {
      this.counters.dropped.backpressure += 1;
      return;
    }
    const wire = this.sealer !== null ? this.sealer.seal(frame, this.o.clock()) : frame;
    this.counters.framesOut += 1;
    this.counters.bytesOut += wire.length;
    ws.send(wire, { binary: true }, (e) => {
      if (e !== undefined && e !== null) this.log.debug({ peer: p.address, err: e.message }, 'gossip write failed');
    });
  }

  private schedule(p: Peer, delayMs: number): void {
    if (p.timer !== null || this.closed) return;
    p.timer = setTimeout(() => {
      p.timer = null;
      if (this.closed || p.ws !== null) return;
      this.expire(p);
      // Only while there is something to send: an idle dead peer is left alone until the next send().
      if (p.queue.length > 0) this.connect(p);
    }, Math.max(0, delayMs));
    p.timer.unref();
  }

  private backoffDelay(failures: number): number {
    const base = Math.min(this.o.backoffMaxMs, this.o.backoffMinMs * 2 ** Math.min(failures - 1, 30));
    const j = this.o.backoffJitter;
    return base * (1 - j + 2 * j * this.o.random());
  }

  private ensureHeartbeat(): void {
    if (this.heartbeat !== null || this.closed) return;
    this.heartbeat = setInterval(() => this.beat(), this.o.heartbeatMs);
    this.heartbeat.unref();
  }

  private connect(p: Peer): void {
    this.ensureHeartbeat();
    if (p.attempted) this.counters.reconnects += 1;
    p.attempted = true;
    let ws: WebSocket;
    try {
      ws = new WebSocket(`ws://${p.address}${GOSSIP_PATH}`, {
        perMessageDeflate: false,
        handshakeTimeout: this.o.connectTimeoutMs,
        maxPayload: OUTBOUND_MAX_PAYLOAD,
      });
    } catch (e) {
      // A malformed address: nothing will ever reach it.
      this.counters.dropped['bad-address'] += p.queue.length;
      p.queue = [];
      p.queuedBytes = 0;
      this.peers.delete(p.address);
      this.log.warn({ peer: p.address, err: (e as Error).message }, 'gossip peer address is invalid');
      return;
    }
    p.ws = ws;
    p.awaitingPong = false;
    ws.on('open', () => {
      if (p.ws !== ws) return;
      p.open = true;
      if (p.failures > 0 || p.warnedDown) this.log.info({ peer: p.address, failures: p.failures }, 'gossip peer reachable again');
      else this.log.debug({ peer: p.address }, 'gossip connection open');
      p.failures = 0;
      p.warnedDown = false;
      p.notedDown = false;
      p.everOpened = true;
      p.notBefore = 0;
      this.expire(p);
      const queued = p.queue;
      p.queue = [];
      p.queuedBytes = 0;
      for (const q of queued) this.write(p, ws, q.frame);
    });
    ws.on('pong', () => {
      p.awaitingPong = false;
    });
    // The server sends nothing on a gossip connection but clock notices: a peer that refused one of
    // our frames as stale tells us its clock (frame-auth.ts). Anything else is ignored.
    ws.on('message', (data: RawData) => this.onNotice(p.address, toBytes(data)));
    ws.on('error', (e) => {
      this.log.debug({ peer: p.address, err: e.message }, 'gossip connection error');
    });
    ws.on('close', (code) => this.onOutboundClose(p, ws, code));
  }

  private onNotice(address: string, bytes: Uint8Array): void {
    if (this.opener === null) return;
    const r = this.opener.openNotice(bytes, this.o.clock());
    if (!r.ok) return;
    this.counters.clockNoticesReceived += 1;
    const offsetMs = r.value.peerNow - r.value.echoedTs;
    this.log.debug({ peer: address, offsetMs }, 'gossip peer refused our frame as stale: clock notice');
    try {
      this.onClockNotice?.(address, offsetMs);
    } catch (e) {
      this.log.warn({ peer: address, err: (e as Error).message }, 'gossip onClockNotice handler threw');
    }
  }

  private onOutboundClose(p: Peer, ws: WebSocket, code: number): void {
    if (p.ws !== ws) return;
    const wasOpen = p.open;
    p.ws = null;
    p.open = false;
    if (this.closed) return;
    if (wasOpen) {
      // It worked until now: retry soon (first backoff step) if there is anything to say.
      p.failures = 0;
      this.log.debug({ peer: p.address, code }, 'gossip connection closed');
    } else {
      p.failures += 1;
      if (!p.warnedDown) {
        if (unreachableLevel(p.everOpened, this.o.clock() - this.startedAt, this.o.startupQuietMs) === 'warn') {
          p.warnedDown = true;
          this.log.warn({ peer: p.address, code }, 'gossip peer unreachable; retrying with backoff');
        } else if (!p.notedDown) {
          p.notedDown = true;
          this.log.info({ peer: p.address, code }, 'gossip peer not reachable yet (it may still be starting); retrying with backoff');
        }
      }
    }
    const delay = this.backoffDelay(Math.max(1, p.failures));
    p.notBefore = this.o.clock() + delay;
    this.expire(p);
    if (p.queue.length > 0) this.schedule(p, delay);
  }

  /** Pings every open outbound socket; one that did not answer the previous ping is terminated. */
  private beat(): void {
    for (const p of this.peers.values()) {
      const ws = p.ws;
      if (ws === null || !p.open) continue;
      if (p.awaitingPong) {
        this.log.warn({ peer: p.address }, 'gossip peer did not answer ping; dropping connection');
        ws.terminate();
        continue;
      }
      p.awaitingPong = true;
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }
  }

  // ---- inbound ----

  private handleUpgrade(wss: WebSocketServer, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (this.closed || path !== GOSSIP_PATH) return refuse(socket, 404, 'Not Found');
    if (this.inbound.size >= this.o.maxInboundConnections) return refuse(socket, 503, 'Service Unavailable');
    const label = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
    try {
      wss.handleUpgrade(req, socket, head, (ws) => this.onInbound(ws, label));
    } catch (e) {
      this.log.warn({ peer: label, err: (e as Error).message }, 'gossip upgrade failed');
      socket.destroy();
    }
  }

  private onInbound(ws: WebSocket, peer: string): void {
    if (this.closed) {
      ws.terminate();
      return;
    }
    this.inbound.add(ws);
    this.log.debug({ peer }, 'gossip peer connected');
    let rejects = 0;
    let noticeAt = -Infinity;
    const reject = (reason: GossipRejectReason, detail: string, ts?: number): void => {
      // A frame refused as stale is authentic: tell its sender our clock, at most every 10 s.
      const now = this.o.clock();
      if (reason === 'stale' && ts !== undefined && this.sealer !== null && now - noticeAt >= NOTICE_INTERVAL_MS && ws.readyState === WebSocket.OPEN) {
        noticeAt = now;
        this.counters.clockNoticesSent += 1;
        ws.send(this.sealer.sealNotice(ts, now));
      }
      this.counters.rejected[reason] += 1;
      rejects += 1;
      this.log.debug({ peer, reason, detail }, 'gossip frame rejected');
      try {
        this.o.onReject(peer, reason, detail);
      } catch (e) {
        this.log.warn({ peer, err: (e as Error).message }, 'gossip onReject handler threw');
      }
      if (rejects === this.o.maxRejectsPerConnection) {
        this.log.warn({ peer, rejects }, 'gossip connection closed: too many rejected frames');
        ws.close(1008, 'too many rejected frames');
      }
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (rejects >= this.o.maxRejectsPerConnection) return; // closing: ignore the rest
      const bytes = toBytes(data);
      this.counters.bytesIn += bytes.length;
      if (!isBinary) return reject('format', `text message of ${bytes.length} bytes`);
      let payload: Uint8Array = bytes;
      if (this.opener !== null) {
        const r = this.opener.open(bytes, this.o.clock());
        if (!r.ok) return reject(r.error.reason, r.error.detail, r.error.ts);
        payload = r.value;
      } else if (bytes.length > this.o.maxFrameBytes) {
        return reject('oversize', `${bytes.length} bytes > limit ${this.o.maxFrameBytes}`);
      }
      this.counters.framesIn += 1;
      try {
        this.onFrame?.(peer, payload);
      } catch (e) {
        this.log.warn({ peer, err: (e as Error).message }, 'gossip onFrame handler threw');
      }
    });
    ws.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        // ws closes the connection with 1009 itself; count it like any refused frame.
        reject('oversize', `message over ${this.o.maxFrameBytes + this.overhead} bytes; connection closed (1009)`);
        this.log.warn({ peer }, 'gossip connection closed: oversize message');
      } else {
        this.log.debug({ peer, err: e.message, code: e.code }, 'gossip inbound connection error');
      }
    });
    ws.on('close', (code) => {
      this.inbound.delete(ws);
      this.log.debug({ peer, code }, 'gossip peer disconnected');
    });
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  try {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  } catch {
    socket.destroy();
  }
}
