// The HyperLogLog's wire form (hyperloglog.ts holds the sketch; docs/crdt-hll.md, "Codec"): its
// precision bounds and form bytes, and the check of untrusted bytes into plain data (precision,
// generation, hash family, and the registers as a sparse list or a dense array). Every way the
// bytes can be malformed or non-canonical is an error here, so a sketch is only built from a valid
// state.

import { err, ok, type Result } from '../util/result.js';
import { ByteReader, CODEC_VERSION, TypeTag } from './codec.js';
import { CrdtError } from './errors.js';
import { readSparseEntries } from './hll-sparse.js';
import { unpackDense } from './redis-hyll.js';

/** Smallest supported precision (16 registers). */
export const HLL_MIN_PRECISION = 4;
/** Largest supported precision (262,144 registers). */
export const HLL_MAX_PRECISION = 18;

/** Codec form byte: sorted (index, rank) list of the non-zero registers (legacy hash; also any empty sketch). */
export const FORM_SPARSE = 0;
/** Codec form byte: every register, 6 bits each (legacy hash). */
export const FORM_DENSE = 1;
/** Codec form bytes of the Redis hash family: `FORM_SPARSE` / `FORM_DENSE` plus this. */
export const FORM_REDIS = 2;

/**
 * Which hash put elements in the registers. `redis`: MurmurHash64A with Redis's seed, index = the
 * low p bits, rank = 1 + trailing zeros of the rest (Redis's registers, element for element).
 * `legacy`: tally's own hash64 (index = the top p bits, rank = 1 + leading zeros of the rest), what
 * every sketch written before tally hashed as Redis does holds. Registers of two families cannot be
 * combined (the same element lands in different registers, so a union would count it twice).
 */
export type HllHash = 'redis' | 'legacy';

/**
 * Largest number of non-zero registers held in sparse form: m / 4. A sparse entry costs 4 bytes in
 * memory (a packed uint32) against 1 byte per register dense, so past m / 4 entries sparse stops
 * saving memory; it also keeps the sorted insert (binary search + memmove) cheap. The encoding
 * uses the same rule, which makes it canonical (one state, one byte string): sparse costs about 2
 * bytes an entry encoded, so at m / 4 entries it is still below the dense m * 3/4 bytes.
 */
export function sparseMaxOf(p: number): number {
  return 1 << (p - 2);
}

/** The sparse list of a dense state (never read). */
const NO_ENTRIES = new Uint32Array(0);

/** A valid HyperLogLog state as it came off the wire: registers sparse (`dense` null) or dense. */
export interface HllWire {
  readonly p: number;
  readonly generation: number;
  readonly hash: HllHash;
  /** Sorted `index << 6 | rank` entries (the first `sparseLen`), when sparse. */
  readonly sparse: Uint32Array;
  readonly sparseLen: number;
  /** Every register, when dense (more than sparseMaxOf(p) non-zero); else null. */
  readonly dense: Uint8Array | null;
}

/** Checks untrusted bytes and reads the state they hold. Never throws. */
export function decodeHllWire(bytes: Uint8Array): Result<HllWire, CrdtError> {
  const r = new ByteReader(bytes);
  const fail = (): Result<HllWire, CrdtError> =>
    err(
      new CrdtError(
        r.reason.startsWith('truncated') ? 'CODEC_TRUNCATED' : 'CODEC_INVALID',
        `HyperLogLog: ${r.reason}`,
      ),
    );
  const invalid = (why: string): Result<HllWire, CrdtError> =>
    err(new CrdtError('CODEC_INVALID', `HyperLogLog: ${why}`));
  const version = r.u8();
  if (r.failed) return fail();
  if (version !== CODEC_VERSION) {
    return err(new CrdtError('CODEC_BAD_VERSION', `HyperLogLog: unknown codec version ${version}`));
  }
  const tag = r.u8();
  if (r.failed) return fail();
  if (tag !== TypeTag.HyperLogLog) {
    return err(new CrdtError('CODEC_BAD_TYPE', `HyperLogLog: expected type tag ${TypeTag.HyperLogLog}, got ${tag}`));
  }
  const p = r.u8();
  const generation = r.uvarint();
  const form = r.u8();
  if (r.failed) return fail();
  if (p < HLL_MIN_PRECISION || p > HLL_MAX_PRECISION) return invalid(`precision ${p} outside 4..18`);
  const m = 1 << p;
  const maxRank = 65 - p;
  const sparseMax = sparseMaxOf(p);
  if (form > FORM_REDIS + FORM_DENSE) return invalid(`unknown form ${form}`);
  const hash: HllHash = form >= FORM_REDIS ? 'redis' : 'legacy';
  if (form === FORM_SPARSE || form === FORM_SPARSE + FORM_REDIS) {
    const n = r.uvarint();
    if (r.failed) return fail();
    if (n === 0 && form !== FORM_SPARSE) return invalid('an empty sketch in a hash family form (non-canonical)');
    if (n > sparseMax) return invalid(`${n} sparse entries above the sparse limit ${sparseMax}`);
    if (n > r.remaining) return err(new CrdtError('CODEC_TRUNCATED', `HyperLogLog: ${n} entries in ${r.remaining} bytes`));
    const sp = readSparseEntries(r, n, m, maxRank);
    if (r.failed) return fail();
    if (typeof sp === 'string') return invalid(sp);
    if (r.remaining !== 0) return invalid(`${r.remaining} trailing bytes`);
    // An empty sketch is of no family, and held as `redis` (hyperloglog.ts, `hash`).
    return ok({ p, generation, hash: n === 0 ? 'redis' : hash, sparse: sp, sparseLen: n, dense: null });
  }
  const size = (m * 3) / 4;
  if (r.remaining < size) return err(new CrdtError('CODEC_TRUNCATED', `HyperLogLog: dense needs ${size} bytes, has ${r.remaining}`));
  if (r.remaining > size) return invalid(`${r.remaining - size} trailing bytes`);
  const regs = new Uint8Array(m);
  unpackDense(r.bytes(size), regs);
  let nonZero = 0;
  let max = 0;
  for (let i = 0; i < m; i++) {
    const v = regs[i]!;
    if (v > max) max = v;
    if (v !== 0) nonZero++;
  }
  if (max > maxRank) return invalid(`dense rank ${max} above ${maxRank}`);
  if (nonZero <= sparseMax) return invalid(`dense form with only ${nonZero} non-zero registers (non-canonical)`);
  return ok({ p, generation, hash, sparse: NO_ENTRIES, sparseLen: 0, dense: regs });
}
