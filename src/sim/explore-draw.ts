// What the fault explorer draws from a seed before a history runs: the cluster (size, replica
// config within its valid ranges, base network), the key set, and per epoch a schedule of
// overlapping faults with heavy-tailed durations. The workload's operations are drawn as the
// history runs (explore-workload.ts), from the same generator.

import type { ReplicaConfig } from '../replication/config.js';
import { fullKey } from '../keyspace/keyspace.js';
import { MAX_KEY_BYTES } from '../server/commands/parse.js';
import type { Rng } from '../util/rng.js';
import type { FaultModel } from './network.js';

/** What a key is mostly used as; `any` keys get every type of command, so types collide. */
export type KeyRole = 'pn' | 'g' | 'hll' | 'window' | 'throttle' | 'cms' | 'topk' | 'any' | 'bulk';

export interface KeyPlan {
  /** The full key (database 0). */
  key: string;
  /** A short name for reports (an oversized key is shown by its length). */
  label: string;
  role: KeyRole;
}

export type FaultSpec = { start: number; end: number } & (
  | { kind: 'split'; groups: number[] }
  | { kind: 'one-way'; from: number[]; to: number[] }
  | { kind: 'link'; a: number; b: number; both: boolean }
  | { kind: 'crash'; node: number; wipe: boolean }
  | { kind: 'pause'; node: number }
  | { kind: 'clock'; node: number; offsetMs: number; stepAt: number | null; stepToMs: number }
  | { kind: 'degrade'; loss: number; duplicate: number; reorder: number; reorderMs: number }
);

export interface EpochPlan {
  /** Virtual ms of operations and faults before the heal. */
  durationMs: number;
  /** Mean operations per virtual second. */
  opsPerSecond: number;
  faults: FaultSpec[];
}

export interface ExploreSetup {
  nodes: number;
  /** Every member known from the start (a config listing every node), or joined through n0. */
  prejoined: boolean;
  config: Partial<ReplicaConfig>;
  network: Partial<FaultModel>;
  keys: KeyPlan[];
  epochs: EpochPlan[];
}

/** The wall-clock reading at virtual time 0 (2026-01-01): window buckets and THROTTLE use real-looking times. */
export const EPOCH_MS = 1_767_225_600_000;

/** An integer in [lo, hi]. */
export function between(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)] as T;
}

export function chance(rng: Rng, p: number): boolean {
  return rng.next() < p;
}

/** Log-uniform in [lo, hi]: as many 100 ms-1 s faults as 1-10 s or 10-100 s ones (heavy-tailed). */
export function heavyTail(rng: Rng, lo: number, hi: number): number {
  return Math.round(lo * Math.exp(rng.next() * Math.log(hi / lo)));
}

/** A G-Counter key is one whose name starts with `g` (the workload's `gcounterKeys` rule). */
export function createAsOf(key: string): 'gcounter' | 'pncounter' {
  return key.charCodeAt(1) === 0x67 ? 'gcounter' : 'pncounter';
}

function drawConfig(rng: Rng): Partial<ReplicaConfig> {
  const probeIntervalMs = between(rng, 200, 1500);
  return {
    clusterName: 'explore',
    gossipIntervalMs: between(rng, 100, 1000),
    fanout: between(rng, 1, 3),
    maxMessageBytes: chance(rng, 0.5) ? 4096 : chance(rng, 0.5) ? 16_384 : 1 << 20,
    probeIntervalMs,
    probeTimeoutMs: Math.max(1, Math.round(probeIntervalMs * (0.2 + 0.6 * rng.next()))),
    indirectChecks: between(rng, 0, 3),
    suspicionMult: between(rng, 2, 5),
    suspicionMaxTimeoutMult: between(rng, 1, 6),
    // Lowered from the 60 s default, so faults of a minute outlast death and forgetting.
    deadForgetMs: heavyTail(rng, 1000, 30_000),
    tombstoneMs: heavyTail(rng, 10_000, 600_000),
    reconnectIntervalMs: between(rng, 500, 5000),
  };
}

function drawNetwork(rng: Rng): Partial<FaultModel> {
  const latencyMinMs = 0.5 + rng.next() * 5;
  return {
    latencyMinMs,
    latencyMaxMs: latencyMinMs + rng.next() * (chance(rng, 0.2) ? 200 : 20),
    loss: chance(rng, 0.5) ? rng.next() * 0.05 : 0,
    duplicate: chance(rng, 0.3) ? rng.next() * 0.05 : 0,
    reorder: chance(rng, 0.3) ? rng.next() * 0.2 : 0,
    reorderMs: between(rng, 5, 200),
  };
}

function drawKeys(rng: Rng, maxMessageBytes: number): KeyPlan[] {
  const plan: [string, KeyRole][] = [
    ['c0', 'pn'],
    ['c1', 'pn'],
    ['g0', 'g'],
    ['h0', 'hll'],
    ['h1', 'hll'],
    ['w0', 'window'],
    ['t0', 'throttle'],
    ['m0', 'cms'],
    ['k0', 'topk'],
    ['x0', 'any'],
  ];
  const keys: KeyPlan[] = plan.map(([name, role]) => ({ key: fullKey(0, name), label: name, role }));
  // Many small counters written in pipelines: a backlog of them spans several chunks of a small frame.
  const bulk = chance(rng, 0.6) ? between(rng, 16, 96) : 0;
  for (let b = 0; b < bulk; b++) keys.push({ key: fullKey(0, `n${b}`), label: `n${b}`, role: 'bulk' });
  // An oversized key: longer than a small frame, within the 32 KiB key limit every command enforces.
  if (chance(rng, 0.25)) {
    const len = Math.min(MAX_KEY_BYTES, between(rng, Math.min(maxMessageBytes, 4096) + 1, MAX_KEY_BYTES));
    keys.push({ key: fullKey(0, 'b' + 'x'.repeat(len - 1)), label: `b(${len} bytes)`, role: chance(rng, 0.5) ? 'pn' : 'any' });
  }
  return keys;
}

/** A fault schedule for one epoch of `durationMs`: overlapping faults, heavy-tailed durations. */
function drawFaults(rng: Rng, nodes: number, durationMs: number): FaultSpec[] {
  const out: FaultSpec[] = [];
  const count = rng.int(Math.max(3, Math.ceil(durationMs / 5000)) + 1);
  const someNodes = (): number[] => {
    const set: number[] = [];
    for (let i = 0; i < nodes; i++) if (chance(rng, 0.5)) set.push(i);
    if (set.length === 0 || set.length === nodes) return [rng.int(nodes)];
    return set;
  };
  for (let f = 0; f < count; f++) {
    const start = rng.int(durationMs);
    const end = start + heavyTail(rng, 100, 300_000);
    const w = rng.next();
    if (w < 0.2) {
      const parts = chance(rng, 0.7) ? 2 : 3;
      out.push({ start, end, kind: 'split', groups: Array.from({ length: nodes }, () => rng.int(parts)) });
    } else if (w < 0.32) {
      const from = someNodes();
      const to = chance(rng, 0.5) ? Array.from({ length: nodes }, (_, i) => i).filter((i) => !from.includes(i)) : someNodes().filter((i) => !from.includes(i));
      if (to.length > 0) out.push({ start, end, kind: 'one-way', from, to });
    } else if (w < 0.4) {
      const a = rng.int(nodes);
      const b = (a + 1 + rng.int(nodes - 1)) % nodes;
      out.push({ start, end, kind: 'link', a, b, both: chance(rng, 0.5) });
    } else if (w < 0.58) {
      out.push({ start, end, kind: 'crash', node: rng.int(nodes), wipe: chance(rng, 0.5) });
    } else if (w < 0.7) {
      out.push({ start, end, kind: 'pause', node: rng.int(nodes) });
    } else if (w < 0.88) {
      const size = rng.next();
      const mag = size < 0.4 ? rng.next() * 2500 : size < 0.75 ? 5000 + rng.next() * 55_000 : 60_000 + rng.next() * 540_000;
      const offsetMs = Math.round(chance(rng, 0.5) ? mag : -mag);
      const step = chance(rng, 0.3);
      out.push({ start, end, kind: 'clock', node: rng.int(nodes), offsetMs, stepAt: step ? start + rng.int(end - start) : null, stepToMs: step ? Math.round((rng.next() - 0.5) * 2 * Math.abs(offsetMs)) : 0 });
    } else {
      out.push({ start, end, kind: 'degrade', loss: rng.next() * 0.3, duplicate: rng.next() * 0.1, reorder: rng.next() * 0.3, reorderMs: heavyTail(rng, 10, 1000) });
    }
  }
  return out;
}

/**
 * A membership change during an epoch: a new node joins through a seed (its config naming only
 * itself and that seed), a voter leaves gracefully (`tally leave`), or a node is killed for good and
 * then removed by an operator (TALLY.REMOVE). Which nodes is drawn when it happens.
 */
export interface MembershipEvent {
  /** Virtual ms into the epoch. */
  t: number;
  kind: 'join' | 'leave' | 'remove';
}

/**
 * Membership changes per epoch, drawn from a generator of their own (seeded from the seed, not
 * drawn from the history's): a seed that draws none runs exactly the history it ran before the
 * explorer knew about membership, so the seeds docs/testing.md names still replay.
 */
export function drawMembership(rng: Rng, epochs: readonly EpochPlan[]): MembershipEvent[][] {
  return epochs.map((e) => {
    if (!chance(rng, 0.35)) return [];
    const out: MembershipEvent[] = [];
    const count = between(rng, 1, 3);
    for (let k = 0; k < count; k++) {
      const x = rng.next();
      out.push({ t: rng.int(e.durationMs), kind: x < 0.45 ? 'join' : x < 0.75 ? 'leave' : 'remove' });
    }
    return out;
  });
}

/** Everything about a history that is fixed before it runs. */
export function drawSetup(rng: Rng): ExploreSetup {
  const nodes = between(rng, 3, 7);
  const config = drawConfig(rng);
  const network = drawNetwork(rng);
  const keys = drawKeys(rng, config.maxMessageBytes ?? 1 << 20);
  const epochs: EpochPlan[] = [];
  const x = rng.next();
  const count = x < 0.5 ? 1 : x < 0.85 ? 2 : 3;
  for (let e = 0; e < count; e++) {
    // Mostly seconds; one epoch in seven lasts minutes, long enough to declare nodes dead and forget them.
    const durationMs = chance(rng, 0.85) ? heavyTail(rng, 2000, 30_000) : heavyTail(rng, 30_000, 300_000);
    epochs.push({ durationMs, opsPerSecond: heavyTail(rng, 2, 40), faults: drawFaults(rng, nodes, durationMs) });
  }
  return { nodes, prejoined: chance(rng, 0.8), config, network, keys, epochs };
}
