// Mutation testing (StrykerJS) of one folder of src/, run through scripts/mutate.mjs, which names
// the folder and its tests in TALLY_MUTATE_FOLDER and TALLY_MUTATE_TESTS. See docs/testing.md.
const folder = process.env.TALLY_MUTATE_FOLDER;
if (folder === undefined || folder === '') {
  throw new Error('stryker.config.mjs: TALLY_MUTATE_FOLDER is unset; run `npm run mutate -- <folder>`');
}
const reports = `reports/mutation/${folder}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [`src/${folder}/**/*.ts`],
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  // Mutants that do not compile are dropped before any test runs (they would count as killed).
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
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
