// Arguments as byte ranges (docs/resp.md, "Arguments as ranges"): the RESP parser hands a whole
// request over as ranges of its chunk, and the counter commands run on them (`runRanged`). Held to
// one rule: whatever a session's state, a request run on ranges answers and changes exactly what
// the same request run on Buffers (`execute`) does: its reply, the keys, the session's bookkeeping
// (last command, last write version, MULTI), and what MONITOR sees.

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { ArgRanges } from '../../src/server/commands/arg-ranges.js';
import { commandNames, execute, lookupBytes, resolveCommandAt, runRanged } from '../../src/server/commands/table.js';
import { RespParser } from '../../src/server/resp/parser.js';
import { encodeReplyToBuffer } from '../../src/server/resp/encoder.js';
import { MAX_KEY_BYTES } from '../../src/keyspace/entries.js';
import type { Reply } from '../../src/server/commands/reply.js';
import type { ConsistencyServices, Session } from '../../src/server/commands/types.js';
import { stateOf } from '../../src/server/commands/state.js';
import { testNode, type TestNode } from './command-harness.js';

/** RESP multibulk bytes of a request. */
function request(words: readonly string[]): Buffer {
  const parts = [Buffer.from(`*${words.length}\r\n`)];
  for (const w of words) {
    const b = Buffer.from(w, 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

describe('ArgRanges', () => {
  it('holds any number of arguments, and lets a long request’s table go at the next', () => {
    const buf = Buffer.from('abcdefghij');
    const r = new ArgRanges();
    r.reset(buf);
    for (let i = 0; i < 200; i++) r.push(i % 10, (i % 10) + 1);
    expect(r.count).toBe(200);
    expect(r.buffers().map((b) => b.toString()).join('')).toBe('abcdefghij'.repeat(20));
    expect(r.arg(123).toString()).toBe('d');
    expect([r.start(199), r.end(199)]).toEqual([9, 10]);
    r.reset(buf);
    expect(r.count).toBe(0);
    expect(r.buffers()).toEqual([]);
    r.push(2, 5);
    expect(r.arg(0).toString()).toBe('cde');
  });
});

describe('RespParser.nextRanges', () => {
  it('gives the same arguments as next() for any stream, however it is split', () => {
    const word = fc.oneof(fc.constantFrom('INCR', 'get', 'k', '', '1'), fc.string({ maxLength: 20 }), fc.constant('x'.repeat(300)));
    fc.assert(
      fc.property(fc.array(fc.array(word, { minLength: 1, maxLength: 70 }), { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 600 }), { maxLength: 6 }), (reqs, cuts) => {
        const bytes = Buffer.concat(reqs.map(request));
        const chunks: Buffer[] = [];
        let at = 0;
        for (const c of cuts) {
          if (at + c >= bytes.length) break;
          chunks.push(bytes.subarray(at, at + c));
          at += c;
        }
        chunks.push(bytes.subarray(at));
        const plain = new RespParser();
        const ranged = new RespParser();
        const a: string[][] = [];
        const b: string[][] = [];
        let rangedOnes = 0;
        for (const chunk of chunks) {
          plain.push(chunk);
          ranged.push(chunk);
          for (let r = plain.next(); r !== null; r = plain.next()) a.push((r as Buffer[]).map((x) => x.toString('utf8')));
          for (let r = ranged.nextRanges(); r !== null; r = ranged.nextRanges()) {
            if (r instanceof ArgRanges) rangedOnes++;
            b.push((r instanceof ArgRanges ? r.buffers() : (r as Buffer[])).map((x) => x.toString('utf8')));
          }
        }
        expect(b).toEqual(a);
        expect(a).toEqual(reqs);
        // Unsplit, every request lay in one chunk and came as ranges.
        if (chunks.length === 1) expect(rangedOnes).toBe(reqs.length);
      }),
    );
  });

  it('a request split over two chunks comes as Buffers; a protocol error as before', () => {
    const p = new RespParser();
    const bytes = request(['INCR', 'k']);
    p.push(bytes.subarray(0, 9));
    expect(p.nextRanges()).toBeNull();
    p.push(bytes.subarray(9));
    const r = p.nextRanges();
    expect(Array.isArray(r)).toBe(true);
    p.push(Buffer.from('*1\r\nx'));
    expect(p.nextRanges()).toMatchObject({ kind: 'protocol-error', code: 'RESP_EXPECTED_DOLLAR' });
  });
});

/** A recorder of the consistency layer: every version read moves on (so a read more or fewer shows), and each wait is noted. */
function consistency(): ConsistencyServices & { waits: string[] } {
  let v = 0;
  const waits: string[] = [];
  return {
    waits,
    version: () => ++v,
    waitHolders: async (_v, needed) => (waits.push('holders'), { ok: true, count: needed, needed }),
    waitMajority: async (version) => (waits.push(`majority ${version}`), { ok: true, count: 2, needed: 2 }),
    majorityRead: async (keys) => (waits.push(`read ${keys.join(',')}`), { ok: true, count: 2, needed: 2 }),
  };
}

interface Side {
  readonly n: TestNode;
  readonly waits: string[];
  readonly s: Session;
  readonly monitor: string[];
  readonly over: { v: boolean };
}

function side(): Side {
  const c = consistency();
  const n = testNode({ consistency: c });
  const over = { v: false };
  n.ctx.overMaxmemory = () => over.v;
  return { n, waits: c.waits, s: n.session(), monitor: [], over };
}

const bytesOf = (s: Session, r: Reply): string => encodeReplyToBuffer(r, s.resp ?? 2).toString('latin1');

type Step =
  | { readonly op: 'cmd'; readonly words: readonly string[] }
  | { readonly op: 'auth'; readonly value: boolean }
  | { readonly op: 'perms'; readonly value: number | undefined }
  | { readonly op: 'levels'; readonly reads: 'local' | 'majority'; readonly writes: 'local' | 'majority' }
  | { readonly op: 'over'; readonly value: boolean }
  | { readonly op: 'monitor' };

const LONG_KEY = 'k'.repeat(MAX_KEY_BYTES + 1);
const names = ['incr', 'INCR', 'InCr', 'decr', 'DECR', 'incrby', 'INCRBY', 'decrby', 'DecrBy', 'get', 'GET', 'pfadd', 'PFADD', 'PfAdd', 'pfcount', 'PFCOUNT', 'PfCount', 'set', 'incrx', 'multi', 'exec', 'discard', 'select', 'del'];
const argWords = ['k', 'user:1', 'ü', '', 'h', LONG_KEY, 'x'.repeat(100), 'y'.repeat(300), '1', '-5', '0', '-0', '007', '+1', '9223372036854775807', '9223372036854775808', '-9223372036854775808', '9007199254740993', '12a', '-', '15', '16'];

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(fc.constantFrom(...names), fc.array(fc.constantFrom(...argWords), { maxLength: 5 })).map(([n, a]): Step => ({ op: 'cmd', words: [n, ...a] })) },
  { weight: 1, arbitrary: fc.boolean().map((value): Step => ({ op: 'auth', value })) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, 1, 3, 7).map((value): Step => ({ op: 'perms', value })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('local' as const, 'majority' as const), fc.constantFrom('local' as const, 'majority' as const)).map(([reads, writes]): Step => ({ op: 'levels', reads, writes })) },
  { weight: 1, arbitrary: fc.boolean().map((value): Step => ({ op: 'over', value })) },
  { weight: 1, arbitrary: fc.constant<Step>({ op: 'monitor' }) },
);

function apply(x: Side, step: Step): void {
  switch (step.op) {
    case 'auth':
      x.s.authenticated = step.value;
      break;
    case 'perms':
      if (step.value === undefined) delete x.s.perms;
      else x.s.perms = step.value;
      break;
    case 'levels':
      x.s.readConsistency = step.reads;
      x.s.writeConsistency = step.writes;
      break;
    case 'over':
      x.over.v = step.value;
      break;
    case 'monitor': {
      const m = x.n.session();
      m.push = (r) => x.monitor.push(bytesOf(m, r));
      expect(x.n.run(m, 'MONITOR')).toBe('+OK\r\n');
      break;
    }
    case 'cmd':
      break;
  }
}

/** What a node shows after the steps: every key's value in every database, and the session's bookkeeping. */
function observe(x: Side): unknown {
  const admin = x.n.session();
  const values: string[] = [];
  for (let db = 0; db < 16; db++) {
    x.n.run(admin, 'SELECT', String(db));
    for (const k of ['k', 'user:1', 'ü', '', 'h', LONG_KEY, '1', '15']) values.push(x.n.run(admin, 'GET', k));
  }
  const s = x.s;
  return { values, waits: x.waits, monitor: x.monitor, db: s.db, lastCommand: s.lastCommand, lastWriteVersion: s.lastWriteVersion, multi: s.multi === undefined ? null : { dirty: s.multi.dirty, queued: s.multi.queued.length } };
}

describe('runRanged', () => {
  it('the counter commands, GET, PFADD and PFCOUNT run on ranges', () => {
    const ranged = commandNames().filter((name) => lookupBytes(Buffer.from(name))?.runRanges !== undefined);
    expect(ranged.sort()).toEqual(['decr', 'decrby', 'get', 'incr', 'incrby', 'pfadd', 'pfcount']);
  });

  it('answers and changes exactly what execute does on Buffers, whatever the session’s state', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 40 }), async (steps) => {
        const a = side();
        const b = side();
        const parser = new RespParser({ maxBulkBytes: 4 * MAX_KEY_BYTES });
        for (const step of steps) {
          apply(a, step);
          apply(b, step);
          if (step.op !== 'cmd') continue;
          parser.push(request(step.words));
          const ranges = parser.nextRanges();
          expect(ranges).toBeInstanceOf(ArgRanges);
          const r = ranges as ArgRanges;
          const ra = await runRanged(a.n.ctx, a.s, resolveCommandAt(r.buf, r.start(0), r.end(0)), r);
          const rb = await execute(b.n.ctx, b.s, step.words.map((w) => Buffer.from(w, 'utf8')));
          expect(bytesOf(a.s, ra)).toBe(bytesOf(b.s, rb));
        }
        a.over.v = false;
        b.over.v = false;
        expect(observe(a)).toEqual(observe(b));
      }),
      { numRuns: 300 },
    );
  });

  // Every session state that decides between the plain path and runCommand, against every command
  // that runs on ranges (and their refusals), each request at an offset past MAX_KEY_BYTES in its
  // chunk: the random sequences above meet each pair only by chance.
  const sessionStates: readonly [string, (x: Side) => void][] = [
    ['plain', () => {}],
    ['unauthenticated', (x) => void (x.s.authenticated = false)],
    ['unauthenticated, with a role', (x) => ((x.s.authenticated = false), (x.s.perms = 7))],
    ['read-only role', (x) => void (x.s.perms = 1)],
    ['read-write role', (x) => void (x.s.perms = 3)],
    ['in MULTI', (x) => void x.n.run(x.s, 'MULTI')],
    ['majority reads', (x) => void (x.s.readConsistency = 'majority')],
    ['majority writes', (x) => void (x.s.writeConsistency = 'majority')],
    ['over maxmemory', (x) => void (x.over.v = true)],
    ['a MONITOR client', (x) => apply(x, { op: 'monitor' })],
    ['a busy script', (x) => void (stateOf(x.n.ctx).busy = { yielded: true } as unknown as ReturnType<typeof stateOf>['busy'])],
  ];
  const requests: readonly (readonly string[])[] = [
    ['INCR', 'k'],
    ['incrby', 'k', '5'],
    ['DECR', 'k'],
    ['decrby', 'k', '7'],
    ['INCRBY', 'k', 'x1'],
    ['INCR', 'h'],
    ['GET', 'k'],
    ['get', 'h'],
    ['PFADD', 'h', 'a', 'b'],
    ['pfadd', 'k', 'a'],
    ['PFADD', 'h'],
    ['INCR'],
    ['GET', 'k', 'x'],
    ['INCR', 'm'.repeat(MAX_KEY_BYTES)],
    ['PFADD', 'm'.repeat(MAX_KEY_BYTES), 'e'],
    ['INCR', LONG_KEY],
    ['PFADD', LONG_KEY, 'e'],
    ['PFCOUNT', 'h'],
    ['pfcount', 'k'],
    ['PFCOUNT', 'nothing'],
    ['PFCOUNT', 'h', 'nothing'],
    ['PFCOUNT', 'h', 'k'],
    ['PFCOUNT'],
    ['PFCOUNT', LONG_KEY],
  ];
  const filler = request(['ECHO', 'f'.repeat(MAX_KEY_BYTES + 10)]);
  for (const [stateName, enter] of sessionStates) {
    it(`runs each request as execute does: ${stateName}`, async () => {
      for (const words of requests) {
        const a = side();
        const b = side();
        for (const x of [a, b]) {
          x.n.run(x.s, 'INCRBY', 'k', '10');
          x.n.run(x.s, 'PFADD', 'h', 'z');
          enter(x);
        }
        const parser = new RespParser({ maxBulkBytes: 4 * MAX_KEY_BYTES });
        parser.push(Buffer.concat([filler, request(words)]));
        expect(parser.nextRanges()).toBeInstanceOf(ArgRanges); // the filler, not run
        const r = parser.nextRanges() as ArgRanges;
        expect(r.start(0)).toBeGreaterThan(MAX_KEY_BYTES);
        const ra = await runRanged(a.n.ctx, a.s, resolveCommandAt(r.buf, r.start(0), r.end(0)), r);
        const rb = await execute(b.n.ctx, b.s, words.map((w) => Buffer.from(w)));
        expect([words[0], bytesOf(a.s, ra)]).toEqual([words[0], bytesOf(b.s, rb)]);
        for (const x of [a, b]) {
          x.over.v = false;
          stateOf(x.n.ctx).busy = null;
        }
        expect(observe(a)).toEqual(observe(b));
      }
    });
  }

  it('times a command without the fast flag on ranges for the slow log, with copies of its arguments; a fast one, and the untimed form of PFCOUNT (one key), are not timed', () => {
    const a = side();
    a.n.run(a.s, 'PFADD', 'visitors', 'x', 'y');
    const parser = new RespParser();
    const clock = vi.spyOn(performance, 'now');
    try {
      clock.mockReturnValueOnce(500).mockReturnValueOnce(509.999);
      parser.push(request(['PFCOUNT', 'visitors', 'none']));
      let r = parser.nextRanges() as ArgRanges;
      expect(bytesOf(a.s, runRanged(a.n.ctx, a.s, resolveCommandAt(r.buf, r.start(0), r.end(0)), r) as Reply)).toBe(':2\r\n');
      expect(clock).toHaveBeenCalledTimes(2);
      expect(stateOf(a.n.ctx).slowlog.length).toBe(0);
      clock.mockReturnValueOnce(500).mockReturnValueOnce(510);
      parser.push(request(['pfcount', 'visitors', 'none']));
      r = parser.nextRanges() as ArgRanges;
      expect(bytesOf(a.s, runRanged(a.n.ctx, a.s, resolveCommandAt(r.buf, r.start(0), r.end(0)), r) as Reply)).toBe(':2\r\n');
      // The entry holds copies: the chunk written over afterwards leaves it as it was.
      r.buf.fill(0x21);
      const log = stateOf(a.n.ctx).slowlog.get(-1);
      expect(log.map((e) => [e.micros, e.args.map((x) => x.toString())])).toEqual([[10_000, ['pfcount', 'visitors', 'none']]]);
      clock.mockClear();
      for (const args of [['INCR', 'k'], ['PFCOUNT', 'visitors']]) {
        parser.push(request(args));
        r = parser.nextRanges() as ArgRanges;
        runRanged(a.n.ctx, a.s, resolveCommandAt(r.buf, r.start(0), r.end(0)), r);
      }
      expect(clock).not.toHaveBeenCalled();
      expect(a.s.lastCommand).toBe('pfcount');
    } finally {
      clock.mockRestore();
    }
  });

  it('runs INCR on ranges down the plain path: the key counts, the session notes it', () => {
    const a = side();
    const parser = new RespParser();
    parser.push(request(['incrby', 'user:7', '41']));
    parser.push(request(['INCR', 'user:7']));
    for (const want of [':41\r\n', ':42\r\n']) {
      const r = parser.nextRanges() as ArgRanges;
      expect(bytesOf(a.s, runRanged(a.n.ctx, a.s, resolveCommandAt(r.buf, r.start(0), r.end(0)), r) as Reply)).toBe(want);
    }
    expect(a.s.lastCommand).toBe('incr');
    expect(a.s.lastWriteVersion).toBe(2);
    expect(a.n.run(a.s, 'GET', 'user:7')).toBe('$2\r\n42\r\n');
    // A key of exactly MAX_KEY_BYTES is taken, one byte more is refused, on ranges as on Buffers.
    for (const [words, want] of [
      [['INCR', 'm'.repeat(MAX_KEY_BYTES)], ':1\r\n'],
      [['PFADD', 'p'.repeat(MAX_KEY_BYTES), 'x'], ':1\r\n'],
      [['INCR', LONG_KEY], `-ERR key is too long (tally accepts keys of at most ${MAX_KEY_BYTES} bytes)\r\n`],
    ] as const) {
      parser.push(request(words));
      const r = parser.nextRanges() as ArgRanges;
      expect(bytesOf(a.s, runRanged(a.n.ctx, a.s, resolveCommandAt(r.buf, r.start(0), r.end(0)), r) as Reply)).toBe(want);
    }
    expect(a.waits).toEqual([]);
  });

  it('PFADD on ranges adds elements of any size (past its 64 KiB scratch too) as PFADD on Buffers does', () => {
    const a = side();
    const b = side();
    const parser = new RespParser();
    const sizes = [0, 1, 31, 33, 256, 257, 5000, 64 * 1024, 64 * 1024 + 1, 200_000];
    for (const n of sizes) {
      const words = ['PFADD', 'visitors', 'v'.repeat(n), `e${n}`];
      parser.push(request(words));
      const r = parser.nextRanges() as ArgRanges;
      const ra = runRanged(a.n.ctx, a.s, resolveCommandAt(r.buf, r.start(0), r.end(0)), r) as Reply;
      const rb = execute(b.n.ctx, b.s, words.map((w) => Buffer.from(w))) as Reply;
      expect(bytesOf(a.s, ra)).toBe(bytesOf(b.s, rb));
    }
    // PFCOUNT notes the count in the HYLL header (Redis's cache), so both sides count before GET.
    expect(a.n.run(a.s, 'PFCOUNT', 'visitors')).toBe(`:${2 * sizes.length}\r\n`);
    expect(b.n.run(b.s, 'PFCOUNT', 'visitors')).toBe(`:${2 * sizes.length}\r\n`);
    expect(a.n.run(a.s, 'GET', 'visitors')).toBe(b.n.run(b.s, 'GET', 'visitors'));
  });
});
