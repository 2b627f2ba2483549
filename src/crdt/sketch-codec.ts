// Codec pieces shared by the windowed counter, the Count-Min Sketch and Top-K: the common header
// `[version][tag]`, a sorted table of replica ids, and exact sums that switch to bigint past 2^53.

import { ByteReader, ByteWriter, CODEC_VERSION, type TypeTag } from './codec.js';
import { CrdtError } from './errors.js';
import { MAX_REPLICA_ID_BYTES } from './counter-base.js';
import { internReplicaId } from './replica-id.js';
import { err, ok, type Result } from '../util/result.js';

/** Reads `[version][tag]`; the typed error if either is wrong. */
export function readTypeHeader(r: ByteReader, tag: TypeTag, name: string): CrdtError | undefined {
  const v = readVersionedHeader(r, tag, name, [CODEC_VERSION]);
  return v.ok ? undefined : v.error;
}

/** Reads `[version][tag]` where the version is one of `accepted`: the version read, or the typed error. */
export function readVersionedHeader(r: ByteReader, tag: TypeTag, name: string, accepted: readonly number[]): Result<number, CrdtError> {
  const version = r.u8();
  if (r.failed) return err(new CrdtError('CODEC_TRUNCATED', `${name}: empty input`));
  if (!accepted.includes(version)) return err(new CrdtError('CODEC_BAD_VERSION', `${name}: unknown version ${version}`));
  const t = r.u8();
  if (r.failed) return err(new CrdtError('CODEC_TRUNCATED', `${name}: missing type tag`));
  if (t !== tag) return err(new CrdtError('CODEC_BAD_TYPE', `${name}: type tag ${t}, expected ${tag}`));
  return ok(version);
}

export function readerError(r: ByteReader, name: string): CrdtError {
  const code = r.reason.startsWith('truncated') ? 'CODEC_TRUNCATED' : 'CODEC_INVALID';
  return new CrdtError(code, `${name}: ${r.reason || 'invalid'}`);
}

/** Finishes a decode: trailing bytes are an error; a failed reader becomes its typed error. */
export function finishDecode<T>(r: ByteReader, value: T, name: string): Result<T, CrdtError> {
  if (!r.failed && r.remaining > 0) r.fail(`${r.remaining} trailing bytes`);
  return r.failed ? err(readerError(r, name)) : ok(value);
}

/** Sorts replica ids canonically (JavaScript string order). */
export function sortIds(ids: Iterable<string>): string[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Writes one replica id as a length-prefixed UTF-8 string. */
export function writeId(w: ByteWriter, id: string): void {
  w.string(id);
}

/**
 * Reads one replica id: non-empty, at most 255 UTF-8 bytes, valid UTF-8, strictly after `prev`
 * (canonical sorted order, no duplicates). Fails the reader and returns undefined otherwise.
 */
export function readId(r: ByteReader, prev: string | undefined): string | undefined {
  const id = r.string(MAX_REPLICA_ID_BYTES);
  // Stryker disable next-line ConditionalExpression: a failed read returns '', which the empty-id check below rejects without effect (fail is sticky), so skipping this early return changes nothing.
  if (r.failed) return undefined;
  if (id.length === 0) {
    r.fail('empty replica id');
    return undefined;
  }
  if (prev !== undefined && !(prev < id)) {
    r.fail(prev === id ? `duplicate replica id '${id}'` : 'replica ids not sorted');
    return undefined;
  }
  return internReplicaId(id);
}

/** Reads a uvarint that must lie in [min, max]; fails the reader otherwise. */
export function readBounded(r: ByteReader, min: number, max: number, what: string): number {
  const v = r.uvarint();
  if (!r.failed && (v < min || v > max)) r.fail(`${what} ${v} outside ${min}..${max}`);
  return v;
}

/** Exact sum of non-negative safe integers: a number while it is safe, else a bigint. */
export class ExactSum {
  private n = 0;
  private big: bigint | undefined;

  add(v: number): void {
    if (this.big !== undefined) {
      this.big += BigInt(v);
      return;
    }
    const s = this.n + v;
    if (s <= Number.MAX_SAFE_INTEGER) this.n = s;
    else this.big = BigInt(this.n) + BigInt(v);
  }

  value(): number | bigint {
    return this.big ?? this.n;
  }
}
