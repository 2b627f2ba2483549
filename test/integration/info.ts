// ioredis clients of a test cluster's nodes, and the tally_* figures of a node's INFO memory.

import { Redis } from 'ioredis';
import type { TestCluster } from './harness.js';

/** A client of node `i` (0-based), not yet connected. */
export function respClient(c: TestCluster, i: number): Redis {
  return new Redis({ port: (c.nodes[i] as { respPort: number }).respPort, lazyConnect: true, maxRetriesPerRequest: 1 });
}

/** Every numeric `tally_*` field of node `i`'s INFO memory. */
export async function tallyMemory(c: TestCluster, i: number): Promise<Record<string, number>> {
  const r = respClient(c, i);
  await r.connect();
  try {
    const info = await r.info('memory');
    const out: Record<string, number> = {};
    for (const m of info.matchAll(/^(tally_\w+):(\d+)/gm)) out[m[1] as string] = Number(m[2]);
    return out;
  } finally {
    r.disconnect();
  }
}
