// `npm run bench -- scale [--keys=N] [--writers=1|3] [--persistence=everysec|none|always] [--json] [--cpu-prof=<dir>]`:
// a million distinct keys, tally beside redis-server in the same run. A 3-node tally cluster from a
// generated config (persistence everysec unless given, loopback ports chosen free) and a redis-server
// (its closest setting: appendfsync everysec, or appendonly no for none) each get N
// `INCR user:i` through `redis-cli --pipe` (to n1 for tally). Reported: ingest time and its ratio to
// redis, the time after the pipe until both peers hold all N keys (DBSIZE polled), and bytes per key
// by INFO used_memory and by RSS, whole and its anonymous part (growth over the idle process,
// divided by N, each read once no tally node has writes on their way to disk, `committed`, after
// MEMORY PURGE, `purge`, and RSS once each tally node's young generation is back at its quiet size,
// `youngTrimmed`, and RSS has settled), the time each PURGE
// took, and CPU seconds each server used (from /proc: steadier than wall time on a shared machine).
// Never asserts.
// With three writers (the default), the same N INCRs then go to n2 and then n3 (and again to
// redis-server): every key gains the slots of two more writers, and updating keys that exist is
// timed beside creating them. Reported: each writer's update ingest time, the time after its pipe
// until every node holds its slots (the next pipe starts then), and bytes per key with three slots.
// `--cpu-prof=<dir>` runs every node under `node --cpu-prof` (the profile is written when it stops).
//
// A second anchor does the job tally's cluster does: a redis-server primary with two replicas
// (`replicaof`, each with the same persistence), on this machine, gets the same pipe after the lone
// redis-server's, and is stopped before tally's. Reported beside it: its ingest, the time after its
// pipe until both replicas hold all N keys, its CPU and its replicas', and tally's ingest as a ratio
// to it. On a machine of two cores a writer competes with its peers, which take every key too, as a
// primary competes with its replicas; the lone redis-server does not replicate at all.
//
// And the runtime's floor (floor-server.ts): a Node.js RESP server of a Map whose keys lmdb-js
// writes as tally's everysec writes them, with nothing of tally's, gets the same pipe too (after the
// replicated anchor, stopped before tally's): what part of the distance from redis-server the
// runtime and the store's library take by themselves.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TRIM_ABOVE_BYTES } from '../../src/node/young-trim.js';
import { printTable, type Row } from './report.js';
import { cpuOf, numArg, PERSISTENCE_MODES, startFloor, startRedis, startTallyCluster, stop, type Mode, type Server, type TallyNode } from './servers.js';

/** `--name=value` or `--name value` string option. */
function strArg(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = args[i] ?? '';
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
}

/** One RESP command on a fresh connection; resolves with the raw reply text (a bulk string's payload). */
function query(port: number, ...argv: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.once('error', rej);
    s.once('connect', () => s.write(`*${argv.length}\r\n${argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      const text = all.toString('latin1');
      const eol = text.indexOf('\r\n');
      if (eol < 0) return;
      if (text[0] === '$') {
        const len = Number(text.slice(1, eol));
        if (all.length < eol + 2 + len + 2) return;
        s.destroy();
        res(all.subarray(eol + 2, eol + 2 + len).toString());
      } else {
        s.destroy();
        res(text.slice(1, eol));
      }
    });
  });
}

async function dbsize(port: number): Promise<number> {
  return Number(await query(port, 'DBSIZE'));
}

async function infoField(port: number, section: string, field: string): Promise<number> {
  const info = await query(port, 'INFO', section);
  const m = new RegExp(`${field}:(\\d+)`).exec(info);
  return m ? Number(m[1]) : NaN;
}

async function usedMemory(port: number): Promise<number> {
  const info = await query(port, 'INFO', 'memory');
  const m = /used_memory:(\d+)/.exec(info);
  return m ? Number(m[1]) : NaN;
}

/**
 * MEMORY PURGE on every server, before each reading of memory: INFO used_memory is V8's used heap (with what it counts outside it, typed arrays),
 * which counts garbage not yet collected, and an idle node collects none (right after a catch-up
 * it read 480 to 1,960 B per key for the same state), while redis-server's counts only what it
 * holds. On tally PURGE is a full collection; on redis-server it hands free pages back (RSS).
 */
async function purge(ports: readonly number[]): Promise<number[]> {
  return Promise.all(
    ports.map(async (p) => {
      const t0 = performance.now();
      await query(p, 'MEMORY', 'PURGE');
      return performance.now() - t0;
    }),
  );
}

/** Polls `ready` every 250 ms until it is true, for at most `ms`. */
async function waitFor(ready: () => Promise<boolean>, ms: number): Promise<void> {
  for (const until = performance.now() + ms; performance.now() < until && !(await ready()); ) await new Promise((r) => setTimeout(r, 250));
}

/**
 * Waits (at most 30 s) until no tally node has writes on their way to disk (INFO persistence: keys
 * not yet in a commit, commits being written or synced). Read at once after their catch-up, the peers
 * held their last commit's records in flight: 4-21 B per key more used memory than three seconds
 * later, which is not what a node holds per key.
 */
async function committed(ports: readonly number[]): Promise<void> {
  // (Without a store, persistence none, neither field is there: nothing is on its way to disk.)
  const idle = async (p: number): Promise<boolean> => !((await infoField(p, 'persistence', 'tally_commit_pending_keys')) > 0) && !((await infoField(p, 'persistence', 'tally_commits_in_flight')) > 0);
  await waitFor(async () => (await Promise.all(ports.map(idle))).every(Boolean), 30_000);
}

/**
 * Waits (at most 15 s) until each tally node's young generation is back at its quiet size: a node
 * gives the pages its young generation grew into under the load back within about 5 s of going
 * quiet (src/node/young-trim.ts), 32 MB a node, and RSS is read as a quiet node holds it.
 */
async function youngTrimmed(ports: readonly number[]): Promise<void> {
  const small = async (p: number): Promise<boolean> => (await infoField(p, 'memory', 'tally_young_generation')) <= TRIM_ABOVE_BYTES;
  await waitFor(async () => (await Promise.all(ports.map(small))).every(Boolean), 15_000);
}

/**
 * RSS of a process, and the part of it that is anonymous memory (RssAnon): the rest is mostly
 * file pages mapped in (tally's LMDB file, 365-392 MB of a node's RSS after the three writers'
 * updates), page cache the kernel can drop at will, which redis-server's append-only file is not.
 */
function rssOf(pid: number | undefined): { rss: number; anon: number } {
  if (pid === undefined) return { rss: NaN, anon: NaN };
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb('VmRSS'), anon: kb('RssAnon') };
}

/**
 * RSS of `pid` once it has settled: read every 250 ms until two readings differ by less than 1 MB
 * (at most 5 s). The pages a collection frees are handed back by a V8 thread a moment after MEMORY
 * PURGE has answered: read at once, a writer's RSS after a compacting PURGE came out at 824 B per key
 * where the same process held 559 a few seconds later.
 */
async function settledRss(pid: number | undefined): Promise<{ rss: number; anon: number }> {
  let last = rssOf(pid);
  for (let waited = 0; waited < 5000; waited += 250) {
    await new Promise((r) => setTimeout(r, 250));
    const now = rssOf(pid);
    if (Math.abs(now.rss - last.rss) < 1024 * 1024) return now;
    last = now;
  }
  return last;
}

/** Writes the RESP form of N `INCR user:i` to a file, for `redis-cli --pipe`. */
async function writePipeInput(file: string, n: number): Promise<void> {
  const out = createWriteStream(file);
  const BATCH = 10_000;
  for (let i = 0; i < n; i += BATCH) {
    let s = '';
    for (let j = i; j < Math.min(n, i + BATCH); j++) {
      const key = `user:${j}`;
      s += `*2\r\n$4\r\nINCR\r\n$${key.length}\r\n${key}\r\n`;
    }
    if (!out.write(s)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}

/** `redis-cli --pipe` of the file into `port`; resolves with the wall time in ms. */
function pipe(port: number, file: string): Promise<number> {
  const fd = openSync(file, 'r');
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const p = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--pipe'], { stdio: [fd, 'pipe', 'pipe'] });
    let out = '';
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) => {
      closeSync(fd);
      const ms = performance.now() - t0;
      if (code !== 0 || !/errors: 0/.test(out)) rej(new Error(`redis-cli --pipe failed (${code}): ${out.slice(-300)}`));
      else res(ms);
    });
  });
}

/** What the redis-server primary with two replicas did with the pipe. */
interface ReplicatedRedis {
  ingestMs: number;
  /** After the pipe, until both replicas held every key (NaN: not within the time allowed). */
  catchupMs: number;
  /** The primary's CPU during its pipe, and each replica's from the pipe until both had caught up. */
  cpuS: number;
  replicaCpuS: number[];
}

/**
 * Pipes `input` into a redis-server primary with two replicas of it (each in a directory of its own
 * under `dir`, the pipe once both replicas have finished their first sync) and times it, and its
 * replicas' catch-up; all three are stopped after.
 */
async function replicatedRedis(mode: Mode, dir: string, input: string, n: number, catchupTimeoutMs: number): Promise<ReplicatedRedis> {
  const started: Server[] = [];
  try {
    const sub = (name: string): string => {
      const d = join(dir, name);
      mkdirSync(d);
      return d;
    };
    const primary = await startRedis(mode, sub('primary'));
    started.push(primary);
    for (const name of ['replica1', 'replica2']) started.push(await startRedis(mode, sub(name), undefined, primary.port));
    const replicas = started.slice(1);
    const synced = async (r: Server): Promise<boolean> => {
      const info = await query(r.port, 'INFO', 'replication');
      return /master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info);
    };
    await waitFor(async () => (await Promise.all(replicas.map(synced))).every(Boolean), 30_000);
    if (!(await Promise.all(replicas.map(synced))).every(Boolean)) throw new Error('the redis-server replicas did not finish their first sync within 30 s');
    const cpu0 = started.map((r) => cpuOf(r.proc.pid));
    const ingestMs = await pipe(primary.port, input);
    const cpuS = cpuOf(primary.proc.pid) - (cpu0[0] ?? NaN);
    const t0 = performance.now();
    const held = async (): Promise<boolean> => (await Promise.all(replicas.map((r) => dbsize(r.port)))).every((k) => k >= n);
    let done = await held();
    while (!done && performance.now() - t0 < catchupTimeoutMs) {
      await new Promise((r) => setTimeout(r, 100));
      done = await held();
    }
    const catchupMs = done ? performance.now() - t0 : NaN;
    const replicaCpuS = replicas.map((r, i) => cpuOf(r.proc.pid) - (cpu0[i + 1] ?? NaN));
    return { ingestMs, catchupMs, cpuS, replicaCpuS };
  } finally {
    await Promise.all(started.map((r) => stop(r.proc)));
  }
}

/** Pipes `input` into the runtime's floor (with `store`, its keys written to LMDB) and times it. */
async function floorIngest(dir: string, store: boolean, input: string, n: number): Promise<{ ingestMs: number; cpuS: number; keys: number }> {
  const d = join(dir, 'floor');
  mkdirSync(d);
  const floor = await startFloor(d, store);
  try {
    const c0 = cpuOf(floor.proc.pid);
    const ingestMs = await pipe(floor.port, input);
    const cpuS = cpuOf(floor.proc.pid) - c0;
    const keys = await dbsize(floor.port);
    if (keys !== n) throw new Error(`the floor server holds ${keys} keys after the pipe, not ${n}`);
    return { ingestMs, cpuS, keys };
  } finally {
    await stop(floor.proc);
  }
}

/** Stops gracefully (SIGTERM, so a --cpu-prof profile is written), SIGKILL after 20 s. */
async function stopGracefully(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.pid === undefined) return;
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  process.kill(p.pid, 'SIGTERM');
  const t = setTimeout(() => void stop(p), 20_000);
  await gone;
  clearTimeout(t);
}

export async function run(args: string[]): Promise<unknown> {
  const n = Number(strArg(args, 'keys') ?? numArg(args, 'n', 1_000_000));
  const catchupTimeoutMs = numArg(args, 'catchup-timeout', 600) * 1000;
  const profDir = strArg(args, 'cpu-prof');
  const writers = Number(strArg(args, 'writers') ?? 3);
  if (writers !== 1 && writers !== 3) throw new Error(`--writers must be 1 or 3, got ${String(strArg(args, 'writers'))}`);
  const persistence = (strArg(args, 'persistence') ?? 'everysec') as Mode;
  if (!PERSISTENCE_MODES.includes(persistence)) throw new Error(`--persistence must be one of ${PERSISTENCE_MODES.join(', ')}, got ${persistence}`);
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-scale-'));
  const input = join(dir, 'input.resp');
  await writePipeInput(input, n);
  const redisDir = join(dir, 'redis');
  mkdirSync(redisDir);
  const redis = await startRedis(persistence, redisDir);
  const tally: TallyNode[] = [];
  try {
    await startTallyCluster(dir, persistence, tally, profDir === undefined ? undefined : resolve(profDir));
    const [n1, n2, n3] = tally as [TallyNode, TallyNode, TallyNode];
    // Let the cluster form (all three see each other) before measuring the idle baseline.
    await new Promise((r) => setTimeout(r, 2000));
    const servers = [redis.port, ...tally.map((t) => t.respPort)];
    // Each reading of memory: MEMORY PURGE on every server, then used_memory and the settled RSS of each.
    // The time each PURGE took (a compacting collection on tally, which stops the node) is reported too.
    const memoryNow = async (): Promise<{ redis: { used: number; rss: number; anon: number }; tally: { used: number; rss: number; anon: number; purgeMs: number }[] }> => {
      const tallyPorts = tally.map((t) => t.respPort);
      await committed(tallyPorts);
      const purgeMs = await purge(servers);
      const used = await Promise.all(servers.map(usedMemory));
      await youngTrimmed(tallyPorts);
      return {
        redis: { used: used[0] ?? NaN, ...(await settledRss(redis.proc.pid)) },
        tally: await Promise.all(tally.map(async (t, i) => ({ used: used[i + 1] ?? NaN, ...(await settledRss(t.proc.pid)), purgeMs: purgeMs[i + 1] ?? NaN }))),
      };
    };
    const before = await memoryNow();
    const cpus = (): number[] => [redis.proc.pid, ...tally.map((t) => t.proc.pid)].map((pid) => cpuOf(pid));
    const cpu0 = cpus();
    const redisMs = await pipe(redis.port, input);
    const redisCpu = cpuOf(redis.proc.pid) - (cpu0[0] ?? NaN);
    const replicated = await replicatedRedis(persistence, dir, input, n, catchupTimeoutMs);
    const floor = await floorIngest(dir, persistence !== 'none', input, n);
    const cpu1 = cpus();
    const tallyMs = await pipe(n1.respPort, input);
    const cpu2 = cpus();
    const t0 = performance.now();
    const caughtUp: Record<string, number> = {};
    while (performance.now() - t0 < catchupTimeoutMs && Object.keys(caughtUp).length < 2) {
      for (const p of [n2, n3]) {
        if (caughtUp[p.id] === undefined && (await dbsize(p.respPort)) >= n) caughtUp[p.id] = performance.now() - t0;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const catchupMs = Object.keys(caughtUp).length === 2 ? Math.max(...Object.values(caughtUp)) : NaN;
    const cpu3 = cpus();
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    // CPU: redis-server's during its pipe (read then: the anchors run next); the writer's during its
    // pipe; each peer's from the writer's pipe until both had caught up.
    const cpuOfNode = (i: number): number => r2(i === 0 ? (cpu2[1] ?? NaN) - (cpu1[1] ?? NaN) : (cpu3[i + 1] ?? NaN) - (cpu1[i + 1] ?? NaN));
    const sizes = await Promise.all(tally.map((t) => dbsize(t.respPort)));
    const after = await memoryNow();
    const gossipOut = await Promise.all(tally.map((t) => infoField(t.respPort, 'gossip', 'gossip_bytes_out')));
    const chunked = await Promise.all(tally.map((t) => infoField(t.respPort, 'gossip', 'gossip_chunked_deltas')));
    const per = (a: number, b: number): number => Math.round((a - b) / n);
    const redisUsed = per(after.redis.used, before.redis.used);
    const redisRss = per(after.redis.rss, before.redis.rss);
    const redisAnon = per(after.redis.anon, before.redis.anon);
    const nodes = tally.map((t, i) => ({
      id: t.id,
      cpuS: cpuOfNode(i),
      keys: sizes[i] ?? 0,
      usedPerKey: per(after.tally[i]?.used ?? NaN, before.tally[i]?.used ?? NaN),
      rssPerKey: per(after.tally[i]?.rss ?? NaN, before.tally[i]?.rss ?? NaN),
      anonRssPerKey: per(after.tally[i]?.anon ?? NaN, before.tally[i]?.anon ?? NaN),
      purgeMs: Math.round(after.tally[i]?.purgeMs ?? NaN),
      gossipOutPerKey: Math.round((gossipOut[i] ?? NaN) / n),
      chunkedDeltas: chunked[i] ?? NaN,
    }));
    const rows: Row[] = [
      { server: 'redis-server', 'ingest s': r2(redisMs / 1000), 'x redis': 1, 'x replicated': '-', 'catch-up s': '-', 'CPU s': r2(redisCpu), 'CPU x redis': 1, keys: n, 'used_memory B/key': redisUsed, 'RSS B/key': redisRss, 'RSS x redis': 1, 'anon RSS B/key': redisAnon, 'PURGE ms': '-', 'gossip out B/key': '-', 'chunked deltas': '-' },
      { server: 'redis-server + 2 replicas', 'ingest s': r2(replicated.ingestMs / 1000), 'x redis': r2(replicated.ingestMs / redisMs), 'x replicated': 1, 'catch-up s': Number.isNaN(replicated.catchupMs) ? 'timeout' : r2(replicated.catchupMs / 1000), 'CPU s': r2(replicated.cpuS), 'CPU x redis': r2(replicated.cpuS / redisCpu), keys: n, 'used_memory B/key': '-', 'RSS B/key': '-', 'RSS x redis': '-', 'anon RSS B/key': '-', 'PURGE ms': '-', 'gossip out B/key': '-', 'chunked deltas': '-' },
      { server: `runtime floor${persistence === 'none' ? '' : ' (+ LMDB, everysec)'}`, 'ingest s': r2(floor.ingestMs / 1000), 'x redis': r2(floor.ingestMs / redisMs), 'x replicated': '-', 'catch-up s': '-', 'CPU s': r2(floor.cpuS), 'CPU x redis': r2(floor.cpuS / redisCpu), keys: floor.keys, 'used_memory B/key': '-', 'RSS B/key': '-', 'RSS x redis': '-', 'anon RSS B/key': '-', 'PURGE ms': '-', 'gossip out B/key': '-', 'chunked deltas': '-' },
      ...nodes.map((t) => ({
        server: `tally ${t.id}${t.id === 'n1' ? ' (writer)' : ''}`,
        'ingest s': t.id === 'n1' ? r2(tallyMs / 1000) : '-',
        'x redis': t.id === 'n1' ? r2(tallyMs / redisMs) : '-',
        'x replicated': t.id === 'n1' ? r2(tallyMs / replicated.ingestMs) : '-',
        'catch-up s': t.id === 'n1' ? '-' : caughtUp[t.id] === undefined ? 'timeout' : r2((caughtUp[t.id] ?? 0) / 1000),
        'CPU s': t.cpuS,
        'CPU x redis': r2(t.cpuS / redisCpu),
        keys: t.keys,
        'used_memory B/key': t.usedPerKey,
        'RSS B/key': t.rssPerKey,
        'RSS x redis': r2(t.rssPerKey / redisRss),
        'anon RSS B/key': t.anonRssPerKey,
        'PURGE ms': t.purgeMs,
        'gossip out B/key': t.gossipOutPerKey,
        'chunked deltas': t.chunkedDeltas,
      })),
    ];
    printTable(`${n.toLocaleString('en-US')} distinct INCR user:N by redis-cli --pipe; 3-node tally (persistence ${persistence}) beside redis-server (${persistence === 'none' ? 'appendonly no' : `appendfsync ${persistence}`}) alone and as a primary with two replicas (x replicated: ingest against that primary's; its catch-up: both replicas'), and the runtime's floor (a Node.js RESP server of a Map${persistence === 'none' ? '' : ' whose keys lmdb-js writes as tally does'}: floor-server.ts); CPU s: redis-server's, the primary's and the writer's during their pipes, each peer's until both caught up (the replicas': ${replicated.replicaCpuS.map((c) => r2(c)).join(' and ')} s); memory once each tally node has nothing on its way to disk, after MEMORY PURGE (tally: a full, compacting garbage collection, PURGE ms its time), and RSS once settled (tally: its young generation given back)`, rows);
    const summary = {
      keys: n,
      redis: { ingestMs: redisMs, cpuS: redisCpu, usedPerKey: redisUsed, rssPerKey: redisRss, anonRssPerKey: redisAnon },
      redisReplicated: replicated,
      floor,
      tally: { ingestMs: tallyMs, ingestRatio: tallyMs / redisMs, ingestRatioReplicated: tallyMs / replicated.ingestMs, catchupMs, nodes },
    };
    if (writers === 1) return summary;

    // Three writer slots: the same INCRs into n2, then n3 (updates of keys they hold), and into redis again.
    const cpu4 = cpus();
    const redisUpdateMs = await pipe(redis.port, input);
    const cpu5 = cpus();
    const redisUpdateCpu = (cpu5[0] ?? NaN) - (cpu4[0] ?? NaN);
    const updateMs: Record<string, number> = {};
    const updateCpu: Record<string, number> = {};
    const settled: Record<string, number> = {};
    let converged = true;
    for (const [k, t] of [[2, n2], [3, n3]] as const) {
      // Each writer's pipe starts once every node holds the previous writers' slots, so it is timed alone.
      const c0 = cpuOf(t.proc.pid);
      updateMs[t.id] = await pipe(t.respPort, input);
      updateCpu[t.id] = cpuOf(t.proc.pid) - c0;
      const t1 = performance.now();
      let all = false;
      while (!all && performance.now() - t1 < catchupTimeoutMs) {
        const slots = await Promise.all(tally.map((x) => infoField(x.respPort, 'memory', 'tally_counter_slots')));
        all = slots.every((x) => x >= k * n);
        if (!all) await new Promise((r) => setTimeout(r, 100));
      }
      if (all) settled[t.id] = performance.now() - t1;
      converged &&= all;
    }
    const cpu6 = cpus();
    // Every node must count 3 for the first and the last key, or the figures are not of the state meant.
    const values = await Promise.all(tally.flatMap((t) => [query(t.respPort, 'GET', 'user:0'), query(t.respPort, 'GET', `user:${n - 1}`)]));
    converged &&= values.every((v) => v === '3');
    const after3 = await memoryNow();
    const slots = await Promise.all(tally.map((t) => infoField(t.respPort, 'memory', 'tally_counter_slots')));
    const redisUsed3 = per(after3.redis.used, before.redis.used);
    const redisRss3 = per(after3.redis.rss, before.redis.rss);
    const redisAnon3 = per(after3.redis.anon, before.redis.anon);
    const nodes3 = tally.map((t, i) => ({
      id: t.id,
      updateMs: updateMs[t.id],
      updateCpuS: updateCpu[t.id] === undefined ? undefined : r2(updateCpu[t.id] as number),
      phaseCpuS: r2((cpu6[i + 1] ?? NaN) - (cpu5[i + 1] ?? NaN)),
      settleMs: settled[t.id],
      slotsPerKey: r2((slots[i] ?? NaN) / n),
      usedPerKey: per(after3.tally[i]?.used ?? NaN, before.tally[i]?.used ?? NaN),
      rssPerKey: per(after3.tally[i]?.rss ?? NaN, before.tally[i]?.rss ?? NaN),
      anonRssPerKey: per(after3.tally[i]?.anon ?? NaN, before.tally[i]?.anon ?? NaN),
      purgeMs: Math.round(after3.tally[i]?.purgeMs ?? NaN),
    }));
    const rows3: Row[] = [
      { server: 'redis-server', 'update ingest s': r2(redisUpdateMs / 1000), 'x redis': 1, 'settled s': '-', 'pipe CPU s': r2(redisUpdateCpu), 'CPU x redis': 1, 'all CPU s': r2(redisUpdateCpu), 'slots/key': '-', 'used_memory B/key': redisUsed3, 'RSS B/key': redisRss3, 'RSS x redis': 1, 'anon RSS B/key': redisAnon3, 'PURGE ms': '-' },
      ...nodes3.map((t) => ({
        server: `tally ${t.id}`,
        'update ingest s': t.updateMs === undefined ? '-' : r2(t.updateMs / 1000),
        'x redis': t.updateMs === undefined ? '-' : r2(t.updateMs / redisUpdateMs),
        'settled s': t.id === 'n1' ? '-' : t.settleMs === undefined ? 'timeout' : r2(t.settleMs / 1000),
        'pipe CPU s': t.updateCpuS ?? '-',
        'CPU x redis': t.updateCpuS === undefined ? '-' : r2(t.updateCpuS / redisUpdateCpu),
        'all CPU s': t.phaseCpuS,
        'slots/key': t.slotsPerKey,
        'used_memory B/key': t.usedPerKey,
        'RSS B/key': t.rssPerKey,
        'RSS x redis': r2(t.rssPerKey / redisRss3),
        'anon RSS B/key': t.anonRssPerKey,
        'PURGE ms': t.purgeMs,
      })),
    ];
    printTable(`The same ${n.toLocaleString('en-US')} INCRs again into n2, then n3 (updates: three writer slots per key), and into redis-server; settled: after that node's pipe, until every node holds its slots too; pipe CPU s: the writer's during its pipe; all CPU s: each node's over both writers' pipes and settling; memory after both${converged ? '' : ' (NOT CONVERGED: a node lacks slots or a count is not 3)'}`, rows3);
    return { ...summary, threeWriters: { converged, redis: { updateMs: redisUpdateMs, cpuS: redisUpdateCpu, usedPerKey: redisUsed3, rssPerKey: redisRss3, anonRssPerKey: redisAnon3 }, nodes: nodes3 } };
  } finally {
    await Promise.all(tally.map((t) => stopGracefully(t.proc)));
    await stop(redis.proc);
    rmSync(dir, { recursive: true, force: true });
  }
}
