// `npm run bench -- durability`: what each persistence setting costs. INCR through redis-benchmark
// (50 connections, pipeline depth 1 and 16) against a one-node tally and a redis-server at the
// matching setting (none ~ appendonly no, everysec ~ appendfsync everysec, always ~ appendfsync
// always), side by side in the same run, each a child process on a free loopback port with a temp
// data dir, stopped by pid. Options: --n=<requests at depth 1> (depth 16 runs 10x), --rounds=<r>
// (alternating runs per cell; the best is kept). Prints a table; never asserts.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { printTable, type Row } from './report.js';

const MAIN = resolve(import.meta.dirname, '../src/cli/main.js');
const MODES = ['none', 'everysec', 'always'] as const;
type Mode = (typeof MODES)[number];
const REDIS_ARGS: Record<Mode, string[]> = {
  none: ['--appendonly', 'no'],
  everysec: ['--appendonly', 'yes', '--appendfsync', 'everysec'],
  always: ['--appendonly', 'yes', '--appendfsync', 'always'],
};

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

/** Resolves once a RESP PING on `port` gets +PONG (tally: once the node serves). */
async function waitPong(port: number, timeoutMs = 20_000): Promise<void> {
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

function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.pid === undefined) return Promise.resolve();
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  process.kill(p.pid, 'SIGKILL');
  return gone;
}

async function startRedis(mode: Mode, dir: string): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...REDIS_ARGS[mode]], { stdio: 'ignore' });
  await waitPong(port);
  return { port, proc };
}

async function startTally(mode: Mode, dir: string): Promise<{ port: number; proc: ChildProcess }> {
  const [gossipPort, respPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const config = join(dir, 'cluster.json');
  writeFileSync(
    config,
    JSON.stringify({ cluster: 'bench', nodes: [{ id: 'n1', host: '127.0.0.1', gossipPort, respPort, httpPort }], dataDir: join(dir, 'data'), persistence: mode, auth: { keyFile: null }, logLevel: 'warn' }),
  );
  const proc = spawn(process.execPath, [MAIN, 'node', '--config', config, '--id', 'n1'], { stdio: 'ignore' });
  await waitPong(respPort);
  return { port: respPort, proc };
}

/** One redis-benchmark INCR run; its requests per second. */
function redisBenchmark(port: number, n: number, depth: number): Promise<number> {
  return new Promise((res, rej) => {
    execFile('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-c', '50', '-n', String(n), '-P', String(depth), '-t', 'incr', '--csv'], (e, stdout) => {
      if (e) return rej(e);
      const line = stdout.split('\n').find((l) => l.startsWith('"INCR"'));
      const rps = Number(line?.split(',')[1]?.replaceAll('"', ''));
      if (!Number.isFinite(rps)) return rej(new Error(`cannot parse redis-benchmark output: ${stdout.slice(0, 200)}`));
      res(rps);
    });
  });
}

function arg(args: string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.split('=')[1]);
}

export async function run(args: string[]): Promise<unknown> {
  const n1 = arg(args, 'n', 40_000);
  const rounds = arg(args, 'rounds', 2);
  const rows: Row[] = [];
  const out: Record<string, unknown>[] = [];
  for (const mode of MODES) {
    const dir = mkdtempSync(join(tmpdir(), `tally-bench-${mode}-`));
    const redisDir = join(dir, 'redis');
    const tallyDir = join(dir, 'tally');
    for (const d of [redisDir, tallyDir]) mkdirSync(d, { recursive: true });
    const redis = await startRedis(mode, redisDir);
    const tally = await startTally(mode, tallyDir);
    try {
      for (const depth of [1, 16]) {
        const n = depth === 1 ? n1 : n1 * 10;
        let r = 0;
        let t = 0;
        // Alternate the two servers so drift in machine load hits both alike; keep each one's best.
        for (let i = 0; i < rounds; i++) {
          r = Math.max(r, await redisBenchmark(redis.port, n, depth));
          t = Math.max(t, await redisBenchmark(tally.port, n, depth));
        }
        const redisLabel = mode === 'none' ? 'appendonly no' : `appendfsync ${mode}`;
        rows.push({ persistence: mode, redis: redisLabel, pipeline: depth, 'tally INCR/s': Math.round(t), 'redis INCR/s': Math.round(r), 'tally/redis': Math.round((t / r) * 100) / 100 });
        out.push({ persistence: mode, depth, tally: t, redis: r, ratio: t / r });
      }
    } finally {
      await stop(tally.proc);
      await stop(redis.proc);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  printTable(`INCR throughput, 50 connections, redis-benchmark, best of ${rounds} alternating runs (depth 16 runs ${n1 * 10} requests, depth 1 ${n1})`, rows);
  return out;
}
