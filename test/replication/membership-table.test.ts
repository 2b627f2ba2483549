// The membership table itself (src/replication/membership.ts), without a network: which record wins,
// what a suspicion's accusers become, tombstones of forgotten members, the table's hash, and how
// gossip targets are drawn. The simulator's membership tests (membership.test.ts) run these rules
// across clusters; voters.test.ts covers who counts toward majorities.

import { describe, expect, it } from 'vitest';
import { Membership, SharedRoster, toRecord, type Member } from '../../src/replication/membership.js';
import { MAX_ACCUSERS, MemberState, type MemberRecord } from '../../src/replication/messages.js';
import { SeededRng } from '../../src/util/rng.js';

const rec = (id: string, extra: Partial<MemberRecord> = {}): MemberRecord => ({ id, address: `${id}:1`, incarnation: 1, seq: 0, state: MemberState.Alive, ...extra });

function table(...records: MemberRecord[]): Membership {
  const m = new Membership('self');
  m.apply(rec('self'), 0);
  for (const r of records) m.apply(r, 0);
  return m;
}

describe('membership table: which record wins', () => {
  it('a higher incarnation, then a higher seq, then the later state; equal or older records change nothing', () => {
    const m = table(rec('a', { incarnation: 2, seq: 5, state: MemberState.Suspect }));
    expect(m.apply(rec('a', { incarnation: 1, seq: 9, state: MemberState.Dead }), 1)).toBeUndefined();
    expect(m.apply(rec('a', { incarnation: 2, seq: 4, state: MemberState.Dead }), 1)).toBeUndefined();
    expect(m.apply(rec('a', { incarnation: 2, seq: 5, state: MemberState.Alive }), 1)).toBeUndefined();
    expect(m.apply(rec('a', { incarnation: 2, seq: 5, state: MemberState.Suspect }), 1)).toBeUndefined(); // the same
    expect(m.apply(rec('a', { incarnation: 2, seq: 5, state: MemberState.Dead }), 2)).toMatchObject({ state: MemberState.Dead, since: 2 });
    expect(m.apply(rec('a', { incarnation: 2, seq: 6, state: MemberState.Alive }), 3)).toMatchObject({ state: MemberState.Alive, seq: 6, since: 3 });
    expect(m.apply(rec('a', { incarnation: 3, seq: 0, state: MemberState.Alive, address: 'new:2' }), 4)).toMatchObject({ incarnation: 3, seq: 0, address: 'new:2', since: 4 });
    expect(m.memberAt('new:2')?.id).toBe('a');
    expect(m.memberAt('a:1')).toBeUndefined(); // the old address is no longer its
  });

  it('the same suspicion learns its other accusers (sorted, at most 8), keeping when it began', () => {
    const m = table(rec('a', { state: MemberState.Suspect, accusers: ['m'] }));
    const first = m.get('a')!;
    first.since = 7;
    const more = m.apply(rec('a', { state: MemberState.Suspect, accusers: ['c', 'x'] }), 50)!;
    expect(more.accusers).toEqual(['c', 'm', 'x']);
    expect(more.since).toBe(7);
    expect(m.apply(rec('a', { state: MemberState.Suspect, accusers: ['m', 'x'] }), 60)).toBeUndefined(); // nothing new
    expect(m.apply(rec('a', { state: MemberState.Suspect }), 60)).toBeUndefined();
    const many = Array.from({ length: 10 }, (_, i) => `b${i}`);
    expect(m.apply(rec('a', { state: MemberState.Suspect, accusers: many }), 70)!.accusers).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7']);
    expect(MAX_ACCUSERS).toBe(8);
    // A new suspicion (higher seq) takes its own accusers, capped, and a new start.
    const fresh = m.apply(rec('a', { seq: 1, state: MemberState.Suspect, accusers: many }), 80)!;
    expect(fresh.accusers).toEqual(many.slice(0, 8));
    expect(fresh.since).toBe(80);
    // Accusers of an alive record are not kept.
    expect(m.apply(rec('a', { seq: 2, accusers: ['z'] }), 90)!.accusers).toBeUndefined();
  });

  it('a full accuser list takes a smaller id in place of its largest: the same 8 on every node', () => {
    const eight = Array.from({ length: 8 }, (_, i) => `b${i}`);
    const m = table(rec('a', { state: MemberState.Suspect, accusers: eight }));
    expect(m.apply(rec('a', { state: MemberState.Suspect, accusers: ['a9'] }), 1)!.accusers).toEqual(['a9', ...eight.slice(0, 7)]);
    expect(m.get('a')!.accusers).toEqual(['a9', ...eight.slice(0, 7)]);
    // A larger one changes nothing.
    expect(m.apply(rec('a', { state: MemberState.Suspect, accusers: ['z'] }), 2)).toBeUndefined();
    // Nor does our own detector's accusation once the list is full of smaller ids ('self' > 'b...').
    expect(m.accuse('a')).toBeUndefined();
  });

  it('the same joining record again changes nothing', () => {
    const m = table(rec('j', { joining: true }));
    expect(m.apply(rec('j', { joining: true }), 1)).toBeUndefined();
    expect(m.get('j')!.since).toBe(0);
  });

  it('a suspicion that had no accusers takes the first 8 it hears, and an empty list is nothing new', () => {
    const m = table(rec('a', { state: MemberState.Suspect }));
    expect(m.apply(rec('a', { state: MemberState.Suspect, accusers: [] }), 1)).toBeUndefined();
    expect(m.get('a')!.accusers).toBeUndefined();
    const many = Array.from({ length: 10 }, (_, i) => `b${i}`);
    expect(m.apply(rec('a', { state: MemberState.Suspect, accusers: many }), 2)!.accusers).toEqual(many.slice(0, 8));
  });

  it('a dead record at the same numbers is not a suspicion: nothing to learn', () => {
    const m = table(rec('a', { state: MemberState.Dead }));
    expect(m.apply(rec('a', { state: MemberState.Dead, accusers: ['q'] }), 1)).toBeUndefined();
  });

  it('our own detector accuses a suspect once, and only a suspect', () => {
    const m = table(rec('a'), rec('b', { state: MemberState.Suspect, accusers: ['z'] }));
    expect(m.accuse('a')).toBeUndefined();
    expect(m.accuse('nobody')).toBeUndefined();
    expect(m.accuse('b')!.accusers).toEqual(['self', 'z']);
    expect(m.accuse('b')).toBeUndefined();
    const s = m.setState('a', MemberState.Suspect, 5)!;
    expect(s).toMatchObject({ state: MemberState.Suspect, seq: 0, since: 5, accusers: ['self'] });
    const d = m.setState('a', MemberState.Dead, 6, 3)!;
    expect(d).toMatchObject({ state: MemberState.Dead, seq: 3, since: 6 });
    expect(d.accusers).toBeUndefined();
    expect(m.setState('nobody', MemberState.Dead, 6)).toBeUndefined();
  });

  it('a record carries accusers only while suspect, and joining only when set', () => {
    const base = { id: 'a', address: 'x', incarnation: 1, seq: 2, since: 0, lastHeard: 0 };
    expect(toRecord({ ...base, state: MemberState.Dead, accusers: ['q'] } as Member)).toEqual({ id: 'a', address: 'x', incarnation: 1, seq: 2, state: MemberState.Dead });
    expect(toRecord({ ...base, state: MemberState.Suspect, accusers: [] } as Member)).toEqual({ id: 'a', address: 'x', incarnation: 1, seq: 2, state: MemberState.Suspect });
    expect(toRecord({ ...base, state: MemberState.Suspect, accusers: ['q'], joining: true } as Member)).toEqual({ id: 'a', address: 'x', incarnation: 1, seq: 2, state: MemberState.Suspect, accusers: ['q'], joining: true });
  });
});

describe('membership table: forgetting', () => {
  it('a forgotten member stays forgotten against records at or below its tombstone', () => {
    const m = table(rec('a', { incarnation: 2, seq: 4, state: MemberState.Left }));
    m.forget('a', 100);
    expect(m.get('a')).toBeUndefined();
    expect(m.tombstoneOf('a')).toEqual({ incarnation: 2, seq: 4 });
    expect(m.apply(rec('a', { incarnation: 2, seq: 4 }), 101)).toBeUndefined();
    expect(m.apply(rec('a', { incarnation: 1, seq: 9 }), 101)).toBeUndefined();
    expect(m.apply(rec('a', { incarnation: 2, seq: 5 }), 102)).toMatchObject({ seq: 5, since: 102 });
    expect(m.tombstoneOf('a')).toBeUndefined();
    m.forget('a', 200);
    expect(m.apply(rec('a', { incarnation: 3, seq: 0 }), 201)).toMatchObject({ incarnation: 3 });
    m.forget('nobody', 1); // nothing to forget
    expect(m.tombstoneOf('nobody')).toBeUndefined();
  });

  it('tombstones expire after their age (strictly), except a voter\'s and a roster member\'s', () => {
    const roster = new SharedRoster([rec('self'), rec('r')]);
    const m = new Membership('self', roster, ['self', 'r']);
    m.apply(rec('a', { state: MemberState.Left, joining: true }), 0);
    m.apply(rec('v', { state: MemberState.Left }), 0);
    m.apply(rec('r', { seq: 1, state: MemberState.Left, joining: true }), 0); // not a voter
    for (const id of ['a', 'v', 'r']) m.forget(id, 100);
    expect(m.get('r')).toBeUndefined(); // the roster's record is shadowed once forgotten
    m.expireTombstones(100 + 50, 50);
    expect(m.tombstoneOf('a')).toBeDefined();
    m.expireTombstones(100 + 51, 50);
    expect(m.tombstoneOf('a')).toBeUndefined(); // not a voter (joining): gone
    expect(m.tombstoneOf('v')).toBeDefined(); // a voter: kept, it still counts
    expect(m.tombstoneOf('r')).toBeDefined(); // not a voter, but in the roster: kept, or the roster's record would show again
    expect(m.get('r')).toBeUndefined();
    // Forgotten non-voters do not count toward the size (r's last record said joining, though the
    // config lists it); the forgotten voter v does.
    expect(m.voterCount).toBe(2);
  });

  it('finds a roster member at its new address only', () => {
    const roster = new SharedRoster([rec('self'), rec('r')]);
    const m = new Membership('self', roster);
    m.apply(rec('r', { seq: 1, address: 'moved:2' }), 1);
    expect(m.memberAt('moved:2')?.id).toBe('r');
    expect(m.memberAt('r:1')).toBeUndefined();
  });

  it('an address another member took over stays that member\'s when the old one moves on or is forgotten', () => {
    // a ran at x:1 and was declared dead; b, a new node, now runs at x:1.
    const m = table(rec('a', { address: 'x:1', state: MemberState.Dead }), rec('c', { address: 'y:1' }));
    m.apply(rec('b', { address: 'x:1' }), 1);
    expect(m.memberAt('x:1')?.id).toBe('b');
    // a restarts elsewhere: x:1 is still b's.
    m.apply(rec('a', { incarnation: 2, address: 'z:1' }), 2);
    expect(m.memberAt('x:1')?.id).toBe('b');
    expect(m.memberAt('z:1')?.id).toBe('a');
    // c is declared dead and forgotten; d took its address meanwhile: y:1 is still d's.
    m.apply(rec('c', { address: 'y:1', seq: 1, state: MemberState.Dead }), 3);
    m.apply(rec('d', { address: 'y:1' }), 3);
    m.forget('c', 4);
    expect(m.memberAt('y:1')?.id).toBe('d');
    expect(m.liveAt('y:1')).toBe(true);
  });

  it('size and counts follow forgetting', () => {
    const roster = new SharedRoster([rec('self'), rec('r1'), rec('r2', { state: MemberState.Dead })]);
    const m = new Membership('self', roster);
    m.apply(rec('o', { state: MemberState.Suspect }), 0);
    expect(m.size).toBe(4);
    expect(m.countByState()).toEqual([2, 1, 1, 0, 0]);
    m.forget('r2', 1);
    expect(m.size).toBe(3);
    expect(m.countByState()).toEqual([2, 1, 0, 0, 0]);
    m.apply(rec('r1', { seq: 1, state: MemberState.Left }), 2);
    expect(m.size).toBe(3);
    expect(m.countByState()).toEqual([1, 1, 0, 1, 0]);
    expect([...m.all()].map((x) => x.id).sort()).toEqual(['o', 'r1', 'self']);
  });
});

describe('membership table: hash', () => {
  it('is the same for the same records, whatever the order or the roster, and changes with any field', () => {
    const records = [rec('self'), rec('a', { seq: 3 }), rec('b', { state: MemberState.Suspect, accusers: ['a'] }), rec('c', { joining: true })];
    const forward = new Membership('self');
    for (const r of records) forward.apply(r, 0);
    const backward = new Membership('self');
    for (const r of [...records].reverse()) backward.apply(r, 5);
    const rostered = new Membership('self', new SharedRoster(records));
    expect(backward.hash).toBe(forward.hash);
    expect(rostered.hash).toBe(forward.hash);
    expect(forward.hash).toMatch(/^[0-9a-f]{16}$/);
    const seen = new Set([forward.hash]);
    const variants: MemberRecord[] = [
      rec('a', { seq: 4 }), rec('a', { seq: 3, incarnation: 2 }), rec('a', { seq: 3, state: MemberState.Dead }), rec('a', { seq: 4, address: 'other' }),
      rec('b', { seq: 0, state: MemberState.Suspect, accusers: ['a', 'z'] }), rec('c', { seq: 1 }),
    ];
    for (const v of variants) {
      const t = new Membership('self');
      for (const r of records) t.apply(r, 0);
      t.apply(v, 1);
      expect(seen.has(t.hash), JSON.stringify(v)).toBe(false);
      seen.add(t.hash);
    }
    // Two tables that differ only in whether a member is joining (one learned it from its frames,
    // the other has its own record) must exchange: their hashes differ.
    const voter = new Membership('self');
    for (const r of [...records.slice(0, 3), rec('c')]) voter.apply(r, 0);
    expect(voter.hash).not.toBe(forward.hash);
    // A change made and then the same record again (on a copy of the roster) hashes alike.
    rostered.apply(rec('a', { seq: 4 }), 1);
    forward.apply(rec('a', { seq: 4 }), 1);
    expect(rostered.hash).toBe(forward.hash);
    rostered.forget('c', 2);
    forward.forget('c', 2);
    expect(rostered.hash).toBe(forward.hash);
    const without = new Membership('self');
    for (const r of [records[0]!, rec('a', { seq: 4 }), records[2]!]) without.apply(r, 0);
    expect(forward.hash).toBe(without.hash);
  });
});

describe('membership table: gossip targets', () => {
  it('are distinct live members other than ourselves and the excluded one, as many as there are', () => {
    const roster = new SharedRoster([rec('self'), rec('a'), rec('b', { state: MemberState.Dead }), rec('c', { state: MemberState.Suspect }), rec('d', { state: MemberState.Left })]);
    const m = new Membership('self', roster);
    m.apply(rec('e'), 0);
    m.apply(rec('f', { state: MemberState.Removed }), 0);
    const rng = new SeededRng(7);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const t = m.randomTargets(rng, 2).map((x) => x.id);
      expect(new Set(t).size).toBe(2);
      for (const id of t) seen.add(id);
      for (const id of t) expect(['a', 'c', 'e']).toContain(id);
      expect(m.randomTargets(rng, 5).map((x) => x.id).sort()).toEqual(['a', 'c', 'e']);
      expect(m.randomTargets(rng, 5, 'c').map((x) => x.id).sort()).toEqual(['a', 'e']);
    }
    expect([...seen].sort()).toEqual(['a', 'c', 'e']);
    m.forget('a', 1);
    expect(m.randomTargets(rng, 5).map((x) => x.id).sort()).toEqual(['c', 'e']);
    expect(m.randomTargets(rng, 0)).toEqual([]);
  });

  it('draw every live member in time, roster members and members learned since alike', () => {
    // A member the draw never picked would get no direct gossip and no probes from this node.
    const roster = new SharedRoster([rec('self'), rec('r1'), rec('r2')]);
    const m = new Membership('self', roster);
    const learned = ['e1', 'e2', 'e3', 'e4', 'e5'];
    for (const id of learned) m.apply(rec(id), 0);
    const rng = new SeededRng(11);
    const seen = new Map<string, number>();
    for (let i = 0; i < 700; i++) for (const t of m.randomTargets(rng, 1)) seen.set(t.id, (seen.get(t.id) ?? 0) + 1);
    expect([...seen.keys()].sort()).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'r1', 'r2']);
    for (const n of seen.values()) expect(n).toBeGreaterThan(50); // about 100 each
  });

  it('are found, exactly k of them, when nearly every member is excluded', () => {
    // 300 members, 10 of them alive: sampling at random mostly draws the dead, so the scan must find the rest.
    const records = [rec('self'), ...Array.from({ length: 299 }, (_, i) => rec(`m${i}`, i % 30 === 0 ? {} : { state: MemberState.Dead }))];
    const alive = records.filter((r) => r.id !== 'self' && r.state === MemberState.Alive).map((r) => r.id);
    expect(alive).toHaveLength(10);
    for (const m of [new Membership('self', new SharedRoster(records)), table(...records.slice(1))]) {
      const rng = new SeededRng(3);
      for (let i = 0; i < 30; i++) {
        const t = m.randomTargets(rng, 3).map((x) => x.id);
        expect(t).toHaveLength(3);
        expect(new Set(t).size).toBe(3);
        for (const id of t) expect(alive).toContain(id);
      }
      expect(m.randomTargets(rng, 20).map((x) => x.id).sort()).toEqual([...alive].sort());
    }
  });

  it('from a table with no roster', () => {
    const m = table(rec('a'), rec('b', { state: MemberState.Dead }));
    const rng = new SeededRng(1);
    for (let i = 0; i < 20; i++) expect(m.randomTargets(rng, 3).map((x) => x.id)).toEqual(['a']);
    expect(m.liveAt('a:1')).toBe(true);
    expect(m.liveAt('b:1')).toBe(false);
    expect(m.liveAt('nowhere')).toBe(false);
    m.apply(rec('a', { seq: 1, state: MemberState.Suspect }), 1);
    expect(m.liveAt('a:1')).toBe(true); // a suspect may only be slow
    expect(m.voterCount).toBe(3); // self, a, b: nobody else is configured
  });

  it('lastHeard is noted only for members of our own table, and kept across a newer record', () => {
    const roster = new SharedRoster([rec('self'), rec('r')]);
    const m = new Membership('self', roster);
    m.apply(rec('a'), 0);
    m.heard('a', 40);
    m.heard('r', 40); // a roster member we hold no record of: the shared roster is not written
    expect(m.get('a')!.lastHeard).toBe(40);
    expect(m.get('r')!.lastHeard).toBe(0);
    expect(m.apply(rec('a', { seq: 1 }), 50)!.lastHeard).toBe(40);
  });
});
