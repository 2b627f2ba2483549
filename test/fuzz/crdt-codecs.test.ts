// Fuzzing every CRDT codec: random and mutated bytes never throw; an accepted input decodes to an
// object whose encoding is a canonical fixed point (decode(encode(x)) encodes to the same bytes).
// A rejection is a typed CODEC_ error and builds nothing.

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { CountMinSketch } from '../../src/crdt/count-min-sketch.js';
import { GCounter } from '../../src/crdt/g-counter.js';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { TopK } from '../../src/crdt/top-k.js';
import { WindowedCounter } from '../../src/crdt/windowed-counter.js';
import { decodeKeyState, encodeKeyState, MULTI_TAG, tagOf } from '../../src/crdt/registry.js';
import { decodeWithLife, encodeWithLife, LIFE_TAG } from '../../src/keyspace/life.js';
import type { Result } from '../../src/util/result.js';
import { FUZZ_OPTIONS, FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzzBytes } from './mutate.js';
import { unwrap } from '../unwrap.js';

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });

interface Encodable {
  encode(): Uint8Array;
}
interface Codec {
  name: string;
  decode(b: Uint8Array): Result<Encodable, { code: string }>;
  seeds(): Uint8Array[];
}

const codecs: Codec[] = [
  {
    name: 'GCounter',
    decode: (b) => GCounter.decode(b),
    seeds: () => {
      const g = new GCounter();
      const out = [g.encode()];
      g.increment('n1:1', 5);
      out.push(g.encode());
      g.increment('n2:3', 2 ** 40);
      g.increment('é:1', 1);
      out.push(g.encode());
      return out;
    },
  },
  {
    name: 'PNCounter',
    decode: (b) => PNCounter.decode(b),
    seeds: () => {
      const c = new PNCounter();
      const out = [c.encode()];
      c.increment('n1:1', 7);
      out.push(c.encode());
      c.increment('n2:2', -300);
      c.increment('n3:9', 2 ** 50);
      out.push(c.encode());
      return out;
    },
  },
  {
    name: 'HyperLogLog',
    decode: (b) => HyperLogLog.decode(b),
    seeds: () => {
      const h = HyperLogLog.create();
      const out = [h.encode()];
      for (let i = 0; i < 20; i++) h.add(`u${i}`);
      out.push(h.encode());
      const small = HyperLogLog.create(4);
      for (let i = 0; i < 100; i++) small.add(`v${i}`);
      out.push(small.encode()); // dense at p = 4: 16 registers, a small dense seed
      out.push((small.split(12) ?? [])[1]?.encode() ?? new Uint8Array()); // a part of it
      return out;
    },
  },
  {
    name: 'CountMinSketch',
    decode: (b) => CountMinSketch.decode(b),
    seeds: () => {
      const s = unwrap(CountMinSketch.create(8, 2));
      const out = [s.encode()];
      unwrap(s.incrBy('n1:1', [['a', 3], ['b', 1]]));
      unwrap(s.incrBy('n2:1', [['a', 2 ** 33]]));
      out.push(s.encode());
      // Runs with gaps (a wide matrix, few items), and a part of it (cells of one replica).
      const wide = unwrap(CountMinSketch.create(64, 3));
      for (let i = 0; i < 12; i++) unwrap(wide.incrBy(`n${i % 2}:1`, [[`w${i}`, 1 + i * 40]]));
      out.push(wide.encode());
      out.push((wide.split(40) ?? [])[1]?.encode() ?? new Uint8Array());
      // Version 1 (every cell written), still read.
      out.push(Uint8Array.from([1, 5, 4, 1, 0, 1, 1, 3, 0x61, 0x3a, 0x31, 0, 7, 0, 2]));
      return out;
    },
  },
  {
    name: 'TopK',
    decode: (b) => TopK.decode(b),
    seeds: () => {
      const t = unwrap(TopK.create(3, 8, 2));
      const out = [t.encode()];
      unwrap(t.add('n1:1', [['a', 3], ['b', 1], ['c', 9], ['d', 2]]));
      out.push(t.encode());
      unwrap(t.add('n2:1', [['e', 5]]));
      out.push((t.split(t.largestRecordBytes()) ?? [])[1]?.encode() ?? new Uint8Array()); // a part: one record
      return out;
    },
  },
  {
    name: 'WindowedCounter',
    decode: (b) => WindowedCounter.decode(b),
    seeds: () => {
      const w = WindowedCounter.create(1, 60);
      const out = [w.encode()];
      w.incrementAt('n1:1', 4, 1_000_000, 1_000_000);
      w.incrementAt('n2:1', 9, 1_003_000, 1_003_000);
      out.push(w.encode());
      return out;
    },
  },
  {
    // A key with a TTL, or past an expiry: its state wrapped in its life.
    name: 'key state with a life',
    decode: (b) => {
      const r = decodeWithLife(LIFE_TAG, b);
      return r.ok ? { ok: true, value: { encode: () => encodeWithLife(r.value.life, encodeKeyState(r.value.states.map((s) => ({ tag: tagOf(s.type), bytes: s.crdt.encode() })))).bytes } } : r;
    },
    seeds: () => {
      const c = new PNCounter();
      c.increment('n1:1', 7);
      const h = HyperLogLog.create();
      h.add('x');
      return [
        encodeWithLife({ epoch: 0, ttlVersion: 1, deadline: 1_700_000_000_000 }, { tag: 2, bytes: c.encode() }).bytes,
        encodeWithLife({ epoch: 4, ttlVersion: 0, deadline: null }, encodeKeyState([{ tag: 2, bytes: c.encode() }, { tag: 3, bytes: h.encode() }])).bytes,
      ];
    },
  },
  {
    // A key that holds several types (a deleted key re-created as another type, or a concurrent creation).
    name: 'key state of several types',
    decode: (b) => {
      const r = decodeKeyState(MULTI_TAG, b);
      return r.ok ? { ok: true, value: { encode: () => encodeKeyState(r.value.map((s) => ({ tag: tagOf(s.type), bytes: s.crdt.encode() }))).bytes } } : r;
    },
    seeds: () => {
      const c = new PNCounter();
      c.increment('n1:1', 7);
      c.reset();
      const h = HyperLogLog.create();
      h.add('x');
      const w = WindowedCounter.create(1, 60);
      return [
        encodeKeyState([{ tag: 2, bytes: c.encode() }, { tag: 3, bytes: h.encode() }]).bytes,
        encodeKeyState([{ tag: 4, bytes: w.encode() }, { tag: 3, bytes: h.encode() }, { tag: 2, bytes: c.encode() }]).bytes,
      ];
    },
  },
];

for (const c of codecs) {
  describe(`${c.name} codec fuzz`, () => {
    it(`survives ${FUZZ_RUNS} random and mutated inputs; accepted ones re-encode canonically`, () => {
      const seeds = c.seeds();
      for (const s of seeds) expect(c.decode(s).ok).toBe(true);
      let accepted = 0;
      fc.assert(
        fc.property(fuzzBytes(seeds), (bytes) => {
          // Plain checks in the loop: expect() costs more than the decoders themselves.
          const copy = Buffer.from(bytes);
          const r = c.decode(bytes);
          if (!copy.equals(bytes)) throw new Error('decode wrote to its input');
          if (!r.ok) {
            if (!r.error.code.startsWith('CODEC_')) throw new Error(`rejection without a CODEC_ code: ${r.error.code}`);
            return;
          }
          accepted++;
          const once = r.value.encode();
          const again = c.decode(once);
          if (!again.ok) throw new Error(`its own encoding is rejected: ${again.error.code}`);
          if (!Buffer.from(again.value.encode()).equals(once)) throw new Error('re-encoding is not a fixed point');
        }),
        FUZZ_OPTIONS,
      );
      expect(accepted).toBeGreaterThan(0);
    });
  });
}
