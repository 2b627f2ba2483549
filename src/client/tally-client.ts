// The typed TypeScript client of tally's WebSocket API (docs/client-api.md): msgpack requests matched
// to replies by id, live watches, and reconnection with jittered exponential backoff.
// Delivery is at-most-once: a request in flight when the connection drops is rejected, never re-sent.

import { Packr, Unpackr } from 'msgpackr';
import { WebSocket, type RawData } from 'ws';

/**
 * An error from the server (its Redis error text, e.g. `WRONGTYPE Operation against...`) or from the
 * client itself. `code` is the first word of the message: ERR, WRONGTYPE, NOAUTH, WRONGPASS... from the
 * server; DISCONNECTED, TIMEOUT, CLOSED or PROTOCOL from the client (see docs/client-api.md).
 */
export class TallyError extends Error {
  readonly code: string;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'TallyError';
    this.code = code ?? (message.split(' ', 1)[0] || 'ERR');
  }
}

/** A counter's value: a number when it is a safe integer, a bigint beyond 2^53 - 1 (never rounded). */
export type CounterValue = number | bigint;

/** One value push of a watched key. `value` is a decimal string for a counter beyond 2^53 - 1. */
export interface WatchEvent {
  key: string;
  db: number;
  type: 'pncounter' | 'gcounter' | 'hll' | 'none' | (string & {});
  value: number | string | null;
}

export type WatchListener = (ev: WatchEvent) => void;

/** TLS settings for a `wss://` URL (node's tls.connect options of the same names). */
export interface TallyClientTls {
  /** CA certificate(s) to trust, PEM; default: the system's. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate and key, PEM, for a node that asks for one (mutual TLS). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name the node's certificate must hold; default: the URL's host. */
  servername?: string;
  /** Default true. false accepts any certificate: tests only. */
  rejectUnauthorized?: boolean;
}

export interface TallyClientOptions {
  /**
   * Sent on every (re)connection: as HTTP Basic credentials on the WebSocket upgrade (a node with
   * users requires credentials there) and then with AUTH.
   */
  password?: string;
  /** The user of `password`; default `default`. */
  username?: string;
  /** TLS settings for `wss://` URLs. */
  tls?: TallyClientTls;
  /** Reconnect after the connection drops. Default true. */
  reconnect?: boolean;
  /** How long a request may take, in ms, including waiting for a reconnection. Default 5000. */
  requestTimeoutMs?: number;
  /** Database 0..15, selected on every (re)connection. Default: the server's (0). */
  db?: number;
  /** First reconnection delay in ms; it doubles at each failure. Default 100. */
  backoffInitialMs?: number;
  /** Longest reconnection delay in ms. Default 5000. */
  backoffMaxMs?: number;
  /** Largest frame accepted from the server, in bytes. Default 16 MiB. */
  maxPayloadBytes?: number;
}

export const TALLY_CLIENT_DEFAULTS = Object.freeze({
  reconnect: true,
  requestTimeoutMs: 5000,
  backoffInitialMs: 100,
  backoffMaxMs: 5000,
  maxPayloadBytes: 16 * 1024 * 1024,
});

interface ClientEvents {
  /** The connection is back (after AUTH, SELECT and re-watching). */
  reconnect: () => void;
  /** The connection dropped; in-flight requests have been rejected with DISCONNECTED. */
  disconnect: (err: TallyError) => void;
  /** Something went wrong that no request owns: a failed reconnection handshake, a throwing listener. */
  error: (err: Error) => void;
}

type Frame = Record<string, unknown>;
interface Outstanding {
  readonly frame: Frame;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: TallyError) => void;
  timer: NodeJS.Timeout | null;
  id: number;
}

const packr = new Packr({ useRecords: false, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false });
const DECIMAL = /^-?[0-9]+$/;

/** A decimal counter from a reply (number or string) as a number, or a bigint when beyond 2^53 - 1. */
function toCounter(v: unknown): CounterValue {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && DECIMAL.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : BigInt(v);
  }
  throw new TallyError(`PROTOCOL expected an integer reply, got ${typeof v}`);
}

function toInt(v: unknown): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  throw new TallyError(`PROTOCOL expected an integer reply, got ${typeof v}`);
}

function checkOpt(name: string, v: number, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`TallyClient: ${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  return v;
}

/** A connection to one tally node. Create with `TallyClient.connect(url)`. */
export class TallyClient {
  private ws: WebSocket | null = null;
  /** Open and handshake done: requests go straight out. */
  private ready = false;
  private closed = false;
  private reconnecting = false;
  private nextId = 1;
  private readonly pending = new Map<number, Outstanding>();
  /** Requests issued while disconnected, sent after the reconnection (or timed out). */
  private waiting: Outstanding[] = [];
  private readonly watchers = new Map<string, Set<WatchListener>>();
  private readonly listeners: { [E in keyof ClientEvents]: Set<ClientEvents[E]> } = { reconnect: new Set(), disconnect: new Set(), error: new Set() };
  private backoffTimer: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  private readonly opts: Required<Omit<TallyClientOptions, 'password' | 'db' | 'username' | 'tls'>> & Pick<TallyClientOptions, 'password' | 'db' | 'username' | 'tls'>;

  private constructor(readonly url: string, options: TallyClientOptions) {
    const d = TALLY_CLIENT_DEFAULTS;
    this.opts = {
      reconnect: options.reconnect ?? d.reconnect,
      requestTimeoutMs: checkOpt('requestTimeoutMs', options.requestTimeoutMs ?? d.requestTimeoutMs, 1, 2 ** 31 - 1),
      backoffInitialMs: checkOpt('backoffInitialMs', options.backoffInitialMs ?? d.backoffInitialMs, 1, 3_600_000),
      backoffMaxMs: checkOpt('backoffMaxMs', options.backoffMaxMs ?? d.backoffMaxMs, 1, 3_600_000),
      maxPayloadBytes: checkOpt('maxPayloadBytes', options.maxPayloadBytes ?? d.maxPayloadBytes, 1024, 2 ** 31 - 1),
    };
    if (options.password !== undefined) this.opts.password = options.password;
    if (options.username !== undefined) this.opts.username = options.username;
    if (options.tls !== undefined) this.opts.tls = options.tls;
    if (options.db !== undefined) this.opts.db = checkOpt('db', options.db, 0, 15);
  }

  /**
   * Connects, authenticates and selects the database. The first connection is not retried: a wrong URL
   * or password rejects here. Later drops are retried when `reconnect` is on.
   */
  static async connect(url: string, opts: TallyClientOptions = {}): Promise<TallyClient> {
    const c = new TallyClient(url, opts);
    try {
      await c.openSocket();
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  /** True while connected and ready for requests. */
  get connected(): boolean {
    return this.ready;
  }

  on<E extends keyof ClientEvents>(event: E, fn: ClientEvents[E]): this {
    this.listeners[event].add(fn);
    return this;
  }

  off<E extends keyof ClientEvents>(event: E, fn: ClientEvents[E]): this {
    this.listeners[event].delete(fn);
    return this;
  }

  // ---- typed commands ----

  /** INCR / INCRBY. Returns the new value. */
  async incr(key: string, by: number | bigint = 1): Promise<CounterValue> {
    return toCounter(await (by === 1 ? this.command('INCR', key) : this.command('INCRBY', key, by)));
  }

  /** DECR / DECRBY. Returns the new value. */
  async decr(key: string, by: number | bigint = 1): Promise<CounterValue> {
    return toCounter(await (by === 1 ? this.command('DECR', key) : this.command('DECRBY', key, by)));
  }

  /**
   * GET: the counter's value, or null if the key does not exist. A key that holds no counter rejects
   * with WRONGTYPE: a HyperLogLog answers GET with its bytes in Redis's form (for a Redis client
   * that copies it), which `command('GET', key)` returns as they are.
   */
  async get(key: string): Promise<CounterValue | null> {
    const v = await this.command('GET', key);
    if (v instanceof Uint8Array) throw new TallyError(`WRONGTYPE '${key}' holds a HyperLogLog, not a counter: use pfcount(), or command('GET', key) for its ${v.length} bytes in Redis's form`);
    return v === null ? null : toCounter(v);
  }

  /** SET key n: an observed reset of the counter, then an increment to n. */
  async set(key: string, n: number | bigint): Promise<void> {
    await this.command('SET', key, n);
  }

  /** DEL: how many of the keys existed. */
  async del(...keys: string[]): Promise<number> {
    return toInt(await this.command('DEL', ...keys));
  }

  /** EXISTS: how many of the keys exist (a key named twice counts twice, as in Redis). */
  async exists(...keys: string[]): Promise<number> {
    return toInt(await this.command('EXISTS', ...keys));
  }

  /** PFADD: true if the HyperLogLog changed (or was created). */
  async pfadd(key: string, ...elements: (string | Uint8Array)[]): Promise<boolean> {
    return toInt(await this.command('PFADD', key, ...elements)) === 1;
  }

  /** PFCOUNT: the estimated cardinality of the union of the keys. */
  async pfcount(...keys: string[]): Promise<number> {
    return toInt(await this.command('PFCOUNT', ...keys));
  }

  /** PFMERGE dest src...: dest becomes the union of itself and the sources. */
  async pfmerge(dest: string, ...sources: string[]): Promise<void> {
    await this.command('PFMERGE', dest, ...sources);
  }

  /** WINDOW.CREATE: a windowed counter with buckets of `granularityS` kept for `retentionS` (docs/crdt-windowed.md). */
  async windowCreate(key: string, granularityS: number, retentionS: number): Promise<void> {
    await this.command('WINDOW.CREATE', key, granularityS, retentionS);
  }

  /** WINDOW.INCRBY, at the node's time or at `atMs` (backfill within the retention). Returns that bucket's new total. */
  async windowIncr(key: string, by = 1, atMs?: number): Promise<CounterValue> {
    return toCounter(await (atMs === undefined ? this.command('WINDOW.INCRBY', key, by) : this.command('WINDOW.INCRBY', key, by, 'AT', atMs)));
  }

  /** WINDOW.COUNT: the sum of the buckets holding [fromMs, toMs]. */
  async windowCount(key: string, fromMs: number, toMs: number): Promise<CounterValue> {
    return toCounter(await this.command('WINDOW.COUNT', key, fromMs, toMs));
  }

  /** WINDOW.SLIDING: the interpolated count of the last `seconds`. */
  async windowSliding(key: string, seconds: number): Promise<number> {
    return toInt(await this.command('WINDOW.SLIDING', key, seconds));
  }

  /** THROTTLE: checks and counts `cost` against a cluster-wide `limit` per sliding `periodS`. */
  async throttle(key: string, limit: number, periodS: number, cost = 1): Promise<{ allowed: boolean; limit: number; remaining: number; retryAfterS: number; resetAfterS: number }> {
    const v = (await this.command('THROTTLE', key, limit, periodS, cost)) as unknown[];
    const [allowed, lim, remaining, retryAfterS, resetAfterS] = v.map(toInt) as [number, number, number, number, number];
    return { allowed: allowed === 1, limit: lim, remaining, retryAfterS, resetAfterS };
  }

  /** CMS.INITBYDIM / CMS.INITBYPROB. */
  async cmsInit(key: string, dims: { width: number; depth: number } | { error: number; probability: number }): Promise<void> {
    await ('width' in dims ? this.command('CMS.INITBYDIM', key, dims.width, dims.depth) : this.command('CMS.INITBYPROB', key, String(dims.error), String(dims.probability)));
  }

  /** CMS.INCRBY item n [item n ...]: the new estimates. */
  async cmsIncrBy(key: string, ...pairs: [string | Uint8Array, number][]): Promise<CounterValue[]> {
    return ((await this.command('CMS.INCRBY', key, ...pairs.flat())) as unknown[]).map(toCounter);
  }

  /** CMS.QUERY: estimates, never below the true counts. */
  async cmsQuery(key: string, ...items: (string | Uint8Array)[]): Promise<CounterValue[]> {
    return ((await this.command('CMS.QUERY', key, ...items)) as unknown[]).map(toCounter);
  }

  /** TOPK.RESERVE key k [width depth decay]. */
  async topkReserve(key: string, k: number, dims?: { width: number; depth: number }): Promise<void> {
    await (dims === undefined ? this.command('TOPK.RESERVE', key, k) : this.command('TOPK.RESERVE', key, k, dims.width, dims.depth, '0.9'));
  }

  /** TOPK.ADD: per item, the item it expelled from the top k, or null. */
  async topkAdd(key: string, ...items: (string | Uint8Array)[]): Promise<(string | null)[]> {
    return ((await this.command('TOPK.ADD', key, ...items)) as unknown[]).map((x) => (x === null ? null : String(x)));
  }

  /** TOPK.LIST WITHCOUNT: the top k with their estimated counts, highest first. */
  async topkList(key: string): Promise<{ item: string; count: CounterValue }[]> {
    const v = (await this.command('TOPK.LIST', key, 'WITHCOUNT')) as unknown[];
    const out: { item: string; count: CounterValue }[] = [];
    for (let i = 0; i + 1 < v.length; i += 2) out.push({ item: String(v[i]), count: toCounter(v[i + 1]) });
    return out;
  }

  async ping(message?: string): Promise<string> {
    return String(await (message === undefined ? this.command('PING') : this.command('PING', message)));
  }

  /** INFO [section]: Redis's INFO text. */
  async info(section?: string): Promise<string> {
    return String(await (section === undefined ? this.command('INFO') : this.command('INFO', section)));
  }

  /** Any command, raw: the reply value as the protocol maps it (docs/client-api.md, "Value mapping"). */
  command(name: string, ...args: (string | Uint8Array | number | bigint)[]): Promise<unknown> {
    return this.request({ cmd: name, args: args.map((a) => (typeof a === 'bigint' ? a.toString() : a)) });
  }

  /**
   * Watches keys: `onValue` gets each key's current value right away, then its latest value after
   * changes (at most one push per key per server throttle window). Watches survive reconnections.
   * Resolves with a function that removes this subscription.
   */
  async watch(keys: string[], onValue: WatchListener): Promise<() => Promise<void>> {
    const unique = [...new Set(keys)];
    if (unique.length === 0) throw new TallyError('ERR watch needs at least one key');
    for (const k of unique) {
      let set = this.watchers.get(k);
      if (set === undefined) this.watchers.set(k, (set = new Set()));
      set.add(onValue);
    }
    const removeLocal = (): string[] => {
      const gone: string[] = [];
      for (const k of unique) {
        const set = this.watchers.get(k);
        if (set === undefined) continue;
        set.delete(onValue);
        if (set.size === 0) {
          this.watchers.delete(k);
          gone.push(k);
        }
      }
      return gone;
    };
    try {
      await this.request(this.watchFrame('watch', unique));
    } catch (e) {
      removeLocal();
      throw e;
    }
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      const gone = removeLocal();
      // While disconnected there is nothing to tell: the reconnection re-watches only what is still watched.
      if (gone.length === 0 || !this.ready) return;
      try {
        await this.request(this.watchFrame('unwatch', gone));
      } catch (e) {
        if (!(e instanceof TallyError && (e.code === 'DISCONNECTED' || e.code === 'CLOSED'))) throw e;
      }
    };
  }

  /** Closes the connection; pending and waiting requests are rejected with CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.closed && this.ws === null) return;
    this.closed = true;
    this.ready = false;
    if (this.backoffTimer !== null) {
      clearTimeout(this.backoffTimer.timer);
      this.backoffTimer.wake();
    }
    const err = new TallyError('CLOSED the client was closed');
    this.failWaiting(err);
    this.failPending(err);
    const ws = this.ws;
    this.ws = null;
    if (ws !== null && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => ws.terminate(), 1000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        ws.close(1000, 'client closed');
      });
    }
  }

  // ---- connection management ----

  private watchFrame(kind: 'watch' | 'unwatch', keys: string[]): Frame {
    return this.opts.db === undefined ? { [kind]: keys } : { [kind]: keys, db: this.opts.db };
  }

  /** Opens one socket and runs the handshake (AUTH, SELECT, re-watch). Rejects if either fails. */
  private openSocket(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (e: TallyError): void => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      const { password, username, tls } = this.opts;
      const ws = new WebSocket(this.url, {
        perMessageDeflate: false,
        maxPayload: this.opts.maxPayloadBytes,
        handshakeTimeout: this.opts.requestTimeoutMs,
        ...(password === undefined ? {} : { headers: { authorization: `Basic ${Buffer.from(`${username ?? 'default'}:${password}`).toString('base64')}` } }),
        ...(tls ?? {}),
      });
      ws.binaryType = 'nodebuffer';
      ws.on('error', (e: Error) => fail(new TallyError(`DISCONNECTED cannot connect to ${this.url}: ${e.message}`)));
      // A refused upgrade (401 without or with wrong credentials, 403 in protected mode) carries the
      // server's error text, e.g. `WRONGPASS ...`: reject with it, so its code says what went wrong.
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (body.length < 4096) body += d;
        });
        res.on('end', () => {
          let text = `DISCONNECTED ${this.url} refused the connection (HTTP ${res.statusCode})`;
          try {
            const err = (JSON.parse(body) as { error?: unknown }).error;
            if (typeof err === 'string' && err.length > 0) text = err;
          } catch {
            // not JSON: keep the generic text
          }
          fail(new TallyError(text));
          ws.terminate();
        });
      });
      ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
      ws.on('close', (code: number, reason: Buffer) => {
        const why = `connection to ${this.url} closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`;
        const wasReady = this.ready && this.ws === ws;
        if (this.ws === ws) {
          // Only this socket's requests are pending: a new socket is opened only after this one closed.
          this.ws = null;
          this.ready = false;
          this.failPending(new TallyError(`DISCONNECTED ${why}; the request may or may not have been applied`));
        }
        fail(new TallyError(`DISCONNECTED ${why}`));
        if (wasReady) this.lost(new TallyError(`DISCONNECTED ${why}`));
      });
      ws.on('open', () => {
        if (this.closed) {
          ws.close(1000, 'client closed');
          return;
        }
        this.ws = ws;
        this.handshake().then(
          () => {
            if (settled || this.ws !== ws) return;
            settled = true;
            this.ready = true;
            resolve();
            this.flushWaiting();
          },
          (e: unknown) => {
            fail(e instanceof TallyError ? e : new TallyError(`PROTOCOL handshake failed: ${String(e)}`));
            ws.terminate();
          },
        );
      });
    });
  }

  private async handshake(): Promise<void> {
    if (this.opts.password !== undefined) {
      await this.send({ cmd: 'AUTH', args: this.opts.username === undefined ? [this.opts.password] : [this.opts.username, this.opts.password] });
    }
    if (this.opts.db !== undefined) await this.send({ cmd: 'SELECT', args: [this.opts.db] });
    if (this.watchers.size > 0) {
      try {
        await this.send(this.watchFrame('watch', [...this.watchers.keys()]));
      } catch (e) {
        if (e instanceof TallyError && e.code === 'DISCONNECTED') throw e;
        this.emit('error', e instanceof Error ? e : new Error(String(e))); // e.g. a lowered watch limit: keep the connection
      }
    }
  }

  /** A ready connection dropped: tell listeners and start reconnecting (or fail what waits). */
  private lost(err: TallyError): void {
    this.emit('disconnect', err);
    if (this.opts.reconnect && !this.closed) void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      for (let attempt = 0; !this.closed; attempt++) {
        // Jittered exponential backoff: a random delay in [d/2, d], d = min(max, initial * 2^attempt).
        const d = Math.min(this.opts.backoffMaxMs, this.opts.backoffInitialMs * 2 ** Math.min(attempt, 30));
        await new Promise<void>((wake) => {
          const timer = setTimeout(wake, d / 2 + Math.random() * (d / 2));
          this.backoffTimer = { timer, wake };
        });
        this.backoffTimer = null;
        if (this.closed) return;
        try {
          await this.openSocket();
        } catch (e) {
          if (e instanceof TallyError && e.code !== 'DISCONNECTED') this.emit('error', e); // e.g. WRONGPASS
          continue;
        }
        this.emit('reconnect');
        return;
      }
    } finally {
      this.reconnecting = false;
    }
  }

  /** A request from the API: sent now if ready, else queued for the reconnection, bounded by the timeout. */
  private request(frame: Frame): Promise<unknown> {
    if (this.closed) return Promise.reject(new TallyError('CLOSED the client was closed'));
    if (!this.ready && !(this.opts.reconnect && this.reconnecting)) {
      return Promise.reject(new TallyError('DISCONNECTED not connected and reconnection is off'));
    }
    return new Promise((resolve, reject) => {
      const item: Outstanding = { frame, resolve, reject, timer: null, id: 0 };
      item.timer = setTimeout(() => {
        if (item.id !== 0) this.pending.delete(item.id);
        else this.waiting = this.waiting.filter((w) => w !== item);
        const where = item.id !== 0 ? 'no reply' : 'not reconnected';
        reject(new TallyError(`TIMEOUT ${where} within ${this.opts.requestTimeoutMs} ms; the request may or may not have been applied`));
      }, this.opts.requestTimeoutMs);
      if (this.ready) this.transmit(item);
      else this.waiting.push(item);
    });
  }

  /** Sends a handshake request on the current socket, bypassing the ready gate. */
  private send(frame: Frame): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const item: Outstanding = { frame, resolve, reject, timer: null, id: 0 };
      item.timer = setTimeout(() => {
        this.pending.delete(item.id);
        reject(new TallyError(`TIMEOUT no reply within ${this.opts.requestTimeoutMs} ms`));
      }, this.opts.requestTimeoutMs);
      this.transmit(item);
    });
  }

  private transmit(item: Outstanding): void {
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) {
      this.settle(item, new TallyError('DISCONNECTED not connected'));
      return;
    }
    item.id = this.nextId++;
    this.pending.set(item.id, item);
    let bytes: Buffer;
    try {
      bytes = packr.pack({ id: item.id, ...item.frame });
    } catch (e) {
      this.pending.delete(item.id);
      this.settle(item, new TallyError(`ERR cannot encode request: ${String(e)}`));
      return;
    }
    ws.send(bytes, { binary: true });
  }

  private flushWaiting(): void {
    const queued = this.waiting;
    this.waiting = [];
    for (const item of queued) this.transmit(item);
  }

  private settle(item: Outstanding, err: TallyError | null, value?: unknown): void {
    if (item.timer !== null) clearTimeout(item.timer);
    item.timer = null;
    if (err === null) item.resolve(value);
    else item.reject(err);
  }

  private failPending(err: TallyError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const item of all) this.settle(item, err);
  }

  private failWaiting(err: TallyError): void {
    const all = this.waiting;
    this.waiting = [];
    for (const item of all) this.settle(item, err);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    let msg: unknown;
    try {
      if (!isBinary) throw new Error('text frame');
      msg = unpackr.unpack(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
    } catch (e) {
      this.emit('error', new TallyError(`PROTOCOL undecodable frame from server: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as Record<string, unknown>;
    if (m.event === 'value') {
      this.dispatch(m);
      return;
    }
    if (typeof m.id !== 'number') {
      if (typeof m.err === 'string') this.emit('error', new TallyError(m.err));
      return;
    }
    const item = this.pending.get(m.id);
    if (item === undefined) return; // timed out already
    this.pending.delete(m.id);
    if (typeof m.err === 'string') this.settle(item, new TallyError(m.err));
    else this.settle(item, null, m.ok);
  }

  private dispatch(m: Record<string, unknown>): void {
    if (typeof m.key !== 'string') return;
    const set = this.watchers.get(m.key);
    if (set === undefined) return;
    const ev: WatchEvent = {
      key: m.key,
      db: typeof m.db === 'number' ? m.db : 0,
      type: typeof m.type === 'string' ? m.type : 'none',
      value: typeof m.value === 'number' || typeof m.value === 'string' ? m.value : null,
    };
    for (const fn of [...set]) {
      try {
        fn(ev);
      } catch (e) {
        this.emit('error', e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  private emit<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void {
    for (const fn of [...this.listeners[event]]) {
      try {
        (fn as (...a: unknown[]) => void)(...args);
      } catch {
        // a throwing event listener must not break the connection
      }
    }
  }
}
