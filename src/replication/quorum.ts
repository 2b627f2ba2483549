// Quorum waits: WAIT and majority writes (how many peers hold our writes up to a version, learned
// from their digests and Have acks), and majority reads (ask every live peer for some keys, merge
// what comes back, done once a majority of the cluster has answered). docs/consistency.md.

import type { DeltaFrames } from './anti-entropy.js';
import type { DecodedKey } from '../keyspace/entries.js';
import type { ReplicaContext } from './context.js';
import { MemberState, MsgKind, type DeltaBody, type KeyState, type PartsNeeded, type VectorEntry } from './messages.js';
import { Waiters, type WaitOutcome } from './waiters.js';
import { isVoter } from './membership.js';
import { majorityOf } from './membership-change.js';

/** A majority write or read that waits until this node knows the voters (a joining node). */
type Deferred = { deadline: number; start: () => void; fail: () => void };

/** The outcome of a majority wait that timed out before this joining node learned the voters. */
const votersUnknown = (): WaitOutcome => ({ ok: false, count: 0, needed: 0, votersUnknown: true });

export class Quorum {
  /** Per peer id: the highest version of our own origin it is known to hold (from its digests and Have acks). */
  private readonly peerHas = new Map<string, number>();
  private readonly waiters = new Waiters();
  /** Majority writes and reads started before the voters were known, in arrival order. */
  private deferred: Deferred[] = [];

  constructor(
    private readonly ctx: ReplicaContext,
    /** The version of our own latest write. */
    private readonly localVersion: () => number,
    /** Anti-entropy's delta building and sending (a key too large for a frame travels as parts). */
    private readonly deltas: {
      /** Our own origin's entries above `has`. */
      ownDelta(has: number): DeltaFrames;
      sendDelta(address: string, frames: DeltaFrames): void;
      partsArrived(from: string, needs: PartsNeeded | undefined): boolean;
      readFrames(states: readonly KeyState[], budget: number): { parts: DeltaBody[]; needs: PartsNeeded };
    },
    /** Whether this node knows the voters a majority is counted from (membership-change.ts). */
    private readonly votersKnown: () => boolean,
  ) {}

  nextDeadline(): number {
    let t = this.waiters.nextDeadline();
    for (const d of this.deferred) t = Math.min(t, d.deadline);
    return t;
  }

  /** Fails every waiter whose deadline has passed; starts the deferred ones once the voters are known. */
  expire(now: number): void {
    this.startDeferred();
    if (this.deferred.length > 0) {
      this.deferred = this.deferred.filter((d) => {
        if (now < d.deadline) return true;
        d.fail();
        return false;
      });
    }
    this.waiters.expire(now, this.holdersOf);
  }

  /** Starts the majority waits deferred until the voters were known, if they are now. */
  startDeferred(): void {
    if (this.deferred.length === 0 || !this.votersKnown()) return;
    const ready = this.deferred;
    this.deferred = [];
    for (const d of ready) d.start();
  }

  /** `peer` holds our origin up to `version`. */
  notePeerHas(peer: string, version: number): void {
    if (version <= (this.peerHas.get(peer) ?? 0)) return;
    this.peerHas.set(peer, version);
    this.waiters.recheckWrites(this.holdersOf);
  }

  /** A peer acknowledged what it holds of our writes. */
  onHave(peer: string, vector: readonly VectorEntry[]): void {
    for (const e of vector) if (e.origin === this.ctx.origin) this.notePeerHas(peer, e.known);
  }

  /** A peer restarted: what it held before may be gone. */
  forgetPeer(peer: string): void {
    this.peerHas.delete(peer);
  }

  /**
   * How many peers hold our origin up to `version`: voters other than us (not joining, not removed)
   * that are not stopped (left). WAIT and majority writes count these and nobody else.
   */
  readonly holdersOf = (version: number): number => {
    let n = 0;
    for (const [peer, v] of this.peerHas) {
      if (v < version) continue;
      const m = this.ctx.membership.get(peer);
      if (m !== undefined && m.state !== MemberState.Left && isVoter(m)) n++;
    }
    return n;
  };

  /**
   * The cluster size a majority is counted from: the voters this node knows, in any state (alive,
   * suspect, dead, stopped), ourselves included if we are one; the config's nodes count until a
   * record says otherwise. Joining members are not counted until they caught up; removed ones never
   * again (docs/consistency.md, "Membership changes").
   */
  clusterSize(): number {
    return this.ctx.membership.voterCount;
  }

  /**
   * Peers (besides us) that make a majority: one fewer when we are a voter ourselves. Undefined on a
   * joining node that has not yet been sent a voter's membership table: it knows only the members
   * whose frames reached it, so it cannot tell what a majority is (with none known, a majority of
   * nobody would be one peer).
   */
  majorityPeers(): number | undefined {
    if (!this.votersKnown()) return undefined;
    const self = this.ctx.membership.isVoter(this.ctx.self.nodeId) ? 1 : 0;
    return Math.max(0, majorityOf(this.clusterSize()) - self);
  }

  /**
   * A majority write: waits until a majority of the voters hold every local write up to `version`
   * (awaitHolders with majorityPeers), or until `deadline`. On a node that does not know the voters
   * yet, the count starts once it does; at the deadline before that it fails with `votersUnknown`.
   */
  awaitMajority(version: number, deadline: number, done: (o: WaitOutcome) => void): void {
    const needed = this.majorityPeers();
    if (needed !== undefined) return this.awaitHolders(version, needed, deadline, done);
    // Started again once the voters are known; should they still be unknown then, it waits on
    // rather than count a majority of nobody (which a count of 0 would grant at once).
    this.deferred.push({ deadline, start: () => this.awaitMajority(version, deadline, done), fail: () => done(votersUnknown()) });
  }

  /**
   * Waits until `needed` peers hold every local write up to `version` (WAIT, majority writes), or
   * until `deadline`. Pushes our newest writes to every live peer at once rather than waiting for
   * the next gossip round.
   */
  awaitHolders(version: number, needed: number, deadline: number, done: (o: WaitOutcome) => void): void {
    if (needed > 0 && this.holdersOf(version) < needed) this.pushOwnWrites();
    this.waiters.waitWrite(version, needed, deadline, this.holdersOf, done);
  }

  /** Sends each live peer our own origin's entries above what it is known to hold. */
  pushOwnWrites(): void {
    const { membership, rng } = this.ctx;
    const latest = this.localVersion();
    for (const m of membership.randomTargets(rng, membership.size)) {
      const has = this.peerHas.get(m.id) ?? 0;
      if (has >= latest) continue;
      const frames = this.deltas.ownDelta(has);
      if (frames.delta.ranges.length > 0) this.deltas.sendDelta(m.address, frames);
    }
  }

  /**
   * A majority read: asks every live peer for its state of `keys`, merges what comes back, and calls
   * `done` once a majority of the cluster (us included) has contributed, or at `deadline`.
   */
  majorityRead(keys: readonly string[], deadline: number, done: (o: WaitOutcome) => void): void {
    const needed = this.majorityPeers();
    if (needed === undefined) {
      this.deferred.push({ deadline, start: () => this.majorityRead(keys, deadline, done), fail: () => done(votersUnknown()) });
      return;
    }
    const id = this.waiters.waitRead(needed, deadline, done);
    if (needed === 0) return;
    const { membership, rng } = this.ctx;
    for (const m of membership.randomTargets(rng, membership.size)) this.ctx.send(m.address, { kind: MsgKind.ReadReq, body: { id, keys: [...keys] } });
  }

  onReadReq(address: string, id: number, keys: readonly string[]): void {
    const states: KeyState[] = [];
    for (const key of keys) {
      const e = this.ctx.keyspace.encodeKey(key);
      if (e !== undefined) states.push({ key, tag: e.tag, bytes: e.bytes });
    }
    // Within the size limit (a read of many keys, or of one large sketch): the states go ahead as
    // Delta frames without ranges (parts where a key alone is too large), and the answer counts
    // only if they all arrived.
    const budget = this.ctx.cfg.maxMessageBytes - 512;
    let size = 32;
    for (const s of states) size += s.key.length + s.bytes.length + 16;
    if (size <= budget) {
      this.ctx.send(address, { kind: MsgKind.ReadResp, body: { id, states } });
      return;
    }
    const frames = this.deltas.readFrames(states, budget);
    for (const f of frames.parts) this.ctx.send(address, { kind: MsgKind.Delta, body: f });
    this.ctx.send(address, { kind: MsgKind.ReadResp, body: { id, states: [], needs: frames.needs } });
  }

  onReadResp(from: string, id: number, decoded: readonly DecodedKey[], needs: PartsNeeded | undefined): void {
    for (const { key, states, life } of decoded) this.ctx.keyspace.mergeDecoded(key, states, life);
    // Every answer is merged; only a voter's counts toward the majority.
    if (this.deltas.partsArrived(from, needs) && this.ctx.membership.isVoter(from)) this.waiters.readAnswered(id, from);
  }
}
