// Starts real tally node processes on ephemeral loopback ports and stops them by pid.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../../src/util/free-port.js';

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
  const res = await fetch(`http://127.0.0.1:${node.httpPort}/status`, node.authorization === undefined ? {} : { headers: { authorization: node.authorization } });
  if (!res.ok) throw new Error(`/status of ${node.id} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as never;
}

export interface ClusterOptions {
  nodes: number;
  /** Node ids not started by `startCluster` (they are in the config, started later by the test). */
  deferred?: string[];
  config?: Record<string, unknown>;
  keys?: string[];
  /** Credentials for /status when the cluster has users but no default password. */
  http?: { user: string; password: string };
}

export async function startCluster(o: ClusterOptions): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-it-'));
  const nodes: TestNode[] = [];
  for (let i = 1; i <= o.nodes; i++) {
    nodes.push({ id: `n${i}`, gossipPort: await freePort(), respPort: await freePort(), httpPort: await freePort(), proc: null, logFile: join(dir, `n${i}.log`) });
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
      nodes: nodes.map(({ id, gossipPort, respPort, httpPort }) => ({ id, host: '127.0.0.1', gossipPort, respPort, httpPort })),
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
      const p = spawn(process.execPath, [MAIN, 'node', '--config', configPath, '--id', id, ...extraArgs], { stdio: ['ignore', out, out] });
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
        await Promise.race([until(`${id} /health`, async () => (await fetch(`http://127.0.0.1:${n.httpPort}/health`)).ok), died]);
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
