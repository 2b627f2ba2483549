// The keyspace's counter and HyperLogLog commands (src/keyspace/keyspace.ts): INCRBY, SET, GET, DEL,
// PFADD, PFCOUNT, PFMERGE, SET of HYLL bytes and FLUSHDB, their errors, and which of them tell the
// change listeners (the version log, the store and WebSocket watches hear only real changes).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import type { ChangeOrigin } from '../../src/keyspace/types.js';
import * as errors from '../../src/errors.js';

const k = (s: string): string => fullKey(0, s);
const MAX = Number.MAX_SAFE_INTEGER;
const T0 = 1_700_000_000_000;

function watched(id = 'n1:1', options: { hllPrecision?: number } = {}): { ks: Keyspace; heard: [string, ChangeOrigin][] } {
  const ks = new Keyspace(id, { ...options, clock: { now: () => T0 } });
  const heard: [string, ChangeOrigin][] = [];
  ks.onChange((key, origin) => heard.push([key, origin]));
  return { ks, heard };
}

function failure(r: { ok: true } | { ok: false; error: { code: string; message: string } }): string {
  return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`;
}

function ship(from: Keyspace, to: Keyspace, key: string): void {
  const e = from.encodeKey(key);
  if (e === undefined) throw new Error(`no state for ${key}`);
  const r = to.mergeRemote(key, e.tag, e.bytes);
  if (!r.ok) throw new Error(r.error);
}

describe('INCRBY', () => {
  it('refuses an increment that is not a safe integer on a new key, creating nothing', () => {
    const { ks, heard } = watched();
    expect(failure(ks.incrBy(k('x'), 1.5))).toBe(`NOT_INTEGER: ${errors.NOT_INTEGER}`);
    expect(failure(ks.incrBy(k('x'), MAX + 1))).toBe(`NOT_INTEGER: ${errors.NOT_INTEGER}`);
    expect(ks.size).toBe(0);
    expect(heard).toEqual([]);
    expect(ks.incrBy(k('x'), MAX)).toEqual({ ok: true, value: MAX });
    expect(ks.incrBy(k('x'), -MAX)).toEqual({ ok: true, value: 0 });
  });

  it('refuses an overflow with OVERFLOW, leaving the value and telling nobody', () => {
    const { ks, heard } = watched();
    ks.incrBy(k('x'), MAX);
    heard.length = 0;
    expect(failure(ks.incrBy(k('x'), 1))).toBe(`OVERFLOW: ${errors.OVERFLOW}`);
    expect(ks.getCounter(k('x'))).toEqual({ ok: true, value: MAX });
    expect(heard).toEqual([]);
    // Of a G-Counter too.
    ks.incrBy(k('g'), MAX, 'gcounter');
    expect(failure(ks.incrBy(k('g'), 1))).toBe(`OVERFLOW: ${errors.OVERFLOW}`);
    // A decrement of a G-Counter is its own error, and a G-Counter may be incremented by 0.
    expect(failure(ks.incrBy(k('g'), -1))).toBe(`GCOUNTER_DECREMENT: ${errors.GCOUNTER_DECREMENT}`);
    expect(failure(ks.incrBy(k('new-g'), -1, 'gcounter'))).toBe(`GCOUNTER_DECREMENT: ${errors.GCOUNTER_DECREMENT}`);
    expect(ks.incrBy(k('new-g'), 0, 'gcounter')).toEqual({ ok: true, value: 0 });
    expect(ks.typeOf(k('new-g'))).toBeUndefined(); // a G-Counter at 0 does not exist
  });

  it('tells the listeners of every increment, once', () => {
    const { ks, heard } = watched();
    ks.incrBy(k('x'), 1);
    ks.incrBy(k('x'), 2);
    ks.incrBy(k('y'), 1, 'gcounter');
    expect(heard).toEqual([
      [k('x'), 'local'],
      [k('x'), 'local'],
      [k('y'), 'local'],
    ]);
  });

  it('INCRBY 0 brings a deleted PN-Counter back at 0', () => {
    const { ks } = watched();
    ks.incrBy(k('x'), 5);
    ks.del(k('x'));
    expect(ks.incrBy(k('x'), 0)).toEqual({ ok: true, value: 0 });
    expect(ks.exists(k('x'))).toBe(true);
  });

  it('answers WRONGTYPE on a live key of another type, and retypes a deleted one as createAs', () => {
    const { ks, heard } = watched();
    ks.pfadd(k('h'), ['x']);
    heard.length = 0;
    expect(failure(ks.incrBy(k('h'), 1))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    expect(failure(ks.setCounter(k('h'), 1))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    expect(failure(ks.getCounter(k('h')))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    expect(heard).toEqual([]);
    ks.del(k('h'));
    const asked: string[] = [];
    expect(
      ks.incrBy(k('h'), 4, (key) => {
        asked.push(key);
        return 'gcounter';
      }),
    ).toEqual({ ok: true, value: 4 });
    expect(asked).toEqual([k('h')]);
    expect(ks.typeOf(k('h'))).toBe('gcounter');
    expect(ks.entry(k('h'))?.others?.[0]?.type).toBe('hll'); // the deleted HLL stays beside it
  });

  it('a deleted key that was a counter and another type takes its counter state back', () => {
    const { ks } = watched();
    ks.incrBy(k('x'), 3, 'gcounter');
    ks.del(k('x'));
    ks.pfadd(k('x'), ['a']);
    ks.del(k('x'));
    expect(ks.entry(k('x'))?.type).toBe('hll');
    // Its G-Counter is reused even if asked for a PN-Counter: one counter state per key.
    expect(ks.incrBy(k('x'), 2, 'pncounter')).toEqual({ ok: true, value: 2 });
    expect(ks.typeOf(k('x'))).toBe('gcounter');
    expect(ks.entry(k('x'))?.others?.map((s) => s.type)).toEqual(['hll']);
  });
});

describe('SET on a counter', () => {
  it('sets a PN-Counter, and refuses a value that is not an integer or would overflow its slot', () => {
    const { ks, heard } = watched();
    expect(ks.setCounter(k('x'), -4)).toEqual({ ok: true, value: -4 });
    expect(ks.setCounter(k('x'), 9)).toEqual({ ok: true, value: 9 });
    heard.length = 0;
    expect(failure(ks.setCounter(k('x'), 0.5))).toBe(`NOT_INTEGER: ${errors.NOT_INTEGER}`);
    ks.incrBy(k('m'), MAX);
    heard.length = 0;
    expect(failure(ks.setCounter(k('m'), 1))).toBe(`OVERFLOW: ${errors.OVERFLOW}`);
    expect(ks.getCounter(k('m'))).toEqual({ ok: true, value: MAX });
    expect(heard).toEqual([]);
  });

  it('sets a G-Counter by a reset and an increment; refuses a negative value and an overflow', () => {
    const { ks, heard } = watched();
    ks.incrBy(k('g'), 10, 'gcounter');
    expect(ks.setCounter(k('g'), 3)).toEqual({ ok: true, value: 3 });
    expect(ks.typeOf(k('g'))).toBe('gcounter');
    heard.length = 0;
    expect(failure(ks.setCounter(k('g'), -1))).toBe(`GCOUNTER_DECREMENT: ${errors.GCOUNTER_DECREMENT}`);
    expect(ks.getCounter(k('g'))).toEqual({ ok: true, value: 3 });
    ks.incrBy(k('big'), MAX, 'gcounter');
    heard.length = 0;
    expect(failure(ks.setCounter(k('big'), 1))).toBe(`OVERFLOW: ${errors.OVERFLOW}`);
    expect(ks.getCounter(k('big'))).toEqual({ ok: true, value: MAX });
    expect(heard).toEqual([]);
    // The reset reaches another replica: its increments seen before the SET are gone there too.
    const a = watched('a:1').ks;
    const b = watched('b:1').ks;
    b.incrBy(k('g'), 5, 'gcounter');
    ship(b, a, k('g'));
    expect(a.setCounter(k('g'), 2)).toEqual({ ok: true, value: 2 });
    ship(a, b, k('g'));
    expect(b.getCounter(k('g'))).toEqual({ ok: true, value: 2 });
  });

  it('retypes a deleted key of another type only when the SET succeeds', () => {
    const { ks, heard } = watched();
    ks.pfadd(k('h'), ['x']);
    ks.del(k('h'));
    heard.length = 0;
    expect(failure(ks.setCounter(k('h'), 0.5))).toBe(`NOT_INTEGER: ${errors.NOT_INTEGER}`);
    expect(ks.entry(k('h'))?.type).toBe('hll');
    expect(heard).toEqual([]);
    expect(ks.setCounter(k('h'), 6)).toEqual({ ok: true, value: 6 });
    expect(ks.typeOf(k('h'))).toBe('pncounter');
    expect(heard).toEqual([[k('h'), 'local']]);
    // The retyped entry is the one stored: later writes add to it.
    expect(ks.incrBy(k('h'), 1)).toEqual({ ok: true, value: 7 });
    ks.del(k('h'));
    expect(ks.setCounter(k('h'), 2, 'gcounter')).toEqual({ ok: true, value: 2 });
    expect(ks.typeOf(k('h'))).toBe('pncounter'); // its counter state is reused
  });

  it('SET on a G-Counter retyped from a deleted key stores it', () => {
    const { ks } = watched();
    ks.pfadd(k('h'), ['x']);
    ks.del(k('h'));
    expect(ks.setCounter(k('h'), 4, 'gcounter')).toEqual({ ok: true, value: 4 });
    expect(ks.typeOf(k('h'))).toBe('gcounter');
    expect(ks.incrBy(k('h'), 1)).toEqual({ ok: true, value: 5 });
  });
});

describe('GET and DEL', () => {
  it('GET answers null for a missing or deleted key', () => {
    const { ks } = watched();
    expect(ks.getCounter(k('x'))).toEqual({ ok: true, value: null });
    ks.incrBy(k('x'), 2);
    expect(ks.getCounter(k('x'))).toEqual({ ok: true, value: 2 });
    ks.del(k('x'));
    expect(ks.getCounter(k('x'))).toEqual({ ok: true, value: null });
    // A deleted HLL reads as a missing counter, not WRONGTYPE.
    ks.pfadd(k('h'), ['x']);
    ks.del(k('h'));
    expect(ks.getCounter(k('h'))).toEqual({ ok: true, value: null });
  });

  it('DEL answers whether the key existed and tells the listeners only then', () => {
    const { ks, heard } = watched();
    expect(ks.del(k('x'))).toBe(false);
    ks.incrBy(k('x'), 1);
    heard.length = 0;
    expect(ks.del(k('x'))).toBe(true);
    expect(ks.del(k('x'))).toBe(false);
    expect(heard).toEqual([[k('x'), 'local']]);
  });

  it('DEL clears the TTL and the key leaves the sweep', () => {
    const clock = { t: T0 };
    const ks = new Keyspace('n1:1', { clock: { now: () => clock.t } });
    ks.incrBy(k('x'), 1);
    ks.expire(k('x'), T0 + 1000);
    ks.del(k('x'));
    expect(ks.entry(k('x'))?.life?.deadline ?? null).toBeNull();
    const expiring = (ks as unknown as { expiring: { size: number } }).expiring;
    expect(expiring.size).toBe(0);
  });
});

describe('PFADD, PFCOUNT, PFMERGE', () => {
  it('PFADD answers whether a register changed, and tells the listeners only then', () => {
    const { ks, heard } = watched();
    expect(ks.pfadd(k('h'), ['a', 'b'])).toEqual({ ok: true, value: true });
    expect(ks.pfadd(k('h'), ['a'])).toEqual({ ok: true, value: false });
    expect(ks.pfadd(k('h'), [])).toEqual({ ok: true, value: false });
    expect(heard).toEqual([[k('h'), 'local']]);
    // PFADD of nothing to a missing or deleted HLL answers 1, as Redis, though an HLL of no
    // registers does not exist here; adding to a deleted HLL brings it back.
    expect(ks.pfadd(k('e'), [])).toEqual({ ok: true, value: true });
    expect(ks.exists(k('e'))).toBe(false);
    ks.del(k('h'));
    heard.length = 0;
    expect(ks.pfadd(k('h'), [])).toEqual({ ok: true, value: true });
    expect(heard).toEqual([[k('h'), 'local']]);
    expect(ks.pfadd(k('h'), ['q'])).toEqual({ ok: true, value: true });
    expect(ks.pfcount([k('h')])).toEqual({ ok: true, value: 1 });
    ks.incrBy(k('c'), 1);
    expect(failure(ks.pfadd(k('c'), ['a']))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
  });

  it('creates HLLs of the configured precision', () => {
    const { ks } = watched('n1:1', { hllPrecision: 10 });
    ks.pfadd(k('h'), ['a']);
    const e = ks.entry(k('h'));
    expect(e?.type === 'hll' && e.crdt.p).toBe(10);
    ks.pfmerge(k('m'), [k('h')]);
    const m = ks.entry(k('m'));
    expect(m?.type === 'hll' && m.crdt.p).toBe(10);
  });

  it('PFCOUNT counts the union, skips missing and deleted keys, and refuses another type', () => {
    const { ks } = watched();
    expect(ks.pfcount([k('none')])).toEqual({ ok: true, value: 0 });
    expect(ks.pfcount([])).toEqual({ ok: true, value: 0 });
    ks.pfadd(k('a'), ['x', 'y']);
    ks.pfadd(k('b'), ['y', 'z', 'w']);
    expect(ks.pfcount([k('a')])).toEqual({ ok: true, value: 2 });
    expect(ks.pfcount([k('a'), k('b'), k('none')])).toEqual({ ok: true, value: 4 });
    expect(ks.pfcount([k('none'), k('b')])).toEqual({ ok: true, value: 3 });
    // The union is of copies: the first key is not changed by it.
    expect(ks.pfcount([k('a')])).toEqual({ ok: true, value: 2 });
    ks.incrBy(k('c'), 1);
    expect(failure(ks.pfcount([k('a'), k('c')]))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    ks.del(k('c'));
    expect(ks.pfcount([k('a'), k('c')])).toEqual({ ok: true, value: 2 });
  });

  it('PFMERGE makes dest the union of itself and its sources, and refuses another type', () => {
    const { ks, heard } = watched();
    ks.pfadd(k('a'), ['x']);
    ks.pfadd(k('d'), ['y']);
    heard.length = 0;
    expect(ks.pfmerge(k('d'), [k('a'), k('d')])).toEqual({ ok: true, value: true });
    expect(heard).toEqual([[k('d'), 'local']]);
    expect(ks.pfcount([k('d')])).toEqual({ ok: true, value: 2 });
    expect(ks.pfcount([k('a')])).toEqual({ ok: true, value: 1 });
    ks.incrBy(k('c'), 1);
    heard.length = 0;
    expect(failure(ks.pfmerge(k('d'), [k('c')]))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    expect(failure(ks.pfmerge(k('c'), [k('a')]))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    expect(heard).toEqual([]);
    // A new dest of no sources holds an empty HLL (which does not exist, as PFADD of nothing).
    expect(ks.pfmerge(k('n'), [])).toEqual({ ok: true, value: true });
    expect(ks.entry(k('n'))?.type).toBe('hll');
    expect(ks.exists(k('n'))).toBe(false);
  });
});

describe('SET of HYLL bytes', () => {
  const hll = (items: string[], p = HyperLogLog.DEFAULT_PRECISION): HyperLogLog => {
    const h = HyperLogLog.create(p);
    for (const i of items) h.add(i);
    return h;
  };

  it('creates or replaces an HLL, clears the TTL unless KEEPTTL, and answers whether the key exists', () => {
    const { ks, heard } = watched();
    expect(ks.setHll(k('h'), hll(['a', 'b']))).toEqual({ ok: true, value: true });
    expect(heard).toEqual([[k('h'), 'local']]);
    expect(ks.pfcount([k('h')])).toEqual({ ok: true, value: 2 });
    expect(ks.setHll(k('h'), hll(['c']))).toEqual({ ok: true, value: true });
    expect(ks.pfcount([k('h')])).toEqual({ ok: true, value: 1 });
    ks.expire(k('h'), T0 + 1000);
    ks.setHll(k('h'), hll(['d']), true);
    expect(ks.deadlineOf(k('h'))).toBe(T0 + 1000);
    ks.setHll(k('h'), hll(['d']));
    expect(ks.deadlineOf(k('h'))).toBeNull();
    // An HLL of no registers leaves no key.
    expect(ks.setHll(k('h'), hll([]))).toEqual({ ok: true, value: false });
    expect(ks.exists(k('h'))).toBe(false);
  });

  it('refuses another precision and another type', () => {
    const { ks, heard } = watched();
    expect(failure(ks.setHll(k('h'), hll(['a'], 10)))).toBe(`INVALID: ${errors.hllPrecisionMismatch(10, HyperLogLog.DEFAULT_PRECISION)}`);
    ks.incrBy(k('c'), 1);
    heard.length = 0;
    expect(failure(ks.setHll(k('c'), hll(['a'])))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    expect(heard).toEqual([]);
    expect(ks.exists(k('h'))).toBe(false);
  });
});

describe('FLUSHDB and FLUSHALL', () => {
  it('deletes the live keys of one database, or of all, and answers how many', () => {
    const { ks } = watched();
    ks.incrBy(fullKey(0, 'a'), 1);
    ks.pfadd(fullKey(0, 'b'), ['x']);
    ks.incrBy(fullKey(0, 'gone'), 1);
    ks.del(fullKey(0, 'gone'));
    ks.incrBy(fullKey(2, 'a'), 1);
    expect(ks.flush(0)).toBe(2);
    expect(ks.exists(fullKey(0, 'a'))).toBe(false);
    expect(ks.exists(fullKey(2, 'a'))).toBe(true);
    expect(ks.flush(0)).toBe(0);
    ks.incrBy(fullKey(5, 'z'), 1);
    expect(ks.flush()).toBe(2);
    expect(ks.countByDb().every((n) => n === 0)).toBe(true);
  });
});

describe('counters and HLLs over deleted keys of another type', () => {
  it('a deleted HLL becomes a counter for INCRBY 0 or a decrement, as createAs allows', () => {
    const { ks } = watched();
    for (const name of ['g0', 'pn']) {
      ks.pfadd(k(name), ['x']);
      ks.del(k(name));
    }
    expect(ks.incrBy(k('g0'), 0, 'gcounter')).toEqual({ ok: true, value: 0 });
    expect(ks.entry(k('g0'))?.type).toBe('gcounter');
    expect(ks.incrBy(k('pn'), -3)).toEqual({ ok: true, value: -3 });
    expect(ks.typeOf(k('pn'))).toBe('pncounter');
    expect(ks.incrBy(k('new'), -3)).toEqual({ ok: true, value: -3 });
  });

  it("PFADD to a key whose deleted HLL sits behind another deleted type reuses that HLL's generation", () => {
    const a = watched('a:1').ks;
    const b = watched('b:1').ks;
    a.pfadd(k('h'), ['x']);
    a.del(k('h'));
    a.windowCreate(k('h'), 1, 60);
    a.del(k('h'));
    expect(a.entry(k('h'))?.type).toBe('window');
    ship(a, b, k('h'));
    expect(a.pfadd(k('h'), ['y'])).toEqual({ ok: true, value: true });
    expect(a.entry(k('h'))?.others?.map((s) => s.type)).toEqual(['window']);
    ship(a, b, k('h'));
    // b held the deleted HLL: the new one is of a later generation, so its add shows there.
    expect(b.pfcount([k('h')])).toEqual({ ok: true, value: 1 });
    expect(b.encodeKey(k('h'))).toEqual(a.encodeKey(k('h')));
  });

  it('a write to an expired key keeps no husk beside its new type', () => {
    const clock = { t: T0 };
    const ks = new Keyspace('n1:1', { clock: { now: () => clock.t } });
    ks.incrBy(k('x'), 1);
    ks.expire(k('x'), T0 + 10);
    clock.t = T0 + 10;
    expect(ks.pfadd(k('x'), ['a'])).toEqual({ ok: true, value: true });
    expect(ks.entry(k('x'))?.others).toBeUndefined();
  });
});

describe('key length', () => {
  it('a key at the limit is created by every type; one past it by none', () => {
    const ks = new Keyspace('n1:1', { maxMessageBytes: 4096 });
    const at = fullKey(0, 'h'.repeat(ks.maxKeyBytes));
    const past = fullKey(0, 'h'.repeat(ks.maxKeyBytes + 1));
    expect(ks.pfadd(at, ['a'])).toEqual({ ok: true, value: true });
    expect(failure(ks.pfadd(past, ['a']))).toBe(`INVALID: ${errors.keyTooLong(ks.maxKeyBytes)}`);
    expect(failure(ks.cmsInit(past, 10, 2))).toBe(`INVALID: ${errors.keyTooLong(ks.maxKeyBytes)}`);
  });

  it('a key too long to create here is still written once it exists (merged from a peer), even after it expired', () => {
    const clock = { t: T0 };
    const big = new Keyspace('big:1', { clock: { now: () => clock.t } });
    const small = new Keyspace('small:1', { maxMessageBytes: 4096, clock: { now: () => clock.t } });
    const long = fullKey(0, 'k'.repeat(small.maxKeyBytes + 10));
    const hl = fullKey(0, 'h'.repeat(small.maxKeyBytes + 10));
    big.incrBy(long, 1);
    big.expire(long, T0 + 10);
    big.pfadd(hl, ['a']);
    ship(big, small, long);
    ship(big, small, hl);
    expect(small.pfadd(hl, ['b'])).toEqual({ ok: true, value: true });
    expect(small.incrBy(long, 1)).toEqual({ ok: true, value: 2 });
    clock.t = T0 + 10;
    expect(small.exists(long)).toBe(false);
    expect(small.incrBy(long, 3)).toEqual({ ok: true, value: 3 });
  });
});


describe('INCRBY and PFADD on a key given as bytes in place (incrByAt, pfaddEachAt: the RESP path)', () => {
  it('do what incrBy and pfaddEach of the key string do, under any mix of writes, deletes, retypes, expiries and merges', () => {
    // Two keyspaces fed the same operations, one through incrByAt and one through incrBy: every
    // result, every change heard, and each key's encoded state must match.
    const keyBytes = fc.constantFrom(Buffer.from('a'), Buffer.from('b\u00e9', 'latin1'), Buffer.from([0, 255, 13, 10]), Buffer.alloc(0), Buffer.from('g:1'), Buffer.from('g:2'));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('incr' as const), db: fc.integer({ min: 0, max: 2 }), key: keyBytes, n: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(MAX, -MAX, 0.5)) }),
      fc.record({ kind: fc.constant('del' as const), db: fc.integer({ min: 0, max: 2 }), key: keyBytes }),
      fc.record({ kind: fc.constant('pfadd' as const), db: fc.integer({ min: 0, max: 2 }), key: keyBytes }),
      fc.record({ kind: fc.constant('expire' as const), db: fc.integer({ min: 0, max: 2 }), key: keyBytes, ms: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('remote' as const), db: fc.integer({ min: 0, max: 2 }), key: keyBytes, n: fc.integer({ min: 1, max: 5 }) }),
    );
    // `g:*` keys are created as G-Counters, so decrements of them fail.
    const createAs = (key: string): 'pncounter' | 'gcounter' => (key.slice(1).startsWith('g:') ? 'gcounter' : 'pncounter');
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60, size: 'max' }), (ops) => {
        const clock = { t: T0 };
        const sides = [0, 1].map(() => {
          const ks = new Keyspace('n1:1', { clock: { now: () => clock.t } });
          const heard: [string, ChangeOrigin][] = [];
          ks.onChange((key, origin) => heard.push([key, origin]));
          return { ks, heard };
        }) as [{ ks: Keyspace; heard: [string, ChangeOrigin][] }, { ks: Keyspace; heard: [string, ChangeOrigin][] }];
        const other = new Keyspace('n2:1', { clock: { now: () => clock.t } });
        const touched = new Set<string>();
        for (const o of ops) {
          if (o.kind === 'tick') {
            clock.t += o.ms;
            continue;
          }
          const key = fullKey(o.db, o.key);
          touched.add(key);
          if (o.kind === 'incr') {
            // The bytes sit inside a larger buffer, as a RESP argument does in its chunk.
            const buf = Buffer.concat([Buffer.from('$1\r\n'), o.key, Buffer.from('\r\n')]);
            const viaBytes = sides[0].ks.incrByAt(o.db, buf, 4, 4 + o.key.length, o.n, createAs);
            const viaString = sides[1].ks.incrBy(key, o.n, createAs);
            expect(viaBytes).toEqual(viaString);
          } else if (o.kind === 'pfadd') {
            const buf = Buffer.concat([Buffer.from('$1\r\n'), o.key, Buffer.from('\r\n')]);
            const add = (h: HyperLogLog): boolean => h.add('x');
            const viaBytes = sides[0].ks.pfaddEachAt(o.db, buf, 4, 4 + o.key.length, 1, add);
            expect(viaBytes).toEqual(sides[1].ks.pfaddEach(key, 1, add));
          } else {
            if (o.kind === 'remote') {
              other.del(key);
              other.incrBy(key, o.n, createAs);
            }
            const remote = o.kind === 'remote' ? other.encodeKey(key) : undefined;
            for (const { ks } of sides) {
              if (o.kind === 'del') ks.del(key);
              else if (o.kind === 'expire') ks.expire(key, clock.t + o.ms);
              else if (remote !== undefined) ks.mergeRemote(key, remote.tag, remote.bytes);
            }
          }
        }
        // The key by its bytes is the key's string, held or not.
        for (const key of touched) {
          const bytes = Buffer.from(key.slice(1), 'latin1');
          expect(sides[0].ks.keyAt(key.charCodeAt(0), bytes, 0, bytes.length)).toBe(key);
        }
        expect(sides[0].heard).toEqual(sides[1].heard);
        for (const key of touched) expect(sides[0].ks.encodeKey(key)).toEqual(sides[1].ks.encodeKey(key));
      }),
      { numRuns: 300 },
    );
  });
});
