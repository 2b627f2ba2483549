// SCAN's cursor over a changing keyspace: a walk of the key table in the order of its key ids. A
// key keeps its id for as long as the table holds it (key-table.ts `idBound`), so a key present from
// the start of a full iteration to its end is returned exactly once, however keys come and go
// between calls (Redis promises at least once). A key added meanwhile is returned if it took an id
// above the cursor (a new id, or a collected key's id given again). The cursor is the next id to
// visit; 0 starts a walk and ends one. No index of its own: SCAN costs writes nothing, and memory
// nothing per key. (Until December 6 2026 a per-database hash table walked in Redis's reverse-binary
// order held every key a second time from the first SCAN on, and never shrank: after mass deletes
// each call walked its empty buckets, so a scan of a small database took many calls, each empty.)

/** What the walk needs of the key table. */
export interface KeysById {
  /** One above the highest id given: every held key's id is below it. */
  readonly idBound: number;
}

/**
 * Ids a call visits at most without finding `count` keys: Redis's cap is ten empty buckets per key
 * asked for. Here ids of deleted keys (tombstones kept for replication until collected; expired
 * keys' next epochs, which are never collected) and of other databases share one table, and a
 * database of a few keys beside many of those took many empty calls at a cap of 10,000 (the Redis
 * oracle, a node after 20,000 sequences). An id that holds no live key of the database costs a
 * check of its entry, about 10-20 ns (the key's deadline, the state's liveness), so a call spends
 * a few milliseconds at most before it answers.
 */
export const MIN_IDS_PER_CALL = 100_000;

/**
 * Visits the ids from `cursor` on until `visit` has counted `count` of them (it answers whether an
 * id counts: it holds a live key of the database scanned), or the ids visited reach
 * max(10 × count, MIN_IDS_PER_CALL), or the walk ends. Returns the next cursor, 0 at the end. A
 * cursor at or past the bound (another server's) ends the walk, as does a negative one (Redis
 * reads that one modulo 2^64).
 */
export function scanIds(table: KeysById, cursor: bigint, count: number, visit: (id: number) => boolean): number {
  const bound = table.idBound;
  if (cursor < 0n) return 0;
  // Stryker disable next-line EqualityOperator,ConditionalExpression: equivalent, a cursor at or past the bound ends the walk below without visiting
  if (cursor >= BigInt(bound)) return 0;
  const most = Math.max(10 * count, MIN_IDS_PER_CALL);
  let id = Number(cursor);
  let seen = 0;
  let visited = 0;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for work, ids at or past the bound hold no key and end the walk
  while (id < bound && seen < count && visited < most) {
    if (visit(id)) seen++;
    id++;
    visited++;
  }
  return id >= bound ? 0 : id;
}
