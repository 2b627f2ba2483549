// Counter CRDT benchmarks: increment throughput (one key, and a 100k-key keyspace), value and merge
// latency, and bytes per replica slot (encoded and in memory). Prints tables, never asserts.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GCounter } from '../../src/crdt/g-counter.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { SeededRng } from '../../src/util/rng.js';
import { opsPerSecond, printTable, type Row } from './report.js';

const REPLICA = 'node1:1';

/** A counter with `replicas` slots holding realistic values (as after some traffic). */
function counterWith(replicas: number, seed: number): PNCounter {
  const rng = new SeededRng(seed);
  const c = new PNCounter();
  for (let i = 0; i < replicas; i++) {
    c.increment(`node${i}:${1 + rng.int(5)}`, 1 + rng.int(1_000_000));
    if (i % 3 === 0) c.decrement(`node${i}:1`, 1 + rng.int(1000));
  }
  return c;
}

/** A function that forces a full GC, when V8 lets us have one. */
function gcFunction(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** Heap bytes retained by what `make` returns, measured around full GCs (NaN without gc). */
function retainedBytes(make: () => unknown): number {
  const gc = gcFunction();
  if (!gc) return NaN;
  gc();
  const before = process.memoryUsage().heapUsed;
  const keep = make();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (keep === undefined) return NaN;
  return after - before;
}

/** Increments spread over a 100k-key keyspace (a random key per op, pre-generated), plus the bare lookup. */
function keyspaceThroughput(minMs: number): { baseline: number; inPlace: number; delta: number; keys: number } {
  const KEYS = 100_000;
  const keys: string[] = [];
  const keyspace = new Map<string, PNCounter>();
  for (let i = 0; i < KEYS; i++) {
    const k = `page:${i}`;
    keys.push(k);
    const c = new PNCounter();
    c.incrementInPlace(REPLICA, 1);
    keyspace.set(k, c);
  }
  const rng = new SeededRng(42);
  const SEQ = 1 << 20;
  const seq: string[] = Array.from({ length: SEQ }, () => keys[rng.int(KEYS)] ?? '');
  let pos = 0;
  let found = 0;
  // The floor: the keyspace lookup alone (random string keys, cache misses), no counter touched.
  const baseline = opsPerSecond((n) => {
    for (let i = 0; i < n; i++) if (keyspace.get(seq[pos++ & (SEQ - 1)] ?? '')) found++;
  }, 200_000, minMs);
  const inPlace = opsPerSecond((n) => {
    for (let i = 0; i < n; i++) keyspace.get(seq[pos++ & (SEQ - 1)] ?? '')?.incrementInPlace(REPLICA, 1);
  }, 200_000, minMs);
  const delta = opsPerSecond((n) => {
    for (let i = 0; i < n; i++) keyspace.get(seq[pos++ & (SEQ - 1)] ?? '')?.increment(REPLICA, 1);
  }, 50_000, minMs);
  return { baseline: found >= 0 ? baseline : 0, inPlace, delta, keys: KEYS };
}

export async function runCounter(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const minMs = quick ? 150 : 400;
  const throughput: Row[] = [];

  // The keyspace first, on a fresh heap.
  const ks = keyspaceThroughput(minMs);
  const label = `${ks.keys.toLocaleString('en-US')} keys`;
  throughput.push({ case: `baseline: Map.get only, ${label}`, 'ops/s': Math.round(ks.baseline) });
  throughput.push({ case: `PN incrementInPlace, ${label}`, 'ops/s': Math.round(ks.inPlace) });
  throughput.push({ case: `PN increment (returns delta), ${label}`, 'ops/s': Math.round(ks.delta) });

  // One key, delta-returning and in-place.
  const one = new PNCounter();
  const deltaOps = opsPerSecond((n) => {
    for (let i = 0; i < n; i++) one.increment(REPLICA, 1);
  }, 50_000, minMs);
  const one2 = new PNCounter();
  const inPlaceOps = opsPerSecond((n) => {
    for (let i = 0; i < n; i++) one2.incrementInPlace(REPLICA, 1);
  }, 200_000, minMs);
  const g = new GCounter();
  const gOps = opsPerSecond((n) => {
    for (let i = 0; i < n; i++) g.incrementInPlace(REPLICA, 1);
  }, 200_000, minMs);
  throughput.push({ case: 'PN increment (returns delta), 1 key', 'ops/s': Math.round(deltaOps) });
  throughput.push({ case: 'PN incrementInPlace, 1 key', 'ops/s': Math.round(inPlaceOps) });
  throughput.push({ case: 'G incrementInPlace, 1 key', 'ops/s': Math.round(gOps) });
  printTable('counter increments', throughput);

  // Latencies, from batched throughput (single calls are below the timer's resolution).
  const latency: Row[] = [];
  const nsPer = (ops: number): number => 1e9 / ops;
  let sink = 0;
  const small = counterWith(3, 1);
  const valueNs = nsPer(opsPerSecond((n) => {
    for (let i = 0; i < n; i++) if (typeof small.value() === 'number') sink++;
  }, 500_000, minMs));
  latency.push({ operation: 'value(), 3 replicas', ns: valueNs });
  const big = new PNCounter();
  big.mergeSlot('a:1', Number.MAX_SAFE_INTEGER, 0);
  big.mergeSlot('b:1', Number.MAX_SAFE_INTEGER, 0);
  const bigValueNs = nsPer(opsPerSecond((n) => {
    for (let i = 0; i < n; i++) if (typeof big.value() === 'bigint') sink++;
  }, 100_000, minMs));
  latency.push({ operation: 'value(), beyond 2^53-1 (bigint)', ns: bigValueNs });
  const mergeNs: Record<string, number> = {};
  for (const replicas of [3, 100]) {
    const src = counterWith(replicas, 7);
    const base = counterWith(replicas, 8);
    // Merge into a fresh clone of a diverged state each time, so the merge does real work.
    const cloneNs = nsPer(opsPerSecond((n) => {
      for (let i = 0; i < n; i++) sink += base.clone().replicaCount();
    }, 1000, minMs));
    const totalNs = nsPer(opsPerSecond((n) => {
      for (let i = 0; i < n; i++) {
        const t = base.clone();
        t.merge(src);
        sink += t.replicaCount();
      }
    }, 1000, minMs));
    mergeNs[`replicas${replicas}`] = Math.max(0, totalNs - cloneNs);
    latency.push({ operation: `merge, ${replicas} replicas (excl. clone)`, ns: Math.max(0, totalNs - cloneNs) });
    const bytes = src.encode();
    const decodeNs = nsPer(opsPerSecond((n) => {
      for (let i = 0; i < n; i++) if (PNCounter.decode(bytes).ok) sink++;
    }, 1000, minMs));
    latency.push({ operation: `decode, ${replicas} replicas`, ns: decodeNs });
  }
  printTable('counter latency', latency);

  // Size per replica slot.
  const sizes: Row[] = [];
  const c100 = counterWith(100, 9);
  const encodedPerSlot = (c100.encode().length - 3) / 100;
  const oneSlot = new PNCounter();
  oneSlot.increment(REPLICA, 123_456);
  sizes.push({ case: 'encoded, 100 replicas, per slot', bytes: encodedPerSlot });
  sizes.push({ case: 'encoded, 1 replica (whole counter)', bytes: oneSlot.encode().length });
  sizes.push({ case: 'byteSize() estimate, 100 replicas, per slot', bytes: c100.byteSize() / 100 });
  const heapPerKey = retainedBytes(() => {
    const arr: PNCounter[] = [];
    for (let i = 0; i < 20_000; i++) {
      const c = new PNCounter();
      c.incrementInPlace(REPLICA, 5);
      arr.push(c);
    }
    return arr;
  }) / 20_000;
  const heapPerSlot = retainedBytes(() => {
    const arr: PNCounter[] = [];
    for (let i = 0; i < 200; i++) arr.push(counterWith(100, i));
    return arr;
  }) / 20_000;
  sizes.push({ case: 'heap, 1-replica counter (whole counter)', bytes: Math.round(heapPerKey) });
  sizes.push({ case: 'heap, 100 replicas, per slot (ids not shared)', bytes: Math.round(heapPerSlot) });
  printTable('counter size', sizes);
  if (sink === -1) console.log(sink);

  return {
    pnIncrementOneKeyOpsPerSec: Math.round(deltaOps),
    pnIncrementInPlaceOneKeyOpsPerSec: Math.round(inPlaceOps),
    gIncrementInPlaceOneKeyOpsPerSec: Math.round(gOps),
    mapGetOnly100kKeysOpsPerSec: Math.round(ks.baseline),
    pnIncrementInPlace100kKeysOpsPerSec: Math.round(ks.inPlace),
    pnIncrementDelta100kKeysOpsPerSec: Math.round(ks.delta),
    valueNs,
    bigValueNs,
    mergeNs,
    encodedBytesPerSlot: encodedPerSlot,
    encodedBytesOneReplicaCounter: oneSlot.encode().length,
    heapBytesPerOneReplicaCounter: Math.round(heapPerKey),
    heapBytesPerSlot: Math.round(heapPerSlot),
  };
}
