// Who may use the HTTP edge. /health and /health/live are always open (probes). The dashboard's
// static files are code, identical for every install: open, except in protected mode. Everything
// with data (/status, /metrics, /auth/token, the /ws upgrade) needs credentials as soon as the node
// has a password or users: HTTP Basic, or a bearer token from /auth/token; a browser's WebSocket,
// which cannot send headers, may carry either as a subprotocol (`tally-bearer.<token>`,
// `tally-basic.<base64url(user:password)>`) next to `tally`. docs/security.md ("HTTP").

import type { IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import * as errors from '../errors.js';
import type { Authenticator, AuthSubject } from './auth/authenticator.js';
import { PERM_ALL, PERM_READ } from './auth/permissions.js';
import type { TokenSigner } from './auth/tokens.js';
import type { User } from './auth/users.js';

/** The subprotocol the dashboard asks for; the server picks it, never a credential. */
export const WS_SUBPROTOCOL = 'tally';
export const WS_BEARER_PREFIX = 'tally-bearer.';
export const WS_BASIC_PREFIX = 'tally-basic.';

export interface HttpUser {
  readonly name: string;
  readonly perms: number;
}

export type GuardResult =
  | { readonly ok: true; readonly user: HttpUser }
  | { readonly ok: false; readonly status: 401 | 403 | 429; readonly error: string; readonly headers?: Readonly<Record<string, string>> };

/** Which rule a route falls under. */
export type RouteKind = 'public' | 'data' | 'login';

type Credentials = { kind: 'basic'; user: Buffer | null; password: Buffer } | { kind: 'bearer'; token: string } | { kind: 'none' } | { kind: 'bad' };

/** Reads `user:password` (RFC 7617: the first colon splits; an empty user is `default`). */
function basic(b64: string): Credentials {
  const raw = Buffer.from(b64, 'base64');
  const colon = raw.indexOf(0x3a);
  if (colon < 0) return { kind: 'bad' };
  const user = raw.subarray(0, colon);
  return { kind: 'basic', user: user.length === 0 ? null : user, password: raw.subarray(colon + 1) };
}

/** The credentials of a request: its Authorization header, or for an upgrade a credential subprotocol. */
export function credentialsOf(req: IncomingMessage): Credentials {
  const h = req.headers.authorization;
  if (typeof h === 'string' && h.length > 0) {
    const m = /^(\S+)\s+(\S+)\s*$/.exec(h);
    if (m === null || (m[2] as string).length > 4096) return { kind: 'bad' };
    const scheme = (m[1] as string).toLowerCase();
    if (scheme === 'basic') return basic(m[2] as string);
    if (scheme === 'bearer') return { kind: 'bearer', token: m[2] as string };
    return { kind: 'bad' };
  }
  const protocols = req.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    for (const p of protocols.split(',').map((x) => x.trim())) {
      if (p.startsWith(WS_BEARER_PREFIX)) return { kind: 'bearer', token: p.slice(WS_BEARER_PREFIX.length) };
      if (p.startsWith(WS_BASIC_PREFIX)) return basic(Buffer.from(p.slice(WS_BASIC_PREFIX.length), 'base64url').toString('base64'));
    }
  }
  return { kind: 'none' };
}

export interface HttpGuardOptions {
  readonly auth: Authenticator;
  readonly tokens: TokenSigner;
  /** Protected mode: true for a peer that may reach /health only. */
  readonly refuses: (ip: string) => boolean;
  /** The cluster's node host names (config `host`), for the Host and Origin checks. Default: none. */
  readonly hosts?: readonly string[];
  /** The cluster's HTTP ports, for the Origin check (the dashboard of one node opens /ws on all). */
  readonly httpPorts?: readonly number[];
}

/** The host name of a Host header or URL host (`[::1]:80` → `::1`), lower case. */
function hostnameOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon < 0 || h.indexOf(':') !== colon ? h : h.slice(0, colon);
}

export class HttpGuard {
  /** Requests refused by protected mode. */
  protectedModeRefused = 0;
  /** Requests refused by the Host (DNS rebinding) or Origin (cross-site WebSocket) checks. */
  foreignRefused = 0;
  /** Failed Basic attempts are counted per HTTP connection, as AUTH's are per client connection. */
  private readonly subjects = new WeakMap<Socket, AuthSubject>();
  private readonly hosts: ReadonlySet<string>;
  private readonly httpPorts: ReadonlySet<string>;

  constructor(private readonly o: HttpGuardOptions) {
    this.hosts = new Set(['localhost', ...(o.hosts ?? []).map((h) => h.toLowerCase())]);
    this.httpPorts = new Set((o.httpPorts ?? []).map(String));
  }

  /**
   * DNS rebinding: a web page that points its own domain name at a node's address reaches it with
   * that name in Host. Names of the cluster, `localhost` and IP literals are accepted; no Host (HTTP/1.0) too.
   */
  hostAccepted(req: IncomingMessage): boolean {
    const host = req.headers.host;
    if (host === undefined) return true;
    const name = hostnameOf(host);
    return isIP(name) !== 0 || this.hosts.has(name);
  }

  /**
   * Cross-site WebSocket hijacking: browsers let any page open a WebSocket anywhere, with its Origin.
   * An upgrade with an Origin is accepted from the node's own origin, or from any node of the
   * cluster (same host name, one of the cluster's HTTP ports): the dashboard opens /ws on every node.
   * Programs send no Origin and are not concerned.
   */
  originAccepted(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false;
    }
    const host = req.headers.host ?? '';
    if (u.host === host.toLowerCase()) return true;
    const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80';
    const name = hostnameOf(u.host);
    return this.httpPorts.has(port) && (name === hostnameOf(host) || this.hosts.has(name));
  }

  /** Whether a request of this kind may go on, and as whom. Never rejects. */
  check(req: IncomingMessage, kind: RouteKind): GuardResult | Promise<GuardResult> {
    const ip = req.socket.remoteAddress ?? '';
    if (this.o.refuses(ip)) {
      this.protectedModeRefused++;
      return { ok: false, status: 403, error: errors.PROTECTED_MODE_DENIED };
    }
    const users = this.o.auth.users;
    if (req.headers.upgrade !== undefined && !this.originAccepted(req)) {
      this.foreignRefused++;
      return { ok: false, status: 403, error: errors.WS_CROSS_ORIGIN };
    }
    // Without credentials nothing else stands between a rebinding page and the data: check the name.
    if (users.open && !this.hostAccepted(req)) {
      this.foreignRefused++;
      return { ok: false, status: 403, error: errors.HOST_NOT_ACCEPTED };
    }
    if (kind === 'public') return ANONYMOUS;
    const open = users.defaultUser;
    if (users.open && open !== undefined) return { ok: true, user: { name: open.name, perms: PERM_ALL } };
    const c = credentialsOf(req);
    if (c.kind === 'none' || c.kind === 'bad') return unauthorized(req, errors.NOAUTH);
    if (c.kind === 'bearer') {
      // A token cannot mint a token: /auth/token takes the password, so a stolen token dies with its expiry.
      if (kind === 'login') return unauthorized(req, errors.NOAUTH);
      const user = this.o.tokens.verify(c.token, users);
      return user === null ? unauthorized(req, errors.WRONGPASS) : allowed(user);
    }
    const v = this.o.auth.check(this.subject(req.socket), c.user, c.password);
    const done = (r: Awaited<typeof v>): GuardResult => {
      if (r.ok) return allowed(r.user);
      if (r.retryAfterS !== undefined) return { ok: false, status: 429, error: r.error, headers: { 'retry-after': String(r.retryAfterS) } };
      if (r.close) req.socket.destroy();
      return unauthorized(req, r.error);
    };
    return 'ok' in v ? done(v) : v.then(done);
  }

  /** A token for a user who just proved its password at /auth/token. */
  issueToken(name: string): { token: string; user: string; expiresAt: number } | null {
    const user = this.o.auth.users.get(name);
    if (user === undefined) return null;
    return { ...this.o.tokens.issue(user), user: user.name };
  }

  private subject(socket: Socket): AuthSubject {
    let s = this.subjects.get(socket);
    if (s === undefined) {
      s = { remoteAddress: socket.remoteAddress ?? '', protocol: 'http' };
      this.subjects.set(socket, s);
    }
    return s;
  }
}

const ANONYMOUS: GuardResult = Object.freeze({ ok: true, user: Object.freeze({ name: '', perms: 0 }) });

function allowed(user: User): GuardResult {
  if ((user.perms & PERM_READ) === 0) return { ok: false, status: 403, error: errors.noPermission('status') };
  return { ok: true, user: { name: user.name, perms: user.perms } };
}

/**
 * 401 with a challenge: Basic for programs and people (curl, a browser's own prompt), but Bearer for
 * the dashboard's own requests (X-Requested-With), so the browser shows the page's form, not its prompt.
 */
function unauthorized(req: IncomingMessage, error: string): GuardResult {
  const page = req.headers['x-requested-with'] !== undefined;
  return { ok: false, status: 401, error, headers: { 'www-authenticate': page ? 'Bearer realm="tally"' : 'Basic realm="tally", charset="UTF-8"' } };
}
