// ReplyGate without sockets: items wait for their gate and for every item held before them, leave in
// order, a rejected gate fails once and drops everything after it, afterHeld runs after the held items.

import { describe, expect, it } from 'vitest';
import { ReplyGate } from '../../src/server/reply-gate.js';

/** A promise the test settles by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Lets every settled promise's callbacks run. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function gate(): { g: ReplyGate<string>; out: string[]; failures: unknown[] } {
  const out: string[] = [];
  const failures: unknown[] = [];
  const g = new ReplyGate<string>({ release: (x) => out.push(x), fail: (e) => failures.push(e), size: (x) => x.length });
  return { g, out, failures };
}

describe('ReplyGate', () => {
  it('is idle with nothing held, and runs afterHeld at once then', () => {
    const { g } = gate();
    expect(g.idle).toBe(true);
    let ran = false;
    g.afterHeld(() => (ran = true));
    expect(ran).toBe(true);
  });

  it('holds an item until its gate opens, counting items and sizes', async () => {
    const { g, out } = gate();
    const d = deferred();
    g.hold('abc', d.promise);
    expect([g.idle, g.held, g.heldSize]).toEqual([false, 1, 3]);
    await settle();
    expect(out).toEqual([]);
    d.resolve();
    await settle();
    expect(out).toEqual(['abc']);
    expect([g.idle, g.held, g.heldSize]).toEqual([true, 0, 0]);
  });

  it('releases in hold order: an item without a gate, or with an earlier-opening one, waits its turn', async () => {
    const { g, out } = gate();
    const first = deferred();
    const second = deferred();
    g.hold('1', first.promise);
    g.hold('2', undefined);
    g.hold('3', second.promise);
    second.resolve();
    await settle();
    expect(out).toEqual([]);
    first.resolve();
    await settle();
    expect(out).toEqual(['1', '2', '3']);
  });

  it('many items may share one gate (one group commit)', async () => {
    const { g, out } = gate();
    const d = deferred();
    for (const x of ['a', 'b', 'c']) g.hold(x, d.promise);
    d.resolve();
    await settle();
    expect(out).toEqual(['a', 'b', 'c']);
  });

  it('a rejected gate fails once and drops its item and every later one, released or not', async () => {
    const { g, out, failures } = gate();
    const ok = deferred();
    const bad = deferred();
    g.hold('before', ok.promise);
    g.hold('failed', bad.promise);
    g.hold('after', undefined);
    g.hold('after-too', bad.promise);
    ok.resolve();
    await settle();
    expect(out).toEqual(['before']);
    bad.reject(new Error('disk on fire'));
    await settle();
    expect(out).toEqual(['before']);
    expect(failures).toHaveLength(1);
    expect((failures[0] as Error).message).toBe('disk on fire');
    g.hold('later', undefined);
    await settle();
    expect(out).toEqual(['before']);
    expect(failures).toHaveLength(1);
    expect(g.idle).toBe(true);
  });

  it('afterHeld runs after the items held before it, whether released or dropped', async () => {
    const { g, out } = gate();
    const d = deferred();
    g.hold('reply', d.promise);
    g.afterHeld(() => out.push('close'));
    await settle();
    expect(out).toEqual([]);
    d.resolve();
    await settle();
    expect(out).toEqual(['reply', 'close']);

    const { g: g2, out: out2 } = gate();
    const bad = deferred();
    g2.hold('reply', bad.promise);
    g2.afterHeld(() => out2.push('close'));
    bad.reject(new Error('x'));
    await settle();
    expect(out2).toEqual(['close']);
  });
});
