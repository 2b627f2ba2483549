// The oracle's tally, started inside the test process from src/ by the node's own composition root
// (startNode, what `tally node` runs), on ephemeral loopback ports. Under mutation testing
// (`npm run mutate`, which sets TALLY_MUTATE_TESTS) the oracle uses it, so the mutants of the
// command table are the code that answers redis-server's replies; `npm test` runs the built CLI in a
// process of its own (integration/harness.ts).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/cluster-config.js';
import { startNode } from '../../src/node/start.js';
import { NOOP_LOGGER } from '../../src/util/logger.js';

export interface InProcessTally {
  readonly respPort: number;
  stop(): Promise<void>;
}

export const oracleInProcess = (): boolean => process.env.TALLY_MUTATE_TESTS !== undefined;

export async function startInProcessTally(): Promise<InProcessTally> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-oracle-'));
  try {
    const keyFile = join(dir, 'cluster.key');
    writeFileSync(keyFile, 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTAxMjM=\n', { mode: 0o600 });
    // As the harness configures a node, with ports of 0 (the system picks free ones).
    const cfg = validateConfig({
      cluster: 'oracle',
      nodes: [{ id: 'n1', host: '127.0.0.1', gossipPort: 0, respPort: 0, httpPort: 0 }],
      gossip: { intervalMs: 100, probeIntervalMs: 300, probeTimeoutMs: 150 },
      dataDir: join(dir, 'data'),
      logLevel: 'info',
      gcounterKeys: ['views:*'],
      auth: { keyFile, password: null },
    });
    const node = await startNode(cfg, 'n1', NOOP_LOGGER);
    const respPort = node.ports.resp;
    if (respPort === null) throw new Error('the in-process node serves no plaintext RESP');
    return {
      respPort,
      async stop() {
        await node.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
