// A short load run: 1,000 concurrent RESP connections on a 3-node cluster for 5 s must see no errors,
// lose no increment, and keep every node's memory bounded. Timing is reported, never asserted.

import { describe, expect, it } from 'vitest';
import { runLoad } from '../../scripts/bench/load.js';

describe('load', () => {
  it('serves 1,000 concurrent connections for 5 s with no errors and bounded memory', async () => {
    const r = await runLoad({ nodes: 3, connections: 1000, durationS: 5, keys: 50, print: false });
    console.log(`load: ${r.ops} ops, ${r.opsPerSec} ops/s, p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, max ${r.latencyMs.max.toFixed(1)} ms, rss ${JSON.stringify(r.rssMiB)}`);
    expect(r.errors).toBe(0);
    expect(r.minServedPerConnection).toBeGreaterThan(0); // every connection was served
    // Every acknowledged increment reached every node, none lost or counted twice.
    expect(r.nodeSums).toEqual(r.nodeSums.map(() => r.ops));
    for (const [node, m] of Object.entries(r.rssMiB)) {
      if (Number.isNaN(m.max)) continue; // no /proc: nothing to check
      expect(m.max, `${node} RSS`).toBeLessThan(Math.max(2 * m.start, m.start + 256));
    }
  }, 60_000);
});
