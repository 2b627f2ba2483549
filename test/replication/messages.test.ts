// The gossip codec's validation, field by field (src/replication/messages.ts): each message kind's
// wire body accepted at its limits and refused one step past them, with the exact rejection a peer
// logs; and every kind round-tripping through encodeEnvelope. test/fuzz/gossip-frames.test.ts
// throws random and mutated bytes at the same decoder; this file names each rule.

import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  decodeEnvelope,
  encodeEnvelope,
  MAX_ACCUSERS,
  MAX_FOLD_BOUNDS,
  MemberState,
  MsgKind,
  PROTOCOL_VERSION,
  REPAIR_DIGEST_BYTES,
  type Envelope,
  type Message,
} from '../../src/replication/messages.js';

// The codec's own msgpack options: a frame written as a peer would write it.
const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false, mapsAsObjects: true });
const CLUSTER = 'c1';
const LIMIT = 4 << 20;
const H16 = '0123456789abcdef';

const raw = (fields: unknown[]): Uint8Array => packr.pack(fields);
const frame = (kind: unknown, body: unknown): Uint8Array => raw([PROTOCOL_VERSION, CLUSTER, 'n1', 3, '127.0.0.1:7001', kind, body]);
const decode = (b: Uint8Array, max = LIMIT) => decodeEnvelope(b, CLUSTER, max);

/** The body a frame of `kind` decodes to; fails the test if it is refused. */
function body(kind: number, wire: unknown): unknown {
  const r = decode(frame(kind, wire));
  if (!r.ok) throw new Error(`refused: ${r.error.detail}`);
  expect(r.value.msg.kind).toBe(kind);
  return r.value.msg.body;
}

/** The rejection of a frame of `kind` with this body. */
function refusal(kind: unknown, wire: unknown): unknown {
  const r = decode(frame(kind, wire));
  return r.ok ? 'accepted' : r.error;
}
const malformed = (detail: string) => ({ reason: 'malformed', detail });

const LONG = (n: number): string => 'x'.repeat(n);

describe('gossip envelope', () => {
  it('is refused past the size limit, and taken at it', () => {
    const b = frame(MsgKind.Ping, { s: 1 });
    expect(decode(b, b.length).ok).toBe(true);
    expect(decode(b, b.length - 1)).toEqual({ ok: false, error: { reason: 'oversize', detail: `${b.length} bytes > limit ${b.length - 1}` } });
  });

  it('names what is wrong with the envelope: msgpack, shape, version, cluster, sender', () => {
    const r = decode(Uint8Array.from([0x92, 0x01])); // an array of 2 with 1 element
    expect(!r.ok && r.error.reason).toBe('malformed');
    expect(!r.ok && r.error.detail).toMatch(/^not msgpack: /);
    const notArray = malformed('envelope is not a 7-element array');
    const err = (fields: unknown) => {
      const d = decode(raw(fields as unknown[]));
      return d.ok ? 'accepted' : d.error;
    };
    expect(err([1, CLUSTER, 'n1', 3, 'a', 3])).toEqual(notArray);
    expect(err({ 0: 1 })).toEqual(notArray);
    expect(err([1, CLUSTER, 'n1', 3, 'a', 3, { s: 1 }, 0])).toEqual(notArray);
    expect(err([2, CLUSTER, 'n1', 3, 'a', 3, { s: 1 }])).toEqual({ reason: 'version', detail: `protocol version 2, expected ${PROTOCOL_VERSION}` });
    expect(err([1, 'c2', 'n1', 3, 'a', 3, { s: 1 }])).toEqual({ reason: 'cluster', detail: "cluster 'c2', expected 'c1'" });
    expect(err([1, LONG(100), 'n1', 3, 'a', 3, { s: 1 }])).toEqual({ reason: 'cluster', detail: `cluster '${LONG(64)}', expected 'c1'` });
    const sender = malformed('bad sender fields');
    expect(err([1, CLUSTER, '', 3, 'a', 3, { s: 1 }])).toEqual(sender);
    expect(err([1, CLUSTER, LONG(256), 3, 'a', 3, { s: 1 }])).toEqual(sender);
    expect(err([1, CLUSTER, LONG(255), 3, 'a', 3, { s: 1 }])).not.toEqual(sender);
    expect(err([1, CLUSTER, 'n1', -1, 'a', 3, { s: 1 }])).toEqual(sender);
    expect(err([1, CLUSTER, 'n1', 1.5, 'a', 3, { s: 1 }])).toEqual(sender);
    expect(err([1, CLUSTER, 'n1', '3', 'a', 3, { s: 1 }])).toEqual(sender);
    expect(err([1, CLUSTER, 'n1', 3, LONG(1025), 3, { s: 1 }])).toEqual(sender);
    expect(err([1, CLUSTER, 'n1', 3, '', 3, { s: 1 }])).toEqual(sender);
    const ok = decode(raw([1, CLUSTER, LONG(255), 0, LONG(1024), 3, { s: 0 }]));
    expect(ok.ok && { from: ok.value.from.length, inc: ok.value.incarnation, addr: ok.value.address.length }).toEqual({ from: 255, inc: 0, addr: 1024 });
  });

  it('refuses a body that is not a map, and an unknown kind', () => {
    for (const b of [null, [1], 'x', 7, Buffer.from([1])]) expect(refusal(MsgKind.Ping, b)).toEqual(malformed('body is not a map'));
    expect(refusal(10, {})).toEqual(malformed('unknown message kind 10'));
    expect(refusal('1', {})).toEqual(malformed('unknown message kind 1'));
  });
});

describe('gossip bodies', () => {
  it('Ping, Ack and PingReq: a sequence number, a time, a target and its address', () => {
    expect(body(MsgKind.Ping, { s: 0 })).toEqual({ seq: 0 });
    for (const s of [-1, 1.5, 'x', undefined, 2 ** 53]) expect(refusal(MsgKind.Ping, { s })).toEqual(malformed('seq'));
    expect(body(MsgKind.Ack, { s: 4 })).toEqual({ seq: 4 });
    expect(body(MsgKind.Ack, { s: 4, t: 0 })).toEqual({ seq: 4, time: 0 });
    for (const w of [{ s: -1 }, { s: 4, t: -1 }, { s: 4, t: 'x' }, {}]) expect(refusal(MsgKind.Ack, w)).toEqual(malformed('ack fields'));
    expect(body(MsgKind.PingReq, { s: 2, t: 'n2', a: LONG(1024) })).toEqual({ seq: 2, target: 'n2', address: LONG(1024) });
    for (const w of [{ s: -1, t: 'n2', a: 'x' }, { s: 2, t: '', a: 'x' }, { s: 2, t: LONG(256), a: 'x' }, { s: 2, t: 'n2', a: LONG(1025) }, { s: 2, t: 'n2', a: '' }]) {
      expect(refusal(MsgKind.PingReq, w)).toEqual(malformed('ping-req fields'));
    }
  });

  it('Digest: 16-character hashes, optional state hashes, the ask flag, a vector with cursors, fold bounds', () => {
    const base = { h: H16, m: H16, v: null, r: true };
    expect(body(MsgKind.Digest, base)).toEqual({ hash: H16, membersHash: H16, vector: null, wantReply: true });
    expect(body(MsgKind.Digest, { ...base, v: [['a:1', 5], ['b:2', 0, 9]], s: H16, d: H16, c: H16, a: 1, f: [['n1', 3]] })).toEqual({
      hash: H16, membersHash: H16, vector: [{ origin: 'a:1', known: 5 }, { origin: 'b:2', known: 0, cursor: 9 }], wantReply: true,
      stateHash: H16, durableState: H16, collectedState: H16, askVector: true, folds: [['n1', 3]],
    });
    for (const w of [{ ...base, h: H16.slice(1) }, { ...base, h: `${H16}0` }, { ...base, h: 7 }, { ...base, m: H16.slice(1) }, { ...base, m: `${H16}0` }, { ...base, m: null }, { ...base, r: 1 }]) {
      expect(refusal(MsgKind.Digest, w)).toEqual(malformed('digest fields'));
    }
    for (const [field, detail] of [['s', 'digest state hash'], ['d', 'digest durable state hash'], ['c', 'digest collected state hash']] as const) {
      expect(refusal(MsgKind.Digest, { ...base, [field]: H16.slice(1) })).toEqual(malformed(detail));
      expect(refusal(MsgKind.Digest, { ...base, [field]: `${H16}0` })).toEqual(malformed(detail));
      expect(refusal(MsgKind.Digest, { ...base, [field]: 16 })).toEqual(malformed(detail));
    }
    for (const a of [0, 2, true]) expect(refusal(MsgKind.Digest, { ...base, a })).toEqual(malformed('digest ask-vector flag'));
    // The sender's voter count: a whole number up to 100,000.
    expect(body(MsgKind.Digest, { ...base, n: 5 })).toMatchObject({ voters: 5 });
    expect(body(MsgKind.Digest, { ...base, n: 100_000 })).toMatchObject({ voters: 100_000 });
    for (const n of [-1, 1.5, 100_001, '5', null, true]) expect(refusal(MsgKind.Digest, { ...base, n })).toEqual(malformed('digest voter count'));
    for (const v of [[['a:1', 5, 5]], [['a:1', 5, 4]], [['a:1']], [['', 5]], [['a:1', -1]], [['a:1', 5, 6, 7]], 'x', [7]]) {
      expect(refusal(MsgKind.Digest, { ...base, v })).toEqual(malformed('digest vector'));
    }
    expect(body(MsgKind.Digest, { ...base, v: [] })).toMatchObject({ vector: [] });
  });

  it('fold bounds: up to 4,096 pairs of a node id and a positive bound', () => {
    const base = { h: H16, m: H16, v: null, r: false };
    const many = Array.from({ length: MAX_FOLD_BOUNDS }, (_, i) => [`n${i}`, 1]);
    expect(body(MsgKind.Digest, { ...base, f: many })).toMatchObject({ folds: many });
    expect(body(MsgKind.Digest, { ...base, f: [] })).toMatchObject({ folds: [] });
    for (const f of [[...many, ['x', 1]], [['n1', 0]], [['n1', -1]], [['', 1]], [['n1']], [['n1', 1, 2]], 'x', [7]]) {
      expect(refusal(MsgKind.Digest, { ...base, f })).toEqual(malformed('digest fold bounds'));
    }
  });

  it('Delta: origin ranges over its key states, members, more, parts and fold bounds', () => {
    const k = [['a', 1, Buffer.from([1, 2])], ['b', 0, Buffer.alloc(0)]];
    const base = { o: [['n1:1', 4, 6, [0, 5, 1, 6], 1]], k, m: null, more: false };
    expect(body(MsgKind.Delta, base)).toEqual({
      ranges: [{ origin: 'n1:1', from: 4, to: 6, entries: [0, 5, 1, 6], complete: true }],
      states: [{ key: 'a', tag: 1, bytes: Buffer.from([1, 2]) }, { key: 'b', tag: 0, bytes: Buffer.alloc(0) }],
      members: null,
      more: false,
    });
    // Key states: [key, tag, bytes], key 1..2^20 characters.
    expect(body(MsgKind.Delta, { ...base, o: [], k: [[LONG(1 << 20), 0, Buffer.alloc(0)]] })).toMatchObject({ states: [{ tag: 0 }] });
    for (const ks of [[['a', 1]], [['', 1, Buffer.alloc(0)]], [[LONG((1 << 20) + 1), 1, Buffer.alloc(0)]], [['a', -1, Buffer.alloc(0)]], [['a', 1, 'x']], [['a', 1, Buffer.alloc(0), 0]], 'x', [7]]) {
      expect(refusal(MsgKind.Delta, { ...base, o: [], k: ks })).toEqual(malformed('delta keys'));
    }
    // Ranges: from < to, complete 0 or 1, entries (key index, version) pairs inside (from, to].
    expect(body(MsgKind.Delta, { ...base, o: [['n1:1', 4, 5, [], 0]] })).toMatchObject({ ranges: [{ from: 4, to: 5, entries: [], complete: false }] });
    for (const o of [
      [['n1:1', 5, 5, [], 1]], [['n1:1', 6, 5, [], 1]], [['', 4, 6, [], 1]], [['n1:1', -1, 6, [], 1]], [['n1:1', 4, 6, [], 2]],
      [['n1:1', 4, 6, [0], 1]], [['n1:1', 4, 6, [2, 5], 1]], [['n1:1', 4, 6, [0, 4], 1]], [['n1:1', 4, 6, [0, 7], 1]],
      [['n1:1', 4, 6, [-1, 5], 1]], [['n1:1', 4, 6, [0, 'x'], 1]], [['n1:1', 4, 6, 'x', 1]], [['n1:1', 4, 6, []]], 'x', [7],
    ]) {
      expect(refusal(MsgKind.Delta, { ...base, o })).toEqual(malformed('delta origins'));
    }
    // Members.
    const member = ['n2', '127.0.0.1:7002', 1, 0, MemberState.Alive];
    expect(body(MsgKind.Delta, { ...base, m: [member] })).toMatchObject({ members: [{ id: 'n2', address: '127.0.0.1:7002', incarnation: 1, seq: 0, state: 0 }] });
    for (const m of ['x', [7], [[...member.slice(0, 4), 5]]]) expect(refusal(MsgKind.Delta, { ...base, m })).toEqual(malformed('delta members'));
    for (const more of [undefined, 0, 'true']) expect(refusal(MsgKind.Delta, { ...base, more })).toEqual(malformed('delta more'));
    // Parts: a part of a batch carries no ranges and no needs; needs ask for at least one part.
    expect(body(MsgKind.Delta, { ...base, o: [], p: [7, 0] })).toMatchObject({ part: { batch: 7, index: 0 } });
    expect(body(MsgKind.Delta, { ...base, n: [7, 1] })).toMatchObject({ needs: { batch: 7, parts: 1 } });
    for (const w of [{ ...base, p: [7, 0] }, { ...base, o: [], p: [7, 0], n: [7, 2] }, { ...base, n: [7, 0] }, { ...base, o: [], p: [7, -1] }, { ...base, o: [], p: [7] }, { ...base, n: [7, 1, 1] }, { ...base, n: 'x' }]) {
      expect(refusal(MsgKind.Delta, w)).toEqual(malformed('delta parts'));
    }
    expect(body(MsgKind.Delta, { ...base, f: [['n1', 2]] })).toMatchObject({ folds: [['n1', 2]] });
    expect(refusal(MsgKind.Delta, { ...base, f: [['n1', 0]] })).toEqual(malformed('delta fold bounds'));
  });

  it('member records: 5 fields, a suspect with accusers, a joining member', () => {
    const m = (r: unknown[]) => body(MsgKind.Delta, { o: [], k: [], m: [r], more: true }) as { members: unknown[] };
    const refused = (r: unknown[]) => refusal(MsgKind.Delta, { o: [], k: [], m: [r], more: true });
    const base = ['n2', LONG(1024), 0, 0];
    expect(m([...base, MemberState.Removed]).members).toEqual([{ id: 'n2', address: LONG(1024), incarnation: 0, seq: 0, state: MemberState.Removed }]);
    const accusers = Array.from({ length: MAX_ACCUSERS }, (_, i) => `a${i}`);
    expect(m([...base, MemberState.Suspect, accusers]).members).toEqual([{ id: 'n2', address: LONG(1024), incarnation: 0, seq: 0, state: MemberState.Suspect, accusers }]);
    expect(m([...base, MemberState.Alive, [], 1]).members).toEqual([{ id: 'n2', address: LONG(1024), incarnation: 0, seq: 0, state: MemberState.Alive, joining: true }]);
    expect(m([...base, MemberState.Suspect, ['a', 'b'], 1]).members).toEqual([{ id: 'n2', address: LONG(1024), incarnation: 0, seq: 0, state: MemberState.Suspect, accusers: ['a', 'b'], joining: true }]);
    const bad = malformed('delta members');
    for (const r of [
      ['n2', 'a', 0, 0], [...base, 0, [], 1, 0], ['', 'a', 0, 0, 0], ['n2', '', 0, 0, 0], ['n2', LONG(1025), 0, 0, 0], ['n2', 'a', -1, 0, 0], ['n2', 'a', 0, 1.5, 0],
      [...base, 5], [...base, -1], [...base, 1.5], [...base, '0'],
      [...base, MemberState.Alive, ['a']], [...base, MemberState.Suspect, []], [...base, MemberState.Suspect, ['b', 'a']], [...base, MemberState.Suspect, ['a', 'a']],
      [...base, MemberState.Suspect, [...accusers, 'z']], [...base, MemberState.Suspect, ['']], [...base, MemberState.Suspect, 'a'],
      [...base, MemberState.Alive, [], 2], [...base, MemberState.Alive, 'x', 1], [...base, MemberState.Alive, ['a'], 1], [...base, MemberState.Suspect, ['b', 'a'], 1],
      'x',
    ]) {
      expect(refused(r as unknown[]), JSON.stringify(r).slice(0, 80)).toEqual(bad);
    }
  });

  it('Have, ReadReq, ReadResp and Repair', () => {
    expect(body(MsgKind.Have, { v: [['a:1', 0]] })).toEqual({ vector: [{ origin: 'a:1', known: 0 }] });
    for (const v of [undefined, [['a:1', 3, 3]], 'x']) expect(refusal(MsgKind.Have, { v })).toEqual(malformed('have vector'));
    const keys = Array.from({ length: 4096 }, (_, i) => `k${i}`);
    expect(body(MsgKind.ReadReq, { q: 0, k: keys })).toEqual({ id: 0, keys });
    for (const w of [{ q: -1, k: [] }, { q: 1, k: [...keys, 'x'] }, { q: 1, k: [''] }, { q: 1, k: ['a', ''] }, { q: 1, k: [LONG((1 << 20) + 1)] }, { q: 1, k: 'x' }]) {
      expect(refusal(MsgKind.ReadReq, w)).toEqual(malformed('read-req fields'));
    }
    expect(body(MsgKind.ReadReq, { q: 1, k: [LONG(1 << 20)] })).toMatchObject({ id: 1 });
    expect(body(MsgKind.ReadResp, { q: 3, k: [['a', 1, Buffer.from([9])]], n: [2, 1], f: [['n1', 1]] })).toEqual({
      id: 3, states: [{ key: 'a', tag: 1, bytes: Buffer.from([9]) }], needs: { batch: 2, parts: 1 }, folds: [['n1', 1]],
    });
    expect(body(MsgKind.ReadResp, { q: 3, k: [] })).toEqual({ id: 3, states: [] });
    for (const w of [{ q: -1, k: [] }, { q: 3, k: 'x' }, { q: 3, k: [], n: [2, 0] }, { q: 3, k: [], f: [['n1', 0]] }]) {
      expect(refusal(MsgKind.ReadResp, w)).toEqual(malformed('read-resp fields'));
    }
    const buckets = Buffer.alloc(REPAIR_DIGEST_BYTES, 7);
    expect(body(MsgKind.Repair, { b: buckets, r: false })).toEqual({ buckets, wantReply: false });
    for (const w of [{ b: Buffer.alloc(REPAIR_DIGEST_BYTES - 1), r: true }, { b: Buffer.alloc(REPAIR_DIGEST_BYTES + 1), r: true }, { b: buckets, r: 1 }, { b: [1], r: true }]) {
      expect(refusal(MsgKind.Repair, w)).toEqual(malformed('repair fields'));
    }
  });
});

describe('encodeEnvelope', () => {
  const env = (msg: Message): Envelope => ({ cluster: CLUSTER, from: 'n1', incarnation: 3, address: '127.0.0.1:7001', msg });
  const messages: Message[] = [
    { kind: MsgKind.Digest, body: { hash: H16, membersHash: H16, vector: null, wantReply: false } },
    { kind: MsgKind.Digest, body: { hash: H16, membersHash: H16, vector: [{ origin: 'a:1', known: 2, cursor: 4 }], wantReply: true, stateHash: H16, durableState: H16, collectedState: H16, askVector: true, folds: [['n1', 2]], voters: 5 } },
    {
      kind: MsgKind.Delta,
      body: {
        ranges: [{ origin: 'n1:1', from: 0, to: 2, entries: [0, 1, 0, 2], complete: false }],
        states: [{ key: 'a', tag: 1, bytes: Buffer.from([5]) }],
        members: [
          { id: 'n2', address: 'x', incarnation: 1, seq: 2, state: MemberState.Suspect, accusers: ['n1', 'n3'] },
          { id: 'n3', address: 'y', incarnation: 1, seq: 0, state: MemberState.Alive, joining: true },
          { id: 'n4', address: 'z', incarnation: 1, seq: 0, state: MemberState.Suspect, accusers: ['n1'], joining: true },
          { id: 'n5', address: 'w', incarnation: 1, seq: 0, state: MemberState.Dead },
        ],
        more: true,
        needs: { batch: 4, parts: 2 },
        folds: [['n2', 9]],
      },
    },
    { kind: MsgKind.Delta, body: { ranges: [], states: [], members: null, more: false, part: { batch: 4, index: 1 } } },
    { kind: MsgKind.Ping, body: { seq: 9 } },
    { kind: MsgKind.Ack, body: { seq: 9 } },
    { kind: MsgKind.Ack, body: { seq: 9, time: 123 } },
    { kind: MsgKind.PingReq, body: { seq: 9, target: 'n2', address: 'x' } },
    { kind: MsgKind.Have, body: { vector: [{ origin: 'a:1', known: 0 }] } },
    { kind: MsgKind.ReadReq, body: { id: 1, keys: ['a', 'b'] } },
    { kind: MsgKind.ReadResp, body: { id: 1, states: [], needs: { batch: 1, parts: 3 }, folds: [['n1', 1]] } },
    { kind: MsgKind.Repair, body: { buckets: Buffer.alloc(REPAIR_DIGEST_BYTES, 1), wantReply: true } },
  ];

  it('writes every kind so that it decodes to the same envelope', () => {
    let n = 0;
    for (const msg of messages) {
      const r = decode(encodeEnvelope(env(msg)));
      if (!r.ok) throw new Error(`${msg.kind}: ${r.error.detail}`);
      expect(r.value).toEqual(env(msg));
      n++;
    }
    expect(n).toBe(messages.length);
    expect(new Set(messages.map((m) => m.kind)).size).toBe(Object.keys(MsgKind).length);
  });

  it('leaves out what is absent: an empty accuser list is not sent, and a member without flags has 5 fields', () => {
    const plain = encodeEnvelope(env({ kind: MsgKind.Delta, body: { ranges: [], states: [], members: [{ id: 'n2', address: 'x', incarnation: 1, seq: 0, state: MemberState.Suspect, accusers: [] }], more: false } }));
    const fields = (packr.unpack(plain) as unknown[])[6] as { m: unknown[][] };
    expect(fields.m[0]).toEqual(['n2', 'x', 1, 0, MemberState.Suspect]);
    const digest = (packr.unpack(encodeEnvelope(env(messages[0]!))) as unknown[])[6];
    expect(digest).toEqual({ h: H16, m: H16, v: null, r: false });
  });
});
