// A key too large for one gossip frame travels as parts and never blocks the keys after it (repro r2):
// a dense Count-Min Sketch written by five nodes, with 4 KiB frames.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { MsgKind } from '../../src/replication/messages.js';
import { counter, ManualNet } from './manual-net.js';

describe('oversized keys', () => {
  it('a sketch larger than maxMessageBytes reaches a peer in parts, and later writes of its origin follow', () => {
    const ids = ['A', 'B', 'C', 'D', 'E'];
    const net = new ManualNet(ids, { maxMessageBytes: 4096 });
    const cms = fullKey(0, 'cms');
    const E = net.get('E');
    const A = net.get('A');
    expect(A.keyspace.cmsInit(cms, 2000, 2).ok).toBe(true);
    for (const id of ids.slice(1)) net.sync(id, 'A');
    // Each node counts its own 400 items: five dense per-replica matrices.
    for (const id of ids) {
      const items = Array.from({ length: 400 }, (_, i) => [Buffer.from(`${id}-${i}`), 1 + (i % 7)] as const);
      expect(net.get(id).keyspace.cmsIncrBy(cms, items).ok).toBe(true);
    }
    for (let round = 0; round < 30; round++) for (const id of ['B', 'C', 'D']) net.sync('E', id);
    expect(E.keyspace.encodeKey(cms)?.bytes.length).toBeGreaterThan(4096);
    E.keyspace.incrBy(fullKey(0, 'orders'), 7);
    // A pulls from E: the sketch comes in parts, and E's later write follows it.
    let parts = 0;
    for (let round = 0; round < 30 && A.versions.known('E:1') < E.version; round++) {
      A.pullFrom('E');
      net.deliver((f) => {
        const ours = (f.from === 'A' && f.to === 'E') || (f.from === 'E' && f.to === 'A');
        if (ours && f.msg.kind === MsgKind.Delta && f.msg.body.part !== undefined) parts++;
        return ours;
      });
    }
    expect(parts).toBeGreaterThan(0);
    expect(A.stats.rejected).toEqual({});
    expect(A.versions.known('E:1')).toBe(E.version);
    expect(counter(A, 'orders')).toBe(7);
    expect(Buffer.from(A.keyspace.encodeKey(cms)?.bytes ?? []).equals(Buffer.from(E.keyspace.encodeKey(cms)?.bytes ?? []))).toBe(true);
  });

  it('a lost part leaves the range unclaimed: known never passes a key whose parts did not all arrive', () => {
    const net = new ManualNet(['A', 'E'], { maxMessageBytes: 4096 });
    const E = net.get('E');
    const A = net.get('A');
    const cms = fullKey(0, 'cms');
    E.keyspace.cmsInit(cms, 2000, 2);
    E.keyspace.cmsIncrBy(cms, Array.from({ length: 1500 }, (_, i) => [Buffer.from(`x${i}`), 3] as const));
    A.pullFrom('E');
    net.deliver((f) => f.from === 'A' && f.msg.kind === MsgKind.Digest);
    // Drop one part frame of E's answer.
    const partIdx = net.queue.findIndex((f) => f.from === 'E' && f.msg.kind === MsgKind.Delta && f.msg.body.part !== undefined);
    expect(partIdx).toBeGreaterThanOrEqual(0);
    net.queue.splice(partIdx, 1);
    net.deliver((f) => f.from === 'E' && f.to === 'A' && f.msg.kind === MsgKind.Delta);
    expect(A.versions.known('E:1')).toBe(0);
    net.drop();
    // E holds the range it sent back for a while (it may be on its way); once that passes, the next
    // exchange delivers it all.
    net.now += 3 * net.cfg.gossipIntervalMs;
    for (let round = 0; round < 5; round++) net.sync('A', 'E');
    expect(A.versions.known('E:1')).toBe(E.version);
    expect(Buffer.from(A.keyspace.encodeKey(cms)?.bytes ?? []).equals(Buffer.from(E.keyspace.encodeKey(cms)?.bytes ?? []))).toBe(true);
  });
});

describe('refused at creation', () => {
  it('a Top-K whose one writer could outgrow a frame is refused, naming both sizes', async () => {
    const { Keyspace } = await import('../../src/keyspace/keyspace.js');
    const small = new Keyspace('a:1', { maxMessageBytes: 64 * 1024 });
    const r = small.topkReserve(fullKey(0, 't'), 100, 8, 5);
    expect(r.ok ? 'ok' : r.error.message).toMatch(/^TopK: one writer's state could take up to \d+ bytes, more than a gossip frame holds \(maxMessageBytes leaves \d+\)/);
    expect(small.topkReserve(fullKey(0, 't'), 5, 8, 5).ok).toBe(true);
    expect(small.exists(fullKey(0, 't'))).toBe(true);
  });
});
