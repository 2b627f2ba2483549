// Slows password guessing: failed AUTH (and HTTP logins) are counted per source address with a
// decaying score, and per connection. Pure: time comes in as `now`, nothing here waits; the
// authenticator does the waiting. docs/security.md ("Failed AUTH is slowed").
//
// Per connection: the k-th failure on one connection is answered after connectionDelayMs(k) (the
// first at once: a typo costs nothing), and after maxFailuresPerConnection the connection is closed.
// Per address: once an address's score (failures, halving every halfLifeMs) reaches freeFailures,
// every attempt from it, right or wrong, on any connection or protocol, takes a time slot, slots
// spaced delay(score) apart, so guesses from one address run one at a time at that pace however
// many connections carry them. An attempt whose slot is more than maxWaitMs away is refused at once,
// without its password being checked, so waiting attempts cannot pile up without bound.

import { isIPv6 } from 'node:net';

/** Tuning of the limiter; the defaults are `AUTH_LIMITER_DEFAULTS`. */
export interface AuthLimiterConfig {
  /** Recent failures an address may have before its attempts are spaced. */
  readonly freeFailures: number;
  /** Spacing at `freeFailures`, ms; it doubles with each further failure. */
  readonly baseDelayMs: number;
  /** Largest spacing between two attempts of one address, and largest per-connection delay, ms. */
  readonly maxDelayMs: number;
  /** An address's failure score halves in this time, ms. */
  readonly halfLifeMs: number;
  /** An attempt that would wait longer than this is refused at once, ms. */
  readonly maxWaitMs: number;
  /** Failures on one connection after which it is closed (ssh's MaxAuthTries is 6). */
  readonly maxFailuresPerConnection: number;
  /** Addresses tracked at most; the least recently seen are forgotten first. */
  readonly maxAddresses: number;
}

export const AUTH_LIMITER_DEFAULTS: AuthLimiterConfig = Object.freeze({
  freeFailures: 5,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  halfLifeMs: 60_000,
  maxWaitMs: 30_000,
  maxFailuresPerConnection: 10,
  maxAddresses: 100_000,
});

interface Entry {
  /** Failure score at `at`. */
  score: number;
  at: number;
  /** When the next attempt of this address may be checked, while its score is at or above freeFailures. */
  nextSlot: number;
}

/** The eight groups of an IPv6 address, as lower-case hex without leading zeros, or null. */
function ipv6Groups(ip: string): string[] | null {
  let s = (ip.split('%')[0] ?? '').toLowerCase();
  if (!isIPv6(s)) return null;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => parseInt(g, 16).toString(16));
}

/**
 * The key an address is counted under: IPv4 (also IPv4-mapped IPv6) as is, IPv6 by its /64 (one
 * host usually holds a whole /64, so counting single IPv6 addresses would limit nothing).
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped !== null) return mapped[1] as string;
  const g = ipv6Groups(ip);
  if (g === null) return ip;
  return `${g.slice(0, 4).join(':')}::/64`;
}

export type Admission = { readonly waitMs: number } | { readonly refusedForMs: number };

export class AuthLimiter {
  readonly config: AuthLimiterConfig;
  private readonly entries = new Map<string, Entry>();

  constructor(config: Partial<AuthLimiterConfig> = {}) {
    this.config = Object.freeze({ ...AUTH_LIMITER_DEFAULTS, ...config });
  }

  /** Spacing between attempts of an address with this (decayed, so fractional) score: doubles per failure. */
  delayFor(score: number): number {
    const c = this.config;
    const steps = Math.max(0, score - c.freeFailures);
    return Math.min(c.maxDelayMs, Math.round(c.baseDelayMs * 2 ** Math.min(steps, 30)));
  }

  /** How long the reply to the k-th failure on one connection waits (k from 1). */
  connectionDelayMs(k: number): number {
    if (k <= 1) return 0;
    return Math.min(this.config.maxDelayMs, this.config.baseDelayMs * 2 ** Math.min(k - 2, 30));
  }

  /** Whether a connection with `k` failures is to be closed. */
  closeAfter(k: number): boolean {
    return k >= this.config.maxFailuresPerConnection;
  }

  /** The decayed failure score of an address (key from `addressKey`). */
  score(key: string, now: number): number {
    const e = this.entries.get(key);
    return e === undefined ? 0 : this.decayed(e, now);
  }

  /**
   * An attempt from `key` is about to be checked: how long it must wait first (reserving its slot), or
   * that it is refused. Every admitted attempt must be followed by `record`.
   */
  admit(key: string, now: number): Admission {
    const e = this.entries.get(key);
    if (e === undefined) return { waitMs: 0 };
    const score = this.decayed(e, now);
    if (score < this.config.freeFailures) return { waitMs: 0 };
    const slot = Math.max(now, e.nextSlot);
    if (slot - now > this.config.maxWaitMs) return { refusedForMs: slot - now };
    e.nextSlot = slot + this.delayFor(score);
    this.touch(key, e);
    return { waitMs: slot - now };
  }

  /** The outcome of a checked attempt. A success does not clear the address's score. */
  record(key: string, now: number, ok: boolean): void {
    if (ok) return;
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { score: 0, at: now, nextSlot: 0 };
      this.evictFor(1);
    }
    e.score = this.decayed(e, now) + 1;
    e.at = now;
    this.touch(key, e);
  }

  /** Addresses tracked now (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets addresses whose score has decayed to nothing and that hold no future slot. */
  sweep(now: number): void {
    for (const [k, e] of this.entries) if (this.decayed(e, now) < 0.01 && e.nextSlot <= now) this.entries.delete(k);
  }

  private decayed(e: Entry, now: number): number {
    const dt = Math.max(0, now - e.at);
    return e.score * 2 ** (-dt / this.config.halfLifeMs);
  }

  /** Moves `key` to the end of the map's order (most recently seen). */
  private touch(key: string, e: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
  }

  private evictFor(n: number): void {
    while (this.entries.size + n > this.config.maxAddresses) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) return;
      this.entries.delete(oldest.value);
    }
  }
}
