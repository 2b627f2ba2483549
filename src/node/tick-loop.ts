// Drives the sans-IO replica in real time: tick when it next has work, and at least every 50 ms (so
// stalls are measured against a steady beat and quorum deadlines fire on time).

import type { Replica } from '../replication/replica.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** Longest sleep between ticks, in ms: the replica's stall detection allows for this period. */
export const MAX_TICK_GAP_MS = 50;

export class TickLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly replica: Replica,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private readonly loop = (): void => {
    if (this.stopped) return;
    try {
      this.replica.tick(this.clock.now());
    } catch (e) {
      this.log.error({ err: e }, 'replica tick failed');
    }
    const wait = Math.min(MAX_TICK_GAP_MS, Math.max(1, this.replica.nextTickAt() - this.clock.now()));
    this.timer = setTimeout(this.loop, wait);
  };
}

