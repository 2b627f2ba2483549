// TallyClient end to end against a real WsClientApi on 127.0.0.1 backed by a real Keyspace: typed
// methods, errors, watches, reconnection after a server restart on the same port, at-most-once delivery.
// Polls with deadlines, never fixed sleeps.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { TallyClient, TallyError, type WatchEvent } from '../../src/client/index.js';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import { execute } from '../../src/server/commands/table.js';
import type { CommandServices, Session } from '../../src/server/commands/types.js';
import { WsClientApi } from '../../src/server/ws/server.js';

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function session(id: number, authenticated: boolean): Session {
  const now = Date.now();
  return { id, db: 0, name: null, authenticated, protocol: 'ws', remoteAddress: 'test', createdAt: now, lastCommandAt: now, lastCommand: '' };
}

/**
 * A node's client edge: one Keyspace that outlives restarts of the HTTP server + WsClientApi on a
 * fixed port, so "the server restarts" is exactly that. `upgrade` can be swapped to route /ws elsewhere.
 */
class Node {
  readonly keyspace: Keyspace;
  readonly services: CommandServices;
  readonly local = session(0, true);
  api: WsClientApi | null = null;
  port = 0;
  upgrades = 0;
  private server: http.Server | null = null;
  private ids = 1;

  constructor(readonly password: string | null = null) {
    this.keyspace = new Keyspace('n1:1');
    this.keyspace.onChange((k) => this.api?.notifyChanged(k));
    this.services = {
      keyspace: this.keyspace,
      password,
      counterTypeFor: () => 'pncounter',
      nodeId: 'n1',
      clusterName: 'test',
      version: '0.0.0-test',
      now: () => Date.now(),
      info: () => ({ server: { tally_node_id: 'n1' } }),
      configValues: () => ({}),
      listClients: () => [],
    };
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Starts (or restarts, on the same port) the HTTP server and a fresh WsClientApi. */
  async start(route?: (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void): Promise<void> {
    const api = new WsClientApi({ services: this.services, newSession: () => session(this.ids++, this.password === null), watchThrottleMs: 10 });
    this.api = api;
    const server = http.createServer((_q, res) => res.writeHead(404).end());
    server.on('upgrade', (req, socket, head) => {
      this.upgrades++;
      if (route !== undefined) route(req, socket, head);
      else api.handleUpgrade(req, socket, head);
    });
    // The old listener's port may take a moment to be reusable: retry until a deadline.
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    await this.api?.close();
    this.api = null;
    const s = this.server;
    this.server = null;
    if (s === null) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** A write from another client of this node. */
  run(...args: string[]): unknown {
    return execute(this.services, this.local, args.map((a) => Buffer.from(a)));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function startNode(password: string | null = null): Promise<Node> {
  const n = new Node(password);
  await n.start();
  cleanups.push(() => n.stop());
  return n;
}

async function connect(url: string, opts: Parameters<typeof TallyClient.connect>[1] = {}): Promise<TallyClient> {
  const c = await TallyClient.connect(url, opts);
  cleanups.push(() => c.close());
  return c;
}

async function rejection(p: Promise<unknown>): Promise<TallyError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TallyError);
    return e as TallyError;
  }
  throw new Error('expected a rejection');
}

describe('typed commands', () => {
  it('counters, HyperLogLogs and server commands end to end', async () => {
    const n = await startNode();
    const c = await connect(n.url);
    expect(await c.ping()).toBe('PONG');
    expect(await c.ping('hi')).toBe('hi');
    expect(await c.incr('k')).toBe(1);
    expect(await c.incr('k', 9)).toBe(10);
    expect(await c.decr('k')).toBe(9);
    expect(await c.decr('k', 4)).toBe(5);
    expect(await c.get('k')).toBe(5);
    expect(await c.get('missing')).toBe(null);
    await c.set('k', -3);
    expect(await c.get('k')).toBe(-3);
    await c.set('big', Number.MAX_SAFE_INTEGER);
    expect(await c.get('big')).toBe(Number.MAX_SAFE_INTEGER);
    expect(await c.exists('k', 'big', 'nope')).toBe(2);
    expect(await c.del('k', 'nope')).toBe(1);
    expect(await c.get('k')).toBe(null);
    expect(await c.pfadd('h1', 'a', 'b', 'c')).toBe(true);
    expect(await c.pfadd('h1', 'a')).toBe(false);
    expect(await c.pfadd('h2', 'c', 'd', new Uint8Array([1, 2, 3]))).toBe(true);
    expect(await c.pfcount('h1')).toBe(3);
    expect(await c.pfcount('h1', 'h2')).toBe(5);
    await c.pfmerge('h3', 'h1', 'h2');
    expect(await c.pfcount('h3')).toBe(5);
    expect(await c.info('server')).toContain('tally_node_id:n1');
    expect(await c.command('TALLY.TYPE', 'h3')).toBe('hll');
    expect(await c.command('MGET', 'big', 'nope')).toEqual([String(Number.MAX_SAFE_INTEGER), null]);
    expect(n.keyspace.getCounter(fullKey(0, 'big'))).toEqual({ ok: true, value: Number.MAX_SAFE_INTEGER });
  });

  it('rejects with TallyError and the Redis error code', async () => {
    const n = await startNode();
    const c = await connect(n.url);
    await c.pfadd('h', 'x');
    const wrong = await rejection(c.incr('h'));
    expect(wrong.code).toBe('WRONGTYPE');
    expect(wrong.message).toBe('WRONGTYPE Operation against a key holding the wrong kind of value');
    const arity = await rejection(c.command('GET'));
    expect(arity.code).toBe('ERR');
    expect(arity.message).toBe("ERR wrong number of arguments for 'get' command");
    expect((await rejection(c.incr('k', 1.5))).code).toBe('ERR');
    // GET of a HyperLogLog answers its Redis bytes: get() wants a counter, and says so by name.
    const hll = await rejection(c.get('h'));
    expect(hll.code).toBe('WRONGTYPE');
    expect(hll.message).toMatch(/^WRONGTYPE 'h' holds a HyperLogLog, not a counter: use pfcount\(\), or command\('GET', key\) for its \d+ bytes/);
    const bytes = (await c.command('GET', 'h')) as Uint8Array;
    expect(Buffer.from(bytes).subarray(0, 4).toString()).toBe('HYLL');
    expect(await c.incr('k')).toBe(1); // the connection is fine
  });

  it('authenticates with a password, and fails clearly without one', async () => {
    const n = await startNode('s3cret');
    const c = await connect(n.url, { password: 's3cret' });
    expect(await c.incr('k')).toBe(1);
    const bad = await rejection(TallyClient.connect(n.url, { password: 'nope' }));
    expect(bad.code).toBe('WRONGPASS');
    const anon = await connect(n.url);
    expect((await rejection(anon.get('k'))).code).toBe('NOAUTH');
  });

  it('selects the db option on connect', async () => {
    const n = await startNode();
    const c = await connect(n.url, { db: 4 });
    expect(await c.incr('k', 2)).toBe(2);
    expect(n.keyspace.getCounter(fullKey(4, 'k'))).toEqual({ ok: true, value: 2 });
    expect(n.keyspace.exists(fullKey(0, 'k'))).toBe(false);
  });

  it('fails to connect to a closed port', async () => {
    const n = await startNode();
    const url = n.url;
    await n.stop();
    expect((await rejection(TallyClient.connect(url))).code).toBe('DISCONNECTED');
  });
});

describe('watch', () => {
  it('delivers the current value, then changes; unsubscribe stops them', async () => {
    const n = await startNode();
    const c = await connect(n.url);
    await c.incr('a', 5);
    const seen: WatchEvent[] = [];
    const unsubscribe = await c.watch(['a', 'h'], (ev) => seen.push(ev));
    await until(() => seen.length === 2, 'initial values');
    expect(seen).toContainEqual({ key: 'a', db: 0, type: 'pncounter', value: 5 });
    expect(seen).toContainEqual({ key: 'h', db: 0, type: 'none', value: null });
    n.run('INCRBY', 'a', '10');
    await until(() => seen.some((e) => e.key === 'a' && e.value === 15), 'a = 15');
    await c.pfadd('h', 'x', 'y');
    await until(() => seen.some((e) => e.key === 'h' && e.type === 'hll' && e.value === 2), 'h = 2');
    await unsubscribe();
    await until(() => n.api?.watchedKeyCount() === 0, 'server-side unwatch');
    // A second subscription on the same connection still works after the first is gone.
    const other: WatchEvent[] = [];
    await c.watch(['b'], (ev) => other.push(ev));
    const before = seen.length;
    n.run('INCR', 'a');
    n.run('INCR', 'b');
    await until(() => other.some((e) => e.value === 1), 'b = 1');
    expect(seen.length).toBe(before);
  });

  it('keeps a key watched while another subscription still wants it', async () => {
    const n = await startNode();
    const c = await connect(n.url);
    const one: WatchEvent[] = [];
    const two: WatchEvent[] = [];
    const u1 = await c.watch(['k'], (e) => one.push(e));
    await c.watch(['k'], (e) => two.push(e));
    await u1();
    n.run('INCR', 'k');
    await until(() => two.some((e) => e.value === 1), 'two sees 1');
    expect(one.some((e) => e.value === 1)).toBe(false);
    expect(n.api?.watchedKeyCount()).toBe(1);
  });
});

describe('reconnection', () => {
  it('reconnects after the server restarts on the same port and re-establishes watches', async () => {
    const n = await startNode('pw');
    const c = await connect(n.url, { password: 'pw', db: 1, requestTimeoutMs: 10_000, backoffInitialMs: 20, backoffMaxMs: 200 });
    const events: string[] = [];
    c.on('disconnect', () => events.push('disconnect'));
    c.on('reconnect', () => events.push('reconnect'));
    const seen: WatchEvent[] = [];
    await c.watch(['w'], (ev) => seen.push(ev));
    expect(await c.incr('w')).toBe(1);
    await until(() => seen.some((e) => e.value === 1), 'w = 1');

    await n.stop();
    await until(() => events.includes('disconnect'), 'disconnect event');
    expect(c.connected).toBe(false);
    // Issued while the server is down: waits for the reconnection, then runs once.
    const waiting = c.incr('w');
    await n.start();
    expect(await waiting).toBe(2);
    await until(() => events.includes('reconnect'), 'reconnect event');
    expect(events).toEqual(['disconnect', 'reconnect']);
    expect(c.connected).toBe(true);
    // AUTH and SELECT ran again, and the watch is live on the new server.
    await until(() => n.api?.watchedKeyCount() === 1, 'watch re-established');
    n.local.db = 1;
    n.run('INCRBY', 'w', '40');
    await until(() => seen.some((e) => e.value === 42), 'w = 42 after the restart');
    expect(seen.every((e) => e.db === 1)).toBe(true);
  });

  it('rejects in-flight requests with DISCONNECTED and never re-sends them', async () => {
    const n = new Node();
    // First, /ws goes to a server that reads requests and never answers, then drops the connection.
    const received: Buffer[] = [];
    const hole = new WebSocketServer({ noServer: true });
    hole.on('connection', (ws) => ws.on('message', (d: Buffer) => received.push(d)));
    let blackHole = true;
    await n.start((req, socket, head) => {
      if (blackHole) hole.handleUpgrade(req, socket, head, (ws) => hole.emit('connection', ws, req));
      else n.api?.handleUpgrade(req, socket, head);
    });
    cleanups.push(async () => {
      await n.stop();
      await new Promise<void>((r) => hole.close(() => r()));
    });
    const c = await connect(n.url, { backoffInitialMs: 20, backoffMaxMs: 100, requestTimeoutMs: 10_000 });
    const inflight = c.incr('once');
    await until(() => received.length === 1, 'request reached the server');
    blackHole = false;
    for (const ws of hole.clients) ws.terminate();
    const err = await rejection(inflight);
    expect(err.code).toBe('DISCONNECTED');
    await until(() => c.connected, 'reconnected to the real API');
    expect(await c.get('once')).toBe(null); // the INCR was not replayed
    expect(received.length).toBe(1);
  });

  it('times out requests that wait longer than requestTimeoutMs for a reconnection', async () => {
    const n = await startNode();
    const c = await connect(n.url, { requestTimeoutMs: 150, backoffInitialMs: 20, backoffMaxMs: 50 });
    await n.stop();
    await until(() => !c.connected, 'disconnected');
    const err = await rejection(c.incr('k'));
    expect(err.code).toBe('TIMEOUT');
    expect(n.keyspace.size).toBe(0);
  });

  it('with reconnect off, fails fast once disconnected', async () => {
    const n = await startNode();
    const c = await connect(n.url, { reconnect: false });
    const drops: TallyError[] = [];
    c.on('disconnect', (e) => drops.push(e));
    await n.stop();
    await until(() => drops.length === 1, 'disconnect');
    expect((await rejection(c.incr('k'))).code).toBe('DISCONNECTED');
  });

  it('close() rejects later requests with CLOSED and stops reconnecting', async () => {
    const n = await startNode();
    const c = await connect(n.url);
    await c.close();
    expect((await rejection(c.ping())).code).toBe('CLOSED');
    const upgrades = n.upgrades;
    await n.stop();
    await n.start();
    expect(await (await connect(n.url)).ping()).toBe('PONG');
    expect(n.upgrades).toBe(upgrades + 1); // only the new client connected
  });
});
