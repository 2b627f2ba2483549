// The keyspace's type rules: a live key's type is fixed; a deleted key has no type (its tombstone
// still replicates, beside the states of any other type); a merge never discards a state for a type
// mismatch; and every type error is a WRONGTYPE result, never an exception.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Keyspace, MAX_KEY_BYTES, fullKey, maxKeyBytesFor } from '../../src/keyspace/keyspace.js';

const k = (s: string): string => fullKey(0, s);

/** Ships every state of `key` from `a` to `b` through the wire codec. */
function ship(a: Keyspace, b: Keyspace, key: string): void {
  const e = a.encodeKey(key);
  if (e === undefined) throw new Error('no state');
  const r = b.mergeRemote(key, e.tag, e.bytes);
  if (!r.ok) throw new Error(r.error);
}

describe('keyspace type rules', () => {
  it('a deleted key takes any type again, as in Redis (INCR d; DEL d; PFADD d x)', () => {
    const ks = new Keyspace('n1:1');
    expect(ks.incrBy(k('d'), 1).ok).toBe(true);
    expect(ks.del(k('d'))).toBe(true);
    expect(ks.pfadd(k('d'), ['x'])).toEqual({ ok: true, value: true });
    expect(ks.typeOf(k('d'))).toBe('hll');
    // PFMERGE into a deleted counter, and back to a counter after deleting the HLL.
    ks.incrBy(k('c'), 1);
    ks.del(k('c'));
    ks.pfadd(k('s'), ['a']);
    expect(ks.pfmerge(k('c'), [k('s')]).ok).toBe(true);
    expect(ks.pfcount([k('c')])).toEqual({ ok: true, value: 1 });
    ks.del(k('c'));
    expect(ks.incrBy(k('c'), 5)).toEqual({ ok: true, value: 5 });
    // A live key of another type still answers WRONGTYPE.
    const r = ks.pfadd(k('c'), ['x']);
    expect(r.ok ? 'ok' : r.error.code).toBe('WRONGTYPE');
    // Sketches and windows too.
    ks.del(k('c'));
    expect(ks.cmsInit(k('c'), 10, 2).ok).toBe(true);
    ks.del(k('c'));
    expect(ks.windowCreate(k('c'), 1, 60).ok).toBe(true);
  });

  it('a tombstone of one type never erases a live key of another (repro r5): 50 acknowledged increments survive', () => {
    const a = new Keyspace('A:1');
    const b = new Keyspace('B:1');
    a.pfadd(k('k'), ['x']);
    a.del(k('k'));
    for (let i = 0; i < 5; i++) b.incrBy(k('k'), 10);
    ship(a, b, k('k'));
    ship(b, a, k('k'));
    for (const ks of [a, b]) {
      expect(ks.getCounter(k('k'))).toEqual({ ok: true, value: 50 });
      expect(ks.typeOf(k('k'))).toBe('pncounter');
      expect(ks.encodeKey(k('k'))).toEqual(a.encodeKey(k('k')));
    }
    expect(b.incrBy(k('k'), 1)).toEqual({ ok: true, value: 51 });
    expect(a.typeConflicts + b.typeConflicts).toBe(0); // one side was deleted: no conflict
  });

  it('a concurrent creation as two types keeps both, shows the higher tag everywhere, and DEL removes both', () => {
    const a = new Keyspace('A:1');
    const b = new Keyspace('B:1');
    const conflicts: string[][] = [];
    a.onTypeConflict((_key, types) => conflicts.push(types));
    a.incrBy(k('k'), 7);
    b.pfadd(k('k'), ['x', 'y']);
    ship(b, a, k('k'));
    ship(a, b, k('k'));
    for (const ks of [a, b]) {
      expect(ks.typeOf(k('k'))).toBe('hll');
      expect(ks.pfcount([k('k')])).toEqual({ ok: true, value: 2 });
      const g = ks.getCounter(k('k'));
      expect(g.ok ? 'ok' : g.error.code).toBe('WRONGTYPE');
    }
    expect(a.encodeKey(k('k'))).toEqual(b.encodeKey(k('k')));
    expect(a.typeConflicts).toBe(1);
    expect(conflicts).toEqual([['hll', 'pncounter']]);
    // The counter's increments are kept, not discarded: deleting the HLL alone would show them, and
    // a DEL that observed both removes both.
    expect(b.del(k('k'))).toBe(true);
    expect(b.exists(k('k'))).toBe(false);
    ship(b, a, k('k'));
    expect(a.exists(k('k'))).toBe(false);
    expect(a.incrBy(k('k'), 1)).toEqual({ ok: true, value: 1 });
  });

  it('a key holding several types round-trips through its encoding, and junk multi-state bytes are refused', () => {
    const a = new Keyspace('A:1');
    a.incrBy(k('k'), 3);
    a.del(k('k'));
    a.pfadd(k('k'), ['x']);
    const e = a.encodeKey(k('k'));
    if (e === undefined) throw new Error('no state');
    expect(e.tag).toBe(0);
    const b = new Keyspace('B:1');
    expect(b.mergeRemote(k('k'), e.tag, e.bytes).ok).toBe(true);
    expect(b.encodeKey(k('k'))).toEqual(e);
    expect(b.mergeRemote(k('j'), 0, e.bytes.subarray(0, e.bytes.length - 1)).ok).toBe(false);
    expect(b.mergeRemote(k('j'), 0, Uint8Array.from([1, 0, 1, 2, 0])).ok).toBe(false); // one state is not a multi-state
    expect(b.exists(k('j'))).toBe(false);
  });

  it('PFMERGE skips deleted sources of another type and merges live HLLs', () => {
    const ks = new Keyspace('n1:1');
    ks.incrBy(k('gone'), 5);
    ks.del(k('gone'));
    ks.pfadd(k('a'), ['x', 'y']);
    ks.pfadd(k('b'), ['y', 'z']);
    expect(ks.pfmerge(k('u'), [k('a'), k('b'), k('gone')]).ok).toBe(true);
    const n = ks.pfcount([k('u')]);
    expect(n.ok && n.value).toBe(3);
  });

  it('a G-Counter refuses to go down but can be reset by DEL and SET', () => {
    const ks = new Keyspace('n1:1');
    expect(ks.incrBy(k('views:a'), 10, 'gcounter').ok).toBe(true);
    const down = ks.incrBy(k('views:a'), -1);
    expect(down.ok ? 'ok' : down.error.message).toMatch(/^ERR G-Counter keys only grow/);
    const set = ks.setCounter(k('views:a'), 3);
    expect(set.ok && set.value).toBe(3);
  });
});

describe('fullKey', () => {
  it('is the db char then the key bytes as latin1, for Buffers, views and strings of every length', () => {
    const lengths = [0, 1, 31, 32, 33, 255, 256, 257, 1000, 70_000];
    let seed = 7;
    const byte = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (const n of lengths) {
      for (const db of [0, 5, 15]) {
        const bytes = Buffer.from(Array.from({ length: n }, byte));
        const want = String.fromCharCode(db) + bytes.toString('latin1');
        expect(fullKey(db, bytes)).toBe(want);
        // A view into a larger buffer, and a bare Uint8Array: only the viewed bytes count.
        const big = Buffer.concat([Buffer.from([1, 2, 3]), bytes, Buffer.from([4, 5])]);
        expect(fullKey(db, big.subarray(3, 3 + n))).toBe(want);
        expect(fullKey(db, new Uint8Array(big.buffer, big.byteOffset + 3, n))).toBe(want);
      }
    }
    // A long key after a short one does not leak the short one's bytes, and vice versa.
    expect(fullKey(1, Buffer.from('ab'))).toBe('\u0001ab');
    expect(fullKey(0, Buffer.from('héllo'))).toBe('\u0000' + Buffer.from('héllo').toString('latin1'));
    expect(fullKey(0, 'héllo')).toBe(fullKey(0, Buffer.from('héllo')));
  });
});

describe('counter creation rule', () => {
  it('is asked once, when the key is created, and decides its type', () => {
    const ks = new Keyspace('n1:1');
    const asked: string[] = [];
    const rule = (key: string): 'gcounter' | 'pncounter' => {
      asked.push(key);
      return key.slice(1).startsWith('views:') ? 'gcounter' : 'pncounter';
    };
    for (let i = 0; i < 3; i++) expect(ks.incrBy(k('views:a'), 1, rule).ok).toBe(true);
    expect(ks.incrBy(k('other'), 1, rule).ok).toBe(true);
    expect(ks.setCounter(k('other'), 5, rule).ok).toBe(true);
    expect(asked).toEqual([k('views:a'), k('other')]);
    const down = ks.incrBy(k('views:a'), -1, rule);
    expect(down.ok ? 'ok' : down.error.message).toMatch(/^ERR G-Counter keys only grow/);
    expect(ks.incrBy(k('other'), -1, rule).ok).toBe(true);
    // A rejected creation (a decrement of a new G-Counter key) creates nothing.
    const neg = ks.incrBy(k('views:new'), -1, rule);
    expect(neg.ok).toBe(false);
    expect(ks.exists(k('views:new'))).toBe(false);
  });
});

describe('a counter at zero exists, as in Redis', () => {
  it('SET k 0 and INCRBY k 0 leave a PN-Counter key holding 0; DEL removes it; a G-Counter cannot', () => {
    const ks = new Keyspace('n1:1');
    expect(ks.setCounter(k('a'), 0).ok).toBe(true);
    expect(ks.exists(k('a'))).toBe(true);
    const a = ks.getCounter(k('a'));
    expect(a.ok && a.value).toBe(0);
    expect(ks.incrBy(k('b'), 0).ok).toBe(true);
    expect(ks.exists(k('b'))).toBe(true);
    // After DEL, SET 0 brings the key back, at 0.
    ks.incrBy(k('c'), 5);
    expect(ks.del(k('c'))).toBe(true);
    expect(ks.exists(k('c'))).toBe(false);
    ks.setCounter(k('c'), 0);
    expect(ks.exists(k('c'))).toBe(true);
    expect(ks.del(k('c'))).toBe(true);
    expect(ks.getCounter(k('c'))).toEqual({ ok: true, value: null });
    // A G-Counter only grows: set to 0 is a reset to a 0 that does not exist (documented).
    ks.incrBy(k('views:x'), 3, 'gcounter');
    expect(ks.setCounter(k('views:x'), 0).ok).toBe(true);
    expect(ks.exists(k('views:x'))).toBe(false);
  });

  it('the zero reaches another replica by merge', () => {
    const a = new Keyspace('a:1');
    const b = new Keyspace('b:1');
    a.setCounter(k('z'), 0);
    const enc = a.encodeKey(k('z'));
    if (enc === undefined) throw new Error('no state');
    expect(b.mergeRemote(k('z'), enc.tag, enc.bytes).ok).toBe(true);
    expect(b.exists(k('z'))).toBe(true);
    const v = b.getCounter(k('z'));
    expect(v.ok && v.value).toBe(0);
  });
});

describe('the state digest', () => {
  it('equals the digest of the same state built any other way, after any mix of writes, deletes, type changes and merges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: -5, max: 20 }), fc.boolean()), { maxLength: 60 }),
        (ops) => {
          const a = new Keyspace('A:1');
          const b = new Keyspace('B:1');
          for (const [op, name, n, onA] of ops) {
            const ks = onA ? a : b;
            const key = k(name);
            if (op === 0) ks.incrBy(key, n);
            else if (op === 1) ks.del(key);
            else if (op === 2) ks.pfadd(key, [`e${n}`]);
            else if (op === 3) ks.setCounter(key, n);
            else if (op === 4) {
              ks.stateDigest(); // fold part of the history in early
            } else {
              const other = onA ? b : a;
              const e = other.encodeKey(key);
              if (e !== undefined) ks.mergeRemote(key, e.tag, e.bytes);
            }
          }
          // Rebuilt from the encodings alone, in another order: the same digest.
          for (const ks of [a, b]) {
            const copy = new Keyspace('C:1');
            for (const key of [...ks.keys()].reverse()) {
              const e = ks.encodeKey(key) as { tag: number; bytes: Uint8Array };
              copy.mergeRemote(key, e.tag, e.bytes);
            }
            expect(copy.stateDigest()).toBe(ks.stateDigest());
            expect(copy.bucketDigests()).toEqual(ks.bucketDigests());
          }
          // Fully merged both ways: equal states, equal digests.
          for (const key of new Set([...a.keys(), ...b.keys()])) {
            const ea = a.encodeKey(key);
            if (ea !== undefined) b.mergeRemote(key, ea.tag, ea.bytes);
            const eb = b.encodeKey(key);
            if (eb !== undefined) a.mergeRemote(key, eb.tag, eb.bytes);
          }
          expect(a.stateDigest()).toBe(b.stateDigest());
        },
      ),
    );
  });
});

describe('key length and the frame limit', () => {
  it('refuses to create a key that could not travel beside its state in a gossip frame', () => {
    expect(maxKeyBytesFor(1 << 20)).toBe(MAX_KEY_BYTES);
    const limit = maxKeyBytesFor(4096);
    expect(limit).toBeGreaterThan(100);
    expect(limit).toBeLessThan(4096 / 2);
    const ks = new Keyspace('n1:1', { maxMessageBytes: 4096 });
    const long = fullKey(0, 'k'.repeat(limit + 1));
    const r = ks.incrBy(long, 1);
    expect(r.ok ? 'created' : r.error.message).toBe(`ERR key is too long (tally accepts keys of at most ${limit} bytes)`);
    expect(ks.pfadd(long, ['a']).ok).toBe(false);
    expect(ks.windowCreate(long, 1, 10).ok).toBe(false);
    expect([...ks.keys()].length).toBe(0);
    // At the limit it is created, and a key that exists (merged from a peer) is still written.
    expect(ks.incrBy(fullKey(0, 'k'.repeat(limit)), 1).ok).toBe(true);
  });
});

describe('a refused write changes nothing', () => {
  it('a decrement refused on a deleted key of another type leaves no empty counter behind (explorer seed 606)', () => {
    const ks = new Keyspace('n1:1');
    const k = fullKey(0, 'g0');
    expect(ks.pfadd(k, ['a']).ok).toBe(true);
    expect(ks.del(k)).toBe(true);
    const before = ks.encodeKey(k);
    const r = ks.incrBy(k, -5, 'gcounter');
    expect(r.ok ? 'ok' : r.error.code).toBe('GCOUNTER_DECREMENT');
    expect(ks.encodeKey(k)).toEqual(before);
    const s = ks.setCounter(k, -1, 'gcounter');
    expect(s.ok).toBe(false);
    expect(ks.encodeKey(k)).toEqual(before);
    // A write that succeeds does retype it.
    expect(ks.incrBy(k, 3, 'gcounter').ok).toBe(true);
    expect(ks.typeOf(k)).toBe('gcounter');
  });
});
