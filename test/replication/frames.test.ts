// Frames that fail a check are rejected, counted, and change nothing.

import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import fc from 'fast-check';
import { Replica } from '../../src/replication/replica.js';
import { replicaConfig } from '../../src/replication/config.js';
import { encodeEnvelope, MsgKind, PROTOCOL_VERSION } from '../../src/replication/messages.js';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { SeededRng } from '../../src/util/rng.js';

function replica(): { r: Replica; sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  const r = new Replica({
    config: replicaConfig({ clusterName: 'prod' }),
    identity: { nodeId: 'a', incarnation: 1, address: 'a' },
    rng: new SeededRng(1),
    transport: { send: (_to, f) => sent.push(f) },
    now: 0,
  });
  r.keyspace.incrBy(fullKey(0, 'c'), 5);
  return { r, sent };
}

const packr = new Packr({ useRecords: false });

function snapshot(r: Replica): string {
  return JSON.stringify([[...r.exportState()].map(([k, v]) => [k, Buffer.from(v.bytes).toString('hex')]), r.membership.records(), r.vector()]);
}

describe('gossip frame validation', () => {
  it('rejects another protocol version, another cluster and garbage, counting each reason', () => {
    const { r } = replica();
    const before = snapshot(r);
    const digest = { h: '0'.repeat(16), m: '0'.repeat(16), v: [['evil:1', 99]], r: true };
    r.receive('p', packr.pack([PROTOCOL_VERSION + 1, 'prod', 'b', 1, 'b', MsgKind.Digest, digest]));
    r.receive('p', packr.pack([PROTOCOL_VERSION, 'staging', 'b', 1, 'b', MsgKind.Digest, digest]));
    r.receive('p', new Uint8Array([0xc1, 0xff, 0x00]));
    r.receive('p', packr.pack([PROTOCOL_VERSION, 'prod', 'b', 1, 'b', 99, {}]));
    expect(r.stats.rejected).toEqual({ version: 1, cluster: 1, malformed: 2 });
    expect(snapshot(r)).toBe(before);
  });

  it('rejects a delta whose key state does not decode, applying none of its keys, members or sender', () => {
    const { r } = replica();
    const good = new Replica({
      config: replicaConfig({ clusterName: 'prod' }),
      identity: { nodeId: 'b', incarnation: 1, address: 'b' },
      rng: new SeededRng(2),
      transport: { send: () => {} },
      now: 0,
    });
    good.keyspace.incrBy(fullKey(0, 'x'), 1);
    const state = good.keyspace.encodeKey(fullKey(0, 'x'))?.bytes as Uint8Array;
    const frame = encodeEnvelope({
      cluster: 'prod',
      from: 'b',
      incarnation: 1,
      address: 'b',
      msg: {
        kind: MsgKind.Delta,
        body: {
          ranges: [{ origin: 'b:1', from: 0, to: 2, entries: [0, 1, 1, 2], complete: true }],
          states: [
            { key: fullKey(0, 'x'), tag: 2, bytes: state },
            { key: fullKey(0, 'y'), tag: 2, bytes: new Uint8Array([1, 2, 250, 250]) },
          ],
          // A member this replica has never heard of: it must not join on the back of a rejected frame.
          members: [{ id: 'u', address: 'u', incarnation: 1, seq: 0, state: 0 }],
          more: false,
        },
      },
    });
    const before = snapshot(r);
    r.receive('b', frame);
    expect(r.stats.rejected.state).toBe(1);
    expect(snapshot(r)).toBe(before);
    expect(r.membership.get('u')).toBeUndefined();
    expect(r.membership.get('b')).toBeUndefined();
    expect(r.versions.known('b:1')).toBe(0);
  });

  it('never throws and never changes state on random or mutated frames', () => {
    const { r } = replica();
    const before = snapshot(r);
    const valid = encodeEnvelope({ cluster: 'other', from: 'b', incarnation: 1, address: 'b', msg: { kind: MsgKind.Ping, body: { seq: 1 } } });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(255), (bytes, pos, val) => {
        r.receive('fuzz', bytes);
        const m = Uint8Array.from(valid);
        m[pos % m.length] = val;
        r.receive('fuzz', m);
      }),
      { numRuns: 3000 },
    );
    expect(snapshot(r)).toBe(before);
  });
});
