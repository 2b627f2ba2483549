// Waiting for replicas without I/O (src/replication/waiters.ts): a write waiter resolves once enough
// peers hold its version, and at its deadline with ok only if enough do by then; a read waiter needs
// distinct responders and fails at its deadline. Deadlines are virtual (the host's clock), inclusive.
import { describe, expect, it } from 'vitest';
import { Waiters, type WaitOutcome } from '../../src/replication/waiters.js';

function recorder(): { outcomes: WaitOutcome[]; done: (o: WaitOutcome) => void } {
  const outcomes: WaitOutcome[] = [];
  return { outcomes, done: (o) => outcomes.push(o) };
}

describe('Waiters', () => {
  it('a write already held by enough peers resolves at once, and waits for nothing', () => {
    const w = new Waiters();
    const r = recorder();
    w.waitWrite(5, 2, 100, () => 2, r.done);
    expect(r.outcomes).toEqual([{ ok: true, count: 2, needed: 2 }]);
    expect(w.pending).toBe(0);
    expect(w.nextDeadline()).toBe(Infinity);
  });

  it('a write waits until a recheck finds enough holders of its version', () => {
    const w = new Waiters();
    const held = new Map<number, number>([
      [5, 1],
      [9, 0],
    ]);
    const count = (v: number): number => held.get(v) ?? 0;
    const a = recorder();
    const b = recorder();
    w.waitWrite(5, 2, 1000, count, a.done);
    w.waitWrite(9, 1, 2000, count, b.done);
    expect(w.pending).toBe(2);
    w.recheckWrites(count);
    expect(a.outcomes).toEqual([]);
    held.set(5, 2);
    w.recheckWrites(count);
    expect(a.outcomes).toEqual([{ ok: true, count: 2, needed: 2 }]);
    expect(b.outcomes).toEqual([]);
    expect(w.pending).toBe(1);
    held.set(9, 3);
    w.recheckWrites(count);
    expect(b.outcomes).toEqual([{ ok: true, count: 3, needed: 1 }]);
    expect(w.pending).toBe(0);
    w.recheckWrites(count); // nothing left: no second answer
    expect(a.outcomes).toHaveLength(1);
    expect(b.outcomes).toHaveLength(1);
  });

  it('a write ends at its deadline (inclusive), ok only if enough peers hold it by then', () => {
    const w = new Waiters();
    const a = recorder();
    const b = recorder();
    w.waitWrite(1, 3, 1000, () => 0, a.done);
    w.waitWrite(2, 3, 1500, () => 0, b.done);
    expect(w.nextDeadline()).toBe(1000);
    w.expire(999, () => 1);
    expect(a.outcomes).toEqual([]);
    w.expire(1000, () => 1);
    expect(a.outcomes).toEqual([{ ok: false, count: 1, needed: 3 }]);
    expect(w.nextDeadline()).toBe(1500);
    // Enough holders at the deadline, though no recheck came: ok.
    w.expire(1500, () => 3);
    expect(b.outcomes).toEqual([{ ok: true, count: 3, needed: 3 }]);
    expect(w.pending).toBe(0);
  });

  it('a read needs distinct responders; a repeated answer or one for another read does not count', () => {
    const w = new Waiters();
    const r = recorder();
    const id = w.waitRead(2, 500, r.done);
    const other = w.waitRead(1, 800, () => {});
    expect(other).not.toBe(id);
    w.readAnswered(id, 'b');
    w.readAnswered(id, 'b');
    w.readAnswered(id + 1000, 'c');
    expect(r.outcomes).toEqual([]);
    expect(w.pending).toBe(2);
    w.readAnswered(id, 'c');
    expect(r.outcomes).toEqual([{ ok: true, count: 2, needed: 2 }]);
    expect(w.pending).toBe(1);
    w.readAnswered(id, 'd'); // after it resolved: ignored
    expect(r.outcomes).toHaveLength(1);
    expect(w.nextDeadline()).toBe(800);
  });

  it('a read that needs nobody resolves at once; one short of responders fails at its deadline', () => {
    const w = new Waiters();
    const zero = recorder();
    const id0 = w.waitRead(0, 100, zero.done);
    expect(zero.outcomes).toEqual([{ ok: true, count: 0, needed: 0 }]);
    expect(w.pending).toBe(0);
    const r = recorder();
    const id = w.waitRead(3, 100, r.done);
    expect(id).toBeGreaterThan(id0);
    w.readAnswered(id, 'b');
    w.expire(99, () => 0);
    expect(r.outcomes).toEqual([]);
    w.expire(100, () => 0);
    expect(r.outcomes).toEqual([{ ok: false, count: 1, needed: 3 }]);
    expect(w.pending).toBe(0);
    expect(w.nextDeadline()).toBe(Infinity);
  });

  it('the next deadline is the earliest of writes and reads', () => {
    const w = new Waiters();
    w.waitRead(1, 700, () => {});
    w.waitWrite(1, 1, 900, () => 0, () => {});
    expect(w.nextDeadline()).toBe(700);
    w.waitWrite(1, 1, 300, () => 0, () => {});
    expect(w.nextDeadline()).toBe(300);
    w.waitRead(1, 200, () => {});
    expect(w.nextDeadline()).toBe(200);
    expect(w.pending).toBe(4);
  });
});
