// The dashboard's hand-written browser msgpack codec (src/server/dashboard/static/msgpack.ts) against
// msgpackr, the server's codec, on the values the WebSocket client API exchanges.

import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import * as codec from '../../src/server/dashboard/static/msgpack.js';

// As the server: ws/codec.ts packs with these options and unpacks with int64 as bigint.
const packr = new Packr({ useRecords: false, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('v'), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('v'), { maxKeys: 20 }),
  ),
})).v;

/** Plain-data view for comparison: binary (Uint8Array or Buffer) as {bin: [...]}. */
function plain(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return { bin: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  if (Object.is(v, -0)) return 0;
  return v;
}

describe('dashboard msgpack codec', () => {
  it('decodes what msgpackr encodes', () => {
    fc.assert(fc.property(value, (v) => {
      expect(plain(codec.decode(packr.pack(v)))).toEqual(plain(v));
    }));
  });

  it('encodes what msgpackr decodes', () => {
    fc.assert(fc.property(value, (v) => {
      expect(plain(unpackr.unpack(Buffer.from(codec.encode(v))))).toEqual(plain(v));
    }));
  });

  it('decodes 64-bit integers exactly, as decimal strings beyond 2^53', () => {
    const big = new Packr({ useRecords: false, moreTypes: false, largeBigIntToFloat: false });
    expect(codec.decode(big.pack(2n ** 60n))).toBe('1152921504606846976');
    expect(codec.decode(big.pack(-(2n ** 60n)))).toBe('-1152921504606846976');
  });

  it('a request frame is what the server expects', () => {
    const frame = codec.encode({ id: 7, watch: ['pageviews', 'visitors'] });
    expect(unpackr.unpack(Buffer.from(frame))).toEqual({ id: 7, watch: ['pageviews', 'visitors'] });
  });
});
