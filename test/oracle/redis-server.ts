// Starts a real redis-server (Debian's package) on a free loopback port, for the differential test,
// and stops it by pid. No persistence: `--save ''`, `--appendonly no`, in a fresh temp directory;
// a password (`--requirepass`) when asked for.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/free-port.js';
import { until } from '../integration/harness.js';
import { RawRespClient } from './raw-resp.js';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisServer {
  readonly port: number;
  readonly pid: number;
  /** The server's version, from `INFO server` (e.g. `7.0.15`). */
  readonly version: string;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** `--requirepass`: the default user's password; none by default (Redis's `nopass` default user). */
  readonly password?: string;
  /** More `--name value` settings, e.g. `['--maxmemory', '1']`. */
  readonly settings?: readonly string[];
}

export async function startRedisServer(o: RedisServerOptions = {}): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`${REDIS_SERVER} is missing: run scripts/test-deps.sh (npm test runs it first) or apt-get install redis-server`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tally-redis-'));
  const port = await freePort();
  const logFile = join(dir, 'redis.log');
  const out = openSync(logFile, 'a');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
  if (o.password !== undefined) args.push('--requirepass', o.password);
  if (o.settings !== undefined) args.push(...o.settings);
  const proc: ChildProcess = spawn(REDIS_SERVER, args, { cwd: dir, stdio: ['ignore', out, out] });
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`could not spawn ${REDIS_SERVER}`);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      process.kill(pid, 'SIGTERM'); // with no persistence configured, redis-server exits at once
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const died = new Promise<never>((_, reject) =>
    proc.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}) while starting; its log:\n${readFileSync(logFile, 'utf8')}`))),
  );
  died.catch(() => {});
  try {
    const answering = until(`redis-server on port ${port} to answer PING`, async () => {
      const c = await RawRespClient.connect(port, 'redis', 1_000);
      try {
        if (o.password !== undefined) await c.send(['AUTH', o.password]);
        const info = (await c.send(['INFO', 'server'])).toString('latin1');
        return /redis_version:([^\r\n]+)/.exec(info)?.[1];
      } finally {
        c.close();
      }
    });
    const version = await Promise.race([answering, died]);
    return { port, pid, version, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
