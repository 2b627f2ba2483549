// The ordered reply gate both client protocols share: with durability `always`, a reply waits for the
// group commit that covers the writes before it, replies leave in request order, and a failed commit
// closes the connection without answering (never an acknowledgement of a write that is not on disk).

/** What a gate does with the items it held. */
export interface ReplyGateHandlers<T> {
  /** Sends an item whose gate (and every gate before it) opened. Called in the order items were held. */
  release(item: T): void;
  /**
   * A gate was rejected: the connection must close unanswered. Called once; the item it held and every
   * item held after it are dropped, never released.
   */
  fail(err: unknown): void;
  /** The size an item counts for in `heldSize` (bytes, say). Default: 0. */
  size?(item: T): number;
}

/**
 * Holds one connection's outgoing items (RESP reply batches, WebSocket frames) behind `beforeFlush`
 * promises and releases them in order. An item without a gate of its own still waits behind the items
 * held before it. A caller that has nothing held and no gate sends at once without the gate (`idle`),
 * so the common path allocates nothing.
 */
export class ReplyGate<T> {
  private count = 0;
  private bytes = 0;
  private failed = false;
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly handlers: ReplyGateHandlers<T>) {}

  /** True when nothing is held: an item with no gate of its own may be sent directly. */
  get idle(): boolean {
    return this.count === 0;
  }

  /** Items held and not yet released or dropped. */
  get held(): number {
    return this.count;
  }

  /** The total `size` of the held items. */
  get heldSize(): number {
    return this.bytes;
  }

  /** Holds `item` until `gate` (if any) and every gate before it have opened. */
  hold(item: T, gate: Promise<void> | undefined): void {
    const size = this.handlers.size?.(item) ?? 0;
    this.count++;
    this.bytes += size;
    const prev = this.tail;
    this.tail = (gate === undefined ? prev : Promise.all([prev, gate])).then(
      () => {
        this.count--;
        this.bytes -= size;
        if (!this.failed) this.handlers.release(item);
      },
      (e: unknown) => {
        this.count--;
        this.bytes -= size;
        if (this.failed) return;
        this.failed = true;
        this.handlers.fail(e);
      },
    );
  }

  /** Runs `fn` once every item held so far has been released or dropped (at once when idle). */
  afterHeld(fn: () => void): void {
    if (this.count === 0) fn();
    else this.tail = this.tail.then(fn);
  }
}
