// Failure detection and membership gossip (SWIM with Lifeguard's refinements, in the spirit of
// memberlist's state.go): direct and indirect probes, suspicion with accusers, death and forgetting,
// refutation of rumours about ourselves, and the records a peer's frame or gossip tells us.

import type { ReplicaContext } from './context.js';
import { isVoter, toRecord, type Member } from './membership.js';
import { MemberState, MsgKind, type MemberRecord } from './messages.js';
import { maxSuspicionTimeout, suspicionTimeout } from './suspicion.js';

/** Tick lateness tolerated before a gap counts as a stall: the node loop's 50 ms period plus timer slop. */
const STALL_SLACK_MS = 100;

interface PendingProbe {
  target: string;
  address: string;
  sentAt: number;
  indirect: boolean;
}

/** An indirect probe we run for another member. */
interface Relay {
  /** Where the requester is reached, and the seq it gave its probe. */
  requester: string;
  requesterSeq: number;
  expiresAt: number;
}

export class FailureDetector {
  /** Our own record's seq: raised to refute suspicion of us, and to leave. */
  private selfSeq = 0;
  private nextProbeAt: number;
  /** When the next tick was due (nextTickAt() after the last one): far past it, this node was frozen. */
  private dueAt = Infinity;
  /** After a stall: no suspect is declared dead before this time. */
  private noDeathsUntil = 0;
  private probeSeq = 0;
  private readonly pending = new Map<number, PendingProbe>();
  /** Indirect probes we run for others, by our own probe seq. */
  private readonly relayed = new Map<number, Relay>();
  /** When we last asked each member to refute our verdict on it. */
  private readonly askedAt = new Map<string, number>();

  constructor(
    private readonly ctx: ReplicaContext,
    /** An operator removed this node from the cluster (a Removed record of our id outranks us). */
    private readonly onRemoved: () => void = () => {},
  ) {
    this.nextProbeAt = ctx.now + ctx.rng.next() * ctx.cfg.probeIntervalMs;
  }

  /** When this part next has work: a probe to send or one to time out. */
  nextTickAt(): number {
    let t = this.nextProbeAt;
    const cfg = this.ctx.cfg;
    for (const p of this.pending.values()) t = Math.min(t, p.sentAt + (p.indirect ? cfg.probeIntervalMs : cfg.probeTimeoutMs));
    return t;
  }

  /**
   * Called first in every tick. Ticks come by the time nextTickAt() named (the node's loop runs at
   * least every 50 ms). Far later than that, this node was not running (SIGSTOP, a VM or GC pause, a
   * blocked event loop): its probes' missing acks say nothing about their targets, so they are void
   * (in the spirit of Lifeguard's local health awareness) instead of making it suspect healthy peers.
   */
  checkStall(now: number): void {
    const cfg = this.ctx.cfg;
    if (now - this.dueAt > cfg.probeTimeoutMs + STALL_SLACK_MS) {
      if (this.pending.size > 0) this.pending.clear();
      // A stall and a forward clock step look alike from here: either way, re-measure the clock.
      this.ctx.clockSkew.jumped(now);
      this.ctx.stats.stalls++;
      // Suspicions that timed out while we were frozen get time for refutations to reach us first.
      this.noDeathsUntil = now + Math.max(cfg.probeIntervalMs, 2 * cfg.gossipIntervalMs);
    }
  }

  /** Times out probes, sends the next one when due, and ages suspects and the dead. */
  tick(now: number): void {
    // A clock stepped back leaves no timer further away than its interval (see AntiEntropy.tick).
    this.nextProbeAt = Math.min(this.nextProbeAt, now + this.ctx.cfg.probeIntervalMs);
    for (const p of this.pending.values()) if (p.sentAt > now) p.sentAt = now;
    this.checkProbes(now);
    if (now >= this.nextProbeAt) {
      this.probe();
      const interval = this.ctx.cfg.probeIntervalMs;
      this.nextProbeAt += interval;
      if (this.nextProbeAt <= now) this.nextProbeAt = now + interval;
    }
    this.checkMembers(now);
  }

  /** Called last in every tick with the replica's next due time, for stall detection. */
  tickDone(nextDue: number): void {
    this.dueAt = nextDue;
  }

  // ---- records heard by gossip -----------------------------------------------------------------

  /** Applies membership records a peer sent (the whole table or part of it). */
  applyMembers(records: readonly MemberRecord[]): void {
    const { membership, self, events } = this.ctx;
    for (const r of records) {
      if (r.id === self.nodeId) {
        if (r.state === MemberState.Removed && r.incarnation > self.incarnation) {
          // Removed by an operator: no refutation outbids that. Say so and stop (replica.ts).
          const prev = membership.get(r.id)?.state;
          const m = membership.apply(r, this.ctx.now);
          if (m !== undefined) events.memberChanged?.(m, prev);
          this.onRemoved();
          continue;
        }
        this.refute(r);
        continue;
      }
      const prev = membership.get(r.id)?.state;
      const m = membership.apply(r, this.ctx.now);
      if (m === undefined) continue;
      // A new suspicion is armed even when the member was suspect already (a higher seq: a new
      // record, its timeout counted from now); a new accuser of the same suspicion keeps its own.
      if (m.state === MemberState.Suspect && m.suspectDeadline === undefined) this.armSuspicion(m);
      // A new accuser of a suspect changes its record (and timeout) but not its state.
      if (m.state !== prev) events.memberChanged?.(m, prev);
    }
  }

  /**
   * A frame is direct evidence that its sender is alive at its incarnation. Returns true when the
   * sender is a new incarnation of a member we knew (a restarted peer may have lost what it held).
   */
  noteSender(id: string, incarnation: number, address: string): boolean {
    const { membership, events, now } = this.ctx;
    const m = membership.get(id);
    let restarted = false;
    if (m === undefined || m.incarnation < incarnation) {
      restarted = m !== undefined;
      const prev = m?.state;
      // Heard only from its frame: a voter we knew (or a configured one) restarted and still counts;
      // anyone else is joining until its own record says it caught up (membership-change.ts).
      const joining = membership.isVoter(id) ? {} : { joining: true as const };
      const added = membership.apply({ id, address, incarnation, seq: 0, state: MemberState.Alive, ...joining }, now);
      if (added !== undefined) events.memberChanged?.(added, prev);
      else this.askToRefute(id, address, incarnation);
    } else if ((m.incarnation === incarnation && m.state === MemberState.Dead) || m.state === MemberState.Removed) {
      this.askToRefute(id, address, incarnation);
    }
    membership.heard(id, now);
    return restarted;
  }

  /**
   * A member we hold dead, or forgot, is talking to us (a partition healed): it alone can outbid our
   * verdict, by refuting it with a higher seq. Send it the verdict so it does, as SWIM's refutation
   * of a rumour; its alive record then spreads by gossip.
   */
  private askToRefute(id: string, address: string, incarnation: number): void {
    const { membership, now, cfg } = this.ctx;
    const m = membership.get(id);
    const verdict = m ?? membership.tombstoneOf(id);
    // A removed id is told so, whatever incarnation it runs: it cannot refute that.
    const removed = m !== undefined && m.state === MemberState.Removed;
    if (verdict === undefined || (verdict.incarnation !== incarnation && !removed)) return;
    // Once per gossip interval per member: the ask is itself a frame, and two nodes that each hold
    // the other dead would otherwise answer every ask with another, a storm with no end.
    const last = this.askedAt.get(id);
    if (last !== undefined && now >= last && now - last < cfg.gossipIntervalMs) return;
    this.askedAt.set(id, now);
    if (this.askedAt.size > 4 * membership.size + 64) this.askedAt.clear();
    const members = removed ? [toRecord(m)] : [{ id, address, incarnation, seq: verdict.seq, state: MemberState.Dead }];
    this.ctx.send(address, { kind: MsgKind.Delta, body: { ranges: [], states: [], members, more: false } });
  }

  /** Someone says something about us: if it is suspicion or death at our incarnation, outbid it. */
  private refute(r: MemberRecord): void {
    if (r.incarnation !== this.ctx.self.incarnation || this.ctx.leaving) return;
    if (r.state !== MemberState.Alive && r.seq >= this.selfSeq) {
      this.selfSeq = r.seq + 1;
      this.ctx.membership.setState(this.ctx.self.nodeId, MemberState.Alive, this.ctx.now, this.selfSeq);
    }
  }

  /** We caught up after joining: our record stops being joining, at a seq that outbids the old one. */
  promote(): void {
    this.selfSeq++;
    const m = this.ctx.membership.promote(this.ctx.self.nodeId, this.ctx.now, this.selfSeq);
    if (m !== undefined) this.ctx.events.memberChanged?.(m, m.state);
  }

  /** We left the cluster for good (the hand-off is done): Removed, at a seq that outbids every record of us. */
  markRemoved(): void {
    this.selfSeq++;
    const prev = this.ctx.membership.get(this.ctx.self.nodeId)?.state;
    const m = this.ctx.membership.setState(this.ctx.self.nodeId, MemberState.Removed, this.ctx.now, this.selfSeq);
    if (m !== undefined) this.ctx.events.memberChanged?.(m, prev);
  }

  /** Graceful leave: marks ourselves left, with a seq that outbids every record of us. */
  markLeft(): void {
    this.selfSeq++;
    this.ctx.membership.setState(this.ctx.self.nodeId, MemberState.Left, this.ctx.now, this.selfSeq);
  }

  // ---- suspicion -------------------------------------------------------------------------------

  private armSuspicion(m: Member): void {
    m.suspectDeadline = this.ctx.now + maxSuspicionTimeout(this.ctx.cfg, this.ctx.membership.size);
  }

  /** How long `m`'s suspicion lasts before it is declared dead, given its accusers (Lifeguard). */
  suspicionTimeout(m: Member): number {
    return suspicionTimeout(this.ctx.cfg, this.ctx.membership.size, m.accusers?.length ?? 1);
  }

  // ---- probes ----------------------------------------------------------------------------------

  private probe(): void {
    if (this.ctx.leaving) return;
    const [target] = this.ctx.membership.randomTargets(this.ctx.rng, 1);
    if (target === undefined) return;
    const seq = ++this.probeSeq;
    this.pending.set(seq, { target: target.id, address: target.address, sentAt: this.ctx.now, indirect: false });
    this.ctx.send(target.address, { kind: MsgKind.Ping, body: { seq } });
  }

  onPing(from: string, seq: number): void {
    this.ctx.send(from, { kind: MsgKind.Ack, body: { seq, time: Math.max(0, Math.floor(this.ctx.now)) } });
  }

  /** Pings `address` for the requester at `from`, relaying the ack back under its own seq. */
  onPingReq(from: string, requesterSeq: number, address: string): void {
    const seq = ++this.probeSeq;
    this.relayed.set(seq, { requester: from, requesterSeq, expiresAt: this.ctx.now + this.ctx.cfg.probeIntervalMs });
    this.ctx.send(address, { kind: MsgKind.Ping, body: { seq } });
  }

  onAck(seq: number, time?: number): void {
    const relay = this.relayed.get(seq);
    if (relay !== undefined) {
      this.relayed.delete(seq);
      this.ctx.send(relay.requester, { kind: MsgKind.Ack, body: { seq: relay.requesterSeq } });
      return;
    }
    const p = this.pending.get(seq);
    // A direct probe's ack carries the target's clock: with the round trip, an NTP-style offset.
    if (p !== undefined && time !== undefined) {
      const rtt = this.ctx.now - p.sentAt;
      this.ctx.clockSkew.sample(p.address, time - (p.sentAt + this.ctx.now) / 2, rtt, this.ctx.now);
    }
    this.pending.delete(seq);
  }

  private checkProbes(now: number): void {
    const { cfg, membership, rng, events } = this.ctx;
    for (const [seq, p] of this.pending) {
      if (!p.indirect && now >= p.sentAt + cfg.probeTimeoutMs) {
        p.indirect = true;
        for (const m of membership.randomTargets(rng, cfg.indirectChecks, p.target))
          this.ctx.send(m.address, { kind: MsgKind.PingReq, body: { seq, target: p.target, address: p.address } });
      }
      if (now >= p.sentAt + cfg.probeIntervalMs) {
        this.pending.delete(seq);
        const m = membership.get(p.target);
        // Already suspect (heard from others): our failed probe is an independent confirmation.
        if (m !== undefined && m.state === MemberState.Suspect) membership.accuse(m.id);
        if (m !== undefined && m.state === MemberState.Alive) {
          const s = membership.setState(m.id, MemberState.Suspect, now);
          if (s !== undefined) {
            this.armSuspicion(s);
            events.memberChanged?.(s, MemberState.Alive);
          }
        }
      }
    }
    for (const [seq, r] of this.relayed) if (now > r.expiresAt) this.relayed.delete(seq);
  }

  private checkMembers(now: number): void {
    const { cfg, membership, self, events } = this.ctx;
    const forget: string[] = [];
    for (const m of membership.ownMembers()) {
      if (m.id === self.nodeId) continue;
      if (m.state === MemberState.Suspect && m.suspectDeadline !== undefined) {
        if (now >= m.since + this.suspicionTimeout(m) && now >= this.noDeathsUntil) {
          const d = membership.setState(m.id, MemberState.Dead, now);
          if (d !== undefined) events.memberChanged?.(d, MemberState.Suspect);
        }
      } else if (((m.state === MemberState.Dead && !isVoter(m)) || m.state === MemberState.Left) && now - m.since >= cfg.deadForgetMs) {
        // A dead voter is kept (it still counts toward the size, and gossip to the dead keeps trying
        // it) until an operator removes it; a stopped one said it stopped, and will call its seeds.
        forget.push(m.id);
      }
    }
    for (const id of forget) membership.forget(id, now);
    if (forget.length > 0) membership.expireTombstones(now, cfg.tombstoneMs);
  }
}
