// The real clock, a randomly seeded Rng and the garbage collector: the only place the node reads the globals.

import { randomInt } from 'node:crypto';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock } from './clock.js';
import { SeededRng } from './rng.js';

export const systemClock: Clock = { now: () => Date.now() };

export function systemRng(): SeededRng {
  return new SeededRng(randomInt(0, 2 ** 31));
}

let gcFn: ((options?: { type: 'minor' | 'major' }) => void) | null | undefined;

/** V8's `gc`, made available on first use (Node exposes it only under `--expose-gc`, which can be turned on at run time); null if the runtime refuses. */
function gc(): ((options?: { type: 'minor' | 'major' }) => void) | null {
  if (gcFn === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const f: unknown = runInNewContext('gc');
      gcFn = typeof f === 'function' ? (f as () => void) : null;
    } catch {
      gcFn = null;
    }
  }
  return gcFn;
}

/** Compact only when at least this much of the old space, and a quarter of it, is free (`fullGc`). */
const COMPACT_MIN_FREE_BYTES = 32 * 1024 * 1024;

/**
 * A full garbage collection now (MEMORY PURGE): V8's `gc`, made available on first use (Node exposes
 * it only under `--expose-gc`, which can be turned on at run time), then a compacting one if the old
 * space is left at least a quarter free (and 32 MB). False if the runtime refuses.
 *
 * Compacting: V8 (Node 20) moves no objects on a collection it is asked for (it evacuates pages
 * picked from what the sweep before found, a few MB of live objects at most), so the pages a bulk
 * load left sparse stay committed: after a million new keys a writer's old space held 214 MB live in
 * 437 MB. A collection with `--compact-on-every-full-gc` set for its duration moves every live
 * object together and hands the empty pages back (docs/crdt-counters.md, "RSS"). It stops the node
 * for several times longer (2-6 s per million keys on a loaded 2-core machine, against 0.3-0.9 s),
 * which is why it runs only when asked and only when there is enough to give back.
 */
export function fullGc(): boolean {
  const gcFn = gc();
  if (gcFn === null) return false;
  gcFn();
  const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
  if (old !== undefined) {
    const free = old.space_size - old.space_used_size;
    if (free >= COMPACT_MIN_FREE_BYTES && free >= old.space_size / 4) {
      setFlagsFromString('--compact-on-every-full-gc');
      try {
        gcFn();
      } finally {
        setFlagsFromString('--no-compact-on-every-full-gc');
      }
    }
  }
  return true;
}

/**
 * A young-generation collection now (node/young-trim.ts: it lets V8 shrink the young generation of a
 * quiet node). False if the runtime refuses.
 */
export function minorGc(): boolean {
  const gcFn = gc();
  if (gcFn === null) return false;
  gcFn({ type: 'minor' });
  return true;
}

/** The bytes V8's young generation holds now, used or not (its new space, committed). */
export function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}
