// The verify report: a plain-text summary for people and, with --json, one JSON line for tools; and
// the replay line, which repeats every setting that shaped the run.

import { isAbsolute, relative } from 'node:path';
import { DEFAULT_REPLICA_CONFIG } from '../replication/config.js';
import { CLI_MAIN } from './cluster.js';
import type { NemesisStep } from './schedule.js';
import { VERIFY_DEFAULTS, type VerifyOptions, type VerifyResult } from './run.js';

type ReplayOptions = Pick<VerifyOptions, 'nodes' | 'durationS' | 'seed' | 'nemesis' | 'persistence' | 'clientsPerNode' | 'rate' | 'timeoutMs' | 'convergeTimeoutMs' | 'maxmemoryLast'>;

const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The command that replays a run: `node <path of the CLI> verify ...` (tally need not be on the PATH;
 * the path is relative to `cwd` when the CLI is below it, so from the repository it reads
 * `node dist/src/cli/main.js verify`). Every flag that shapes the schedule or the workload is
 * written out, defaults included; --timeout and --converge-timeout only when not the default.
 */
export function replayCommand(o: ReplayOptions, main: string = CLI_MAIN, cwd: string = process.cwd()): string {
  const rel = relative(cwd, main);
  const path = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : main;
  const args = [
    'node',
    quote(path),
    'verify',
    `--nodes ${o.nodes}`,
    `--duration ${o.durationS}`,
    `--seed ${o.seed}`,
    `--nemesis ${o.nemesis.join(',') || 'none'}`,
    `--persistence ${quote(o.persistence)}`,
    `--clients ${o.clientsPerNode}`,
    `--rate ${o.rate}`,
  ];
  if (o.timeoutMs !== VERIFY_DEFAULTS.timeoutMs) args.push(`--timeout ${o.timeoutMs}`);
  if (o.convergeTimeoutMs !== VERIFY_DEFAULTS.convergeTimeoutMs) args.push(`--converge-timeout ${o.convergeTimeoutMs}`);
  if (o.maxmemoryLast !== undefined) args.push(`--maxmemory-last ${o.maxmemoryLast}`);
  return args.join(' ');
}

/** The most faults active at one moment. */
export function maxConcurrent(steps: readonly NemesisStep[]): number {
  const edges = steps.flatMap((s) => [[s.at, 1] as const, [s.at + s.durationMs, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (cur += d));
  return max;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function formatReport(r: VerifyResult): string {
  const o = r.options;
  const byFault = new Map<string, number>();
  for (const s of r.schedule) byFault.set(s.fault, (byFault.get(s.fault) ?? 0) + 1);
  const faults = [...byFault].map(([f, n]) => `${n} ${f}`).join(', ') || 'none';
  const durations = r.schedule.map((s) => s.durationMs).sort((a, b) => a - b);
  const spread = durations.length === 0 ? '' : `; durations ${secs(durations[0] as number)} to ${secs(durations[durations.length - 1] as number)}, up to ${maxConcurrent(r.schedule)} at once`;
  const pct = (n: number): string => (r.operations === 0 ? '' : ` (${((100 * n) / r.operations).toFixed(1)}%)`);
  const rule = r.longPartitionRule;
  const long =
    r.longPartitions.length === 0
      ? (r.scheduleNote ?? 'none (no partition in the nemesis)')
      : r.longPartitions
          .map(
            (p) =>
              `{${p.side.join(',')}} cut for ${secs(p.durationMs)} (rule: > ${secs(rule.deadAfterMs)} dead timeout + ${secs(rule.deadForgetMs)} deadForgetMs); ` +
              `before the heal ${Object.entries(p.beforeHeal).map(([n, m]) => `${n} saw ${Object.entries(m).map(([i, st]) => `${i} ${st}`).join(', ')}`).join('; ') || 'no answer'}; ` +
              `membership healed ${p.membershipHealMs === null ? 'NOT within the run' : `in ${(p.membershipHealMs / 1000).toFixed(2)} s`}`,
          )
          .join('\n                       ');
  const lines = [
    '',
    `tally verify: ${o.nodes} nodes, ${o.durationS} s, seed ${o.seed}, nemesis ${o.nemesis.join(',') || 'none'}, persistence ${o.persistence}`,
    `  config               gossip.deadForgetMs ${secs(r.deadForgetMs)} (default ${secs(DEFAULT_REPLICA_CONFIG.deadForgetMs)}, lowered so a long partition fits the run)${o.maxmemoryLast === undefined ? '' : `; n${o.nodes} maxmemory ${o.maxmemoryLast} B`}`,
    `  faults injected      ${faults}${spread}`,
    `  long partition       ${long}`,
    `  operations           ${r.operations}`,
    `  acknowledged         ${r.acknowledged}${pct(r.acknowledged)}`,
    `  failed               ${r.failed}${pct(r.failed)}   certainly not applied (node down, or an error reply)`,
    `  in doubt             ${r.inDoubt}${pct(r.inDoubt)}   timed out or connection lost: may or may not have applied`,
    `  at risk              ${r.check.atRiskOps}   acknowledged, but every copy may have gone with a restart without state (allowed)`,
    `  lost                 ${r.lost}   counter units / HLL elements outside what the history allows`,
    `  convergence          ${r.convergenceMs === null ? 'NEVER' : `${(r.convergenceMs / 1000).toFixed(2)} s after the heal (restarts included; values and membership)`}`,
    `  unexpected deaths    ${r.deaths.length}`,
    '',
    '  key        kind       value   allowed range           acked   at risk',
    ...r.check.keys.map(
      (k) =>
        `  ${k.key.padEnd(10)} ${k.kind.padEnd(8)} ${String(k.value).padStart(7)}   [${k.lo}, ${k.hi}]`.padEnd(50) +
        `${String(k.acked).padStart(8)}${String(k.atRisk).padStart(10)}${k.lost + k.excess > 0 ? '   <-- LOST' : ''}${k.disagree.length > 0 ? '   <-- nodes disagree' : ''}`,
    ),
  ];
  const errs = Object.entries(r.errorReplies);
  if (errs.length > 0) lines.push('', '  error replies (not losses):', ...errs.map(([m, n]) => `    ${n} x ${m}`));
  if (r.check.problems.length > 0) lines.push('', '  problems:', ...r.check.problems.map((p) => `    - ${p}`));
  for (const [node, ls] of Object.entries(r.nodeErrors)) lines.push(`  ${node} errors:`, ...ls.map((l) => `    ${l.slice(0, 300)}`));
  lines.push('', `  result: ${r.ok ? 'PASS' : 'FAIL'}${r.kept ? `   (config, node logs, history.jsonl, timeline.json, reads.json kept in ${r.dir})` : ''}`, `  replay: ${replayCommand(o)}`, '');
  return lines.join('\n');
}
