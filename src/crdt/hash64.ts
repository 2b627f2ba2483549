// A fast 64-bit non-cryptographic hash of bytes for the HyperLogLog, in pure 32-bit JS math.
// Strings hash exactly like their UTF-8 bytes, so one element hashes alike from every protocol.
//
// Shape: two 32-bit accumulator lanes (the xxHash32 round: acc = rotl(acc + k * P2, 13) * P1)
// take alternate 4-byte little-endian words, so each word costs two multiplies; the tail (1..3
// bytes, zero-padded) is one more round, and the length is folded in before a murmur3-x86_128-style finalizer
// (cross-add the lanes, fmix32 each, cross-add again) that avalanches all 64 state bits into
// both halves. No allocation, no BigInt. The result is returned as two uint32 halves: the call
// returns `hi` and `hash64Lo()` reads `lo` of the last call (a module-level slot, so the hot
// path allocates nothing). Not for adversarial inputs: there is no secret seed.

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const SEED1 = 0x243f6a88; // fractional digits of pi: arbitrary, distinct lane seeds
const SEED2 = 0x85a308d3;

// The low half lives in a typed-array slot: a module-level `let` holding a uint32 above 2^30 would
// box a heap number on every call.
const loSlot = new Int32Array(1);

/** The low 32 bits (as a uint32) of the most recent `hash64Bytes` / `hash64String` call. */
export function hash64Lo(): number {
  return loSlot[0]! >>> 0;
}

/** murmur3's 32-bit finalizer: full avalanche of one lane. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  return h ^ (h >>> 16);
}

/** Folds the length in, mixes the two lanes, stores `lo` and returns `hi`. */
function finish(h1: number, h2: number, len: number): number {
  h1 ^= len;
  h2 ^= Math.imul(len, P1);
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  loSlot[0] = h2;
  return h1 >>> 0;
}

/** Bytes [from, to) (at most 4) as a little-endian word; 0 when empty. */
function tailWord(b: Uint8Array, from: number, to: number): number {
  let k = 0;
  for (let j = 0; from < to; from++, j += 8) k |= b[from]! << j;
  return k;
}

/**
 * `hash64Bytes` of a message of `len` bytes whose first `len - rest` (a multiple of 4) left the lanes
 * (h1, h2) (`hash64Lanes`; the seeds for none) and whose other `rest` bytes are `b[0, rest)`. Returns
 * the high 32 bits; `hash64Lo()` then gives the low 32. Kept small so V8 inlines it into `add` (a
 * larger body with unrolled tails was not inlined and ran ~1.5x slower). Indexing is in bounds by
 * construction (`rest <= b.length`), hence the `!`.
 */
export function hash64Resume(h1: number, h2: number, b: Uint8Array, rest: number, len: number): number {
  let i = 0;
  const end4 = rest - (rest & 3);
  for (; i < end4; i += 4) {
    // Mix the word into lane h1, then swap lanes: consecutive words go to alternate lanes.
    const k = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    const h = (h1 + Math.imul(k, P2)) | 0;
    h1 = h2;
    h2 = Math.imul((h << 13) | (h >>> 19), P1);
  }
  if (i < rest) {
    // The last 1..3 bytes as a zero-padded word, with its own round (the length tells "a" from "a\0").
    h1 = (h1 + Math.imul(tailWord(b, i, rest), P3)) | 0;
    h1 = Math.imul((h1 << 17) | (h1 >>> 15), P1);
  }
  return finish(h1, h2, len);
}

/**
 * The lanes after the first `words` 4-byte words of `b` (`words * 4 <= b.length`), into `out` as
 * (h1, h2): where `hash64Resume` takes up a message that begins with those bytes. For messages that
 * share a long head (a compact counter's encoding up to its count: counter-codec.ts), so the head's
 * words are mixed once, not per message. Its rounds are `hash64Resume`'s, without the tail and the
 * finish.
 */
export function hash64Lanes(b: Uint8Array, words: number, out: Int32Array): void {
  let h1 = SEED1;
  let h2 = SEED2;
  const end = 4 * words;
  for (let i = 0; i < end; i += 4) {
    const k = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    const h = (h1 + Math.imul(k, P2)) | 0;
    h1 = h2;
    h2 = Math.imul((h << 13) | (h >>> 19), P1);
  }
  out[0] = h1;
  out[1] = h2;
}

/** Hashes the first `len` bytes of `b` (`len <= b.length`): a message taken up from the seeds. */
function hashPrefix(b: Uint8Array, len: number): number {
  return hash64Resume(SEED1, SEED2, b, len, len);
}

/** Hashes bytes. Returns the high 32 bits as a uint32; `hash64Lo()` then gives the low 32 bits. */
export function hash64Bytes(b: Uint8Array): number {
  return hashPrefix(b, b.length);
}

/** `hash64Bytes(b.subarray(0, len))` without the view (`len <= b.length`). */
export function hash64Prefix(b: Uint8Array, len: number): number {
  return hashPrefix(b, len);
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** Non-ASCII fallback: UTF-8 encode into a reusable scratch buffer (no allocation once grown). */
function hashEncoded(s: string): number {
  const need = s.length * 3; // UTF-16 code unit -> at most 3 UTF-8 bytes
  if (need > scratch.length) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const { written } = encoder.encodeInto(s, scratch);
  return hashPrefix(scratch, written);
}

/**
 * Hashes a string as its UTF-8 bytes: `hash64String(s) === hash64Bytes(utf8(s))` for every string
 * (lone surrogates encode as U+FFFD, as TextEncoder and Buffer.from do). ASCII strings are read
 * straight from `charCodeAt` without encoding; if any char is >= 0x80 the string is encoded and
 * hashed again (a non-ASCII string costs about two passes).
 */
export function hash64String(s: string): number {
  const len = s.length;
  let h1 = SEED1;
  let h2 = SEED2;
  let i = 0;
  let any = 0; // OR of every char: one branch at the end instead of one per word
  const end4 = len - (len & 3);
  for (; i < end4; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    any |= c0 | c1 | c2 | c3;
    const h = (h1 + Math.imul(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24), P2)) | 0;
    h1 = h2;
    h2 = Math.imul((h << 13) | (h >>> 19), P1);
  }
  if (i < len) {
    let k = 0;
    for (let j = 0; i < len; i++, j += 8) {
      const c = s.charCodeAt(i);
      any |= c;
      k |= c << j;
    }
    h1 = (h1 + Math.imul(k, P3)) | 0;
    h1 = Math.imul((h1 << 17) | (h1 >>> 15), P1);
  }
  // A char >= 0x80 means the words above were not the UTF-8 bytes: start over from the encoding.
  if (any > 0x7f) return hashEncoded(s);
  return finish(h1, h2, len);
}
