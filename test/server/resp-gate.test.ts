// RespServer's beforeFlush gate over real TCP: replies wait for the gate (durability `always`'s group
// commit) while commands keep running, so pipelining is kept and replies stay in request order; a
// failed gate closes the connection unanswered. And its `admit` wait (durability `everysec` while the
// disk is a commit behind): no command runs and reading stops until it settles.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { reply, type Reply } from '../../src/server/commands/reply.js';
import { RespServer, type RespConnectionHandler } from '../../src/server/resp/server.js';

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A gate the test opens by hand, handed out while writes are "uncommitted". */
class Gate {
  dirty = false;
  opened = 0;
  private waiting: { resolve: () => void; reject: (e: unknown) => void; promise: Promise<void> } | null = null;
  get(): Promise<void> | undefined {
    if (!this.dirty) return undefined;
    if (this.waiting === null) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.waiting = { resolve, reject, promise };
    }
    return this.waiting.promise;
  }
  open(): void {
    this.dirty = false;
    this.opened++;
    const w = this.waiting;
    this.waiting = null;
    w?.resolve();
  }
  fail(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.reject(new Error('disk on fire'));
  }
}

let server: RespServer<object> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A server counting INCRs in `counters`; replies behind `gate` (none: no beforeFlush), commands behind `admit`. */
async function start(gate: Gate | null, counters: Map<string, number>, admit?: Gate): Promise<number> {
  const handler: RespConnectionHandler<object> = {
    open: () => ({}),
    command: (_s, args): Reply => {
      const name = args[0]?.toString().toLowerCase();
      const key = args[1]?.toString() ?? '';
      if (name === 'incr') {
        const v = (counters.get(key) ?? 0) + 1;
        counters.set(key, v);
        if (gate !== null) gate.dirty = true;
        return reply.int(v);
      }
      return reply.int(counters.get(key) ?? 0);
    },
    close: () => {},
  };
  server = new RespServer({ host: '127.0.0.1', port: 0, handler, ...(gate === null ? {} : { beforeFlush: () => gate.get() }), ...(admit === undefined ? {} : { admit: () => admit.get() }) });
  return server.listen();
}

function client(port: number): Promise<{ sock: net.Socket; received: () => string }> {
  return new Promise((res) => {
    let data = '';
    const sock = net.connect(port, '127.0.0.1', () => res({ sock, received: () => data }));
    sock.on('data', (d) => (data += d.toString()));
    sock.on('error', () => {});
  });
}

const incr = (k: string): string => `*2\r\n$4\r\nINCR\r\n$${k.length}\r\n${k}\r\n`;

describe('RespServer beforeFlush', () => {
  it('holds replies until the gate opens, while later pipelined commands keep running, in order', async () => {
    const gate = new Gate();
    const counters = new Map<string, number>();
    const port = await start(gate, counters);
    const c = await client(port);
    c.sock.write(incr('a') + incr('a'));
    await until(() => counters.get('a') === 2, 'both INCRs to run');
    c.sock.write(incr('a'));
    await until(() => counters.get('a') === 3, 'the third INCR to run while the first replies are held');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.received()).toBe('');
    gate.open();
    await until(() => c.received() === ':1\r\n:2\r\n:3\r\n', 'the held replies, in order');
    c.sock.destroy();
  });

  it('many connections share one gate, and a read after an unsynced write waits too', async () => {
    const gate = new Gate();
    const counters = new Map<string, number>();
    const port = await start(gate, counters);
    const cs = await Promise.all([1, 2, 3, 4, 5].map(() => client(port)));
    for (const c of cs) c.sock.write(incr('k'));
    await until(() => counters.get('k') === 5, 'five INCRs');
    const reader = await client(port);
    reader.sock.write('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(cs.every((c) => c.received() === '') && reader.received() === '').toBe(true);
    gate.open();
    await until(() => cs.every((c) => c.received() !== '') && reader.received() === ':5\r\n', 'every reply after one gate');
    expect(cs.map((c) => c.received()).sort()).toEqual([':1\r\n', ':2\r\n', ':3\r\n', ':4\r\n', ':5\r\n']);
    expect(gate.opened).toBe(1);
    for (const c of [...cs, reader]) c.sock.destroy();
  });

  it('writes at once when the gate returns nothing', async () => {
    const gate = new Gate();
    const port = await start(gate, new Map());
    const c = await client(port);
    c.sock.write('*2\r\n$3\r\nGET\r\n$1\r\nz\r\n');
    await until(() => c.received() === ':0\r\n', 'an ungated reply');
    c.sock.destroy();
  });

  it('a failed gate closes the connection without the held replies', async () => {
    const gate = new Gate();
    const counters = new Map<string, number>();
    const port = await start(gate, counters);
    const c = await client(port);
    let closed = false;
    c.sock.on('close', () => (closed = true));
    c.sock.write(incr('x'));
    await until(() => counters.get('x') === 1, 'the INCR to run');
    gate.fail();
    await until(() => closed, 'the connection to close');
    expect(c.received()).toBe('');
  });
});

describe('RespServer admit', () => {
  it('runs no command while its wait is pending, pauses reading, then runs everything read, in order', async () => {
    const admit = new Gate();
    const counters = new Map<string, number>();
    const port = await start(null, counters, admit);
    const c = await client(port);
    c.sock.write(incr('a'));
    await until(() => c.received() === ':1\r\n', 'an INCR admitted at once');
    admit.dirty = true;
    c.sock.write(incr('a') + incr('a'));
    await until(() => server?.connectionSnapshots()[0]?.readPaused === true, 'reading to pause');
    expect(counters.get('a')).toBe(1);
    // Reading stays paused: what the client sends meanwhile waits in the kernel, not in the server.
    const more = incr('b').repeat(100_000);
    c.sock.write(more);
    await new Promise((r) => setTimeout(r, 100));
    expect(counters.get('a')).toBe(1);
    expect(counters.get('b')).toBeUndefined();
    expect(server?.connectionSnapshots()[0]?.bufferedInputBytes ?? 0).toBeLessThan(more.length / 4);
    admit.open();
    await until(() => counters.get('b') === 100_000, 'every command read after the wait');
    expect(counters.get('a')).toBe(3);
    await until(() => c.received().startsWith(':1\r\n:2\r\n:3\r\n:1\r\n:2\r\n') && c.received().endsWith(':100000\r\n'), 'the replies, in order');
    expect(server?.connectionSnapshots()[0]?.readPaused).toBe(false);
    c.sock.destroy();
  });

  it('a client that leaves while waiting: what it sent never runs', async () => {
    const admit = new Gate();
    const counters = new Map<string, number>();
    const port = await start(null, counters, admit);
    const c = await client(port);
    admit.dirty = true;
    c.sock.write(incr('gone'));
    await until(() => server?.connectionSnapshots()[0]?.readPaused === true, 'reading to pause');
    c.sock.destroy();
    await until(() => server?.connectionSnapshots().length === 0, 'the server to see it leave');
    admit.open();
    // A live client's command after the wait runs: by then the one that left would have too.
    const other = await client(port);
    other.sock.write(incr('here'));
    await until(() => other.received() === ':1\r\n', 'a command after the wait');
    expect(counters.get('gone')).toBeUndefined();
    other.sock.destroy();
  });

  it('every connection waits on the same wait, and each goes on when it settles, even as a rejection', async () => {
    const admit = new Gate();
    const counters = new Map<string, number>();
    const port = await start(null, counters, admit);
    const cs = await Promise.all([1, 2, 3].map(() => client(port)));
    admit.dirty = true;
    for (const c of cs) c.sock.write(incr('k'));
    await until(() => (server?.connectionSnapshots() ?? []).filter((s) => s.readPaused).length === 3, 'all three to pause');
    expect(counters.get('k')).toBeUndefined();
    admit.dirty = false;
    admit.fail();
    await until(() => counters.get('k') === 3, 'all three INCRs after a rejected wait');
    await until(() => cs.every((c) => c.received() !== ''), 'a reply on each connection');
    for (const c of cs) c.sock.destroy();
  });
});
