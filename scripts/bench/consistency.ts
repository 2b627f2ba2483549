// `npm run bench -- consistency`: p50 / p99 latency and throughput of local versus majority writes
// and reads on a 5-node local cluster of real processes, one client connection each, RESP.

import { Redis } from 'ioredis';
import { startCluster, waitForMembers } from '../../test/integration/harness.js';
import { printTable, type Row } from './report.js';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function measure(r: Redis, op: () => Promise<unknown>, n: number): Promise<{ p50: number; p99: number; perSec: number }> {
  for (let i = 0; i < 50; i++) await op(); // warm up
  const times: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    await op();
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  times.sort((a, b) => a - b);
  void r;
  return { p50: pct(times, 50), p99: pct(times, 99), perSec: n / secs };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const n = args.includes('--quick') ? 300 : 2000;
  const c = await startCluster({ nodes: 5, config: { gossip: { intervalMs: 200 }, logLevel: 'warn' } });
  const clients: Redis[] = [];
  try {
    await waitForMembers(c, 5);
    const conn = (i: number): Redis => {
      const r = new Redis({ host: '127.0.0.1', port: c.nodes[i]?.respPort as number, maxRetriesPerRequest: 0 });
      clients.push(r);
      return r;
    };
    const local = conn(0);
    const majority = conn(1);
    await majority.call('tally.consistency', 'writes', 'majority', 'reads', 'majority', 'timeout', '5000');
    const rows: Row[] = [];
    const out: Record<string, unknown> = {};
    const cases: [string, Redis, () => Promise<unknown>][] = [
      ['write local', local, () => local.incr('bench:c')],
      ['write majority', majority, () => majority.incr('bench:c')],
      ['read local', local, () => local.get('bench:c')],
      ['read majority', majority, () => majority.get('bench:c')],
    ];
    for (const [name, r, op] of cases) {
      const m = await measure(r, op, n);
      rows.push({ operation: name, 'p50 ms': Math.round(m.p50 * 1000) / 1000, 'p99 ms': Math.round(m.p99 * 1000) / 1000, 'ops/s (1 conn)': Math.round(m.perSec) });
      out[name.replace(' ', '_')] = m;
    }
    const base = (out.write_local as { perSec: number }).perSec;
    const baseRead = (out.read_local as { perSec: number }).perSec;
    printTable(`consistency levels, 5 nodes on this machine, ${n} sequential operations each`, rows);
    console.log(
      `\nthroughput cost: majority writes run at ${((out.write_majority as { perSec: number }).perSec / base).toFixed(2)}x of local writes, majority reads at ${((out.read_majority as { perSec: number }).perSec / baseRead).toFixed(2)}x of local reads (one connection, no pipelining)`,
    );
    return out;
  } finally {
    for (const r of clients) r.disconnect();
    await c.stopAll();
  }
}
