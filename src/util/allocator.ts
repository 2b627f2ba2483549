// The memory allocator of a node's process, chosen by whatever starts one (`tally cluster up`, the
// benchmarks, `tally verify`, the integration tests), as the V8 flags are (node/v8-flags.ts): a process
// takes its malloc when it starts, through LD_PRELOAD, and nothing can change it later.
//
// Why jemalloc (Redis links it for the same reason): a node's malloc'd memory is the backing stores
// of its typed arrays (the key table's columns, the version logs) and the Buffers of what passes
// through it (RESP input, gossip frames, LMDB's record buffers). Under glibc's malloc the freed
// buffers of a bulk load stayed in the process, held in place by the long-lived arrays between them;
// jemalloc hands freed pages back. `bench scale --writers=1 --allocator=system|jemalloc`, a million
// keys, two rounds alternating (December 7): RSS per key once settled 180-186 B on the writer with
// glibc against 129-146 with jemalloc, 126-136 on the peers against 121-124, with about the same CPU
// (docs/crdt-counters.md). mimalloc, in earlier single runs, saved less and caught up slower.
// Pure but for `findJemalloc`'s default file check and `runningAllocator`'s default read.

import { existsSync, readFileSync } from 'node:fs';

/** The settings of the `allocator` config field. */
export const ALLOCATORS = ['auto', 'jemalloc', 'system'] as const;
export type Allocator = (typeof ALLOCATORS)[number];

/**
 * Where the shared library is on the systems a node runs on: Debian and Ubuntu (package libjemalloc2,
 * which Debian's redis-server depends on) by architecture, then Fedora and RHEL, then Alpine and Arch.
 */
export const JEMALLOC_PATHS: readonly string[] = Object.freeze([
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
]);

/**
 * jemalloc's settings for a node, unless the environment gives MALLOC_CONF: a background thread
 * purges freed pages while the node is idle (without it jemalloc purges only when it is called, and a
 * quiet node after a bulk load is not), and it purges them after a second rather than ten.
 */
export const JEMALLOC_CONF = 'background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0';

/** The first of JEMALLOC_PATHS that exists, or undefined. */
export function findJemalloc(exists: (path: string) => boolean = existsSync): string | undefined {
  return JEMALLOC_PATHS.find((p) => exists(p));
}

export class AllocatorError extends Error {}

/**
 * The environment for a node's process under `allocator`, from `base` (the starter's own):
 * - `system`: `base` as it is (glibc's malloc, or whatever LD_PRELOAD `base` already names);
 * - `jemalloc`: jemalloc preloaded, or an AllocatorError naming where it was looked for;
 * - `auto` (the default): jemalloc if it is installed, else `base` as it is.
 * An LD_PRELOAD that `base` already sets is the operator's choice and is kept as it is under `auto`;
 * under `jemalloc` the library is added in front of it. `chosen` says which malloc the node gets.
 * `find` says where jemalloc is installed (undefined: nowhere).
 */
export function nodeEnv(base: NodeJS.ProcessEnv, allocator: Allocator, find: () => string | undefined = findJemalloc): { env: NodeJS.ProcessEnv; chosen: 'jemalloc' | 'system' | 'preset' } {
  const preset = base.LD_PRELOAD !== undefined && base.LD_PRELOAD.trim() !== '';
  if (allocator === 'system') return { env: { ...base }, chosen: preset ? 'preset' : 'system' };
  const jemalloc = find();
  if (jemalloc === undefined) {
    if (allocator === 'jemalloc') throw new AllocatorError(`allocator "jemalloc": libjemalloc.so.2 not found (looked in ${JEMALLOC_PATHS.join(', ')}); install it (Debian and Ubuntu: apt-get install libjemalloc2) or set "allocator" to "auto" or "system"`);
    return { env: { ...base }, chosen: preset ? 'preset' : 'system' };
  }
  if (preset && allocator === 'auto') return { env: { ...base }, chosen: 'preset' };
  const env: NodeJS.ProcessEnv = { ...base, LD_PRELOAD: preset ? `${jemalloc} ${base.LD_PRELOAD as string}` : jemalloc };
  if (base.MALLOC_CONF === undefined) env.MALLOC_CONF = JEMALLOC_CONF;
  return { env, chosen: 'jemalloc' };
}

/**
 * The malloc this process runs on, as INFO's mem_allocator says it: "jemalloc" when a jemalloc library
 * is mapped into it, else "libc". `maps` is /proc/self/maps' text (empty where there is none: "libc").
 */
export function runningAllocator(maps: string = readMaps()): 'jemalloc' | 'libc' {
  return /\/libjemalloc[^/\s]*\.so/.test(maps) ? 'jemalloc' : 'libc';
}

// Stryker disable all: read in a process of its own by test/util/allocator.test.ts (a node started
// on jemalloc and one not), which runs the built code, out of the mutants' reach
function readMaps(): string {
  try {
    return readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return '';
  }
}
// Stryker restore all
