// Benchmark entry point: `npm run bench -- <suite> [--json]`. Benchmarks print tables; they never assert.

import { ALLOCATORS, type Allocator } from '../../src/util/allocator.js';
import { useAllocator } from './servers.js';
import { suites } from './suites.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const known = Object.keys(suites);
  // Suite names are the bare words, except a value given as `--option value` (not a suite's name).
  const names = args.filter((a, i) => !a.startsWith('--') && (known.includes(a) || !(args[i - 1] ?? '').startsWith('--') || (args[i - 1] ?? '').includes('=')));
  if (names.length === 0) {
    console.error(`usage: npm run bench -- <suite> [--json]\nsuites: ${known.join(', ')}`);
    process.exitCode = 2;
    return;
  }
  // The malloc of every tally node a suite starts (src/util/allocator.ts): `auto`, as `tally cluster
  // up` runs them, unless `--allocator=jemalloc|system` says otherwise, to compare the two.
  const allocator = (args.find((a) => a.startsWith('--allocator='))?.split('=')[1] ?? 'auto') as Allocator;
  if (!ALLOCATORS.includes(allocator)) {
    console.error(`--allocator: expected one of ${ALLOCATORS.join(', ')}, got '${allocator}'`);
    process.exitCode = 2;
    return;
  }
  console.error(`tally nodes' malloc: ${useAllocator(allocator)}`);
  const results: Record<string, unknown> = {};
  for (const name of names) {
    const suite = suites[name];
    if (!suite) {
      console.error(`unknown benchmark suite '${name}'; known suites: ${known.join(', ')}`);
      process.exitCode = 2;
      return;
    }
    results[name] = await suite(args);
  }
  if (!json) return;
  // One JSON object on the last line: a single suite's own object, or { suite: result } when the
  // result is a list of rows (or several suites ran).
  const only = names.length === 1 ? results[names[0] ?? ''] : undefined;
  console.log(JSON.stringify(only !== undefined && typeof only === 'object' && only !== null && !Array.isArray(only) ? only : results));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
