// Protected mode against real node processes. Everything stays on the loopback interface: the nodes
// bind 127.0.0.1 and the "remote" client connects from 127.0.0.2, a second loopback address, while
// TALLY_TEST_LOCAL_ADDRESSES=127.0.0.1 tells the node that only 127.0.0.1 is local. The accept path,
// the refusal and the text are the real ones; only which loopback addresses count as local is
// narrowed (the hook can narrow, never widen: tested in test/server/auth/protected-mode.test.ts).
// The DENIED text is compared with the one inside /usr/bin/redis-server, byte for byte.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTECTED_MODE_DENIED } from '../../src/errors.js';
import { startCluster, status, type TestCluster, type TestNode } from './harness.js';
import { REDIS_SERVER } from '../oracle/redis-server.js';

const REMOTE = '127.0.0.2';
const env = { TALLY_TEST_LOCAL_ADDRESSES: '127.0.0.1' };
const clusters: TestCluster[] = [];
let open: TestNode;

beforeAll(async () => {
  const c = await startCluster({ nodes: 1, env });
  clusters.push(c);
  open = c.nodes[0] as TestNode;
});

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.stopAll()));
});

/** Connects from `from`, sends `send` once connected, and returns everything read until the server closes. */
function rawFrom(from: string, port: number, send = ''): Promise<string> {
  return new Promise((resolveRead, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: from });
    let got = '';
    s.on('connect', () => {
      if (send !== '') s.write(send);
    });
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolveRead(got));
    setTimeout(() => s.destroy(), 5_000).unref();
  });
}

function httpFrom(from: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    httpGet({ host: '127.0.0.1', port, path, localAddress: from }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('protected mode (no password, no users)', () => {
  it("sends a client that is not on loopback Redis 7.0's DENIED text at once, before any command, and closes", async () => {
    expect(await rawFrom(REMOTE, open.respPort)).toBe(`-${PROTECTED_MODE_DENIED}\r\n`);
    expect(await rawFrom(REMOTE, open.respPort, 'SET k 1\r\nINCR k\r\n')).toBe(`-${PROTECTED_MODE_DENIED}\r\n`);
  });

  it('the text is the one redis-server 7.0 itself sends', () => {
    const bin = readFileSync(REDIS_SERVER);
    const start = bin.indexOf('-DENIED Redis is running in protected mode');
    expect(start).toBeGreaterThan(0);
    const redisText = bin.subarray(start, bin.indexOf('\r\n', start) + 2).toString('latin1');
    expect(`-${PROTECTED_MODE_DENIED}\r\n`).toBe(redisText);
  });

  it('serves loopback clients as before: redis-cli and ioredis', async () => {
    const { stdout } = await promisify(execFile)('redis-cli', ['-h', '127.0.0.1', '-p', String(open.respPort), 'INCR', 'pm:k']);
    expect(stdout.trim()).toBe('1');
    const r = new Redis({ host: '127.0.0.1', port: open.respPort, maxRetriesPerRequest: 1 });
    try {
      expect(await r.incr('pm:k')).toBe(2);
    } finally {
      r.disconnect();
    }
  });

  it('refuses HTTP from a non-loopback address with 403 and the same text, except /health', async () => {
    const s = await httpFrom(REMOTE, open.httpPort, '/status');
    expect(s.status).toBe(403);
    expect(JSON.parse(s.body)).toEqual({ error: PROTECTED_MODE_DENIED });
    expect((await httpFrom(REMOTE, open.httpPort, '/metrics')).status).toBe(403);
    expect((await httpFrom(REMOTE, open.httpPort, '/')).status).toBe(403);
    expect((await httpFrom(REMOTE, open.httpPort, '/health')).status).toBe(200);
    expect((await httpFrom(REMOTE, open.httpPort, '/health/live')).status).toBe(200);
    const ws = new WebSocket(`ws://127.0.0.1:${open.httpPort}/ws`, { localAddress: REMOTE });
    const code = await new Promise<number>((resolveCode) => {
      ws.on('unexpected-response', (_req, res) => resolveCode(res.statusCode ?? 0));
      ws.on('open', () => resolveCode(101));
      ws.on('error', () => {});
    });
    ws.terminate();
    expect(code).toBe(403);
    expect((await httpFrom('127.0.0.1', open.httpPort, '/status')).status).toBe(200);
  });

  it('counts the refusals: INFO rejected_connections, tally_protected_mode_refused, /metrics', async () => {
    const st = (await status(open)) as unknown as { security: { protectedModeRefused: number } };
    expect(st.security.protectedModeRefused).toBeGreaterThanOrEqual(6);
    const { stdout } = await promisify(execFile)('redis-cli', ['-p', String(open.respPort), 'INFO', 'stats']);
    expect(Number(/rejected_connections:(\d+)/.exec(stdout)?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(/tally_protected_mode_refused:(\d+)/.exec(stdout)?.[1])).toBeGreaterThanOrEqual(6);
    const m = await httpFrom('127.0.0.1', open.httpPort, '/metrics');
    expect(m.body).toMatch(/^tally_protected_mode_refused_total [1-9]\d*$/m);
    expect(await promisify(execFile)('redis-cli', ['-p', String(open.respPort), 'CONFIG', 'GET', 'protected-mode']).then((r) => r.stdout)).toBe('protected-mode\nyes\n');
  });
});

describe('web pages against a node without credentials', () => {
  it('an HTTP request sent to the RESP port (cross-protocol scripting) is closed unanswered; its body never runs', async () => {
    const r = new Redis({ host: '127.0.0.1', port: open.respPort, maxRetriesPerRequest: 1 });
    try {
      await r.set('pm:keep', '5');
      const got = await rawFrom('127.0.0.1', open.respPort, 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n\r\nFLUSHALL\r\nSET pm:keep 0\r\n');
      expect(got).toBe('');
      expect(await r.get('pm:keep')).toBe('5');
    } finally {
      r.disconnect();
    }
    expect(open.logFile.length).toBeGreaterThan(0);
    expect(clusters[0]?.log('n1')).toContain('possible security attack');
  });

  it('a page of another origin cannot open /ws, and a foreign Host (DNS rebinding) is refused', async () => {
    const code = (origin: string): Promise<number> =>
      new Promise((resolveCode) => {
        const ws = new WebSocket(`ws://127.0.0.1:${open.httpPort}/ws`, { origin });
        ws.on('unexpected-response', (_req, res) => {
          resolveCode(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('open', () => {
          resolveCode(101);
          ws.close();
        });
        ws.on('error', () => {});
      });
    expect(await code('http://evil.example')).toBe(403);
    expect(await code(`http://127.0.0.1:${open.httpPort}`)).toBe(101);
    const rebound = await new Promise<number>((resolveCode, reject) => {
      httpGet({ host: '127.0.0.1', port: open.httpPort, path: '/status', headers: { host: `attacker.example:${open.httpPort}` } }, (res) => {
        res.resume();
        resolveCode(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(rebound).toBe(403);
  });
});

describe('protected mode does not apply', () => {
  it('when protectedMode is false', async () => {
    const c = await startCluster({ nodes: 1, env, config: { protectedMode: false } });
    clusters.push(c);
    expect(await rawFrom(REMOTE, (c.nodes[0] as TestNode).respPort, 'PING\r\nQUIT\r\n')).toBe('+PONG\r\n+OK\r\n');
    expect(c.log('n1')).toContain('client security');
  });

  it('when the node has a password: the remote client is served, and asked to AUTH', async () => {
    const c = await startCluster({ nodes: 1, env, config: { auth: { password: 'pm-secret' } } });
    clusters.push(c);
    expect(await rawFrom(REMOTE, (c.nodes[0] as TestNode).respPort, 'GET k\r\nAUTH pm-secret\r\nGET k\r\nQUIT\r\n')).toBe('-NOAUTH Authentication required.\r\n+OK\r\n$-1\r\n+OK\r\n');
  });
});
