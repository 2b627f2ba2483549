// `tally verify`, the whole run: start a cluster of real node processes, run the workload and the
// nemesis for the duration, heal everything, wait for convergence, read every key on every node,
// check the reads against the history, and report. docs/testing.md explains what it proves.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/cluster-config.js';
import { check, type CheckResult } from './checker.js';
import { VerifyCluster, verifyReplicaConfig, type UnexpectedDeath } from './cluster.js';
import { History } from './history.js';
import { Nemesis, type LongPartitionReport } from './nemesis.js';
import { RespConnection } from './resp-client.js';
import { longPartitionRule, nemesisSchedule, type Fault, type LongPartitionRule, type NemesisStep } from './schedule.js';
import { lossModel, spreadModel, type FaultTimeline } from './spread.js';
import { COUNTER_KEYS, HLL_KEYS, startWorkload } from './workers.js';

export interface VerifyOptions {
  nodes: number;
  durationS: number;
  seed: number;
  nemesis: Fault[];
  persistence: string;
  clientsPerNode: number;
  /** Target client operations per second, all workers together. */
  rate: number;
  timeoutMs: number;
  convergeTimeoutMs: number;
  /**
   * The last node's maxmemory (docs/operations.md, "Memory limit"): at 1 byte it refuses every write
   * that may add memory (OOM, counted as failed), and the check shows it still merged everyone else's.
   */
  maxmemoryLast?: number;
  /** Keep the run directory (config, node logs, history) even when the run passes. */
  keep: boolean;
  /** Progress lines (nemesis events as they happen). */
  log: (line: string) => void;
}

export interface NemesisEvent {
  atMs: number;
  what: string;
}

export interface VerifyResult {
  ok: boolean;
  options: Omit<VerifyOptions, 'log'>;
  dir: string;
  kept: boolean;
  /** The fault steps that ran. */
  schedule: NemesisStep[];
  /** The long-partition rule of this run's config, and why the schedule has no long partition (or null). */
  longPartitionRule: LongPartitionRule;
  scheduleNote: string | null;
  longPartitions: LongPartitionReport[];
  /** The generated config's gossip.deadForgetMs (lowered from the default, see cluster.ts). */
  deadForgetMs: number;
  events: NemesisEvent[];
  /** The fault state over time, as the nemesis applied it (what the checker's loss model reads). */
  timeline: FaultTimeline;
  operations: number;
  acknowledged: number;
  failed: number;
  inDoubt: number;
  lost: number;
  /** ms from the start of the heal until every node agreed on every key; null if they never did. */
  convergenceMs: number | null;
  deaths: UnexpectedDeath[];
  errorReplies: Record<string, number>;
  nodeErrors: Record<string, string[]>;
  check: CheckResult;
}

/** The CLI's defaults (`tally verify --help`); the replay line leaves out only these. */
export const VERIFY_DEFAULTS = Object.freeze({ nodes: 5, durationS: 30, clientsPerNode: 2, rate: 2_000, timeoutMs: 1_000, convergeTimeoutMs: 60_000 });

/** `always` once the config accepts it (durability landed), else `none`: the strongest mode there is. */
export function defaultPersistence(): string {
  try {
    validateConfig({ cluster: 'probe', nodes: [{ id: 'a', gossipPort: 0, respPort: 0, httpPort: 0 }], persistence: 'always' });
    return 'always';
  } catch {
    return 'none';
  }
}

/** Whether a persistence mode promises that an acknowledged write survives kill -9. */
export function isDurable(persistence: string): boolean {
  return persistence === 'always';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runVerify(opts: VerifyOptions): Promise<VerifyResult> {
  const { log, ...options } = opts;
  // Fail fast, before any process starts, on a persistence mode the config does not accept.
  validateConfig({ cluster: 'probe', nodes: [{ id: 'a', gossipPort: 0, respPort: 0, httpPort: 0 }], persistence: opts.persistence });
  const dir = mkdtempSync(join(tmpdir(), 'tally-verify-'));
  const cluster = await VerifyCluster.create({ dir, nodes: opts.nodes, persistence: opts.persistence, ...(opts.maxmemoryLast === undefined ? {} : { maxmemoryLast: opts.maxmemoryLast }) });
  const history = new History();
  const events: NemesisEvent[] = [];
  const runMs = opts.durationS * 1000;
  const cfg = verifyReplicaConfig();
  const rule = longPartitionRule(cfg, opts.nodes);
  const { steps: schedule, note } = nemesisSchedule({ seed: opts.seed, faults: opts.nemesis, nodeIds: cluster.nodes.map((n) => n.id), runMs, longPartition: rule, killLosesState: opts.persistence === 'none' });
  if (note !== null) log(`  ${note}`);
  let nemesis: Nemesis | null = null;
  let convergenceMs: number | null = null;
  let reads = new Map<string, Map<string, number | null>>();
  const problems: string[] = [];
  try {
    await Promise.all(cluster.nodes.map((n) => cluster.start(n.id)));
    await cluster.waitFormed(30_000);
    const t0 = Date.now();
    const event = (what: string): void => {
      const atMs = Date.now() - t0;
      events.push({ atMs, what });
      log(`  +${(atMs / 1000).toFixed(1).padStart(5)} s  ${what}`);
    };
    const workload = startWorkload({ nodes: cluster.nodes, clientsPerNode: opts.clientsPerNode, rate: opts.rate, timeoutMs: opts.timeoutMs, seed: opts.seed, t0 }, history);
    const n = new Nemesis(cluster, t0, event);
    nemesis = n;
    const faults = n.run(schedule);
    await sleep(t0 + runMs - Date.now());
    await workload.stop();
    event('workload stopped');
    await faults; // every fault ends before the run does; a restart may still be under way
    await n.finish();
    event('healing every fault');
    const healAt = Date.now();
    await cluster.healAll();
    const conv = await waitConverged(cluster, opts.convergeTimeoutMs);
    reads = conv.reads;
    if (conv.converged) {
      convergenceMs = Date.now() - healAt - conv.confirmMs;
      event(`converged ${(convergenceMs / 1000).toFixed(2)} s after the heal`);
    } else {
      problems.push(`nodes did not converge within ${opts.convergeTimeoutMs} ms of the heal`);
    }
    await n.settled();
    for (const p of n.longPartitions)
      if (p.membershipHealMs === null && p.waited) problems.push(`after the long partition of {${p.side.join(',')}}, the two sides did not see each other alive within 60 s of the heal`);
  } catch (e) {
    problems.push(`harness error: ${(e as Error).message}`);
  } finally {
    await cluster.stopAll();
  }
  for (const d of cluster.deaths) problems.push(`${d.node} died unexpectedly at +${(d.atMs / 1000).toFixed(1)} s (${d.signal ?? `exit code ${d.code}`})`);
  const nodeErrors: Record<string, string[]> = {};
  for (const n of cluster.nodes) {
    const lines = cluster.errorLines(n.id);
    if (lines.length > 0) {
      nodeErrors[n.id] = lines.slice(0, 5);
      problems.push(`${n.id} logged ${lines.length} error line(s)`);
    }
  }
  const timeline = nemesis?.timeline ?? { nodes: cluster.nodes.map((n) => n.id), states: [], kills: [], rejoins: [] };
  const result = check(history, reads, problems, lossModel(timeline, opts.persistence, spreadModel(cfg, opts.nodes)));
  const ok = result.ok;
  writeFileSync(join(dir, 'history.jsonl'), history.toJsonLines());
  writeFileSync(join(dir, 'timeline.json'), JSON.stringify(timeline, null, 1));
  writeFileSync(join(dir, 'reads.json'), JSON.stringify(Object.fromEntries([...reads].map(([n, m]) => [n, Object.fromEntries(m)]))));
  const kept = !ok || opts.keep;
  if (!kept) rmSync(dir, { recursive: true, force: true });
  return {
    ok,
    options,
    dir,
    kept,
    schedule: nemesis?.applied ?? [],
    longPartitionRule: rule,
    scheduleNote: note,
    longPartitions: nemesis?.longPartitions ?? [],
    deadForgetMs: cfg.deadForgetMs,
    events,
    timeline,
    operations: history.ops.length,
    acknowledged: history.count('ok'),
    failed: history.count('fail'),
    inDoubt: history.count('doubt'),
    lost: result.lost,
    convergenceMs,
    deaths: cluster.deaths,
    errorReplies: Object.fromEntries(history.errorReplies),
    nodeErrors,
    check: result,
  };
}

/** Reads every workload key on every node. */
async function readAll(c: VerifyCluster): Promise<Map<string, Map<string, number | null>>> {
  const out = new Map<string, Map<string, number | null>>();
  await Promise.all(
    c.nodes.map(async (n) => {
      const conn = new RespConnection('127.0.0.1', n.respPort, 2_000);
      const m = new Map<string, number | null>();
      for (const key of COUNTER_KEYS) {
        const r = await conn.command(['GET', key]);
        m.set(key, r.kind === 'ok' ? (r.reply === null ? 0 : typeof r.reply === 'string' ? Number(r.reply) : null) : null);
      }
      for (const key of HLL_KEYS) {
        const r = await conn.command(['PFCOUNT', key]);
        m.set(key, r.kind === 'ok' && typeof r.reply === 'number' ? r.reply : null);
      }
      conn.close();
      out.set(n.id, m);
    }),
  );
  return new Map(c.nodes.map((n) => [n.id, out.get(n.id) as Map<string, number | null>]));
}

const POLL_MS = 100;

/**
 * Polls until every node answers every key with the same value on two polls in a row and every node
 * sees every node alive (a cluster split for good converges on nothing).
 */
async function waitConverged(c: VerifyCluster, timeoutMs: number): Promise<{ converged: boolean; reads: Map<string, Map<string, number | null>>; confirmMs: number }> {
  const deadline = Date.now() + timeoutMs;
  let prev = '';
  let firstAgreeAt = 0;
  for (;;) {
    const reads = await readAll(c);
    const rows = [...reads.values()].map((m) => JSON.stringify([...m]));
    const agree = rows.every((r) => r === rows[0]) && !(rows[0] ?? '').includes('null') && (await c.allAlive());
    if (agree && rows[0] === prev) return { converged: true, reads, confirmMs: Date.now() - firstAgreeAt };
    if (agree && rows[0] !== prev) firstAgreeAt = Date.now();
    prev = agree ? (rows[0] as string) : '';
    if (Date.now() > deadline) return { converged: false, reads, confirmMs: 0 };
    await sleep(POLL_MS);
  }
}
