// Typed errors of the CRDT layer. Each has a stable `code`; docs/crdt.md lists them.

export type CrdtErrorCode =
  | 'COUNTER_OVERFLOW' // the operation would take a count outside the supported range
  | 'COUNTER_NOT_INTEGER' // the amount is not a safe integer
  | 'GCOUNTER_DECREMENT' // a G-Counter only grows
  | 'HLL_PRECISION_MISMATCH' // merging HyperLogLogs of different precision
  | 'HLL_BAD_PRECISION' // precision outside 4..18
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
