// Fuzzing the RESP2 request parser: random bytes and mutated valid pipelines never throw or hang;
// after a protocol error the parser is inert (same error, nothing buffered); and the answers are the
// same however the input is split: at every single byte, in random chunks, and byte by byte.

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { RespParser } from '../../src/server/resp/parser.js';
import { FUZZ_OPTIONS, FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzzBytes } from './mutate.js';

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });

/** Feeds `chunks`, drains after each; the result as one comparable string. */
function run(chunks: readonly Buffer[]): string {
  const p = new RespParser({ maxBulkBytes: 4096, maxInlineBytes: 512, maxMultibulkLength: 64 });
  const out: string[] = [];
  for (const c of chunks) {
    p.push(c);
    for (let guard = 0; ; guard++) {
      if (guard > 100_000) throw new Error('parser does not terminate');
      const r = p.next();
      if (r === null) break;
      if (!Array.isArray(r)) {
        // Inert after an error: the same error again, even with more input, and nothing buffered.
        p.push(Buffer.from('*1\r\n$4\r\nPING\r\n'));
        if (p.next() !== r || p.bufferedBytes !== 0) throw new Error('parser changed state after a protocol error');
        return `${out.join('|')}!${r.code}`;
      }
      out.push(r.map((a) => a.toString('hex')).join(','));
    }
  }
  return out.join('|');
}

const mb = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
const SEEDS = [
  mb('INCR', 'k') + mb('GET', 'k') + mb('PFADD', 'h', 'a', 'b'),
  mb('SET', 'key', 'x'.repeat(40)) + 'PING\r\n' + mb('DECRBY', 'c', '-5'),
  'INCRBY "a key" 5\r\nGET \'q\\\'x\'\r\n' + mb('WAIT', '1', '100'),
  '*0\r\n*-1\r\n' + mb('') + '\r\n\n' + mb('EXISTS', 'a', 'b', 'c'),
  '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n',
].map((s) => Buffer.from(s, 'latin1'));

describe('RESP parser fuzz', () => {
  it(`survives ${FUZZ_RUNS} random and mutated pipelines, fed whole, in random chunks and byte by byte`, () => {
    fc.assert(
      fc.property(fuzzBytes(SEEDS), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cutsRaw) => {
        const input = Buffer.from(bytes);
        const whole = run([input]);
        const cuts = [...new Set(cutsRaw.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const c of [...cuts, input.length]) {
          chunks.push(input.subarray(prev, c));
          prev = c;
        }
        if (run(chunks) !== whole) throw new Error(`random chunks ${JSON.stringify(cuts)} differ`);
        if (run([...input].map((b) => Buffer.from([b]))) !== whole) throw new Error('byte-by-byte differs');
      }),
      FUZZ_OPTIONS,
    );
  });

  it(`gives the same answers split at every byte (${Math.ceil(FUZZ_RUNS / 10)} inputs x every split point)`, () => {
    // Every split point of every input is n parses per input; a tenth of the inputs keeps this near
    // the others' run time while still covering every cut of ~1.5 million generated positions.
    let splits = 0;
    fc.assert(
      fc.property(fuzzBytes(SEEDS, 96), (bytes) => {
        const input = Buffer.from(bytes);
        const whole = run([input]);
        for (let i = 0; i <= input.length; i++) {
          splits++;
          if (run([input.subarray(0, i), input.subarray(i)]) !== whole) throw new Error(`split at ${i} differs`);
        }
      }),
      { numRuns: Math.ceil(FUZZ_RUNS / 10) },
    );
    expect(splits).toBeGreaterThan(FUZZ_RUNS);
  });
});
