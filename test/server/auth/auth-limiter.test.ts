// The limiter of failed AUTH, on a clock passed in: per-connection delays and close, per-address
// spacing once the free failures are spent, refusal past the longest wait, decay, bounded memory,
// and the address keys (IPv4, IPv4-mapped, IPv6 by /64).

import { describe, expect, it } from 'vitest';
import { addressKey, AuthLimiter, AUTH_LIMITER_DEFAULTS } from '../../../src/server/auth/auth-limiter.js';

describe('addressKey', () => {
  it('counts IPv4 as is, IPv4-mapped IPv6 as its IPv4, IPv6 by its /64', () => {
    expect(addressKey('10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('::FFFF:127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('not an address')).toBe('not an address');
  });
});

describe('AuthLimiter', () => {
  it('answers the first failure on a connection at once, then doubles the delay up to the cap, and closes after the tenth', () => {
    const l = new AuthLimiter();
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => l.connectionDelayMs(k))).toEqual([0, 100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    expect(l.closeAfter(9)).toBe(false);
    expect(l.closeAfter(10)).toBe(true);
  });

  it('lets an address fail freeFailures times, then spaces its attempts, right or wrong, by a doubling slot', () => {
    const l = new AuthLimiter();
    let now = 1_000_000;
    for (let i = 0; i < AUTH_LIMITER_DEFAULTS.freeFailures; i++) {
      expect(l.admit('a', now)).toEqual({ waitMs: 0 });
      l.record('a', now, false);
    }
    // Score 5: slots 100 ms apart, reserved in turn by attempts that arrive together.
    expect(l.admit('a', now)).toEqual({ waitMs: 0 });
    expect(l.admit('a', now)).toEqual({ waitMs: 100 });
    expect(l.admit('a', now)).toEqual({ waitMs: 200 });
    // Another address is not affected.
    expect(l.admit('b', now)).toEqual({ waitMs: 0 });
    // A success does not clear the score.
    l.record('a', now, true);
    expect(l.score('a', now)).toBeCloseTo(5);
    l.record('a', now, false);
    now += 300;
    // Score 6, decayed a little in 300 ms: the next slot (after the three reserved) is ~200 ms further.
    expect(l.admit('a', now)).toEqual({ waitMs: 0 });
    const next = l.admit('a', now) as { waitMs: number };
    expect(next.waitMs).toBeGreaterThan(190);
    expect(next.waitMs).toBeLessThanOrEqual(200);
  });

  it('refuses an attempt whose slot is more than maxWaitMs away, without reserving it', () => {
    const l = new AuthLimiter({ maxWaitMs: 1_000 });
    const now = 0;
    for (let i = 0; i < 8; i++) l.record('a', now, false); // score 8: 800 ms apart
    expect(l.admit('a', now)).toEqual({ waitMs: 0 });
    expect(l.admit('a', now)).toEqual({ waitMs: 800 });
    expect(l.admit('a', now)).toEqual({ refusedForMs: 1600 });
    expect(l.admit('a', now)).toEqual({ refusedForMs: 1600 });
  });

  it('forgets failures with a half-life', () => {
    const l = new AuthLimiter();
    for (let i = 0; i < 8; i++) l.record('a', 0, false);
    expect(l.score('a', 60_000)).toBeCloseTo(4);
    expect(l.admit('a', 60_000)).toEqual({ waitMs: 0 }); // below the free failures again
    expect(l.score('a', 600_000)).toBeLessThan(0.01);
    l.sweep(600_000);
    expect(l.size).toBe(0);
  });

  it('tracks at most maxAddresses, forgetting the least recently seen', () => {
    const l = new AuthLimiter({ maxAddresses: 3 });
    for (const a of ['a', 'b', 'c', 'd']) l.record(a, 0, false);
    expect(l.size).toBe(3);
    expect(l.score('a', 0)).toBe(0);
    expect(l.score('d', 0)).toBe(1);
  });
});
