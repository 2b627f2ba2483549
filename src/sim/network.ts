// The simulated cluster: many replicas over an in-memory network in virtual time, with a seeded
// fault model (latency, loss, duplication, reordering, partitions symmetric, one-way and nested,
// crash and restart, pauses, per-node clock skew). The replicas are the real Replica class; only
// the clock, randomness and transport are simulated.

import { replicaConfig, type ReplicaConfig } from '../replication/config.js';
import { MemberState } from '../replication/messages.js';
import { SharedRoster } from '../replication/membership.js';
import { Replica, type ReplicaEvents } from '../replication/replica.js';
import type { LocalStamp } from '../replication/version-log.js';
import type { FoldBounds } from '../replication/slot-folds.js';
import { Keyspace } from '../keyspace/keyspace.js';
import { SeededRng, type Rng } from '../util/rng.js';
import { EventQueue, type Timed } from './event-queue.js';

export interface FaultModel {
  /** One-way latency in ms: uniform in [min, max]. */
  latencyMinMs: number;
  latencyMaxMs: number;
  /** Probability a frame is dropped. */
  loss: number;
  /** Probability a frame is delivered twice. */
  duplicate: number;
  /** Probability a frame is held back by up to `reorderMs` extra (so later frames overtake it). */
  reorder: number;
  reorderMs: number;
}

export const DEFAULT_FAULTS: Readonly<FaultModel> = Object.freeze({
  latencyMinMs: 1,
  latencyMaxMs: 5,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderMs: 50,
});

interface SimEvent extends Timed {
  kind: 'tick' | 'deliver';
  node: number;
  from?: number;
  frame?: Uint8Array;
}

/**
 * A link cut: true when a frame from node index `from` to node index `to` is dropped. Cuts compose
 * (a frame crosses only if no active cut drops it), so overlapping and nested partitions, and
 * one-way ones (A hears B, B does not hear A), are each a set of cuts.
 */
export type LinkCut = (from: number, to: number) => boolean;

export interface SimOptions {
  nodes: number;
  seed: number;
  /** Keys a replica folds per tick in a fold pass (Replica's `foldSlice`); the explorer makes it small so merges meet keys not yet folded. */
  foldSlice?: number;
  config?: Partial<ReplicaConfig>;
  faults?: Partial<FaultModel>;
  /** Start with every member known (a roster shared by all replicas), or join through node 0 as seed. */
  prejoined?: boolean;
  /** Event hooks for node `i`'s replica (also after a restart), e.g. to watch its membership view. */
  events?: (i: number) => ReplicaEvents;
  /** Every node's clock reading at virtual time 0, in ms (default 0); `setClockOffset` skews one. */
  epochMs?: number;
  /**
   * Limits past which `send` throws SimOverload (default: none): frames in flight at once, frames
   * sent in all, and frames sent within one second of virtual time. A message storm (replies that beget replies) would otherwise grow the
   * queue, or run the history, without bound.
   */
  limits?: { inFlight?: number; frames?: number; framesPerSecond?: number };
}

/** Thrown by a send past the simulation's `limits`: the cluster is in a message storm. */
export class SimOverload extends Error {
  override readonly name = 'SimOverload';
}

export interface SimNode {
  id: string;
  /**
   * Added by `join`: its config names only itself and a seed (dynamic membership), so it starts,
   * and restarts, joining through that seed.
   */
  joinedVia?: readonly string[];
  replica: Replica;
  up: boolean;
  incarnation: number;
  scheduledTick: number;
}

export class Simulation {
  readonly rng: SeededRng;
  readonly nodes: SimNode[] = [];
  readonly config: ReplicaConfig;
  faults: FaultModel;
  now = 0;
  /** Partition groups: node index -> group; frames cross only within a group. null = no partition. */
  private groups: number[] | null = null;
  /** Active link cuts by handle (`cut` / `uncut`), on top of `groups`. */
  private readonly cuts = new Map<number, LinkCut>();
  private nextCutId = 1;
  /** Per node: its clock's offset from virtual time, in ms (the node reads now + offset). */
  private readonly offsets: number[];
  private readonly queue = new EventQueue<SimEvent>();
  private readonly index = new Map<string, number>();
  private readonly roster: SharedRoster | undefined;
  /** Totals over the whole run. */
  framesSent = 0;
  bytesSent = 0;
  framesDropped = 0;
  /** Frames sent in the current second of virtual time (for `limits.framesPerSecond`). */
  private rateWindowStart = 0;
  private rateWindowFrames = 0;
  /** The most frames sent within one second of virtual time so far (counted only under `limits`). */
  peakFramesPerSecond = 0;

  constructor(readonly opts: SimOptions) {
    this.rng = new SeededRng(opts.seed);
    this.config = replicaConfig({ clusterName: 'sim', gossipIntervalMs: 1000, ...opts.config });
    this.faults = { ...DEFAULT_FAULTS, ...opts.faults };
    const ids = Array.from({ length: opts.nodes }, (_, i) => `n${i}`);
    ids.forEach((id, i) => this.index.set(id, i));
    this.offsets = ids.map(() => opts.epochMs ?? 0);
    this.roster = opts.prejoined === false ? undefined : new SharedRoster(ids.map((id) => ({ id, address: id, incarnation: 1, seq: 0, state: MemberState.Alive })));
    for (let i = 0; i < opts.nodes; i++) {
      const node: SimNode = { id: ids[i] as string, replica: undefined as unknown as Replica, up: true, incarnation: 1, scheduledTick: Infinity };
      this.nodes.push(node);
      node.replica = this.makeReplica(i, 1);
      this.schedule(i);
    }
  }

  private makeReplica(i: number, incarnation: number, keyspace?: Keyspace, stamps?: ReadonlyMap<string, LocalStamp>, foldBounds?: FoldBounds): Replica {
    const id = this.nodes[i]?.id ?? `n${i}`;
    const rng: Rng = new SeededRng((this.rng.nextU32() ^ (i * 0x9e3779b1)) >>> 0);
    const seed = this.nodes[i]?.joinedVia;
    if (seed !== undefined) {
      // A node whose config names only itself and one seed address: no roster, joining.
      return new Replica({
        config: this.config,
        identity: { nodeId: id, incarnation, address: id },
        rng,
        transport: { send: (address, frame) => this.send(i, address, frame) },
        seeds: [...seed],
        joining: true,
        ...(keyspace !== undefined ? { keyspace } : {}),
        ...(foldBounds !== undefined ? { foldBounds } : {}),
        ...(this.opts.foldSlice !== undefined ? { foldSlice: this.opts.foldSlice } : {}),
        ...(this.opts.events !== undefined ? { events: this.opts.events(i) } : {}),
        now: this.localNow(i),
      });
    }
    return new Replica({
      config: this.config,
      identity: { nodeId: id, incarnation, address: id },
      rng,
      transport: { send: (address, frame) => this.send(i, address, frame) },
      seeds: i === 0 ? [] : ['n0'],
      // A real node's config lists every node; joined through a seed, a node knows only the seed.
      // (Every id, not `this.nodes`: while the constructor builds them, node 0 would list only itself.)
      ...(this.roster !== undefined ? { peers: [...this.index.keys()] } : {}),
      // A restarted node knows the roster too, as a real node knows its config's node list.
      ...(this.roster !== undefined ? { roster: this.roster } : {}),
      configured: [...this.index.keys()].slice(0, this.opts.nodes),
      ...(keyspace !== undefined ? { keyspace } : {}),
      ...(stamps !== undefined ? { restoredStamps: stamps } : {}),
      ...(foldBounds !== undefined ? { foldBounds } : {}),
      ...(this.opts.foldSlice !== undefined ? { foldSlice: this.opts.foldSlice } : {}),
      ...(this.opts.events !== undefined ? { events: this.opts.events(i) } : {}),
      now: this.localNow(i),
    });
  }

  /** Node `i`'s clock: virtual time plus its offset. */
  localNow(i: number): number {
    return this.now + (this.offsets[i] ?? 0);
  }

  clockOffset(i: number): number {
    return this.offsets[i] ?? 0;
  }

  /**
   * Steps node `i`'s clock to virtual time + `offsetMs` (skew, or an NTP step forward or back). The
   * replica is told the new time at its next tick, which comes at once: a real node's loop ticks
   * at least every 50 ms whatever the replica asked for.
   */
  setClockOffset(i: number, offsetMs: number): void {
    if (this.offsets[i] === offsetMs) return;
    this.offsets[i] = offsetMs;
    const n = this.nodes[i] as SimNode;
    if (!n.up) return;
    n.scheduledTick = this.now; // the queued tick was placed by the old clock; a later stale one is skipped
    this.queue.push({ t: this.now, kind: 'tick', node: i });
  }

  /**
   * Tells the simulator that node `i`'s replica was called from outside the event loop (a client
   * command, a WAIT, a majority read), so its next due time may have moved earlier. A real node's
   * loop ticks at least every 50 ms and would notice; the simulator ticks only when asked to.
   */
  wake(i: number): void {
    this.schedule(i);
  }

  private schedule(i: number): void {
    const n = this.nodes[i] as SimNode;
    if (!n.up) return;
    // The replica names its next tick on its own clock; the queue runs on virtual time.
    const t = Math.max(this.now, n.replica.nextTickAt() - (this.offsets[i] ?? 0));
    if (t < n.scheduledTick) {
      n.scheduledTick = t;
      this.queue.push({ t, kind: 'tick', node: i });
    }
  }

  private send(from: number, address: string, frame: Uint8Array): void {
    this.framesSent++;
    this.bytesSent += frame.length;
    const to = this.index.get(address);
    const f = this.faults;
    if (to === undefined || !this.linked(from, to) || this.rng.next() < f.loss) {
      this.framesDropped++;
      return;
    }
    const limits = this.opts.limits;
    if (limits !== undefined) {
      if (this.now >= this.rateWindowStart + 1000) {
        this.rateWindowStart = Math.floor(this.now / 1000) * 1000;
        this.rateWindowFrames = 0;
      }
      this.rateWindowFrames++;
      if (this.rateWindowFrames > this.peakFramesPerSecond) this.peakFramesPerSecond = this.rateWindowFrames;
      if (this.queue.size >= (limits.inFlight ?? Infinity) || this.framesSent > (limits.frames ?? Infinity) || this.rateWindowFrames > (limits.framesPerSecond ?? Infinity)) {
        throw new SimOverload(`${this.queue.size} frames in flight at ${Math.round(this.now)} ms, ${this.rateWindowFrames} sent in this second, ${this.framesSent} in all`);
      }
    }
    const copies = this.rng.next() < f.duplicate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      let delay = f.latencyMinMs + this.rng.next() * (f.latencyMaxMs - f.latencyMinMs);
      if (this.rng.next() < f.reorder) delay += this.rng.next() * f.reorderMs;
      this.queue.push({ t: this.now + delay, kind: 'deliver', node: to, from, frame });
    }
  }

  /** Runs events up to virtual time `until` (inclusive). */
  runUntil(until: number): void {
    while (this.queue.peekTime() <= until) {
      const e = this.queue.pop() as SimEvent;
      this.now = e.t;
      const n = this.nodes[e.node] as SimNode;
      if (!n.up) continue;
      if (e.kind === 'tick') {
        if (e.t !== n.scheduledTick) continue; // superseded
        n.scheduledTick = Infinity;
        n.replica.tick(this.localNow(e.node));
        this.schedule(e.node);
      } else {
        // A frame in flight across a partition that formed meanwhile is lost too.
        if (e.from !== undefined && !this.linked(e.from, e.node)) continue;
        n.replica.receive(this.nodes[e.from ?? 0]?.id ?? '?', e.frame as Uint8Array, this.localNow(e.node));
        this.schedule(e.node);
      }
    }
    this.now = Math.max(this.now, until);
  }

  /** Splits the cluster: `groupOf(i)` names each node's side. Frames cross only within a side. */
  partition(groupOf: (i: number) => number): void {
    this.groups = this.nodes.map((_, i) => groupOf(i));
  }

  /** Adds a link cut (see LinkCut); returns its handle for `uncut`. Frames in flight on a cut link are lost. */
  cut(blocked: LinkCut): number {
    const id = this.nextCutId++;
    this.cuts.set(id, blocked);
    return id;
  }

  /** Removes one cut, leaving the others (and any `partition`) in place. */
  uncut(id: number): void {
    this.cuts.delete(id);
  }

  /** Whether a frame from `from` to `to` crosses the network now (before loss). */
  linked(from: number, to: number): boolean {
    if (this.groups !== null && this.groups[from] !== this.groups[to]) return false;
    for (const c of this.cuts.values()) if (c(from, to)) return false;
    return true;
  }

  /** Removes every partition and cut. */
  heal(): void {
    this.groups = null;
    this.cuts.clear();
  }

  /** Stops a node abruptly (kill -9): it sends and receives nothing until restarted. */
  crash(i: number): void {
    const n = this.nodes[i] as SimNode;
    n.up = false;
    n.scheduledTick = Infinity;
  }

  /**
   * Freezes a node as SIGSTOP does: it neither runs nor receives (frames sent to it meanwhile are
   * lost), but keeps its state and incarnation. `resume` lets it run again, with its clock jumped.
   */
  pause(i: number): void {
    this.crash(i);
  }

  resume(i: number): void {
    const n = this.nodes[i] as SimNode;
    if (n.up) return;
    n.up = true;
    // Its loop's timer is overdue when it runs again: it ticks at once, whatever the replica named
    // before the pause (on a clock that may have stepped back since: explorer seed 7024).
    n.scheduledTick = this.now;
    this.queue.push({ t: this.now, kind: 'tick', node: i });
  }

  /**
   * Restarts a crashed node with the next incarnation, with its keyspace (as if recovered from
   * disk) or empty (data directory lost).
   */
  restart(i: number, withState: boolean): void {
    const n = this.nodes[i] as SimNode;
    const keyspace = withState ? recovered(n.replica.keyspace) : undefined;
    // With its data: each key's local stamp too, as the store keeps it beside the state.
    const stamps = withState ? n.replica.localStamps() : undefined;
    // And the slot-fold bounds, which the store keeps in its meta record.
    const foldBounds = withState ? n.replica.foldBounds() : undefined;
    n.incarnation++;
    n.replica = this.makeReplica(i, n.incarnation, keyspace, stamps, foldBounds);
    n.up = true;
    n.scheduledTick = Infinity;
    this.schedule(i);
  }

  /**
   * Starts a new node, `n<index>`, whose config names only itself and the nodes `seeds` as its seeds
   * (dynamic membership): it joins the running cluster, and counts toward majorities once caught up.
   * Returns its index.
   */
  join(...seeds: number[]): number {
    const i = this.nodes.length;
    const id = `n${i}`;
    this.index.set(id, i);
    this.offsets.push(this.opts.epochMs ?? 0);
    const joinedVia = seeds.map((x) => this.nodes[x]?.id ?? 'n0');
    const node: SimNode = { id, joinedVia, replica: undefined as unknown as Replica, up: true, incarnation: 1, scheduledTick: Infinity };
    this.nodes.push(node);
    if (this.groups !== null) this.groups.push(this.groups[seeds[0] ?? 0] ?? 0);
    node.replica = this.makeReplica(i, 1);
    this.schedule(i);
    return i;
  }

  /** Frames in flight now (a snapshot, for diagnosing a storm). */
  inFlight(): { from: number; to: number; frame: Uint8Array }[] {
    const out: { from: number; to: number; frame: Uint8Array }[] = [];
    for (const e of this.queue.items()) if (e.kind === 'deliver' && e.frame !== undefined) out.push({ from: e.from ?? -1, to: e.node, frame: e.frame });
    return out;
  }

  /** Nodes that are up. */
  live(): SimNode[] {
    return this.nodes.filter((n) => n.up);
  }
}

/** A copy of a keyspace through its codec, as a restart recovers it from disk. */
function recovered(ks: Keyspace): Keyspace {
  const out = new Keyspace(ks.replicaId, { maxMessageBytes: ks.frameLimit });
  for (const key of ks.keys()) {
    const e = ks.encodeKey(key);
    if (e !== undefined) out.mergeRemote(key, e.tag, e.bytes);
  }
  return out;
}

export { Keyspace };
