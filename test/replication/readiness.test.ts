// Readiness and convergence lag (anti-entropy.ts, `caughtUp` and `convergence`), frame by frame on
// real replicas (ManualNet): what /health's readiness and the dashboard's lag are computed from.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { MemberState, MsgKind, type Message } from '../../src/replication/messages.js';
import { ManualNet, membersDelta } from './manual-net.js';

const GRACE = 5000;

/** Delivers only `from`'s queued Digests to `to`, and drops everything else queued. */
function digestOnly(net: ManualNet, from: string, to: string): void {
  net.deliver((f) => f.from === from && f.to === to && f.msg.kind === MsgKind.Digest, 1);
  net.drop();
}

describe('caughtUp (readiness)', () => {
  it('is false while a peer holds writes we lack, true once we hold them, and then stays true', () => {
    const net = new ManualNet(['A', 'B', 'C']);
    const A = net.get('A');
    const B = net.get('B');
    for (let i = 0; i < 10; i++) A.keyspace.incrBy(fullKey(0, `k${i}`), 1);
    A.pullFrom('B'); // A's vector reaches B
    digestOnly(net, 'A', 'B');
    expect(B.caughtUp(net.now, GRACE)).toBe(false);
    expect(B.caughtUp(net.now + GRACE, GRACE)).toBe(false); // a peer was heard: no grace
    net.sync('B', 'A');
    expect(B.versions.known('A:1')).toBe(10);
    // A write of its own makes B's vector hash differ from A's: A's vector alone decides, and B
    // holds exactly what it lists.
    B.keyspace.incrBy(fullKey(0, 'mine'), 1);
    expect(B.versions.hash).not.toBe(A.versions.hash);
    expect(B.caughtUp(net.now, GRACE)).toBe(true);
    // Latched: more writes it lacks, and a vector saying so, do not take it back.
    for (let i = 10; i < 20; i++) A.keyspace.incrBy(fullKey(0, `k${i}`), 1);
    A.pullFrom('B');
    digestOnly(net, 'A', 'B');
    expect(B.caughtUp(net.now, GRACE)).toBe(true);
  });

  it('is true at once when a peer reports the vector hash we hold, even without its vector', () => {
    const net = new ManualNet(['A', 'B', 'C']);
    const B = net.get('B');
    const digest = (hash: string): Message => ({ kind: MsgKind.Digest, body: { hash, membersHash: B.membership.hash, vector: null, wantReply: false } });
    net.inject('A', 'B', digest(`${B.versions.hash}0`), 10);
    expect(B.caughtUp(net.now, GRACE)).toBe(false);
    net.inject('A', 'B', digest(B.versions.hash), 11);
    expect(B.caughtUp(net.now, GRACE)).toBe(true);
  });

  it('with no digest from anyone: false during the grace period, true from its end', () => {
    // (A live peer heard from without a digest holds it back on a real node; the simulator's shared
    // roster, which ManualNet uses, records no lastHeard, so that branch is the integration tests'.)
    const B = new ManualNet(['A', 'B', 'C']).get('B');
    expect(B.caughtUp(1 + GRACE - 1, GRACE)).toBe(false);
    expect(B.caughtUp(1 + GRACE, GRACE)).toBe(true);
    expect(B.caughtUp(2, GRACE)).toBe(true); // latched
  });
});

describe('convergence (lag)', () => {
  it('counts each live peer heard from; one out of sync lags by the time since it last agreed or was first heard', () => {
    const net = new ManualNet(['A', 'B', 'C']);
    const A = net.get('A');
    const B = net.get('B');
    expect(B.convergence(100)).toEqual({ maxLagMs: 0, outOfSync: 0, peers: 0 });
    A.keyspace.incrBy(fullKey(0, 'k'), 1);
    net.now = 100;
    A.pullFrom('B');
    digestOnly(net, 'A', 'B'); // first contact, hashes differ
    expect(B.convergence(600)).toEqual({ maxLagMs: 500, outOfSync: 1, peers: 1 });
    // C agrees with B (both empty): in sync, counted, no lag.
    net.now = 200;
    net.get('C').pullFrom('B');
    digestOnly(net, 'C', 'B');
    expect(B.convergence(700)).toEqual({ maxLagMs: 600, outOfSync: 1, peers: 2 });
    // B takes A's write: the Delta brings it to the hash A reported, which counts as agreement.
    net.now = 300;
    net.sync('B', 'A');
    expect(B.convergence(900).outOfSync).toBe(1); // now C is the one behind, since it last agreed at 200
    expect(B.convergence(900).maxLagMs).toBe(700);
    // A dead peer is not counted.
    net.inject('A', 'B', membersDelta([{ id: 'C', address: 'C', incarnation: 1, seq: 3, state: MemberState.Dead }]), 950);
    expect(B.convergence(1000)).toEqual({ maxLagMs: 0, outOfSync: 0, peers: 1 });
  });

  it('a Delta that brings us to the state its sender last reported is an agreement; a digest that differs does not reset the time', () => {
    const net = new ManualNet(['A', 'B']);
    const A = net.get('A');
    const B = net.get('B');
    A.keyspace.incrBy(fullKey(0, 'k'), 1);
    net.now = 100;
    A.pullFrom('B');
    digestOnly(net, 'A', 'B'); // first contact: agreed at 100, hashes differ
    net.now = 300;
    B.pullFrom('A');
    net.deliver((f) => f.from === 'B' && f.to === 'A' && f.msg.kind === MsgKind.Digest, 1);
    net.deliver((f) => f.from === 'A' && f.to === 'B' && f.msg.kind === MsgKind.Delta, 1); // the Delta alone
    net.drop();
    expect(B.versions.hash).toBe(A.versions.hash);
    expect(B.convergence(350)).toEqual({ maxLagMs: 0, outOfSync: 0, peers: 1 });
    // A moves on; its next digest differs, and the lag counts from the agreement at 300.
    A.keyspace.incrBy(fullKey(0, 'k'), 1);
    net.now = 400;
    A.pullFrom('B');
    digestOnly(net, 'A', 'B');
    expect(B.convergence(1000)).toEqual({ maxLagMs: 700, outOfSync: 1, peers: 1 });
  });
});
