// The keyspace's windowed counters and THROTTLE (src/keyspace/keyspace.ts over
// src/crdt/windowed-counter.ts): which key each command accepts, the errors it answers (with the
// Redis-style texts of src/errors.ts), and which writes tell the change listeners.

import { describe, expect, it } from 'vitest';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import type { ChangeOrigin } from '../../src/keyspace/types.js';
import * as errors from '../../src/errors.js';

const k = (s: string): string => fullKey(0, s);
const T0 = 1_700_000_000_000;

/** A keyspace and the changes its listeners heard. */
function watched(): { ks: Keyspace; heard: [string, ChangeOrigin][] } {
  const ks = new Keyspace('n1:1');
  const heard: [string, ChangeOrigin][] = [];
  ks.onChange((key, origin) => heard.push([key, origin]));
  return { ks, heard };
}

/** The error of a result, as `code: message`, or 'ok'. */
function failure(r: { ok: true } | { ok: false; error: { code: string; message: string } }): string {
  return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`;
}

describe('WINDOW.CREATE', () => {
  it('creates once, answers exists for the same config and KEY_EXISTS for another', () => {
    const { ks, heard } = watched();
    expect(ks.windowCreate(k('w'), 60, 3600)).toEqual({ ok: true, value: 'created' });
    expect(heard).toEqual([[k('w'), 'local']]);
    expect(ks.typeOf(k('w'))).toBe('window');
    expect(ks.window(k('w'))?.granularityS).toBe(60);
    expect(ks.window(k('w'))?.retentionS).toBe(3600);
    expect(ks.windowCreate(k('w'), 60, 3600)).toEqual({ ok: true, value: 'exists' });
    expect(failure(ks.windowCreate(k('w'), 60, 7200))).toBe(`KEY_EXISTS: ${errors.windowExists(60, 3600)}`);
    expect(failure(ks.windowCreate(k('w'), 1, 3600))).toBe(`KEY_EXISTS: ${errors.windowExists(60, 3600)}`);
    expect(heard.length).toBe(1); // neither the repeat nor the refusals changed it
  });

  it('refuses a bad config with the CRDT layer message, before looking at the key', () => {
    const { ks, heard } = watched();
    ks.incrBy(k('c'), 1);
    heard.length = 0;
    const r = ks.windowCreate(k('c'), 7, 60);
    expect(r.ok ? 'ok' : r.error.code).toBe('INVALID');
    expect(r.ok ? '' : r.error.message).toMatch(/^ERR granularity 7 s must divide a day/);
    expect(heard).toEqual([]);
  });

  it('answers WRONGTYPE on a live key of another type, and re-creates a deleted window with the new config', () => {
    const { ks, heard } = watched();
    ks.pfadd(k('h'), ['x']);
    expect(failure(ks.windowCreate(k('h'), 1, 60))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    ks.windowCreate(k('w'), 1, 60);
    ks.windowIncrBy(k('w'), 5, T0, T0);
    expect(ks.del(k('w'))).toBe(true);
    expect(ks.window(k('w'))).toBeUndefined();
    heard.length = 0;
    expect(ks.windowCreate(k('w'), 60, 600)).toEqual({ ok: true, value: 'created' });
    expect(heard).toEqual([[k('w'), 'local']]);
    const w = ks.window(k('w'));
    expect([w?.granularityS, w?.retentionS]).toEqual([60, 600]);
    expect(ks.windowCount(k('w'), T0 - 60_000, T0 + 60_000)).toEqual({ ok: true, value: 0 }); // the old counts are gone
    // A deleted counter becomes a window.
    ks.incrBy(k('c'), 1);
    ks.del(k('c'));
    expect(ks.windowCreate(k('c'), 1, 60)).toEqual({ ok: true, value: 'created' });
    expect(ks.typeOf(k('c'))).toBe('window');
  });
});

describe('WINDOW.INCRBY, COUNT and SLIDING', () => {
  it('adds into the bucket of the time given and answers that bucket total', () => {
    const { ks, heard } = watched();
    ks.windowCreate(k('w'), 1, 60);
    heard.length = 0;
    expect(ks.windowIncrBy(k('w'), 3, T0, T0)).toEqual({ ok: true, value: 3 });
    expect(ks.windowIncrBy(k('w'), 4, T0 + 999, T0 + 999)).toEqual({ ok: true, value: 7 });
    expect(ks.windowIncrBy(k('w'), 2, T0 + 1000, T0 + 1000)).toEqual({ ok: true, value: 2 });
    expect(heard).toEqual([
      [k('w'), 'local'],
      [k('w'), 'local'],
      [k('w'), 'local'],
    ]);
    // Adding nothing is no change.
    expect(ks.windowIncrBy(k('w'), 0, T0, T0 + 1000)).toEqual({ ok: true, value: 7 });
    expect(heard.length).toBe(3);
    expect(ks.windowCount(k('w'), T0, T0)).toEqual({ ok: true, value: 7 });
    expect(ks.windowCount(k('w'), T0, T0 + 1000)).toEqual({ ok: true, value: 9 });
    expect(ks.windowSliding(k('w'), 60_000, T0 + 1500)).toEqual({ ok: true, value: 9 });
  });

  it('refuses a missing, deleted or other-typed key, and passes on the CRDT refusals', () => {
    const { ks, heard } = watched();
    expect(failure(ks.windowIncrBy(k('w'), 1, T0, T0))).toBe(`NO_SUCH_KEY: ${errors.NO_WINDOW}`);
    ks.incrBy(k('c'), 1);
    expect(failure(ks.windowIncrBy(k('c'), 1, T0, T0))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    ks.windowCreate(k('w'), 1, 60);
    ks.del(k('w'));
    expect(failure(ks.windowIncrBy(k('w'), 1, T0, T0))).toBe(`NO_SUCH_KEY: ${errors.NO_WINDOW}`);
    ks.windowCreate(k('w'), 1, 60);
    heard.length = 0;
    const neg = ks.windowIncrBy(k('w'), -1, T0, T0);
    expect(neg.ok ? 'ok' : `${neg.error.code}: ${neg.error.message}`).toBe('INVALID: ERR a windowed counter cannot be decremented');
    const future = ks.windowIncrBy(k('w'), 1, T0 + 10_000, T0);
    expect(future.ok ? 'ok' : future.error.message).toMatch(/^ERR timestamp \d+ is more than 5000 ms ahead/);
    const over = ks.windowIncrBy(k('w'), Number.MAX_SAFE_INTEGER, T0, T0);
    expect(over.ok).toBe(true);
    const overflow = ks.windowIncrBy(k('w'), 1, T0, T0);
    expect(overflow.ok ? 'ok' : overflow.error.code).toBe('OVERFLOW');
    expect(overflow.ok ? '' : overflow.error.message).toMatch(/^ERR /);
    expect(heard.length).toBe(1); // only the write that succeeded
  });

  it('COUNT and SLIDING answer 0 for a missing or deleted window and WRONGTYPE for another type', () => {
    const { ks } = watched();
    expect(ks.windowCount(k('w'), T0, T0 + 1)).toEqual({ ok: true, value: 0 });
    expect(ks.windowSliding(k('w'), 1000, T0)).toEqual({ ok: true, value: 0 });
    ks.windowCreate(k('w'), 1, 60);
    ks.windowIncrBy(k('w'), 5, T0, T0);
    expect(ks.windowCount(k('w'), T0, T0 + 1)).toEqual({ ok: true, value: 5 });
    ks.del(k('w'));
    expect(ks.windowCount(k('w'), T0, T0 + 1)).toEqual({ ok: true, value: 0 });
    expect(ks.windowSliding(k('w'), 1000, T0 + 500)).toEqual({ ok: true, value: 0 });
    ks.pfadd(k('h'), ['x']);
    expect(failure(ks.windowCount(k('h'), T0, T0 + 1))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    expect(failure(ks.windowSliding(k('h'), 1000, T0))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    // A deleted key of another type reads as no window.
    ks.del(k('h'));
    expect(ks.windowCount(k('h'), T0, T0 + 1)).toEqual({ ok: true, value: 0 });
  });

  it('COUNT refuses from after to; SLIDING refuses a window longer than the retention', () => {
    const { ks } = watched();
    ks.windowCreate(k('w'), 1, 60);
    expect(failure(ks.windowCount(k('w'), T0 + 1, T0))).toBe(`INVALID: ${errors.FROM_AFTER_TO}`);
    expect(failure(ks.windowCount(k('missing'), T0 + 1, T0))).toBe(`INVALID: ${errors.FROM_AFTER_TO}`);
    expect(ks.windowSliding(k('w'), 60_000, T0).ok).toBe(true);
    expect(failure(ks.windowSliding(k('w'), 60_001, T0))).toBe(`INVALID: ${errors.windowLongerThanRetention(60)}`);
  });

  it('window() is only a live window', () => {
    const { ks } = watched();
    expect(ks.window(k('w'))).toBeUndefined();
    ks.incrBy(k('c'), 1);
    expect(ks.window(k('c'))).toBeUndefined();
    ks.windowCreate(k('w'), 1, 60);
    expect(ks.window(k('w'))?.exists()).toBe(true);
  });
});

describe('THROTTLE', () => {
  it('creates a window sized for the period, admits up to the limit, and counts only what it admits', () => {
    const { ks, heard } = watched();
    const first = ks.throttle(k('t'), 3, 60, 1, T0);
    expect(first.ok && first.value).toMatchObject({ allowed: true, limit: 3, remaining: 2 });
    const w = ks.window(k('t'));
    expect([w?.granularityS, w?.retentionS]).toEqual([1, 60]);
    // Created, then counted: two changes.
    expect(heard).toEqual([
      [k('t'), 'local'],
      [k('t'), 'local'],
    ]);
    expect(ks.throttle(k('t'), 3, 60, 2, T0).ok).toBe(true);
    const refused = ks.throttle(k('t'), 3, 60, 1, T0);
    expect(refused.ok && refused.value).toMatchObject({ allowed: false, remaining: 0 });
    expect(heard.length).toBe(3); // the refused request counted nothing
    expect(ks.windowCount(k('t'), T0, T0)).toEqual({ ok: true, value: 3 });
    // A cost of 0 asks without counting.
    const ask = ks.throttle(k('t'), 10, 60, 0, T0);
    expect(ask.ok && ask.value).toMatchObject({ allowed: true, remaining: 7 });
    expect(heard.length).toBe(3);
  });

  it('re-creates a deleted window, refuses a period longer than the retention, and answers WRONGTYPE', () => {
    const { ks, heard } = watched();
    ks.windowCreate(k('t'), 1, 60);
    ks.windowIncrBy(k('t'), 9, T0, T0);
    ks.del(k('t'));
    heard.length = 0;
    const r = ks.throttle(k('t'), 5, 600, 0, T0);
    expect(r.ok && r.value).toMatchObject({ allowed: true, remaining: 5 });
    expect(heard).toEqual([[k('t'), 'local']]); // re-created (a cost of 0 counts nothing)
    const w = ks.window(k('t'));
    expect([w?.granularityS, w?.retentionS]).toEqual([10, 600]);
    // The period may equal the retention, not exceed it.
    expect(ks.throttle(k('t'), 5, 600, 1, T0).ok).toBe(true);
    expect(failure(ks.throttle(k('t'), 5, 601, 1, T0))).toBe(`INVALID: ${errors.periodLongerThanRetention(600)}`);
    ks.incrBy(k('c'), 1);
    expect(failure(ks.throttle(k('c'), 5, 60, 1, T0))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
  });

  it('passes on a refused increment (a cost that is not an integer) without counting it', () => {
    const { ks, heard } = watched();
    ks.windowCreate(k('t'), 1, 60);
    heard.length = 0;
    const r = ks.throttle(k('t'), 5, 60, 1.5, T0);
    expect(r.ok ? 'ok' : r.error.code).toBe('INVALID');
    expect(r.ok ? '' : r.error.message).toMatch(/^ERR /);
    expect(heard).toEqual([]);
    expect(ks.windowCount(k('t'), T0, T0)).toEqual({ ok: true, value: 0 });
  });
});
