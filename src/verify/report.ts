// The verify report: a plain-text summary for people and, with --json, one JSON line for tools.

import type { VerifyResult } from './run.js';

export function formatReport(r: VerifyResult): string {
  const o = r.options;
  const byFault = new Map<string, number>();
  for (const s of r.schedule) byFault.set(s.fault, (byFault.get(s.fault) ?? 0) + 1);
  const faults = [...byFault].map(([f, n]) => `${n} ${f}`).join(', ') || 'none';
  const pct = (n: number): string => (r.operations === 0 ? '' : ` (${((100 * n) / r.operations).toFixed(1)}%)`);
  const lines = [
    '',
    `tally verify: ${o.nodes} nodes, ${o.durationS} s, seed ${o.seed}, nemesis ${o.nemesis.join(',') || 'none'}, persistence ${o.persistence}`,
    `  faults injected      ${faults}`,
    `  operations           ${r.operations}`,
    `  acknowledged         ${r.acknowledged}${pct(r.acknowledged)}`,
    `  failed               ${r.failed}${pct(r.failed)}   certainly not applied (node down, or an error reply)`,
    `  in doubt             ${r.inDoubt}${pct(r.inDoubt)}   timed out or connection lost: may or may not have applied`,
    `  lost                 ${r.lost}   counter units / HLL elements outside what the history allows`,
    `  convergence          ${r.convergenceMs === null ? 'NEVER' : `${(r.convergenceMs / 1000).toFixed(2)} s after the heal (restarts included)`}`,
    `  unexpected deaths    ${r.deaths.length}`,
    '',
    '  key        kind       value   allowed range           acked',
    ...r.check.keys.map(
      (k) =>
        `  ${k.key.padEnd(10)} ${k.kind.padEnd(8)} ${String(k.value).padStart(7)}   [${k.lo}, ${k.hi}]`.padEnd(50) +
        `${String(k.acked).padStart(8)}${k.lost + k.excess > 0 ? '   <-- LOST' : ''}${k.disagree.length > 0 ? '   <-- nodes disagree' : ''}`,
    ),
  ];
  const errs = Object.entries(r.errorReplies);
  if (errs.length > 0) lines.push('', '  error replies (not losses):', ...errs.map(([m, n]) => `    ${n} x ${m}`));
  if (r.check.problems.length > 0) lines.push('', '  problems:', ...r.check.problems.map((p) => `    - ${p}`));
  for (const [node, ls] of Object.entries(r.nodeErrors)) lines.push(`  ${node} errors:`, ...ls.map((l) => `    ${l.slice(0, 300)}`));
  if (!r.ok && o.persistence === 'none' && o.nemesis.includes('kill') && r.check.problems.every((p) => /below the least/.test(p)))
    lines.push('', '  (persistence none: a node killed with -9 loses the acknowledged writes it had not gossiped yet.)');
  lines.push(
    '',
    `  result: ${r.ok ? 'PASS' : 'FAIL'}${r.kept ? `   (config, node logs and history.jsonl kept in ${r.dir})` : ''}`,
    `  replay: tally verify --nodes ${o.nodes} --duration ${o.durationS} --seed ${o.seed} --nemesis ${o.nemesis.join(',') || 'none'} --persistence ${o.persistence}`,
    '',
  );
  return lines.join('\n');
}
