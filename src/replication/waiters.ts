// Waiting for replicas, without I/O: WAIT and majority writes wait until enough peers hold a
// version of our origin; majority reads wait until enough peers have sent their state of some keys.
// Deadlines are virtual: the replica checks them in tick(now), so the simulator can test them.

/** The outcome handed to a waiter: how many peers answered, and whether that was enough in time. */
export interface WaitOutcome {
  ok: boolean;
  /** Peers that hold the write (WAIT, majority write) or answered the read (majority read). */
  count: number;
  /** Peers needed. */
  needed: number;
  /**
   * A majority wait that never started: this node was joining and had not been sent a voter's
   * membership table by the deadline, so it could not tell what a majority is (`needed` is 0).
   */
  votersUnknown?: true;
}

interface WriteWaiter {
  version: number;
  needed: number;
  deadline: number;
  done: (o: WaitOutcome) => void;
}

interface ReadWaiter {
  needed: number;
  responders: Set<string>;
  deadline: number;
  done: (o: WaitOutcome) => void;
}

export class Waiters {
  private writes: WriteWaiter[] = [];
  private readonly reads = new Map<number, ReadWaiter>();
  private nextReadId = 1;

  /** Waits until `count(version)` reaches `needed`, or `deadline` passes (Infinity = forever). */
  waitWrite(version: number, needed: number, deadline: number, count: (version: number) => number, done: (o: WaitOutcome) => void): void {
    const have = count(version);
    if (have >= needed) return done({ ok: true, count: have, needed });
    this.writes.push({ version, needed, deadline, done });
  }

  /** Re-checks every write waiter after a peer's holdings changed. */
  recheckWrites(count: (version: number) => number): void {
    if (this.writes.length === 0) return;
    this.writes = this.writes.filter((w) => {
      const have = count(w.version);
      if (have < w.needed) return true;
      w.done({ ok: true, count: have, needed: w.needed });
      return false;
    });
  }

  /** Registers a read waiting for `needed` distinct responders; returns its id for the requests. */
  waitRead(needed: number, deadline: number, done: (o: WaitOutcome) => void): number {
    const id = this.nextReadId++;
    if (needed <= 0) {
      done({ ok: true, count: 0, needed });
      return id;
    }
    this.reads.set(id, { needed, responders: new Set(), deadline, done });
    return id;
  }

  /** A peer answered read `id`. */
  readAnswered(id: number, peer: string): void {
    const r = this.reads.get(id);
    if (r === undefined) return;
    r.responders.add(peer);
    if (r.responders.size >= r.needed) {
      this.reads.delete(id);
      r.done({ ok: true, count: r.responders.size, needed: r.needed });
    }
  }

  /** Fails every waiter whose deadline has passed. */
  expire(now: number, count: (version: number) => number): void {
    if (this.writes.length > 0) {
      this.writes = this.writes.filter((w) => {
        if (now < w.deadline) return true;
        const have = count(w.version);
        w.done({ ok: have >= w.needed, count: have, needed: w.needed });
        return false;
      });
    }
    for (const [id, r] of this.reads) {
      if (now < r.deadline) continue;
      this.reads.delete(id);
      r.done({ ok: false, count: r.responders.size, needed: r.needed });
    }
  }

  /** The earliest deadline, for the host's timer. */
  nextDeadline(): number {
    let t = Infinity;
    for (const w of this.writes) t = Math.min(t, w.deadline);
    for (const r of this.reads.values()) t = Math.min(t, r.deadline);
    return t;
  }

  get pending(): number {
    return this.writes.length + this.reads.size;
  }
}
