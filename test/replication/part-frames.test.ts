// Part frames, frame by frame: a key whose state is too large for one gossip frame travels as
// numbered parts (Deltas with `part`) ahead of the Delta that claims its version (`needs`), and that
// claim counts only once every part of that very batch arrived from that very sender. parts.test.ts
// runs the same over whole exchanges; here each frame is looked at and each refusal is pinned.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { MsgKind, type DeltaBody, type Message } from '../../src/replication/messages.js';
import type { Replica } from '../../src/replication/replica.js';
import { bigCms, counter, ManualNet, membersDelta, type Frame } from './manual-net.js';

const big = fullKey(0, 'big');
const big2 = fullKey(0, 'big2');
const after = fullKey(0, 'after');

const deltaOf = (f: Frame): DeltaBody => {
  if (f.msg.kind !== MsgKind.Delta) throw new Error(`frame of kind ${f.msg.kind}, not a Delta`);
  return f.msg.body;
};
const isPart = (f: Frame): boolean => f.msg.kind === MsgKind.Delta && f.msg.body.part !== undefined;
const stateBytes = (r: Replica, key: string): string => Buffer.from(r.keyspace.encodeKey(key)?.bytes ?? []).toString('hex');

/** 4 KiB frames, three nodes; A holds the keys `write` puts there, B holds nothing. */
function net(write: (A: Replica) => void): ManualNet {
  const n = new ManualNet(['A', 'B', 'C'], { maxMessageBytes: 4096 });
  write(n.get('A'));
  return n;
}

/** B sends A one digest with its vector; returns A's answer to B, in the order sent (nothing is delivered to B). */
function answerToB(n: ManualNet): Frame[] {
  n.get('B').pullFrom('A');
  n.deliver((f) => f.from === 'B' && f.to === 'A' && f.msg.kind === MsgKind.Digest);
  const out = n.queue.filter((f) => f.from === 'A' && f.to === 'B');
  n.drop((f) => f.from === 'A' && f.to === 'B');
  return out;
}

const give = (n: ManualNet, frames: readonly Frame[]): void => {
  for (const f of frames) n.get(f.to).receive(f.from, f.bytes, n.now);
};

describe('part frames: the sender', () => {
  it('a key too large for a Delta beside 20 members, but not for a frame alone, goes whole in the Delta that claims it', () => {
    // Regression: it was "parted" into no part frames and a claim that needed 0 parts, which the
    // decoder refuses, so every peer rejected that Delta and the origin's transfer stuck there.
    const ids = Array.from({ length: 20 }, (_, i) => `n${String(i).padStart(2, '0')}`);
    const n = new ManualNet(ids, { maxMessageBytes: 4096 });
    const A = n.get('n00');
    A.keyspace.pfadd(big, Array.from({ length: 1500 }, (_, i) => Buffer.from(`e${i}`)));
    // Over a Delta's room beside 20 member allowances (4096 - 512 - 20 × 48, less the frame's 32 and
    // the key's own 16 and name), within one part's.
    const bytes = A.keyspace.encodeKey(big)?.bytes.length ?? 0;
    expect(32 + big.length + bytes + 16).toBeGreaterThan(4096 - 512 - 20 * 48);
    expect(A.keyspace.partsOf(big, 4096 - 576 - big.length)).toHaveLength(1);
    n.get('n01').pullFrom('n00');
    n.deliver((f) => f.from === 'n01' && f.to === 'n00');
    const out = n.queue.filter((f) => f.from === 'n00' && f.to === 'n01');
    expect(out.filter(isPart)).toEqual([]);
    const claim = out.map(deltaOf).find((d) => d.states.some((s) => s.key === big));
    expect(claim?.needs).toBeUndefined();
    expect(claim?.ranges.map((r) => r.origin)).toEqual([A.versions.entries().next().value?.[0]]);
    n.deliver((f) => f.from === 'n00' && f.to === 'n01');
    const B = n.get('n01');
    expect(B.stats.rejected).toEqual({});
    expect(stateBytes(B, big)).toBe(stateBytes(A, big));
    expect(B.versions.known(A.versions.entries().next().value?.[0] ?? '')).toBe(A.version);
  });

  it('sends a key too large for a frame as numbered parts, then a Delta that claims it and names the batch', () => {
    const n = net((A) => {
      bigCms(A, big); // versions 1 and 2 (created, then counted): the log keeps 2
      A.keyspace.incrBy(after, 3); // version 3
    });
    const A = n.get('A');
    expect(A.keyspace.encodeKey(big)!.bytes.length).toBeGreaterThan(4096);
    const frames = answerToB(n);
    expect(frames.every((f) => f.msg.kind === MsgKind.Delta)).toBe(true);
    const parts = frames.slice(0, -1).map(deltaOf);
    const claim = deltaOf(frames[frames.length - 1]!);
    expect(parts.length).toBeGreaterThan(0);
    const batch = parts[0]!.part!.batch;
    parts.forEach((p, i) => {
      // A part merges on its own: no ranges, no members, no pull after it.
      expect(p).toMatchObject({ ranges: [], members: null, more: false, part: { batch, index: i } });
      expect(p.states.map((s) => s.key)).toEqual([big]);
    });
    for (const f of frames) expect(f.bytes.length).toBeLessThanOrEqual(4096);
    // Each part goes once: the claim carries the last, which no part frame repeats.
    const sent = [...parts, claim].map((d) => Buffer.from(d.states[0]!.bytes).toString('hex'));
    expect(new Set(sent).size).toBe(sent.length);
    // The claim: the last part, the key's version and nothing after it (the rest of the origin
    // follows at the next pull), so the range is cut: incomplete, more to come.
    expect(claim.needs).toEqual({ batch, parts: parts.length });
    expect(claim.part).toBeUndefined();
    expect(claim.states.map((s) => s.key)).toEqual([big]);
    expect(claim.ranges).toEqual([{ origin: 'A:1', from: 0, to: 2, entries: [0, 2], complete: false }]);
    expect(claim.more).toBe(true);
    expect(A.stats.partedKeys).toBe(1);
    expect(A.stats.chunked).toBe(1);
    // B takes them all: a cursor at the key's version, and its pull brings the rest.
    const B = n.get('B');
    give(n, frames);
    expect(B.stats.rejected).toEqual({});
    expect(B.versions.known('A:1')).toBe(0);
    expect(B.versions.resumeAt('A:1', 'A:1')).toBe(2);
    expect(stateBytes(B, big)).toBe(stateBytes(A, big));
    const pull = n.queue.filter((f) => f.from === 'B' && f.to === 'A');
    expect(pull.map((f) => f.msg.kind)).toEqual([MsgKind.Digest]);
    n.deliver((f) => (f.from === 'A' && f.to === 'B') || (f.from === 'B' && f.to === 'A'));
    expect(B.versions.known('A:1')).toBe(3);
    expect(counter(B, 'after')).toBe(3);
  });

  it('a parted key that is its origin\'s last entry completes the range', () => {
    const n = net((A) => {
      A.keyspace.incrBy(after, 1); // version 1, sent in a Delta of its own: the key after it does not fit beside it
      bigCms(A, big); // versions 2 and 3
    });
    const first = answerToB(n);
    expect(first.map(deltaOf).map((d) => [d.ranges, d.more])).toEqual([[[{ origin: 'A:1', from: 0, to: 1, entries: [0, 1], complete: false }], true]]);
    give(n, first);
    n.drop();
    const frames = answerToB(n);
    const claim = deltaOf(frames[frames.length - 1]!);
    expect(claim.ranges).toEqual([{ origin: 'A:1', from: 1, to: 3, entries: [0, 3], complete: true }]);
    give(n, frames);
    expect(n.get('B').versions.known('A:1')).toBe(3);
  });

  it('when member records differ, they go in a Delta of their own ahead of the parts, not beside the last part', () => {
    const n = net((A) => bigCms(A, big));
    // A hears of a member B does not know: the membership hashes differ.
    n.inject('C', 'A', membersDelta([{ id: 'D', address: 'D', incarnation: 1, seq: 0, state: 0 }]));
    n.drop();
    const frames = answerToB(n).filter((f) => f.msg.kind === MsgKind.Delta);
    const bodies = frames.map(deltaOf);
    expect(bodies[0]).toMatchObject({ ranges: [], states: [], more: false });
    expect(bodies[0]!.members?.map((m) => m.id)).toContain('D');
    expect(bodies.slice(1).every((d) => d.members === null)).toBe(true);
    expect(bodies.slice(1, -1).every((d) => d.part !== undefined)).toBe(true);
    expect(bodies[bodies.length - 1]!.needs).toBeDefined();
    for (const f of frames) expect(f.bytes.length).toBeLessThanOrEqual(4096);
    give(n, frames);
    const B = n.get('B');
    expect(B.membership.get('D')).toBeDefined();
    expect(B.versions.known('A:1')).toBe(2);
  });

  it('parted keys in a row go in batches of their own, and the receiver claims each', () => {
    const keys = [big, big2, fullKey(0, 'big3')];
    const n = net((A) => keys.forEach((key, i) => bigCms(A, key, `p${i}`)));
    const B = n.get('B');
    const batches: number[] = [];
    for (const key of keys) {
      const frames = answerToB(n);
      const claim = deltaOf(frames[frames.length - 1]!);
      expect(claim.states.map((s) => s.key)).toEqual([key]);
      batches.push(claim.needs!.batch);
      give(n, frames);
      n.drop();
      expect(stateBytes(B, key)).toBe(stateBytes(n.get('A'), key));
    }
    expect(new Set(batches).size).toBe(3);
    expect(B.versions.known('A:1')).toBe(6);
  });
});

describe('member records beside key states', () => {
  it('ride in the Delta itself when no key is parted', () => {
    const n = net((A) => A.keyspace.incrBy(after, 1));
    n.inject('C', 'A', membersDelta([{ id: 'D', address: 'D', incarnation: 1, seq: 0, state: 0 }]));
    n.drop();
    const frames = answerToB(n).filter((f) => f.msg.kind === MsgKind.Delta);
    expect(frames.length).toBe(1);
    const d = deltaOf(frames[0]!);
    expect(d.ranges.length).toBe(1);
    expect(d.members?.map((m) => m.id)).toContain('D');
  });
});

describe('part frames: the receiver', () => {
  it('takes the parts in any order', () => {
    const n = net((A) => bigCms(A, big));
    const frames = answerToB(n);
    give(n, [...frames.slice(0, -1).reverse(), frames[frames.length - 1]!]);
    expect(n.get('B').versions.known('A:1')).toBe(2);
  });

  it('with one part missing, merges what came but claims nothing, and sends no Have', () => {
    const n = net((A) => bigCms(A, big));
    const frames = answerToB(n);
    expect(frames.filter(isPart).length).toBeGreaterThan(1);
    give(n, frames.filter((_, i) => i !== 0));
    const B = n.get('B');
    expect(B.versions.known('A:1')).toBe(0);
    expect(B.versions.resumeAt('A:1', 'A:1')).toBe(0);
    expect(B.keyspace.encodeKey(big)).toBeDefined(); // the parts that came are merged: merging is always safe
    expect(stateBytes(B, big)).not.toBe(stateBytes(n.get('A'), big));
    expect(n.queue.filter((f) => f.from === 'B' && f.msg.kind === MsgKind.Have)).toEqual([]);
  });

  it('parts of an earlier batch do not stand in for a later batch whose parts were lost', () => {
    const n = net((A) => {
      bigCms(A, big);
      bigCms(A, big2, 'y'); // the same size: as many parts as the first
    });
    const one = answerToB(n);
    give(n, one);
    n.drop();
    const two = answerToB(n);
    expect(two.filter(isPart).length).toBe(one.filter(isPart).length);
    give(n, two.filter((f) => !isPart(f)));
    const B = n.get('B');
    expect(B.versions.resumeAt('A:1', 'A:1')).toBe(2); // the first claim only
    give(n, two);
    expect(B.versions.known('A:1')).toBe(4);
  });

  it('parts from one sender do not count for a claim from another', () => {
    const n = net((A) => bigCms(A, big));
    const A = n.get('A');
    const frames = answerToB(n);
    // The same part frames, as if C had sent them, and A's claim: A's batch has no part from A.
    for (const f of frames.filter(isPart)) n.inject('C', 'B', f.msg);
    give(n, frames.filter((f) => !isPart(f)));
    expect(n.get('B').versions.known('A:1')).toBe(0);
    expect(A.version).toBe(2);
  });
});

describe('part frames of a repair', () => {
  it('ship a parted key whole, each part a frame that merges on its own, with no pull after any', () => {
    const n = net((A) => {
      bigCms(A, big);
      A.keyspace.incrBy(after, 2);
    });
    const A = n.get('A');
    const B = n.get('B');
    // B asks for a repair with its (empty) bucket digests: A ships every key it holds.
    const repair: Message = { kind: MsgKind.Repair, body: { buckets: B.keyspace.bucketDigests(), wantReply: false } };
    n.inject('B', 'A', repair);
    const frames = n.queue.filter((f) => f.from === 'A' && f.to === 'B');
    expect(frames.every((f) => f.msg.kind === MsgKind.Delta)).toBe(true);
    const bodies = frames.map(deltaOf);
    expect(bodies.filter((d) => d.states.some((s) => s.key === big)).length).toBeGreaterThan(1);
    for (const d of bodies) {
      expect(d).toMatchObject({ ranges: [], members: null, more: false });
      expect(d.part).toBeUndefined();
      expect(d.needs).toBeUndefined();
      expect(d.states.length).toBeGreaterThan(0);
    }
    for (const f of frames) expect(f.bytes.length).toBeLessThanOrEqual(4096);
    n.deliver((f) => f.to === 'B');
    expect(B.stats.rejected).toEqual({});
    expect(stateBytes(B, big)).toBe(stateBytes(A, big));
    expect(counter(B, 'after')).toBe(2);
    expect(B.versions.known('A:1')).toBe(0); // a repair claims no versions
    expect(n.queue.filter((f) => f.from === 'B')).toEqual([]); // and asks for nothing
  });

  it('of a parted key alone sends its parts and nothing else, no empty frame after them', () => {
    const n = net((A) => bigCms(A, big));
    n.inject('B', 'A', { kind: MsgKind.Repair, body: { buckets: n.get('B').keyspace.bucketDigests(), wantReply: false } });
    const bodies = n.queue.filter((f) => f.from === 'A').map(deltaOf);
    expect(bodies.length).toBe(3);
    for (const d of bodies) expect(d.states.map((s) => s.key)).toEqual([big]);
  });
});
