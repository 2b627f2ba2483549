// Top-K (src/crdt/top-k.ts) on paths the other sketch tests leave open: the parameter and input
// checks with their exact errors, `has`, which candidate a full replica set evicts (least estimate,
// ties: the greatest item) and when it keeps what it has, the order of tied items in the list, the
// total order merge uses on two records of one replica (total, then cells, then candidates, then
// their number), `equals`, `byteSize`, re-creation, the split boundary where the replica count takes
// a second byte, the cell cache across a merge that changes the dimensions, and decode's errors.
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, TypeTag } from '../../src/crdt/codec.js';
import { COUNTER_MAX } from '../../src/crdt/counter-base.js';
import { SKETCH_CODEC_VERSION, SKETCH_MAX_CELLS, SketchMatrix } from '../../src/crdt/sketch-matrix.js';
import { TopK, topkDefaultWidth, topkMaxRecordBytes, TOPK_DEFAULT_DEPTH, TOPK_MAX_ITEM_BYTES, TOPK_MAX_K } from '../../src/crdt/top-k.js';
import { unwrap } from '../unwrap.js';

const OVERFLOW = 'COUNTER_OVERFLOW: the sketch count would leave the supported range [-(2^53-1), 2^53-1]';

function refusal(r: { ok: true } | { ok: false; error: { code: string; message: string } }): string {
  return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`;
}

function make(k: number, width: number, depth: number): TopK {
  return unwrap(TopK.create(k, width, depth));
}

function add(t: TopK, r: string, item: string, n: number): (string | null)[] {
  return unwrap(t.add(r, [[item, n]])).map((b) => (b === null ? null : b.toString('latin1')));
}

/** The list as `item=count` strings. */
function listed(t: TopK): string[] {
  return t.list().map((e) => `${e.item.toString('latin1')}=${String(e.count)}`);
}

/** Each replica's candidates, read from the encoding independently of the codec (sorted, as written). */
function candidates(t: TopK): Record<string, string[]> {
  const r = new ByteReader(t.encode());
  r.u8();
  r.u8();
  for (let i = 0; i < 4; i++) r.uvarint(); // k, width, depth, generation
  r.u8();
  const ids: string[] = [];
  const n = r.uvarint();
  for (let i = 0; i < n; i++) {
    ids.push(r.string(255));
    const runs = r.uvarint();
    for (let j = 0; j < runs; j++) {
      r.uvarint();
      const len = r.uvarint();
      for (let c = 0; c < len; c++) r.uvarint();
    }
  }
  const out: Record<string, string[]> = {};
  for (const id of ids) {
    const m = r.uvarint();
    out[id] = Array.from({ length: m }, () => Buffer.from(r.lenBytes(TOPK_MAX_ITEM_BYTES)).toString('latin1'));
  }
  expect(r.failed).toBe(false);
  expect(r.remaining).toBe(0);
  return out;
}

/** The cell of `item` in a one-row matrix of `width`. */
function cellOf(width: number, item: string): number {
  return new SketchMatrix(width, 1).cells(Buffer.from(item, 'latin1'))[0] as number;
}

/** The first two names `i<n>` (n < 200) for which `ok` holds, in that order. */
function pickPair(ok: (p: string, q: string) => boolean): [string, string] {
  for (let i = 0; i < 200; i++) {
    for (let j = 0; j < 200; j++) {
      const p = `i${i}`;
      const q = `i${j}`;
      if (i !== j && ok(p, q)) return [p, q];
    }
  }
  throw new Error('no pair');
}

describe('TopK parameters', () => {
  it('topkDefaultWidth is max(1024, 32k), capped by the cells of the default depth', () => {
    expect(topkDefaultWidth(1)).toBe(1024);
    expect(topkDefaultWidth(32)).toBe(1024);
    expect(topkDefaultWidth(33)).toBe(1056);
    expect(topkDefaultWidth(100)).toBe(3200);
    expect(topkDefaultWidth(TOPK_MAX_K)).toBe(32_000);
    // Beyond TOPK_MAX_K (the cap is unreachable by a valid k): floor(2^18 / 5).
    expect(topkDefaultWidth(2000)).toBe(Math.floor(SKETCH_MAX_CELLS / TOPK_DEFAULT_DEPTH));
    expect(topkDefaultWidth(2000)).toBe(52_428);
  });

  it('topkMaxRecordBytes grows by one candidate pair, and a byte of candidate count once 2k reaches 128', () => {
    // One more k: two more candidates of 2 + 1024 bytes each (length prefix and item); from 63 to 64, 2k
    // goes from 126 to 128 and the candidate count takes a second byte.
    expect(topkMaxRecordBytes(64, 1024, 5) - topkMaxRecordBytes(63, 1024, 5)).toBe(1 + 2 * (2 + TOPK_MAX_ITEM_BYTES));
    expect(topkMaxRecordBytes(63, 1024, 5) - topkMaxRecordBytes(62, 1024, 5)).toBe(2 * (2 + TOPK_MAX_ITEM_BYTES));
  });

  it('create accepts k in 1..TOPK_MAX_K only, with the default dimensions', () => {
    const msg = 'SKETCH_BAD_DIMENSIONS: k must be an integer in 1..1000';
    for (const bad of [0, -1, TOPK_MAX_K + 1, 1.5, NaN, Infinity, 2 ** 53]) expect(refusal(TopK.create(bad))).toBe(msg);
    const one = unwrap(TopK.create(1));
    expect([one.k, one.width, one.depth, one.capacity]).toEqual([1, 1024, 5, 2]);
    const max = unwrap(TopK.create(TOPK_MAX_K));
    expect([max.k, max.width, max.depth, max.capacity]).toEqual([1000, 32_000, 5, 2000]);
    expect(refusal(TopK.create(2, 0, 2))).toBe('SKETCH_BAD_DIMENSIONS: width 0 must be a positive integer');
  });
});

describe('TopK.add refusals', () => {
  it('refuses a non-integer, zero or negative increment, all or nothing', () => {
    const t = make(2, 64, 2);
    add(t, 'a:1', 'x', 3);
    const before = t.encode();
    expect(refusal(t.add('a:1', [['y', 1], ['z', 1.5]]))).toBe('COUNTER_NOT_INTEGER: amount 1.5 is not a safe integer');
    expect(refusal(t.add('a:1', [['y', NaN]]))).toBe('COUNTER_NOT_INTEGER: amount NaN is not a safe integer');
    expect(refusal(t.add('a:1', [['y', 2 ** 53]]))).toBe('COUNTER_NOT_INTEGER: amount 9007199254740992 is not a safe integer');
    expect(refusal(t.add('a:1', [['y', 2], ['z', 0]]))).toBe('SKETCH_NEGATIVE: increment must be >= 1');
    expect(refusal(t.add('a:1', [['y', -4]]))).toBe('SKETCH_NEGATIVE: increment must be >= 1');
    expect(t.encode()).toStrictEqual(before);
    expect(listed(t)).toEqual(['x=3']);
  });

  it('refuses an empty item and one above TOPK_MAX_ITEM_BYTES; takes one of exactly that size', () => {
    const t = make(2, 64, 2);
    const msg = 'SKETCH_ITEM_TOO_LONG: items must be 1..1024 bytes';
    expect(refusal(t.add('a:1', [['y', 1], ['', 1]]))).toBe(msg);
    expect(refusal(t.add('a:1', [[new Uint8Array(0), 1]]))).toBe(msg);
    expect(refusal(t.add('a:1', [['y', 1], ['q'.repeat(TOPK_MAX_ITEM_BYTES + 1), 1]]))).toBe(msg);
    expect(refusal(t.add('a:1', [['é'.repeat(513), 1]]))).toBe(msg); // 1026 UTF-8 bytes
    expect(t.replicaCount()).toBe(0);
    const long = 'q'.repeat(TOPK_MAX_ITEM_BYTES);
    expect(unwrap(t.add('a:1', [[long, 2]]))).toEqual([null]);
    expect(t.list().map((e) => [e.item.length, e.count])).toEqual([[TOPK_MAX_ITEM_BYTES, 2]]);
  });

  it('takes a replica up to exactly 2^53-1 and refuses one more, also within one call', () => {
    const t = make(2, 64, 2);
    add(t, 'a:1', 'x', 10);
    // The sum of a call is checked against the headroom (negated, it would look small).
    expect(refusal(t.add('a:1', [['y', COUNTER_MAX - 5]]))).toBe(OVERFLOW);
    expect(refusal(t.add('b:1', [['y', COUNTER_MAX - 12], ['z', 3]]))).toBe(OVERFLOW);
    expect(refusal(t.add('b:1', [['y', COUNTER_MAX], ['z', COUNTER_MAX]]))).toBe(OVERFLOW);
    expect(t.replicaCount()).toBe(1);
    expect(unwrap(t.add('b:1', [['y', COUNTER_MAX - 11], ['z', 1]]))).toEqual([null, null]);
    expect(t.query('y')).toBe(COUNTER_MAX - 11);
    expect(refusal(t.add('a:1', [['x', 1]]))).toBe(OVERFLOW);
    expect(refusal(t.add('c:1', [['x', 1]]))).toBe(OVERFLOW);
    expect(listed(t)).toEqual([`y=${COUNTER_MAX - 11}`, 'x=10']);
  });

  it('checks the id of a new replica, before changing anything', () => {
    const t = make(2, 64, 2);
    expect(() => t.add('', [['x', 1]])).toThrow(new RangeError('replica id must be a non-empty string'));
    expect(() => t.add('r'.repeat(256), [['x', 1]])).toThrow(new RangeError('replica id is 256 UTF-8 bytes; at most 255 allowed'));
    expect(t.replicaCount()).toBe(0);
    expect(t.list()).toEqual([]);
    add(t, 'a:1', 'x', 1);
    add(t, 'a:1', 'x', 1);
    expect(listed(t)).toEqual(['x=2']);
  });
});

describe('TopK.has and the list', () => {
  it('has tells the items of the top k from the other candidates and unknown items', () => {
    const t = make(2, 1024, 4);
    add(t, 'a:1', 'x', 5);
    add(t, 'a:1', 'y', 3);
    add(t, 'a:1', 'z', 1);
    expect(listed(t)).toEqual(['x=5', 'y=3']);
    expect(t.has('x')).toBe(true);
    expect(t.has(Buffer.from('y'))).toBe(true);
    expect(t.has('z')).toBe(false); // a candidate, below the top 2
    expect(t.has('w')).toBe(false);
    expect(make(2, 8, 2).has('x')).toBe(false);
  });

  it('orders tied items by their bytes, whatever the order they came in', () => {
    // One cell: every item estimates the total; 80 candidates (2k) of one replica, all tied.
    const t = make(40, 1, 1);
    const names = Array.from({ length: 80 }, (_, i) => `t${String((i * 37) % 80).padStart(2, '0')}`);
    for (const s of names) add(t, 'a:1', s, 1);
    const want = [...names].sort().slice(0, 40);
    expect(t.list().map((e) => e.item.toString())).toEqual(want);
    expect(t.list().every((e) => e.count === 80)).toBe(true);
    const small = make(3, 1, 1);
    for (const s of ['d', 'b', 'c', 'a']) add(small, 'a:1', s, 1);
    expect(listed(small)).toEqual(['a=4', 'b=4', 'c=4']);
  });

  it('reports no expelled item when the added one stays out of the top k, even if the list changed', () => {
    // Two cells, one row: x alone in one; y and s share the other, y < s, so after s the tie goes to y.
    const [y, s] = pickPair((p, q) => p < q && cellOf(2, p) === 1 && cellOf(2, q) === 1);
    const [x] = pickPair((p) => cellOf(2, p) === 0);
    const t = make(1, 2, 1);
    expect(add(t, 'a:1', x, 5)).toEqual([null]);
    expect(add(t, 'a:1', y, 3)).toEqual([null]);
    expect(listed(t)).toEqual([`${x}=5`]);
    expect(add(t, 'a:1', s, 3)).toEqual([null]);
    expect(listed(t)).toEqual([`${y}=6`]);
    expect(candidates(t)).toEqual({ 'a:1': [y, s].sort() });
  });
});

describe('TopK candidate eviction', () => {
  // k = 1: each replica keeps 2 candidates. Wide enough that these items do not collide.
  const run = (steps: [string, number][]): string[] => {
    const t = make(1, 1024, 4);
    for (const [s, n] of steps) add(t, 'a:1', s, n);
    for (const [s] of steps) expect(t.query(s)).toBe(steps.filter(([o]) => o === s).reduce((a, [, n]) => a + n, 0));
    return candidates(t)['a:1'] as string[];
  };

  it('evicts the candidate of least estimate, wherever it is in the set', () => {
    expect(run([['b', 2], ['a', 1], ['c', 3]])).toEqual(['b', 'c']);
    expect(run([['a', 1], ['b', 2], ['c', 3]])).toEqual(['b', 'c']);
    expect(run([['b', 2], ['a', 4], ['c', 3]])).toEqual(['a', 'c']);
  });

  it('among tied weakest candidates evicts the greatest item', () => {
    expect(run([['a', 1], ['b', 1], ['c', 5]])).toEqual(['a', 'c']);
    expect(run([['b', 1], ['a', 1], ['c', 5]])).toEqual(['a', 'c']);
  });

  it('keeps its candidates against an item that does not out-estimate the weakest', () => {
    expect(run([['a', 5], ['b', 5], ['c', 1]])).toEqual(['a', 'b']);
    expect(run([['a', 5], ['b', 5], ['c', 5]])).toEqual(['a', 'b']);
    expect(run([['a', 5], ['b', 4], ['c', 4]])).toEqual(['a', 'b']);
    expect(run([['a', 5], ['b', 4], ['c', 5]])).toEqual(['a', 'c']);
  });

  it('adding to a candidate already held evicts nothing', () => {
    // k = 2 (4 candidates): a is added again once the set is full, now out-estimating b.
    const t = make(2, 1024, 4);
    for (const [s, n] of [['a', 1], ['b', 2], ['c', 3], ['d', 4], ['a', 10]] as const) add(t, 'a:1', s, n);
    const ref = make(2, 1024, 4);
    for (const [s, n] of [['b', 2], ['c', 3], ['d', 4], ['a', 11]] as const) add(ref, 'a:1', s, n);
    expect(candidates(t)).toEqual({ 'a:1': ['a', 'b', 'c', 'd'] });
    expect(t.encode()).toStrictEqual(ref.encode());
    expect(t.equals(ref)).toBe(true);
    expect(listed(t)).toEqual(['a=11', 'd=4']);
  });
});

describe('TopK merge', () => {
  it('returns whether it changed anything and lists the merged candidates afterwards', () => {
    const a = make(2, 1024, 4);
    const b = make(2, 1024, 4);
    add(a, 'a:1', 'x', 2);
    add(b, 'b:1', 'y', 5);
    expect(listed(a)).toEqual(['x=2']); // cached
    expect(a.merge(b)).toBe(true);
    expect(listed(a)).toEqual(['y=5', 'x=2']);
    expect(a.has('y')).toBe(true);
    expect(a.merge(b)).toBe(false);
    expect(a.merge(a.clone())).toBe(false);
    expect(listed(a)).toEqual(['y=5', 'x=2']);
  });

  it('takes the record of greater total, even when its first differing cell is smaller', () => {
    // One row of 16: x's cell before y's, neither cell 0. Two forks of replica r (not reachable
    // from honest peers, but merge must still be a join): x 5 and y 6.
    const [x, y] = pickPair((p, q) => cellOf(16, p) > 0 && cellOf(16, p) < cellOf(16, q));
    const a = make(1, 16, 1);
    const b = make(1, 16, 1);
    add(a, 'r', x, 5);
    add(b, 'r', y, 6);
    const b0 = b.clone();
    expect(b.merge(a)).toBe(false);
    expect(b.equals(b0)).toBe(true);
    expect(a.merge(b)).toBe(true);
    expect(a.equals(b0)).toBe(true);
    expect(listed(a)).toEqual([`${y}=6`]);
    expect(a.query(x)).toBe(0);
  });

  it('between records of equal total takes the one greater at the first differing cell', () => {
    // p < q as items (the candidates would order them the other way), p's cell first, not cell 0.
    const [p, q] = pickPair((s, t) => s < t && cellOf(16, s) > 0 && cellOf(16, s) < cellOf(16, t));
    const a = make(1, 16, 1);
    const b = make(1, 16, 1);
    add(a, 'r', p, 5);
    add(b, 'r', q, 5);
    const a0 = a.clone();
    expect(a.merge(b)).toBe(false);
    expect(a.equals(a0)).toBe(true);
    expect(b.merge(a)).toBe(true);
    expect(b.equals(a0)).toBe(true);
    expect(b.encode()).toStrictEqual(a0.encode());
    expect(listed(b)).toEqual([`${p}=5`]);
  });

  it('between equal matrices takes the greater candidates: first differing item, then more of them', () => {
    // One cell: p, q, s all estimate the total, so which two a replica keeps depends on the order.
    const a = make(1, 1, 1);
    const b = make(1, 1, 1);
    for (const s of ['p', 'q', 's']) add(a, 'r', s, 1);
    for (const s of ['p', 's', 'q']) add(b, 'r', s, 1);
    expect(candidates(a)).toEqual({ r: ['p', 'q'] });
    expect(candidates(b)).toEqual({ r: ['p', 's'] });
    const b0 = b.clone();
    expect(b.merge(a)).toBe(false);
    expect(a.merge(b)).toBe(true);
    expect(candidates(a)).toEqual({ r: ['p', 's'] });
    expect(a.equals(b0)).toBe(true);

    const c = make(1, 1, 1);
    const d = make(1, 1, 1);
    add(c, 'r', 'p', 2);
    add(d, 'r', 'p', 1);
    add(d, 'r', 'q', 1);
    expect(candidates(c)).toEqual({ r: ['p'] });
    expect(candidates(d)).toEqual({ r: ['p', 'q'] });
    const d0 = d.clone();
    expect(d.merge(c)).toBe(false);
    expect(c.merge(d)).toBe(true);
    expect(c.equals(d0)).toBe(true);
    expect(candidates(c)).toEqual({ r: ['p', 'q'] });
  });

  it('recomputes cells after adopting a state of other dimensions (width or depth)', () => {
    for (const [[w1, d1], [w2, d2]] of [
      [
        [8, 2],
        [64, 2],
      ],
      [
        [64, 2],
        [64, 3],
      ],
    ] as const) {
      // An item whose first cell moves with the width (so stale cells would read an empty one).
      const [x] = pickPair((p) => cellOf(8, p) !== cellOf(64, p));
      const a = make(2, w1, d1);
      add(a, 'r', x, 7);
      expect(listed(a)).toEqual([`${x}=7`]);
      const b = make(2, w2, d2);
      add(b, 'r', x, 7);
      add(b, 's', x, 1);
      expect(a.merge(b)).toBe(true);
      expect([a.width, a.depth]).toEqual([w2, d2]);
      expect(listed(a)).toEqual([`${x}=8`]);
      expect(a.has(x)).toBe(true);
    }
  });
});

describe('TopK.equals', () => {
  it('compares generation, created flag, matrices and candidates', () => {
    const a = make(2, 8, 2);
    add(a, 'a:1', 'x', 2);
    add(a, 'b:1', 'y', 1);
    expect(a.equals(a.clone())).toBe(true);
    expect(a.clone().equals(a)).toBe(true);
    expect(make(2, 8, 2).equals(make(2, 8, 2))).toBe(true);
    expect(a.equals(make(2, 8, 2))).toBe(false);
    expect(make(2, 8, 2).equals(make(3, 8, 2))).toBe(false);
    expect(make(2, 8, 2).equals(make(2, 8, 3))).toBe(false);

    const more = a.clone();
    add(more, 'a:1', 'x', 1);
    expect(a.equals(more)).toBe(false);
    expect(more.equals(a)).toBe(false);

    // Only the generation differs.
    const g1 = make(2, 8, 2);
    g1.clear();
    const g2 = make(2, 8, 2);
    g2.clear();
    g2.clear();
    expect(g1.equals(g2)).toBe(false);
    g1.clear();
    expect(g1.equals(g2)).toBe(true);

    // Only the created flag differs: a deleted state of generation 0, read from bytes.
    const fresh = make(2, 8, 2);
    const bytes = fresh.encode();
    expect(Array.from(bytes)).toEqual([SKETCH_CODEC_VERSION, TypeTag.TopK, 2, 8, 2, 0, 1, 0]);
    bytes[6] = 0;
    const deleted = unwrap(TopK.decode(bytes));
    expect(deleted.exists()).toBe(false);
    expect(deleted.generation).toBe(0);
    expect(fresh.equals(deleted)).toBe(false);
    expect(deleted.equals(fresh)).toBe(false);
  });

  it('compares candidates when the matrices are equal: count and content', () => {
    const one = make(1, 1, 1);
    add(one, 'r', 'p', 2);
    const two = make(1, 1, 1);
    add(two, 'r', 'p', 1);
    add(two, 'r', 'q', 1);
    expect(one.equals(two)).toBe(false);
    expect(two.equals(one)).toBe(false);
    const pq = make(1, 1, 1);
    for (const s of ['p', 'q', 's']) add(pq, 'r', s, 1);
    const ps = make(1, 1, 1);
    for (const s of ['p', 's', 'q']) add(ps, 'r', s, 1);
    expect(pq.equals(ps)).toBe(false);
    expect(ps.equals(pq)).toBe(false);
    const pq2 = make(1, 1, 1);
    for (const s of ['q', 'p', 's']) add(pq2, 'r', s, 1);
    expect(pq.equals(pq2)).toBe(true);
  });
});

describe('TopK sizes', () => {
  it('byteSize counts the matrices and every candidate', () => {
    const t = make(2, 4, 2);
    // 64 + the matrix (64 + 8 cells of totals + nothing per replica)
    expect(t.byteSize()).toBe(64 + 64 + 8 * 8);
    add(t, 'a:1', 'x', 1);
    add(t, 'a:1', 'yy', 1);
    expect(t.byteSize()).toBe(64 + (64 + 8 * 8 + 96 + 8 * 8) + (48 + 1) + (48 + 2));
  });

  it('largestRecordBytes is 0 with no record, and what a one-record state encodes to', () => {
    const t = make(2, 4, 2);
    expect(t.largestRecordBytes()).toBe(0);
    add(t, 'a:1', 'x', 3);
    expect(t.largestRecordBytes()).toBe(t.encode().length);
    // Every header field of two bytes (k 200, width 300, generation 130), and a second, smaller record.
    const build = (more: boolean): TopK => {
      const big = make(200, 300, 2);
      for (let i = 0; i < 65; i++) {
        big.clear();
        big.recreate(200, 300, 2);
      }
      add(big, 'a:1', 'item', 1);
      add(big, 'a:1', 'other', 200);
      if (more) add(big, 'b:1', 'x', 1);
      return big;
    };
    const one = build(false);
    expect([one.generation, one.k, one.width]).toEqual([130, 200, 300]);
    expect(one.largestRecordBytes()).toBe(one.encode().length);
    const two = build(true);
    expect(two.largestRecordBytes()).toBe(one.encode().length);
    expect(two.encode().length).toBeGreaterThan(one.encode().length);
  });
});

describe('TopK.recreate', () => {
  it('re-creates a deleted Top-K with new parameters in a new generation', () => {
    const t = make(2, 8, 2);
    add(t, 'a:1', 'x', 4);
    t.clear();
    expect([t.exists(), t.generation]).toEqual([false, 1]);
    t.recreate(3, 32, 4);
    expect([t.exists(), t.generation, t.k, t.width, t.depth, t.capacity, t.replicaCount()]).toEqual([true, 2, 3, 32, 4, 6, 0]);
    expect(t.list()).toEqual([]);
    add(t, 'a:1', 'x', 1);
    expect(listed(t)).toEqual(['x=1']);
    expect(unwrap(TopK.decode(t.encode())).equals(t)).toBe(true);
  });

  it('refuses a Top-K that exists, and invalid parameters', () => {
    const t = make(2, 8, 2);
    expect(() => t.recreate(2, 8, 2)).toThrow(new Error('recreate() on a Top-K that exists'));
    expect(t.generation).toBe(0);
    t.clear();
    expect(() => t.recreate(0, 8, 2)).toThrow('k must be an integer in 1..1000');
    expect([t.exists(), t.generation]).toEqual([false, 1]);
  });
});

describe('TopK.split', () => {
  it('refuses a maxBytes that is not a positive integer', () => {
    const t = make(2, 8, 2);
    for (const bad of [0, -1, 1.5, NaN]) expect(() => t.split(bad)).toThrow(new RangeError(`maxBytes must be a positive integer, got ${String(bad)}`));
  });

  it('counts the second byte of a replica count of 128', () => {
    // 130 replicas of one cell each: a record is 14 bytes (id 7, runs 4, candidates 3); the header 7.
    const t = make(1, 1, 1);
    const ids = Array.from({ length: 130 }, (_, i) => `r${String(i).padStart(3, '0')}:1`);
    for (const id of ids) add(t, id, 'x', 1);
    expect(t.largestRecordBytes()).toBe(7 + 1 + 14);
    // Room for 128 records with a one-byte count, but their count takes two.
    const max = 7 + 1 + 128 * 14;
    const parts = t.split(max) as TopK[];
    expect(parts.map((p) => p.replicaCount())).toEqual([127, 3]);
    expect(parts.map((p) => p.encode().length)).toEqual([7 + 1 + 127 * 14, 7 + 1 + 3 * 14]);
    const joined = make(1, 1, 1);
    for (const p of parts) joined.merge(p);
    expect(joined.equals(t)).toBe(true);
    expect(t.split(max + 1)?.map((p) => p.replicaCount())).toEqual([128, 2]);
  });
});

describe('TopK.decode errors', () => {
  const header = (k: number, live: number): ByteWriter => new ByteWriter().u8(SKETCH_CODEC_VERSION).u8(TypeTag.TopK).uvarint(k).uvarint(1).uvarint(1).uvarint(0).u8(live);
  /** One replica 'a:1' with its single cell 3 (width 1, depth 1), then the candidates given. */
  const oneRecord = (k: number, live: number, cands: (string | Uint8Array)[], count = cands.length): Uint8Array => {
    const w = header(k, live).uvarint(1).string('a:1').uvarint(1).uvarint(0).uvarint(1).uvarint(3).uvarint(count);
    for (const c of cands) w.lenBytes(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    return w.finish();
  };
  const decodeError = (b: Uint8Array): string => refusal(TopK.decode(b));

  it('reads a valid hand-made encoding back to the same bytes', () => {
    const good = oneRecord(2, 1, ['x', 'y']);
    const t = unwrap(TopK.decode(good));
    expect(t.encode()).toStrictEqual(good);
    expect(candidates(t)).toEqual({ 'a:1': ['x', 'y'] });
    expect(listed(t)).toEqual(['x=3', 'y=3']);
  });

  it('names the type and the field in every error', () => {
    expect(decodeError(new Uint8Array(0))).toBe('CODEC_TRUNCATED: TopK: empty input');
    expect(decodeError(Uint8Array.from([SKETCH_CODEC_VERSION]))).toBe('CODEC_TRUNCATED: TopK: missing type tag');
    expect(decodeError(header(0, 1).uvarint(0).finish())).toBe('CODEC_INVALID: TopK: k 0 outside 1..1000 at byte 3');
    expect(decodeError(header(1001, 1).uvarint(0).finish())).toBe('CODEC_INVALID: TopK: k 1001 outside 1..1000 at byte 4');
    expect(decodeError(header(2, 2).uvarint(0).finish())).toBe('CODEC_INVALID: TopK: created flag 2 outside 0..1 at byte 7');
    expect(decodeError(oneRecord(2, 0, ['x']))).toBe('CODEC_INVALID: TopK: a deleted Top-K holds counts at byte 16');
    expect(decodeError(oneRecord(1, 1, ['a', 'b', 'c']))).toBe('CODEC_INVALID: TopK: candidate count 3 outside 0..2 at byte 17');
    expect(decodeError(oneRecord(2, 1, ['x', new Uint8Array(0)]))).toBe('CODEC_INVALID: TopK: empty item at byte 20');
    expect(decodeError(oneRecord(2, 1, ['y', 'x']))).toBe('CODEC_INVALID: TopK: candidates not sorted or duplicated at byte 21');
    expect(decodeError(oneRecord(2, 1, ['x', 'x']))).toBe('CODEC_INVALID: TopK: candidates not sorted or duplicated at byte 21');
    expect(decodeError(oneRecord(2, 1, ['x'], 2))).toBe('CODEC_TRUNCATED: TopK: truncated at byte 19');
  });
});
