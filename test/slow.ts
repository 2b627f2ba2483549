// `slowIt`: `it` for a test that takes seconds (a full-size state, a statistical run over many
// seeds). Mutation testing (`npm run mutate`, which sets TALLY_MUTATE_TESTS) reruns the tests that
// cover each of thousands of mutants on instrumented code, ten times slower: there these are
// skipped, and the smaller tests beside them must kill the mutants. `npm test` runs them all.
import { it } from 'vitest';

export const slowIt = process.env.TALLY_MUTATE_TESTS === undefined ? it : it.skip;
