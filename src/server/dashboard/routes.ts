// Serves the live dashboard: GET / (the page) and its assets under /dashboard/. The assets are real
// files in dashboard/static/, built into dist/ next to this module (tsconfig.dashboard.json compiles
// the scripts, scripts/copy-assets.mjs copies the rest) and read once when the node starts, so the page
// loads nothing from outside the node. Strict CSP: scripts, styles and fetches from this node only;
// WebSockets to any host, because the page watches keys on every node of the cluster.

import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Where the built assets are: static/ next to this module in dist/. Run from its TypeScript source
 * (a test that starts a node inside vitest), the build's copy in dist/ of the same checkout.
 */
const STATIC_DIR = new URL(import.meta.url.endsWith('.ts') ? '../../../dist/src/server/dashboard/static/' : './static/', import.meta.url);

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

function load(file: string, type: string): Asset {
  const url = new URL(file, STATIC_DIR);
  try {
    return { body: readFileSync(url), type };
  } catch (e) {
    throw new Error(`dashboard: cannot read ${url.pathname} (${(e as NodeJS.ErrnoException).code ?? String(e)}); run \`npm run build\`, which builds and copies the dashboard's assets`);
  }
}

const PAGE = load('index.html', 'text/html; charset=utf-8');
const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ['/', PAGE],
  ['/index.html', PAGE],
  ['/dashboard/app.js', load('app.js', 'text/javascript; charset=utf-8')],
  ['/dashboard/msgpack.js', load('msgpack.js', 'text/javascript; charset=utf-8')],
  ['/dashboard/charts.js', load('charts.js', 'text/javascript; charset=utf-8')],
  ['/dashboard/axis.js', load('axis.js', 'text/javascript; charset=utf-8')],
  ['/dashboard/style.css', load('style.css', 'text/css; charset=utf-8')],
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
