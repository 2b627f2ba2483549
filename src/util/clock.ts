// The clock seam: the pure core reads time only through this interface.

/** A source of wall-clock milliseconds. The real node passes `systemClock`; the simulator a virtual one. */
export interface Clock {
  /** Milliseconds since the Unix epoch (may be virtual). */
  now(): number;
}
