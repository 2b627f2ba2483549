#!/usr/bin/env node
// `npm run mutate -- <folder or file under src/> [stryker options]`: mutation testing with StrykerJS
// of src/<folder>/**/*.ts (or one file) against the unit tests that cover it (the table below;
// TALLY_MUTATE_TESTS, comma-separated globs, overrides it). Reports go to reports/mutation/<path>/
// (index.html, mutation.json, and incremental.json, which makes a re-run test only what changed).
// See docs/testing.md, "Mutation testing".
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The tests run against each folder's mutants: its mirror under test/, plus what exercises it. */
const TESTS = {
  crdt: ['test/crdt/**/*.test.ts'],
  keyspace: ['test/keyspace/**/*.test.ts'],
  // The simulator's short scenarios (a few seconds in all) run the replica through partitions,
  // crashes, loss and reordering, which is what most of anti-entropy and the replica are for.
  // Their tests at scale and hour-long heals are `slowIt` (test/slow.ts); detector experiments and
  // explorer runs (minutes each) stay out.
  replication: [
    'test/replication/**/*.test.ts',
    'test/sim/convergence.test.ts',
    'test/sim/heal.test.ts',
    'test/sim/network-faults.test.ts',
    'test/sim/slot-folds.test.ts',
    'test/sim/tombstone-gc.test.ts',
  ],
  persistence: ['test/persistence/**/*.test.ts'],
  // The command table is driven through the RESP and WebSocket servers' in-process tests too, and
  // through the Redis oracle, whose tally node then runs inside the test process
  // (test/oracle/in-process-tally.ts) beside a real redis-server.
  'server/commands': [
    'test/server/**/*.test.ts',
    'test/oracle/redis-differential.test.ts',
    'test/oracle/hll-differential.test.ts',
    'test/oracle/scripted-differential.test.ts',
    'test/oracle/glob-differential.test.ts',
  ],
};

const [arg, ...rest] = process.argv.slice(2);
if (arg === undefined || arg.startsWith('-')) {
  console.error(`usage: npm run mutate -- <folder or file under src/> [stryker options]\nfolders: ${Object.keys(TESTS).join(', ')} (or any folder of src/)`);
  process.exit(2);
}
const target = arg.replace(/^src\//, '').replace(/\/+$/, '');
if (!existsSync(`src/${target}`)) {
  console.error(`mutate: src/${target} does not exist`);
  process.exit(2);
}
// The longest folder of the table that holds the target; else the target's mirror under test/.
const folder = Object.keys(TESTS)
  .filter((f) => target === f || target.startsWith(`${f}/`))
  .sort((a, b) => b.length - a.length)[0];
const mirror = target.endsWith('.ts') ? target.slice(0, target.lastIndexOf('/')) : target;
const tests = process.env.TALLY_MUTATE_TESTS ?? (folder === undefined ? `test/${mirror}/**/*.test.ts` : TESTS[folder].join(','));
// An in-process node serves the dashboard's built assets from dist/ (src/server/dashboard/routes.ts).
if (tests.includes('test/oracle/') && !existsSync('dist/src/server/dashboard/static/app.js')) {
  console.error('mutate: the oracle tests start a node, which needs the built dashboard assets; run `npm run build` first');
  process.exit(2);
}
const started = Date.now();
const run = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', ...rest], {
  stdio: 'inherit',
  env: { ...process.env, TALLY_MUTATE_PATH: target, TALLY_MUTATE_TESTS: tests },
});
console.log(`mutate ${target}: ${((Date.now() - started) / 60_000).toFixed(1)} min, report reports/mutation/${target}/index.html`);
process.exit(run.status ?? 1);
