// Codec tests of the counters: round trips, canonical bytes, and hostile input (random bytes, every
// truncation, every single-byte mutation) that must never throw nor yield an invariant-breaking object.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CODEC_VERSION, TypeTag } from '../../src/crdt/codec.js';
import { GCounter } from '../../src/crdt/g-counter.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { MAX, checkG, checkPN, gCounterArb, mergeInto, pnCounterArb } from './counter-helpers.js';

type Decoded = { ok: true; value: GCounter | PNCounter } | { ok: false; error: { code: string } };

const kinds = [
  { name: 'GCounter', arb: gCounterArb, decode: (b: Uint8Array): Decoded => GCounter.decode(b), check: (c: GCounter | PNCounter) => checkG(c as GCounter) },
  { name: 'PNCounter', arb: pnCounterArb, decode: (b: Uint8Array): Decoded => PNCounter.decode(b), check: (c: GCounter | PNCounter) => checkPN(c as PNCounter) },
] as const;

/** Decoding never throws; success means a valid object whose canonical encoding is the input. */
function safeDecode(k: (typeof kinds)[number], bytes: Uint8Array): boolean {
  const r = k.decode(bytes);
  if (!r.ok) {
    expect(r.error.code).toMatch(/^CODEC_/);
    return false;
  }
  k.check(r.value);
  expect(r.value.encode()).toStrictEqual(bytes);
  return true;
}

for (const k of kinds) {
  describe(`${k.name} codec`, () => {
    it('round-trips exactly, and equal states encode to equal bytes', () => {
      fc.assert(
        fc.property(k.arb, k.arb, (a, b) => {
          const bytes = a.encode();
          expect(bytes[0]).toBe(CODEC_VERSION);
          const r = k.decode(bytes);
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(r.value.encode()).toStrictEqual(bytes);
          expect(r.value.entries()).toStrictEqual(a.entries());
          expect(r.value.value()).toStrictEqual(a.value());
          // Merge order changes insertion order, never the bytes.
          const ab = a.clone();
          mergeInto(ab, b);
          const ba = b.clone();
          mergeInto(ba, a);
          expect(ab.encode()).toStrictEqual(ba.encode());
        }),
      );
    });

    it('rejects every truncation and survives every single-byte mutation', () => {
      fc.assert(
        fc.property(k.arb, (a) => {
          const bytes = a.encode();
          for (let n = 0; n < bytes.length; n++) expect(safeDecode(k, bytes.subarray(0, n))).toBe(false);
          for (let i = 0; i < bytes.length; i++) {
            for (const v of [0, 1, 0x7f, 0x80, 0xff, (bytes[i] ?? 0) ^ 1, (bytes[i] ?? 0) + 1]) {
              const m = bytes.slice();
              m[i] = v & 0xff;
              safeDecode(k, m);
            }
          }
          const extra = new Uint8Array(bytes.length + 1);
          extra.set(bytes);
          expect(safeDecode(k, extra)).toBe(false); // trailing byte
        }),
        { numRuns: 20 },
      );
    });

    it('never throws on random bytes', () => {
      const header = k.name === 'GCounter' ? TypeTag.GCounter : TypeTag.PNCounter;
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (tail, withHeader) => {
          const bytes = withHeader ? Uint8Array.from([CODEC_VERSION, header, ...tail]) : tail;
          safeDecode(k, bytes);
        }),
        { numRuns: 3000 },
      );
    });
  });
}

describe('counter codec errors', () => {
  const g = new GCounter();
  g.increment('a:1', 300);
  const good = g.encode();
  const code = (b: number[] | Uint8Array): string | undefined => {
    const r = GCounter.decode(Uint8Array.from(b));
    return r.ok ? undefined : r.error.code;
  };
  it('gives typed errors', () => {
    expect(code([])).toBe('CODEC_TRUNCATED');
    expect(code([9, 1, 0])).toBe('CODEC_BAD_VERSION');
    expect(code([CODEC_VERSION, TypeTag.PNCounter, 0])).toBe('CODEC_BAD_TYPE');
    expect(code([CODEC_VERSION, TypeTag.GCounter, 0])).toBeUndefined(); // empty counter
    expect(code([CODEC_VERSION, TypeTag.GCounter, 0x80, 0])).toBe('CODEC_INVALID'); // overlong count
    expect(code([CODEC_VERSION, TypeTag.GCounter, 1, 0 * 4 + 1, 5, 5])).toBe('CODEC_INVALID'); // empty id
    expect(code([CODEC_VERSION, TypeTag.GCounter, 1, 4 + 0, 97, 0])).toBe('CODEC_INVALID'); // kind 0 in a G-Counter
    expect(code([CODEC_VERSION, TypeTag.GCounter, 1, 4 + 1, 97, 0])).toBe('CODEC_INVALID'); // explicit zero slot
    expect(code([CODEC_VERSION, TypeTag.GCounter, 1, 4 + 3, 97, 5, 6])).toBe('CODEC_INVALID'); // floor < 0
    expect(code([CODEC_VERSION, TypeTag.GCounter, 1, 4 + 3, 97, 5, 5])).toBe('CODEC_INVALID'); // non-canonical
    expect(code([CODEC_VERSION, TypeTag.GCounter, 1, 4 + 1, 0xff, 5])).toBe('CODEC_INVALID'); // bad UTF-8
    expect(code([CODEC_VERSION, TypeTag.GCounter, 2, 5, 98, 1, 5, 97, 1])).toBe('CODEC_INVALID'); // unsorted
    expect(code([CODEC_VERSION, TypeTag.GCounter, 2, 5, 97, 1, 5, 97, 1])).toBe('CODEC_INVALID'); // duplicate
    // 2^53 as a varint: over range.
    expect(code([CODEC_VERSION, TypeTag.GCounter, 1, 5, 97, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])).toBe('CODEC_INVALID');
    expect(code([...good, 0])).toBe('CODEC_INVALID');
    expect(code(good.subarray(0, good.length - 1))).toBe('CODEC_TRUNCATED');
  });

  it('decodes totals beyond 2^53-1 as a valid counter with a bigint value', () => {
    const big = new PNCounter();
    for (const id of ['a:1', 'b:1', 'c:1']) big.mergeSlot(id, MAX, 0);
    const r = PNCounter.decode(big.encode());
    expect(r.ok && r.value.value()).toBe(3n * BigInt(MAX));
  });

  it('is compact: one byte of header per entry, floors after a reset cost nothing extra', () => {
    const c = new PNCounter();
    c.increment('n1:1', 5);
    expect(c.encode().length).toBe(3 + 1 + 4 + 1); // header, entry header, id, slot
    c.reset();
    expect(c.encode().length).toBe(9);
    c.increment('n1:1', 1);
    expect(c.encode().length).toBe(10); // slot 6, live 1
  });
});

describe('replica ids read again', () => {
  // The decoder keeps the last id it read and matches the next one byte for byte instead of
  // decoding it: ids of one length that differ anywhere, in any order, must still come out right.
  const ids = ['n1:1700000000001', 'n1:1700000000002', 'n2:1700000000001', 'm1:1700000000001', 'n1:170000000000', 'ü1:17000000000', 'x'];

  it('decodes each id as written, whatever id was read before it', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ids), { minLength: 1, maxLength: 30 }), (seq) => {
        for (const id of seq) {
          const c = new PNCounter();
          c.increment(id, 3);
          const back = PNCounter.decode(c.encode());
          expect(back.ok).toBe(true);
          if (back.ok) expect(back.value.slotOf(id)).toEqual({ id, p: 3, fp: 0, n: 0, fn: 0 });
          if (back.ok) expect(back.value.slotIds()).toEqual([id]);
        }
      }),
    );
  });

  it('decodes several ids in one counter, sorted, after any id', () => {
    const c = new GCounter();
    for (const [i, id] of ids.entries()) c.increment(id, i + 1);
    for (const before of ids) {
      const warm = new GCounter();
      warm.increment(before, 1);
      GCounter.decode(warm.encode());
      const back = GCounter.decode(c.encode());
      expect(back.ok).toBe(true);
      if (back.ok) for (const [i, id] of ids.entries()) expect(back.value.slotOf(id).p).toBe(i + 1);
    }
  });

  it('writes each id as its UTF-8 bytes, whatever id was written before it, past the bound of ids kept', () => {
    // The writer keeps each id's bytes (the last one, and up to 4,096 in a Map emptied when full):
    // 5,000 ids, then the first ones again, each written after a different id, must all come out right.
    const many = Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? `ü${i}:1` : `n${i}:1`));
    for (const id of [...many, ...many.slice(0, 50), ...ids]) {
      const c = new PNCounter();
      c.increment(id, 2);
      const bytes = c.encode();
      const utf8 = new TextEncoder().encode(id);
      // [version][tag][count=1][head: uvarint of length << 4 | kinds (p live, no n)][id bytes][p]
      const head = utf8.length * 16 + 4;
      const headBytes = head < 0x80 ? [head] : [(head % 0x80) | 0x80, Math.floor(head / 0x80)];
      expect([...bytes]).toEqual([CODEC_VERSION, TypeTag.PNCounter, 1, ...headBytes, ...utf8, 2]);
      const back = PNCounter.decode(bytes);
      expect(back.ok && back.value.slotIds()).toEqual([id]);
    }
  });

  it('a duplicate id right after itself is still refused', () => {
    const c = new GCounter();
    c.increment('n1:1', 1);
    const one = c.encode();
    // [version][tag][count=1][entry]: the same entry twice with count 2.
    const entry = one.subarray(3);
    const dup = Uint8Array.from([one[0] as number, one[1] as number, 2, ...entry, ...entry]);
    const back = GCounter.decode(dup);
    expect(back.ok).toBe(false);
    if (!back.ok) expect(back.error.message).toMatch(/duplicate replica id 'n1:1'/);
  });
});

describe('slots in id order, whatever order they were made in', () => {
  it('encodes the same bytes for every insertion order, up to and past the array of slots', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9:]{1,12}$/), { minLength: 1, maxLength: 14 }), fc.integer({ min: 0, max: 1000 }), (ids, salt) => {
        const build = (order: string[]): PNCounter => {
          const c = new PNCounter();
          for (const id of order) c.increment(id, (id.length * 7 + salt) % 50 + 1);
          return c;
        };
        const sorted = build([...ids].sort());
        const shuffled = build([...ids].sort((a, b) => ((a.charCodeAt(0) * 31 + salt) % 17) - ((b.charCodeAt(0) * 31 + salt) % 17)).reverse());
        expect(shuffled.encode()).toStrictEqual(sorted.encode());
        const back = PNCounter.decode(shuffled.encode());
        expect(back.ok).toBe(true);
        if (back.ok) expect(back.value.slotIds().sort()).toEqual([...ids].sort());
      }),
    );
  });
});
