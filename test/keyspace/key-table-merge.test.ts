// The key table's merge of remote state and its TTL commands (src/keyspace/key-table.ts): what a
// merge answers and who hears of it, epochs that arrive dead, late or early, TTL registers joined in
// one epoch, type conflicts counted once, EXPIRE's conditions at their edges, and the sweep's budget.

import { describe, expect, it } from 'vitest';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import type { ChangeOrigin, Entry } from '../../src/keyspace/types.js';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { statesOf } from '../../src/keyspace/entries.js';

const k = fullKey(0, 'k');
const T0 = 1_700_000_000_000;

function node(id: string, t = T0): { ks: Keyspace; clock: { t: number }; heard: [string, ChangeOrigin][] } {
  const clock = { t };
  const ks = new Keyspace(`${id}:1`, { clock: { now: () => clock.t } });
  const heard: [string, ChangeOrigin][] = [];
  ks.onChange((key, origin) => heard.push([key, origin]));
  return { ks, clock, heard };
}

/** Merges `from`'s state of `key` into `to`; answers what mergeRemote answered. */
function ship(from: Keyspace, to: Keyspace, key = k): boolean {
  const e = from.encodeKey(key);
  if (e === undefined) throw new Error(`no state for ${key}`);
  const r = to.mergeRemote(key, e.tag, e.bytes);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('mergeRemote', () => {
  it('answers whether anything changed, and only a change is heard', () => {
    const a = node('A');
    const b = node('B');
    a.ks.incrBy(k, 3);
    expect(ship(a.ks, b.ks)).toBe(true);
    expect(b.heard).toEqual([[k, 'remote']]);
    expect(ship(a.ks, b.ks)).toBe(false);
    b.ks.incrBy(k, 1);
    b.heard.length = 0;
    expect(ship(a.ks, b.ks)).toBe(false); // nothing new: b holds a's slot already
    expect(b.heard).toEqual([]);
    a.ks.incrBy(k, 1);
    expect(ship(a.ks, b.ks)).toBe(true);
    expect(b.ks.getCounter(k)).toEqual({ ok: true, value: 5 });
  });

  it('refuses bytes that do not decode, changing nothing', () => {
    const b = node('B');
    b.ks.incrBy(k, 1);
    const before = b.ks.encodeKey(k);
    b.heard.length = 0;
    const r = b.ks.mergeRemote(k, 1, Uint8Array.from([0xff, 0xff, 0xff]));
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.error.length).toBeGreaterThan(0);
    expect(b.ks.encodeKey(k)).toEqual(before);
    expect(b.heard).toEqual([]);
  });

  it('a state whose deadline passed on our clock arrives as its next, empty epoch', () => {
    const a = node('A');
    const b = node('B', T0 + 10_000); // b's clock is past the deadline a set
    a.ks.incrBy(k, 3);
    a.ks.expire(k, T0 + 5_000);
    expect(ship(a.ks, b.ks)).toBe(true);
    expect(b.heard).toEqual([[k, 'remote']]);
    expect(b.ks.exists(k)).toBe(false);
    expect(b.ks.entry(k)?.life?.epoch).toBe(1);
    const husk = b.ks.entry(k);
    expect(husk?.type === 'pncounter' && husk.crdt.replicaCount()).toBe(0);
    expect(ship(a.ks, b.ks)).toBe(false);
    // A deadline exactly now is past.
    const c = node('C', T0 + 5_000);
    ship(a.ks, c.ks);
    expect(c.ks.entry(k)?.life?.epoch).toBe(1);
    // A deadline still ahead keeps the key.
    const d = node('D', T0 + 4_999);
    ship(a.ks, d.ks);
    expect(d.ks.getCounter(k)).toEqual({ ok: true, value: 3 });
    expect(d.ks.deadlineOf(k)).toBe(T0 + 5_000);
  });

  it('an earlier epoch is ignored; a later one replaces the key outright', () => {
    const a = node('A');
    const b = node('B');
    a.ks.incrBy(k, 3);
    ship(a.ks, b.ks);
    b.ks.expire(k, T0 - 1); // b ends the key: epoch 1
    b.ks.incrBy(k, 7);
    b.heard.length = 0;
    a.ks.incrBy(k, 100); // still epoch 0 on a
    expect(ship(a.ks, b.ks)).toBe(false);
    expect(b.heard).toEqual([]);
    expect(b.ks.getCounter(k)).toEqual({ ok: true, value: 7 });
    expect(ship(b.ks, a.ks)).toBe(true);
    expect(a.ks.getCounter(k)).toEqual({ ok: true, value: 7 });
    expect(a.ks.encodeKey(k)).toEqual(b.ks.encodeKey(k));
    // The states a later epoch brings are copies: writing to the sender does not change the receiver.
    b.ks.incrBy(k, 1);
    expect(a.ks.getCounter(k)).toEqual({ ok: true, value: 7 });
  });

  it('a write to an expired key stays in its new epoch, whatever its type', () => {
    const a = node('A');
    const b = node('B');
    a.ks.pfadd(k, ['x']);
    a.ks.expire(k, T0 + 1_000);
    ship(a.ks, b.ks);
    a.clock.t = b.clock.t = T0 + 1_000;
    expect(a.ks.exists(k)).toBe(false);
    expect(b.ks.exists(k)).toBe(false);
    a.ks.pfadd(k, ['y', 'z']);
    expect(a.ks.entry(k)?.life?.epoch).toBe(1);
    expect(ship(a.ks, b.ks)).toBe(true);
    expect(b.ks.pfcount([k])).toEqual({ ok: true, value: 2 });
  });

  it('joins the TTL registers of one epoch, and the sweep learns the deadline', () => {
    const a = node('A');
    const b = node('B');
    a.ks.incrBy(k, 1);
    ship(a.ks, b.ks);
    a.ks.expire(k, T0 + 5_000);
    b.heard.length = 0;
    expect(ship(a.ks, b.ks)).toBe(true);
    expect(b.heard).toEqual([[k, 'remote']]);
    expect(b.ks.deadlineOf(k)).toBe(T0 + 5_000);
    expect(ship(a.ks, b.ks)).toBe(false);
    b.clock.t = T0 + 5_000;
    expect(b.ks.sweepExpired(10)).toBe(1);
    expect(b.heard.at(-1)).toEqual([k, 'expire']);
    // A PERSIST that wins removes the key from the sweep.
    const c = node('C');
    const d = node('D');
    c.ks.incrBy(k, 1);
    c.ks.expire(k, T0 + 5_000);
    ship(c.ks, d.ks);
    c.ks.expire(k, null);
    expect(ship(c.ks, d.ks)).toBe(true);
    expect(d.ks.deadlineOf(k)).toBeNull();
    const expiring = (d.ks as unknown as { expiring: { size: number } }).expiring;
    expect(expiring.size).toBe(0);
  });

  it('counts a type conflict once per key, and reports the live types', () => {
    const a = node('A');
    const b = node('B');
    const c = node('C');
    const reported: [string, string[]][] = [];
    a.ks.onTypeConflict((key, types) => reported.push([key, types]));
    a.ks.incrBy(k, 1);
    b.ks.pfadd(k, ['x']);
    c.ks.windowCreate(k, 1, 60);
    expect(ship(b.ks, a.ks)).toBe(true);
    expect(a.ks.typeConflicts).toBe(1);
    b.ks.pfadd(k, ['y']);
    expect(ship(b.ks, a.ks)).toBe(true);
    expect(a.ks.typeConflicts).toBe(1); // the same conflict, merged again
    ship(c.ks, a.ks);
    expect(a.ks.typeConflicts).toBe(1);
    expect(reported).toEqual([[k, ['hll', 'pncounter']]]);
    expect(a.ks.entry(k)?.type).toBe('window');
  });

  it('a conflict with a deleted state is none', () => {
    const a = node('A');
    const b = node('B');
    a.ks.incrBy(k, 1);
    a.ks.del(k);
    b.ks.pfadd(k, ['x']);
    expect(ship(b.ks, a.ks)).toBe(true);
    expect(a.ks.typeConflicts).toBe(0);
    expect(a.ks.typeOf(k)).toBe('hll');
    // And the state that arrives as a known second type, already merged: no change, no notice.
    a.heard.length = 0;
    expect(ship(b.ks, a.ks)).toBe(false);
    expect(a.heard).toEqual([]);
  });

  it('an empty counter state is not kept beside a state of another type', () => {
    const a = node('A');
    const b = node('B');
    a.ks.pfadd(k, ['x']);
    b.ks.incrBy(k, 0, 'gcounter'); // an empty G-Counter
    expect(b.ks.entry(k)?.type).toBe('gcounter');
    expect(ship(b.ks, a.ks)).toBe(false);
    expect(a.ks.entry(k)?.others).toBeUndefined();
    // The other way: the HLL arrives at a key holding only the empty G-Counter, which it drops.
    expect(ship(a.ks, b.ks)).toBe(true);
    expect(b.ks.entry(k)?.type).toBe('hll');
    expect(b.ks.entry(k)?.others).toBeUndefined();
    expect(b.ks.encodeKey(k)).toEqual(a.ks.encodeKey(k));
  });
});

describe('EXPIRE conditions at their edges', () => {
  it('GT: never without a TTL or to PERSIST, and only strictly later', () => {
    const { ks } = node('A');
    ks.incrBy(k, 1);
    expect(ks.expire(k, T0 + 1_000, 'GT')).toBe(false); // no TTL is infinite
    ks.expire(k, T0 + 1_000);
    expect(ks.expire(k, null, 'GT')).toBe(false);
    expect(ks.expire(k, T0 + 1_000, 'GT')).toBe(false);
    expect(ks.expire(k, T0 + 1_001, 'GT')).toBe(true);
    expect(ks.deadlineOf(k)).toBe(T0 + 1_001);
  });

  it('LT: always without a TTL, never to PERSIST, and only strictly sooner', () => {
    const { ks } = node('A');
    ks.incrBy(k, 1);
    expect(ks.expire(k, T0 + 1_000, 'LT')).toBe(true); // anything is sooner than no TTL
    expect(ks.expire(k, null, 'LT')).toBe(false);
    expect(ks.expire(k, T0 + 1_000, 'LT')).toBe(false);
    expect(ks.expire(k, T0 + 999, 'LT')).toBe(true);
    expect(ks.deadlineOf(k)).toBe(T0 + 999);
  });

  it('NX and XX; PERSIST of a key without a TTL is no change', () => {
    const { ks, heard } = node('A');
    ks.incrBy(k, 1);
    heard.length = 0;
    expect(ks.expire(k, null)).toBe(false);
    expect(ks.expire(k, null, 'XX')).toBe(false);
    expect(heard).toEqual([]);
    ks.expire(k, T0 + 1_000);
    expect(ks.expire(k, T0 + 2_000, 'NX')).toBe(false);
    expect(ks.expire(k, T0 + 2_000, 'XX')).toBe(true);
    expect(ks.deadlineOf(k)).toBe(T0 + 2_000);
    expect(heard).toEqual([
      [k, 'local'],
      [k, 'local'],
    ]);
  });

  it('a deleted key has no TTL to set; a deadline of exactly now ends the key at once', () => {
    const { ks, heard } = node('A');
    ks.incrBy(k, 1);
    ks.del(k);
    expect(ks.expire(k, T0 + 1_000)).toBe(false);
    expect(ks.deadlineOf(k)).toBeUndefined();
    ks.incrBy(k, 1);
    heard.length = 0;
    expect(ks.expire(k, T0 + 1)).toBe(true);
    expect(ks.exists(k)).toBe(true);
    expect(ks.expire(k, T0)).toBe(true);
    expect(heard).toEqual([
      [k, 'local'],
      [k, 'local'],
      [k, 'expire'],
    ]);
    expect(ks.exists(k)).toBe(false);
  });

  it('SET without KEEPTTL takes the key out of the sweep', () => {
    const { ks, clock } = node('A');
    ks.incrBy(k, 1);
    ks.expire(k, T0 + 1_000);
    ks.setCounter(k, 5);
    const expiring = (ks as unknown as { expiring: { size: number } }).expiring;
    expect(expiring.size).toBe(0);
    clock.t = T0 + 2_000;
    expect(ks.sweepExpired(10)).toBe(0);
    expect(ks.getCounter(k)).toEqual({ ok: true, value: 5 });
  });
});

describe('the sweep', () => {
  it('ends at most `budget` keys, those due exactly now included, and tells the listeners', () => {
    const { ks, clock, heard } = node('A');
    const keys = ['a', 'b', 'c'].map((s) => fullKey(0, s));
    for (const key of keys) {
      ks.incrBy(key, 1);
      ks.expire(key, T0 + 1_000);
    }
    clock.t = T0 + 1_000;
    heard.length = 0;
    expect(ks.sweepExpired(0)).toBe(0);
    expect(ks.sweepExpired(2)).toBe(2);
    expect(heard.map(([, origin]) => origin)).toEqual(['expire', 'expire']);
    expect(ks.sweepExpired(2)).toBe(1);
    expect(ks.sweepExpired(2)).toBe(0);
    for (const key of keys) expect(ks.exists(key)).toBe(false);
  });

  it('keys written or merged without a TTL are never listed for the sweep', () => {
    const a = node('A');
    const b = node('B');
    a.ks.incrBy(k, 1);
    a.ks.incrBy(fullKey(0, 'other'), 2);
    expect(ship(a.ks, b.ks)).toBe(true);
    for (const n of [a, b]) expect((n.ks as unknown as { expiring: { size: number } }).expiring.size).toBe(0);
  });

  it('a key read after its deadline is no longer swept', () => {
    const { ks, clock } = node('A');
    ks.incrBy(k, 1);
    ks.expire(k, T0 + 1_000);
    clock.t = T0 + 1_000;
    expect(ks.exists(k)).toBe(false);
    expect(ks.sweepExpired(10)).toBe(0);
    const expiring = (ks as unknown as { expiring: { size: number } }).expiring;
    expect(expiring.size).toBe(0);
  });
});

describe('merges that change the visible type or the epoch', () => {
  it('a key live as two types whose visible one is deleted by a peer shows the other', () => {
    const a = node('A');
    const b = node('B');
    a.ks.incrBy(k, 7);
    b.ks.pfadd(k, ['x']);
    ship(b.ks, a.ks);
    expect(a.ks.typeOf(k)).toBe('hll');
    expect(b.ks.del(k)).toBe(true); // b never saw the counter: it deletes only its HLL
    expect(ship(b.ks, a.ks)).toBe(true);
    expect(a.ks.typeOf(k)).toBe('pncounter');
    expect(a.ks.getCounter(k)).toEqual({ ok: true, value: 7 });
  });

  it('reports only the live types of a conflict, not a deleted state beside them', () => {
    const a = node('A');
    const b = node('B');
    const reported: string[][] = [];
    a.ks.onTypeConflict((_key, types) => reported.push(types));
    a.ks.windowCreate(k, 1, 60);
    a.ks.del(k);
    a.ks.incrBy(k, 1);
    b.ks.pfadd(k, ['x']);
    ship(b.ks, a.ks);
    expect(a.ks.entry(k)?.others?.length).toBe(2);
    expect(reported).toEqual([['hll', 'pncounter']]);
  });

  it("a later epoch brings its own TTL, even one sooner than the earlier epoch's", () => {
    const a = node('A');
    const b = node('B', T0 + 10_000);
    const c = node('C');
    a.ks.incrBy(k, 1);
    a.ks.expire(k, T0 + 10_000); // epoch 0, TTL version 1
    ship(a.ks, b.ks); // dead on arrival at b: epoch 1
    b.ks.incrBy(k, 7);
    ship(b.ks, c.ks); // c's clock is behind: epoch 1 arrives live
    expect(c.ks.expire(k, T0 + 5_000)).toBe(true); // epoch 1, TTL version 1, sooner than epoch 0's
    expect(ship(c.ks, a.ks)).toBe(true);
    expect(a.ks.entry(k)?.life).toEqual({ epoch: 1, ttlVersion: 1, deadline: T0 + 5_000 });
    expect(a.ks.getCounter(k)).toEqual({ ok: true, value: 7 });
  });

  it('mergeDecoded takes one decoded state as well as a list', () => {
    const a = node('A');
    const b = node('B');
    a.ks.incrBy(k, 4);
    const e = a.ks.entry(k);
    if (e?.type !== 'pncounter') throw new Error('type');
    expect(b.ks.mergeDecoded(k, { type: 'pncounter', crdt: e.crdt.clone() })).toBe(true);
    expect(b.ks.getCounter(k)).toEqual({ ok: true, value: 4 });
    expect(b.ks.mergeDecoded(k, { type: 'pncounter', crdt: e.crdt.clone() })).toBe(false);
    // One state with a life: a key new here, then a later epoch of it, each held whole with its life.
    const j = fullKey(0, 'j');
    expect(b.ks.mergeDecoded(j, { type: 'pncounter', crdt: e.crdt.clone() }, { epoch: 1, ttlVersion: 0, deadline: null })).toBe(true);
    expect(b.ks.getCounter(j)).toEqual({ ok: true, value: 4 });
    expect(b.ks.entry(j)?.life).toEqual({ epoch: 1, ttlVersion: 0, deadline: null });
    a.ks.incrBy(k, 2);
    const later = a.ks.entry(k);
    if (later?.type !== 'pncounter') throw new Error('type');
    expect(b.ks.mergeDecoded(j, { type: 'pncounter', crdt: later.crdt.clone() }, { epoch: 2, ttlVersion: 0, deadline: null })).toBe(true);
    expect(b.ks.getCounter(j)).toEqual({ ok: true, value: 6 });
    expect(b.ks.entry(j)?.life?.epoch).toBe(2);
    // One state of another type than the key's: kept beside it (a type conflict), not lost.
    const h = HyperLogLog.create();
    h.add('x');
    expect(b.ks.mergeDecoded(k, { type: 'hll', crdt: h })).toBe(true);
    expect(statesOf(b.ks.entry(k) as Entry).map((s) => s.type).sort()).toEqual(['hll', 'pncounter']);
    expect(b.ks.typeConflicts).toBe(1);
  });

  it('SET and DEL of a key in a later epoch without a TTL leave its TTL register alone', () => {
    const { ks } = node('A');
    ks.incrBy(k, 1);
    ks.expire(k, T0 - 1);
    ks.incrBy(k, 2);
    expect(ks.entry(k)?.life).toEqual({ epoch: 1, ttlVersion: 0, deadline: null });
    ks.setCounter(k, 5);
    expect(ks.entry(k)?.life).toEqual({ epoch: 1, ttlVersion: 0, deadline: null });
    ks.del(k);
    expect(ks.entry(k)?.life).toEqual({ epoch: 1, ttlVersion: 0, deadline: null });
  });
});
