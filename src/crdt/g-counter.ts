// G-Counter: a grow-only counter CRDT with one slot per replica (node incarnation) and a floor per
// slot that records what an observed reset removed. Its slot table, merge, reset and codec are
// `CounterBase`'s (counter-base.ts), which PNCounter shares; docs/crdt-counters.md explains the
// semantics.

import { TypeTag } from './codec.js';
import { COUNTER_MAX, CounterBase, notIntegerError, overflowError } from './counter-base.js';
import { CrdtError } from './errors.js';
import { type ReplicaId } from './replica-id.js';
import { err, ok, type Result } from '../util/result.js';
import { generalizeCountFields } from './count-fields.js';


export class GCounter extends CounterBase {
  protected override empty(): this {
    return new GCounter() as this;
  }
  protected override lanes(): 1 {
    return 1;
  }
  protected override tag(): TypeTag {
    return TypeTag.GCounter;
  }

  /** The value: a number while it is a safe integer, else the exact bigint (reachable only via merges). */
  value(): number | bigint {
    return this.sumP();
  }

  /** Adds `n` (default 1) to replica `r`'s slot; returns the delta (that slot), or an error and changes nothing. */
  increment(r: ReplicaId, n = 1): Result<GCounter, CrdtError> {
    const e = this.incrementInPlace(r, n);
    return e ? err(e) : ok(this.sliceOne(r));
  }

  /**
   * `increment` without building a delta (the keyspace's allocation-free path; it sends
   * `slice([r])` later). Returns undefined on success, else the error, with nothing changed.
   * An invalid replica id is misuse and throws.
   */
  incrementInPlace(r: ReplicaId, n = 1): CrdtError | undefined {
    if (!Number.isSafeInteger(n)) return notIntegerError(n);
    if (n < 0) return new CrdtError('GCOUNTER_DECREMENT', 'a G-Counter cannot be decremented');
    if (n === 0) return undefined;
    const sum = this.sumP();
    if (typeof sum === 'bigint' || sum + n > COUNTER_MAX) return overflowError('the value');
    const s = this.localSlot(r);
    if (s.p + n > COUNTER_MAX) return overflowError(`replica ${r}'s slot`);
    s.p += n;
    return undefined;
  }

  static decode(bytes: Uint8Array): Result<GCounter, CrdtError> {
    return CounterBase.decodeInto(new GCounter(), bytes, 'GCounter');
  }

  /** `decode` without a Result: the counter, or the error. */
  static read(bytes: Uint8Array): GCounter | CrdtError {
    const out = new GCounter();
    return CounterBase.readInto(out, bytes, 'GCounter') ?? out;
  }
}

generalizeCountFields(new GCounter());
