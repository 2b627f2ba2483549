// Typed errors of the CRDT layer. Each has a stable `code`; docs/crdt-counters.md, crdt-hll.md, crdt-windowed.md and crdt-sketches.md list them.

export type CrdtErrorCode =
  | 'COUNTER_OVERFLOW' // the operation would take a count outside the supported range
  | 'COUNTER_NOT_INTEGER' // the amount is not a safe integer
  | 'GCOUNTER_DECREMENT' // a G-Counter only grows
  | 'HLL_PRECISION_MISMATCH' // merging HyperLogLogs of different precision
  | 'HLL_BAD_PRECISION' // precision outside 4..18
  | 'HLL_HASH_MISMATCH' // a union of HyperLogLogs of different hash families (legacy and Redis's)
  | 'HLL_NOT_REDIS' // Redis bytes asked of a HyperLogLog whose registers are not Redis's (legacy hash, or p != 14)
  | 'WINDOW_BAD_CONFIG' // granularity not a divisor of a day, or retention not a multiple of it / too many buckets
  | 'WINDOW_NEGATIVE' // windowed counters only grow
  | 'WINDOW_FUTURE' // increment timestamped beyond the allowed clock skew ahead of the node's clock
  | 'WINDOW_TOO_OLD' // increment timestamped before the retained buckets
  | 'WINDOW_RANGE' // a query window longer than the retention, or with from > to
  | 'SKETCH_BAD_DIMENSIONS' // width / depth / k out of range
  | 'SKETCH_DIMENSION_MISMATCH' // merging sketches of different width or depth
  | 'SKETCH_ITEM_TOO_LONG' // a Top-K item above the item size limit
  | 'SKETCH_NEGATIVE' // sketches only grow: a negative increment or weight
  | 'CODEC_TRUNCATED' // decoding ran past the end of the bytes
  | 'CODEC_BAD_VERSION' // unknown format version byte
  | 'CODEC_BAD_TYPE' // unknown or unexpected type tag
  | 'CODEC_INVALID'; // bytes decode but break an invariant (trailing bytes, bad value, duplicate id, ...)

export class CrdtError extends Error {
  override readonly name = 'CrdtError';
  constructor(
    readonly code: CrdtErrorCode,
    message: string,
  ) {
    super(message);
  }
}
