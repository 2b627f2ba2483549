// The node's HTTP edge: /health (liveness and readiness), /status (JSON), and the WebSocket upgrade
// of /ws for the client API. Other routes get 404.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface HttpRoutes {
  /**
   * Liveness and readiness; `degraded` names what works only in part (a clock beyond the bound: the
   * node serves, but refuses windowed writes). A degraded node is still ready (200), status "degraded".
   */
  health(): { live: boolean; ready: boolean; detail?: string; degraded?: string };
  status(): unknown;
  /** Extra GET routes (metrics, dashboard): return true if handled. */
  extra?(req: IncomingMessage, res: ServerResponse): boolean;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export class HttpServer {
  private readonly server: Server;
  private readonly sockets = new Set<Duplex>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    routes: HttpRoutes,
  ) {
    this.server = createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      try {
        if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: `method ${req.method} not allowed` });
        if (url === '/health') {
          const h = routes.health();
          const status = !h.live ? 'down' : !h.ready ? 'starting' : h.degraded !== undefined ? 'degraded' : 'ok';
          return send(res, h.live && h.ready ? 200 : 503, { status, ...h });
        }
        if (url === '/health/live') return send(res, 200, { status: 'ok' });
        if (url === '/status') return send(res, 200, routes.status());
        if (routes.extra?.(req, res)) return;
        send(res, 404, { error: `no route ${url}` });
      } catch (e) {
        send(res, 500, { error: 'internal error', detail: (e as Error).message });
      }
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('upgrade', (req, socket, head) => {
      socket.on('error', () => socket.destroy());
      const url = (req.url ?? '/').split('?')[0];
      if (url !== '/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      routes.upgrade(req, socket, head);
    });
    this.server.on('clientError', (_e, socket) => socket.destroy());
  }

  listen(): Promise<number> {
    return new Promise((resolvePort, reject) => {
      this.server.once('error', (e) => reject(new Error(`cannot listen for HTTP on ${this.host}:${this.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      this.server.listen(this.port, this.host, () => {
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

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}
