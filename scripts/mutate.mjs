#!/usr/bin/env node
// `npm run mutate -- <folder> [stryker options]`: mutation testing of src/<folder>/**/*.ts against
// the unit tests that cover it (the table below), with StrykerJS. Reports go to
// reports/mutation/<folder>/ (index.html, mutation.json, and incremental.json, which makes a
// re-run test only what changed). See docs/testing.md, "Mutation testing".
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The tests run against each folder's mutants: its mirror under test/, plus what exercises it. */
const TESTS = {
  crdt: ['test/crdt/**/*.test.ts'],
  keyspace: ['test/keyspace/**/*.test.ts'],
  replication: ['test/replication/**/*.test.ts'],
  persistence: ['test/persistence/**/*.test.ts'],
  // The command table is driven through the RESP and WebSocket servers' in-process tests too.
  'server/commands': ['test/server/**/*.test.ts'],
};

const [folder, ...rest] = process.argv.slice(2);
if (folder === undefined || folder.startsWith('-')) {
  console.error(`usage: npm run mutate -- <folder> [stryker options]\nfolders: ${Object.keys(TESTS).join(', ')} (or any folder of src/)`);
  process.exit(2);
}
const clean = folder.replace(/^src\//, '').replace(/\/+$/, '');
if (!existsSync(`src/${clean}`)) {
  console.error(`mutate: src/${clean} does not exist`);
  process.exit(2);
}
const tests = TESTS[clean] ?? [`test/${clean}/**/*.test.ts`];
const started = Date.now();
const run = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', ...rest], {
  stdio: 'inherit',
  env: { ...process.env, TALLY_MUTATE_FOLDER: clean, TALLY_MUTATE_TESTS: tests.join(',') },
});
console.log(`mutate ${clean}: ${((Date.now() - started) / 60_000).toFixed(1)} min, report reports/mutation/${clean}/index.html`);
process.exit(run.status ?? 1);
