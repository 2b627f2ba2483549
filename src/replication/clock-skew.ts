// How far this node's clock is from its peers': per-peer offset estimates (from probe round trips,
// NTP-style, and from peers' clock notices when they refuse our frames as stale), and the verdict on
// our own clock. The clock assumption and its bound are in docs/consistency.md ("Clocks").

/** One measurement of a peer's clock minus ours. */
interface Sample {
  offsetMs: number;
  /** Round trip of the measurement; the error of the offset is at most half of it. Infinity for a notice. */
  rttMs: number;
  at: number;
}

/** Samples kept per peer. */
const SAMPLES = 8;
/** The estimate is the sample with the shortest round trip among those this recent (ms)... */
const RECENT_MS = 30_000;
/** ...or else the latest one up to this old (ms): after that a peer stops counting (its clock was fixed, or it is gone). */
const SAMPLE_MAX_AGE_MS = 5 * 60_000;
/** Two samples of one peer disagree beyond their error bars by more than this (ms): a clock stepped between them. */
const STEP_SLACK_MS = 100;

export interface ClockStatus {
  /** False when most peers with an estimate find our clock beyond the bound. */
  ok: boolean;
  /** Our clock minus the cluster's (the median over peers), ms: positive when we run ahead. */
  offsetMs: number;
  /** Peers with a current estimate. */
  peers: number;
  /** Of those, how many are beyond the bound. */
  beyond: number;
  boundMs: number;
  /** True while our clock jumped and no peer has measured it since (windowed writes wait for that). */
  unverified: boolean;
}

export class ClockSkew {
  private readonly samples = new Map<string, Sample[]>();
  /** Set when our clock jumped (a step, or a stall we cannot tell from one): the time of the jump. */
  private jumpedAt: number | undefined;

  constructor(private readonly boundMs: number) {}

  /** A measurement of the peer at `address`: its clock minus ours. */
  sample(address: string, offsetMs: number, rttMs: number, now: number): void {
    let list = this.samples.get(address);
    if (list === undefined) this.samples.set(address, (list = []));
    // A sample that contradicts an older one beyond both error bars means one of the clocks
    // stepped in between: the older samples describe a clock that no longer exists.
    if (rttMs !== Number.MAX_SAFE_INTEGER) {
      const fresh = list.filter((s) => s.rttMs === Number.MAX_SAFE_INTEGER || Math.abs(s.offsetMs - offsetMs) <= (s.rttMs + rttMs) / 2 + STEP_SLACK_MS);
      if (fresh.length !== list.length) this.samples.set(address, (list = fresh));
    }
    list.push({ offsetMs, rttMs, at: now });
    if (list.length > SAMPLES) list.shift();
  }

  /**
   * Our own clock jumped (forward: the replica saw far more time pass than it slept, a step or a
   * stall it cannot tell from one; or back). Every estimate measured the clock before the jump, so
   * they are dropped, and the clock counts as unverified until a peer measures it again.
   */
  jumped(now: number): void {
    this.samples.clear();
    this.jumpedAt = now;
  }

  /** The current estimate of the peer's clock minus ours, or undefined without a recent sample. */
  offset(address: string, now: number): number | undefined {
    const list = this.samples.get(address);
    if (list === undefined) return undefined;
    // Recent first: a clock that just stepped must not hide behind a precise sample from before the step.
    let best: Sample | undefined;
    for (const s of list) if (now - s.at <= RECENT_MS && (best === undefined || s.rttMs < best.rttMs || (s.rttMs === best.rttMs && s.at > best.at))) best = s;
    if (best !== undefined) return best.offsetMs;
    const last = list[list.length - 1];
    return last !== undefined && now - last.at <= SAMPLE_MAX_AGE_MS ? last.offsetMs : undefined;
  }

  /** Every peer's current estimate (for /status and metrics). */
  offsets(now: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const address of this.samples.keys()) {
      const o = this.offset(address, now);
      if (o !== undefined) out.set(address, o);
      else this.samples.delete(address);
    }
    return out;
  }

  /**
   * The verdict on our own clock: off when most peers with an estimate see it beyond the bound (one
   * peer off is that peer's problem; most peers off is ours). With one peer, either may be wrong.
   */
  /**
   * `alone`: this node has no peer at all (a one-node cluster), so nobody could ever verify its
   * clock: it is trusted. A node merely cut off from its peers waits for one to measure it.
   */
  status(now: number, alone = false): ClockStatus {
    const offsets = [...this.offsets(now).values()];
    const beyond = offsets.filter((o) => Math.abs(o) > this.boundMs).length;
    const sorted = offsets.sort((a, b) => a - b);
    const median = sorted.length === 0 ? 0 : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
    // Unverified after a jump until a probe measured us again (every sample from before it is gone).
    if (this.jumpedAt !== undefined && (offsets.length > 0 || alone)) this.jumpedAt = undefined;
    const unverified = this.jumpedAt !== undefined;
    return { ok: !unverified && (offsets.length === 0 || beyond * 2 <= offsets.length), offsetMs: -median, peers: offsets.length, beyond, boundMs: this.boundMs, unverified };
  }
}
