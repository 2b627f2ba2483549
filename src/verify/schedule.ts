// The nemesis's fault schedule: a pure function of the seed (same seed, same faults, same targets, same
// offsets), drawn as faults arrive in real systems: durations with a heavy tail (most faults are short,
// a few last minutes), several at once, one-way as well as symmetric partitions, crashes with and
// without the data directory, stalls and clock jumps. docs/testing.md ("The fault model") explains it.

import { maxSuspicionTimeout } from '../replication/suspicion.js';
import type { ReplicaConfig } from '../replication/config.js';
import { SeededRng } from '../util/rng.js';

/** Every fault the nemesis knows, in the order `--nemesis` lists them. */
export const FAULTS = ['kill', 'wipe', 'pause', 'partition', 'oneway', 'skew'] as const;
export type Fault = (typeof FAULTS)[number];

/** The default `--nemesis`: every fault. */
export const DEFAULT_FAULTS: readonly Fault[] = FAULTS;

/** Faults that stop one node's process (at most one of them per node at a time). */
const PROCESS_FAULTS: ReadonlySet<Fault> = new Set(['kill', 'wipe', 'pause']);

export interface NemesisStep {
  /** ms after the workload starts. */
  at: number;
  /** How long the fault lasts, ms. */
  durationMs: number;
  fault: Fault;
  /**
   * kill, wipe, pause, skew: the one target. partition: one side (the other side is every other
   * node). oneway: the side whose traffic with the rest is cut in one direction (`direction`).
   */
  nodes: string[];
  /** oneway only. `out`: the side's frames to the rest are dropped; `in`: the rest's frames to the side are. */
  direction?: 'out' | 'in';
  /** skew only: ms added to the target's clock while the fault lasts (negative: behind). */
  offsetMs?: number;
  /** The partition the long-partition rule asked for (longer than the dead timeout + deadForgetMs). */
  long?: boolean;
}

export interface NemesisTiming {
  /** Quiet time before the first fault, ms. */
  firstAtMs: number;
  /** Every fault ends at least this long before the workload does, ms. */
  endMarginMs: number;
  /** Mean time between fault arrivals (exponential gaps), ms. */
  meanGapMs: number;
  /** Fault durations: a Pareto tail from `minMs` with shape `alpha`, cut at `maxMs` (and at the run's end). */
  duration: { minMs: number; maxMs: number; alpha: number };
  /** Clock skew: magnitude log-uniform in [minMs, maxMs], ahead or behind with equal odds. */
  skewMs: [number, number];
  /** At most this many faults at once. */
  maxConcurrent: number;
  /** A killed or wiped node is left alone this long after its restart was due (a start takes time), ms. */
  restartMs: number;
  /**
   * A wipe never hits a node that was on the cut-off side of a partition or one-way cut during this
   * long before it, ms: what it wrote while cut off would all be at risk, which the checker allows
   * (spread.ts) but which would blunt the check of everything else that node acknowledged.
   */
  wipeQuietMs: number;
}

export const DEFAULT_NEMESIS_TIMING: Readonly<NemesisTiming> = Object.freeze<NemesisTiming>({
  firstAtMs: 1_500,
  endMarginMs: 500,
  meanGapMs: 2_000,
  // alpha 0.5: median 400 ms, 32% past 1 s, 10% past 10 s, 3% past 100 s (before the cut).
  duration: { minMs: 100, maxMs: 300_000, alpha: 0.5 },
  skewMs: [100, 300_000],
  maxConcurrent: 3,
  restartMs: 3_000,
  wipeQuietMs: 5_000,
});

/**
 * The long-partition rule: a run that draws partitions includes one that isolates at least one node
 * for longer than the failure detector needs to declare it dead and then forget it, so that the heal
 * has to work from "forgotten", not just from "suspect" (docs/testing.md).
 */
export interface LongPartitionRule {
  /** Worst case from the cut to "dead": two probe intervals (the probe, then its timeout) plus the longest suspicion. */
  deadAfterMs: number;
  deadForgetMs: number;
  /** The shortest long partition the schedule draws: 1.1 x (deadAfterMs + deadForgetMs), rounded up to a second. */
  minMs: number;
}

export function longPartitionRule(cfg: Pick<ReplicaConfig, 'probeIntervalMs' | 'suspicionMult' | 'suspicionMaxTimeoutMult' | 'indirectChecks' | 'deadForgetMs'>, nodes: number): LongPartitionRule {
  const deadAfterMs = Math.ceil(2 * cfg.probeIntervalMs + maxSuspicionTimeout(cfg, nodes));
  const minMs = Math.ceil((1.1 * (deadAfterMs + cfg.deadForgetMs)) / 1000) * 1000;
  return { deadAfterMs, deadForgetMs: cfg.deadForgetMs, minMs };
}

export interface ScheduleOptions {
  seed: number;
  faults: readonly Fault[];
  nodeIds: readonly string[];
  /** Length of the workload, ms. */
  runMs: number;
  /** The long-partition rule from the generated config; null: draw no long partition. */
  longPartition: LongPartitionRule | null;
  /**
   * A kill loses the node's state (persistence `none`): kills then follow the wipe's rule and never
   * hit a node that was cut off just before. Default false.
   */
  killLosesState?: boolean;
  timing?: NemesisTiming;
}

export interface Schedule {
  steps: NemesisStep[];
  /** Why the run has no long partition although it draws partitions (the run is too short), or null. */
  note: string | null;
}

/** Parses `kill,pause,partition` (or `none`). Throws naming the bad entry. */
export function parseFaults(spec: string): Fault[] {
  if (spec.trim() === 'none') return [];
  const out: Fault[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (!(FAULTS as readonly string[]).includes(part)) throw new Error(`--nemesis: unknown fault '${part}' (known: ${FAULTS.join(', ')}, or none)`);
    if (!out.includes(part as Fault)) out.push(part as Fault);
  }
  return out;
}

/** A Pareto(alpha) draw from `min`, cut at `max` (inverse CDF of the truncated distribution). */
export function truncatedPareto(u: number, min: number, max: number, alpha: number): number {
  if (max <= min) return min;
  const tail = Math.pow(min / max, alpha);
  return min / Math.pow(1 - u * (1 - tail), 1 / alpha);
}

const overlaps = (a: NemesisStep, at: number, end: number): boolean => a.at < end && at < a.at + a.durationMs;

/**
 * The faults of one run, in time order. Faults arrive with exponential gaps and last a heavy-tailed
 * time, so several are often active at once. The overlap rule: at most `maxConcurrent` at once; at
 * most one of kill / wipe / pause per node at a time (and none within `restartMs` after a restart is
 * due); at most max(1, floor((n-1)/2)) nodes stopped (killed, wiped or paused) at once; one skew per
 * node at a time, which may overlap a pause of that node but never a kill or a wipe: a restart takes
 * its incarnation from the clock, and one taken from a clock set ahead, followed later by a wipe,
 * would go back in time, which docs/durability.md excludes; and never a wipe of a node cut off
 * within `wipeQuietMs` before (nor a kill, when a kill loses the node's state). Every fault ends `endMarginMs` before the run does.
 * A long partition (ScheduleOptions.longPartition) is placed first when `partition` is drawn.
 */
export function nemesisSchedule(o: ScheduleOptions): Schedule {
  const timing = o.timing ?? DEFAULT_NEMESIS_TIMING;
  const rng = new SeededRng(o.seed ^ 0x6e656d65);
  const ids = o.nodeIds;
  const n = ids.length;
  const steps: NemesisStep[] = [];
  let note: string | null = null;
  const faults = o.faults.filter((f) => n >= 2 || (f !== 'partition' && f !== 'oneway'));
  if (faults.length === 0 || n === 0) return { steps, note };
  const lastEnd = o.runMs - timing.endMarginMs;
  const minority = (): string[] => shuffled(ids, rng).slice(0, 1 + rng.int(Math.max(1, Math.floor(n / 2)))).sort();

  // The long partition first, so the others are drawn around (and over) it.
  if (faults.includes('partition') && o.longPartition !== null) {
    const min = o.longPartition.minMs;
    const room = lastEnd - timing.firstAtMs;
    if (room < min) {
      note = `no long partition: the run leaves ${(room / 1000).toFixed(1)} s for faults, a long partition needs ${(min / 1000).toFixed(1)} s (dead timeout ${(o.longPartition.deadAfterMs / 1000).toFixed(1)} s + deadForgetMs ${(o.longPartition.deadForgetMs / 1000).toFixed(1)} s, +10%)`;
    } else {
      const durationMs = min + Math.floor(rng.next() * (Math.min(2 * min, room) - min));
      const at = timing.firstAtMs + Math.floor(rng.next() * (room - durationMs));
      steps.push({ at, durationMs, fault: 'partition', nodes: minority(), long: true });
    }
  }

  const maxStopped = Math.max(1, Math.floor((n - 1) / 2));
  /** Busy interval of a step for the per-node rules: a restart takes time after it is due. */
  const busyEnd = (s: NemesisStep): number => s.at + s.durationMs + (s.fault === 'kill' || s.fault === 'wipe' ? timing.restartMs : 0);
  const busy = (s: NemesisStep, at: number, end: number): boolean => s.at < end && at < busyEnd(s);

  let t = timing.firstAtMs;
  for (let arrival = 0; ; arrival++) {
    if (arrival > 0) t += Math.max(1, Math.round(-Math.log(1 - rng.next()) * timing.meanGapMs));
    if (t + timing.duration.minMs > lastEnd) break;
    const fault = faults[rng.int(faults.length)] as Fault;
    const durationMs = Math.round(truncatedPareto(rng.next(), timing.duration.minMs, Math.min(timing.duration.maxMs, lastEnd - t), timing.duration.alpha));
    const end = t + durationMs;
    if (steps.filter((s) => overlaps(s, t, end)).length >= timing.maxConcurrent) continue;
    const step = drawTargets(fault, t, end);
    if (step !== null) steps.push({ at: t, durationMs, fault, ...step });
  }
  steps.sort((a, b) => a.at - b.at);
  return { steps, note };

  function drawTargets(fault: Fault, at: number, end: number): Pick<NemesisStep, 'nodes' | 'direction' | 'offsetMs'> | null {
    switch (fault) {
      case 'partition':
        return { nodes: minority() };
      case 'oneway':
        return { nodes: minority(), direction: rng.int(2) === 0 ? 'out' : 'in' };
      case 'skew': {
        const free = ids.filter((id) => !steps.some((s) => s.nodes[0] === id && (s.fault === 'skew' || s.fault === 'wipe' || s.fault === 'kill') && busy(s, at, end)));
        if (free.length === 0) return null;
        const [lo, hi] = timing.skewMs;
        const magnitude = Math.round(lo * Math.pow(hi / lo, rng.next()));
        return { nodes: [free[rng.int(free.length)] as string], offsetMs: rng.int(2) === 0 ? magnitude : -magnitude };
      }
      case 'kill':
      case 'wipe':
      case 'pause': {
        const stopping = steps.filter((s) => PROCESS_FAULTS.has(s.fault) && busy(s, at, end + (fault === 'pause' ? 0 : timing.restartMs)));
        if (new Set(stopping.map((s) => s.nodes[0])).size >= maxStopped) return null;
        const free = ids.filter(
          (id) =>
            !stopping.some((s) => s.nodes[0] === id) &&
            !(fault !== 'pause' && steps.some((s) => s.fault === 'skew' && s.nodes[0] === id && overlaps(s, at, end + timing.restartMs))) &&
            !((fault === 'wipe' || (fault === 'kill' && o.killLosesState === true)) && steps.some((s) => (s.fault === 'partition' || s.fault === 'oneway') && s.nodes.includes(id) && overlaps(s, at - timing.wipeQuietMs, at + 1))),
        );
        if (free.length === 0) return null;
        return { nodes: [free[rng.int(free.length)] as string] };
      }
    }
  }
}

function shuffled(ids: readonly string[], rng: SeededRng): string[] {
  const a = [...ids];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j] as string, a[i] as string];
  }
  return a;
}
