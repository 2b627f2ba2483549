// splitState, the registry's split of any typed state: typed parts joined with the registry's own
// merge equal the whole joined (also into a key's live state of the same generation, which no part
// may make not exist), and SPLIT_SAFE_BYTES: the largest indivisible unit of every type but Top-K
// (255-byte replica ids, counts of 2^53-1, generations of 2^53-1) splits within it.
import { describe, expect, it } from 'vitest';
import { slowIt } from '../slow.js';
import { ByteWriter, TypeTag } from '../../src/crdt/codec.js';
import { CountMinSketch } from '../../src/crdt/count-min-sketch.js';
import { GCounter } from '../../src/crdt/g-counter.js';
import { COUNTER_MAX } from '../../src/crdt/counter-base.js';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { decodeTagged, isLive, mergeSameType, splitState, SPLIT_SAFE_BYTES, tagOf, type TypedCrdt } from '../../src/crdt/registry.js';
import { SKETCH_CODEC_VERSION } from '../../src/crdt/sketch-matrix.js';
import { TopK } from '../../src/crdt/top-k.js';
import { WindowedCounter } from '../../src/crdt/windowed-counter.js';
import { shuffled } from './split-helpers.js';

const LONG_ID = 'L'.repeat(255);
const MAX = Number.MAX_SAFE_INTEGER;

function ok<T>(r: { ok: true; value: T } | { ok: false; error: Error }): T {
  if (!r.ok) throw r.error;
  return r.value;
}

function encodeTyped(t: TypedCrdt): Uint8Array {
  return t.crdt.encode();
}

/** A copy through the codec (the wire). */
function copy(t: TypedCrdt): TypedCrdt {
  return ok(decodeTagged(tagOf(t.type), encodeTyped(t)));
}

/** One state of every type, each with more than one unit, written by several replicas. */
function samples(): TypedCrdt[] {
  const g = new GCounter();
  const pn = new PNCounter();
  for (let i = 0; i < 100; i++) {
    g.increment(`n${i}:1`, 1000 + i);
    pn.increment(`n${i}:1`, -(1000 + i));
  }
  pn.reset();
  pn.increment('n99:1', 5);
  const h = HyperLogLog.create(12);
  h.clear();
  for (let i = 0; i < 5000; i++) h.add(`u${i}`);
  const w = WindowedCounter.create(1, 60);
  for (let t = 0; t < 60; t++) for (let r = 0; r < 4; r++) w.incrementAt(`n${r}:1`, 1 + t, 1_000_000 + t * 1000, 1_000_000 + t * 1000);
  const c = ok(CountMinSketch.create(500, 3));
  for (let i = 0; i < 400; i++) ok(c.incrBy(`n${i % 3}:1`, [[`i${i}`, 1 + i]]));
  const k = ok(TopK.create(3, 32, 2));
  for (let i = 0; i < 100; i++) ok(k.add(`n${i % 5}:1`, [[`i${i % 17}`, 1 + (i % 4)]]));
  return [
    { type: 'gcounter', crdt: g },
    { type: 'pncounter', crdt: pn },
    { type: 'hll', crdt: h },
    { type: 'window', crdt: w },
    { type: 'cms', crdt: c },
    { type: 'topk', crdt: k },
  ];
}

describe('splitState', () => {
  it('splits every type into typed parts that the registry joins back into the whole', () => {
    for (const whole of samples()) {
      const size = encodeTyped(whole).length;
      const maxBytes = Math.max(whole.type === 'topk' ? 1 : SPLIT_SAFE_BYTES, Math.ceil(size / 4));
      const parts = splitState(whole, maxBytes);
      expect(parts, whole.type).toBeDefined();
      expect((parts as TypedCrdt[]).length, whole.type).toBeGreaterThan(2);
      // Into nothing (the first part creates the key), and into a copy of the whole, in a random order.
      for (const receiver of [undefined, copy(whole)]) {
        let into: TypedCrdt | undefined = receiver;
        for (const p of shuffled(parts as TypedCrdt[], size)) {
          expect(p.type).toBe(whole.type);
          expect(encodeTyped(p).length).toBeLessThanOrEqual(maxBytes);
          if (into === undefined) into = copy(p);
          else mergeSameType(into, copy(p));
        }
        expect(encodeTyped(into as TypedCrdt), whole.type).toStrictEqual(encodeTyped(whole));
      }
      expect(splitState(whole, size)).toEqual([whole]);
    }
  });

  it('never makes a live state of the same generation not exist', () => {
    for (const whole of samples()) {
      if (whole.type === 'gcounter' || whole.type === 'pncounter') continue; // a counter part of reset slots is a reset's delta
      for (const p of splitState(whole, Math.ceil(encodeTyped(whole).length / 5)) ?? []) {
        expect(isLive(p), whole.type).toBe(true);
        const live = copy(whole);
        mergeSameType(live, copy(p));
        expect(isLive(live), whole.type).toBe(true);
      }
    }
  });

  slowIt('splits the largest unit of every type but Top-K within SPLIT_SAFE_BYTES', () => {
    // Each state: the largest unit, and 40 small ones (so the whole does not fit).
    const small = Array.from({ length: 40 }, (_, i) => `a${String(i).padStart(2, '0')}:1`); // sorted after LONG_ID
    const g = new GCounter();
    g.mergeSlot(LONG_ID, COUNTER_MAX, 1);
    const pn = new PNCounter();
    pn.mergeSlot(LONG_ID, COUNTER_MAX, 1, COUNTER_MAX, 1);
    for (const id of small) {
      g.mergeSlot(id, 1, 0);
      pn.mergeSlot(id, 1, 0);
    }
    const regs = new Uint8Array(1 << 18);
    regs[(1 << 18) - 1] = 46;
    for (let i = 0; i < 200; i++) regs[i * 1000] = 1;
    const h = HyperLogLog.fromRegisters(18, MAX, regs);
    // A window of 1 s x 10,000 s at generation 2^53-1, a count of 2^53-1 in a bucket near the end of time.
    const ww = new ByteWriter();
    ww.u8(1).u8(TypeTag.WindowedCounter).uvarint(1).uvarint(10_000).uvarint(MAX).u8(1).uvarint(1 + small.length).string(LONG_ID);
    for (const id of small) ww.string(id);
    ww.uvarint(1).uvarint(Math.floor(MAX / 1000)).uvarint(1 + small.length).uvarint(0).uvarint(MAX);
    small.forEach((_, i) => ww.uvarint(i + 1).uvarint(1));
    const w = ok(WindowedCounter.decode(ww.finish()));
    // A CMS of 2^18 x 1 at generation 2^53-1, the last cell at 2^53-1.
    const cw = new ByteWriter();
    cw.u8(SKETCH_CODEC_VERSION).u8(TypeTag.CountMinSketch).uvarint(1 << 18).uvarint(1).uvarint(MAX).u8(1).uvarint(1 + small.length);
    cw.string(LONG_ID).uvarint(1).uvarint((1 << 18) - 1).uvarint(1).uvarint(MAX);
    for (const id of small) cw.string(id).uvarint(1).uvarint(0).uvarint(1).uvarint(1);
    const c = ok(CountMinSketch.decode(cw.finish()));
    for (const t of [
      { type: 'gcounter', crdt: g },
      { type: 'pncounter', crdt: pn },
      { type: 'hll', crdt: h },
      { type: 'window', crdt: w },
      { type: 'cms', crdt: c },
    ] as TypedCrdt[]) {
      expect(encodeTyped(t).length, t.type).toBeGreaterThan(SPLIT_SAFE_BYTES);
      const parts = splitState(t, SPLIT_SAFE_BYTES);
      expect(parts, t.type).toBeDefined();
      expect(Math.max(...(parts as TypedCrdt[]).map((p) => encodeTyped(p).length)), t.type).toBeGreaterThan(SPLIT_SAFE_BYTES - 40);
    }
  });

  it('refuses a Top-K whose one record cannot fit, and misuse', () => {
    const k = ok(TopK.create(2, 64, 2));
    ok(k.add('a:1', [['x'.repeat(1024), 9]]));
    ok(k.add('b:1', [['y', 1]]));
    const t: TypedCrdt = { type: 'topk', crdt: k };
    expect(splitState(t, k.largestRecordBytes() - 1)).toBeUndefined();
    expect(splitState(t, k.largestRecordBytes())).toHaveLength(2);
    expect(() => splitState(t, 0)).toThrow(RangeError);
    expect(() => splitState(t, 1.5)).toThrow(RangeError);
  });
});
