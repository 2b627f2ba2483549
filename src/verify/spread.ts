// Which acknowledged writes a verify run may legitimately lose (pure). A write is lost only with its
// last copy: docs/durability.md promises that a node restarted without its state (its data directory
// wiped, or killed before the write was on its disk) loses only what no other node had. The checker
// cannot see which node held what, so this model follows the fault timeline the nemesis recorded and
// counts a copy as passed on only where the links certainly carried it:
//
// - A node is *ready* while it runs unpaused with its clock within reach of the others' (frames
//   within the replay window), and a link while neither direction is cut. After an outage longer
//   than the shortest suspicion timeout (peers may have declared it dead) it is ready again only
//   after a warm-up (reconnect interval plus probes). After a restart, a link to the restarted node
//   carries data only from when the two were seen to hear each other (measured by the nemesis: the
//   peer's reconnect backoff can hold it up for seconds).
// - A copy on X reaches Y `hopMs` after it is on X, if X, Y and their link are ready throughout that
//   hop. Data moves by push-pull, which needs both directions, so a one-way cut stops it as a full
//   cut does. Copies hop on from every holder, so this is earliest arrival over a graph whose edges
//   come and go.
// - A wipe removes the copy from that node. A kill removes it if it was not on the node's disk yet:
//   never the node's own acknowledged writes under `always` (a reply waits for the disk), copies
//   received by gossip less than `commitMs` before; under `everysec` anything received less than
//   `everysecMs` before; under `none` everything. A node that lost its copy can get it again.
// - A write all of whose copies went is one the run may lose. Every other acknowledged write must
//   survive, exactly as before: the model only relaxes the check where the promise does.
//
// Every approximation errs towards "may be lost" (copies travel later than they really do), so the
// model never fails a correct run; the price is that a write acknowledged about a hop before its node
// was wiped may vanish unnoticed even if it had in fact left in time.

import type { ReplicaConfig } from '../replication/config.js';

/** The fault state from `at` until the next state. */
export interface FaultState {
  /** ms since the workload started. */
  at: number;
  /** Killed and not restarted yet. */
  down: string[];
  /** SIGSTOPped. */
  paused: string[];
  /** [from, to]: frames `from` sends to `to` are dropped. */
  drops: [string, string][];
  /** Clock offsets (ms) of the nodes whose clock is skewed. */
  skew: Record<string, number>;
}

/** A kill -9, with or without the data directory wiped before the restart. */
export interface KillEvent {
  at: number;
  node: string;
  wipe: boolean;
}

/**
 * A restarted node and one peer first heard each other (each /status shows a frame from the other
 * since the restart, at the new incarnation): from then on the link carries data. Until then it does
 * not, however long it takes (the peer's reconnect backoff, a cut).
 */
export interface RejoinEvent {
  node: string;
  /** When the node's process was started again. */
  restartAt: number;
  peer: string;
  at: number;
}

/** What the nemesis did, as it happened (times measured, not scheduled). */
export interface FaultTimeline {
  nodes: string[];
  /** In time order; before the first, every node runs with every link open. */
  states: FaultState[];
  kills: KillEvent[];
  rejoins: RejoinEvent[];
}

export interface SpreadModel {
  /** A copy crosses a ready two-way link within this, ms. */
  hopMs: number;
  /** Outages shorter than this (the shortest suspicion timeout) leave no one declared dead: no warm-up after them, ms. */
  quickMs: number;
  /** A link or node back from a longer outage (cut, pause, clock beyond reach) carries data again after this, ms. */
  warmMs: number;
  /** A node whose clock is off by more than this counts as cut off (half the replay window, for queueing and margin). */
  skewLimitMs: number;
  /** Frames stamped further than this from the receiver's clock are refused as stale (the transport's replay window). */
  replayWindowMs: number;
  /** Gossip copies reach a node's disk within this under `always`, ms (the next group commit). */
  commitMs: number;
  /** Under `everysec`, a node's disk holds what it had this long ago, ms (1 s commits, with slack). */
  everysecMs: number;
}

/** Frames whose timestamp is further than this from the receiver's clock are refused: docs/gossip-transport.md. */
const REPLAY_WINDOW_MS = 60_000;

/**
 * The model's numbers for a config of `nodes` nodes. The hop is long enough that two ready nodes have
 * exchanged digests with probability 1 - 1e-6 (each round each picks `fanout` of its n - 1 peers),
 * and at least a second, which on a loaded machine is ten 100 ms rounds.
 */
export function spreadModel(
  cfg: Pick<ReplicaConfig, 'gossipIntervalMs' | 'fanout' | 'probeIntervalMs' | 'reconnectIntervalMs' | 'suspicionMult'>,
  nodes: number,
): SpreadModel {
  const p = Math.min(1, cfg.fanout / Math.max(1, nodes - 1));
  const rounds = p >= 1 ? 1 : Math.ceil(Math.log(1e-6) / (2 * Math.log(1 - p)));
  const hopMs = Math.max(1_000, rounds * cfg.gossipIntervalMs);
  const quickMs = cfg.suspicionMult * Math.max(1, Math.log10(Math.max(1, nodes))) * cfg.probeIntervalMs;
  const warmMs = cfg.reconnectIntervalMs + 2 * cfg.probeIntervalMs;
  return { hopMs, quickMs, warmMs, skewLimitMs: REPLAY_WINDOW_MS / 2, replayWindowMs: REPLAY_WINDOW_MS, commitMs: 1_000, everysecMs: 1_500 };
}

type Interval = [number, number];

/** Writes are grouped by node and this many ms of acknowledgement time (kills from the group's start, spread from its end). */
const BUCKET_MS = 100;

/**
 * `mayBeLost(node, ackAt)`: whether an acknowledged write on `node` at `ackAt` (ms since the start)
 * may have lost every copy, given the timeline and the persistence mode.
 */
export function lossModel(tl: FaultTimeline, persistence: string, m: SpreadModel): (node: string, ackAt: number) => boolean {
  const kills = [...tl.kills].sort((a, b) => a.at - b.at);
  if (kills.length === 0) return () => false;
  const ids = tl.nodes;
  const n = ids.length;
  const idx = new Map(ids.map((id, i) => [id, i]));
  const ready = readyIntervals(tl, m);
  // edge[x][y]: when x, y and their link are all ready, sorted and disjoint.
  const edge: Interval[][][] = ids.map(() => ids.map(() => []));
  for (let x = 0; x < n; x++)
    for (let y = x + 1; y < n; y++) {
      const a = ids[x] as string;
      const b = ids[y] as string;
      const iv = subtract(intersect(intersect(ready.nodes.get(a) ?? [], ready.nodes.get(b) ?? []), ready.links.get(pairKey(a, b)) ?? []), notRejoined(tl, a, b));
      (edge[x] as Interval[][])[y] = iv;
      (edge[y] as Interval[][])[x] = iv;
    }
  const killsOf: KillEvent[][] = ids.map((id) => kills.filter((k) => k.node === id));
  const durableAt = (arrival: number, own: boolean): number => {
    if (persistence === 'always') return own ? -Infinity : arrival + m.commitMs;
    if (persistence === 'everysec') return arrival + m.everysecMs;
    return Infinity;
  };
  const removes = (k: KillEvent, durable: number): boolean => k.wipe || k.at < durable;
  /** The first kill of x at or after `from` that takes a copy durable from `durable`. */
  const holdUntil = (x: number, from: number, durable: number): number => (killsOf[x] as KillEvent[]).find((k) => k.at >= from && removes(k, durable))?.at ?? Infinity;
  /** When a copy held by x from `from` until `until` first reaches y, or null. */
  const hop = (x: number, y: number, from: number, until: number): number | null => {
    for (const [s, e] of (edge[x] as Interval[][])[y] as Interval[]) {
      if (s >= until) break;
      const start = Math.max(s, from);
      if (start + m.hopMs <= Math.min(e, until)) return start + m.hopMs;
    }
    return null;
  };

  const trajectory = (origin: number, killsFrom: number, start: number): boolean => {
    const holders = new Map<number, { from: number; durable: number }>();
    // At equal times arrivals go first: a hop may end exactly when its node's outage begins.
    const queue = new MinQueue<{ t: number; kind: 0 | 1; node: number; kill?: KillEvent }>();
    for (const k of kills) if (k.at >= killsFrom) queue.push(k.at + 0.5, { t: k.at, kind: 1, node: idx.get(k.node) as number, kill: k });
    let killsLeft = queue.size;
    /** Queues the arrival of x's copy at y, on a hop that starts no earlier than `notBefore`. */
    const offer = (x: number, y: number, notBefore: number): void => {
      const h = holders.get(x);
      if (h === undefined || holders.has(y)) return;
      const t = hop(x, y, Math.max(h.from, notBefore), holdUntil(x, h.from, h.durable));
      if (t !== null) queue.push(t, { t, kind: 0, node: y });
    };
    const arrive = (y: number, t: number, own: boolean): void => {
      holders.set(y, { from: t, durable: durableAt(t, own) });
      for (let z = 0; z < n; z++) if (z !== y) offer(y, z, t);
    };
    arrive(origin, start, true);
    for (;;) {
      const e = queue.pop();
      if (e === undefined) return false;
      if (e.kind === 0) {
        if (!holders.has(e.node)) arrive(e.node, e.t, false);
        continue;
      }
      killsLeft--;
      const h = holders.get(e.node);
      if (h !== undefined && removes(e.kill as KillEvent, h.durable)) {
        holders.delete(e.node);
        if (holders.size === 0) return true;
        // It may get a copy again from those that still hold one.
        for (const x of holders.keys()) offer(x, e.node, e.t);
      }
      // More holders than kills to come: some copy survives whatever happens next.
      if (holders.size > killsLeft) return false;
    }
  };
  const cache = new Map<number, boolean>();
  return (node, ackAt) => {
    const origin = idx.get(node);
    if (origin === undefined) return false;
    const b = Math.max(0, Math.floor(ackAt / BUCKET_MS));
    const key = b * n + origin;
    let r = cache.get(key);
    if (r === undefined) cache.set(key, (r = trajectory(origin, b * BUCKET_MS, (b + 1) * BUCKET_MS)));
    return r;
  };
}

/**
 * After each restart of a or b: from the restart until the two heard each other, or until the
 * restarted node went down again (after that it is not ready anyway, and its next restart counts anew).
 */
function notRejoined(tl: FaultTimeline, a: string, b: string): Interval[] {
  const out: Interval[] = [];
  const open = new Map<string, Interval>();
  let prevDown = new Set<string>();
  for (const s of tl.states) {
    for (const x of [a, b]) {
      const down = s.down.includes(x);
      const iv = open.get(x);
      if (iv !== undefined && down) {
        iv[1] = Math.min(iv[1], s.at);
        open.delete(x);
      }
      if (prevDown.has(x) && !down) {
        const peer = x === a ? b : a;
        const j = tl.rejoins.find((r) => r.node === x && r.peer === peer && r.restartAt === s.at);
        const gate: Interval = [s.at, j?.at ?? Infinity];
        out.push(gate);
        open.set(x, gate);
      }
    }
    prevDown = new Set(s.down);
  }
  return out.sort((p, q) => p[0] - q[0]);
}

/** `a` minus every interval of `b` (both sorted; `b`'s may overlap). */
function subtract(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  let out: Interval[] = [...a];
  for (const [bs, be] of b) out = out.flatMap(([s, e]): Interval[] => (e <= bs || s >= be ? [[s, e]] : [...(s < bs ? [[s, bs] as Interval] : []), ...(e > be ? [[be, e] as Interval] : [])]));
  return out;
}

/** The intersection of two sorted lists of disjoint intervals. */
function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [as, ae] = a[i] as Interval;
    const [bs, be] = b[j] as Interval;
    const s = Math.max(as, bs);
    const e = Math.min(ae, be);
    if (s < e) out.push([s, e]);
    if (ae < be) i++;
    else j++;
  }
  return out;
}

/** A small binary min-heap keyed by time. */
class MinQueue<T> {
  private readonly keys: number[] = [];
  private readonly items: T[] = [];
  get size(): number {
    return this.keys.length;
  }
  push(key: number, item: T): void {
    let i = this.keys.length;
    this.keys.push(key);
    this.items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((this.keys[p] as number) <= key) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): T | undefined {
    if (this.keys.length === 0) return undefined;
    const top = this.items[0];
    const lastKey = this.keys.pop() as number;
    const lastItem = this.items.pop() as T;
    if (this.keys.length > 0) {
      this.keys[0] = lastKey;
      this.items[0] = lastItem;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.keys.length && (this.keys[l] as number) < (this.keys[m] as number)) m = l;
        if (r < this.keys.length && (this.keys[r] as number) < (this.keys[m] as number)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
  private swap(a: number, b: number): void {
    [this.keys[a], this.keys[b]] = [this.keys[b] as number, this.keys[a] as number];
    [this.items[a], this.items[b]] = [this.items[b] as T, this.items[a] as T];
  }
}

const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

/**
 * When each node, and each link, carries data: sorted, disjoint intervals [from, to). A node is out
 * while killed, paused, or with its clock off by more than `skewLimitMs` (a smaller jump changes
 * nothing that carries data); a link while either direction is cut. Back from an outage, it is ready
 * at once if the outage was shorter than `quickMs`, else after `warmMs`; after a restart at once, as
 * its links are held back until it rejoined (RejoinEvent, applied by lossModel). A skew's end is the
 * end of an outage like any other: the sealer starts a new session when its clock steps back, so its
 * frames carry the true time again at once (src/gossip/frame-auth.ts, CLOCK_STEP_BACK_MS).
 */
export function readyIntervals(tl: FaultTimeline, m: SpreadModel): { nodes: Map<string, Interval[]>; links: Map<string, Interval[]> } {
  // A restart's warm-up is measured instead (RejoinEvent).
  const warmAfter = (outage: number, restarted: boolean): number => (restarted ? 0 : outage < m.quickMs ? 0 : m.warmMs);
  const nodes = new Map<string, Interval[]>();
  for (const id of tl.nodes) {
    const out: Interval[] = [];
    let readyFrom: number | null = -Infinity; // null: out
    let outSince = 0;
    let restarted = false;
    for (const s of tl.states) {
      const skew = s.skew[id] ?? 0;
      const down = s.down.includes(id);
      const ok = !down && !s.paused.includes(id) && Math.abs(skew) <= m.skewLimitMs;
      if (!ok && readyFrom !== null) {
        if (readyFrom < s.at) out.push([readyFrom, s.at]);
        readyFrom = null;
        outSince = s.at;
        restarted = false;
      }
      if (down) restarted = true;
      if (ok && readyFrom === null) readyFrom = s.at + warmAfter(s.at - outSince, restarted);
    }
    if (readyFrom !== null) out.push([readyFrom, Infinity]);
    nodes.set(id, out);
  }
  const links = new Map<string, Interval[]>();
  for (let i = 0; i < tl.nodes.length; i++) {
    for (let j = i + 1; j < tl.nodes.length; j++) {
      const a = tl.nodes[i] as string;
      const b = tl.nodes[j] as string;
      const out: Interval[] = [];
      let readyFrom: number | null = -Infinity;
      let outSince = 0;
      for (const s of tl.states) {
        const cut = s.drops.some(([f, t]) => (f === a && t === b) || (f === b && t === a));
        if (cut && readyFrom !== null) {
          if (readyFrom < s.at) out.push([readyFrom, s.at]);
          readyFrom = null;
          outSince = s.at;
        } else if (!cut && readyFrom === null) {
          readyFrom = s.at + warmAfter(s.at - outSince, false);
        }
      }
      if (readyFrom !== null) out.push([readyFrom, Infinity]);
      links.set(pairKey(a, b), out);
    }
  }
  return { nodes, links };
}

