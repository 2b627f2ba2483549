// Gives the young generation's pages back once the node goes quiet. V8 grows its young generation
// under allocation, up to two semi-spaces of `--max-semi-space-size` (node/v8-flags.ts), 34 MB with
// 16, and shrinks it only at a collection that finds allocation slow (under about 1 MB/s over the
// last seconds, V8's own measure). A quiet node allocates that little but runs no collection at all,
// so after a burst (a bulk load, a catch-up) it held the grown young generation for good: 32 MB of
// every loaded node's RSS, whatever MEMORY PURGE did (its collections follow the burst too closely
// for V8 to call allocation slow). A young-generation collection every TRIM_MS while the young
// generation is over TRIM_ABOVE_BYTES gives V8 the collection it shrinks at: measured on a node of
// `bench scale` a few seconds after its catch-up, RSS fell by 32-33 MB on each of the three nodes.
// On a busy node the collection is one more among the many it runs each second, and V8 keeps the
// size (allocation is fast); on a quiet one it costs about a millisecond.

import { minorGc, youngGenerationBytes } from '../util/system.js';

/** How often the young generation is looked at. V8 judges allocation over about the last 5 s. */
export const TRIM_MS = 5000;

/** The young generation is left alone at or under this size (V8 starts it at 1 MB). */
export const TRIM_ABOVE_BYTES = 4 * 1024 * 1024;

export class YoungTrim {
  private timer: NodeJS.Timeout | undefined;
  /** Collections asked for so far. */
  collections = 0;

  constructor(
    private readonly size: () => number = youngGenerationBytes,
    private readonly collect: () => boolean = minorGc,
  ) {}

  /** One look: a young-generation collection if the young generation is over TRIM_ABOVE_BYTES. Returns whether it asked for one. */
  tick(): boolean {
    if (this.size() <= TRIM_ABOVE_BYTES) return false;
    if (!this.collect()) return false;
    this.collections++;
    return true;
  }

  /** Looks every TRIM_MS until `stop` (the timer does not keep the process alive). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), TRIM_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
