// The verify checker (pure): given the history and what every node reads after the heal, decides
// whether anything acknowledged was lost. A counter must lie within
//   [acked - in-doubt decrements - at-risk increments, acked + in-doubt increments + at-risk decrements]
// and an HLL estimate within 4 standard errors of [acked distinct - at risk, acked + in-doubt distinct].
// "At risk" are the acknowledged writes whose every copy a restart without state took away before
// they could spread (spread.ts): the durability promise allows losing exactly those. Without such
// restarts nothing is at risk and every acknowledged write must be there.

import type { History } from './history.js';

/** tally's HLL precision p = 14: 1.04 / sqrt(2^14), about 0.81%. */
export const HLL_STD_ERROR = 1.04 / Math.sqrt(16384);
/** Standard errors of slack allowed on either side. */
export const HLL_SIGMAS = 4;

export interface KeyCheck {
  key: string;
  kind: 'counter' | 'hll';
  /** The value the nodes agree on (or node 1's, if they do not). */
  value: number | null;
  lo: number;
  hi: number;
  acked: number;
  /** Acknowledged counter units (or HLL elements) that a restart without state may have taken. */
  atRisk: number;
  /** Counter units (or HLL elements) missing below `lo`. */
  lost: number;
  /** Units above `hi`: a lost decrement or a phantom write. */
  excess: number;
  /** Node ids whose value differs from the first node's. */
  disagree: string[];
}

export interface CheckResult {
  ok: boolean;
  keys: KeyCheck[];
  /** Total counter units and HLL elements lost or in excess. */
  lost: number;
  /** Acknowledged operations the durability promise allowed to lose (spread.ts). */
  atRiskOps: number;
  problems: string[];
}

/** Whether an acknowledged write on `node`, answered at `ackAt` (ms since the start), may have lost every copy. */
export type MayBeLost = (node: string, ackAt: number) => boolean;

/** `reads.get(node).get(key)` is what that node answered after convergence (null: no answer). */
export function check(history: History, reads: ReadonlyMap<string, ReadonlyMap<string, number | null>>, extraProblems: readonly string[] = [], mayBeLost: MayBeLost = () => false): CheckResult {
  const problems = [...extraProblems];
  const keys: KeyCheck[] = [];
  const nodeIds = [...reads.keys()];
  const valueOf = (key: string): { value: number | null; disagree: string[] } => {
    const first = reads.get(nodeIds[0] as string)?.get(key) ?? null;
    const disagree = nodeIds.filter((n) => (reads.get(n)?.get(key) ?? null) !== first);
    return { value: first, disagree };
  };
  // Acknowledged writes that may be gone with their last copy: increments may be missing (lower lo),
  // decrements may be missing (higher hi), HLL elements may be missing.
  const riskUp = new Map<string, number>();
  const riskDown = new Map<string, number>();
  const riskHll = new Map<string, number>();
  let atRiskOps = 0;
  for (const o of history.ops) {
    if (o.outcome !== 'ok' || o.done === undefined || !mayBeLost(o.node, o.done)) continue;
    atRiskOps++;
    if (o.op === 'pfadd') riskHll.set(o.key, (riskHll.get(o.key) ?? 0) + 1);
    else if ((o.delta as number) > 0) riskUp.set(o.key, (riskUp.get(o.key) ?? 0) + (o.delta as number));
    else riskDown.set(o.key, (riskDown.get(o.key) ?? 0) - (o.delta as number));
  }
  for (const key of history.counterKeys()) {
    const b = history.counters.get(key);
    if (b === undefined) continue;
    const { value, disagree } = valueOf(key);
    const up = riskUp.get(key) ?? 0;
    const down = riskDown.get(key) ?? 0;
    const lo = b.acked - b.doubtDown - up;
    const hi = b.acked + b.doubtUp + down;
    const v = value ?? 0;
    keys.push({ key, kind: 'counter', value, lo, hi, acked: b.acked, atRisk: up + down, lost: Math.max(0, lo - v), excess: Math.max(0, v - hi), disagree });
  }
  for (const key of history.hllKeys()) {
    const b = history.hll(key);
    const { value, disagree } = valueOf(key);
    const slack = (n: number): number => Math.ceil(n * HLL_SIGMAS * HLL_STD_ERROR) + 1;
    const risk = riskHll.get(key) ?? 0;
    const sure = b.acked - risk;
    const lo = Math.max(0, sure - slack(sure));
    const hi = b.acked + b.doubt + slack(b.acked + b.doubt);
    const v = value ?? 0;
    keys.push({ key, kind: 'hll', value, lo, hi, acked: b.acked, atRisk: risk, lost: Math.max(0, lo - v), excess: Math.max(0, v - hi), disagree });
  }
  let lost = 0;
  for (const k of keys) {
    lost += k.lost + k.excess;
    if (k.value === null) problems.push(`${k.key}: no value read`);
    if (k.lost > 0) problems.push(`${k.key}: ${k.value} is ${k.lost} below the least acknowledged ${k.kind === 'hll' ? 'estimate' : 'value'} ${k.lo}`);
    if (k.excess > 0) problems.push(`${k.key}: ${k.value} is ${k.excess} above the most it could be, ${k.hi}`);
    if (k.disagree.length > 0) problems.push(`${k.key}: nodes ${k.disagree.join(', ')} disagree with ${nodeIds[0]}`);
  }
  return { ok: problems.length === 0, keys, lost, atRiskOps, problems };
}
