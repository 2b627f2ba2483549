// Measures how far THROTTLE over-admits under gossip lag: N simulated nodes share one limit, requests
// arrive at a total rate spread uniformly over the nodes, and each node decides on what it has heard.
// Used by test/sim/windowed.test.ts and scripts/bench/sketch.ts; docs/crdt-windowed.md derives the bound.

import { fullKey } from '../keyspace/keyspace.js';
import { Simulation } from './network.js';

export interface ThrottleExperiment {
  nodes: number;
  /** Total request rate over the cluster, per second. */
  ratePerS: number;
  gossipIntervalMs: number;
  limit: number;
  periodS: number;
  /** Periods simulated (the first is warm-up and still counts). */
  periods?: number;
  seed: number;
  /** Per-node clock offsets in ms (default 0): node i decides at sim.now + skewMs[i]. */
  skewMs?: readonly number[];
}

export interface ThrottleOutcome {
  admitted: number;
  requests: number;
  /** Most admissions in any sliding period (checked at every admission). */
  maxInPeriod: number;
  /** maxInPeriod / limit: 1 = no over-admission. */
  ratio: number;
}

export function runThrottleExperiment(x: ThrottleExperiment): ThrottleOutcome {
  const sim = new Simulation({ nodes: x.nodes, seed: x.seed, config: { gossipIntervalMs: x.gossipIntervalMs } });
  const key = fullKey(0, 'rate');
  const periodMs = x.periodS * 1000;
  const end = periodMs * (x.periods ?? 3);
  const step = 1000 / x.ratePerS;
  const start = 10_000; // let membership settle
  sim.runUntil(start);
  const times: number[] = [];
  let head = 0;
  let maxInPeriod = 0;
  let requests = 0;
  for (let t = start; t < start + end; t += step) {
    sim.runUntil(t);
    const i = sim.rng.int(x.nodes);
    const node = sim.nodes[i];
    if (node === undefined || !node.up) continue;
    requests++;
    const now = Math.floor(sim.now + (x.skewMs?.[i] ?? 0));
    const r = node.replica.keyspace.throttle(key, x.limit, x.periodS, 1, now);
    if (!r.ok) throw new Error(r.error.message);
    if (!r.value.allowed) continue;
    times.push(sim.now);
    while ((times[head] as number) <= sim.now - periodMs) head++;
    maxInPeriod = Math.max(maxInPeriod, times.length - head);
  }
  return { admitted: times.length, requests, maxInPeriod, ratio: maxInPeriod / x.limit };
}
