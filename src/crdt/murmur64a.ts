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

/**
 * The high 32 bits (as an int32) of the 64-bit product of the uint32 `a` (given as any int32 with
 * those bits) and the constant M_LO: the low 32 are `Math.imul(a, M_LO)`.
 */
function mulHiMLo(a: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  // Every partial product is below 2^32, so doubles hold them exactly.
  const t = a1 * M_LO0 + ((a0 * M_LO0) >>> 16);
  const w = (t & 0xffff) + a0 * M_LO1;
  return (a1 * M_LO1 + Math.floor(t / 65536) + Math.floor(w / 65536)) | 0;
}

const M_LO0 = M_LO & 0xffff;
const M_LO1 = M_LO >>> 16;

// A 64-bit value x = (hi, lo) times M, mod 2^64, is
//   lo' = imul(lo, M_LO)
//   hi' = mulHiMLo(lo) + imul(lo, M_HI) + imul(hi, M_LO)
// written out at each use below: all state stays in local int32 variables (a module-level `let`
// or a returned pair would box numbers or allocate on every call).

/**
 * MurmurHash64A of the first `len` bytes of `b` with `seed` (a uint32; Redis's is 0xadc83b19).
 * Returns the low 32 bits as a uint32; `murmur64Hi()` then gives the high 32 bits.
 */
export function murmur64Prefix(b: Uint8Array, len: number, seed: number = REDIS_HLL_SEED): number {
  // h = seed ^ (len * M); len < 2^32 here (a Uint8Array's length), so len is (0, len).
  let hHi = (mulHiMLo(len) + Math.imul(len, M_HI)) | 0;
  let hLo = Math.imul(len, M_LO) ^ seed;
  const end8 = len - (len & 7);
  for (let i = 0; i < end8; i += 8) {
    let kLo = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    let kHi = b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24);
    // k *= M
    let t = (mulHiMLo(kLo) + Math.imul(kLo, M_HI) + Math.imul(kHi, M_LO)) | 0;
    kLo = Math.imul(kLo, M_LO);
    kHi = t;
    // k ^= k >> 47: the top 17 bits of hi land in the low 17 of lo
    kLo ^= kHi >>> 15;
    // k *= M
    t = (mulHiMLo(kLo) + Math.imul(kLo, M_HI) + Math.imul(kHi, M_LO)) | 0;
    kLo = Math.imul(kLo, M_LO);
    kHi = t;
    // h ^= k; h *= M
    hHi ^= kHi;
    hLo ^= kLo;
    t = (mulHiMLo(hLo) + Math.imul(hLo, M_HI) + Math.imul(hHi, M_LO)) | 0;
    hLo = Math.imul(hLo, M_LO);
    hHi = t;
  }
  const rest = len & 7;
  if (rest !== 0) {
    // The last 1..7 bytes, little-endian: h ^= tail; h *= M
    let tLo = 0;
    let tHi = 0;
    for (let j = 0; j < rest; j++) {
      const byte = b[end8 + j]!;
      if (j < 4) tLo |= byte << (8 * j);
      else tHi |= byte << (8 * (j - 4));
    }
    hHi ^= tHi;
    hLo ^= tLo;
    const t = (mulHiMLo(hLo) + Math.imul(hLo, M_HI) + Math.imul(hHi, M_LO)) | 0;
    hLo = Math.imul(hLo, M_LO);
    hHi = t;
  }
  // h ^= h >> 47; h *= M; h ^= h >> 47
  hLo ^= hHi >>> 15;
  const t = (mulHiMLo(hLo) + Math.imul(hLo, M_HI) + Math.imul(hHi, M_LO)) | 0;
  hLo = Math.imul(hLo, M_LO);
  hHi = t;
  hLo ^= hHi >>> 15;
  hiSlot[0] = hHi;
  return hLo >>> 0;
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
