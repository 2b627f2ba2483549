// The version log's guarantee: known(origin) = v implies the node holds every update of that origin
// up to v, however transfers were cut, lost or relayed; so WAIT and majority writes never count a
// peer that lacks the write, and a majority read after a majority write sees it (repro r1).

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { MsgKind } from '../../src/replication/messages.js';
import { counter, ManualNet } from './manual-net.js';

const filler = (i: number): string => fullKey(0, `filler-${'x'.repeat(100)}${i}`);

describe('known never runs ahead of the data', () => {
  it('a relay in mid-transfer hands on a superseded entry with its key: no peer claims a version it lacks (r1)', () => {
    const net = new ManualNet(['A', 'Q', 'R', 'X', 'Y'], { maxMessageBytes: 4096 });
    const A = net.get('A');
    const Q = net.get('Q');
    const R = net.get('R');
    const X = net.get('X');
    const k = fullKey(0, 'k');
    // A majority write of k (version 1); the eager push is lost.
    A.keyspace.incrBy(k, 1);
    let acked: { ok: boolean; count: number } | null = null;
    A.awaitMajority(A.version, 1e12, (o) => (acked = o));
    net.drop();
    net.sync('Q', 'A');
    expect(Q.versions.known('A:1')).toBe(1);
    // A writes k again (v2) and a backlog larger than a frame; Q gets only the first chunk.
    A.keyspace.incrBy(k, 1);
    for (let i = 0; i < 60; i++) A.keyspace.incrBy(filler(i), 1);
    Q.pullFrom('A');
    net.deliver((f) => f.from === 'Q' && f.to === 'A' && f.msg.kind === MsgKind.Digest);
    net.deliver((f) => f.from === 'A' && f.to === 'Q' && f.msg.kind === MsgKind.Delta, 1);
    net.drop();
    expect(Q.versions.known('A:1')).toBe(1);
    // R (empty) pulls from Q: whatever it now claims of A, it holds.
    net.sync('R', 'Q');
    net.drop();
    if (R.versions.known('A:1') >= 1) expect(counter(R, 'k')).not.toBeNull();
    // R's digest reaches A: A counts R only if R holds the write.
    R.pullFrom('A');
    net.deliver((f) => f.from === 'R' && f.to === 'A' && f.msg.kind === MsgKind.Digest);
    net.drop();
    if (A.holdersOf(1) >= 2) expect([counter(Q, 'k'), counter(R, 'k')].every((v) => v !== null)).toBe(true);
    expect(acked === null || (acked as { ok: boolean }).ok).toBe(true);
    // A majority read on X, answered by R and Y, sees every majority-acknowledged write.
    let read: { ok: boolean } | null = null;
    X.majorityRead([k], 1e12, (o) => (read = o));
    net.deliver((f) => (f.to === 'R' || f.to === 'Y') && f.msg.kind === MsgKind.ReadReq);
    net.deliver((f) => f.to === 'X' && f.msg.kind === MsgKind.ReadResp);
    expect(read).not.toBeNull();
    if (acked !== null && (acked as { ok: boolean }).ok) expect(counter(X, 'k')).not.toBeNull();
    // The exact outcome: R holds k (version 1 came with it), so the write was acknowledged, and read.
    expect(R.versions.known('A:1')).toBe(1);
    expect(counter(R, 'k')).toBe(2);
    expect(acked).toMatchObject({ ok: true, count: 2 });
    expect(counter(X, 'k')).toBe(2);
  });

  it('chunks from two senders never combine into a gap: a cursor holds only for the sender that cut the transfer', () => {
    const net = new ManualNet(['A', 'T', 'R'], { maxMessageBytes: 4096 });
    const A = net.get('A');
    const T = net.get('T');
    const R = net.get('R');
    const k = fullKey(0, 'k');
    A.keyspace.incrBy(k, 1); // v1: k
    for (let i = 0; i < 29; i++) A.keyspace.incrBy(filler(i), 1); // v2..v30
    // T holds all of A up to v30 (k at v1 included).
    for (let i = 0; i < 10; i++) net.sync('T', 'A');
    expect(T.versions.known('A:1')).toBe(30);
    for (let i = 29; i < 60; i++) A.keyspace.incrBy(filler(i), 1); // v31..v61
    A.keyspace.incrBy(k, 1); // v62: k again, so A's own entry at v1 is superseded
    // R's first chunk comes from A, which skips k (its v1 is superseded there, its v62 is far ahead).
    R.pullFrom('A');
    net.deliver((f) => f.from === 'R' && f.to === 'A' && f.msg.kind === MsgKind.Digest);
    net.deliver((f) => f.from === 'A' && f.to === 'R' && f.msg.kind === MsgKind.Delta, 1);
    net.drop();
    expect(counter(R, 'k')).toBeNull();
    expect(R.versions.known('A:1')).toBe(0);
    // R then pulls from T, which holds A up to v30: R must not resume T's range at A's cursor.
    net.sync('R', 'T');
    expect(R.versions.known('A:1')).toBe(30);
    expect(counter(R, 'k')).toBe(1);
  });
});

describe('a cursor belongs to one incarnation of its sender', () => {
  it('a relay that restarted under the same address does not resume its old transfer: its new log may lack what the old one skipped', () => {
    const net = new ManualNet(['A', 'S', 'T', 'B'], { maxMessageBytes: 4096 });
    const A = net.get('A');
    const T = net.get('T');
    const B = net.get('B');
    const k = fullKey(0, 'k');
    A.keyspace.incrBy(k, 1); // v1: k
    for (let i = 0; i < 29; i++) A.keyspace.incrBy(filler(i), 1); // v2..v30
    for (let i = 0; i < 10; i++) net.sync('T', 'A'); // T holds A up to v30, k at v1
    expect(T.versions.known('A:1')).toBe(30);
    for (let i = 29; i < 60; i++) A.keyspace.incrBy(filler(i), 1); // v31..v61
    A.keyspace.incrBy(k, 1); // v62: k again; in a log that holds it, k's v1 entry is superseded
    for (let i = 0; i < 20; i++) net.sync('S', 'A'); // S (incarnation 1) holds all of A
    expect(net.get('S').versions.known('A:1')).toBe(62);
    // B's first chunk comes from S:1, which skips k (superseded there, its v62 far ahead).
    B.pullFrom('S');
    net.deliver((f) => f.from === 'B' && f.to === 'S' && f.msg.kind === MsgKind.Digest);
    net.deliver((f) => f.from === 'S' && f.to === 'B' && f.msg.kind === MsgKind.Delta, 1);
    net.drop();
    expect(B.versions.known('A:1')).toBe(0);
    expect(counter(B, 'k')).toBeNull();
    // S restarts without its data, as S:2 under the same address, and catches up from T only (to v30).
    const S2 = net.add('S', 2);
    for (let i = 0; i < 10; i++) net.sync('S', 'T');
    expect(S2.versions.known('A:1')).toBe(30);
    // B pulls from S again: S:2's log must not be resumed at S:1's cursor. (S:2's first answer, sent
    // from that cursor, is refused as a gap; S:2 then holds the range as in flight until it is presumed
    // lost, and sends it from B's known version.)
    for (let i = 0; i < 10; i++) {
      net.sync('B', 'S');
      // The invariant at every step: whatever B claims of A, it holds (k's update is v1).
      if (B.versions.known('A:1') >= 1) expect(counter(B, 'k')).not.toBeNull();
      net.now += 3 * net.cfg.gossipIntervalMs;
    }
    expect(B.versions.known('A:1')).toBe(30);
    expect(counter(B, 'k')).toBe(1);
  });
});

describe('equal digests mean equal state', () => {
  it('a partial transfer from an origin that then died reaches every node: state digests differ, a repair ships it (r1b)', () => {
    const net = new ManualNet(['A', 'Q', 'R', 'X'], { maxMessageBytes: 4096 });
    const A = net.get('A');
    const Q = net.get('Q');
    const k = fullKey(0, 'k');
    A.keyspace.incrBy(k, 1);
    for (const id of ['Q', 'R', 'X']) net.sync(id, 'A'); // everyone holds A up to v1
    A.keyspace.incrBy(k, 1); // v2
    for (let i = 0; i < 60; i++) A.keyspace.incrBy(filler(i), 1); // v3..v62
    Q.pullFrom('A'); // only the first chunk arrives
    net.deliver((f) => f.from === 'Q' && f.to === 'A' && f.msg.kind === MsgKind.Digest);
    net.deliver((f) => f.from === 'A' && f.to === 'Q' && f.msg.kind === MsgKind.Delta, 1);
    net.drop();
    net.nodes.delete('A'); // A's disk dies: it never comes back as A:1
    const ids = ['Q', 'R', 'X'];
    const states = (): string[] =>
      ids.map((id) => {
        const ks = net.get(id).keyspace;
        return [...ks.keys()].sort().map((key) => `${key}=${Buffer.from(ks.encodeKey(key)?.bytes ?? []).toString('hex')}`).join(';');
      });
    expect(new Set(ids.map((id) => net.get(id).versions.hash)).size).toBe(1); // equal vectors...
    expect(new Set(states()).size).toBeGreaterThan(1); // ...yet Q holds more
    for (let round = 0; round < 5; round++) for (const a of ids) for (const b of ids) if (a !== b) net.sync(a, b);
    expect(new Set(states()).size).toBe(1);
    for (const id of ids) {
      expect(counter(net.get(id), 'k')).toBe(2);
      expect(net.get(id).keyspace.stateDigest()).toBe(Q.keyspace.stateDigest());
      expect(net.get(id).versions.known('A:1')).toBe(1); // known still claims only what is complete
    }
    expect(Q.stats.repairs + net.get('R').stats.repairs + net.get('X').stats.repairs).toBeGreaterThan(0);
  });
});
