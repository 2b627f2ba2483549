// TLS for every client protocol against real node processes, with certificates made at run time by
// openssl: RESP on tlsPort with redis-cli --tls, ioredis and the typed client over wss://, HTTPS
// for /status; plaintext and a wrong CA refused; mutual TLS (required and optional); and a
// certificate reloaded on SIGHUP while open connections and gossip carry on.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TallyClient } from '../../src/client/index.js';
import { hashPassword } from '../../src/server/auth/password-hash.js';
import { makeCerts, issue, type TestCerts } from './certs.js';
import { get, startCluster, status, until, waitForMembers, type TestCluster, type TestNode } from './harness.js';

const run = promisify(execFile);
const CHEAP = { ln: 10, r: 8, p: 1 };
const ADMIN_PW = 'tls-admin-pw';
let certs: TestCerts;
let c: TestCluster;
const clusters: TestCluster[] = [];
const redises: Redis[] = [];
const clients: TallyClient[] = [];

const tlsConfig = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.ca, ...extra });
const users = [
  { name: 'admin', passwordHash: hashPassword(ADMIN_PW, CHEAP), role: 'admin' },
  { name: 'viewer', passwordHash: hashPassword('viewer-pw', CHEAP), role: 'read-only' },
];

beforeAll(async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  certs = makeCerts(join(mkdtempSync(join(tmpdir(), 'tally-tls-')), 'certs'));
  c = await startCluster({ nodes: 2, tlsPorts: true, config: { tls: tlsConfig(), auth: { users } }, http: { user: 'admin', password: ADMIN_PW } });
  clusters.push(c);
  await waitForMembers(c, 2);
}, 90_000);

afterAll(async () => {
  for (const r of redises) r.disconnect();
  await Promise.all(clients.map((x) => x.close()));
  await Promise.all(clusters.map((x) => x.stopAll()));
});

const node = (i: number): TestNode => c.nodes[i] as TestNode;
const cli = (n: TestNode, ...args: string[]): Promise<string> =>
  run('redis-cli', ['--tls', '--cacert', certs.ca, '-h', '127.0.0.1', '-p', String(n.tlsPort), '--user', 'admin', '--pass', ADMIN_PW, '--no-auth-warning', ...args]).then((r) => r.stdout.trim());

/** The SHA-256 fingerprint of the certificate a TLS port presents now. */
function fingerprint(port: number): Promise<string> {
  return new Promise((resolveFp, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(certs.ca), servername: 'localhost' }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolveFp(fp);
    });
    s.on('error', reject);
  });
}

describe('RESP over TLS', () => {
  it('redis-cli --tls --cacert writes on one node and reads the value on the other', async () => {
    expect(await cli(node(0), 'INCRBY', 'tls:k', '5')).toBe('5');
    await until('n2 to see the increment', async () => (await cli(node(1), 'GET', 'tls:k')) === '5');
    expect(await cli(node(1), 'ACL', 'WHOAMI')).toBe('admin');
  });

  it('ioredis with tls: { ca } and a user', async () => {
    const r = new Redis({ host: '127.0.0.1', port: node(0).tlsPort as number, tls: { ca: readFileSync(certs.ca), servername: 'localhost' }, username: 'viewer', password: 'viewer-pw', maxRetriesPerRequest: 1 });
    redises.push(r);
    expect(await r.call('ACL', 'WHOAMI')).toBe('viewer');
    expect(await r.get('tls:k')).toBe('5');
    await expect(r.incr('tls:k')).rejects.toThrow("NOPERM this user has no permissions to run the 'incr' command");
  });

  it('refuses plaintext on the TLS port and a server certificate from another CA; the plain port still serves', async () => {
    const plain = await new Promise<string>((resolveRead) => {
      const s = netConnect(node(0).tlsPort as number, '127.0.0.1', () => s.write('PING\r\n'));
      let got = '';
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('close', () => resolveRead(got));
      s.on('error', () => {});
    });
    expect(plain).not.toContain('PONG');
    await expect(run('redis-cli', ['--tls', '--cacert', join(certs.dir, 'other-ca.crt'), '-p', String(node(0).tlsPort), 'PING'])).rejects.toThrow(/certificate verify failed|SSL/i);
    const { stdout } = await run('redis-cli', ['-p', String(node(0).respPort), '--user', 'admin', '--pass', ADMIN_PW, '--no-auth-warning', 'PING']);
    expect(stdout.trim()).toBe('PONG');
    expect(((await status(node(0))) as unknown as { security: { tlsHandshakeErrors: number } }).security.tlsHandshakeErrors).toBeGreaterThanOrEqual(1);
  });
});

describe('HTTPS and WSS', () => {
  it('serves /status over HTTPS with credentials, and the typed client over wss://', async () => {
    const s = await get(node(1), '/status');
    expect(s.status).toBe(200);
    expect(JSON.parse(s.text).nodes[0]).toMatchObject({ http: `https://127.0.0.1:${node(0).httpPort}`, ws: `wss://127.0.0.1:${node(0).httpPort}/ws`, tls: `127.0.0.1:${node(0).tlsPort}` });
    expect((await get(node(1), '/status', {})).status).toBe(401);
    const t = await TallyClient.connect(`wss://127.0.0.1:${node(0).httpPort}/ws`, { username: 'admin', password: ADMIN_PW, tls: { ca: readFileSync(certs.ca) }, reconnect: false });
    clients.push(t);
    expect(await t.incr('tls:w', 2)).toBe(2);
    expect(await t.command('ACL', 'WHOAMI')).toBe('admin');
    await expect(TallyClient.connect(`wss://127.0.0.1:${node(0).httpPort}/ws`, { tls: { ca: readFileSync(certs.ca) }, reconnect: false })).rejects.toMatchObject({ code: 'NOAUTH' });
    await expect(TallyClient.connect(`wss://127.0.0.1:${node(0).httpPort}/ws`, { username: 'admin', password: 'wrong', tls: { ca: readFileSync(certs.ca) }, reconnect: false })).rejects.toMatchObject({ code: 'WRONGPASS' });
    await expect(TallyClient.connect(`wss://127.0.0.1:${node(0).httpPort}/ws`, { username: 'admin', password: ADMIN_PW, reconnect: false })).rejects.toThrow(/DISCONNECTED.*(self-signed|unable to verify|certificate)/i);
  });
});

describe('SIGHUP reloads the certificate', () => {
  it('new connections get the new certificate; open ones and gossip carry on', async () => {
    const n = node(0);
    const before = await fingerprint(n.tlsPort as number);
    const open = new Redis({ host: '127.0.0.1', port: n.tlsPort as number, tls: { ca: readFileSync(certs.ca), servername: 'localhost' }, username: 'admin', password: ADMIN_PW, maxRetriesPerRequest: 1 });
    redises.push(open);
    expect(await open.incr('tls:reload')).toBe(1);
    // A new key and certificate over the same files (the key stays 0600), then SIGHUP.
    issue(certs.dir, 'server', '/CN=127.0.0.1 renewed', { cert: certs.ca, key: certs.caKey }, 'IP:127.0.0.1,DNS:localhost');
    process.kill(n.proc?.pid as number, 'SIGHUP');
    await until('the new certificate on the TLS port', async () => (await fingerprint(n.tlsPort as number)) !== before);
    expect(c.log('n1')).toContain('TLS certificate, key and CA reloaded for new connections');
    // The connection opened before the reload still works, and the cluster never noticed.
    expect(await open.incr('tls:reload')).toBe(2);
    expect(await cli(n, 'GET', 'tls:reload')).toBe('2');
    const https = await new Promise<string>((resolveFp, reject) => {
      httpsGet({ host: '127.0.0.1', port: n.httpPort, path: '/health', ca: readFileSync(certs.ca), agent: false }, (res) => {
        resolveFp((res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256);
        res.resume();
      }).on('error', reject);
    });
    expect(https).not.toBe(before);
    expect((await status(node(1))).members.filter((m) => m.state === 'alive').length).toBe(2);
    expect(n.proc?.exitCode).toBeNull();
  });
});

describe('mutual TLS', () => {
  it('clientCerts "required": only a client certificate from the CA gets in (redis-cli, ioredis, HTTPS)', async () => {
    const m = await startCluster({ nodes: 1, tlsPorts: true, config: { tls: tlsConfig({ clientCerts: 'required' }), auth: { users } }, http: { user: 'admin', password: ADMIN_PW }, clientCert: { cert: certs.clientCert, key: certs.clientKey } });
    clusters.push(m);
    const n = m.nodes[0] as TestNode;
    const base = ['--tls', '--cacert', certs.ca, '-p', String(n.tlsPort), '--user', 'admin', '--pass', ADMIN_PW, '--no-auth-warning'];
    expect((await run('redis-cli', [...base, '--cert', certs.clientCert, '--key', certs.clientKey, 'PING'])).stdout.trim()).toBe('PONG');
    await expect(run('redis-cli', [...base, 'PING'])).rejects.toThrow();
    await expect(run('redis-cli', [...base, '--cert', certs.strangerCert, '--key', certs.strangerKey, 'PING'])).rejects.toThrow();
    const r = new Redis({ port: n.tlsPort as number, host: '127.0.0.1', tls: { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), servername: 'localhost' }, username: 'admin', password: ADMIN_PW, maxRetriesPerRequest: 1 });
    redises.push(r);
    expect(await r.incr('mtls:k')).toBe(1);
    // HTTPS too: with the client certificate (the harness presents it), and without.
    expect((await get(n, '/status')).status).toBe(200);
    const without = await new Promise<string>((resolveOutcome) => {
      httpsGet({ host: '127.0.0.1', port: n.httpPort, path: '/health', ca: readFileSync(certs.ca), agent: false }, (res) => {
        res.resume();
        resolveOutcome(`HTTP ${res.statusCode}`);
      }).on('error', (e) => resolveOutcome(e.message));
    });
    expect(without).toMatch(/certificate required|socket hang up|ECONNRESET/i);
  });

  it('clientCerts "optional": no certificate is fine, a certificate of another CA is not', async () => {
    const m = await startCluster({ nodes: 1, tlsPorts: true, config: { tls: tlsConfig({ clientCerts: 'optional', http: false }), auth: { users } }, http: { user: 'admin', password: ADMIN_PW } });
    clusters.push(m);
    const n = m.nodes[0] as TestNode;
    const base = ['--tls', '--cacert', certs.ca, '-p', String(n.tlsPort), '--user', 'admin', '--pass', ADMIN_PW, '--no-auth-warning'];
    expect((await run('redis-cli', [...base, 'PING'])).stdout.trim()).toBe('PONG');
    expect((await run('redis-cli', [...base, '--cert', certs.clientCert, '--key', certs.clientKey, 'PING'])).stdout.trim()).toBe('PONG');
    const stranger = await run('redis-cli', [...base, '--cert', certs.strangerCert, '--key', certs.strangerKey, 'PING']).then(
      (r) => r.stdout.trim(),
      (e: Error) => e.message,
    );
    expect(stranger).not.toBe('PONG');
    // tls.http false: the HTTP port stays plain HTTP.
    expect((await get(n, '/health', {})).status).toBe(200);
  });
});
