// The registry of CRDT types (src/crdt/registry.ts): tags both ways, decoding under a tag, merge,
// liveness and delete of every type through its row, and a key's multi-type state on the wire:
// `[version][0][count]` then `[tag][len][bytes]` by ascending tag, with each refusal by its code
// and message.
import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/crdt/codec.js';
import { CountMinSketch } from '../../src/crdt/count-min-sketch.js';
import { CrdtError } from '../../src/crdt/errors.js';
import { GCounter } from '../../src/crdt/g-counter.js';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import {
  CRDT_TYPES,
  decodeKeyState,
  decodeState,
  decodeTagged,
  deleteState,
  encodeKeyState,
  isLive,
  KEY_TYPES,
  mergeSameType,
  MULTI_TAG,
  splitState,
  tagOf,
  typeOfTag,
  type TypedCrdt,
} from '../../src/crdt/registry.js';
import { TopK } from '../../src/crdt/top-k.js';
import { WindowedCounter } from '../../src/crdt/windowed-counter.js';

function val<T>(r: { ok: true; value: T } | { ok: false; error: Error }): T {
  if (!r.ok) throw r.error;
  return r.value;
}

function refusal(r: { ok: true } | { ok: false; error: { code: string; message: string } }): string {
  return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`;
}

/** A fresh, live state of every type, with something written. */
function samples(): TypedCrdt[] {
  const g = new GCounter();
  g.increment('a:1', 3);
  const pn = new PNCounter();
  pn.increment('a:1', -2);
  const h = HyperLogLog.create(4);
  h.add('x');
  const w = WindowedCounter.create(1, 10);
  w.incrementAt('a:1', 1, 5000, 5000);
  const c = val(CountMinSketch.create(8, 2));
  val(c.incrBy('a:1', [['x', 1]]));
  const k = val(TopK.create(2, 8, 2));
  val(k.add('a:1', [['x', 1]]));
  return [
    { type: 'gcounter', crdt: g },
    { type: 'pncounter', crdt: pn },
    { type: 'hll', crdt: h },
    { type: 'window', crdt: w },
    { type: 'cms', crdt: c },
    { type: 'topk', crdt: k },
  ];
}

function bytesOf(t: TypedCrdt): Uint8Array {
  return t.crdt.encode();
}

describe('type tags', () => {
  it('maps each type to its codec tag and back; other tags are no type', () => {
    expect(KEY_TYPES).toEqual(['gcounter', 'pncounter', 'hll', 'window', 'cms', 'topk']);
    expect(KEY_TYPES.map(tagOf)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const t of KEY_TYPES) {
      expect(typeOfTag(tagOf(t))).toBe(t);
      expect(CRDT_TYPES[t].type).toBe(t);
    }
    for (const tag of [MULTI_TAG, 7, 255]) expect(typeOfTag(tag)).toBeUndefined();
    // Each type's tag is the second byte of its encoding.
    for (const s of samples()) expect(bytesOf(s)[1]).toBe(tagOf(s.type));
  });

  it('decodes bytes under their tag, and refuses an unknown tag or bytes of another type', () => {
    for (const s of samples()) {
      const d = val(decodeTagged(tagOf(s.type), bytesOf(s)));
      expect(d.type).toBe(s.type);
      expect(d.crdt.encode()).toStrictEqual(bytesOf(s));
    }
    expect(refusal(decodeTagged(9, Uint8Array.of(1, 9)))).toBe('CODEC_BAD_TYPE: unknown type tag 9');
    expect(refusal(decodeTagged(MULTI_TAG, Uint8Array.of(1, 0)))).toBe('CODEC_BAD_TYPE: unknown type tag 0');
    const pnBytes = bytesOf(samples()[1] as TypedCrdt);
    expect(refusal(decodeTagged(1, pnBytes))).toMatch(/^CODEC_BAD_TYPE: /);
  });
});

describe('decodeState', () => {
  it('decodes as decodeTagged does, without a Result: the typed state or the error itself', () => {
    for (const s of samples()) {
      const d = decodeState(tagOf(s.type), bytesOf(s));
      if (d instanceof CrdtError) throw d;
      expect(d.type).toBe(s.type);
      expect(d.crdt).toBeInstanceOf(s.crdt.constructor);
      expect(d.crdt.encode()).toStrictEqual(bytesOf(s));
    }
    const e = decodeState(9, Uint8Array.of(1, 9));
    expect(e).toBeInstanceOf(CrdtError);
    expect([(e as CrdtError).code, (e as CrdtError).message]).toEqual(['CODEC_BAD_TYPE', 'unknown type tag 9']);
    // A counter's bytes under the other counter's tag, and a bad HLL: the codec's own errors.
    const [g, pn, h] = samples() as [TypedCrdt, TypedCrdt, TypedCrdt];
    const cases = [
      [tagOf('gcounter'), bytesOf(pn), 'GCounter: type tag 2, expected 1'],
      [tagOf('pncounter'), bytesOf(g), 'PNCounter: type tag 1, expected 2'],
      [tagOf('pncounter'), bytesOf(pn).subarray(0, 4), 'PNCounter: 1 entries cannot fit'],
      [tagOf('hll'), bytesOf(h).subarray(0, 3), undefined],
    ] as const;
    for (const [tag, bytes, message] of cases) {
      const got = decodeState(tag, bytes);
      expect(got).toBeInstanceOf(CrdtError);
      if (message !== undefined) expect((got as CrdtError).message).toBe(message);
      expect(refusal(decodeTagged(tag, bytes))).toBe(`${(got as CrdtError).code}: ${(got as CrdtError).message}`);
    }
  });

  it('a counter read after one that failed anywhere decodes whole: every decode starts afresh', () => {
    const pn = new PNCounter();
    pn.increment('a:1', 5);
    pn.increment('b:2', -7);
    const good = pn.encode();
    for (let cut = 0; cut < good.length; cut++) {
      expect(decodeState(tagOf('pncounter'), good.subarray(0, cut))).toBeInstanceOf(CrdtError);
      const again = decodeState(tagOf('pncounter'), good);
      if (again instanceof CrdtError) throw again;
      expect(again.crdt.encode()).toStrictEqual(good);
    }
  });
});

describe('rows', () => {
  it('merge through the registry joins each type, says whether it changed, and refuses two types', () => {
    for (const s of samples()) {
      const empty = val(decodeTagged(tagOf(s.type), bytesOf(s)));
      // Into an older copy of itself, the newer state changes it; a second time, nothing.
      const older = samples().find((x) => x.type === s.type) as TypedCrdt;
      expect(mergeSameType(older, empty)).toBe(false);
      deleteState(empty);
      expect(mergeSameType(older, empty)).toBe(true);
      expect(mergeSameType(older, empty)).toBe(false);
      expect(older.crdt.encode()).toStrictEqual(empty.crdt.encode());
    }
    const [g, pn] = samples() as [TypedCrdt, TypedCrdt];
    expect(() => mergeSameType(g, pn)).toThrow(new TypeError('cannot merge a pncounter into a gcounter'));
  });

  it('an HLL of another precision is not merged', () => {
    const a: TypedCrdt = { type: 'hll', crdt: HyperLogLog.create(4) };
    const b = HyperLogLog.create(5);
    b.add('x');
    expect(mergeSameType(a, { type: 'hll', crdt: b })).toBe(false);
    expect(isLive(a)).toBe(false);
    const c = HyperLogLog.create(4);
    c.add('x');
    expect(mergeSameType(a, { type: 'hll', crdt: c })).toBe(true);
    expect(isLive(a)).toBe(true);
  });

  it('a written state is live and a deleted one is not, for every type; a new counter or HLL is not live', () => {
    for (const s of samples()) {
      expect(isLive(s)).toBe(true);
      deleteState(s);
      expect(isLive(s)).toBe(false);
    }
    expect(isLive({ type: 'gcounter', crdt: new GCounter() })).toBe(false);
    expect(isLive({ type: 'pncounter', crdt: new PNCounter() })).toBe(false);
    expect(isLive({ type: 'hll', crdt: HyperLogLog.create(4) })).toBe(false);
    // A created window, sketch or Top-K exists before anything is added.
    expect(isLive({ type: 'window', crdt: WindowedCounter.create(1, 10) })).toBe(true);
    expect(isLive({ type: 'cms', crdt: val(CountMinSketch.create(8, 2)) })).toBe(true);
    expect(isLive({ type: 'topk', crdt: val(TopK.create(2, 8, 2)) })).toBe(true);
  });

  it('splitState returns the state itself when it fits, typed', () => {
    for (const s of samples()) {
      const parts = splitState(s, 10_000);
      expect(parts).toEqual([{ type: s.type, crdt: s.crdt }]);
      expect(parts?.[0]?.crdt).toBe(s.crdt);
      const tiny = splitState(s, 1);
      expect(tiny).toBeUndefined();
    }
  });
});

describe("a key's state of several types", () => {
  const g = (): TypedCrdt => samples()[0] as TypedCrdt;
  const h = (): TypedCrdt => samples()[2] as TypedCrdt;
  const one = (t: TypedCrdt): { tag: number; bytes: Uint8Array } => ({ tag: tagOf(t.type), bytes: bytesOf(t) });

  it('one state travels as itself; several under tag 0, sorted by tag, each length-prefixed', () => {
    const single = one(g());
    expect(encodeKeyState([single])).toBe(single);
    const gb = bytesOf(g());
    const hb = bytesOf(h());
    const multi = encodeKeyState([one(h()), one(g())]);
    expect(multi.tag).toBe(MULTI_TAG);
    expect([...multi.bytes]).toEqual([1, 0, 2, 1, gb.length, ...gb, 3, hb.length, ...hb]);
    const back = val(decodeKeyState(multi.tag, multi.bytes));
    expect(back.map((t) => t.type)).toEqual(['gcounter', 'hll']);
    expect(back.map(bytesOf)).toEqual([gb, hb]);
    const alone = val(decodeKeyState(single.tag, single.bytes));
    expect(alone.map((t) => [t.type, bytesOf(t)])).toEqual([['gcounter', gb]]);
    expect(refusal(decodeKeyState(9, gb))).toBe('CODEC_BAD_TYPE: unknown type tag 9');
    // All six types at once.
    const all = encodeKeyState(samples().map(one));
    expect(val(decodeKeyState(all.tag, all.bytes)).map((t) => t.type)).toEqual(KEY_TYPES);
  });

  it('refuses each malformed multi-type state with its code and message', () => {
    const gb = bytesOf(g());
    const hb = bytesOf(h());
    const multi = (head: number[], entries: [number, Uint8Array][], tail: number[] = []): string => {
      const w = new ByteWriter();
      for (const b of head) w.u8(b);
      for (const [tag, b] of entries) w.u8(tag).lenBytes(b);
      for (const b of tail) w.u8(b);
      return refusal(decodeKeyState(MULTI_TAG, w.finish()));
    };
    expect(multi([1, 0, 2], [[1, gb], [3, hb]])).toBe('ok');
    expect(multi([1, 0], [])).toBe('CODEC_TRUNCATED: key state: truncated header');
    expect(multi([], [])).toBe('CODEC_TRUNCATED: key state: truncated header');
    expect(multi([2, 0, 2], [[1, gb], [3, hb]])).toBe('CODEC_BAD_VERSION: key state: unknown version 2');
    expect(multi([1, 3, 2], [[1, gb], [3, hb]])).toBe('CODEC_BAD_TYPE: key state: type tag 3, expected 0');
    expect(multi([1, 0, 1], [[1, gb]])).toBe('CODEC_INVALID: key state: 1 states (2 to 6)');
    expect(multi([1, 0, 7], [[1, gb], [3, hb]])).toBe('CODEC_INVALID: key state: 7 states (2 to 6)');
    expect(multi([1, 0, 2], [[3, hb], [1, gb]])).toBe('CODEC_INVALID: key state: tags not strictly ascending');
    expect(multi([1, 0, 2], [[1, gb], [1, gb]])).toBe('CODEC_INVALID: key state: tags not strictly ascending');
    expect(multi([1, 0, 2], [[0, gb], [1, gb]])).toBe('CODEC_INVALID: key state: tags not strictly ascending');
    expect(multi([1, 0, 2], [[1, gb], [3, hb]], [0])).toBe('CODEC_INVALID: key state: 1 trailing bytes');
    expect(multi([1, 0, 3], [[1, gb], [3, hb]])).toBe('CODEC_TRUNCATED: key state: truncated at byte ' + (3 + 2 + gb.length + 2 + hb.length)); // the third tag, at the end
    // An inner state that does not decode: its own error.
    expect(multi([1, 0, 2], [[1, hb], [3, hb]])).toBe(refusal(decodeTagged(1, hb)));
    expect(multi([1, 0, 2], [[1, gb], [9, hb]])).toBe('CODEC_BAD_TYPE: unknown type tag 9');
    // An inner length past the end.
    const w = new ByteWriter();
    w.u8(1).u8(0).u8(2).u8(1).uvarint(200).bytes(gb);
    expect(refusal(decodeKeyState(MULTI_TAG, w.finish()))).toMatch(/^CODEC_TRUNCATED: key state: (truncated|length 200 above limit)/);
  });
});
