// Aggregates explorer outcomes over many seeds: how many failed, by invariant and by the shape of
// the failure, with the first seeds of each (smallest seed numbers, so the report does not depend on
// which worker finished first) and their replay commands.

import type { Invariant } from './explore-checks.js';
import type { ExploreOutcome } from './explore.js';

/** Seeds kept per failure kind. */
const KEEP = 5;

export interface KindSummary {
  invariant: Invariant;
  kind: string;
  /** Seeds with at least one violation of this kind. */
  seeds: number;
  /** The smallest such seeds. */
  first: number[];
  /** One violation's detail, from the smallest seed. */
  example: string;
}

export interface ExploreSummary {
  seeds: number;
  failedSeeds: number;
  /** Seeds failing each invariant. */
  byInvariant: Partial<Record<Invariant, number>>;
  byKind: KindSummary[];
  /** Replay commands of the smallest failing seeds. */
  replays: string[];
  virtualMs: number;
  ops: number;
}

export class SummaryBuilder {
  private seeds = 0;
  private readonly failed: { seed: number; replay: string }[] = [];
  private failedCount = 0;
  private readonly byInvariant = new Map<Invariant, number>();
  private readonly kinds = new Map<string, KindSummary & { exampleSeed: number }>();
  private virtualMs = 0;
  private ops = 0;

  add(o: ExploreOutcome): void {
    this.seeds++;
    this.virtualMs += o.stats.virtualMs;
    this.ops += o.stats.ops;
    if (o.ok) return;
    this.failedCount++;
    keepSmallest(this.failed, { seed: o.seed, replay: o.replay }, (x) => x.seed, KEEP * 2);
    for (const inv of o.failed) this.byInvariant.set(inv, (this.byInvariant.get(inv) ?? 0) + 1);
    const seen = new Set<string>();
    for (const v of o.violations) {
      const id = `${v.invariant}\0${v.kind}`;
      if (seen.has(id)) continue;
      seen.add(id);
      let k = this.kinds.get(id);
      if (k === undefined) this.kinds.set(id, (k = { invariant: v.invariant, kind: v.kind, seeds: 0, first: [], example: v.detail, exampleSeed: o.seed }));
      k.seeds++;
      keepSmallest(k.first, o.seed, (x) => x, KEEP);
      if (o.seed < k.exampleSeed) {
        k.example = v.detail;
        k.exampleSeed = o.seed;
      }
    }
  }

  get failures(): number {
    return this.failedCount;
  }

  summary(): ExploreSummary {
    const byKind = [...this.kinds.values()]
      .map(({ exampleSeed: _s, ...k }) => k)
      .sort((a, b) => a.invariant.localeCompare(b.invariant) || b.seeds - a.seeds || a.kind.localeCompare(b.kind));
    return {
      seeds: this.seeds,
      failedSeeds: this.failedCount,
      byInvariant: Object.fromEntries(this.byInvariant),
      byKind,
      replays: this.failed.map((f) => f.replay),
      virtualMs: this.virtualMs,
      ops: this.ops,
    };
  }
}

/** Inserts `x` into `list` (sorted by `by`, ascending), keeping at most `max` items. */
function keepSmallest<T>(list: T[], x: T, by: (t: T) => number, max: number): void {
  let i = list.length;
  while (i > 0 && by(list[i - 1] as T) > by(x)) i--;
  if (i >= max) return;
  list.splice(i, 0, x);
  if (list.length > max) list.pop();
}
