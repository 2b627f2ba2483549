// ioredis clients of a test cluster's nodes, the tally_* figures of a node's INFO sections, and a
// bulk load of new keys through `redis-cli --pipe`.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { TestCluster } from './harness.js';

/** A client of node `i` (0-based), not yet connected. */
export function respClient(c: TestCluster, i: number): Redis {
  return new Redis({ port: (c.nodes[i] as { respPort: number }).respPort, lazyConnect: true, maxRetriesPerRequest: 1 });
}

/** Every numeric `tally_*` field of node `i`'s INFO `section`. */
export async function tallyInfo(c: TestCluster, i: number, section: string): Promise<Record<string, number>> {
  const r = respClient(c, i);
  await r.connect();
  try {
    const info = await r.info(section);
    const out: Record<string, number> = {};
    for (const m of info.matchAll(/^(tally_\w+):(\d+)/gm)) out[m[1] as string] = Number(m[2]);
    return out;
  } finally {
    r.disconnect();
  }
}

/** Every numeric `tally_*` field of node `i`'s INFO memory. */
export function tallyMemory(c: TestCluster, i: number): Promise<Record<string, number>> {
  return tallyInfo(c, i, 'memory');
}

/**
 * `INCR user:0` .. `INCR user:<keys - 1>` into node `i` in one `redis-cli --pipe` (at most 2 minutes):
 * its output, and the errors and replies it counted (NaN if it printed no summary).
 */
export function pipeNewKeys(c: TestCluster, i: number, keys: number): { output: string; errors: number; replies: number } {
  const parts: string[] = [];
  for (let k = 0; k < keys; k++) {
    const key = `user:${k}`;
    parts.push(`*2\r\n$4\r\nINCR\r\n$${key.length}\r\n${key}\r\n`);
  }
  const file = join(c.dir, `pipe-${i}-${keys}.txt`);
  writeFileSync(file, parts.join(''));
  const port = String((c.nodes[i] as { respPort: number }).respPort);
  const r = spawnSync('sh', ['-c', `redis-cli -p ${port} --pipe < ${file}`], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 30 });
  const output = (r.stdout ?? '') + (r.stderr ?? '');
  const summary = /errors: (\d+), replies: (\d+)/.exec(r.stdout ?? '');
  return { output, errors: Number(summary?.[1] ?? NaN), replies: Number(summary?.[2] ?? NaN) };
}
