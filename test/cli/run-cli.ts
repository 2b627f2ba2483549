// Runs the built `tally` command line as a child process on 127.0.0.1 and collects what it printed.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/free-port.js';
import { MAIN, until } from '../integration/harness.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
}

/** A running `tally` process whose output is collected as it comes. */
export interface CliProcess {
  proc: ChildProcess;
  out: { stdout: string; stderr: string };
  exited: Promise<CliResult>;
  /** Sends a signal by pid. */
  kill(signal?: NodeJS.Signals): void;
}

export function startCli(args: string[], o: CliOptions = {}): CliProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, TALLY_CONFIG: undefined, ...o.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const proc = spawn(process.execPath, [MAIN, ...args], { cwd: o.cwd ?? process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  proc.stdout?.on('data', (d: Buffer) => (out.stdout += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<CliResult>((resolve) => proc.once('close', (code, signal) => resolve({ code, signal, ...out })));
  return {
    proc,
    out,
    exited,
    kill(signal = 'SIGTERM') {
      if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, signal);
    },
  };
}

/** Runs `tally <args>` to its end. A command that does not exit fails the test by the test's own timeout. */
export function runCli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  return startCli(args, o).exited;
}

/** Waits until the process printed `text` (stdout or stderr), or fails with what it printed if it exits first. */
export async function waitForOutput(p: CliProcess, text: string | RegExp, timeoutMs = 30_000): Promise<void> {
  const seen = (): boolean => (typeof text === 'string' ? (p.out.stdout + p.out.stderr).includes(text) : text.test(p.out.stdout + p.out.stderr));
  await until(`output ${String(text)}`, () => {
    if (seen()) return true;
    if (p.proc.exitCode !== null) throw new Error(`exited ${p.proc.exitCode} first:\n${p.out.stdout}\n${p.out.stderr}`);
    return false;
  }, timeoutMs);
}

export interface ConfigNode {
  id: string;
  host: string;
  gossipPort: number;
  respPort: number;
  httpPort: number;
}

/** A temporary directory with a config of `n` nodes on free loopback ports (written as c.json). */
export async function tempConfig(n: number, extra: Record<string, unknown> = {}): Promise<{ dir: string; path: string; nodes: ConfigNode[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-cli-'));
  const nodes: ConfigNode[] = [];
  for (let i = 1; i <= n; i++) nodes.push({ id: `n${i}`, host: '127.0.0.1', gossipPort: await freePort(), respPort: await freePort(), httpPort: await freePort() });
  const path = join(dir, 'c.json');
  writeFileSync(path, JSON.stringify({ cluster: 'cli', nodes, gossip: { intervalMs: 100, probeIntervalMs: 300, probeTimeoutMs: 150 }, dataDir: 'data', logLevel: 'info', ...extra }, null, 2));
  return { dir, path, nodes };
}
