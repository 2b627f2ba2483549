// The failure detector frame by frame (src/replication/failure-detector.ts), on real replicas whose
// frames go only where the test sends them (ManualNet): a direct probe, the indirect one at the
// probe timeout, suspicion at the probe interval, death at the suspicion timeout; a relayed ack;
// a stall voiding the probes it held up; refutation of a rumour about ourselves; a dead peer asked
// to refute, once per gossip interval. The simulator's detector tests (test/sim/detector.test.ts)
// measure the same rules statistically on many nodes.

import { describe, expect, it } from 'vitest';
import { MemberState, MsgKind } from '../../src/replication/messages.js';
import type { Replica } from '../../src/replication/replica.js';
import { ManualNet, membersDelta, type Frame } from './manual-net.js';

// 3 members: min suspicion timeout = 1 x max(1, log10 3) x 1,000 = 1,000 ms, the max (one accuser) 2,000.
const CFG = { probeIntervalMs: 1000, probeTimeoutMs: 300, indirectChecks: 2, suspicionMult: 1, suspicionMaxTimeoutMult: 2, gossipIntervalMs: 100, deadForgetMs: 5000 };

function net(): ManualNet {
  return new ManualNet(['n1', 'n2', 'n3'], CFG);
}

const stateOf = (r: Replica, id: string): MemberState | undefined => r.membership.get(id)?.state;

/** Ticks `id` at `now` and returns the frames it sent then (they stay queued). */
function tick(n: ManualNet, id: string, now: number): Frame[] {
  const before = n.queue.length;
  n.now = now;
  n.get(id).tick(now);
  return n.queue.slice(before);
}

/**
 * Ticks `id` on time (whenever it has work, as the node loop does) up to `to`, dropping every frame
 * anyone sent: a tick far later than due would be a stall (see the stall test).
 */
function advance(n: ManualNet, id: string, to: number): Frame[] {
  const r = n.get(id);
  const sent: Frame[] = [];
  while (n.now < to) {
    sent.push(...tick(n, id, Math.min(to, Math.max(n.now + 1, r.nextTickAt()))));
    n.drop();
  }
  return sent;
}

/** Ticks n1 until it sends a ping; returns the ping and when it went. */
function firstPing(n: ManualNet): { ping: Frame; at: number } {
  for (let t = 2; t < 3000; t++) {
    const ping = tick(n, 'n1', t).find((f) => f.from === 'n1' && f.msg.kind === MsgKind.Ping);
    if (ping !== undefined) return { ping, at: t };
  }
  throw new Error('n1 sent no ping in 3 s');
}

describe('failure detector', () => {
  it('probes directly, asks another member at the probe timeout, suspects at the interval, declares dead after the suspicion timeout', () => {
    const n = net();
    const { ping, at } = firstPing(n);
    const target = ping.to;
    const other = target === 'n2' ? 'n3' : 'n2';
    n.drop();
    // Before the probe timeout: nothing more.
    advance(n, 'n1', at + 298);
    expect(tick(n, 'n1', at + 299).filter((f) => f.msg.kind === MsgKind.PingReq)).toEqual([]);
    // At it: indirect probes (indirectChecks = 2) through every other member but the target: the one left.
    const reqs = tick(n, 'n1', at + 300).filter((f) => f.msg.kind === MsgKind.PingReq);
    expect(reqs.map((f) => [f.to, f.msg.body])).toEqual([[other, { seq: (ping.msg.body as { seq: number }).seq, target, address: target }]]);
    n.drop();
    advance(n, 'n1', at + 999);
    expect(stateOf(n.get('n1'), target)).toBe(MemberState.Alive);
    tick(n, 'n1', at + 1000);
    expect(stateOf(n.get('n1'), target)).toBe(MemberState.Suspect);
    const suspect = n.get('n1').membership.get(target)!;
    expect(suspect.since).toBe(at + 1000);
    expect(n.get('n1').suspicionTimeout(suspect)).toBe(2000);
    n.drop();
    // Every later probe of n1 goes unanswered too; the suspicion keeps its start.
    advance(n, 'n1', at + 2999);
    expect(stateOf(n.get('n1'), target)).toBe(MemberState.Suspect);
    expect(n.get('n1').membership.get(target)!.since).toBe(at + 1000);
    tick(n, 'n1', at + 3000);
    expect(stateOf(n.get('n1'), target)).toBe(MemberState.Dead);
    expect(stateOf(n.get('n1'), other)).not.toBe(MemberState.Dead);
  });

  it('an answered probe suspects nothing, and a direct ack feeds the clock offset', () => {
    const n = net();
    const { ping, at } = firstPing(n);
    n.drop();
    n.get(ping.to).receive('n1', ping.bytes, at + 10);
    const ack = n.queue.find((f) => f.msg.kind === MsgKind.Ack)!;
    expect(ack.to).toBe('n1');
    expect(ack.msg.body).toEqual({ seq: (ping.msg.body as { seq: number }).seq, time: at + 10 });
    n.deliver();
    for (let t = at + 1; t <= at + 1500; t += 100) {
      tick(n, 'n1', t);
      n.drop();
    }
    expect(stateOf(n.get('n1'), ping.to)).toBe(MemberState.Alive);
  });

  it('a member asked to probe for another relays the ack under the requester seq, and only once', () => {
    const n = net();
    // n2 asks n1 to probe n3 for it, under n2's seq 77.
    n.inject('n2', 'n1', { kind: MsgKind.PingReq, body: { seq: 77, target: 'n3', address: 'n3' } }, 5);
    const ping = n.queue.find((f) => f.from === 'n1' && f.to === 'n3' && f.msg.kind === MsgKind.Ping)!;
    expect(ping).toBeDefined();
    n.drop();
    const seq = (ping.msg.body as { seq: number }).seq;
    n.inject('n3', 'n1', { kind: MsgKind.Ack, body: { seq } }, 6);
    expect(n.queue.map((f) => [f.from, f.to, f.msg.kind, f.msg.body])).toEqual([['n1', 'n2', MsgKind.Ack, { seq: 77 }]]);
    n.drop();
    n.inject('n3', 'n1', { kind: MsgKind.Ack, body: { seq } }, 7); // a duplicate: nothing to relay
    expect(n.queue).toEqual([]);
  });

  it('a relay expires after the probe interval: a late ack is not passed on', () => {
    const n = net();
    n.inject('n2', 'n1', { kind: MsgKind.PingReq, body: { seq: 5, target: 'n3', address: 'n3' } }, 10);
    const seq = (n.queue.find((f) => f.msg.kind === MsgKind.Ping)!.msg.body as { seq: number }).seq;
    n.drop();
    advance(n, 'n1', 10 + 1001); // expired: strictly after 10 + 1,000
    n.inject('n3', 'n1', { kind: MsgKind.Ack, body: { seq } }, 10 + 1002);
    expect(n.queue.filter((f) => f.to === 'n2')).toEqual([]);
    // At exactly its expiry it still relays.
    advance(n, 'n1', 2000);
    n.inject('n2', 'n1', { kind: MsgKind.PingReq, body: { seq: 6, target: 'n3', address: 'n3' } }, 2000);
    const seq2 = (n.queue.find((f) => f.msg.kind === MsgKind.Ping)!.msg.body as { seq: number }).seq;
    n.drop();
    advance(n, 'n1', 2000 + 1000);
    n.inject('n3', 'n1', { kind: MsgKind.Ack, body: { seq: seq2 } }, 3000);
    expect(n.queue.filter((f) => f.to === 'n2').map((f) => f.msg.body)).toEqual([{ seq: 6 }]);
  });

  it('a stall voids the probes it held up and delays deaths until refutations can arrive', () => {
    const n = net();
    const { ping, at } = firstPing(n);
    n.drop();
    const r = n.get('n1');
    expect(r.stats.stalls).toBe(0);
    // The next tick was due within the probe timeout; it comes 10 s late.
    const late = at + 10_000;
    tick(n, 'n1', late);
    expect(r.stats.stalls).toBe(1);
    expect(stateOf(r, ping.to)).toBe(MemberState.Alive);
    n.drop();
    // A suspicion already past its timeout waits for max(probe interval, 2 gossip intervals) = 1 s.
    n.inject('n2', 'n1', membersDelta([{ id: 'n3', address: 'n3', incarnation: 1, seq: 0, state: MemberState.Suspect }]), late);
    expect(stateOf(r, 'n3')).toBe(MemberState.Suspect);
    r.membership.get('n3')!.since = late - 10_000; // its timeout ran out while we were frozen
    advance(n, 'n1', late + 999);
    expect(stateOf(r, 'n3')).toBe(MemberState.Suspect);
    tick(n, 'n1', late + 1000);
    expect(stateOf(r, 'n3')).toBe(MemberState.Dead);
    expect(r.stats.stalls).toBe(1);
  });

  it('after a stall, deaths wait two gossip intervals when that is longer than the probe interval', () => {
    const n = new ManualNet(['n1', 'n2', 'n3'], { ...CFG, gossipIntervalMs: 800 });
    const { at } = firstPing(n);
    n.drop();
    const r = n.get('n1');
    const late = at + 10_000;
    tick(n, 'n1', late);
    expect(r.stats.stalls).toBe(1);
    n.drop();
    n.inject('n2', 'n1', membersDelta([{ id: 'n3', address: 'n3', incarnation: 1, seq: 0, state: MemberState.Suspect }]), late);
    r.membership.get('n3')!.since = late - 10_000;
    // max(1,000 ms, 2 x 800 ms) = 1,600 ms.
    advance(n, 'n1', late + 1599);
    expect(stateOf(r, 'n3')).toBe(MemberState.Suspect);
    tick(n, 'n1', late + 1600);
    expect(stateOf(r, 'n3')).toBe(MemberState.Dead);
  });

  it('a clock stepped back leaves the next probe at most one interval away', () => {
    const n = net();
    const { at } = firstPing(n);
    n.drop();
    advance(n, 'n1', at + 500);
    const back = at + 500 - 3_600_000;
    tick(n, 'n1', back);
    n.drop();
    const pings = advance(n, 'n1', back + 1000).filter((f) => f.msg.kind === MsgKind.Ping);
    expect(pings.length).toBe(1);
  });

  it('a probe sent before the clock stepped back still times out one probe timeout later', () => {
    const n = net();
    const { ping, at } = firstPing(n);
    const seq = (ping.msg.body as { seq: number }).seq;
    n.drop();
    const back = at + 100 - 3_600_000;
    tick(n, 'n1', back);
    const reqs = (f: Frame): boolean => f.msg.kind === MsgKind.PingReq && (f.msg.body as { seq: number }).seq === seq;
    // Its send time is taken as the step's moment, not an hour ahead.
    expect(advance(n, 'n1', back + 299).filter(reqs)).toEqual([]);
    expect(tick(n, 'n1', back + 300).filter(reqs).length).toBe(1);
  });

  it('probes keep their phase when a tick comes a little late', () => {
    const n = net();
    const { at } = firstPing(n);
    n.drop();
    advance(n, 'n1', at + 999);
    // 50 ms late, well under a stall: the next probe is still due at at + 2,000, not at + 2,050.
    expect(tick(n, 'n1', at + 1050).filter((f) => f.msg.kind === MsgKind.Ping).length).toBe(1);
    n.drop();
    expect(n.get('n1').stats.stalls).toBe(0);
    expect(advance(n, 'n1', at + 1999).filter((f) => f.msg.kind === MsgKind.Ping)).toEqual([]);
    expect(tick(n, 'n1', at + 2000).filter((f) => f.msg.kind === MsgKind.Ping).length).toBe(1);
  });

  it('ticks on time are no stall', () => {
    const n = net();
    const r = n.get('n1');
    advance(n, 'n1', 5000);
    expect(r.stats.stalls).toBe(0);
    // A tick 401 ms late (the probe timeout plus 100 ms of slack, and 1) is one.
    const due = r.nextTickAt();
    tick(n, 'n1', due + 400);
    expect(r.stats.stalls).toBe(0);
    const due2 = r.nextTickAt();
    tick(n, 'n1', due2 + 401);
    expect(r.stats.stalls).toBe(1);
  });

  it('refutes suspicion or death of itself at its incarnation with a higher seq, and ignores other incarnations', () => {
    const n = net();
    const r = n.get('n1');
    n.inject('n2', 'n1', membersDelta([{ id: 'n1', address: 'n1', incarnation: 1, seq: 4, state: MemberState.Suspect }]), 10);
    expect(r.membership.get('n1')).toMatchObject({ state: MemberState.Alive, seq: 5 });
    // A record below our seq says nothing new.
    n.inject('n2', 'n1', membersDelta([{ id: 'n1', address: 'n1', incarnation: 1, seq: 4, state: MemberState.Dead }]), 11);
    expect(r.membership.get('n1')).toMatchObject({ state: MemberState.Alive, seq: 5 });
    n.inject('n2', 'n1', membersDelta([{ id: 'n1', address: 'n1', incarnation: 1, seq: 5, state: MemberState.Dead }]), 12);
    expect(r.membership.get('n1')).toMatchObject({ state: MemberState.Alive, seq: 6 });
    // An alive record of ours, or one of another incarnation, changes nothing.
    n.inject('n2', 'n1', membersDelta([{ id: 'n1', address: 'n1', incarnation: 1, seq: 9, state: MemberState.Alive }]), 13);
    n.inject('n2', 'n1', membersDelta([{ id: 'n1', address: 'n1', incarnation: 2, seq: 9, state: MemberState.Suspect }]), 14);
    expect(r.membership.get('n1')).toMatchObject({ state: MemberState.Alive, seq: 6, incarnation: 1 });
    expect(r.removed).toBe(false);
  });

  it('stops at a Removed record of itself at a higher incarnation, which no refutation outbids', () => {
    const n = net();
    const r = n.get('n1');
    n.inject('n2', 'n1', membersDelta([{ id: 'n1', address: 'n1', incarnation: 1, seq: 3, state: MemberState.Removed }]), 10);
    expect(r.removed).toBe(false); // at our own incarnation it is refuted like any rumour
    expect(r.membership.get('n1')).toMatchObject({ state: MemberState.Alive, seq: 4 });
    n.inject('n2', 'n1', membersDelta([{ id: 'n1', address: 'n1', incarnation: Number.MAX_SAFE_INTEGER, seq: 0, state: MemberState.Removed }]), 11);
    expect(r.removed).toBe(true);
    expect(stateOf(r, 'n1')).toBe(MemberState.Removed);
  });

  it('asks a peer it holds dead to refute the verdict when it hears from it, at most once per gossip interval', () => {
    const n = net();
    const r = n.get('n1');
    n.inject('n3', 'n1', membersDelta([{ id: 'n2', address: 'n2', incarnation: 1, seq: 2, state: MemberState.Dead }]), 10);
    expect(stateOf(r, 'n2')).toBe(MemberState.Dead);
    n.drop();
    const asks = (): Frame[] => n.queue.filter((f) => f.to === 'n2' && f.msg.kind === MsgKind.Delta);
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 1 } }, 20);
    expect(asks().map((f) => f.msg.body)).toEqual([{ ranges: [], states: [], members: [{ id: 'n2', address: 'n2', incarnation: 1, seq: 2, state: MemberState.Dead }], more: false }]);
    n.drop();
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 2 } }, 20 + 99);
    expect(asks()).toEqual([]);
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 3 } }, 20 + 100);
    expect(asks().length).toBe(1);
    n.drop();
    // Its refutation (a higher seq, alive) is taken, and then it is not asked again.
    n.inject('n2', 'n1', membersDelta([{ id: 'n2', address: 'n2', incarnation: 1, seq: 3, state: MemberState.Alive }]), 300);
    expect(stateOf(r, 'n2')).toBe(MemberState.Alive);
    n.drop();
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 4 } }, 500);
    expect(asks()).toEqual([]);
  });

  it('asks again at once after the clock stepped back, rather than falling silent for the step', () => {
    const n = net();
    n.inject('n3', 'n1', membersDelta([{ id: 'n2', address: 'n2', incarnation: 1, seq: 2, state: MemberState.Dead }]), 10);
    n.drop();
    const asks = (): Frame[] => n.queue.filter((f) => f.to === 'n2' && f.msg.kind === MsgKind.Delta);
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 1 } }, 1_000_000);
    expect(asks().length).toBe(1);
    n.drop();
    const back = 1_000_000 - 3_600_000;
    tick(n, 'n1', back); // the clock steps back (a frame alone never moves a replica's time back)
    n.drop();
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 2 } }, back);
    expect(asks().length).toBe(1);
    n.drop();
    // And from there the interval holds again, from the same instant on.
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 3 } }, back);
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 4 } }, back + 99);
    expect(asks()).toEqual([]);
  });

  it('asks a forgotten member to refute only at the incarnation its tombstone holds', () => {
    const n = net();
    const r = n.get('n1');
    n.inject('n3', 'n1', membersDelta([{ id: 'n2', address: 'n2', incarnation: 2, seq: 5, state: MemberState.Left }]), 10);
    advance(n, 'n1', 10 + 5000);
    expect(stateOf(r, 'n2')).toBeUndefined();
    const asks = (): Frame[] => n.queue.filter((f) => f.to === 'n2' && f.msg.kind === MsgKind.Delta);
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 1 } }, 6000, 1); // an older incarnation: it cannot refute
    expect(stateOf(r, 'n2')).toBeUndefined();
    expect(asks()).toEqual([]);
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 2 } }, 6001, 2);
    expect(asks().map((f) => f.msg.body)).toEqual([{ ranges: [], states: [], members: [{ id: 'n2', address: 'n2', incarnation: 2, seq: 5, state: MemberState.Dead }], more: false }]);
  });

  it('tells a member removed by an operator that it is removed, whatever incarnation it runs, once per gossip interval', () => {
    const n = net();
    const r = n.get('n1');
    const removedRecord = { id: 'n2', address: 'n2', incarnation: Number.MAX_SAFE_INTEGER, seq: 0, state: MemberState.Removed };
    n.inject('n3', 'n1', membersDelta([removedRecord]), 10);
    expect(stateOf(r, 'n2')).toBe(MemberState.Removed);
    n.drop();
    const asks = (): Frame[] => n.queue.filter((f) => f.to === 'n2' && f.msg.kind === MsgKind.Delta);
    // From the incarnation it ran and from a later one alike: the answer is its Removed record, not a death to refute.
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 1 } }, 20, 1);
    expect(asks().map((f) => f.msg.body)).toEqual([{ ranges: [], states: [], members: [removedRecord], more: false }]);
    n.drop();
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 2 } }, 20 + 99, 7);
    expect(asks()).toEqual([]);
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 3 } }, 20 + 100, 7);
    expect(asks().map((f) => f.msg.body)).toEqual([{ ranges: [], states: [], members: [removedRecord], more: false }]);
    expect(stateOf(r, 'n2')).toBe(MemberState.Removed);
  });

  it('takes a frame from a higher incarnation as a restart: alive at once, even where it was dead', () => {
    const n = net();
    const r = n.get('n1');
    n.inject('n3', 'n1', membersDelta([{ id: 'n2', address: 'n2', incarnation: 1, seq: 2, state: MemberState.Dead }]), 10);
    n.drop();
    n.inject('n2', 'n1', { kind: MsgKind.Ping, body: { seq: 1 } }, 20, 2);
    expect(r.membership.get('n2')).toMatchObject({ state: MemberState.Alive, incarnation: 2, seq: 0 });
    expect(n.queue.filter((f) => f.to === 'n2' && f.msg.kind === MsgKind.Delta)).toEqual([]);
  });

  it('forgets a member that left after deadForgetMs, and keeps a dead voter', () => {
    const n = net();
    const r = n.get('n1');
    n.inject('n2', 'n1', membersDelta([{ id: 'n2', address: 'n2', incarnation: 1, seq: 5, state: MemberState.Left }]), 100);
    n.inject('n3', 'n1', membersDelta([{ id: 'n3', address: 'n3', incarnation: 1, seq: 5, state: MemberState.Dead }]), 100);
    advance(n, 'n1', 100 + 4999);
    expect(stateOf(r, 'n2')).toBe(MemberState.Left);
    tick(n, 'n1', 100 + 5000);
    expect(stateOf(r, 'n2')).toBeUndefined();
    advance(n, 'n1', 100 + 50_000);
    expect(stateOf(r, 'n3')).toBe(MemberState.Dead); // a configured voter stays until removed
  });
});

describe('failure detector: timing, confirmations and forgetting', () => {
  it('nodes start probing at random phases within the first interval, not all at once', () => {
    const n = new ManualNet(['n1', 'n2', 'n3', 'n4', 'n5'], CFG);
    const first = new Map<string, number>();
    for (let t = 2; t <= 1001 && first.size < 5; t++) {
      n.now = t;
      for (const [id, r] of n.nodes) {
        if (first.has(id)) continue;
        r.tick(t);
        if (n.queue.some((f) => f.from === id && f.msg.kind === MsgKind.Ping)) first.set(id, t);
      }
      n.drop();
    }
    expect(first.size).toBe(5);
    const times = [...first.values()];
    expect(new Set(times).size).toBe(5);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(CFG.probeIntervalMs / 10);
  });

  it('wants a tick at the probe timeout of a probe in flight, however far the next probe or gossip round is', () => {
    const n = new ManualNet(['n1', 'n2', 'n3'], { ...CFG, gossipIntervalMs: 3_600_000 });
    const { at } = firstPing(n);
    expect(n.get('n1').nextTickAt()).toBe(at + CFG.probeTimeoutMs);
  });

  it('a tick a whole interval late sends one probe, and the next an interval after it', () => {
    // No gossip rounds: the node's next tick is its next probe.
    const n = new ManualNet(['n1', 'n2', 'n3'], { ...CFG, gossipIntervalMs: 3_600_000 });
    const r = n.get('n1');
    const { at } = firstPing(n);
    advance(n, 'n1', at + 1500);
    const due = r.nextTickAt();
    expect(due).toBeGreaterThan(at + 1500);
    expect(due).toBeLessThanOrEqual(at + 2000);
    const pings = (fs: Frame[]): number => fs.filter((f) => f.from === 'n1' && f.msg.kind === MsgKind.Ping).length;
    // The probe due then comes a whole interval late, when the one after it was due: one probe.
    const late = due + CFG.probeIntervalMs;
    expect(pings(tick(n, 'n1', late))).toBe(1);
    n.drop();
    expect(pings(advance(n, 'n1', late + CFG.probeIntervalMs - 1))).toBe(0);
    expect(pings(tick(n, 'n1', late + CFG.probeIntervalMs))).toBe(1);
  });

  it('asks for indirect probes once per probe, at the probe timeout', () => {
    const n = net();
    const { ping, at } = firstPing(n);
    const seq = (ping.msg.body as { seq: number }).seq;
    n.drop();
    const reqs: number[] = [];
    for (let t = at + 1; t < at + 1000; t++) {
      for (const f of tick(n, 'n1', t)) if (f.msg.kind === MsgKind.PingReq && (f.msg.body as { seq: number }).seq === seq) reqs.push(t);
      n.drop();
    }
    expect(reqs).toEqual([at + CFG.probeTimeoutMs]); // indirectChecks 2, but only one other member to ask
  });

  it('a failed probe of a member already suspect is a confirmation: it adds us as an accuser and shortens the timeout', () => {
    const n = net();
    const r = n.get('n1');
    const { ping, at } = firstPing(n);
    const target = ping.to;
    const other = target === 'n2' ? 'n3' : 'n2';
    n.drop();
    n.inject(other, 'n1', membersDelta([{ id: target, address: target, incarnation: 1, seq: 0, state: MemberState.Suspect, accusers: [other] }]), at);
    expect(r.membership.get(target)).toMatchObject({ state: MemberState.Suspect, accusers: [other], since: at });
    expect(r.suspicionTimeout(r.membership.get(target)!)).toBe(2000);
    advance(n, 'n1', at + 999);
    tick(n, 'n1', at + 1000);
    const m = r.membership.get(target)!;
    expect(m.accusers).toEqual(['n1', other].sort());
    const shorter = r.suspicionTimeout(m);
    expect(shorter).toBeLessThan(2000);
    n.drop();
    advance(n, 'n1', at + Math.ceil(shorter));
    expect(stateOf(r, target)).toBe(MemberState.Dead);
  });

  it('a new suspicion (a higher seq) of a member already suspect times out as the first would', () => {
    // n2 refuted n3's suspicion (seq 1, alive), which n1 missed; n3 then suspected it again at seq 1.
    // To n1 the state stays Suspect, but the record is new: its own timeout starts again, and ends.
    const n = net();
    const r = n.get('n1');
    n.inject('n3', 'n1', membersDelta([{ id: 'n2', address: 'n2', incarnation: 1, seq: 0, state: MemberState.Suspect, accusers: ['n3'] }]), 10);
    n.inject('n3', 'n1', membersDelta([{ id: 'n2', address: 'n2', incarnation: 1, seq: 1, state: MemberState.Suspect, accusers: ['n3'] }]), 20);
    expect(r.membership.get('n2')).toMatchObject({ state: MemberState.Suspect, seq: 1, since: 20 });
    n.now = 20;
    // Nobody answers n1 (its frames are dropped), and no Dead record reaches it: its own timer decides.
    advance(n, 'n1', 20 + 999);
    expect(stateOf(r, 'n2')).toBe(MemberState.Suspect); // the timeout is at least the minimum, 1,000 ms
    advance(n, 'n1', 20 + 2000); // and at most the maximum
    expect(r.membership.get('n2')).toMatchObject({ state: MemberState.Dead, seq: 1 });
  });

  it('a new accuser of a suspect changes no state: no member event', () => {
    const changes: string[] = [];
    const n = new ManualNet(['n1', 'n2', 'n3'], CFG, { events: (id) => ({ memberChanged: (m, prev) => id === 'n1' && changes.push(`${m.id} ${prev} -> ${m.state}`) }) });
    n.inject('n3', 'n1', membersDelta([{ id: 'n2', address: 'n2', incarnation: 1, seq: 0, state: MemberState.Suspect, accusers: ['n3'] }]), 10);
    n.inject('n3', 'n1', membersDelta([{ id: 'n2', address: 'n2', incarnation: 1, seq: 0, state: MemberState.Suspect, accusers: ['a', 'n3'] }]), 20);
    expect(n.get('n1').membership.get('n2')!.accusers).toEqual(['a', 'n3']);
    expect(changes).toEqual([`n2 ${MemberState.Alive} -> ${MemberState.Suspect}`]);
  });

  it('never lowers its own seq for an old rumour', () => {
    const n = net();
    const r = n.get('n1');
    n.inject('n2', 'n1', membersDelta([{ id: 'n1', address: 'n1', incarnation: 1, seq: 5, state: MemberState.Suspect }]), 10);
    expect(r.membership.get('n1')).toMatchObject({ state: MemberState.Alive, seq: 6 });
    n.inject('n2', 'n1', membersDelta([{ id: 'n1', address: 'n1', incarnation: 1, seq: 2, state: MemberState.Dead }]), 11);
    expect(r.membership.get('n1')).toMatchObject({ state: MemberState.Alive, seq: 6 });
    n.inject('n2', 'n1', membersDelta([{ id: 'n1', address: 'n1', incarnation: 1, seq: 6, state: MemberState.Suspect }]), 12);
    expect(r.membership.get('n1')).toMatchObject({ state: MemberState.Alive, seq: 7 });
  });

  it('after leaving it probes nobody, and keeps its own Left record', () => {
    const n = net();
    const r = n.get('n1');
    advance(n, 'n1', 500);
    r.leave();
    n.drop();
    const sent = advance(n, 'n1', 500 + 3 * CFG.deadForgetMs);
    expect(sent.filter((f) => f.msg.kind === MsgKind.Ping || f.msg.kind === MsgKind.PingReq)).toEqual([]);
    expect(stateOf(r, 'n1')).toBe(MemberState.Left);
  });

  it('forgets a dead member that never became a voter, and a forgotten non-voter\'s tombstone expires at a later forgetting', () => {
    const n = new ManualNet(['n1', 'n2', 'n3'], { ...CFG, tombstoneMs: 20_000 });
    const r = n.get('n1');
    // n8 and n9 reach n1 (not configured: they are joining), then die there.
    for (const id of ['n8', 'n9']) n.inject(id, 'n1', { kind: MsgKind.Ping, body: { seq: 1 } }, 10);
    expect(r.membership.get('n9')).toMatchObject({ state: MemberState.Alive, joining: true });
    n.drop();
    n.inject('n2', 'n1', membersDelta([{ id: 'n9', address: 'n9', incarnation: 1, seq: 1, state: MemberState.Dead, joining: true }]), 100);
    advance(n, 'n1', 100 + CFG.deadForgetMs - 1);
    expect(stateOf(r, 'n9')).toBe(MemberState.Dead);
    tick(n, 'n1', 100 + CFG.deadForgetMs);
    expect(stateOf(r, 'n9')).toBeUndefined();
    expect(r.membership.tombstoneOf('n9')).toEqual({ incarnation: 1, seq: 1 });
    n.drop();
    // Long after, n8 dies and is forgotten: n9's tombstone, past its age, goes then.
    n.inject('n2', 'n1', membersDelta([{ id: 'n8', address: 'n8', incarnation: 1, seq: 1, state: MemberState.Dead, joining: true }]), 30_000);
    n.now = 30_000;
    advance(n, 'n1', 30_000 + CFG.deadForgetMs);
    expect(stateOf(r, 'n8')).toBeUndefined();
    expect(r.membership.tombstoneOf('n8')).toBeDefined();
    expect(r.membership.tombstoneOf('n9')).toBeUndefined();
  });

  it('takes the clock offset from the probe with the shortest round trip', () => {
    const n = net();
    const r = n.get('n1');
    const { ping, at } = firstPing(n);
    const target = ping.to;
    n.drop();
    // The target's clock runs 1,000 ms ahead. Its first ack takes 200 ms back and was stamped late
    // in that trip (an offset seen as 1,090 ms); the second's round trip is 10 ms, stamped midway.
    const seq1 = (ping.msg.body as { seq: number }).seq;
    n.inject(target, 'n1', { kind: MsgKind.Ack, body: { seq: seq1, time: at + 190 + 1000 } }, at + 200);
    expect(r.clockSkew.offset(target, at + 200)).toBe(1090);
    n.now = at + 200;
    let second: Frame | undefined;
    for (let t = at + 201; second === undefined && t < at + 3000; t++) {
      second = tick(n, 'n1', t).find((f) => f.msg.kind === MsgKind.Ping && f.to === target);
      n.drop((f) => f !== second);
    }
    expect(second).toBeDefined();
    const sentAt = n.now;
    n.drop();
    n.inject(target, 'n1', { kind: MsgKind.Ack, body: { seq: (second!.msg.body as { seq: number }).seq, time: sentAt + 5 + 1000 } }, sentAt + 10);
    expect(r.clockSkew.offset(target, sentAt + 10)).toBe(1000);
  });
});
