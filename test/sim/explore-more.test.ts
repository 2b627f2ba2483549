// More explorer seeds, in a file of their own so the test runner spreads them over another core
// (see explore.test.ts). Skipped when SIM_SEED replays one seed there.

import { describe, it } from 'vitest';
import { exploreSeeds } from './explore-run.js';

describe('fault explorer', () => {
  it.skipIf(process.env.SIM_SEED !== undefined && process.env.SIM_SEED !== '')('seeds 151-300 keep every invariant', () => {
    exploreSeeds(150, 151, 'test/sim/explore-more.test.ts');
  });
});
