// While a Lua script is busy (past busy-reply-threshold, giving the event loop back between slices),
// gossip frames are held, not merged: a merge must not change a key under a running script. They are
// delivered, in order, when it ends. Bounded: past the limit frames are dropped, which anti-entropy
// repairs (the next digest asks again), as it does for any lost frame.

/** Most frames held for one busy script (about 10 s of gossip at a 100 ms interval from 100 peers). */
export const MAX_HELD_FRAMES = 10_000;

export class ScriptHold<F> {
  private held: F[] = [];
  dropped = 0;

  constructor(
    private readonly busy: () => boolean,
    private readonly deliver: (frame: F) => void,
  ) {}

  /** A frame arrived: delivered now, or held while a script is busy. */
  receive(frame: F): void {
    if (!this.busy()) {
      this.deliver(frame);
      return;
    }
    if (this.held.length < MAX_HELD_FRAMES) this.held.push(frame);
    else this.dropped++;
  }

  /** The script ended: deliver what was held. */
  release(): void {
    const frames = this.held;
    this.held = [];
    for (const f of frames) this.deliver(f);
  }
}
