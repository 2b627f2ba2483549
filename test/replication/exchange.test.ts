// The exchange's decisions frame by frame (anti-entropy.ts): what a digest is answered with, which
// ranges are held back while on their way, when a state repair starts and what it ships, and whom a
// gossip round and a reconnect talk to. inflight.test.ts runs the holds over whole exchanges.

import { describe, expect, it } from 'vitest';
import { digestBucket } from '../../src/keyspace/state-digest.js';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { MemberState, MsgKind, type DeltaBody, type DigestBody, type Message } from '../../src/replication/messages.js';
import type { Replica } from '../../src/replication/replica.js';
import { counter, ManualNet, membersDelta, type Frame } from './manual-net.js';

const k = (i: number): string => fullKey(0, `k${i}`);
const digest = (body: DigestBody): Message => ({ kind: MsgKind.Digest, body });
const from = (n: ManualNet, a: string, to?: string): Frame[] => n.queue.filter((f) => f.from === a && (to === undefined || f.to === to));
const deltas = (fs: Frame[]): DeltaBody[] => fs.flatMap((f) => (f.msg.kind === MsgKind.Delta ? [f.msg.body] : []));
const digests = (fs: Frame[]): DigestBody[] => fs.flatMap((f) => (f.msg.kind === MsgKind.Digest ? [f.msg.body] : []));

/** A digest as `r`'s peer would send it, claiming `r`'s own hashes unless told otherwise. */
function digestLike(r: Replica, over: Partial<DigestBody> = {}): Message {
  return digest({ hash: r.versions.advertisedHash, membersHash: r.membership.hash, vector: null, wantReply: true, ...over });
}

describe('a digest without a vector', () => {
  it('that agrees is answered with nothing; one whose hash differs gets our vector and a request for theirs', () => {
    const n = new ManualNet(['A', 'B']);
    const A = n.get('A');
    A.keyspace.incrBy(k(1), 1);
    n.inject('B', 'A', digestLike(A));
    expect(n.queue).toEqual([]);
    n.inject('B', 'A', digestLike(A, { hash: '0123456789abcdef' }));
    const ds = digests(from(n, 'A', 'B'));
    expect(ds.length).toBe(1);
    expect(ds[0]!.wantReply).toBe(true);
    expect(ds[0]!.vector).toEqual(A.vector());
    expect(deltas(from(n, 'A'))).toEqual([]);
  });

  it('with our own vector hash counts its sender as holding our writes', () => {
    const n = new ManualNet(['A', 'B', 'C']);
    const A = n.get('A');
    A.keyspace.incrBy(k(1), 1);
    n.inject('B', 'A', digestLike(A, { hash: '0123456789abcdef' }));
    expect(A.holdersOf(A.version)).toBe(0);
    n.inject('B', 'A', digestLike(A));
    expect(A.holdersOf(A.version)).toBe(1);
  });

  it('from a peer whose membership differs gets our table alone, and no pull', () => {
    const n = new ManualNet(['A', 'B']);
    const A = n.get('A');
    n.inject('B', 'A', digestLike(A, { membersHash: '0123456789abcdef', wantReply: false }));
    const ds = deltas(from(n, 'A', 'B'));
    expect(ds.length).toBe(1);
    expect(ds[0]).toMatchObject({ ranges: [], states: [], more: false });
    expect(ds[0]!.members?.map((m) => m.id).sort()).toEqual(['A', 'B']);
    expect(digests(from(n, 'A'))).toEqual([]);
  });
});

describe('a digest with a vector', () => {
  it('from a peer in sync gets nothing, not even an empty Delta', () => {
    const n = new ManualNet(['A', 'B']);
    const A = n.get('A');
    A.keyspace.incrBy(k(1), 1);
    n.sync('B', 'A');
    n.drop();
    n.inject('B', 'A', digest({ ...(digestLike(A).body as DigestBody), vector: n.get('B').vector() }));
    expect(n.queue).toEqual([]);
  });

  it('from a peer that holds what we lack is answered with our vector, asking no reply: the exchange ends', () => {
    const n = new ManualNet(['A', 'B']);
    const B = n.get('B');
    B.keyspace.incrBy(k(1), 1);
    B.pullFrom('A');
    n.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    const ds = digests(from(n, 'A', 'B'));
    expect(ds.length).toBe(1);
    expect(ds[0]!.wantReply).toBe(false);
    expect(ds[0]!.vector).not.toBeNull();
    n.deliver();
    expect(n.queue).toEqual([]);
    expect(counter(n.get('A'), 'k1')).toBe(1);
  });
});

describe('a majority write', () => {
  it('pushes each peer only the writes of ours above what it said it holds', () => {
    const n = new ManualNet(['A', 'B', 'C']);
    const A = n.get('A');
    A.keyspace.incrBy(k(1), 1);
    A.keyspace.incrBy(k(2), 1);
    n.inject('B', 'A', { kind: MsgKind.Have, body: { vector: [{ origin: 'A:1', known: 2 }] } });
    A.keyspace.incrBy(k(3), 1);
    A.awaitMajority(A.version, 1e12, () => {});
    const toB = deltas(from(n, 'A', 'B'));
    expect(toB.map((d) => d.ranges.map((r) => [r.from, r.to]))).toEqual([[[2, 3]]]);
    expect(toB[0]!.states.map((st) => st.key)).toEqual([k(3)]);
    expect(deltas(from(n, 'A', 'C'))[0]!.ranges.map((r) => [r.from, r.to])).toEqual([[0, 3]]);
  });
});

describe('a range without key states', () => {
  // A range whose keys were all collected (tombstone collection drops them from the log; known
  // versions stay): it still claims its versions, and its sender hears what we now hold of its writes.
  const range = (from: number, to: number): Message => ({ kind: MsgKind.Delta, body: { ranges: [{ origin: 'B:1', from, to, entries: [], complete: true }], states: [], members: null, more: false } });

  it('advances known, and a Have tells the sender', () => {
    const n = new ManualNet(['A', 'B']);
    n.inject('B', 'A', range(0, 3));
    expect(n.get('A').versions.known('B:1')).toBe(3);
    expect(n.queue.map((f) => [f.to, f.msg])).toEqual([['B', { kind: MsgKind.Have, body: { vector: [{ origin: 'B:1', known: 3 }] } }]]);
  });

  it('after a gap claims nothing, and sends no Have', () => {
    const n = new ManualNet(['A', 'B']);
    n.inject('B', 'A', range(2, 3));
    expect(n.get('A').versions.known('B:1')).toBe(0);
    expect(n.queue).toEqual([]);
  });
});

describe('ranges in flight', () => {
  it('one origin held back does not lift the hold on another sent later to the same peer', () => {
    const n = new ManualNet(['A', 'B', 'C']);
    const A = n.get('A');
    const B = n.get('B');
    n.get('C').keyspace.incrBy(k(1), 1);
    n.sync('A', 'C');
    n.drop();
    // B lacks C's write: A sends it (held: on its way).
    B.pullFrom('A');
    n.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    expect(deltas(from(n, 'A', 'B')).map((d) => d.ranges.map((r) => r.origin))).toEqual([['C:1']]);
    n.drop((f) => f.from === 'A');
    // A writes: B's next digest (C's range still on its way) gets A's write only.
    A.keyspace.incrBy(k(2), 1);
    B.pullFrom('A');
    n.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    expect(deltas(from(n, 'A', 'B')).map((d) => d.ranges.map((r) => r.origin))).toEqual([['A:1']]);
    n.drop((f) => f.from === 'A');
    // Both are on their way now: the next digest gets nothing.
    B.pullFrom('A');
    n.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    expect(deltas(from(n, 'A', 'B'))).toEqual([]);
  });

  it('a hold stamped by a clock that has since stepped back is not trusted', () => {
    const n = new ManualNet(['A', 'B'], { gossipIntervalMs: 200 });
    const A = n.get('A');
    const B = n.get('B');
    A.keyspace.incrBy(k(1), 1);
    n.now = 1_000_000;
    B.pullFrom('A');
    n.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    n.drop(); // the Delta is lost
    // A's clock steps back an hour: its hold, stamped by the old clock, would last an hour more.
    n.now -= 3_600_000;
    A.tick(n.now);
    n.drop();
    B.pullFrom('A');
    n.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    expect(deltas(from(n, 'A', 'B')).length).toBe(1);
  });

  it('a hold ends exactly when its time is up', () => {
    const n = new ManualNet(['A', 'B'], { gossipIntervalMs: 200 });
    const A = n.get('A');
    const B = n.get('B');
    A.keyspace.incrBy(k(1), 1);
    B.pullFrom('A');
    n.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    n.drop();
    const again = (): number => {
      B.pullFrom('A');
      n.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
      const got = deltas(from(n, 'A', 'B')).length;
      n.drop();
      return got;
    };
    n.now += 599;
    expect(again()).toBe(0);
    n.now += 1;
    expect(again()).toBe(1);
  });
});

describe('state repair', () => {
  /** A and B with equal vectors and a key whose states differ (B merged an extra state of it, unannounced). */
  function diverged(): ManualNet {
    const n = new ManualNet(['A', 'B', 'C']);
    const A = n.get('A');
    const B = n.get('B');
    for (let i = 0; i < 600; i++) A.keyspace.incrBy(k(i), 1);
    n.sync('B', 'A');
    n.drop();
    const C = n.get('C');
    C.keyspace.incrBy(k(7), 5);
    const e = C.keyspace.encodeKey(k(7))!;
    expect(B.keyspace.mergeRemote(k(7), e.tag, e.bytes).ok).toBe(true);
    // And A an extra state of another key, which B lacks.
    C.keyspace.incrBy(k(400), 9);
    const e2 = C.keyspace.encodeKey(k(400))!;
    expect(A.keyspace.mergeRemote(k(400), e2.tag, e2.bytes).ok).toBe(true);
    expect(A.versions.hash).toBe(B.versions.hash);
    expect(A.keyspace.stateDigest()).not.toBe(B.keyspace.stateDigest());
    return n;
  }

  it('starts only when the same pair of differing state digests shows up twice in a row', () => {
    const n = diverged();
    const A = n.get('A');
    const B = n.get('B');
    const withState = (stateHash: string): Message => digestLike(A, { stateHash, wantReply: false });
    n.inject('B', 'A', withState(B.keyspace.stateDigest()));
    expect(n.queue).toEqual([]);
    n.inject('B', 'A', withState('0123456789abcdef')); // another pair: still in flight, maybe
    expect(n.queue).toEqual([]);
    expect(A.stats.repairs).toBe(0);
    // Vectors that differ say nothing of the states: no repair, however often.
    for (let i = 0; i < 3; i++) n.inject('B', 'A', digestLike(A, { stateHash: B.keyspace.stateDigest(), wantReply: false, hash: '0123456789abcdef' }));
    expect(n.queue).toEqual([]);
    n.inject('B', 'A', withState(B.keyspace.stateDigest()));
    n.inject('B', 'A', withState(B.keyspace.stateDigest()));
    expect(A.stats.repairs).toBe(1);
    expect(n.queue.map((f) => [f.from, f.to, f.msg.kind])).toEqual([['A', 'B', MsgKind.Repair]]);
    expect(n.queue[0]!.msg.body).toMatchObject({ wantReply: true });
    // B ships its keys of the differing buckets and its digests back (no reply asked); A ships its own.
    n.deliver((f) => f.to === 'B');
    const back = from(n, 'B', 'A');
    const repairs = back.flatMap((f) => (f.msg.kind === MsgKind.Repair ? [f.msg.body] : []));
    expect(repairs.map((r) => [Buffer.from(r.buckets).toString('hex'), r.wantReply])).toEqual([[Buffer.from(B.keyspace.bucketDigests()).toString('hex'), false]]);
    n.deliver();
    expect(A.keyspace.stateDigest()).toBe(B.keyspace.stateDigest());
    expect(counter(A, 'k7')).toBe(6);
    expect(counter(B, 'k400')).toBe(10);
    expect(A.stats.repairs + B.stats.repairs).toBe(1);
  });

  it('ships the keys of the differing buckets only, and answers a repair that asks no reply with keys alone', () => {
    const n = diverged();
    const A = n.get('A');
    const B = n.get('B');
    n.inject('A', 'B', { kind: MsgKind.Repair, body: { buckets: A.keyspace.bucketDigests(), wantReply: false } });
    const out = from(n, 'B', 'A');
    expect(out.every((f) => f.msg.kind === MsgKind.Delta)).toBe(true);
    const shipped = deltas(out).flatMap((d) => d.states.map((s) => s.key));
    expect(shipped).toContain(k(7));
    expect(shipped).toContain(k(400));
    const buckets = new Set([digestBucket(k(7)), digestBucket(k(400))]);
    expect(shipped.every((key) => buckets.has(digestBucket(key)))).toBe(true);
    expect(B.keyspace.keysInBuckets(buckets).sort()).toEqual([...shipped].sort());
    for (const d of deltas(out)) expect(d).toMatchObject({ ranges: [], members: null, more: false });
  });

  it('a repair whose buckets all agree is answered with nothing', () => {
    const n = new ManualNet(['A', 'B']);
    const A = n.get('A');
    A.keyspace.incrBy(k(1), 1);
    n.sync('B', 'A');
    n.drop();
    n.inject('B', 'A', { kind: MsgKind.Repair, body: { buckets: n.get('B').keyspace.bucketDigests(), wantReply: true } });
    expect(n.queue).toEqual([]);
  });

  it('ships many keys in few frames, each within the frame size, asking nothing back', () => {
    const n = new ManualNet(['A', 'B'], { maxMessageBytes: 4096 });
    const A = n.get('A');
    const B = n.get('B');
    for (let i = 0; i < 500; i++) A.keyspace.incrBy(k(i), i + 1);
    n.inject('B', 'A', { kind: MsgKind.Repair, body: { buckets: B.keyspace.bucketDigests(), wantReply: false } });
    const out = from(n, 'A', 'B');
    expect(out.length).toBeGreaterThan(1);
    expect(out.length).toBeLessThanOrEqual(8); // 500 keys of about 25 bytes
    for (const f of out) {
      expect(f.bytes.length).toBeLessThanOrEqual(4096);
      expect(f.msg.kind === MsgKind.Delta && f.msg.body.states.length).toBeGreaterThan(0);
    }
    n.deliver();
    expect(B.keyspace.stateDigest()).toBe(A.keyspace.stateDigest());
    expect(counter(B, 'k499')).toBe(500);
    expect(from(n, 'B')).toEqual([]);
  });
});

describe('no repair while a cut transfer is under way', () => {
  // In-flight time 600 ms: a chunk within the last 1,200 ms holds a repair back; a live sender's
  // transfer, cut and unfinished, holds it back for 6,000 ms after its last chunk.
  it.each([
    ['its sender dead: for two in-flight times after the last chunk', true, 1200],
    ['its sender alive: for ten in-flight times after the last chunk', false, 6000],
  ])('%s, to the millisecond', (_, dead, holdMs) => {
    const n = new ManualNet(['A', 'B', 'C'], { maxMessageBytes: 4096, gossipIntervalMs: 200 });
    const A = n.get('A');
    const B = n.get('B');
    const C = n.get('C');
    for (let i = 0; i < 300; i++) A.keyspace.incrBy(k(i), 1);
    B.pullFrom('A');
    n.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    n.deliver((f) => f.from === 'A' && f.to === 'B' && f.msg.kind === MsgKind.Delta, 1);
    n.drop();
    const t0 = n.now;
    expect(B.versions.known('A:1')).toBe(0);
    expect(B.keyspace.size).toBeGreaterThan(0);
    expect(B.versions.hash).toBe(C.versions.hash);
    if (dead) B.membership.setState('A', MemberState.Dead, t0);
    const twice = (at: number): number => {
      for (let i = 0; i < 2; i++) n.inject('C', 'B', digestLike(B, { stateHash: C.keyspace.stateDigest(), wantReply: false }), at);
      const repairs = n.queue.filter((f) => f.from === 'B' && f.msg.kind === MsgKind.Repair).length;
      n.drop();
      return repairs;
    };
    expect(twice(t0 + holdMs - 1)).toBe(0);
    expect(twice(t0 + holdMs)).toBe(1);
  });
});

describe('a repair of keys of a few hundred bytes each', () => {
  it('cuts its frames within the frame size', () => {
    const n = new ManualNet(['A', 'B'], { maxMessageBytes: 4096 });
    const A = n.get('A');
    const B = n.get('B');
    for (let i = 0; i < 40; i++) A.keyspace.pfadd(k(i), Array.from({ length: 200 }, (_, j) => Buffer.from(`${i}-${j}`)));
    const size = A.keyspace.encodeKey(k(0))!.bytes.length;
    expect(size).toBeGreaterThan(300);
    expect(size).toBeLessThan(1000);
    n.inject('B', 'A', { kind: MsgKind.Repair, body: { buckets: B.keyspace.bucketDigests(), wantReply: false } });
    const out = from(n, 'A', 'B');
    for (const f of out) expect(f.bytes.length).toBeLessThanOrEqual(4096);
    n.deliver();
    expect(B.keyspace.stateDigest()).toBe(A.keyspace.stateDigest());
  });
});

describe('gossip rounds', () => {
  it('send a peer that last reported our vector hash no vector, the others ours; counted, and silent while leaving', () => {
    const n = new ManualNet(['A', 'B', 'C'], { fanout: 2, gossipIntervalMs: 1000 });
    const A = n.get('A');
    A.keyspace.incrBy(k(1), 1);
    n.sync('B', 'A');
    n.drop();
    n.inject('B', 'A', digestLike(A, { wantReply: false }));
    n.drop();
    n.now += 1000;
    A.tick(n.now);
    const ds = from(n, 'A').filter((f) => f.msg.kind === MsgKind.Digest);
    expect(ds.map((f) => f.to).sort()).toEqual(['B', 'C']);
    for (const f of ds) expect(f.msg.kind === MsgKind.Digest && [f.msg.body.vector === null, f.msg.body.wantReply]).toEqual([f.to === 'B', true]);
    expect(A.stats.rounds).toBe(1);
    n.drop();
    A.leave();
    n.drop();
    n.now += 1000;
    A.tick(n.now);
    expect(from(n, 'A').filter((f) => f.msg.kind === MsgKind.Digest)).toEqual([]);
    expect(A.stats.rounds).toBe(1);
  });
});

describe('gossip rounds of a node that knows no peer', () => {
  it('go to a seed other than itself, with its vector; none once a member is known; none without seeds', () => {
    const n = new ManualNet(['A'], { gossipIntervalMs: 1000 }, { seeds: new Map([['A', ['A', 'S']]]) });
    const A = n.get('A');
    const seeds: string[] = [];
    for (let i = 0; i < 10; i++) {
      n.now += 1000;
      A.tick(n.now);
      for (const f of from(n, 'A')) {
        expect(f.msg).toMatchObject({ kind: MsgKind.Digest, body: { wantReply: true } });
        expect(digests([f])[0]!.vector).not.toBeNull();
        seeds.push(f.to);
      }
      n.drop();
    }
    expect(seeds.length).toBe(10);
    expect(new Set(seeds)).toEqual(new Set(['S']));
    // A member B is known (its frame reached A): rounds go to it, not to the seed.
    n.inject('B', 'A', { kind: MsgKind.Ping, body: { seq: 1 } });
    n.drop();
    for (let i = 0; i < 3; i++) {
      n.now += 1000;
      A.tick(n.now);
    }
    expect(from(n, 'A').filter((f) => f.msg.kind === MsgKind.Digest).map((f) => f.to)).toEqual(['B', 'B', 'B']);
    // A node with neither seeds nor configured peers, alone, says nothing at all.
    const lone = new ManualNet(['L'], { gossipIntervalMs: 1000, reconnectIntervalMs: 1000 });
    for (let i = 0; i < 5; i++) {
      lone.now += 1000;
      lone.get('L').tick(lone.now);
    }
    expect(lone.queue).toEqual([]);
    expect(lone.get('L').stats.rounds).toBe(5);
  });

  it('keep their phase: one round per interval however late the ticks land', () => {
    const n = new ManualNet(['A', 'B'], { gossipIntervalMs: 1000 });
    const A = n.get('A');
    A.tick(n.now);
    const start = A.stats.rounds;
    // Ticks every 300 ms for 30 s: each lands up to 299 ms after the round was due.
    for (let i = 0; i < 100; i++) {
      n.now += 300;
      A.tick(n.now);
    }
    expect(A.stats.rounds - start).toBe(30);
  });
});

describe('a gossip round due exactly when the tick lands an interval late', () => {
  it('runs once, and the next is a whole interval later', () => {
    const n = new ManualNet(['A', 'B'], { gossipIntervalMs: 1000 });
    const A = n.get('A');
    A.tick(n.now);
    const due = A.nextTickAt();
    A.tick(due + 1000);
    A.tick(due + 1000);
    expect(A.stats.rounds).toBe(1);
    A.tick(due + 1999);
    expect(A.stats.rounds).toBe(1);
    A.tick(due + 2000);
    expect(A.stats.rounds).toBe(2);
  });
});

describe('the convergence lag', () => {
  it('is not reset by a Delta that leaves us short of the state its sender last reported', () => {
    const n = new ManualNet(['A', 'B']);
    const A = n.get('A');
    const B = n.get('B');
    A.keyspace.incrBy(k(1), 1);
    A.keyspace.incrBy(k(2), 1);
    n.inject('A', 'B', digest({ hash: A.versions.advertisedHash, membersHash: A.membership.hash, vector: null, wantReply: false }), 100);
    n.drop();
    expect(B.convergence(100)).toEqual({ maxLagMs: 0, outOfSync: 1, peers: 1 });
    const e = A.keyspace.encodeKey(k(1))!;
    n.inject('A', 'B', { kind: MsgKind.Delta, body: { ranges: [], states: [{ key: k(1), tag: e.tag, bytes: e.bytes }], members: null, more: false } }, 1100);
    expect(B.convergence(1100)).toEqual({ maxLagMs: 1000, outOfSync: 1, peers: 1 });
  });
});

describe('reconnect', () => {
  it('sends one digest, every reconnect interval, to a member held dead, and none while leaving', () => {
    const n = new ManualNet(['A', 'B', 'C'], { reconnectIntervalMs: 5000 });
    const A = n.get('A');
    A.membership.setState('B', MemberState.Dead, n.now);
    A.tick(n.now); // the first tick brings the reconnect timer within one interval
    expect(n.queue).toEqual([]);
    n.now += 5000;
    A.tick(n.now);
    const toB = from(n, 'A', 'B');
    expect(toB.length).toBe(1);
    expect(digests(toB)[0]).toMatchObject({ wantReply: true });
    expect(digests(toB)[0]!.vector).not.toBeNull();
    expect(from(n, 'A', 'C')).toEqual([]);
    n.drop();
    n.now += 4999;
    A.tick(n.now);
    expect(from(n, 'A', 'B')).toEqual([]);
    n.now += 1;
    A.tick(n.now);
    expect(from(n, 'A', 'B').length).toBe(1);
    n.drop();
    A.leave();
    n.drop();
    n.now += 5000;
    A.tick(n.now);
    expect(from(n, 'A', 'B')).toEqual([]);
  });

  it('tries dead members and configured addresses where no live member answers, never a live one or itself', () => {
    // A's config lists B, C, itself and X, an address no member holds (a node it never heard from).
    const n = new ManualNet(['A', 'B', 'C'], { reconnectIntervalMs: 5000 }, { peers: new Map([['A', ['A', 'B', 'C', 'X', 'X']]]) });
    const A = n.get('A');
    // C's record changed (a higher seq): A keeps it in its own table, alive.
    n.inject('C', 'A', membersDelta([{ id: 'C', address: 'C', incarnation: 1, seq: 1, state: MemberState.Alive }]));
    expect([...A.membership.ownMembers()].map((m) => m.id)).toContain('C');
    n.drop();
    A.tick(n.now);
    const targets = (): string[] => {
      const out: string[] = [];
      for (let i = 0; i < 12; i++) {
        n.now += 5000;
        A.tick(n.now);
        const sent = from(n, 'A').filter((f) => f.msg.kind === MsgKind.Digest);
        expect(sent.length).toBe(1);
        expect(digests(sent)[0]).toMatchObject({ wantReply: true });
        out.push(sent[0]!.to);
        n.drop();
      }
      return [...new Set(out)].sort();
    };
    expect(targets()).toEqual(['X']);
    A.membership.setState('B', MemberState.Dead, n.now);
    expect(targets()).toEqual(['B', 'X']);
  });

  it('with nobody dead and every peer live, sends nothing', () => {
    const n = new ManualNet(['A', 'B', 'C'], { reconnectIntervalMs: 5000 });
    n.get('A').tick(n.now);
    n.now += 5000;
    n.get('A').tick(n.now);
    expect(n.queue).toEqual([]);
  });
});
