// Who counts toward majorities (membership.ts, quorum.ts): voters are members neither joining nor
// removed; the size counts them in any liveness state, forgotten ones included, and the config's
// nodes until a record says otherwise. docs/consistency.md, "Membership changes".

import { describe, expect, it } from 'vitest';
import { Membership, isVoter } from '../../src/replication/membership.js';
import { majorityOf } from '../../src/replication/membership-change.js';
import { MemberState, REMOVED_INCARNATION } from '../../src/replication/messages.js';

const alive = (id: string, extra: object = {}): { id: string; address: string; incarnation: number; seq: number; state: MemberState } => ({ id, address: id, incarnation: 1, seq: 0, state: MemberState.Alive, ...extra });

describe('voters', () => {
  it('majorityOf is the smallest majority', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(majorityOf)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  it('counts configured nodes until heard of, and every voter whatever its liveness', () => {
    const m = new Membership('a', null, ['a', 'b', 'c']);
    m.apply(alive('a'), 0);
    expect(m.voterCount).toBe(3); // b and c not heard of yet: they count
    m.apply(alive('b', { state: MemberState.Dead }), 0);
    m.apply(alive('c', { state: MemberState.Left }), 0);
    m.apply(alive('d'), 0); // a member the config does not list
    expect(m.voterCount).toBe(4);
    // Forgetting a stopped or dead voter does not lower the size: its tombstone keeps the vote.
    m.forget('c', 10);
    m.expireTombstones(1e12, 1);
    expect(m.get('c')).toBeUndefined();
    expect(m.isVoter('c')).toBe(true);
    expect(m.voterCount).toBe(4);
  });

  it('a joining member counts only once its own record, at a higher seq, says it caught up', () => {
    const m = new Membership('a', null, ['a']);
    m.apply(alive('a'), 0);
    m.apply(alive('j', { joining: true }), 0);
    expect(isVoter(m.get('j') ?? alive('x'))).toBe(false);
    expect(m.voterCount).toBe(1);
    // The same numbers without the mark win the tie (a frame-only record is marked joining).
    m.apply(alive('j'), 0);
    expect(m.isVoter('j')).toBe(true);
    // ...and a stale joining record at those numbers does not take the vote back.
    expect(m.apply(alive('j', { joining: true }), 1)).toBeUndefined();
    expect(m.voterCount).toBe(2);
  });

  it('a removed record outranks every record of its id, past and future', () => {
    const m = new Membership('a', null, ['a', 'b']);
    m.apply(alive('a'), 0);
    m.apply(alive('b', { incarnation: 7, seq: 3 }), 0);
    expect(m.voterCount).toBe(2);
    m.apply({ id: 'b', address: 'b', incarnation: REMOVED_INCARNATION, seq: 0, state: MemberState.Removed }, 1);
    expect(m.voterCount).toBe(1);
    expect(m.apply(alive('b', { incarnation: 1_000_000, seq: 99 }), 2)).toBeUndefined();
    expect(m.get('b')?.state).toBe(MemberState.Removed);
    expect(m.isVoter('b')).toBe(false);
  });

  it('a graceful leave is a removed record at the node\'s own incarnation: a restart rejoins', () => {
    const m = new Membership('a', null, ['a']);
    m.apply(alive('a'), 0);
    m.apply(alive('l', { incarnation: 3, seq: 2 }), 0);
    m.apply(alive('l', { incarnation: 3, seq: 3, state: MemberState.Removed }), 1);
    expect(m.voterCount).toBe(1);
    m.apply(alive('l', { incarnation: 4, joining: true }), 2);
    expect(m.get('l')?.state).toBe(MemberState.Alive);
    expect(m.voterCount).toBe(1); // joining again: counts once caught up
  });
});
