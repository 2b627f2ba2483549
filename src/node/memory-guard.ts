// The node's memory limit (`maxmemory`, docs/operations.md "Memory limit"). With Redis's noeviction
// policy: while used memory (what INFO used_memory reports, `usedMemory`) is over the limit,
// commands that may add memory (the `denyoom` flag) are refused with OOM, and everything else runs:
// reads, DEL, FLUSHALL, and every merge from a peer. Refusing a peer's state would break convergence,
// and a peer only creates keys while under its own limit, so a cluster whose nodes share one limit
// stops growing together. Nothing is evicted: dropping a counter would lose acknowledged increments.
//
// Used memory is sampled, not read per command (a read costs 0.3 µs, a third of an INCR): every
// CHECK_EVERY commands that ask (`check`), and every SAMPLE_MS for when none do. Timer samples alone
// were too coarse: under a bulk load (`redis-cli --pipe`), the event loop went 0.9 s between two of
// them, and the heap grew 80 MB meanwhile; a node started with a 256 MB heap went past V8's cap.

import { getHeapStatistics } from 'node:v8';

/**
 * Used memory: V8's used heap and the memory it counts outside the heap (the backing stores of
 * typed arrays and Buffers: dense HLL registers, the version logs' arrays, frames in flight). The
 * heap alone left out whatever a structure keeps in typed arrays.
 */
export function usedMemory(): number {
  const h = getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

/** How often used memory is read when no command asks. */
export const SAMPLE_MS = 100;

/** Used memory is read again every this many `check`s (commands that may add memory). */
export const CHECK_EVERY = 64;

/** `maxmemory: "auto"`: this share of V8's heap limit... */
export const AUTO_SHARE = 0.75;
/**
 * ...and at least this much below it. Over the limit the node still allocates: a second of writes
 * for the disk (`everysec`), catch-up chunks, replies. With a 256 MB heap a quarter of it was not
 * enough: a bulk load refused at 228 MB still ended in V8's out-of-memory abort.
 */
export const AUTO_HEADROOM_BYTES = 192 * 1024 * 1024;

/** The limit in bytes a `maxmemory` setting means (0: none). `heapLimit` is V8's (`--max-old-space-size`). */
export function resolveMaxmemory(setting: number | 'auto', heapLimit: number = getHeapStatistics().heap_size_limit): number {
  if (setting !== 'auto') return setting;
  return Math.max(1, Math.floor(Math.min(heapLimit * AUTO_SHARE, heapLimit - AUTO_HEADROOM_BYTES)));
}

/** Redis's short form of a byte count (INFO maxmemory_human): `0B`, `512.00K`, `3.00G`. */
export function humanBytes(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? n : v.toFixed(2)}${units[i] as string}`;
}

export class MemoryGuard {
  private isOver = false;
  private timer: NodeJS.Timeout | undefined;
  private checks = 0;

  /**
   * `limit` in bytes (0: none, the guard never says over); `used` reads used memory now;
   * `onChange` hears each crossing of the limit, either way (the node logs it).
   */
  constructor(
    readonly limit: number,
    private readonly used: () => number = usedMemory,
    private readonly onChange?: (over: boolean, used: number) => void,
  ) {}

  /** Whether used memory was over the limit at the last sample. */
  get over(): boolean {
    return this.isOver;
  }

  /** `over`, read afresh every CHECK_EVERY calls: what a command that may add memory asks. */
  check(): boolean {
    if (++this.checks >= CHECK_EVERY) {
      this.checks = 0;
      this.sample();
    }
    return this.isOver;
  }

  /** Reads used memory now and updates `over`. */
  sample(): void {
    if (this.limit === 0) return;
    const u = this.used();
    const o = u > this.limit;
    if (o === this.isOver) return;
    this.isOver = o;
    this.onChange?.(o, u);
  }

  /** Samples now and every SAMPLE_MS until `stop` (the timer does not keep the process alive). */
  start(): void {
    if (this.limit === 0 || this.timer !== undefined) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
