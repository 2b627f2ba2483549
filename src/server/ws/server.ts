// The WebSocket client API (path /ws on the node's HTTP port): connections, msgpack request/response
// frames over the shared command table, and live key watches (watches.ts). Frames: codec.ts.
// The protocol is specified in docs/client-api.md; keep the two in step.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import * as errors from '../../errors.js';
import { execute } from '../commands/table.js';
import type { Reply } from '../commands/reply.js';
import type { CommandResult, CommandServices, Session } from '../commands/types.js';
import { NOOP_LOGGER, type Logger } from '../../util/logger.js';
import { ReplyGate } from '../reply-gate.js';
import { decodeFrame, encodeFrame, replyValue, type Decoded, type Request } from './codec.js';
import { PERM_ALL, PERM_READ } from '../auth/permissions.js';
import { WS_SUBPROTOCOL } from '../http-guard.js';
import { ConnectionWatches, WatchIndex, type WatchLimits, type WatchOwner } from './watches.js';

export interface WsClientApiOptions {
  readonly services: CommandServices;
  /** Creates the session of a new connection (the node assigns ids; protocol 'ws'; authenticated iff no password). */
  newSession(remoteAddress: string): Session;
  /** Called once when a connection is gone. */
  closeSession?(s: Session): void;
  /** Largest frame accepted, in bytes; a bigger one closes the connection with 1009. Default 1 MiB. */
  readonly maxPayloadBytes?: number;
  /** Least time between two value pushes for one (client, key), in ms; the last change is always sent. Default 100. */
  readonly watchThrottleMs?: number;
  /** Most keys one connection may watch at once. Default 1000: each watch costs a map entry and a timer. */
  readonly maxWatchesPerClient?: number;
  /**
   * Unsent bytes on a connection past which watch pushes are skipped (and retried a throttle window
   * later, so the latest value still arrives once the client reads). Replies are always sent. Default 4 MiB.
   */
  readonly softBufferedBytes?: number;
  /** Unsent bytes past which the connection is terminated: a client that never reads. Default 32 MiB. */
  readonly hardBufferedBytes?: number;
  /**
   * Most simultaneous WebSocket API connections. One more completes its upgrade and is closed at once
   * with code 1013 (try again later) and the reason `ERR max number of clients reached`, Redis's words,
   * so a client sees why. Default 10,000; the node passes its `maxClients` (RESP has its own limit).
   */
  readonly maxClients?: number;
  readonly logger?: Logger;
  /** The command table's execute, or a wrapper of it (the node passes its metrics-counting one). Default: `execute`. */
  readonly execute?: (ctx: CommandServices, s: Session, args: readonly Buffer[]) => CommandResult;
  /**
   * Called before a command's reply is sent; a returned promise holds it (and every frame after it on
   * that connection, in order) until it resolves; a rejection closes the connection unanswered. The
   * node passes durability `always`'s group-commit wait, as the RESP server's `beforeFlush`. Default: none.
   */
  readonly beforeFlush?: () => Promise<void> | undefined;
  /**
   * Called before a request runs. A returned promise stops the connection until it settles: reading
   * pauses and what was already read waits, in order. The node passes durability `everysec`'s wait
   * while the disk is two commits behind, as the RESP server's `admit`. Default: none.
   */
  readonly admit?: () => Promise<void> | undefined;
}

/** The user an upgrade request was authenticated as by the HTTP layer. */
export interface UpgradeUser {
  readonly name: string;
  /** PERM_* bits. */
  readonly perms: number;
}

export const WS_API_DEFAULTS = Object.freeze({
  maxClients: 10_000,
  maxPayloadBytes: 1024 * 1024,
  watchThrottleMs: 100,
  maxWatchesPerClient: 1000,
  softBufferedBytes: 4 * 1024 * 1024,
  hardBufferedBytes: 32 * 1024 * 1024,
});

/** Consecutive malformed frames after which the connection is closed (1008): the peer is not speaking this protocol. */
export const MAX_CONSECUTIVE_BAD_FRAMES = 20;
/** Requests queued behind a pending asynchronous command; one more is answered with an error. */
export const MAX_QUEUED_REQUESTS = 1024;
/** Close codes this server uses (RFC 6455 section 7.4.1). */
export const WS_CLOSE = Object.freeze({ NORMAL: 1000, GOING_AWAY: 1001, POLICY: 1008, TOO_BIG: 1009 });

export interface WsApiStats {
  connectionsAccepted: number;
  /** Connections refused because `maxClients` were open. */
  connectionsRejected: number;
  requests: number;
  badFrames: number;
  pushes: number;
  /** Watch pushes skipped because the client's socket was backed up (each retried later). */
  droppedPushes: number;
  /** Connections closed for too many bad frames, an oversize frame, or an output hard limit. */
  protocolCloses: number;
}

function checkInt(field: string, v: number, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new RangeError(`WsClientApi: ${field} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

/** The WebSocket client API. The node constructs one and routes `GET /ws` upgrades to `handleUpgrade`. */
export class WsClientApi {
  readonly stats: WsApiStats = { connectionsAccepted: 0, connectionsRejected: 0, requests: 0, badFrames: 0, pushes: 0, droppedPushes: 0, protocolCloses: 0 };
  /** @internal read by connections */
  readonly services: CommandServices;
  /** @internal */
  readonly logger: Logger;
  /** @internal */
  readonly execute: (ctx: CommandServices, s: Session, args: readonly Buffer[]) => CommandResult;
  /** @internal */
  readonly beforeFlush: (() => Promise<void> | undefined) | undefined;
  /** @internal */
  readonly admit: (() => Promise<void> | undefined) | undefined;
  /** @internal */
  readonly limits: WatchLimits & { readonly maxClients: number; readonly hardBufferedBytes: number };
  /** @internal every connection's watches, by key */
  readonly watchIndex = new WatchIndex();
  private readonly connections = new Set<Connection>();
  private readonly wss: WebSocketServer;
  private closed = false;

  constructor(private readonly options: WsClientApiOptions) {
    if (options.services === undefined || typeof options.newSession !== 'function') {
      throw new TypeError('WsClientApi: services and newSession are required');
    }
    const d = WS_API_DEFAULTS;
    this.services = options.services;
    this.logger = options.logger ?? NOOP_LOGGER;
    this.execute = options.execute ?? execute;
    this.beforeFlush = options.beforeFlush;
    this.admit = options.admit;
    const maxPayload = checkInt('maxPayloadBytes', options.maxPayloadBytes ?? d.maxPayloadBytes, 64, 512 * 1024 * 1024);
    this.limits = {
      maxClients: checkInt('maxClients', options.maxClients ?? d.maxClients, 1, 1_000_000),
      watchThrottleMs: checkInt('watchThrottleMs', options.watchThrottleMs ?? d.watchThrottleMs, 0, 3_600_000),
      maxWatchesPerClient: checkInt('maxWatchesPerClient', options.maxWatchesPerClient ?? d.maxWatchesPerClient, 1, 1_000_000),
      softBufferedBytes: checkInt('softBufferedBytes', options.softBufferedBytes ?? d.softBufferedBytes, 1024, 2 ** 40),
      hardBufferedBytes: checkInt('hardBufferedBytes', options.hardBufferedBytes ?? d.hardBufferedBytes, 1024, 2 ** 40),
    };
    if (this.limits.hardBufferedBytes < this.limits.softBufferedBytes) {
      throw new RangeError('WsClientApi: hardBufferedBytes must be >= softBufferedBytes');
    }
    // ws enforces maxPayload while reading, before buffering the frame, and closes with 1009.
    // A browser offers `tally` next to a credential subprotocol (http-guard.ts): pick `tally`, never
    // echo the credential. A client offering neither gets no subprotocol, as before.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
    });
  }

  /**
   * Completes a WebSocket upgrade for the `/ws` path. After `close()` it answers 503. `user`: the user
   * the HTTP layer authenticated the upgrade as (credentials on the upgrade request): the connection
   * starts logged in as that user, as after AUTH.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, user?: UpgradeUser): void {
    if (this.closed) {
      socket.on('error', () => {});
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, user));
  }

  /** Tells watchers that a key changed (local write or gossip). O(1) when nobody watches it. */
  notifyChanged(fullKey: string): void {
    this.watchIndex.notifyChanged(fullKey);
  }

  clientCount(): number {
    return this.connections.size;
  }

  /** Number of distinct keys watched by anyone (metrics, tests). */
  watchedKeyCount(): number {
    return this.watchIndex.size;
  }

  /** Closes every connection (1001) and refuses new ones. Resolves once all are gone (terminated after 2 s). */
  async close(): Promise<void> {
    this.closed = true;
    const gone = [...this.connections].map((c) => c.shutdown());
    await Promise.all(gone);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket, req: IncomingMessage, user: UpgradeUser | undefined): void {
    const remoteAddress = req.socket.remoteAddress ?? '';
    if (this.connections.size >= this.limits.maxClients) {
      this.stats.connectionsRejected++;
      this.logger.warn({ remoteAddress, maxClients: this.limits.maxClients }, 'ws api: max number of clients reached, connection refused');
      ws.on('error', () => {});
      ws.close(1013, errors.MAX_CLIENTS);
      return;
    }
    let session: Session;
    try {
      session = this.options.newSession(remoteAddress);
    } catch (e) {
      this.logger.warn({ err: e, remoteAddress }, 'ws api: newSession threw; closing connection');
      ws.close(1011, errors.WS_CLOSE_INTERNAL);
      return;
    }
    if (user !== undefined) {
      session.authenticated = true;
      session.user = user.name;
      session.perms = user.perms;
    }
    this.stats.connectionsAccepted++;
    const conn = new Connection(this, ws, session, remoteAddress);
    this.connections.add(conn);
    ws.once('close', () => {
      this.connections.delete(conn);
      conn.gone();
      try {
        this.options.closeSession?.(session);
      } catch (e) {
        this.logger.warn({ err: e, client: session.id }, 'ws api: closeSession threw');
      }
    });
  }
}

/** One client connection: its request queue, its reply gate and its watches. Internal. */
class Connection implements WatchOwner {
  private readonly watches: ConnectionWatches;
  /** Decoded frames waiting behind an asynchronous command (requests are answered in order). */
  private readonly queue: Decoded[] = [];
  private busy = false;
  /** Waiting on the api's `admit` (busy too): reading is paused, so what waits is at most what was read. */
  private admitting = false;
  private badStreak = 0;
  private ended = false;
  private closedPromise: Promise<void>;
  /** Frames held behind a `beforeFlush` gate, sent in order as each gate opens. */
  private readonly gate: ReplyGate<object>;

  constructor(
    private readonly api: WsClientApi,
    private readonly ws: WebSocket,
    private readonly session: Session,
    private readonly remoteAddress: string,
  ) {
    this.watches = new ConnectionWatches(api.watchIndex, api.services.keyspace, api.limits, api.stats, api.logger, this);
    this.gate = new ReplyGate<object>({
      release: (msg) => this.sendNow(msg),
      fail: (e) => {
        if (this.ended) return;
        this.api.logger.warn({ err: e, client: this.session.id }, 'ws api: reply withheld (beforeFlush failed); closing connection');
        this.ended = true;
        this.ws.terminate();
      },
    });
    this.closedPromise = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', (e: Error & { code?: string }) => {
      // ws has already closed the connection (1009 for an oversize frame, 1002/1007 for bad framing).
      if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.api.stats.protocolCloses++;
      this.api.logger.warn({ client: session.id, remoteAddress, code: e.code, err: e.message }, 'ws api: protocol error, connection closed');
    });
  }

  get clientId(): number {
    return this.session.id;
  }

  get live(): boolean {
    return !this.ended;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Sends a frame, after `commit` and after every frame held before it. */
  send(msg: object, commit?: Promise<void>): void {
    if (commit === undefined && this.gate.idle) this.sendNow(msg);
    else this.gate.hold(msg, commit);
  }

  /** The socket closed: drop every watch and timer. */
  gone(): void {
    this.ended = true;
    this.watches.clear();
    this.queue.length = 0;
  }

  /** Server shutdown: close politely, terminate if the peer does not answer within 2 s. */
  shutdown(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    this.ws.close(WS_CLOSE.GOING_AWAY, 'server shutting down');
    const t = setTimeout(() => this.ws.terminate(), 2_000);
    t.unref();
    return this.closedPromise.finally(() => clearTimeout(t));
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.ended) return;
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const d = decodeFrame(buf, isBinary);
    if (d.kind === 'bad') {
      this.api.stats.badFrames++;
      this.badStreak++;
      this.api.logger.debug({ client: this.session.id, remoteAddress: this.remoteAddress, err: d.err }, 'ws api: malformed frame');
      if (this.badStreak >= MAX_CONSECUTIVE_BAD_FRAMES) {
        this.api.stats.protocolCloses++;
        this.api.logger.warn({ client: this.session.id, remoteAddress: this.remoteAddress }, 'ws api: too many malformed frames, closing');
        this.send({ id: d.id, err: d.err });
        this.ended = true;
        this.ws.close(WS_CLOSE.POLICY, errors.WS_CLOSE_BAD_FRAMES);
        return;
      }
    } else {
      this.badStreak = 0;
    }
    if (this.busy) {
      if (this.queue.length >= MAX_QUEUED_REQUESTS && !this.admitting) {
        this.send({ id: d.id, err: errors.wsTooManyPending(MAX_QUEUED_REQUESTS) });
        return;
      }
      this.queue.push(d);
      return;
    }
    if (this.holdIfAsked()) {
      this.queue.push(d);
      return;
    }
    this.run(d);
  }

  /** Runs the queued requests until one is asynchronous or the api's `admit` says wait. */
  private drain(): void {
    while (!this.busy && !this.ended && this.queue.length > 0) {
      if (this.holdIfAsked()) return;
      this.run(this.queue.shift() as Decoded);
    }
  }

  /** If the api's `admit` says wait: pauses reading until it settles, then drains the queue. Returns whether it did. */
  private holdIfAsked(): boolean {
    const wait = this.api.admit?.();
    if (wait === undefined) return false;
    this.busy = true;
    this.admitting = true;
    this.ws.pause();
    const go = (): void => {
      this.busy = false;
      this.admitting = false;
      // Stryker disable next-line ConditionalExpression: equivalent but for work, resuming a closed socket does nothing and drain() runs nothing once ended
      if (this.ended) return;
      this.ws.resume();
      this.drain();
    };
    wait.then(go, go);
    return true;
  }

  /** Handles one decoded frame; runs the queue after an asynchronous one settles. */
  private run(d: Decoded): void {
    try {
      const p = this.handle(d);
      if (p !== undefined) {
        this.busy = true;
        void p.then(() => {
          this.busy = false;
          this.drain();
        });
      }
    } catch (e) {
      // Defensive: handle() catches its own failures; this keeps a bug from escaping into ws.
      this.api.logger.warn({ err: e, client: this.session.id }, 'ws api: request handler failed');
      this.send({ id: d.id, err: errors.INTERNAL });
    }
  }

  private handle(d: Decoded): Promise<void> | undefined {
    if (d.kind === 'bad') {
      this.send({ id: d.id, err: d.err });
      return undefined;
    }
    this.api.stats.requests++;
    this.session.lastCommandAt = this.api.services.now();
    if (d.kind === 'cmd') return this.command(d);
    if (!this.session.authenticated) {
      this.send({ id: d.id, err: errors.NOAUTH });
      return undefined;
    }
    // Watching reads the keys' values: the read permission, which every role has today.
    if (d.kind === 'watch' && ((this.session.perms ?? PERM_ALL) & PERM_READ) === 0) {
      this.send({ id: d.id, err: errors.noPermission('watch') });
      return undefined;
    }
    this.session.lastCommand = d.kind;
    const db = d.db ?? this.session.db;
    if (d.kind === 'watch') {
      const refused = this.watches.add(d.keys, db);
      if (refused !== null) {
        this.send({ id: d.id, err: refused });
        return undefined;
      }
      this.send({ id: d.id, ok: { watching: this.watches.size } });
      this.watches.pushCurrent(d.keys, db); // the current values right away, then changes
    } else {
      this.watches.remove(d.keys, db);
      this.send({ id: d.id, ok: { watching: this.watches.size } });
    }
    return undefined;
  }

  private command(d: Extract<Request, { kind: 'cmd' }>): Promise<void> | undefined {
    const s = this.session;
    const saved = s.db;
    const override = d.db !== undefined && d.db !== saved;
    if (override) s.db = d.db as number;
    // A per-request db applies to that request only, unless the request is SELECT itself.
    const restore = (): void => {
      if (override && d.cmd.toLowerCase() !== 'select') s.db = saved;
    };
    let r: Reply | Promise<Reply>;
    try {
      r = this.api.execute(this.api.services, s, d.args);
    } catch (e) {
      restore();
      this.failed(d.id, e);
      return undefined;
    }
    if ('kind' in r) {
      restore();
      this.reply(d.id, r);
      return undefined;
    }
    return r.then(
      (v) => {
        restore();
        if (!this.ended) this.reply(d.id, v);
      },
      (e: unknown) => {
        restore();
        this.failed(d.id, e);
      },
    );
  }

  private failed(id: number, e: unknown): void {
    this.api.logger.warn({ err: e, client: this.session.id }, 'ws api: command failed');
    this.send({ id, err: errors.INTERNAL });
  }

  private reply(id: number, r: Reply): void {
    if (r.kind === 'error') {
      this.send({ id, err: r.message });
      return;
    }
    if (r.kind === 'close' && r.reply?.kind === 'error') {
      // An error, then the connection closed (an AUTH failure too many on this connection).
      this.send({ id, err: r.reply.message });
      this.ended = true;
      this.gate.afterHeld(() => this.ws.close(WS_CLOSE.POLICY, r.reply?.kind === 'error' ? r.reply.message.slice(0, 120) : ''));
      return;
    }
    this.send({ id, ok: replyValue(r) }, this.api.beforeFlush?.());
    if (r.kind === 'close') {
      this.ended = true;
      this.gate.afterHeld(() => this.ws.close(WS_CLOSE.NORMAL, 'QUIT'));
    }
  }

  private sendNow(msg: object): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    let bytes: Buffer;
    try {
      bytes = encodeFrame(msg);
    } catch (e) {
      this.api.logger.warn({ err: e, client: this.session.id }, 'ws api: encoding a frame failed');
      return;
    }
    this.ws.send(bytes, { binary: true });
    if (this.ws.bufferedAmount > this.api.limits.hardBufferedBytes) {
      this.api.stats.protocolCloses++;
      this.api.logger.warn(
        { client: this.session.id, remoteAddress: this.remoteAddress, bufferedAmount: this.ws.bufferedAmount },
        'ws api: output hard limit exceeded (client is not reading), terminating',
      );
      this.ended = true;
      this.ws.terminate();
    }
  }
}
