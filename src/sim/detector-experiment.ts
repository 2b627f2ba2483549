// The failure detector's false positives, measured: a cluster in which nobody fails runs for a
// while under message loss and process pauses (SIGSTOP-like freezes of random nodes), and every
// membership change each node makes is checked against the truth. A few real crashes in the same
// run measure the other side of the trade-off: how long the cluster takes to declare a dead node dead.
// Behind `npm run bench -- detector` and docs/gossip.md's justification of the detector's settings.

import type { ReplicaConfig } from '../replication/config.js';
import { MemberState } from '../replication/messages.js';
import { Simulation } from './network.js';

export interface DetectorOptions {
  nodes: number;
  seed: number;
  /** Virtual time the cluster runs for, in ms. */
  durationMs: number;
  /** Probability each frame is lost. */
  loss: number;
  /** Pauses per node per hour (Poisson); each freezes the node for a time uniform in `pauseMs`. */
  pausesPerNodeHour: number;
  pauseMs: readonly [number, number];
  /** Nodes crashed for good, spread over the run, to measure detection time. */
  crashes: number;
  config?: Partial<ReplicaConfig>;
}

export interface DetectorResult {
  /** Node-hours of members that were up and not paused (the exposure for false positives). */
  nodeHours: number;
  /**
   * A node's own detector suspected a member that was running normally throughout the probe. (Each
   * suspicion counts once, where it is made; the nodes that learn it by gossip are not counted again.)
   */
  falseSuspicions: number;
  /** Some node marked a member dead while that member was running normally. */
  falseDeaths: number;
  /** Some node marked a member dead while that member was paused (it was alive, only frozen). */
  deathsWhilePaused: number;
  pauses: number;
  /** Per real crash: ms until every node still running had marked it dead (Infinity if never). */
  detectionMs: number[];
}

interface Pause {
  at: number;
  node: number;
  ms: number;
}

export function runDetector(o: DetectorOptions): DetectorResult {
  // deadAt: crashed node -> observer -> when that observer first marked it dead.
  // resumedAt: node -> when its last pause ended.
  const state: { paused: Set<number>; resumedAt: Map<number, number>; crashedAt: Map<number, number>; deadAt: Map<number, Map<number, number>> } = {
    paused: new Set(),
    resumedAt: new Map(),
    crashedAt: new Map(),
    deadAt: new Map(),
  };
  const r: DetectorResult = { nodeHours: 0, falseSuspicions: 0, falseDeaths: 0, deathsWhilePaused: 0, pauses: 0, detectionMs: [] };
  const index = (id: string): number => Number(id.slice(1));
  const sim: Simulation = new Simulation({
    nodes: o.nodes,
    seed: o.seed,
    faults: { loss: o.loss },
    config: o.config ?? {},
    events: (observer) => ({
      memberChanged: (m, prev) => {
        if (m.state === prev) return;
        const target = index(m.id);
        if (target === observer || Number.isNaN(target)) return;
        if (state.crashedAt.has(target)) {
          if (m.state === MemberState.Dead) {
            let seen = state.deadAt.get(target);
            if (seen === undefined) state.deadAt.set(target, (seen = new Map()));
            if (!seen.has(observer)) seen.set(observer, sim.now);
          }
          return;
        }
        const frozen = state.paused.has(target);
        // A probe that concludes just after its target resumed was sent while it was frozen: right.
        const frozenDuringProbe = frozen || (state.resumedAt.get(target) ?? -Infinity) > sim.now - sim.config.probeIntervalMs;
        const own = m.accusers?.length === 1 && m.accusers[0] === sim.nodes[observer]?.id;
        if (m.state === MemberState.Suspect && own && !frozenDuringProbe) r.falseSuspicions++;
        if (m.state === MemberState.Dead) {
          if (frozen) r.deathsWhilePaused++;
          else r.falseDeaths++;
        }
      },
    }),
  });

  // The pause schedule, drawn up front from the simulation's seeded Rng.
  const pauses: Pause[] = [];
  const ratePerMs = o.pausesPerNodeHour / 3_600_000;
  for (let i = 0; i < o.nodes && ratePerMs > 0; i++) {
    for (let t = -Math.log(1 - sim.rng.next()) / ratePerMs; t < o.durationMs; t += -Math.log(1 - sim.rng.next()) / ratePerMs) {
      pauses.push({ at: t, node: i, ms: o.pauseMs[0] + sim.rng.next() * (o.pauseMs[1] - o.pauseMs[0]) });
    }
  }
  pauses.sort((a, b) => a.at - b.at);
  // Crashes at evenly spaced times (after a warm-up), on nodes chosen up front.
  const crashAt = Array.from({ length: o.crashes }, (_, k) => ((k + 1) * o.durationMs) / (o.crashes + 2));
  const crashNodes: number[] = [];
  while (crashNodes.length < Math.min(o.crashes, o.nodes - 2)) {
    const n = sim.rng.int(o.nodes);
    if (!crashNodes.includes(n)) crashNodes.push(n);
  }

  const resumes: { at: number; node: number }[] = [];
  let pi = 0;
  let ci = 0;
  const step = 100;
  for (let t = 0; t < o.durationMs; t += step) {
    while (pi < pauses.length && (pauses[pi] as Pause).at < t + step) {
      const p = pauses[pi++] as Pause;
      if (state.paused.has(p.node) || state.crashedAt.has(p.node)) continue;
      sim.runUntil(p.at);
      sim.pause(p.node);
      state.paused.add(p.node);
      resumes.push({ at: p.at + p.ms, node: p.node });
      r.pauses++;
    }
    while (ci < crashNodes.length && (crashAt[ci] as number) < t + step) {
      const n = crashNodes[ci] as number;
      sim.runUntil(crashAt[ci] as number);
      if (state.paused.has(n)) {
        state.paused.delete(n); // a frozen node killed for good stays down
      }
      sim.crash(n);
      state.crashedAt.set(n, sim.now);
      ci++;
    }
    resumes.sort((a, b) => a.at - b.at);
    while (resumes.length > 0 && (resumes[0] as { at: number }).at < t + step) {
      const q = resumes.shift() as { at: number; node: number };
      sim.runUntil(q.at);
      if (state.crashedAt.has(q.node)) continue;
      sim.resume(q.node);
      state.paused.delete(q.node);
      state.resumedAt.set(q.node, sim.now);
    }
    sim.runUntil(t + step);
    const running = o.nodes - state.paused.size - state.crashedAt.size;
    r.nodeHours += (running * step) / 3_600_000;
  }

  for (const [n, at] of state.crashedAt) {
    // Detected once every node that is not itself crashed has marked it dead.
    const seen = state.deadAt.get(n);
    let last = 0;
    let all = true;
    for (let i = 0; i < o.nodes && all; i++) {
      if (state.crashedAt.has(i)) continue;
      const when = seen?.get(i);
      if (when === undefined) all = false;
      else last = Math.max(last, when);
    }
    r.detectionMs.push(all ? last - at : Infinity);
  }
  return r;
}
