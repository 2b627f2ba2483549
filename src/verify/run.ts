// `tally verify`, the whole run: start a cluster of real node processes, run the workload and the
// nemesis for the duration, heal everything, wait for convergence, read every key on every node,
// check the reads against the history, and report. docs/testing.md explains what it proves.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/cluster-config.js';
import { check, type CheckResult } from './checker.js';
import { VerifyCluster, type UnexpectedDeath } from './cluster.js';
import { History } from './history.js';
import { nemesisSchedule, type Fault, type NemesisStep } from './nemesis.js';
import { RespConnection } from './resp-client.js';
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
  events: NemesisEvent[];
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
  const cluster = await VerifyCluster.create({ dir, nodes: opts.nodes, persistence: opts.persistence });
  const history = new History();
  const events: NemesisEvent[] = [];
  const runMs = opts.durationS * 1000;
  const schedule = nemesisSchedule(opts.seed, opts.nemesis, cluster.nodes.map((n) => n.id), runMs);
  /** The steps actually run (a step the schedule reaches too late is skipped). */
  const applied: NemesisStep[] = [];
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
    for (const step of schedule) {
      await sleep(t0 + step.at - Date.now());
      // A slow restart can push the schedule back; never let a fault run past the workload.
      if (Date.now() - t0 + step.durationMs + 500 > runMs) {
        event(`${step.fault} skipped: the schedule ran late (slow restart)`);
        continue;
      }
      applied.push(step);
      await applyStep(cluster, step, event);
    }
    await sleep(t0 + runMs - Date.now());
    await workload.stop();
    event('workload stopped; healing every fault');
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
  const result = check(history, reads, problems);
  const ok = result.ok;
  writeFileSync(join(dir, 'history.jsonl'), history.toJsonLines());
  const kept = !ok || opts.keep;
  if (!kept) rmSync(dir, { recursive: true, force: true });
  return {
    ok,
    options,
    dir,
    kept,
    schedule: applied,
    events,
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

async function applyStep(c: VerifyCluster, s: NemesisStep, event: (what: string) => void): Promise<void> {
  const secs = `${(s.durationMs / 1000).toFixed(1)} s`;
  const target = s.nodes[0] as string;
  switch (s.fault) {
    case 'kill': {
      event(`kill -9 ${target}; restart in ${secs}`);
      await c.kill(target);
      await sleep(s.durationMs);
      await c.start(target);
      event(`${target} restarted (incarnation ${c.node(target).starts})`);
      return;
    }
    case 'pause': {
      event(`SIGSTOP ${target} for ${secs}`);
      c.pause(target);
      await sleep(s.durationMs);
      c.resume(target);
      event(`SIGCONT ${target}`);
      return;
    }
    case 'partition': {
      const rest = c.nodes.map((n) => n.id).filter((id) => !s.nodes.includes(id));
      event(`partition {${s.nodes.join(',')}} | {${rest.join(',')}} for ${secs}`);
      await c.partition(s.nodes);
      await sleep(s.durationMs);
      await c.healLinks();
      event('partition healed');
      return;
    }
  }
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

/** Polls until every node answers every key with the same value on two polls in a row. */
async function waitConverged(c: VerifyCluster, timeoutMs: number): Promise<{ converged: boolean; reads: Map<string, Map<string, number | null>>; confirmMs: number }> {
  const deadline = Date.now() + timeoutMs;
  let prev = '';
  let firstAgreeAt = 0;
  for (;;) {
    const reads = await readAll(c);
    const rows = [...reads.values()].map((m) => JSON.stringify([...m]));
    const agree = rows.every((r) => r === rows[0]) && !(rows[0] ?? '').includes('null');
    if (agree && rows[0] === prev) return { converged: true, reads, confirmMs: Date.now() - firstAgreeAt };
    if (agree && rows[0] !== prev) firstAgreeAt = Date.now();
    prev = agree ? (rows[0] as string) : '';
    if (Date.now() > deadline) return { converged: false, reads, confirmMs: 0 };
    await sleep(POLL_MS);
  }
}
