// `tally simulate --explore`: runs seeds of the deterministic fault explorer (src/sim/explore.ts),
// prints a progress line on stderr and a summary (failures by invariant and by kind, seeds per
// second, the replay command of the first failures), and exits 1 on any failure.

import { availableParallelism } from 'node:os';
import { DEFAULT_EXPLORE_OPTIONS, exploreSeed, type ExploreOptions, type ExploreOutcome } from '../sim/explore.js';
import { runSeeds } from '../sim/explore-pool.js';
import { SummaryBuilder } from '../sim/explore-summary.js';

export interface ExploreFlags {
  seed: number;
  /** Undefined: 1 when --seed was given, else 1,000. */
  seeds: number | undefined;
  seedGiven: boolean;
  jobs: number | undefined;
  quiesce: number;
  trace: boolean;
  json: boolean;
  progress: boolean;
}

export async function runExplore(flags: ExploreFlags): Promise<void> {
  const count = flags.seeds ?? (flags.seedGiven ? 1 : 1000);
  const jobs = flags.jobs ?? (count < 8 ? 1 : availableParallelism());
  const explore: ExploreOptions = flags.quiesce !== DEFAULT_EXPLORE_OPTIONS.quiesceMs ? { quiesceMs: flags.quiesce } : {};
  const started = Date.now();

  // One seed with --trace: print its history as it ran.
  if (flags.trace) {
    for (let s = flags.seed; s < flags.seed + count; s++) {
      const o = exploreSeed(s, { ...explore, trace: true });
      console.log(`seed ${s}:`);
      for (const line of o.trace) console.log(line);
      for (const v of o.violations) console.log(`  ${v.invariant}: ${v.kind} at ${(v.at / 1000).toFixed(3)} s\n    ${v.detail}`);
    }
  }

  const sum = new SummaryBuilder();
  // A handful of seeds (a replay): keep the failing outcomes to print every violation in full.
  const kept: ExploreOutcome[] = [];
  let lastProgress = 0;
  const progress = (force: boolean): void => {
    if (!flags.progress) return;
    const now = Date.now();
    if (!force && now - lastProgress < 200) return;
    lastProgress = now;
    const secs = (now - started) / 1000;
    const s = sum.summary();
    process.stderr.write(`\r\x1b[K${s.seeds}/${count} seeds, ${s.failedSeeds} failed, ${(s.seeds / Math.max(secs, 0.001)).toFixed(1)} seeds/s (${secs.toFixed(0)} s)`);
  };
  await runSeeds({
    from: flags.seed,
    count,
    jobs,
    explore,
    onOutcome: (o) => {
      sum.add(o);
      if (count <= 10 && !o.ok && !flags.trace) kept.push(o);
      progress(false);
    },
  });
  if (flags.progress) process.stderr.write('\r\x1b[K');

  const wallMs = Date.now() - started;
  const s = sum.summary();
  const rate = s.seeds / Math.max(wallMs / 1000, 0.001);
  console.log(`explored seeds ${flags.seed}..${flags.seed + count - 1}: ${s.seeds} seeds, ${s.failedSeeds} failed`);
  console.log(`${rate.toFixed(1)} seeds/s on ${jobs} thread(s), wall time ${(wallMs / 1000).toFixed(1)} s, ${(s.virtualMs / 3_600_000).toFixed(1)} virtual hours, ${s.ops.toLocaleString('en-US')} operations`);
  if (s.failedSeeds > 0) {
    console.log('\nfailures by invariant (seeds):');
    for (const [inv, n] of Object.entries(s.byInvariant)) console.log(`  ${inv.padEnd(15)} ${n}`);
    console.log('\nfailures by kind (seeds, first seeds), each with an example:');
    for (const k of s.byKind) console.log(`  ${k.invariant}: ${k.kind}: ${k.seeds} (${k.first.join(', ')})\n    ${clip(k.example, 400)}`);
    for (const o of kept.sort((a, b) => a.seed - b.seed)) {
      console.log(`\nseed ${o.seed}: ${o.violations.length + o.suppressed} violation(s)${o.suppressed > 0 ? ` (${o.suppressed} more of the same kinds not shown)` : ''}`);
      for (const v of o.violations) console.log(`  ${v.invariant}: ${v.kind}, at ${(v.at / 1000).toFixed(3)} s\n    ${v.detail}`);
    }
    console.log('\nreplay:');
    for (const r of s.replays) console.log(`  ${r}`);
    process.exitCode = 1;
  }
  if (flags.json) console.log(JSON.stringify({ from: flags.seed, jobs, wallMs, seedsPerSecond: Math.round(rate * 10) / 10, ...s }));
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n)}...`;
}
