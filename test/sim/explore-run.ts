// Runs a range of explorer seeds for a test file and fails it with every distinct violation found,
// the first seeds of each and how to replay them. SIM_SEED=<n> runs that one seed instead.

import { expect } from 'vitest';
import { exploreSeed } from '../../src/sim/explore.js';
import { SummaryBuilder } from '../../src/sim/explore-summary.js';
import { seeds } from './seeds.js';

/** Explores `count` seeds from `base` (or SIM_SEED) and expects no violation. */
export function exploreSeeds(count: number, base: number, file: string): void {
  const sum = new SummaryBuilder();
  for (const seed of seeds(count, base)) sum.add(exploreSeed(seed));
  const s = sum.summary();
  const lines = s.byKind.map(
    (k) => `  ${k.invariant}: ${k.kind}: ${k.seeds} seed(s), first ${k.first.join(', ')} (replay: SIM_SEED=${k.first[0]} npx vitest run ${file}, or node dist/src/cli/main.js simulate --explore --seed ${k.first[0]})\n    e.g. ${k.example.slice(0, 400)}`,
  );
  expect(s.failedSeeds, `${s.failedSeeds} of ${s.seeds} explorer seeds failed:\n${lines.join('\n')}`).toBe(0);
}
