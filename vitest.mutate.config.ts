// Test runner configuration for mutation testing (`npm run mutate -- <folder>`): only the fast,
// in-process tests of the folder under mutation, named by scripts/mutate.mjs in TALLY_MUTATE_TESTS:
// unit and property tests, the simulator's short scenarios, and the Redis oracle with its tally node
// inside this process (beside redis-server, the one process started). No tally processes, long
// simulator or explorer runs, no fuzzers: each mutant reruns the tests that cover it, so every slow
// test here costs minutes over a whole run.
import { defineConfig } from 'vitest/config';

const tests = process.env.TALLY_MUTATE_TESTS;
if (tests === undefined || tests === '') {
  throw new Error('vitest.mutate.config.ts: TALLY_MUTATE_TESTS is unset; run it through `npm run mutate -- <folder>`');
}

export default defineConfig({
  // Property tests run at most 25 inputs each here (see test/mutation/fast-check-capped.ts).
  resolve: { alias: [{ find: /^fast-check$/, replacement: new URL('./test/mutation/fast-check-capped.ts', import.meta.url).pathname }] },
  test: {
    include: tests.split(','),
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
