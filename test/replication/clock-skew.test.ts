// Clock offsets between nodes: probe round trips give NTP-style estimates, and a node finds its own
// clock off only when most of its peers do (one bad peer is that peer's problem).

import { describe, expect, it } from 'vitest';
import { ClockSkew } from '../../src/replication/clock-skew.js';
import { MsgKind } from '../../src/replication/messages.js';
import { ManualNet } from './manual-net.js';

describe('ClockSkew', () => {
  it('judges our clock by the majority of peers, prefers short round trips, and forgets old samples', () => {
    const c = new ClockSkew(500);
    expect(c.status(0)).toMatchObject({ ok: true, peers: 0 });
    c.sample('b', 10, 2, 0);
    c.sample('c', 3_600_000, 2, 0); // c's clock is an hour ahead of ours: c's problem
    expect(c.status(0)).toMatchObject({ ok: true, peers: 2, beyond: 1 });
    c.sample('d', -20, 4, 0);
    expect(c.status(0).ok).toBe(true);
    // Now we are the odd one out: everyone finds us an hour behind.
    const us = new ClockSkew(500);
    for (const p of ['b', 'c', 'd']) us.sample(p, 3_600_000 + (p === 'c' ? 30 : 0), 5, 0);
    const s = us.status(0);
    expect(s.ok).toBe(false);
    expect(s.offsetMs).toBe(-3_600_000); // our clock minus theirs: behind
    // The best of several samples: the shortest round trip.
    c.sample('e', 400, 300, 0);
    c.sample('e', 12, 3, 1);
    expect(c.offset('e', 1)).toBe(12);
    // A clock that stepped: recent samples win over precise old ones.
    c.sample('e', 90_000, 1_000_000, 40_000);
    expect(c.offset('e', 40_000)).toBe(90_000);
    // Five minutes without news: the peer no longer counts.
    expect(c.offset('b', 10 * 60_000)).toBeUndefined();
  });

  it('a probe round trip estimates the target clock minus ours', () => {
    const net = new ManualNet(['A', 'B'], { probeIntervalMs: 1000, probeTimeoutMs: 500 });
    const A = net.get('A');
    const B = net.get('B');
    A.tick(5_000); // A probes B (its only peer)
    const ping = net.queue.find((f) => f.msg.kind === MsgKind.Ping);
    expect(ping?.to).toBe('B');
    net.queue = [];
    // B's clock runs 7 s ahead of A's; the ping takes 10 ms each way.
    B.receive('A', (ping as { bytes: Uint8Array }).bytes, 5_010 + 7_000);
    const ack = net.queue.find((f) => f.msg.kind === MsgKind.Ack);
    expect(ack).toBeDefined();
    A.receive('B', (ack as { bytes: Uint8Array }).bytes, 5_020);
    expect(A.clockSkew.offset('B', 5_020)).toBe(7_000);
  });

  it('a sample that contradicts an older one beyond both error bars replaces it: the clock stepped', () => {
    const c = new ClockSkew(500);
    c.sample('b', 10, 2, 0); // precise
    c.sample('b', 60_000, 8, 1_000); // less precise, but 60 s away from it: someone's clock stepped
    expect(c.offset('b', 1_000)).toBe(60_000);
    // Within the error bars: the more precise sample still wins.
    c.sample('b', 60_030, 100, 2_000);
    expect(c.offset('b', 2_000)).toBe(60_000);
  });

  it('after our own clock jumped, it is unverified until a peer measures it again (unless there is no peer at all)', () => {
    const c = new ClockSkew(500);
    c.sample('b', 5, 2, 0);
    c.jumped(100_000);
    expect(c.status(100_001)).toMatchObject({ ok: false, unverified: true, peers: 0 });
    expect(c.status(10_000_000).ok).toBe(false); // cut off from every peer: no amount of waiting verifies it
    c.sample('b', 7, 2, 100_500);
    expect(c.status(100_500)).toMatchObject({ ok: true, unverified: false, peers: 1 });
    // A one-node cluster has nobody to ask: its clock is trusted.
    const lone = new ClockSkew(500);
    lone.jumped(0);
    expect(lone.status(1, true)).toMatchObject({ ok: true, unverified: false });
  });

  it('a replica that sees its clock jump forward re-measures it before trusting it', () => {
    const net = new ManualNet(['A', 'B'], { probeIntervalMs: 1000, probeTimeoutMs: 500, gossipIntervalMs: 200 });
    const A = net.get('A');
    A.tick(1_000);
    A.tick(1_050);
    expect(A.clockStatus(1_050).ok).toBe(true);
    A.tick(301_050); // five minutes in one step
    expect(A.clockStatus(301_050)).toMatchObject({ ok: false, unverified: true });
  });

  it('a one-node cluster that never had a peer trusts its clock after a jump: nobody could measure it', () => {
    const net = new ManualNet(['L'], { probeIntervalMs: 1000, probeTimeoutMs: 500, gossipIntervalMs: 200 });
    const L = net.get('L');
    L.tick(1_000);
    L.tick(301_050);
    expect(L.clockStatus(301_050)).toMatchObject({ ok: true, unverified: false });
  });

  it('no timer stays further away than its interval after the clock steps back', () => {
    const net = new ManualNet(['A', 'B'], { probeIntervalMs: 1000, probeTimeoutMs: 500, gossipIntervalMs: 200, reconnectIntervalMs: 2000 });
    const A = net.get('A');
    A.tick(100_000);
    A.tick(40_000); // an NTP step back by a minute
    expect(A.nextTickAt()).toBeLessThanOrEqual(40_000 + 200);
    expect(A.clockStatus(40_000)).toMatchObject({ ok: false, unverified: true }); // and it is re-measured
    net.queue = [];
    A.tick(A.nextTickAt());
    expect(net.queue.length).toBeGreaterThan(0); // it gossips on the new clock, not a minute later
  });
});

describe('ClockSkew boundaries', () => {
  it('keeps the last 8 samples of a peer: a ninth drops the oldest', () => {
    const c = new ClockSkew(500);
    c.sample('b', 11, 1, 0); // the most precise, and the oldest (within the others' error bars: no step)
    for (let i = 1; i <= 7; i++) c.sample('b', i, 10, i);
    expect(c.offset('b', 10)).toBe(11);
    c.sample('b', 8, 10, 8);
    expect(c.offset('b', 10)).toBe(8); // equal round trips: the latest
  });

  it('a sample is recent up to 30 s (inclusive), and counts up to 5 min (inclusive) when none is', () => {
    const c = new ClockSkew(500);
    c.sample('b', 5, 1, 0);
    c.sample('b', 9, 50, 10_000);
    expect(c.offset('b', 30_000)).toBe(5);
    expect(c.offset('b', 30_001)).toBe(9); // only the later one is recent
    expect(c.offset('b', 40_000)).toBe(9);
    expect(c.offset('b', 40_001)).toBe(9); // none recent: the latest
    expect(c.offset('b', 310_000)).toBe(9);
    expect(c.offset('b', 310_001)).toBeUndefined();
    expect(c.offset('nobody', 0)).toBeUndefined();
    // Ages count back from now: both samples of a later minute are recent, the precise one wins.
    c.sample('b', 6, 1, 100_000);
    c.sample('b', 10, 50, 110_000);
    expect(c.offset('b', 120_000)).toBe(6);
  });

  it('forgets peers without a current estimate', () => {
    const c = new ClockSkew(500);
    c.sample('b', 5, 1, 0);
    c.sample('c', 7, 1, 300_000);
    expect([...c.offsets(300_001)]).toEqual([['c', 7]]);
    // b is gone for good: a later look finds nothing even at an earlier time.
    expect(c.offset('b', 0)).toBeUndefined();
    expect(c.status(300_001).peers).toBe(1);
  });

  it('a peer exactly at the bound is within it; half the peers beyond is not yet our fault', () => {
    const c = new ClockSkew(500);
    c.sample('b', 500, 1, 0);
    c.sample('c', -500, 1, 0);
    expect(c.status(0)).toEqual({ ok: true, offsetMs: 500, peers: 2, beyond: 0, boundMs: 500, unverified: false });
    c.sample('d', 501, 1, 0);
    c.sample('e', -501, 1, 0);
    // Sorted -501, -500, 500, 501: the lower middle is the median.
    expect(c.status(0)).toEqual({ ok: true, offsetMs: 500, peers: 4, beyond: 2, boundMs: 500, unverified: false });
    c.sample('f', 900, 1, 0);
    expect(c.status(0)).toEqual({ ok: false, offsetMs: -500, peers: 5, beyond: 3, boundMs: 500, unverified: false });
    expect(new ClockSkew(500).status(0)).toMatchObject({ ok: true, peers: 0, beyond: 0 });
    expect(new ClockSkew(500).status(0).offsetMs === 0).toBe(true); // no peers: no offset (not NaN)
  });
});
