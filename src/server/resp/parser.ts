// Incremental RESP2 request parser: socket chunks in, commands (Buffer[] of arguments) out.
// Multibulk (`*N\r\n$len\r\n...`) and inline (`SET k v\n`) requests, with Redis's limits and error strings.

import * as errors from '../../errors.js';
import { ArgRanges } from '../commands/arg-ranges.js';

/** Redis's `proto-max-bulk-len` default (512 MiB): the largest value `maxBulkBytes` may be set to. */
export const REDIS_MAX_BULK_BYTES = 512 * 1024 * 1024;

/** Limits on what one request may declare. Every violation is a protocol error that closes the connection. */
export interface RespParserLimits {
  /**
   * Largest argument count a multibulk request (`*N`) may declare. Default 1,048,576 (Redis's historical
   * cap): a client cannot make the parser expect millions of arguments.
   */
  readonly maxMultibulkLength: number;
  /**
   * Largest bulk argument (`$len`) in bytes. Default 1 MiB: tally keys and counter arguments are short,
   * and one argument is buffered whole in memory. Redis allows up to 512 MiB (`REDIS_MAX_BULK_BYTES`).
   */
  readonly maxBulkBytes: number;
  /** Longest inline request line in bytes, excluding the `\n`. Default 64 KiB (Redis's PROTO_INLINE_MAX_SIZE). */
  readonly maxInlineBytes: number;
}

export const DEFAULT_PARSER_LIMITS: RespParserLimits = Object.freeze({
  maxMultibulkLength: 1024 * 1024,
  maxBulkBytes: 1024 * 1024,
  maxInlineBytes: 64 * 1024,
});

/** Stable codes of the protocol errors; docs/resp.md lists them with their Redis strings. */
export type RespProtocolErrorCode =
  | 'RESP_INVALID_MULTIBULK_LENGTH' // `*N` is not an integer, has leading zeros, or exceeds maxMultibulkLength
  | 'RESP_INVALID_BULK_LENGTH' // `$len` is not a non-negative integer or exceeds maxBulkBytes
  | 'RESP_EXPECTED_DOLLAR' // an argument of a multibulk request does not start with `$`
  | 'RESP_INLINE_TOO_BIG' // an inline line is longer than maxInlineBytes
  | 'RESP_UNBALANCED_QUOTES'; // an inline line has an unterminated quote or a quote not followed by a space

/** A protocol error: a typed result, never thrown. `message` is the exact Redis error reply text. */
export interface RespProtocolError {
  readonly kind: 'protocol-error';
  readonly code: RespProtocolErrorCode;
  /** E.g. `ERR Protocol error: invalid multibulk length`; contains no CR or LF. */
  readonly message: string;
}

/** What `next()` returns: a command's arguments, a protocol error, or `null` when more bytes are needed. */
export type RespParseResult = Buffer[] | RespProtocolError | null;

function protocolError(code: RespProtocolErrorCode, message: string): RespProtocolError {
  return Object.freeze({ kind: 'protocol-error', code, message });
}

const ERR_MULTIBULK = protocolError('RESP_INVALID_MULTIBULK_LENGTH', errors.PROTOCOL_INVALID_MULTIBULK_LENGTH);
const ERR_BULK = protocolError('RESP_INVALID_BULK_LENGTH', errors.PROTOCOL_INVALID_BULK_LENGTH);
const ERR_INLINE = protocolError('RESP_INLINE_TOO_BIG', errors.PROTOCOL_INLINE_TOO_BIG);
const ERR_QUOTES = protocolError('RESP_UNBALANCED_QUOTES', errors.PROTOCOL_UNBALANCED_QUOTES);

/** Redis prints the offending byte with %c and then turns CR/LF into spaces so the reply stays one line. */
function expectedDollar(byte: number): RespProtocolError {
  const shown = byte === CR || byte === LF ? ' ' : String.fromCharCode(byte);
  return protocolError('RESP_EXPECTED_DOLLAR', errors.protocolExpectedDollar(shown));
}

const CR = 13;
const LF = 10;
const STAR = 42; // '*'
const DOLLAR = 36; // '$'
const MINUS = 45; // '-'
const ZERO = 48;
const NINE = 57;

// Parser states. Header lines are parsed byte by byte, so a split anywhere (inside a number, between
// CR and LF) needs no buffering; payloads are sliced whole or gathered once; only inline lines buffer.
const S_START = 0; // at the first byte of a request
const S_COUNT = 1; // digits of `*N`
const S_DOLLAR = 2; // expecting the `$` of the next argument
const S_LEN = 3; // digits of `$len`
const S_COUNT_LF = 4; // the byte after the CR of `*N\r` (taken to be LF, as Redis does)
const S_LEN_LF = 5; // the byte after the CR of `$len\r`
const S_PAYLOAD = 6; // argument bytes
const S_TRAILER = 7; // the two bytes after a payload (CRLF; skipped unchecked, as Redis does)
const S_INLINE = 8; // an inline line up to LF

const EMPTY = Buffer.alloc(0);

/**
 * Parses requests from a byte stream. Feed chunks with `push()`, then call `next()` until it returns
 * `null`. Arguments are zero-copy slices of the pushed chunks when a payload lies within one chunk, so a
 * consumer that keeps an argument long-term should copy it (`Buffer.from(arg)`) or decode it to a string
 * rather than pin the whole socket chunk. Work is O(bytes): no byte is scanned twice, however the input
 * is split. After a protocol error every later `next()` returns the same error: the connection is done.
 * Never throws on any input.
 */
export class RespParser {
  private readonly maxMultibulkLength: number;
  private readonly maxBulkBytes: number;
  private readonly maxInlineBytes: number;

  /** The chunk being parsed and the read position in it. */
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Chunks pushed while `buf` was still being read (only when the consumer stops calling `next()`). */
  private queue: Buffer[] = [];
  private queueHead = 0;
  /** Bytes pushed and not yet consumed by the state machine (includes partial request state). */
  private unread = 0;

  private state = S_START;
  private failure: RespProtocolError | null = null;

  // Number being read from a `*N` or `$len` line.
  private numValue = 0;
  private numDigits = 0;
  private numNegative = false;
  private numLeadingZero = false;

  // Multibulk request in progress.
  private args: Buffer[] = [];
  private argsLeft = 0;
  private bulkLen = 0;
  /** Pieces of a payload spread over several chunks, concatenated once when complete. */
  private pieces: Buffer[] = [];
  private piecesLen = 0;
  private trailerLeft = 0;

  // Inline line spread over several chunks.
  private linePieces: Buffer[] = [];
  private lineLen = 0;

  constructor(limits: Partial<RespParserLimits> = {}) {
    const l = { ...DEFAULT_PARSER_LIMITS, ...limits };
    checkLimit('maxMultibulkLength', l.maxMultibulkLength, 1, 2 ** 31 - 1);
    checkLimit('maxBulkBytes', l.maxBulkBytes, 0, REDIS_MAX_BULK_BYTES);
    checkLimit('maxInlineBytes', l.maxInlineBytes, 1, REDIS_MAX_BULK_BYTES);
    this.maxMultibulkLength = l.maxMultibulkLength;
    this.maxBulkBytes = l.maxBulkBytes;
    this.maxInlineBytes = l.maxInlineBytes;
  }

  /** Appends bytes received from the peer. Keeps a reference to `chunk`; do not modify it afterwards. */
  push(chunk: Buffer): void {
    if (chunk.length === 0 || this.failure !== null) return;
    this.unread += chunk.length;
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
      this.pos = 0;
    } else {
      this.queue.push(chunk);
    }
  }

  /** Bytes pushed but not yet returned as part of a command (unparsed input plus a partial request). */
  get bufferedBytes(): number {
    return this.unread + this.piecesLen + this.lineLen;
  }

  /** The protocol error this parser stopped at, if any. */
  get error(): RespProtocolError | null {
    return this.failure;
  }

  /** The next complete command, a protocol error, or `null` if the bytes pushed so far hold no complete command. */
  next(): RespParseResult {
    return this.step(false) as RespParseResult;
  }

  /**
   * As `next()`, but a whole request that lay in one chunk (nearly every one) comes as byte ranges of
   * that chunk, with no Buffer per argument: an `ArgRanges` this parser reuses, valid only until it is
   * called again. A request gathered from several chunks still comes as Buffers.
   */
  nextRanges(): ArgRanges | RespParseResult {
    return this.step(true);
  }

  private step(ranged: boolean): ArgRanges | RespParseResult {
    if (this.failure !== null) return this.failure;
    let buf = this.buf;
    let pos = this.pos;
    let end = buf.length;
    let state = this.state;
    for (;;) {
      if (pos >= end) {
        this.unread -= end - this.pos;
        if (this.queueHead < this.queue.length) {
          buf = this.queue[this.queueHead] as Buffer;
          this.queue[this.queueHead++] = EMPTY;
          if (this.queueHead === this.queue.length) {
            this.queue.length = 0;
            this.queueHead = 0;
          }
          this.buf = buf;
          this.pos = pos = 0;
          end = buf.length;
          continue;
        }
        this.buf = EMPTY;
        this.pos = 0;
        this.state = state;
        // Nor do the ranges pin the chunk once it is read (an idle connection keeps no socket chunk).
        this.ranges.reset(EMPTY);
        return null;
      }
      switch (state) {
        case S_START: {
          if (buf[pos] === STAR) {
            if (this.parseWhole(buf, pos, end)) return this.emitWhole(buf, ranged);
            // Incomplete or malformed: the state machine takes it from here byte by byte.
            pos++;
            this.resetNumber();
            state = S_COUNT;
          } else {
            state = S_INLINE;
          }
          break;
        }
        case S_COUNT:
        case S_LEN: {
          const isCount = state === S_COUNT;
          const limit = isCount ? this.maxMultibulkLength : this.maxBulkBytes;
          let value = this.numValue;
          let digits = this.numDigits;
          let bad = false;
          while (pos < end) {
            const b = buf[pos++] as number;
            if (b >= ZERO && b <= NINE) {
              // Redis's string2ll: no leading zeros ("0" alone is fine), no overflow.
              if (this.numLeadingZero) {
                bad = true;
                break;
              }
              if (digits === 0 && b === ZERO) this.numLeadingZero = true;
              value = value * 10 + (b - ZERO);
              digits++;
              // A negative count only means "no command"; its size is irrelevant but must fit int64.
              if (this.numNegative ? digits > 18 : value > limit) {
                bad = true;
                break;
              }
            } else if (b === CR) {
              if (digits === 0 || (this.numNegative && this.numLeadingZero)) bad = true;
              else state = isCount ? S_COUNT_LF : S_LEN_LF;
              break;
            } else if (b === MINUS && isCount && digits === 0 && !this.numNegative) {
              this.numNegative = true;
            } else {
              bad = true; // includes '-' in a bulk length: lengths are never negative
              break;
            }
          }
          this.numValue = value;
          this.numDigits = digits;
          if (bad) return this.fail(isCount ? ERR_MULTIBULK : ERR_BULK, buf, pos);
          break;
        }
        case S_COUNT_LF: {
          pos++;
          if (this.numNegative || this.numValue === 0) {
            state = S_START; // `*0` and `*-1` are empty requests: Redis skips them
          } else {
            this.argsLeft = this.numValue; // this.args is already a fresh empty array
            state = S_DOLLAR;
          }
          break;
        }
        case S_DOLLAR: {
          const b = buf[pos] as number;
          if (b !== DOLLAR) return this.fail(expectedDollar(b), buf, pos + 1);
          pos++;
          this.resetNumber();
          state = S_LEN;
          break;
        }
        case S_LEN_LF: {
          pos++;
          this.bulkLen = this.numValue;
          state = S_PAYLOAD;
          break;
        }
        case S_PAYLOAD: {
          const need = this.bulkLen - this.piecesLen;
          const avail = end - pos;
          if (this.piecesLen === 0 && avail >= need) {
            this.args.push(buf.subarray(pos, pos + need)); // hot path: zero-copy slice
            pos += need;
          } else if (avail < need) {
            this.pieces.push(buf.subarray(pos, end));
            this.piecesLen += avail;
            pos = end;
            break;
          } else {
            this.pieces.push(buf.subarray(pos, pos + need));
            pos += need;
            this.args.push(Buffer.concat(this.pieces, this.bulkLen));
            this.pieces = [];
            this.piecesLen = 0;
          }
          // Fast path: the CRLF trailer is usually right here.
          if (end - pos >= 2) {
            pos += 2;
            if (--this.argsLeft === 0) return this.emit(buf, pos);
            state = S_DOLLAR;
          } else {
            this.trailerLeft = 2;
            state = S_TRAILER;
          }
          break;
        }
        case S_TRAILER: {
          const n = Math.min(this.trailerLeft, end - pos);
          pos += n;
          this.trailerLeft -= n;
          if (this.trailerLeft === 0) {
            if (--this.argsLeft === 0) return this.emit(buf, pos);
            state = S_DOLLAR;
          }
          break;
        }
        case S_INLINE: {
          const nl = buf.indexOf(LF, pos);
          const stop = nl === -1 ? end : nl;
          const total = this.lineLen + (stop - pos);
          // The limit excludes the line's CR LF; a line still waiting for its LF may end in a CR.
          if (total > this.maxInlineBytes + 1) return this.fail(ERR_INLINE, buf, stop);
          if (nl === -1) {
            this.linePieces.push(buf.subarray(pos, end));
            this.lineLen = total;
            pos = end;
            break;
          }
          let line = buf.subarray(pos, nl);
          if (this.lineLen > 0) {
            this.linePieces.push(line);
            line = Buffer.concat(this.linePieces, total);
            this.linePieces = [];
            this.lineLen = 0;
          }
          if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
          if (line.length > this.maxInlineBytes) return this.fail(ERR_INLINE, buf, nl + 1);
          pos = nl + 1;
          state = S_START;
          const args = splitInlineArgs(line);
          if (args === null) return this.fail(ERR_QUOTES, buf, pos);
          if (args.length === 0) break; // blank line: Redis ignores it
          this.commit(buf, pos, S_START);
          return args;
        }
        default:
          // Unreachable: every state is handled above.
          return this.fail(ERR_MULTIBULK, buf, pos);
      }
    }
  }

  /** End of the request `parseWhole` last read, and its arguments. */
  private wholeEnd = 0;
  private readonly ranges = new ArgRanges();

  /**
   * Fast path for the common case: a whole, well-formed multibulk request lying in one chunk, whose
   * arguments it puts in `ranges`. Returns false, changing nothing else, for anything else (a partial
   * request, an empty one, any malformation), which the state machine then handles from the same position.
   */
  private parseWhole(buf: Buffer, start: number, end: number): boolean {
    let pos = start + 1; // past '*'
    let count = 0;
    let b = buf[pos];
    if (b === undefined || b <= ZERO || b > NINE) return false; // also rejects "0", "-1" and leading zeros
    do {
      count = count * 10 + (b - ZERO);
      b = buf[++pos];
    } while (b !== undefined && b >= ZERO && b <= NINE && count <= this.maxMultibulkLength);
    if (b !== CR || count > this.maxMultibulkLength || pos + 1 >= end) return false;
    pos += 2;
    const args = this.ranges;
    args.reset(buf);
    const maxBulk = this.maxBulkBytes;
    for (let i = 0; i < count; i++) {
      if (buf[pos] !== DOLLAR) return false;
      b = buf[++pos];
      if (b === undefined || b < ZERO || b > NINE) return false;
      let len = b - ZERO;
      b = buf[++pos];
      if (len !== 0) {
        while (b !== undefined && b >= ZERO && b <= NINE && len <= maxBulk) {
          len = len * 10 + (b - ZERO);
          b = buf[++pos];
        }
      }
      if (b !== CR || len > maxBulk) return false;
      const from = pos + 2;
      pos = from + len + 2;
      if (pos > end) return false;
      args.push(from, from + len);
    }
    this.wholeEnd = pos;
    return true;
  }

  private emitWhole(buf: Buffer, ranged: boolean): ArgRanges | Buffer[] {
    const pos = this.wholeEnd;
    this.unread -= pos - this.pos;
    // `buf` is `this.buf` already: `step` stores every chunk it moves to. Stored again here once per
    // request, the chunk (a young object) ran V8's write barrier into the parser (an old one).
    this.pos = pos;
    this.state = S_START;
    return ranged ? this.ranges : this.ranges.buffers();
  }

  private resetNumber(): void {
    this.numValue = 0;
    this.numDigits = 0;
    this.numNegative = false;
    this.numLeadingZero = false;
  }

  private commit(buf: Buffer, pos: number, state: number): void {
    this.unread -= pos - this.pos;
    this.buf = buf;
    this.pos = pos;
    this.state = state;
  }

  private emit(buf: Buffer, pos: number): Buffer[] {
    const args = this.args;
    this.args = [];
    this.commit(buf, pos, S_START);
    return args;
  }

  private fail(error: RespProtocolError, buf: Buffer, pos: number): RespProtocolError {
    this.commit(buf, pos, S_START);
    this.failure = error;
    // Drop everything buffered: nothing more is parsed on this connection.
    this.buf = EMPTY;
    this.pos = 0;
    this.queue = [];
    this.queueHead = 0;
    this.unread = 0;
    this.args = [];
    this.pieces = [];
    this.piecesLen = 0;
    this.linePieces = [];
    this.lineLen = 0;
    return error;
  }
}

function checkLimit(name: keyof RespParserLimits, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`RespParser: ${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
}

// --- inline requests -------------------------------------------------------------------------------

const SPACE = 32;
const TAB = 9;
const VT = 11;
const FF = 12;
const DQUOTE = 34;
const SQUOTE = 39;
const BACKSLASH = 92;

/** C's isspace() in the "C" locale, as sdssplitargs uses it. */
function isSpace(b: number): boolean {
  return b === SPACE || b === TAB || b === LF || b === CR || b === VT || b === FF;
}

function hexValue(b: number): number {
  if (b >= ZERO && b <= NINE) return b - ZERO;
  if (b >= 97 && b <= 102) return b - 87; // a-f
  if (b >= 65 && b <= 70) return b - 55; // A-F
  return -1;
}

/**
 * Splits an inline request line into arguments with Redis's sdssplitargs rules: blanks separate
 * arguments; "double quotes" allow \n \r \t \b \a \xHH and \<char> escapes; 'single quotes' allow \';
 * a closing quote must be followed by a blank or the end of the line. As in Redis (which treats the line
 * as a C string), a NUL byte ends the line. Returns `null` for unbalanced quotes. Arguments are copies.
 */
export function splitInlineArgs(line: Buffer): Buffer[] | null {
  const nul = line.indexOf(0);
  const n = nul === -1 ? line.length : nul;
  const args: Buffer[] = [];
  const token = Buffer.allocUnsafe(n); // no argument is longer than the line
  let p = 0;
  for (;;) {
    while (p < n && isSpace(line[p] as number)) p++;
    if (p >= n) return args;
    let len = 0;
    let inDouble = false;
    let inSingle = false;
    for (;;) {
      const c = p < n ? (line[p] as number) : -1;
      if (inDouble) {
        if (c === -1) return null;
        const c1 = p + 1 < n ? (line[p + 1] as number) : -1;
        if (c === BACKSLASH && c1 === 120 /* x */) {
          const hi = p + 2 < n ? hexValue(line[p + 2] as number) : -1;
          const lo = p + 3 < n ? hexValue(line[p + 3] as number) : -1;
          if (hi >= 0 && lo >= 0) {
            token[len++] = hi * 16 + lo;
            p += 4;
            continue;
          }
        }
        if (c === BACKSLASH && c1 !== -1) {
          token[len++] =
            c1 === 110 ? LF : c1 === 114 ? CR : c1 === 116 ? TAB : c1 === 98 ? 8 : c1 === 97 ? 7 : c1;
          p += 2;
        } else if (c === DQUOTE) {
          if (c1 !== -1 && !isSpace(c1)) return null;
          p++;
          break;
        } else {
          token[len++] = c;
          p++;
        }
      } else if (inSingle) {
        if (c === -1) return null;
        const c1 = p + 1 < n ? (line[p + 1] as number) : -1;
        if (c === BACKSLASH && c1 === SQUOTE) {
          token[len++] = SQUOTE;
          p += 2;
        } else if (c === SQUOTE) {
          if (c1 !== -1 && !isSpace(c1)) return null;
          p++;
          break;
        } else {
          token[len++] = c;
          p++;
        }
      } else if (c === -1 || c === SPACE || c === LF || c === CR || c === TAB) {
        if (c !== -1) p++;
        break;
      } else if (c === DQUOTE) {
        inDouble = true;
        p++;
      } else if (c === SQUOTE) {
        inSingle = true;
        p++;
      } else {
        token[len++] = c;
        p++;
      }
    }
    args.push(Buffer.from(token.subarray(0, len)));
  }
}
