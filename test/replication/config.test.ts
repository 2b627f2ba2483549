// The replica's settings (src/replication/config.ts): defaults, and every numeric field accepted at
// both ends of its range and refused one step past them, as a fraction or as another type, with a
// message naming the field (as the config file names it, when it passes its own names).
// test/config/ checks the same ranges through cluster.config.json.

import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_REPLICA_CONFIG, REPLICA_CONFIG_RANGES, replicaConfig, type ReplicaConfig } from '../../src/replication/config.js';

const refusal = (o: Partial<ReplicaConfig>, name?: (f: keyof ReplicaConfig) => string): string => {
  try {
    replicaConfig(o, name);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).name).toBe('ConfigError');
    return (e as Error).message;
  }
  return 'accepted';
};

describe('replica config', () => {
  it('fills the defaults', () => {
    expect(replicaConfig()).toEqual(DEFAULT_REPLICA_CONFIG);
    expect(replicaConfig({ fanout: 5 })).toEqual({ ...DEFAULT_REPLICA_CONFIG, fanout: 5 });
  });

  it('takes every field at both ends of its range and refuses one past, a fraction, or another type', () => {
    let checked = 0;
    for (const [field, [lo, hi]] of Object.entries(REPLICA_CONFIG_RANGES) as [keyof typeof REPLICA_CONFIG_RANGES, [number, number]][]) {
      // probeTimeoutMs may not exceed probeIntervalMs: test each against the other's widest value.
      const base: Partial<ReplicaConfig> = field === 'probeTimeoutMs' ? { probeIntervalMs: hi } : field === 'probeIntervalMs' ? { probeTimeoutMs: lo } : {};
      expect(replicaConfig({ ...base, [field]: lo })[field]).toBe(lo);
      expect(replicaConfig({ ...base, [field]: hi })[field]).toBe(hi);
      expect(refusal({ ...base, [field]: lo - 1 })).toBe(`${field}: expected an integer from ${lo} to ${hi}, got ${lo - 1}`);
      expect(refusal({ ...base, [field]: hi + 1 })).toBe(`${field}: expected an integer from ${lo} to ${hi}, got ${hi + 1}`);
      expect(refusal({ ...base, [field]: lo + 0.5 })).toBe(`${field}: expected an integer from ${lo} to ${hi}, got ${lo + 0.5}`);
      expect(refusal({ ...base, [field]: String(lo) as never })).toBe(`${field}: expected an integer from ${lo} to ${hi}, got "${lo}"`);
      checked++;
    }
    expect(checked).toBe(Object.keys(DEFAULT_REPLICA_CONFIG).length - 1); // all but clusterName
  });

  it('needs a cluster name of 1 to 255 characters', () => {
    expect(replicaConfig({ clusterName: 'x'.repeat(255) }).clusterName.length).toBe(255);
    expect(refusal({ clusterName: '' })).toBe('clusterName: expected a non-empty string of at most 255 characters, got ""');
    expect(refusal({ clusterName: 'x'.repeat(256) })).toMatch(/^clusterName: expected a non-empty string of at most 255 characters, got "x{256}"$/);
    expect(refusal({ clusterName: 7 as never })).toBe('clusterName: expected a non-empty string of at most 255 characters, got 7');
  });

  it('refuses a probe timeout longer than the probe interval, and takes an equal one', () => {
    expect(replicaConfig({ probeIntervalMs: 700, probeTimeoutMs: 700 }).probeTimeoutMs).toBe(700);
    expect(refusal({ probeIntervalMs: 700, probeTimeoutMs: 701 })).toBe('probeTimeoutMs: must not exceed probeIntervalMs (700), got 701');
  });

  it('names fields as the caller names them', () => {
    const path = (f: keyof ReplicaConfig): string => `gossip.${f}`;
    expect(refusal({ fanout: 0 }, path)).toBe('gossip.fanout: expected an integer from 1 to 64, got 0');
    expect(refusal({ clusterName: '' }, path)).toMatch(/^gossip\.clusterName: /);
    expect(refusal({ probeIntervalMs: 5, probeTimeoutMs: 6 }, path)).toBe('gossip.probeTimeoutMs: must not exceed gossip.probeIntervalMs (5), got 6');
  });
});
