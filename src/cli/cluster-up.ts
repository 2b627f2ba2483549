// `tally cluster up`: the multi-node launch script. Spawns every configured node as a child process,
// prefixes and pretty-prints their logs, waits until all are healthy and see each other, prints how
// to connect, and on Ctrl-C (or SIGTERM) stops them all cleanly.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { isSeedAddress, loadConfig, validateConfig, type ClusterConfig, type NodeEntry } from '../config/cluster-config.js';
import { exposedMode, writePrivateFile } from '../config/secret-files.js';
import { Keyring } from '../gossip/frame-auth.js';
import { configNamed, configOption, DEFAULT_CONFIG_FILE, intArg } from './args.js';
import { EXIT_FAILURE } from './errors.js';
import { caFor, credentialsFor, getJson, PASSWORD_ENV, urlsOf, USER_ENV, type Credentials } from './target.js';
import { NODE_V8_FLAGS } from '../node/v8-flags.js';
import { nodeEnv } from '../util/allocator.js';

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
      bindHost: last.bindHost,
      gossipPort: last.gossipPort === 0 ? 0 : last.gossipPort + k,
      respPort: last.respPort === null || last.respPort === 0 ? last.respPort : last.respPort + k,
      tlsPort: last.tlsPort === null || last.tlsPort === 0 ? last.tlsPort : last.tlsPort + k,
      httpPort: last.httpPort === 0 ? 0 : last.httpPort + k,
    });
  }
  const ids = new Set(nodes.map((x) => x.id));
  const seeds = cfg.seeds.filter((s) => ids.has(s) || isSeedAddress(s));
  return { ...cfg, nodes, seeds: seeds.length > 0 ? seeds : [nodes[0]?.id as string] };
}

export function registerClusterUp(program: Command): void {
  const cluster = program.command('cluster').description('run a local multi-node cluster');
  configOption(
    cluster
      .command('up')
      .description('start every node of the config as child processes, wait until they see each other, and stop them all on Ctrl-C'),
  )
    .option('--nodes <n>', 'run this many nodes (extra nodes take the ports after the last configured one)', intArg(1, 100))
    .option('--log-level <level>', 'log level for the nodes')
    .option('--ready-timeout <ms>', 'how long to wait for the cluster to form', intArg(1000, 600_000), 30_000)
    .action(async (flags: UpFlags, cmd: Command) => {
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
      const { nodes, seeds, gossip, dataDir, persistence, auth, gcounterKeys, logLevel, maxClients, protectedMode, maxmemory, tls, allocator } = cfg;
      const out = { cluster: cfg.cluster, nodes, seeds, gossip, dataDir, persistence, auth, gcounterKeys, logLevel: flags.logLevel ?? logLevel, maxClients, protectedMode, maxmemory, tls, allocator };
      try {
        validateConfig(out);
      } catch (e) {
        throw new Error(`the cluster to start is not valid (${flags.nodes !== undefined ? `--nodes ${flags.nodes}` : flags.logLevel !== undefined ? `--log-level ${flags.logLevel}` : 'config'}): ${(e as Error).message}`);
      }
      // A port already taken would let this command read another process's /status as its own
      // node's, and the node would only exit later: refuse before anything starts.
      const taken = await takenPorts(cfg.nodes);
      if (taken.length > 0) throw new Error(`cannot start the cluster: ${taken.join('; ')} already in use (another cluster running? stop it, or change the ports in ${flags.config})`);
      writePrivateFile(effective, JSON.stringify(out, null, 2));

      // Every node's malloc (util/allocator.ts): refused here, before any node starts, when the config
      // asks for jemalloc and it is not installed.
      const { env, chosen } = nodeEnv(process.env, allocator);
      if (chosen === 'system' && allocator === 'auto') console.log('allocator: libjemalloc.so.2 not found, the nodes run on the system malloc (install libjemalloc2 for less memory per key: docs/operations.md, "Memory allocator")');
      const children = new Map<string, ChildProcess>();
      const tty = process.stdout.isTTY === true;
      let stopping = false;
      let formed = false;
      /** Set when a node exits before the cluster formed: the reason the start failed. */
      let startFailure: string | null = null;
      // The exit code once every node has stopped: 0 after Ctrl-C, EXIT_FAILURE when the start failed.
      let exitCode = 0;
      cfg.nodes.forEach((n, i) => {
        const child = spawn(process.execPath, [...NODE_V8_FLAGS, MAIN, 'node', '--config', effective, '--id', n.id], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env,
        });
        children.set(n.id, child);
        const prefix = tty ? `${NODE_COLORS[i % NODE_COLORS.length]}[${n.id}]\x1b[0m` : `[${n.id}]`;
        pipeLines(child.stdout, (line) => console.log(`${prefix} ${prettyLine(line, tty)}`));
        pipeLines(child.stderr, (line) => console.error(`${prefix} ${line}`));
        child.on('exit', (code, signal) => {
          children.delete(n.id);
          const how = signal ?? `code ${code}`;
          if (!stopping && !formed) startFailure ??= `node ${n.id} exited (${how}) before the cluster formed; its last lines are above`;
          else if (!stopping) console.error(`${prefix} exited unexpectedly (${how})`);
          if (stopping && children.size === 0) process.exit(exitCode);
        });
      });

      const stopAll = (code: number): void => {
        if (stopping) return;
        stopping = true;
        exitCode = code;
        console.log(`\nstopping ${children.size} node(s)...`);
        for (const c of children.values()) c.kill('SIGTERM');
        if (children.size === 0) process.exit(exitCode);
        setTimeout(() => {
          for (const c of children.values()) c.kill('SIGKILL');
          process.exit(EXIT_FAILURE);
        }, 10_000).unref();
      };
      process.on('SIGINT', () => stopAll(0));
      process.on('SIGTERM', () => stopAll(0));

      const ready = await waitForCluster(cfg, flags.readyTimeout, () => (stopping ? 'stopping' : startFailure));
      if (stopping) return;
      if (!ready.ok) {
        process.stderr.write(`tally: ${startFailure ?? `cluster did not form within ${flags.readyTimeout} ms: ${ready.why}`}\n`);
        stopAll(EXIT_FAILURE);
        return;
      }
      formed = true;
      printConnectHelp(cfg, { config: flags.config, configNamed: configNamed(cmd) });
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

/** Every `host:port` of the config's nodes that something already listens on, as `<port> (<node> <field>) on <host>`. */
async function takenPorts(nodes: readonly NodeEntry[]): Promise<string[]> {
  const out: string[] = [];
  for (const n of nodes) {
    for (const field of ['respPort', 'tlsPort', 'httpPort', 'gossipPort'] as const) {
      const port = n[field];
      if (port !== null && port !== 0 && !(await canBind(n.host, port))) out.push(`port ${port} (${n.id} ${field}) on ${n.host}`);
    }
  }
  return out;
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code !== 'EADDRINUSE' && e.code !== 'EACCES'));
    s.listen({ host, port, exclusive: true }, () => s.close(() => done(true)));
  });
}

/**
 * Polls every node's /status until each is itself (its id and cluster) and sees every member alive;
 * stops early when `failed()` names a reason. /status needs credentials when the cluster has any:
 * the config's auth.password, or TALLY_USER and TALLY_PASSWORD; without them only each node's
 * /health (ready) is checked.
 */
async function waitForCluster(cfg: ClusterConfig, timeoutMs: number, failed: () => string | null): Promise<{ ok: true } | { ok: false; why: string }> {
  const deadline = Date.now() + timeoutMs;
  let why = 'no node answered yet';
  const creds: Credentials = credentialsFor(cfg, {});
  const needsCreds = cfg.auth.password !== null || cfg.auth.users.length > 0;
  const healthOnly = needsCreds && creds.password === undefined;
  const ca = caFor(cfg, undefined);
  while (Date.now() < deadline) {
    const f = failed();
    if (f !== null) return { ok: false, why: f };
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
        const st = r.body as { node: { id: string; cluster: string }; members: { id: string; state: string }[] };
        if (st.node.id !== n.id || st.node.cluster !== cfg.cluster) {
          all = false;
          why = `${urlsOf(cfg, n).http} answers as node '${st.node.id}' of cluster '${st.node.cluster}', not ${n.id} of '${cfg.cluster}'`;
          break;
        }
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
    // Checked again: a node may have exited while the others were answering.
    if (all && failed() === null) return { ok: true };
    await new Promise((r) => setTimeout(r, 200));
  }
  return { ok: false, why: failed() ?? why };
}

/** How redis-cli reaches node `n`: its plain port, or TLS, with the login this cluster needs. */
function redisCliFor(cfg: ClusterConfig, n: NodeEntry): string {
  const auth = cfg.auth.password !== null ? ' --askpass' : cfg.auth.users.length > 0 ? ' --user <user> --askpass' : '';
  const host = n.host === '127.0.0.1' ? '' : ` -h ${n.host}`;
  return n.respPort !== null ? `redis-cli${host} -p ${n.respPort}${auth}` : `redis-cli --tls${cfg.tls?.caFile ? ` --cacert ${cfg.tls.caFile}` : ''}${host} -p ${n.tlsPort}${auth}`;
}

/** The "Try:" lines: redis-cli and the tally CLI, with the config and the login this cluster needs. */
export function tryHint(cfg: ClusterConfig, o: { config: string; configNamed: boolean }): string[] {
  const first = cfg.nodes[0] as NodeEntry;
  const last = cfg.nodes[cfg.nodes.length - 1] as NodeEntry;
  const pw = cfg.auth.password !== null;
  // The tally CLI reads the password from the config it is given; name the config unless it is the default one.
  const rel = relative(process.cwd(), o.config) || o.config;
  const configFlag = o.configNamed || o.config !== DEFAULT_CONFIG_FILE ? ` --config ${/\s/.test(rel) ? JSON.stringify(rel) : rel}` : '';
  return [
    `Try:  ${redisCliFor(cfg, first)} INCR pageviews   then   ${redisCliFor(cfg, last)} GET pageviews`,
    ...(pw ? ['      (--askpass asks for auth.password of the config)'] : []),
    `      (or without redis-cli: npx tally incr pageviews --node ${first.id}${configFlag})`,
  ];
}

function printConnectHelp(cfg: ClusterConfig, o: { config: string; configNamed: boolean }): void {
  const redisCli = (n: NodeEntry): string => redisCliFor(cfg, n);
  const secured = cfg.auth.password !== null || cfg.auth.users.length > 0;
  const lines = [
    '',
    `tally cluster '${cfg.cluster}' is up: ${cfg.nodes.length} node(s), all alive and gossiping.`,
    '',
    ...cfg.nodes.map((n) => `  ${n.id}:  ${redisCli(n)}    ${urlsOf(cfg, n).ws}    ${urlsOf(cfg, n).http}/status`),
    '',
    ...tryHint(cfg, o),
    ...(secured ? [`      /status, /metrics and the dashboard ask for the same credentials (docs/security.md)`] : []),
    'Press Ctrl-C to stop every node.',
    '',
  ];
  console.log(lines.join('\n'));
}
