// WsClientApi over a real WebSocket on 127.0.0.1 with a real Keyspace behind the shared command table:
// requests and typed replies, Redis errors, malformed frames, watches and throttling, unwatch, AUTH.
// Polls with deadlines, never fixed sleeps.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Packr, Unpackr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import { execute } from '../../src/server/commands/table.js';
import type { CommandServices, Session } from '../../src/server/commands/types.js';
import { decodeFrame, replyValue, WsClientApi, type WsClientApiOptions } from '../../src/server/ws-api.js';

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ mapsAsObjects: true });

/** Polls `cond` until it holds or the deadline passes. */
async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

interface Harness {
  api: WsClientApi;
  keyspace: Keyspace;
  services: CommandServices;
  url: string;
  /** A session for writing straight through the command table, as another client would. */
  local: Session;
  stop(): Promise<void>;
}

function newSession(id: number, remoteAddress: string, authenticated: boolean): Session {
  const now = Date.now();
  return { id, db: 0, name: null, authenticated, protocol: 'ws', remoteAddress, createdAt: now, lastCommandAt: now, lastCommand: '' };
}

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.stop()));
});

async function start(opts: { password?: string } & Partial<Omit<WsClientApiOptions, 'services' | 'newSession'>> = {}): Promise<Harness> {
  const password = opts.password ?? null;
  let api: WsClientApi | undefined;
  // Every change (local write, merge from a peer, delete, flush) reaches the watchers, as the node wires it.
  const keyspace = new Keyspace('n1:1', { changed: (k) => api?.notifyChanged(k) });
  const sessions: Session[] = [];
  const services: CommandServices = {
    keyspace,
    password,
    counterTypeFor: (k) => (k.slice(1).startsWith('g:') ? 'gcounter' : 'pncounter'),
    nodeId: 'n1',
    clusterName: 'test',
    version: '0.0.0-test',
    startedAt: Date.now(),
    now: () => Date.now(),
    infoSections: () => ({}),
    configValues: () => ({}),
    listClients: () => sessions,
  };
  let ids = 1;
  const { password: _p, ...rest } = opts;
  api = new WsClientApi({
    ...rest,
    services,
    newSession: (addr) => {
      const s = newSession(ids++, addr, password === null);
      sessions.push(s);
      return s;
    },
    closeSession: (s) => {
      sessions.splice(sessions.indexOf(s), 1);
    },
  });
  const wsApi = api;
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/ws') wsApi.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const h: Harness = {
    api: wsApi,
    keyspace,
    services,
    url: `ws://127.0.0.1:${port}/ws`,
    local: newSession(1000, 'local', true),
    stop: async () => {
      await wsApi.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  harnesses.push(h);
  return h;
}

type Msg = Record<string, unknown>;

/** A raw protocol client: sends maps, collects every decoded frame. */
class Raw {
  readonly inbox: Msg[] = [];
  closeCode: number | null = null;
  closeReason = '';
  private nextId = 1;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer, isBinary: boolean) => {
      expect(isBinary).toBe(true);
      this.inbox.push(unpackr.unpack(d) as Msg);
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
  }

  static async open(url: string): Promise<Raw> {
    const ws = new WebSocket(url);
    const raw = new Raw(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return raw;
  }

  send(frame: Msg): number {
    const id = this.nextId++;
    this.ws.send(packr.pack({ id, ...frame }));
    return id;
  }

  /** Sends a request and resolves with its response frame. */
  async req(frame: Msg): Promise<Msg> {
    const id = this.send(frame);
    return this.waitFor((m) => m.id === id, `reply to ${id}`);
  }

  /** Sends `[cmd, ...args]` and resolves with `ok`, or throws the `err` text. */
  async cmd(cmd: string, ...args: unknown[]): Promise<unknown> {
    const r = await this.req({ cmd, args });
    if ('err' in r) throw new Error(String(r.err));
    return r.ok;
  }

  async waitFor(pred: (m: Msg) => boolean, what: string): Promise<Msg> {
    let found: Msg | undefined;
    await until(() => (found = this.inbox.find(pred)) !== undefined, what);
    return found as Msg;
  }

  events(key?: string): Msg[] {
    return this.inbox.filter((m) => m.event === 'value' && (key === undefined || m.key === key));
  }

  close(): void {
    this.ws.close();
  }
}

function errOf(m: Msg): string {
  expect(m).toHaveProperty('err');
  return String(m.err);
}

describe('requests and replies', () => {
  it('runs commands through the shared table with typed values', async () => {
    const h = await start();
    const c = await Raw.open(h.url);
    expect(await c.cmd('PING')).toBe('PONG');
    expect(await c.cmd('incr', 'k')).toBe(1);
    expect(await c.cmd('INCRBY', 'k', 41)).toBe(42); // a number argument is sent as its decimal
    expect(await c.cmd('INCRBY', 'k', 8n)).toBe(50);
    expect(await c.cmd('GET', 'k')).toBe('50'); // GET is a bulk reply, as in Redis
    expect(await c.cmd('GET', 'missing')).toBe(null);
    expect(await c.cmd('MGET', 'k', 'missing')).toEqual(['50', null]);
    expect(await c.cmd('DECRBY', 'k', -1)).toBe(51);
    expect(await c.cmd('SET', 'big', Number.MAX_SAFE_INTEGER)).toBe('OK');
    expect(await c.cmd('GET', 'big')).toBe(String(Number.MAX_SAFE_INTEGER));
    expect(await c.cmd('EXISTS', 'k', 'k', 'nope')).toBe(2);
    expect(await c.cmd('PFADD', 'h', 'a', 'b', new Uint8Array([0xff, 0x00]))).toBe(1);
    expect(await c.cmd('PFCOUNT', 'h')).toBe(3);
    expect(await c.cmd('TALLY.TYPE', 'h')).toBe('hll');
    expect(await c.cmd('DEL', 'k', 'nope')).toBe(1);
    expect(await c.cmd('ECHO', 'héllo')).toBe('héllo');
    const bin = await c.cmd('ECHO', new Uint8Array([0xc3, 0x28, 0x00]));
    expect(bin).toBeInstanceOf(Uint8Array); // not valid UTF-8: stays binary
    expect([...(bin as Uint8Array)]).toEqual([0xc3, 0x28, 0x00]);
    expect(String(await c.cmd('INFO', 'server'))).toContain('tally_node_id:n1');
    expect(await c.cmd('DBSIZE')).toBe(2);
  });

  it('answers pipelined requests in order', async () => {
    const h = await start();
    const c = await Raw.open(h.url);
    const ids: number[] = [];
    for (let i = 0; i < 200; i++) ids.push(c.send({ cmd: 'INCR', args: ['n'] }));
    await until(() => c.inbox.length === 200, '200 replies');
    expect(c.inbox.map((m) => m.id)).toEqual(ids);
    expect(c.inbox.map((m) => m.ok)).toEqual(ids.map((_, i) => i + 1));
  });

  it('applies a per-request db to that request only', async () => {
    const h = await start();
    const c = await Raw.open(h.url);
    expect((await c.req({ cmd: 'INCR', args: ['k'], db: 3 })).ok).toBe(1);
    expect(await c.cmd('GET', 'k')).toBe(null);
    expect((await c.req({ cmd: 'GET', args: ['k'], db: 3 })).ok).toBe('1');
    expect(h.keyspace.getCounter(fullKey(3, 'k'))).toEqual({ ok: true, value: 1 });
    expect(await c.cmd('SELECT', 3)).toBe('OK');
    expect(await c.cmd('GET', 'k')).toBe('1');
  });

  it('maps replies exactly: big integers as strings, nested errors as {err}', () => {
    expect(replyValue({ kind: 'int', value: 2n ** 60n })).toBe('1152921504606846976');
    expect(replyValue({ kind: 'int', value: 12n })).toBe(12);
    expect(replyValue({ kind: 'array', value: null })).toBe(null);
    expect(replyValue({ kind: 'array', value: [{ kind: 'error', message: 'ERR x' }, { kind: 'bulk', value: Buffer.from('ok') }] })).toEqual([{ err: 'ERR x' }, 'ok']);
  });

  it('passes Redis error strings through', async () => {
    const h = await start();
    const c = await Raw.open(h.url);
    await c.cmd('PFADD', 'h', 'x');
    expect(errOf(await c.req({ cmd: 'INCR', args: ['h'] }))).toBe('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(errOf(await c.req({ cmd: 'GET' }))).toBe("ERR wrong number of arguments for 'get' command");
    expect(errOf(await c.req({ cmd: 'INCRBY', args: ['k', 'x'] }))).toBe('ERR value is not an integer or out of range');
    expect(errOf(await c.req({ cmd: 'NOPE', args: ['a'] }))).toMatch(/^ERR unknown command 'NOPE'/);
    expect(await c.cmd('PING')).toBe('PONG');
  });

  it('QUIT replies OK and closes normally', async () => {
    const h = await start();
    const c = await Raw.open(h.url);
    expect(await c.cmd('QUIT')).toBe('OK');
    await until(() => c.closeCode !== null, 'close');
    expect(c.closeCode).toBe(1000);
    await until(() => h.api.clientCount() === 0, 'client gone');
  });
});

describe('malformed frames', () => {
  const cases: [string, Buffer, number | null, RegExp][] = [
    ['not msgpack', Buffer.from([0x82, 0xa2, 0x69]), null, /^ERR invalid frame: not valid msgpack/],
    ['msgpack nil', Buffer.from([0xc0]), null, /the frame must be a msgpack map/],
    ['trailing bytes', Buffer.concat([packr.pack({ id: 1, cmd: 'INCR', args: ['k'] }), Buffer.from([0x01])]), null, /not valid msgpack/],
    ['an array', packr.pack([1, 'INCR', 'k']), null, /the frame must be a msgpack map/],
    ['no id', packr.pack({ cmd: 'INCR', args: ['k'] }), null, /missing id/],
    ['string id', packr.pack({ id: 'a', cmd: 'INCR', args: ['k'] }), null, /id must be a safe integer/],
    ['no cmd', packr.pack({ id: 7, args: ['k'] }), 7, /expected one of cmd, watch or unwatch/],
    ['cmd and watch', packr.pack({ id: 8, cmd: 'INCR', watch: ['k'] }), 8, /exclusive/],
    ['numeric cmd', packr.pack({ id: 9, cmd: 5 }), 9, /cmd must be a non-empty string/],
    ['args not array', packr.pack({ id: 10, cmd: 'INCR', args: 'k' }), 10, /args must be an array/],
    ['boolean arg', packr.pack({ id: 11, cmd: 'INCR', args: [true] }), 11, /args\[0\] must be a string, binary or finite number/],
    ['NaN arg', packr.pack({ id: 12, cmd: 'INCRBY', args: ['k', NaN] }), 12, /args\[1\]/],
    ['db out of range', packr.pack({ id: 13, cmd: 'INCR', args: ['k'], db: 16 }), 13, /db must be an integer from 0 to 15/],
    ['watch not array', packr.pack({ id: 14, watch: 'k' }), 14, /watch must be an array/],
    ['watch number key', packr.pack({ id: 15, watch: ['a', 1] }), 15, /watch\[1\] must be a string/],
    ['empty watch', packr.pack({ id: 16, watch: [] }), 16, /at least one key/],
  ];

  it.each(cases)('%s gets a clear error and changes nothing', async (_name, bytes, id, re) => {
    const h = await start();
    const c = await Raw.open(h.url);
    c.ws.send(bytes);
    const m = await c.waitFor((x) => 'err' in x, 'error reply');
    expect(m.id).toBe(id);
    expect(String(m.err)).toMatch(re);
    expect(h.keyspace.size).toBe(0);
    expect(h.api.watchedKeyCount()).toBe(0);
    expect(await c.cmd('PING')).toBe('PONG'); // still open
    expect(h.api.stats.badFrames).toBe(1);
  });

  it('rejects text frames', async () => {
    const h = await start();
    const c = await Raw.open(h.url);
    c.ws.send(JSON.stringify({ id: 1, cmd: 'INCR', args: ['k'] }));
    const m = await c.waitFor((x) => 'err' in x, 'error reply');
    expect(m).toEqual({ id: null, err: expect.stringMatching(/text frames are not accepted/) as unknown });
    expect(h.keyspace.size).toBe(0);
    expect(await c.cmd('PING')).toBe('PONG');
  });

  it('closes with 1008 after 20 consecutive bad frames; good frames reset the streak', async () => {
    const h = await start();
    const c = await Raw.open(h.url);
    for (let i = 0; i < 19; i++) c.ws.send(Buffer.from([0xc1]));
    expect(await c.cmd('PING')).toBe('PONG');
    for (let i = 0; i < 19; i++) c.ws.send(Buffer.from([0xc1]));
    expect(await c.cmd('PING')).toBe('PONG');
    for (let i = 0; i < 20; i++) c.ws.send(Buffer.from([0xc1]));
    await until(() => c.closeCode !== null, 'close');
    expect(c.closeCode).toBe(1008);
    expect(c.closeReason).toBe('too many malformed frames');
  });

  it('closes with 1009 on an oversize frame', async () => {
    const h = await start({ maxPayloadBytes: 1024 });
    const c = await Raw.open(h.url);
    c.send({ cmd: 'ECHO', args: ['x'.repeat(2000)] });
    await until(() => c.closeCode !== null, 'close');
    expect(c.closeCode).toBe(1009);
    expect(h.keyspace.size).toBe(0);
  });

  it('decodeFrame never throws on arbitrary bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: (i % 40) + 1 }, (_, j) => (i * 31 + j * 17 + (i >> 3)) & 0xff));
      const d = decodeFrame(bytes, true);
      expect(['bad', 'cmd', 'watch', 'unwatch']).toContain(d.kind);
    }
  });
});

describe('watch', () => {
  it('sends the current values at once, then each change, for every key type', async () => {
    const h = await start({ watchThrottleMs: 20 });
    const c = await Raw.open(h.url);
    await c.cmd('INCRBY', 'p', 5);
    const r = await c.req({ watch: ['p', 'g:v', 'h', 'p'] });
    expect(r.ok).toEqual({ watching: 3 });
    await until(() => c.events().length === 3, 'initial values');
    expect(c.events()).toEqual([
      { event: 'value', key: 'p', db: 0, type: 'pncounter', value: 5 },
      { event: 'value', key: 'g:v', db: 0, type: 'none', value: null },
      { event: 'value', key: 'h', db: 0, type: 'none', value: null },
    ]);
    const w = await Raw.open(h.url);
    await w.cmd('INCRBY', 'g:v', 7);
    await w.cmd('PFADD', 'h', 'a', 'b');
    await w.cmd('DECR', 'p');
    await c.waitFor((m) => m.key === 'g:v' && m.value === 7, 'g-counter push');
    expect(c.events('g:v').at(-1)?.type).toBe('gcounter');
    await c.waitFor((m) => m.key === 'h' && m.value === 2 && m.type === 'hll', 'hll push');
    await c.waitFor((m) => m.key === 'p' && m.value === 4, 'pn-counter push');
    await w.cmd('DEL', 'p');
    await c.waitFor((m) => m.key === 'p' && m.type === 'none' && m.value === null, 'delete push');
  });

  it('pushes changes that arrive by gossip (a remote merge)', async () => {
    const h = await start({ watchThrottleMs: 20 });
    const c = await Raw.open(h.url);
    await c.req({ watch: ['k'] });
    const peer = new Keyspace('n2:1');
    peer.incrBy(fullKey(0, 'k'), 9);
    const enc = peer.encodeKey(fullKey(0, 'k'));
    expect(enc).toBeDefined();
    h.keyspace.mergeRemote(fullKey(0, 'k'), enc!.tag, enc!.bytes);
    await c.waitFor((m) => m.key === 'k' && m.value === 9, 'pushed merge');
  });

  it('watches per database', async () => {
    const h = await start({ watchThrottleMs: 10 });
    const c = await Raw.open(h.url);
    await c.req({ watch: ['k'], db: 2 });
    await c.waitFor((m) => m.event === 'value', 'initial');
    execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('k')]); // db 0: not watched
    h.local.db = 2;
    execute(h.services, h.local, [Buffer.from('INCRBY'), Buffer.from('k'), Buffer.from('3')]);
    const m = await c.waitFor((x) => x.value === 3, 'db 2 push');
    expect(m.db).toBe(2);
    expect(c.events().filter((e) => e.value === 1)).toEqual([]);
  });

  it('coalesces a burst into one push of the latest value', async () => {
    const h = await start({ watchThrottleMs: 200 });
    const c = await Raw.open(h.url);
    await c.req({ watch: ['k'] });
    await until(() => c.events().length === 1, 'initial value');
    for (let i = 0; i < 50; i++) execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('k')]);
    await c.waitFor((m) => m.value === 50, 'latest value');
    expect(c.events().map((e) => e.value)).toEqual([null, 50]);
  });

  it('throttles a steady stream per key and always delivers the last change', async () => {
    const throttle = 50;
    const h = await start({ watchThrottleMs: throttle });
    const c = await Raw.open(h.url);
    await c.req({ watch: ['a', 'b'] });
    await until(() => c.events().length === 2, 'initial values');
    const t0 = Date.now();
    let n = 0;
    // Writes spread over ~400 ms (each on its own event-loop turn), to two keys.
    while (Date.now() - t0 < 400) {
      n++;
      execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('a')]);
      execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('b')]);
      await new Promise((r) => setImmediate(r));
    }
    const elapsed = Date.now() - t0;
    await c.waitFor((m) => m.key === 'a' && m.value === n, 'last value of a');
    await c.waitFor((m) => m.key === 'b' && m.value === n, 'last value of b');
    for (const key of ['a', 'b']) {
      const values = c.events(key).slice(1).map((e) => e.value as number);
      expect(n).toBeGreaterThan(values.length * 3); // far fewer pushes than writes
      expect(values.length).toBeLessThanOrEqual(Math.ceil(elapsed / throttle) + 2);
      expect(values).toEqual([...values].sort((x, y) => x - y)); // never goes back
    }
  });

  it('unwatch stops pushes; an empty unwatch removes every watch', async () => {
    const h = await start({ watchThrottleMs: 0 });
    const c = await Raw.open(h.url);
    expect((await c.req({ watch: ['a', 'b', 'c'] })).ok).toEqual({ watching: 3 });
    expect((await c.req({ unwatch: ['a', 'zzz'] })).ok).toEqual({ watching: 2 });
    expect(h.api.watchedKeyCount()).toBe(2);
    const before = c.events('a').length;
    execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('a')]);
    execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('b')]);
    await c.waitFor((m) => m.key === 'b' && m.value === 1, 'sentinel push of b');
    expect(c.events('a').length).toBe(before);
    expect((await c.req({ unwatch: [] })).ok).toEqual({ watching: 0 });
    expect(h.api.watchedKeyCount()).toBe(0);
  });

  it('limits watches per connection and changes nothing on refusal', async () => {
    const h = await start({ maxWatchesPerClient: 3 });
    const c = await Raw.open(h.url);
    await c.req({ watch: ['a', 'b'] });
    expect(errOf(await c.req({ watch: ['c', 'd'] }))).toMatch(/too many watched keys.*limit is 3/);
    expect(h.api.watchedKeyCount()).toBe(2);
    expect((await c.req({ watch: ['a', 'c'] })).ok).toEqual({ watching: 3 });
  });

  it('drops the watches of a closed connection', async () => {
    const h = await start();
    const c = await Raw.open(h.url);
    await c.req({ watch: ['a', 'b'] });
    expect(h.api.watchedKeyCount()).toBe(2);
    c.close();
    await until(() => h.api.clientCount() === 0 && h.api.watchedKeyCount() === 0, 'cleanup');
  });
});

describe('authentication', () => {
  it('requires AUTH when a password is configured', async () => {
    const h = await start({ password: 'secret' });
    const c = await Raw.open(h.url);
    expect(errOf(await c.req({ cmd: 'INCR', args: ['k'] }))).toBe('NOAUTH Authentication required.');
    expect(errOf(await c.req({ watch: ['k'] }))).toBe('NOAUTH Authentication required.');
    expect(h.keyspace.size).toBe(0);
    expect(h.api.watchedKeyCount()).toBe(0);
    expect(errOf(await c.req({ cmd: 'AUTH', args: ['wrong'] }))).toMatch(/^WRONGPASS/);
    expect(await c.cmd('AUTH', 'secret')).toBe('OK');
    expect(await c.cmd('INCR', 'k')).toBe(1);
    expect((await c.req({ watch: ['k'] })).ok).toEqual({ watching: 1 });
  });

  it('needs no AUTH without a password', async () => {
    const h = await start();
    const c = await Raw.open(h.url);
    expect(await c.cmd('INCR', 'k')).toBe(1);
    expect(errOf(await c.req({ cmd: 'AUTH', args: ['x'] }))).toMatch(/without any password configured/);
  });
});

describe('lifecycle', () => {
  it('close() closes clients with 1001 and refuses new upgrades', async () => {
    const h = await start();
    const c = await Raw.open(h.url);
    expect(h.api.clientCount()).toBe(1);
    await h.api.close();
    await until(() => c.closeCode !== null, 'close');
    expect(c.closeCode).toBe(1001);
    expect(h.api.clientCount()).toBe(0);
    await expect(Raw.open(h.url)).rejects.toThrow(/503/);
  });
});

describe('maxClients', () => {
  it('refuses a connection beyond the limit with 1013 and Redis words, and takes one again after a close', async () => {
    const h = await start({ maxClients: 2 });
    const a = await Raw.open(h.url);
    const b = await Raw.open(h.url);
    const extra = await Raw.open(h.url);
    await until(() => extra.closeCode !== null, 'the third connection closed');
    expect(extra.closeCode).toBe(1013);
    expect(extra.closeReason).toBe('ERR max number of clients reached');
    expect(h.api.stats.connectionsRejected).toBe(1);
    expect(h.api.clientCount()).toBe(2);
    // The two admitted connections still work.
    expect(await a.cmd('PING')).toBe('PONG');
    expect(await b.cmd('PING')).toBe('PONG');
    a.ws.close(1000, 'done');
    await until(() => h.api.clientCount() === 1, 'a closed');
    const c = await Raw.open(h.url);
    expect(await c.cmd('PING')).toBe('PONG');
    expect(c.closeCode).toBeNull();
    expect(h.api.clientCount()).toBe(2);
  });
});

describe('beforeFlush', () => {
  const counter = (h: Harness, k: string): unknown => {
    const r = h.keyspace.getCounter(fullKey(0, k));
    return r.ok ? r.value : undefined;
  };
  /** A gate the test opens by hand, handed out while writes are "uncommitted" (durability `always`). */
  class Gate {
    dirty = false;
    private waiting: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;
    get(): Promise<void> | undefined {
      if (!this.dirty) return undefined;
      if (this.waiting === null) {
        let resolve!: () => void;
        let reject!: (e: unknown) => void;
        const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
        this.waiting = { promise, resolve, reject };
      }
      return this.waiting.promise;
    }
    open(): void {
      this.dirty = false;
      this.waiting?.resolve();
      this.waiting = null;
    }
    fail(): void {
      this.waiting?.reject(new Error('disk on fire'));
      this.waiting = null;
    }
  }

  it('holds replies until the gate opens, in order, and later frames wait behind them', async () => {
    const gate = new Gate();
    const h = await start({ beforeFlush: () => gate.get() });
    const c = await Raw.open(h.url);
    gate.dirty = true;
    const a = c.send({ cmd: 'INCR', args: ['k'] });
    const b = c.send({ cmd: 'INCR', args: ['k'] });
    const e = c.send({ cmd: 'GET' }); // an error reply needs no gate, but keeps its place
    await until(() => counter(h, 'k') === 2, 'both INCRs to run');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.inbox).toEqual([]);
    gate.open();
    await until(() => c.inbox.length === 3, 'the held replies');
    expect(c.inbox.map((m) => m.id)).toEqual([a, b, e]);
    expect(c.inbox.map((m) => m.ok ?? m.err)).toEqual([1, 2, "ERR wrong number of arguments for 'get' command"]);
  });

  it('a failed gate closes the connection without the held replies', async () => {
    const gate = new Gate();
    const h = await start({ beforeFlush: () => gate.get() });
    const c = await Raw.open(h.url);
    gate.dirty = true;
    c.send({ cmd: 'INCR', args: ['x'] });
    await until(() => counter(h, 'x') === 1, 'the INCR to run');
    gate.fail();
    await until(() => c.closeCode !== null, 'the connection to close');
    expect(c.inbox).toEqual([]);
    expect(c.closeCode).toBe(1006); // terminated: no close frame
  });
});
