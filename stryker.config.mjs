// Mutation testing (StrykerJS) of one folder or file of src/, run through scripts/mutate.mjs, which
// names it and its tests in TALLY_MUTATE_PATH and TALLY_MUTATE_TESTS. See docs/testing.md.
const target = process.env.TALLY_MUTATE_PATH;
if (target === undefined || target === '') {
  throw new Error('stryker.config.mjs: TALLY_MUTATE_PATH is unset; run `npm run mutate -- <folder>`');
}
const reports = `reports/mutation/${target}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [target.endsWith('.ts') ? `src/${target}` : `src/${target}/**/*.ts`],
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  // Mutants that do not compile are dropped before any test runs (they would count as killed).
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.mutate.json',
  coverageAnalysis: 'perTest',
  // Module-level constants ("static" mutants) would each rerun every test of the folder: tens of
  // seconds apiece on this machine. They are listed as ignored in the report, not scored.
  ignoreStatic: true,
  // A loaded 2-core machine: one test runner and one type checker per core.
  concurrency: 2,
  timeoutMS: 10_000,
  dryRunTimeoutMinutes: 20,
  // Re-runs test only mutants whose code or covering tests changed since the last run.
  incremental: true,
  incrementalFile: `${reports}/incremental.json`,
  reporters: ['progress', 'clear-text', 'html', 'json'],
  htmlReporter: { fileName: `${reports}/index.html` },
  jsonReporter: { fileName: `${reports}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
