// The HTTP edge behind the same users, against real node processes: /health open for probes, the
// dashboard's files open (code only), /status, /metrics and /ws behind HTTP Basic or a bearer token;
// a token from one node opens the others (they share the gossip key file); failures are counted.

import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { Packr, Unpackr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/server/auth/password-hash.js';
import { get, startCluster, waitForMembers, type TestCluster, type TestNode } from './harness.js';

const CHEAP = { ln: 10, r: 8, p: 1 };
let c: TestCluster;
const basic = (u: string, p: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

beforeAll(async () => {
  c = await startCluster({
    nodes: 2,
    config: {
      auth: {
        users: [
          { name: 'ops', passwordHash: hashPassword('ops-pw', CHEAP), role: 'admin' },
          { name: 'prometheus', passwordHash: hashPassword('scrape-pw', CHEAP), role: 'read-only' },
        ],
      },
    },
    http: { user: 'ops', password: 'ops-pw' },
  });
  await waitForMembers(c, 2);
}, 90_000);

afterAll(async () => {
  await c?.stopAll();
});

const node = (i: number): TestNode => c.nodes[i] as TestNode;

/** Opens /ws with these headers and subprotocols; resolves with the HTTP status (101 when open) and the socket. */
function openWs(n: TestNode, headers: Record<string, string>, protocols?: string[]): Promise<{ status: number; ws: WebSocket; body: string }> {
  return new Promise((resolveOpen) => {
    const ws = new WebSocket(`ws://127.0.0.1:${n.httpPort}/ws`, protocols, { headers });
    ws.on('open', () => resolveOpen({ status: 101, ws, body: '' }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolveOpen({ status: res.statusCode ?? 0, ws, body }));
    });
    ws.on('error', () => {});
  });
}

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ mapsAsObjects: true });
function command(ws: WebSocket, cmd: string, args: string[] = []): Promise<Record<string, unknown>> {
  return new Promise((resolveReply) => {
    ws.once('message', (d: Buffer) => resolveReply(unpackr.unpack(d) as Record<string, unknown>));
    ws.send(packr.pack({ id: 1, cmd, args }));
  });
}

describe('HTTP behind the users', () => {
  it('/health and the dashboard files are open; /status and /metrics ask for credentials', async () => {
    expect((await get(node(0), '/health', {})).status).toBe(200);
    expect((await get(node(0), '/health/live', {})).status).toBe(200);
    expect((await get(node(0), '/', {})).status).toBe(200);
    expect((await get(node(0), '/dashboard/app.js', {})).status).toBe(200);
    for (const path of ['/status', '/metrics', '/auth/token']) {
      const r = await get(node(0), path, {});
      expect(r.status, path).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Basic realm="tally", charset="UTF-8"');
      expect(JSON.parse(r.text)).toEqual({ error: 'NOAUTH Authentication required.' });
    }
    expect((await get(node(0), '/status', { 'x-requested-with': 'tally-dashboard' })).headers['www-authenticate']).toBe('Bearer realm="tally"');
  });

  it('Prometheus scrapes /metrics with Basic credentials of a read-only user', async () => {
    const r = await get(node(0), '/metrics', basic('prometheus', 'scrape-pw'));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.text).toMatch(/^tally_members\{state="alive"\} 2$/m);
    const wrong = await get(node(0), '/metrics', basic('prometheus', 'nope'));
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.text)).toEqual({ error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    expect((await get(node(0), '/metrics', basic('prometheus', 'scrape-pw'))).text).toMatch(/^tally_auth_failures_total\{protocol="http"\} [1-9]/m);
  });

  it('a token from /auth/token opens /status on every node, and cannot mint another', async () => {
    const t = await get(node(0), '/auth/token', basic('prometheus', 'scrape-pw'));
    expect(t.status).toBe(200);
    const { token, user, expiresAt } = JSON.parse(t.text) as { token: string; user: string; expiresAt: number };
    expect(user).toBe('prometheus');
    expect(expiresAt).toBeGreaterThan(Date.now() + 11 * 3600_000);
    expect((await get(node(1), '/status', { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await get(node(0), '/auth/token', { authorization: `Bearer ${token}` })).status).toBe(401);
    expect((await get(node(1), '/status', { authorization: `Bearer ${token.slice(0, -2)}xx` })).status).toBe(401);
  });

  it('/ws needs credentials at the upgrade: a header, or a subprotocol (what a browser can send)', async () => {
    expect(await openWs(node(0), {}).then((r) => [r.status, r.body])).toEqual([401, JSON.stringify({ error: 'NOAUTH Authentication required.' })]);
    expect((await openWs(node(0), basic('ops', 'bad'))).status).toBe(401);
    const h = await openWs(node(0), basic('prometheus', 'scrape-pw'));
    expect(h.status).toBe(101);
    expect(await command(h.ws, 'ACL', ['WHOAMI'])).toEqual({ id: 1, ok: 'prometheus' });
    expect(await command(h.ws, 'INCR', ['k'])).toEqual({ id: 1, err: "NOPERM this user has no permissions to run the 'incr' command" });
    h.ws.close();
    const token = (JSON.parse((await get(node(0), '/auth/token', basic('ops', 'ops-pw'))).text) as { token: string }).token;
    const sub = await openWs(node(1), {}, ['tally', `tally-bearer.${token}`]);
    expect(sub.status).toBe(101);
    expect(sub.ws.protocol).toBe('tally');
    expect(await command(sub.ws, 'INCR', ['http:k'])).toEqual({ id: 1, ok: 1 });
    sub.ws.close();
    const viaBasic = await openWs(node(1), {}, ['tally', `tally-basic.${Buffer.from('ops:ops-pw').toString('base64url')}`]);
    expect(viaBasic.status).toBe(101);
    viaBasic.ws.close();
  });

  it('RESP is unaffected: the same users over redis', async () => {
    const r = new Redis({ port: node(1).respPort, host: '127.0.0.1', username: 'ops', password: 'ops-pw', maxRetriesPerRequest: 1 });
    try {
      expect(Number(await r.get('http:k'))).toBeLessThanOrEqual(1);
    } finally {
      r.disconnect();
    }
  });
});
