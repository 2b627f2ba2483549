// The membership-change rules one call at a time (src/replication/membership-change.ts), on the
// tracker alone with a real membership table and version log: whose digests count as caught-up
// evidence for a joining node (a voter's, sent after the table, showing nothing we lack), whose count
// as holders for a leaving one (a voter's, not stopped, showing everything we hold), whom it asks and
// how often, when it wants a tick, and the operator's removal record. membership-change.test.ts runs
// the same rules end to end in the simulator (docs/consistency.md, "Membership changes").

import { describe, expect, it } from 'vitest';
import { replicaConfig } from '../../src/replication/config.js';
import type { ReplicaContext } from '../../src/replication/context.js';
import { majorityOf, MembershipChange, type LeaveOutcome } from '../../src/replication/membership-change.js';
import { Membership } from '../../src/replication/membership.js';
import { MemberState, REMOVED_INCARNATION, type MemberRecord } from '../../src/replication/messages.js';
import { VersionLog } from '../../src/replication/version-log.js';
import { SeededRng } from '../../src/util/rng.js';

const ME = 'me';
const ORIGIN = 'me:1';
const GOSSIP_MS = 100;

function rec(id: string, over: Partial<MemberRecord> = {}): MemberRecord {
  return { id, address: `${id}-addr`, incarnation: 1, seq: 0, state: MemberState.Alive, ...over };
}

/** The tracker of node `me` (joining or a voter) among `peers`, with hooks that act as the replica's do. */
class Tracker {
  now = 0;
  readonly membership = new Membership(ME);
  readonly versions = new VersionLog(false, ORIGIN);
  readonly promoted: number[] = [];
  readonly removedAt: number[] = [];
  readonly asked: string[] = [];
  readonly change: MembershipChange;
  private seq = 0;

  constructor(opts: { joining: boolean; peers: MemberRecord[]; seed?: number }) {
    this.membership.apply(rec(ME, opts.joining ? { joining: true } : {}), 0);
    for (const p of opts.peers) this.membership.apply(p, 0);
    const t = this;
    const ctx = {
      cfg: replicaConfig({ clusterName: 't', gossipIntervalMs: GOSSIP_MS }),
      self: { nodeId: ME, incarnation: 1, address: `${ME}-addr` },
      origin: ORIGIN,
      rng: new SeededRng(opts.seed ?? 1),
      membership: this.membership,
      versions: this.versions,
      get now() {
        return t.now;
      },
    } as unknown as ReplicaContext;
    this.change = new MembershipChange(ctx, {
      promote: () => {
        this.promoted.push(this.now);
        this.membership.promote(ME, this.now, ++this.seq);
      },
      markRemoved: () => {
        this.removedAt.push(this.now);
        this.membership.setState(ME, MemberState.Removed, this.now, ++this.seq);
      },
      askVector: (address) => this.asked.push(address),
    });
  }

  /** `peer`'s digest as a log at these known versions would send it: its hash, and its vector unless `vectorless`. */
  digest(peer: string, known: Record<string, number>, vectorless = false): void {
    const log = new VersionLog();
    for (const [o, v] of Object.entries(known)) log.advance(o, v);
    this.change.noteDigest(peer, { hash: log.hash, membersHash: '0'.repeat(16), vector: vectorless ? null : log.vector(), wantReply: false });
  }

  tick(now: number): void {
    this.now = now;
    this.change.tick(now);
  }

  get joining(): boolean {
    return this.membership.get(ME)?.joining === true;
  }
}

/** A joining `me` among voters a, b, c (a majority: 2), holding A:1 up to 5 and B:1 up to 2. */
function joiner(extra: MemberRecord[] = []): Tracker {
  const t = new Tracker({ joining: true, peers: [rec('a'), rec('b'), rec('c'), ...extra] });
  t.versions.advance('A:1', 5);
  t.versions.advance('B:1', 2);
  return t;
}

describe('a joining node: the join rule', () => {
  it('promotes once it holds what a majority of the voters held, counting only after a voter sent the table', () => {
    const t = joiner();
    expect(majorityOf(t.membership.voterCount)).toBe(2);
    // a holds exactly what we hold: its digest's hash is ours, with no vector.
    t.digest('a', { 'A:1': 5, 'B:1': 2 }, true);
    // b holds less than we do (another hash): its vector shows we hold all it holds, A:1 to the version.
    t.digest('b', { 'A:1': 5 });
    t.tick(0);
    // Two voters' evidence, but no voter's table yet: the members it heard of may be a minority.
    expect(t.change.votersKnown).toBe(false);
    expect(t.promoted).toEqual([]);
    t.change.noteTableFrom('a');
    expect(t.change.votersKnown).toBe(true);
    t.tick(10);
    expect(t.promoted).toEqual([10]);
    expect(t.joining).toBe(false);
    expect(t.change.votersKnown).toBe(true);
  });

  it('needs a majority, not one voter', () => {
    const t = joiner();
    t.change.noteTableFrom('a');
    t.digest('a', { 'A:1': 5, 'B:1': 2 }, true);
    t.tick(0);
    expect(t.promoted).toEqual([]);
    t.digest('c', { 'B:1': 2 });
    t.tick(10);
    expect(t.promoted).toEqual([10]);
  });

  it('does not count a voter whose digest shows a write it lacks, or one with another hash and no vector', () => {
    const t = joiner();
    t.change.noteTableFrom('a');
    t.digest('a', { 'A:1': 6, 'B:1': 2 }); // one A:1 write we lack
    t.digest('b', { 'A:1': 4 }, true); // another hash, no vector: says nothing of what it holds
    t.digest('c', { 'B:1': 3 }); // one B:1 write we lack
    t.tick(0);
    expect(t.promoted).toEqual([]);
    // We get A:1's sixth write: now we hold all a held.
    t.versions.advance('A:1', 6);
    t.tick(10);
    expect(t.promoted).toEqual([]);
    t.versions.advance('B:1', 3);
    t.tick(20);
    expect(t.promoted).toEqual([20]);
  });

  it('counts a voter only while it is one: not a removed one, nor a joining peer\'s evidence from before it became a voter', () => {
    const t = joiner([rec('j', { joining: true })]);
    t.change.noteTableFrom('a');
    t.digest('a', { 'A:1': 5 });
    // j, still joining, held less than we do; then more, before it became a voter.
    t.digest('j', { 'A:1': 1 });
    t.tick(0);
    t.digest('j', { 'A:1': 9 });
    t.membership.apply(rec('j', { seq: 1 }), 0);
    expect(t.membership.voterCount).toBe(4);
    t.tick(10);
    expect(t.promoted).toEqual([]);
    // a is removed: of the three voters left, we have caught up with none.
    t.membership.apply(rec('a', { incarnation: REMOVED_INCARNATION, state: MemberState.Removed }), 0);
    t.digest('b', { 'A:1': 5 });
    t.tick(20);
    expect(t.promoted).toEqual([]);
    t.digest('c', { 'A:1': 5 });
    t.tick(30);
    expect(t.promoted).toEqual([30]);
  });

  it('forgets a restarted peer\'s evidence: what it held may be gone', () => {
    const t = joiner();
    t.change.noteTableFrom('a');
    t.digest('a', { 'A:1': 5 });
    t.tick(0);
    t.change.forgetPeer('a');
    t.digest('b', { 'A:1': 5 });
    t.tick(10);
    expect(t.promoted).toEqual([]);
    t.digest('a', { 'A:1': 5 });
    t.tick(20);
    expect(t.promoted).toEqual([20]);
  });

  it('learns whom to count only from a voter\'s table, not from another joining node\'s', () => {
    const t = joiner([rec('j', { joining: true })]);
    t.change.noteTableFrom('j');
    expect(t.change.votersKnown).toBe(false);
    t.change.noteTableFrom('b');
    expect(t.change.votersKnown).toBe(true);
    // A voter always knows.
    expect(new Tracker({ joining: false, peers: [rec('a')] }).change.votersKnown).toBe(true);
  });
});

describe('a joining node: whom it asks, and when', () => {
  it('asks the live voters it has not caught up with, once per gossip interval', () => {
    const t = joiner([
      rec('s', { state: MemberState.Suspect, seq: 1 }),
      rec('d', { state: MemberState.Dead, seq: 1 }),
      rec('l', { state: MemberState.Left, seq: 1 }),
      rec('r', { incarnation: REMOVED_INCARNATION, state: MemberState.Removed }),
      rec('j', { joining: true }),
    ]);
    expect(t.change.nextTickAt()).toBe(0);
    t.tick(0);
    expect([...t.asked].sort()).toEqual(['a-addr', 'b-addr', 'c-addr', 's-addr']);
    expect(t.change.nextTickAt()).toBe(GOSSIP_MS);
    t.asked.length = 0;
    // a answers: we hold all it holds. Within the interval, nobody is asked again.
    t.change.noteTableFrom('a');
    t.digest('a', { 'A:1': 5 });
    t.tick(GOSSIP_MS - 1);
    expect(t.asked).toEqual([]);
    t.tick(GOSSIP_MS);
    expect([...t.asked].sort()).toEqual(['b-addr', 'c-addr', 's-addr']);
  });

  it('asks at most a majority and two of a large cluster\'s voters, different ones each time', () => {
    const ids = Array.from({ length: 9 }, (_, i) => `v${i}`);
    const t = new Tracker({ joining: true, peers: ids.map((id) => rec(id)), seed: 7 });
    const k = majorityOf(9) + 2;
    const seen = new Set<string>();
    for (let round = 0; round < 6; round++) {
      t.asked.length = 0;
      t.tick(round * GOSSIP_MS);
      expect(t.asked).toHaveLength(k);
      expect(new Set(t.asked).size).toBe(k);
      for (const a of t.asked) seen.add(a);
    }
    expect(seen.size).toBe(9);
  });

  it('wants no tick once it is a voter that is not leaving', () => {
    const t = joiner();
    t.change.noteTableFrom('a');
    t.digest('a', { 'A:1': 5 });
    t.digest('b', { 'A:1': 5 });
    t.tick(0);
    expect(t.promoted).toEqual([0]);
    expect(t.change.nextTickAt()).toBe(Infinity);
    expect(new Tracker({ joining: false, peers: [rec('a')] }).change.nextTickAt()).toBe(Infinity);
  });
});

/** A voter `me` among voters a, b, c and `extra`, that has written twice. */
function voter(extra: MemberRecord[] = []): Tracker {
  const t = new Tracker({ joining: false, peers: [rec('a'), rec('b'), rec('c'), ...extra] });
  t.versions.recordLocal(ORIGIN, 'k', 1);
  t.versions.recordLocal(ORIGIN, 'k', 2);
  t.versions.advance('A:1', 4);
  return t;
}

const ALL = { [ORIGIN]: 2, 'A:1': 4 };

describe('a graceful leave', () => {
  it('ends once a majority of the other voters hold everything this node holds, then marks it removed', () => {
    const t = voter();
    const outcomes: LeaveOutcome[] = [];
    t.now = 50;
    t.change.beginLeave(1000, (o) => outcomes.push(o));
    expect(t.change.handingOff).toBe(true);
    expect([...t.asked].sort()).toEqual(['a-addr', 'b-addr', 'c-addr']);
    // A leave wants a tick at the next ask, or at its deadline if that comes first.
    expect(t.change.nextTickAt()).toBe(50 + GOSSIP_MS);
    t.digest('a', ALL, true); // the same hash, no vector: holds what we hold
    t.tick(60);
    expect(outcomes).toEqual([]);
    t.digest('b', { ...ALL, 'Z:1': 3 }); // holds more than we do
    t.tick(70);
    expect(outcomes).toEqual([{ ok: true, holders: 2, needed: 2 }]);
    expect(t.removedAt).toEqual([70]);
    expect(t.change.handingOff).toBe(false);
    expect(t.promoted).toEqual([]); // a voter is never promoted
  });

  it('asks afresh: digests heard before the leave began are not kept as evidence', () => {
    const t = voter();
    t.digest('a', ALL);
    t.digest('b', ALL);
    const outcomes: LeaveOutcome[] = [];
    t.change.beginLeave(1000, (o) => outcomes.push(o));
    expect(outcomes).toEqual([]);
    expect([...t.asked].sort()).toEqual(['a-addr', 'b-addr', 'c-addr']);
    t.digest('a', ALL);
    t.digest('b', ALL);
    t.tick(10);
    expect(outcomes).toEqual([{ ok: true, holders: 2, needed: 2 }]);
  });

  it('counts no joining peer, no stopped one and none that lacks a write, and fails at its deadline', () => {
    const t = voter([rec('j', { joining: true }), rec('l', { state: MemberState.Left, seq: 1 })]);
    // Voters other than us: a, b, c and l (a stopped member still counts toward the size).
    const needed = majorityOf(4);
    const outcomes: LeaveOutcome[] = [];
    t.change.noteTableFrom('a'); // as the replica does for every table a voter sends
    t.change.beginLeave(500, (o) => outcomes.push(o));
    expect(t.change.nextTickAt()).toBe(GOSSIP_MS);
    t.digest('a', ALL);
    t.digest('j', ALL);
    t.digest('l', ALL);
    t.digest('b', { [ORIGIN]: 1, 'A:1': 4 }); // lacks our second write
    t.digest('c', { 'A:1': 4 }, true); // another hash and no vector
    for (let now = GOSSIP_MS; now < 500; now += GOSSIP_MS) t.tick(now);
    expect(outcomes).toEqual([]);
    expect(t.change.handingOff).toBe(true);
    t.tick(500);
    expect(outcomes).toEqual([{ ok: false, holders: 1, needed, failure: 'handoff' }]);
    expect(t.removedAt).toEqual([]);
    expect(t.change.handingOff).toBe(false);
    expect(t.change.nextTickAt()).toBe(Infinity);
    expect(t.promoted).toEqual([]);
  });

  it('wants a tick at its deadline when that comes before the next ask', () => {
    const t = voter();
    t.now = 20;
    t.change.beginLeave(20 + GOSSIP_MS / 2, () => {});
    expect(t.change.nextTickAt()).toBe(20 + GOSSIP_MS / 2);
  });

  it('a joining node goes at once: it holds nothing the cluster relies on', () => {
    const t = joiner();
    const outcomes: LeaveOutcome[] = [];
    t.change.beginLeave(1000, (o) => outcomes.push(o));
    expect(outcomes).toEqual([{ ok: true, holders: 0, needed: 0 }]);
    expect(t.removedAt).toEqual([0]);
    expect(t.asked).toEqual([]);
    expect(t.change.handingOff).toBe(false);
  });
});

describe('an operator\'s removal record', () => {
  it('refuses a suspect member as live, saying it is suspect', () => {
    const t = voter([rec('s', { state: MemberState.Suspect, seq: 1 })]);
    expect(t.change.removeRecord('s')).toEqual({ ok: false, error: { code: 'live', state: 'suspect' } });
    expect(t.change.removeRecord('a')).toEqual({ ok: false, error: { code: 'live', state: 'alive' } });
  });

  it('removes a forgotten member that never became a voter: its tombstone makes it known', () => {
    const t = voter([rec('j', { joining: true, state: MemberState.Dead, seq: 1 })]);
    t.membership.forget('j', 0);
    expect(t.membership.isVoter('j')).toBe(false);
    expect(t.change.removeRecord('j')).toEqual({ ok: true, value: { id: 'j', address: 'j', incarnation: REMOVED_INCARNATION, seq: 0, state: MemberState.Removed } });
    expect(t.change.removeRecord('zz')).toEqual({ ok: false, error: { code: 'unknown' } });
  });
});
