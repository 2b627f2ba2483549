// A worker thread of the explorer pool (explore-pool.ts): takes seed indexes from the shared counter
// until none are left, and posts each outcome back.

import { parentPort, workerData } from 'node:worker_threads';
import { exploreSeed } from './explore.js';
import type { WorkerInput } from './explore-pool.js';

const input = workerData as WorkerInput;
const next = new Int32Array(input.next);
for (;;) {
  const i = Atomics.add(next, 0, 1);
  if (i >= input.count) break;
  parentPort?.postMessage(exploreSeed(input.from + i, input.explore));
}
