// The verify harness's cluster: real `tally node` processes on 127.0.0.1, a generated config in a temp
// directory, and the controls the nemesis uses: kill -9 and restart, SIGSTOP / SIGCONT, and cutting
// gossip links through the fault control file (src/gossip/fault-control.ts). Every process is
// stopped by its pid; an exit nobody asked for is recorded as an unexpected death.

import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keyring } from '../gossip/frame-auth.js';
import { freePort } from '../util/free-port.js';
import { FAULT_CONTROL_ENV, FAULT_POLL_MS, type FaultRules } from '../gossip/fault-control.js';

const HERE = fileURLToPath(import.meta.url);
/** The built CLI: beside this file once compiled; from the sources (vitest), the build in dist/. */
const MAIN = HERE.endsWith('.ts') ? join(dirname(HERE), '..', '..', 'dist', 'src', 'cli', 'main.js') : join(dirname(HERE), '..', 'cli', 'main.js');
const HOST = '127.0.0.1';

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
  /** Gossip settings written into the config; tuned faster than the defaults so runs stay short. */
  gossip?: Record<string, number>;
  logLevel?: string;
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
          nodes: c.nodes.map(({ id, gossipPort, respPort, httpPort }) => ({ id, host: HOST, gossipPort, respPort, httpPort })),
          gossip: { intervalMs: 100, probeIntervalMs: 500, probeTimeoutMs: 250, ...s.gossip },
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

  async start(id: string): Promise<void> {
    const n = this.node(id);
    const out = openSync(n.logFile, 'a');
    const proc = spawn(process.execPath, [MAIN, 'node', '--config', this.configPath, '--id', id], {
      stdio: ['ignore', out, out],
      env: { ...process.env, [FAULT_CONTROL_ENV]: this.faultFile },
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
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (n.proc !== proc) throw new Error(`${id} exited while starting; see ${n.logFile}`);
      try {
        if ((await fetch(`http://${HOST}:${n.httpPort}/health`, { signal: AbortSignal.timeout(1000) })).ok) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`${id} did not answer /health within 30 s; see ${n.logFile}`);
      await sleep(50);
    }
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

  /** Cuts every gossip link between `side` and the other nodes, both ways. */
  async partition(side: readonly string[]): Promise<void> {
    const a = new Set(side);
    const addr = (n: VerifyNode): string => `${HOST}:${n.gossipPort}`;
    const drop: Record<string, string[]> = {};
    for (const n of this.nodes) drop[n.id] = this.nodes.filter((m) => a.has(m.id) !== a.has(n.id)).map(addr);
    this.writeRules({ drop });
    await sleep(FAULT_POLL_MS * 3);
  }

  async healLinks(): Promise<void> {
    this.writeRules({ drop: {} });
    await sleep(FAULT_POLL_MS * 3);
  }

  /** Undoes every fault: links healed, paused nodes resumed, killed nodes restarted. */
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

  /** Waits until every node sees every member alive. */
  async waitFormed(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const n of this.nodes) {
      for (;;) {
        try {
          const st = (await (await fetch(`http://${HOST}:${n.httpPort}/status`, { signal: AbortSignal.timeout(1000) })).json()) as { members: { id: string; state: string }[] };
          const alive = new Set(st.members.filter((m) => m.state === 'alive').map((m) => m.id));
          if (this.nodes.every((m) => alive.has(m.id))) break;
        } catch {
          // not answering yet
        }
        if (Date.now() > deadline) throw new Error(`cluster did not form within ${timeoutMs} ms (${n.id} does not see every node alive)`);
        await sleep(100);
      }
    }
  }

  private writeRules(r: FaultRules): void {
    const tmp = `${this.faultFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(r));
    renameSync(tmp, this.faultFile);
  }
}
