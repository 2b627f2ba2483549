// Runs many explorer seeds, on worker threads when more than one job is asked for. Each seed is an
// independent pure function of its number, so the outcomes do not depend on the number of jobs or
// on which thread ran which seed; only the order they arrive in does.

import { Worker } from 'node:worker_threads';
import { exploreSeed, type ExploreOptions, type ExploreOutcome } from './explore.js';

export interface PoolOptions {
  /** First seed; seeds from .. from + count - 1 run. */
  from: number;
  count: number;
  /** Worker threads (1: run in this thread). */
  jobs: number;
  explore: ExploreOptions;
  /** Called with every outcome, in the order they finish. */
  onOutcome(o: ExploreOutcome): void;
}

/** What a worker is started with. */
export interface WorkerInput {
  from: number;
  count: number;
  explore: ExploreOptions;
  /** One Int32: the index of the next seed to take (shared by every worker). */
  next: SharedArrayBuffer;
}

/** Runs every seed; resolves when all have finished. A worker that fails rejects. */
export async function runSeeds(opts: PoolOptions): Promise<void> {
  const jobs = Math.max(1, Math.min(opts.jobs, opts.count));
  if (jobs === 1) {
    for (let i = 0; i < opts.count; i++) {
      opts.onOutcome(exploreSeed(opts.from + i, opts.explore));
      // Let the event loop print progress and take signals between seeds.
      if (i % 16 === 15) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return;
  }
  const next = new SharedArrayBuffer(4);
  const input: WorkerInput = { from: opts.from, count: opts.count, explore: opts.explore, next };
  await Promise.all(
    Array.from(
      { length: jobs },
      () =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(new URL('./explore-worker.js', import.meta.url), { workerData: input });
          w.on('message', (o: ExploreOutcome) => opts.onOutcome(o));
          w.on('error', reject);
          w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`explorer worker exited with code ${code}`))));
        }),
    ),
  );
}
