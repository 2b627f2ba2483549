// A graceful leave's hand-off (membership-change.ts), frame by frame on real replicas (ManualNet):
// the leaver asks the voters for their vectors and goes only once a majority of the other voters
// hold everything it holds; by its deadline otherwise it stays, and says how far it got.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { MemberState, MsgKind } from '../../src/replication/messages.js';
import type { LeaveOutcome } from '../../src/replication/membership-change.js';
import { ManualNet, membersDelta, type Frame } from './manual-net.js';

const VOTERS = ['A', 'B', 'C', 'D', 'E'];

/** A cluster (of five unless told) whose A wrote 20 keys, and the peers in `hold` pulled them all. */
function cluster(hold: string[], voters = VOTERS): ManualNet {
  const net = new ManualNet(voters, { gossipIntervalMs: 100 });
  for (let i = 0; i < 20; i++) net.get('A').keyspace.incrBy(fullKey(0, `k${i}`), 1);
  for (const p of hold) net.sync(p, 'A');
  net.drop();
  return net;
}

const asksFrom = (net: ManualNet): string[] =>
  net.queue
    .filter((f: Frame) => f.from === 'A' && f.msg.kind === MsgKind.Digest && f.msg.body.askVector === true)
    .map((f) => f.to)
    .sort();

/** Delivers A's asks and the answers (digests only, both ways), then ticks A. */
function answer(net: ManualNet): void {
  net.deliver((f) => f.msg.kind === MsgKind.Digest && (f.from === 'A' || f.to === 'A'));
  net.drop();
  net.get('A').tick(net.now);
}

describe('graceful leave: the hand-off', () => {
  it('asks every live voter, waits for a majority of the other four to hold its writes, then is removed', () => {
    const net = cluster(['B', 'C']);
    const A = net.get('A');
    const outcomes: LeaveOutcome[] = [];
    A.leaveCluster(net.now + 10_000, (o) => outcomes.push(o));
    expect(asksFrom(net)).toEqual(['B', 'C', 'D', 'E']);
    answer(net);
    expect(outcomes).toEqual([]); // B and C hold it: 2 of the 3 needed
    expect(A.membership.get('A')?.state).toBe(MemberState.Alive);
    // D catches up (once A's hold on the Delta it sent D, which was dropped, has expired: three
    // gossip intervals); at the next ask, only D and E are asked again.
    net.now += 300;
    net.sync('D', 'A');
    expect(net.get('D').versions.known('A:1')).toBe(20);
    net.drop();
    A.tick(net.now);
    expect(asksFrom(net)).toEqual(['D', 'E']);
    answer(net);
    expect(outcomes).toEqual([{ ok: true, holders: 3, needed: 3 }]);
    expect(A.membership.get('A')?.state).toBe(MemberState.Removed);
  });

  it('stays a member when the deadline passes first, and says how many held its writes', () => {
    const net = cluster(['B']);
    const A = net.get('A');
    const outcomes: LeaveOutcome[] = [];
    A.leaveCluster(net.now + 500, (o) => outcomes.push(o));
    answer(net);
    net.now += 499;
    A.tick(net.now);
    net.drop();
    expect(outcomes).toEqual([]);
    net.now += 1;
    A.tick(net.now);
    expect(outcomes).toEqual([{ ok: false, holders: 1, needed: 3, failure: 'handoff' }]);
    expect(A.membership.get('A')?.state).toBe(MemberState.Alive);
    // And a new leave may start.
    A.leaveCluster(net.now + 500, (o) => outcomes.push(o));
    expect(outcomes.length).toBe(1);
  });

  it('a second leave while one hands off is refused as busy; a lone voter cannot leave', () => {
    const net = cluster([]);
    const A = net.get('A');
    const outcomes: LeaveOutcome[] = [];
    A.leaveCluster(net.now + 10_000, (o) => outcomes.push(o));
    A.leaveCluster(net.now + 10_000, (o) => outcomes.push(o));
    expect(outcomes).toEqual([{ ok: false, holders: 0, needed: 0, failure: 'busy' }]);
    const alone = new ManualNet(['Z']).get('Z');
    const lone: LeaveOutcome[] = [];
    alone.leaveCluster(10_000, (o) => lone.push(o));
    expect(lone).toEqual([{ ok: false, holders: 0, needed: 0, failure: 'alone' }]);
  });

  it('peers that hold more than the leaver still cover it', () => {
    const net = cluster(['B', 'C']);
    // E wrote something A lacks; B and E exchange everything: both hold all A holds, and more.
    net.get('E').keyspace.incrBy(fullKey(0, 'e'), 1);
    net.sync('B', 'E');
    net.drop();
    expect(net.get('A').versions.known('E:1')).toBe(0);
    const A = net.get('A');
    const outcomes: LeaveOutcome[] = [];
    A.leaveCluster(net.now + 10_000, (o) => outcomes.push(o));
    answer(net);
    expect(outcomes).toEqual([{ ok: true, holders: 3, needed: 3 }]);
  });

  it('counts a majority of the other voters (two of three in a cluster of four) and asks no dead member', () => {
    const net = cluster(['B', 'C']);
    const A = net.get('A');
    // E is dead (still a voter): A asks B, C and D only, and needs 3 of the 4 others.
    net.inject('B', 'A', membersDelta([{ id: 'E', address: 'E', incarnation: 1, seq: 3, state: MemberState.Dead }]));
    net.drop();
    const outcomes: LeaveOutcome[] = [];
    A.leaveCluster(net.now + 10_000, (o) => outcomes.push(o));
    expect(asksFrom(net)).toEqual(['B', 'C', 'D']);
    answer(net);
    expect(outcomes).toEqual([]);

    const four = cluster(['B', 'C'], ['A', 'B', 'C', 'D']);
    const done: LeaveOutcome[] = [];
    four.get('A').leaveCluster(four.now + 10_000, (o) => done.push(o));
    answer(four);
    expect(done).toEqual([{ ok: true, holders: 2, needed: 2 }]);
  });
});
