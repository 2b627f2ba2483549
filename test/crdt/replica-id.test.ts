// Replica ids (src/crdt/replica-id.ts): how a node incarnation names its counter slots, and how the
// name is read back. (Interning is not observable from JavaScript: equal strings compare equal
// whether or not they are one object; its bound shows only in memory.)

import { describe, expect, it } from 'vitest';
import { parseReplicaId, replicaIdOf } from '../../src/crdt/replica-id.js';

describe('replica ids', () => {
  it('name a node incarnation as node:incarnation, and read back the node id up to the last colon', () => {
    expect(replicaIdOf('n1', 7)).toBe('n1:7');
    expect(parseReplicaId('n1:7')).toEqual({ nodeId: 'n1', incarnation: 7 });
    // A node id may itself hold colons (an address-like id): the incarnation follows the last one.
    expect(parseReplicaId(replicaIdOf('10.0.0.1:7101', 12))).toEqual({ nodeId: '10.0.0.1:7101', incarnation: 12 });
    expect(parseReplicaId('plain').incarnation).toBeNaN();
    expect(parseReplicaId('n2:x').incarnation).toBeNaN();
  });
});
