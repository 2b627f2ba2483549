// Assertions over a simulated cluster.

import type { Simulation } from '../../src/sim/network.js';
import { fullKey } from '../../src/keyspace/keyspace.js';

export function key(name: string): string {
  return fullKey(0, name);
}

/** Counter value of `name` on every live node. */
export function valuesOf(sim: Simulation, name: string): (number | bigint | null)[] {
  return sim.live().map((n) => {
    const r = n.replica.keyspace.getCounter(key(name));
    if (!r.ok) throw new Error(`${n.id}: ${r.error.message}`);
    return r.value;
  });
}

/** Encoded state of every key on a node, as a comparable string. */
export function stateOf(sim: Simulation, i: number): string {
  const r = sim.nodes[i]?.replica;
  if (r === undefined) return '';
  const keys = [...r.keyspace.keys()].sort();
  return keys.map((k) => `${k}=${Buffer.from(r.keyspace.encodeKey(k)?.bytes ?? []).toString('hex')}`).join(';');
}

/** Runs round by round until `done()` or `maxRounds`; returns the rounds taken (Infinity if never). */
export function runUntil(sim: Simulation, done: () => boolean, maxRounds: number): number {
  const interval = sim.config.gossipIntervalMs;
  for (let r = 0; r <= maxRounds; r++) {
    if (done()) return r;
    sim.runUntil(sim.now + interval);
  }
  return Infinity;
}

export function allLiveEqual(sim: Simulation): boolean {
  const live = sim.nodes.map((n, i) => (n.up ? i : -1)).filter((i) => i >= 0);
  const first = stateOf(sim, live[0] ?? 0);
  return live.every((i) => stateOf(sim, i) === first);
}
