// The slot table of src/crdt/g-counter.ts at its edges: misuse errors and their messages, the
// checks of mergeSlot, equality field by field, the exact switch between number and bigint at
// 2^53 - 1 in both directions, and split's parts that fill their frames (greedy and exact) for
// every frame size, whatever the ids (ASCII or not) and slot kinds.
import { describe, expect, it } from 'vitest';
import { GCounter } from '../../src/crdt/g-counter.js';
import { assertReplicaId, COUNTER_MAX, notIntegerError, overflowError } from '../../src/crdt/counter-base.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';

const MAX = COUNTER_MAX;

function throwsMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'no throw';
}

describe('counter misuse', () => {
  it('replica ids: non-empty strings of at most 255 UTF-8 bytes, well-formed', () => {
    expect(throwsMessage(() => assertReplicaId(''))).toBe('RangeError: replica id must be a non-empty string');
    expect(throwsMessage(() => assertReplicaId(7 as unknown as string))).toBe('RangeError: replica id must be a non-empty string');
    expect(throwsMessage(() => assertReplicaId('é'.repeat(128)))).toBe('RangeError: replica id is 256 UTF-8 bytes; at most 255 allowed');
    expect(throwsMessage(() => assertReplicaId('x'.repeat(256)))).toBe('RangeError: replica id is 256 UTF-8 bytes; at most 255 allowed');
    expect(throwsMessage(() => assertReplicaId(`a${'\ud800'}`))).toBe('RangeError: replica id is not well-formed UTF-16 (lone surrogate)');
    for (const ok of ['a', 'x'.repeat(85), 'x'.repeat(86), 'x'.repeat(255), 'é'.repeat(127), '\u{1F600}:1']) expect(() => assertReplicaId(ok)).not.toThrow();
  });

  it('replica ids: the one last passed is not checked again, and every other still is, after a pass or a failure', () => {
    const bad = `a${'\ud800'}`;
    for (let i = 0; i < 2; i++) {
      expect(() => assertReplicaId('n1:7')).not.toThrow();
      expect(throwsMessage(() => assertReplicaId(''))).toBe('RangeError: replica id must be a non-empty string');
      expect(throwsMessage(() => assertReplicaId(undefined as unknown as string))).toBe('RangeError: replica id must be a non-empty string');
      expect(throwsMessage(() => assertReplicaId(bad))).toBe('RangeError: replica id is not well-formed UTF-16 (lone surrogate)');
      expect(throwsMessage(() => assertReplicaId(bad))).toBe('RangeError: replica id is not well-formed UTF-16 (lone surrogate)');
      expect(() => assertReplicaId('n1:7')).not.toThrow();
      expect(throwsMessage(() => assertReplicaId('x'.repeat(256)))).toBe('RangeError: replica id is 256 UTF-8 bytes; at most 255 allowed');
    }
  });

  it('errors say what and why', () => {
    expect(notIntegerError(1.5).message).toBe('amount 1.5 is not a safe integer');
    expect(notIntegerError(1.5).code).toBe('COUNTER_NOT_INTEGER');
    expect(overflowError('the value').message).toBe('the value would leave the supported range [-(2^53-1), 2^53-1]');
    const g = new GCounter();
    g.increment('a:1', MAX);
    const v = g.increment('b:1', 1);
    expect(v.ok ? 'ok' : v.error.message).toBe('the value would leave the supported range [-(2^53-1), 2^53-1]');
    const h = new GCounter();
    h.increment('a:1', MAX);
    h.reset();
    const s = h.increment('a:1', 1);
    expect(s.ok ? 'ok' : s.error.message).toBe("replica a:1's slot would leave the supported range [-(2^53-1), 2^53-1]");
    const d = g.increment('a:1', -1);
    expect(d.ok ? 'ok' : d.error.message).toBe('a G-Counter cannot be decremented');
    expect(throwsMessage(() => new GCounter().merge(new PNCounter() as unknown as GCounter))).toBe('TypeError: cannot merge a PNCounter with a GCounter');
    expect(throwsMessage(() => new GCounter().split(0))).toBe('RangeError: maxBytes must be a positive integer, got 0');
    expect(throwsMessage(() => new GCounter().split(1.5))).toBe('RangeError: maxBytes must be a positive integer, got 1.5');
  });

  it('an increment by 0 creates no slot', () => {
    const g = new GCounter();
    expect(g.increment('a:1', 0).ok).toBe(true);
    expect(g.replicaCount()).toBe(0);
    expect(g.encode()).toEqual(new GCounter().encode());
  });

  it('mergeSlot refuses slots that break the invariants, and checks the id of a new slot only', () => {
    const bad: [number, number, number, number][] = [
      [1.5, 0, 0, 0],
      [1, 0.5, 0, 0],
      [1, -1, 0, 0],
      [1, 2, 0, 0],
      [2 ** 53, 0, 0, 0],
      [0, 0, 1.5, 0],
      [0, 0, 1, 0.5],
      [0, 0, 1, -1],
      [0, 0, 1, 2],
      [0, 0, 2 ** 53, 0],
    ];
    for (const [p, fp, n, fn] of bad) {
      const c = new PNCounter();
      expect(throwsMessage(() => c.mergeSlot('a:1', p, fp, n, fn))).toBe(`RangeError: invalid slot for a:1: p=${p} fp=${fp} n=${n} fn=${fn}`);
      expect(c.replicaCount()).toBe(0);
    }
    expect(throwsMessage(() => new GCounter().mergeSlot('a:1', 1, 0, 1, 0))).toBe('RangeError: invalid slot for a:1: p=1 fp=0 n=1 fn=0');
    // A slot with counts gets its id checked; an all-zero one is nothing and is not.
    const c = new PNCounter();
    expect(() => c.mergeSlot('', 1, 0)).toThrow(RangeError);
    expect(() => c.mergeSlot('', 0, 0, 1, 0)).toThrow(RangeError);
    expect(() => c.mergeSlot('x'.repeat(256), 0, 0, 2, 1)).toThrow(RangeError);
    expect(() => c.mergeSlot('', 0, 0)).not.toThrow();
    expect(c.replicaCount()).toBe(0);
    c.mergeSlot('a:1', 0, 0, 3, 1);
    expect(c.slotOf('a:1')).toEqual({ id: 'a:1', p: 0, fp: 0, n: 3, fn: 1 });
  });
});

describe('counter state', () => {
  it('exists while any lane is above its floor, decrements alone included', () => {
    const c = new PNCounter();
    expect(c.exists()).toBe(false);
    c.decrement('a:1', 2);
    expect(c.exists()).toBe(true);
    c.reset();
    expect(c.exists()).toBe(false);
  });

  it('merging a counter into itself changes nothing and says so', () => {
    const c = new PNCounter();
    c.increment('a:1', 2);
    c.decrement('b:1', 1);
    expect(c.merge(c)).toBe(false);
    expect(c.value()).toBe(1);
  });

  it('equals compares every slot field and id', () => {
    const base = (): PNCounter => {
      const c = new PNCounter();
      c.mergeSlot('a:1', 5, 2, 7, 3);
      return c;
    };
    expect(base().equals(base())).toBe(true);
    for (const [p, fp, n, fn] of [
      [6, 2, 7, 3],
      [5, 1, 7, 3],
      [5, 2, 8, 3],
      [5, 2, 7, 4],
    ] as const) {
      const o = new PNCounter();
      o.mergeSlot('a:1', p, fp, n, fn);
      expect(base().equals(o), `${p} ${fp} ${n} ${fn}`).toBe(false);
      expect(o.equals(base())).toBe(false);
    }
    const other = new PNCounter();
    other.mergeSlot('b:1', 5, 2, 7, 3);
    expect(base().equals(other)).toBe(false);
  });

  it('byteSize holds the first slot in the counter, and grows by an array of its floors and five cells and its id per other replica', () => {
    const empty = new GCounter().byteSize();
    const g = new GCounter();
    g.increment('abc', 1);
    const one = g.byteSize();
    expect(one).toBe(empty + 3); // one replica: its values are the counter's fields, only its id is more
    const h = new GCounter();
    h.increment('abcdefgh', 1);
    expect(h.byteSize()).toBe(one + 5);
    g.increment('b', 1);
    expect(g.byteSize()).toBe(one + 1 + 48 + 16 + 40); // the array: the first slot's floors, then the other slot's five cells
  });

  it("keeps the first slot's floors in an array made only once one is above 0, through resets, local writes, merges and folds", () => {
    const c = new PNCounter();
    c.increment('a:1', 5);
    c.decrement('a:1', 2);
    const one = c.byteSize();
    expect(one).toBe(56 + 3); // no floors: the object alone
    c.reset();
    expect(c.value()).toBe(0);
    expect(c.exists()).toBe(false);
    expect(c.slotOf('a:1')).toEqual({ id: 'a:1', p: 5, fp: 5, n: 2, fn: 2 });
    expect(c.byteSize()).toBe(one + 48 + 16); // the floors' two cells
    c.increment('a:1', 4);
    expect(c.value()).toBe(4);
    expect(c.slotOf('a:1')).toEqual({ id: 'a:1', p: 9, fp: 5, n: 2, fn: 2 });
    // Another replica's slot goes behind the floors; a local write by it swaps the two, floors and all.
    c.mergeSlot('b:1', 7, 3, 1, 0);
    expect(c.value()).toBe(4 + 4 + 1 * -1);
    c.increment('b:1', 2);
    expect(c.slotOf('a:1')).toEqual({ id: 'a:1', p: 9, fp: 5, n: 2, fn: 2 });
    expect(c.slotOf('b:1')).toEqual({ id: 'b:1', p: 9, fp: 3, n: 1, fn: 0 });
    expect(c.value()).toBe(4 + 6 - 1);
    const back = PNCounter.decode(c.encode());
    expect(back.ok && back.value.equals(c) && c.clone().equals(c)).toBe(true);
    // Folding the first slot away moves the other into the first place with its own floors.
    expect(c.foldSlot('b:1', 'a:1')).toBe(true);
    expect(c.slotIds()).toEqual(['a:1']);
    expect(c.slotOf('a:1')).toEqual({ id: 'a:1', p: 18, fp: 8, n: 3, fn: 2 });
    expect(c.value()).toBe(9);
    expect(c.byteSize()).toBe(one + 48 + 16);
    // A fold into a replica with no slot leaves no floors of the old first slot behind.
    const d = new GCounter();
    d.mergeSlot('x:1', 4, 0);
    expect(d.foldSlot('x:1', 'y:1')).toBe(true);
    expect(d.slotOf('y:1')).toEqual({ id: 'y:1', p: 4, fp: 0, n: 0, fn: 0 });
    expect(d.byteSize()).toBe(56 + 3);
    const e = new GCounter();
    e.mergeSlot('x:1', 4, 4);
    expect(e.foldSlot('x:1', 'y:1')).toBe(true);
    expect(e.slotOf('y:1')).toEqual({ id: 'y:1', p: 4, fp: 4, n: 0, fn: 0 });
    expect(e.byteSize()).toBe(56 + 3 + 48 + 16);
    // A slot behind the first folded into a replica with none: the first slot stays as it was.
    const f = new PNCounter();
    f.mergeSlot('a:1', 9, 2, 1, 1);
    f.mergeSlot('b:1', 5, 3, 4, 0);
    expect(f.foldSlot('b:1', 'c:1')).toBe(true);
    expect(f.slotIds().sort()).toEqual(['a:1', 'c:1']);
    expect(f.slotOf('a:1')).toEqual({ id: 'a:1', p: 9, fp: 2, n: 1, fn: 1 });
    expect(f.slotOf('c:1')).toEqual({ id: 'c:1', p: 5, fp: 3, n: 4, fn: 0 });
    expect(f.value()).toBe(7 + (5 - 3) - 4);
    // Into an invalid id: misuse, refused before anything moves.
    expect(() => f.foldSlot('c:1', '')).toThrow(RangeError);
    expect(f.slotIds().sort()).toEqual(['a:1', 'c:1']);
    // No slot, no ids; one slot each under different ids: not equal.
    const ids = new Set<string>();
    new PNCounter().addSlotIdsTo(ids);
    expect(ids.size).toBe(0);
    const x = new GCounter();
    x.mergeSlot('x:1', 1, 0);
    const y = new GCounter();
    y.mergeSlot('y:1', 1, 0);
    expect(x.equals(y)).toBe(false);
  });

  it('sums past 2^53-1 in increments and in decrements are held apart, each back to a number on its own', () => {
    const M = Number.MAX_SAFE_INTEGER;
    for (const incrementsFirst of [true, false]) {
      const c = new PNCounter();
      c.mergeSlot('a:1', M, 0, M, 0);
      c.mergeSlot('b:1', 5, 0, 7, 0);
      // Both sums past 2^53-1 (M + 5 and M + 7): the value is still exact.
      expect(c.value()).toBe(-2);
      // One side's reset (b's floor rises) brings that sum back to a number; the other stays past it.
      if (incrementsFirst) {
        c.mergeSlot('b:1', 5, 5, 7, 0);
        expect(c.value()).toBe(M - (M + 7)); // -7: M against M + 7
      } else {
        c.mergeSlot('b:1', 5, 0, 7, 7);
        expect(c.value()).toBe(M + 5 - M); // 5: M + 5 against M
      }
      // Then the other side's: both numbers.
      c.mergeSlot('b:1', 5, 5, 7, 7);
      expect(c.value()).toBe(0);
      expect(c.exists()).toBe(true);
      const back = PNCounter.decode(c.encode());
      expect(back.ok && back.value.equals(c) && back.value.value() === 0).toBe(true);
      // A clone holds its own sums: taking it past the range leaves the original as it was.
      const d = c.clone();
      d.mergeSlot('c:1', M, 0, 0, 0);
      expect(d.value()).toBe(M);
      d.mergeSlot('e:1', 3, 0, 0, 0);
      expect(d.value()).toBe(BigInt(M) + 3n);
      expect(c.value()).toBe(0);
      // A reset after the sums came back leaves nothing of them, nor of the clone's past the range.
      for (const x of [c, d]) {
        x.reset();
        expect(x.exists()).toBe(false);
        expect(x.value()).toBe(0);
      }
    }
  });

  it('a counter that holds no slot names none, and its empty first place never matches an id', () => {
    for (const c of [new GCounter(), new PNCounter()]) {
      expect(c.slotIds()).toEqual([]);
      expect(c.replicaCount()).toBe(0);
      expect(c.entries()).toEqual([]);
      // Merging it into another, or another into it, adds no slot named ''.
      const one = new PNCounter();
      one.incrementInPlace('a:1', 2);
      if (c instanceof PNCounter) {
        expect(one.merge(c)).toBe(false);
        expect(c.merge(one)).toBe(true);
        expect(c.slotIds()).toEqual(['a:1']);
      }
    }
    expect(new GCounter().slotOf('')).toEqual({ id: '', p: 0, fp: 0, n: 0, fn: 0 });
    expect(new GCounter().foldSlot('', 'a:1')).toBe(false);
  });

  it('holds, finds, moves and folds slots alike whether its other slots are searched (up to 8) or indexed (beyond)', () => {
    const ids = Array.from({ length: 14 }, (_, i) => `r${String(i).padStart(2, '0')}:1`);
    const g = new PNCounter();
    let sum = 0;
    ids.forEach((id, i) => {
      g.mergeSlot(id, 10 * (i + 1), i, 2 * i, i);
      sum += 10 * (i + 1) - i - (2 * i - i);
      expect(g.replicaCount()).toBe(i + 1);
      expect(g.value()).toBe(sum);
      // Every slot so far is found, by a search or through the index.
      for (let j = 0; j <= i; j++) expect(g.slotOf(ids[j] as string).p).toBe(10 * (j + 1));
      const back = PNCounter.decode(g.encode());
      expect(back.ok && back.value.equals(g)).toBe(true);
      expect(g.clone().equals(g)).toBe(true);
    });
    expect(new Set(g.slotIds())).toEqual(new Set(ids));
    // A local write to an indexed slot moves it to the first place, and the old first into its cells.
    const inc = g.increment('r11:1', 5);
    expect(inc.ok).toBe(true);
    sum += 5;
    expect(g.value()).toBe(sum);
    expect(g.slotOf('r11:1').p).toBe(125);
    expect(g.replicaCount()).toBe(14);
    // Folding every slot into r00:1, one by one (first and others alike), keeps the value.
    for (const id of ['r11:1', ...ids.filter((x) => x !== 'r11:1' && x !== 'r00:1')]) {
      expect(g.foldSlot(id, 'r00:1')).toBe(true);
      expect(g.slotOf(id)).toEqual({ id, p: 0, fp: 0, n: 0, fn: 0 });
      expect(g.value()).toBe(sum);
    }
    expect(g.slotIds()).toEqual(['r00:1']);
    expect(g.replicaCount()).toBe(1);
    const back = PNCounter.decode(g.encode());
    expect(back.ok && back.value.equals(g) && back.value.value() === sum).toBe(true);
    // Nothing is left of the array or its index but the floors: the same size as a counter that only ever had that slot.
    const lone = new PNCounter();
    const s = g.slotOf('r00:1');
    expect(s.fp).toBeGreaterThan(0);
    lone.mergeSlot('r00:1', s.p, s.fp, s.n, s.fn);
    expect(g.byteSize()).toBe(lone.byteSize());
  });

  it('byteSize counts the array of other slots, then its index with an entry per slot, and nothing once they are folded away', () => {
    const g = new GCounter();
    const ids = Array.from({ length: 12 }, (_, i) => `r${String(i).padStart(2, '0')}:1`);
    ids.forEach((id) => g.mergeSlot(id, 1, 0));
    expect(g.byteSize()).toBe(56 + 5 + 48 + 16 + 11 * (40 + 5) + 96 + 16 * 11); // 11 others: the array and its index
    const edge = new GCounter();
    ids.slice(0, 9).forEach((id) => edge.mergeSlot(id, 1, 0));
    expect(edge.byteSize()).toBe(56 + 5 + 48 + 16 + 8 * (40 + 5)); // 8 others: no index yet
    edge.mergeSlot('r09:1', 1, 0);
    expect(edge.byteSize()).toBe(56 + 5 + 48 + 16 + 9 * (40 + 5) + 96 + 16 * 9); // the 9th other: the index
    const small = new GCounter();
    ids.slice(0, 3).forEach((id) => small.mergeSlot(id, 1, 0));
    expect(small.byteSize()).toBe(56 + 5 + 48 + 16 + 2 * (40 + 5));
    expect(small.foldSlot('r01:1', 'r00:1')).toBe(true);
    expect(small.foldSlot('r02:1', 'r00:1')).toBe(true);
    expect(small.byteSize()).toBe(56 + 5); // the array is gone with its last slot
    expect(small.value()).toBe(3);
  });

  it('merge reports a change made only in an indexed slot of the other counter, and none the second time', () => {
    const a = new PNCounter();
    const ids = Array.from({ length: 12 }, (_, i) => `r${String(i).padStart(2, '0')}:1`);
    ids.forEach((id) => a.mergeSlot(id, 1, 0));
    const b = a.clone();
    b.mergeSlot('r07:1', 9, 0); // not first in b, and past the searched slots of its array: indexed
    expect(a.merge(b)).toBe(true);
    expect(a.slotOf('r07:1').p).toBe(9);
    expect(a.value()).toBe(20);
    expect(a.merge(b)).toBe(false);
  });

  it('entries come out sorted by id, whatever the insertion order', () => {
    const ids = Array.from({ length: 100 }, (_, i) => `n${String((i * 37) % 100).padStart(3, '0')}:1`);
    const c = new GCounter();
    for (const id of ids) c.increment(id, 1);
    expect(c.entries().map((e) => e.id)).toEqual([...ids].sort());
  });
});

describe('the switch between number and bigint at 2^53 - 1', () => {
  it('a total of exactly 2^53 - 1 is a number; one more is a bigint; back at 2^53 - 1 a number again', () => {
    const g = new GCounter();
    g.mergeSlot('a:1', MAX - 1, 0);
    g.mergeSlot('b:1', 1, 0);
    expect(g.value()).toBe(MAX);
    g.mergeSlot('c:1', 1, 0);
    expect(g.value()).toBe(BigInt(MAX) + 1n);
    // A floor raised by a merge (an observed reset of c's 1) takes it back into range, exactly.
    g.mergeSlot('c:1', 1, 1);
    expect(g.value()).toBe(MAX);
    g.mergeSlot('d:1', 2, 0);
    expect(g.value()).toBe(BigInt(MAX) + 2n);
    g.mergeSlot('d:1', 2, 1);
    expect(g.value()).toBe(BigInt(MAX) + 1n);
  });

  it('the same for decrements', () => {
    const c = new PNCounter();
    c.mergeSlot('a:1', 0, 0, MAX - 1, 0);
    c.mergeSlot('b:1', 0, 0, 1, 0);
    expect(c.value()).toBe(-MAX);
    c.mergeSlot('c:1', 0, 0, 1, 0);
    expect(c.value()).toBe(-(BigInt(MAX) + 1n));
    c.mergeSlot('c:1', 0, 0, 1, 1);
    expect(c.value()).toBe(-MAX);
  });
});

describe('split fills its frames', () => {
  type Slot = { id: string; p: number; fp: number; n: number; fn: number };
  const isLive = (e: Slot): boolean => e.p > e.fp || e.n > e.fn;
  /** Slots in the order split takes them: live ones first, each group by id. */
  const splitOrder = (es: Slot[]): Slot[] => [...es.filter(isLive), ...es.filter((e) => !isLive(e))];

  /** Checks parts for every frame size: each fits, joins back to the whole, and no part could take the next slot. */
  function checkEveryFrame(whole: GCounter | PNCounter): void {
    const size = whole.encode().length;
    expect(whole.split(size)?.[0]).toBe(whole); // fits: the whole itself
    for (let maxBytes = 1; maxBytes < size; maxBytes++) {
      const parts = whole.split(maxBytes) as (GCounter | PNCounter)[] | undefined;
      const slotFits = whole.entries().every((e) => {
        const one = whole.slice([e.id]);
        return one.encode().length <= maxBytes;
      });
      expect(parts !== undefined, `maxBytes ${maxBytes}`).toBe(slotFits);
      if (parts === undefined) continue;
      expect(parts.length).toBeGreaterThan(1);
      const joined = whole.clone();
      joined.reset();
      const merged = new (whole.constructor as new () => GCounter | PNCounter)();
      for (const p of parts) {
        expect(p.encode().length, `maxBytes ${maxBytes}`).toBeLessThanOrEqual(maxBytes);
        merged.merge(p as never);
      }
      expect(merged.equals(whole as never)).toBe(true);
      // Greedy: the next part's first slot (in split order: live slots first, then by id) would not have fit in this part.
      for (let i = 0; i + 1 < parts.length; i++) {
        const cur = parts[i] as GCounter | PNCounter;
        const next = splitOrder((parts[i + 1] as GCounter | PNCounter).entries())[0];
        if (next === undefined) throw new Error('empty part');
        const grown = cur.clone();
        grown.mergeSlot(next.id, next.p, next.fp, next.n, next.fn);
        expect(grown.encode().length, `maxBytes ${maxBytes}, part ${i}`).toBeGreaterThan(maxBytes);
      }
    }
  }

  it('a G-Counter with every slot kind and non-ASCII ids', () => {
    const g = new GCounter();
    g.mergeSlot('a:1', 100, 0); // kind 1
    g.mergeSlot('b:1', 100, 100); // kind 2
    g.mergeSlot('c:1', 100, 50); // kind 3: p + f would need 2 bytes, p - f needs 1
    g.mergeSlot('é:1', 20_000, 10); // a 2-byte character
    g.mergeSlot('日本:1', 7, 3);
    g.mergeSlot('日本', 8, 0); // no ASCII at all
    g.mergeSlot('z'.repeat(40), 3, 0);
    checkEveryFrame(g);
  });

  it('ids without any ASCII character round-trip', () => {
    const g = new GCounter();
    g.increment('日本', 3);
    g.increment('é', 4);
    const r = GCounter.decode(g.encode());
    expect(r.ok && r.value.entries()).toEqual(g.entries());
    expect(g.encode().length).toBe(3 + (1 + 6 + 1) + (1 + 2 + 1));
  });

  it('a PN-Counter with both lanes in every kind', () => {
    const c = new PNCounter();
    c.mergeSlot('a:1', 100, 50, 0, 0);
    c.mergeSlot('b:1', 0, 0, 100, 50);
    c.mergeSlot('c:1', 300, 300, 70, 0);
    c.mergeSlot('ü:1', 9, 0, 9, 9);
    c.mergeSlot('d'.repeat(30), 1, 0, 1, 0);
    checkEveryFrame(c);
  });

  it('a part of more than 127 slots counts its 2-byte entry count', () => {
    const g = new GCounter();
    for (let i = 0; i < 300; i++) g.mergeSlot(`r${String(i).padStart(3, '0')}`, 1 + i, 0);
    for (const maxBytes of [600, 800, 1000, 1200, 1500, 2000]) {
      const parts = g.split(maxBytes) as GCounter[];
      for (const p of parts) expect(p.encode().length).toBeLessThanOrEqual(maxBytes);
      for (let i = 0; i + 1 < parts.length; i++) {
        const next = (parts[i + 1] as GCounter).entries()[0] as { id: string; p: number; fp: number };
        const grown = (parts[i] as GCounter).clone();
        grown.mergeSlot(next.id, next.p, next.fp);
        expect(grown.encode().length).toBeGreaterThan(maxBytes);
      }
    }
  });

  it('live slots first: a slot live by its decrements alone comes before reset slots', () => {
    const c = new PNCounter();
    c.mergeSlot('a:1', 5, 5, 0, 0); // reset: not live
    c.mergeSlot('b:1', 5, 5, 0, 0);
    c.mergeSlot('z:1', 0, 0, 4, 1); // live by decrements
    // 9 bytes: a header and one slot per part (z's is the largest, 6 bytes).
    const parts = c.split(9) as PNCounter[];
    expect(parts.map((p) => p.entries().map((e) => e.id))).toEqual([['z:1'], ['a:1'], ['b:1']]);
    expect(parts.map((p) => p.exists())).toEqual([true, false, false]);
  });
});
