// Full keys (src/keyspace/full-key.ts): one char for the database, then the key's bytes as latin1.
// Every key form (text, Buffer, a view into a larger buffer) and every length (the inline copy up to
// 32 bytes, the scratch buffer, its growth, and the direct path from 64 KiB) gives the same full
// key, and splitKey gives back the database and the exact bytes.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { DATABASES, flatKey, fullKey, keyBytesOf, splitKey } from '../../src/keyspace/full-key.js';
import { KeyIndex } from '../../src/keyspace/key-index.js';
import { fullGc } from '../../src/util/system.js';

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

describe('full keys', () => {
  it('round-trips every length and form, growing and reusing the scratch buffer in any order', () => {
    const lengths = [0, 1, 31, 32, 33, 255, 256, 257, 1000, 65_535, 65_536, 70_000, 5, 300, 40, 0];
    lengths.forEach((n, i) => {
      const db = i % DATABASES;
      const raw = bytes(n, i);
      // A view in the middle of a larger buffer, with other bytes on both sides.
      const big = bytes(n + 10, i + 100);
      big.set(raw, 5);
      const view = big.subarray(5, 5 + n);
      const forms = [raw, Buffer.from(raw), view];
      const want = String.fromCharCode(db) + Buffer.from(raw).toString('latin1');
      for (const f of forms) {
        const k = fullKey(db, f);
        expect(k.length, `length ${n}`).toBe(n + 1);
        expect(k === want, `length ${n}, db ${db}`).toBe(true);
        const back = splitKey(k);
        expect(back.db).toBe(db);
        expect(Buffer.compare(back.key, Buffer.from(raw)), `length ${n}`).toBe(0);
      }
    });
  });

  it('a text key is its UTF-8 bytes: the same full key as the bytes', () => {
    for (const text of ['', 'views:1', 'vües:é', '日本', '\u{1F600}']) {
      const utf8 = Buffer.from(text, 'utf8');
      expect(fullKey(3, text)).toBe(fullKey(3, utf8));
      expect(keyBytesOf(text)).toBe(utf8.toString('latin1'));
      expect(splitKey(fullKey(3, text)).key.toString('utf8')).toBe(text);
    }
    expect(keyBytesOf('vües:*')).toHaveLength(7);
  });

  it('keys of different databases never collide', () => {
    const all = new Set<string>();
    for (let db = 0; db < DATABASES; db++) all.add(fullKey(db, 'k'));
    expect(all.size).toBe(DATABASES);
    expect(DATABASES).toBe(16);
  });
});

/**
 * An index of 2,048 keys cut from 16 MB of text (every 8 KB block starts with a distinct 20-char
 * key): half as slices, compact; half joined from a db char and a slice, as entries.
 */
function filledFromText(): KeyIndex<{ key?: string; id?: number }> {
  const index = new KeyIndex<{ key?: string; id?: number }>(1 << 20, () => 1);
  const block = 8192;
  const buf = Buffer.alloc(2048 * block, 'a');
  for (let i = 0; i < 2048; i++) buf.write(`\u0000key:${String(i).padStart(15, '0')}`, i * block, 'latin1');
  const text = buf.toString('latin1');
  for (let i = 0; i < 1024; i++) index.addCompact(text.slice(i * block, i * block + 20));
  for (let i = 1024; i < 2048; i++) index.add(`\u0001${text.slice(i * block + 1, i * block + 20)}`, {});
  expect(index.keyAt(7)).toBe(`\u0000key:${String(7).padStart(15, '0')}`);
  return index;
}

describe('flatKey', () => {
  it('returns the same key, for every length and char a full key has, and anything else as it is', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 300 }), (db, bytes) => {
        const key = fullKey(db, bytes);
        expect(flatKey(key)).toBe(key);
        // As a view of a longer string, and as a string joined from parts.
        const long = `xx${key}yy`;
        expect(flatKey(long.slice(2, -2))).toBe(key);
        expect(flatKey(String.fromCharCode(db) + key.slice(1))).toBe(key);
      }),
    );
    const wide = '\u0000k\u20ac'.repeat(10);
    expect(flatKey(wide)).toBe(wide);
  });

  it('copies keys past the scratch buffer, and grows it from its first size', async () => {
    // A fresh module: its scratch buffer at its first size, grown by no other test yet.
    vi.resetModules();
    const fresh = (await import('../../src/keyspace/full-key.js')) as typeof import('../../src/keyspace/full-key.js');
    const text = (n: number, seed: number): string => fullKey(seed % 16, bytes(n - 1, seed));
    for (const n of [300, 1000, 70_000, 20, 5000]) {
      const key = text(n, n);
      expect(fresh.flatKey(`.${key}.`.slice(1, -1))).toBe(key);
    }
  });

  // A key the table holds must not keep alive the string it was cut from: msgpackr hands a frame's
  // strings out as slices of one, and V8 makes a slice of 13 chars or more a view of the whole.
  it('an index holding keys cut from a long string, or joined from parts, does not keep that string alive', async () => {
    const heapNow = async (): Promise<number> => {
      for (let i = 0; i < 3; i++) {
        expect(fullGc()).toBe(true);
        await new Promise((r) => setTimeout(r, 20));
      }
      const m = process.memoryUsage();
      // The text is an external string (Node keeps a decode of a megabyte or more outside the heap).
      return m.heapUsed + m.external;
    };
    const before = await heapNow();
    // Filled in a function of its own: an async function's suspended frame may keep its locals alive.
    const index = filledFromText();
    const grown = (await heapNow()) - before;
    expect(index.size).toBe(2048);
    // The index's own cost for 2,048 keys is well under a megabyte; the text would be 16.
    expect(grown).toBeLessThan(4 << 20);
  });
});
