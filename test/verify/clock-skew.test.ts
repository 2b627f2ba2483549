// What a clock jump does to gossip frames, found by `tally verify --nemesis skew` (docs/testing.md).
//
// It was a bug: FrameSealer never let its timestamps go back within a session, so after a node's
// clock jumped ahead by s and came back, its frames stayed stamped at (the jump back + s) until the
// true time caught up, and every peer refused them as stale for s - replayWindowMs (60 s) after its
// clock was right again: a +120 s jump of 5 s kept a node cut off, declared dead and forgotten, for
// 60 s after its clock was fixed. Now a step back of more than CLOCK_STEP_BACK_MS starts a new
// session (replay protection across it: test/gossip/frame-auth.test.ts).

import { describe, expect, it } from 'vitest';
import { FrameOpener, FrameSealer, Keyring } from '../../src/gossip/frame-auth.js';

const T = 1_800_000_000_000;

describe('gossip frames across a clock jump', () => {
  const ring = Keyring.fromBase64([Keyring.generateKey()], 'verify');

  it('a frame sealed within the window is accepted, one sealed beyond it is stale (the window covers skew)', () => {
    const sealer = new FrameSealer(ring);
    const opener = new FrameOpener(ring);
    expect(opener.open(sealer.seal(new Uint8Array([1]), T + 30_000), T).ok).toBe(true);
    const late = opener.open(new FrameSealer(ring).seal(new Uint8Array([1]), T + 120_000), T);
    expect(late.ok).toBe(false);
  });

  it('a node whose clock jumped ahead and back is heard again as soon as its clock is right', () => {
    const sealer = new FrameSealer(ring);
    const opener = new FrameOpener(ring);
    expect(opener.open(sealer.seal(new Uint8Array([1]), T), T).ok).toBe(true);
    sealer.seal(new Uint8Array([2]), T + 120_000); // the clock jumps 2 minutes ahead (the peer refuses this one)
    // A second later the clock is right again: its next frame must be accepted.
    expect(opener.open(sealer.seal(new Uint8Array([3]), T + 1_000), T + 1_000).ok).toBe(true);
  });
});
