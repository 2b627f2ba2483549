// The verify workload: client workers, each bound to one node, issuing INCRBY / DECRBY / PFADD over
// RESP one at a time at a paced rate and recording every outcome in the History.
//
// Keys are split so a loss cannot hide behind a cancelling op: `inc:*` only grow, `dec:*` only
// shrink, `mix:*` get both, `views:*` are G-Counters (gcounterKeys), `hll:*` get unique elements.

import { SeededRng } from '../util/rng.js';
import type { History, OpRecord } from './history.js';
import { RespConnection } from './resp-client.js';

export const COUNTER_KEYS = ['inc:0', 'inc:1', 'dec:0', 'mix:0', 'views:0'] as const;
export const HLL_KEYS = ['hll:0', 'hll:1'] as const;

export interface WorkloadOptions {
  nodes: { id: string; respPort: number }[];
  clientsPerNode: number;
  /** Target operations per second across all workers. */
  rate: number;
  /** Per-request deadline, ms: past it the op is in doubt. */
  timeoutMs: number;
  seed: number;
  /** ms origin of the history's timestamps. */
  t0: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the workers; `stop()` asks them to finish their current op and resolves when all have. */
export function startWorkload(o: WorkloadOptions, history: History): { stop(): Promise<void> } {
  let running = true;
  const total = o.nodes.length * o.clientsPerNode;
  const intervalMs = (total * 1000) / o.rate;
  const workers: Promise<void>[] = [];
  let w = 0;
  for (const node of o.nodes) {
    for (let c = 0; c < o.clientsPerNode; c++) {
      const worker = w++;
      workers.push(runWorker(node, worker, new SeededRng(o.seed * 7919 + worker), intervalMs, o, history, () => running));
    }
  }
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

async function runWorker(node: { id: string; respPort: number }, worker: number, rng: SeededRng, intervalMs: number, o: WorkloadOptions, history: History, running: () => boolean): Promise<void> {
  const conn = new RespConnection('127.0.0.1', node.respPort, o.timeoutMs);
  let seq = 0;
  let next = Date.now() + rng.next() * intervalMs;
  while (running()) {
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    next = Math.max(next + intervalMs, Date.now());
    if (!running()) break;
    const roll = rng.int(100);
    const delta = 1 + rng.int(5);
    let rec: Omit<OpRecord, 'outcome'>;
    let args: (string | number)[];
    const t = Date.now() - o.t0;
    if (roll < 20) {
      const key = HLL_KEYS[rng.int(HLL_KEYS.length)] as string;
      const element = `${worker}.${seq++}`;
      rec = { t, node: node.id, worker, op: 'pfadd', key, element };
      args = ['PFADD', key, element];
    } else {
      const key = COUNTER_KEYS[rng.int(COUNTER_KEYS.length)] as string;
      const down = key.startsWith('dec:') || (key.startsWith('mix:') && rng.int(2) === 0);
      rec = { t, node: node.id, worker, op: down ? 'decrby' : 'incrby', key, delta: down ? -delta : delta };
      args = [down ? 'DECRBY' : 'INCRBY', key, delta];
    }
    const r = await conn.command(args);
    rec.done = Date.now() - o.t0;
    if (r.kind === 'ok') {
      if (typeof r.reply === 'object' && r.reply !== null && !Array.isArray(r.reply)) {
        // An error reply: the command did not run. Not a loss, but a healthy node should not send one.
        history.noteErrorReply(r.reply.error);
        history.record({ ...rec, outcome: 'fail', detail: r.reply.error });
      } else {
        history.record({ ...rec, outcome: 'ok' });
      }
    } else {
      history.record({ ...rec, outcome: r.kind, detail: r.why });
      // The node is down or stuck: do not spin on it.
      if (r.kind === 'fail') await sleep(50);
    }
  }
  conn.close();
}
