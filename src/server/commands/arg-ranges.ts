// A request's arguments as byte ranges of one buffer: how the RESP parser hands over a whole request
// that lay in one socket chunk, with no Buffer per argument. The counter commands run on the ranges
// (`CommandSpec.runRanges`); every other command, and every refusal, takes `buffers()`.
// docs/resp.md, "Arguments as ranges".

const EMPTY = Buffer.alloc(0);
/** Ranges kept between requests: a request of more arguments gets a table of its own, dropped at the next. */
const KEPT_RANGES = 64;

export class ArgRanges {
  /** The bytes the ranges index (the parser's socket chunk): valid only until the parser is called again. */
  buf: Buffer = EMPTY;
  /** Number of arguments, the command name included. */
  count = 0;
  /** Start and end (exclusive) of argument i at 2i and 2i + 1. */
  private at = new Int32Array(2 * KEPT_RANGES);

  /** Starts over on `buf`, with no arguments (a table grown for a long request is let go). */
  reset(buf: Buffer): void {
    // Only when it changes: the requests of a pipeline share a chunk, and storing a pointer into this
    // long-lived object runs V8's write barrier (2% of a node's CPU under INCR at depth 16, `perf`).
    // Stryker disable next-line ConditionalExpression: equivalent but for work, storing the same chunk again
    if (this.buf !== buf) this.buf = buf;
    this.count = 0;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: equivalent but for memory, a new table holds the same ranges
    if (this.at.length > 2 * KEPT_RANGES) this.at = new Int32Array(2 * KEPT_RANGES);
  }

  /** Appends the argument `buf[start, end)`. */
  push(start: number, end: number): void {
    const i = 2 * this.count++;
    // Stryker disable next-line EqualityOperator: equivalent but for memory, growing a push early holds the same ranges
    if (i + 2 > this.at.length) {
      const grown = new Int32Array(2 * this.at.length);
      grown.set(this.at);
      this.at = grown;
    }
    this.at[i] = start;
    this.at[i + 1] = end;
  }

  /** Where argument `i` starts in `buf`. */
  start(i: number): number {
    return this.at[2 * i] as number;
  }

  /** Where argument `i` ends in `buf` (exclusive). */
  end(i: number): number {
    return this.at[2 * i + 1] as number;
  }

  /** Argument `i` as a view of `buf` (no copy). */
  arg(i: number): Buffer {
    return this.buf.subarray(this.at[2 * i], this.at[2 * i + 1]);
  }

  /** Every argument as a view of `buf`: the form every command takes. */
  buffers(): Buffer[] {
    // Stryker disable next-line ArrayDeclaration: equivalent but for speed, every cell is set below
    const out: Buffer[] = new Array<Buffer>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.arg(i);
    return out;
  }
}
