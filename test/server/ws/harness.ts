// Shared by the WebSocket API tests: a WsClientApi on a real HTTP server on 127.0.0.1 with a real
// Keyspace behind the shared command table, and a raw msgpack client. Polls with deadlines, never sleeps.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Packr, Unpackr } from 'msgpackr';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { Keyspace } from '../../../src/keyspace/keyspace.js';
import type { CommandServices, Session } from '../../../src/server/commands/types.js';
import { WsClientApi, type WsClientApiOptions } from '../../../src/server/ws/server.js';

export const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ mapsAsObjects: true });

/** Polls `cond` until it holds or the deadline passes. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export interface Harness {
  api: WsClientApi;
  keyspace: Keyspace;
  services: CommandServices;
  url: string;
  /** A session for writing straight through the command table, as another client would. */
  local: Session;
  stop(): Promise<void>;
}

export function newSession(id: number, remoteAddress: string, authenticated: boolean): Session {
  const now = Date.now();
  return { id, db: 0, name: null, authenticated, protocol: 'ws', remoteAddress, createdAt: now, lastCommandAt: now, lastCommand: '' };
}

const harnesses: Harness[] = [];
/** Stops every harness started since the last call: each test file runs it `afterEach`. */
export async function stopAll(): Promise<void> {
  await Promise.all(harnesses.splice(0).map((h) => h.stop()));
}

export async function start(opts: { password?: string } & Partial<Omit<WsClientApiOptions, 'services' | 'newSession'>> = {}): Promise<Harness> {
  const password = opts.password ?? null;
  let api: WsClientApi | undefined;
  // Every change (local write, merge from a peer, delete, flush) reaches the watchers, as the node wires it.
  const keyspace = new Keyspace('n1:1');
  keyspace.onChange((k) => api?.notifyChanged(k));
  const sessions: Session[] = [];
  const services: CommandServices = {
    keyspace,
    password,
    counterTypeFor: (k) => (k.slice(1).startsWith('g:') ? 'gcounter' : 'pncounter'),
    nodeId: 'n1',
    clusterName: 'test',
    version: '0.0.0-test',
    now: () => Date.now(),
    info: () => ({ server: { tally_node_id: 'n1' } }),
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

export type Msg = Record<string, unknown>;

/** A raw protocol client: sends maps, collects every decoded frame. */
export class Raw {
  readonly inbox: Msg[] = [];
  /** Frames that break the protocol (text, not msgpack): every read of the inbox fails with them. */
  readonly protocolErrors: string[] = [];
  closeCode: number | null = null;
  closeReason = '';
  private nextId = 1;
  private checkProtocol(): void {
    if (this.protocolErrors.length > 0) throw new Error(`the server sent ${this.protocolErrors.join('; ')}`);
  }

  private constructor(readonly ws: WebSocket) {
    // No expect() in a socket listener (a failure there is an unhandled error the summary does not
    // count): a text frame is recorded, and every test that reads the inbox sees it.
    ws.on('message', (d: Buffer, isBinary: boolean) => {
      if (!isBinary) return void this.protocolErrors.push(`a text frame: ${d.toString().slice(0, 80)}`);
      try {
        this.inbox.push(unpackr.unpack(d) as Msg);
      } catch (e) {
        this.protocolErrors.push(`an undecodable frame: ${String(e)}`);
      }
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
    await until(() => {
      this.checkProtocol();
      return (found = this.inbox.find(pred)) !== undefined;
    }, what);
    return found as Msg;
  }

  events(key?: string): Msg[] {
    this.checkProtocol();
    return this.inbox.filter((m) => m.event === 'value' && (key === undefined || m.key === key));
  }

  close(): void {
    this.ws.close();
  }

  /** Drops the TCP connection at once, with no close handshake (a client that dies). */
  terminate(): void {
    this.ws.terminate();
  }
}

export function errOf(m: Msg): string {
  expect(m).toHaveProperty('err');
  return String(m.err);
}

/** Malformed frames: name, bytes, the id their error reply carries, and its text. */
export const MALFORMED_FRAMES: [string, Buffer, number | null, RegExp][] = [
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
