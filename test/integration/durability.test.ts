// Restart safety with real processes: a write load on every node with each acknowledged increment
// recorded, kill -9 at a seeded random moment, restart, and exact checks against the acknowledged
// counts on every node; a wiped data directory; everysec's bounded loss; corrupt and foreign data
// directories. Replay a failing run with TALLY_SEED=<seed>.

import { spawn } from 'node:child_process';
import { rmSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/util/rng.js';
import { Redis } from 'ioredis';
import { get as httpGet, MAIN, startCluster, until, waitForMembers, type TestCluster } from './harness.js';

const SEED = process.env.TALLY_SEED !== undefined ? Number(process.env.TALLY_SEED) : Math.floor(Math.random() * 2 ** 31);
// The test's own choices (victim, pauses) and each writer's amounts draw from separate generators,
// so a replay makes the same choices however the writers' replies interleave.
const rng = new SeededRng(SEED);
let writers = 0;
const clusters: TestCluster[] = [];

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`durability test failed; replay with TALLY_SEED=${SEED}`);
  for (const c of clusters.splice(0)) await c.stopAll();
});

/** One connection sending INCRBY one at a time, recording what was acknowledged and what was in flight when it broke. */
class Writer {
  acked = 0;
  inflight = 0;
  private readonly rng = new SeededRng(SEED * 31 + ++writers);
  private stopped = false;
  private done!: Promise<void>;

  constructor(
    readonly port: number,
    readonly key: string,
  ) {}

  start(): this {
    this.done = new Promise((resolve) => {
      const sock = net.connect(this.port, '127.0.0.1');
      let buf = '';
      const next = (): void => {
        if (this.stopped) {
          sock.destroy();
          return resolve();
        }
        this.inflight = 1 + this.rng.int(9);
        sock.write(`*3\r\n$6\r\nINCRBY\r\n$${this.key.length}\r\n${this.key}\r\n$1\r\n${this.inflight}\r\n`);
      };
      sock.on('connect', next);
      sock.on('data', (d) => {
        buf += d.toString();
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!line.startsWith(':')) throw new Error(`unexpected reply ${line}`);
        this.acked += this.inflight;
        this.inflight = 0;
        next();
      });
      // Killed under us: whatever was in flight may or may not have been applied.
      sock.on('error', () => {});
      sock.on('close', () => resolve());
    });
    return this;
  }

  /** Stops after the current request (its reply is awaited). */
  stop(): Promise<void> {
    this.stopped = true;
    return this.done;
  }
}

async function get(port: number, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`));
    let buf = '';
    s.on('error', reject);
    s.on('data', (d) => {
      buf += d.toString();
      const m = /^\$(-1|\d+)\r\n(.*)\r\n/s.exec(buf);
      if (m === null) return;
      s.destroy();
      resolve(m[1] === '-1' ? 0 : Number(m[2]));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The node's count of completed group commits (INFO persistence, tally_commits). */
async function commitsDone(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('*2\r\n$4\r\nINFO\r\n$11\r\npersistence\r\n'));
    let buf = '';
    s.on('error', reject);
    s.on('data', (d) => {
      buf += d.toString();
      const m = /^\$(\d+)\r\n/.exec(buf);
      if (m === null || buf.length < m[0].length + Number(m[1])) return;
      s.destroy();
      const c = /tally_commits:(\d+)/.exec(buf);
      if (c === null) reject(new Error(`no tally_commits in INFO persistence: ${buf}`));
      else resolve(Number(c[1]));
    });
  });
}

/** Waits until every started node reports `check(value)` true for every key. */
async function converged(c: TestCluster, expected: Map<string, (v: number) => boolean>, timeoutMs = 20_000): Promise<void> {
  for (const n of c.nodes.filter((x) => x.proc !== null)) {
    for (const [key, ok] of expected) {
      await until(`${n.id}: ${key} within bounds`, async () => ok(await get(n.respPort, key)), timeoutMs);
    }
  }
}

describe('durability: always', () => {
  it('kill -9 during a write load, restart: every acknowledged increment is on every node', async () => {
    const c = await startCluster({ nodes: 3, config: { persistence: 'always' } });
    clusters.push(c);
    await waitForMembers(c, 3);
    const writers = c.nodes.flatMap((n) => [0, 1, 2].map((j) => new Writer(n.respPort, `w:${n.id}:${j}`).start()));
    // Kill only once every writer has had writes acknowledged: the check below then has something to lose.
    await until('every writer acknowledged', () => writers.every((w) => w.acked > 0));
    await sleep(rng.int(900));
    const victim = c.nodes[rng.int(3)] as (typeof c.nodes)[number];
    await c.stop(victim.id, 'SIGKILL');
    // The victim's writers broke mid-request; the others run on a little, then stop cleanly.
    await sleep(200);
    await Promise.all(writers.map((w) => w.stop()));
    await c.start(victim.id);
    // acknowledged <= value <= acknowledged + what was in flight at the kill (exact for everyone else).
    const bounds = new Map(writers.map((w) => [w.key, (v: number) => v >= w.acked && v <= w.acked + w.inflight] as const));
    await converged(c, bounds);
    // And the restarted node keeps counting in its new incarnation.
    const after = new Writer(victim.respPort, `w:${victim.id}:0`).start();
    await sleep(200);
    await after.stop();
    const w0 = writers.find((w) => w.key === `w:${victim.id}:0`) as Writer;
    await converged(c, new Map([[w0.key, (v: number) => v >= w0.acked + after.acked && v <= w0.acked + w0.inflight + after.acked]]));
  });

  it('a node whose data directory was wiped rejoins without hiding or losing any increment another node holds', async () => {
    const c = await startCluster({ nodes: 3, config: { persistence: 'always' } });
    clusters.push(c);
    await waitForMembers(c, 3);
    const writers = c.nodes.map((n) => new Writer(n.respPort, 'shared').start());
    await sleep(400);
    await Promise.all(writers.map((w) => w.stop()));
    const before = writers.reduce((a, w) => a + w.acked, 0);
    await converged(c, new Map([['shared', (v: number) => v === before]]));
    const victim = c.nodes[1] as (typeof c.nodes)[number];
    await c.stop(victim.id, 'SIGKILL');
    rmSync(join(c.dir, 'data', victim.id), { recursive: true, force: true });
    await c.start(victim.id); // ready only once it has caught up
    expect(await get(victim.respPort, 'shared')).toBe(before);
    // New increments on the wiped node count in full: its new incarnation writes a new slot.
    const w = new Writer(victim.respPort, 'shared').start();
    await sleep(200);
    await w.stop();
    await converged(c, new Map([['shared', (v: number) => v === before + w.acked]]));
  });
});

describe('durability: everysec', () => {
  it('kill -9 loses only what the last group commits had not written: everything acknowledged before a completed commit began survives', async () => {
    const c = await startCluster({ nodes: 1, config: { persistence: 'everysec' } });
    clusters.push(c);
    const n = c.nodes[0] as (typeof c.nodes)[number];
    const w = new Writer(n.respPort, 'es').start();
    await until('writes acknowledged', () => w.acked > 0);
    // Events, not clocks: note what was acknowledged, then wait for two more commits. The second of
    // them began after the first ended, so after the note: it wrote everything acknowledged by then.
    const noted = w.acked;
    const c0 = await commitsDone(n.respPort);
    await until('two more group commits', async () => (await commitsDone(n.respPort)) >= c0 + 2);
    await sleep(rng.int(1500)); // and kill at some point in the next second or so
    await c.stop(n.id, 'SIGKILL');
    await w.stop();
    await c.start(n.id);
    const v = await get(n.respPort, 'es');
    const detail = `value ${v}, acknowledged ${w.acked}, acknowledged before two completed commits ${noted} (TALLY_SEED=${SEED})`;
    expect(v, detail).toBeLessThanOrEqual(w.acked + w.inflight);
    expect(v, detail).toBeGreaterThanOrEqual(noted);
  });
});

describe('durability: the store on disk is visible', () => {
  it("INFO persistence and /metrics give the store's records and the bytes of its file", async () => {
    const c = await startCluster({ nodes: 1, config: { persistence: 'always' } });
    clusters.push(c);
    const n = c.nodes[0] as (typeof c.nodes)[number];
    const r = new Redis({ port: n.respPort, host: '127.0.0.1', lazyConnect: true });
    await r.connect();
    try {
      const field = async (name: string): Promise<number> => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(await r.info('persistence'))?.[1]);
      const before = await field('tally_store_records');
      // Acknowledged under "always": on disk by the reply.
      for (let i = 0; i < 300; i++) await r.incr(`disk:${i}`);
      expect(await field('tally_store_records')).toBe(before + 300);
      const bytes = await field('tally_store_bytes');
      expect(bytes % 4096).toBe(0);
      expect(bytes).toBeGreaterThanOrEqual(300 * 10);
      const m = await httpGet(n, '/metrics');
      expect(m.status).toBe(200);
      expect(m.text).toMatch(new RegExp(`^tally_store_records ${before + 300}$`, 'm'));
      expect(m.text).toMatch(/^tally_store_bytes \d+$/m);
    } finally {
      r.disconnect();
    }
  });
});

describe('durability: data directories that are not ours', () => {
  async function runNode(configPath: string, id: string): Promise<{ code: number | null; output: string }> {
    const p = spawn(process.execPath, [MAIN, 'node', '--config', configPath, '--id', id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d) => (output += d.toString()));
    p.stderr.on('data', (d) => (output += d.toString()));
    const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    return { code, output };
  }

  it('a corrupt store and a foreign cluster’s store stop the node with an error naming the path', async () => {
    const c = await startCluster({ nodes: 1, config: { persistence: 'always' } });
    clusters.push(c);
    await c.stop('n1', 'SIGTERM');
    const store = join(c.dir, 'data', 'n1', 'store.mdb');
    // Another cluster's name over the same data directory.
    const cfg = JSON.parse(readFileSync(c.configPath, 'utf8')) as Record<string, unknown>;
    const foreign = join(c.dir, 'foreign.json');
    writeFileSync(foreign, JSON.stringify({ ...cfg, cluster: 'elsewhere' }));
    rmSync(join(c.dir, 'data', 'n1', 'identity.json'));
    const f = await runNode(foreign, 'n1');
    expect(f.code).not.toBe(0);
    expect(f.output).toContain(`the data store ${store} belongs to cluster 'it', not 'elsewhere'`);
    // Garbage over the store file.
    writeFileSync(store, Buffer.alloc(64 * 1024, 0x42));
    const r = await runNode(c.configPath, 'n1');
    expect(r.code).not.toBe(0);
    expect(r.output).toContain(`the data store ${store} is corrupt`);
    expect(r.output).toContain('Move it (and its -lock file) aside');
  });
});
