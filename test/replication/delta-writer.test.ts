// Deltas are written into msgpack by hand (src/replication/delta-writer.ts) and read by msgpackr on
// the peer (messages.ts, `decodeEnvelope`). Checked here: what msgpackr reads back is the wire layout
// docs/gossip.md gives, for random bodies whose numbers, strings and byte strings cross every
// header size; a Delta decodes to the message it was written from; and a message stays intact while
// later ones are written after it, across a new chunk too.

import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, MsgpackWriter, writeKeyState, writeKeyStateHead } from '../../src/replication/delta-writer.js';
import { ByteWriter } from '../../src/crdt/codec.js';
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

  it('writes packed states (as anti-entropy builds them) exactly as it writes the same states from objects', () => {
    const packer = new MsgpackWriter();
    fc.assert(
      fc.property(body, fc.nat(), fc.boolean(), (b, cut, viaByteWriter) => {
        // The states past `cut` go packed, written one by one as buildDelta writes them.
        const at = b.states.length === 0 ? 0 : cut % (b.states.length + 1);
        packer.begin();
        for (const st of b.states.slice(at)) {
          if (!viaByteWriter) writeKeyState(packer, st.key, st.tag, st.bytes);
          else {
            writeKeyStateHead(packer, st.key, st.tag);
            packer.binOf(new ByteWriter(1).bytes(st.bytes));
          }
        }
        const packed = packer.end();
        const split: DeltaBody = { ...b, states: b.states.slice(0, at), ...(at === b.states.length ? {} : { packed: { bytes: packed, count: b.states.length - at } }) };
        expect(Buffer.from(encodeEnvelope(envelope(split)))).toEqual(Buffer.from(encodeEnvelope(envelope(b))));
      }),
      { numRuns: 200 },
    );
  });

  it('writes a ByteWriter\'s bytes as it writes the same bytes, at every header size and either side of the byte-by-byte copy', () => {
    for (const n of [0, 1, 64, 65, 255, 256, 65535, 65536, 70_000]) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
      const a = new MsgpackWriter();
      a.begin();
      a.bin(data);
      const b = new MsgpackWriter();
      b.begin();
      const w = new ByteWriter(1).bytes(data);
      b.binOf(w);
      expect([n, Buffer.from(b.end())]).toEqual([n, Buffer.from(a.end())]);
      // copyTo writes at the offset given, and nothing else.
      const target = new Uint8Array(n + 4).fill(0xee);
      w.copyTo(target, 2);
      expect([...target.subarray(0, 2), ...target.subarray(n + 2)]).toEqual([0xee, 0xee, 0xee, 0xee]);
      expect(Buffer.from(target.subarray(2, n + 2))).toEqual(Buffer.from(data));
    }
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

  it('writes each value with the smallest msgpack header for it', () => {
    const w = new MsgpackWriter();
    const bytes = (write: (w: MsgpackWriter) => void): number[] => {
      w.begin();
      write(w);
      return [...w.end()];
    };
    const f64 = (v: number): number[] => {
      const b = Buffer.alloc(9);
      b[0] = 0xcb;
      b.writeDoubleBE(v, 1);
      return [...b];
    };
    const cases: [number, number[]][] = [
      [0, [0x00]],
      [127, [0x7f]],
      [128, [0xcc, 0x80]],
      [255, [0xcc, 0xff]],
      [256, [0xcd, 0x01, 0x00]],
      [65535, [0xcd, 0xff, 0xff]],
      [65536, [0xce, 0x00, 0x01, 0x00, 0x00]],
      [2 ** 32 - 1, [0xce, 0xff, 0xff, 0xff, 0xff]],
      [2 ** 32, f64(2 ** 32)],
      [2 ** 53 - 1, f64(2 ** 53 - 1)],
      [0.5, f64(0.5)],
      [-1, [0xff]],
      [-32, [0xe0]],
      [-33, [0xd2, 0xff, 0xff, 0xff, 0xdf]],
      [-(2 ** 31), [0xd2, 0x80, 0x00, 0x00, 0x00]],
      [-(2 ** 31) - 1, f64(-(2 ** 31) - 1)],
    ];
    for (const [v, want] of cases) expect(bytes((x) => x.num(v)), String(v)).toEqual(want);
    const ascii = (n: number): number[] => Array.from({ length: n }, () => 0x78);
    expect(bytes((x) => x.str(''))).toEqual([0xa0]);
    expect(bytes((x) => x.str('x'.repeat(31)))).toEqual([0xbf, ...ascii(31)]);
    expect(bytes((x) => x.str('x'.repeat(32)))).toEqual([0xd9, 32, ...ascii(32)]);
    expect(bytes((x) => x.str('\u007f'))).toEqual([0xa1, 0x7f]);
    expect(bytes((x) => x.str('\u0080'))).toEqual([0xa2, 0xc2, 0x80]);
    expect(bytes((x) => x.str('é'.repeat(16)))).toEqual([0xd9, 32, ...Array.from({ length: 16 }, () => [0xc3, 0xa9]).flat()]);
    expect(bytes((x) => x.str('x'.repeat(256))).slice(0, 3)).toEqual([0xda, 0x01, 0x00]);
    expect(bytes((x) => x.bin(new Uint8Array(0)))).toEqual([0xc4, 0]);
    expect(bytes((x) => x.bin(new Uint8Array([1, 2])))).toEqual([0xc4, 2, 1, 2]);
    expect(bytes((x) => x.bin(new Uint8Array(65).fill(5)))).toEqual([0xc4, 65, ...Array.from({ length: 65 }, () => 5)]);
    expect(bytes((x) => x.bin(new Uint8Array(256))).slice(0, 3)).toEqual([0xc5, 0x01, 0x00]);
    expect(bytes((x) => x.array(15))).toEqual([0x9f]);
    expect(bytes((x) => x.array(16))).toEqual([0xdc, 0x00, 0x10]);
    expect(bytes((x) => x.array(255))).toEqual([0xdc, 0x00, 0xff]);
    expect(bytes((x) => x.array(65536))).toEqual([0xdd, 0x00, 0x01, 0x00, 0x00]);
    expect(bytes((x) => x.map(15))).toEqual([0x8f]);
    expect(bytes((x) => x.map(16))).toEqual([0xde, 0x00, 0x10]);
    expect(bytes((x) => x.map(65536))).toEqual([0xdf, 0x00, 0x01, 0x00, 0x00]);
    expect(bytes((x) => (x.bool(true), x.bool(false), x.nil()))).toEqual([0xc3, 0xc2, 0xc0]);
  });

  it('keeps a message whole when its chunk ends at any byte of it', () => {
    // One value of every kind and size class; a filler message puts the chunk's end at each offset.
    const values: [string, unknown][] = [
      ['str', 'k:1'], ['str', 'é'.repeat(3)], ['str', 'x'.repeat(40)], ['bin', Buffer.from([1, 2, 3])], ['bin', Buffer.alloc(100, 4)],
      ['num', 5], ['num', 200], ['num', 60_000], ['num', 70_000], ['num', 2 ** 40], ['num', -7], ['num', -70_000],
      ['map', 0], ['bool', true], ['nil', null], ['raw', [['n2', 'x', 1, 0, 0]]], ['str', 'tail'],
    ];
    const expected = values.map(([kind, v]) => (kind === 'map' ? {} : v));
    let checked = 0;
    for (let shift = 0; shift < 400; shift++) {
      const w = new MsgpackWriter();
      // Filler up to 8 * ceil(shift / 8) bytes before the chunk's end, then `shift % 8` nils at the message's start.
      const back = 8 * Math.ceil(shift / 8);
      const nils = back - shift;
      w.begin();
      w.raw(new Uint8Array(CHUNK_BYTES - back));
      w.end();
      w.begin();
      w.array(nils + expected.length);
      for (let i = 0; i < nils; i++) w.nil();
      for (const [kind, v] of values) {
        if (kind === 'str') w.str(v as string);
        else if (kind === 'bin') w.bin(v as Uint8Array);
        else if (kind === 'num') w.num(v as number);
        else if (kind === 'map') w.map(v as number);
        else if (kind === 'bool') w.bool(v as boolean);
        else if (kind === 'raw') w.raw(packr.pack(v));
        else w.nil();
      }
      const got = packr.unpack(w.end()) as unknown[];
      expect(got.slice(nils), `chunk end ${shift} bytes in`).toEqual(expected);
      // An array16 header at the same place (a map's header is written by the same code).
      const v = new MsgpackWriter();
      v.begin();
      v.raw(new Uint8Array(CHUNK_BYTES - back));
      v.end();
      v.begin();
      v.array(1 + nils);
      for (let i = 0; i < nils; i++) v.nil();
      v.array(20);
      for (let i = 0; i < 20; i++) v.num(i);
      expect((packr.unpack(v.end()) as unknown[])[nils]).toEqual(Array.from({ length: 20 }, (_, i) => i));
      checked++;
    }
    expect(checked).toBe(400);
  });

  it('keeps every message whole wherever a chunk ends in it', () => {
    // Thousands of Deltas of every size, so chunk ends fall inside keys, byte strings, numbers and
    // headers alike; each is read back after all of them are written.
    const envs: Envelope[] = [];
    for (let m = 0; m < 1500; m++) {
      const n = 1 + (m % 37);
      const states = Array.from({ length: n }, (_, i) => ({ key: m % 11 === 0 ? `\u0000é${m}:${i}` : `\u0000k${m}:${i}`, tag: i % 5, bytes: Buffer.alloc(m % 13 === 0 ? 100 : (m + i) % 40, i) }));
      const entries = Array.from({ length: n }, (_, i) => [i, 1000 + m * 40 + i]).flat();
      envs.push(envelope({ ranges: [{ origin: 'n1:1', from: 999 + m * 40, to: 1000 + m * 40 + n, entries, complete: m % 2 === 0 }], states, members: null, more: m % 3 === 0 }));
    }
    const written = envs.map((e) => encodeEnvelope(e));
    let whole = 0;
    envs.forEach((e, i) => {
      expect(packr.unpack(written[i] as Uint8Array)).toEqual(wire(e));
      whole++;
    });
    expect(whole).toBe(1500);
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
