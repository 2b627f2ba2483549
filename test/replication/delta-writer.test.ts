// Deltas are written into msgpack by hand (src/replication/delta-writer.ts) and read by msgpackr on
// the peer (messages.ts, `decodeEnvelope`). Checked here: what msgpackr reads back is the wire layout
// docs/gossip.md gives, for random bodies whose numbers, strings and byte strings cross every
// header size; a Delta decodes to the message it was written from; and a message stays intact while
// later ones are written after it, across a new chunk too.

import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, memberToWire, MemberState, MsgKind, type DeltaBody, type Envelope, type MemberRecord } from '../../src/replication/messages.js';

const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false, mapsAsObjects: true });

/** Integers at and around every msgpack size boundary, and up to 2^53 - 1. */
const uint = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1),
  fc.nat(),
  fc.maxSafeNat(),
);
/** Strings of latin1 (as full keys are), ASCII and any UTF-16, around the 32- and 256-byte headers. */
const text = (min: number) =>
  fc.oneof(
    fc.string({ minLength: min, maxLength: 40 }),
    fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), minLength: min, maxLength: 300 }),
    fc.string({ unit: 'binary', minLength: min, maxLength: 40 }),
    fc.constantFrom('x'.repeat(31), 'x'.repeat(32), 'é'.repeat(16), 'x'.repeat(255), 'x'.repeat(256)),
  );
const bytes = fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.constantFrom(0, 64, 65, 255, 256, 300).map((n) => new Uint8Array(n).fill(7))).map((u) => Buffer.from(u));

const member: fc.Arbitrary<MemberRecord> = fc.record({
  id: fc.constantFrom('n2', 'n3'),
  address: fc.constant('127.0.0.1:7002'),
  incarnation: fc.nat(),
  seq: fc.nat(),
  state: fc.constantFrom(MemberState.Alive, MemberState.Suspect, MemberState.Dead),
});

const body: fc.Arbitrary<DeltaBody> = fc
  .record({
    states: fc.array(fc.record({ key: text(1), tag: fc.integer({ min: 0, max: 255 }), bytes }), { maxLength: 20 }),
    origins: fc.array(fc.record({ origin: text(1), from: uint, span: fc.nat({ max: 20 }), complete: fc.boolean() }), { maxLength: 3 }),
    members: fc.option(fc.array(member, { maxLength: 3 })),
    more: fc.boolean(),
    part: fc.option(fc.record({ batch: uint, index: uint }), { nil: undefined }),
    needs: fc.option(fc.record({ batch: uint, parts: uint }), { nil: undefined }),
    folds: fc.option(fc.array(fc.tuple(fc.constantFrom('n1', 'n2'), fc.integer({ min: 1, max: 1000 })), { maxLength: 3 }), { nil: undefined }),
  })
  .map(({ states, origins, members, more, part, needs, folds }) => ({
    states,
    // Each range's entries are pairs [index into states, version], the versions in (from, to].
    ranges:
      states.length === 0
        ? []
        : origins.map((o) => {
            const from = Math.min(o.from, 2 ** 53 - 2 - o.span);
            const to = from + 1 + o.span;
            return { origin: o.origin, from, to, entries: Array.from({ length: o.span + 1 }, (_, i) => [i % states.length, from + 1 + i]).flat(), complete: o.complete };
          }),
    members,
    more,
    ...(part === undefined ? {} : { part }),
    ...(needs === undefined ? {} : { needs }),
    ...(folds === undefined ? {} : { folds }),
  }));

const envelope = (b: DeltaBody, cluster = 'c1'): Envelope => ({ cluster, from: 'n1', incarnation: 1_765_000_000_123, address: '127.0.0.1:7001', msg: { kind: MsgKind.Delta, body: b } });

/** The wire layout of a Delta (docs/gossip.md), as msgpackr reads it. */
function wire(env: Envelope): unknown {
  const b = (env.msg as { body: DeltaBody }).body;
  return [
    1,
    env.cluster,
    env.from,
    env.incarnation,
    env.address,
    MsgKind.Delta,
    {
      o: b.ranges.map((r) => [r.origin, r.from, r.to, r.entries, r.complete ? 1 : 0]),
      k: b.states.map((s) => [s.key, s.tag, Buffer.from(s.bytes)]),
      m: b.members === null ? null : b.members.map(memberToWire),
      more: b.more,
      ...(b.part === undefined ? {} : { p: [b.part.batch, b.part.index] }),
      ...(b.needs === undefined ? {} : { n: [b.needs.batch, b.needs.parts] }),
      ...(b.folds === undefined ? {} : { f: b.folds }),
    },
  ];
}

describe('Delta writer', () => {
  it('writes what msgpackr reads back as the Delta wire layout', () => {
    fc.assert(
      fc.property(body, text(1), (b, cluster) => {
        const env = envelope(b, cluster);
        expect(packr.unpack(encodeEnvelope(env))).toEqual(wire(env));
      }),
      { numRuns: 200 },
    );
  });

  it('writes a Delta that decodes to the message it was written from', () => {
    const valid = body.filter((b) => b.ranges.every((r) => r.origin.length <= 255));
    fc.assert(
      fc.property(valid, (b) => {
        const env = envelope(b);
        const r = decodeEnvelope(encodeEnvelope(env), 'c1', 64 << 20);
        // A part frame carries no ranges and needs nothing: the decoder refuses one that does, for that.
        if (b.part !== undefined && (b.ranges.length > 0 || b.needs !== undefined)) expect(r).toEqual({ ok: false, error: { reason: 'malformed', detail: 'delta parts' } });
        else expect(r).toEqual({ ok: true, value: env });
      }),
      { numRuns: 200 },
    );
  });

  it('writes the 32-bit headers: a key of 70,000 chars, 70,000 state bytes, 70,000 range entries', () => {
    const states = [{ key: 'k'.repeat(70_000), tag: 1, bytes: Buffer.alloc(70_000, 9) }, { key: 'é'.repeat(40_000), tag: 2, bytes: Buffer.alloc(65_536, 1) }];
    const entries = Array.from({ length: 70_000 }, (_, i) => [i % 2, i]).flat();
    const env = envelope({ ranges: [{ origin: 'n1:1', from: 0, to: 70_000, entries, complete: true }], states, members: null, more: true });
    const bytes = encodeEnvelope(env);
    expect(packr.unpack(bytes)).toEqual(wire(env));
    // The str32 and bin32 headers, where msgpack puts them.
    expect(Buffer.from(bytes).indexOf(Buffer.from([0xdb, 0, 1, 0x11, 0x70]))).toBeGreaterThan(0);
    expect(Buffer.from(bytes).indexOf(Buffer.from([0xc6, 0, 1, 0x11, 0x70]))).toBeGreaterThan(0);
  });

  it('leaves each message intact while later ones are written, across a new chunk', () => {
    const big = Buffer.alloc(300 * 1024, 3);
    const sent: { env: Envelope; bytes: Uint8Array; copy: Buffer }[] = [];
    for (let i = 0; i < 40; i++) {
      const states = [{ key: `\u0000user:${i}`, tag: 1, bytes: i % 7 === 3 ? big : Buffer.alloc(20_000, i) }];
      const env = envelope({ ranges: [{ origin: 'n1:1', from: i, to: i + 1, entries: [0, i + 1], complete: true }], states, members: null, more: false });
      const bytes = encodeEnvelope(env);
      sent.push({ env, bytes, copy: Buffer.from(bytes) });
    }
    for (const { env, bytes, copy } of sent) {
      expect(Buffer.from(bytes).equals(copy)).toBe(true);
      const k = ((packr.unpack(bytes) as unknown[])[6] as { k: [string, number, Buffer][] }).k;
      const s = (env.msg as { body: DeltaBody }).body.states[0];
      expect(k[0]?.[0]).toBe(s?.key);
      expect(k[0]?.[2].equals(s?.bytes as Buffer)).toBe(true);
    }
  });

});
