// Checks credentials for every client protocol (AUTH and HELLO AUTH over RESP and the WebSocket API,
// HTTP Basic): finds the user, checks the password (scrypt off the event loop, or a keyed digest),
// slows failures per connection and per address (auth-limiter.ts), counts and logs them without the
// password. docs/security.md ("Users and roles", "Failed AUTH is slowed").

import { timingSafeEqual } from 'node:crypto';
import * as errors from '../../errors.js';
import { NOOP_LOGGER, type Logger } from '../../util/logger.js';
import { addressKey, AuthLimiter, type AuthLimiterConfig } from './auth-limiter.js';
import { verifyPassword } from './password-hash.js';
import type { LoginResult, Session, SessionAuth } from '../commands/types.js';
import { DEFAULT_USER, type User, type UserTable } from './users.js';

/**
 * Who is trying: a client session, or an HTTP connection. Failures are counted on it (per
 * connection) and by its IP (`ip`, else `remoteAddress`).
 */
export interface AuthSubject {
  readonly ip?: string;
  readonly remoteAddress: string;
  readonly protocol: 'resp' | 'ws' | 'http';
  authFailures?: number;
}

export type AuthVerdict =
  | { readonly ok: true; readonly user: User }
  | { readonly ok: false; readonly error: string; readonly close: boolean; readonly retryAfterS?: number };

export interface AuthStats {
  /** Failed attempts by protocol (Redis 7.2 INFO's acl_access_denied_auth is their sum). */
  failures: { resp: number; ws: number; http: number };
  /** Attempts that waited for their address's slot. */
  delayed: number;
  /** Attempts refused without a check because their address's queue was too long. */
  refused: number;
  /** Commands refused with NOPERM (INFO acl_access_denied_cmd). */
  deniedCommands: number;
  /** Connections closed for sending `POST` or `Host:` (an HTTP request on the RESP port). */
  crossProtocol: number;
}

export interface AuthenticatorOptions {
  readonly users: UserTable;
  readonly limiter?: Partial<AuthLimiterConfig>;
  readonly logger?: Logger;
  /** Clock, ms. Default Date.now. */
  readonly now?: () => number;
  /** Waits `ms` (tests pass a fake). Default setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Scrypt checks run at once at most (each holds 2^ln * r * 128 bytes); more wait in turn. Default 2. */
  readonly maxConcurrentHashes?: number;
  /** Scrypt checks that may wait; one more is refused as throttled. Default 1000. */
  readonly maxQueuedHashes?: number;
}

const LOGIN_OK: LoginResult = Object.freeze({ ok: true });
const AUTH_WITHOUT_PASSWORD: LoginResult = Object.freeze({ ok: false, error: errors.AUTH_WITHOUT_PASSWORD, close: false });
const WRONGPASS_OPEN: AuthVerdict = Object.freeze({ ok: false, error: errors.WRONGPASS, close: false });
const realSleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms).unref());
/** At most one log line per address in this time; the lines between are counted in the next one. */
const LOG_EVERY_MS = 10_000;
const MAX_LOG_ADDRESSES = 10_000;

/** A user name as it may appear in a log line: printable ASCII, at most 64 characters. */
export function loggableName(b: Buffer | null): string {
  if (b === null) return DEFAULT_USER;
  const s = b.subarray(0, 64).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
  return b.length > 64 ? `${s}...` : s;
}

export class Authenticator implements SessionAuth {
  readonly stats: AuthStats = { failures: { resp: 0, ws: 0, http: 0 }, delayed: 0, refused: 0, deniedCommands: 0, crossProtocol: 0 };
  readonly users: UserTable;
  readonly limiter: AuthLimiter;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Keyed digests of passwords that passed a scrypt check, by user: later checks of that user are one HMAC. */
  private readonly verified = new Map<string, Buffer>();
  /** Per address, the tail of its chain of scrypt checks: one at a time per address. */
  private readonly chains = new Map<string, { tail: Promise<unknown>; queued: number }>();
  private hashesRunning = 0;
  private readonly hashWaiters: (() => void)[] = [];
  private readonly maxConcurrentHashes: number;
  private readonly maxQueuedHashes: number;
  private readonly logged = new Map<string, { at: number; suppressed: number }>();

  constructor(o: AuthenticatorOptions) {
    this.users = o.users;
    this.limiter = new AuthLimiter(o.limiter);
    this.log = o.logger ?? NOOP_LOGGER;
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? realSleep;
    this.maxConcurrentHashes = o.maxConcurrentHashes ?? 2;
    this.maxQueuedHashes = o.maxQueuedHashes ?? 1000;
  }

  get open(): boolean {
    return this.users.open;
  }

  /** AUTH and HELLO AUTH: `check`, and on success the session becomes the user. */
  login(s: Session, name: Buffer | null, password: Buffer): LoginResult | Promise<LoginResult> {
    if (name === null && this.users.open) return AUTH_WITHOUT_PASSWORD;
    const v = this.check(s, name, password);
    const apply = (r: AuthVerdict): LoginResult => {
      if (!r.ok) return r;
      s.authenticated = true;
      s.user = r.user.name;
      s.perms = r.user.perms;
      return LOGIN_OK;
    };
    return 'ok' in v ? apply(v) : v.then(apply);
  }

  userNames(): string[] {
    return this.users.names();
  }

  aclList(): string[] {
    return this.users.aclList();
  }

  suspicious(s: Session, command: string): void {
    this.stats.crossProtocol++;
    this.log.warn(
      { remoteAddress: s.remoteAddress, protocol: s.protocol, command },
      'possible security attack: an HTTP request (POST or Host:) arrived as commands, probably from a web page; connection closed',
    );
  }

  /**
   * Checks `password` for user `name` (null: `default`, the one-word AUTH). Synchronous when no wait
   * and no scrypt is involved. Never rejects. The caller applies a success to its session or request.
   */
  check(subject: AuthSubject, name: Buffer | null, password: Buffer): AuthVerdict | Promise<AuthVerdict> {
    const user = this.users.get(name === null ? DEFAULT_USER : name.toString('utf8'));
    const key = addressKey(subject.ip ?? subject.remoteAddress);
    const needsHash = user !== undefined && user.secret.kind === 'hash' && !this.verified.has(user.name);
    if (needsHash) return this.chained(key, () => this.admitted(subject, key, name, user, password));
    return this.admitted(subject, key, name, user, password);
  }

  userPerms(name: Buffer | null): number | undefined {
    return this.users.get(name === null ? DEFAULT_USER : name.toString('utf8'))?.perms;
  }

  /** Counts a command refused with NOPERM, and logs it at debug. */
  denied(s: Session, command: string): void {
    this.stats.deniedCommands++;
    this.log.debug({ user: s.user, remoteAddress: s.remoteAddress, protocol: s.protocol, command }, 'command refused: no permission');
  }

  /** The limiter's admission, then the check and its outcome. */
  private admitted(subject: AuthSubject, key: string, name: Buffer | null, user: User | undefined, password: Buffer): AuthVerdict | Promise<AuthVerdict> {
    // A node without credentials has nothing to guess (every connection is `default` already): a
    // failed AUTH there (another user name) is answered at once, as Redis does, and only counted.
    if (this.users.open) {
      if (user !== undefined) return { ok: true, user };
      subject.authFailures = (subject.authFailures ?? 0) + 1;
      this.stats.failures[subject.protocol]++;
      return WRONGPASS_OPEN;
    }
    const adm = this.limiter.admit(key, this.now());
    if ('refusedForMs' in adm) {
      this.stats.refused++;
      this.note(subject, key, name, 'AUTH refused: too many failed attempts from this address', { retryAfterMs: Math.round(adm.refusedForMs) });
      const retryAfterS = Math.ceil(adm.refusedForMs / 1000);
      return { ok: false, error: errors.authThrottled(retryAfterS), close: false, retryAfterS };
    }
    const run = (): AuthVerdict | Promise<AuthVerdict> => {
      const ok = this.verify(user, password);
      return typeof ok === 'boolean' ? this.settle(subject, key, name, user, ok) : ok.then((v) => this.settle(subject, key, name, user, v));
    };
    if (adm.waitMs <= 0) return run();
    this.stats.delayed++;
    return this.sleep(adm.waitMs).then(run);
  }

  private verify(user: User | undefined, password: Buffer): boolean | Promise<boolean> {
    if (user === undefined) return false;
    const s = user.secret;
    if (s.kind === 'nopass') return true;
    if (s.kind === 'plain') return this.users.matchesPlain(user, password);
    // scrypt keys HMAC-SHA256 with the password, and HMAC pads a short key with zero bytes: `pw` and
    // `pw\0` would be the same input. A NUL byte never matches a hash (found by test/fuzz/auth-commands).
    if (password.includes(0)) return false;
    const known = this.verified.get(user.name);
    // A user has one password: once it has been seen, any other password is wrong, at the cost of an HMAC.
    if (known !== undefined) return timingSafeEqual(this.users.digest(password), known);
    return this.hashSlot(() => verifyPassword(password, s.hash)).then((ok) => {
      if (ok) this.verified.set(user.name, this.users.digest(password));
      return ok;
    });
  }

  private settle(subject: AuthSubject, key: string, name: Buffer | null, user: User | undefined, ok: boolean): AuthVerdict | Promise<AuthVerdict> {
    this.limiter.record(key, this.now(), ok);
    if (ok && user !== undefined) return { ok: true, user };
    const k = (subject.authFailures ?? 0) + 1;
    subject.authFailures = k;
    this.stats.failures[subject.protocol]++;
    const delayMs = this.limiter.connectionDelayMs(k);
    const close = this.limiter.closeAfter(k);
    this.note(subject, key, name, 'AUTH failed', { connectionFailures: k, addressScore: Math.round(this.limiter.score(key, this.now()) * 10) / 10, delayMs, ...(close ? { closing: true } : {}) });
    const verdict: AuthVerdict = { ok: false, error: errors.WRONGPASS, close };
    return delayMs > 0 ? this.sleep(delayMs).then(() => verdict) : verdict;
  }

  /** Runs `fn` after the address's earlier scrypt checks: one at a time per address. */
  private chained(key: string, fn: () => AuthVerdict | Promise<AuthVerdict>): Promise<AuthVerdict> {
    let c = this.chains.get(key);
    if (c === undefined) {
      c = { tail: Promise.resolve(), queued: 0 };
      this.chains.set(key, c);
    }
    const chain = c;
    if (chain.queued >= this.maxQueuedHashes) {
      this.stats.refused++;
      const retryAfterS = Math.ceil(this.limiter.config.maxWaitMs / 1000);
      return Promise.resolve({ ok: false, error: errors.authThrottled(retryAfterS), close: false, retryAfterS });
    }
    chain.queued++;
    const result = chain.tail.then(fn, fn);
    chain.tail = result.then(
      () => undefined,
      () => undefined,
    );
    void chain.tail.then(() => {
      chain.queued--;
      if (chain.queued === 0 && this.chains.get(key) === chain) this.chains.delete(key);
    });
    return result;
  }

  /** Bounds the scrypt checks running at once (their memory, and libuv's thread pool). */
  private async hashSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.hashesRunning >= this.maxConcurrentHashes) await new Promise<void>((go) => this.hashWaiters.push(go));
    this.hashesRunning++;
    try {
      return await fn();
    } finally {
      this.hashesRunning--;
      this.hashWaiters.shift()?.();
    }
  }

  /** One warn line per address per LOG_EVERY_MS at most; never the password. */
  private note(subject: AuthSubject, key: string, name: Buffer | null, msg: string, fields: Record<string, unknown>): void {
    const now = this.now();
    const last = this.logged.get(key);
    if (last !== undefined && now - last.at < LOG_EVERY_MS) {
      last.suppressed++;
      return;
    }
    if (this.logged.size >= MAX_LOG_ADDRESSES) this.logged.clear();
    this.logged.set(key, { at: now, suppressed: 0 });
    this.log.warn({ user: loggableName(name), remoteAddress: subject.ip ?? subject.remoteAddress, protocol: subject.protocol, ...fields, ...(last !== undefined && last.suppressed > 0 ? { suppressedSinceLastLine: last.suppressed } : {}) }, msg);
  }
}
