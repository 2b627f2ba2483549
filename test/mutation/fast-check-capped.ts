// fast-check with every property capped at MUTATION_MAX_RUNS inputs: `vitest.mutate.config.ts`
// aliases 'fast-check' to this file, and only there. Mutation testing reruns the tests that cover a
// mutant for each of thousands of mutants on instrumented code; most mutants fail on the first few
// inputs, and the hundreds of inputs `npm test` draws would make one folder's run take hours on a
// two-core machine. A mutant that only a later input would catch survives here: the cap can lower
// the score, never raise it.
import fcReal from '../../node_modules/fast-check/lib/fast-check.js';

export * from '../../node_modules/fast-check/lib/fast-check.js';

export const MUTATION_MAX_RUNS = 25;

type AssertFn = typeof fcReal.assert;

const assert = ((property: Parameters<AssertFn>[0], params?: Parameters<AssertFn>[1]) =>
  fcReal.assert(property as never, {
    ...params,
    numRuns: Math.min(params?.numRuns ?? MUTATION_MAX_RUNS, MUTATION_MAX_RUNS),
  } as never)) as AssertFn;

export default { ...fcReal, assert };
