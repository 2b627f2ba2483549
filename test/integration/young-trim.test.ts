// A real node's young generation after a burst of writes (src/node/young-trim.ts): V8 grows it under
// the burst and keeps it, unless a collection finds allocation slow; the node's trim gives it that
// collection once the node is quiet, and the pages go back (INFO memory `tally_young_generation`,
// /metrics `tally_young_generation_bytes`).

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRIM_ABOVE_BYTES } from '../../src/node/young-trim.js';
import { startCluster, until, type TestCluster } from './harness.js';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ nodes: 1 });
});

afterAll(async () => {
  await c?.stopAll();
});

describe('the young-generation trim', () => {
  it('a node quiet after a burst of new keys gives its grown young generation back', async () => {
    const node = c.nodes[0] as { respPort: number; httpPort: number };
    const r = new Redis({ port: node.respPort, lazyConnect: true });
    await r.connect();
    try {
      const young = async (): Promise<number> => Number(/^tally_young_generation:(\d+)/m.exec(await r.info('memory'))?.[1]);
      // The burst: 200,000 new keys, pipelined. Their strings and what each write makes survive
      // collections, and V8 grows the young generation for them.
      for (let b = 0; b < 20; b++) {
        const p = r.pipeline();
        for (let i = 0; i < 10_000; i++) p.incr(`burst:${b}:${i}`);
        await p.exec();
      }
      const grown = await young();
      expect(grown).toBeGreaterThan(TRIM_ABOVE_BYTES);
      // Quiet now: within a few trims the young generation is back at or under the threshold.
      const shrunk = await until('the young generation to shrink', async () => {
        const y = await young();
        return y <= TRIM_ABOVE_BYTES ? y : undefined;
      }, 40_000);
      expect(shrunk).toBeLessThan(grown);
      const metrics = await (await fetch(`http://127.0.0.1:${node.httpPort}/metrics`)).text();
      expect(Number(/^tally_young_generation_bytes (\d+)/m.exec(metrics)?.[1])).toBeLessThanOrEqual(TRIM_ABOVE_BYTES);
    } finally {
      r.disconnect();
    }
  }, 90_000);
});
