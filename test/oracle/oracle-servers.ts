// The two servers the Redis oracle compares: a real redis-server and a single tally node (the built
// CLI, through the integration harness), both on free loopback ports, stopped by pid. Under mutation
// testing the tally node runs in this process instead (in-process-tally.ts).

import { startCluster, type TestCluster } from '../integration/harness.js';
import { ELEMENTS } from './commands.js';
import { oracleInProcess, startInProcessTally, type InProcessTally } from './in-process-tally.js';
import type { Ports } from './differential.js';
import { RawRespClient, showBytes } from './raw-resp.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export interface OracleServers {
  readonly ports: Ports;
  readonly redisVersion: string;
  /** Lower-case command names tally lists in COMMAND LIST. */
  readonly tallyCommands: ReadonlySet<string>;
  stop(): Promise<void>;
}

export async function startOracleServers(): Promise<OracleServers> {
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let inProcess: InProcessTally | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([cluster?.stopAll(), inProcess?.stop(), redis?.stop()]);
  };
  try {
    let tallyPort: number;
    if (oracleInProcess()) {
      [redis, inProcess] = await Promise.all([startRedisServer(), startInProcessTally()]);
      tallyPort = inProcess.respPort;
    } else {
      [redis, cluster] = await Promise.all([startRedisServer(), startCluster({ nodes: 1 })]);
      tallyPort = (cluster.nodes[0] as { respPort: number }).respPort;
    }
    const ports = { redis: redis.port, tally: tallyPort };
    const tally = await RawRespClient.connect(ports.tally, 'tally');
    let list: Buffer;
    try {
      list = await tally.send(['COMMAND', 'LIST']);
    } finally {
      tally.close();
    }
    const tallyCommands = new Set([...list.toString('latin1').matchAll(/\$[0-9]+\r\n([^\r\n]*)\r\n/g)].map((m) => (m[1] as string).toLowerCase()));
    await checkElementsDistinct(ports);
    return { ports, redisVersion: redis.version, tallyCommands, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * PFADD's 0/1 and small PFCOUNTs agree between two HyperLogLogs with different hash functions only
 * if no two elements the test uses share a register under either hash. Adding them in both orders
 * shows any shared register: the element added second would answer 0 in at least one order.
 */
async function checkElementsDistinct(ports: Ports): Promise<void> {
  for (const [name, port] of [['redis', ports.redis], ['tally', ports.tally]] as const) {
    const c = await RawRespClient.connect(port, name);
    try {
      for (const [k, order] of [['oracle:fwd', [...ELEMENTS]], ['oracle:rev', [...ELEMENTS].reverse()]] as const) {
        await c.send(['DEL', k]);
        for (const e of order) {
          const r = await c.send(['PFADD', k, e]);
          if (!r.equals(Buffer.from(':1\r\n'))) throw new Error(`${name}: PFADD ${k} ${e} answered ${showBytes(r)}: two test elements share a register; choose other ELEMENTS in test/oracle/commands.ts`);
        }
        const n = await c.send(['PFCOUNT', k]);
        if (!n.equals(Buffer.from(`:${ELEMENTS.length}\r\n`))) throw new Error(`${name}: PFCOUNT of the ${ELEMENTS.length} test elements is ${showBytes(n)}`);
        await c.send(['DEL', k]);
      }
    } finally {
      c.close();
    }
  }
}
