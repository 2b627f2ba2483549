// The convergence experiment behind `tally simulate`: writes on many nodes at once, then the rounds
// until every live node holds every write, under a chosen fault model.

import type { ReplicaConfig } from '../replication/config.js';
import { fullKey } from '../keyspace/keyspace.js';
import { Simulation, type FaultModel } from './network.js';

export interface ExperimentOptions {
  nodes: number;
  fanout: number;
  intervalMs: number;
  /** Increments made at time 0, each on a distinct random node (up to N, then round-robin). */
  writes: number;
  /** Keys the writes are spread over. */
  keys: number;
  seed: number;
  faults?: Partial<FaultModel>;
  /** Give up after this many rounds. */
  maxRounds: number;
  /** Partition for the first `partitionRounds` rounds into `partitionGroups` groups, then heal. */
  partitionGroups?: number;
  partitionRounds?: number;
  config?: Partial<ReplicaConfig>;
  onRound?: (round: number, converged: number) => void;
}

export interface RunResult {
  seed: number;
  /** Rounds until every node held every write (Infinity if it did not within maxRounds). */
  rounds: number;
  /** Virtual ms from the writes until the last node converged. */
  timeMs: number;
  /** Fraction of nodes converged at the end of each round (index 0 = before any gossip). */
  fraction: number[];
  /** Per node: the round it converged in. */
  nodeRounds: number[];
  framesPerNodePerRound: number;
  bytesPerNodePerRound: number;
}

export function runConvergence(o: ExperimentOptions): RunResult {
  const sim = new Simulation({
    nodes: o.nodes,
    seed: o.seed,
    config: { gossipIntervalMs: o.intervalMs, probeIntervalMs: Math.max(o.intervalMs, 1000), probeTimeoutMs: Math.max(Math.floor(o.intervalMs / 2), 500), fanout: o.fanout, ...o.config },
    faults: o.faults ?? {},
  });
  // Let the random tick phases settle before writing, so round 1 starts mid-stride as in a live cluster.
  sim.runUntil(o.intervalMs);
  const t0 = sim.now;
  const keys = Array.from({ length: Math.max(1, o.keys) }, (_, i) => fullKey(0, `k${i}`));
  const writers = shuffle(o.nodes, sim.rng);
  for (let w = 0; w < o.writes; w++) {
    const node = sim.nodes[writers[w % o.nodes] as number];
    node?.replica.keyspace.incrBy(keys[w % keys.length] as string, 1);
  }
  if (o.partitionGroups !== undefined && o.partitionGroups > 1) {
    const g = o.partitionGroups;
    sim.partition((i) => i % g);
  }
  const framesBefore = sim.framesSent;
  const bytesBefore = sim.bytesSent;
  const nodeRounds = new Array<number>(o.nodes).fill(Infinity);
  let pending = Array.from({ length: o.nodes }, (_, i) => i);
  const fraction: number[] = [];
  const check = (round: number): void => {
    pending = pending.filter((i) => {
      const ks = sim.nodes[i]?.replica.keyspace;
      let total = 0;
      for (const k of keys) {
        const v = ks?.getCounter(k);
        if (v?.ok && v.value !== null) total += Number(v.value);
      }
      if (total === o.writes) {
        nodeRounds[i] = round;
        return false;
      }
      return true;
    });
    fraction.push((o.nodes - pending.length) / o.nodes);
    o.onRound?.(round, o.nodes - pending.length);
  };
  check(0);
  let round = 0;
  while (pending.length > 0 && round < o.maxRounds) {
    round++;
    if (o.partitionRounds !== undefined && round === o.partitionRounds + 1) sim.heal();
    sim.runUntil(t0 + round * o.intervalMs);
    check(round);
  }
  const rounds = pending.length === 0 ? round : Infinity;
  let lastTime = 0;
  for (const r of nodeRounds) if (Number.isFinite(r)) lastTime = Math.max(lastTime, r * o.intervalMs);
  return {
    seed: o.seed,
    rounds,
    timeMs: pending.length === 0 ? lastTime : Infinity,
    fraction,
    nodeRounds,
    framesPerNodePerRound: (sim.framesSent - framesBefore) / o.nodes / Math.max(1, round),
    bytesPerNodePerRound: (sim.bytesSent - bytesBefore) / o.nodes / Math.max(1, round),
  };
}

function shuffle(n: number, rng: { int(n: number): number }): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }
  return a;
}

/** Theory for uniform random push-pull with fanout 3 (DESIGN.md): mean rounds until all know all. */
export const THEORY_PUSH_PULL_F3: Record<number, number> = { 10: 2.5, 100: 4.1, 1000: 6.0, 10000: 7.0 };

/** Interpolates the theory on log10(N) between the tabulated points. */
export function theoryRounds(n: number): number {
  const pts = Object.entries(THEORY_PUSH_PULL_F3).map(([k, v]) => [Math.log10(Number(k)), v] as const);
  const x = Math.log10(Math.max(2, n));
  for (let i = 0; i < pts.length - 1; i++) {
    const [x0, y0] = pts[i] as readonly [number, number];
    const [x1, y1] = pts[i + 1] as readonly [number, number];
    if (x <= x1 || i === pts.length - 2) return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  }
  return NaN;
}
