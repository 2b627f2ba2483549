// Fuzzing the gossip edge, outside in: the frame opener (authentication, replay), the envelope
// decoder, and Replica.receive. Random and mutated frames never throw; a rejected frame changes no
// state (keys, versions, membership, replay sessions); an accepted envelope re-encodes canonically.

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { replicaConfig } from '../../src/replication/config.js';
import { decodeEnvelope, encodeEnvelope, MsgKind, type Envelope } from '../../src/replication/messages.js';
import { Replica } from '../../src/replication/replica.js';
import { FrameOpener, FrameSealer, Keyring } from '../../src/gossip/frame-auth.js';
import { SeededRng } from '../../src/util/rng.js';
import { FUZZ_OPTIONS, FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzzBytes } from './mutate.js';

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });

const CLUSTER = 'prod';
const MAX = 1 << 20;

function makeReplica(id: string, seed: number): Replica {
  return new Replica({
    config: replicaConfig({ clusterName: CLUSTER }),
    identity: { nodeId: id, incarnation: 1, address: `127.0.0.1:${9000 + seed}` },
    rng: new SeededRng(seed),
    transport: { send: () => {} },
    now: 0,
  });
}

function envelopes(): Uint8Array[] {
  const b = makeReplica('b', 2);
  b.keyspace.incrBy(fullKey(0, 'c'), 5);
  b.keyspace.incrBy(fullKey(0, 'views:1'), 2);
  const env = (msg: Envelope['msg']): Uint8Array => encodeEnvelope({ cluster: CLUSTER, from: 'b', incarnation: 1, address: '127.0.0.1:9002', msg });
  return [
    env({ kind: MsgKind.Digest, body: { hash: '0123456789abcdef', membersHash: 'fedcba9876543210', vector: [{ origin: 'b:1', known: 2 }, { origin: 'c:1', known: 7 }], wantReply: true } }),
    env({ kind: MsgKind.Digest, body: { hash: '0123456789abcdef', membersHash: 'fedcba9876543210', vector: null, wantReply: false } }),
    // Built by the replica itself, so the seed follows the current Delta shape.
    env({ kind: MsgKind.Delta, body: { ...b.buildDelta(new Map()), members: b.membership.records() } }),
    env({ kind: MsgKind.Ping, body: { seq: 7 } }),
    env({ kind: MsgKind.PingReq, body: { seq: 8, target: 'c', address: '127.0.0.1:9003' } }),
    env({ kind: MsgKind.Ack, body: { seq: 9 } }),
    env({ kind: MsgKind.Ack, body: { seq: 10, time: 1_700_000_000_123 } }),
    env({ kind: MsgKind.Delta, body: { ranges: [], states: [{ key: fullKey(0, 'c'), tag: 2, bytes: b.keyspace.encodeKey(fullKey(0, 'c'))?.bytes ?? new Uint8Array() }], members: null, more: false, part: { batch: 3, index: 1 } } }),
    env({ kind: MsgKind.Delta, body: { ...b.buildDelta(new Map()), needs: { batch: 3, parts: 2 } } }),
    env({ kind: MsgKind.ReadResp, body: { id: 4, states: [], needs: { batch: 5, parts: 1 } } }),
    env({ kind: MsgKind.Repair, body: { buckets: new Uint8Array(2048).fill(7), wantReply: true } }),
    env({ kind: MsgKind.Digest, body: { hash: '0123456789abcdef', membersHash: 'fedcba9876543210', vector: null, wantReply: false, stateHash: '00112233445566ff' } }),
    // Tombstone collection's evidence: durable and collected-at state digests.
    env({ kind: MsgKind.Digest, body: { hash: '0123456789abcdef', membersHash: 'fedcba9876543210', vector: null, wantReply: false, stateHash: '00112233445566ff', durableState: 'aabbccddeeff0011', collectedState: '1100ffeeddccbbaa' } }),
  ];
}

function snapshot(r: Replica): string {
  return JSON.stringify([[...r.exportState()].map(([k, v]) => [k, v.tag, Buffer.from(v.bytes).toString('hex')]), r.membership.records(), r.vector()]);
}

const rejections = (r: Replica): number => Object.values(r.stats.rejected).reduce((a, n) => a + n, 0);

describe('gossip frame fuzz', () => {
  const seeds = envelopes();

  it(`decodeEnvelope survives ${FUZZ_RUNS} random and mutated frames; accepted ones re-encode canonically`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(fuzzBytes(seeds, 300), (bytes) => {
        const r = decodeEnvelope(bytes, CLUSTER, MAX);
        if (!r.ok) return;
        accepted++;
        const once = encodeEnvelope(r.value);
        const again = decodeEnvelope(once, CLUSTER, MAX);
        if (!again.ok) throw new Error(`its own encoding is rejected: ${again.error.reason}`);
        if (!Buffer.from(encodeEnvelope(again.value)).equals(once)) throw new Error('re-encoding is not a fixed point');
      }),
      FUZZ_OPTIONS,
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it(`Replica.receive: ${FUZZ_RUNS} random and mutated frames; a rejected frame changes nothing`, () => {
    const fresh = (): Replica => {
      const r = makeReplica('a', 1);
      r.keyspace.incrBy(fullKey(0, 'c'), 3);
      return r;
    };
    // Accepted frames pile up keys and members; a fresh replica every few thousand frames keeps the
    // per-frame snapshot cheap, so the cost stays linear in TALLY_FUZZ_RUNS.
    let a = fresh();
    let rejected = 0;
    let runs = 0;
    let before = snapshot(a);
    fc.assert(
      fc.property(fuzzBytes(seeds, 300), (bytes) => {
        if (++runs % 5000 === 0) {
          a = fresh();
          before = snapshot(a);
        }
        const n = rejections(a);
        a.receive('fuzz', bytes, 1);
        const after = snapshot(a);
        if (rejections(a) > n) {
          rejected++;
          if (after !== before) throw new Error('a rejected frame changed the replica');
        }
        before = after;
      }),
      FUZZ_OPTIONS,
    );
    expect(rejected).toBeGreaterThan(1000);
  });

  it(`FrameOpener.open: ${FUZZ_RUNS} random and mutated sealed frames; only genuine frames open, rejected ones leave no session`, () => {
    const key = Keyring.generateKey();
    const keyring = Keyring.fromBase64([key], CLUSTER);
    const sealer = new FrameSealer(keyring);
    const now = 1_000_000;
    const sealed = seeds.map((s) => Uint8Array.from(sealer.seal(s, now)));
    const opener = new FrameOpener(keyring, { maxPayloadBytes: MAX });
    let opened = 0;
    fc.assert(
      fc.property(fuzzBytes(sealed, 300), (bytes) => {
        const sessions = opener.sessionCount;
        const r = opener.open(bytes, now);
        if (r.ok) {
          opened++;
          // Only an untouched seed can open, and only once (replay protection).
          if (!sealed.some((s) => Buffer.from(s).equals(bytes))) throw new Error('a mutated frame opened');
          return;
        }
        if (opener.sessionCount !== sessions) throw new Error('a rejected frame changed the session table');
      }),
      FUZZ_OPTIONS,
    );
    expect(opened).toBeLessThanOrEqual(sealed.length);
    // Still working: a fresh frame from the same session opens.
    const fresh = opener.open(sealer.seal(seeds[0] as Uint8Array, now + 1), now + 1);
    expect(fresh.ok).toBe(true);
  });
});
