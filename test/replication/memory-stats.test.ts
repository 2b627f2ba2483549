// What INFO memory and /metrics report of the state: tombstones, counter slots, version-log entries
// and retired origins (src/node/snapshot.ts renders these from the keyspace and the replica).

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { ManualNet } from './manual-net.js';

describe('memory accounting', () => {
  it('counts tombstones, one counter slot per writing incarnation, log entries and retired origins', () => {
    const net = new ManualNet(['A', 'B']);
    const A = net.get('A');
    const B = net.get('B');
    for (const k of ['a', 'b', 'c']) A.keyspace.incrBy(fullKey(0, k), 1);
    A.keyspace.del(fullKey(0, 'c'));
    expect(A.keyspace.memoryStats()).toEqual({ entries: 3, tombstones: 1, slots: 3, compact: 2 });
    expect(A.versions.entryCount()).toBe(3);
    expect(A.versions.cellCount()).toBe(3);
    net.sync('B', 'A');
    B.keyspace.incrBy(fullKey(0, 'a'), 1);
    net.sync('A', 'B');
    // (a, of two writers' slots, and b are compact; c is a tombstone, an entry.)
    expect(A.keyspace.memoryStats()).toEqual({ entries: 3, tombstones: 1, slots: 4, compact: 2 });
    expect(A.retiredOrigins()).toBe(0);
    // A restarts with its data: its old incarnation is retired, its slots and entries stay.
    const A2 = net.add('A', 2, A.keyspace);
    A2.keyspace.incrBy(fullKey(0, 'a'), 1);
    net.sync('B', 'A');
    // (a holds three slots, A's two incarnations' and B's: still compact, as b is.)
    expect(B.keyspace.memoryStats()).toEqual({ entries: 3, tombstones: 1, slots: 5, compact: 2 });
    expect(B.retiredOrigins()).toBe(1);
    expect(B.versions.originCount).toBe(3);
  });
});
