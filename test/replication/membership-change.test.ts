// Dynamic membership in the simulator: a node joins through one seed and counts toward majorities
// only once it has caught up; a graceful leave hands off before the size drops; an operator removes
// a dead member for good. And the rule behind them: a majority write acknowledged before a change is
// seen by a majority read after it (docs/consistency.md, "Membership changes").

import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/sim/network.js';
import { MemberState, REMOVED_INCARNATION } from '../../src/replication/messages.js';
import type { Replica } from '../../src/replication/replica.js';
import type { LeaveOutcome } from '../../src/replication/membership-change.js';
import type { WaitOutcome } from '../../src/replication/waiters.js';
import { seeds, withSeed } from '../sim/seeds.js';
import { key, runUntil } from '../sim/helpers.js';

const fast = { gossipIntervalMs: 100, probeIntervalMs: 200, probeTimeoutMs: 100, deadForgetMs: 5_000, tombstoneMs: 60_000 };

function counter(r: Replica, name: string): number {
  const v = r.keyspace.getCounter(key(name));
  if (!v.ok) throw new Error(v.error.message);
  return Number(v.value ?? 0);
}

/** A majority write of +n on node i; returns whether it was acknowledged. */
function majorityWrite(sim: Simulation, i: number, name: string, n: number): boolean {
  const r = sim.nodes[i]?.replica as Replica;
  expect(r.keyspace.incrBy(key(name), n).ok).toBe(true);
  let ok: boolean | undefined;
  r.awaitMajority(r.version, sim.now + 2000, (o) => (ok = o.ok));
  sim.wake(i);
  runUntil(sim, () => ok !== undefined, 40);
  return ok === true;
}

/** A majority read of `name` on node i; returns the value it answered, or undefined if it failed. */
function majorityRead(sim: Simulation, i: number, name: string): number | undefined {
  const r = sim.nodes[i]?.replica as Replica;
  let out: number | undefined;
  let done = false;
  r.majorityRead([key(name)], sim.now + 2000, (o) => {
    done = true;
    if (o.ok) out = counter(r, name);
  });
  sim.wake(i);
  runUntil(sim, () => done, 40);
  return out;
}

function sizes(sim: Simulation): number[] {
  return sim.nodes.filter((n) => n.up).map((n) => n.replica.clusterSize());
}

describe('a node joins through a seed', () => {
  it('is learned by every node, counts only once it holds what a majority held, and then serves majority reads', () => {
    for (const seed of seeds(8)) {
      withSeed(seed, () => {
        // Watch the newcomer's own record: at the moment it stops joining, it must hold the write.
        const promotedHolding: number[] = [];
        let sim: Simulation | undefined = undefined;
        sim = new Simulation({
          nodes: 3,
          seed,
          config: fast,
          events: (i) => ({
            memberChanged: (m) => {
              if (i === 3 && m.id === 'n3' && m.joining !== true && sim !== undefined) promotedHolding.push(counter(sim.nodes[3]?.replica as Replica, 'c'));
            },
          }),
        });
        sim.runUntil(300);
        expect(majorityWrite(sim, 1, 'c', 7)).toBe(true);
        const j = sim.join(0);
        expect(sim.nodes[j]?.replica.joining).toBe(true);
        // While the newcomer is joining, nobody counts it: the size stays 3 wherever it is joining.
        const seen: string[] = [];
        const promoted = runUntil(
          sim,
          () => {
            for (const n of sim.nodes) {
              const rec = n.replica.membership.get('n3');
              if (rec !== undefined && rec.joining === true && n.id !== 'n3' && n.replica.clusterSize() !== 3) seen.push(`${n.id} counts a joining n3`);
            }
            return sim.nodes.every((n) => n.replica.membership.get('n3')?.joining !== true && n.replica.membership.get('n3')?.state === MemberState.Alive);
          },
          100,
        );
        expect(seen).toEqual([]);
        expect(promoted).toBeLessThan(100);
        expect(promotedHolding).toEqual([7]);
        expect(sizes(sim)).toEqual([4, 4, 4, 4]);
        // Every node knows every member, and the newcomer answers a majority read with the old write.
        for (const n of sim.nodes) expect([...n.replica.membership.all()].map((m) => m.id).sort()).toEqual(['n0', 'n1', 'n2', 'n3']);
        expect(majorityRead(sim, j, 'c')).toBe(7);
        // And it takes part: a majority write on it is acknowledged and read elsewhere.
        expect(majorityWrite(sim, j, 'c', 1)).toBe(true);
        expect(majorityRead(sim, 2, 'c')).toBe(8);
      });
    }
  });

  it('a joining node counts as neither holder nor reader', () => {
    const sim = new Simulation({ nodes: 3, seed: 5, config: fast });
    sim.runUntil(300);
    const j = sim.join(0);
    // Let it be learned, but cut it off before it can catch up with anyone but the seed's table.
    runUntil(sim, () => sim.nodes[0]?.replica.membership.get('n3') !== undefined, 10);
    sim.cut((from, to) => from === j || to === j);
    sim.crash(2);
    // n0 and n1 are 2 of 3 voters: a majority write on n0 needs n1. n3 is not one of them.
    const r0 = sim.nodes[0]?.replica as Replica;
    expect(r0.clusterSize()).toBe(3);
    expect(r0.majorityPeers()).toBe(1);
    sim.cut((from, to) => (from === 0 && to === 1) || (from === 1 && to === 0));
    expect(r0.keyspace.incrBy(key('x'), 1).ok).toBe(true);
    let outcome: boolean | undefined;
    r0.awaitMajority(r0.version, sim.now + 1000, (o) => (outcome = o.ok));
    sim.wake(0);
    runUntil(sim, () => outcome !== undefined, 20);
    expect(outcome).toBe(false);
  });
  it('a joining node counts no majority until a voter sent it the membership table (explorer seed 3188)', () => {
    for (const seed of seeds(4)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 3, seed, config: fast });
        sim.runUntil(300);
        // The newcomer reaches only n1: n1's table tells it there are three voters, and one of them
        // is no majority. Before the fix it took the one member it had heard of as the whole cluster:
        // a majority of nobody is one peer, so n1's copy alone acknowledged the write.
        const j = sim.join(1);
        sim.cut((from, to) => (from === j && to !== 1) || (to === j && from !== 1));
        const r = sim.nodes[j]?.replica as Replica;
        expect(r.majorityPeers()).toBeUndefined();
        expect(r.keyspace.incrBy(key('x'), 1).ok).toBe(true);
        const writes: string[] = [];
        const reads: string[] = [];
        r.awaitMajority(r.version, sim.now + 1500, (o) => writes.push(`ok=${o.ok} count=${o.count} needed=${o.needed}`));
        r.majorityRead([key('x')], sim.now + 1500, (o) => reads.push(`ok=${o.ok} count=${o.count} needed=${o.needed}`));
        sim.wake(j);
        runUntil(sim, () => writes.length > 0 && reads.length > 0, 40);
        expect(r.majorityPeers()).toBe(2); // a joiner is no voter: two of the three voters
        expect(writes).toEqual(['ok=false count=1 needed=2']);
        expect(reads).toEqual(['ok=false count=1 needed=2']);
      });
    }
  });

  it('a joining node that never hears a voter fails its majority waits at their deadline, saying why', () => {
    const sim = new Simulation({ nodes: 3, seed: 9, config: fast });
    sim.runUntil(300);
    const j = sim.join(0);
    sim.cut((from, to) => from === j || to === j);
    const r = sim.nodes[j]?.replica as Replica;
    expect(r.keyspace.incrBy(key('y'), 1).ok).toBe(true);
    const outcomes: WaitOutcome[] = [];
    r.awaitMajority(r.version, sim.now + 500, (o) => outcomes.push(o));
    r.majorityRead([key('y')], sim.now + 500, (o) => outcomes.push(o));
    sim.wake(j);
    runUntil(sim, () => outcomes.length === 2, 20);
    expect(outcomes).toEqual([
      { ok: false, count: 0, needed: 0, votersUnknown: true },
      { ok: false, count: 0, needed: 0, votersUnknown: true },
    ]);
  });
});

describe('a graceful leave', () => {
  it('hands off everything the node holds to a majority, then every node stops counting it', () => {
    for (const seed of seeds(6)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 4, seed, config: fast });
        sim.runUntil(300);
        expect(majorityWrite(sim, 0, 'c', 5)).toBe(true);
        // A local write on the leaving node that nobody has yet: the hand-off must carry it.
        const leaver = sim.nodes[3]?.replica as Replica;
        expect(leaver.keyspace.incrBy(key('c'), 2).ok).toBe(true);
        let outcome: LeaveOutcome | undefined;
        leaver.leaveCluster(sim.now + 5000, (o) => (outcome = o));
        sim.wake(3);
        expect(runUntil(sim, () => outcome !== undefined, 60)).toBeLessThan(60);
        expect(outcome?.ok).toBe(true);
        expect(outcome?.holders).toBeGreaterThanOrEqual(2);
        sim.crash(3); // the process exits
        expect(runUntil(sim, () => sim.live().every((n) => n.replica.membership.get('n3')?.state === MemberState.Removed), 40)).toBeLessThan(40);
        expect(sizes(sim)).toEqual([3, 3, 3]);
        // The majority read on the remaining three sees both writes.
        expect(majorityRead(sim, 1, 'c')).toBe(7);
        // The departed record is kept (it is what stops stale records), and is never forgotten.
        sim.runUntil(sim.now + 20_000);
        expect(sim.live().every((n) => n.replica.membership.get('n3')?.state === MemberState.Removed)).toBe(true);
      });
    }
  });

  it('fails by its deadline, and the node stays a member, when no majority can take the hand-off', () => {
    const sim = new Simulation({ nodes: 3, seed: 3, config: fast });
    sim.runUntil(300);
    sim.nodes[2]?.replica.keyspace.incrBy(key('c'), 1);
    sim.cut((from, to) => from === 2 || to === 2);
    let outcome: LeaveOutcome | undefined;
    sim.nodes[2]?.replica.leaveCluster(sim.now + 1000, (o) => (outcome = o));
    sim.wake(2);
    runUntil(sim, () => outcome !== undefined, 30);
    expect(outcome).toMatchObject({ ok: false, needed: 2, failure: 'handoff' });
    expect(sim.nodes[2]?.replica.membership.get('n2')?.state).toBe(MemberState.Alive);
    expect(sim.nodes[2]?.replica.clusterSize()).toBe(3);
  });

  it('a node that left and starts again under its id rejoins as a new member', () => {
    const sim = new Simulation({ nodes: 3, seed: 9, config: fast });
    sim.runUntil(300);
    const j = sim.join(0);
    runUntil(sim, () => sim.nodes.every((n) => n.replica.clusterSize() === 4), 60);
    let outcome: LeaveOutcome | undefined;
    sim.nodes[j]?.replica.leaveCluster(sim.now + 5000, (o) => (outcome = o));
    sim.wake(j);
    runUntil(sim, () => outcome !== undefined, 60);
    expect(outcome?.ok).toBe(true);
    sim.crash(j);
    runUntil(sim, () => sim.live().every((n) => n.replica.clusterSize() === 3), 40);
    expect(sizes(sim)).toEqual([3, 3, 3]);
    sim.restart(j, false);
    expect(runUntil(sim, () => sim.nodes.every((n) => n.replica.clusterSize() === 4 && n.replica.membership.get('n3')?.joining !== true), 80)).toBeLessThan(80);
  });
});

describe('an operator removes a dead node', () => {
  it('lowers the size everywhere at once, and the id stays removed, even when it comes back', () => {
    for (const seed of seeds(4)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 5, seed, config: fast });
        sim.runUntil(300);
        expect(majorityWrite(sim, 0, 'c', 3)).toBe(true);
        const r1 = sim.nodes[1]?.replica as Replica;
        // Alive, self and unknown members are refused with a reason.
        expect(r1.removeMember('n4')).toEqual({ ok: false, error: { code: 'live', state: 'alive' } });
        expect(r1.removeMember('n1')).toEqual({ ok: false, error: { code: 'self' } });
        expect(r1.removeMember('zz')).toEqual({ ok: false, error: { code: 'unknown' } });
        sim.crash(4);
        expect(runUntil(sim, () => r1.membership.get('n4')?.state === MemberState.Dead, 200)).toBeLessThan(200);
        expect(sizes(sim)).toEqual([5, 5, 5, 5]); // a dead member still counts
        expect(r1.removeMember('n4')).toEqual({ ok: true });
        expect(runUntil(sim, () => sim.live().every((n) => n.replica.membership.get('n4')?.state === MemberState.Removed), 40)).toBeLessThan(40);
        expect(sizes(sim)).toEqual([4, 4, 4, 4]);
        expect(r1.removeMember('n4')).toEqual({ ok: false, error: { code: 'already' } });
        expect(majorityRead(sim, 3, 'c')).toBe(3);
        // It comes back under the same id (a higher incarnation): it is told, and stops; nobody counts it.
        sim.restart(4, true);
        expect(runUntil(sim, () => sim.nodes[4]?.replica.removed === true, 40)).toBeLessThan(40);
        sim.runUntil(sim.now + 5_000);
        for (const n of sim.live()) expect(n.replica.membership.get('n4')).toMatchObject({ state: MemberState.Removed, incarnation: REMOVED_INCARNATION });
        expect(sizes(sim).slice(0, 4)).toEqual([4, 4, 4, 4]);
      });
    }
  });
});

describe('the records on the wire', () => {
  it('carry the joining flag, the Removed state and the ask-vector flag, and reject malformed ones', async () => {
    const { decodeEnvelope, encodeEnvelope, MsgKind } = await import('../../src/replication/messages.js');
    const { Packr } = await import('msgpackr');
    const members = [
      { id: 'a', address: 'h:1', incarnation: 3, seq: 0, state: MemberState.Alive, joining: true as const },
      { id: 'b', address: 'h:2', incarnation: 3, seq: 2, state: MemberState.Suspect, accusers: ['a'], joining: true as const },
      { id: 'c', address: 'h:3', incarnation: REMOVED_INCARNATION, seq: 0, state: MemberState.Removed },
      { id: 'd', address: 'h:4', incarnation: 1, seq: 0, state: MemberState.Alive },
    ];
    const frame = encodeEnvelope({ cluster: 't', from: 'x', incarnation: 1, address: 'x', msg: { kind: MsgKind.Delta, body: { ranges: [], states: [], members, more: false } } });
    const back = decodeEnvelope(frame, 't', 1 << 20);
    expect(back.ok && back.value.msg.kind === MsgKind.Delta ? back.value.msg.body.members : null).toEqual(members);
    const digest = encodeEnvelope({ cluster: 't', from: 'x', incarnation: 1, address: 'x', msg: { kind: MsgKind.Digest, body: { hash: '0'.repeat(16), membersHash: '1'.repeat(16), vector: null, wantReply: true, askVector: true } } });
    const d = decodeEnvelope(digest, 't', 1 << 20);
    expect(d.ok && d.value.msg.kind === MsgKind.Digest ? d.value.msg.body.askVector : null).toBe(true);
    // Malformed: a joining flag other than 1, accusers on a non-suspect, a state past Removed.
    const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false, mapsAsObjects: true });
    for (const m of [['a', 'h', 1, 0, 0, [], 2], ['a', 'h', 1, 0, 0, ['z'], 1], ['a', 'h', 1, 0, 5], ['a', 'h', 1, 0, 0, [], 1, 9]]) {
      const bad = packr.pack([1, 't', 'x', 1, 'x', MsgKind.Delta, { o: [], k: [], m: [m], more: false }]);
      const r = decodeEnvelope(bad, 't', 1 << 20);
      expect(r.ok ? 'accepted' : r.error.reason).toBe('malformed');
    }
  });
});
