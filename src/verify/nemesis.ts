// The nemesis: a fault schedule drawn from a seed (pure, so a seed replays the same faults at the same
// offsets), and the loop that applies it to a running cluster and undoes each fault when it ends.

import { SeededRng } from '../util/rng.js';

export const FAULTS = ['kill', 'pause', 'partition'] as const;
export type Fault = (typeof FAULTS)[number];

export interface NemesisStep {
  /** ms after the workload starts. */
  at: number;
  /** How long the fault lasts, ms. */
  durationMs: number;
  fault: Fault;
  /** kill / pause: the one target. partition: one side (the other side is every other node). */
  nodes: string[];
}

export interface NemesisTiming {
  /** Quiet time before the first fault, ms. Default 1,500. */
  firstAtMs: number;
  /** Gap between one fault's end and the next one's start: uniform in [min, max] ms. */
  gapMs: [number, number];
  /** Fault duration: uniform in [min, max] ms. */
  faultMs: [number, number];
}

export const DEFAULT_NEMESIS_TIMING: Readonly<NemesisTiming> = Object.freeze<NemesisTiming>({ firstAtMs: 1_500, gapMs: [300, 1_500], faultMs: [1_000, 3_000] });

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

/**
 * The faults of one run, in time order, one at a time, each ending at least 500 ms before the
 * workload does. Partitions split the nodes into a random minority (1..floor(n/2) nodes) and the rest.
 */
export function nemesisSchedule(seed: number, faults: readonly Fault[], nodeIds: readonly string[], runMs: number, timing: NemesisTiming = DEFAULT_NEMESIS_TIMING): NemesisStep[] {
  const rng = new SeededRng(seed ^ 0x6e656d65);
  const uniform = ([lo, hi]: [number, number]): number => lo + Math.floor(rng.next() * (hi - lo + 1));
  const steps: NemesisStep[] = [];
  if (faults.length === 0 || nodeIds.length === 0) return steps;
  let t = timing.firstAtMs;
  for (;;) {
    const fault = faults[rng.int(faults.length)] as Fault;
    const durationMs = uniform(timing.faultMs);
    if (t + durationMs + 500 > runMs) break;
    let nodes: string[];
    if (fault === 'partition') {
      if (nodeIds.length < 2) {
        t += durationMs;
        continue;
      }
      const shuffled = [...nodeIds];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j] as string, shuffled[i] as string];
      }
      nodes = shuffled.slice(0, 1 + rng.int(Math.floor(nodeIds.length / 2))).sort();
    } else {
      nodes = [nodeIds[rng.int(nodeIds.length)] as string];
    }
    steps.push({ at: t, durationMs, fault, nodes });
    t += durationMs + uniform(timing.gapMs);
  }
  return steps;
}
