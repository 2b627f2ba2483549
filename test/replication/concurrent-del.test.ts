// DEL is an observed reset: it removes what the deleting node had seen, never an increment made
// concurrently elsewhere. Real replicas with every exchange scheduled by the test (manual-net.ts),
// so "concurrent" is exact: the delete's node has not received the increment when it deletes.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import type { Replica } from '../../src/replication/replica.js';
import { ManualNet } from './manual-net.js';

const k = fullKey(0, 'k');

function value(r: Replica): number | null {
  const v = r.keyspace.getCounter(k);
  if (!v.ok) throw new Error(v.error.message);
  return v.value === null ? null : Number(v.value);
}

describe('a DEL concurrent with increments on other nodes', () => {
  it('keeps exactly the increments the deleting node had not seen, on every node', () => {
    const net = new ManualNet(['A', 'B', 'C']);
    const [A, B, C] = [net.get('A'), net.get('B'), net.get('C')];
    A.keyspace.incrBy(k, 10);
    net.sync('B', 'A');
    expect(value(B)).toBe(10); // B has seen A's 10
    // Concurrently: A adds 5 and C adds 7, while B (having seen only the 10) deletes.
    A.keyspace.incrBy(k, 5);
    C.keyspace.incrBy(k, 7);
    expect(B.keyspace.del(k)).toBe(true);
    expect(value(B)).toBeNull();
    // Every pair exchanges, in an order that puts the delete between the increments' arrivals.
    for (const [x, y] of [['C', 'B'], ['A', 'C'], ['B', 'A'], ['C', 'A'], ['A', 'B'], ['B', 'C']] as const) net.sync(x, y);
    for (const [name, r] of [['A', A], ['B', B], ['C', C]] as const) expect(value(r), name).toBe(12); // 5 + 7: only the 10 B saw is gone
  });

  it('two nodes deleting concurrently remove the union of what they saw, nothing more', () => {
    const net = new ManualNet(['A', 'B', 'C']);
    const [A, B, C] = [net.get('A'), net.get('B'), net.get('C')];
    A.keyspace.incrBy(k, 1);
    C.keyspace.incrBy(k, 2);
    net.sync('A', 'C'); // A has seen both
    B.keyspace.incrBy(k, 4); // nobody else has seen B's 4
    expect(A.keyspace.del(k)).toBe(true); // removes 1 + 2
    C.keyspace.incrBy(k, 8); // after C's last exchange with A: A's delete has not seen it
    expect(C.keyspace.del(k)).toBe(true); // removes C's own 2 + 8 and A's 1
    for (let round = 0; round < 2; round++) for (const [x, y] of [['A', 'B'], ['B', 'C'], ['C', 'A']] as const) net.sync(x, y);
    for (const [name, r] of [['A', A], ['B', B], ['C', C]] as const) expect(value(r), name).toBe(4);
  });
});
