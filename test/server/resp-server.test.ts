// RespServer over real TCP on 127.0.0.1: ioredis and raw sockets against a tiny in-memory handler.
// Pipelining with async commands, protocol errors, limits, backpressure, QUIT. Polls with deadlines.

import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_OK, PONG, reply, type Reply } from '../../src/server/commands/reply.js';
import type { ReplyWriter } from '../../src/server/resp/encoder.js';
import { ArgRanges } from '../../src/server/commands/arg-ranges.js';
import type { Logger } from '../../src/util/logger.js';
import {
  RespServer,
  type RespConnectionHandler,
  type RespServerOptions,
} from '../../src/server/resp/server.js';

const HOST = '127.0.0.1';

/** Polls `cond` until it holds or the deadline passes; never a fixed sleep. */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface TestSession {
  id: number;
}

/** A test command table: PING ECHO INCR GET SLOW BIG THROW REJECT QUIT, over one shared map. */
class TestHandler implements RespConnectionHandler<TestSession> {
  readonly counters = new Map<string, number>();
  readonly events: string[] = [];
  readonly opened: number[] = [];
  readonly closed: number[] = [];
  /** `received` calls per session id. */
  readonly reads = new Map<number, number>();

  /** Out-of-band reply senders of the sessions that sent MON (as MONITOR clients). */
  readonly monitors: ((r: Reply) => void)[] = [];
  private readonly pushes = new Map<number, (r: Reply) => void>();

  open(info: { id: number; push: (r: Reply) => void }): TestSession {
    this.opened.push(info.id);
    this.pushes.set(info.id, info.push);
    return { id: info.id };
  }

  received(s: TestSession): void {
    this.reads.set(s.id, (this.reads.get(s.id) ?? 0) + 1);
  }

  command(s: TestSession, args: Buffer[], out: ReplyWriter): Reply | Promise<Reply> | undefined {
    const name = (args[0] ?? Buffer.alloc(0)).toString('latin1').toUpperCase();
    switch (name) {
      case 'READS':
        return reply.int(this.reads.get(s.id) ?? 0);
      case 'PING':
        return args.length > 1 ? reply.bulk(args[1] ?? null) : PONG;
      case 'ECHO':
        return reply.bulk(Buffer.from(args[1] ?? ''));
      case 'INCR': {
        const key = String(args[1]);
        const v = (this.counters.get(key) ?? 0) + 1;
        this.counters.set(key, v);
        this.events.push(`INCR ${key}`);
        out.writeInt(v); // direct write: the fast path
        return undefined;
      }
      case 'GET': {
        const v = this.counters.get(String(args[1]));
        return reply.bulk(v === undefined ? null : String(v));
      }
      case 'SLOW': {
        // SLOW ms value: answers `value` after ms milliseconds.
        const ms = Number(String(args[1]));
        const value = String(args[2]);
        this.events.push(`SLOW start ${value}`);
        return new Promise((resolve) => {
          const timer = setTimeout(() => {
            this.events.push(`SLOW end ${value}`);
            resolve(reply.bulk(value));
          }, ms);
          timer.unref(); // a test may close the server while this is pending
        });
      }
      case 'BIG':
        return reply.bulk(Buffer.alloc(Number(String(args[1])), 0x62));
      case 'THROW':
        out.writeArrayHeader(5); // half-written reply, must be undone
        throw new Error('boom');
      case 'REJECT':
        return Promise.reject(new Error('async boom'));
      case 'QUIT':
        return CLOSE_OK;
      case 'MON': {
        const push = this.pushes.get(s.id);
        if (push !== undefined) this.monitors.push(push);
        return reply.simple('OK');
      }
      case 'TELL':
        // TELL text: an out-of-band reply to every MON session, as MONITOR lines are.
        for (const push of this.monitors) push(reply.simple(String(args[1])));
        return reply.simple('OK');
      default:
        return reply.error(`ERR unknown command '${name}'`);
    }
  }

  close(s: TestSession): void {
    this.closed.push(s.id);
  }
}

interface LogEntry {
  level: string;
  obj: object;
  msg: string;
}

function memoryLogger(entries: LogEntry[]): Logger {
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      if (typeof obj === 'string') entries.push({ level, obj: {}, msg: obj });
      else entries.push({ level, obj, msg: msg ?? '' });
    };
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return log;
}

/** A raw TCP client that accumulates everything it receives. */
class RawClient {
  readonly socket: net.Socket;
  private chunks: Buffer[] = [];
  receivedBytes = 0;
  ended = false;
  closed = false;

  constructor(port: number) {
    this.socket = net.connect({ host: HOST, port });
    this.socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.receivedBytes += c.length;
    });
    this.socket.on('end', () => (this.ended = true));
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', () => {});
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState === 'open') resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  async waitForText(expected: string): Promise<void> {
    await until(() => this.text().length >= expected.length || this.closed, `reply ${JSON.stringify(expected)}`);
    expect(this.text()).toBe(expected);
  }
}

function mb(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

const servers: RespServer<TestSession>[] = [];
const redisClients: Redis[] = [];
const rawClients: RawClient[] = [];

async function startServer(
  opts: Partial<RespServerOptions<TestSession>> = {},
): Promise<{ server: RespServer<TestSession>; port: number; handler: TestHandler; logs: LogEntry[] }> {
  const handler = new TestHandler();
  const logs: LogEntry[] = [];
  const server = new RespServer<TestSession>({ host: HOST, port: 0, handler, logger: memoryLogger(logs), ...opts });
  servers.push(server);
  const port = await server.listen();
  return { server, port, handler, logs };
}

function redis(port: number): Redis {
  const c = new Redis({ host: HOST, port, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => {});
  redisClients.push(c);
  return c;
}

function raw(port: number): RawClient {
  const c = new RawClient(port);
  rawClients.push(c);
  return c;
}

afterEach(() => {
  for (const c of redisClients.splice(0)) c.disconnect();
  for (const c of rawClients.splice(0)) c.socket.destroy();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('RespServer with ioredis', () => {
  let port = 0;
  let handler: TestHandler;

  beforeAll(async () => {
    ({ port, handler } = await startServer());
  });

  it('answers basic commands', async () => {
    const c = redis(port);
    expect(await c.ping()).toBe('PONG');
    expect(await c.echo('héllo')).toBe('héllo');
    expect(await c.incr('a')).toBe(1);
    expect(await c.incr('a')).toBe(2);
    expect(await c.get('a')).toBe('2');
    expect(await c.get('missing')).toBeNull();
    await expect(c.call('NOPE')).rejects.toThrow("ERR unknown command 'NOPE'");
  });

  it('keeps pipelined replies in request order around an async command, which blocks later commands', async () => {
    const c = redis(port);
    handler.events.length = 0;
    const results = await c
      .pipeline()
      .incr('p')
      .call('SLOW', '30', 'first')
      .incr('p')
      .call('SLOW', '0', 'second')
      .get('p')
      .ping()
      .exec();
    expect(results?.map(([e, v]) => (e ? String(e) : v))).toEqual([1, 'first', 2, 'second', '2', 'PONG']);
    // As in Redis, a command waiting for its reply blocks the connection: the INCR behind it ran after it.
    expect(handler.events).toEqual(['INCR p', 'SLOW start first', 'SLOW end first', 'INCR p', 'SLOW start second', 'SLOW end second']);
  });

  it('runs a long pipeline with binary and large arguments', async () => {
    const c = redis(port);
    const big = Buffer.alloc(600_000, 0x41);
    big[0] = 0;
    big[big.length - 1] = 13;
    const p = c.pipeline();
    for (let i = 0; i < 2000; i++) p.incr('many');
    p.echoBuffer(big);
    const results = await p.exec();
    expect(results?.[1999]?.[1]).toBe(2000);
    expect(Buffer.compare(results?.[2000]?.[1] as Buffer, big)).toBe(0);
  });

  it('answers QUIT with OK and closes the connection', async () => {
    const c = redis(port);
    await c.ping();
    expect(await c.quit()).toBe('OK');
  });
});

describe('RespServer with raw sockets', () => {
  let port = 0;
  let server: RespServer<TestSession>;
  let handler: TestHandler;
  let logs: LogEntry[];

  beforeAll(async () => {
    ({ port, server, handler, logs } = await startServer({ maxBulkBytes: 1000 }));
  });

  it('accepts inline commands, as telnet and redis-cli users send them', async () => {
    const c = raw(port);
    c.socket.write('PING\r\nECHO "hello world"\nINCR inline\r\n\r\nGET inline\r\n');
    await c.waitForText('+PONG\r\n$11\r\nhello world\r\n:1\r\n$1\r\n1\r\n');
  });

  it('writes the replies of a pipelined chunk with one socket write', async () => {
    const c = raw(port);
    await c.connected();
    await until(() => server.connectionCount >= 1, 'connection');
    // Count the server side's socket writes and the chunks it received: at most one write per chunk,
    // however the kernel splits the pipeline (events, not timing).
    let writes = 0;
    let chunks = 0;
    const original = net.Socket.prototype.write;
    const originalEmit = net.Socket.prototype.emit;
    net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
      if (this.localPort === port) writes++;
      return (original as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof original;
    net.Socket.prototype.emit = function (this: net.Socket, event: string | symbol, ...args: unknown[]) {
      if (event === 'data' && this.localPort === port) chunks++;
      return (originalEmit as (...a: unknown[]) => boolean).call(this, event, ...args);
    } as typeof originalEmit;
    try {
      const n = 100;
      c.socket.write(mb('PING').repeat(n));
      await c.waitForText('+PONG\r\n'.repeat(n));
    } finally {
      net.Socket.prototype.write = original;
      net.Socket.prototype.emit = originalEmit;
    }
    expect(chunks).toBeGreaterThanOrEqual(1);
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(chunks);
  });

  it('tells the handler of each read once, before the commands in it run', async () => {
    const c = raw(port);
    await c.connected();
    await until(() => server.connectionCount >= 1, 'connection');
    let chunks = 0;
    const originalEmit = net.Socket.prototype.emit;
    net.Socket.prototype.emit = function (this: net.Socket, event: string | symbol, ...args: unknown[]) {
      if (event === 'data' && this.localPort === port) chunks++;
      return (originalEmit as (...a: unknown[]) => boolean).call(this, event, ...args);
    } as typeof originalEmit;
    try {
      // Every READS answers how many reads the handler heard of so far: at least 1 (its own read),
      // and never more than the chunks the server received, however the kernel splits the pipeline.
      c.socket.write(mb('READS').repeat(20));
      await until(() => c.text().split('\r\n').length > 20, '20 replies');
    } finally {
      net.Socket.prototype.emit = originalEmit;
    }
    const counts = c.text().split('\r\n').filter((l) => l !== '').map((l) => Number(l.slice(1)));
    expect(counts).toHaveLength(20);
    expect(counts[0]).toBeGreaterThanOrEqual(1);
    expect(counts[19]).toBeLessThanOrEqual(chunks);
  });

  it('answers the commands before a protocol error, then the error, then closes only that connection', async () => {
    const good = raw(port);
    good.socket.write(mb('PING'));
    await good.waitForText('+PONG\r\n');

    const bad = raw(port);
    bad.socket.write(`${mb('INCR', 'pe')}*1\r\nX\r\n${mb('INCR', 'pe')}`);
    await until(() => bad.closed, 'the bad connection to close');
    expect(bad.text()).toBe(":1\r\n-ERR Protocol error: expected '$', got 'X'\r\n");
    expect(handler.counters.get('pe')).toBe(1);

    good.socket.write(mb('PING'));
    await good.waitForText('+PONG\r\n+PONG\r\n');
    expect(good.closed).toBe(false);
    expect(server.stats.protocolErrors).toBeGreaterThanOrEqual(1);
    expect(logs.some((l) => l.level === 'warn' && l.msg.includes('expected'))).toBe(true);
  });

  it.each([
    ['*abc\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\r\n$1001\r\n', 'ERR Protocol error: invalid bulk length'],
    ['SET k "unterminated\r\n', 'ERR Protocol error: unbalanced quotes in request'],
  ])('replies to %j with Redis error %j and closes', async (input, message) => {
    const c = raw(port);
    c.socket.write(input);
    await until(() => c.closed, 'close');
    expect(c.text()).toBe(`-${message}\r\n`);
  });

  it('answers -ERR internal error when the handler throws or rejects, and keeps serving', async () => {
    const c = raw(port);
    const before = server.stats.handlerErrors;
    c.socket.write(mb('THROW') + mb('REJECT') + mb('PING'));
    await c.waitForText('-ERR internal error\r\n-ERR internal error\r\n+PONG\r\n');
    expect(server.stats.handlerErrors).toBe(before + 2);
    expect(logs.filter((l) => l.level === 'error' && l.msg.includes('handler failed')).length).toBeGreaterThanOrEqual(2);
  });

  it('QUIT replies +OK, ignores what follows and closes', async () => {
    const c = raw(port);
    c.socket.write(`PING\r\nQUIT\r\n${mb('INCR', 'afterquit')}`);
    await until(() => c.closed, 'close after QUIT');
    expect(c.text()).toBe('+PONG\r\n+OK\r\n');
    expect(handler.counters.get('afterquit')).toBeUndefined();
  });

  it('writes an out-of-band reply at once to a connection that sends nothing (MONITOR lines)', async () => {
    const watcher = raw(port);
    watcher.socket.write(mb('MON'));
    await watcher.waitForText('+OK\r\n');
    const teller = raw(port);
    teller.socket.write(mb('TELL', 'one'));
    await teller.waitForText('+OK\r\n');
    await watcher.waitForText('+OK\r\n+one\r\n');
    teller.socket.write(mb('TELL', 'two') + mb('TELL', 'three'));
    await watcher.waitForText('+OK\r\n+one\r\n+two\r\n+three\r\n');
    handler.monitors.length = 0;
  });

  it('calls handler.open and handler.close once per connection', async () => {
    const c = raw(port);
    c.socket.write('PING\r\n');
    await c.waitForText('+PONG\r\n');
    const id = handler.opened[handler.opened.length - 1];
    c.socket.destroy();
    await until(() => handler.closed.includes(id ?? -1), 'handler.close');
    expect(handler.closed.filter((x) => x === id)).toHaveLength(1);
  });
});

/** The test table, taking whole requests as ranges (as the node's handler does) and noting which way each came. */
class RangedHandler extends TestHandler {
  readonly ways: string[] = [];

  override command(s: TestSession, args: Buffer[], out: ReplyWriter): Reply | Promise<Reply> | undefined {
    this.ways.push(`buffers ${String(args[0])}`);
    return super.command(s, args, out);
  }

  commandRanges(s: TestSession, args: ArgRanges, out: ReplyWriter): Reply | Promise<Reply> | undefined {
    expect(args).toBeInstanceOf(ArgRanges);
    this.ways.push(`ranges ${args.arg(0).toString()}`);
    return super.command(s, args.buffers(), out);
  }
}

describe('RespServer with a handler that takes ranges', () => {
  it('hands whole requests over as ranges and a request split over reads as Buffers; a failure names the command', async () => {
    const handler = new RangedHandler();
    const logs: LogEntry[] = [];
    const server = new RespServer<TestSession>({ host: HOST, port: 0, handler, logger: memoryLogger(logs) });
    servers.push(server);
    const port = await server.listen();
    const c = raw(port);
    c.socket.write(mb('INCR', 'a') + mb('INCR', 'a') + mb('GET', 'a'));
    await c.waitForText(':1\r\n:2\r\n$1\r\n2\r\n');
    expect(handler.ways).toEqual(['ranges INCR', 'ranges INCR', 'ranges GET']);
    // Half a request, then the rest once the server has read the first half.
    const split = mb('INCR', 'a');
    c.socket.write(split.slice(0, 9));
    await until(() => (handler.reads.get(1) ?? 0) >= 2, 'the first half read');
    c.socket.write(split.slice(9) + mb('THROW'));
    await c.waitForText(':1\r\n:2\r\n$1\r\n2\r\n:3\r\n-ERR internal error\r\n');
    expect(handler.ways.slice(3)).toEqual(['buffers INCR', 'ranges THROW']);
    expect(logs.find((l) => l.level === 'error')?.obj).toMatchObject({ command: 'THROW' });
  });
});

describe('RespServer limits', () => {
  it('refuses clients past maxClients with Redis error and serves again once one leaves', async () => {
    const { port, server } = await startServer({ maxClients: 2 });
    const a = raw(port);
    const b = raw(port);
    await until(() => server.connectionCount === 2, 'two connections');
    const c = raw(port);
    await until(() => c.closed, 'third connection to close');
    expect(c.text()).toBe('-ERR max number of clients reached\r\n');
    expect(server.stats.connectionsRejected).toBe(1);
    a.socket.write('PING\r\n');
    await a.waitForText('+PONG\r\n');
    b.socket.destroy();
    await until(() => server.connectionCount === 1, 'one connection');
    const d = raw(port);
    d.socket.write('PING\r\n');
    await d.waitForText('+PONG\r\n');
  });

  it('stops reading a client that does not read its replies, keeping pending output bounded', async () => {
    const soft = 64 * 1024;
    const { port, server } = await startServer({ maxOutputBufferBytes: soft });
    const c = raw(port);
    await c.connected();
    c.socket.pause(); // the client does not read
    const n = 2000;
    const size = 16 * 1024;
    c.socket.write(mb('BIG', String(size)).repeat(n)); // ~32 MB of replies, far beyond the kernel's buffers
    await until(() => {
      const s = server.connectionSnapshots()[0];
      return s !== undefined && s.readPaused && s.commands > 0 && s.commands < n;
    }, 'the server to pause reading');
    const paused = server.connectionSnapshots()[0];
    expect(paused?.pendingOutputBytes).toBeLessThanOrEqual(2 * soft);
    expect(paused?.bufferedInputBytes).toBeLessThanOrEqual(256 * 1024);

    // Once the client reads, everything is answered and the bound held all along.
    const replyBytes = `$${size}\r\n`.length + size + 2;
    c.socket.resume();
    await until(() => c.receivedBytes >= n * replyBytes, 'all replies', 30_000);
    expect(c.receivedBytes).toBe(n * replyBytes);
    const done = server.connectionSnapshots()[0];
    expect(done?.commands).toBe(n);
    expect(done?.peakPendingOutputBytes).toBeLessThanOrEqual(2 * soft);
    expect(done?.readPaused).toBe(false);
  });

  it('closes a connection whose output passes the hard limit', async () => {
    const { port, server, logs } = await startServer({
      maxOutputBufferBytes: 16 * 1024,
      hardOutputBufferBytes: 64 * 1024,
    });
    const ok = raw(port);
    const c = raw(port);
    c.socket.write(mb('BIG', String(200_000)));
    await until(() => c.closed, 'close on hard limit');
    expect(server.stats.outputLimitDisconnects).toBe(1);
    expect(logs.some((l) => l.msg.includes('hard limit'))).toBe(true);
    ok.socket.write('PING\r\n');
    await ok.waitForText('+PONG\r\n');
  });

  it('validates options, naming the field', () => {
    const handler = new TestHandler();
    expect(() => new RespServer({ host: HOST, port: 0, handler, maxClients: 0 })).toThrow(/maxClients/);
    expect(() => new RespServer({ host: HOST, port: 70000, handler })).toThrow(/port/);
    expect(() => new RespServer({ host: '', port: 0, handler })).toThrow(/host/);
    expect(
      () =>
        new RespServer({ host: HOST, port: 0, handler, maxOutputBufferBytes: 1 << 20, hardOutputBufferBytes: 1 << 16 }),
    ).toThrow(/hardOutputBufferBytes/);
  });
});

describe('RespServer lifecycle', () => {
  it('survives a client that leaves while its async command is pending', async () => {
    const { port, server, handler } = await startServer();
    const c = raw(port);
    c.socket.write(mb('SLOW', '20', 'late'));
    await until(() => handler.events.includes('SLOW start late'), 'SLOW to start');
    c.socket.destroy();
    await until(() => handler.events.includes('SLOW end late') && server.connectionCount === 0, 'SLOW to end');
    const d = raw(port);
    d.socket.write('PING\r\n');
    await d.waitForText('+PONG\r\n');
  });

  it('answers -ERR internal error and closes when handler.open throws', async () => {
    const handler = new TestHandler();
    handler.open = () => {
      throw new Error('no sessions today');
    };
    const logs: LogEntry[] = [];
    const server = new RespServer<TestSession>({ host: HOST, port: 0, handler, logger: memoryLogger(logs) });
    servers.push(server);
    const port = await server.listen();
    const c = raw(port);
    await until(() => c.closed, 'close');
    expect(c.text()).toBe('-ERR internal error\r\n');
    expect(logs.some((l) => l.msg.includes('handler.open'))).toBe(true);
  });


  it('listen reports the bound port and a clear error when it is taken', async () => {
    const { port } = await startServer();
    expect(port).toBeGreaterThan(0);
    const other = new RespServer({ host: HOST, port, handler: new TestHandler() });
    await expect(other.listen()).rejects.toThrow(`cannot listen for RESP on ${HOST}:${port}: EADDRINUSE`);
    await other.close();
  });

  it('close() stops listening, destroys clients, calls handler.close, and resolves', async () => {
    const { port, server, handler } = await startServer();
    const a = raw(port);
    const b = redis(port);
    await b.ping();
    a.socket.write(mb('SLOW', '60000', 'never')); // a pending async command must not hold close() up
    await until(() => server.connectionCount === 2 && handler.events.includes('SLOW start never'), 'clients');
    await server.close();
    await until(() => a.closed, 'raw client closed');
    expect(handler.closed.sort()).toEqual(handler.opened.sort());
    expect(server.connectionCount).toBe(0);
    await expect(
      new Promise((resolve, reject) => {
        const s = net.connect({ host: HOST, port });
        s.on('connect', () => resolve(s.destroy()));
        s.on('error', reject);
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
    await server.close(); // idempotent
  });
});
