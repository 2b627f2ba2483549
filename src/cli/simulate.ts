// `tally simulate`: the convergence experiment over many seeds and cluster sizes, with the theory
// beside it; with --explore, the deterministic fault explorer instead (explore-command.ts).

import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runExplore } from './explore-command.js';
import { runConvergence, theoryRounds, type RunResult } from '../sim/experiment.js';
import { convergenceSvg, summarize } from '../sim/report.js';
import { intArg, floatArg } from './args.js';

interface SimulateFlags {
  nodes: string;
  fanout: number;
  interval: number;
  loss: number;
  duplicate: number;
  reorder: number;
  keys: number;
  writes?: number;
  runs: number;
  seed: number;
  maxRounds: number;
  partitionGroups?: number;
  partitionRounds: number;
  json?: boolean;
  svg?: string;
  progress: boolean;
  explore?: boolean;
  seeds?: number;
  jobs?: number;
  quiesce: number;
  trace?: boolean;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('simulate a cluster in one process and measure gossip convergence against theory')
    .option('--nodes <list>', 'cluster sizes, comma separated', '10,100,1000')
    .option('--fanout <n>', 'peers per gossip round', intArg(1, 64), 3)
    .option('--interval <ms>', 'gossip interval in virtual ms', intArg(1, 3_600_000), 1000)
    .option('--loss <p>', 'probability a frame is lost (0..1)', floatArg(0, 0.99), 0)
    .option('--duplicate <p>', 'probability a frame is delivered twice (0..1)', floatArg(0, 1), 0)
    .option('--reorder <p>', 'probability a frame is delayed past later ones (0..1)', floatArg(0, 1), 0)
    .option('--keys <n>', 'counter keys the writes are spread over', intArg(1, 1_000_000), 1)
    .option('--writes <n>', 'increments at time 0, each on a distinct random node (default: min(N, 1000))', intArg(1, 10_000_000))
    .option('--runs <n>', 'runs (seeds) per cluster size', intArg(1, 10_000), 10)
    .option('--seed <n>', 'first seed; run i uses seed + i', intArg(0, 2 ** 31), 1)
    .option('--max-rounds <n>', 'give up after this many rounds', intArg(1, 100_000), 60)
    .option('--partition-groups <n>', 'split the cluster into this many groups at the start', intArg(2, 1000))
    .option('--partition-rounds <n>', 'rounds the partition lasts before it heals', intArg(0, 100_000), 5)
    .option('--json', 'print one JSON object on the last line')
    .option('--svg <file>', 'write a chart of the fraction converged per round for each N')
    .option('--no-progress', 'no progress bar on stderr')
    .option('--explore', 'run the deterministic fault explorer: seeded histories of faults and every command, checked after each heal (docs/testing.md)')
    .option('--seeds <n>', 'explore: seeds to run, from --seed on (default 1 with --seed, else 1000)', intArg(1, 2 ** 31 - 1))
    .option('--jobs <n>', 'explore: worker threads (default: one per core)', intArg(1, 256))
    .option('--quiesce <ms>', 'explore: virtual ms after a heal within which every node must agree', intArg(1000, 3_600_000), 60_000)
    .option('--trace', 'explore: print each seed\'s history (operations, faults, outcomes)')
    .action(async (flags: SimulateFlags, cmd: Command) => {
      if (flags.explore === true) {
        await runExplore({
          seed: flags.seed,
          seeds: flags.seeds,
          seedGiven: cmd.getOptionValueSource('seed') === 'cli',
          jobs: flags.jobs,
          quiesce: flags.quiesce,
          trace: flags.trace === true,
          json: flags.json === true,
          progress: flags.progress,
        });
        return;
      }
      const sizes = flags.nodes.split(',').map((s) => {
        const n = Number(s.trim());
        if (!Number.isInteger(n) || n < 2 || n > 100_000) throw new Error(`--nodes: expected sizes from 2 to 100000, got '${s}'`);
        return n;
      });
      const series: { n: number; runs: RunResult[] }[] = [];
      const rows: Record<string, string | number>[] = [];
      const total = sizes.reduce((a) => a + flags.runs, 0);
      let done = 0;
      const started = Date.now();
      for (const n of sizes) {
        const runs: RunResult[] = [];
        for (let i = 0; i < flags.runs; i++) {
          const seed = flags.seed + i;
          runs.push(
            runConvergence({
              nodes: n,
              fanout: flags.fanout,
              intervalMs: flags.interval,
              writes: flags.writes ?? Math.min(n, 1000),
              keys: flags.keys,
              seed,
              maxRounds: flags.maxRounds,
              faults: { loss: flags.loss, duplicate: flags.duplicate, reorder: flags.reorder },
              ...(flags.partitionGroups !== undefined ? { partitionGroups: flags.partitionGroups, partitionRounds: flags.partitionRounds } : {}),
              onRound: (round, converged) => {
                if (flags.progress) progress(done, total, `N=${n} run ${i + 1}/${flags.runs} round ${round}: ${converged}/${n} converged`, started);
              },
            }),
          );
          done++;
        }
        series.push({ n, runs });
        const rounds = summarize(runs.map((r) => r.rounds));
        const time = summarize(runs.map((r) => r.timeMs));
        rows.push({
          nodes: n,
          runs: runs.length,
          'rounds mean': round2(rounds.mean),
          p50: rounds.p50,
          p99: rounds.p99,
          max: rounds.max,
          'theory mean': flags.fanout === 3 ? round2(theoryRounds(n)) : '-',
          'time mean ms': Math.round(time.mean),
          'frames/node/round': round2(mean(runs.map((r) => r.framesPerNodePerRound))),
          'bytes/node/round': Math.round(mean(runs.map((r) => r.bytesPerNodePerRound))),
          failed: runs.filter((r) => !Number.isFinite(r.rounds)).length,
        });
      }
      if (flags.progress) process.stderr.write('\r\x1b[K');
      printRows(rows);
      console.log(`\nfanout ${flags.fanout}, interval ${flags.interval} ms, loss ${flags.loss}, duplicate ${flags.duplicate}, reorder ${flags.reorder}; wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (flags.svg !== undefined) {
        writeFileSync(flags.svg, convergenceSvg(series));
        console.log(`chart written to ${flags.svg}`);
      }
      if (flags.json === true) console.log(JSON.stringify({ params: { ...flags, nodes: sizes }, results: rows }));
      if (rows.some((r) => r.failed !== 0)) process.exitCode = 1;
    });
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
}
function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function progress(done: number, total: number, label: string, started: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  process.stderr.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label} (${secs} s)`);
}

export function printRows(rows: Record<string, string | number>[]): void {
  const cols = Object.keys(rows[0] ?? {});
  const fmt = (v: string | number | undefined): string => (typeof v === 'number' ? (Number.isFinite(v) ? v.toLocaleString('en-US') : 'never') : (v ?? ''));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ');
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => fmt(r[c]))));
}
