// The cluster-wide rate limiter's decision, over a windowed counter: a sliding-window count of the
// last `period`, checked against `limit`. Pure: the caller passes the clock reading and applies the
// increment when allowed. docs/crdt-windowed.md gives the reply shape and the over-admission bound.

import { WINDOW_DAY_S, type WindowedCounter } from './windowed-counter.js';

/** Longest THROTTLE period: one year. */
export const THROTTLE_MAX_PERIOD_S = 365 * WINDOW_DAY_S;
/** Buckets a THROTTLE-created window aims for per period: the interpolation error is at most one bucket's count. */
export const THROTTLE_BUCKETS_PER_PERIOD = 60;

/** The window THROTTLE creates for a period: granularity = the largest divisor of a day <= period / 60, retention >= period. */
export function throttleWindowConfig(periodS: number): { granularityS: number; retentionS: number } {
  const target = Math.max(1, Math.floor(periodS / THROTTLE_BUCKETS_PER_PERIOD));
  let g = 1;
  for (let d = Math.min(target, WINDOW_DAY_S); d >= 1; d--) {
    if (WINDOW_DAY_S % d === 0) {
      g = d;
      break;
    }
  }
  return { granularityS: g, retentionS: Math.ceil(periodS / g) * g };
}

/** CL.THROTTLE-shaped answer (with `allowed` where redis-cell has `limited`). */
export interface ThrottleResult {
  allowed: boolean;
  limit: number;
  /** What could still be admitted now (after this request if allowed), floored, >= 0. */
  remaining: number;
  /** Whole seconds until a retry of the same cost would be admitted; -1 when allowed or never (cost > limit). */
  retryAfterS: number;
  /** Whole seconds until the window holds nothing (the limit fully restored), >= 0. */
  resetAfterS: number;
}

/**
 * What THROTTLE counts as used in the sliding `periodMs` ending at `nowMs`: every bucket that holds an
 * instant of the period, the oldest (which straddles its start) in full. An upper bound of the true
 * count, so one node never admits more than `limit` in any period, wherever a burst falls in a
 * bucket; the price is that it may refuse up to one bucket's count (1/60th of a period) early.
 * (Interpolating the oldest bucket, as WINDOW.SLIDING does, under-counts a burst at the end of that
 * bucket: one node admitted 190 against a limit of 100 in a true 60 s window.)
 */
export function throttleUsed(w: WindowedCounter, periodMs: number, nowMs: number): number {
  const s = w.sliding(nowMs, periodMs);
  return Number(s.full) + s.partial;
}

/**
 * Decides whether `cost` more fits under `limit` over the sliding `periodMs` ending at `nowMs`.
 * Does not change `w`: on `allowed` the caller increments by `cost` at `nowMs`, then calls
 * `resetAfterS` again if it wants the post-increment reset time (`throttleDecide` returns it computed
 * as if the increment were done).
 */
export function throttleDecide(w: WindowedCounter, limit: number, periodMs: number, cost: number, nowMs: number): ThrottleResult {
  const used = throttleUsed(w, periodMs, nowMs);
  const allowed = used + cost <= limit;
  const remaining = Math.max(0, Math.floor(limit - used - (allowed ? cost : 0)));
  const newest = allowed && cost > 0 ? Math.max(w.maxBucket, w.bucketOf(nowMs)) : w.maxBucket;
  const resetAfterS = newest < 0 ? 0 : Math.max(0, Math.ceil(((newest + 1) * w.granularityS * 1000 + periodMs - nowMs) / 1000));
  let retryAfterS = -1;
  if (!allowed && cost <= limit) {
    // The used count only falls as time passes (no new arrivals assumed): binary search the first
    // whole second at which `cost` fits. It fits by resetAfterS at the latest (the count is then 0).
    let lo = 1;
    let hi = Math.max(1, resetAfterS);
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (throttleUsed(w, periodMs, nowMs + mid * 1000) + cost <= limit) hi = mid;
      else lo = mid + 1;
    }
    retryAfterS = lo;
  }
  return { allowed, limit, remaining, retryAfterS, resetAfterS };
}
