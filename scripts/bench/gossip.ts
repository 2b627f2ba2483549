// `npm run bench -- gossip`: what gossip costs. Idle rounds must cost the same at 1k and 100k keys;
// busy rounds must cost in proportion to what changed, not to total state; a new node must get
// the full state in bounded chunks. Runs the real replica in the simulator (virtual time).

import { Simulation } from '../../src/sim/network.js';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { printTable, type Row } from './report.js';

const NODES = 10;
const INTERVAL = 1000;

function bytesOver(sim: Simulation, rounds: number, each?: (round: number) => void): { bytes: number; frames: number } {
  const b0 = sim.bytesSent;
  const f0 = sim.framesSent;
  for (let r = 0; r < rounds; r++) {
    each?.(r);
    sim.runUntil(sim.now + INTERVAL);
  }
  return { bytes: (sim.bytesSent - b0) / NODES / rounds, frames: (sim.framesSent - f0) / NODES / rounds };
}

function converge(sim: Simulation, maxRounds = 200): number {
  for (let r = 0; r < maxRounds; r++) {
    const h = sim.nodes[0]?.replica.versions.hash;
    if (sim.nodes.every((n) => n.replica.versions.hash === h)) return r;
    sim.runUntil(sim.now + INTERVAL);
  }
  return Infinity;
}

function cluster(keys: number, seed: number): { sim: Simulation; names: string[] } {
  const sim = new Simulation({ nodes: NODES, seed, config: { gossipIntervalMs: INTERVAL, probeIntervalMs: INTERVAL } });
  const names = Array.from({ length: keys }, (_, i) => fullKey(0, `page:${i}`));
  // Keys written on every node, so every key carries several slots, as in a real cluster.
  names.forEach((k, i) => sim.nodes[i % NODES]?.replica.keyspace.incrBy(k, 1 + (i % 7)));
  converge(sim);
  return { sim, names };
}

export async function run(_args: string[]): Promise<Record<string, unknown>> {
  const rows: Row[] = [];
  const result: Record<string, unknown> = {};
  for (const keys of [1_000, 100_000]) {
    const t0 = Date.now();
    const { sim, names } = cluster(keys, 7);
    const idle = bytesOver(sim, 10);
    const busy: Record<number, { bytes: number; frames: number }> = {};
    for (const changes of [10, 100, 1000]) {
      busy[changes] = bytesOver(sim, 10, () => {
        for (let c = 0; c < changes; c++) sim.nodes[sim.rng.int(NODES)]?.replica.keyspace.incrBy(names[sim.rng.int(names.length)] as string, 1);
      });
    }
    rows.push({
      'total keys': keys,
      'idle B/node/round': Math.round(idle.bytes),
      'idle frames/node/round': Math.round(idle.frames * 10) / 10,
      'busy 10 chg/round B': Math.round(busy[10]?.bytes ?? 0),
      'busy 100 chg/round B': Math.round(busy[100]?.bytes ?? 0),
      'busy 1000 chg/round B': Math.round(busy[1000]?.bytes ?? 0),
      'wall s': Math.round((Date.now() - t0) / 100) / 10,
    });
    result[`keys_${keys}`] = { idleBytesPerNodePerRound: idle.bytes, busyBytesPerNodePerRound: Object.fromEntries(Object.entries(busy).map(([k, v]) => [k, v.bytes])) };

    if (keys === 100_000) {
      // Bootstrap: a node loses its state and restarts; it must stream everything in capped chunks.
      sim.crash(3);
      sim.restart(3, false);
      const chunked0 = sim.nodes.reduce((a, n) => a + n.replica.stats.chunked, 0);
      const t1 = sim.now;
      const rounds = converge(sim);
      const chunks = sim.nodes.reduce((a, n) => a + n.replica.stats.chunked, 0) - chunked0;
      const maxFrame = sim.config.maxMessageBytes;
      result.bootstrap = { keys, rounds, virtualMs: sim.now - t1, chunkedDeltas: chunks, maxMessageBytes: maxFrame };
      printTable('bootstrap of a wiped node (100k keys)', [{ keys, 'rounds to catch up': rounds, 'chunked deltas': chunks, 'max frame bytes': maxFrame }]);
    }
  }
  printTable(`gossip bytes per node per round (${NODES} nodes, fanout 3, push-pull)`, rows);
  return result;
}
