// The HyperLogLog's sparse form as plain data (hyperloglog.ts holds the sketch): a sorted list of
// `index << 6 | rank` entries, one per non-zero register; its merge, and its wire form in the codec
// (per entry one uvarint `(index - previousIndex - 1) * 64 + rank`, docs/crdt-hll.md).

import type { ByteReader, ByteWriter } from './codec.js';

/** The union of two sorted sparse lists, register-wise max; `changed` when `b` raised or added any. */
export function mergeSparseLists(a: Uint32Array, alen: number, b: Uint32Array, blen: number): { out: Uint32Array; n: number; changed: boolean } {
  const out = new Uint32Array(Math.max(8, alen + blen));
  let i = 0;
  let j = 0;
  let n = 0;
  let changed = false;
  while (i < alen || j < blen) {
    const x = i < alen ? a[i]! : 0xffffffff;
    const y = j < blen ? b[j]! : 0xffffffff;
    const xi = x >>> 6;
    const yi = y >>> 6;
    if (xi === yi) {
      if (y > x) changed = true;
      out[n++] = Math.max(x, y);
      i++;
      j++;
    } else if (xi < yi) {
      out[n++] = x;
      i++;
    } else {
      out[n++] = y;
      j++;
      changed = true;
    }
  }
  return { out, n, changed };
}

/** Writes the first `len` entries of a sparse list in the codec's sparse form. */
export function writeSparseEntries(w: ByteWriter, sp: Uint32Array, len: number): void {
  let prev = -1;
  for (let k = 0; k < len; k++) {
    const index = sp[k]! >>> 6;
    w.uvarint((index - prev - 1) * 64 + (sp[k]! & 63));
    prev = index;
  }
}

/** Writes a dense register array's non-zero registers in the codec's sparse form. */
export function writeSparseFromDense(w: ByteWriter, dense: Uint8Array): void {
  let prev = -1;
  for (let i = 0; i < dense.length; i++) {
    if (dense[i] !== 0) {
      w.uvarint((i - prev - 1) * 64 + dense[i]!);
      prev = i;
    }
  }
}

/**
 * Reads `n` sparse entries for `m` registers with ranks up to `maxRank`: the sorted list, or why
 * it is invalid. A truncated input sets `r.failed` (its caller reports the reader's reason).
 */
export function readSparseEntries(r: ByteReader, n: number, m: number, maxRank: number): Uint32Array | string {
  const sp = new Uint32Array(Math.max(8, n));
  let prev = -1;
  for (let k = 0; k < n; k++) {
    const v = r.uvarint();
    if (r.failed) return sp;
    const rank = v % 64;
    const index = prev + 1 + Math.floor(v / 64);
    if (rank === 0 || rank > maxRank) return `sparse rank ${rank} outside 1..${maxRank}`;
    if (index >= m) return `sparse index ${index} not below ${m}`;
    sp[k] = (index << 6) | rank;
    prev = index;
  }
  return sp;
}
