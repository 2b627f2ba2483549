// Shared by the server benchmarks: start a one-node tally, a 3-node tally cluster and a redis-server
// as child processes on free loopback ports with temp data dirs, stop them by pid, and drive them
// with redis-benchmark.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { freePort } from '../../src/util/free-port.js';
import { NODE_V8_FLAGS } from '../../src/node/v8-flags.js';
import { nodeEnv, type Allocator } from '../../src/util/allocator.js';

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.js');
const FLOOR = resolve(import.meta.dirname, 'floor-server.js');
/** The environment of every tally node started here: its malloc as `tally cluster up` picks it unless `useAllocator` says otherwise. */
let NODE_ENV: NodeJS.ProcessEnv = nodeEnv(process.env, 'auto').env;

/** Sets the malloc of the tally nodes started from now on; returns which one they get. */
export function useAllocator(allocator: Allocator): 'jemalloc' | 'system' | 'preset' {
  const { env, chosen } = nodeEnv(process.env, allocator);
  NODE_ENV = env;
  return chosen;
}

export const PERSISTENCE_MODES = ['none', 'everysec', 'always'] as const;
export type Mode = (typeof PERSISTENCE_MODES)[number];

/** redis-server's closest setting to each tally persistence mode. */
const REDIS_ARGS: Record<Mode, string[]> = {
  none: ['--appendonly', 'no'],
  everysec: ['--appendonly', 'yes', '--appendfsync', 'everysec'],
  always: ['--appendonly', 'yes', '--appendfsync', 'always'],
};

export interface Server {
  port: number;
  /** RESP over TLS, when the server was started with `tls`. */
  tlsPort?: number;
  proc: ChildProcess;
}

/** Certificate files for a TLS server: its certificate and key, and the CA clients check it with. */
export interface ServerTlsFiles {
  cert: string;
  key: string;
  ca: string;
}


/** Resolves once a RESP PING on `port` gets +PONG (tally: once the node serves). */
export async function waitPong(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('error', () => res(false));
      s.once('connect', () => s.write('PING\r\n'));
      s.once('data', (d) => {
        s.destroy();
        res(d.toString().startsWith('+PONG'));
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no PONG on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.pid === undefined) return Promise.resolve();
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  process.kill(p.pid, 'SIGKILL');
  return gone;
}

export function hasRedis(): Promise<boolean> {
  return new Promise((res) => execFile('redis-server', ['--version'], (e) => res(e === null)));
}

/**
 * redis-server; with `tls` also on a TLS port (Redis's tls-port, no client certificates asked); with
 * `replicaOf` a replica of the redis-server on that loopback port.
 */
export async function startRedis(mode: Mode, dir: string, tls?: ServerTlsFiles, replicaOf?: number): Promise<Server> {
  const port = await freePort();
  const tlsPort = tls === undefined ? undefined : await freePort();
  const tlsArgs = tls === undefined ? [] : ['--tls-port', String(tlsPort), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no'];
  const replicaArgs = replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOf)];
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...REDIS_ARGS[mode], ...tlsArgs, ...replicaArgs], { stdio: 'ignore' });
  await waitPong(port);
  return { port, ...(tlsPort === undefined ? {} : { tlsPort }), proc };
}

/** A one-node tally; with `tls` also RESP over TLS on a tlsPort (the tls section of the config). */
export async function startTally(mode: Mode, dir: string, tls?: ServerTlsFiles): Promise<Server> {
  const [gossipPort, respPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const tlsPort = tls === undefined ? undefined : await freePort();
  const config = join(dir, 'cluster.json');
  writeFileSync(
    config,
    JSON.stringify({
      cluster: 'bench',
      nodes: [{ id: 'n1', host: '127.0.0.1', gossipPort, respPort, httpPort, ...(tlsPort === undefined ? {} : { tlsPort }) }],
      dataDir: join(dir, 'data'),
      persistence: mode,
      auth: { keyFile: null },
      logLevel: 'warn',
      ...(tls === undefined ? {} : { tls: { certFile: tls.cert, keyFile: tls.key, caFile: tls.ca, http: false } }),
    }),
  );
  const proc = spawn(process.execPath, [...NODE_V8_FLAGS, MAIN, 'node', '--config', config, '--id', 'n1'], { stdio: 'ignore', env: NODE_ENV });
  await waitPong(respPort);
  return { port: respPort, ...(tlsPort === undefined ? {} : { tlsPort }), proc };
}

/**
 * The runtime's floor (floor-server.ts): a RESP counter server of Node.js and a Map, with `store`
 * its keys written to an LMDB file in `dir` as tally's everysec writes them. Started with tally's V8
 * flags and malloc, so that only tally's own code differs.
 */
export async function startFloor(dir: string, store: boolean): Promise<Server> {
  const port = await freePort();
  const args = [...NODE_V8_FLAGS, FLOOR, '--port', String(port), ...(store ? ['--store', join(dir, 'floor.mdb')] : [])];
  const proc = spawn(process.execPath, args, { stdio: 'ignore', env: NODE_ENV });
  await waitPong(port);
  return { port, proc };
}

/** A node of a tally cluster started by `startTallyCluster`. */
export interface TallyNode {
  id: string;
  respPort: number;
  proc: ChildProcess;
}

/**
 * A 3-node tally cluster (n1..n3, seeds n1 and n2) from a generated config, as users run it. The
 * nodes go into `started` as they spawn, so a caller can stop them even if one never answers.
 * `profDir` runs every node under `node --cpu-prof` (the profile is written when it stops by SIGTERM).
 */
export async function startTallyCluster(dir: string, mode: Mode, started: TallyNode[], profDir?: string): Promise<void> {
  const nodes = [];
  for (const id of ['n1', 'n2', 'n3']) nodes.push({ id, host: '127.0.0.1', gossipPort: await freePort(), respPort: await freePort(), httpPort: await freePort() });
  const config = join(dir, 'cluster.json');
  writeFileSync(config, JSON.stringify({ cluster: 'bench-cluster', nodes, seeds: ['n1', 'n2'], dataDir: join(dir, 'data'), persistence: mode, auth: { keyFile: null }, logLevel: 'warn' }));
  for (const n of nodes) {
    const prof = profDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    const proc = spawn(process.execPath, [...NODE_V8_FLAGS, ...prof, MAIN, 'node', '--config', config, '--id', n.id], { stdio: 'ignore', env: NODE_ENV });
    started.push({ id: n.id, respPort: n.respPort, proc });
  }
  for (const n of started) await waitPong(n.respPort);
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
}

/**
 * One redis-benchmark run, 50 connections: `test` is a built-in test name (`incr`) or, with
 * `command`, a custom command line such as `PFADD hll __rand_int__`.
 */
export function redisBenchmark(port: number, n: number, depth: number, test: { t: string } | { command: string[] }, tlsCa?: string): Promise<LoadResult> {
  const base = ['-h', '127.0.0.1', '-p', String(port), '-c', '50', '-n', String(n), '-P', String(depth), '--csv', ...(tlsCa === undefined ? [] : ['--tls', '--cacert', tlsCa])];
  const args = 't' in test ? [...base, '-t', test.t] : [...base, '-r', '1000000', ...test.command];
  return new Promise((res, rej) => {
    execFile('redis-benchmark', args, (e, stdout) => {
      if (e) return rej(e);
      // CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
      const line = stdout.split('\n').find((l) => l.length > 0 && !l.startsWith('"test"'));
      const f = (line ?? '').split('","').map((x) => Number(x.replaceAll('"', '')));
      const [rps, p50, p99] = [f[1], f[4], f[6]];
      if (rps === undefined || !Number.isFinite(rps)) return rej(new Error(`cannot parse redis-benchmark output: ${stdout.slice(0, 200)}`));
      res({ rps, p50: p50 ?? NaN, p99: p99 ?? NaN });
    });
  });
}

/**
 * CPU seconds (user + system) a process has used so far, or with `mainThread` its main thread alone
 * (the event loop of a Node.js server, redis-server's command thread: what caps its throughput). On a
 * shared machine the time a server spent working is steadier than the wall time of a run, which
 * counts what other processes (the load generator among them) took too.
 */
export function cpuOf(pid: number | undefined, mainThread = false): number {
  if (pid === undefined) return NaN;
  // The fields after the command's closing parenthesis: utime and stime are the 12th and 13th, in
  // clock ticks of 1/100 s (USER_HZ, which Linux fixes at 100 for /proc).
  const fields = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** `--name=value` numeric option with a default. */
export function numArg(args: string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.split('=')[1]);
}
