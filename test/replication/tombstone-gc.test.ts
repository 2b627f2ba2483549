// Tombstone collection, step by step over a network whose frames the test delivers: when a node may
// drop its deleted counters (two digests from every member vouching that it holds this node's state
// durably), and why a key written again right after is safe while peers still hold its tombstone.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { TombstoneGc } from '../../src/replication/tombstone-gc.js';
import { decodeEnvelope, encodeEnvelope, MsgKind, type DigestBody } from '../../src/replication/messages.js';
import { counter, ManualNet } from './manual-net.js';

const k = fullKey(0, 'x');

/** `from` sends `to` a digest (and they finish the exchange). */
function report(net: ManualNet, from: string, to: string): void {
  net.sync(from, to);
}

describe('TombstoneGc', () => {
  it('gives the most voters the members counted in their last reports, for gcMembers to wait on', () => {
    const gc = new TombstoneGc();
    const h = '0123456789abcdef';
    expect(gc.votersReported(['B', 'C'])).toBe(0); // never heard from
    gc.note('B', { durable: h, collected: undefined }); // a node that predates the count
    expect(gc.votersReported(['B'])).toBe(0);
    gc.note('B', { durable: h, collected: undefined, voters: 4 });
    gc.note('C', { durable: h, collected: undefined, voters: 2 });
    expect(gc.votersReported(['B', 'C'])).toBe(4);
    expect(gc.votersReported(['C'])).toBe(2);
    // The last report counts: B forgot nobody now, or was told of a removal.
    gc.note('B', { durable: h, collected: undefined, voters: 3 });
    expect(gc.votersReported(['B', 'C'])).toBe(3);
  });

  it('lets slot pruning start only once every member\'s last report says it folds', () => {
    const gc = new TombstoneGc();
    const h = '0123456789abcdef';
    expect(gc.allFold([])).toBe(true);
    expect(gc.allFold(['B'])).toBe(false); // never heard from
    gc.note('B', { durable: h, collected: undefined, folds: true });
    gc.note('C', { durable: h, collected: undefined });
    expect(gc.allFold(['B'])).toBe(true);
    expect(gc.allFold(['B', 'C'])).toBe(false);
    gc.note('C', { durable: h, collected: undefined, folds: true });
    expect(gc.allFold(['B', 'C'])).toBe(true);
    // The last report counts: a member restarted on an older version stops it again.
    gc.note('B', { durable: h, collected: undefined, folds: false });
    expect(gc.allFold(['B', 'C'])).toBe(false);
    // A member forgotten is one never heard from.
    gc.note('B', { durable: h, collected: undefined, folds: true });
    expect(gc.allFold(['B', 'C'])).toBe(true);
    gc.forget('B');
    expect(gc.allFold(['C'])).toBe(true);
    expect(gc.allFold(['B', 'C'])).toBe(false);
  });

  it('needs two vouching reports from every member and its own durable state', () => {
    const gc = new TombstoneGc();
    const h = '0123456789abcdef';
    gc.note('B', { durable: h, collected: undefined });
    expect(gc.mayCollect(h, h, ['B'])).toBe(false);
    gc.note('B', { durable: 'ffffffffffffffff', collected: h });
    expect(gc.mayCollect(h, h, ['B'])).toBe(true);
    expect(gc.mayCollect(h, undefined, ['B'])).toBe(false);
    expect(gc.mayCollect(h, h, ['B', 'C'])).toBe(false);
    gc.note('B', { durable: 'ffffffffffffffff', collected: undefined });
    expect(gc.mayCollect(h, h, ['B'])).toBe(false);
    gc.collected(h, 0);
    gc.note('B', { durable: h, collected: undefined });
    gc.note('B', { durable: h, collected: undefined });
    expect(gc.mayCollect(h, h, ['B'])).toBe(false); // nothing to collect at this state: no rescan
  });
});

describe('the digest fields of the evidence', () => {
  const digest = (extra: Partial<DigestBody>): Uint8Array =>
    encodeEnvelope({ cluster: 't', from: 'a', incarnation: 1, address: 'a', msg: { kind: MsgKind.Digest, body: { hash: '0123456789abcdef', membersHash: 'fedcba9876543210', vector: null, wantReply: false, ...extra } } });

  it('round-trip, and are optional (nodes that predate them send neither)', () => {
    const both = decodeEnvelope(digest({ durableState: 'aabbccddeeff0011', collectedState: '1100ffeeddccbbaa' }), 't', 1 << 20);
    expect(both.ok && both.value.msg.kind === MsgKind.Digest && both.value.msg.body).toMatchObject({ durableState: 'aabbccddeeff0011', collectedState: '1100ffeeddccbbaa' });
    const none = decodeEnvelope(digest({}), 't', 1 << 20);
    expect(none.ok && none.value.msg.body).not.toHaveProperty('durableState');
  });

  it('a malformed one rejects the frame', () => {
    for (const bad of [{ durableState: 'abc' }, { collectedState: '0123456789abcdef0' }]) {
      const r = decodeEnvelope(digest(bad), 't', 1 << 20);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.reason).toBe('malformed');
    }
  });
});

describe('tombstone collection between replicas', () => {
  it('a node collects only after every member vouched twice; its next write is never hidden by a peer still holding the tombstone', () => {
    const net = new ManualNet(['A', 'B', 'C']);
    const [A, B, C] = ['A', 'B', 'C'].map((id) => net.get(id));
    if (A === undefined || B === undefined || C === undefined) throw new Error('nodes');
    A.keyspace.incrBy(k, 5);
    B.keyspace.incrBy(k, 7);
    for (const [a, b] of [['B', 'A'], ['C', 'A'], ['C', 'B'], ['A', 'B'], ['A', 'C']] as const) net.sync(a, b);
    C.keyspace.del(k);
    for (const [a, b] of [['A', 'C'], ['B', 'C']] as const) net.sync(a, b);
    expect(A.keyspace.memoryStats().tombstones).toBe(1);
    A.tick(net.now); // its durable state is its state now (no store)
    B.tick(net.now);
    C.tick(net.now);
    report(net, 'B', 'A');
    report(net, 'C', 'A');
    A.tick(net.now);
    expect(A.keyspace.entry(k)).toBeDefined(); // one report each is not enough
    report(net, 'B', 'A');
    expect(A.keyspace.entry(k)).toBeDefined();
    report(net, 'C', 'A');
    A.tick(net.now);
    expect(A.keyspace.entry(k)).toBeUndefined();
    expect(A.keyspace.collected).toBe(1);
    expect(B.keyspace.memoryStats().tombstones).toBe(1); // B still holds the tombstone: A's slot at 5, floor 5
    // A writes x again: its slot starts at 5 (floor 5), so the new increment shows everywhere.
    A.keyspace.incrBy(k, 1);
    expect(A.keyspace.memoryStats().slots).toBe(1);
    net.sync('B', 'A');
    net.sync('A', 'B');
    expect(counter(B, 'x')).toBe(1);
    expect(counter(A, 'x')).toBe(1);
  });
});
