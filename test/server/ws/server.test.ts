// WsClientApi over a real WebSocket on 127.0.0.1 with a real Keyspace behind the shared command table:
// requests and typed replies, Redis errors, malformed frames, AUTH, lifecycle, client limits, and
// replies held by a beforeFlush gate, requests held by an admit wait. Watches: watches.test.ts; the pure codec: codec.test.ts.

import { afterEach, describe, expect, it } from 'vitest';
import { fullKey } from '../../../src/keyspace/keyspace.js';
import * as errors from '../../../src/errors.js';
import { reply, type Reply } from '../../../src/server/commands/reply.js';
import { execute } from '../../../src/server/commands/table.js';
import { MAX_QUEUED_REQUESTS } from '../../../src/server/ws/server.js';
import { errOf, MALFORMED_FRAMES, Raw, start, stopAll, until, type Harness } from './harness.js';

afterEach(stopAll);

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
  it.each(MALFORMED_FRAMES)('%s gets a clear error and changes nothing', async (_name, bytes, id, re) => {
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

  it('a connection queues at most MAX_QUEUED_REQUESTS requests behind an asynchronous one; past that each is refused at once', async () => {
    let finish!: () => void;
    const slow = new Promise<Reply>((r) => (finish = () => r(reply.simple('DONE'))));
    let finish2!: () => void;
    const slow2 = new Promise<Reply>((r) => (finish2 = () => r(reply.simple('DONE'))));
    const h = await start({ execute: (ctx, s, args) => (args[0]?.toString() === 'SLOW' ? slow : args[0]?.toString() === 'SLOW2' ? slow2 : execute(ctx, s, args)) });
    const c = await Raw.open(h.url);
    const first = c.send({ cmd: 'SLOW' });
    const ids: number[] = [];
    for (let i = 0; i < MAX_QUEUED_REQUESTS + 5; i++) ids.push(c.send({ cmd: 'INCR', args: ['q'] }));
    await until(() => c.inbox.length === 5, 'the five past the limit refused');
    expect(c.inbox.map((m) => m.id)).toEqual(ids.slice(MAX_QUEUED_REQUESTS));
    expect(c.inbox.every((m) => m.err === errors.wsTooManyPending(MAX_QUEUED_REQUESTS))).toBe(true);
    expect(counter(h, 'q')).toBeNull();
    finish();
    await until(() => c.inbox.length === MAX_QUEUED_REQUESTS + 6, 'the slow reply and every queued one');
    expect(c.inbox.slice(5).map((m) => m.id)).toEqual([first, ...ids.slice(0, MAX_QUEUED_REQUESTS)]);
    expect(counter(h, 'q')).toBe(MAX_QUEUED_REQUESTS);
    // An asynchronous request in the queue stops its draining until it settles.
    const base = c.inbox.length;
    c.send({ cmd: 'SLOW' }); // settled already: answered on the next turn, the rest queue meanwhile
    c.send({ cmd: 'INCR', args: ['q'] });
    c.send({ cmd: 'SLOW2' });
    c.send({ cmd: 'INCR', args: ['q'] });
    await until(() => c.inbox.length === base + 2, 'the settled SLOW and the INCR after it');
    await new Promise((r) => setTimeout(r, 50));
    expect(counter(h, 'q')).toBe(MAX_QUEUED_REQUESTS + 1);
    finish2();
    await until(() => c.inbox.length === base + 4, 'the rest once SLOW2 settles');
    expect(counter(h, 'q')).toBe(MAX_QUEUED_REQUESTS + 2);
  });

  it('admit, then an asynchronous request: the queue limit applies again once the wait is over', async () => {
    const admit = new Gate();
    let finish!: () => void;
    const slow = new Promise<Reply>((r) => (finish = () => r(reply.simple('DONE'))));
    const h = await start({ admit: () => admit.get(), execute: (ctx, s, args) => (args[0]?.toString() === 'SLOW' ? slow : execute(ctx, s, args)) });
    const c = await Raw.open(h.url);
    admit.dirty = true;
    c.send({ cmd: 'INCR', args: ['q'] });
    await new Promise((r) => setTimeout(r, 50));
    admit.open();
    await until(() => c.inbox.length === 1, 'the INCR after the wait');
    c.send({ cmd: 'SLOW' });
    for (let i = 0; i < MAX_QUEUED_REQUESTS + 1; i++) c.send({ cmd: 'INCR', args: ['q'] });
    await until(() => c.inbox.length === 2, 'one refused past the limit');
    expect(c.inbox[1]?.err).toBe(errors.wsTooManyPending(MAX_QUEUED_REQUESTS));
    finish();
    await until(() => c.inbox.length === MAX_QUEUED_REQUESTS + 3, 'the rest');
  });

  it('admit: a wait that comes back while the queue drains stops it there, and what a client that left had queued never runs', async () => {
    let closeAt = -1;
    const admit = new Gate();
    let finish!: () => void;
    const slow = new Promise<Reply>((r) => (finish = () => r(reply.simple('DONE'))));
    const h = await start({
      admit: () => (counter(h, 'k') === closeAt ? ((admit.dirty = true), (closeAt = -1), admit.get()) : admit.get()),
      execute: (ctx, s, args) => (args[0]?.toString() === 'SLOW' ? slow : execute(ctx, s, args)),
    });
    const c = await Raw.open(h.url);
    // A hundred requests queue behind an asynchronous one; the wait comes back after the 40th of them ran.
    c.send({ cmd: 'SLOW' });
    for (let i = 0; i < 100; i++) c.send({ cmd: 'INCR', args: ['k'] });
    await new Promise((r) => setTimeout(r, 50));
    closeAt = 40;
    finish();
    await until(() => counter(h, 'k') === 40, 'the queue to drain up to the second wait');
    await new Promise((r) => setTimeout(r, 50));
    expect(counter(h, 'k')).toBe(40);
    // Leaves while waiting: the 60 still queued stay unrun after the wait.
    c.terminate();
    await until(() => h.services.listClients?.().length === 0, 'the connection to go');
    admit.open();
    const d = await Raw.open(h.url);
    expect(await d.cmd('INCR', 'k')).toBe(41);
  });

  it('admit: no request runs while its wait is pending, beyond the request queue limit, then all run in order', async () => {
    const admit = new Gate();
    const h = await start({ admit: () => admit.get() });
    const c = await Raw.open(h.url);
    expect(await c.cmd('INCR', 'k')).toBe(1);
    const before = c.inbox.length;
    admit.dirty = true;
    // More than a connection may queue behind an asynchronous command (MAX_QUEUED_REQUESTS, 1,024):
    // these wait because reading stopped, not because the client did wrong, so none is refused.
    const ids: number[] = [];
    for (let i = 0; i < 3000; i++) ids.push(c.send({ cmd: 'INCR', args: ['k'] }));
    await new Promise((r) => setTimeout(r, 100));
    expect(counter(h, 'k')).toBe(1);
    expect(c.inbox.length).toBe(before);
    admit.open();
    await until(() => c.inbox.length === before + 3000, 'every reply');
    const replies = c.inbox.slice(before);
    expect(replies.map((m) => m.id)).toEqual(ids);
    expect(replies.map((m) => m.ok)).toEqual(ids.map((_, i) => i + 2));
    // A rejected wait lets the requests go on too.
    admit.dirty = true;
    const late = c.send({ cmd: 'INCR', args: ['k'] });
    await new Promise((r) => setTimeout(r, 50));
    expect(counter(h, 'k')).toBe(3001);
    admit.dirty = false;
    admit.fail();
    await until(() => c.inbox.length === before + 3001, 'the reply after a rejected wait');
    expect(c.inbox[before + 3000]).toMatchObject({ id: late, ok: 3002 });
  });
});
