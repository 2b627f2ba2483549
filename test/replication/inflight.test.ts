// A range on its way is not sent again: a digest the peer sent before a Delta landed (its own gossip
// round, or its reply to ours) used to get the same keys again, which under a bulk load was most of
// a writer's CPU and ten times the gossip bytes needed (bench scale). A lost Delta is sent again
// once `3 × gossipIntervalMs` have passed.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { MemberState, MsgKind } from '../../src/replication/messages.js';
import { ManualNet } from './manual-net.js';

const deltaKeys = (net: ManualNet, from: string, to: string): number =>
  net.queue.filter((f) => f.from === from && f.to === to && f.msg.kind === MsgKind.Delta).reduce((n, f) => n + (f.msg.kind === MsgKind.Delta ? f.msg.body.states.length : 0), 0);

describe('deltas in flight', () => {
  it('a second digest from a peer that has not yet received the first Delta gets only what is new', () => {
    const net = new ManualNet(['A', 'B']);
    const A = net.get('A');
    const B = net.get('B');
    for (let i = 0; i < 100; i++) A.keyspace.incrBy(fullKey(0, `k${i}`), 1);
    B.pullFrom('A');
    B.pullFrom('A'); // a second digest, sent before the answer to the first arrived
    net.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    expect(deltaKeys(net, 'A', 'B')).toBe(100);
    A.keyspace.incrBy(fullKey(0, 'late'), 1);
    B.pullFrom('A');
    net.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    expect(deltaKeys(net, 'A', 'B')).toBe(100); // the range is still on its way: nothing more yet
    net.deliver();
    expect(B.versions.known('A:1')).toBe(100);
    // Once it landed, the next exchange carries the rest.
    net.sync('B', 'A');
    expect(B.versions.known('A:1')).toBe(A.version);
  });

  it('a lost Delta is sent again once the in-flight time has passed', () => {
    const net = new ManualNet(['A', 'B']);
    const A = net.get('A');
    const B = net.get('B');
    for (let i = 0; i < 10; i++) A.keyspace.incrBy(fullKey(0, `k${i}`), 1);
    B.pullFrom('A');
    net.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    net.drop(); // the Delta is lost
    net.sync('B', 'A');
    expect(B.versions.known('A:1')).toBe(0);
    net.now += 3 * net.cfg.gossipIntervalMs;
    net.sync('B', 'A');
    expect(B.versions.known('A:1')).toBe(A.version);
  });
});

describe('two peers streaming one origin to a node', () => {
  // bench scale found a peer stuck for good at 280,468 of 300,000 keys: both other nodes streamed the
  // writer's origin to it, and every time one's in-flight hold expired it sent its first chunk again,
  // which took the cursor back to one chunk above `known` and made the other stream's next chunk a
  // gap. Here each step is a round trip (100 ms) and the catching-up node gossips to both peers every
  // other step, so each sender's hold (3 gossip intervals) expires while the other streams.
  it('the stream that is ahead keeps the cursor, and the transfer completes', () => {
    const net = new ManualNet(['A', 'B', 'C'], { maxMessageBytes: 4096, gossipIntervalMs: 200 });
    const A = net.get('A');
    const B = net.get('B');
    const C = net.get('C');
    for (let i = 0; i < 3000; i++) A.keyspace.incrBy(fullKey(0, `user:${i}`), 1);
    while (C.versions.known('A:1') < A.version) net.sync('C', 'A');
    net.drop();
    let chunks = 0;
    let step = 0;
    for (; step < 3000 && B.versions.known('A:1') < A.version; step++) {
      net.now += 100;
      if (step % 2 === 0) {
        B.pullFrom('A');
        B.pullFrom('C');
      }
      chunks += net.queue.filter((f) => f.to === 'B' && f.msg.kind === MsgKind.Delta && f.msg.body.more).length;
      net.deliver(() => true, net.queue.length); // one round trip: only the frames already on the wire
    }
    expect(chunks).toBeGreaterThan(20); // the backlog is many chunks long, so the two streams did overlap
    expect(B.versions.known('A:1')).toBe(A.version);
    expect(B.keyspace.size).toBe(3000);
    // Each chunk is about a 25th of the backlog; two streams restarting each other would never end.
    expect(step).toBeLessThan(400);
  });
});

describe('repairs wait while a transfer is under way', () => {
  // Two nodes catching up on one origin from the same known version have equal vectors and different
  // states (each holds the chunks it got so far). A repair between them shipped every key of every
  // differing bucket, all of them under a bulk load (bench scale: 30% of a catching-up node's CPU).
  it.each([
    ['the sender is declared dead', false],
    ['the sender, still alive, sent nothing for ten in-flight holds (it restarted without its data, say)', true],
  ])('no repair while chunks arrive or their sender lives; one once %s, and it evens the states', (_, silent) => {
    const net = new ManualNet(['A', 'B', 'C'], { maxMessageBytes: 4096, gossipIntervalMs: 200 });
    const A = net.get('A');
    const B = net.get('B');
    const C = net.get('C');
    for (let i = 0; i < 300; i++) A.keyspace.incrBy(fullKey(0, `user:${i}`), 1);
    const firstChunks = (id: string, n: number): void => {
      net.get(id).pullFrom('A');
      for (let i = 0; i < n; i++) {
        net.deliver((f) => f.from === id && f.to === 'A' && f.msg.kind === MsgKind.Digest);
        net.deliver((f) => f.from === 'A' && f.to === id && f.msg.kind === MsgKind.Delta, 1);
      }
      net.drop((f) => f.from === 'A' || f.to === 'A');
    };
    firstChunks('B', 1);
    firstChunks('C', 2);
    net.nodes.delete('A'); // A is gone for good: B and C stay at known 0 of it
    expect(B.versions.known('A:1')).toBe(0);
    expect(C.versions.known('A:1')).toBe(0);
    expect(B.keyspace.size).toBeLessThan(C.keyspace.size);
    const repairs = (): number => B.stats.repairs + C.stats.repairs;
    for (let i = 0; i < 3; i++) {
      net.now += 100;
      B.pullFrom('C');
      C.pullFrom('B');
      net.deliver((f) => f.to !== 'A');
    }
    expect(repairs()).toBe(0);
    expect(B.keyspace.size).toBeLessThan(C.keyspace.size);
    // Chunks stopped a while ago, but A is still a live member whose transfers are cut midway: under
    // load a chunk's round trip can take this long, so still no repair.
    net.now += 2 * 3 * net.cfg.gossipIntervalMs;
    for (let i = 0; i < 3; i++) {
      B.pullFrom('C');
      C.pullFrom('B');
      net.deliver((f) => f.to !== 'A');
    }
    expect(repairs()).toBe(0);
    // Then A's transfers will never finish, and the repair runs.
    if (silent) net.now += 10 * 3 * net.cfg.gossipIntervalMs;
    else for (const r of [B, C]) r.membership.setState('A', MemberState.Dead, net.now);
    for (let i = 0; i < 3; i++) {
      B.pullFrom('C');
      C.pullFrom('B');
      net.deliver((f) => f.to !== 'A');
    }
    expect(repairs()).toBeGreaterThan(0);
    expect(B.keyspace.stateDigest()).toBe(C.keyspace.stateDigest());
    expect(B.keyspace.size).toBe(C.keyspace.size);
  });
});

describe('the pull of the next chunk', () => {
  it('carries no state digest (folding what was just merged would hold the pull up); a gossip round then folds it', () => {
    const net = new ManualNet(['A', 'B'], { maxMessageBytes: 4096, gossipIntervalMs: 200 });
    const A = net.get('A');
    const B = net.get('B');
    for (let i = 0; i < 1000; i++) A.keyspace.incrBy(fullKey(0, `user:${i}`), 1);
    B.pullFrom('A');
    // A's chunk, with more to come; B's answer to it is the pull.
    net.deliver((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest, 1);
    const chunk = net.queue.find((f) => f.from === 'A' && f.msg.kind === MsgKind.Delta);
    expect(chunk?.msg.kind === MsgKind.Delta && chunk.msg.body.more).toBe(true);
    net.drop((f) => f !== chunk);
    net.deliver((f) => f === chunk, 1);
    const pulls = net.queue.filter((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest);
    expect(pulls.length).toBe(1);
    const pull = pulls[0]!.msg;
    expect(pull.kind === MsgKind.Digest && pull.body.vector !== null).toBe(true);
    expect(pull.kind === MsgKind.Digest && pull.body.stateHash).toBeUndefined();
    // A digest of a gossip round carries B's state digest, over everything merged so far.
    net.drop();
    net.now += 1000;
    B.tick(net.now);
    const round = net.queue.find((f) => f.from === 'B' && f.msg.kind === MsgKind.Digest)?.msg;
    expect(round?.kind === MsgKind.Digest && round.body.stateHash).toBe(B.keyspace.stateDigest());
    expect(B.keyspace.size).toBeGreaterThan(0);
    expect(B.keyspace.size).toBeLessThan(1000);
  });
});
