// The WebSocket API's frame codec without sockets: every malformed frame decodes to its error reply,
// arbitrary bytes never throw, and replies map to msgpack values exactly. Fuzzing: test/fuzz/ws-codec.test.ts.

import { describe, expect, it } from 'vitest';
import { decodeFrame, replyValue } from '../../../src/server/ws/codec.js';
import { MALFORMED_FRAMES } from './harness.js';

describe('decodeFrame', () => {
  it.each(MALFORMED_FRAMES)('%s decodes to its error reply', (_name, bytes, id, re) => {
    const d = decodeFrame(bytes, true);
    expect(d.kind).toBe('bad');
    if (d.kind !== 'bad') return;
    expect(d.id).toBe(id);
    expect(d.err).toMatch(re);
  });

  it('decodeFrame never throws on arbitrary bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: (i % 40) + 1 }, (_, j) => (i * 31 + j * 17 + (i >> 3)) & 0xff));
      const d = decodeFrame(bytes, true);
      expect(['bad', 'cmd', 'watch', 'unwatch']).toContain(d.kind);
    }
  });
});

describe('replyValue', () => {
  it('maps replies exactly: big integers as strings, nested errors as {err}', () => {
    expect(replyValue({ kind: 'int', value: 2n ** 60n })).toBe('1152921504606846976');
    expect(replyValue({ kind: 'int', value: 12n })).toBe(12);
    expect(replyValue({ kind: 'array', value: null })).toBe(null);
    expect(replyValue({ kind: 'array', value: [{ kind: 'error', message: 'ERR x' }, { kind: 'bulk', value: Buffer.from('ok') }] })).toEqual([{ err: 'ERR x' }, 'ok']);
  });
});
