// Pruning of retired counter slots (docs/crdt-counters.md, "Retired slots"). Every incarnation of a
// node writes its own counter slot, so each restart of a writing node leaves one more slot in every
// key it wrote, on every node. Once every member has durably held one state H (tombstone
// collection's evidence, tombstone-gc.ts) in which node X's incarnation i is retired, i's slot is
// final in every state that can still meet ours, and folding it (adding its fields to another slot's
// and dropping it) commutes with merge. The fold's target must be the same on every node, and must
// be a slot nobody increments, so that whether a fold fits under 2^53-1 depends only on H: every
// retired incarnation of X folds into X's pseudo-slot `X:retired`, in incarnation order.
//
// What travels is a bound per node, "every incarnation of X below b is folded": grow-only, joined by
// max, sent in every digest and in every frame that carries key states, and persisted before any
// folded state is. A node folds every state it receives with the bounds it holds, after adopting the
// frame's, and folds its own keys whenever a bound rises: a state folded by the sender never meets an
// unfolded one here.
//
// Pure: the replica feeds it bounds and slot ids.

import type { ReplicaId } from '../crdt/replica-id.js';

/** `${nodeId}:${incarnation}` split, or undefined for any other form (a pseudo-slot, or a forged id). */
function incarnationOf(id: ReplicaId): { nodeId: string; incarnation: number } | undefined {
  const at = id.lastIndexOf(':');
  if (at <= 0 || at === id.length - 1 || id.length - at > 16) return undefined;
  for (let i = at + 1; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return { nodeId: id.slice(0, at), incarnation: Number(id.slice(at + 1)) };
}

/** `[nodeId, bound]` pairs: every incarnation of nodeId below bound is folded into its pseudo-slot. */
export type FoldBounds = readonly (readonly [string, number])[];

/** The slot every retired incarnation of `nodeId` folds into. Not of the `${nodeId}:${incarnation}` form (its incarnation parses as NaN), so no replica ever writes it. */
export function retiredSlotOf(nodeId: string): ReplicaId {
  return `${nodeId}:retired`;
}

/** Whether `id` is a node's pseudo-slot (`retiredSlotOf`). */
export function isRetiredSlot(id: ReplicaId): boolean {
  return id.endsWith(':retired');
}

/** One fold: `from`'s fields move into `into`. */
export type SlotFold = readonly [from: ReplicaId, into: ReplicaId];

export class SlotFolds {
  private readonly below = new Map<string, number>();

  /** Nodes with a bound. */
  get size(): number {
    return this.below.size;
  }

  /** The bounds, by node id (for frames and the store). */
  bounds(): [string, number][] {
    return [...this.below].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** The bound for `nodeId` (0: none of its incarnations is folded). */
  boundOf(nodeId: string): number {
    return this.below.get(nodeId) ?? 0;
  }

  /** Raises the bounds to `bounds` where they are higher. Returns whether any rose. */
  adopt(bounds: FoldBounds): boolean {
    let rose = false;
    for (const [nodeId, b] of bounds) {
      if (b > (this.below.get(nodeId) ?? 0)) {
        this.below.set(nodeId, b);
        rose = true;
      }
    }
    return rose;
  }

  /** Whether `id`'s slot is folded: a real incarnation of a node below its bound. */
  folds(id: ReplicaId): boolean {
    if (this.below.size === 0) return false;
    const r = incarnationOf(id);
    const b = r === undefined ? undefined : this.below.get(r.nodeId);
    return b !== undefined && (r as { incarnation: number }).incarnation < b;
  }

  /**
   * The folds a counter holding slots `ids` needs, in the order they must be made (each node's
   * incarnations oldest first, so the pseudo-slot's sums, and whether each fits, are the same on
   * every node), or undefined if none.
   */
  foldsFor(ids: readonly ReplicaId[]): SlotFold[] | undefined {
    if (this.below.size === 0) return undefined;
    let out: [ReplicaId, ReplicaId, number][] | undefined;
    for (const id of ids) {
      const r = incarnationOf(id);
      if (r === undefined) continue;
      const b = this.below.get(r.nodeId);
      if (b !== undefined && r.incarnation < b) (out ??= []).push([id, retiredSlotOf(r.nodeId), r.incarnation]);
    }
    if (out === undefined) return undefined;
    out.sort((x, y) => (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : x[2] - y[2]));
    return out.map(([from, into]) => [from, into] as const);
  }
}

/**
 * The bounds a state H justifies: for each node with two or more incarnations among H's counter
 * slots `ids`, its highest one. Every lower incarnation is retired in H (the node ran a later one,
 * which wrote into H, after it), so its slot is final in every state at least H.
 */
export function boundsFrom(ids: Iterable<ReplicaId>): [string, number][] {
  const lowest = new Map<string, number>();
  const highest = new Map<string, number>();
  for (const id of ids) {
    const r = incarnationOf(id);
    if (r === undefined) continue;
    const { nodeId, incarnation } = r;
    if (incarnation < (lowest.get(nodeId) ?? Infinity)) lowest.set(nodeId, incarnation);
    if (incarnation > (highest.get(nodeId) ?? -1)) highest.set(nodeId, incarnation);
  }
  const out: [string, number][] = [];
  for (const [nodeId, hi] of highest) if ((lowest.get(nodeId) as number) < hi) out.push([nodeId, hi]);
  return out;
}
