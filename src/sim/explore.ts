// The deterministic fault explorer (in the spirit of FoundationDB's simulation testing and
// TigerBeetle's VOPR): one seed draws a cluster, a fault schedule and a workload, runs them against
// the real replica code in virtual time, heals, and checks the invariants. `exploreSeed` is a pure
// function of its seed: one SeededRng drives everything (the network's generator is seeded from
// it), and nothing reads the global clock or Math.random. docs/testing.md, "The fault explorer".

import { SeededRng } from '../util/rng.js';
import { between, drawMembership, drawSetup, EPOCH_MS, heavyTail, type ExploreSetup, type FaultSpec, type MembershipEvent } from './explore-draw.js';
import { checkConvergence, checkDigests, checkEpochEnd, checkExpiry, checkKnown, checkLostWrites, checkResurrections, type Invariant, type Violation } from './explore-checks.js';
import { epochOf, joinStates, keyspaceNow, setFoldView } from './inspect.js';
import { SlotFolds } from '../replication/slot-folds.js';
import { Keyspace as KeyspaceClass } from '../keyspace/keyspace.js';
import { Ledger } from './explore-ledger.js';
import { Workload, type WorkloadStats } from './explore-workload.js';
import { DEFAULT_FAULTS, Simulation, SimOverload, type FaultModel } from './network.js';
import { decodeEnvelope, MsgKind } from '../replication/messages.js';
import { KIND_NAMES } from '../replication/context.js';
import type { Keyspace } from '../keyspace/keyspace.js';

export interface ExploreOptions {
  /** Virtual ms after a heal within which every node must agree. Default 60,000. */
  quiesceMs?: number;
  /** Keep a line per operation, fault and outcome in `ExploreOutcome.trace` (for replays). */
  trace?: boolean;
}

export const DEFAULT_EXPLORE_OPTIONS: Readonly<Required<ExploreOptions>> = Object.freeze({ quiesceMs: 60_000, trace: false });

export interface ExploreOutcome {
  seed: number;
  ok: boolean;
  /** What the checks found: at most a few of each kind. */
  violations: Violation[];
  /** Violations found beyond those kept (more of the same kinds). */
  suppressed: number;
  /** Invariants violated, each once, in the order first seen. */
  failed: Invariant[];
  /** The command that replays this seed. */
  replay: string;
  setup: { nodes: number; epochs: number; faults: number; maxMessageBytes: number; gossipIntervalMs: number; oversizedKey: boolean; prejoined: boolean; membershipChanges: number };
  stats: WorkloadStats & { virtualMs: number; peakFramesPerSecond: number; counterWrites: number; epochEnds: number; wipes: number; heals: number; convergedInMs: number[] };
  trace: string[];
}

/**
 * `left`: left the cluster (`tally leave`): its process exited; what it held must be elsewhere (its
 * hand-off), so no check reads it. `gone`: killed for good, its data lost (a wipe in the ledger), to
 * be removed. Neither restarts.
 */
type Status = 'up' | 'paused' | 'down' | 'left' | 'gone';

/** Most nodes a history grows to by joins. */
const MAX_NODES = 9;
/** Fewest nodes that are not gone below which no node leaves or is removed. */
const MIN_MEMBERS = 3;
/** Seeds the membership generator apart from the history's (see drawMembership). */
const MEMBERSHIP_STREAM = 0x6d656d62;

/** The command line that replays one seed with these options. */
export function replayCommand(seed: number, opts: ExploreOptions = {}): string {
  const flags = opts.quiesceMs !== undefined && opts.quiesceMs !== DEFAULT_EXPLORE_OPTIONS.quiesceMs ? ` --quiesce ${opts.quiesceMs}` : '';
  return `node dist/src/cli/main.js simulate --explore --seed ${seed}${flags}`;
}

/** Upper bound on operations in one epoch, whatever its length and rate. */
const MAX_OPS_PER_EPOCH = 400;
/** Frames in flight at once beyond which the history stops as a message storm (a healthy cluster has a few hundred). */
const MAX_IN_FLIGHT = 20_000;
/** Frames in all beyond which the history stops as a message storm (a long history sends a few hundred thousand). */
const MAX_FRAMES = 5_000_000;
/** Frames per node within one virtual second beyond which the history stops as a message storm (healthy: under 200). */
const MAX_FRAMES_PER_NODE_SECOND = 1000;
/** How often (virtual ms) every node's known versions are checked against what it holds. */
const KNOWN_CHECK_MS = 500;
/** Violations of one kind kept per seed (the rest are counted in `suppressed`). */
const MAX_PER_KIND = 5;
/** How often (virtual ms) the quiesce loop compares the nodes. */
const QUIESCE_STEP_MS = 250;

/** One history: runs it and returns what the checks found. */
class History {
  readonly rng: SeededRng;
  readonly setup: ExploreSetup;
  /** Membership changes per epoch, and the generator that picks their nodes. */
  readonly membership: MembershipEvent[][];
  private readonly mrng: SeededRng;
  /** Killed for good, waiting for an operator's removal to be accepted by some live node. */
  private readonly toRemove = new Set<number>();
  /** Nodes handing off after a leave began (never chosen as a joiner's seed). */
  private readonly leaving = new Set<number>();
  /** The seeds each joined node's config names. */
  private readonly seedsOf = new Map<number, number[]>();
  readonly sim: Simulation;
  readonly ledger = new Ledger();
  readonly workload: Workload;
  readonly violations: Violation[] = [];
  readonly traceLines: string[] = [];
  private readonly status: Status[];
  /** A down node whose data directory is lost: it restarts empty. */
  private readonly wiped: boolean[];
  /** Which clock fault last set each node's clock (only it resets it). */
  private readonly clockOwner: (FaultSpec | null)[];
  private readonly degrades = new Set<FaultSpec>();
  /** Link cuts of the active partition faults. */
  private readonly cuts = new Map<FaultSpec, number>();
  /** Crash and pause faults that took effect (a node already down is not crashed again). */
  private readonly owned = new Set<FaultSpec>();
  private readonly base: FaultModel;
  /** Known versions already verified, per (node origin, origin). */
  private readonly knownChecked = new Map<string, number>();
  /** Subjects already reported (a lost write fails again at every later heal). */
  private readonly reported = new Set<string>();
  private readonly perKind = new Map<string, number>();
  /** Violations beyond MAX_PER_KIND of their kind, counted but not kept. */
  suppressed = 0;
  heals = 0;
  readonly convergedInMs: number[] = [];
  /** Epochs that ended on a node by its clock since the last look: checked once the operation that set their TTL is in the ledger. */
  private ends: { node: number; key: string; epoch: number; clock: number; at: number }[] = [];
  /** Epochs ended by a node's clock, in all. */
  epochEnds = 0;

  constructor(
    readonly seed: number,
    private readonly opts: Required<ExploreOptions>,
  ) {
    this.rng = new SeededRng(seed);
    // One run at a time per process: the fold view starts empty with each.
    setFoldView(undefined);
    this.setup = drawSetup(this.rng);
    this.mrng = new SeededRng((seed ^ MEMBERSHIP_STREAM) >>> 0);
    this.membership = drawMembership(this.mrng, this.setup.epochs);
    const { nodes } = this.setup;
    this.sim = new Simulation({
      nodes,
      seed: this.rng.nextU32(),
      config: this.setup.config,
      faults: this.setup.network,
      prejoined: this.setup.prejoined,
      epochMs: EPOCH_MS,
      // 1-4 keys a tick, from the seed (not the history's stream, so every seed replays as before):
      // fold passes then span many ticks, and merges meet keys a pass has not reached.
      foldSlice: 1 + (seed % 4),
      limits: { inFlight: MAX_IN_FLIGHT, frames: MAX_FRAMES, framesPerSecond: MAX_FRAMES_PER_NODE_SECOND * nodes },
      events: (i) => ({
        collected: (key, state) => {
          this.grave.mergeRemote(key, state.tag, state.bytes);
          const tomb = new KeyspaceClass('grave:0');
          tomb.mergeRemote(key, state.tag, state.bytes);
          this.ledger.collected(key, tomb);
          this.collections++;
          this.trace(`n${i} collected the tombstone of ${key.slice(1)}`);
        },
        folded: (bounds, keys) => {
          // Every check reads counters through the union of every node's bounds (inspect.ts).
          if (this.foldBounds.adopt(bounds)) setFoldView(this.foldBounds.bounds(), this.grave);
          this.trace(`n${i} folds retired slots below ${JSON.stringify(bounds)} (${keys} keys)`);
        },
      }),
    });
    this.base = { ...DEFAULT_FAULTS, ...this.setup.network };
    this.status = Array.from({ length: nodes }, () => 'up');
    this.wiped = Array.from({ length: nodes }, () => false);
    this.clockOwner = Array.from({ length: nodes }, () => null);
    this.workload = new Workload({
      sim: this.sim,
      rng: this.rng,
      ledger: this.ledger,
      keys: this.setup.keys,
      holders: this.holders,
      violation: (v) => this.report(v),
      trace: (line) => this.trace(line),
    });
    for (let i = 0; i < nodes; i++) this.watchEnds(i);
  }

  /** Notes every epoch that ends on node `i`'s clock (a change of origin 'expire'), with that clock. */
  private watchEnds(i: number): void {
    const ks = this.sim.nodes[i]?.replica.keyspace;
    ks?.onChange((key, origin) => {
      if (origin !== 'expire') return;
      this.epochEnds++;
      this.ends.push({ node: i, key, epoch: epochOf(ks, key) - 1, clock: keyspaceNow(ks), at: this.sim.now });
    });
  }

  /** Each epoch that ended on a node's clock ended by a deadline set in it, passed on that clock. */
  private checkEnds(): void {
    const ends = this.ends;
    if (ends.length === 0) return;
    this.ends = [];
    for (const e of ends) {
      const v = checkEpochEnd(this.ledger, e.node, e.key, e.epoch, e.clock, e.at);
      if (v !== undefined) this.report(v);
    }
  }

  /**
   * Every tombstone any node collected (the replica's `collected` event), joined. A node collects
   * only once every member holds the tombstone, so a write it floored was removed by design
   * everywhere: the checks look at a node's state joined with this graveyard (a node that got a
   * range without a collected key holds the same nothing as the collector), and
   * `checkResurrections` checks that no collected key comes back with counts its delete removed.
   */
  private readonly grave = new KeyspaceClass('grave:0');
  /** Tombstones collected, over every node (the summary shows that collection was exercised). */
  collections = 0;
  /** The union of every node's slot-fold bounds: the checks read counters through it (inspect.ts, `setFoldView`). */
  private readonly foldBounds = new SlotFolds();

  readonly holders = (k: number): Keyspace | undefined => {
    if (this.status[k] === 'gone' || this.status[k] === 'left' || (this.status[k] === 'down' && this.wiped[k] === true)) return undefined;
    const ks = this.sim.nodes[k]?.replica.keyspace;
    return ks === undefined || this.grave.size === 0 ? ks : joinStates([ks, this.grave]);
  };

  trace(line: string): void {
    if (this.opts.trace) this.traceLines.push(`${(this.sim.now / 1000).toFixed(3).padStart(9)} ${line}`);
  }

  run(): void {
    try {
      this.sim.runUntil(between(this.rng, 500, 2000));
      for (const [e, epoch] of this.setup.epochs.entries()) {
        this.trace(`epoch ${e + 1}: ${epoch.durationMs} ms, ${epoch.faults.length} faults, ${epoch.opsPerSecond} ops/s`);
        this.runEpoch(epoch.durationMs, epoch.opsPerSecond, epoch.faults, this.membership[e] ?? []);
        this.healAndCheck();
      }
    } catch (e) {
      if (e instanceof SimOverload) {
        this.report({ invariant: 'traffic', kind: 'message storm', at: this.sim.now, detail: `${e.message}; in flight: ${stormSummary(this.sim)}` });
        return;
      }
      const err = e instanceof Error ? e : new Error(String(e));
      this.report({ invariant: 'exception', kind: `${err.name}: ${err.message.replace(/\d+/g, 'N').slice(0, 80)}`, at: this.sim.now, detail: (err.stack ?? err.message).split('\n').slice(0, 6).join(' / ') });
    }
  }

  private runEpoch(durationMs: number, opsPerSecond: number, faults: FaultSpec[], changes: readonly MembershipEvent[]): void {
    const start = this.sim.now;
    const actions: { t: number; i: number; run: () => void }[] = [];
    let seq = 0;
    const at = (t: number, run: () => void): void => {
      if (t < durationMs) actions.push({ t: start + t, i: seq++, run });
    };
    for (const f of faults) {
      at(f.start, () => this.begin(f));
      at(f.end, () => this.end(f));
      if (f.kind === 'clock' && f.stepAt !== null) at(f.stepAt, () => this.clockStep(f));
    }
    for (let t = KNOWN_CHECK_MS; t < durationMs; t += KNOWN_CHECK_MS)
      at(t, () => {
        this.checkKnownAll();
        this.tryRemovals();
      });
    for (const c of changes) at(c.t, () => this.change(c));
    const ops = Math.min(MAX_OPS_PER_EPOCH, Math.round((opsPerSecond * durationMs) / 1000));
    for (let o = 0; o < ops; o++) {
      at(this.rng.int(durationMs), () => {
        const i = this.rng.int(this.sim.nodes.length);
        if (this.status[i] !== 'up') return;
        this.workload.run(i);
        this.sim.wake(i);
      });
    }
    actions.sort((a, b) => a.t - b.t || a.i - b.i);
    for (const a of actions) {
      this.sim.runUntil(a.t);
      a.run();
      this.checkEnds();
    }
    this.sim.runUntil(start + durationMs);
    this.checkEnds();
  }

  // ---- membership changes (docs/consistency.md, "Membership changes") ----------------------------

  /**
   * Nodes some other node's config names as a seed: n0 when the cluster joined through it, and each
   * joined node's seeds. A restarted node knows only its config; an operator who takes a seed away
   * edits the configs that name it, which a history cannot, so it never takes one away.
   */
  private seedNodes(): Set<number> {
    const out = new Set<number>(this.setup.prejoined ? [] : [0]);
    for (const [j, seeds] of this.seedsOf) if (this.status[j] !== 'gone' && this.status[j] !== 'left') for (const x of seeds) out.add(x);
    return out;
  }

  private notGone(): number {
    return this.status.filter((s) => s !== 'gone' && s !== 'left').length;
  }

  private change(c: MembershipEvent): void {
    const { sim, mrng } = this;
    const up = this.status.map((s, i) => (s === 'up' ? i : -1)).filter((i) => i >= 0);
    if (c.kind === 'join') {
      if (sim.nodes.length >= MAX_NODES || up.length === 0) return;
      // One to three seeds, as an operator lists a few running members (not one that is leaving).
      const staying = up.filter((i) => !this.leaving.has(i));
      if (staying.length === 0) return;
      const seeds: number[] = [];
      for (let k = between(mrng, 1, 3); k > 0 && seeds.length < staying.length; k--) {
        const x = staying[mrng.int(staying.length)] as number;
        if (!seeds.includes(x)) seeds.push(x);
      }
      const j = sim.join(...seeds);
      this.status.push('up');
      this.wiped.push(false);
      this.clockOwner.push(null);
      this.seedsOf.set(j, seeds);
      this.trace(`join: n${j} with only itself and the seeds ${seeds.map((x) => `n${x}`).join(',')} in its config`);
      return;
    }
    if (this.notGone() <= MIN_MEMBERS) return;
    const needed = this.seedNodes();
    if (c.kind === 'leave') {
      const voters = up.filter((i) => sim.nodes[i]?.replica.joining === false && !needed.has(i) && !this.leaving.has(i));
      if (voters.length === 0) return;
      const i = voters[mrng.int(voters.length)] as number;
      const r = sim.nodes[i]?.replica;
      if (r === undefined) return;
      const timeout = heavyTail(mrng, 500, 20_000);
      this.trace(`leave: n${i} hands off (timeout ${timeout} ms)`);
      this.leaving.add(i);
      r.leaveCluster(sim.localNow(i) + timeout, (o) => {
        this.leaving.delete(i);
        this.trace(`leave of n${i} -> ok=${o.ok} ${o.holders}/${o.needed}${o.failure === undefined ? '' : ` (${o.failure})`}`);
        // The process exits once it has left; a replica since replaced by a restart is not it.
        if (!o.ok || sim.nodes[i]?.replica !== r || this.status[i] !== 'up') return;
        // With the collected tombstones, as `holders` sees a live node: a key it collected is held
        // as its tombstone (seed 8787: n2 collected 36 flushed keys, then left, and the WAIT check
        // took those keys as absent).
        this.ledger.depart(i, sim.now, joinStates(this.grave.size === 0 ? [r.keyspace] : [r.keyspace, this.grave]));
        sim.crash(i);
        this.status[i] = 'left';
      });
      sim.wake(i);
      return;
    }
    // Remove: a node is killed for good, its data with it; an operator then removes it.
    const candidates = this.status.map((s, i) => (s === 'up' || s === 'down' ? i : -1)).filter((i) => i >= 0 && !needed.has(i));
    if (candidates.length === 0) return;
    const x = candidates[mrng.int(candidates.length)] as number;
    if (this.status[x] === 'up') sim.crash(x);
    this.status[x] = 'gone';
    this.ledger.wipe(x, sim.now, this.holders, sim.nodes.length);
    this.toRemove.add(x);
    this.trace(`kill n${x} for good, to be removed`);
    this.tryRemovals();
  }

  /** Asks a random live node to remove each node killed for good; it refuses while it holds it alive. */
  private tryRemovals(): void {
    for (const x of this.toRemove) {
      const up = this.status.map((s, i) => (s === 'up' ? i : -1)).filter((i) => i >= 0);
      if (up.length === 0) return;
      const i = up[this.mrng.int(up.length)] as number;
      const r = this.sim.nodes[i]?.replica;
      const res = r?.removeMember(`n${x}`);
      if (res === undefined) continue;
      if (res.ok || res.error.code === 'already') {
        this.toRemove.delete(x);
        this.trace(`remove n${x} through n${i}${res.ok ? '' : ' (already removed)'}`);
        this.sim.wake(i);
      }
    }
  }

  /** Every node whose data exists: its known versions claim only what it holds. */
  private checkKnownAll(): void {
    for (let i = 0; i < this.sim.nodes.length; i++) {
      const ks = this.holders(i);
      if (ks === undefined) continue;
      for (const v of checkKnown(this.ledger, this.sim, i, ks, this.knownChecked)) this.report(v);
    }
  }

  /**
   * Records a violation: once per subject (a lost write or an over-claim stays so at later checks),
   * and the first few of each kind (one bug tends to repeat); `suppressed` counts the rest.
   */
  private report(v: Violation): void {
    if (v.subject !== undefined) {
      if (this.reported.has(v.subject)) return;
      this.reported.add(v.subject);
    }
    const kind = `${v.invariant}\0${v.kind}`;
    const n = (this.perKind.get(kind) ?? 0) + 1;
    this.perKind.set(kind, n);
    if (n > MAX_PER_KIND) this.suppressed++;
    else this.violations.push(v);
  }

  private begin(f: FaultSpec): void {
    const { sim } = this;
    switch (f.kind) {
      case 'split':
        this.cuts.set(f, sim.cut((a, b) => f.groups[a] !== f.groups[b]));
        this.trace(`fault: split ${f.groups.join('')} until ${(f.end / 1000).toFixed(1)} s`);
        return;
      case 'one-way': {
        const from = new Set(f.from);
        const to = new Set(f.to);
        this.cuts.set(f, sim.cut((a, b) => from.has(a) && to.has(b)));
        this.trace(`fault: one-way ${f.from.map((n) => `n${n}`).join(',')} -/-> ${f.to.map((n) => `n${n}`).join(',')}`);
        return;
      }
      case 'link':
        this.cuts.set(f, sim.cut((a, b) => (a === f.a && b === f.b) || (f.both && a === f.b && b === f.a)));
        this.trace(`fault: link n${f.a} -/-> n${f.b}${f.both ? ' both ways' : ''}`);
        return;
      case 'crash':
        if (this.status[f.node] !== 'up') return;
        sim.crash(f.node);
        this.status[f.node] = 'down';
        this.wiped[f.node] = f.wipe;
        this.owned.add(f);
        this.trace(`fault: crash n${f.node} ${f.wipe ? 'losing its data' : 'with its data'}`);
        if (f.wipe) this.ledger.wipe(f.node, sim.now, this.holders, sim.nodes.length);
        return;
      case 'pause':
        if (this.status[f.node] !== 'up') return;
        sim.pause(f.node);
        this.status[f.node] = 'paused';
        this.owned.add(f);
        this.trace(`fault: pause n${f.node}`);
        return;
      case 'clock':
        this.clockOwner[f.node] = f;
        sim.setClockOffset(f.node, EPOCH_MS + f.offsetMs);
        this.trace(`fault: clock of n${f.node} ${f.offsetMs >= 0 ? '+' : ''}${f.offsetMs} ms`);
        return;
      case 'degrade':
        this.degrades.add(f);
        this.applyDegrades();
        this.trace(`fault: degrade loss ${f.loss.toFixed(2)} dup ${f.duplicate.toFixed(2)} reorder ${f.reorder.toFixed(2)}`);
        return;
    }
  }

  private end(f: FaultSpec): void {
    const { sim } = this;
    switch (f.kind) {
      case 'split':
      case 'one-way':
      case 'link': {
        const id = this.cuts.get(f);
        if (id !== undefined) sim.uncut(id);
        this.cuts.delete(f);
        this.trace(`heal: ${f.kind}`);
        return;
      }
      case 'crash':
        if (!this.owned.delete(f) || this.status[f.node] !== 'down') return;
        this.restart(f.node);
        return;
      case 'pause':
        if (!this.owned.delete(f) || this.status[f.node] !== 'paused') return;
        sim.resume(f.node);
        this.status[f.node] = 'up';
        this.trace(`resume n${f.node}`);
        return;
      case 'clock':
        if (this.clockOwner[f.node] !== f) return;
        this.clockOwner[f.node] = null;
        sim.setClockOffset(f.node, EPOCH_MS);
        this.trace(`clock of n${f.node} back to true time`);
        return;
      case 'degrade':
        this.degrades.delete(f);
        this.applyDegrades();
        return;
    }
  }

  private clockStep(f: FaultSpec): void {
    if (f.kind !== 'clock' || this.clockOwner[f.node] !== f) return;
    this.sim.setClockOffset(f.node, EPOCH_MS + f.stepToMs);
    this.trace(`clock of n${f.node} steps to ${f.stepToMs >= 0 ? '+' : ''}${f.stepToMs} ms`);
  }

  private restart(i: number): void {
    const withState = !this.wiped[i];
    this.sim.restart(i, withState);
    this.status[i] = 'up';
    this.wiped[i] = false;
    this.watchEnds(i);
    this.trace(`restart n${i} ${withState ? 'with' : 'without'} its data as ${this.sim.nodes[i]?.replica.origin}`);
  }

  private applyDegrades(): void {
    const f: FaultModel = { ...this.base };
    for (const d of this.degrades) {
      if (d.kind !== 'degrade') continue;
      f.loss = Math.max(f.loss, d.loss);
      f.duplicate = Math.max(f.duplicate, d.duplicate);
      f.reorder = Math.max(f.reorder, d.reorder);
      f.reorderMs = Math.max(f.reorderMs, d.reorderMs);
    }
    this.sim.faults = f;
  }

  /** Heals everything, runs until quiescent or the bound, and checks the invariants. */
  private healAndCheck(): void {
    const { sim } = this;
    this.heals++;
    sim.heal();
    this.cuts.clear();
    this.degrades.clear();
    this.applyDegrades();
    this.owned.clear();
    for (let i = 0; i < sim.nodes.length; i++) {
      if (this.clockOwner[i] !== null || sim.clockOffset(i) !== EPOCH_MS) sim.setClockOffset(i, EPOCH_MS);
      this.clockOwner[i] = null;
    }
    for (let i = 0; i < sim.nodes.length; i++) {
      if (this.status[i] === 'paused') {
        sim.resume(i);
        this.status[i] = 'up';
      } else if (this.status[i] === 'down') this.restart(i);
    }
    this.trace('heal: every fault');
    const healedAt = sim.now;
    let converged = checkConvergence(sim, 0);
    while (converged !== undefined && sim.now - healedAt < this.opts.quiesceMs) {
      sim.runUntil(sim.now + QUIESCE_STEP_MS);
      converged = checkConvergence(sim, Math.round(sim.now - healedAt));
    }
    if (converged === undefined) {
      this.convergedInMs.push(Math.round(sim.now - healedAt));
      this.trace(`converged ${Math.round(sim.now - healedAt)} ms after the heal`);
    } else {
      this.report(converged);
      const d = checkDigests(sim);
      if (d !== undefined) this.report(d);
    }
    // The nodes gone for good hold nothing anyone can read: what they held must be elsewhere.
    const stores = sim.nodes.filter((_, i) => this.status[i] !== 'gone' && this.status[i] !== 'left').map((n) => n.replica.keyspace);
    this.tryRemovals();
    for (const v of checkResurrections(stores, this.grave, sim.now)) this.report(v);
    // A write lost stays lost: report each once, at the first heal that finds it.
    for (const v of checkLostWrites(this.ledger, [...stores, this.grave], sim.localNow(0), sim.now)) this.report(v);
    this.checkEnds();
    // Expiry's own checks need the quiesced cluster: skipped when it did not converge (reported above).
    if (converged === undefined) {
      const live = sim.nodes.map((n, i) => ({ i, ks: n.replica.keyspace })).filter((_, i) => this.status[i] === 'up');
      for (const v of checkExpiry(this.ledger, live, sim.now)) this.report(v);
    }
    this.checkKnownAll();
    // Leave the quiesced cluster a little time before the next epoch's faults.
    sim.runUntil(sim.now + between(this.rng, 0, 2000));
  }
}

/** The frames in flight in a storm, counted by link and message kind (the most common first). */
function stormSummary(sim: Simulation): string {
  const counts = new Map<string, number>();
  for (const f of sim.inFlight()) {
    const env = decodeEnvelope(f.frame, sim.config.clusterName, Infinity);
    const what = env.ok ? (env.value.msg.kind === MsgKind.Delta && env.value.msg.body.ranges.length === 0 && env.value.msg.body.states.length === 0 ? 'delta(members only)' : KIND_NAMES[env.value.msg.kind]) : 'undecodable';
    const k = `n${f.from}->n${f.to} ${what}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const rejected = new Map<string, number>();
  for (const n of sim.nodes) for (const [why, c] of Object.entries(n.replica.stats.rejected)) rejected.set(why, (rejected.get(why) ?? 0) + c);
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${k} x${n}`).join(', ');
  return `${top}; frames rejected so far: ${[...rejected].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`;
}

/** Runs one seeded history against the real replica code and checks every invariant. Pure in `seed`. */
export function exploreSeed(seed: number, options: ExploreOptions = {}): ExploreOutcome {
  const opts = { ...DEFAULT_EXPLORE_OPTIONS, ...options };
  const h = new History(seed, opts);
  h.run();
  const failed: Invariant[] = [];
  for (const v of h.violations) if (!failed.includes(v.invariant)) failed.push(v.invariant);
  const { setup } = h;
  return {
    seed,
    ok: h.violations.length === 0,
    violations: h.violations,
    suppressed: h.suppressed,
    failed,
    replay: replayCommand(seed, options),
    setup: {
      nodes: setup.nodes,
      epochs: setup.epochs.length,
      faults: setup.epochs.reduce((a, e) => a + e.faults.length, 0),
      maxMessageBytes: setup.config.maxMessageBytes ?? 0,
      gossipIntervalMs: setup.config.gossipIntervalMs ?? 0,
      oversizedKey: setup.keys.some((k) => k.key.length > 40),
      prejoined: setup.prejoined,
      membershipChanges: h.membership.reduce((a, e) => a + e.length, 0),
    },
    stats: { ...h.workload.stats, virtualMs: Math.round(h.sim.now), peakFramesPerSecond: h.sim.peakFramesPerSecond, counterWrites: h.ledger.counterWrites, epochEnds: h.epochEnds, wipes: h.ledger.wipes.length, heals: h.heals, convergedInMs: h.convergedInMs },
    trace: h.traceLines,
  };
}
