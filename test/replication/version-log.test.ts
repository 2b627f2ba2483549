// The version log's local path (src/replication/version-log.ts, `recordLocal`): a local change that
// replaces the key's entry in place when it is the log's last must leave the log exactly as recording
// it and advancing `known` would, for every range a peer may ask for, since peers are sent what a scan
// finds. Remote entries mixed in (another origin's) must not be touched.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VersionLog } from '../../src/replication/version-log.js';
import type { KeyIds } from '../../src/replication/version-column.js';

function scans(log: VersionLog, origin: string, top: number): [string, number][][] {
  const out: [string, number][][] = [];
  for (let after = 0; after <= top; after++) {
    const seen: [string, number][] = [];
    log.scan(origin, after, (k, v) => {
      seen.push([k, v]);
      return true;
    });
    out.push(seen);
  }
  return out;
}

describe('recordLocal', () => {
  it('leaves every scan, known version and entry count as record-then-advance does', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.array(fc.record({ key: fc.integer({ min: 0, max: 4 }), remote: fc.boolean() }), { minLength: 1, maxLength: 200 }), (ops) => {
        runs++;
        const fast = new VersionLog(false, 'me:1');
        const slow = new VersionLog(false, 'me:1');
        let v = 0;
        let rv = 0;
        for (const { key, remote } of ops) {
          const k = `k${key}`;
          if (remote) {
            rv++;
            for (const log of [fast, slow]) log.record('peer:1', k, rv);
            continue;
          }
          v++;
          fast.recordLocal('me:1', k, v);
          slow.record('me:1', k, v);
          slow.advance('me:1', v);
          expect(fast.known('me:1')).toBe(v);
          expect(fast.versionOf('me:1', k)).toBe(v);
        }
        expect(fast.entryCount()).toBe(slow.entryCount());
        expect(scans(fast, 'me:1', v)).toEqual(scans(slow, 'me:1', v));
        expect(scans(fast, 'peer:1', rv)).toEqual(scans(slow, 'peer:1', rv));
        expect(fast.hash).toBe(slow.hash);
      }),
      { numRuns: 300 },
    );
    // It ran (the mutation config caps every property at fewer inputs, so not an exact count).
    expect(runs).toBeGreaterThan(0);
  });

  it('a hot key written a thousand times is one entry, found above any version below its last', () => {
    const log = new VersionLog(false, 'me:1');
    for (let v = 1; v <= 1000; v++) log.recordLocal('me:1', v % 100 === 0 ? `cold${v}` : 'hot', v);
    expect(log.entryCount()).toBe(11);
    const found: [string, number][] = [];
    log.scan('me:1', 995, (k, ver) => (found.push([k, ver]), true));
    expect(found).toEqual([['hot', 999], ['cold1000', 1000]]);
  });

  it('a version at or below the top of the log goes the checked way: a key never moves back to an older version', () => {
    const log = new VersionLog(false, 'me:1');
    log.recordLocal('me:1', 'a', 5);
    log.recordLocal('me:1', 'b', 6);
    log.recordLocal('me:1', 'a', 4); // older than what the log holds of 'a': ignored, as record ignores it
    expect(log.versionOf('me:1', 'a')).toBe(5);
    expect(log.entryCount()).toBe(2);
    log.recordLocal('me:1', 'c', 3); // older than the top, new key: inserted in version order
    const found: [string, number][] = [];
    log.scan('me:1', 0, (k, ver) => (found.push([k, ver]), true));
    expect(found).toEqual([['c', 3], ['a', 5], ['b', 6]]);
  });
});

describe('scanMayRepeat', () => {
  it('is false only when no scan of the origin can visit a key twice, and true once one does', () => {
    let repeated = 0;
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.integer({ min: 0, max: 6 }), version: fc.integer({ min: 1, max: 60 }), advance: fc.integer({ min: 0, max: 60 }), forget: fc.boolean() }), { minLength: 1, maxLength: 120 }),
        (ops) => {
          const log = new VersionLog(false, 'me:1');
          for (const { key, version, advance, forget } of ops) {
            if (forget && key === 0) log.forget('k0');
            else log.record('o:1', `k${key}`, version);
            log.advance('o:1', advance);
            const may = log.scanMayRepeat('o:1');
            for (let after = 0; after <= 60; after += 7) {
              const seen = new Set<string>();
              let twice = false;
              log.scan('o:1', after, (k) => {
                if (seen.has(k)) twice = true;
                seen.add(k);
                return true;
              });
              if (twice) {
                repeated++;
                expect(may).toBe(true);
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(repeated).toBeGreaterThan(0); // the property met scans that do repeat
    expect(new VersionLog().scanMayRepeat('nobody:1')).toBe(false);
  });

  it('a log of distinct keys written in order never repeats; a key written again while a peer is behind may', () => {
    const log = new VersionLog(false, 'me:1');
    for (let v = 1; v <= 100; v++) log.record('o:1', `k${v}`, v);
    expect(log.scanMayRepeat('o:1')).toBe(false);
    log.record('o:1', 'k1', 101); // k1 at 1 is superseded by 101, which lies above known (0): kept
    expect(log.scanMayRepeat('o:1')).toBe(true);
  });
});

describe('overlapping transfers', () => {
  it("an older entry that arrives after the key's newer one is kept while the newer lies above known, so a range ending at known carries the key (explorer seed 862383)", () => {
    // A relay holds o's keys up to v53. A cut chunk from o brings c1 at v56 (with its cursor); then a
    // complete range from another peer brings c1 at v54 and ends there, so known becomes 54.
    const log = new VersionLog(false, 'me:1');
    for (let v = 1; v <= 53; v++) log.record('o:1', `k${v}`, v);
    log.advance('o:1', 53);
    expect(log.record('o:1', 'c1', 56)).toBe(true);
    log.advanceCursor('o:1', 56, 'o:1', 'o-address', 0);
    expect(log.record('o:1', 'c1', 54)).toBe(true);
    expect(log.record('o:1', 'c1', 54)).toBe(false); // held already
    log.advance('o:1', 54);
    // What the relay sends a third node from 53 up to its known version: c1 must be in it.
    const upToKnown: [string, number][] = [];
    log.scan('o:1', 53, (k, v) => (v <= log.known('o:1') ? (upToKnown.push([k, v]), true) : false));
    expect(upToKnown).toEqual([['c1', 54]]);
    expect(log.versionOf('o:1', 'c1')).toBe(56);
    // Once known covers v56, the older entry is superseded by a held one: refused, and skipped by scans.
    log.advance('o:1', 56);
    expect(log.record('o:1', 'c1', 55)).toBe(false);
    const after: [string, number][] = [];
    log.scan('o:1', 53, (k, v) => (after.push([k, v]), true));
    expect(after).toEqual([['c1', 56]]);
  });

  it('an older entry is refused when held already, wherever it sits among the entries of its version', () => {
    // First in the log (index 0).
    const first = new VersionLog(false, 'me:1');
    first.record('o:1', 'a', 5);
    first.record('o:1', 'a', 9);
    expect(first.record('o:1', 'a', 5)).toBe(false);
    // Not the last of its version (the log does not rely on one key per version): b shares v5.
    const shared = new VersionLog(false, 'me:1');
    shared.record('o:1', 'a', 5);
    shared.record('o:1', 'b', 5);
    shared.record('o:1', 'a', 9);
    expect(shared.record('o:1', 'a', 5)).toBe(false);
    const all: [string, number][] = [];
    shared.scan('o:1', 0, (k, v) => (all.push([k, v]), true));
    expect(all).toEqual([['a', 5], ['b', 5], ['a', 9]]);
  });
});

describe('dropCovered', () => {
  it("drops a folded origin's entries exactly where another origin's log holds the key, and keeps its known version", () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.array(fc.record({ origin: fc.constantFrom('x:1', 'x:2', 'y:1'), key: fc.integer({ min: 0, max: 6 }) }), { maxLength: 60 }), (writes) => {
        runs++;
        const log = new VersionLog(false, 'x:2');
        const next = new Map<string, number>();
        for (const { origin, key } of writes) {
          const v = (next.get(origin) ?? 0) + 1;
          next.set(origin, v);
          log.record(origin, `k${key}`, v);
          log.advance(origin, v);
        }
        const keysOf = (o: string): string[] => {
          const out: string[] = [];
          log.scan(o, 0, (k) => (out.push(k), true));
          return out.sort();
        };
        const before = keysOf('x:1');
        const others = new Set([...keysOf('x:2'), ...keysOf('y:1')]);
        const known = log.known('x:1');
        const dropped = log.dropCovered('x:1');
        expect(keysOf('x:1')).toEqual(before.filter((k) => !others.has(k)));
        expect(dropped).toBe(before.length - keysOf('x:1').length);
        expect(log.known('x:1')).toBe(known);
        // Every key any log held is still in some log.
        expect(new Set([...keysOf('x:1'), ...keysOf('x:2'), ...keysOf('y:1')])).toEqual(new Set([...before, ...others]));
      }),
      { numRuns: 200 },
    );
    expect(runs).toBeGreaterThan(0);
  });
});

describe('key ids', () => {
  /** Ids of a key table that holds only `held`: any other key has none (-1). */
  function tableOf(held: string[]): KeyIds {
    return { idOf: (k) => held.indexOf(k), keyOf: (id) => held[id] };
  }

  it('a key the table does not hold gets no entry: record refuses it, a local change still advances known, restore and forget skip it', () => {
    const log = new VersionLog(false, 'me:1', tableOf(['a', 'b']));
    expect(log.record('p:1', 'gone', 3)).toBe(false);
    expect(log.record('p:1', 'a', 4)).toBe(true);
    log.recordLocal('me:1', 'gone', 1);
    log.recordLocal('me:1', 'b', 2);
    expect(log.known('me:1')).toBe(2);
    log.restore('old:1', [['gone', 9], ['a', 5]]);
    expect(log.known('old:1')).toBe(9);
    expect(log.entryCount()).toBe(3);
    expect(log.versionOf('p:1', 'gone')).toBe(0);
    log.forget('gone');
    expect(log.entryCount()).toBe(3);
    const all = (o: string): [string, number][] => {
      const out: [string, number][] = [];
      log.scan(o, 0, (k, v) => (out.push([k, v]), true));
      return out;
    };
    expect([all('p:1'), all('me:1'), all('old:1')]).toEqual([[['a', 4]], [['b', 2]], [['a', 5]]]);
  });

  it('an out-of-order record when the arrays are full, and arrays that shrink once compaction leaves them mostly empty', () => {
    const log = new VersionLog();
    // 76 entries fill the arrays after two growths (16, 40, 76); the 77th arrives out of order.
    for (let v = 2; v <= 152; v += 2) log.record('A:1', `k${v}`, v);
    const inner = (log as unknown as { origins: Map<string, { ids: Int32Array; length: number }> }).origins.get('A:1')!;
    expect([inner.length, inner.ids.length]).toEqual([76, 76]);
    expect(log.record('A:1', 'k7', 7)).toBe(true);
    const seen: [string, number][] = [];
    log.scan('A:1', 0, (k, v) => (seen.push([k, v]), true));
    expect(seen.map(([, v]) => v)).toEqual([2, 4, 6, 7, ...Array.from({ length: 73 }, (_, i) => 8 + 2 * i)]);
    expect(seen[3]).toEqual(['k7', 7]);
    expect(inner.ids.length).toBeGreaterThan(76);
    // 1,000 keys, then all but 10 forgotten: the arrays go back to a few times what they hold.
    const big = new VersionLog();
    for (let v = 1; v <= 1000; v++) big.record('A:1', `k${v}`, v);
    big.advance('A:1', 1000);
    for (let v = 1; v <= 990; v++) big.forget(`k${v}`);
    const arrays = (big as unknown as { origins: Map<string, { ids: Int32Array; length: number }> }).origins.get('A:1')!;
    expect(arrays.ids.length).toBeLessThanOrEqual(4 * arrays.length + 64);
    const left: string[] = [];
    big.scan('A:1', 0, (k) => (left.push(k), true));
    expect(left).toEqual(Array.from({ length: 10 }, (_, i) => `k${991 + i}`));
  });

  it('a key rewritten for ever at versions known reaches keeps a bounded log', () => {
    // Each record supersedes the last, and known covers it at once: compaction must drop the
    // superseded entries, not keep them as if a relay still needed them.
    const log = new VersionLog();
    for (let v = 1; v <= 1000; v++) {
      log.record('A:1', 'hot', v);
      log.advance('A:1', v);
    }
    const inner = (log as unknown as { origins: Map<string, { length: number }> }).origins.get('A:1')!;
    expect(inner.length).toBeLessThanOrEqual(2 * 1 + 64 + 1);
    expect(log.entryCount()).toBe(1);
  });
});

describe('versions past 2^32', () => {
  it('holds a version past 2^32 - 1 whichever way the first one arrives: appended, or a local change written over the last entry', () => {
    const B = 2 ** 32 - 1;
    const scan = (log: VersionLog): [string, number][] => {
      const out: [string, number][] = [];
      log.scan('o:1', 0, (k, v) => {
        out.push([k, v]);
        return true;
      });
      return out;
    };
    const appended = new VersionLog(false, 'me:1');
    appended.record('o:1', 'k1', B - 1);
    appended.record('o:1', 'k2', B);
    appended.record('o:1', 'k3', B + 5);
    expect(scan(appended)).toEqual([['k1', B - 1], ['k2', B], ['k3', B + 5]]);
    const inPlace = new VersionLog(false, 'me:1');
    inPlace.recordLocal('o:1', 'k1', B);
    inPlace.recordLocal('o:1', 'k1', B + 2);
    expect(scan(inPlace)).toEqual([['k1', B + 2]]);
    expect(inPlace.versionOf('o:1', 'k1')).toBe(B + 2);
    // And an older entry arriving after them goes in its place among the wide versions.
    appended.record('o:1', 'k4', B + 1);
    expect(scan(appended)).toEqual([['k1', B - 1], ['k2', B], ['k4', B + 1], ['k3', B + 5]]);
  });

  // A log holds its versions in 32 bits until one does not fit, then in 64-bit floats: the same
  // operations at versions shifted to straddle 2^32 (and wholly above it) must show what they show
  // below it, shifted: every scan, the known version, each key's version and the entry count.
  it('records, scans, advances, forgets and compacts the same across the switch to 64 bits', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('record' as const), key: fc.integer({ min: 0, max: 9 }), dv: fc.integer({ min: -3, max: 3 }) }),
      fc.record({ kind: fc.constant('local' as const), key: fc.integer({ min: 0, max: 9 }), dv: fc.constant(1) }),
      fc.record({ kind: fc.constant('advance' as const), key: fc.constant(0), dv: fc.integer({ min: -2, max: 2 }) }),
      fc.record({ kind: fc.constant('forget' as const), key: fc.integer({ min: 0, max: 9 }), dv: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 300, size: 'max' }), fc.integer({ min: 0, max: 400 }), (ops, below) => {
        const shifts = [0, 2 ** 32 - below, 2 ** 40];
        const logs = shifts.map(() => new VersionLog(false, 'me:1'));
        let top = 10;
        for (const { kind, key, dv } of ops) {
          top = Math.max(1, top + dv);
          logs.forEach((log, i) => {
            const s = shifts[i] as number;
            if (kind === 'record') log.record('o:1', `k${key}`, top + s);
            else if (kind === 'local') log.recordLocal('o:1', `k${key}`, top + s);
            else if (kind === 'advance') log.advance('o:1', Math.max(log.known('o:1'), top - 2 + s));
            else log.forget(`k${key}`);
          });
        }
        const seen = logs.map((log, i) => {
          const s = shifts[i] as number;
          const out: [string, number][][] = [];
          for (let after = 0; after <= top + 1; after++) {
            const one: [string, number][] = [];
            log.scan('o:1', after === 0 ? 0 : after + s, (k, v) => {
              one.push([k, v - s]);
              return true;
            });
            out.push(one);
          }
          const keys = Array.from({ length: 10 }, (_, k) => Math.max(0, log.versionOf('o:1', `k${k}`) - s));
          return { scans: out, known: Math.max(0, log.known('o:1') - s), keys, entries: log.entryCount() };
        });
        expect(seen[1]).toEqual(seen[0]);
        expect(seen[2]).toEqual(seen[0]);
      }),
      { numRuns: 150 },
    );
  });
});
