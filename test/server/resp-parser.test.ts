// RESP2 request parser: raw bytes in, commands out, no socket. Splits at every byte, fuzzed input, limits.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RespParser,
  splitInlineArgs,
  type RespParserLimits,
  type RespProtocolError,
} from '../../src/server/resp/parser.js';

type Parsed = { commands: string[][]; error: RespProtocolError | null };

/** Feeds chunks one by one, draining commands after each; returns commands (latin1 strings) and any error. */
function parseChunks(chunks: readonly Buffer[], limits: Partial<RespParserLimits> = {}): Parsed {
  const p = new RespParser(limits);
  const commands: string[][] = [];
  for (const chunk of chunks) {
    p.push(chunk);
    for (;;) {
      const r = p.next();
      if (r === null) break;
      if (!Array.isArray(r)) return { commands, error: r };
      commands.push(r.map((a) => a.toString('latin1')));
    }
  }
  return { commands, error: null };
}

function parse(input: string | Buffer, limits: Partial<RespParserLimits> = {}): Parsed {
  return parseChunks([typeof input === 'string' ? Buffer.from(input, 'latin1') : input], limits);
}

function multibulk(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Every way to cut `input` into two chunks, plus byte-at-a-time, must give the same result as one chunk. */
function expectSplitInvariant(input: Buffer, limits: Partial<RespParserLimits> = {}): Parsed {
  const whole = parseChunks([input], limits);
  for (let i = 0; i <= input.length; i++) {
    const split = parseChunks([input.subarray(0, i), input.subarray(i)], limits);
    expect(split, `split at ${i}`).toEqual(whole);
  }
  const bytes = [...input].map((b) => Buffer.from([b]));
  expect(parseChunks(bytes, limits)).toEqual(whole);
  return whole;
}

const ERR_MULTIBULK = 'ERR Protocol error: invalid multibulk length';
const ERR_BULK = 'ERR Protocol error: invalid bulk length';

describe('RespParser: multibulk requests', () => {
  it('parses one command into Buffer arguments', () => {
    const p = new RespParser();
    p.push(Buffer.from('*2\r\n$4\r\nINCR\r\n$3\r\nkey\r\n'));
    const r = p.next();
    expect(Array.isArray(r)).toBe(true);
    const args = r as Buffer[];
    expect(args.every((a) => Buffer.isBuffer(a))).toBe(true);
    expect(args.map(String)).toEqual(['INCR', 'key']);
    expect(p.next()).toBeNull();
    expect(p.bufferedBytes).toBe(0);
  });

  it('slices arguments from the pushed chunk without copying', () => {
    const chunk = Buffer.from('*1\r\n$4\r\nPING\r\n');
    const p = new RespParser();
    p.push(chunk);
    const [arg] = p.next() as Buffer[];
    expect(arg?.buffer).toBe(chunk.buffer);
  });

  it('parses a pipeline of many commands in one chunk, in order', () => {
    const n = 1000;
    const input = Buffer.concat(Array.from({ length: n }, (_, i) => multibulk(['INCRBY', `k${i}`, String(i)])));
    const { commands, error } = parse(input);
    expect(error).toBeNull();
    expect(commands).toHaveLength(n);
    expect(commands[0]).toEqual(['INCRBY', 'k0', '0']);
    expect(commands[n - 1]).toEqual(['INCRBY', `k${n - 1}`, String(n - 1)]);
  });

  it('handles empty, binary and CRLF-containing arguments', () => {
    const bin = Buffer.from([0, 1, 2, 13, 10, 255, 42, 36]);
    const p = new RespParser();
    p.push(multibulk(['SET', '', bin]));
    const args = p.next() as Buffer[];
    expect(args[1]?.length).toBe(0);
    expect(args[2]?.equals(bin)).toBe(true);
  });

  it('skips empty requests *0 and *-1 as Redis does', () => {
    expect(parse('*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n')).toEqual({ commands: [['PING']], error: null });
  });

  it('gives the same commands for every split point of a mixed pipeline', () => {
    const input = Buffer.concat([
      multibulk(['INCR', 'key']),
      Buffer.from('PING\r\n'),
      multibulk(['SET', 'a', '']),
      Buffer.from('*0\r\n'),
      Buffer.from('ECHO "a b"\n'),
      multibulk(['PFADD', 'h', 'x'.repeat(40), 'y']),
    ]);
    const r = expectSplitInvariant(input);
    expect(r.error).toBeNull();
    expect(r.commands).toEqual([
      ['INCR', 'key'],
      ['PING'],
      ['SET', 'a', ''],
      ['ECHO', 'a b'],
      ['PFADD', 'h', 'x'.repeat(40), 'y'],
    ]);
  });

  it('keeps a partial command across pushes and reports buffered bytes', () => {
    const p = new RespParser();
    p.push(Buffer.from('*2\r\n$4\r\nINCR\r\n$3\r\nke'));
    expect(p.next()).toBeNull();
    expect(p.bufferedBytes).toBeGreaterThan(0);
    p.push(Buffer.from('y\r'));
    expect(p.next()).toBeNull();
    p.push(Buffer.from('\n'));
    expect((p.next() as Buffer[]).map(String)).toEqual(['INCR', 'key']);
    expect(p.bufferedBytes).toBe(0);
  });

  it('queues chunks pushed while earlier input is still unread', () => {
    const p = new RespParser();
    p.push(multibulk(['A']));
    p.push(multibulk(['B']));
    p.push(Buffer.from('*1\r\n$1\r'));
    p.push(Buffer.from('\nC\r\n'));
    const seen: string[] = [];
    for (let r = p.next(); r !== null; r = p.next()) seen.push(String((r as Buffer[])[0]));
    expect(seen).toEqual(['A', 'B', 'C']);
  });

  it('assembles a large bulk spread over many small chunks in linear time', () => {
    const size = 1024 * 1024;
    const payload = Buffer.alloc(size, 0x61);
    const input = multibulk(['SET', 'big', payload]);
    const p = new RespParser({ maxBulkBytes: size });
    let result: Buffer[] | null = null;
    // 64-byte chunks: 16K pushes. A parser that rescanned from the start would do ~10^10 byte steps.
    for (let i = 0; i < input.length; i += 64) {
      p.push(input.subarray(i, i + 64));
      const r = p.next();
      if (r !== null) {
        expect(Array.isArray(r)).toBe(true);
        result = r as Buffer[];
      }
    }
    expect(result?.[2]?.equals(payload)).toBe(true);
    expect(p.bufferedBytes).toBe(0);
  });

  it('property: random commands split at random points parse to the same commands', () => {
    const arg = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
    const command = fc.array(arg, { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(command, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (commands, cuts) => {
          const input = Buffer.concat(commands.map((c) => multibulk(c)));
          const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const p of points) {
            chunks.push(input.subarray(prev, p));
            prev = p;
          }
          chunks.push(input.subarray(prev));
          const p = new RespParser();
          const out: Buffer[][] = [];
          for (const ch of chunks) {
            p.push(ch);
            for (let r = p.next(); r !== null; r = p.next()) {
              if (!Array.isArray(r)) throw new Error(`unexpected ${r.message}`);
              out.push(r);
            }
          }
          expect(out.length).toBe(commands.length);
          out.forEach((args, i) => {
            const want = commands[i] ?? [];
            expect(args.length).toBe(want.length);
            args.forEach((a, j) => expect(a.equals(want[j] ?? Buffer.alloc(0))).toBe(true));
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('RespParser: inline requests', () => {
  it('splits on spaces and tabs, accepts LF or CRLF, and skips blank lines', () => {
    expect(parse('PING\r\nSET  key\tvalue\n\r\n   \nGET key\r\n')).toEqual({
      commands: [['PING'], ['SET', 'key', 'value'], ['GET', 'key']],
      error: null,
    });
  });

  it('applies Redis quoting rules', () => {
    const split = (s: string): string[] | null => {
      const r = splitInlineArgs(Buffer.from(s, 'latin1'));
      return r === null ? null : r.map((a) => a.toString('latin1'));
    };
    expect(split('SET k "hello world"')).toEqual(['SET', 'k', 'hello world']);
    expect(split('"a\\nb\\r\\t\\x41\\x4a\\"\\\\"')).toEqual(['a\nb\r\tAJ"\\']);
    expect(split('"\\xZZ"')).toEqual(['xZZ']); // a bad \x escape is the literal 'x'
    expect(split("'it\\'s' 'a\\nb'")).toEqual(["it's", 'a\\nb']); // single quotes: only \' is special
    expect(split('ab"cd ef"gh')).toBeNull(); // closing quote must be followed by a blank
    expect(split('ab"cd ef" gh')).toEqual(['abcd ef', 'gh']); // a quote may open mid-argument
    expect(split('"" \'\'')).toEqual(['', '']);
    expect(split('  \t ')).toEqual([]);
    expect(split('a\0b c')).toEqual(['a']); // a NUL ends the line, as in Redis
    expect(split('"abc')).toBeNull();
    expect(split("'abc")).toBeNull();
    expect(split('"abc\\"')).toBeNull();
  });

  it('returns unbalanced quotes as a protocol error', () => {
    const r = parse('SET k "oops\r\nPING\r\n');
    expect(r.commands).toEqual([]);
    expect(r.error).toMatchObject({
      code: 'RESP_UNBALANCED_QUOTES',
      message: 'ERR Protocol error: unbalanced quotes in request',
    });
  });

  it('limits the inline line length', () => {
    const max = 100;
    expect(parse(`${'a'.repeat(max)}\r\n`, { maxInlineBytes: max }).commands).toHaveLength(1);
    const tooBig = parse(`${'a'.repeat(max + 1)}\n`, { maxInlineBytes: max });
    expect(tooBig.error).toMatchObject({
      code: 'RESP_INLINE_TOO_BIG',
      message: 'ERR Protocol error: too big inline request',
    });
    // Without a newline the error comes as soon as the line passes the limit, however it is split.
    expectSplitInvariant(Buffer.from('b'.repeat(max + 5)), { maxInlineBytes: max });
    expect(parse('c'.repeat(max + 2), { maxInlineBytes: max }).error?.code).toBe('RESP_INLINE_TOO_BIG');
    expect(parse('c'.repeat(max) + '\r', { maxInlineBytes: max }).error).toBeNull(); // the LF may follow
    expect(parse('c'.repeat(max + 1) + '\n', { maxInlineBytes: max }).error?.code).toBe('RESP_INLINE_TOO_BIG');
  });

  it('enforces the 64 KiB default', () => {
    expect(parse(Buffer.alloc(64 * 1024 + 2, 0x61)).error?.code).toBe('RESP_INLINE_TOO_BIG');
    expect(parse(`${'a'.repeat(64 * 1024)}\r\n`).commands).toHaveLength(1);
  });
});

describe('RespParser: protocol errors', () => {
  const errorCases: [string, string, string][] = [
    ['*x\r\n', 'RESP_INVALID_MULTIBULK_LENGTH', ERR_MULTIBULK],
    ['*\r\n', 'RESP_INVALID_MULTIBULK_LENGTH', ERR_MULTIBULK],
    ['*01\r\n', 'RESP_INVALID_MULTIBULK_LENGTH', ERR_MULTIBULK],
    ['*1 \r\n', 'RESP_INVALID_MULTIBULK_LENGTH', ERR_MULTIBULK],
    ['*-\r\n', 'RESP_INVALID_MULTIBULK_LENGTH', ERR_MULTIBULK],
    ['*-0\r\n', 'RESP_INVALID_MULTIBULK_LENGTH', ERR_MULTIBULK],
    ['*1048577\r\n', 'RESP_INVALID_MULTIBULK_LENGTH', ERR_MULTIBULK],
    ['*99999999999999999999\r\n', 'RESP_INVALID_MULTIBULK_LENGTH', ERR_MULTIBULK],
    ['*1\r\n$-1\r\n', 'RESP_INVALID_BULK_LENGTH', ERR_BULK],
    ['*1\r\n$\r\n', 'RESP_INVALID_BULK_LENGTH', ERR_BULK],
    ['*1\r\n$abc\r\n', 'RESP_INVALID_BULK_LENGTH', ERR_BULK],
    ['*1\r\n$007\r\n', 'RESP_INVALID_BULK_LENGTH', ERR_BULK],
    [`*1\r\n$${1024 * 1024 + 1}\r\n`, 'RESP_INVALID_BULK_LENGTH', ERR_BULK],
    ['*1\r\nPING\r\n', 'RESP_EXPECTED_DOLLAR', "ERR Protocol error: expected '$', got 'P'"],
    ['*2\r\n$1\r\na\r\n:1\r\n', 'RESP_EXPECTED_DOLLAR', "ERR Protocol error: expected '$', got ':'"],
    ['*1\r\n\r\n', 'RESP_EXPECTED_DOLLAR', "ERR Protocol error: expected '$', got ' '"],
  ];
  for (const [input, code, message] of errorCases) {
    it(`${JSON.stringify(input)} -> ${message}`, () => {
      const r = expectSplitInvariant(Buffer.from(input, 'latin1'));
      expect(r.error).toEqual({ kind: 'protocol-error', code, message });
    });
  }

  it('reports the error after the commands before it, then keeps returning it', () => {
    const p = new RespParser();
    p.push(Buffer.concat([multibulk(['PING']), Buffer.from('*1\r\nX\r\n'), multibulk(['PING'])]));
    expect((p.next() as Buffer[]).map(String)).toEqual(['PING']);
    const e = p.next();
    expect(e).toMatchObject({ code: 'RESP_EXPECTED_DOLLAR' });
    expect(p.next()).toBe(e);
    p.push(multibulk(['PING']));
    expect(p.next()).toBe(e);
    expect(p.error).toBe(e);
    expect(p.bufferedBytes).toBe(0);
  });

  it('honours configured limits', () => {
    expect(parse(multibulk(['a', 'b', 'c']), { maxMultibulkLength: 3 }).error).toBeNull();
    expect(parse(multibulk(['a', 'b', 'c', 'd']), { maxMultibulkLength: 3 }).error?.message).toBe(ERR_MULTIBULK);
    expect(parse(multibulk(['x'.repeat(10)]), { maxBulkBytes: 10 }).error).toBeNull();
    expect(parse(multibulk(['x'.repeat(11)]), { maxBulkBytes: 10 }).error?.message).toBe(ERR_BULK);
  });

  it('accepts the largest multibulk length by default and fails fast on a huge declared bulk', () => {
    const p = new RespParser();
    p.push(Buffer.from('*1048576\r\n$1\r\na\r\n'));
    expect(p.next()).toBeNull(); // waiting for the remaining arguments, nothing allocated up front
    const q = new RespParser();
    q.push(Buffer.from('*1\r\n$536870912\r\n')); // Redis's 512 MiB is over tally's default 1 MiB
    expect(q.next()).toMatchObject({ code: 'RESP_INVALID_BULK_LENGTH' });
  });

  it('rejects invalid limits at construction', () => {
    expect(() => new RespParser({ maxBulkBytes: -1 })).toThrow(/maxBulkBytes/);
    expect(() => new RespParser({ maxMultibulkLength: 0 })).toThrow(/maxMultibulkLength/);
    expect(() => new RespParser({ maxInlineBytes: 1.5 })).toThrow(/maxInlineBytes/);
  });

  it('property: arbitrary bytes in arbitrary chunks never throw and give split-independent results', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      // Bias towards protocol-looking input so the deep states are reached.
      fc
        .array(fc.constantFrom('*', '$', '\r', '\n', '1', '2', '0', '-', 'a', ' ', '"', "'", '\\', 'x', '3'), {
          maxLength: 120,
        })
        .map((cs) => Uint8Array.from(Buffer.from(cs.join(''), 'latin1'))),
    );
    fc.assert(
      fc.property(bytes, fc.array(fc.nat(), { maxLength: 8 }), (raw, cuts) => {
        const input = Buffer.from(raw);
        const limits = { maxBulkBytes: 50, maxInlineBytes: 60 };
        const whole = parseChunks([input], limits);
        const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(input.subarray(prev, p));
          prev = p;
        }
        chunks.push(input.subarray(prev));
        expect(parseChunks(chunks, limits)).toEqual(whole);
      }),
      { numRuns: 2000 },
    );
  });
});
