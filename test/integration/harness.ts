// Starts real tally node processes on ephemeral loopback ports and stops them by pid.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, writeFileSync, readFileSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../../src/util/free-port.js';
import { nodeEnv } from '../../src/util/allocator.js';

/** The repository root: the nearest folder above this file with a package.json (works from src and dist). */
function repoRoot(): string {
  let d = import.meta.dirname;
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
}

export const MAIN = join(repoRoot(), 'dist/src/cli/main.js');

export interface TestNode {
  id: string;
  gossipPort: number;
  respPort: number;
  httpPort: number;
  proc: ChildProcess | null;
  logFile: string;
  /** The Authorization header /status needs when the cluster has credentials (the default password, or ClusterOptions.http). */
  authorization?: string;
  /** RESP over TLS (ClusterOptions.tlsPorts). */
  tlsPort?: number;
  /** https when the config's tls section serves HTTP (tls.http), with `ca` to trust. */
  scheme: 'http' | 'https';
  ca?: Buffer;
  /** A client certificate and key for HTTPS, when the node asks for one (ClusterOptions.clientCert). */
  clientCert?: { cert: Buffer; key: Buffer };
}

/** GET `path` of a node over HTTP or HTTPS (trusting its CA), with its credentials unless told otherwise. */
export function get(node: TestNode, path: string, headers: Record<string, string> | null = null): Promise<{ status: number; headers: IncomingMessage['headers']; text: string }> {
  const h = headers ?? (node.authorization === undefined ? {} : { authorization: node.authorization });
  const url = `${node.scheme}://127.0.0.1:${node.httpPort}${path}`;
  return new Promise((resolveGet, reject) => {
    const onRes = (res: IncomingMessage): void => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    };
    // agent: false: a fresh connection (and TLS handshake) for every request, never one kept alive.
    const tlsOptions = { agent: false as const, ...(node.ca === undefined ? {} : { ca: node.ca }), ...(node.clientCert ?? {}) };
    const req = node.scheme === 'https' ? httpsGet(url, { headers: h, ...tlsOptions }, onRes) : httpGet(url, { headers: h, agent: false }, onRes);
    req.setTimeout(5_000, () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
  });
}

export interface TestCluster {
  dir: string;
  configPath: string;
  nodes: TestNode[];
  start(id: string, extraArgs?: string[]): Promise<void>;
  stop(id: string, signal?: NodeJS.Signals): Promise<number | null>;
  stopAll(): Promise<void>;
  log(id: string): string;
}


export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function status(node: TestNode): Promise<{ members: { id: string; state: string; incarnation: number }[]; gossip: { transport: { rejected: Record<string, number> }; rejected: Record<string, number> } }> {
  const res = await get(node, '/status');
  if (res.status !== 200) throw new Error(`/status of ${node.id} answered ${res.status}: ${res.text}`);
  return JSON.parse(res.text) as never;
}

export interface ClusterOptions {
  nodes: number;
  /** Node ids not started by `startCluster` (they are in the config, started later by the test). */
  deferred?: string[];
  config?: Record<string, unknown>;
  /** More fields of some nodes' entries in the config, by node id (e.g. `{ n2: { maxmemory: 1 } }`). */
  nodeConfig?: Record<string, Record<string, unknown>>;
  keys?: string[];
  /** Credentials for /status when the cluster has users but no default password. */
  http?: { user: string; password: string };
  /** Give every node a tlsPort (RESP over TLS; the config needs a tls section). */
  tlsPorts?: boolean;
  /** Environment variables for the node processes (e.g. TALLY_TEST_LOCAL_ADDRESSES). */
  env?: Record<string, string>;
  /** Client certificate and key files the harness presents over HTTPS (mutual TLS). */
  clientCert?: { cert: string; key: string };
}

export async function startCluster(o: ClusterOptions): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-it-'));
  const nodes: TestNode[] = [];
  for (let i = 1; i <= o.nodes; i++) {
    nodes.push({ id: `n${i}`, gossipPort: await freePort(), respPort: await freePort(), httpPort: await freePort(), proc: null, logFile: join(dir, `n${i}.log`), scheme: 'http' });
    if (o.tlsPorts === true) (nodes[i - 1] as TestNode).tlsPort = await freePort();
  }
  const tls = o.config?.tls as { http?: boolean; caFile?: string } | undefined;
  if (tls !== undefined && tls.http !== false) {
    for (const n of nodes) {
      n.scheme = 'https';
      if (tls.caFile !== undefined) n.ca = readFileSync(tls.caFile);
      if (o.clientCert !== undefined) n.clientCert = { cert: readFileSync(o.clientCert.cert), key: readFileSync(o.clientCert.key) };
    }
  }
  const password = (o.config?.auth as { password?: unknown } | undefined)?.password;
  const creds = o.http ?? (typeof password === 'string' ? { user: 'default', password } : undefined);
  if (creds !== undefined) for (const n of nodes) n.authorization = `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}`;
  const keyFile = join(dir, 'cluster.key');
  // Secret files are owner-only: a node refuses a key file, or a config holding a password, that others may read.
  writeFileSync(keyFile, (o.keys ?? ['c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTAxMjM=']).join('\n') + '\n', { mode: 0o600 });
  const configPath = join(dir, 'cluster.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      cluster: 'it',
      nodes: nodes.map(({ id, gossipPort, respPort, httpPort, tlsPort }) => ({ id, host: '127.0.0.1', gossipPort, respPort, httpPort, ...(tlsPort === undefined ? {} : { tlsPort }), ...o.nodeConfig?.[id] })),
      gossip: { intervalMs: 100, probeIntervalMs: 300, probeTimeoutMs: 150 },
      dataDir: join(dir, 'data'),
      logLevel: 'info',
      gcounterKeys: ['views:*'],
      ...o.config,
      auth: { keyFile, password: null, ...((o.config?.auth as object | undefined) ?? {}) },
    }),
    { mode: 0o600 },
  );
  const cluster: TestCluster = {
    dir,
    configPath,
    nodes,
    async start(id, extraArgs = []) {
      const n = nodes.find((x) => x.id === id) as TestNode;
      const out = openSync(n.logFile, 'a');
      const p = spawn(process.execPath, [MAIN, 'node', '--config', configPath, '--id', id, ...extraArgs], { stdio: ['ignore', out, out], env: { ...nodeEnv(process.env, 'auto').env, ...o.env } });
      n.proc = p;
      const tail = (): string => readFileSync(n.logFile, 'utf8').split('\n').slice(-15).join('\n');
      // A node that dies while starting fails the test at once, with the reason from its log.
      let healthy = false;
      const died = new Promise<never>((_, reject) =>
        p.once('exit', (code, signal) => {
          if (!healthy) reject(new Error(`${id} exited (${code ?? signal}) before it was healthy; its log ends:\n${tail()}`));
        }),
      );
      died.catch(() => {});
      try {
        await Promise.race([until(`${id} /health`, async () => (await get(n, '/health', {})).status === 200), died]);
        healthy = true;
      } catch (e) {
        if (p.exitCode === null) throw new Error(`${(e as Error).message}; its log ends:\n${tail()}`, { cause: e });
        throw e;
      }
    },
    async stop(id, signal = 'SIGTERM') {
      const n = nodes.find((x) => x.id === id) as TestNode;
      const p = n.proc;
      if (p === null || p.exitCode !== null || p.pid === undefined) return p?.exitCode ?? null;
      const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
      process.kill(p.pid, signal);
      const code = await exited;
      n.proc = null;
      return code;
    },
    async stopAll() {
      await Promise.all(nodes.map((n) => cluster.stop(n.id, 'SIGKILL')));
    },
    log(id) {
      return readFileSync((nodes.find((x) => x.id === id) as TestNode).logFile, 'utf8');
    },
  };
  try {
    await Promise.all(nodes.filter((n) => !(o.deferred ?? []).includes(n.id)).map((n) => cluster.start(n.id)));
  } catch (e) {
    await cluster.stopAll();
    throw e;
  }
  return cluster;
}

/** Waits until every started node sees `count` members alive. */
export async function waitForMembers(c: TestCluster, count: number, timeoutMs = 20_000): Promise<void> {
  for (const n of c.nodes.filter((x) => x.proc !== null)) {
    await until(`${n.id} to see ${count} alive`, async () => (await status(n)).members.filter((m) => m.state === 'alive').length === count, timeoutMs);
  }
}
