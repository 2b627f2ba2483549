// `npm run bench -- resp`: INCR and PFADD at pipeline depth 1 and 16, 50 connections, against a
// one-node tally (persistence none) and, when redis-server is installed, redis-server
// (appendonly no) side by side in the same run: req/s, p50, p99 and the ratio tally/redis.
// redis-benchmark is the load generator for both. Options: --n=<requests at depth 1> (depth 16
// runs 10x), --rounds=<r> (alternating runs per cell; the best is kept). Never asserts.

import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printTable, type Row } from './report.js';
import { hasRedis, numArg, redisBenchmark, startRedis, startTally, stop, type LoadResult, type Server } from './servers.js';

const TESTS: { name: string; spec: { t: string } | { command: string[] } }[] = [
  { name: 'INCR', spec: { t: 'incr' } },
  // 16-byte-ish distinct elements: __rand_int__ is replaced by a 12-digit random number per request.
  { name: 'PFADD', spec: { command: ['PFADD', 'bench:hll', 'visitor:__rand_int__'] } },
];

export async function run(args: string[]): Promise<unknown> {
  const n1 = numArg(args, 'n', 50_000);
  const rounds = numArg(args, 'rounds', 2);
  const withRedis = await hasRedis();
  if (!withRedis) console.log('redis-server is not installed (apt-get install redis-server): measuring tally alone');
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-resp-'));
  for (const d of ['redis', 'tally']) mkdirSync(join(dir, d));
  const tally = await startTally('none', join(dir, 'tally'));
  const redis: Server | null = withRedis ? await startRedis('none', join(dir, 'redis')) : null;
  const rows: Row[] = [];
  const out: Record<string, unknown>[] = [];
  try {
    for (const test of TESTS) {
      for (const depth of [1, 16]) {
        const n = depth === 1 ? n1 : n1 * 10;
        let t: LoadResult = { rps: 0, p50: NaN, p99: NaN };
        let r: LoadResult = { rps: 0, p50: NaN, p99: NaN };
        // Alternate the servers so drift in machine load hits both alike; keep each one's best run.
        for (let i = 0; i < rounds; i++) {
          if (redis !== null) {
            const x = await redisBenchmark(redis.port, n, depth, test.spec);
            if (x.rps > r.rps) r = x;
          }
          const y = await redisBenchmark(tally.port, n, depth, test.spec);
          if (y.rps > t.rps) t = y;
        }
        const row: Row = { command: test.name, pipeline: depth, 'tally req/s': Math.round(t.rps), 'tally p50 ms': t.p50, 'tally p99 ms': t.p99 };
        if (redis !== null) Object.assign(row, { 'redis req/s': Math.round(r.rps), 'redis p50 ms': r.p50, 'redis p99 ms': r.p99, 'tally/redis': Math.round((t.rps / r.rps) * 100) / 100 });
        rows.push(row);
        out.push({ command: test.name, depth, tally: t, redis: redis === null ? null : r, ratio: redis === null ? null : t.rps / r.rps });
      }
    }
  } finally {
    await stop(tally.proc);
    if (redis !== null) await stop(redis.proc);
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(`RESP throughput, 50 connections, redis-benchmark, best of ${rounds} alternating runs (depth 1: ${n1} requests, depth 16: ${n1 * 10})`, rows);
  return out;
}
