// Edges of the keyspace that mutation testing found unguarded (docs/testing.md, the keyspace
// survivors): a refused SET of an HLL leaves no key behind, THROTTLE's period is seconds, a key of
// two counter types is not collected, a state already expired on arrival is its next epoch at once,
// and an unsubscribed listener hears nothing more.

import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../../src/crdt/hyperloglog.js';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import type { ChangeOrigin } from '../../src/keyspace/types.js';
import * as errors from '../../src/errors.js';

const k = fullKey(0, 'k');
const T0 = 1_700_000_000_000;

describe('keyspace edges', () => {
  it('SET of an HLL of another precision is refused and leaves no key, not even an empty one', () => {
    const ks = new Keyspace('n1:1');
    const other = HyperLogLog.create(HyperLogLog.DEFAULT_PRECISION - 1);
    other.add('x');
    const r = ks.setHll(k, other);
    expect(r.ok ? 'ok' : r.error.message).toBe(errors.hllPrecisionMismatch(other.p, HyperLogLog.DEFAULT_PRECISION));
    expect([...ks.keys()]).toEqual([]);
    expect(ks.memoryStats().entries).toBe(0);
  });

  it('THROTTLE counts over the period in seconds: refused within it, admitted once it has passed', () => {
    const ks = new Keyspace('n1:1');
    const t = fullKey(0, 't');
    const at = (ms: number): boolean => {
      const r = ks.throttle(t, 2, 10, 1, T0 + ms);
      if (!r.ok) throw new Error(r.error.message);
      return r.value.allowed;
    };
    expect([at(0), at(1_000), at(2_000), at(9_000)]).toEqual([true, true, false, false]);
    // Ten seconds after the first, the first has left the period (the window's granularity is 1 s).
    expect(at(11_000)).toBe(true);
  });

  it('a deleted key of two counter types is not collected: its tombstone orders the types', () => {
    const a = new Keyspace('a:1');
    const b = new Keyspace('b:1');
    a.incrBy(k, 1, 'gcounter');
    b.incrBy(k, 1, 'pncounter');
    const enc = a.encodeKey(k);
    if (enc === undefined) throw new Error('no state');
    expect(b.mergeRemote(k, enc.tag, enc.bytes).ok).toBe(true);
    expect(b.typeConflicts).toBe(1);
    expect(b.del(k)).toBe(true);
    expect(b.memoryStats().tombstones).toBe(1);
    expect(b.collectTombstones()).toEqual([]);
    expect([...b.keys()]).toEqual([k]);
    // One type alone, deleted, is collected.
    a.del(k);
    expect(a.collectTombstones()).toEqual([k]);
  });

  it('a state whose deadline passed before it arrived is merged as its next epoch, with one notice', () => {
    let now = T0;
    const src = new Keyspace('a:1', { clock: { now: () => now } });
    src.incrBy(k, 5);
    src.expire(k, T0 + 1_000);
    const enc = src.encodeKey(k);
    if (enc === undefined) throw new Error('no state');
    now = T0 + 2_000;
    const dst = new Keyspace('b:1', { clock: { now: () => now } });
    const heard: ChangeOrigin[] = [];
    dst.onChange((_key, origin) => heard.push(origin));
    expect(dst.mergeRemote(k, enc.tag, enc.bytes)).toEqual({ ok: true, value: true });
    expect(dst.exists(k)).toBe(false);
    expect(dst.getCounter(k)).toEqual({ ok: true, value: null });
    expect(dst.entry(k)?.life).toEqual({ epoch: 1, ttlVersion: 0, deadline: null });
    // Merged as what it is now: no second notice when it is read.
    expect(heard).toEqual(['remote']);
  });

  it('a listener that unsubscribed hears nothing more; the others still do', () => {
    const ks = new Keyspace('n1:1');
    const first: string[] = [];
    const second: string[] = [];
    const off = ks.onChange((key) => first.push(key));
    ks.onChange((key) => second.push(key));
    ks.incrBy(k, 1);
    off();
    ks.incrBy(k, 1);
    off(); // twice is harmless
    ks.incrBy(fullKey(0, 'other'), 1);
    expect(first).toEqual([k]);
    expect(second).toEqual([k, k, fullKey(0, 'other')]);
  });
});
