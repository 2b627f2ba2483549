// MurmurHash64A (Austin Appleby's 64-bit MurmurHash2 for 64-bit platforms), the hash Redis's
// HyperLogLog applies to every element, in pure 32-bit JS math so no BigInt is allocated per call.
// With Redis's seed and the register rule in hyperloglog.ts, an element lands in the register
// Redis would put it in. docs/crdt-hll.md, "The hash", says why and how it is checked.
//
// The algorithm, on 64-bit words (all arithmetic mod 2^64, M = 0xc6a4a7935bd1e995, R = 47):
//   h = seed ^ (len * M)
//   per 8-byte little-endian word k: k *= M; k ^= k >> R; k *= M; h ^= k; h *= M
//   tail (1..7 bytes, little-endian, zero-padded): h ^= tail; h *= M
//   h ^= h >> R; h *= M; h ^= h >> R
// Here a 64-bit value is a pair of uint32 halves (hi, lo). The result's low half is returned and
// its high half left in a typed-array slot read by `murmur64Hi()` (a module-level `let` holding a
// uint32 above 2^30 would box a heap number on every call).

/** The seed Redis passes (`0xadc83b19`): part of the data format, never change it. */
export const REDIS_HLL_SEED = 0xadc83b19;

const M_HI = 0xc6a4a793;
const M_LO = 0x5bd1e995;

const hiSlot = new Int32Array(1);

/** The high 32 bits (as a uint32) of the most recent `murmur64Bytes` / `murmur64String` call. */
export function murmur64Hi(): number {
  return hiSlot[0]! >>> 0;
}

/** The high 32 bits of the 64-bit product a * b of two uint32 (the low 32 are `Math.imul(a, b)`). */
function mulHi(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  // Every partial product is below 2^32, so doubles hold them exactly.
  const t = a1 * b0 + ((a0 * b0) >>> 16);
  const w = (t & 0xffff) + a0 * b1;
  return (a1 * b1 + Math.floor(t / 65536) + Math.floor(w / 65536)) >>> 0;
}

// Scratch halves of the value being multiplied: `mulM` reads (xHi, xLo) and writes them back.
let xHi = 0;
let xLo = 0;

/** (xHi, xLo) *= M, mod 2^64. */
function mulM(): void {
  const lo = xLo >>> 0;
  const hi = (mulHi(lo, M_LO) + Math.imul(lo, M_HI) + Math.imul(xHi, M_LO)) | 0;
  xLo = Math.imul(lo, M_LO);
  xHi = hi;
}

/**
 * MurmurHash64A of the first `len` bytes of `b` with `seed` (a uint32; Redis's is 0xadc83b19).
 * Returns the low 32 bits as a uint32; `murmur64Hi()` then gives the high 32 bits.
 */
export function murmur64Prefix(b: Uint8Array, len: number, seed: number = REDIS_HLL_SEED): number {
  // h = seed ^ (len * M); len < 2^32 here (a Uint8Array's length), so len is (0, len).
  xHi = 0;
  xLo = len;
  mulM();
  let hHi = xHi;
  let hLo = xLo ^ seed;
  const end8 = len - (len & 7);
  for (let i = 0; i < end8; i += 8) {
    xLo = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    xHi = b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24);
    mulM();
    xLo ^= xHi >>> 15; // k ^= k >> 47: the top 17 bits of hi land in the low 17 of lo
    mulM();
    xHi = hHi ^ xHi;
    xLo = hLo ^ xLo;
    mulM();
    hHi = xHi;
    hLo = xLo;
  }
  const rest = len & 7;
  if (rest !== 0) {
    let tLo = 0;
    let tHi = 0;
    for (let j = 0; j < rest; j++) {
      const byte = b[end8 + j]!;
      if (j < 4) tLo |= byte << (8 * j);
      else tHi |= byte << (8 * (j - 4));
    }
    xHi = hHi ^ tHi;
    xLo = hLo ^ tLo;
    mulM();
    hHi = xHi;
    hLo = xLo;
  }
  xHi = hHi;
  xLo = hLo ^ (hHi >>> 15);
  mulM();
  const fHi = xHi;
  const fLo = xLo ^ (fHi >>> 15);
  hiSlot[0] = fHi;
  return fLo >>> 0;
}

/** MurmurHash64A of bytes with Redis's seed. Returns the low 32 bits; `murmur64Hi()` the high 32. */
export function murmur64Bytes(b: Uint8Array): number {
  return murmur64Prefix(b, b.length, REDIS_HLL_SEED);
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/**
 * MurmurHash64A of a string's UTF-8 bytes with Redis's seed (`murmur64String(s) ===
 * murmur64Bytes(utf8(s))`; lone surrogates encode as U+FFFD, as TextEncoder and Buffer do). An
 * ASCII string is copied char by char into a reusable scratch buffer, anything else encoded into
 * it, so nothing is allocated once the buffer has grown.
 */
export function murmur64String(s: string): number {
  const n = s.length;
  if (n * 3 > scratch.length) scratch = new Uint8Array(Math.max(n * 3, scratch.length * 2));
  const buf = scratch;
  let any = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    any |= c;
    buf[i] = c;
  }
  if (any <= 0x7f) return murmur64Prefix(buf, n, REDIS_HLL_SEED);
  const { written } = encoder.encodeInto(s, buf);
  return murmur64Prefix(buf, written, REDIS_HLL_SEED);
}
