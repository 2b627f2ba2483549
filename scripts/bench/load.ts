// Load: a 3-node cluster (real processes, gossip on) and N concurrent RESP connections, each doing
// INCR one at a time, for a fixed time. Prints throughput, latency percentiles and every node's RSS
// over time. A benchmark: it reports, it never asserts on time (test/verify/load.test.ts checks a
// short run for errors and bounded memory). `npm run bench -- load --connections=1000 --duration=60`.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VerifyCluster } from '../../src/verify/cluster.js';
import { RespConnection } from '../../src/verify/resp-client.js';
import { defaultPersistence } from '../../src/verify/run.js';
import { printTable } from './report.js';

export interface LoadOptions {
  nodes: number;
  connections: number;
  durationS: number;
  /** Distinct counter keys the connections spread over. */
  keys: number;
  /** Print tables (the bench) or stay quiet (the test). */
  print: boolean;
}

export interface LoadResult {
  connections: number;
  durationS: number;
  ops: number;
  errors: number;
  opsPerSec: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
  /** Per node: RSS in MiB at the start of the load, at the end, and the most seen. */
  rssMiB: Record<string, { start: number; end: number; max: number }>;
  /** RSS samples, one per second: [second, node, MiB]. */
  rssSeries: [number, string, number][];
  finalValueSum: number;
  /** Each node's sum of every key once gossip caught up (or after 30 s): each must equal `ops`. */
  nodeSums: number[];
  /** The fewest increments any one connection had acknowledged: 0 means a connection was never served. */
  minServedPerConnection: number;
}

/** Resident set size of a pid in MiB (Linux /proc), or NaN elsewhere. */
function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-load-'));
  const cluster = await VerifyCluster.create({ dir, nodes: o.nodes, persistence: defaultPersistence(), logLevel: 'warn', gossip: { intervalMs: 200, probeIntervalMs: 1000, probeTimeoutMs: 500 } });
  try {
    await Promise.all(cluster.nodes.map((n) => cluster.start(n.id)));
    await cluster.waitFormed(30_000);
    const conns = Array.from({ length: o.connections }, (_, i) => {
      const n = cluster.nodes[i % cluster.nodes.length] as (typeof cluster.nodes)[number];
      return new RespConnection('127.0.0.1', n.respPort, 10_000);
    });
    // Open every connection before the clock starts (a PING each), so the run measures serving.
    await Promise.all(conns.map((c) => c.command(['PING'])));
    const lat: number[] = [];
    let errors = 0;
    let running = true;
    const series: [number, string, number][] = [];
    const t0 = performance.now();
    const sample = (): void => {
      const s = Math.round((performance.now() - t0) / 1000);
      for (const n of cluster.nodes) series.push([s, n.id, rssMiB(n.proc?.pid)]);
    };
    sample();
    const sampler = setInterval(sample, 1000);
    const served = new Array<number>(conns.length).fill(0);
    const workers = conns.map(async (c, i) => {
      const key = `load:${i % o.keys}`;
      while (running) {
        const start = performance.now();
        const r = await c.command(['INCR', key]);
        if (r.kind !== 'ok' || (typeof r.reply === 'object' && r.reply !== null)) errors++;
        else {
          lat.push(performance.now() - start);
          served[i] = (served[i] ?? 0) + 1;
        }
      }
    });
    await new Promise((r) => setTimeout(r, o.durationS * 1000));
    running = false;
    await Promise.all(workers);
    const elapsed = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    sample();
    for (const c of conns) c.close();

    // Every acknowledged increment must reach every node: read each node's sum until all equal the
    // acknowledged count (or 30 s pass), and report what each node holds.
    const sums = async (): Promise<number[]> =>
      Promise.all(
        cluster.nodes.map(async (n) => {
          const reader = new RespConnection('127.0.0.1', n.respPort, 5_000);
          let sum = 0;
          for (let k = 0; k < o.keys; k++) {
            const r = await reader.command(['GET', `load:${k}`]);
            if (r.kind === 'ok' && typeof r.reply === 'string') sum += Number(r.reply);
          }
          reader.close();
          return sum;
        }),
      );
    let nodeSums = await sums();
    for (const until = Date.now() + 30_000; nodeSums.some((x) => x !== lat.length) && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 250));
      nodeSums = await sums();
    }
    const finalValueSum = nodeSums[0] ?? 0;

    const sorted = Float64Array.from(lat).sort();
    const rss: LoadResult['rssMiB'] = {};
    for (const n of cluster.nodes) {
      const mine = series.filter((s) => s[1] === n.id).map((s) => s[2]);
      rss[n.id] = { start: mine[0] ?? Number.NaN, end: mine[mine.length - 1] ?? Number.NaN, max: Math.max(...mine) };
    }
    const result: LoadResult = {
      connections: o.connections,
      durationS: Math.round(elapsed * 10) / 10,
      ops: lat.length,
      errors,
      opsPerSec: Math.round(lat.length / elapsed),
      latencyMs: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), p999: percentile(sorted, 0.999), max: sorted[sorted.length - 1] ?? Number.NaN },
      rssMiB: rss,
      rssSeries: series,
      finalValueSum,
      nodeSums,
      minServedPerConnection: Math.min(...served),
    };
    if (o.print) {
      printTable(`load: ${o.connections} RESP connections doing INCR on ${o.nodes} nodes (gossip on) for ${result.durationS} s`, [
        { ops: result.ops, 'ops/s': result.opsPerSec, errors, 'p50 ms': result.latencyMs.p50, 'p99 ms': result.latencyMs.p99, 'p99.9 ms': result.latencyMs.p999, 'max ms': result.latencyMs.max },
      ]);
      printTable('RSS per node (MiB)', Object.entries(rss).map(([node, r]) => ({ node, start: r.start, end: r.end, max: r.max })));
      const secs = [...new Set(series.map((s) => s[0]))];
      const every = Math.max(1, Math.ceil(secs.length / 12));
      printTable(
        'RSS over time (MiB)',
        secs.filter((_, i) => i % every === 0 || i === secs.length - 1).map((s) => ({ s, ...Object.fromEntries(series.filter((x) => x[0] === s).map((x) => [x[1], Math.round(x[2])])) })),
      );
    }
    return result;
  } finally {
    await cluster.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

function flag(args: string[], name: string, dflt: number): number {
  // `--name=value` (bench/main.ts takes every bare word for a suite name).
  const a = args.find((x) => x.startsWith(`--${name}=`));
  const v = a === undefined ? dflt : Number(a.slice(name.length + 3));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number`);
  return v;
}

export async function run(args: string[]): Promise<LoadResult> {
  return runLoad({ nodes: flag(args, 'nodes', 3), connections: flag(args, 'connections', 1000), durationS: flag(args, 'duration', 60), keys: flag(args, 'keys', 100), print: true });
}
