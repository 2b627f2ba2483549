// Client commands for people: `tally incr | decr | get | del | pfadd | pfcount | status | watch`,
// against a node of the config (by id) or a URL. They use the typed WebSocket client.

import type { Command } from 'commander';
import { loadConfig, type ClusterConfig, type NodeEntry } from '../config/cluster-config.js';
import { TallyClient, TallyError, type TallyClientOptions, type WatchEvent } from '../client/index.js';
import { intArg } from './args.js';
import { caFor, credentialsFor, getJson, PASSWORD_ENV, urlsOf, USER_ENV } from './target.js';

interface Target {
  config: string;
  node?: string;
  url?: string;
  user?: string;
  password?: string;
  cacert?: string;
  db?: number;
}

function withCredentials(cmd: Command): Command {
  return cmd
    .option('--user <name>', `user to log in as (default: ${USER_ENV}, else default)`)
    .option('--password <password>', `password (visible in the process list: prefer ${PASSWORD_ENV}; default: the config's auth.password)`)
    .option('--cacert <file>', "CA certificate to trust for https/wss (default: the config's tls.caFile)");
}

function withTarget(cmd: Command): Command {
  return withCredentials(
    cmd
      .option('--config <file>', 'cluster config file', 'cluster.config.json')
      .option('--node <id>', 'node id in the config (default: the first node)')
      .option('--url <ws-url>', 'WebSocket URL of a node, instead of --node (ws://host:httpPort/ws, wss:// with TLS)'),
  ).option('--db <n>', 'database 0-15', intArg(0, 15));
}

/** Client options from credentials and a CA. */
function clientOptions(creds: { user?: string; password?: string }, ca: Buffer | undefined): TallyClientOptions {
  return {
    ...(creds.password !== undefined ? { password: creds.password } : {}),
    ...(creds.user !== undefined ? { username: creds.user } : {}),
    ...(ca !== undefined ? { tls: { ca } } : {}),
  };
}

function pickNode(cfg: ClusterConfig, id: string | undefined): NodeEntry {
  const n = id === undefined ? cfg.nodes[0] : cfg.nodes.find((x) => x.id === id);
  if (n === undefined) throw new Error(`--node: no node '${String(id)}' in the config (nodes: ${cfg.nodes.map((x) => x.id).join(', ')})`);
  return n;
}

function urlOf(t: Target): { url: string; options: TallyClientOptions } {
  if (t.url !== undefined) return { url: t.url, options: clientOptions(credentialsFor(null, t), caFor(null, t.cacert)) };
  const cfg = loadConfig(t.config);
  const n = pickNode(cfg, t.node);
  return { url: urlsOf(cfg, n).ws, options: clientOptions(credentialsFor(cfg, t), caFor(cfg, t.cacert)) };
}

async function withClient<T>(t: Target, fn: (c: TallyClient) => Promise<T>): Promise<T> {
  const { url, options } = urlOf(t);
  let c: TallyClient;
  try {
    c = await TallyClient.connect(url, { reconnect: false, ...options, ...(t.db !== undefined ? { db: t.db } : {}) });
  } catch (e) {
    throw new Error(`cannot connect to ${url}: ${(e as Error).message}`);
  }
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

function amount(v: string | undefined): number {
  if (v === undefined) return 1;
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new Error(`expected an integer amount, got '${v}'`);
  return Number(v);
}

function show(v: unknown): void {
  console.log(v === null ? '(nil)' : String(v));
}

export function registerClientCommands(program: Command): void {
  withTarget(program.command('incr <key> [by]').description('increment a counter (by 1 or <by>) and print its new value')).action(
    async (key: string, by: string | undefined, t: Target) => show(await withClient(t, (c) => c.incr(key, amount(by)))),
  );
  withTarget(program.command('decr <key> [by]').description('decrement a counter (by 1 or <by>) and print its new value')).action(
    async (key: string, by: string | undefined, t: Target) => show(await withClient(t, (c) => c.decr(key, amount(by)))),
  );
  withTarget(program.command('get <key>').description("print a counter's value on one node")).action(
    async (key: string, t: Target) => show(await withClient(t, (c) => c.get(key))),
  );
  withTarget(program.command('del <keys...>').description('delete keys (an observed reset) and print how many existed')).action(
    async (keys: string[], t: Target) => show(await withClient(t, (c) => c.del(...keys))),
  );
  withTarget(program.command('pfadd <key> <elements...>').description('add elements to a HyperLogLog; prints 1 if it changed')).action(
    async (key: string, els: string[], t: Target) => show(await withClient(t, async (c) => ((await c.pfadd(key, ...els)) ? 1 : 0))),
  );
  withTarget(program.command('window-incr <key> [by]').description('add to a windowed counter (WINDOW.INCRBY) at the node\'s time; prints the bucket total')).action(
    async (key: string, by: string | undefined, t: Target) => show(await withClient(t, (c) => c.windowIncr(key, amount(by)))),
  );
  withTarget(program.command('window-count <key> <seconds>').description('sliding-window count of the last <seconds> (WINDOW.SLIDING)')).action(
    async (key: string, sec: string, t: Target) => show(await withClient(t, (c) => c.windowSliding(key, amount(sec)))),
  );
  withTarget(program.command('throttle <key> <limit> <period_s> [cost]').description('check and count against a cluster-wide rate limit; prints allowed, remaining, retry-after')).action(
    async (key: string, limit: string, period: string, cost: string | undefined, t: Target) => {
      const r = await withClient(t, (c) => c.throttle(key, amount(limit), amount(period), amount(cost)));
      console.log(`${r.allowed ? 'allowed' : 'limited'} limit=${r.limit} remaining=${r.remaining} retry_after=${r.retryAfterS}s reset_after=${r.resetAfterS}s`);
    },
  );
  withTarget(program.command('topk-list <key>').description('the heavy hitters of a Top-K key, with estimated counts')).action(
    async (key: string, t: Target) => {
      for (const e of await withClient(t, (c) => c.topkList(key))) console.log(`${e.item}\t${String(e.count)}`);
    },
  );
  withTarget(program.command('pfcount <keys...>').description('estimated number of distinct elements in the union of HyperLogLogs')).action(
    async (keys: string[], t: Target) => show(await withClient(t, (c) => c.pfcount(...keys))),
  );

  withCredentials(
    program
      .command('status')
      .description("print a node's view of the cluster: members, their state and incarnation")
      .option('--config <file>', 'cluster config file', 'cluster.config.json')
      .option('--node <id>', 'node id in the config (default: the first node)')
      .option('--json', 'print the raw /status JSON'),
  ).action(async (t: { config: string; node?: string; json?: boolean; user?: string; password?: string; cacert?: string }) => {
      const cfg = loadConfig(t.config);
      const n = pickNode(cfg, t.node);
      const base = urlsOf(cfg, n).http;
      const url = `${base}/status`;
      let st: StatusJson;
      try {
        const r = await getJson(url, { credentials: credentialsFor(cfg, t), ...(caFor(cfg, t.cacert) === undefined ? {} : { ca: caFor(cfg, t.cacert) as Buffer }) });
        if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${String((r.body as { error?: unknown }).error ?? '')}${r.status === 401 ? ` (give --user and ${PASSWORD_ENV})` : ''}`);
        st = r.body as StatusJson;
      } catch (e) {
        throw new Error(`cannot read ${url}: ${(e as Error).message}`);
      }
      if (t.json === true) {
        console.log(JSON.stringify(st, null, 2));
        return;
      }
      console.log(`cluster ${st.node.cluster}, seen from ${st.node.id} (incarnation ${st.node.incarnation}, up ${Math.round(st.node.uptimeMs / 1000)} s)\n`);
      const rows = st.members.map((m) => [m.id, m.state, String(m.incarnation), m.address, m.id === st.node.id ? '(self)' : m.lastHeardMsAgo === null ? '-' : `${m.lastHeardMsAgo} ms ago`]);
      table(['member', 'state', 'incarnation', 'address', 'last heard'], rows);
      const types = Object.entries(st.keys).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${v}`).join(', ');
      console.log(`\nkeys: ${st.keys.total} (${types}); gossip rounds ${st.gossip.rounds}`);
      if (st.convergence !== undefined) {
        const c = st.convergence;
        console.log(c.outOfSync === 0 ? `in sync with all ${c.peers} peer(s) heard from` : `out of sync with ${c.outOfSync} of ${c.peers} peer(s); estimated lag ${c.maxLagMs} ms`);
      }
      console.log(`dashboard: ${base}/   metrics: ${base}/metrics`);
    });

  withCredentials(
    program
      .command('watch <keys...>')
      .description('show the value of keys on every node of the config, live, until Ctrl-C')
      .option('--config <file>', 'cluster config file', 'cluster.config.json')
      .option('--db <n>', 'database 0-15', intArg(0, 15)),
  ).action(async (keys: string[], t: { config: string; user?: string; password?: string; cacert?: string; db?: number }) => {
      const cfg = loadConfig(t.config);
      const options = clientOptions(credentialsFor(cfg, t), caFor(cfg, t.cacert));
      const values = new Map<string, Map<string, string>>(); // node -> key -> value
      const tty = process.stdout.isTTY === true;
      const render = (): void => {
        const rows = keys.map((k) => {
          const vs = cfg.nodes.map((n) => values.get(n.id)?.get(k) ?? '…');
          return [k, ...vs, vs.every((v) => v === vs[0]) ? 'yes' : 'no'];
        });
        if (tty) process.stdout.write('\x1b[H\x1b[2J');
        console.log(`watching ${keys.length} key(s) on ${cfg.nodes.length} node(s); Ctrl-C to stop\n`);
        table(['key', ...cfg.nodes.map((n) => n.id), 'same everywhere'], rows);
      };
      const clients: TallyClient[] = [];
      for (const n of cfg.nodes) {
        const url = urlsOf(cfg, n).ws;
        values.set(n.id, new Map());
        try {
          const c = await TallyClient.connect(url, { ...options, ...(t.db !== undefined ? { db: t.db } : {}) });
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
          console.error(`${n.id}: cannot connect to ${url}: ${e instanceof TallyError ? e.message : (e as Error).message}`);
        }
      }
      if (tty) render();
      await new Promise<void>((resolveStop) => {
        const stop = (): void => resolveStop();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await Promise.all(clients.map((c) => c.close()));
    });
}

interface StatusJson {
  node: { id: string; cluster: string; incarnation: number; uptimeMs: number };
  members: { id: string; state: string; incarnation: number; address: string; lastHeardMsAgo: number | null }[];
  keys: { total: number } & Record<string, number>;
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
