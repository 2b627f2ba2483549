// The history of a verify run: every operation a client issued and what became of it, and the
// per-key bounds the checker tests the final state against.

/** One client operation. `delta` is the signed change for counters; `element` the PFADD member. */
export interface OpRecord {
  /** ms since the run started, when the op was issued. */
  t: number;
  /** ms since the run started, when its outcome was known (the reply, the error or the deadline). */
  done?: number;
  node: string;
  worker: number;
  op: 'incrby' | 'decrby' | 'pfadd';
  key: string;
  delta?: number;
  element?: string;
  /** ok: acknowledged; fail: certainly not applied; doubt: may or may not have been applied. */
  outcome: 'ok' | 'fail' | 'doubt';
  /** Error reply or failure reason, when not a plain success. */
  detail?: string;
}

export interface CounterBounds {
  /** Sum of acknowledged deltas. */
  acked: number;
  /** Sum of in-doubt positive deltas (most the value may exceed `acked` by). */
  doubtUp: number;
  /** Sum of in-doubt negative deltas, as a positive number (most it may fall below `acked` by). */
  doubtDown: number;
}

export interface HllBounds {
  /** Distinct acknowledged elements. */
  acked: number;
  /** Distinct in-doubt elements (not also acknowledged). */
  doubt: number;
}

export class History {
  readonly ops: OpRecord[] = [];
  readonly counters = new Map<string, CounterBounds>();
  private readonly hllAcked = new Map<string, Set<string>>();
  private readonly hllDoubt = new Map<string, Set<string>>();
  /** Error replies by message, which should not happen in a healthy run (they are not losses). */
  readonly errorReplies = new Map<string, number>();

  record(r: OpRecord): void {
    this.ops.push(r);
    if (r.op === 'pfadd') {
      const el = r.element as string;
      if (r.outcome === 'ok') {
        setOf(this.hllAcked, r.key).add(el);
        this.hllDoubt.get(r.key)?.delete(el);
      } else if (r.outcome === 'doubt' && !(this.hllAcked.get(r.key)?.has(el) ?? false)) {
        setOf(this.hllDoubt, r.key).add(el);
      }
      return;
    }
    let b = this.counters.get(r.key);
    if (b === undefined) this.counters.set(r.key, (b = { acked: 0, doubtUp: 0, doubtDown: 0 }));
    const d = r.delta as number;
    if (r.outcome === 'ok') b.acked += d;
    else if (r.outcome === 'doubt') {
      if (d > 0) b.doubtUp += d;
      else b.doubtDown -= d;
    }
  }

  noteErrorReply(message: string): void {
    this.errorReplies.set(message, (this.errorReplies.get(message) ?? 0) + 1);
  }

  hll(key: string): HllBounds {
    return { acked: this.hllAcked.get(key)?.size ?? 0, doubt: this.hllDoubt.get(key)?.size ?? 0 };
  }

  hllKeys(): string[] {
    return [...new Set([...this.hllAcked.keys(), ...this.hllDoubt.keys()])].sort();
  }

  counterKeys(): string[] {
    return [...this.counters.keys()].sort();
  }

  count(outcome: OpRecord['outcome']): number {
    let n = 0;
    for (const o of this.ops) if (o.outcome === outcome) n++;
    return n;
  }

  /** The history as JSON lines, for replaying a failed run's reasoning by hand. */
  toJsonLines(): string {
    return this.ops.map((o) => JSON.stringify(o)).join('\n') + '\n';
  }
}

function setOf(m: Map<string, Set<string>>, k: string): Set<string> {
  let s = m.get(k);
  if (s === undefined) m.set(k, (s = new Set()));
  return s;
}
