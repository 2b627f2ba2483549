// Pruning of retired slots at the replica (replication/slot-folds.ts): the bounds, their wire form
// and its checks, and what a replica does with a frame whose states were folded by other bounds
// than its own, in both directions, with every frame delivered by hand.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import { decodeEnvelope, encodeEnvelope, MsgKind, type Message } from '../../src/replication/messages.js';
import { boundsFrom, retiredSlotOf, SlotFolds } from '../../src/replication/slot-folds.js';
import { DurableStore, StoreError } from '../../src/persistence/store.js';
import { counter, ManualNet } from './manual-net.js';

const K = fullKey(0, 'k');

/** A keyspace of `owner` holding counter k with these slots (p only). */
function keyspaceWith(owner: string, slots: Record<string, number>): Keyspace {
  const ks = new Keyspace(owner);
  const c = new PNCounter();
  for (const [id, p] of Object.entries(slots)) c.mergeSlot(id, p, 0);
  ks.mergeDecoded(K, { type: 'pncounter', crdt: c });
  return ks;
}

function slotsOf(ks: Keyspace): string[] {
  const e = ks.entry(K);
  return e === undefined ? [] : (e.crdt as PNCounter).slotIds().sort();
}

describe('slot-fold bounds', () => {
  it('fold the incarnations below each bound, oldest first, into the node pseudo-slot', () => {
    const f = new SlotFolds();
    expect(f.foldsFor(['a:1', 'a:2'])).toBeUndefined();
    expect(f.adopt([['a', 3], ['b', 2]])).toBe(true);
    expect(f.adopt([['a', 2]])).toBe(false);
    expect(f.bounds()).toEqual([['a', 3], ['b', 2]]);
    expect(f.foldsFor(['b:1', 'a:2', 'a:3', 'a:1', 'a:retired', 'c:1', 'b:2', 'odd', ':1', 'a:'])).toEqual([
      ['a:1', 'a:retired'],
      ['a:2', 'a:retired'],
      ['b:1', 'b:retired'],
    ]);
    expect(f.folds('a:2')).toBe(true);
    expect(f.folds('a:3')).toBe(false);
    expect(f.folds(retiredSlotOf('a'))).toBe(false);
    expect(f.folds('a:1x')).toBe(false);
  });

  it('a state justifies a bound only for a node it shows two incarnations of', () => {
    expect(boundsFrom(['a:5', 'a:7', 'b:1', 'a:retired', 'c:3', 'c:2', 'junk'])).toEqual([['a', 7], ['c', 3]]);
    expect(boundsFrom(['a:5', 'a:retired'])).toEqual([]);
    // Node ids may hold colons: the incarnation is after the last one.
    expect(boundsFrom(['h:1:4', 'h:1:9'])).toEqual([['h:1', 9]]);
  });

  it('travel in digests, deltas and read responses, and malformed ones are refused', () => {
    const env = (msg: Message) => encodeEnvelope({ cluster: 'c', from: 'a', incarnation: 1, address: 'a', msg });
    const digest = { hash: '0'.repeat(16), membersHash: '0'.repeat(16), vector: null, wantReply: false };
    const msgs: Message[] = [
      { kind: MsgKind.Digest, body: { ...digest, folds: [['n1', 4]] } },
      { kind: MsgKind.Digest, body: { ...digest, folds: [] } },
      { kind: MsgKind.Delta, body: { ranges: [], states: [], members: null, more: false, folds: [['n1', 4]] } },
      { kind: MsgKind.ReadResp, body: { id: 1, states: [], folds: [['n1', 4]] } },
    ];
    for (const msg of msgs) {
      const d = decodeEnvelope(env(msg), 'c', 1 << 20);
      expect(d.ok && d.value.msg).toEqual(msg);
    }
    for (const folds of [[['n1', 0]], [['', 3]], [['n1', 1.5]], [['n1']], 'n1', [['n1', 2, 3]]]) {
      const d = decodeEnvelope(env({ kind: MsgKind.Digest, body: { ...digest, folds: folds as never } }), 'c', 1 << 20);
      expect(d.ok ? 'accepted' : d.error.detail).toBe('digest fold bounds');
    }
  });
});

describe('a replica meeting states folded by other bounds', () => {
  it('folds an unfolded incoming state before merging it: nothing counted twice', () => {
    const net = new ManualNet(['a', 'b']);
    net.add('a', 1, keyspaceWith('a:1', { 'x:1': 5, 'x:2': 1 }));
    net.add('b', 1, keyspaceWith('b:1', { 'x:1': 5, 'x:2': 1 }));
    net.get('b').keyspace.incrBy(K, 3);
    // a asks b for what it lacks, then folds x:1 (5) into x's pseudo-slot before b's answer, which
    // b made without a's bounds (a restart of a with the folded state stands for the fold).
    net.get('a').pullFrom('b');
    net.add('a', 1, keyspaceWith('a:1', { [retiredSlotOf('x')]: 5, 'x:2': 1 }), undefined, [['x', 2]]);
    expect(counter(net.get('a'), 'k')).toBe(6);
    net.deliver((f) => f.from === 'a' && f.msg.kind === MsgKind.Digest, 1);
    expect(net.get('b').foldBounds()).toEqual([]);
    net.deliver((f) => f.from === 'b' && f.to === 'a');
    expect(counter(net.get('a'), 'k')).toBe(9);
    expect(slotsOf(net.get('a').keyspace)).toEqual(['b:1', 'x:2', 'x:retired']);
    // And b, on hearing a's bounds, folds its own state and counts the same.
    net.sync('b', 'a');
    net.sync('a', 'b');
    expect(net.get('b').foldBounds()).toEqual([['x', 2]]);
    expect(counter(net.get('b'), 'k')).toBe(9);
    expect(slotsOf(net.get('b').keyspace)).toEqual(['b:1', 'x:2', 'x:retired']);
  });

  it('adopts the bounds a frame carries before merging its states, and folds its own keys by them', () => {
    const net = new ManualNet(['a', 'b']);
    net.add('a', 1, keyspaceWith('a:1', { [retiredSlotOf('x')]: 5, 'x:2': 1 }), undefined, [['x', 2]]);
    net.add('b', 1, keyspaceWith('b:1', { 'x:1': 5, 'x:2': 1 }));
    net.get('a').keyspace.incrBy(K, 2);
    // a's delta (folded, with its bounds) reaches b, which has not folded.
    net.get('b').pullFrom('a');
    net.deliver((f) => f.from === 'b' && f.msg.kind === MsgKind.Digest, 1);
    net.deliver((f) => f.from === 'a' && f.to === 'b' && f.msg.kind === MsgKind.Delta);
    expect(net.get('b').foldBounds()).toEqual([['x', 2]]);
    expect(counter(net.get('b'), 'k')).toBe(8);
    expect(slotsOf(net.get('b').keyspace)).toEqual(['a:1', 'x:2', 'x:retired']);
  });

  it('refuses a bound that would fold the slot it writes into', () => {
    const net = new ManualNet(['a', 'b']);
    const b = net.get('b');
    b.keyspace.incrBy(K, 1);
    // b runs incarnation 1; a's bound 3 for b is above it.
    net.add('a', 1, undefined, undefined, [['b', 3]]).pullFrom('b');
    expect(net.deliver((f) => f.from === 'a' && f.to === 'b')).toBe(1);
    expect(b.stats.rejected.malformed).toBe(1);
    expect(b.foldBounds()).toEqual([]);
    expect(slotsOf(b.keyspace)).toContain('b:1');
  });

  it('records raised bounds before folding, and drops a frame whose bounds it could not record', () => {
    const net = new ManualNet(['a', 'b']);
    net.add('a', 1, keyspaceWith('a:1', { [retiredSlotOf('x')]: 5, 'x:2': 1 }), undefined, [['x', 2]]);
    const saved: string[] = [];
    let disk = false;
    const b = net.add('b', 1, keyspaceWith('b:1', { 'x:1': 5, 'x:2': 1 }), undefined, undefined, (bounds) => {
      saved.push(`${JSON.stringify(bounds)} with x:1 ${slotsOf(net.get('b').keyspace).includes('x:1') ? 'unfolded' : 'folded'}`);
      return disk;
    });
    net.get('a').keyspace.incrBy(K, 2);
    // The store refuses: nothing is folded, and a's folded states are not merged into b's.
    net.sync('b', 'a');
    // (Once per frame that carried the bounds.)
    expect(saved.length).toBeGreaterThan(0);
    expect(new Set(saved)).toEqual(new Set(['[["x",2]] with x:1 unfolded']));
    expect(b.foldBounds()).toEqual([]);
    expect(counter(b, 'k')).toBe(6);
    // The store works again: recorded first (while x:1 is still unfolded), then folded and merged.
    disk = true;
    net.now += 10 * 3_600_000; // past a's hold on the delta it believes in flight (ManualNet's intervals are an hour)
    net.get('a').tick(net.now);
    net.get('b').tick(net.now);
    net.drop();
    net.sync('b', 'a');
    expect(saved.at(-1)).toBe('[["x",2]] with x:1 unfolded');
    expect(b.foldBounds()).toEqual([['x', 2]]);
    expect(counter(b, 'k')).toBe(8);
  });

  it('folds restored state by the restored bounds at once', () => {
    const net = new ManualNet(['a', 'b']);
    const r = net.add('a', 3, keyspaceWith('a:3', { 'a:1': 4, 'a:2': 6, 'b:1': 1 }), undefined, [['a', 3]]);
    expect(slotsOf(r.keyspace)).toEqual(['a:retired', 'b:1']);
    expect(counter(r, 'k')).toBe(11);
    expect(r.foldedKeys).toBe(1);
  });
});

describe('the store keeps the bounds', () => {
  it('in its meta record, across a reopen, and refuses a damaged list', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tally-folds-'));
    const { store } = DurableStore.open({ dataDir, nodeId: 'n1', cluster: 'c' });
    store.claim({ cluster: 'c', nodeId: 'n1', incarnation: 4 });
    store.saveFolds([['n2', 7], ['n1', 3]]);
    expect(store.meta()).toEqual({ format: expect.any(Number), cluster: 'c', nodeId: 'n1', incarnation: 4, folds: [['n2', 7], ['n1', 3]] });
    void store.close();
    const again = DurableStore.open({ dataDir, nodeId: 'n1', cluster: 'c' });
    expect(again.previous?.folds).toEqual([['n2', 7], ['n1', 3]]);
    again.store.claim({ cluster: 'c', nodeId: 'n1', incarnation: 5, folds: [['n2', 0]] });
    void again.store.close();
    expect(() => DurableStore.open({ dataDir, nodeId: 'n1', cluster: 'c' })).toThrow(StoreError);
    expect(() => DurableStore.open({ dataDir, nodeId: 'n1', cluster: 'c' })).toThrow(/slot-fold bounds are not \[node id, incarnation\] pairs/);
  });
});

describe('a fold pass a slice at a time', () => {
  it('folds a key it has not reached before merging a folded state into it, and reaches every key', () => {
    const ks = new Keyspace('b:1');
    const keys = Array.from({ length: 50 }, (_, i) => fullKey(0, `p${i}`));
    for (const k of keys) {
      const c = new PNCounter();
      c.mergeSlot('x:1', 5, 0);
      c.mergeSlot('x:2', 1, 0);
      ks.mergeDecoded(k, { type: 'pncounter', crdt: c });
    }
    const f = new SlotFolds();
    f.adopt([['x', 2]]);
    ks.startFold((ids) => f.foldsFor(ids));
    expect(ks.foldStep(10)).toBe(10);
    expect(ks.folding).toBe(true);
    // A peer's folded state of the last key, which the pass has not reached.
    const last = keys[49] as string;
    expect((ks.entry(last)?.crdt as PNCounter).slotIds().sort()).toEqual(['x:1', 'x:2']);
    const theirs = new PNCounter();
    theirs.mergeSlot(retiredSlotOf('x'), 5, 0);
    theirs.mergeSlot('x:2', 3, 0);
    ks.mergeDecoded(last, { type: 'pncounter', crdt: theirs });
    expect(ks.getCounter(last)).toEqual({ ok: true, value: 8 });
    expect(ks.foldStep(1000)).toBe(39);
    expect(ks.folding).toBe(false);
    expect(ks.foldStep(1000)).toBe(0);
    for (const k of keys) expect((ks.entry(k)?.crdt as PNCounter).slotIds().sort()).toEqual(['x:2', 'x:retired']);
    expect(keys.map((k) => ks.getCounter(k))).toEqual(keys.map((k) => ({ ok: true, value: k === last ? 8 : 6 })));
  });
});

describe('slot-fold bounds, edges', () => {
  it('read only ids of the form <node>:<digits>, at most 15 of them', () => {
    const f = new SlotFolds();
    f.adopt([['', 9], ['a', 3], ['n', 1e15]]);
    // No node id before the colon, nothing after it, a non-digit anywhere after it, no colon.
    for (const id of [':5', 'a:', 'a:1x', 'a:x1', 'a:-1', 'a:/', 'a::', 'a1', 'a']) expect(f.folds(id), id).toBe(false);
    expect(f.foldsFor([':5', 'a:', 'a:1x', 'a:x1', 'a:/', 'a1'])).toBeUndefined();
    expect(f.folds('a:0')).toBe(true);
    expect(f.folds('a:2')).toBe(true);
    expect(f.folds('a:9')).toBe(false);
    // 15 digits are an incarnation; 16 are not an id tally makes.
    expect(f.folds(`n:${'9'.repeat(15)}`)).toBe(true);
    expect(f.folds(`n:${'1'.repeat(16)}`)).toBe(false);
    expect(boundsFrom([':1', ':2', 'a:', 'a:5', `a:${'1'.repeat(16)}`])).toEqual([]);
  });

  it('list bounds by node id whatever the order they came in, and raise only to a higher bound', () => {
    const f = new SlotFolds();
    expect(f.adopt([['c', 2], ['a', 5], ['b', 1]])).toBe(true);
    expect(f.bounds()).toEqual([['a', 5], ['b', 1], ['c', 2]]);
    expect(f.adopt([['a', 5]])).toBe(false);
    expect(f.adopt([['a', 6], ['b', 1]])).toBe(true);
    expect(f.boundOf('a')).toBe(6);
    expect(f.boundOf('z')).toBe(0);
    // Folds grouped by target, each node's incarnations oldest first, whatever the slots' order.
    expect(f.foldsFor(['c:1', 'b:0', 'a:4', 'a:0', 'a:3'])).toEqual([
      ['a:0', 'a:retired'],
      ['a:3', 'a:retired'],
      ['a:4', 'a:retired'],
      ['b:0', 'b:retired'],
      ['c:1', 'c:retired'],
    ]);
  });

  it('a state of incarnations 0 and 1 of a node retires 0', () => {
    expect(boundsFrom(['a:0', 'a:1'])).toEqual([['a', 1]]);
    expect(boundsFrom(['a:1', 'a:0'])).toEqual([['a', 1]]);
    expect(boundsFrom(['a:0'])).toEqual([]);
  });
});
