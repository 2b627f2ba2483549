// The level of "gossip peer unreachable" (src/gossip/unreachable-log.ts): info while the cluster
// starts and the peer was never reached, warn for a real outage or once the start-up window is over.

import { describe, expect, it } from 'vitest';
import { STARTUP_QUIET_MS, unreachableLevel } from '../../src/gossip/unreachable-log.js';

describe('unreachableLevel', () => {
  it('a peer never reached, during the start-up window: info', () => {
    expect(unreachableLevel(false, 0, STARTUP_QUIET_MS)).toBe('info');
    expect(unreachableLevel(false, STARTUP_QUIET_MS - 1, STARTUP_QUIET_MS)).toBe('info');
  });
  it('a peer never reached once the window is over: warn', () => {
    expect(unreachableLevel(false, STARTUP_QUIET_MS, STARTUP_QUIET_MS)).toBe('warn');
  });
  it('a peer reached before and lost: warn, even at once', () => {
    expect(unreachableLevel(true, 0, STARTUP_QUIET_MS)).toBe('warn');
  });
  it('a window of 0 warns at once (the old behaviour)', () => {
    expect(unreachableLevel(false, 0, 0)).toBe('warn');
  });
});
