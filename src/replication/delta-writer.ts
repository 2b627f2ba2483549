// The Delta message written straight into msgpack: the layout docs/gossip.md gives, which a peer
// decodes with msgpackr, strictly (messages.ts), written without first building a wire tuple per key
// state for msgpackr to walk. Deltas are nearly all of a loaded node's gossip
// bytes: under a bulk load msgpackr's walk of them was 6-7% of the writer's CPU (docs/gossip.md,
// "Encoding a Delta"). The rare parts (members, fold bounds) are still msgpackr's, spliced in: a
// msgpack value's bytes are the same alone or inside an array.

import type { Packr } from 'msgpackr';
import type { ByteWriter } from '../crdt/codec.js';
import type { DeltaBody } from './messages.js';

/** Size of a fresh chunk that messages are written into, one after another (as msgpackr does). */
export const CHUNK_BYTES = 256 * 1024;

/**
 * Writes msgpack into a chunk shared by successive messages: each message is a view of the chunk,
 * never written over (the next starts where it ended), and a message that does not fit moves to a
 * new chunk. So a Delta costs no copy, and a chunk is freed once its last message is.
 */
export class MsgpackWriter {
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private start = 0;
  private pos = 0;

  /** Begins a message. */
  begin(): void {
    this.start = this.pos;
  }

  /** Ends the message begun last and returns its bytes (a view that later messages leave alone). */
  end(): Uint8Array {
    const out = this.buf.subarray(this.start, this.pos);
    // Keep the next message 8-byte aligned, as a fresh allocation would be.
    this.pos = (this.pos + 7) & ~7;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for memory, past the end or at it the next message takes a new chunk
    if (this.pos > this.buf.length) this.pos = this.buf.length;
    return out;
  }

  /** Room for `n` more bytes of this message: a new chunk (the message so far copied over) if the chunk is short. */
  private room(n: number): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for memory, a new chunk a byte early or every time
    if (this.pos + n <= this.buf.length) return;
    const sofar = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, 2 * (sofar + n)));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = sofar;
  }

  /** A number as msgpackr writes it: an integer in [-2^31, 2^32) as an integer, anything else as a float64. */
  num(v: number): void {
    this.room(9);
    const b = this.buf;
    if (v >>> 0 === v) {
      if (v < 0x80) b[this.pos++] = v;
      else if (v < 0x100) {
        b[this.pos++] = 0xcc;
        b[this.pos++] = v;
      } else if (v < 0x10000) {
        b[this.pos++] = 0xcd;
        b[this.pos++] = v >>> 8;
        b[this.pos++] = v & 0xff;
      } else {
        b[this.pos++] = 0xce;
        b.writeUInt32BE(v, this.pos);
        this.pos += 4;
      }
    } else if (v >> 0 === v) {
      if (v >= -0x20) b[this.pos++] = v & 0xff;
      else {
        b[this.pos++] = 0xd2;
        b.writeInt32BE(v, this.pos);
        this.pos += 4;
      }
    } else {
      b[this.pos++] = 0xcb;
      b.writeDoubleBE(v, this.pos);
      this.pos += 8;
    }
  }

  /** A string, UTF-8 (a short ASCII one, such as most keys, byte by byte without a call into the runtime). */
  str(s: string): void {
    const n = s.length;
    // Stryker disable next-line ConditionalExpression,BlockStatement,BooleanLiteral,EqualityOperator: equivalent but for speed, the general way below writes the same bytes
    if (n < 32) {
      // Stryker disable next-line BooleanLiteral: equivalent but for speed, the general way below writes the same bytes
      let ascii = true;
      // Stryker disable next-line EqualityOperator,ConditionalExpression: equivalent but for speed, the general way below writes the same bytes
      for (let i = 0; i < n; i++) {
        // Stryker disable next-line EqualityOperator,ConditionalExpression: equivalent but for speed (U+007F is one byte either way)
        if (s.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
      }
      // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent but for speed, the general way below writes the same bytes
      if (ascii) {
        this.room(1 + n);
        const b = this.buf;
        b[this.pos++] = 0xa0 | n;
        for (let i = 0; i < n; i++) b[this.pos++] = s.charCodeAt(i);
        return;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.head(len, 0xa0, 32, 0xd9, 0xda, 0xdb);
    this.room(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  /** Binary bytes. */
  bin(v: Uint8Array): void {
    const n = v.length;
    // Stryker disable next-line UnaryOperator: equivalent, no length is below a fixBelow of 0
    this.head(n, -1, 0, 0xc4, 0xc5, 0xc6);
    this.room(n);
    const b = this.buf;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for speed, a copy either way
    if (n <= 64) for (let i = 0; i < n; i++) b[this.pos++] = v[i] as number;
    else {
      b.set(v, this.pos);
      this.pos += n;
    }
  }

  /** Binary bytes: what `from` holds (a `ByteWriter`'s bytes, copied without a view of them). */
  binOf(from: ByteWriter): void {
    const n = from.length;
    // Stryker disable next-line UnaryOperator: equivalent, no length is below a fixBelow of 0
    this.head(n, -1, 0, 0xc4, 0xc5, 0xc6);
    this.room(n);
    from.copyTo(this.buf, this.pos);
    this.pos += n;
  }

  /** An array header of `n` elements. */
  array(n: number): void {
    this.head(n, 0x90, 16, -1, 0xdc, 0xdd);
  }

  /** A map header of `n` pairs. */
  map(n: number): void {
    this.head(n, 0x80, 16, -1, 0xde, 0xdf);
  }

  bool(v: boolean): void {
    this.room(1);
    this.buf[this.pos++] = v ? 0xc3 : 0xc2;
  }

  nil(): void {
    this.room(1);
    this.buf[this.pos++] = 0xc0;
  }

  /** Bytes that are already one msgpack value. */
  raw(v: Uint8Array): void {
    this.room(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** A length header: the fix form below `fixBelow` (`fix` -1: none), else 8-bit (`b8` -1: none), 16-bit or 32-bit. */
  private head(n: number, fix: number, fixBelow: number, b8: number, b16: number, b32: number): void {
    this.room(5);
    const b = this.buf;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, `fix` is never 0 and a `fix` of -1 comes with a fixBelow of 0
    if (fix >= 0 && n < fixBelow) b[this.pos++] = fix | n;
    // Stryker disable next-line EqualityOperator: equivalent, `b8` is never 0
    else if (b8 >= 0 && n < 0x100) {
      b[this.pos++] = b8;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = b16;
      b[this.pos++] = n >>> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = b32;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }
}

/** The start of one key state of a Delta, `[key, tag, bytes]`: all but its bytes (`bin` or `binOf` follows). */
export function writeKeyStateHead(w: MsgpackWriter, key: string, tag: number): void {
  w.array(3);
  w.str(key);
  w.num(tag);
}

/** One key state of a Delta, `[key, tag, bytes]`. */
export function writeKeyState(w: MsgpackWriter, key: string, tag: number, bytes: Uint8Array): void {
  writeKeyStateHead(w, key, tag);
  w.bin(bytes);
}

/**
 * Writes the body of a Delta (the map docs/gossip.md gives: `o` its ranges, `k` its key states,
 * `m` its members, `more`, and `p`, `n`, `f` when present). `packr` writes the members and fold bounds.
 */
export function writeDeltaBody(w: MsgpackWriter, b: DeltaBody, packr: Packr, memberToWire: (m: NonNullable<DeltaBody['members']>[number]) => unknown): void {
  w.map(4 + (b.part === undefined ? 0 : 1) + (b.needs === undefined ? 0 : 1) + (b.folds === undefined ? 0 : 1));
  w.str('o');
  w.array(b.ranges.length);
  for (const r of b.ranges) {
    w.array(5);
    w.str(r.origin);
    w.num(r.from);
    w.num(r.to);
    const e = r.entries;
    w.array(e.length);
    for (let i = 0; i < e.length; i++) w.num(e[i] as number);
    w.num(r.complete ? 1 : 0);
  }
  w.str('k');
  w.array(b.states.length + (b.packed?.count ?? 0));
  for (const s of b.states) writeKeyState(w, s.key, s.tag, s.bytes);
  if (b.packed !== undefined) w.raw(b.packed.bytes);
  w.str('m');
  if (b.members === null) w.nil();
  else w.raw(packr.pack(b.members.map(memberToWire)));
  w.str('more');
  w.bool(b.more);
  if (b.part !== undefined) {
    w.str('p');
    w.array(2);
    w.num(b.part.batch);
    w.num(b.part.index);
  }
  if (b.needs !== undefined) {
    w.str('n');
    w.array(2);
    w.num(b.needs.batch);
    w.num(b.needs.parts);
  }
  if (b.folds !== undefined) {
    w.str('f');
    w.raw(packr.pack(b.folds));
  }
}
