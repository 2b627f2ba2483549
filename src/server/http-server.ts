// The node's HTTP (or HTTPS) edge: /health (liveness and readiness), /status (JSON), /metrics,
// /auth/token, the dashboard, and the WebSocket upgrade of /ws for the client API. Who may use what
// is the guard's decision (http-guard.ts): /health is always open. Other routes get 404.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { GuardResult, HttpGuard, HttpUser, RouteKind } from './http-guard.js';
import { PERM_ALL } from './auth/permissions.js';
import { clientCertAccepted, secureContextOf, type ServerTls } from './tls.js';
import { NOOP_LOGGER, type Logger } from '../util/logger.js';

export interface HttpRoutes {
  /**
   * Liveness and readiness; `degraded` names what works only in part (a clock beyond the bound: the
   * node serves, but refuses windowed writes). A degraded node is still ready (200), status "degraded".
   */
  health(): { live: boolean; ready: boolean; detail?: string; degraded?: string };
  status(): unknown;
  /** Extra GET routes that serve data (metrics): return true if handled. Guarded like /status. */
  data?(req: IncomingMessage, res: ServerResponse): boolean;
  /** Extra GET routes that serve only code (the dashboard's files): return true if handled. */
  assets?(req: IncomingMessage, res: ServerResponse): boolean;
  /** A `/ws` upgrade the guard let through, with the user its credentials name. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, user: HttpUser): void;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly routes: HttpRoutes;
  /** HTTPS (and WSS) with these options. Default: plain HTTP. */
  readonly tls?: ServerTls;
  /** Who may use which route. Default: everyone may use everything (unit tests). */
  readonly guard?: HttpGuard;
  readonly logger?: Logger;
}

/** Paths of the dashboard's own files: served by `assets`, open (they hold no data). */
const ASSET_PATH = /^\/(?:index\.html|favicon\.ico|dashboard\/[A-Za-z0-9._-]+)?$/;

export class HttpServer {
  /** TLS handshakes that failed (HTTPS only). */
  tlsHandshakeErrors = 0;
  private readonly server: Server | HttpsServer;
  private readonly sockets = new Set<Duplex>();
  private readonly host: string;
  private readonly port: number;
  private readonly guard: HttpGuard | undefined;
  private readonly log: Logger;

  constructor(o: HttpServerOptions) {
    this.host = o.host;
    this.port = o.port;
    this.guard = o.guard;
    this.log = o.logger ?? NOOP_LOGGER;
    const routes = o.routes;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      try {
        this.request(routes, req, res);
      } catch (e) {
        this.failed(res, e);
      }
    };
    if (o.tls === undefined) {
      this.server = createServer(handler);
    } else {
      const t = o.tls;
      const https = createHttpsServer(t.options, handler);
      https.on('secureConnection', (socket: TLSSocket) => {
        if (clientCertAccepted(socket, t.clientCerts)) return;
        this.tlsHandshakeErrors++;
        socket.destroy();
      });
      https.on('tlsClientError', (e, socket) => {
        this.tlsHandshakeErrors++;
        this.log.debug({ remoteAddress: socket.remoteAddress, err: e.message }, 'http: TLS handshake failed');
        socket.destroy();
      });
      this.server = https;
    }
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      const url = (req.url ?? '/').split('?')[0];
      if (url !== '/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.guarded(req, 'data', (user) => routes.upgrade(req, socket, head, user), (r) => refuseUpgrade(socket, r), () => socket.destroy());
    });
    this.server.on('clientError', (_e, socket) => socket.destroy());
  }

  private request(routes: HttpRoutes, req: IncomingMessage, res: ServerResponse): void {
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: `method ${req.method} not allowed` });
    // Probes are never asked for credentials, and protected mode leaves them open too.
    if (url === '/health') {
      const h = routes.health();
      const status = !h.live ? 'down' : !h.ready ? 'starting' : h.degraded !== undefined ? 'degraded' : 'ok';
      return send(res, h.live && h.ready ? 200 : 503, { status, ...h });
    }
    if (url === '/health/live') return send(res, 200, { status: 'ok' });
    let kind: RouteKind;
    let serve: (user: HttpUser) => void;
    if (url === '/status') {
      kind = 'data';
      serve = () => send(res, 200, routes.status());
    } else if (url === '/auth/token') {
      kind = 'login';
      serve = (user) => {
        const t = this.guard?.issueToken(user.name) ?? null;
        if (t === null) send(res, 404, { error: 'no tokens: this node has no users' });
        else send(res, 200, t);
      };
    } else if (url === '/metrics') {
      kind = 'data';
      serve = () => {
        if (routes.data?.(req, res) !== true) send(res, 404, { error: `no route ${url}` });
      };
    } else if (ASSET_PATH.test(url)) {
      kind = 'public';
      serve = () => {
        if (routes.assets?.(req, res) !== true) send(res, 404, { error: `no route ${url}` });
      };
    } else {
      return send(res, 404, { error: `no route ${url}` });
    }
    this.guarded(req, kind, serve, (r) => send(res, r.status, { error: r.error }, r.headers), (e) => this.failed(res, e));
  }

  /** Runs `allowed` if the guard lets the request through, `refused` otherwise. */
  private guarded(req: IncomingMessage, kind: RouteKind, allowed: (user: HttpUser) => void, refused: (r: Extract<GuardResult, { ok: false }>) => void, failed: (e: unknown) => void): void {
    if (this.guard === undefined) {
      allowed(ANYONE);
      return;
    }
    const decide = (r: GuardResult): void => {
      try {
        if (r.ok) allowed(r.user);
        else refused(r);
      } catch (e) {
        failed(e);
      }
    };
    const r = this.guard.check(req, kind);
    if ('ok' in r) decide(r);
    else r.then(decide, failed);
  }

  private failed(res: ServerResponse, e: unknown): void {
    this.log.error({ err: e }, 'http: request handler failed');
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
    else res.destroy();
  }

  /**
   * Swaps in a new certificate, key and CA for connections from now on (SIGHUP); connections already
   * open keep theirs. No-op for plain HTTP.
   */
  reloadTls(t: ServerTls): void {
    if ('setSecureContext' in this.server) this.server.setSecureContext(secureContextOf(t));
  }

  listen(): Promise<number> {
    return new Promise((resolvePort, reject) => {
      const onError = (e: Error): void => reject(new Error(`cannot listen for HTTP on ${this.host}:${this.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      this.server.once('error', onError);
      this.server.listen(this.port, this.host, () => {
        // Listening: later server errors are logged, not sent to this settled promise.
        this.server.off('error', onError);
        this.server.on('error', (e) => this.log.error({ err: e }, 'http server error'));
        const a = this.server.address();
        resolvePort(typeof a === 'object' && a !== null ? a.port : this.port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((done) => {
      this.server.close(() => done());
      for (const s of this.sockets) s.destroy();
    });
  }
}

/** Without a guard (unit tests): the `default` user, every permission. */
const ANYONE: HttpUser = Object.freeze({ name: 'default', perms: PERM_ALL });

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests' };

/** Answers a refused upgrade with its status and closes the socket (no WebSocket is opened). */
function refuseUpgrade(socket: Duplex, r: Extract<GuardResult, { ok: false }>): void {
  const body = JSON.stringify({ error: r.error });
  const headers = Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${r.status} ${STATUS_TEXT[r.status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function send(res: ServerResponse, code: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}
