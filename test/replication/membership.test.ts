// Membership and failure detection, in the simulator: join, leave, death, refutation, forgetting,
// and a restarted node being alive at once at its higher incarnation.

import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/sim/network.js';
import { MemberState } from '../../src/replication/messages.js';
import { seeds, withSeed } from '../sim/seeds.js';
import { key, runUntil, valuesOf } from '../sim/helpers.js';

const fast = { gossipIntervalMs: 100, probeIntervalMs: 200, probeTimeoutMs: 100, deadForgetMs: 5_000, tombstoneMs: 60_000 };

function stateOn(sim: Simulation, observer: number, member: string): MemberState | undefined {
  return sim.nodes[observer]?.replica.membership.get(member)?.state;
}

function everyoneSees(sim: Simulation, member: string, state: MemberState | undefined, skip: number[] = []): boolean {
  return sim.nodes.every((n, i) => skip.includes(i) || !n.up || stateOn(sim, i, member) === state);
}

describe('membership', () => {
  it('nodes join through a seed and learn every member by gossip', () => {
    for (const seed of seeds(3)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 30, seed, prejoined: false, config: fast });
        const rounds = runUntil(sim, () => sim.nodes.every((n) => n.replica.membership.countByState()[0] === 30), 60);
        expect(rounds).toBeLessThan(60);
        // And data flows once joined.
        sim.nodes[17]?.replica.keyspace.incrBy(key('x'), 5);
        expect(runUntil(sim, () => valuesOf(sim, 'x').every((v) => v === 5), 30)).toBeLessThan(30);
      });
    }
  });

  it('a crashed node is suspected, then declared dead, and its counts still count', () => {
    for (const seed of seeds(3)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 8, seed, config: fast });
        sim.nodes[3]?.replica.keyspace.incrBy(key('c'), 42);
        runUntil(sim, () => valuesOf(sim, 'c').every((v) => v === 42), 20);
        sim.crash(3);
        const rounds = runUntil(sim, () => everyoneSees(sim, 'n3', MemberState.Dead, [3]), 400);
        expect(rounds).toBeLessThan(400);
        expect(valuesOf(sim, 'c').every((v) => v === 42)).toBe(true);
        // Dead members are not gossip targets.
        const r = sim.nodes[0]?.replica;
        for (let i = 0; i < 50; i++) expect(r?.membership.randomTargets(sim.rng, 3).some((m) => m.id === 'n3')).toBe(false);
      });
    }
  });

  it('a suspected node that is in fact alive refutes the suspicion', () => {
    for (const seed of seeds(3)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 8, seed, config: fast });
        sim.runUntil(1000);
        // Cut n5 off long enough to be suspected but not declared dead, then heal.
        sim.partition((i) => (i === 5 ? 1 : 0));
        runUntil(sim, () => sim.nodes.some((n, i) => i !== 5 && stateOn(sim, i, 'n5') === MemberState.Suspect), 50);
        expect(sim.nodes.some((n, i) => i !== 5 && stateOn(sim, i, 'n5') === MemberState.Suspect)).toBe(true);
        sim.heal();
        const rounds = runUntil(sim, () => everyoneSees(sim, 'n5', MemberState.Alive, [5]), 100);
        expect(rounds).toBeLessThan(100);
        expect(sim.nodes[0]?.replica.membership.get('n5')?.seq).toBeGreaterThan(0);
      });
    }
  });

  it('a node that leaves is marked left everywhere, then forgotten, and never resurrected', () => {
    for (const seed of seeds(3)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 8, seed, config: fast });
        sim.nodes[2]?.replica.keyspace.incrBy(key('c'), 9);
        runUntil(sim, () => valuesOf(sim, 'c').every((v) => v === 9), 20);
        sim.nodes[2]?.replica.leave();
        expect(runUntil(sim, () => everyoneSees(sim, 'n2', MemberState.Left, [2]), 50)).toBeLessThan(50);
        sim.crash(2); // the process exits after leaving
        // Forgotten after deadForgetMs, and stays forgotten while the cluster keeps gossiping.
        expect(runUntil(sim, () => everyoneSees(sim, 'n2', undefined, [2]), 200)).toBeLessThan(200);
        sim.runUntil(sim.now + 10_000);
        expect(everyoneSees(sim, 'n2', undefined, [2])).toBe(true);
        expect(valuesOf(sim, 'c').every((v) => v === 9)).toBe(true);
      });
    }
  });

  it('a restarted node is alive at once at its higher incarnation, even where it was declared dead', () => {
    for (const seed of seeds(3)) {
      withSeed(seed, () => {
        const sim = new Simulation({ nodes: 6, seed, config: fast });
        sim.crash(4);
        expect(runUntil(sim, () => everyoneSees(sim, 'n4', MemberState.Dead, [4]), 400)).toBeLessThan(400);
        sim.restart(4, false);
        const rounds = runUntil(
          sim,
          () => sim.nodes.every((n, i) => i === 4 || (n.replica.membership.get('n4')?.state === MemberState.Alive && n.replica.membership.get('n4')?.incarnation === 2)),
          30,
        );
        expect(rounds).toBeLessThan(30);
      });
    }
  });
});

describe('Lifeguard suspicion: only independent accusers shorten the timeout', () => {
  it('a relayed suspicion adds no confirmation; another accuser does, and the suspicion keeps its start', async () => {
    const { Membership } = await import('../../src/replication/membership.js');
    const m = new Membership('a');
    m.apply({ id: 'x', address: 'x', incarnation: 1, seq: 0, state: MemberState.Alive }, 0);
    // b suspects x; c and d relay b's record: still one accuser.
    expect(m.apply({ id: 'x', address: 'x', incarnation: 1, seq: 0, state: MemberState.Suspect, accusers: ['b'] }, 100)?.accusers).toEqual(['b']);
    expect(m.apply({ id: 'x', address: 'x', incarnation: 1, seq: 0, state: MemberState.Suspect, accusers: ['b'] }, 200)).toBeUndefined();
    expect(m.apply({ id: 'x', address: 'x', incarnation: 1, seq: 0, state: MemberState.Suspect, accusers: ['b'] }, 300)).toBeUndefined();
    expect(m.get('x')?.accusers).toEqual(['b']);
    // e suspected x on its own: a confirmation. The suspicion still started at 100.
    const hash = m.hash;
    const e = m.apply({ id: 'x', address: 'x', incarnation: 1, seq: 0, state: MemberState.Suspect, accusers: ['e'] }, 400);
    expect(e?.accusers).toEqual(['b', 'e']);
    expect(m.get('x')?.since).toBe(100);
    expect(m.hash).not.toBe(hash); // the new accuser spreads by gossip
    // Our own failed probe of x confirms too.
    expect(m.accuse('x')?.accusers).toEqual(['a', 'b', 'e']);
    expect(m.accuse('x')).toBeUndefined(); // once
    // A refutation (higher seq) ends the suspicion and its accusers.
    const alive = m.apply({ id: 'x', address: 'x', incarnation: 1, seq: 1, state: MemberState.Alive }, 500);
    expect(alive?.state).toBe(MemberState.Alive);
    expect(alive?.accusers).toBeUndefined();
  });

  it('the timeout is the max with one accuser and falls to the min at indirectChecks confirmations', () => {
    const sim = new Simulation({ nodes: 10, seed: 3, config: { ...fast, suspicionMult: 4, suspicionMaxTimeoutMult: 6, indirectChecks: 3 } });
    const r = sim.nodes[0]?.replica;
    if (r === undefined) throw new Error('no replica');
    const min = 4 * 1 * fast.probeIntervalMs; // log10(10) = 1
    const suspect = (accusers: string[]) => ({ id: 'n1', address: 'n1', incarnation: 1, seq: 0, state: MemberState.Suspect, since: 0, lastHeard: 0, accusers });
    expect(r.suspicionTimeout(suspect(['n2']))).toBe(6 * min);
    expect(r.suspicionTimeout(suspect(['n2', 'n3']))).toBeLessThan(6 * min);
    expect(r.suspicionTimeout(suspect(['n2', 'n3']))).toBeGreaterThan(min);
    expect(r.suspicionTimeout(suspect(['n2', 'n3', 'n4', 'n5']))).toBeCloseTo(min, 6);
    expect(r.suspicionTimeout(suspect(['n2', 'n3', 'n4', 'n5', 'n6', 'n7']))).toBeCloseTo(min, 6);
  });

  it('accuser lists on the wire must be canonical: sorted, distinct, on Suspect records only', async () => {
    const { decodeEnvelope, MsgKind, PROTOCOL_VERSION } = await import('../../src/replication/messages.js');
    const { Packr } = await import('msgpackr');
    // Raw wire frames: the encoder only writes canonical records, so the bad ones are packed by hand.
    const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false, mapsAsObjects: true });
    const frame = (m: unknown[]): boolean => decodeEnvelope(packr.pack([PROTOCOL_VERSION, 'c', 'b', 1, 'b', MsgKind.Delta, { o: [], k: [], m: [m], more: false }]), 'c', 1 << 20).ok;
    expect(frame(['x', 'x', 1, 0, MemberState.Suspect, ['a', 'b']])).toBe(true);
    expect(frame(['x', 'x', 1, 0, MemberState.Suspect])).toBe(true);
    expect(frame(['x', 'x', 1, 0, MemberState.Suspect, ['b', 'a']])).toBe(false);
    expect(frame(['x', 'x', 1, 0, MemberState.Suspect, ['a', 'a']])).toBe(false);
    expect(frame(['x', 'x', 1, 0, MemberState.Suspect, []])).toBe(false);
    expect(frame(['x', 'x', 1, 0, MemberState.Alive, ['a']])).toBe(false);
    expect(frame(['x', 'x', 1, 0, MemberState.Suspect, Array.from({ length: 9 }, (_, i) => `a${i}`)])).toBe(false);
  });
});
