// Prometheus metrics of one node (GET /metrics): a prom-client registry per node, fed on the hot path
// only through preallocated typed arrays, and filled from the stats objects at scrape time.
// Metric names and labels are listed in docs/operations.md; keep the two in step.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { ReplicaStats } from '../replication/context.js';
import { commandNames, resolveCommand, resolveCommandAt, runCommand, runRanged, type CommandRunner, type ResolvedCommand } from './commands/table.js';
import type { ArgRanges } from './commands/arg-ranges.js';
import type { CommandResult, CommandServices, CommandStat, Session } from './commands/types.js';
import type { GossipTransportStats } from '../gossip/ws-transport.js';
import type { Reply } from './commands/reply.js';

/** Latency buckets of one command, in seconds: local commands take microseconds, WAIT and majority reads up to seconds. */
export const COMMAND_SECONDS_BUCKETS: readonly number[] = Object.freeze([
  0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5,
]);
/** Buckets of one durable commit (fsync of a group), in seconds. */
export const COMMIT_SECONDS_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
]);
/**
 * Commands are all counted, but only every LATENCY_SAMPLE_EVERY-th is timed: a clock read costs about
 * 100 ns here (two per timed command), against about 1.2 us for a whole INCR, so timing every command
 * would add some 15%. Sampling is uniform over commands, so the histogram's distribution and mean are
 * unbiased; its _count is about 1/8 of tally_commands_total. A power of two.
 */
export const LATENCY_SAMPLE_EVERY = 8;
/** The label every command name outside the command table gets: command names never become unbounded labels. */
export const UNKNOWN_COMMAND = 'unknown';

/**
 * What a scrape reads, taken once per scrape: the node's snapshot (src/node/snapshot.ts, the same one
 * /status and INFO render), in the shape this module needs.
 */
export interface MetricsSnapshot {
  node: { incarnation: number; version: string; uptimeMs: number };
  memberCounts: { alive: number; suspect: number; dead: number; left: number; removed: number };
  gossip: ReplicaStats & { transport: GossipTransportStats };
  keys: { byType: Record<string, number>; entries: number; bytes: number; typeConflicts: number };
  memory: { maxmemory: number; overMaxmemory: boolean; tombstones: number; tombstonesCollected: number; slots: number; compactKeys: number; youngGeneration: number; versionLogEntries: number; versionLogCells: number; origins: number; retiredOrigins: number; slotFolds: number };
  clients: { resp: number; ws: number; watchedKeys: number };
  store: { records: number; bytes: number } | null;
  traffic: { connectionsAccepted: { resp: number; ws: number }; protocolErrors: { resp: number; ws: number }; wsPushes: number };
  convergence: { maxLagMs: number; outOfSync: number };
  clock: { ok: boolean; offsetMs: number; offsets: Record<string, number> };
  security: SecurityStats;
}

/**
 * Client security: failed AUTH by protocol (HTTP Basic included), attempts slowed or refused by the
 * limiter, commands refused with NOPERM, connections refused by protected mode, failed TLS handshakes,
 * HTTP requests refused for a foreign Host (DNS rebinding) or a /ws upgrade from a foreign Origin.
 */
export interface SecurityStats {
  authFailures: { resp: number; ws: number; http: number };
  authDelayed: number;
  authRefused: number;
  deniedCommands: number;
  protectedModeRefused: number;
  tlsHandshakeErrors: number;
  foreignRefused: number;
}

/**
 * A histogram whose series are fixed at construction (one per label value), recorded into one
 * Float64Array: `observe` allocates nothing, unlike prom-client's labelled children, which build a
 * label hash string on every call. It implements the shape prom-client's Registry reads (`get()`).
 */
export class FixedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: Float64Array;
  /** Per series: one count per bucket (not cumulative) plus +Inf, then sum, then count. */
  private readonly cells: Float64Array;
  private readonly stride: number;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string | null,
    private readonly labelValues: readonly string[],
    buckets: readonly number[],
  ) {
    if (labelValues.length === 0) throw new RangeError(`${name}: at least one series is needed`);
    this.bounds = Float64Array.from(buckets);
    this.stride = buckets.length + 3;
    this.cells = new Float64Array(this.stride * labelValues.length);
  }

  /** Records one value (seconds) in series `series` (its index in labelValues). */
  observe(series: number, value: number): void {
    const base = series * this.stride;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    const c = this.cells;
    c[base + i] = (c[base + i] as number) + 1;
    c[base + b.length + 1] = (c[base + b.length + 1] as number) + value;
    c[base + b.length + 2] = (c[base + b.length + 2] as number) + 1;
  }

  /** Observations so far in one series. */
  count(series: number): number {
    return this.cells[series * this.stride + this.bounds.length + 2] as number;
  }

  /** Sum of the observations so far in one series. */
  sum(series: number): number {
    return this.cells[series * this.stride + this.bounds.length + 1] as number;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: { metricName: string; labels: Record<string, string | number>; value: number }[] } {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    const n = this.bounds.length;
    for (let s = 0; s < this.labelValues.length; s++) {
      const base = s * this.stride;
      const total = this.cells[base + n + 2] as number;
      if (total === 0 && this.labelName !== null) continue; // untouched commands: no series
      const own: Record<string, string> = this.labelName === null ? {} : { [this.labelName]: this.labelValues[s] as string };
      let cum = 0;
      for (let i = 0; i <= n; i++) {
        cum += this.cells[base + i] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...own, le: i < n ? (this.bounds[i] as number) : '+Inf' }, value: cum });
      }
      values.push({ metricName: `${this.name}_sum`, labels: own, value: this.cells[base + n + 1] as number });
      values.push({ metricName: `${this.name}_count`, labels: own, value: total });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  getForPromString(): ReturnType<FixedHistogram['get']> {
    return this.get();
  }
}

export interface CommandMetricsOptions {
  /** Time one command in this many: a power of two from 1 (every command) to 1024. Default LATENCY_SAMPLE_EVERY. */
  readonly sampleEvery?: number;
  /** What runs a resolved command. Default: the command table's `runCommand` (tests pass a stub). */
  readonly run?: CommandRunner;
  /** What runs a resolved command on ranges. Default: the table's `runRanged`, or `run` on the arguments as Buffers when `run` is given. */
  readonly runRanges?: RangedRunner;
}

/** `runRanged`'s shape (table.ts). */
export type RangedRunner = (ctx: CommandServices, session: Session, c: ResolvedCommand | undefined, args: ArgRanges) => CommandResult;

/**
 * Counts and times every command of every client protocol. `execute` has the command table's
 * `execute` shape: it resolves the command through the table itself, so it knows which command ran
 * without reading the session, then runs it. On the common path it allocates nothing: the command's
 * index comes with its resolution, counts go to a Float64Array.
 */
export class CommandMetrics {
  /** Command names in label order (the table's `commandNames()`); the last is UNKNOWN_COMMAND. */
  readonly names: readonly string[];
  /** [ok, error] per command, indexed `2 * command + (error ? 1 : 0)`. */
  readonly counts: Float64Array;
  readonly latency: FixedHistogram;
  private readonly run: CommandRunner;
  private readonly runRanges: RangedRunner;
  private readonly unknown: number;
  private readonly sampleMask: number;
  private seq = 0;

  constructor(options: CommandMetricsOptions = {}) {
    const sampleEvery = options.sampleEvery ?? LATENCY_SAMPLE_EVERY;
    if (!Number.isInteger(sampleEvery) || sampleEvery < 1 || (sampleEvery & (sampleEvery - 1)) !== 0 || sampleEvery > 1024) {
      throw new RangeError(`CommandMetrics: sampleEvery must be a power of two from 1 to 1024, got ${String(sampleEvery)}`);
    }
    const run = options.run ?? runCommand;
    this.run = run;
    this.runRanges = options.runRanges ?? (options.run === undefined ? runRanged : (ctx, s, c, args) => run(ctx, s, c, args.buffers()));
    this.sampleMask = sampleEvery - 1;
    this.names = [...commandNames(), UNKNOWN_COMMAND];
    this.unknown = this.names.length - 1;
    this.counts = new Float64Array(this.names.length * 2);
    this.latency = new FixedHistogram('tally_command_duration_seconds', `Time to execute one command in the node (RESP and WebSocket), excluding network and encoding; one command in ${LATENCY_SAMPLE_EVERY} is timed`, 'command', this.names, COMMAND_SECONDS_BUCKETS);
  }

  /** The command table's execute, counted and timed. Same contract: never throws for bad input. */
  readonly execute = (ctx: CommandServices, s: Session, args: readonly Buffer[]): CommandResult => {
    const c = resolveCommand(args[0]);
    // A known command is counted under its name even when it fails auth or arity; others share one label.
    const idx = c === undefined ? this.unknown : c.index;
    // t0 < 0: this command is counted but not timed.
    const t0 = (this.seq++ & this.sampleMask) === 0 ? performance.now() : -1;
    return this.recorded(idx, t0, this.run(ctx, s, c, args));
  };

  /** `execute` for a request whose arguments are byte ranges of the socket chunk (RESP). */
  readonly executeRanges = (ctx: CommandServices, s: Session, args: ArgRanges): CommandResult => {
    const c = resolveCommandAt(args.buf, args.start(0), args.end(0));
    const idx = c === undefined ? this.unknown : c.index;
    const t0 = (this.seq++ & this.sampleMask) === 0 ? performance.now() : -1;
    return this.recorded(idx, t0, this.runRanges(ctx, s, c, args));
  };

  /** Counts (and, when t0 >= 0, times) the command's result, now or once its Promise settles. */
  private recorded(idx: number, t0: number, r: CommandResult): CommandResult {
    if ('kind' in r) {
      this.record(idx, r, t0);
      return r;
    }
    return r.then(
      (v) => {
        this.record(idx, v, t0);
        return v;
      },
      (e: unknown) => {
        this.record(idx, null, t0);
        throw e;
      },
    );
  }

  /**
   * INFO commandstats: calls and errors per command, and the time spent, in microseconds, estimated
   * from the timed sample (one command in `sampleEvery`) scaled to every call.
   */
  stats(): CommandStat[] {
    const out: CommandStat[] = [];
    for (let i = 0; i < this.names.length - 1; i++) {
      const ok = this.counts[2 * i] as number;
      const failed = this.counts[2 * i + 1] as number;
      const sampled = this.latency.count(i);
      const usec = sampled === 0 ? 0 : (this.latency.sum(i) / sampled) * (ok + failed) * 1e6;
      out.push({ name: this.names[i] as string, calls: ok + failed, failed, usec });
    }
    return out;
  }

  private record(idx: number, r: Reply | null, t0: number): void {
    const slot = 2 * idx + (r === null || r.kind === 'error' ? 1 : 0);
    this.counts[slot] = (this.counts[slot] as number) + 1;
    if (t0 >= 0) this.latency.observe(idx, (performance.now() - t0) / 1000);
  }
}

/** One node's metrics: a registry of its own (several nodes may share a process in tests). */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly commit = new FixedHistogram('tally_persistence_commit_seconds', 'Time of one durable commit (a group of writes made durable), in seconds', null, [''], COMMIT_SECONDS_BUCKETS);

  /** The snapshot of the scrape in progress (taken by the first collector, dropped when it ends). */
  private current: MetricsSnapshot | undefined;

  /** `commands` is built first (the servers take its `execute`); `snapshot` is read once per scrape. */
  constructor(
    private readonly snapshot: () => MetricsSnapshot,
    readonly commands: CommandMetrics,
  ) {
    const reg = this.registry;
    const cm = this.commands;
    const register = (m: FixedHistogram): void => reg.registerMetric(m as unknown as Metric);
    register(cm.latency);
    register(this.commit);
    collectDefaultMetrics({ register: reg }); // process_* and nodejs_*: memory, CPU, event-loop lag, GC

    // Counters set to the running totals at scrape time (reset then inc): the totals live in the
    // stats objects, which only ever grow, so Prometheus sees ordinary monotonic counters.
    new Counter({
      name: 'tally_commands_total',
      help: 'Commands executed, by command name (unknown for names outside the command table) and result (ok or error)',
      labelNames: ['command', 'result'],
      registers: [reg],
      collect() {
        this.reset();
        for (let i = 0; i < cm.names.length; i++) {
          const ok = cm.counts[2 * i] as number;
          const err = cm.counts[2 * i + 1] as number;
          if (ok > 0) this.inc({ command: cm.names[i] as string, result: 'ok' }, ok);
          if (err > 0) this.inc({ command: cm.names[i] as string, result: 'error' }, err);
        }
      },
    });
    // Every collector below reads the snapshot taken once at the start of the scrape (route()).
    const snap = (): MetricsSnapshot => {
      this.current ??= this.snapshot();
      return this.current;
    };
    const g = (): MetricsSnapshot['gossip'] => snap().gossip;
    counter(reg, 'tally_gossip_rounds_total', 'Gossip rounds this node started', [], (set) => set({}, g().rounds));
    counter(reg, 'tally_gossip_frames_total', 'Gossip frames by direction (in, out) and message type', ['direction', 'type'], (set) => {
      for (const [type, s] of Object.entries(g().sent)) set({ direction: 'out', type }, s.frames);
      for (const [type, s] of Object.entries(g().received)) set({ direction: 'in', type }, s.frames);
    });
    counter(reg, 'tally_gossip_bytes_total', 'Gossip message bytes (before transport framing and encryption) by direction and message type', ['direction', 'type'], (set) => {
      for (const [type, s] of Object.entries(g().sent)) set({ direction: 'out', type }, s.bytes);
      for (const [type, s] of Object.entries(g().received)) set({ direction: 'in', type }, s.bytes);
    });
    counter(reg, 'tally_gossip_transport_bytes_total', 'Bytes on the gossip sockets, after framing and encryption, by direction', ['direction'], (set) => {
      set({ direction: 'in' }, g().transport.bytesIn);
      set({ direction: 'out' }, g().transport.bytesOut);
    });
    counter(reg, 'tally_gossip_rejected_frames_total', 'Gossip frames dropped on receipt, by layer (transport: authentication, replay, size; replica: decoding, cluster, state) and reason', ['layer', 'reason'], (set) => {
      for (const [reason, n] of Object.entries(g().transport.rejected)) set({ layer: 'transport', reason }, n);
      for (const [reason, n] of Object.entries(g().rejected)) set({ layer: 'replica', reason }, n);
    });
    counter(reg, 'tally_gossip_dropped_frames_total', 'Outbound gossip frames dropped before the wire, by reason', ['reason'], (set) => {
      for (const [reason, n] of Object.entries(g().transport.dropped)) set({ reason }, n);
    });
    counter(reg, 'tally_gossip_chunked_deltas_total', 'Delta messages cut at the size limit (a backlog streaming in chunks)', [], (set) => set({}, g().chunked));
    counter(reg, 'tally_state_repairs_total', 'State repairs started: a peer with the same version vector but a stably different state digest', [], (set) => set({}, g().repairs));
    counter(reg, 'tally_stalls_total', 'Times this node found it had not run for longer than a probe timeout (SIGSTOP, a VM or GC pause, a blocked event loop); its probes in flight were voided', [], (set) => set({}, g().stalls));
    gauge(reg, 'tally_gossip_connections', 'Open gossip connections by direction', ['direction'], (set) => {
      const c = g().transport.connectionsOpen;
      set({ direction: 'inbound' }, c.inbound);
      set({ direction: 'outbound' }, c.outbound);
    });
    gauge(reg, 'tally_members', 'Cluster members by state, as this node sees them (itself included)', ['state'], (set) => {
      for (const [state, n] of Object.entries(snap().memberCounts)) set({ state }, n);
    });
    gauge(reg, 'tally_keys', 'Live keys by type (tombstones excluded)', ['type'], (set) => {
      for (const [type, n] of Object.entries(snap().keys.byType)) set({ type }, n);
    });
    gauge(reg, 'tally_keyspace_entries', 'Stored keys including tombstones (what replication carries)', [], (set) => set({}, snap().keys.entries));
    gauge(reg, 'tally_tombstones', 'Stored keys that do not exist (deleted, or an expired key\'s empty next epoch); replication still carries them', [], (set) => set({}, snap().memory.tombstones));
    gauge(reg, 'tally_tombstones_collected', 'Deleted counters dropped since start, once every member held them durably (docs/crdt-counters.md, "Tombstone collection")', [], (set) => set({}, snap().memory.tombstonesCollected));
    gauge(reg, 'tally_store_records', 'Key records in the data store on disk (persistence "none": no sample)', [], (set) => {
      const st = snap().store;
      if (st !== null) set({}, st.records);
    });
    gauge(reg, 'tally_store_bytes', 'Bytes of the data store file in use (LMDB reuses freed pages; the file does not shrink)', [], (set) => {
      const st = snap().store;
      if (st !== null) set({}, st.bytes);
    });
    gauge(reg, 'tally_young_generation_bytes', "Bytes V8's young generation holds, used or not: it grows under allocation and shrinks once the node is quiet (src/node/young-trim.ts)", [], (set) => set({}, snap().memory.youngGeneration));
    gauge(reg, 'tally_compact_keys', 'Counter keys held compact: one to three writer slots and no object of their own (docs/crdt-counters.md, "Compact keys")', [], (set) => set({}, snap().memory.compactKeys));
    gauge(reg, 'tally_counter_slots', 'Replica slots over every counter state: one per node incarnation that wrote the key', [], (set) => set({}, snap().memory.slots));
    gauge(reg, 'tally_version_log_entries', 'Version-log entries: (origin, key) pairs this node remembers', [], (set) => set({}, snap().memory.versionLogEntries));
    gauge(reg, 'tally_version_log_cells', 'Version-log cells: entries held in the logs, superseded ones not yet compacted included', [], (set) => set({}, snap().memory.versionLogCells));
    gauge(reg, 'tally_origins', 'Origins (node incarnations) in the version log', [], (set) => set({}, snap().memory.origins));
    gauge(reg, 'tally_retired_origins', 'Origins whose incarnation is no longer alive (a later one runs, it left, or it is no longer a member) and whose slots are not folded yet', [], (set) => set({}, snap().memory.retiredOrigins));
    counter(reg, 'tally_slot_folds_total', 'Keys whose retired counter slots were folded into their node\'s pseudo-slot since start (docs/crdt-counters.md, "Retired slots")', [], (set) => set({}, snap().memory.slotFolds));
    gauge(reg, 'tally_maxmemory_bytes', 'The memory limit (maxmemory; 0: none). Over it, commands that may add memory are refused with OOM', [], (set) => set({}, snap().memory.maxmemory));
    gauge(reg, 'tally_over_maxmemory', '1 while used memory is over maxmemory (writes that may add memory are refused), else 0', [], (set) => set({}, snap().memory.overMaxmemory ? 1 : 0));
    gauge(reg, 'tally_keyspace_bytes', 'Approximate memory held by key states, in bytes', [], (set) => set({}, snap().keys.bytes));
    counter(reg, 'tally_type_conflicts_total', 'Keys a merge left live as two types (created concurrently as both); both states are kept', [], (set) => set({}, snap().keys.typeConflicts));
    gauge(reg, 'tally_convergence_lag_seconds', 'Estimated convergence lag: over alive peers, the longest time since a peer\'s digest hash last matched ours (0 when all match)', [], (set) => set({}, snap().convergence.maxLagMs / 1000));
    gauge(reg, 'tally_peers_out_of_sync', 'Alive peers whose last digest hash differs from ours', [], (set) => set({}, snap().convergence.outOfSync));
    gauge(reg, 'tally_clock_offset_seconds', "Each peer's clock minus this node's, as last estimated (probe round trips, or the peer's notice when it refused our frame as stale), by peer gossip address", ['peer'], (set) => {
      for (const [peer, ms] of Object.entries(snap().clock.offsets)) set({ peer }, ms / 1000);
    });
    gauge(reg, 'tally_clock_ok', "1 while this node's clock is within gossip.maxClockSkewMs of most peers'; 0 when it is not (windowed writes are then refused)", [], (set) => set({}, snap().clock.ok ? 1 : 0));
    gauge(reg, 'tally_clients', 'Open client connections by protocol', ['protocol'], (set) => {
      set({ protocol: 'resp' }, snap().clients.resp);
      set({ protocol: 'ws' }, snap().clients.ws);
    });
    gauge(reg, 'tally_watched_keys', 'Distinct keys watched by WebSocket clients', [], (set) => set({}, snap().clients.watchedKeys));
    counter(reg, 'tally_ws_pushes_total', 'Watch value pushes sent to WebSocket clients', [], (set) => set({}, snap().traffic.wsPushes));
    counter(reg, 'tally_client_protocol_errors_total', 'Malformed client input, by protocol', ['protocol'], (set) => {
      set({ protocol: 'resp' }, snap().traffic.protocolErrors.resp);
      set({ protocol: 'ws' }, snap().traffic.protocolErrors.ws);
    });
    counter(reg, 'tally_client_connections_total', 'Client connections accepted, by protocol', ['protocol'], (set) => {
      set({ protocol: 'resp' }, snap().traffic.connectionsAccepted.resp);
      set({ protocol: 'ws' }, snap().traffic.connectionsAccepted.ws);
    });
    counter(reg, 'tally_auth_failures_total', 'Failed AUTH and HTTP Basic logins, by protocol (resp, ws, http)', ['protocol'], (set) => {
      for (const [protocol, n] of Object.entries(snap().security.authFailures)) set({ protocol }, n);
    });
    counter(reg, 'tally_auth_throttled_total', 'AUTH attempts slowed by the limiter: delayed (waited for their address\'s slot) or refused (the wait was too long)', ['outcome'], (set) => {
      set({ outcome: 'delayed' }, snap().security.authDelayed);
      set({ outcome: 'refused' }, snap().security.authRefused);
    });
    counter(reg, 'tally_acl_denied_commands_total', 'Commands refused with NOPERM (the user\'s role does not allow them)', [], (set) => set({}, snap().security.deniedCommands));
    counter(reg, 'tally_protected_mode_refused_total', 'Connections and HTTP requests refused by protected mode (no credentials configured, client not on loopback)', [], (set) => set({}, snap().security.protectedModeRefused));
    counter(reg, 'tally_http_foreign_refused_total', 'HTTP requests refused because their Host names no node of the cluster (DNS rebinding, nodes without credentials) or a /ws upgrade came from a page of another origin', [], (set) => set({}, snap().security.foreignRefused));
    counter(reg, 'tally_tls_handshake_errors_total', 'Client TLS handshakes that failed (RESP and HTTPS): wrong CA, missing or bad client certificate, plaintext on a TLS port', [], (set) => set({}, snap().security.tlsHandshakeErrors));
    gauge(reg, 'tally_incarnation', "This node's incarnation (grows at every start)", [], (set) => set({}, snap().node.incarnation));
    gauge(reg, 'tally_uptime_seconds', 'Seconds since this node started', [], (set) => set({}, snap().node.uptimeMs / 1000));
    gauge(reg, 'tally_build_info', 'Always 1; the version label says which tally runs', ['version'], (set) => set({ version: snap().node.version }, 1));
  }

  /** For the persistence layer: records the duration of one durable commit, in seconds. */
  observeCommit(seconds: number): void {
    this.commit.observe(0, seconds);
  }

  /** Serves GET /metrics; returns false for other paths. */
  route(req: IncomingMessage, res: ServerResponse): boolean {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') return false;
    this.current = undefined;
    this.registry.metrics().then(
      (text) => {
        this.current = undefined;
        res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (e: unknown) => {
        this.current = undefined;
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`metrics failed: ${(e as Error).message}\n`);
      },
    );
    return true;
  }
}

type Setter = (labels: Record<string, string>, value: number) => void;

/** A counter whose totals are read at scrape time from a stats object. */
function counter(reg: Registry, name: string, help: string, labelNames: string[], fill: (set: Setter) => void): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [reg],
    collect() {
      this.reset();
      fill((labels, value) => {
        if (value > 0) this.inc(labels, value);
        else this.inc(labels, 0);
      });
    },
  });
}

/** A gauge computed at scrape time. */
function gauge(reg: Registry, name: string, help: string, labelNames: string[], fill: (set: Setter) => void): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [reg],
    collect() {
      this.reset();
      fill((labels, value) => this.set(labels, value));
    },
  });
}
