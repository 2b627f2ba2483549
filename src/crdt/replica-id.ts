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
