// RESP2 and RESP3 reply encoding: a per-connection `ReplyWriter` that appends encoded replies into one
// growable buffer, flushed with one socket write, and `encodeReply` for the command table's `Reply`.

import type { Reply } from '../commands/reply.js';
import { formatG } from './format-double.js';

/** The protocol a connection speaks: 2 until HELLO 3 switches it. */
export type RespVersion = 2 | 3;

const OK_BYTES = Buffer.from('+OK\r\n');
const PONG_BYTES = Buffer.from('+PONG\r\n');
const NULL_BULK_BYTES = Buffer.from('$-1\r\n');
const NULL_ARRAY_BYTES = Buffer.from('*-1\r\n');
const RESP3_NULL_BYTES = Buffer.from('_\r\n');
const TRUE_BYTES = Buffer.from('#t\r\n');
const FALSE_BYTES = Buffer.from('#f\r\n');

const CR = 13;
const LF = 10;
const SPACE = 32;
const PLUS = 43; // '+'
const MINUS = 45; // '-'
const COLON = 58; // ':'
const DOLLAR = 36; // '$'
const STAR = 42; // '*'
const PERCENT = 37; // '%' RESP3 map
const TILDE = 126; // '~' RESP3 set
const GT = 62; // '>' RESP3 push
const COMMA = 44; // ',' RESP3 double
const LPAREN = 40; // '(' RESP3 big number
const EQUALS = 61; // '=' RESP3 verbatim string
const ZERO_CHAR = 48;
/** Room for a prefix byte, '-', 16 digits of a safe integer and CRLF, rounded up. */
const MAX_INT_BYTES = 24;
const INT32_MAX = 0x7fffffff;

/** How many decimal digits `v` (an integer in [0, 2^31)) has. */
function decimalDigits(v: number): number {
  if (v < 100_000) return v < 100 ? (v < 10 ? 1 : 2) : v < 1_000 ? 3 : v < 10_000 ? 4 : 5;
  return v < 10_000_000 ? (v < 1_000_000 ? 6 : 7) : v < 100_000_000 ? 8 : v < 1_000_000_000 ? 9 : 10;
}
/** Payloads shorter than this are copied byte by byte; a native copy call costs more for them. */
const SMALL_COPY = 32;

const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');

/**
 * `digits CR LF` of 0..SMALL_INTS-1 pre-encoded in one buffer (Redis shares 0..9999 the same way):
 * counts, lengths and array sizes are mostly small, and copying 3-6 bytes beats computing digits.
 */
const SMALL_INTS = 10_000;
const SMALL_INT_BYTES = Buffer.from(Array.from({ length: SMALL_INTS }, (_, i) => `${i}\r\n`).join(''), 'latin1');
const SMALL_INT_OFFSETS = (() => {
  const offsets = new Uint32Array(SMALL_INTS + 1);
  for (let i = 0; i < SMALL_INTS; i++) offsets[i + 1] = (offsets[i] as number) + String(i).length + 2;
  return offsets;
})();

/**
 * An append-only output buffer for one connection. Replies are encoded straight into it (integers
 * digit by digit, no intermediate strings); `take()` hands the bytes written since the last `take()`
 * to the socket as a view, never a copy. A view handed out is never written again: later replies go
 * after it, and when the buffer is full a new one is allocated, so the socket may keep the view as long
 * as it needs. Misuse (a non-integer passed to `writeInt`) throws a RangeError; the server catches it.
 */
export class ReplyWriter {
  private buf: Buffer = EMPTY;
  /** Start of the bytes not yet taken. */
  private start = 0;
  /** Write position. */
  private end = 0;

  /** @param chunkBytes size of each new output buffer (bytes); bigger replies get a bigger one. */
  constructor(private readonly chunkBytes = 16 * 1024) {}

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.end - this.start;
  }

  /** The bytes written since the last call, as a view (empty when nothing was written). */
  take(): Buffer {
    if (this.end === this.start) return EMPTY;
    const out = this.buf.subarray(this.start, this.end);
    this.start = this.end;
    return out;
  }

  /** Drops what was written after `mark` (a previous `length`): undoes a half-written reply. */
  truncate(mark: number): void {
    if (mark >= 0 && mark < this.end - this.start) this.end = this.start + mark;
  }

  /** Drops every byte not yet taken and releases the buffer. */
  reset(): void {
    this.buf = EMPTY;
    this.start = 0;
    this.end = 0;
  }

  /** `+OK\r\n` */
  writeOk(): void {
    this.writeConst(OK_BYTES);
  }

  /** `+PONG\r\n` */
  writePong(): void {
    this.writeConst(PONG_BYTES);
  }

  /** `$-1\r\n`: the null bulk string (GET of a missing key). */
  writeNull(): void {
    this.writeConst(NULL_BULK_BYTES);
  }

  /** `*-1\r\n`: the null array. */
  writeNullArray(): void {
    this.writeConst(NULL_ARRAY_BYTES);
  }

  /** `+value\r\n`. CR and LF in `value` become spaces so the reply cannot break the framing. */
  writeSimple(value: string): void {
    if (value === 'OK') this.writeConst(OK_BYTES);
    else this.writeLine(PLUS, value);
  }

  /** `-message\r\n`. `message` starts with its error code (`ERR ...`, `WRONGTYPE ...`). CR/LF become spaces. */
  writeError(message: string): void {
    this.writeLine(MINUS, message);
  }

  /** `-bytes\r\n`: an error text as exact bytes (it quotes a client's bytes). CR/LF become spaces. */
  writeErrorBytes(bytes: Uint8Array): void {
    const n = bytes.length;
    this.reserve(n + 3);
    const b = this.buf;
    let e = this.end;
    b[e++] = MINUS;
    for (let i = 0; i < n; i++) {
      const c = bytes[i] as number;
      b[e++] = c === CR || c === LF ? SPACE : c;
    }
    b[e++] = CR;
    b[e++] = LF;
    this.end = e;
  }

  /** `:n\r\n` for a safe integer, any integral number, or a bigint. */
  writeInt(value: number | bigint): void {
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) {
        this.writeNumberLine(COLON, value);
        return;
      }
      if (!Number.isInteger(value)) {
        throw new RangeError(`ReplyWriter.writeInt: ${String(value)} is not an integer`);
      }
      this.writeLine(COLON, BigInt(value).toString());
      return;
    }
    this.writeLine(COLON, value.toString());
  }

  /** `$len\r\npayload\r\n`, or `$-1\r\n` for null. Strings are written as UTF-8. */
  writeBulk(value: Buffer | string | null): void {
    if (value === null) {
      this.writeConst(NULL_BULK_BYTES);
    } else if (typeof value === 'string') {
      this.writeBulkString(value);
    } else {
      const n = value.length;
      this.writeNumberLine(DOLLAR, n);
      this.reserve(n + 2);
      const b = this.buf;
      let e = this.end;
      if (n < SMALL_COPY) {
        for (let i = 0; i < n; i++) b[e++] = value[i] as number;
      } else {
        b.set(value, e);
        e += n;
      }
      b[e++] = CR;
      b[e++] = LF;
      this.end = e;
    }
  }

  /** `*n\r\n`; the caller then writes the n elements. */
  writeArrayHeader(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`ReplyWriter.writeArrayHeader: length ${String(n)} is not a non-negative integer`);
    }
    this.writeNumberLine(STAR, n);
  }

  /** A RESP3 aggregate header: `%n` (map of n pairs), `~n` (set) or `>n` (push). */
  writeAggregateHeader(type: 'map' | 'set' | 'push', n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`ReplyWriter.writeAggregateHeader: length ${String(n)} is not a non-negative integer`);
    this.writeNumberLine(type === 'map' ? PERCENT : type === 'set' ? TILDE : GT, n);
  }

  /** RESP3's null, `_\r\n`. */
  writeResp3Null(): void {
    this.writeConst(RESP3_NULL_BYTES);
  }

  /** RESP3 `#t` / `#f`. */
  writeBool(value: boolean): void {
    this.writeConst(value ? TRUE_BYTES : FALSE_BYTES);
  }

  /** RESP3 `,<%.17g>` (`,inf`, `,-inf`, `,nan`). */
  writeDouble(value: number): void {
    this.writeLine(COMMA, formatG(value));
  }

  /** RESP3 `(digits`. CR and LF become spaces. */
  writeBigNumber(digits: string): void {
    this.writeLine(LPAREN, digits);
  }

  /** RESP3 `=len\r\nfmt:text\r\n`; `format` is three bytes (`txt`, `mkd`). */
  writeVerbatim(format: string, value: Buffer | string): void {
    const body = Buffer.concat([Buffer.from(`${format.padEnd(3, ' ').slice(0, 3)}:`, 'latin1'), typeof value === 'string' ? Buffer.from(value, 'utf8') : value]);
    this.writeNumberLine(EQUALS, body.length);
    this.writeRaw(body);
    this.writeRaw(CRLF);
  }

  /** Appends pre-encoded RESP bytes verbatim (e.g. a cached reply). */
  writeRaw(bytes: Buffer): void {
    const n = bytes.length;
    this.reserve(n);
    if (n < SMALL_COPY) {
      const b = this.buf;
      let e = this.end;
      for (let i = 0; i < n; i++) b[e++] = bytes[i] as number;
    } else {
      this.buf.set(bytes, this.end);
    }
    this.end += n;
  }

  private writeConst(bytes: Buffer): void {
    this.reserve(bytes.length);
    const b = this.buf;
    let e = this.end;
    for (let i = 0; i < bytes.length; i++) b[e++] = bytes[i] as number;
    this.end = e;
  }

  /** prefix, the decimal digits of a safe integer, CRLF: no string is built. */
  private writeNumberLine(prefix: number, value: number): void {
    this.reserve(MAX_INT_BYTES);
    const b = this.buf;
    let e = this.end;
    b[e++] = prefix;
    let v = value;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent but for speed, the digits below are the table's
    if (v >= 0 && v < SMALL_INTS) {
      const to = SMALL_INT_OFFSETS[v + 1] as number;
      for (let i = SMALL_INT_OFFSETS[v] as number; i < to; i++) b[e++] = SMALL_INT_BYTES[i] as number;
      this.end = e;
      return;
    }
    // Stryker disable next-line EqualityOperator: equivalent, 0 took the table's way above
    if (v < 0) {
      b[e++] = MINUS;
      v = -v;
    }
    let digits: number;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for speed, the float division below writes the same digits
    if (v <= INT32_MAX) {
      // In int32 range (every count below 2^31): the digits counted by comparison, and each division
      // by 10 done as an int32 one, which V8 turns into a multiplication. Two float divisions per
      // digit took 87 ns for a 7-digit number against 17-33 this way (in process, 20 million numbers).
      digits = decimalDigits(v);
      let x = v | 0;
      let p = e + digits - 1;
      while (x >= 10) {
        const q = (x / 10) | 0;
        b[p--] = ZERO_CHAR + (x - q * 10);
        x = q;
      }
      b[p] = ZERO_CHAR + x;
    } else {
      digits = 1;
      for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
      let p = e + digits - 1;
      while (v >= 10) {
        const q = Math.floor(v / 10);
        b[p--] = ZERO_CHAR + (v - q * 10);
        v = q;
      }
      b[p] = ZERO_CHAR + v;
    }
    e += digits;
    b[e++] = CR;
    b[e++] = LF;
    this.end = e;
  }

  /** prefix, `text` with CR/LF replaced by spaces, CRLF. ASCII is written directly; anything else as UTF-8. */
  private writeLine(prefix: number, text: string): void {
    const n = text.length;
    this.reserve(n + 3);
    const b = this.buf;
    let e = this.end;
    b[e++] = prefix;
    for (let i = 0; i < n; i++) {
      let c = text.charCodeAt(i);
      if (c >= 0x80) {
        this.end = e - 1 - i; // undo and take the general path
        this.writeLineUtf8(prefix, text);
        return;
      }
      if (c === CR || c === LF) c = SPACE;
      b[e++] = c;
    }
    b[e++] = CR;
    b[e++] = LF;
    this.end = e;
  }

  private writeLineUtf8(prefix: number, text: string): void {
    const bytes = Buffer.from(text.replace(/[\r\n]/g, ' '), 'utf8');
    this.reserve(bytes.length + 3);
    this.buf[this.end++] = prefix;
    this.buf.set(bytes, this.end);
    this.end += bytes.length;
    this.buf[this.end++] = CR;
    this.buf[this.end++] = LF;
  }

  private writeBulkString(s: string): void {
    const n = s.length;
    if (n < 64) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        this.writeNumberLine(DOLLAR, n);
        this.reserve(n + 2);
        const b = this.buf;
        let e = this.end;
        for (let i = 0; i < n; i++) b[e++] = s.charCodeAt(i);
        b[e++] = CR;
        b[e++] = LF;
        this.end = e;
        return;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.writeNumberLine(DOLLAR, len);
    this.reserve(len + 2);
    this.end += this.buf.write(s, this.end, len, 'utf8');
    this.buf[this.end++] = CR;
    this.buf[this.end++] = LF;
  }

  /** Makes room for `n` more bytes. Never writes over bytes already taken (the socket may hold them). */
  private reserve(n: number): void {
    if (this.end + n <= this.buf.length) return;
    const pending = this.end - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.chunkBytes, (pending + n) * 2));
    if (pending > 0) this.buf.copy(next, 0, this.start, this.end);
    this.buf = next;
    this.start = 0;
    this.end = pending;
  }
}

/**
 * Appends the encoding of `r` to `w` in protocol `proto` (RESP2 unless the connection said HELLO 3).
 * RESP2 keeps every reply's historical form (a map is a flat array, a double a bulk string, a
 * boolean 1 or 0); RESP3 adds `_` for nulls and the typed aggregates. A `close` reply writes its
 * inner reply only; closing is the server's job.
 */
export function encodeReply(w: ReplyWriter, r: Reply, proto: RespVersion = 2): void {
  switch (r.kind) {
    case 'simple':
      w.writeSimple(r.value);
      return;
    case 'error':
      if (r.bytes === undefined) w.writeError(r.message);
      else w.writeErrorBytes(r.bytes);
      return;
    case 'int':
      w.writeInt(r.value);
      return;
    case 'bulk':
      if (r.value === null && proto === 3) w.writeResp3Null();
      else w.writeBulk(r.value);
      return;
    case 'array': {
      const items = r.value;
      if (items === null) {
        if (proto === 3) w.writeResp3Null();
        else w.writeNullArray();
        return;
      }
      w.writeArrayHeader(items.length);
      for (const item of items) encodeReply(w, item, proto);
      return;
    }
    case 'map':
      if (proto === 3) w.writeAggregateHeader('map', r.value.length);
      else w.writeArrayHeader(2 * r.value.length);
      for (const [k, v] of r.value) {
        encodeReply(w, k, proto);
        encodeReply(w, v, proto);
      }
      return;
    case 'set':
    case 'push':
      if (proto === 3) w.writeAggregateHeader(r.kind, r.value.length);
      else w.writeArrayHeader(r.value.length);
      for (const item of r.value) encodeReply(w, item, proto);
      return;
    case 'double':
      if (proto === 3) w.writeDouble(r.value);
      else w.writeBulk(formatG(r.value));
      return;
    case 'bool':
      if (proto === 3) w.writeBool(r.value);
      else w.writeInt(r.value ? 1 : 0);
      return;
    case 'bignum':
      if (proto === 3) w.writeBigNumber(r.value);
      else w.writeBulk(r.value);
      return;
    case 'verbatim':
      if (proto === 3) w.writeVerbatim(r.format, r.value);
      else w.writeBulk(r.value);
      return;
    case 'close':
      if (r.reply !== undefined) encodeReply(w, r.reply, proto);
      return;
  }
}

/** The encoding of one reply as a fresh Buffer (tests, tools; the server uses a per-connection writer). */
export function encodeReplyToBuffer(r: Reply, proto: RespVersion = 2): Buffer {
  const w = new ReplyWriter(256);
  encodeReply(w, r, proto);
  return Buffer.from(w.take());
}
