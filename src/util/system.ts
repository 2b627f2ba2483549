// The real clock, a randomly seeded Rng and the garbage collector: the only place the node reads the globals.

import { randomInt } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock } from './clock.js';
import { SeededRng } from './rng.js';

export const systemClock: Clock = { now: () => Date.now() };

export function systemRng(): SeededRng {
  return new SeededRng(randomInt(0, 2 ** 31));
}

let gcFn: (() => void) | null | undefined;

/**
 * A full garbage collection now (MEMORY PURGE): V8's `gc`, made available on first use (Node exposes
 * it only under `--expose-gc`, which can be turned on at run time). False if the runtime refuses.
 */
export function fullGc(): boolean {
  if (gcFn === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const f: unknown = runInNewContext('gc');
      gcFn = typeof f === 'function' ? (f as () => void) : null;
    } catch {
      gcFn = null;
    }
  }
  if (gcFn === null) return false;
  gcFn();
  return true;
}
