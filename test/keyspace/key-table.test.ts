// The key table under the keyspace (src/keyspace/key-table.ts): the counts INFO and /metrics read,
// the wire form of a key (whole, cached, and in parts), the digest's buckets, the clock and replica
// id it is given, and tombstone collection with the slot bases a collected key leaves behind.

import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/crdt/codec.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import { KeyTable } from '../../src/keyspace/key-table.js';
import { digestBucket, hashEncoded, StateDigest } from '../../src/keyspace/state-digest.js';
import { KeyColumns } from '../../src/keyspace/key-columns.js';
import type { ChangeOrigin, Entry } from '../../src/keyspace/types.js';

const k = (s: string): string => fullKey(0, s);
/** `n` distinct HLL elements. */
const many = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const T0 = 1_700_000_000_000;

/**
 * A keyspace whose keys hold every shape a key can: counters of one and of two writers, both
 * types of counter, a negative one, a TTL, a tombstone, an HLL, two keys of two types at once, and
 * a sum past 2^53-1.
 */
function keysOfEveryShape(clock: { now: () => number }): { ks: Keyspace } {
  const ks = new Keyspace('n1:1', { clock });
  const peer = new Keyspace('n2:1', { clock });
  ks.incrBy(k('one'), 5);
  ks.incrBy(k('neg'), -3);
  ks.incrBy(k('g'), 4, 'gcounter');
  for (const name of ['three', 'g']) {
    peer.incrBy(k(name), 2, name === 'g' ? 'gcounter' : undefined);
    ship(peer, ks, k(name));
  }
  ks.incrBy(k('three'), 1);
  ks.incrBy(k('ttl'), 1);
  expect(ks.expire(k('ttl'), T0 + 60_000)).toBe(true);
  ks.incrBy(k('gone'), 1);
  ks.del(k('gone'));
  ks.pfadd(k('h'), ['x', 'y']);
  // Keys live as two types at once (created concurrently as both): every state counts, whichever
  // is visible (the counter of higher tag, or the HLL).
  ks.incrBy(k('both'), 3);
  peer.incrBy(k('both'), 2, 'gcounter');
  ship(peer, ks, k('both'));
  expect([ks.entry(k('both'))?.type, ks.entry(k('both'))?.others?.length]).toEqual(['pncounter', 1]);
  ks.incrBy(k('mixed'), 3);
  peer.pfadd(k('mixed'), ['z']);
  ship(peer, ks, k('mixed'));
  expect(ks.entry(k('mixed'))?.others?.length).toBe(1);
  ks.incrBy(k('big'), 9_007_199_254_740_991);
  peer.incrBy(k('big'), 9_007_199_254_740_991);
  ship(peer, ks, k('big')); // a sum past 2^53-1
  return { ks };
}

function ship(from: Keyspace, to: Keyspace, key: string): void {
  const e = from.encodeKey(key);
  if (e === undefined) throw new Error(`no state for ${key}`);
  const r = to.mergeRemote(key, e.tag, e.bytes);
  if (!r.ok) throw new Error(r.error);
}

describe('what INFO and /metrics count', () => {
  it('countByDb and countByType count live keys only, per database and per type', () => {
    const ks = new Keyspace('n1:1');
    ks.incrBy(fullKey(0, 'a'), 1);
    ks.incrBy(fullKey(0, 'b'), 1, 'gcounter');
    ks.pfadd(fullKey(3, 'a'), ['x']);
    ks.incrBy(fullKey(15, 'gone'), 1);
    ks.del(fullKey(15, 'gone'));
    ks.windowCreate(fullKey(3, 'w'), 1, 60);
    const byDb = ks.countByDb();
    expect(byDb.length).toBe(16);
    expect(byDb).toEqual([2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(ks.countByType()).toEqual({ pncounter: 1, gcounter: 1, hll: 1, window: 1, cms: 0, topk: 0 });
    expect(new Keyspace('n2:1').countByDb()).toEqual(new Array(16).fill(0));
  });

  it('memoryStats counts entries, tombstones, and the replica slots of counter states only', () => {
    const a = new Keyspace('a:1');
    const b = new Keyspace('b:1');
    expect(a.memoryStats()).toEqual({ entries: 0, tombstones: 0, slots: 0, compact: 0 });
    a.incrBy(k('x'), 1);
    b.incrBy(k('x'), 1);
    ship(b, a, k('x'));
    a.incrBy(k('y'), 1);
    a.del(k('y'));
    // A sketch has replica rows too: they are not counter slots.
    a.cmsInit(k('c'), 10, 2);
    a.cmsIncrBy(k('c'), [[Buffer.from('i'), 1]]);
    // A key of two types: the deleted counter's slot still counts.
    a.incrBy(k('z'), 1);
    a.del(k('z'));
    a.pfadd(k('z'), ['e']);
    // (x, of two writers' slots, is compact; the rest are entries.)
    expect(a.memoryStats()).toEqual({ entries: 4, tombstones: 1, slots: 4, compact: 1 });
  });

  it('byteSize is 48 bytes per entry, 2 per key char, and each state, with 16 more per extra state', () => {
    const ks = new Keyspace('n1:1');
    expect(ks.byteSize()).toBe(0);
    ks.incrBy(k('ab'), 1);
    const a = ks.entry(k('ab')) as Entry;
    expect(ks.byteSize()).toBe(48 + 3 * 2 + a.crdt.byteSize());
    ks.del(k('ab'));
    ks.pfadd(k('ab'), ['x']);
    const e = ks.entry(k('ab')) as Entry;
    const other = e.others?.[0];
    expect(other?.type).toBe('pncounter');
    expect(ks.byteSize()).toBe(48 + 3 * 2 + e.crdt.byteSize() + 16 + (other?.crdt.byteSize() ?? NaN));
  });

  it('size and keys() include tombstones', () => {
    const ks = new Keyspace('n1:1');
    ks.incrBy(k('a'), 1);
    ks.incrBy(k('b'), 1);
    ks.del(k('b'));
    expect(ks.size).toBe(2);
    expect([...ks.keys()].sort()).toEqual([k('a'), k('b')]);
    expect(ks.exists(k('b'))).toBe(false);
    expect(ks.typeOf(k('b'))).toBeUndefined();
    expect(ks.typeOf(k('a'))).toBe('pncounter');
    expect(ks.typeOf(k('none'))).toBeUndefined();
  });
});

describe('the wire form of a key', () => {
  it('encodeKey follows every change (its cache is dropped), and is undefined for a missing key', () => {
    const a = new Keyspace('a:1');
    expect(a.encodeKey(k('x'))).toBeUndefined();
    // An HLL of 100 elements: an encoding long enough to be cached (a counter's is not: below).
    a.pfadd(k('x'), many('e', 100));
    const first = a.encodeKey(k('x'));
    expect(first?.bytes.length).toBeGreaterThanOrEqual(128);
    expect(a.encodeKey(k('x'))).toBe(first); // cached
    a.pfadd(k('x'), ['one more']);
    const second = a.encodeKey(k('x'));
    expect(second).not.toEqual(first);
    const copy = new Keyspace('b:1');
    ship(a, copy, k('x'));
    expect(copy.pfcount([k('x')])).toEqual(a.pfcount([k('x')]));
    // A remote change and a TTL drop it too.
    const b = new Keyspace('b:1');
    b.pfadd(k('x'), many('f', 50));
    ship(b, a, k('x'));
    const third = a.encodeKey(k('x'));
    expect(third).not.toEqual(second);
    ship(a, copy, k('x'));
    expect(copy.encodeKey(k('x'))).toEqual(third);
    a.expire(k('x'), T0);
    expect(a.encodeKey(k('x'))).not.toEqual(third);
  });

  it('encodes a short state afresh each time, never caching it, and follows every change', () => {
    const a = new Keyspace('a:1');
    a.incrBy(k('c'), 1);
    const first = a.encodeKey(k('c'));
    expect(first?.bytes.length).toBeLessThan(128);
    const again = a.encodeKey(k('c'));
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    expect((a as unknown as { encoded: Map<string, unknown> }).encoded.size).toBe(0);
    a.incrBy(k('c'), 1);
    expect(a.encodeKey(k('c'))).not.toEqual(first);
    const copy = new Keyspace('b:1');
    ship(a, copy, k('c'));
    expect(copy.getCounter(k('c'))).toEqual({ ok: true, value: 2 });
  });

  it('keeps at most 4096 encodings', () => {
    const ks = new Keyspace('n1:1');
    for (let i = 0; i < 4100; i++) {
      ks.pfadd(k(`x${i}`), many(`x${i}-`, 100));
      ks.encodeKey(k(`x${i}`));
    }
    const cache = (ks as unknown as { encoded: Map<string, unknown> }).encoded;
    expect(cache.size).toBeLessThanOrEqual(4096);
    expect(cache.size).toBeGreaterThan(0);
    // It is emptied only when full: the keys encoded since are all still cached.
    const recent = [4097, 4098, 4099].map((i) => ks.encodeKey(k(`x${i}`)));
    expect([4097, 4098, 4099].map((i) => ks.encodeKey(k(`x${i}`)))).toEqual(recent);
    for (const [j, i] of [4097, 4098, 4099].entries()) expect(ks.encodeKey(k(`x${i}`))).toBe(recent[j]);
    // Every key still encodes to its own state.
    const copy = new Keyspace('c:1');
    for (const i of [0, 4095, 4099]) ship(ks, copy, k(`x${i}`));
    for (const i of [0, 4095, 4099]) expect(copy.pfcount([k(`x${i}`)])).toEqual(ks.pfcount([k(`x${i}`)]));
  });

  it('partsOf cuts a key into parts of at most maxBytes whose merge is the whole key, life included', () => {
    const clock = { now: () => T0 };
    const ks = new Keyspace('n1:1', { clock });
    expect(ks.partsOf(k('x'), 400)).toBeUndefined();
    for (let i = 0; i < 40; i++) {
      const other = new Keyspace(`peer-with-a-long-replica-id-${i}:1`);
      other.incrBy(k('x'), i + 1);
      ship(other, ks, k('x'));
    }
    ks.expire(k('x'), T0 + 60_000);
    const parts = ks.partsOf(k('x'), 400);
    expect(parts).toBeDefined();
    expect((parts ?? []).length).toBeGreaterThan(1);
    const copy = new Keyspace('c:1', { clock });
    for (const p of parts ?? []) {
      expect(p.bytes.length).toBeLessThanOrEqual(400);
      const r = copy.mergeRemote(k('x'), p.tag, p.bytes);
      expect(r.ok).toBe(true);
    }
    expect(copy.getCounter(k('x'))).toEqual({ ok: true, value: (40 * 41) / 2 });
    expect(copy.deadlineOf(k('x'))).toBe(T0 + 60_000);
    expect(copy.encodeKey(k('x'))).toEqual(ks.encodeKey(k('x')));
  });

  it('partsOf splits each state of a key of several types, and is undefined when a unit cannot fit', () => {
    const ks = new Keyspace('n1:1');
    ks.incrBy(k('x'), 3);
    ks.del(k('x'));
    ks.pfadd(k('x'), ['a', 'b', 'c']);
    const parts = ks.partsOf(k('x'), 1000);
    const copy = new Keyspace('c:1');
    for (const p of parts ?? []) copy.mergeRemote(k('x'), p.tag, p.bytes);
    expect(copy.encodeKey(k('x'))).toEqual(ks.encodeKey(k('x')));
    expect(copy.entry(k('x'))?.others?.length).toBe(1);
    // A Top-K record is indivisible.
    ks.topkReserve(k('t'), 10, 100, 4);
    ks.topkAdd(k('t'), Array.from({ length: 20 }, (_, i) => [Buffer.from(`item-${i}-`.padEnd(60, 'x')), 1] as const));
    expect(ks.partsOf(k('t'), 320)).toBeUndefined();
    expect(ks.partsOf(k('t'), 1 << 20)?.length).toBe(1);
  });

  it('keysInBuckets lists every stored key, tombstones too, of the buckets asked', () => {
    const ks = new Keyspace('n1:1');
    const keys = Array.from({ length: 50 }, (_, i) => k(`key${i}`));
    for (const key of keys) ks.incrBy(key, 1);
    ks.del(keys[0] as string);
    const wanted = new Set([digestBucket(keys[0] as string), digestBucket(keys[7] as string)]);
    const got = ks.keysInBuckets(wanted);
    expect(got.sort()).toEqual(keys.filter((key) => wanted.has(digestBucket(key))).sort());
    expect(got).toContain(keys[0]);
    expect(ks.keysInBuckets(new Set())).toEqual([]);
  });
});

describe('the clock, the frame limit and the replica id', () => {
  it('a table given no clock never expires keys; setClock gives it one', () => {
    const ks = new Keyspace('n1:1');
    expect(ks.hasClock).toBe(false);
    ks.incrBy(k('x'), 1);
    expect(ks.expire(k('x'), 1)).toBe(true); // a deadline in 1970, on a clock that reads 0
    expect(ks.exists(k('x'))).toBe(true);
    expect(ks.sweepExpired(10)).toBe(0);
    ks.setClock({ now: () => T0 });
    expect(ks.hasClock).toBe(true);
    expect(ks.exists(k('x'))).toBe(false);
    expect(new Keyspace('n2:1', { clock: { now: () => 0 } }).hasClock).toBe(true);
  });

  it('frameLimit is the maxMessageBytes given, unbounded by default', () => {
    expect(new Keyspace('n1:1').frameLimit).toBe(Infinity);
    expect(new Keyspace('n1:1', { maxMessageBytes: 65_536 }).frameLimit).toBe(65_536);
  });

  it('local writes go under the current replica id', () => {
    const ks = new Keyspace('n1:1');
    expect(ks.replicaId).toBe('n1:1');
    ks.incrBy(k('x'), 2);
    ks.setReplicaId('n1:2');
    expect(ks.replicaId).toBe('n1:2');
    ks.incrBy(k('x'), 3);
    const c = ks.entry(k('x'));
    expect(c?.type).toBe('pncounter');
    if (c?.type !== 'pncounter') throw new Error('type');
    expect(c.crdt.slotOf('n1:1').p).toBe(2);
    expect(c.crdt.slotOf('n1:2').p).toBe(3);
  });

  it('a keyspace built for a frame limit refuses keys longer than it allows, as its copies do', () => {
    const ks = new Keyspace('n1:1', { maxMessageBytes: 4096 });
    expect(ks.maxKeyBytes).toBeLessThan(4096);
    const copy = new Keyspace('n2:1', { maxMessageBytes: ks.frameLimit });
    expect(copy.maxKeyBytes).toBe(ks.maxKeyBytes);
  });
});

describe('replicas holding counter slots', () => {
  it('counterSlotIds names every replica with a slot in a counter, visible or not, a deleted one too, and no HLL writer', () => {
    const clock = { now: () => T0 };
    const { ks } = keysOfEveryShape(clock);
    // n3's slot only in a state that is not the visible one (a G-Counter under a PN-Counter).
    const n3 = new Keyspace('n3:1', { clock });
    n3.incrBy(k('hidden'), 1, 'gcounter');
    ks.incrBy(k('hidden'), 1);
    ship(n3, ks, k('hidden'));
    expect([ks.entry(k('hidden'))?.type, ks.entry(k('hidden'))?.others?.[0]?.type]).toEqual(['pncounter', 'gcounter']);
    // An HLL's writer holds no slot; a deleted counter's writers still do.
    const n4 = new Keyspace('n4:1', { clock });
    n4.pfadd(k('h4'), ['x']);
    ship(n4, ks, k('h4'));
    const n5 = new Keyspace('n5:1', { clock });
    n5.incrBy(k('t5'), 1);
    n5.del(k('t5'));
    ship(n5, ks, k('t5'));
    expect([...ks.counterSlotIds()].sort()).toEqual(['n1:1', 'n2:1', 'n3:1', 'n5:1']);
  });
});

describe('tombstone collection', () => {
  it('collectible: only a deleted counter of one type, with no TTL and no epoch', () => {
    const ks = new Keyspace('n1:1', { clock: { now: () => T0 } });
    const entry = (key: string): Entry => ks.entry(key) as Entry;
    ks.incrBy(k('pn'), 1);
    expect(KeyTable.collectible(entry(k('pn')))).toBe(false); // live
    ks.del(k('pn'));
    expect(KeyTable.collectible(entry(k('pn')))).toBe(true);
    ks.incrBy(k('g'), 1, 'gcounter');
    ks.del(k('g'));
    expect(KeyTable.collectible(entry(k('g')))).toBe(true);
    ks.pfadd(k('h'), ['x']);
    ks.del(k('h'));
    expect(KeyTable.collectible(entry(k('h')))).toBe(false); // an HLL generation
    ks.windowCreate(k('w'), 1, 60);
    ks.del(k('w'));
    expect(KeyTable.collectible(entry(k('w')))).toBe(false);
    // Two types, both deleted.
    ks.incrBy(k('two'), 1);
    ks.del(k('two'));
    ks.pfadd(k('two'), ['x']);
    ks.del(k('two'));
    expect(entry(k('two')).type).toBe('hll');
    expect(KeyTable.collectible(entry(k('two')))).toBe(false);
    // A TTL register (PERSIST after EXPIRE leaves version 2, no deadline), and an expired key's epoch.
    ks.incrBy(k('ttl'), 1);
    ks.expire(k('ttl'), T0 + 1000);
    ks.expire(k('ttl'), null);
    ks.del(k('ttl'));
    expect(KeyTable.collectible(entry(k('ttl')))).toBe(false);
    ks.incrBy(k('ep'), 1);
    ks.expire(k('ep'), T0 - 1);
    expect(entry(k('ep')).life?.epoch).toBe(1);
    expect(KeyTable.collectible(entry(k('ep')))).toBe(false);
    expect(ks.collectibleCount()).toBe(2);
  });

  it('drops collectible tombstones only, reports each with its encoding, and tells the listeners', () => {
    const ks = new Keyspace('n1:1');
    for (const name of ['a', 'b', 'live']) ks.incrBy(k(name), 1);
    ks.del(k('a'));
    ks.del(k('b'));
    ks.pfadd(k('h'), ['x']);
    ks.del(k('h'));
    const encodings = new Map([k('a'), k('b')].map((key) => [key, ks.encodeKey(key)]));
    const heard: [string, ChangeOrigin][] = [];
    ks.onChange((key, origin) => heard.push([key, origin]));
    const dropped: [string, { tag: number; bytes: Uint8Array }][] = [];
    const out = ks.collectTombstones((key, state) => dropped.push([key, state]));
    expect(out.sort()).toEqual([k('a'), k('b')]);
    expect(dropped.sort((x, y) => (x[0] < y[0] ? -1 : 1))).toEqual([
      [k('a'), encodings.get(k('a'))],
      [k('b'), encodings.get(k('b'))],
    ]);
    expect(heard.sort()).toEqual([
      [k('a'), 'collect'],
      [k('b'), 'collect'],
    ]);
    expect(ks.collected).toBe(2);
    expect(ks.entry(k('a'))).toBeUndefined();
    expect(ks.encodeKey(k('a'))).toBeUndefined();
    expect(ks.size).toBe(2);
    expect(ks.collectibleCount()).toBe(0);
    expect(ks.collectTombstones()).toEqual([]);
    expect(ks.collected).toBe(2);
  });

  it('gives each key a dense id, kept by every entry the key has, and gives a dropped key\'s id again only after telling who indexes by it', () => {
    const ks = new Keyspace('n1:1');
    const retired: [number, string | undefined][] = [];
    ks.onIdRetired((id) => retired.push([id, ks.keyOf(id)]));
    for (const name of ['a', 'b', 'c']) ks.incrBy(k(name), 1);
    ks.pfadd(k('h'), ['x']);
    expect(['a', 'b', 'c', 'h'].map((n) => ks.idOf(k(n)))).toEqual([0, 1, 2, 3]);
    expect([0, 1, 2, 3, 4].map((id) => ks.keyOf(id))).toEqual([k('a'), k('b'), k('c'), k('h'), undefined]);
    expect(ks.idOf(k('nope'))).toBe(-1);
    // A new entry for the key (a TTL, a merge, a delete) keeps the key's id.
    const first = ks.entry(k('b')) as Entry;
    expect(ks.expire(k('b'), 10_000)).toBe(true);
    expect(ks.entry(k('b'))).not.toBe(first);
    expect(ks.entry(k('b'))?.id).toBe(1);
    ks.del(k('a'));
    ks.del(k('c'));
    expect([ks.idOf(k('a')), ks.idOf(k('c'))]).toEqual([0, 2]);
    const other = new Keyspace('n2:1');
    other.incrBy(k('a'), 5);
    ship(other, ks, k('a'));
    expect(ks.idOf(k('a'))).toBe(0);
    // Collection drops 'c' (a's merged state is live again): its id is retired, the key already gone.
    expect(ks.collectTombstones()).toEqual([k('c')]);
    expect(retired).toEqual([[2, undefined]]);
    expect(ks.keyOf(2)).toBeUndefined();
    expect(ks.idOf(k('c'))).toBe(-1);
    // The next new key takes the free id; a key made after it a new one.
    ks.incrBy(k('d'), 1);
    ks.incrBy(k('e'), 1);
    expect([ks.idOf(k('d')), ks.idOf(k('e'))]).toEqual([2, 4]);
    expect(ks.keyOf(2)).toBe(k('d'));
  });

  it('storing the entry a key already has keeps its id and takes no new one', () => {
    class Table extends Keyspace {
      storeAgain(key: string): Entry {
        return this.store(key, this.entry(key) as Entry);
      }
    }
    const ks = new Table('n1:1');
    ks.incrBy(k('a'), 1);
    const e = ks.entry(k('a')) as Entry;
    expect(ks.storeAgain(k('a'))).toBe(e);
    expect([e.id, e.superseded, ks.keyOf(0)]).toEqual([0, false, k('a')]);
    ks.incrBy(k('b'), 1);
    expect(ks.idOf(k('b'))).toBe(1);
  });

  it('ids past one page of the key pages (4,096) and back', () => {
    const ks = new Keyspace('n1:1');
    for (let i = 0; i < 9000; i++) ks.incrBy(k(`k${i}`), 1);
    for (const i of [0, 4095, 4096, 8191, 8192, 8999]) {
      expect(ks.idOf(k(`k${i}`))).toBe(i);
      expect(ks.keyOf(i)).toBe(k(`k${i}`));
    }
    expect(ks.keyOf(9000)).toBeUndefined();
    expect(ks.keyOf(1 << 20)).toBeUndefined();
  });

  it("reaches a key's state from its id as from its key, through new entries, expiry, collection and a reused id", () => {
    let now = T0;
    const ks = new Keyspace('n1:1', { clock: { now: () => now } });
    ks.incrBy(k('a'), 3);
    ks.pfadd(k('h'), ['x', 'y']);
    ks.incrBy(k('t'), 1);
    const [a, h, t] = ['a', 'h', 't'].map((n) => ks.idOf(k(n))) as [number, number, number];
    for (const [id, key] of [[a, k('a')], [h, k('h')], [t, k('t')]] as const) expect(ks.encodeId(id)).toEqual(ks.encodeKey(key));
    expect(ks.encodeId(99)).toBeUndefined();
    // A new entry (a TTL) and a change: the id reaches the new entry and its state.
    expect(ks.expire(k('t'), T0 + 1_000)).toBe(true);
    ks.incrBy(k('t'), 4);
    expect(ks.keyOf(t)).toBe(k('t'));
    expect(ks.encodeId(t)).toEqual(ks.encodeKey(k('t')));
    // Past its deadline the id reads what the key reads: its next, empty epoch.
    now += 2_000;
    const viaId = ks.encodeId(t);
    expect(ks.exists(k('t'))).toBe(false);
    expect(ks.entry(k('t'))?.life?.epoch).toBe(1);
    expect(viaId).toEqual(ks.encodeKey(k('t')));
    // A merge reports the key's id, new or not, changed or not; mergeDecoded whether it changed.
    const peer = new Keyspace('n2:1');
    peer.incrBy(k('a'), 1);
    peer.incrBy(k('m'), 7);
    const state = (key: string) => {
      const e = peer.entry(key) as Entry;
      return { type: e.type, crdt: e.crdt } as never;
    };
    expect(ks.mergeDecodedId(k('a'), state(k('a')))).toBe(a);
    expect(ks.mergeDecodedId(k('a'), state(k('a')))).toBe(a);
    expect(ks.mergeDecoded(k('a'), state(k('a')))).toBe(false);
    peer.incrBy(k('a'), 1);
    expect(ks.mergeDecoded(k('a'), state(k('a')))).toBe(true);
    expect(ks.mergeDecoded(k('a'), state(k('a')))).toBe(false);
    const m = ks.mergeDecodedId(k('m'), state(k('m')));
    expect(m).toBe(ks.idOf(k('m')));
    expect(ks.getCounter(k('m'))).toEqual({ ok: true, value: 7 });
    // Collected, its id given to another key: an old entry of it no longer names that id.
    ks.del(k('a'));
    expect(ks.collectTombstones()).toEqual([k('a')]);
    ks.incrBy(k('z'), 2);
    expect(ks.idOf(k('z'))).toBe(a);
    expect(ks.keyOf(a)).toBe(k('z'));
    expect(ks.encodeId(a)).toEqual(ks.encodeKey(k('z')));
  });

  it('encodeIdInto appends exactly the bytes of encodeId after what the writer holds, whatever the key holds, and nothing for an id no key holds', () => {
    let now = T0;
    const { ks } = keysOfEveryShape({ now: () => now });
    ks.incrBy(k('soon'), 1);
    expect(ks.expire(k('soon'), T0 + 1_000)).toBe(true);
    const into = (id: number): { tag: number; bytes: Uint8Array } | undefined => {
      const w = new ByteWriter(4).u8(0xaa).u8(0xbb);
      const tag = ks.encodeIdInto(id, w);
      const all = w.finish();
      expect([...all.subarray(0, 2)]).toEqual([0xaa, 0xbb]);
      return tag === undefined ? (expect(all.length).toBe(2), undefined) : { tag, bytes: all.slice(2) };
    };
    const names = ['one', 'neg', 'g', 'three', 'ttl', 'soon', 'gone', 'h', 'both', 'mixed', 'big'];
    for (const name of names) expect(into(ks.idOf(k(name)))).toEqual(ks.encodeId(ks.idOf(k(name))));
    // Past a deadline the id writes what the key now reads (its next, empty epoch).
    now += 2_000;
    const soon = ks.idOf(k('soon'));
    expect(into(soon)).toEqual(ks.encodeKey(k('soon')));
    expect(into(ks.idBound + 5)).toBeUndefined();
    // An entry replaced by a TTL's new one: the id reaches the key's own.
    expect(ks.expire(k('one'), T0 + 600_000)).toBe(true);
    expect(into(ks.idOf(k('one')))).toEqual(ks.encodeKey(k('one')));
    // A counter of many writers encodes long (it is kept until it changes): written alike the first
    // time, from what is kept the next, and anew once it changed.
    for (let i = 0; i < 12; i++) {
      const writer = new Keyspace(`writer-number-${i}:1`, { clock: { now: () => now } });
      writer.incrBy(k('wide'), 1 + i);
      ship(writer, ks, k('wide'));
    }
    const wide = ks.idOf(k('wide'));
    const first = into(wide);
    expect((first?.bytes.length ?? 0) >= 128).toBe(true);
    expect(first).toEqual(ks.encodeId(wide));
    expect(into(wide)).toEqual(first);
    ks.incrBy(k('wide'), 5);
    const changed = into(wide);
    expect(changed).not.toEqual(first);
    expect(changed).toEqual(ks.encodeId(wide));
    expect(ks.getCounter(k('wide'))).toEqual({ ok: true, value: 78 + 5 });
    // What is kept is a copy: the writer it was written into may take it back and write over it.
    ks.incrBy(k('wide'), 1);
    const shared = new ByteWriter(64);
    expect(ks.encodeIdInto(wide, shared)).toBe(changed?.tag);
    shared.truncate(0);
    shared.bytes(new Uint8Array(400).fill(0xee));
    const own = (ks.entry(k('wide')) as Entry).crdt.encode();
    expect(into(wide)?.bytes).toEqual(own);
    expect(ks.encodeId(wide)?.bytes).toEqual(own);
  });

  it("an entry that stops being its key's is marked superseded: replaced by store, or dropped by collection; and encodeCurrent then reads the key's own", () => {
    const ks = new Keyspace('n1:1');
    ks.incrBy(k('a'), 1);
    const first = ks.entry(k('a')) as Entry;
    expect(first.superseded).toBe(false);
    expect(ks.expire(k('a'), 10_000)).toBe(true); // a new entry with the TTL
    const second = ks.entry(k('a')) as Entry;
    expect(second).not.toBe(first);
    expect([first.superseded, second.superseded]).toEqual([true, false]);
    ks.incrBy(k('a'), 2);
    expect(ks.encodeCurrent(k('a'), first)).toEqual(ks.encodeKey(k('a')));
    expect(ks.encodeCurrent(k('a'), second)).toEqual(ks.encodeKey(k('a')));
    ks.incrBy(k('b'), 1);
    ks.del(k('b'));
    const tomb = ks.entry(k('b')) as Entry;
    expect(ks.collectTombstones()).toEqual([k('b')]);
    expect(tomb.superseded).toBe(true);
    expect(ks.encodeCurrent(k('b'), tomb)).toBeUndefined();
  });

  it('the digest of counters hashed as the codec writes them equals the digest of their encodings, whatever the key holds', () => {
    const { ks } = keysOfEveryShape({ now: () => T0 });
    // The same keys folded the general way: each key's encoding, hashed (a placeholder entry only
    // carries an id for the digest's cells).
    const general = new StateDigest(new KeyColumns());
    let id = 0;
    for (const key of ks.keys()) general.changed({ type: 'pncounter', crdt: new PNCounter(), id: id++ } as Entry, key);
    general.fold(
      () => undefined,
      (key, _e, out) => hashEncoded(ks.encodeKey(key), out),
    );
    expect(ks.stateDigest()).toBe(general.value());
    expect(ks.bucketDigests()).toEqual(general.buckets());
    expect(ks.stateDigest()).not.toBe('0000000000000000');
  });

  it('encodeCurrent of an entry whose TTL has passed reads the key as it is now: its next epoch, empty', () => {
    let now = T0;
    const ks = new Keyspace('n1:1', { clock: { now: () => now } });
    ks.incrBy(k('t'), 5);
    expect(ks.expire(k('t'), T0 + 1_000)).toBe(true);
    const e = ks.entry(k('t')) as Entry;
    const before = ks.encodeCurrent(k('t'), e);
    now = T0 + 2_000;
    const after = ks.encodeCurrent(k('t'), e);
    expect(after).not.toEqual(before);
    expect(after).toEqual(ks.encodeKey(k('t')));
    expect(ks.getCounter(k('t'))).toEqual({ ok: true, value: null });
  });

  it('a collected key leaves the digest as if it had never been written', () => {
    const a = new Keyspace('a:1');
    const b = new Keyspace('b:1');
    a.incrBy(k('keep'), 1);
    b.incrBy(k('keep'), 1);
    ship(b, a, k('keep'));
    ship(a, b, k('keep'));
    a.incrBy(k('gone'), 4);
    a.stateDigest();
    a.del(k('gone'));
    expect(a.stateDigest()).not.toBe(b.stateDigest());
    a.collectTombstones();
    expect(a.stateDigest()).toBe(b.stateDigest());
    expect(a.bucketDigests()).toEqual(b.bucketDigests());
  });

  it('a collected key with a TTL-less sweep entry leaves the sweep too', () => {
    const clock = { t: T0 };
    const ks = new Keyspace('n1:1', { clock: { now: () => clock.t } });
    ks.incrBy(k('x'), 1);
    ks.del(k('x'));
    ks.collectTombstones();
    const expiring = (ks as unknown as { expiring: { size: number } }).expiring;
    expect(expiring.size).toBe(0);
  });

  it("a write after collection starts this node's slot at its old value, so a peer still holding the tombstone shows it", () => {
    const a = new Keyspace('a:1');
    const b = new Keyspace('b:1');
    a.incrBy(k('x'), 5);
    a.incrBy(k('y'), -3);
    a.incrBy(k('y'), 2);
    for (const key of [k('x'), k('y')]) {
      a.del(key);
      ship(a, b, key);
    }
    expect(a.collectTombstones().length).toBe(2);
    // b still holds both tombstones: a's slot of x at 5 (floor 5), of y at +2 -3 (floors alike).
    expect(a.incrBy(k('x'), 1)).toEqual({ ok: true, value: 1 });
    expect(a.incrBy(k('y'), -1)).toEqual({ ok: true, value: -1 });
    for (const key of [k('x'), k('y')]) {
      ship(a, b, key);
      ship(b, a, key);
      expect(a.encodeKey(key)).toEqual(b.encodeKey(key));
    }
    expect(b.getCounter(k('x'))).toEqual({ ok: true, value: 1 });
    expect(b.getCounter(k('y'))).toEqual({ ok: true, value: -1 });
    const x = a.entry(k('x'));
    if (x?.type !== 'pncounter') throw new Error('type');
    expect(x.crdt.slotOf('a:1')).toMatchObject({ p: 6, n: 0 });
    // A key it never wrote has no base.
    const c = new Keyspace('c:1');
    c.incrBy(k('z'), 1);
    ship(c, a, k('z'));
    a.del(k('z'));
    a.collectTombstones();
    a.incrBy(k('z'), 2);
    const z = a.entry(k('z'));
    if (z?.type !== 'pncounter') throw new Error('type');
    expect(z.crdt.slotOf('a:1')).toMatchObject({ p: 2, n: 0 });
  });

  it('the base is per key, and the highest a slot reached over several collections', () => {
    const a = new Keyspace('a:1');
    a.incrBy(k('x'), 7);
    a.del(k('x'));
    a.collectTombstones();
    a.incrBy(k('x'), 1); // slot 8, floor 7
    a.del(k('x'));
    a.collectTombstones();
    a.incrBy(k('x'), 1);
    a.incrBy(k('fresh'), 1);
    const x = a.entry(k('x'));
    const fresh = a.entry(k('fresh'));
    if (x?.type !== 'pncounter' || fresh?.type !== 'pncounter') throw new Error('type');
    expect(x.crdt.slotOf('a:1').p).toBe(9);
    expect(fresh.crdt.slotOf('a:1').p).toBe(1);
    expect(a.getCounter(k('x'))).toEqual({ ok: true, value: 1 });
  });

  it('a G-Counter key collected and written again starts at its base; a base without increments primes nothing', () => {
    const a = new Keyspace('a:1');
    a.incrBy(k('g'), 4, 'gcounter');
    a.del(k('g'));
    a.collectTombstones();
    expect(a.incrBy(k('g'), 1, 'gcounter')).toEqual({ ok: true, value: 1 });
    const g = a.entry(k('g'));
    if (g?.type !== 'gcounter') throw new Error('type');
    expect(g.crdt.slotOf('a:1').p).toBe(5);
    // Only decrements of a PN-Counter, collected, then created as a G-Counter: the slot starts at 0.
    a.incrBy(k('d'), -2);
    a.del(k('d'));
    a.collectTombstones();
    expect(a.incrBy(k('d'), 3, 'gcounter')).toEqual({ ok: true, value: 3 });
    const d = a.entry(k('d'));
    if (d?.type !== 'gcounter') throw new Error('type');
    expect(d.crdt.slotOf('a:1').p).toBe(3);
  });

  it('a key collected here and made again by a peer that never held it: the write here primes its slot at the base', () => {
    // The key's entry exists again (the peer's slot only) when this node writes: the held-entry path.
    for (const type of ['pncounter', 'gcounter'] as const) {
      const a = new Keyspace('a:1');
      const b = new Keyspace('b:1');
      const heard: [string, ChangeOrigin][] = [];
      a.incrBy(k('y'), 4, type);
      if (type === 'pncounter') a.incrBy(k('y'), -3);
      a.del(k('y'));
      a.collectTombstones();
      b.incrBy(k('y'), 2, type);
      ship(b, a, k('y'));
      a.onChange((key, origin) => heard.push([key, origin]));
      expect(a.incrBy(k('y'), 1, type)).toEqual({ ok: true, value: 3 });
      expect(heard).toEqual([[k('y'), 'local']]);
      const y = a.entry(k('y'));
      if (y?.type !== type) throw new Error('type');
      // Own slot: the base (p 4, and n 3 for the PN-Counter) plus the write; the floors hide the base.
      expect(y.crdt.slotOf('a:1')).toMatchObject(type === 'pncounter' ? { p: 5, n: 3 } : { p: 5 });
      ship(a, b, k('y'));
      expect(b.getCounter(k('y'))).toEqual({ ok: true, value: 3 });
      // A refused write still tells of the slot it primed.
      const c = new Keyspace('a:1');
      const d = new Keyspace('d:1');
      c.incrBy(k('z'), 4, type);
      c.del(k('z'));
      c.collectTombstones();
      d.incrBy(k('z'), 1, type);
      ship(d, c, k('z'));
      const told: string[] = [];
      c.onChange((key) => told.push(key));
      expect(c.incrBy(k('z'), type === 'gcounter' ? -1 : Number.MAX_SAFE_INTEGER).ok).toBe(false);
      expect(told).toEqual([k('z')]);
      const z = c.entry(k('z'));
      if (z?.type !== type) throw new Error('type');
      expect(z.crdt.slotOf('a:1').p).toBe(4);
      expect(c.getCounter(k('z'))).toEqual({ ok: true, value: 1 });
    }
  });

  it('a collected counter key made another type, deleted, and written as a counter again: the retyped counter primes its slot at the base', () => {
    for (const type of ['pncounter', 'gcounter'] as const) {
      const a = new Keyspace('a:1');
      a.incrBy(k('r'), 4);
      a.incrBy(k('r'), -3);
      a.del(k('r'));
      a.collectTombstones();
      a.pfadd(k('r'), ['v']);
      a.del(k('r'));
      expect(a.incrBy(k('r'), 1, type)).toEqual({ ok: true, value: 1 });
      const r = a.entry(k('r'));
      if (r?.type !== type) throw new Error('type');
      // A PN-Counter starts at both bases; a G-Counter has no decrements, so only at p's.
      expect(r.crdt.slotOf('a:1')).toMatchObject(type === 'pncounter' ? { p: 5, n: 3 } : { p: 5 });
    }
  });

  it('a new replica id forgets the bases (its slot was never collected)', () => {
    const a = new Keyspace('a:1');
    a.incrBy(k('x'), 5);
    a.del(k('x'));
    a.collectTombstones();
    a.setReplicaId('a:2');
    a.incrBy(k('x'), 1);
    const x = a.entry(k('x'));
    if (x?.type !== 'pncounter') throw new Error('type');
    expect(x.crdt.slotOf('a:2').p).toBe(1);
    expect(x.crdt.slotOf('a:1').p).toBe(0);
  });

  it('a refused write after a collection tells the listeners only if it primed the slot', () => {
    const a = new Keyspace('a:1');
    const b = new Keyspace('b:1');
    const c = new Keyspace('c:1');
    const heard: [string, ChangeOrigin][] = [];
    a.onChange((key, origin) => heard.push([key, origin]));
    a.incrBy(k('x'), 5);
    a.del(k('x'));
    ship(a, b, k('x'));
    a.collectTombstones();
    // Another key overflowing: no base of its own, nothing primed, nobody told.
    a.incrBy(k('other'), Number.MAX_SAFE_INTEGER);
    heard.length = 0;
    expect(a.incrBy(k('other'), 1).ok).toBe(false);
    expect(heard).toEqual([]);
    // x comes back from c, which never held a's slot: a's slot is primed at its base, then the
    // increment overflows. The primed slot is a change of the stored key, and is told.
    c.incrBy(k('x'), 1);
    ship(c, a, k('x'));
    heard.length = 0;
    const before = a.encodeKey(k('x'));
    expect(a.incrBy(k('x'), Number.MAX_SAFE_INTEGER).ok).toBe(false);
    expect(heard).toEqual([[k('x'), 'local']]);
    expect(a.encodeKey(k('x'))).not.toEqual(before);
    const x = a.entry(k('x'));
    if (x?.type !== 'pncounter') throw new Error('type');
    expect(x.crdt.slotOf('a:1')).toMatchObject({ p: 5, n: 0 });
    expect(a.getCounter(k('x'))).toEqual({ ok: true, value: 1 });
    // SET too.
    const d = new Keyspace('d:1');
    d.incrBy(k('y'), 3);
    d.del(k('y'));
    d.collectTombstones();
    c.incrBy(k('y'), 1);
    ship(c, d, k('y'));
    const dHeard: string[] = [];
    d.onChange((_key, origin) => dHeard.push(origin));
    expect(d.setCounter(k('y'), Number.MAX_SAFE_INTEGER).ok).toBe(false);
    expect(dHeard).toEqual(['local']);
  });

  it('a key whose own slot came back from a peer is not primed again, and a refusal then tells nobody', () => {
    const a = new Keyspace('a:1');
    const b = new Keyspace('b:1');
    a.incrBy(k('x'), 5);
    a.del(k('x'));
    ship(a, b, k('x'));
    a.collectTombstones();
    ship(b, a, k('x')); // b's tombstone brings a's slot back, at 5 with floor 5
    const heard: ChangeOrigin[] = [];
    a.onChange((_key, origin) => heard.push(origin));
    expect(a.incrBy(k('x'), Number.MAX_SAFE_INTEGER).ok).toBe(false);
    expect(a.setCounter(k('x'), Number.MAX_SAFE_INTEGER).ok).toBe(false);
    expect(heard).toEqual([]);
    expect(a.incrBy(k('x'), 2)).toEqual({ ok: true, value: 2 });
  });

  it('a PN-Counter collected after decrements only starts its new slot at both bases', () => {
    const a = new Keyspace('a:1');
    const b = new Keyspace('b:1');
    a.incrBy(k('d'), -2);
    a.del(k('d'));
    ship(a, b, k('d'));
    a.collectTombstones();
    expect(a.incrBy(k('d'), -1)).toEqual({ ok: true, value: -1 });
    const d = a.entry(k('d'));
    if (d?.type !== 'pncounter') throw new Error('type');
    expect(d.crdt.slotOf('a:1')).toMatchObject({ p: 0, n: 3 });
    ship(a, b, k('d'));
    expect(b.getCounter(k('d'))).toEqual({ ok: true, value: -1 });
  });
});
