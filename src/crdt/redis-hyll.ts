// Redis's own HyperLogLog string ("HYLL" bytes): parsing and checking untrusted HYLL input, and the
// representation Redis would hold for a register set, kept in step with the adds that made it, so
// GET answers what redis-server would answer after the same commands. docs/crdt-hll.md, "Redis's
// encoding", describes the format; this file is written from that description, not from Redis's code.
//
// Layout (precision 14 only; 16,384 registers of at most 51):
//   header, 16 bytes: "HYLL", encoding (0 dense, 1 sparse), 3 unused bytes, then the cached
//   cardinality as 8 bytes little-endian whose top bit (bit 7 of the last byte) means "stale".
//   dense body: the registers packed 6 bits each, register i at bit 6i, 12,288 bytes.
//   sparse body: opcodes covering the registers in order:
//     00xxxxxx           ZERO:  x + 1 (1..64) registers at 0
//     01xxxxxx yyyyyyyy  XZERO: (x << 8 | y) + 1 (1..16384) registers at 0
//     1vvvvvxx           VAL:   x + 1 (1..4) registers at v + 1 (1..32)

import { err, ok, type Result } from '../util/result.js';

/** Redis's HLL precision: the only one its encoding holds. */
export const REDIS_HLL_P = 14;
/** Registers of a Redis HLL. */
export const REDIS_HLL_REGISTERS = 1 << REDIS_HLL_P;
/** Largest register a Redis HLL reaches by hashing: 64 - p + 1. */
export const REDIS_HLL_MAX_RANK = 64 - REDIS_HLL_P + 1;
/** Header bytes: magic, encoding, 3 unused, 8 of cached cardinality. */
export const HYLL_HEADER_BYTES = 16;
/** Bytes of a dense HYLL string (header and 16,384 6-bit registers). */
export const HYLL_DENSE_BYTES = HYLL_HEADER_BYTES + (REDIS_HLL_REGISTERS * 6) / 8;
/**
 * Redis's `hll-sparse-max-bytes` default: a sparse string that a change would grow beyond this
 * (header included) is converted to dense. tally mirrors the default; a Redis configured otherwise
 * holds other forms for the same registers (both are valid HYLL for either side).
 */
export const HYLL_SPARSE_MAX_BYTES = 3000;
/** Largest value a sparse VAL opcode holds; a larger register makes Redis go dense. */
export const HYLL_SPARSE_VAL_MAX = 32;

/** A cursor field not known (see RedisHyllForm.cursorBefore). */
const UNKNOWN = -2;
/** Register changes queued before the sparse opcodes are updated (see `note`). */
const PENDING_MAX = 64;
/** The first queue's length (then x4 up to PENDING_MAX). */
const PENDING_FIRST = 4;
/**
 * A sparse body of at most this many bytes takes each change at once instead of queueing it: its
 * scan is short, and a queue is a typed array of its own, about 216 heap bytes (`npm run bench --
 * layout`, "keyspace, HLL of 2"), more than such a form's bytes.
 */
const QUEUE_FROM_BODY = 64;
/** The first buffer of a fresh form: header and a body of up to 48 bytes, small enough for V8 to keep on its heap. */
const FRESH_BYTES = 64;
const ENC_DENSE = 0;
const ENC_SPARSE = 1;
const MAGIC = [0x48, 0x59, 0x4c, 0x4c]; // "HYLL"
const VAL_MAX_LEN = 4;
/** Where a change builds the opcodes that replace one: at most XZERO, VAL, XZERO (5 bytes). */
const SEQ = new Uint8Array(5);
const ZERO_MAX_LEN = 64;

/** Why bytes are not a usable HYLL string: Redis's two answers. */
export type HyllProblem =
  /** Not an HLL at all (short, wrong magic, unknown encoding, dense of the wrong length): Redis's WRONGTYPE text. */
  | 'NOT_HLL'
  /** Looks like one but its registers are broken (sparse runs not covering exactly 16,384, a dense register above 51): Redis's INVALIDOBJ text. */
  | 'CORRUPT';

export interface HyllError {
  readonly problem: HyllProblem;
  /** What was wrong, for logs and tests (clients get Redis's text for the problem). */
  readonly detail: string;
}

/** A parsed, checked HYLL string. */
export interface ParsedHyll {
  /** The 16,384 register values (0..51). */
  readonly registers: Uint8Array;
  /** The representation exactly as given (header and body), to keep round trips byte-exact. */
  readonly form: RedisHyllForm;
}

/** Whether `bytes` start with the HYLL magic (a value that is meant as an HLL, even if broken). */
export function hasHyllMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === MAGIC[0] && bytes[1] === MAGIC[1] && bytes[2] === MAGIC[2] && bytes[3] === MAGIC[3];
}

/**
 * Checks and decodes untrusted HYLL bytes. Never throws. The checks are Redis's (what makes its PF
 * commands answer WRONGTYPE or INVALIDOBJ for a string), plus one of tally's: a dense register
 * above 51, which no hash can produce and tally's sketch cannot hold, is CORRUPT.
 */
export function parseHyll(bytes: Uint8Array): Result<ParsedHyll, HyllError> {
  const notHll = (detail: string): Result<ParsedHyll, HyllError> => err({ problem: 'NOT_HLL', detail });
  const corrupt = (detail: string): Result<ParsedHyll, HyllError> => err({ problem: 'CORRUPT', detail });
  if (bytes.length < HYLL_HEADER_BYTES) return notHll(`${bytes.length} bytes, shorter than the ${HYLL_HEADER_BYTES}-byte header`);
  if (!hasHyllMagic(bytes)) return notHll('no HYLL magic');
  const enc = bytes[4]!;
  if (enc !== ENC_DENSE && enc !== ENC_SPARSE) return notHll(`unknown encoding ${enc}`);
  const registers = new Uint8Array(REDIS_HLL_REGISTERS);
  if (enc === ENC_DENSE) {
    if (bytes.length !== HYLL_DENSE_BYTES) return notHll(`dense HYLL of ${bytes.length} bytes, expected ${HYLL_DENSE_BYTES}`);
    unpackDense(bytes.subarray(HYLL_HEADER_BYTES), registers);
    for (let i = 0; i < registers.length; i++) {
      if (registers[i]! > REDIS_HLL_MAX_RANK) return corrupt(`dense register ${i} = ${registers[i]}, above ${REDIS_HLL_MAX_RANK}`);
    }
    const form = RedisHyllForm.ofBytes(bytes, false);
    return ok({ registers, form });
  }
  const body = bytes.subarray(HYLL_HEADER_BYTES);
  let idx = 0;
  for (let p = 0; p < body.length; ) {
    const op = body[p]!;
    if ((op & 0x80) !== 0) {
      const len = (op & 3) + 1;
      const value = ((op >>> 2) & 0x1f) + 1;
      registers.fill(value, idx, idx + len); // clamped at the end; a run past it is refused below
      idx += len;
      p++;
    } else if ((op & 0x40) !== 0) {
      if (p + 1 >= body.length) return corrupt('sparse XZERO opcode cut off');
      idx += (((op & 0x3f) << 8) | body[p + 1]!) + 1;
      p += 2;
    } else {
      idx += (op & 0x3f) + 1;
      p++;
    }
    if (idx > REDIS_HLL_REGISTERS) return corrupt(`sparse runs past register ${REDIS_HLL_REGISTERS}`);
  }
  if (idx !== REDIS_HLL_REGISTERS) return corrupt(`sparse runs cover ${idx} registers, not ${REDIS_HLL_REGISTERS}`);
  const form = RedisHyllForm.ofBytes(bytes, true);
  return ok({ registers, form });
}

/** Unpacks 6-bit registers (register i at bit 6i, least significant first) into `out`. */
export function unpackDense(packed: Uint8Array, out: Uint8Array): void {
  // Stryker disable next-line EqualityOperator: one step past the end reads undefined and writes nowhere
  for (let i = 0, o = 0; i < out.length; i += 4, o += 3) {
    const b0 = packed[o]!;
    const b1 = packed[o + 1]!;
    const b2 = packed[o + 2]!;
    out[i] = b0 & 63;
    out[i + 1] = (b0 >>> 6) | ((b1 & 15) << 2);
    out[i + 2] = (b1 >>> 4) | ((b2 & 3) << 4);
    out[i + 3] = b2 >>> 2;
  }
}

/** Packs registers (each < 64, length a multiple of 4) 6 bits each into `out` from `offset`. */
export function packDense(regs: Uint8Array, out: Uint8Array, offset: number): void {
  // Stryker disable next-line EqualityOperator: one step past the end reads undefined and writes nowhere
  for (let i = 0, o = offset; i < regs.length; i += 4, o += 3) {
    const r0 = regs[i]!;
    const r1 = regs[i + 1]!;
    const r2 = regs[i + 2]!;
    const r3 = regs[i + 3]!;
    out[o] = r0 | (r1 << 6);
    out[o + 1] = (r1 >>> 2) | (r2 << 4);
    out[o + 2] = (r2 >>> 4) | (r3 << 2);
  }
}

/**
 * The representation Redis would hold for one HLL key: its header (with the cached cardinality)
 * and, while sparse, its opcode string, changed by the same local rules as Redis's (split the run
 * that covers the register, join equal neighbouring VALs near the change, go dense past
 * HYLL_SPARSE_MAX_BYTES or for a value above 32). A dense form is just the header: the body is the
 * registers, which the sketch holds. This is node-local presentation state: it is neither encoded,
 * gossiped, persisted nor compared; the sketch's registers are the data.
 *
 * Register changes (`note`) are applied at once while the opcode string is short (QUEUE_FROM_BODY);
 * past that they are queued and applied when the bytes are needed or the queue is long, so an add
 * costs an array write, not a scan of a long opcode string.
 */
export class RedisHyllForm {
  /**
   * Queued register changes, `index << 6 | value`, in the order they happened: null while none is
   * queued, and grown from a few entries to PENDING_MAX (a queue of PENDING_MAX for every HLL key
   * cost 430 heap bytes each; most keys queue a few changes between reads).
   */
  private pending: Uint32Array | null = null;
  private pendingLen = 0;
  /**
   * The header, then (while sparse) the body from byte HYLL_HEADER_BYTES on, `bodyLen` bytes of it
   * used: one typed array, since each costs about 200 heap bytes beside its contents. Owned (the
   * caller's bytes are copied).
   */
  private constructor(
    private buf: Uint8Array,
    private sparse: boolean,
    private bodyLen: number,
  ) {}

  /** The form of the HYLL string `bytes` (checked by parseHyll): dense, or sparse with its body. Copies. */
  static ofBytes(bytes: Uint8Array, sparse: boolean): RedisHyllForm {
    return sparse
      ? new RedisHyllForm(bytes.slice(), true, bytes.length - HYLL_HEADER_BYTES)
      : new RedisHyllForm(bytes.slice(0, HYLL_HEADER_BYTES), false, 0);
  }

  /** The form of a key PFADD or PFMERGE just created: sparse, all registers zero, cached cardinality 0 (valid). */
  static fresh(): RedisHyllForm {
    const buf = new Uint8Array(FRESH_BYTES);
    buf.set(MAGIC);
    buf[4] = ENC_SPARSE;
    // One XZERO covers all 16,384 registers: (0x3fff + 1).
    buf[HYLL_HEADER_BYTES] = 0x40 | 0x3f;
    buf[HYLL_HEADER_BYTES + 1] = 0xff;
    return new RedisHyllForm(buf, true, 2);
  }

  /**
   * The form of a register set with no local history: what Redis holds after PFMERGE of it into a
   * new key (registers written in index order, cache stale unless empty).
   */
  static ofRegisters(regs: Uint8Array): RedisHyllForm {
    const f = RedisHyllForm.fresh();
    let any = false;
    for (let i = 0; i < regs.length; i++) {
      if (regs[i] !== 0) {
        f.note(i, regs[i]!);
        any = true;
      }
    }
    if (any) f.invalidate();
    return f;
  }

  isDense(): boolean {
    this.flush();
    return !this.sparse;
  }

  /** Whether register changes still need queueing (the form is, or may still be, sparse). */
  wantsChanges(): boolean {
    return this.sparse;
  }

  /** Queues a register's raise to `value` (it was lower). Dense forms need nothing queued. */
  note(index: number, value: number): void {
    // Stryker disable next-line ConditionalExpression: a change queued on a dense form is dropped by flush
    if (!this.sparse) return;
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator,BlockStatement: equivalent but for memory and work, a change applied now or from the queue gives the same bytes
    if (this.pendingLen === 0 && this.bodyLen <= QUEUE_FROM_BODY) {
      if (!this.setSparse(index, value)) this.toDense();
      return;
    }
    // Bounded: a full queue is applied now (in order, so the result is the same). Each change costs
    // a scan of the opcodes (at most 3,000 bytes), as each PFADD does in Redis; applying at most
    // PENDING_MAX at a time keeps any one command's share of that work small.
    // Stryker disable next-line ConditionalExpression,EqualityOperator: applying sooner gives the same bytes (cost only)
    if (this.pendingLen === PENDING_MAX) {
      this.flush();
      // Stryker disable next-line ConditionalExpression: equivalent but for memory, a change queued on a dense form is dropped by flush
      if (!this.sparse) return;
    }
    let q = this.pending;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for memory and copying, growing sooner keeps the same entries (and no queue grows past PENDING_MAX)
    if (q === null || this.pendingLen === q.length) {
      // Stryker disable next-line MethodExpression: equivalent but for memory, a larger queue is flushed at PENDING_MAX all the same
      const grown = new Uint32Array(q === null ? PENDING_FIRST : Math.min(q.length * 4, PENDING_MAX));
      if (q !== null) grown.set(q);
      this.pending = q = grown;
    }
    q[this.pendingLen++] = (index << 6) | value;
  }

  /** Marks the cached cardinality stale (Redis sets the top bit and leaves the rest). */
  invalidate(): void {
    this.buf[15]! |= 0x80;
  }

  /** Whether the cached cardinality is valid. */
  cacheValid(): boolean {
    return (this.buf[15]! & 0x80) === 0;
  }

  /** The cached cardinality bytes as a number (the stale bit cleared); for tests and tools. */
  cachedValue(): number {
    let v = 0;
    for (let k = 7; k >= 0; k--) v = v * 256 + (k === 7 ? this.buf[8 + k]! & 0x7f : this.buf[8 + k]!);
    return v;
  }

  /** PFCOUNT of this one key in Redis: a stale cache takes the fresh count (a valid one is kept). */
  storeCount(count: number): void {
    if (this.cacheValid()) return;
    let v = count;
    for (let k = 0; k < 8; k++) {
      this.buf[8 + k] = v % 256;
      v = Math.floor(v / 256);
    }
  }

  /** Converts to dense (PFMERGE does when a source is dense). The header is kept. */
  toDense(): void {
    this.flush();
    this.sparse = false;
    this.bodyLen = 0;
    // Stryker disable next-line MethodExpression: equivalent but for memory, a dense form reads only its header
    this.buf = this.buf.slice(0, HYLL_HEADER_BYTES);
    this.pendingLen = 0;
    this.pending = null;
    this.buf[4] = ENC_DENSE;
  }

  /** The HYLL string for the sketch's `registers` (which must include every queued change). */
  bytes(registers: Uint8Array): Uint8Array {
    this.flush();
    if (!this.sparse) {
      const out = new Uint8Array(HYLL_DENSE_BYTES);
      out.set(this.buf.subarray(0, HYLL_HEADER_BYTES));
      packDense(registers, out, HYLL_HEADER_BYTES);
      return out;
    }
    return this.buf.slice(0, HYLL_HEADER_BYTES + this.bodyLen);
  }

  /** Applies the queued changes in order; stops (dense) when one makes Redis convert. */
  private flush(): void {
    const n = this.pendingLen;
    const q = this.pending;
    this.pendingLen = 0;
    this.pending = null;
    for (let k = 0; k < n && this.sparse; k++) {
      const e = q![k]!;
      if (!this.setSparse(e >>> 6, e & 63)) this.toDense();
    }
  }

  // A known opcode boundary at or before the next change (see setSparse): its byte offset in `buf`,
  // the first register it covers, and the offset of the opcode before it (-1: none; UNKNOWN: not known).
  private cursorPos = HYLL_HEADER_BYTES;
  private cursorFirst = 0;
  private cursorBefore = -1;

  private resetCursor(): void {
    this.cursorPos = HYLL_HEADER_BYTES;
    this.cursorFirst = 0;
    this.cursorBefore = -1;
  }

  /** Room for `extra` more body bytes. */
  private reserve(extra: number): Uint8Array {
    const buf = this.buf;
    const used = HYLL_HEADER_BYTES + this.bodyLen;
    // Stryker disable next-line EqualityOperator: growing one step early changes only capacity
    if (used + extra <= buf.length) return buf;
    // Stryker disable next-line ArithmeticOperator: twice a buffer of at least 18 bytes always leaves room for 2 more
    const next = new Uint8Array(Math.max(buf.length * 2, used + extra));
    next.set(buf.subarray(0, used));
    this.buf = next;
    return next;
  }

  /**
   * Raises register `index` to `value` in the sparse body, as Redis would. Returns false when Redis
   * would convert to dense instead (value above 32, or the body would outgrow the limit).
   */
  private setSparse(index: number, value: number): boolean {
    if (value > HYLL_SPARSE_VAL_MAX) return false;
    let body = this.buf;
    const end = HYLL_HEADER_BYTES + this.bodyLen;
    // Find the opcode covering `index`: its position, the first register it covers, its run, and the
    // opcode before it (and the one before that, for the next cursor). From the cursor when it lies
    // at or before `index` (then the opcodes before it are known, unchanged), else from the start.
    const fromCursor = index >= this.cursorFirst && this.cursorBefore !== UNKNOWN;
    let pos = fromCursor ? this.cursorPos : HYLL_HEADER_BYTES;
    let prev = fromCursor ? this.cursorBefore : -1;
    let prev2 = UNKNOWN;
    let first = fromCursor ? this.cursorFirst : 0;
    let prevFirst = 0;
    let run = 0;
    let kind: 'zero' | 'xzero' | 'val' = 'zero';
    while (pos < end) {
      const op = body[pos]!;
      let size = 1;
      if ((op & 0xc0) === 0) {
        kind = 'zero';
        run = (op & 0x3f) + 1;
      } else if ((op & 0x80) !== 0) {
        kind = 'val';
        run = (op & 3) + 1;
      } else {
        kind = 'xzero';
        run = (((op & 0x3f) << 8) | body[pos + 1]!) + 1;
        size = 2;
      }
      if (index < first + run) break;
      prev2 = prev;
      prev = pos;
      prevFirst = first;
      pos += size;
      first += run;
    }
    // A change rewrites opcodes from `prev` on only (a split at `pos`, joins from `prev`), so `prev`
    // stays a boundary covering from `prevFirst`, with `prev2` before it: the next cursor.
    if (prev >= 0 && prev2 !== UNKNOWN) {
      this.cursorPos = prev;
      this.cursorFirst = prevFirst;
      this.cursorBefore = prev2;
    } else {
      this.resetCursor();
    }
    // parseHyll and this method keep the body covering every register, so the loop always breaks.
    // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: unreachable (see above)
    if (pos >= end) throw new Error(`HYLL sparse body does not cover register ${index}`);
    const op = body[pos]!;
    const old = kind === 'val' ? ((op >>> 2) & 0x1f) + 1 : 0;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: unreachable, only raises are queued
    if (old >= value) return true; // nothing to raise
    // Split the run into up to three: before `index`, `index` itself, after it (a run of one is
    // just rewritten: the sequence is one opcode in place of one).
    const seq = SEQ;
    let n = 0;
    const last = first + run - 1;
    if (kind === 'val') {
      if (index > first) seq[n++] = valOp(old, index - first);
      seq[n++] = valOp(value, 1);
      if (index < last) seq[n++] = valOp(old, last - index);
    } else {
      if (index > first) n = putZeros(seq, n, index - first);
      seq[n++] = valOp(value, 1);
      if (index < last) n = putZeros(seq, n, last - index);
    }
    const oldSize = kind === 'xzero' ? 2 : 1;
    const delta = n - oldSize;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, a body never exceeds the limit, so one that does not grow stays within it
    if (delta > 0 && end + delta > HYLL_SPARSE_MAX_BYTES) return false;
    body = this.reserve(delta);
    body.copyWithin(pos + n, pos + oldSize, end);
    for (let k = 0; k < n; k++) body[pos + k] = seq[k]!;
    this.bodyLen += delta;
    this.joinVals(prev);
    return true;
  }

  /**
   * After a change, joins neighbouring VAL opcodes of equal value whose runs fit one opcode, looking
   * at five opcodes from the one before the change (or the first): the same window as Redis, so
   * the same (not always shortest) opcode string results.
   */
  private joinVals(prev: number): void {
    const body = this.buf;
    // Stryker disable next-line EqualityOperator: equivalent, an opcode's offset is never 0 (the body starts after the header)
    let p = prev < 0 ? HYLL_HEADER_BYTES : prev;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for work, past the end no pair joins (the neighbour read is guarded by the end)
    for (let budget = 5; p < HYLL_HEADER_BYTES + this.bodyLen && budget > 0; budget--) {
      const op = body[p]!;
      if ((op & 0x80) === 0) {
        p += (op & 0x40) !== 0 ? 2 : 1;
        continue;
      }
      const next = p + 1 < HYLL_HEADER_BYTES + this.bodyLen ? body[p + 1]! : 0;
      if ((next & 0x80) !== 0 && ((op >>> 2) & 0x1f) === ((next >>> 2) & 0x1f)) {
        const len = (op & 3) + 1 + (next & 3) + 1;
        if (len <= VAL_MAX_LEN) {
          body[p] = valOp(((op >>> 2) & 0x1f) + 1, len);
          body.copyWithin(p + 1, p + 2, HYLL_HEADER_BYTES + this.bodyLen);
          this.bodyLen--;
          continue; // try the joined opcode with its new right neighbour
        }
      }
      p++;
    }
  }
}

function valOp(value: number, len: number): number {
  return 0x80 | ((value - 1) << 2) | (len - 1);
}

/** Writes a run of `n` zero registers as one opcode at `seq[at]` (ZERO up to 64, XZERO above); returns where it ends. */
function putZeros(seq: Uint8Array, at: number, n: number): number {
  if (n > ZERO_MAX_LEN) {
    seq[at] = 0x40 | ((n - 1) >>> 8);
    seq[at + 1] = (n - 1) & 0xff;
    return at + 2;
  }
  seq[at] = n - 1;
  return at + 1;
}
