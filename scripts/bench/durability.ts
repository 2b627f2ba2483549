// `npm run bench -- durability`: what each persistence setting costs. INCR through redis-benchmark
// (50 connections, pipeline depth 1 and 16) against a one-node tally and a redis-server at the
// matching setting (none ~ appendonly no, everysec ~ appendfsync everysec, always ~ appendfsync
// always), side by side in the same run, each a child process on a free loopback port with a temp
// data dir, stopped by pid. Options: --n=<requests at depth 1> (depth 16 runs 10x), --rounds=<r>
// (alternating runs per cell; the best is kept). Prints a table; never asserts.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printTable, type Row } from './report.js';
import { PERSISTENCE_MODES as MODES, numArg as arg, redisBenchmark, startRedis, startTally, stop } from './servers.js';

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
          r = Math.max(r, (await redisBenchmark(redis.port, n, depth, { t: 'incr' })).rps);
          t = Math.max(t, (await redisBenchmark(tally.port, n, depth, { t: 'incr' })).rps);
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
