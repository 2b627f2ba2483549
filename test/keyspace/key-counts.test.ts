// The key table's running counts (src/keyspace/key-counts.ts): DBSIZE, INFO keyspace and memory and
// /metrics read them without walking every key, so after any sequence of writes, deletes, merges,
// expiries and collections they must equal a count taken key by key. The model below is that count,
// written from the documented meaning (a key is live if its visible state exists; slots are the
// replica slots of its counter states), over the keys the table lists.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import { isLive, KEY_TYPES } from '../../src/crdt/registry.js';
import { statesOf } from '../../src/keyspace/entries.js';
import type { KeyType } from '../../src/keyspace/types.js';

interface Counted {
  byDb: number[];
  byType: Record<KeyType, number>;
  memory: { entries: number; tombstones: number; slots: number; compact: number };
  bytes: number;
}

function model(ks: Keyspace): Counted {
  const byDb = new Array<number>(16).fill(0);
  const byType = Object.fromEntries(KEY_TYPES.map((t) => [t, 0])) as Record<KeyType, number>;
  let entries = 0;
  let tombstones = 0;
  let slots = 0;
  let bytes = 0;
  let compact = 0;
  for (const key of [...ks.keys()]) {
    // A compact key (no life to end) read as stored, so the model does not make it an entry.
    if (ks.isCompact(key)) compact++;
    const e = ks.isCompact(key) ? ks.storedEntry(key) : ks.entry(key);
    if (e === undefined) throw new Error(`listed key ${key} has no entry`);
    entries++;
    if (isLive(e)) {
      byDb[key.charCodeAt(0)] = (byDb[key.charCodeAt(0)] as number) + 1;
      byType[e.type]++;
    } else tombstones++;
    for (const s of statesOf(e)) if (s.type === 'pncounter' || s.type === 'gcounter') slots += s.crdt.replicaCount();
    bytes += 48 + key.length * 2 + e.crdt.byteSize();
    for (const o of e.others ?? []) bytes += 16 + o.crdt.byteSize();
  }
  return { byDb, byType, memory: { entries, tombstones, slots, compact }, bytes };
}

function counted(ks: Keyspace): Counted {
  return { byDb: ks.countByDb(), byType: ks.countByType(), memory: ks.memoryStats(), bytes: ks.byteSize() };
}

const T0 = 1_700_000_000_000;

type Op =
  | { op: 'incr'; node: number; key: number; db: number; n: number; g: boolean }
  | { op: 'set'; node: number; key: number; db: number; n: number }
  | { op: 'del'; node: number; key: number; db: number }
  | { op: 'pfadd'; node: number; key: number; db: number; items: string[] }
  | { op: 'window'; node: number; key: number; db: number }
  | { op: 'cms'; node: number; key: number; db: number }
  | { op: 'expire'; node: number; key: number; db: number; inMs: number }
  | { op: 'tick'; ms: number }
  | { op: 'ship'; from: number; key: number; db: number }
  | { op: 'collect'; node: number }
  | { op: 'flush'; node: number; db: number }
  | { op: 'read'; node: number };

const where = { node: fc.integer({ min: 0, max: 1 }), key: fc.integer({ min: 0, max: 5 }), db: fc.constantFrom(0, 0, 1, 15) };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('incr' as const), ...where, n: fc.integer({ min: -3, max: 5 }), g: fc.boolean() }),
  fc.record({ op: fc.constant('set' as const), ...where, n: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ op: fc.constant('del' as const), ...where }),
  fc.record({ op: fc.constant('pfadd' as const), ...where, items: fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 3 }) }),
  fc.record({ op: fc.constant('window' as const), ...where }),
  fc.record({ op: fc.constant('cms' as const), ...where }),
  fc.record({ op: fc.constant('expire' as const), ...where, inMs: fc.integer({ min: 0, max: 3000 }) }),
  fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2000 }) }),
  fc.record({ op: fc.constant('ship' as const), from: fc.integer({ min: 0, max: 1 }), key: where.key, db: where.db }),
  fc.record({ op: fc.constant('collect' as const), node: where.node }),
  fc.record({ op: fc.constant('flush' as const), node: where.node, db: where.db }),
  fc.record({ op: fc.constant('read' as const), node: where.node }),
);

describe('the running counts', () => {
  it('equal a key-by-key count after any sequence of writes, deletes, merges, expiries and collections', () => {
    let checks = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        let now = T0;
        const clock = { now: () => now };
        const nodes = [new Keyspace('n1:1', { clock }), new Keyspace('n2:1', { clock })];
        const node = (i: number): Keyspace => nodes[i] as Keyspace;
        for (const o of ops) {
          if (o.op === 'tick') {
            now += o.ms;
            continue;
          }
          if (o.op === 'ship') {
            const key = fullKey(o.db, `k${o.key}`);
            const enc = node(o.from).encodeKey(key);
            if (enc !== undefined) expect(node(1 - o.from).mergeRemote(key, enc.tag, enc.bytes).ok).toBe(true);
            continue;
          }
          const ks = node(o.node);
          if (o.op === 'collect') ks.collectTombstones();
          else if (o.op === 'flush') ks.flush(o.db);
          else if (o.op === 'read') {
            // Reading mid-sequence folds the counts: later changes must refold the same keys.
            expect(counted(ks)).toEqual(model(ks));
            checks++;
          } else {
            const key = fullKey(o.db, `k${o.key}`);
            if (o.op === 'incr') ks.incrBy(key, o.n, o.g ? 'gcounter' : 'pncounter');
            else if (o.op === 'set') ks.setCounter(key, o.n);
            else if (o.op === 'del') ks.del(key);
            else if (o.op === 'pfadd') ks.pfadd(key, o.items);
            else if (o.op === 'window') {
              ks.windowCreate(key, 1, 60);
              ks.windowIncrBy(key, 1, now, now);
            } else if (o.op === 'cms') {
              ks.cmsInit(key, 8, 2);
              ks.cmsIncrBy(key, [[Buffer.from('x'), 1]]);
            } else ks.expire(key, now + o.inMs);
          }
        }
        for (const ks of nodes) {
          expect(counted(ks)).toEqual(model(ks));
          checks++;
        }
      }),
      { numRuns: 300 },
    );
    expect(checks).toBeGreaterThanOrEqual(600);
  });

  it('take a collected key out, and count a key again when it comes back', () => {
    const a = new Keyspace('a:1');
    const k = fullKey(0, 'x');
    a.incrBy(k, 2);
    a.incrBy(fullKey(2, 'y'), 1);
    expect(a.countByDb().slice(0, 3)).toEqual([1, 0, 1]);
    a.del(k);
    expect(a.memoryStats()).toEqual({ entries: 2, tombstones: 1, slots: 2, compact: 1 });
    expect(a.collectTombstones()).toEqual([k]);
    expect(a.memoryStats()).toEqual({ entries: 1, tombstones: 0, slots: 1, compact: 1 });
    expect(a.countByDb().slice(0, 3)).toEqual([0, 0, 1]);
    const bytesWithout = a.byteSize();
    a.incrBy(k, 1);
    expect(a.countByDb().slice(0, 3)).toEqual([1, 0, 1]);
    expect(a.byteSize()).toBeGreaterThan(bytesWithout);
    expect(counted(a)).toEqual(model(a));
  });
});
