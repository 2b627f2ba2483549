// `tally cluster up`: the multi-node launch script. Spawns every configured node as a child process,
// prefixes and pretty-prints their logs, waits until all are healthy and see each other, prints how
// to connect, and on Ctrl-C (or SIGTERM) stops them all cleanly.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadConfig, validateConfig, type ClusterConfig, type NodeEntry } from '../config/cluster-config.js';
import { exposedMode, writePrivateFile } from '../config/secret-files.js';
import { Keyring } from '../gossip/frame-auth.js';
import { intArg } from './args.js';
import { caFor, credentialsFor, getJson, PASSWORD_ENV, urlsOf, USER_ENV, type Credentials } from './target.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
const NODE_COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[34m', '\x1b[33m', '\x1b[32m', '\x1b[91m', '\x1b[94m', '\x1b[95m'];

interface UpFlags {
  config: string;
  nodes?: number;
  logLevel?: string;
  readyTimeout: number;
}

/** Extends (or trims) the config to `n` nodes; new nodes take the next free ports after the last node's. */
export function withNodeCount(cfg: ClusterConfig, n: number): ClusterConfig {
  const nodes: NodeEntry[] = cfg.nodes.slice(0, n);
  const last = cfg.nodes[cfg.nodes.length - 1] as NodeEntry;
  const taken = new Set(nodes.map((x) => x.id));
  let next = 1;
  for (let i = nodes.length; i < n; i++) {
    const k = i - cfg.nodes.length + 1;
    while (taken.has(`n${next}`)) next++;
    taken.add(`n${next}`);
    nodes.push({
      id: `n${next}`,
      host: last.host,
      gossipPort: last.gossipPort === 0 ? 0 : last.gossipPort + k,
      respPort: last.respPort === null || last.respPort === 0 ? last.respPort : last.respPort + k,
      tlsPort: last.tlsPort === null || last.tlsPort === 0 ? last.tlsPort : last.tlsPort + k,
      httpPort: last.httpPort === 0 ? 0 : last.httpPort + k,
    });
  }
  const ids = new Set(nodes.map((x) => x.id));
  const seeds = cfg.seeds.filter((s) => ids.has(s));
  return { ...cfg, nodes, seeds: seeds.length > 0 ? seeds : [nodes[0]?.id as string] };
}

export function registerClusterUp(program: Command): void {
  const cluster = program.command('cluster').description('run a local multi-node cluster');
  cluster
    .command('up')
    .description('start every node of the config as child processes, wait until they see each other, and stop them all on Ctrl-C')
    .option('--config <file>', 'cluster config file', 'cluster.config.json')
    .option('--nodes <n>', 'run this many nodes (extra nodes take the ports after the last configured one)', intArg(1, 100))
    .option('--log-level <level>', 'log level for the nodes')
    .option('--ready-timeout <ms>', 'how long to wait for the cluster to form', intArg(1000, 600_000), 30_000)
    .action(async (flags: UpFlags) => {
      let cfg = loadConfig(flags.config);
      if (cfg.auth.password !== null && exposedMode(flags.config) !== null) {
        console.error(`warning: ${flags.config} holds auth.password and other users of this machine can read it; chmod 600 it (the copy the nodes read is written 0600)`);
      }
      if (flags.nodes !== undefined) cfg = withNodeCount(cfg, flags.nodes);
      // The data directory holds the node identities and stores, and the effective config: owner only.
      mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
      if (cfg.auth.keyFile !== null && !existsSync(cfg.auth.keyFile)) {
        mkdirSync(dirname(cfg.auth.keyFile), { recursive: true, mode: 0o700 });
        writePrivateFile(cfg.auth.keyFile, `${Keyring.generateKey()}\n`);
        console.log(`created gossip key ${cfg.auth.keyFile} (mode 0600)`);
      }
      // The children read the effective config (absolute paths) from the data directory. It is
      // validated here too, so a bad --nodes or --log-level fails once, with the field named. It may
      // hold auth.password and hashes: written 0600 (replacing any older copy), as the nodes require.
      const effective = join(cfg.dataDir, 'cluster-up.config.json');
      const { nodes, seeds, gossip, dataDir, persistence, auth, gcounterKeys, logLevel, maxClients, protectedMode, tls } = cfg;
      const out = { cluster: cfg.cluster, nodes, seeds, gossip, dataDir, persistence, auth, gcounterKeys, logLevel: flags.logLevel ?? logLevel, maxClients, protectedMode, tls };
      try {
        validateConfig(out);
      } catch (e) {
        throw new Error(`the cluster to start is not valid (${flags.nodes !== undefined ? `--nodes ${flags.nodes}` : flags.logLevel !== undefined ? `--log-level ${flags.logLevel}` : 'config'}): ${(e as Error).message}`);
      }
      writePrivateFile(effective, JSON.stringify(out, null, 2));

      const children = new Map<string, ChildProcess>();
      const tty = process.stdout.isTTY === true;
      let stopping = false;
      cfg.nodes.forEach((n, i) => {
        const child = spawn(process.execPath, [MAIN, 'node', '--config', effective, '--id', n.id], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env },
        });
        children.set(n.id, child);
        const prefix = tty ? `${NODE_COLORS[i % NODE_COLORS.length]}[${n.id}]\x1b[0m` : `[${n.id}]`;
        pipeLines(child.stdout, (line) => console.log(`${prefix} ${prettyLine(line, tty)}`));
        pipeLines(child.stderr, (line) => console.error(`${prefix} ${line}`));
        child.on('exit', (code, signal) => {
          children.delete(n.id);
          if (!stopping) console.error(`${prefix} exited unexpectedly (${signal ?? `code ${code}`})`);
          if (stopping && children.size === 0) process.exit(0);
        });
      });

      const stopAll = (): void => {
        if (stopping) return;
        stopping = true;
        console.log(`\nstopping ${children.size} node(s)...`);
        for (const c of children.values()) c.kill('SIGTERM');
        if (children.size === 0) process.exit(0);
        setTimeout(() => {
          for (const c of children.values()) c.kill('SIGKILL');
          process.exit(1);
        }, 10_000).unref();
      };
      process.on('SIGINT', stopAll);
      process.on('SIGTERM', stopAll);

      const ready = await waitForCluster(cfg, flags.readyTimeout, () => stopping);
      if (stopping) return;
      if (!ready.ok) {
        console.error(`cluster did not form within ${flags.readyTimeout} ms: ${ready.why}`);
        stopAll();
        process.exitCode = 1;
        return;
      }
      printConnectHelp(cfg);
    });
}

function pipeLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim() !== '') onLine(line);
    }
  });
}

/** Turns a pino JSON line into `HH:MM:SS.mmm LEVEL message key=value ...`; other lines pass through. */
export function prettyLine(line: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof o !== 'object' || o === null || typeof o.msg !== 'string') return line;
  const { level, time, msg, node: _node, pid: _pid, hostname: _h, name: _n, ...rest } = o;
  const [name, c] = LEVELS[Number(level)] ?? ['LOG  ', ''];
  const t = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${t} ${color ? `${c}${name}\x1b[0m` : name} ${msg}${fields ? ` ${color ? '\x1b[90m' : ''}${fields}${color ? '\x1b[0m' : ''}` : ''}`;
}

/**
 * Waits until every node's /status shows every member alive. /status needs credentials when the
 * cluster has any: the config's auth.password, or TALLY_USER and TALLY_PASSWORD; without them only
 * each node's /health (ready) is checked.
 */
async function waitForCluster(cfg: ClusterConfig, timeoutMs: number, cancelled: () => boolean): Promise<{ ok: true } | { ok: false; why: string }> {
  const deadline = Date.now() + timeoutMs;
  let why = 'no node answered yet';
  const creds: Credentials = credentialsFor(cfg, {});
  const needsCreds = cfg.auth.password !== null || cfg.auth.users.length > 0;
  const healthOnly = needsCreds && creds.password === undefined;
  const ca = caFor(cfg, undefined);
  while (Date.now() < deadline && !cancelled()) {
    let all = true;
    for (const n of cfg.nodes) {
      const url = `${urlsOf(cfg, n).http}${healthOnly ? '/health' : '/status'}`;
      try {
        const r = await getJson(url, { credentials: creds, ...(ca === undefined ? {} : { ca }), timeoutMs: 1000 });
        if (healthOnly) {
          if (r.status !== 200) {
            all = false;
            why = `${n.id} is not ready yet (members not checked: set ${USER_ENV} and ${PASSWORD_ENV} to let tally cluster up read /status)`;
            break;
          }
          continue;
        }
        if (r.status !== 200) {
          all = false;
          why = `${n.id} answered ${r.status} at ${url}: ${String((r.body as { error?: unknown }).error ?? '')}`;
          break;
        }
        const st = r.body as { members: { id: string; state: string }[] };
        const alive = st.members.filter((m) => m.state === 'alive').length;
        if (alive < cfg.nodes.length) {
          all = false;
          why = `${n.id} sees ${alive} of ${cfg.nodes.length} members alive`;
          break;
        }
      } catch (e) {
        all = false;
        why = `${n.id} is not answering on ${url} yet (${(e as Error).message})`;
        break;
      }
    }
    if (all) return { ok: true };
    await new Promise((r) => setTimeout(r, 200));
  }
  return { ok: false, why };
}

function printConnectHelp(cfg: ClusterConfig): void {
  const auth = cfg.auth.password !== null ? ' -a <password>' : cfg.auth.users.length > 0 ? ' --user <user> --askpass' : '';
  const redisCli = (n: NodeEntry): string =>
    n.respPort !== null ? `redis-cli -h ${n.host} -p ${n.respPort}${auth}` : `redis-cli --tls${cfg.tls?.caFile ? ` --cacert ${cfg.tls.caFile}` : ''} -h ${n.host} -p ${n.tlsPort}${auth}`;
  const first = cfg.nodes[0] as NodeEntry;
  const last = cfg.nodes[cfg.nodes.length - 1] as NodeEntry;
  const lines = [
    '',
    `tally cluster '${cfg.cluster}' is up: ${cfg.nodes.length} node(s), all alive and gossiping.`,
    '',
    ...cfg.nodes.map((n) => `  ${n.id}:  ${redisCli(n)}    ${urlsOf(cfg, n).ws}    ${urlsOf(cfg, n).http}/status`),
    '',
    `Try:  ${redisCli(first)} INCR pageviews   then   ${redisCli(last)} GET pageviews`,
    `      (or without redis-cli: node dist/src/cli/main.js incr pageviews --node ${first.id})`,
    ...(auth !== '' ? [`      /status, /metrics and the dashboard ask for the same credentials (docs/security.md)`] : []),
    'Press Ctrl-C to stop every node.',
    '',
  ];
  console.log(lines.join('\n'));
}

export { resolve };
