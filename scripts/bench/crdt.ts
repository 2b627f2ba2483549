// `npm run bench -- crdt`: the counter and HyperLogLog suites side by side.

import { runCounter } from './crdt-counter.js';
import { runHll } from './crdt-hll.js';

export async function run(args: string[]): Promise<unknown> {
  return { counter: await runCounter(args), hll: await runHll(args) };
}
