// Membership changes without consensus (docs/consistency.md, "Membership changes"): a joining node
// counts toward no majority until it has caught up from a majority of the voters it joined; a leaving
// node stops counting only once a majority of the other voters hold everything it holds; an operator
// removes a dead member by an explicit record that outranks every other record of its id.

import type { ReplicaContext } from './context.js';
import { MemberState, MsgKind, REMOVED_INCARNATION, type DigestBody, type MemberRecord } from './messages.js';
import type { Result } from '../util/result.js';
import { err, ok } from '../util/result.js';

/** How a graceful leave ended: how many other voters held everything this node held, of how many needed. */
export interface LeaveOutcome {
  ok: boolean;
  holders: number;
  needed: number;
  /**
   * Why it failed (absent on success): `handoff` = no majority held everything by the deadline;
   * `alone` = the only member; `busy` = already leaving, stopping or gone.
   */
  failure?: 'handoff' | 'alone' | 'busy';
}

/** Why an operator's removal was refused: ourselves, an unknown id, one already removed, or one that is running. */
export type RemoveRefusal = { code: 'self' } | { code: 'unknown' } | { code: 'already' } | { code: 'live'; state: 'alive' | 'suspect' };

/** The smallest majority of `n` voters. */
export function majorityOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** What the change tracker asks of the rest of the replica. */
export interface MembershipChangeHooks {
  /** Clear our own record's joining flag (a higher seq), so gossip spreads it. */
  promote(): void;
  /** Mark our own record Removed (a higher seq): we left the cluster. */
  markRemoved(): void;
  /** Ask the peer at `address` for its full vector now (a Digest with askVector). */
  askVector(address: string): void;
}

export class MembershipChange {
  /** Per peer id: its vector from the latest digest that carried one, and the hash of its latest digest. */
  private readonly peers = new Map<string, { vector: ReadonlyMap<string, number> | null; hash: string }>();
  /** Peers whose state a joining node has caught up with (at or after its start: it holds all they held). */
  private readonly caughtUpWith = new Set<string>();
  /** Whether a joining node has been sent a voter's whole membership table (so it knows whom to count). */
  private sawTable = false;
  private nextAskAt: number;
  private leaving: { deadline: number; done: (o: LeaveOutcome) => void } | null = null;

  constructor(
    private readonly ctx: ReplicaContext,
    private readonly hooks: MembershipChangeHooks,
  ) {
    this.nextAskAt = ctx.now;
  }

  /** Whether our own record is still joining. */
  get joining(): boolean {
    return this.ctx.membership.get(this.ctx.self.nodeId)?.joining === true;
  }

  /** Whether a graceful leave is handing off. */
  get handingOff(): boolean {
    return this.leaving !== null;
  }

  nextTickAt(): number {
    if (!this.joining && this.leaving === null) return Infinity;
    return Math.min(this.nextAskAt, this.leaving?.deadline ?? Infinity);
  }

  /** A digest from `peer`: the evidence of what it holds (kept only while joining or handing off). */
  noteDigest(peer: string, d: DigestBody): void {
    if (this.leaving === null && !this.joining) return;
    const prev = this.peers.get(peer);
    const vector = d.vector === null ? (prev?.vector ?? null) : new Map(d.vector.map((e) => [e.origin, e.known] as const));
    this.peers.set(peer, { vector, hash: d.hash });
  }

  /** A peer restarted: what it held before may be gone. */
  forgetPeer(peer: string): void {
    this.peers.delete(peer);
    this.caughtUpWith.delete(peer);
  }

  /** A voter sent us its membership table: a joining node now knows the voters it must count. */
  noteTableFrom(peer: string): void {
    if (this.ctx.membership.isVoter(peer)) this.sawTable = true;
  }

  /**
   * Whether this node knows whom a majority is counted from: a voter always does; a joining node
   * once a voter sent it its membership table. Before that, the members it heard of are only those
   * whose frames reached it, and a majority of them may be a minority of the cluster.
   */
  get votersKnown(): boolean {
    return this.sawTable || !this.joining;
  }

  /** Whether we hold everything `peer` said it held (its own origin's writes included). */
  private weCover(peer: string): boolean {
    const p = this.peers.get(peer);
    if (p === undefined) return false;
    const { versions, origin } = this.ctx;
    if (p.hash === versions.hash) return true;
    if (p.vector === null) return false;
    for (const [o, v] of p.vector) if (o !== origin && versions.known(o) < v) return false;
    return true;
  }

  /** Whether `peer` said it holds everything we hold now. */
  private theyCover(peer: string): boolean {
    const p = this.peers.get(peer);
    if (p === undefined) return false;
    const { versions } = this.ctx;
    if (p.hash === versions.hash) return true;
    if (p.vector === null) return false;
    for (const [o, { known }] of versions.entries()) if (known > 0 && (p.vector.get(o) ?? 0) < known) return false;
    return true;
  }

  /**
   * Live voters (alive or suspect) other than us whose evidence we still lack, at most a majority
   * and two of them, at random: enough to finish, without a digest to every member of a large cluster.
   */
  private votersToAsk(joining: boolean): { id: string; address: string }[] {
    const out: { id: string; address: string }[] = [];
    const { membership, self, rng } = this.ctx;
    for (const m of membership.all()) {
      if (m.id === self.nodeId || m.joining === true || m.state === MemberState.Removed) continue;
      if (m.state !== MemberState.Alive && m.state !== MemberState.Suspect) continue;
      if (joining ? this.caughtUpWith.has(m.id) : this.theyCover(m.id)) continue;
      out.push(m);
    }
    const k = majorityOf(membership.voterCount) + 2;
    while (out.length > k) out.splice(rng.int(out.length), 1);
    return out;
  }

  tick(now: number): void {
    const joining = this.joining;
    if (!joining && this.leaving === null) return;
    if (now >= this.nextAskAt) {
      this.nextAskAt = now + this.ctx.cfg.gossipIntervalMs;
      for (const m of this.votersToAsk(joining)) this.hooks.askVector(m.address);
    }
    if (joining) this.checkCaughtUp();
    if (this.leaving !== null) this.checkHandOff(now);
  }

  /**
   * The join rule: promote ourselves once we hold everything that a majority of the voters (as the
   * table a voter sent us says) held at some time after we started. Every write acknowledged by a
   * majority before we started is then on this node, since the two majorities share a voter.
   */
  private checkCaughtUp(): void {
    const { membership, self } = this.ctx;
    // A node configured alone with no seeds founded the cluster: it starts as a voter, never here.
    if (!this.sawTable) return;
    for (const peer of this.peers.keys()) if (!this.caughtUpWith.has(peer) && membership.isVoter(peer) && this.weCover(peer)) this.caughtUpWith.add(peer);
    let n = 0;
    for (const peer of this.caughtUpWith) if (peer !== self.nodeId && membership.isVoter(peer)) n++;
    if (n >= majorityOf(membership.voterCount)) this.hooks.promote();
  }

  /**
   * A graceful leave: hand off until a majority of the other voters hold everything we hold, then
   * mark ourselves Removed. `done` is called once, with the outcome, by `deadline` at the latest.
   */
  beginLeave(deadline: number, done: (o: LeaveOutcome) => void): void {
    const { membership, self } = this.ctx;
    if (this.leaving !== null) return done({ ok: false, holders: 0, needed: 0, failure: 'busy' });
    if (!membership.isVoter(self.nodeId)) {
      // A joining node holds nothing the cluster relies on: it may go at once.
      this.hooks.markRemoved();
      return done({ ok: true, holders: 0, needed: 0 });
    }
    if (membership.voterCount <= 1) return done({ ok: false, holders: 0, needed: 0, failure: 'alone' });
    this.leaving = { deadline, done };
    this.nextAskAt = this.ctx.now;
    this.tick(this.ctx.now);
  }

  private handOffCount(): { holders: number; needed: number } {
    const { membership, self } = this.ctx;
    const others = membership.voterCount - 1;
    let holders = 0;
    for (const peer of this.peers.keys()) if (peer !== self.nodeId && membership.isVoter(peer) && membership.get(peer)?.state !== MemberState.Left && this.theyCover(peer)) holders++;
    return { holders, needed: majorityOf(others) };
  }

  private checkHandOff(now: number): void {
    const l = this.leaving;
    if (l === null) return;
    const { holders, needed } = this.handOffCount();
    if (holders >= needed) {
      this.leaving = null;
      this.hooks.markRemoved();
      l.done({ ok: true, holders, needed });
    } else if (now >= l.deadline) {
      this.leaving = null;
      l.done({ ok: false, holders, needed, failure: 'handoff' });
    }
  }

  /**
   * An operator removes member `id` for good (TALLY.REMOVE). Only a member that is not running as
   * far as we can tell (dead, stopped, or forgotten): a live one should `tally leave` instead.
   * Returns the removal record to spread.
   */
  removeRecord(id: string): Result<MemberRecord, RemoveRefusal> {
    const { membership, self } = this.ctx;
    if (id === self.nodeId) return err({ code: 'self' });
    const m = membership.get(id);
    if (m === undefined && membership.tombstoneOf(id) === undefined && !membership.isVoter(id)) return err({ code: 'unknown' });
    if (m?.state === MemberState.Removed) return err({ code: 'already' });
    if (m !== undefined && (m.state === MemberState.Alive || m.state === MemberState.Suspect)) return err({ code: 'live', state: m.state === MemberState.Alive ? 'alive' : 'suspect' });
    return ok({ id, address: m?.address ?? id, incarnation: REMOVED_INCARNATION, seq: 0, state: MemberState.Removed });
  }
}

/** The Delta that carries membership records alone. */
export function membersFrame(members: MemberRecord[]): { kind: typeof MsgKind.Delta; body: { ranges: []; states: []; members: MemberRecord[]; more: false } } {
  return { kind: MsgKind.Delta, body: { ranges: [], states: [], members, more: false } };
}
