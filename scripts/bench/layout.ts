// `npm run bench -- layout [--keys=N] [--json]`: what one counter key with one writer slot costs in
// V8's heap (Node 20, built without pointer compression) in the keyspace as it is, and in two
// layouts it could take, so that the memory target of issue 13 (under 100 B per key) is judged
// against what the runtime allows. Never asserts.
//   keyspace:  the real Keyspace (src/keyspace/), N `INCR user:i`: each key compact (its string in
//              the key table's own index, its count and slot in the table's columns, no object of
//              its own: docs/crdt-counters.md, "Compact keys"), no version log, no replica.
//   keyspace, entries: the same keys with compact keys off: an entry per key, which is its counter.
//   keyspace, 3 slots: the same keys, each also holding the slots of two other writers (a counter
//              behind a load balancer that spreads its writes over three nodes), merged in as a
//              peer's deltas are.
//   keyspace, TTL: the same keys each given a TTL (as a rate limiter's are), not passed yet.
//   keyspace, expired: the same keys given a TTL and read after it passed: each is a husk.
//   keyspace, HLL of 2 / HLL deleted: HyperLogLog keys of two elements, and the same deleted.
//   keyspace, one past 2^31: the keys of `keyspace, entries` beside one counter of 2^40.
//   map-index: a Map from the key's string to an index, and typed arrays for a slot's four
//              counts, its replica, the key's version and its two digest shares: the key's string
//              and its Map entry are the only per-key JS objects.
//   arena:     no JS object per key: the key's bytes in one buffer, an open-addressing table of
//              indexes over an Int32Array (what Redis's dict is), the same typed arrays.
// The two layouts are built here, not in src/: they only measure what a key's bytes would be.

import { TypeTag } from '../../src/crdt/codec.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { fullKey, Keyspace } from '../../src/keyspace/keyspace.js';
import { fullGc } from '../../src/util/system.js';
import { printTable, type Row } from './report.js';
import { numArg } from './servers.js';

/**
 * Live heap and ArrayBuffer bytes. The backing stores of freed typed arrays are released after the
 * collection, off the main thread: read at once, the previous layout's arrays were still counted
 * and the arena's came out at 28-78 B per key from run to run. So collect, let the release run, and
 * collect again until the reading settles.
 */
async function heapBytes(): Promise<number> {
  let last = -1;
  for (let i = 0; i < 10; i++) {
    if (!fullGc()) throw new Error('bench layout needs a full garbage collection (V8 refused --expose-gc)');
    await new Promise((r) => setTimeout(r, 50));
    const m = process.memoryUsage();
    const now = m.heapUsed + m.arrayBuffers;
    if (last >= 0 && Math.abs(now - last) < 1 << 20) return now;
    last = now;
  }
  return last;
}

/** Typed arrays of one slot's counts, replica, version and digest shares for n keys. */
function columns(n: number): { p: Float64Array; rid: Uint16Array; ver: Float64Array; all: ArrayBufferView[] } {
  const p = new Float64Array(n);
  const rid = new Uint16Array(n);
  const ver = new Float64Array(n);
  const all = [p, new Float64Array(n), new Float64Array(n), new Float64Array(n), rid, ver, new Uint32Array(n), new Uint32Array(n)];
  return { p, rid, ver, all };
}

const layouts: Record<string, (n: number) => unknown> = {
  keyspace: (n) => {
    const ks = new Keyspace('n1:1');
    for (let i = 0; i < n; i++) ks.incrBy(fullKey(0, `user:${i}`), 1);
    // A node folds its changed keys into the state digest every gossip round; the queue they wait
    // in is not part of what a key costs.
    ks.stateDigest();
    return ks;
  },
  // What every key cost before compact keys, and what a key still costs once it is an entry (a TTL,
  // a second writer, a decrement).
  'keyspace, entries': (n) => {
    const ks = new Keyspace('n1:1', { compact: false });
    for (let i = 0; i < n; i++) ks.incrBy(fullKey(0, `user:${i}`), 1);
    ks.stateDigest();
    return ks;
  },
  'keyspace, 3 slots': (n) => {
    const ks = new Keyspace('n1:1');
    const peers = ['n2:1', 'n3:1'].map((r) => {
      const c = new PNCounter();
      c.incrementInPlace(r, 1);
      return c.encode();
    });
    for (let i = 0; i < n; i++) {
      const key = fullKey(0, `user:${i}`);
      ks.incrBy(key, 1);
      for (const bytes of peers) {
        const r = ks.mergeRemote(key, TypeTag.PNCounter, bytes);
        if (!r.ok) throw new Error(`bench layout: merge refused: ${r.error}`);
      }
    }
    ks.stateDigest();
    return ks;
  },
  // A key with a TTL (every key of a rate limiter): its life is an object of its own.
  'keyspace, TTL': (n) => {
    const ks = new Keyspace('n1:1', { clock: { now: () => 1_000_000 } });
    for (let i = 0; i < n; i++) {
      ks.incrBy(fullKey(0, `user:${i}`), 1);
      ks.expire(fullKey(0, `user:${i}`), 1_000_000 + 60_000);
    }
    ks.stateDigest();
    return ks;
  },
  // What an expired key leaves (its husk, docs/crdt-counters.md "Expiry"): N keys given INCR and a
  // TTL, every one then read after its deadline. Not a layout to compare, but the cost of each key a
  // rate limiter ever saw.
  'keyspace, expired': (n) => {
    const clock = { t: 1_000_000 };
    const ks = new Keyspace('n1:1', { clock: { now: () => clock.t } });
    for (let i = 0; i < n; i++) {
      ks.incrBy(fullKey(0, `user:${i}`), 1);
      ks.expire(fullKey(0, `user:${i}`), clock.t + 1000);
    }
    clock.t += 2000;
    for (let i = 0; i < n; i++) ks.exists(fullKey(0, `user:${i}`));
    ks.stateDigest();
    return ks;
  },
  // HyperLogLog keys of two elements each (Redis holds one in about 124 B of used_memory), and the
  // same keys deleted: a deleted HLL is a tombstone that is never collected (its generation).
  'keyspace, HLL of 2': (n) => {
    const ks = new Keyspace('n1:1');
    for (let i = 0; i < n; i++) ks.pfadd(fullKey(0, `user:${i}`), ['a', 'b']);
    ks.stateDigest();
    return ks;
  },
  'keyspace, HLL deleted': (n) => {
    const ks = new Keyspace('n1:1');
    for (let i = 0; i < n; i++) ks.pfadd(fullKey(0, `user:${i}`), ['a', 'b']);
    for (let i = 0; i < n; i++) ks.del(fullKey(0, `user:${i}`));
    ks.stateDigest();
    return ks;
  },
  // One counter past 2^31 - 1 (a byte counter, a running total) among the same keys: what it costs
  // every other key (crdt/count-fields.ts, generalizeCountFields). Last of the keyspace rows: on a build
  // without that fix it would add to every counter made after it in this process.
  // (Entries: a compact key's count is a cell of a Float64Array, which boxes nothing.)
  'keyspace, one past 2^31': (n) => {
    const ks = new Keyspace('n1:1', { compact: false });
    ks.incrBy(fullKey(0, 'bytes:total'), 2 ** 40);
    for (let i = 0; i < n; i++) ks.incrBy(fullKey(0, `user:${i}`), 1);
    ks.stateDigest();
    return ks;
  },
  'map-index': (n) => {
    const index = new Map<string, number>();
    const c = columns(n);
    for (let i = 0; i < n; i++) {
      index.set(fullKey(0, `user:${i}`), i);
      c.p[i] = 1;
      c.rid[i] = 1;
      c.ver[i] = i + 1;
    }
    return [index, c];
  },
  arena: (n) => {
    let cap = 1;
    while (cap < 2 * n) cap *= 2;
    const table = new Int32Array(cap).fill(-1);
    const arena = new Uint8Array(16 * n);
    const offsets = new Uint32Array(n + 1);
    const c = columns(n);
    let used = 0;
    for (let i = 0; i < n; i++) {
      const key = fullKey(0, `user:${i}`);
      const len = key.length; // latin1: one byte per char
      if (used + len > arena.length) throw new Error('arena too small');
      arena.set(Buffer.from(key, 'latin1'), used);
      let h = 2166136261;
      for (let j = used; j < used + len; j++) h = Math.imul(h ^ (arena[j] as number), 16777619);
      used += len;
      offsets[i + 1] = used;
      let s = (h >>> 0) & (cap - 1);
      while (table[s] !== -1) s = (s + 1) & (cap - 1);
      table[s] = i;
      c.p[i] = 1;
      c.rid[i] = 1;
      c.ver[i] = i + 1;
    }
    return [table, arena, offsets, c];
  },
};

export async function run(args: string[]): Promise<unknown> {
  const n = numArg(args, 'keys', 1_000_000);
  const out: Record<string, number> = {};
  const rows: Row[] = [];
  for (const [name, build] of Object.entries(layouts)) {
    const before = await heapBytes();
    let kept: unknown = build(n);
    const perKey = Math.round(((await heapBytes()) - before) / n);
    kept = undefined;
    void kept;
    out[name] = perKey;
    rows.push({ layout: name, keys: n, 'heap B/key': perKey });
  }
  printTable(`Heap bytes per key: counters with one writer slot unless named (V8 heapUsed + ArrayBuffers, after a full collection), ${n.toLocaleString('en-US')} keys user:N`, rows);
  return { keys: n, bytesPerKey: out };
}
