// Serves the live dashboard: GET / (the page) and its three assets under /dashboard/. The assets are
// strings compiled into dist/ (the build is plain tsc), so a node needs no files on disk and the page
// loads nothing from outside the node. Strict CSP: scripts, styles and fetches from this node only;
// WebSockets to any host, because the page watches keys on every node of the cluster.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { APP_JS } from './app-js.js';
import { MSGPACK_JS } from './msgpack-js.js';
import { PAGE_HTML, STYLE_CSS } from './page.js';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ['/', { body: Buffer.from(PAGE_HTML, 'utf8'), type: 'text/html; charset=utf-8' }],
  ['/index.html', { body: Buffer.from(PAGE_HTML, 'utf8'), type: 'text/html; charset=utf-8' }],
  ['/dashboard/app.js', { body: Buffer.from(APP_JS, 'utf8'), type: 'text/javascript; charset=utf-8' }],
  ['/dashboard/msgpack.js', { body: Buffer.from(MSGPACK_JS, 'utf8'), type: 'text/javascript; charset=utf-8' }],
  ['/dashboard/style.css', { body: Buffer.from(STYLE_CSS, 'utf8'), type: 'text/css; charset=utf-8' }],
]);

/** Serves a dashboard path; returns false for any other path. */
export function dashboardRoute(req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/favicon.ico') {
    res.writeHead(204, { 'cache-control': 'max-age=86400' });
    res.end();
    return true;
  }
  const asset = ASSETS.get(path);
  if (asset === undefined) return false;
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': asset.body.length,
    'cache-control': 'no-cache',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
  return true;
}
