// The HLL hash: strings hash as their UTF-8 bytes, pinned vectors, and bit balance / avalanche.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hash64Bytes, hash64Lanes, hash64Lo, hash64Resume, hash64String } from '../../src/crdt/hash64.js';

function hex(hi: number): string {
  return hi.toString(16).padStart(8, '0') + hash64Lo().toString(16).padStart(8, '0');
}

describe('hash64', () => {
  it('is pinned: changing these values changes every stored sketch', () => {
    const vectors: Array<[string, string]> = [
      ['', '5626aa848ccf3f0a'],
      ['a', '6778aed2ec5e24dc'],
      ['abc', 'de179a69d37fe980'],
      ['abcd', 'f0285e21456ac2f6'],
      ['hello world', 'd15736715e324f75'],
      ['el-1-1', 'c08a7c64398e3ef5'],
      ['héllo wörld €', '25207eeaf7dc1bf8'],
    ];
    for (const [s, want] of vectors) {
      expect(hex(hash64String(s))).toBe(want);
      expect(hex(hash64Bytes(Buffer.from(s, 'utf8')))).toBe(want);
    }
  });

  it('returns uint32 halves', () => {
    for (let i = 0; i < 1000; i++) {
      const hi = hash64String(`x${i}`);
      const lo = hash64Lo();
      expect(hi >>> 0).toBe(hi);
      expect(lo >>> 0).toBe(lo);
    }
  });

  it('hashes a message taken up after any number of its whole words as it hashes the message', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(), (b, at) => {
        const words = at % (Math.floor(b.length / 4) + 1);
        const lanes = new Int32Array(2);
        hash64Lanes(b, words, lanes);
        // The rest in a buffer of its own, with a byte past it that must not be read.
        const rest = Uint8Array.from([...b.subarray(4 * words), 0xa5]);
        const hi = hash64Resume(lanes[0] as number, lanes[1] as number, rest, b.length - 4 * words, b.length);
        const lo = hash64Lo();
        expect([hi, lo]).toEqual([hash64Bytes(b), hash64Lo()]);
      }),
      { numRuns: 500 },
    );
  });

  it('hashes every ASCII length like the bytes', () => {
    let s = '';
    for (let len = 0; len < 70; len++) {
      const hs = hash64String(s);
      const ls = hash64Lo();
      const hb = hash64Bytes(new TextEncoder().encode(s));
      expect([hs, ls]).toEqual([hb, hash64Lo()]);
      s += String.fromCharCode(0x20 + ((len * 37) % 95));
    }
  });

  it('hashes any string (non-ASCII, lone surrogates) exactly like its UTF-8 bytes', () => {
    const codeUnit = fc.oneof(
      fc.integer({ min: 0, max: 0x7f }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0xd800, max: 0xdfff }),
    );
    const str = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.array(codeUnit, { maxLength: 40 }).map((cs) => String.fromCharCode(...cs)),
    );
    fc.assert(
      fc.property(str, (s) => {
        const hs = hash64String(s);
        const ls = hash64Lo();
        const hb = hash64Bytes(Buffer.from(s, 'utf8'));
        expect(hs).toBe(hb);
        expect(ls).toBe(hash64Lo());
      }),
      { numRuns: 2000 },
    );
  });

  it('hashes long non-ASCII strings (scratch buffer growth)', () => {
    const s = 'ü'.repeat(5000) + 'x';
    const hs = hash64String(s);
    const ls = hash64Lo();
    expect(hash64Bytes(Buffer.from(s, 'utf8'))).toBe(hs);
    expect(hash64Lo()).toBe(ls);
  });

  it('sets each of the 64 output bits about half the time on sequential inputs', () => {
    const n = 40_000;
    const ones = new Int32Array(64);
    const b = new Uint8Array(8);
    const view = new DataView(b.buffer);
    for (let i = 0; i < n; i++) {
      view.setUint32(0, i, true);
      const hi = hash64Bytes(b);
      const lo = hash64Lo();
      for (let k = 0; k < 32; k++) {
        ones[k]! += (hi >>> k) & 1;
        ones[32 + k]! += (lo >>> k) & 1;
      }
    }
    // 5 standard deviations of a fair coin over n draws.
    const tolerance = (5 * Math.sqrt(n / 4)) / n;
    for (let k = 0; k < 64; k++) expect(Math.abs(ones[k]! / n - 0.5)).toBeLessThan(tolerance);
  });

  it('avalanches: flipping one input bit flips each output bit about half the time', () => {
    const trials = 2000;
    const inputBits = 16 * 8;
    const flips = new Float64Array(64);
    const b = new Uint8Array(16);
    let x = 12345;
    let worst = 0;
    for (let bit = 0; bit < inputBits; bit += 3) {
      flips.fill(0);
      for (let t = 0; t < trials; t++) {
        for (let j = 0; j < 16; j++) {
          x = (Math.imul(x, 1103515245) + 12345) | 0;
          b[j] = x >>> 24;
        }
        const h0 = hash64Bytes(b);
        const l0 = hash64Lo();
        b[bit >> 3]! ^= 1 << (bit & 7);
        const h1 = hash64Bytes(b) ^ h0;
        const l1 = hash64Lo() ^ l0;
        for (let k = 0; k < 32; k++) {
          flips[k]! += (h1 >>> k) & 1;
          flips[32 + k]! += (l1 >>> k) & 1;
        }
      }
      for (let k = 0; k < 64; k++) worst = Math.max(worst, Math.abs(flips[k]! / trials - 0.5));
    }
    expect(worst).toBeLessThan(0.07); // ~6 sigma at 2000 trials, over 43 x 64 cells
  });
});
