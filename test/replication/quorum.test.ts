// Quorum waits frame by frame (src/replication/quorum.ts): who counts as holding our writes (a voter,
// not stopped, at or past the version, for our origin only), the eager push of our writes, majority
// reads (asked of every live peer, merged whatever the answer, counted only for voters, large
// answers in parts), and majority waits on a joining node that does not know the voters yet.
// docs/consistency.md. known.test.ts covers what a peer may claim to hold.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { decodeEnvelope, encodeEnvelope, MemberState, MsgKind, type MemberRecord, type Message } from '../../src/replication/messages.js';
import type { WaitOutcome } from '../../src/replication/waiters.js';
import { replicaConfig } from '../../src/replication/config.js';
import { Replica } from '../../src/replication/replica.js';
import { SeededRng } from '../../src/util/rng.js';
import { counter, ManualNet, membersDelta } from './manual-net.js';

const k = fullKey(0, 'k');

const have = (origin: string, known: number): Message => ({ kind: MsgKind.Have, body: { vector: [{ origin, known }] } });

/** Three nodes, n1 having written k once (its version 1). */
function written(): { n: ManualNet; r: Replica } {
  const n = new ManualNet(['n1', 'n2', 'n3']);
  const r = n.get('n1');
  r.keyspace.incrBy(k, 1);
  return { n, r };
}

describe('quorum: holders of our writes', () => {
  it('counts a peer once it says it holds our origin at or past the version, and never for another origin', () => {
    const n = new ManualNet(['n1', 'n2', 'n3', 'n4']);
    const r = n.get('n1');
    r.keyspace.incrBy(k, 1);
    r.keyspace.incrBy(k, 1);
    const v = r.version;
    expect(v).toBe(2);
    expect(r.holdersOf(v)).toBe(0);
    n.inject('n2', 'n1', have('n1:1', v - 1));
    expect(r.holdersOf(v)).toBe(0);
    expect(r.holdersOf(v - 1)).toBe(1);
    n.inject('n2', 'n1', have('n3:1', v)); // another origin's version says nothing of ours
    expect(r.holdersOf(v)).toBe(0);
    n.inject('n2', 'n1', have('n1:1', v));
    n.inject('n2', 'n1', have('n1:1', v - 1)); // an older report does not lower it
    expect(r.holdersOf(v)).toBe(1);
    n.inject('n3', 'n1', have('n1:1', v + 5));
    expect(r.holdersOf(v)).toBe(2);
  });

  it('does not count a stopped member, a joining one, or a restarted one until it says so again', () => {
    const n = new ManualNet(['n1', 'n2', 'n3', 'n4']);
    const r = n.get('n1');
    r.keyspace.incrBy(k, 1);
    for (const p of ['n2', 'n3', 'n4']) n.inject(p, 'n1', have('n1:1', 1));
    expect(r.holdersOf(1)).toBe(3);
    n.inject('n3', 'n1', membersDelta([{ id: 'n2', address: 'n2', incarnation: 1, seq: 5, state: MemberState.Left }]));
    expect(r.holdersOf(1)).toBe(2);
    // n3 restarts (a frame at incarnation 2): what it held may be gone.
    n.inject('n3', 'n1', { kind: MsgKind.Ping, body: { seq: 1 } }, n.now, 2);
    expect(r.holdersOf(1)).toBe(1);
    n.inject('n3', 'n1', have('n1:1', 1), n.now, 2);
    expect(r.holdersOf(1)).toBe(2);
    // A member only heard of, joining, holds the write but is no voter.
    n.inject('j', 'n1', have('n1:1', 1));
    expect(r.membership.get('j')?.joining).toBe(true);
    expect(r.holdersOf(1)).toBe(2);
  });

  it('a wait pushes our writes at once to every live peer that lacks them, and ends when enough hold them', () => {
    const { n, r } = written();
    n.inject('n3', 'n1', have('n1:1', 1));
    let out: WaitOutcome | undefined;
    r.awaitHolders(1, 2, 1e12, (o) => (out = o));
    // Only n2 lacks it: the push goes there, carrying the write.
    const pushed = n.queue.filter((f) => f.msg.kind === MsgKind.Delta);
    expect(pushed.map((f) => f.to)).toEqual(['n2']);
    n.deliver((f) => f.to === 'n2');
    expect(counter(n.get('n2'), 'k')).toBe(1);
    expect(out).toBeUndefined();
    n.inject('n2', 'n1', have('n1:1', 1));
    expect(out).toEqual({ ok: true, count: 2, needed: 2 });
  });

  it('a wait already met, or for no peers, pushes nothing', () => {
    const { n, r } = written();
    let out: WaitOutcome | undefined;
    r.awaitHolders(1, 0, 1e12, (o) => (out = o));
    expect(out).toEqual({ ok: true, count: 0, needed: 0 });
    expect(n.queue).toEqual([]);
    n.inject('n2', 'n1', have('n1:1', 1));
    r.awaitHolders(1, 1, 1e12, (o) => (out = o));
    expect(out).toEqual({ ok: true, count: 1, needed: 1 });
    expect(n.queue).toEqual([]);
  });

  it('a wait times out at its deadline with the count it reached', () => {
    const { n, r } = written();
    n.inject('n2', 'n1', have('n1:1', 1));
    let out: WaitOutcome | undefined;
    r.awaitHolders(1, 2, 500, (o) => (out = o));
    n.drop();
    r.tick(499);
    expect(out).toBeUndefined();
    r.tick(500);
    expect(out).toEqual({ ok: false, count: 1, needed: 2 });
  });
});

describe('quorum: majorities', () => {
  it('a voter needs a majority of the voters besides itself; a joining node counts itself out', () => {
    const n = new ManualNet(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(n.get('n1').clusterSize()).toBe(5);
    expect(n.get('n1').majorityPeers()).toBe(2);
    const four = new ManualNet(['n1', 'n2', 'n3', 'n4']);
    expect(four.get('n1').majorityPeers()).toBe(2); // a majority of 4 is 3: two besides n1
    const one = new ManualNet(['solo']);
    expect(one.get('solo').majorityPeers()).toBe(0);
  });
});

describe('quorum: majority reads', () => {
  it('asks every live peer, merges every answer, and counts only voters', () => {
    const n = new ManualNet(['n1', 'n2', 'n3', 'n4', 'n5']);
    n.get('n2').keyspace.incrBy(k, 2);
    n.get('n4').keyspace.incrBy(k, 5);
    n.inject('n3', 'n1', membersDelta([{ id: 'n5', address: 'n5', incarnation: 1, seq: 3, state: MemberState.Dead }]));
    const j = n.add('j', 1);
    j.keyspace.incrBy(k, 100);
    n.inject('j', 'n1', { kind: MsgKind.Ping, body: { seq: 1 } }); // n1 learns j (joining)
    n.drop();
    const r = n.get('n1');
    let out: WaitOutcome | undefined;
    r.majorityRead([k, fullKey(0, 'absent')], 1e12, (o) => (out = o));
    const asked = n.queue.filter((f) => f.msg.kind === MsgKind.ReadReq);
    expect(asked.map((f) => f.to).sort()).toEqual(['j', 'n2', 'n3', 'n4']); // not the dead n5
    expect(asked[0]!.msg.body).toMatchObject({ keys: [k, fullKey(0, 'absent')] });
    n.deliver((f) => f.msg.kind === MsgKind.ReadReq && (f.to === 'j' || f.to === 'n2'));
    // j's answer is merged, n2's too; only n2 counts.
    const answers = n.queue.filter((f) => f.msg.kind === MsgKind.ReadResp);
    expect(answers.find((f) => f.from === 'n2')!.msg.body).toMatchObject({ states: [{ key: k }] }); // the absent key is not sent
    n.deliver((f) => f.msg.kind === MsgKind.ReadResp && f.from === 'j');
    expect(counter(r, 'k')).toBe(100);
    expect(out).toBeUndefined();
    n.deliver((f) => f.msg.kind === MsgKind.ReadResp && f.from === 'n2');
    expect(counter(r, 'k')).toBe(102);
    expect(out).toBeUndefined(); // 1 of the 2 peers needed
    n.deliver((f) => f.to === 'n4' || f.from === 'n4');
    expect(out).toEqual({ ok: true, count: 2, needed: 2 });
    expect(counter(r, 'k')).toBe(107);
  });

  it('on a lone node is done at once and asks nobody', () => {
    const n = new ManualNet(['solo']);
    let out: WaitOutcome | undefined;
    // A joining member it heard from is no voter: still a majority alone, and nobody is asked.
    n.inject('j', 'solo', { kind: MsgKind.Ping, body: { seq: 1 } });
    n.drop();
    n.get('solo').majorityRead([k], 1e12, (o) => (out = o));
    expect(out).toEqual({ ok: true, count: 0, needed: 0 });
    expect(n.queue).toEqual([]);
  });

  it('an answer too large for one frame comes as parts, and counts once they all arrived', () => {
    const n = new ManualNet(['n1', 'n2', 'n3'], { maxMessageBytes: 4096 });
    const big = fullKey(0, 'big');
    const b = n.get('n2');
    b.keyspace.pfadd(big, Array.from({ length: 3000 }, (_, i) => Buffer.from(`e${i}`))); // dense: 12 KB
    n.drop();
    const r = n.get('n1');
    let out: WaitOutcome | undefined;
    r.majorityRead([big], 1e12, (o) => (out = o));
    n.deliver((f) => f.msg.kind === MsgKind.ReadReq && f.to === 'n2');
    const fromB = n.queue.filter((f) => f.from === 'n2');
    const resp = fromB.find((f) => f.msg.kind === MsgKind.ReadResp)!;
    expect(resp.msg.body).toMatchObject({ states: [] });
    const needs = (resp.msg.body as { needs?: { parts: number } }).needs;
    expect(needs?.parts).toBeGreaterThan(1);
    expect(fromB.filter((f) => f.msg.kind === MsgKind.Delta).length).toBe(needs!.parts);
    // The answer alone (its parts lost) does not count.
    n.deliver((f) => f.from === 'n2' && f.msg.kind === MsgKind.ReadResp);
    expect(out).toBeUndefined();
    const n2 = new ManualNet(['n1', 'n2', 'n3'], { maxMessageBytes: 4096 });
    n2.get('n2').keyspace.pfadd(big, Array.from({ length: 3000 }, (_, i) => Buffer.from(`e${i}`)));
    n2.drop();
    let out2: WaitOutcome | undefined;
    n2.get('n1').majorityRead([big], 1e12, (o) => (out2 = o));
    n2.deliver((f) => f.to === 'n2' || f.from === 'n2');
    expect(out2).toEqual({ ok: true, count: 1, needed: 1 });
    const v1 = n2.get('n1').keyspace.pfcount([big]);
    const v2 = n2.get('n2').keyspace.pfcount([big]);
    expect(v1.ok && v2.ok && v1.value === v2.value && v1.value > 2500).toBe(true);
  });
});

describe('quorum: a joining node that does not know the voters', () => {
  /** A node joining through seeds: it knows only itself until a voter sends it the membership table. */
  function joiner(sent: Message[] = []): Replica {
    return new Replica({
      config: replicaConfig({ clusterName: 't', gossipIntervalMs: 3_600_000, probeIntervalMs: 3_600_000, probeTimeoutMs: 3_600_000, reconnectIntervalMs: 3_600_000 }),
      identity: { nodeId: 'j', incarnation: 1, address: 'j' },
      rng: new SeededRng(3),
      transport: {
        send: (_to, bytes) => {
          const d = decodeEnvelope(bytes, 't', 1 << 26);
          if (d.ok) sent.push(d.value.msg);
        },
      },
      joining: true,
      now: 1,
    });
  }

  it('defers majority writes and reads until it knows the voters, failing them at the deadline', () => {
    const j = joiner();
    expect(j.majorityPeers()).toBeUndefined();
    const outs: WaitOutcome[] = [];
    j.keyspace.incrBy(k, 1);
    j.awaitMajority(j.version, 100, (o) => outs.push(o));
    j.majorityRead([k], 100, (o) => outs.push(o));
    expect(j.nextTickAt()).toBeLessThanOrEqual(100);
    j.tick(99);
    expect(outs).toEqual([]);
    j.tick(100);
    expect(outs).toEqual([
      { ok: false, count: 0, needed: 0, votersUnknown: true },
      { ok: false, count: 0, needed: 0, votersUnknown: true },
    ]);
  });

  it('wants a tick at the earliest deadline of its deferred waits', () => {
    const j = joiner();
    j.tick(1); // its first round of asks for vectors: the next is a gossip interval away
    const outs: string[] = [];
    j.keyspace.incrBy(k, 1);
    j.awaitMajority(j.version, 900, () => outs.push('write'));
    j.majorityRead([k], 300, () => outs.push('read'));
    expect(j.nextTickAt()).toBe(300);
    j.tick(300);
    expect(outs).toEqual(['read']);
    expect(j.nextTickAt()).toBe(900);
    j.tick(900);
    expect(outs).toEqual(['read', 'write']);
  });

  it('starts them once a voter sends it the table', () => {
    const sent: Message[] = [];
    const j = joiner(sent);
    const outs: WaitOutcome[] = [];
    j.majorityRead([k], 1e12, (o) => outs.push(o));
    expect(sent.filter((m) => m.kind === MsgKind.ReadReq)).toEqual([]); // nobody to ask yet
    const table: MemberRecord[] = [
      { id: 'n1', address: 'n1', incarnation: 1, seq: 0, state: MemberState.Alive },
      { id: 'n2', address: 'n2', incarnation: 1, seq: 0, state: MemberState.Alive },
      { id: 'n3', address: 'n3', incarnation: 1, seq: 0, state: MemberState.Alive },
    ];
    j.receive('n1', encodeEnvelope({ cluster: 't', from: 'n1', incarnation: 1, address: 'n1', msg: membersDelta(table) }), 5);
    expect(j.majorityPeers()).toBe(2); // a majority of the 3 voters; j is not one yet
    j.tick(6);
    expect(outs).toEqual([]); // started: now waiting for two answers
    const reqs = sent.filter((m) => m.kind === MsgKind.ReadReq);
    expect(reqs.length).toBe(3);
    const id = (reqs[0]!.body as { id: number }).id;
    for (const p of ['n1', 'n2']) j.receive(p, encodeEnvelope({ cluster: 't', from: p, incarnation: 1, address: p, msg: { kind: MsgKind.ReadResp, body: { id, states: [] } } }), 7);
    expect(outs).toEqual([{ ok: true, count: 2, needed: 2 }]);
  });
});
