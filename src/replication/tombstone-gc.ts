// Tombstone collection: when a node may drop its deleted counters for good. A tombstone may go once
// no member can ever hand this node an older, live state of that key again. The evidence is the
// state digest each member sends in its digests, of what it holds *durably* (on disk, or in memory
// for a node without a store, which restarts empty): when every member has durably held exactly our
// current state, each of our tombstones is on every member's disk as it is here (or a later state
// of its key, or nothing once that member collected it too), so no member holds or can restart with
// an older live state, and whatever later state of the key arrives carries the delete's floors.
// docs/crdt-counters.md, "Tombstone collection", gives the whole argument.

/** One digest's evidence: the sender's durable state digest and the one at which it last collected. */
export interface StateReport {
  readonly durable: string | undefined;
  readonly collected: string | undefined;
  /** Whether the sender folds retired slots (its digest carried fold bounds: slot-folds.ts). */
  readonly folds?: boolean;
  /** How many voters the sender counts (DigestBody.voters), if it said. */
  readonly voters?: number;
}

/** Whether a report vouches that its sender durably held the state of digest `hash`. */
function vouches(r: StateReport, hash: string): boolean {
  return r.durable === hash || r.collected === hash;
}

/**
 * The per-member evidence and the decision. Pure: the replica feeds it digests and asks it each
 * round; it never reads a clock.
 */
export class TombstoneGc {
  /** Each member's last two reports, oldest first (by node id: a restarted member's replace its old ones). */
  private readonly reports = new Map<string, StateReport[]>();
  /** The state digest at which this node last collected (sent in digests: it held that state durably). */
  collectedAt: string | undefined;
  /** Our state digest when we last found nothing to collect (so an idle node does not rescan its keys every round). */
  private nothingAt: string | undefined;

  /** A digest from member `nodeId` reported `r`. */
  note(nodeId: string, r: StateReport): void {
    const list = this.reports.get(nodeId);
    if (list === undefined) this.reports.set(nodeId, [r]);
    else {
      list.push(r);
      if (list.length > 2) list.shift();
    }
  }

  /** Forgets a member that is no longer one (membership forgot it). */
  forget(nodeId: string): void {
    this.reports.delete(nodeId);
  }

  /**
   * Whether this node, whose state digest is `hash` and which holds `hash` durably itself
   * (`ownDurable`), may collect its tombstones now: each of `members` (every member but us that
   * collection must wait for: membership.ts via the replica's `gcMembers`) sent two digests in a
   * row that vouch for `hash`. Two: a frame that member sent before it held this state, delayed on
   * the way, arrived before the second (frames of one sender are not overtaken by a gossip interval;
   * TCP keeps them in order, the simulator's reordering delays them by far less).
   */
  mayCollect(hash: string, ownDurable: string | undefined, members: readonly string[]): boolean {
    if (ownDurable !== hash || this.nothingAt === hash) return false;
    for (const id of members) {
      const list = this.reports.get(id);
      if (list === undefined || list.length < 2 || !list.every((r) => vouches(r, hash))) return false;
    }
    return true;
  }

  /** The most voters any of `members` counted in its last report (0 if none said). */
  votersReported(members: readonly string[]): number {
    let most = 0;
    for (const id of members) {
      const list = this.reports.get(id);
      const v = list?.[list.length - 1]?.voters ?? 0;
      if (v > most) most = v;
    }
    return most;
  }

  /**
   * Whether every one of `members` folds retired slots (its last report said so): slot pruning waits
   * for it, since a node that predates it would merge a folded state into an unfolded one.
   */
  allFold(members: readonly string[]): boolean {
    for (const id of members) {
      const list = this.reports.get(id);
      if (list === undefined || list[list.length - 1]?.folds !== true) return false;
    }
    return true;
  }

  /** Collection at state digest `hash` dropped `count` tombstones. */
  collected(hash: string, count: number): void {
    if (count > 0) this.collectedAt = hash;
    else this.nothingAt = hash;
  }
}
