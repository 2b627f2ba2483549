// The oracle's RESP2 reply framing: a reply is complete exactly when all its bytes are there, nested
// arrays included, so replies keep their exact bytes however the stream is cut.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCommand, replyEnd, showBytes } from './raw-resp.js';

/** A random RESP2 reply, as bytes. */
const reply: fc.Arbitrary<string> = fc.letrec<{ r: string }>((tie) => ({
  r: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string().filter((s) => !/[\r\n]/.test(s)).map((s) => `+${s}\r\n`),
    fc.string().filter((s) => !/[\r\n]/.test(s)).map((s) => `-ERR ${s}\r\n`),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => `:${n}\r\n`),
    fc.constant('$-1\r\n'),
    fc.constant('*-1\r\n'),
    fc.string({ unit: 'binary-ascii' }).map((s) => `$${s.length}\r\n${s}\r\n`),
    fc.array(tie('r'), { maxLength: 4 }).map((xs) => `*${xs.length}\r\n${xs.join('')}`),
  ),
})).r;

describe('replyEnd', () => {
  it('finds the end of a whole reply, and no end in any proper prefix of it', () => {
    fc.assert(
      fc.property(reply, reply, (a, b) => {
        const one = Buffer.from(a, 'latin1');
        const two = Buffer.concat([one, Buffer.from(b, 'latin1')]);
        expect(replyEnd(two, 0)).toBe(one.length);
        expect(replyEnd(two, one.length)).toBe(two.length);
        for (let i = 0; i < one.length; i++) expect(replyEnd(one.subarray(0, i), 0)).toBeNull();
      }),
    );
  });

  it('refuses a byte that starts no RESP reply', () => {
    expect(() => replyEnd(Buffer.from('!1\r\n'), 0)).toThrow(/not a RESP reply/);
  });

  it('frames RESP3 maps, sets, nulls, booleans, doubles and verbatim strings', () => {
    const frames = ['%1\r\n$1\r\na\r\n~2\r\n_\r\n#t\r\n', ',1.5\r\n', '=8\r\ntxt:abcd\r\n', '(12345678901234567890\r\n', '>1\r\n+x\r\n'];
    const all = Buffer.from(frames.join(''), 'latin1');
    let p = 0;
    for (const f of frames) {
      expect(replyEnd(all, p)).toBe(p + f.length);
      p += f.length;
    }
  });
});

describe('encodeCommand and showBytes', () => {
  it('sends each word as a bulk string of its UTF-8 bytes, and shows bytes readably', () => {
    expect(encodeCommand(['SET', 'k\u00e9', Buffer.from([0xff])]).toString('latin1')).toBe('*3\r\n$3\r\nSET\r\n$3\r\nk\xc3\xa9\r\n$1\r\n\xff\r\n');
    expect(showBytes(Buffer.from('-ERR x\\y\r\n\x00', 'latin1'))).toBe('-ERR x\\\\y\\r\\n\\x00');
  });
});
