// The receive path's refusals and bookkeeping (replica.ts `receive`), frame by frame: which frames
// are refused and under what reason and detail, what is counted in stats, and what state stays
// untouched; frames.test.ts covers the envelope checks (version, cluster, garbage).

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { replicaConfig, type ReplicaConfig } from '../../src/replication/config.js';
import { decodeEnvelope, encodeEnvelope, MemberState, MsgKind, type KeyState, type Message } from '../../src/replication/messages.js';
import { Replica } from '../../src/replication/replica.js';
import { SeededRng } from '../../src/util/rng.js';
import { decodeState, encodeKeyState, MULTI_TAG } from '../../src/crdt/registry.js';
import { TypeTag } from '../../src/crdt/codec.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { GCounter } from '../../src/crdt/g-counter.js';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { CrdtError } from '../../src/crdt/errors.js';
import { decodeWithLife, LIFE_TAG } from '../../src/keyspace/life.js';
import { counter, ManualNet, membersDelta } from './manual-net.js';

const k = fullKey(0, 'k');

interface Solo {
  r: Replica;
  /** Frames it sent, decoded, with their sizes. */
  sent: { to: string; msg: Message; bytes: number }[];
  rejected: [peer: string, reason: string, detail: string][];
  removed: number;
}

/** Replica A (incarnation 1) on its own, its frames and the rejections and removal it reports kept. */
function solo(cfg: Partial<ReplicaConfig> = {}): Solo {
  const out: Solo = { r: undefined as unknown as Replica, sent: [], rejected: [], removed: 0 };
  out.r = new Replica({
    config: replicaConfig({ clusterName: 't', gossipIntervalMs: 3_600_000, probeIntervalMs: 3_600_000, probeTimeoutMs: 3_600_000, reconnectIntervalMs: 3_600_000, ...cfg }),
    identity: { nodeId: 'A', incarnation: 1, address: 'A' },
    rng: new SeededRng(1),
    transport: {
      send: (to, bytes) => {
        const d = decodeEnvelope(bytes, 't', 1 << 26);
        if (!d.ok) throw new Error(d.error.detail);
        out.sent.push({ to, msg: d.value.msg, bytes: bytes.length });
      },
    },
    events: { rejected: (peer, reason, detail) => out.rejected.push([peer, reason, detail]), removed: () => out.removed++ },
    now: 1,
  });
  return out;
}

const frame = (from: string, msg: Message, incarnation = 1): Uint8Array => encodeEnvelope({ cluster: 't', from, incarnation, address: from, msg });

/** A's whole state, its members and its vector. */
const snapshot = (r: Replica): string =>
  JSON.stringify([[...r.exportState()].map(([key, v]) => [key, v.tag, Buffer.from(v.bytes).toString('hex')]), r.membership.records(), r.vector()]);

/** A valid state of `key` (a counter at `n`), as another replica encodes it. */
function stateOf(key: string, n: number, id = 'B'): KeyState {
  const s = solo();
  s.r.keyspace.setReplicaId(`${id}:1`);
  s.r.keyspace.incrBy(key, n);
  const e = s.r.keyspace.encodeKey(key)!;
  return { key, tag: e.tag, bytes: e.bytes };
}

const delta = (states: KeyState[]): Message => ({ kind: MsgKind.Delta, body: { ranges: [], states, members: null, more: false } });

describe('the receive path refuses', () => {
  it('a frame that claims our own id: counted as self with the id, nothing else counted or changed', () => {
    const s = solo();
    s.r.keyspace.incrBy(k, 1);
    const before = snapshot(s.r);
    s.r.receive('p', frame('A', delta([stateOf(k, 9)])));
    expect(s.r.stats.rejected).toEqual({ self: 1 });
    expect(s.rejected).toEqual([['p', 'self', "frame claims our own id 'A'"]]);
    expect(s.r.stats.received).toEqual({});
    expect(snapshot(s.r)).toBe(before);
    expect(s.sent).toEqual([]);
  });

  it.each([
    ['a delta', delta],
    ['a read response', (states: KeyState[]): Message => ({ kind: MsgKind.ReadResp, body: { id: 1, states } })],
  ])('%s with a state of an unknown type tag, or one that does not decode, whole: no key, no sender, no stats', (what, make) => {
    const s = solo();
    const before = snapshot(s.r);
    const good = stateOf(k, 2);
    s.r.receive('p', frame('B', make([good, { key: fullKey(0, 'u'), tag: 77, bytes: good.bytes }])));
    s.r.receive('p', frame('B', make([good, { key: fullKey(0, 'u'), tag: good.tag, bytes: new Uint8Array([1, 2, 250, 250]) }])));
    // A state with a life (or of several types) is decoded the general way, and refused the same way.
    s.r.receive('p', frame('B', make([{ key: fullKey(0, 'u'), tag: LIFE_TAG, bytes: new Uint8Array([1]) }, good])));
    expect(s.r.stats.rejected).toEqual({ state: 3 });
    expect(s.rejected[0]).toEqual(['p', 'state', `unknown type tag 77 in ${what}`]);
    // The decoder's own message, named as the state of a delta or read response.
    const why = decodeState(good.tag, new Uint8Array([1, 2, 250, 250]));
    expect(why).toBeInstanceOf(CrdtError);
    expect(s.rejected[1]![2]).toBe(`${what} state: ${(why as CrdtError).message}`);
    const lifeWhy = decodeWithLife(LIFE_TAG, new Uint8Array([1]));
    expect(lifeWhy.ok).toBe(false);
    expect(s.rejected[2]![2]).toBe(`${what} state: ${lifeWhy.ok ? '' : lifeWhy.error.message}`);
    expect(s.r.stats.received).toEqual({});
    expect(snapshot(s.r)).toBe(before);
    expect(s.r.membership.get('B')).toBeUndefined();
  });

  it('a fold bound above our own incarnation for our own id, as malformed, merging nothing; one at it is fine', () => {
    const s = solo();
    const before = snapshot(s.r);
    const state = stateOf(k, 4);
    const withFolds = (bound: number): Message => ({ kind: MsgKind.Delta, body: { ranges: [], states: [state], members: null, more: false, folds: [['A', bound]] } });
    s.r.receive('p', frame('B', withFolds(2)));
    expect(s.r.stats.rejected).toEqual({ malformed: 1 });
    expect(s.rejected).toEqual([['p', 'malformed', 'fold bound 2 for this node, whose incarnation is 1']]);
    expect(snapshot(s.r)).toBe(before);
    s.r.receive('p', frame('B', withFolds(1)));
    expect(s.r.stats.rejected).toEqual({ malformed: 1 });
    expect(counter(s.r, 'k')).toBe(4);
  });
});

describe('the receive path accepts', () => {
  it('once it has fold bounds: a part of a split key with a slot they fold is dropped unapplied, one without is merged, and a whole state is folded before its merge', () => {
    const s = solo();
    /** A PN-Counter state of `key` with these slots (p only). */
    const withSlots = (key: string, slots: Record<string, number>): KeyState => {
      const c = new PNCounter();
      for (const [id, p] of Object.entries(slots)) c.mergeSlot(id, p, 0);
      return { key, tag: TypeTag.PNCounter, bytes: c.encode() };
    };
    const part = (st: KeyState, index: number): Message => ({ kind: MsgKind.Delta, body: { ranges: [], states: [st], members: null, more: false, part: { batch: 1, index } } });
    // The bounds arrive on a frame of their own: x's incarnations below 2 fold into x's pseudo-slot.
    s.r.receive('p', frame('B', { kind: MsgKind.Delta, body: { ranges: [], states: [], members: null, more: false, folds: [['x', 2]] } }));
    expect(s.r.foldBounds()).toEqual([['x', 2]]);
    const before = snapshot(s.r);
    s.r.receive('p', frame('B', part(withSlots(k, { 'x:1': 5, 'x:2': 1 }), 0)));
    expect(snapshot(s.r)).toBe(before);
    // Any state of the frame with such a slot drops it whole: a later one, a G-Counter, a counter
    // kept beside another type's state.
    const g = new GCounter();
    g.mergeSlot('x:1', 2, 0);
    const h = HyperLogLog.create();
    h.add('v');
    const pn = new PNCounter();
    pn.mergeSlot('x:1', 2, 0);
    const both = encodeKeyState([
      { tag: TypeTag.PNCounter, bytes: pn.encode() },
      { tag: TypeTag.HyperLogLog, bytes: h.encode() },
    ]);
    const m = fullKey(0, 'm');
    for (const states of [[withSlots(fullKey(0, 'j'), { 'B:1': 1 }), withSlots(k, { 'x:1': 5 })], [{ key: m, tag: TypeTag.GCounter, bytes: g.encode() }], [{ key: m, ...both }]]) {
      s.r.receive('p', frame('B', { kind: MsgKind.Delta, body: { ranges: [], states, members: null, more: false, part: { batch: 1, index: 0 } } }));
      expect(snapshot(s.r)).toBe(before);
    }
    s.r.receive('p', frame('B', part(withSlots(k, { 'x:2': 1, 'B:1': 3 }), 1)));
    expect(counter(s.r, 'k')).toBe(4);
    // A whole state (no part) with a slot the bounds fold: folded, then merged.
    const j = fullKey(0, 'j');
    s.r.receive('p', frame('B', delta([withSlots(j, { 'x:1': 5, 'x:2': 1 })])));
    expect(counter(s.r, 'j')).toBe(6);
    expect((s.r.keyspace.entry(j)?.crdt as PNCounter).slotIds().sort()).toEqual(['x:2', 'x:retired']);
    expect(s.r.stats.rejected).toEqual({});
  });

  it('states with a TTL (their life travels with them)', () => {
    const s = solo();
    const b = solo();
    b.r.keyspace.setReplicaId('B:1');
    b.r.keyspace.incrBy(k, 6);
    expect(b.r.keyspace.expire(k, 1e12)).toBe(true);
    const e = b.r.keyspace.encodeKey(k)!;
    s.r.receive('p', frame('B', delta([{ key: k, tag: e.tag, bytes: e.bytes }])));
    expect(s.r.stats.rejected).toEqual({});
    expect(counter(s.r, 'k')).toBe(6);
  });
});

describe('the receive path accepts a key that has held several types', () => {
  it('(its states travel together under the multi-type tag)', () => {
    const s = solo();
    const b = solo();
    b.r.keyspace.setReplicaId('B:1');
    b.r.keyspace.incrBy(k, 6);
    b.r.keyspace.del(k);
    expect(b.r.keyspace.pfadd(k, [Buffer.from('x')]).ok).toBe(true);
    const e = b.r.keyspace.encodeKey(k)!;
    expect(e.tag).toBe(MULTI_TAG);
    s.r.receive('p', frame('B', delta([{ key: k, tag: e.tag, bytes: e.bytes }])));
    expect(s.r.stats.rejected).toEqual({});
    expect(s.r.exportState().get(k)).toEqual(e);
  });
});

describe('stats of frames', () => {
  it('counts every frame received and sent, per kind, with its bytes', () => {
    const s = solo();
    const f1 = frame('B', delta([stateOf(k, 1)]));
    const f2 = frame('B', delta([stateOf(fullKey(0, 'other'), 1)]));
    s.r.receive('p', f1);
    s.r.receive('p', f2);
    expect(s.r.stats.received).toEqual({ delta: { frames: 2, bytes: f1.length + f2.length } });
    s.r.pullFrom('B');
    s.r.pullFrom('B');
    const digests = s.sent.filter((f) => f.msg.kind === MsgKind.Digest);
    expect(digests.length).toBe(2);
    expect(s.r.stats.sent.digest).toEqual({ frames: 2, bytes: digests[0]!.bytes + digests[1]!.bytes });
  });
});

describe('a digest that asks for our vector', () => {
  it('gets a full exchange even when the hashes agree; one that does not ask gets nothing', () => {
    const n = new ManualNet(['A', 'B']);
    const A = n.get('A');
    const ask = (askVector: boolean): Message => ({
      kind: MsgKind.Digest,
      body: { hash: A.versions.advertisedHash, membersHash: A.membership.hash, vector: null, wantReply: true, ...(askVector ? { askVector: true } : {}) },
    });
    n.inject('B', 'A', ask(false));
    expect(n.queue).toEqual([]);
    n.inject('B', 'A', ask(true));
    expect(n.queue.map((f) => [f.to, f.msg.kind])).toEqual([['B', MsgKind.Digest]]);
    expect(n.queue[0]!.msg.body).toMatchObject({ wantReply: true, vector: [] });
  });
});

describe('while leaving', () => {
  it('answers probes only: no digest answered, no delta merged', () => {
    const n = new ManualNet(['A', 'B', 'C', 'D', 'E'], { fanout: 1 });
    const A = n.get('A');
    n.get('B').keyspace.incrBy(k, 5);
    A.leave();
    // Told max(fanout, 3) peers that it left: its table, and no pull after it.
    const told = n.queue.filter((f) => f.from === 'A');
    expect(told.length).toBe(3);
    for (const f of told) expect(f.msg).toMatchObject({ kind: MsgKind.Delta, body: { ranges: [], states: [], more: false } });
    expect(told.every((f) => f.msg.kind === MsgKind.Delta && f.msg.body.members?.find((m) => m.id === 'A')?.state === MemberState.Left)).toBe(true);
    n.drop();
    A.leave();
    expect(n.queue).toEqual([]);
    n.sync('B', 'A');
    const e = n.get('B').keyspace.encodeKey(k)!;
    n.inject('B', 'A', delta([{ key: k, tag: e.tag, bytes: e.bytes }]));
    expect(counter(A, 'k')).toBeNull();
    expect(n.queue).toEqual([]);
    // A gossip round sends nothing either.
    n.now += 3_600_001;
    A.tick(n.now);
    expect(n.queue.filter((f) => f.from === 'A' && f.msg.kind !== MsgKind.Ping && f.msg.kind !== MsgKind.PingReq)).toEqual([]);
    n.drop();
    n.inject('B', 'A', { kind: MsgKind.Ping, body: { seq: 7 } });
    expect(n.queue.map((f) => [f.from, f.to, f.msg.kind])).toEqual([['A', 'B', MsgKind.Ack]]);
    expect(A.stats.received.ping?.frames).toBe(1);
  });
});

describe('removed by an operator', () => {
  it('stops at the first removed record of its own id, and reports it once', () => {
    const n = new ManualNet(['A', 'B', 'C']);
    const s = solo();
    const removed = membersDelta([{ id: 'A', address: 'A', incarnation: Number.MAX_SAFE_INTEGER, seq: 0, state: MemberState.Removed }]);
    s.r.receive('B', frame('B', removed));
    s.r.receive('C', frame('C', removed));
    expect(s.removed).toBe(1);
    expect(s.r.removed).toBe(true);
    s.sent.length = 0;
    s.r.keyspace.incrBy(k, 1);
    s.r.pullFrom('B');
    s.r.receive('B', frame('B', { kind: MsgKind.Digest, body: { hash: '0'.repeat(16), membersHash: '0'.repeat(16), vector: [], wantReply: true } }));
    expect(s.sent.filter((f) => f.msg.kind === MsgKind.Delta)).toEqual([]);
    expect(n.nodes.size).toBe(3);
  });
});

describe('a graceful leave for good', () => {
  it('is departed once done, and a second leave is refused as busy', () => {
    const n = new ManualNet(['A', 'B', 'C'], { gossipIntervalMs: 100 });
    const A = n.get('A');
    const outs: unknown[] = [];
    expect(A.departed).toBe(false);
    A.leaveCluster(n.now + 10_000, (o) => outs.push(o));
    n.deliver((f) => f.msg.kind === MsgKind.Digest);
    n.drop();
    A.tick(n.now);
    expect(outs).toEqual([{ ok: true, holders: 2, needed: 2 }]);
    expect(A.departed).toBe(true);
    A.leaveCluster(n.now + 10_000, (o) => outs.push(o));
    expect(outs[1]).toEqual({ ok: false, holders: 0, needed: 0, failure: 'busy' });
  });
});
