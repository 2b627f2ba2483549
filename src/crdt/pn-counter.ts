// PN-Counter: a counter CRDT that increments and decrements (the default type of INCR/DECR keys).
// Each replica slot holds increments p and decrements n, each with an observed-reset floor; the
// value is sum(p - fp) - sum(n - fn). The slot table, merge, reset and codec are CounterBase's.

import { TypeTag } from './codec.js';
import type { CrdtError } from './errors.js';
import { generalizeCountFields } from './count-fields.js';
import { COUNTER_MAX, CounterBase, notIntegerError, overflowError } from './counter-base.js';
import type { ReplicaId } from './replica-id.js';
import { err, ok, type Result } from '../util/result.js';

const BIG_MAX = BigInt(COUNTER_MAX);

/** |v| as a bigint. */
function magnitude(v: number | bigint): bigint {
  const b = BigInt(v);
  return b < 0n ? -b : b;
}

export class PNCounter extends CounterBase {
  protected override empty(): this {
    return new PNCounter() as this;
  }
  protected override lanes(): 2 {
    return 2;
  }
  protected override tag(): TypeTag {
    return TypeTag.PNCounter;
  }

  /** The value: a number while it is a safe integer, else the exact bigint (reachable only via merges). */
  value(): number | bigint {
    const p = this.sumP();
    const n = this.sumN();
    if (typeof p === 'number' && typeof n === 'number') return p - n; // exact: both in [0, 2^53-1]
    const v = BigInt(p) - BigInt(n);
    return magnitude(v) <= BIG_MAX ? Number(v) : v;
  }

  /** Adds `n` (default 1; negative decrements) for replica `r`: returns the delta (that slot), or an error and changes nothing. */
  increment(r: ReplicaId, n = 1): Result<PNCounter, CrdtError> {
    const e = this.incrementInPlace(r, n);
    return e ? err(e) : ok(this.sliceOne(r));
  }

  /** Subtracts `n` (default 1); as `increment(r, -n)`. */
  decrement(r: ReplicaId, n = 1): Result<PNCounter, CrdtError> {
    return Number.isSafeInteger(n) ? this.increment(r, -n) : err(notIntegerError(n));
  }

  /**
   * `increment` without building a delta (the keyspace's allocation-free path; it sends
   * `slice([r])` later). Returns undefined on success, else the error, with nothing changed.
   * An invalid replica id is misuse and throws.
   */
  incrementInPlace(r: ReplicaId, n = 1): CrdtError | undefined {
    if (!Number.isSafeInteger(n)) return notIntegerError(n);
    if (n === 0) return undefined;
    const sp = this.sumP();
    const sn = this.sumN();
    if (typeof sp === 'number' && typeof sn === 'number') {
      // sp - sn is exact in [-(2^53-1), 2^53-1]; adding |n| <= 2^53-1 rounds any
      // out-of-range result to at least 2^53 in magnitude, so these comparisons are exact.
      const v = sp - sn + n;
      if (v > COUNTER_MAX || v < -COUNTER_MAX) return overflowError('the value');
    } else if (!this.moveAllowed(n)) {
      return overflowError('the value');
    }
    const s = this.localSlot(r);
    if (n > 0) {
      if (s.p + n > COUNTER_MAX) return overflowError(`replica ${r}'s increments slot`);
      s.p += n;
    } else {
      if (s.n - n > COUNTER_MAX) return overflowError(`replica ${r}'s decrements slot`);
      s.n -= n;
    }
    return undefined;
  }

  /**
   * Redis SET on a counter: an observed reset, then an increment by `target` from replica `r`, as
   * one delta (the whole state after it). Fails, changing nothing, if `target` is not a safe
   * integer or `r`'s slot lacks room (slots never shrink, even across resets).
   */
  set(r: ReplicaId, target: number): Result<PNCounter, CrdtError> {
    if (!Number.isSafeInteger(target)) return err(notIntegerError(target));
    const s = this.slotOf(r);
    if (target !== 0 && (target > 0 ? s.p : s.n) + Math.abs(target) > COUNTER_MAX) return err(overflowError(`replica ${r}'s slot`));
    this.resetInPlace();
    // After the reset the value is 0, so the increment is within range.
    if (target !== 0) this.incrementInPlace(r, target);
    else this.existAtZero(r);
    return ok(this.clone());
  }

  /**
   * Makes a counter that does not exist (nothing above its floors, so its value is 0) exist at 0, as
   * Redis's `SET k 0` and `INCRBY k 0` leave a key holding "0": one increment and one decrement of
   * `r`'s slot. Like any update it survives until a reset that observed it. Does nothing if the
   * counter exists, or (the only other case) if `r`'s slot has no room left for the pair: a counter
   * that has counted 2^53-1 in one direction on this incarnation stays a non-existent 0.
   */
  existAtZero(r: ReplicaId): void {
    if (this.exists()) return;
    const s = this.slotOf(r);
    if (s.p >= COUNTER_MAX || s.n >= COUNTER_MAX) return;
    this.incrementInPlace(r, 1);
    this.incrementInPlace(r, -1);
  }

  static decode(bytes: Uint8Array): Result<PNCounter, CrdtError> {
    return CounterBase.decodeInto(new PNCounter(), bytes, 'PNCounter');
  }

  /** `decode` without a Result: the counter, or the error. */
  static read(bytes: Uint8Array): PNCounter | CrdtError {
    const out = new PNCounter();
    return CounterBase.readInto(out, bytes, 'PNCounter') ?? out;
  }

  /**
   * Beyond the range (only reachable via merges) a local operation may still move the value back
   * toward it: allowed iff the result is in range or no farther out than before.
   */
  private moveAllowed(n: number): boolean {
    const before = this.value();
    const after = BigInt(before) + BigInt(n);
    return magnitude(after) <= BIG_MAX || magnitude(after) <= magnitude(before);
  }
}

// Before any PN-Counter is made (count-fields.ts says why).
generalizeCountFields(new PNCounter());
