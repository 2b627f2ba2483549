// Differential test: the delta path (gossip in chunks, under faults) and a full-state path (merging
// every replica's whole state) reach the same state from the same operations.

import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/sim/network.js';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { seeds, withSeed } from '../sim/seeds.js';
import { allLiveEqual, key, runUntil, stateOf } from '../sim/helpers.js';

describe('delta path versus full-state path', () => {
  it('agree after random increments, decrements, deletes and PFADDs on random nodes', () => {
    for (const seed of seeds(4)) {
      withSeed(seed, () => {
        // A small message cap forces chunked transfers.
        const sim = new Simulation({ nodes: 6, seed, config: { gossipIntervalMs: 100, maxMessageBytes: 65536 }, faults: { loss: 0.1, duplicate: 0.1, reorder: 0.2 } });
        const rng = sim.rng;
        for (let step = 0; step < 300; step++) {
          const node = sim.nodes[rng.int(6)]?.replica.keyspace as Keyspace;
          const k = key(`k${rng.int(40)}`);
          const h = key(`h${rng.int(5)}`);
          const op = rng.int(10);
          if (op < 6) node.incrBy(k, rng.int(20) - 5);
          else if (op < 7) node.del(k);
          else if (op < 8) node.setCounter(k, rng.int(100));
          else node.pfadd(h, Array.from({ length: 1 + rng.int(200) }, (_, i) => `e${rng.int(5000)}-${i}`));
          if (step % 10 === 0) sim.runUntil(sim.now + 30);
        }
        // Full-state path: merge every replica's whole state into a fresh keyspace.
        const reference = new Keyspace('reference:1');
        for (const n of sim.nodes) for (const [k, e] of n.replica.exportState()) reference.mergeRemote(k, e.tag, e.bytes);
        const want = [...reference.keys()].sort().map((k) => `${k}=${Buffer.from(reference.encodeKey(k)?.bytes ?? []).toString('hex')}`).join(';');
        const rounds = runUntil(sim, () => allLiveEqual(sim), 100);
        expect(rounds).toBeLessThan(100);
        expect(stateOf(sim, 0)).toBe(want);
      });
    }
  });
});
