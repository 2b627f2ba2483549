// The short proof-under-faults run: `tally verify` on 5 real node processes for 60 s under the default
// nemesis (every fault: kill, wipe, pause, partition, one-way, skew, several at once, durations from
// 100 ms up) must lose nothing the durability promise keeps, include a partition longer than the
// dead timeout plus deadForgetMs, and converge after it (docs/testing.md).

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyReplicaConfig } from '../../src/verify/cluster.js';
import { defaultPersistence } from '../../src/verify/run.js';
import { DEFAULT_FAULTS, longPartitionRule, nemesisSchedule } from '../../src/verify/schedule.js';

const MAIN = resolve(import.meta.dirname, '../../dist/src/cli/main.js');
const DEFAULT_SEED = 20240611;
const SEED = Number(process.env.TALLY_VERIFY_SEED ?? DEFAULT_SEED);
const NODES = 5;
const DURATION_S = 60;

describe('tally verify', () => {
  const rule = longPartitionRule(verifyReplicaConfig(), NODES);
  const ids = Array.from({ length: NODES }, (_, i) => `n${i + 1}`);
  const { steps } = nemesisSchedule({ seed: SEED, faults: DEFAULT_FAULTS, nodeIds: ids, runMs: DURATION_S * 1000, longPartition: rule });

  it(`draws the run's schedule: a long partition, and (seed ${DEFAULT_SEED}) every kind of fault, several at once`, () => {
    const long = steps.filter((s) => s.long === true);
    expect(long).toHaveLength(1);
    expect(long[0]?.durationMs).toBeGreaterThan(rule.deadAfterMs + rule.deadForgetMs);
    if (SEED === DEFAULT_SEED) expect(new Set(steps.map((s) => s.fault))).toEqual(new Set(DEFAULT_FAULTS));
  });

  it(`loses no acknowledged write under faults (seed ${SEED}; replay with TALLY_VERIFY_SEED)`, () => {
    const persistence = defaultPersistence();
    const r = spawnSync(process.execPath, [MAIN, 'verify', '--nodes', String(NODES), '--duration', String(DURATION_S), '--seed', String(SEED), '--persistence', persistence, '--json'], {
      encoding: 'utf8',
      timeout: 110_000,
    });
    const out = r.stdout ?? '';
    const last = out.trim().split('\n').pop() ?? '{}';
    const result = JSON.parse(last.startsWith('{') ? last : '{}') as {
      ok?: boolean;
      lost?: number;
      acknowledged?: number;
      schedule?: { fault: string }[];
      longPartitions?: { durationMs: number; membershipHealMs: number | null; beforeHeal: Record<string, Record<string, string>> }[];
      convergenceMs?: number | null;
    };
    // The report (everything before the JSON line) says what happened; print it on failure.
    const report = out.slice(0, out.length - last.length);
    expect(r.status, `${report}\n${r.stderr}`).toBe(0);
    expect(result.ok).toBe(true);
    expect(result.lost).toBe(0);
    expect(result.acknowledged).toBeGreaterThan(1000);
    expect(result.schedule?.length).toBeGreaterThan(5);
    const long = result.longPartitions ?? [];
    expect(long.length, report).toBe(1);
    expect(long[0]?.durationMs).toBeGreaterThan(rule.deadAfterMs + rule.deadForgetMs);
    // The long partition healed within the run, and the cluster converged after the final heal.
    expect(long[0]?.membershipHealMs, report).not.toBeNull();
    expect(result.convergenceMs).not.toBeNull();
    console.log(report.split('\n').filter((l) => /^ {2}(faults injected|long partition|at risk|convergence|replay)/.test(l)).join('\n'));
  }, 120_000);
});
