// The version log's local path (src/replication/version-log.ts, `recordLocal`): a local change that
// replaces the key's entry in place when it is the log's last must leave the log exactly as recording
// it and advancing `known` would, for every range a peer may ask for, since peers are sent what a scan
// finds. Remote entries mixed in (another origin's) must not be touched.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VersionLog } from '../../src/replication/version-log.js';

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
});
