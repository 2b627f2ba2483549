// The key table's index (src/keyspace/key-index.ts): an open-addressing hash table from key to
// entry by way of the entry's id. Checked against a Map under random adds, replacements and removals
// (which shift runs back, across the end of the table too), under keys chosen to collide, and for the
// ids it gives: dense, reused, and held back while a walk by id is under way. A lookup by a key's
// bytes in place (getAt) finds what a lookup by its string finds.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashKey, hashKeyAt, isKeyAt, KeyIndex, MAX_INDEX_ID } from '../../src/keyspace/key-index.js';
import { MAX_KEY_ID } from '../../src/keyspace/entries.js';
import { fullKey } from '../../src/keyspace/full-key.js';
import { SeededRng } from '../../src/util/rng.js';

interface Item {
  key?: string;
  id?: number;
  n: number;
}

const item = (n: number): Item => ({ n });

/** Hash seeds for an index: `first`, then a seeded stream for each reseed. */
function seeded(first: number): () => number {
  const rng = new SeededRng(first);
  let calls = 0;
  return () => (calls++ === 0 ? first : rng.int(0x1_0000_0000) | 0);
}

/** Every key held, with its entry, as the index sees it by lookup, by id and by walk. */
function check(index: KeyIndex<Item>, model: Map<string, Item>): void {
  expect(index.size).toBe(model.size);
  for (const [key, e] of model) {
    expect(index.get(key)).toBe(e);
    // The same key as a RESP argument: its bytes at an offset in a larger buffer.
    const bytes = Buffer.from(`xy${key.slice(1)}z`, 'latin1');
    expect(index.getAt(key.charCodeAt(0), bytes, 2, bytes.length - 1)).toBe(e);
    expect(e.key).toBe(key);
    expect(index.at(e.id as number)).toBe(e);
  }
  expect(new Set(index.keys())).toEqual(new Set(model.keys()));
  expect([...index.entries()].length).toBe(model.size);
  const walked: (Item | string)[] = [];
  index.forEachCell((e, id) => {
    expect(typeof e === 'string' ? id : e.id).toBe(id);
    walked.push(e);
  });
  expect(walked).toEqual([...index.entries()]);
}

/** An index (hash seed `seed`) and a Map model, both holding `keys`, added in order. */
function filled(keys: string[], seed: number): [KeyIndex<Item>, Map<string, Item>] {
  const index = new KeyIndex<Item>(1 << 20, seeded(seed));
  const model = new Map<string, Item>();
  for (const key of keys) {
    const e = item(0);
    index.add(key, e);
    model.set(key, e);
  }
  return [index, model];
}

/** `n` keys whose hashes under `seed` share their home slot in a table of 1,024 (the first table's size). */
function colliding(seed: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const key = `\u0000c:${i}`;
    if ((hashKey(key, seed) & 1023) === 7) out.push(key);
  }
  return out;
}

describe('KeyIndex', () => {
  it('hashes a key given as bytes in place as it hashes the key string (any db, bytes and length)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 40 }), fc.nat(5), fc.integer(), (db, key, pad, seed) => {
        const buf = Buffer.concat([Buffer.alloc(pad, 0xff), key, Buffer.alloc(pad, 0xee)]);
        expect(hashKeyAt(db, buf, pad, pad + key.length, seed)).toBe(hashKey(fullKey(db, key), seed));
      }),
      { numRuns: 300 },
    );
  });

  it('tells a key string from the bytes of any other key, db or length', () => {
    const b = Buffer.from('xab\u00e9z', 'latin1');
    expect(isKeyAt('\u0003ab\u00e9', 3, b, 1, 4)).toBe(true);
    expect(isKeyAt('\u0002ab\u00e9', 3, b, 1, 4)).toBe(false); // another db
    expect(isKeyAt('\u0003ab\u00e8', 3, b, 1, 4)).toBe(false); // the last byte differs
    expect(isKeyAt('\u0003bb\u00e9', 3, b, 1, 4)).toBe(false); // the first byte differs
    expect(isKeyAt('\u0003ab', 3, b, 1, 4)).toBe(false); // shorter
    expect(isKeyAt('\u0003ab\u00e9z', 3, b, 1, 4)).toBe(false); // longer
    expect(isKeyAt('\u0003', 3, b, 1, 1)).toBe(true); // the empty key
    expect(isKeyAt('\u0004', 3, b, 1, 1)).toBe(false);
  });

  it('holds what a Map holds under any sequence of adds, replacements and removals', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), key: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ kind: fc.constant('replace' as const), key: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ kind: fc.constant('remove' as const), key: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ kind: fc.constant('drain' as const), key: fc.integer({ min: 0, max: 3000 }) }),
    );
    fc.assert(
      fc.property(fc.integer(), fc.array(op, { minLength: 100, maxLength: 400, size: 'max' }), (seed, ops) => {
        const index = new KeyIndex<Item>(1 << 20, seeded(seed));
        const model = new Map<string, Item>();
        let n = 0;
        for (const o of ops) {
          const key = `\u0000k${o.key}`;
          const held = model.get(key);
          if (o.kind === 'add') {
            // A run of adds from here fills the table past its first growth.
            for (let i = 0; i < 8; i++) {
              const k = `\u0000k${o.key + i * 3001}`;
              if (model.has(k)) continue;
              const e = item(n++);
              index.add(k, e);
              model.set(k, e);
            }
          } else if (o.kind === 'replace' && held !== undefined) {
            const e = item(n++);
            index.replace(held, e);
            model.set(key, e);
            expect(e.id).toBe(held.id);
          } else if (o.kind === 'remove' && held !== undefined) {
            index.remove(held);
            model.delete(key);
            expect(index.get(key)).toBeUndefined();
            expect(index.getAt(0, Buffer.from(key.slice(1), 'latin1'), 0, key.length - 1)).toBeUndefined();
          } else if (o.kind === 'drain') {
            // Every other key goes: long runs of the table shift back.
            let i = 0;
            for (const [k, e] of [...model]) if (i++ % 2 === 0) {
              index.remove(e);
              model.delete(k);
            }
          }
        }
        check(index, model);
      }),
      { numRuns: 60 },
    );
  });

  it('moves a run back across the end of the table when a key in it goes', () => {
    // Keys whose home is the next-to-last slot wrap to the first ones, among keys whose home is slot 0;
    // removing one must pull back each that may move, and only those, so each is still found.
    const seed = 12345;
    const homed = (home: number, n: number): string[] => {
      const out: string[] = [];
      for (let i = 0; out.length < n; i++) if ((hashKey(`\u0000w${home}:${i}`, seed) & 1023) === home) out.push(`\u0000w${home}:${i}`);
      return out;
    };
    const [a, b, c] = homed(1022, 3) as [string, string, string];
    const [x, y] = homed(0, 2) as [string, string];
    // Slots 1022, 1023, 0, 1, 2 hold a, b, x, c, y.
    const [index, model] = filled([a, b, x, c, y], seed);
    expect(index.longestProbe()).toBe(3);
    for (const key of [a, x, b]) {
      index.remove(model.get(key) as Item);
      model.delete(key);
      check(index, model);
    }
    // Left: c and y, each back at its home.
    expect(index.longestProbe()).toBe(0);

    // Two keys homed at the last slot: the second wraps to slot 0, and comes back when the first goes.
    const [z1, z2] = homed(1023, 2) as [string, string];
    for (const key of [z1, z2]) {
      const e = item(0);
      index.add(key, e);
      model.set(key, e);
    }
    expect(index.longestProbe()).toBe(2);
    index.remove(model.get(z1) as Item);
    model.delete(z1);
    check(index, model);
    expect(index.longestProbe()).toBe(0);

    // A run that wrapped, cut after the wrap: the key behind the hole, homed at the end, comes back to it.
    const four = homed(1022, 4);
    const [ix3, m3] = filled(four, seed);
    ix3.remove(m3.get(four[2] as string) as Item);
    m3.delete(four[2] as string);
    check(ix3, m3);
    expect(ix3.longestProbe()).toBe(2);

    // A key behind the wrap whose home lies after the hole stays put.
    const [h1022] = homed(1022, 1) as [string];
    const late = homed(1023, 2);
    const [ix4, m4] = filled([h1022, ...late], seed);
    ix4.remove(m4.get(h1022) as Item);
    m4.delete(h1022);
    check(ix4, m4);
    expect(ix4.longestProbe()).toBe(1);
  });

  it('takes a new seed when keys chosen to collide make a probe run long', () => {
    const seed = 99;
    const [index, model] = filled(colliding(seed, 200), seed);
    check(index, model);
    // Under the first seed the 200 keys would sit in one run of 200 from one home.
    expect(index.longestProbe()).toBeLessThanOrEqual(64);
  });

  it('gives dense ids, a removed key\'s id to the next new key, and none of them while ids are held', () => {
    const index = new KeyIndex<Item>(1 << 20, seeded(1));
    const es = [0, 1, 2, 3].map(item);
    es.forEach((e, i) => index.add(`\u0000${i}`, e));
    expect(es.map((e) => e.id)).toEqual([0, 1, 2, 3]);
    index.remove(es[1] as Item);
    const again = item(9);
    index.add('\u0000again', again);
    expect(again.id).toBe(1);

    index.remove(es[0] as Item);
    const walk = index.keys();
    expect(walk.next().value).toBe('\u0000again');
    index.holdIds = true;
    const late = item(10);
    index.add('\u0000late', late);
    expect(late.id).toBe(4);
    // The walk under way reaches the key added during it.
    expect([...walk]).toEqual(['\u00002', '\u00003', '\u0000late']);
    index.holdIds = false;
    const reused = item(11);
    index.add('\u0000reused', reused);
    expect(reused.id).toBe(0);
  });

  it('shrinks back when most keys are removed, and still finds every key left', () => {
    const [index, model] = filled(Array.from({ length: 100_000 }, (_, i) => `\u0000m:${i}`), 3);
    expect(index.slotCount).toBe(262_144);
    for (const [key, e] of [...model]) {
      if (model.size === 100) break;
      index.remove(e);
      model.delete(key);
    }
    expect(index.slotCount).toBe(1024);
    check(index, model);
  });

  it('refuses a key past the most ids it may give', () => {
    const index = new KeyIndex<Item>(2, seeded(1));
    for (let i = 0; i < 3; i++) index.add(`\u0000${i}`, item(i));
    expect(() => index.add('\u0000x', item(3))).toThrow(/at most 3 keys/);
    expect(index.size).toBe(3);
  });

  it('gives at most as many ids as a cell holds (28 bits), the key table\'s own limit', () => {
    expect(MAX_INDEX_ID).toBe(2 ** 28 - 2);
    expect(MAX_KEY_ID).toBe(MAX_INDEX_ID);
    expect(() => new KeyIndex<Item>(MAX_INDEX_ID, seeded(1))).not.toThrow();
    expect(() => new KeyIndex<Item>(MAX_INDEX_ID + 1, seeded(1))).toThrow(/a key index gives at most 268435455 ids, not 268435456/);
  });

  it('keeps two keys whose 32-bit hashes are equal apart: an entry is returned only for its own key', () => {
    const [a, b] = ['\u0000u:59990', '\u0000u:102914'];
    expect(hashKey(a, 7)).toBe(hashKey(b, 7));
    const index = new KeyIndex<Item>(1 << 20, seeded(7));
    const ea = item(1);
    const eb = item(2);
    // Each key also by its bytes in place (db 0), as RESP looks keys up.
    const at = (key: string): Item | undefined => index.getAt(0, Buffer.from(key.slice(1), 'latin1'), 0, key.length - 1);
    index.add(a, ea);
    expect(index.get(b)).toBeUndefined();
    expect(at(b)).toBeUndefined();
    index.add(b, eb);
    expect(index.get(a)).toBe(ea);
    expect(index.get(b)).toBe(eb);
    expect(at(a)).toBe(ea);
    expect(at(b)).toBe(eb);
    index.remove(ea);
    expect(index.get(a)).toBeUndefined();
    expect(at(a)).toBeUndefined();
    expect(index.get(b)).toBe(eb);
    expect(at(b)).toBe(eb);
  });

  it('hashes as it always has (known answers: a change of the hash is a change of every table, so make it on purpose)', () => {
    const answers: [string, number, number][] = [
      ['', 0, 142593372],
      ['a', 1009084850, -1293573533],
      ['ab', -1681926305, -684913081],
      ['abc', -1277324294, 1313807976],
      ['\u0000user:123456', -795064568, 62047814],
      ['\u00ff\u0100\u00e9', -373004485, -6984243],
    ];
    for (const [s, h0, h42] of answers) {
      expect(hashKey(s, 0)).toBe(h0);
      expect(hashKey(s, 42)).toBe(h42);
    }
  });

  it('hashes every code unit, odd lengths and the seed alike', () => {
    const seen = new Set<number>();
    for (const s of ['', 'a', 'ab', 'abc', 'abd', 'bbc', '\u00ff\u0100', '\u0100\u00ff']) seen.add(hashKey(s, 0));
    expect(seen.size).toBe(8);
    expect(hashKey('abc', 1)).not.toBe(hashKey('abc', 2));
  });
});
