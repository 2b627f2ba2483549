// Suspicion timeouts (SWIM with Lifeguard's refinement), as pure functions of the configuration,
// the cluster size and the number of independent accusers, so they test without timers.

import type { ReplicaConfig } from './config.js';

type SuspicionConfig = Pick<ReplicaConfig, 'suspicionMult' | 'suspicionMaxTimeoutMult' | 'probeIntervalMs' | 'indirectChecks'>;

/** The shortest suspicion timeout: mult x max(1, log10(N)) x probe interval (memberlist's). */
function minSuspicionTimeout(cfg: SuspicionConfig, members: number): number {
  return cfg.suspicionMult * Math.max(1, Math.log10(Math.max(1, members))) * cfg.probeIntervalMs;
}

/** The longest: the minimum times `suspicionMaxTimeoutMult`, what a suspicion with one accuser gets. */
export function maxSuspicionTimeout(cfg: SuspicionConfig, members: number): number {
  return minSuspicionTimeout(cfg, members) * cfg.suspicionMaxTimeoutMult;
}

/**
 * Lifeguard: each independent confirmation (an accuser past the first; a relay is not one) shrinks
 * the timeout from max toward min, on a log scale, reaching min at `indirectChecks` confirmations.
 */
export function suspicionTimeout(cfg: SuspicionConfig, members: number, accusers: number): number {
  const min = minSuspicionTimeout(cfg, members);
  const max = min * cfg.suspicionMaxTimeoutMult;
  const k = Math.max(1, cfg.indirectChecks);
  const c = Math.min(Math.max(0, accusers - 1), k);
  return Math.max(min, max - ((max - min) * Math.log(c + 1)) / Math.log(k + 1));
}
