// The version logs' memory on a running cluster (src/replication/version-log.ts): a key one node
// changes every round is recorded by its peers from each round's range and then `known` advances;
// the superseded entries it leaves must be compacted away once `known` covers them, or every node
// grows by one entry per hot key per round for ever (as it did until compaction was also checked on
// each advance of `known`).

import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/sim/network.js';
import { allLiveEqual, key, runUntil, valuesOf } from './helpers.js';

describe('version log memory', () => {
  for (const keys of [1, 3, 20]) {
    it(`${keys} key(s) one node changes every round leave every node with a bounded log`, () => {
      const s = new Simulation({ nodes: 3, seed: 11 });
      const writer = s.nodes[0]!.replica;
      const hot = Array.from({ length: keys }, (_, i) => key(`hot${i}`));
      for (let round = 0; round < 400; round++) {
        for (const k of hot) writer.keyspace.incrBy(k, 1);
        s.runUntil(s.now + s.config.gossipIntervalMs);
      }
      expect(runUntil(s, () => allLiveEqual(s), 60)).toBeLessThan(60);
      expect(valuesOf(s, `hot${keys - 1}`)).toEqual([400, 400, 400]);
      for (const n of s.live()) {
        expect(n.replica.versions.entryCount()).toBe(keys);
        // Each round's range records every hot key again: 400 entries per key if none were dropped.
        expect(n.replica.versions.cellCount()).toBeLessThanOrEqual(3 * keys + 64);
        expect(n.replica.versions.cellCount()).toBeGreaterThanOrEqual(keys);
      }
    });
  }
});
