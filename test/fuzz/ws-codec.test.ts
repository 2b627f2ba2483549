// Fuzzing the WebSocket API decoder: random and mutated msgpack frames never throw; a frame is either
// a request or an error reply, and an accepted request re-encodes to a frame that decodes the same.

import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it, vi } from 'vitest';
import { decodeFrame } from '../../src/server/ws/codec.js';
import { FUZZ_OPTIONS, FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzzBytes } from './mutate.js';

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });

const packr = new Packr({ useRecords: false, moreTypes: false });
const SEEDS = [
  { id: 1, cmd: 'INCR', args: ['k'] },
  { id: 2, watch: ['a', 'b'], db: 3 },
  { id: 3, cmd: 'PFADD', args: ['h', Buffer.from([0, 1, 255]), 5, 1.5, -7] },
  { id: 4, unwatch: [] },
  { id: 2 ** 40, cmd: 'GET', args: ['views:x'], db: 0, extra: { ignored: true } },
].map((m) => Uint8Array.from(packr.pack(m)));

type Decoded = ReturnType<typeof decodeFrame>;

/** A request as a comparable string (buffers as hex). */
function show(d: Decoded): string {
  if (d.kind === 'bad') return `bad:${d.id}:${d.err}`;
  if (d.kind === 'cmd') return `cmd:${d.id}:${d.db}:${d.args.map((a) => a.toString('hex')).join(',')}`;
  return `${d.kind}:${d.id}:${d.db}:${d.keys.join('\u0000')}`;
}

function reencode(d: Exclude<Decoded, { kind: 'bad' }>): Buffer {
  const m: Record<string, unknown> = { id: d.id };
  if (d.db !== undefined) m.db = d.db;
  if (d.kind === 'cmd') {
    m.cmd = d.cmd;
    m.args = d.args.slice(1);
  } else m[d.kind] = d.keys;
  return packr.pack(m);
}

describe('WebSocket API decoder fuzz', () => {
  it(`survives ${FUZZ_RUNS} random and mutated frames; accepted requests re-encode to the same request`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(fuzzBytes(SEEDS), fc.boolean(), (bytes, binaryFlag) => {
        const isBinary = binaryFlag || bytes.length % 7 !== 0; // mostly binary; text frames too
        const buf = Buffer.from(bytes);
        const copy = Buffer.from(bytes);
        const d = decodeFrame(buf, isBinary);
        if (!buf.equals(copy)) throw new Error('decodeFrame wrote to its input');
        if (d.kind === 'bad') {
          if (!d.err.startsWith('ERR ')) throw new Error(`error reply without ERR: ${d.err}`);
          return;
        }
        accepted++;
        const again = decodeFrame(reencode(d), true);
        if (show(again) !== show(d)) throw new Error(`re-encoded request differs: ${show(d)} vs ${show(again)}`);
      }),
      FUZZ_OPTIONS,
    );
    expect(accepted).toBeGreaterThan(100);
  });
});
