// Replica configuration: every field with its unit, default and why; one frozen defaults object;
// validation in one place that names the field and the accepted range.

export interface ReplicaConfig {
  /** Cluster name every frame is bound to; frames naming another cluster are rejected. */
  clusterName: string;
  /** ms between gossip rounds. Default 200 (memberlist's LAN value): an INCR is everywhere in ~1 s on 100 nodes. */
  gossipIntervalMs: number;
  /** Peers contacted per round. Default 3: push-pull with 3 reaches 1,000 nodes in ~6 rounds. */
  fanout: number;
  /** Largest gossip frame in bytes. Default 1 MiB: a backlog larger than this streams in chunks. */
  maxMessageBytes: number;
  /** ms between failure-detector probes. Default 1000 (memberlist LAN). */
  probeIntervalMs: number;
  /** ms to wait for a direct ack before asking others to probe. Default 500 (memberlist LAN). */
  probeTimeoutMs: number;
  /** Members asked to probe indirectly when a direct probe times out. Default 3 (memberlist). */
  indirectChecks: number;
  /** Suspicion timeout multiplier: min timeout = mult x max(1, log10(N)) x probe interval. Default 4 (memberlist). */
  suspicionMult: number;
  /** Max suspicion timeout as a multiple of the min; confirmations from other members shrink it toward the min (Lifeguard). Default 6. */
  suspicionMaxTimeoutMult: number;
  /** ms a dead or departed member stays in the table (and is still reported) before it is forgotten. Default 60,000. */
  deadForgetMs: number;
  /** ms a forgotten member's tombstone blocks stale records of it. Default 3,600,000: far longer than any gossip delay. */
  tombstoneMs: number;
  /**
   * ms between digests to one unreachable peer: a member we hold dead, or a configured or seed
   * address no live member answers at. Default 2,000. Dead members are no gossip targets, so without
   * this two sides of a partition that declared each other dead never talk again (memberlist gossips
   * to the dead for 30 s, Serf reconnects to failed members every 30 s; tally keeps trying for ever,
   * at this slow cadence), and a partition of any length heals within about this interval.
   */
  reconnectIntervalMs: number;
}

export const DEFAULT_REPLICA_CONFIG: Readonly<ReplicaConfig> = Object.freeze({
  clusterName: 'tally',
  gossipIntervalMs: 200,
  fanout: 3,
  maxMessageBytes: 1 << 20,
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  deadForgetMs: 60_000,
  tombstoneMs: 3_600_000,
  reconnectIntervalMs: 2_000,
});

/** Thrown for misuse: a config that cannot work. The message names the field and the accepted range. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The accepted range of every numeric setting: the one statement of it (the config file's `gossip` section uses it too). */
export const REPLICA_CONFIG_RANGES: Readonly<Record<Exclude<keyof ReplicaConfig, 'clusterName'>, readonly [number, number]>> = {
  gossipIntervalMs: [1, 3_600_000],
  fanout: [1, 64],
  maxMessageBytes: [4096, 64 << 20],
  probeIntervalMs: [1, 3_600_000],
  probeTimeoutMs: [1, 3_600_000],
  indirectChecks: [0, 16],
  suspicionMult: [1, 100],
  suspicionMaxTimeoutMult: [1, 100],
  deadForgetMs: [0, 86_400_000 * 30],
  tombstoneMs: [0, 86_400_000 * 365],
  reconnectIntervalMs: [1, 3_600_000],
};

/**
 * Fills defaults and validates. Errors name the field through `name` (by default its own name; the
 * config file passes its JSON path, e.g. `gossip.intervalMs`).
 */
export function replicaConfig(overrides: Partial<ReplicaConfig> = {}, name: (field: keyof ReplicaConfig) => string = (f) => f): ReplicaConfig {
  const c: ReplicaConfig = { ...DEFAULT_REPLICA_CONFIG, ...overrides };
  if (typeof c.clusterName !== 'string' || c.clusterName.length === 0 || c.clusterName.length > 255)
    throw new ConfigError(`${name('clusterName')}: expected a non-empty string of at most 255 characters, got ${JSON.stringify(c.clusterName)}`);
  for (const [field, [lo, hi]] of Object.entries(REPLICA_CONFIG_RANGES)) {
    const v = c[field as keyof typeof REPLICA_CONFIG_RANGES];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
      throw new ConfigError(`${name(field as keyof ReplicaConfig)}: expected an integer from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
  }
  if (c.probeTimeoutMs > c.probeIntervalMs)
    throw new ConfigError(`${name('probeTimeoutMs')}: must not exceed ${name('probeIntervalMs')} (${c.probeIntervalMs}), got ${c.probeTimeoutMs}`);
  return c;
}
