// A real 3-node cluster in separate processes, spoken to through ioredis (a real Redis client):
// convergence, HyperLogLog unions, Redis's errors, and graceful shutdown.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { connect } from 'node:net';
import { startCluster, status, until, waitForMembers, type TestCluster } from './harness.js';

let c: TestCluster;
const clients: Redis[] = [];

function redis(i: number): Redis {
  const r = new Redis({ host: '127.0.0.1', port: (c.nodes[i] as { respPort: number }).respPort, maxRetriesPerRequest: 1, lazyConnect: false });
  // Connection errors reach the test as rejected commands; the 'error' event itself only fires
  // (and, unhandled, prints) while a client retries a node a test has stopped on purpose.
  r.on('error', () => {});
  clients.push(r);
  return r;
}

beforeAll(async () => {
  c = await startCluster({ nodes: 3 });
  await waitForMembers(c, 3);
}, 60_000);

afterAll(async () => {
  for (const r of clients) r.disconnect();
  await c?.stopAll();
});

describe('a 3-node cluster over RESP', () => {
  it('increments on different nodes converge on every node', async () => {
    const [a, b, d] = [redis(0), redis(1), redis(2)];
    await a.incrby('hits', 5);
    await b.incr('hits');
    await d.decrby('hits', 2);
    // a's INCR counts on top of a's own 5 and of whichever of b's +1 and d's -2 gossip has already
    // brought to a (none, either, or both): never less, never anything else.
    const seen = [0, 1, -2, 1 - 2].map((others) => 5 + others + 1);
    expect(seen).toContain(await a.incr('hits'));
    for (const r of [a, b, d]) await until('hits = 5 everywhere', async () => (await r.get('hits')) === '5');
  });

  it('PFADD on different nodes is counted as a union, and PFCOUNT of several keys is the union', async () => {
    const [a, b, d] = [redis(0), redis(1), redis(2)];
    expect(await a.pfadd('visitors', 'alice', 'bob')).toBe(1);
    expect(await b.pfadd('visitors', 'bob', 'carol')).toBe(1);
    await d.pfadd('other', 'dave', 'alice');
    for (const r of [a, b, d]) await until('visitors = 3', async () => (await r.pfcount('visitors')) === 3);
    await until('union = 4', async () => (await d.pfcount('visitors', 'other')) === 4);
    expect(await d.pfmerge('all', 'visitors', 'other')).toBe('OK');
    await until('merged on a', async () => (await a.pfcount('all')) === 4);
  });

  it("answers with Redis's reply shapes and error strings", async () => {
    const r = redis(0);
    await r.pfadd('h', 'x');
    await expect(r.incr('h')).rejects.toThrow('WRONGTYPE Operation against a key holding the wrong kind of value');
    await expect(r.incrby('n', 'abc' as unknown as number)).rejects.toThrow('ERR value is not an integer or out of range');
    await r.set('big', '9007199254740990');
    await expect(r.incrby('big', 10)).rejects.toThrow('ERR increment or decrement would overflow');
    expect(await r.get('big')).toBe('9007199254740990');
    await expect(r.call('incr')).rejects.toThrow("ERR wrong number of arguments for 'incr' command");
    await expect(r.call('nosuchcmd', 'a')).rejects.toThrow("ERR unknown command 'nosuchcmd', with args beginning with: 'a'");
    expect(await r.get('missing')).toBeNull();
    const [hits, missing, hll] = await r.mget('hits', 'missing', 'h');
    expect([hits, missing]).toEqual(['5', null]);
    expect(hll?.startsWith('HYLL')).toBe(true); // an HLL's Redis bytes, as Redis answers
    expect(await r.exists('hits', 'missing', 'hits')).toBe(2);
    expect(await r.ping()).toBe('PONG');
    expect(await r.echo('hi')).toBe('hi');
    expect(await r.call('client', 'setname', 'tester')).toBe('OK');
    expect(await r.call('client', 'getname')).toBe('tester');
    expect(await r.select(3)).toBe('OK');
    expect(await r.get('hits')).toBeNull();
    await expect(r.select(16)).rejects.toThrow('ERR DB index is out of range');
    const info = await r.info('cluster');
    expect(info).toContain('members_alive:3');
  });

  it('a G-Counter key (by the gcounterKeys rule) refuses to go down', async () => {
    const r = redis(1);
    await c.stop('n3');
    await c.start('n3');
    expect(await r.incr('views:home')).toBe(1);
    await expect(r.decr('views:home')).rejects.toThrow(/G-Counter/);
    expect(await r.call('tally.type', 'views:home')).toBe('gcounter');
  });

  it('DEL is an observed reset that converges, and SET resets to a value', async () => {
    const [a, b] = [redis(0), redis(1)];
    await a.incrby('resettable', 10);
    await until('b sees 10', async () => (await b.get('resettable')) === '10');
    expect(await b.del('resettable')).toBe(1);
    await until('a sees the delete', async () => (await a.get('resettable')) === null);
    await a.set('resettable', 42);
    await until('b sees 42', async () => (await b.get('resettable')) === '42');
  });

  it('a malformed RESP request gets a protocol error and closes only that connection', async () => {
    const port = (c.nodes[0] as { respPort: number }).respPort;
    const reply = await new Promise<string>((res, rej) => {
      const s = connect(port, '127.0.0.1');
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => res(got));
      s.on('error', rej);
      s.write('*1\r\n$abc\r\n');
    });
    expect(reply).toBe('-ERR Protocol error: invalid bulk length\r\n');
    expect(await redis(0).ping()).toBe('PONG');
  });

  it('holds 1,000 concurrent client connections', async () => {
    const port = (c.nodes[1] as { respPort: number }).respPort;
    const sockets = await Promise.all(
      Array.from({ length: 1000 }, () => new Promise<import('node:net').Socket>((res, rej) => {
        const s = connect(port, '127.0.0.1', () => res(s));
        s.on('error', rej);
      })),
    );
    const replies = await Promise.all(
      sockets.map((s, i) => new Promise<string>((res) => {
        s.once('data', (d) => res(d.toString()));
        s.write(`*2\r\n$4\r\nINCR\r\n$5\r\nconns\r\n`);
        void i;
      })),
    );
    expect(replies.every((r) => r.startsWith(':'))).toBe(true);
    expect(await redis(1).get('conns')).toBe('1000');
    for (const s of sockets) s.destroy();
  });

  it('SIGTERM stops a node cleanly (exit 0) and its peers see it leave', async () => {
    const code = await c.stop('n3', 'SIGTERM');
    expect(code).toBe(0);
    await until('n1 sees n3 left', async () => (await status(c.nodes[0] as never)).members.find((m) => m.id === 'n3')?.state === 'left');
    // Its counts still count.
    expect(await redis(0).get('hits')).toBe('5');
    await c.start('n3');
    await until('n3 rejoins alive', async () => (await status(c.nodes[0] as never)).members.find((m) => m.id === 'n3')?.state === 'alive');
  });
});
