// HyperLogLog benchmark: add throughput, count and merge latency, sizes, and error by cardinality.
// `--quick` shortens the error sweep (fewer seeds); figures are printed, never asserted.

import { HyperLogLog, type HllHash } from '../../src/crdt/hyperloglog.js';
import { SeededRng } from '../../src/util/rng.js';
import { medianMicros, opsPerSecond, printTable, type Row } from './report.js';

// Elements per add benchmark: 4,096 pre-built, cache-hot (as a parsed network buffer would be),
// added to a sketch already filled with 100,000 others, i.e. the dense steady state.
const POOL = 1 << 12;

function randomBuffers(rng: SeededRng, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const b = Buffer.allocUnsafe(16);
    for (let j = 0; j < 16; j += 4) b.writeUInt32LE(rng.nextU32(), j);
    out.push(b);
  }
  return out;
}

/** 16-char ASCII strings, flat (not ropes or slices), as a protocol decoder would produce them. */
function randomStrings(rng: SeededRng, n: number): string[] {
  const out: string[] = [];
  const b = Buffer.allocUnsafe(16);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 16; j++) b[j] = 0x21 + rng.int(94);
    out.push(b.toString('latin1'));
  }
  return out;
}

// Two copies on purpose: one loop per element type keeps each call site monomorphic, as in a server
// where the RESP path only sees Buffers and the WebSocket path only strings.
function addThroughputBuffers(elements: readonly Buffer[], hash: HllHash = 'redis'): number {
  const h = filled(100_000, 99, hash);
  let k = 0;
  const mask = elements.length - 1;
  return opsPerSecond((iterations) => {
    for (let i = 0; i < iterations; i++) h.add(elements[k++ & mask]!);
  }, 100_000, 700);
}

function addThroughputStrings(elements: readonly string[], hash: HllHash = 'redis'): number {
  const h = filled(100_000, 99, hash);
  let k = 0;
  const mask = elements.length - 1;
  return opsPerSecond((iterations) => {
    for (let i = 0; i < iterations; i++) h.add(elements[k++ & mask]!);
  }, 100_000, 700);
}

/** Reference point for a loaded machine: a textbook pure-JS murmur3_x86_32 (32-bit hash only). */
function murmur3(key: Uint8Array, seed: number): number {
  let h = seed;
  const len = key.length;
  const end = len & ~3;
  for (let i = 0; i < end; i += 4) {
    let k = key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= len;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A legacy-hash sketch holding one register (an empty sketch has no family but Redis's), cloned per use. */
const LEGACY_SEED = ((): HyperLogLog => {
  const regs = new Uint8Array(1 << HyperLogLog.DEFAULT_PRECISION);
  regs[0] = 1;
  return HyperLogLog.fromRegisters(HyperLogLog.DEFAULT_PRECISION, 0, regs, 'legacy');
})();

/** A new sketch of the given hash family: create() for Redis's (which keeps the Redis form), a clone for the legacy one. */
function empty(hash: HllHash): HyperLogLog {
  return hash === 'redis' ? HyperLogLog.create() : LEGACY_SEED.clone();
}

/**
 * Sketches built from scratch per second: `n` elements (the small, sparse sets most keys are),
 * then GET's HYLL bytes when `withBytes` (the Redis form is kept as adds happen and applied then).
 */
function buildsPerSecond(elements: readonly Buffer[], n: number, hash: HllHash, withBytes: boolean): number {
  let sink = 0;
  const r = opsPerSecond((iterations) => {
    for (let i = 0; i < iterations; i++) {
      const h = empty(hash);
      for (let j = 0; j < n; j++) h.add(elements[(i * 7 + j) & (elements.length - 1)]!);
      if (withBytes) {
        const b = h.redisBytes();
        sink ^= b.ok ? b.value.length : 0;
      }
    }
  }, 20, 700);
  return r + (sink & 0);
}

function filled(n: number, seed: number, hash: HllHash = 'redis'): HyperLogLog {
  const h = empty(hash);
  const rng = new SeededRng(seed);
  const b = Buffer.allocUnsafe(16);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 16; j += 4) b.writeUInt32LE(rng.nextU32(), j);
    h.add(b);
  }
  return h;
}

/** Median µs of count() right after an add that changed a register (the add is not timed). */
function uncachedCountMicros(h: HyperLogLog, rng: SeededRng, runs: number): number {
  const b = Buffer.allocUnsafe(16);
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    do {
      for (let j = 0; j < 16; j += 4) b.writeUInt32LE(rng.nextU32(), j);
    } while (!h.add(b));
    const t0 = process.hrtime.bigint();
    h.count();
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  times.sort((x, y) => x - y);
  return times[runs >> 1] ?? 0;
}

/** Mean and RMS relative error at log-spaced checkpoints, one incremental stream per seed. */
function errorSweep(seeds: number, maxN: number): Row[] {
  const checkpoints: number[] = [];
  for (let e = 0; e <= Math.log10(maxN) * 4 + 1e-9; e++) checkpoints.push(Math.round(10 ** (e / 4)));
  const sum = new Float64Array(checkpoints.length);
  const sumSq = new Float64Array(checkpoints.length);
  const b = Buffer.allocUnsafe(16);
  for (let s = 0; s < seeds; s++) {
    const rng = new SeededRng(1000 + s);
    const h = HyperLogLog.create();
    let n = 0;
    checkpoints.forEach((target, c) => {
      for (; n < target; n++) {
        for (let j = 0; j < 16; j += 4) b.writeUInt32LE(rng.nextU32(), j);
        h.add(b);
      }
      const rel = (h.estimate() - target) / target;
      sum[c]! += rel;
      sumSq[c]! += rel * rel;
    });
  }
  const theory = 1.04 / Math.sqrt(1 << HyperLogLog.DEFAULT_PRECISION);
  return checkpoints.map((n, c) => ({
    n,
    'mean rel err %': (sum[c]! / seeds) * 100,
    'rms rel err %': Math.sqrt(sumSq[c]! / seeds) * 100,
    '1.04/sqrt(m) %': theory * 100,
  }));
}

export async function runHll(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const rng = new SeededRng(42);
  const buffers = randomBuffers(rng, POOL);
  const strings = randomStrings(rng, POOL);

  const addsPerSecString = addThroughputStrings(strings);
  const addsPerSecBuffer = addThroughputBuffers(buffers);
  let sink = 0;
  const murmurPerSec = opsPerSecond((iterations) => {
    for (let i = 0; i < iterations; i++) sink ^= murmur3(buffers[i & (POOL - 1)]!, 1);
  }, 100_000, 500);
  const legacyPerSecString = addThroughputStrings(strings, 'legacy');
  const legacyPerSecBuffer = addThroughputBuffers(buffers, 'legacy');
  printTable('HLL add (p=14, dense, 16-byte elements): Redis hash (MurmurHash64A) vs the legacy hash64', [
    { element: 'Buffer', 'redis hash ops/s': Math.round(addsPerSecBuffer), 'legacy hash ops/s': Math.round(legacyPerSecBuffer), 'redis/legacy': Math.round((addsPerSecBuffer / legacyPerSecBuffer) * 100) / 100 },
    { element: 'ASCII string', 'redis hash ops/s': Math.round(addsPerSecString), 'legacy hash ops/s': Math.round(legacyPerSecString), 'redis/legacy': Math.round((addsPerSecString / legacyPerSecString) * 100) / 100 },
    { element: 'reference: murmur3_32 hash only, Buffer', 'redis hash ops/s': Math.round(murmurPerSec + (sink & 0)), 'legacy hash ops/s': '', 'redis/legacy': '' },
  ]);
  const builds = [100, 1000].map((n) => {
    const redis = buildsPerSecond(buffers, n, 'redis', false);
    const legacy = buildsPerSecond(buffers, n, 'legacy', false);
    const redisGet = buildsPerSecond(buffers, n, 'redis', true);
    return { elements: n, 'redis hash sketches/s': Math.round(redis), 'legacy sketches/s': Math.round(legacy), 'redis/legacy': Math.round((redis / legacy) * 100) / 100, 'redis + GET bytes sketches/s': Math.round(redisGet) };
  });
  printTable('HLL built from scratch (sparse sets; the Redis form is kept for GET, applied when asked)', builds);

  const big = filled(1_000_000, 1);
  const countCachedUs = medianMicros(() => big.count(), 2001);
  const countUncachedUs = uncachedCountMicros(big, rng, 2001);
  const denseA = filled(200_000, 2);
  const denseB = filled(200_000, 3);
  const sparse = filled(1000, 4);
  const mergeDenseUs = medianMicros(() => void denseA.clone().merge(denseB), 301);
  const cloneUs = medianMicros(() => void denseA.clone(), 301);
  const mergeSparseUs = medianMicros(() => void denseA.clone().merge(sparse), 301);
  const converged = denseA.clone();
  const mergeConvergedUs = medianMicros(() => void denseA.clone().merge(converged), 301);
  printTable('HLL count and merge latency (µs, median)', [
    { operation: 'count, cached', 'µs': countCachedUs },
    { operation: 'count after a change', 'µs': countUncachedUs },
    { operation: 'merge dense+dense (minus clone)', 'µs': mergeDenseUs - cloneUs },
    { operation: 'merge dense+dense, already equal (minus clone)', 'µs': mergeConvergedUs - cloneUs },
    { operation: 'merge sparse(1k) into dense (minus clone)', 'µs': mergeSparseUs - cloneUs },
  ]);

  const sizes = [100, 1000, 1_000_000].map((n) => {
    const h = filled(n, 10 + n);
    return { n, form: h.isDense() ? 'dense' : 'sparse', 'encoded bytes': h.encode().length, 'memory bytes': h.byteSize() };
  });
  printTable('HLL bytes (p=14)', sizes);

  const seeds = quick ? 4 : 16;
  const errors = errorSweep(seeds, 1_000_000);
  printTable(`HLL relative error by cardinality (p=14, ${seeds} seeds, random 16-byte elements)`, errors);

  return {
    addsPerSecBuffer,
    addsPerSecString,
    legacyAddsPerSecBuffer: legacyPerSecBuffer,
    legacyAddsPerSecString: legacyPerSecString,
    builds,
    murmur3HashPerSecBuffer: murmurPerSec,
    countCachedUs,
    countUncachedUs,
    mergeDenseDenseUs: mergeDenseUs - cloneUs,
    mergeDenseDenseEqualUs: mergeConvergedUs - cloneUs,
    mergeSparseDenseUs: mergeSparseUs - cloneUs,
    sizes,
    errors,
  };
}
