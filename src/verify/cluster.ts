// The verify harness's cluster: real `tally node` processes on 127.0.0.1, a generated config in a temp
// directory, and the controls the nemesis uses: kill -9 and restart (with or without the data
// directory), SIGSTOP / SIGCONT, and cutting gossip links and skewing clocks through the fault
// control file (src/gossip/fault-control.ts). Every process is stopped by its pid; an exit nobody
// asked for is recorded as an unexpected death.

import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_GOSSIP, replicaSettings, type GossipSettings } from '../config/cluster-config.js';
import { Keyring } from '../gossip/frame-auth.js';
import { replicaConfig, type ReplicaConfig } from '../replication/config.js';
import { freePort } from '../util/free-port.js';
import { nodeEnv } from '../util/allocator.js';
import { FAULT_CONTROL_ENV, FAULT_POLL_MS, type FaultRules } from '../gossip/fault-control.js';

const HERE = fileURLToPath(import.meta.url);
// The built CLI: beside this file once compiled; from the sources (vitest), the build in dist/.
/** The built CLI (`node dist/src/cli/main.js`), which runs the nodes and which the replay line names. */
export const CLI_MAIN = HERE.endsWith('.ts') ? join(dirname(HERE), '..', '..', 'dist', 'src', 'cli', 'main.js') : join(dirname(HERE), '..', 'cli', 'main.js');
const HOST = '127.0.0.1';

/**
 * The gossip settings of the generated config: faster than the defaults so that runs stay short, and
 * `deadForgetMs` lowered from 60 s to 10 s so that a partition longer than the dead timeout plus
 * `deadForgetMs` (the long-partition rule, schedule.ts) fits into a run of a minute.
 */
export const VERIFY_GOSSIP: Readonly<Partial<GossipSettings>> = Object.freeze({ intervalMs: 100, probeIntervalMs: 500, probeTimeoutMs: 250, deadForgetMs: 10_000 });

/** The replica configuration the nodes of a verify cluster run with. */
export function verifyReplicaConfig(overrides: Partial<GossipSettings> = {}): ReplicaConfig {
  return replicaConfig(replicaSettings('verify', { ...DEFAULT_GOSSIP, ...VERIFY_GOSSIP, ...overrides }));
}

/** What the fault control file should say: dropped directions between nodes, and skewed clocks. */
export interface FaultSettings {
  /** [from, to]: `from` drops the frames it would send to `to`. */
  drops: readonly (readonly [string, string])[];
  /** Clock offsets by node, ms. */
  skew: ReadonlyMap<string, number>;
}

export interface VerifyNode {
  id: string;
  gossipPort: number;
  respPort: number;
  httpPort: number;
  logFile: string;
  proc: ChildProcess | null;
  /** The nemesis killed it and it is not running. */
  killed: boolean;
  paused: boolean;
  /** Exits the harness asked for (kill -9, final stop), so they are not counted as deaths. */
  expectExit: boolean;
  starts: number;
}

/** One member as a node's /status shows it. */
export interface MemberInfo {
  state: string;
  incarnation: number;
  /** ms since a frame came from it directly; null if never (this process). */
  lastHeardMsAgo: number | null;
}

export interface NodeView {
  incarnation: number;
  members: Map<string, MemberInfo>;
}

export interface UnexpectedDeath {
  node: string;
  code: number | null;
  signal: string | null;
  atMs: number;
}

export interface ClusterSettings {
  dir: string;
  nodes: number;
  persistence: string;
  /** Gossip settings written into the config over VERIFY_GOSSIP. */
  gossip?: Partial<GossipSettings>;
  logLevel?: string;
  /** The last node's `maxmemory` in bytes; absent: every node has the default. */
  maxmemoryLast?: number;
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class VerifyCluster {
  readonly nodes: VerifyNode[] = [];
  readonly deaths: UnexpectedDeath[] = [];
  readonly configPath: string;
  readonly faultFile: string;
  private readonly t0 = Date.now();

  private constructor(readonly settings: ClusterSettings) {
    this.configPath = join(settings.dir, 'cluster.json');
    this.faultFile = join(settings.dir, 'faults.json');
  }

  static async create(s: ClusterSettings): Promise<VerifyCluster> {
    const c = new VerifyCluster(s);
    for (let i = 1; i <= s.nodes; i++) {
      c.nodes.push({
        id: `n${i}`,
        gossipPort: await freePort(),
        respPort: await freePort(),
        httpPort: await freePort(),
        logFile: join(s.dir, `n${i}.log`),
        proc: null,
        killed: false,
        paused: false,
        expectExit: false,
        starts: 0,
      });
    }
    const keyFile = join(s.dir, 'cluster.key');
    writeFileSync(keyFile, `${Keyring.generateKey()}\n`, { mode: 0o600 });
    writeFileSync(
      c.configPath,
      JSON.stringify(
        {
          cluster: 'verify',
          nodes: c.nodes.map(({ id, gossipPort, respPort, httpPort }, i) => ({
            id, host: HOST, gossipPort, respPort, httpPort,
            ...(s.maxmemoryLast !== undefined && i === s.nodes - 1 ? { maxmemory: s.maxmemoryLast } : {}),
          })),
          gossip: { ...VERIFY_GOSSIP, ...s.gossip },
          dataDir: join(s.dir, 'data'),
          persistence: s.persistence,
          logLevel: s.logLevel ?? 'info',
          gcounterKeys: ['views:*'],
          auth: { keyFile, password: null },
        },
        null,
        2,
      ),
    );
    c.writeRules({ drop: {} });
    return c;
  }

  node(id: string): VerifyNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Starts a node and waits until it is ready (/health 200). */
  async start(id: string): Promise<void> {
    this.spawn(id);
    await this.waitHealth(id, true);
  }

  /** Starts a node's process (its data directory as it is). */
  spawn(id: string): void {
    const n = this.node(id);
    const out = openSync(n.logFile, 'a');
    const proc = spawn(process.execPath, [CLI_MAIN, 'node', '--config', this.configPath, '--id', id], {
      stdio: ['ignore', out, out],
      env: { ...nodeEnv(process.env, 'auto').env, [FAULT_CONTROL_ENV]: this.faultFile },
    });
    closeSync(out);
    n.proc = proc;
    n.killed = false;
    n.paused = false;
    n.expectExit = false;
    n.starts++;
    proc.once('exit', (code, signal) => {
      if (n.proc === proc) n.proc = null;
      if (!n.expectExit) this.deaths.push({ node: id, code, signal, atMs: Date.now() - this.t0 });
    });
  }

  /**
   * Waits until a node answers /health: ready (200), or with `ready` false any answer at all (a
   * restarted node may stay "catching up" while the nemesis keeps it cut off). Throws after 30 s.
   */
  async waitHealth(id: string, ready: boolean): Promise<void> {
    const n = this.node(id);
    const proc = n.proc;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc === null || n.proc !== proc) throw new Error(`${id} exited while starting; see ${n.logFile}`);
      try {
        const r = await fetch(`http://${HOST}:${n.httpPort}/health`, { signal: AbortSignal.timeout(1000) });
        if (r.ok || !ready) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`${id} did not answer /health${ready ? ' ready' : ''} within 30 s; see ${n.logFile}`);
      await sleep(50);
    }
  }

  /** Removes a (killed) node's data directory: identity and store. */
  wipe(id: string): void {
    const n = this.node(id);
    if (n.proc !== null) throw new Error(`wipe ${id}: the node is running`);
    rmSync(join(this.settings.dir, 'data', id), { recursive: true, force: true });
  }

  /** kill -9, and waits for the exit. */
  async kill(id: string): Promise<void> {
    const n = this.node(id);
    const p = n.proc;
    if (p === null || p.pid === undefined) return;
    n.expectExit = true;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    process.kill(p.pid, 'SIGKILL');
    await exited;
    n.killed = true;
    n.paused = false;
  }

  pause(id: string): void {
    const n = this.node(id);
    if (n.proc?.pid === undefined || n.paused) return;
    process.kill(n.proc.pid, 'SIGSTOP');
    n.paused = true;
  }

  resume(id: string): void {
    const n = this.node(id);
    if (n.proc?.pid === undefined || !n.paused) return;
    process.kill(n.proc.pid, 'SIGCONT');
    n.paused = false;
  }

  /** Rewrites the fault control file; the nodes apply it within a poll (waited for here). */
  async setFaults(f: FaultSettings): Promise<void> {
    const drop: Record<string, string[]> = {};
    for (const [from, to] of f.drops) (drop[from] ??= []).push(`${HOST}:${this.node(to).gossipPort}`);
    this.writeRules({ drop, clockOffsetMs: Object.fromEntries(f.skew) });
    await sleep(FAULT_POLL_MS * 3);
  }

  /** Cuts every gossip link between `side` and the other nodes, both ways. */
  async partition(side: readonly string[]): Promise<void> {
    const a = new Set(side);
    await this.setFaults({ drops: this.nodes.flatMap((n) => this.nodes.filter((m) => a.has(m.id) !== a.has(n.id)).map((m) => [n.id, m.id] as const)), skew: new Map() });
  }

  async healLinks(): Promise<void> {
    await this.setFaults({ drops: [], skew: new Map() });
  }

  /** Undoes every fault: links healed, clocks set right, paused nodes resumed, killed nodes restarted. */
  async healAll(): Promise<void> {
    await this.healLinks();
    for (const n of this.nodes) if (n.paused) this.resume(n.id);
    await Promise.all(this.nodes.filter((n) => n.killed || n.proc === null).map((n) => this.start(n.id)));
  }

  /** Stops every node: SIGCONT, then SIGTERM, then SIGKILL after 5 s. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        const p = n.proc;
        if (p === null || p.pid === undefined) return;
        n.expectExit = true;
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        try {
          if (n.paused) process.kill(p.pid, 'SIGCONT');
          process.kill(p.pid, 'SIGTERM');
        } catch {
          return;
        }
        const t = setTimeout(() => {
          try {
            if (p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 5_000);
        await exited;
        clearTimeout(t);
      }),
    );
  }

  /** Lines at level error or fatal in a node's log (pino JSON), for the report. */
  errorLines(id: string): string[] {
    let text = '';
    try {
      text = readFileSync(this.node(id).logFile, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter((l) => /"level":(50|60)\b/.test(l));
  }

  /** What `id` says of itself and of every member it knows (from /status), or null if it does not answer. */
  async view(id: string): Promise<NodeView | null> {
    try {
      const r = await fetch(`http://${HOST}:${this.node(id).httpPort}/status`, { signal: AbortSignal.timeout(1000) });
      const st = (await r.json()) as { node: { incarnation: number }; members: (MemberInfo & { id: string })[] };
      return { incarnation: st.node.incarnation, members: new Map(st.members.map((m) => [m.id, { state: m.state, incarnation: m.incarnation, lastHeardMsAgo: m.lastHeardMsAgo }])) };
    } catch {
      return null;
    }
  }

  /** The state of every member `id` knows (alive, suspect, dead, left), or null if it does not answer. */
  async members(id: string): Promise<Map<string, string> | null> {
    const v = await this.view(id);
    return v === null ? null : new Map([...v.members].map(([m, i]) => [m, i.state]));
  }

  /** Whether every node answers and sees every node alive. */
  async allAlive(): Promise<boolean> {
    const views = await Promise.all(this.nodes.map((n) => this.members(n.id)));
    return views.every((v) => v !== null && this.nodes.every((m) => v.get(m.id) === 'alive'));
  }

  /** Waits until every node sees every member alive. */
  async waitFormed(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.allAlive())) {
      if (Date.now() > deadline) throw new Error(`cluster did not form within ${timeoutMs} ms (some node does not see every node alive)`);
      await sleep(100);
    }
  }

  private writeRules(r: FaultRules): void {
    const tmp = `${this.faultFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(r));
    renameSync(tmp, this.faultFile);
  }
}
