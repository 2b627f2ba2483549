// The nemesis: applies a fault schedule (schedule.ts) to a running cluster, several faults at once,
// undoes each when it ends, and records what it did as it happened (the fault timeline the checker
// reads, spread.ts). Around the long partition it also records what the failure detector did: which
// members the other side had declared dead or forgotten by the heal, and how long the membership
// took to heal.

import type { VerifyCluster } from './cluster.js';
import type { NemesisStep } from './schedule.js';
import type { FaultState, FaultTimeline } from './spread.js';

/** What happened around one long partition. */
export interface LongPartitionReport {
  side: string[];
  durationMs: number;
  /** Just before the heal, how each node of the other side saw each isolated node ('forgotten' if absent). */
  beforeHeal: Record<string, Record<string, string>>;
  /** ms from the heal until both sides saw each other alive again; null if they did not within HEAL_WAIT_MS. */
  membershipHealMs: number | null;
  /** Whether some pair across the cut could talk (running, no other cut) while it was waited for. */
  waited: boolean;
}

/** How long after a long partition's heal its membership heal is waited for, ms (the run's end and final heal may come first). */
const HEAL_WAIT_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

interface LinkFault {
  step: NemesisStep;
  drops: [string, string][];
}

export class Nemesis {
  readonly timeline: FaultTimeline;
  /** The steps that ran (a step whose node is still busy, e.g. a slow restart, is skipped). */
  readonly applied: NemesisStep[] = [];
  readonly longPartitions: LongPartitionReport[] = [];
  private readonly links = new Set<LinkFault>();
  private readonly skews = new Map<string, number>();
  /** Nodes under kill, wipe or pause (restart included). */
  private readonly stopped = new Set<string>();
  private readonly down = new Set<string>();
  private readonly paused = new Set<string>();
  /** Rejoin measurements (stopped at the end of the run) and heal measurements (which carry on through the final heal). */
  private readonly rejoining: Promise<void>[] = [];
  private readonly healing: Promise<void>[] = [];
  private ended = false;

  constructor(
    private readonly c: VerifyCluster,
    private readonly t0: number,
    private readonly event: (what: string) => void,
  ) {
    this.timeline = { nodes: c.nodes.map((n) => n.id), states: [], kills: [], rejoins: [] };
  }

  /** Runs every step at its offset; resolves when all have ended (restarts included). */
  async run(steps: readonly NemesisStep[]): Promise<void> {
    await Promise.all(
      steps.map(async (s) => {
        await sleep(this.t0 + s.at - Date.now());
        try {
          await this.apply(s);
        } catch (e) {
          this.event(`${s.fault} ${s.nodes.join(',')}: ${(e as Error).message}`);
        }
      }),
    );
  }

  /** The run is over: stops measuring rejoins (the timeline is complete) and waits for them. */
  async finish(): Promise<void> {
    this.ended = true;
    await Promise.all(this.rejoining);
  }

  /** Waits for the long partitions' heal measurements (each gives up HEAL_WAIT_MS after its heal). */
  async settled(): Promise<void> {
    await Promise.all(this.healing);
  }

  /** Records the fault state (after a change): the timeline the checker reads. Returns its time. */
  private record(): number {
    const state: FaultState = {
      at: Date.now() - this.t0,
      down: [...this.down].sort(),
      paused: [...this.paused].sort(),
      drops: [...this.links].flatMap((l) => l.drops),
      skew: Object.fromEntries(this.skews),
    };
    this.timeline.states.push(state);
    return state.at;
  }

  private async writeFaults(): Promise<void> {
    const drops = new Map<string, [string, string]>();
    for (const l of this.links) for (const d of l.drops) drops.set(d.join('>'), d);
    await this.c.setFaults({ drops: [...drops.values()], skew: this.skews });
  }

  /**
   * Applies one step and undoes it at its scheduled end (t0 + at + duration), whatever applying it
   * cost (a kill waits for the exit, a control file change for the nodes' poll), so that the per-node
   * rules of the schedule hold at run time too. A step whose node is still busy is skipped.
   */
  private async apply(s: NemesisStep): Promise<void> {
    const target = s.nodes[0] as string;
    const secs = `${(s.durationMs / 1000).toFixed(1)} s`;
    switch (s.fault) {
      case 'kill':
      case 'wipe': {
        if (this.stopped.has(target) || this.skews.has(target)) return this.skip(s, `${target} is busy`);
        this.applied.push(s);
        this.stopped.add(target);
        try {
          this.event(`kill -9 ${target}${s.fault === 'wipe' ? ', wipe its data directory,' : ''} restart in ${secs}`);
          this.down.add(target);
          this.timeline.kills.push({ at: Date.now() - this.t0, node: target, wipe: s.fault === 'wipe' });
          this.record();
          await this.c.kill(target);
          if (s.fault === 'wipe') this.c.wipe(target);
          await sleep(this.t0 + s.at + s.durationMs - Date.now());
          this.c.spawn(target);
          this.down.delete(target);
          const restartAt = this.record();
          await this.c.waitHealth(target, false);
          this.event(`${target} restarted${s.fault === 'wipe' ? ' empty' : ''} (start ${this.c.node(target).starts})`);
          this.rejoining.push(this.measureRejoin(target, restartAt));
        } finally {
          this.stopped.delete(target);
        }
        return;
      }
      case 'pause': {
        if (this.stopped.has(target)) return this.skip(s, `${target} is busy`);
        this.applied.push(s);
        this.stopped.add(target);
        this.event(`SIGSTOP ${target} for ${secs}`);
        this.paused.add(target);
        this.record();
        this.c.pause(target);
        await sleep(this.t0 + s.at + s.durationMs - Date.now());
        this.c.resume(target);
        this.paused.delete(target);
        this.record();
        this.stopped.delete(target);
        this.event(`SIGCONT ${target}`);
        return;
      }
      case 'skew': {
        const offset = s.offsetMs ?? 0;
        if (this.skews.has(target) || (this.stopped.has(target) && !this.paused.has(target))) return this.skip(s, `${target} is busy`);
        this.applied.push(s);
        this.event(`clock of ${target} ${offset >= 0 ? '+' : '-'}${(Math.abs(offset) / 1000).toFixed(1)} s for ${secs}`);
        this.skews.set(target, offset);
        this.record();
        await this.writeFaults();
        await sleep(this.t0 + s.at + s.durationMs - Date.now());
        this.skews.delete(target);
        await this.writeFaults();
        this.record(); // a fault starts in the timeline before the nodes see it, and ends after
        this.event(`clock of ${target} back`);
        return;
      }
      case 'partition':
      case 'oneway': {
        this.applied.push(s);
        const side = new Set(s.nodes);
        const rest = this.timeline.nodes.filter((id) => !side.has(id));
        const drops: [string, string][] = [];
        for (const a of s.nodes)
          for (const b of rest) {
            if (s.fault === 'partition' || s.direction === 'out') drops.push([a, b]);
            if (s.fault === 'partition' || s.direction === 'in') drops.push([b, a]);
          }
        const link: LinkFault = { step: s, drops };
        const what =
          s.fault === 'partition'
            ? `partition {${s.nodes.join(',')}} | {${rest.join(',')}}`
            : `one-way: {${s.direction === 'out' ? s.nodes.join(',') : rest.join(',')}} -> {${s.direction === 'out' ? rest.join(',') : s.nodes.join(',')}} dropped`;
        this.event(`${s.long === true ? 'LONG ' : ''}${what} for ${secs}`);
        this.links.add(link);
        this.record();
        await this.writeFaults();
        await sleep(this.t0 + s.at + s.durationMs - Date.now());
        const beforeHeal = s.long === true ? await this.observe(s.nodes, rest) : null;
        this.links.delete(link);
        await this.writeFaults();
        this.record();
        this.event(`${s.fault === 'partition' ? 'partition' : 'one-way cut'} {${s.nodes.join(',')}} healed`);
        if (beforeHeal !== null) {
          const report: LongPartitionReport = { side: s.nodes, durationMs: s.durationMs, beforeHeal, membershipHealMs: null, waited: false };
          this.longPartitions.push(report);
          const views = Object.entries(beforeHeal).map(([o, m]) => `${o}: ${Object.entries(m).map(([i, st]) => `${i} ${st}`).join(', ')}`);
          this.event(`  before the heal: ${views.join('; ') || 'no node of the other side answered'}`);
          this.healing.push(this.measureHeal(report, rest));
        }
        return;
      }
    }
  }

  private skip(s: NemesisStep, why: string): void {
    this.event(`${s.fault} ${s.nodes.join(',')} skipped: ${why}`);
  }

  /**
   * After a restart of `node` (its process started at `restartAt`), polls until each peer and the node
   * have heard each other (a frame each way since the restart, at the new incarnation) and records
   * when: the loss model counts the link as carrying data only from then. Stops when the node goes
   * down again or the run ends.
   */
  private async measureRejoin(node: string, restartAt: number): Promise<void> {
    const todo = new Set(this.timeline.nodes.filter((p) => p !== node));
    while (!this.ended && todo.size > 0 && !this.down.has(node)) {
      const mine = await this.c.view(node);
      const t = Date.now() - this.t0;
      if (mine !== null) {
        for (const peer of [...todo]) {
          if (mine.members.get(peer)?.lastHeardMsAgo === null || mine.members.get(peer) === undefined) continue;
          const theirs = await this.c.view(peer);
          const me = theirs?.members.get(node);
          if (me === undefined || me.incarnation !== mine.incarnation || me.lastHeardMsAgo === null || me.lastHeardMsAgo > Date.now() - this.t0 - restartAt) continue;
          this.timeline.rejoins.push({ node, restartAt, peer, at: Date.now() - this.t0 });
          todo.delete(peer);
        }
      }
      if (todo.size > 0) await sleep(Math.max(0, 200 - (Date.now() - this.t0 - t)));
    }
  }

  /** How each running node of `others` sees each node of `side` (absent: forgotten). */
  private async observe(side: readonly string[], others: readonly string[]): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const o of others) {
      if (this.down.has(o) || this.paused.has(o)) continue;
      const m = await this.c.members(o);
      if (m === null) continue;
      out[o] = Object.fromEntries(side.map((i) => [i, m.get(i) ?? 'forgotten']));
    }
    return out;
  }

  /**
   * Polls until every pair (isolated node, other node) that can talk again (both running, no cut
   * between them, clocks within reach) sees each other alive, and records how long that took.
   */
  private async measureHeal(r: LongPartitionReport, others: readonly string[]): Promise<void> {
    const from = Date.now();
    while (Date.now() - from < HEAL_WAIT_MS) {
      await sleep(250);
      const cut = new Set([...this.links].flatMap((l) => l.drops.flatMap(([a, b]) => [`${a}>${b}`, `${b}>${a}`])));
      const usable = (id: string): boolean => !this.down.has(id) && !this.paused.has(id) && Math.abs(this.skews.get(id) ?? 0) < 30_000;
      const pairs = r.side.flatMap((i) => others.map((o) => [i, o] as const)).filter(([i, o]) => usable(i) && usable(o) && !cut.has(`${i}>${o}`));
      if (pairs.length > 0) r.waited = true;
      const ids = [...new Set(pairs.flat())];
      const views = new Map(await Promise.all(ids.map(async (id) => [id, await this.c.members(id)] as const)));
      if (pairs.length > 0 && pairs.every(([i, o]) => views.get(i)?.get(o) === 'alive' && views.get(o)?.get(i) === 'alive')) {
        r.membershipHealMs = Date.now() - from;
        this.event(`  membership healed ${(r.membershipHealMs / 1000).toFixed(2)} s after the long partition`);
        return;
      }
    }
  }
}
