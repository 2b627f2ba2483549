// RESP2 reply encoding: every Reply kind, the direct writer API, and the writer's buffer handling.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLOSE_OK,
  EMPTY_ARRAY,
  INTERNAL_ERROR,
  NULL_ARRAY,
  NULL_BULK,
  OK,
  ONE,
  PONG,
  reply,
  ZERO,
  type Reply,
} from '../../src/server/commands/reply.js';
import { encodeReply, encodeReplyToBuffer, ReplyWriter } from '../../src/server/resp/encoder.js';

const enc = (r: Reply): string => encodeReplyToBuffer(r).toString('latin1');

describe('encodeReply', () => {
  it('encodes simple strings, errors and the shared replies', () => {
    expect(enc(OK)).toBe('+OK\r\n');
    expect(enc(PONG)).toBe('+PONG\r\n');
    expect(enc(reply.simple('QUEUED'))).toBe('+QUEUED\r\n');
    expect(enc(reply.error('ERR value is not an integer or out of range'))).toBe(
      '-ERR value is not an integer or out of range\r\n',
    );
    expect(enc(reply.error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(
      '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n',
    );
    expect(enc(INTERNAL_ERROR)).toBe('-ERR internal error\r\n');
    expect(enc(ZERO)).toBe(':0\r\n');
    expect(enc(ONE)).toBe(':1\r\n');
  });

  it('replaces CR and LF in status and error lines so they cannot break framing', () => {
    expect(enc(reply.error("ERR unknown command 'a\r\n+OK'"))).toBe("-ERR unknown command 'a  +OK'\r\n");
    expect(enc(reply.simple('a\nb'))).toBe('+a b\r\n');
    expect(enc(reply.error('ERR café\r\n'))).toBe(`-ERR ${Buffer.from('café').toString('latin1')}  \r\n`);
  });

  it('sends an error given as bytes exactly as they are (a lone UTF-8 lead byte too), CR and LF as spaces', () => {
    const bytes = Buffer.from([0x45, 0x52, 0x52, 0x20, 0xc3, 0xa9, 0xc3, 0x0d, 0x0a, 0xff]);
    const r = reply.errorBytes(bytes);
    expect(encodeReplyToBuffer(r)).toEqual(Buffer.from([0x2d, 0x45, 0x52, 0x52, 0x20, 0xc3, 0xa9, 0xc3, 0x20, 0x20, 0xff, 0x0d, 0x0a]));
    expect(r.kind === 'error' && r.message).toBe('ERR \u00e9\ufffd\r\n\ufffd'); // the WebSocket API's text
  });

  it('encodes integers: numbers, negatives, large safe integers, bigints', () => {
    const cases: [number | bigint, string][] = [
      [0, '0'],
      [7, '7'],
      [10, '10'],
      [-1, '-1'],
      [-10, '-10'],
      [1234567890, '1234567890'],
      [Number.MAX_SAFE_INTEGER, '9007199254740991'],
      [Number.MIN_SAFE_INTEGER, '-9007199254740991'],
      [2 ** 60, '1152921504606846976'],
      [9223372036854775807n, '9223372036854775807'],
      [-9223372036854775808n, '-9223372036854775808'],
    ];
    for (const [v, s] of cases) expect(enc(reply.int(v))).toBe(`:${s}\r\n`);
  });

  it('encodes every number of digits, at both ends, and either side of 2^31', () => {
    for (let p = 1; p <= 15; p++) {
      for (const n of [10 ** p - 1, 10 ** p, 10 ** p + 1]) {
        expect(enc(reply.int(n))).toBe(`:${n}\r\n`);
        expect(enc(reply.int(-n))).toBe(`:-${n}\r\n`);
      }
    }
    for (const n of [2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32, -(2 ** 31), -(2 ** 31) - 1]) expect(enc(reply.int(n))).toBe(`:${n}\r\n`);
  });

  it('property: integer encoding matches the decimal string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 }), fc.maxSafeInteger()), (n) => {
        expect(enc(reply.int(n))).toBe(`:${n}\r\n`);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt(), (n) => {
        expect(enc(reply.int(n))).toBe(`:${n}\r\n`);
      }),
    );
  });

  it('rejects non-integers as misuse', () => {
    expect(() => enc(reply.int(1.5))).toThrow(RangeError);
    expect(() => enc(reply.int(Number.NaN))).toThrow(/not an integer/);
  });

  it('encodes bulk strings from Buffers and strings (UTF-8), and null', () => {
    expect(enc(reply.bulk('hello'))).toBe('$5\r\nhello\r\n');
    expect(enc(reply.bulk(''))).toBe('$0\r\n\r\n');
    expect(enc(NULL_BULK)).toBe('$-1\r\n');
    expect(enc(reply.bulk(null))).toBe('$-1\r\n');
    expect(encodeReplyToBuffer(reply.bulk('é€')).equals(Buffer.from('$5\r\né€\r\n'))).toBe(true);
    const bin = Buffer.from([0, 13, 10, 255]);
    expect(encodeReplyToBuffer(reply.bulk(bin)).equals(Buffer.concat([Buffer.from('$4\r\n'), bin, Buffer.from('\r\n')]))).toBe(
      true,
    );
    const long = 'x'.repeat(5000);
    expect(enc(reply.bulk(long))).toBe(`$5000\r\n${long}\r\n`);
    expect(enc(reply.bulk(Buffer.from(long)))).toBe(`$5000\r\n${long}\r\n`);
  });

  it('property: bulk strings carry their exact UTF-8 byte length', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => {
        const b = Buffer.from(s, 'utf8');
        const out = encodeReplyToBuffer(reply.bulk(s));
        expect(out.equals(Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]))).toBe(true);
      }),
    );
  });

  it('encodes arrays, nested arrays, empty and null arrays', () => {
    expect(enc(EMPTY_ARRAY)).toBe('*0\r\n');
    expect(enc(NULL_ARRAY)).toBe('*-1\r\n');
    expect(enc(reply.array([reply.int(1), reply.bulk('a'), NULL_BULK, reply.array([OK, reply.error('ERR x')])]))).toBe(
      '*4\r\n:1\r\n$1\r\na\r\n$-1\r\n*2\r\n+OK\r\n-ERR x\r\n',
    );
  });

  it('encodes a close reply as its inner reply (the server does the closing)', () => {
    expect(enc(CLOSE_OK)).toBe('+OK\r\n');
    expect(enc(reply.close())).toBe('');
    expect(enc(reply.close(reply.error('ERR bye')))).toBe('-ERR bye\r\n');
  });
});

describe('ReplyWriter', () => {
  it('writes directly without Reply objects', () => {
    const w = new ReplyWriter();
    w.writeOk();
    w.writePong();
    w.writeInt(42);
    w.writeNull();
    w.writeNullArray();
    w.writeArrayHeader(2);
    w.writeBulk('a');
    w.writeBulk(Buffer.from('bc'));
    w.writeSimple('OK');
    w.writeError('ERR e');
    w.writeRaw(Buffer.from(':5\r\n'));
    expect(w.take().toString()).toBe('+OK\r\n+PONG\r\n:42\r\n$-1\r\n*-1\r\n*2\r\n$1\r\na\r\n$2\r\nbc\r\n+OK\r\n-ERR e\r\n:5\r\n');
    expect(w.length).toBe(0);
    expect(w.take().length).toBe(0);
  });

  it('never overwrites bytes already taken, across growth', () => {
    const w = new ReplyWriter(64); // tiny chunks force many reallocations
    const taken: Buffer[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 500; i++) {
      w.writeInt(i);
      w.writeBulk('v'.repeat(i % 70));
      expected.push(`:${i}\r\n$${i % 70}\r\n${'v'.repeat(i % 70)}\r\n`);
      if (i % 7 === 0) taken.push(w.take());
    }
    taken.push(w.take());
    expect(Buffer.concat(taken).toString()).toBe(expected.join(''));
  });

  it('truncate undoes a half-written reply', () => {
    const w = new ReplyWriter();
    w.writeOk();
    const mark = w.length;
    w.writeArrayHeader(3);
    w.writeInt(1);
    w.truncate(mark);
    w.writeError('ERR internal error');
    expect(w.take().toString()).toBe('+OK\r\n-ERR internal error\r\n');
  });

  it('encodes into a buffer larger than the chunk size when one reply needs it', () => {
    const w = new ReplyWriter(16);
    const big = Buffer.alloc(100_000, 0x7a);
    encodeReply(w, reply.bulk(big));
    const out = w.take();
    expect(out.length).toBe(100_000 + '$100000\r\n'.length + 2);
  });

  it('rejects a negative array length', () => {
    expect(() => new ReplyWriter().writeArrayHeader(-1)).toThrow(RangeError);
  });
});
