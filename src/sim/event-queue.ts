// A binary min-heap of timed events with FIFO order among equal times (so runs replay exactly).

export interface Timed {
  t: number;
  seq: number;
}

export class EventQueue<E extends Timed> {
  private readonly heap: E[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(e: Omit<E, 'seq'>): void {
    const ev = { ...e, seq: this.seq++ } as E;
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i] as E, h[p] as E)) break;
      [h[i], h[p]] = [h[p] as E, h[i] as E];
      i = p;
    }
  }

  /** Every queued event, in no particular order. */
  items(): readonly E[] {
    return this.heap;
  }

  peekTime(): number {
    return this.heap[0]?.t ?? Infinity;
  }

  pop(): E | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l] as E, h[m] as E)) m = l;
        if (r < h.length && less(h[r] as E, h[m] as E)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as E, h[i] as E];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Timed, b: Timed): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}
