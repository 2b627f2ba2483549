// Every way the counter decoders refuse bytes, each with its code and its exact message: a node
// logs the message with the peer that sent the bytes, so it must say what was wrong and where.
import { describe, expect, it } from 'vitest';
import { CODEC_VERSION, TypeTag } from '../../src/crdt/codec.js';
import { GCounter } from '../../src/crdt/g-counter.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';

const V = CODEC_VERSION;
const G = TypeTag.GCounter;
const P = TypeTag.PNCounter;

function refusal(decode: (b: Uint8Array) => { ok: true } | { ok: false; error: { code: string; message: string } }, bytes: number[]): string {
  const r = decode(Uint8Array.from(bytes));
  return r.ok ? 'accepted' : `${r.error.code}: ${r.error.message}`;
}

describe('counter codec refusals', () => {
  it('GCounter: each malformed form, with its code, what and where', () => {
    const cases: [number[], string][] = [
      [[], 'CODEC_TRUNCATED: GCounter: empty input'],
      [[V], 'CODEC_TRUNCATED: GCounter: missing type tag'],
      [[9, G, 0], 'CODEC_BAD_VERSION: GCounter: unknown version 9'],
      [[V, P, 0], 'CODEC_BAD_TYPE: GCounter: type tag 2, expected 1'],
      [[V, G], 'CODEC_TRUNCATED: GCounter: truncated at byte 2'],
      [[V, G, 0x80], 'CODEC_TRUNCATED: GCounter: truncated at byte 3'],
      [[V, G, 0x80, 0], 'CODEC_INVALID: GCounter: overlong varint at byte 4'],
      // Every entry takes at least 3 bytes: a count the rest cannot hold is refused before reading.
      [[V, G, 2, 5, 97], 'CODEC_TRUNCATED: GCounter: 2 entries cannot fit'],
      [[V, G, 1, 5, 97], 'CODEC_TRUNCATED: GCounter: 1 entries cannot fit'],
      [[V, G, 1, 1, 5, 5], 'CODEC_INVALID: GCounter: empty replica id at byte 4'],
      [[V, G, 1, 4, 97, 0], 'CODEC_INVALID: GCounter: empty entry at byte 4'],
      [[V, G, 1, 5, 97, 0], 'CODEC_INVALID: GCounter: zero slot written explicitly at byte 6'],
      [[V, G, 1, 7, 97, 5, 6], 'CODEC_INVALID: GCounter: floor must be strictly between 0 and the slot in kind 3 at byte 7'],
      [[V, G, 1, 7, 97, 5, 5], 'CODEC_INVALID: GCounter: floor must be strictly between 0 and the slot in kind 3 at byte 7'],
      [[V, G, 1, 7, 97, 5, 0], 'CODEC_INVALID: GCounter: floor must be strictly between 0 and the slot in kind 3 at byte 7'],
      [[V, G, 1, 7, 97, 5], 'CODEC_TRUNCATED: GCounter: truncated at byte 6'],
      [[V, G, 1, 5, 0xff, 5], 'CODEC_INVALID: GCounter: replica id is not valid UTF-8 at byte 5'],
      [[V, G, 2, 5, 98, 1, 5, 97, 1], 'CODEC_INVALID: GCounter: replica ids not sorted at byte 8'],
      [[V, G, 2, 5, 97, 1, 5, 97, 1], "CODEC_INVALID: GCounter: duplicate replica id 'a' at byte 8"],
      [[V, G, 1, 5, 97, 1, 0], 'CODEC_INVALID: GCounter: 1 trailing bytes at byte 6'],
      // An id of 255 bytes (the limit) announced, 1 byte there.
      [[V, G, 1, 0xfd, 0x07, 97], 'CODEC_TRUNCATED: GCounter: truncated at byte 5'],
      // 256 bytes: past the limit, refused from the head alone (4 x 256 = 1024).
      [[V, G, 1, 0x80, 0x08, 97], 'CODEC_INVALID: GCounter: entry head out of range at byte 5'],
      [[V, G, 1, 5, 97, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10], 'CODEC_INVALID: GCounter: varint above 2^53-1 at byte 13'],
    ];
    for (const [bytes, want] of cases) expect(refusal(GCounter.decode, bytes), JSON.stringify(bytes)).toBe(want);
  });

  it('GCounter: the largest head and every kind it can carry are accepted', () => {
    const id = 'x'.repeat(255);
    const g = new GCounter();
    g.mergeSlot(id, 9, 4); // kind 3
    const bytes = g.encode();
    expect(Array.from(bytes.subarray(0, 5))).toEqual([V, G, 1, 0xff, 0x07]); // 255 x 4 + 3 = 1023
    expect(refusal(GCounter.decode, Array.from(bytes))).toBe('accepted');
    expect(refusal(GCounter.decode, [V, G, 1, 9, 97, 98, 1])).toBe('accepted'); // 'ab', kind 1
    expect(refusal(GCounter.decode, [V, G, 1, 6, 97, 7])).toBe('accepted'); // kind 2: floor = slot
  });

  it('PNCounter: the head carries both kinds; out of range and empty entries are refused', () => {
    const cases: [number[], string][] = [
      [[V, G, 0], 'CODEC_BAD_TYPE: PNCounter: type tag 1, expected 2'],
      [[V, P, 1, 16, 97, 0], 'CODEC_INVALID: PNCounter: empty entry at byte 4'],
      // 255 x 16 + 15 = 4095 is the largest head; 4096 is out of range.
      [[V, P, 1, 0x80, 0x20, 97], 'CODEC_INVALID: PNCounter: entry head out of range at byte 5'],
      [[V, P, 1, 16 + 4, 97, 0, 0], 'CODEC_INVALID: PNCounter: zero slot written explicitly at byte 6'],
      [[V, P, 1, 16 + 1, 97, 0, 0], 'CODEC_INVALID: PNCounter: zero slot written explicitly at byte 6'],
    ];
    for (const [bytes, want] of cases) expect(refusal(PNCounter.decode, bytes), JSON.stringify(bytes)).toBe(want);
    // p kind 1 and n kind 1: P = 1, N = 1; p kind 3, n kind 3.
    const one = PNCounter.decode(Uint8Array.from([V, P, 1, 16 + 5, 97, 1, 1]));
    expect(one.ok && one.value.slotOf('a')).toEqual({ id: 'a', p: 1, fp: 0, n: 1, fn: 0 });
    const three = PNCounter.decode(Uint8Array.from([V, P, 1, 16 + 15, 97, 5, 1, 6, 2]));
    expect(three.ok && three.value.slotOf('a')).toEqual({ id: 'a', p: 5, fp: 4, n: 6, fn: 4 });
    expect(three.ok && three.value.value()).toBe(1 - 2);
    const nOnly = PNCounter.decode(Uint8Array.from([V, P, 1, 16 + 2, 97, 3]));
    expect(nOnly.ok && nOnly.value.slotOf('a')).toEqual({ id: 'a', p: 0, fp: 0, n: 3, fn: 3 });
  });
});
