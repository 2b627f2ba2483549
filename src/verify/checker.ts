// The verify checker (pure): given the history and what every node reads after the heal, decides
// whether anything acknowledged was lost. A counter must lie within
//   [acked - in-doubt decrements, acked + in-doubt increments]
// and an HLL estimate within 4 standard errors of [acked distinct, acked + in-doubt distinct].

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
  problems: string[];
}

/** `reads.get(node).get(key)` is what that node answered after convergence (null: no answer). */
export function check(history: History, reads: ReadonlyMap<string, ReadonlyMap<string, number | null>>, extraProblems: readonly string[] = []): CheckResult {
  const problems = [...extraProblems];
  const keys: KeyCheck[] = [];
  const nodeIds = [...reads.keys()];
  const valueOf = (key: string): { value: number | null; disagree: string[] } => {
    const first = reads.get(nodeIds[0] as string)?.get(key) ?? null;
    const disagree = nodeIds.filter((n) => (reads.get(n)?.get(key) ?? null) !== first);
    return { value: first, disagree };
  };
  for (const key of history.counterKeys()) {
    const b = history.counters.get(key);
    if (b === undefined) continue;
    const { value, disagree } = valueOf(key);
    const lo = b.acked - b.doubtDown;
    const hi = b.acked + b.doubtUp;
    const v = value ?? 0;
    keys.push({ key, kind: 'counter', value, lo, hi, acked: b.acked, lost: Math.max(0, lo - v), excess: Math.max(0, v - hi), disagree });
  }
  for (const key of history.hllKeys()) {
    const b = history.hll(key);
    const { value, disagree } = valueOf(key);
    const slack = (n: number): number => Math.ceil(n * HLL_SIGMAS * HLL_STD_ERROR) + 1;
    const lo = Math.max(0, b.acked - slack(b.acked));
    const hi = b.acked + b.doubt + slack(b.acked + b.doubt);
    const v = value ?? 0;
    keys.push({ key, kind: 'hll', value, lo, hi, acked: b.acked, lost: Math.max(0, lo - v), excess: Math.max(0, v - hi), disagree });
  }
  let lost = 0;
  for (const k of keys) {
    lost += k.lost + k.excess;
    if (k.value === null) problems.push(`${k.key}: no value read`);
    if (k.lost > 0) problems.push(`${k.key}: ${k.value} is ${k.lost} below the least acknowledged ${k.kind === 'hll' ? 'estimate' : 'value'} ${k.lo}`);
    if (k.excess > 0) problems.push(`${k.key}: ${k.value} is ${k.excess} above the most it could be, ${k.hi}`);
    if (k.disagree.length > 0) problems.push(`${k.key}: nodes ${k.disagree.join(', ')} disagree with ${nodeIds[0]}`);
  }
  return { ok: problems.length === 0, keys, lost, problems };
}
