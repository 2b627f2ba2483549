// The codec's building blocks (src/crdt/codec.ts): LEB128 varints written and read against their
// textbook bytes, the writer's growth from any initial size, and each way the reader refuses bytes,
// with the reason and the byte offset it reports.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, uvarintSize } from '../../src/crdt/codec.js';

/** Unsigned LEB128 of `v`, the textbook way: 7 bits at a time, low first, the high bit on all but the last. */
function leb128(v: bigint): number[] {
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return out;
}

const MAX = Number.MAX_SAFE_INTEGER;
/** 0, 1, and both sides of every byte-count boundary 128^k up to 2^53 - 1. */
const EDGES = [0, 1, ...Array.from({ length: 7 }, (_, k) => [128 ** (k + 1) - 1, 128 ** (k + 1)]).flat(), MAX - 1, MAX];

function reader(bytes: number[]): ByteReader {
  return new ByteReader(Uint8Array.from(bytes));
}

describe('uvarint', () => {
  it('writes LEB128, sized by uvarintSize, at every byte-count boundary', () => {
    for (const v of EDGES) {
      const want = leb128(BigInt(v));
      const bytes = new ByteWriter(1).uvarint(v).finish();
      expect([...bytes]).toEqual(want);
      expect(uvarintSize(v)).toBe(want.length);
    }
    expect([...new ByteWriter().uvarint(300).finish()]).toEqual([0xac, 0x02]);
    expect([...new ByteWriter().uvarint(MAX).finish()]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect([uvarintSize(127), uvarintSize(128), uvarintSize(MAX)]).toEqual([1, 2, 8]);
  });

  it('reads back what it writes, one after another, and says where it stopped', () => {
    let ran = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.maxSafeNat(), fc.constantFrom(...EDGES), fc.nat(300)), { maxLength: 20 }), (vs) => {
        const w = new ByteWriter(2);
        for (const v of vs) w.uvarint(v);
        const bytes = w.finish();
        expect(bytes.length).toBe(vs.reduce((n, v) => n + uvarintSize(v), 0));
        expect(w.length).toBe(bytes.length);
        const r = new ByteReader(bytes);
        let at = 0;
        for (const v of vs) {
          expect(r.uvarint()).toBe(v);
          at += uvarintSize(v);
          expect([r.offset, r.remaining]).toEqual([at, bytes.length - at]);
        }
        expect(r.failed).toBe(false);
        expect(r.reason).toBe('');
        ran++;
      }),
    );
    expect(ran).toBeGreaterThan(0);
  });

  it('refuses overlong, too large, too long and truncated varints, with the offset', () => {
    const fails = (bytes: number[]): [number, boolean, string] => {
      const r = reader(bytes);
      const v = r.uvarint();
      return [v, r.failed, r.reason];
    };
    expect(fails([0x00])).toEqual([0, false, '']);
    expect(fails([0x7f])).toEqual([127, false, '']);
    expect(fails([0x80, 0x00])).toEqual([0, true, 'overlong varint at byte 2']);
    expect(fails([0x81, 0x80, 0x00])).toEqual([0, true, 'overlong varint at byte 3']);
    expect(fails([0x80, 0x01])).toEqual([128, false, '']);
    // 2^53: one more than the largest safe integer.
    expect(fails([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])).toEqual([0, true, 'varint above 2^53-1 at byte 8']);
    expect(fails([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])).toEqual([0, true, 'varint above 2^53-1 at byte 8']);
    expect(fails([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).toEqual([0, true, 'varint longer than 8 bytes at byte 8']);
    expect(fails([0x80])).toEqual([0, true, 'truncated at byte 1']);
    expect(fails([])).toEqual([0, true, 'truncated at byte 0']);
    expect(fails([0xff, 0xff])).toEqual([0, true, 'truncated at byte 2']);
  });
});

describe('ByteWriter', () => {
  it('grows from any initial size and keeps every byte, in order', () => {
    let ran = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.oneof(fc.nat(255), fc.uint8Array({ maxLength: 40 })), { maxLength: 30 }), (size, items) => {
        const w = new ByteWriter(size);
        const want: number[] = [];
        for (const it of items) {
          if (typeof it === 'number') {
            w.u8(it);
            want.push(it);
          } else {
            w.bytes(it);
            want.push(...it);
          }
          expect(w.length).toBe(want.length);
        }
        expect([...w.finish()]).toEqual(want);
        ran++;
      }),
    );
    expect(ran).toBeGreaterThan(0);
    // One write much larger than twice the buffer.
    const big = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    expect([...new ByteWriter(1).u8(7).bytes(big).u8(9).finish()]).toEqual([7, ...big, 9]);
  });

  it('u8 keeps the low byte; lenBytes and string prefix their length; reset starts over', () => {
    expect([...new ByteWriter().u8(0x1ab).u8(256).u8(255).finish()]).toEqual([0xab, 0, 255]);
    expect([...new ByteWriter().lenBytes(Uint8Array.from([9, 8, 7])).finish()]).toEqual([3, 9, 8, 7]);
    expect([...new ByteWriter().string('é').string('').finish()]).toEqual([2, 0xc3, 0xa9, 0]);
    const w = new ByteWriter(4);
    w.u8(1).u8(2).u8(3);
    const first = w.finish();
    expect(w.reset().length).toBe(0);
    w.u8(4);
    expect([...w.finish()]).toEqual([4]);
    expect([...first]).toEqual([1, 2, 3]); // finish copies: the reused buffer does not change it
  });
});

describe('ByteWriter views', () => {
  it('view shows the bytes from an offset without copying; growth leaves an earlier view as it was; truncate and setU8 edit what was written', () => {
    const w = new ByteWriter(4).u8(1).u8(2);
    const first = w.view(0);
    expect([...first]).toEqual([1, 2]);
    // The view shares the writer's buffer: an edit of a byte written shows in it.
    w.setU8(1, 0x1ff);
    expect([...first]).toEqual([1, 0xff]);
    // Growing moves the writer to a new buffer: the earlier view keeps its bytes.
    w.bytes(Uint8Array.of(3, 4, 5, 6, 7));
    w.setU8(0, 9);
    expect([...first]).toEqual([1, 0xff]);
    expect([...w.view(2)]).toEqual([3, 4, 5, 6, 7]);
    expect([...w.view(7)]).toEqual([]);
    w.truncate(3);
    expect([...w.finish()]).toEqual([9, 0xff, 3]);
    w.u8(8);
    expect([...w.finish()]).toEqual([9, 0xff, 3, 8]);
    w.truncate(4);
    expect(w.length).toBe(4);
    expect(() => w.truncate(5)).toThrow(/offset 5 is outside the 4 bytes written/);
    expect(() => w.truncate(-1)).toThrow(RangeError);
    expect(() => w.setU8(4, 1)).toThrow(/offset 4 is outside the 4 bytes written/);
    expect(() => w.setU8(-1, 1)).toThrow(RangeError);
  });
});

describe('ByteReader', () => {
  it('reads bytes, length-prefixed bytes and strings, and refuses what runs past the end or a limit', () => {
    const r = reader([1, 2, 3, 4, 5]);
    expect([r.u8(), [...r.bytes(2)], r.offset, r.remaining]).toEqual([1, [2, 3], 3, 2]);
    expect([...r.bytes(2)]).toEqual([4, 5]);
    expect([r.remaining, r.failed]).toEqual([0, false]);
    expect(r.u8()).toBe(0);
    expect([r.failed, r.reason]).toEqual([true, 'truncated at byte 5']);

    const short = reader([1, 2, 3]);
    short.u8();
    expect([...short.bytes(3)]).toEqual([]);
    expect([short.failed, short.reason, short.remaining, short.offset]).toEqual([true, 'truncated at byte 1', 0, 3]);

    const exact = reader([3, 7, 8, 9]);
    expect([...exact.lenBytes(3)]).toEqual([7, 8, 9]);
    expect(exact.failed).toBe(false);
    const over = reader([3, 7, 8, 9]);
    expect([...over.lenBytes(2)]).toEqual([]);
    expect([over.failed, over.reason]).toEqual([true, 'length 3 above limit 2 at byte 1']);

    const s = reader([2, 0xc3, 0xa9, 0]);
    expect([s.string(2), s.string(0), s.failed]).toEqual(['é', '', false]);
    const bad = reader([1, 0xff]);
    expect([bad.string(10), bad.failed, bad.reason]).toEqual(['', true, 'invalid UTF-8 at byte 2']);
    const long = reader([3, 0x61, 0x62, 0x63]);
    expect([long.string(2), long.failed, long.reason]).toEqual(['', true, 'length 3 above limit 2 at byte 1']);
  });

  it('keeps the first failure and its reason', () => {
    const r = reader([0x80]);
    r.uvarint();
    r.fail('something else');
    r.u8();
    expect([r.failed, r.reason]).toEqual([true, 'truncated at byte 1']);
    const f = reader([5]);
    f.fail('mine');
    expect([f.failed, f.reason]).toEqual([true, 'mine at byte 0']);
  });
});
