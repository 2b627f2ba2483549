// Replica ids: the slot owner in a counter. One per node *incarnation*, so a restarted node never
// writes into a slot whose larger, older value its peers may still hold (see docs/crdt-counters.md).

/** `${nodeId}:${incarnation}`, e.g. "n1:7". Opaque to the CRDTs: any non-empty string up to 255 UTF-8 bytes. */
export type ReplicaId = string;

export function replicaIdOf(nodeId: string, incarnation: number): ReplicaId {
  return `${nodeId}:${incarnation}`;
}

/** The node id and incarnation of a replica id made by replicaIdOf (the incarnation is NaN for any other string). */
export function parseReplicaId(id: ReplicaId): { nodeId: string; incarnation: number } {
  const at = id.lastIndexOf(':');
  return { nodeId: id.slice(0, at), incarnation: Number(id.slice(at + 1)) };
}

/** Most distinct replica ids interned; past it, decoded ids are kept as they come. */
const INTERN_MAX = 65_536;
const interned = new Map<string, ReplicaId>();

/**
 * One string per replica id for the process: a decoded id is a fresh string, and every key a peer
 * sends would otherwise keep its own copy of the same few ids (about 24 heap bytes per slot). Bounded,
 * so ids from forged or garbage frames cannot grow it without end.
 */
export function internReplicaId(id: string): ReplicaId {
  const known = interned.get(id);
  if (known !== undefined) return known;
  if (interned.size < INTERN_MAX) interned.set(id, id);
  return id;
}
