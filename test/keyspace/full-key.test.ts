// Full keys (src/keyspace/full-key.ts): one char for the database, then the key's bytes as latin1.
// Every key form (text, Buffer, a view into a larger buffer) and every length (the inline copy up to
// 32 bytes, the scratch buffer, its growth, and the direct path from 64 KiB) gives the same full
// key, and splitKey gives back the database and the exact bytes.
import { describe, expect, it } from 'vitest';
import { DATABASES, fullKey, keyBytesOf, splitKey } from '../../src/keyspace/full-key.js';

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
