// Secrets on disk through the real command line: tally keygen --out and tally cluster up write 0600
// (also over an older 0644 copy), tally passwd prints a hash that checks, and a node refuses a key
// file, a TLS key or a config with a password that other users can read.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePasswordHash, verifyPassword, type PasswordHash } from '../../src/server/auth/password-hash.js';
import { freePort } from '../../src/util/free-port.js';
import { MAIN, until } from '../integration/harness.js';

const mode = (f: string): number => statSync(f).mode & 0o777;
const dir = (): string => mkdtempSync(join(tmpdir(), 'tally-secrets-'));

/** Runs the CLI with `input` on stdin; exit code and output. */
function tally(args: string[], input = ''): Promise<{ code: number | null; out: string }> {
  return new Promise((resolveRun) => {
    const p = spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => resolveRun({ code, out }));
    p.stdin.end(input);
  });
}

async function nodeConfig(d: string, auth: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const file = join(d, 'cluster.json');
  const node = { id: 'n1', host: '127.0.0.1', gossipPort: await freePort(), respPort: await freePort(), httpPort: await freePort() };
  writeFileSync(file, JSON.stringify({ cluster: 's', nodes: [node], dataDir: join(d, 'data'), auth, ...extra }), { mode: 0o600 });
  return file;
}

describe('secret files from the command line', () => {
  it('tally keygen --out writes a new key file 0600 and never replaces one', async () => {
    const f = join(dir(), 'cluster.key');
    expect((await tally(['keygen', '--out', f])).code).toBe(0);
    expect(mode(f)).toBe(0o600);
    expect(readFileSync(f, 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    const again = await tally(['keygen', '--out', f]);
    expect(again.code).toBe(1);
    expect(again.out).toContain('exists');
  });

  it('tally passwd reads the password from stdin and prints a hash (or a user entry) that checks', async () => {
    const r = await tally(['passwd', '--cost', '10'], 'pa ss\u00e9word\n');
    expect(r.code).toBe(0);
    const h = parsePasswordHash(r.out.trim()) as PasswordHash;
    expect(typeof h).toBe('object');
    expect(await verifyPassword(Buffer.from('pa ss\u00e9word'), h)).toBe(true);
    const u = await tally(['passwd', '--cost', '10', '--user', 'alice', '--role', 'read-only'], 'x\n');
    expect(JSON.parse(u.out)).toMatchObject({ name: 'alice', role: 'read-only', passwordHash: expect.stringMatching(/^\$scrypt\$ln=10,/) });
    expect((await tally(['passwd', '--role', 'god'], 'x\n')).out).toContain("--role: expected one of read-only, read-write, admin, got 'god'");
  });

  it('a node refuses a key file, a config holding a password, or a TLS key that others can read', async () => {
    const d = dir();
    const key = join(d, 'cluster.key');
    writeFileSync(key, 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTAxMjM=\n');
    chmodSync(key, 0o644);
    const cfg = await nodeConfig(d, { keyFile: key });
    let r = await tally(['node', '--config', cfg, '--id', 'n1']);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`auth.keyFile: ${key} holds the gossip key and its permissions 0644 let other users of this machine access it; run \`chmod 600 ${key}\``);
    chmodSync(key, 0o600);
    const withPassword = await nodeConfig(d, { keyFile: key, password: 'cfg-Secret' });
    chmodSync(withPassword, 0o640);
    r = await tally(['node', '--config', withPassword, '--id', 'n1']);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`config file: ${withPassword} holds auth.password and its permissions 0640`);
    expect(r.out).not.toContain('cfg-Secret');
    const tlsKey = join(d, 'node.key');
    writeFileSync(tlsKey, 'not even a key');
    chmodSync(tlsKey, 0o604);
    const withTls = await nodeConfig(d, { keyFile: key }, { tls: { certFile: join(d, 'node.crt'), keyFile: tlsKey } });
    r = await tally(['node', '--config', withTls, '--id', 'n1']);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`tls.keyFile: ${tlsKey} holds this node's TLS private key and its permissions 0604`);
  });

  it('a node refuses to gossip off loopback without a key file, before it binds anything', async () => {
    const d = dir();
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: were the refusal missing, the bind
    // would fail instead (EADDRNOTAVAIL), so nothing ever listens beyond loopback.
    const file = join(d, 'cluster.json');
    const gossipPort = await freePort();
    const node = { id: 'n1', host: '192.0.2.1', bindHost: '192.0.2.1', gossipPort, respPort: await freePort(), httpPort: await freePort() };
    writeFileSync(file, JSON.stringify({ cluster: 's', nodes: [node], dataDir: join(d, 'data'), auth: { keyFile: null } }), { mode: 0o600 });
    const r = await tally(['node', '--config', file, '--id', 'n1']);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`auth.keyFile is null and node n1 would gossip on 192.0.2.1, off this machine`);
    expect(r.out).toContain(`anyone who reaches port ${gossipPort} could forge or read counts`);
    expect(r.out).not.toContain('EADDRNOTAVAIL');
    // On loopback the same config runs (with its warning): a local cluster needs no key.
    const local = { ...node, host: '127.0.0.1', bindHost: '127.0.0.1' };
    writeFileSync(file, JSON.stringify({ cluster: 's', nodes: [local], dataDir: join(d, 'data'), auth: { keyFile: null } }), { mode: 0o600 });
    const p = spawn(process.execPath, [MAIN, 'node', '--config', file, '--id', 'n1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (x: Buffer) => (out += x.toString()));
    p.stderr.on('data', (x: Buffer) => (out += x.toString()));
    const exited = new Promise<number | null>((done) => p.once('exit', (code) => done(code)));
    try {
      await until('the loopback node to warn and run', () => out.includes('neither authenticated nor encrypted') && out.includes('listening'), 30_000);
    } finally {
      if (p.pid !== undefined && p.exitCode === null) process.kill(p.pid, 'SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('tally cluster up writes its config and the key file 0600, replacing an older 0644 copy', async () => {
    const d = dir();
    const cfg = await nodeConfig(d, { keyFile: join(d, 'data', 'cluster.key'), password: 'up-Secret' });
    const effective = join(d, 'data', 'cluster-up.config.json');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(d, 'data'));
    writeFileSync(effective, '{}', { mode: 0o644 });
    chmodSync(effective, 0o644);
    const up = spawn(process.execPath, [MAIN, 'cluster', 'up', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    up.stdout.on('data', (x: Buffer) => (out += x.toString()));
    up.stderr.on('data', (x: Buffer) => (out += x.toString()));
    const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
    try {
      await until('the cluster to be up', () => out.includes('is up'), 30_000);
      expect(mode(effective)).toBe(0o600);
      expect(mode(join(d, 'data', 'cluster.key'))).toBe(0o600);
      expect(JSON.parse(readFileSync(effective, 'utf8')).auth.password).toBe('up-Secret');
      expect(out).not.toContain('up-Secret');
      expect(out).toContain(' --askpass'); // the hint asks for the password, never shows it
    } finally {
      if (up.pid !== undefined && up.exitCode === null) process.kill(up.pid, 'SIGTERM');
      expect(await exited).toBe(0);
    }
    expect(existsSync(effective)).toBe(true);
  });
});
