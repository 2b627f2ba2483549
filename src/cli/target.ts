// How the command line reaches a node with credentials and TLS: the user and password (flags, then
// TALLY_USER / TALLY_PASSWORD, then the config's auth.password for `default`), the CA to trust
// (--cacert, else the config's tls.caFile), the node's URLs, and a small JSON GET over HTTP(S).

import { readFileSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { ClusterConfig, NodeEntry } from '../config/cluster-config.js';

/** Environment variables the client commands read credentials from (not visible in `ps`, unlike flags). */
export const USER_ENV = 'TALLY_USER';
export const PASSWORD_ENV = 'TALLY_PASSWORD';

export interface Credentials {
  user?: string;
  password?: string;
}

/** Flags first, then the environment, then the config's default password (only for user `default`). */
export function credentialsFor(cfg: ClusterConfig | null, flags: { user?: string; password?: string }): Credentials {
  const user = flags.user ?? process.env[USER_ENV];
  const password = flags.password ?? process.env[PASSWORD_ENV] ?? (user === undefined || user === 'default' ? (cfg?.auth.password ?? undefined) : undefined);
  return { ...(user !== undefined && user !== '' ? { user } : {}), ...(password !== undefined && password !== '' ? { password } : {}) };
}

/** The CA to trust for the node's TLS: --cacert, else the config's tls.caFile, else the system's. */
export function caFor(cfg: ClusterConfig | null, cacert: string | undefined): Buffer | undefined {
  const file = cacert ?? cfg?.tls?.caFile ?? undefined;
  if (file === undefined || file === null) return undefined;
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read the CA file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The node's HTTP(S) base URL and WebSocket URL, by the config's tls.http. */
export function urlsOf(cfg: ClusterConfig, n: NodeEntry): { http: string; ws: string } {
  const secure = cfg.tls !== null && cfg.tls.http;
  return { http: `${secure ? 'https' : 'http'}://${n.host}:${n.httpPort}`, ws: `${secure ? 'wss' : 'ws'}://${n.host}:${n.httpPort}/ws` };
}

/** GET `url` with HTTP Basic credentials (when a password is known) and `ca`; the status and parsed JSON body. */
export function getJson(url: string, o: { credentials?: Credentials; ca?: Buffer; timeoutMs?: number } = {}): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  const c = o.credentials;
  if (c?.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${c.user ?? 'default'}:${c.password}`).toString('base64')}`;
  return new Promise((resolveBody, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolveBody({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
        } catch (e) {
          reject(new Error(`${url} answered ${res.statusCode}, not JSON: ${(e as Error).message}`));
        }
      });
      res.on('error', reject);
    };
    const req = url.startsWith('https:') ? httpsGet(url, { headers, ...(o.ca === undefined ? {} : { ca: o.ca }) }, onResponse) : httpGet(url, { headers }, onResponse);
    req.setTimeout(o.timeoutMs ?? 5000, () => req.destroy(new Error(`no answer from ${url} within ${o.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
  });
}
