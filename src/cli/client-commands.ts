// Client commands for people: `tally incr | decr | get | del | pfadd | pfcount | window-create |
// window-incr | window-count | throttle | topk-list | leave | remove | status | watch`, against a node of the config
// (`--node <id>`, the config from --config or TALLY_CONFIG) or a URL (`--url`, no config needed).
// They use the typed WebSocket client; `status` reads the node's /status over HTTP.

import type { Command } from 'commander';
import { loadConfig, type ClusterConfig, type NodeEntry } from '../config/cluster-config.js';
import { TallyClient, TallyError, type TallyClientOptions, type WatchEvent } from '../client/index.js';
import { configNamed, configOption, intArg } from './args.js';
import { parseNodeUrl, URL_EXPECTED, type NodeEndpoint } from './node-url.js';
import { caFor, credentialsFor, getJson, PASSWORD_ENV, urlsOf, USER_ENV, type Credentials } from './target.js';

interface TargetFlags {
  config: string;
  node?: string;
  url?: string;
  user?: string;
  password?: string;
  cacert?: string;
  db?: number;
}

/** The node(s) a command talks to, the credentials to log in with and the CA to trust. */
interface Target {
  nodes: { id: string; ep: NodeEndpoint }[];
  credentials: Credentials;
  ca: Buffer | undefined;
  /** True when the user gave --url: a failure to connect then hints at what the URL should be. */
  byUrl: boolean;
}

function withTarget(cmd: Command, opts: { db?: boolean } = {}): Command {
  configOption(cmd)
    .option('--node <id>', 'node id in the config (default: the first node)')
    .option('--url <url>', `a node's URL instead of --node: ${URL_EXPECTED}`)
    .option('--user <name>', `user to log in as (default: ${USER_ENV}, else default)`)
    .option('--password <password>', `password (visible in the process list: prefer ${PASSWORD_ENV}; default: the config's auth.password, if one is read)`)
    .option('--cacert <file>', "CA certificate to trust for https/wss (default: the config's tls.caFile)");
  if (opts.db !== false) cmd.option('--db <n>', 'database 0-15', intArg(0, 15));
  return cmd;
}

/** Client options from a target's credentials and CA. */
function clientOptions(t: Target): TallyClientOptions {
  const c = t.credentials;
  return {
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.user !== undefined ? { username: c.user } : {}),
    ...(t.ca !== undefined ? { tls: { ca: t.ca } } : {}),
  };
}

function pickNode(cfg: ClusterConfig, id: string | undefined): NodeEntry {
  const n = id === undefined ? cfg.nodes[0] : cfg.nodes.find((x) => x.id === id);
  if (n === undefined) throw new Error(`--node: no node '${String(id)}' in the config (nodes: ${cfg.nodes.map((x) => x.id).join(', ')})`);
  return n;
}

function endpointOf(cfg: ClusterConfig, n: NodeEntry): NodeEndpoint {
  const host = n.host.includes(':') ? `[${n.host}]` : n.host;
  const secure = urlsOf(cfg, n).ws.startsWith('wss:');
  return { ws: `${secure ? 'wss' : 'ws'}://${host}:${n.httpPort}/ws`, http: `${secure ? 'https' : 'http'}://${host}:${n.httpPort}`, label: `${host}:${n.httpPort}` };
}

/**
 * Resolves --node / --url / --config into the nodes to talk to. With --url the config is read only
 * when one was named (for its password); with `all`, no --node and no --url means every node.
 */
function resolveTarget(t: TargetFlags, cmd: Command, all = false): Target {
  if (t.url !== undefined && t.node !== undefined) throw new Error('--node and --url both given: name the node one way');
  if (t.url !== undefined) {
    const ep = parseNodeUrl(t.url);
    const cfg = configNamed(cmd) ? loadConfig(t.config) : null;
    return { nodes: [{ id: ep.label, ep }], byUrl: true, credentials: credentialsFor(cfg, t), ca: caFor(cfg, t.cacert) };
  }
  const cfg = loadConfig(t.config);
  const nodes = all && t.node === undefined ? cfg.nodes : [pickNode(cfg, t.node)];
  return { nodes: nodes.map((n) => ({ id: n.id, ep: endpointOf(cfg, n) })), byUrl: false, credentials: credentialsFor(cfg, t), ca: caFor(cfg, t.cacert) };
}

/** The connect failure, with what to check: nothing listening, or a URL that is not a node's HTTP port. */
function connectError(url: string, e: unknown, byUrl: boolean): Error {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown }).code;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)) return new Error(`cannot connect to ${url}: nothing listens there (is the node running?)`);
  if (byUrl && !/NOAUTH|WRONGPASS|invalid password/i.test(msg)) return new Error(`cannot connect to ${url}: ${msg}; --url expects ${URL_EXPECTED}`);
  return new Error(`cannot connect to ${url}: ${msg}`);
}

async function connect(t: Target, ep: NodeEndpoint, db: number | undefined, reconnect: boolean, requestTimeoutMs?: number): Promise<TallyClient> {
  try {
    return await TallyClient.connect(ep.ws, { reconnect, ...clientOptions(t), ...(db !== undefined ? { db } : {}), ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}) });
  } catch (e) {
    throw connectError(ep.ws, e, t.byUrl);
  }
}

async function withClient<T>(t: TargetFlags, cmd: Command, fn: (c: TallyClient) => Promise<T>, requestTimeoutMs?: number): Promise<T> {
  const target = resolveTarget(t, cmd);
  const c = await connect(target, (target.nodes[0] as { ep: NodeEndpoint }).ep, t.db, false, requestTimeoutMs);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** An integer argument of a client command; `what` names it in the error. */
function integer(what: string, v: string | undefined, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (v === undefined || !/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new Error(`${what}: expected an integer, got '${String(v)}'`);
  return Number(v);
}

function show(v: unknown): void {
  console.log(v === null ? '(nil)' : String(v));
}

export function registerClientCommands(program: Command): void {
  withTarget(program.command('incr <key> [by]').description('increment a counter (by 1 or <by>) and print its new value')).action(
    async (key: string, by: string | undefined, t: TargetFlags, cmd: Command) => show(await withClient(t, cmd, (c) => c.incr(key, integer('<by>', by, 1)))),
  );
  withTarget(program.command('decr <key> [by]').description('decrement a counter (by 1 or <by>) and print its new value')).action(
    async (key: string, by: string | undefined, t: TargetFlags, cmd: Command) => show(await withClient(t, cmd, (c) => c.decr(key, integer('<by>', by, 1)))),
  );
  withTarget(program.command('get <key>').description("print a counter's value on one node")).action(
    async (key: string, t: TargetFlags, cmd: Command) => show(await withClient(t, cmd, (c) => c.get(key))),
  );
  withTarget(program.command('del <keys...>').description('delete keys (an observed reset) and print how many existed')).action(
    async (keys: string[], t: TargetFlags, cmd: Command) => show(await withClient(t, cmd, (c) => c.del(...keys))),
  );
  withTarget(program.command('pfadd <key> <elements...>').description('add elements to a HyperLogLog; prints 1 if it changed')).action(
    async (key: string, els: string[], t: TargetFlags, cmd: Command) => show(await withClient(t, cmd, async (c) => ((await c.pfadd(key, ...els)) ? 1 : 0))),
  );
  withTarget(program.command('pfcount <keys...>').description('estimated number of distinct elements in the union of HyperLogLogs')).action(
    async (keys: string[], t: TargetFlags, cmd: Command) => show(await withClient(t, cmd, (c) => c.pfcount(...keys))),
  );
  withTarget(
    program
      .command('window-create <key> <granularity_s> <retention_s>')
      .description('create a windowed counter (WINDOW.CREATE): buckets of <granularity_s> seconds kept for <retention_s> seconds; prints OK'),
  ).action(async (key: string, g: string, r: string, t: TargetFlags, cmd: Command) => {
    const granularity = integer('<granularity_s>', g);
    const retention = integer('<retention_s>', r);
    await withClient(t, cmd, (c) => c.windowCreate(key, granularity, retention));
    show('OK');
  });
  withTarget(program.command('window-incr <key> [by]').description("add to a windowed counter (WINDOW.INCRBY) at the node's time; prints the bucket total")).action(
    async (key: string, by: string | undefined, t: TargetFlags, cmd: Command) => show(await withClient(t, cmd, (c) => c.windowIncr(key, integer('<by>', by, 1)))),
  );
  withTarget(program.command('window-count <key> <seconds>').description('sliding-window count of the last <seconds> (WINDOW.SLIDING)')).action(
    async (key: string, sec: string, t: TargetFlags, cmd: Command) => show(await withClient(t, cmd, (c) => c.windowSliding(key, integer('<seconds>', sec)))),
  );
  withTarget(program.command('throttle <key> <limit> <period_s> [cost]').description('check and count against a cluster-wide rate limit; prints allowed, remaining, retry-after')).action(
    async (key: string, limit: string, period: string, cost: string | undefined, t: TargetFlags, cmd: Command) => {
      const args = [integer('<limit>', limit), integer('<period_s>', period), integer('[cost]', cost, 1)] as const;
      const r = await withClient(t, cmd, (c) => c.throttle(key, ...args));
      console.log(`${r.allowed ? 'allowed' : 'limited'} limit=${r.limit} remaining=${r.remaining} retry_after=${r.retryAfterS}s reset_after=${r.resetAfterS}s`);
    },
  );
  withTarget(program.command('topk-list <key>').description('the heavy hitters of a Top-K key, with estimated counts')).action(
    async (key: string, t: TargetFlags, cmd: Command) => {
      for (const e of await withClient(t, cmd, (c) => c.topkList(key))) console.log(`${e.item}\t${String(e.count)}`);
    },
  );

  // Membership (docs/operations.md, "Adding and removing nodes"): admin commands, as an admin user.
  withTarget(
    program
      .command('leave')
      .description('make the node (--node or --url) leave the cluster for good: it hands its state to a majority of the others, stops counting toward majorities, and exits 0'),
    { db: false },
  )
    .option('--timeout <ms>', 'how long the hand-off may take before the leave is given up (the node then stays a member)', intArg(1, 3_600_000), 30_000)
    .action(async (t: TargetFlags & { timeout: number }, cmd: Command) => {
      const target = resolveTarget(t, cmd);
      await withClient(t, cmd, (c) => c.command('tally.leave', 'timeout', String(t.timeout)), t.timeout + 5000);
      console.log(`${(target.nodes[0] as { id: string }).id} left the cluster: a majority of the other members hold everything it held, and it is stopping`);
    });
  withTarget(
    program
      .command('remove <id>')
      .description('remove the dead or stopped member <id> from the cluster for good, through the node --node or --url (majorities are then counted without it; the id can never rejoin)'),
    { db: false },
  ).action(async (id: string, t: TargetFlags, cmd: Command) => {
    await withClient(t, cmd, (c) => c.command('tally.remove', id));
    console.log(`${id} removed from the cluster; every member learns it by gossip`);
  });

  withTarget(program.command('status').description("print a node's view of the cluster: members, their state and incarnation"), { db: false })
    .option('--json', 'print the raw /status JSON')
    .action(async (t: TargetFlags & { json?: boolean }, cmd: Command) => {
      const target = resolveTarget(t, cmd);
      const ep = (target.nodes[0] as { ep: NodeEndpoint }).ep;
      const url = `${ep.http}/status`;
      let st: StatusJson;
      try {
        const r = await getJson(url, { credentials: target.credentials, ...(target.ca === undefined ? {} : { ca: target.ca }) });
        if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${String((r.body as { error?: unknown }).error ?? '')}${r.status === 401 ? ` (give --user and ${PASSWORD_ENV})` : ''}`);
        st = r.body as StatusJson;
      } catch (e) {
        const err = e as Error & { code?: string; cause?: { code?: string } };
        if (err.code === 'ECONNREFUSED' || err.cause?.code === 'ECONNREFUSED') throw new Error(`cannot read ${url}: nothing listens there (is the node running?)`);
        throw new Error(`cannot read ${url}: ${err.message}${target.byUrl ? `; --url expects ${URL_EXPECTED}` : ''}`);
      }
      if (t.json === true) {
        console.log(JSON.stringify(st, null, 2));
        return;
      }
      console.log(`cluster ${st.node.cluster}, seen from ${st.node.id} (incarnation ${st.node.incarnation}, up ${Math.round(st.node.uptimeMs / 1000)} s)\n`);
      // Voter: counts toward majorities; joining members are catching up, removed ones gone for good.
      const vote = (m: StatusJson['members'][number]): string => (m.joining === true ? 'joining' : m.voter === false ? 'no' : 'yes');
      const rows = st.members.map((m) => [m.id, m.state, vote(m), String(m.incarnation), m.address, m.id === st.node.id ? '(self)' : m.lastHeardMsAgo === null ? '-' : `${m.lastHeardMsAgo} ms ago`]);
      table(['member', 'state', 'voter', 'incarnation', 'address', 'last heard'], rows);
      if (st.quorum !== undefined) console.log(`\nmajority: ${st.quorum.majority} of ${st.quorum.clusterSize} members${st.quorum.joining ? ' (this node is still joining: it counts once caught up)' : ''}`);
      const types = Object.entries(st.keys.byType).map(([k, v]) => `${k} ${v}`).join(', ');
      console.log(`\nkeys: ${st.keys.total} (${types}); gossip rounds ${st.gossip.rounds}`);
      if (st.convergence !== undefined) {
        const c = st.convergence;
        console.log(c.outOfSync === 0 ? `in sync with all ${c.peers} peer(s) heard from` : `out of sync with ${c.outOfSync} of ${c.peers} peer(s); estimated lag ${c.maxLagMs} ms`);
      }
      console.log(`dashboard: ${ep.http}/   metrics: ${ep.http}/metrics`);
    });

  withTarget(program.command('watch <keys...>').description('show the value of keys on every node of the config (or the one --node or --url), live, until Ctrl-C')).action(
    async (keys: string[], t: TargetFlags, cmd: Command) => {
      const target = resolveTarget(t, cmd, true);
      const values = new Map<string, Map<string, string>>(); // node -> key -> value
      const tty = process.stdout.isTTY === true;
      const render = (): void => {
        const rows = keys.map((k) => {
          const vs = target.nodes.map((n) => values.get(n.id)?.get(k) ?? '…');
          return [k, ...vs, vs.every((v) => v === vs[0]) ? 'yes' : 'no'];
        });
        if (tty) process.stdout.write('\x1b[H\x1b[2J');
        console.log(`watching ${keys.length} key(s) on ${target.nodes.length} node(s); Ctrl-C to stop\n`);
        table(['key', ...target.nodes.map((n) => n.id), 'same everywhere'], rows);
      };
      const clients: TallyClient[] = [];
      const failures: string[] = [];
      // Listening for the stop signals before the first value can be printed: a SIGTERM sent on
      // seeing it (a supervisor, or the CLI test under load) otherwise killed the process (no exit 0).
      const stopped = new Promise<void>((resolveStop) => {
        const stop = (): void => resolveStop();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      for (const n of target.nodes) {
        values.set(n.id, new Map());
        try {
          const c = await connect(target, n.ep, t.db, true);
          clients.push(c);
          c.on('disconnect', () => {
            for (const k of keys) values.get(n.id)?.set(k, 'down');
            render();
          });
          await c.watch(keys, (ev: WatchEvent) => {
            values.get(n.id)?.set(ev.key, ev.value === null ? '(nil)' : String(ev.value));
            if (tty) render();
            else console.log(`${new Date().toISOString()} ${n.id} ${ev.key} ${ev.value === null ? '(nil)' : String(ev.value)}`);
          });
        } catch (e) {
          for (const k of keys) values.get(n.id)?.set(k, 'unreachable');
          const msg = e instanceof TallyError ? `cannot connect to ${n.ep.ws}: ${e.message}` : (e as Error).message;
          failures.push(msg);
          process.stderr.write(`tally: ${n.id}: ${msg}\n`);
        }
      }
      // Nothing to watch: fail rather than sit there showing "unreachable".
      if (clients.length === 0) throw new Error(`no node could be watched (${failures.length} failed)`);
      if (tty) render();
      await stopped;
      await Promise.all(clients.map((c) => c.close()));
    },
  );
}

interface StatusJson {
  node: { id: string; cluster: string; incarnation: number; uptimeMs: number };
  members: { id: string; state: string; incarnation: number; address: string; lastHeardMsAgo: number | null; voter?: boolean; joining?: boolean }[];
  quorum?: { clusterSize: number; majority: number; joining: boolean };
  keys: { total: number; byType: Record<string, number> };
  gossip: { rounds: number };
  convergence?: { maxLagMs: number; outOfSync: number; peers: number };
}

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(head));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}
