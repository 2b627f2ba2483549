// Binary building blocks shared by every codec: a growable writer and a bounds-checked reader.
// The reader never throws: every read past the end or of a malformed varint sets `failed`, and
// callers check it once at the end (or at any branch that depends on a value read).

import { hash64Prefix, hash64Resume } from './hash64.js';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Version byte written first by every CRDT codec. Bump it when a format changes. */
export const CODEC_VERSION = 1;

/** Type tags, the second byte of every CRDT encoding. Never reuse a retired tag. */
export const TypeTag = {
  GCounter: 1,
  PNCounter: 2,
  HyperLogLog: 3,
  WindowedCounter: 4,
  CountMinSketch: 5,
  TopK: 6,
} as const;
export type TypeTag = (typeof TypeTag)[keyof typeof TypeTag];

/** Bytes of `v` as an unsigned LEB128 varint (what `ByteWriter.uvarint` writes): 1 to 8. */
export function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialSize = 64) {
    this.buf = new Uint8Array(initialSize);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  get length(): number {
    return this.pos;
  }

  /** Empties the writer for reuse, keeping its buffer (a scratch writer: one allocation per `finish`). */
  reset(): this {
    this.pos = 0;
    return this;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  /** Unsigned LEB128 of a non-negative safe integer (up to 8 bytes for 2^53 - 1). */
  uvarint(v: number): this {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** A length-prefixed byte string. */
  lenBytes(b: Uint8Array): this {
    return this.uvarint(b.length).bytes(b);
  }

  /** A length-prefixed UTF-8 string. */
  string(s: string): this {
    return this.lenBytes(textEncoder.encode(s));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /**
   * The bytes written from offset `from` on, as a view of the writer's buffer, not a copy. It stays
   * as it is while the writer only appends (growing moves later writes to a new buffer and leaves
   * the old one alone); `reset` lets later writes overwrite it.
   */
  view(from: number): Uint8Array {
    // A view made from the ArrayBuffer: subarray takes twice as long (about 45 ns against 21 here).
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + from, this.pos - from);
  }

  /**
   * The writer's own buffer, marked with `start` and `end` around the bytes written from offset
   * `from` on: how lmdb-js takes a value that is a region of a larger buffer (as msgpackr hands out
   * its reused buffers), so no view object is made per value. The marks hold until the next call;
   * the bytes stay as written on the same terms as a `view`'s. The buffer starts at its
   * ArrayBuffer's first byte (the writer allocates every buffer itself), as lmdb-js assumes of one.
   */
  region(from: number): Uint8Array & { start: number; end: number } {
    const b = this.buf as Uint8Array & { start: number; end: number };
    b.start = from;
    b.end = this.pos;
    return b;
  }

  /** Copies the bytes written to `target` at `at` (no view of them is made: a short one byte by byte). */
  copyTo(target: Uint8Array, at: number): void {
    const n = this.pos;
    const b = this.buf;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for speed, a copy either way
    if (n <= 64) for (let i = 0; i < n; i++) target[at + i] = b[i] as number;
    else target.set(b.subarray(0, n), at);
  }

  /** Drops the bytes written past offset `at`. */
  truncate(at: number): void {
    if (at < 0 || at > this.pos) throw new RangeError(`ByteWriter.truncate: offset ${at} is outside the ${this.pos} bytes written`);
    this.pos = at;
  }

  /** Overwrites the byte at `at` (already written) with `v`. */
  setU8(at: number, v: number): void {
    if (at < 0 || at >= this.pos) throw new RangeError(`ByteWriter.setU8: offset ${at} is outside the ${this.pos} bytes written`);
    this.buf[at] = v & 0xff;
  }

  /** `hash64Bytes(this.finish())` without the copy; `hash64Lo()` then gives the low 32 bits. */
  hash(): number {
    return hash64Prefix(this.buf, this.pos);
  }

  /**
   * The hash of a message of `head` bytes (a multiple of 4) that left the lanes `lanes`
   * (`hash64Lanes`), followed by the bytes written here; `hash64Lo()` then gives the low 32 bits.
   */
  hashAfter(lanes: Int32Array, head: number): number {
    return hash64Resume(lanes[0] as number, lanes[1] as number, this.buf, this.pos, head + this.pos);
  }
}

/**
 * `ViewChunks`' buffer size: 8 KiB, as Node's own pool of small Buffers. 64 or 256 KiB buffers for a
 * commit's records left each node 20-30 more bytes of RSS per key after a bulk load
 * (docs/durability.md, "Writes"). A new one is begun within `VIEW_ROOM_BYTES` of the end.
 */
export const VIEW_CHUNK_BYTES = 8 * 1024;
export const VIEW_ROOM_BYTES = 512;

/**
 * Bytes handed out as views (`ByteWriter.view`) that must stay as written for as long as anything
 * holds them: written one after another into a buffer of `chunkBytes` that is never written over,
 * and a new one once fewer than `roomBytes` are left (a longer item grows the writer into a new
 * buffer, leaving the old one alone). A buffer is freed with the last view of it.
 */
export class ViewChunks {
  private w: ByteWriter;

  constructor(
    private readonly chunkBytes = VIEW_CHUNK_BYTES,
    private readonly roomBytes = VIEW_ROOM_BYTES,
  ) {
    this.w = new ByteWriter(chunkBytes);
  }

  /** The writer to append the next item to: its views start at its `length` now. */
  writer(): ByteWriter {
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: equivalent but for memory, a new buffer sooner or later holds the same items (views of a buffer outlive its renewal)
    if (this.w.length > this.chunkBytes - this.roomBytes) this.w = new ByteWriter(this.chunkBytes);
    return this.w;
  }
}

export class ByteReader {
  private pos = 0;
  /** Set once any read failed; later reads return 0 / empty values. */
  failed = false;
  /** Why the first failure happened. */
  reason = '';

  constructor(private buf: Uint8Array) {}

  /** Starts over on `buf`, as a new reader would (a decoder of many small states reuses one). */
  reset(buf: Uint8Array): this {
    this.buf = buf;
    this.pos = 0;
    this.failed = false;
    // Stryker disable next-line StringLiteral: equivalent, the reason is read only once failed, and the first failure sets it
    this.reason = '';
    return this;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  fail(reason: string): void {
    if (!this.failed) {
      this.failed = true;
      this.reason = `${reason} at byte ${this.pos}`;
    }
  }

  u8(): number {
    if (this.pos >= this.buf.length) {
      this.fail('truncated');
      return 0;
    }
    return this.buf[this.pos++] ?? 0;
  }

  /** Reads an unsigned LEB128 varint; fails on overlong encodings or values above 2^53 - 1. */
  uvarint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.buf.length) {
        this.fail('truncated');
        return 0;
      }
      const byte = this.buf[this.pos++] ?? 0;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) {
          this.fail('overlong varint');
          return 0;
        }
        if (result > Number.MAX_SAFE_INTEGER) {
          this.fail('varint above 2^53-1');
          return 0;
        }
        return result;
      }
      scale *= 0x80;
    }
    this.fail('varint longer than 8 bytes');
    return 0;
  }

  /**
   * If the next bytes are exactly `b`, reads past them and returns true; else reads nothing and
   * returns false (a shorter remainder is no match). No view is made.
   */
  skipIfNext(b: Uint8Array): boolean {
    const n = b.length;
    if (n > this.buf.length - this.pos) return false;
    const at = this.pos;
    for (let i = 0; i < n; i++) if (this.buf[at + i] !== b[i]) return false;
    this.pos = at + n;
    return true;
  }

  bytes(n: number): Uint8Array {
    if (n > this.remaining) {
      this.fail('truncated');
      this.pos = this.buf.length;
      return new Uint8Array(0);
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  lenBytes(max: number): Uint8Array {
    const n = this.uvarint();
    if (n > max) {
      this.fail(`length ${n} above limit ${max}`);
      return new Uint8Array(0);
    }
    return this.bytes(n);
  }

  string(maxBytes: number): string {
    const b = this.lenBytes(maxBytes);
    if (this.failed) return '';
    try {
      return textDecoder.decode(b);
    } catch {
      this.fail('invalid UTF-8');
      return '';
    }
  }
}
