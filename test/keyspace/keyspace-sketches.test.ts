// The keyspace's Count-Min Sketch and Top-K commands (src/keyspace/keyspace.ts over
// src/crdt/count-min-sketch.ts and top-k.ts): which key each accepts, RedisBloom's error texts, the
// Top-K frame-size check, and which writes tell the change listeners.

import { describe, expect, it } from 'vitest';
import { Keyspace, fullKey, keyStateBudget } from '../../src/keyspace/keyspace.js';
import { topkMaxRecordBytes } from '../../src/crdt/top-k.js';
import type { ChangeOrigin } from '../../src/keyspace/types.js';
import * as errors from '../../src/errors.js';

const k = (s: string): string => fullKey(0, s);
const b = (s: string): Uint8Array => Buffer.from(s);

function watched(options: { maxMessageBytes?: number } = {}): { ks: Keyspace; heard: [string, ChangeOrigin][] } {
  const ks = new Keyspace('n1:1', options);
  const heard: [string, ChangeOrigin][] = [];
  ks.onChange((key, origin) => heard.push([key, origin]));
  return { ks, heard };
}

function failure(r: { ok: true } | { ok: false; error: { code: string; message: string } }): string {
  return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`;
}

describe('CMS.INITBYDIM', () => {
  it('creates a sketch once; a second init is KEY_EXISTS; bad dimensions are refused with the CMS prefix', () => {
    const { ks, heard } = watched();
    expect(ks.cmsInit(k('c'), 100, 4)).toEqual({ ok: true, value: true });
    expect(heard).toEqual([[k('c'), 'local']]);
    expect(ks.cmsInfo(k('c'))).toEqual({ ok: true, value: { width: 100, depth: 4, count: 0 } });
    expect(failure(ks.cmsInit(k('c'), 100, 4))).toBe(`KEY_EXISTS: ${errors.CMS_KEY_EXISTS}`);
    const bad = ks.cmsInit(k('d'), 0, 4);
    expect(bad.ok ? 'ok' : `${bad.error.code}: ${bad.error.message}`).toBe('INVALID: CMS: width 0 must be a positive integer');
    expect(ks.exists(k('d'))).toBe(false);
    expect(heard.length).toBe(1);
  });

  it('answers WRONGTYPE on a live key of another type and re-creates a deleted sketch with new dimensions', () => {
    const { ks, heard } = watched();
    ks.incrBy(k('n'), 1);
    expect(failure(ks.cmsInit(k('n'), 10, 2))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    ks.cmsInit(k('c'), 10, 2);
    ks.cmsIncrBy(k('c'), [[b('a'), 5]]);
    ks.del(k('c'));
    // A bad re-init of the deleted sketch leaves it deleted.
    expect(ks.cmsInit(k('c'), 10, 0).ok).toBe(false);
    expect(ks.exists(k('c'))).toBe(false);
    heard.length = 0;
    expect(ks.cmsInit(k('c'), 20, 3)).toEqual({ ok: true, value: true });
    expect(heard).toEqual([[k('c'), 'local']]);
    expect(ks.cmsInfo(k('c'))).toEqual({ ok: true, value: { width: 20, depth: 3, count: 0 } });
    expect(ks.cmsQuery(k('c'), [b('a')])).toEqual({ ok: true, value: [0] });
  });
});

describe('CMS.INCRBY, QUERY, INFO', () => {
  it('counts, answers the estimates, and refuses missing, deleted and other-typed keys', () => {
    const { ks, heard } = watched();
    expect(failure(ks.cmsIncrBy(k('c'), [[b('a'), 1]]))).toBe(`NO_SUCH_KEY: ${errors.CMS_NO_KEY}`);
    expect(failure(ks.cmsQuery(k('c'), [b('a')]))).toBe(`NO_SUCH_KEY: ${errors.CMS_NO_KEY}`);
    expect(failure(ks.cmsInfo(k('c')))).toBe(`NO_SUCH_KEY: ${errors.CMS_NO_KEY}`);
    ks.cmsInit(k('c'), 1000, 5);
    heard.length = 0;
    expect(ks.cmsIncrBy(k('c'), [[b('a'), 3], [b('b'), 4]])).toEqual({ ok: true, value: [3, 4] });
    expect(heard).toEqual([[k('c'), 'local']]);
    expect(ks.cmsQuery(k('c'), [b('a'), b('b'), b('z')])).toEqual({ ok: true, value: [3, 4, 0] });
    expect(ks.cmsInfo(k('c'))).toEqual({ ok: true, value: { width: 1000, depth: 5, count: 7 } });
    // A refused increment is all or nothing, and tells nobody.
    const neg = ks.cmsIncrBy(k('c'), [[b('a'), 1], [b('b'), -1]]);
    expect(neg.ok ? 'ok' : `${neg.error.code}: ${neg.error.message}`).toBe('INVALID: CMS: a Count-Min Sketch cannot be decremented');
    const over = ks.cmsIncrBy(k('c'), [[b('a'), Number.MAX_SAFE_INTEGER]]);
    expect(over.ok ? 'ok' : over.error.code).toBe('OVERFLOW');
    expect(over.ok ? '' : over.error.message).toMatch(/^CMS: /);
    expect(heard.length).toBe(1);
    expect(ks.cmsQuery(k('c'), [b('a')])).toEqual({ ok: true, value: [3] });
    // Other types: WRONGTYPE while live, no such key once deleted.
    ks.pfadd(k('h'), ['x']);
    expect(failure(ks.cmsIncrBy(k('h'), [[b('a'), 1]]))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    expect(failure(ks.cmsInfo(k('h')))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    ks.del(k('h'));
    expect(failure(ks.cmsIncrBy(k('h'), [[b('a'), 1]]))).toBe(`NO_SUCH_KEY: ${errors.CMS_NO_KEY}`);
    ks.del(k('c'));
    expect(failure(ks.cmsQuery(k('c'), [b('a')]))).toBe(`NO_SUCH_KEY: ${errors.CMS_NO_KEY}`);
  });
});

describe('CMS.MERGE', () => {
  it('makes an existing dest the weighted sum of its sources, itself included', () => {
    const { ks, heard } = watched();
    for (const name of ['d', 's1', 's2']) ks.cmsInit(k(name), 100, 3);
    ks.cmsIncrBy(k('d'), [[b('a'), 1]]);
    ks.cmsIncrBy(k('s1'), [[b('a'), 2]]);
    ks.cmsIncrBy(k('s2'), [[b('a'), 5], [b('b'), 1]]);
    heard.length = 0;
    expect(ks.cmsMerge(k('d'), [k('s1'), k('s2')], [3, 1])).toEqual({ ok: true, value: true });
    expect(heard).toEqual([[k('d'), 'local']]);
    expect(ks.cmsQuery(k('d'), [b('a'), b('b')])).toEqual({ ok: true, value: [11, 1] });
    // dest among its own sources: its counts before the merge, doubled.
    expect(ks.cmsMerge(k('d'), [k('d'), k('d')], [1, 1]).ok).toBe(true);
    expect(ks.cmsQuery(k('d'), [b('a'), b('b')])).toEqual({ ok: true, value: [22, 2] });
    expect(ks.cmsQuery(k('s2'), [b('a')])).toEqual({ ok: true, value: [5] }); // sources unchanged
  });

  it('refuses a missing dest or source, another type, and sketches of other dimensions, changing nothing', () => {
    const { ks, heard } = watched();
    ks.cmsInit(k('s'), 100, 3);
    ks.cmsIncrBy(k('s'), [[b('a'), 2]]);
    expect(failure(ks.cmsMerge(k('d'), [k('s')], []))).toBe(`NO_SUCH_KEY: ${errors.CMS_NO_KEY}`);
    ks.cmsInit(k('d'), 100, 3);
    ks.cmsIncrBy(k('d'), [[b('a'), 1]]);
    heard.length = 0;
    expect(failure(ks.cmsMerge(k('d'), [k('s'), k('nope')], []))).toBe(`NO_SUCH_KEY: ${errors.CMS_NO_KEY}`);
    ks.incrBy(k('n'), 1);
    heard.length = 0;
    expect(failure(ks.cmsMerge(k('d'), [k('n')], []))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    ks.cmsInit(k('w'), 50, 3);
    heard.length = 0;
    const dims = ks.cmsMerge(k('d'), [k('s'), k('w')], []);
    expect(dims.ok ? 'ok' : `${dims.error.code}: ${dims.error.message}`).toBe('INVALID: CMS: width/depth is not equal');
    expect(heard).toEqual([]);
    expect(ks.cmsQuery(k('d'), [b('a')])).toEqual({ ok: true, value: [1] });
  });
});

describe('TOPK.RESERVE', () => {
  it('creates once; KEY_EXISTS after; bad parameters refused with the TopK prefix', () => {
    const { ks, heard } = watched();
    expect(ks.topkReserve(k('t'), 3, 50, 4)).toEqual({ ok: true, value: true });
    expect(heard).toEqual([[k('t'), 'local']]);
    const t = ks.topk(k('t'));
    expect(t.ok && [t.value.k, t.value.width, t.value.depth]).toEqual([3, 50, 4]);
    expect(failure(ks.topkReserve(k('t'), 3, 50, 4))).toBe(`KEY_EXISTS: ${errors.TOPK_KEY_EXISTS}`);
    const bad = ks.topkReserve(k('u'), 0, 50, 4);
    expect(bad.ok ? 'ok' : `${bad.error.code}: ${bad.error.message}`).toMatch(/^INVALID: TopK: k must be an integer/);
    expect(ks.exists(k('u'))).toBe(false);
    ks.incrBy(k('n'), 1);
    expect(failure(ks.topkReserve(k('n'), 3, 50, 4))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
  });

  it('refuses a Top-K whose one writer could outgrow a gossip frame, and accepts one that just fits', () => {
    const key = k('t');
    const worst = topkMaxRecordBytes(3, 50, 4);
    // The frame limit at which the worst record takes exactly the room a key's state has.
    const fits = worst + 512 + key.length + 64;
    expect(keyStateBudget(fits, key)).toBe(worst);
    expect(watched({ maxMessageBytes: fits }).ks.topkReserve(key, 3, 50, 4)).toEqual({ ok: true, value: true });
    const { ks, heard } = watched({ maxMessageBytes: fits - 1 });
    expect(failure(ks.topkReserve(key, 3, 50, 4))).toBe(`INVALID: ${errors.topkRecordTooLarge(worst, worst - 1)}`);
    expect(ks.exists(key)).toBe(false);
    expect(heard).toEqual([]);
  });

  it('re-creates a deleted Top-K with the new parameters', () => {
    const { ks, heard } = watched();
    ks.topkReserve(k('t'), 2, 50, 3);
    ks.topkAdd(k('t'), [[b('a'), 4]]);
    ks.del(k('t'));
    expect(failure(ks.topk(k('t')))).toBe(`NO_SUCH_KEY: ${errors.TOPK_NO_KEY}`);
    heard.length = 0;
    expect(ks.topkReserve(k('t'), 5, 60, 2)).toEqual({ ok: true, value: true });
    expect(heard).toEqual([[k('t'), 'local']]);
    const t = ks.topk(k('t'));
    expect(t.ok && [t.value.k, t.value.width, t.value.depth, t.value.list().length]).toEqual([5, 60, 2, 0]);
  });
});

describe('TOPK.ADD', () => {
  it('adds, answers what each item pushed out, and refuses missing, deleted and other-typed keys', () => {
    const { ks, heard } = watched();
    expect(failure(ks.topkAdd(k('t'), [[b('a'), 1]]))).toBe(`NO_SUCH_KEY: ${errors.TOPK_NO_KEY}`);
    ks.topkReserve(k('t'), 1, 50, 3);
    heard.length = 0;
    expect(ks.topkAdd(k('t'), [[b('a'), 2]])).toEqual({ ok: true, value: [null] });
    const pushed = ks.topkAdd(k('t'), [[b('b'), 5]]);
    expect(pushed.ok && pushed.value.map((x) => x?.toString() ?? null)).toEqual(['a']);
    expect(heard).toEqual([
      [k('t'), 'local'],
      [k('t'), 'local'],
    ]);
    const t = ks.topk(k('t'));
    expect(t.ok && t.value.list().map((e) => e.item.toString())).toEqual(['b']);
    const bad = ks.topkAdd(k('t'), [[b('c'), 0]]);
    expect(bad.ok ? 'ok' : `${bad.error.code}: ${bad.error.message}`).toBe('INVALID: TopK: increment must be >= 1');
    expect(heard.length).toBe(2);
    ks.pfadd(k('h'), ['x']);
    expect(failure(ks.topkAdd(k('h'), [[b('a'), 1]]))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
    expect(failure(ks.topk(k('h')))).toBe(`WRONGTYPE: ${errors.WRONGTYPE}`);
  });
});
