// The deterministic fault explorer over 150 seeds (with explore-more.test.ts, 300 in CI): seeded
// histories of partitions, crashes, pauses, clock skew, loss, duplication and reordering and every
// command type against the real replica code, checked after each heal. docs/testing.md.
// SIM_SEED=<n> replays one seed.

import { describe, it } from 'vitest';
import { exploreSeeds } from './explore-run.js';

describe('fault explorer', () => {
  it('seeds 1-150 keep every invariant', () => {
    exploreSeeds(150, 1, 'test/sim/explore.test.ts');
  });
});
