// /metrics, /status and the dashboard assets of real node processes: names, labels, and that the
// numbers move when commands run and gossip flows.

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, until, waitForMembers, type TestCluster } from './harness.js';
import { findJemalloc } from '../../src/util/allocator.js';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ nodes: 3 });
  await waitForMembers(c, 3);
});

afterAll(async () => {
  await c?.stopAll();
});

const url = (i: number, path: string): string => `http://127.0.0.1:${(c.nodes[i] as { httpPort: number }).httpPort}${path}`;

async function scrape(i: number): Promise<string> {
  const res = await fetch(url(i, '/metrics'));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample line, e.g. `tally_members{state="alive"}`; undefined if absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('/metrics', () => {
  it('counts commands by name and result, with latency, through RESP', async () => {
    const r = new Redis({ port: (c.nodes[1] as { respPort: number }).respPort, lazyConnect: true });
    await r.connect();
    try {
      for (let i = 0; i < 5; i++) await r.incr('m:key');
      await expect(r.call('NOSUCHCOMMAND', 'x')).rejects.toThrow(/unknown command/);
      await expect(r.call('INCR')).rejects.toThrow(/wrong number/);
    } finally {
      r.disconnect();
    }
    const text = await scrape(1);
    expect(sample(text, 'tally_commands_total{command="incr",result="ok"}')).toBe(5);
    expect(sample(text, 'tally_commands_total{command="incr",result="error"}')).toBe(1);
    expect(sample(text, 'tally_commands_total{command="unknown",result="error"}')).toBe(1);
    // One command in 8 is timed (LATENCY_SAMPLE_EVERY): the histogram holds a uniform sample.
    const timed = sample(text, 'tally_command_duration_seconds_count') ?? sample(text, 'tally_command_duration_seconds_count{command="incr"}');
    expect(text).toMatch(/^tally_command_duration_seconds_bucket\{command="[a-z]+",le="0\.00001"\} \d+$/m);
    expect(timed).toBeUndefined(); // never an unlabelled series
    const counts = [...text.matchAll(/^tally_command_duration_seconds_count\{command="([a-z]+)"\} (\d+)$/gm)].map((m) => Number(m[2]));
    const totals = [...text.matchAll(/^tally_commands_total\{command="[a-z]+",result="[a-z]+"\} (\d+)$/gm)].map((m) => Number(m[1]));
    const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
    expect(sum(counts)).toBeGreaterThanOrEqual(1);
    expect(sum(counts)).toBe(Math.ceil(sum(totals) / 8));
    expect(text).toContain('# TYPE tally_command_duration_seconds histogram');
    // Key names never become labels.
    expect(text).not.toContain('m:key');
  });

  it('exposes members, keys, gossip, convergence, persistence and process metrics', async () => {
    const text = await until('gossip counters on n1', async () => {
      const t = await scrape(0);
      return (sample(t, 'tally_gossip_rounds_total') ?? 0) > 0 && (sample(t, 'tally_keys{type="pncounter"}') ?? 0) >= 1 ? t : undefined;
    });
    expect(sample(text, 'tally_members{state="alive"}')).toBe(3);
    expect(sample(text, 'tally_members{state="dead"}')).toBe(0);
    expect(sample(text, 'tally_gossip_frames_total{direction="out",type="digest"}')).toBeGreaterThan(0);
    expect(sample(text, 'tally_gossip_bytes_total{direction="in",type="digest"}')).toBeGreaterThan(0);
    expect(sample(text, 'tally_gossip_transport_bytes_total{direction="out"}')).toBeGreaterThan(0);
    expect(text).toMatch(/^tally_gossip_rejected_frames_total\{layer="transport",reason="[a-z-]+"\} \d+$/m);
    expect(sample(text, 'tally_convergence_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('# TYPE tally_persistence_commit_seconds histogram');
    expect(sample(text, 'tally_persistence_commit_seconds_count')).toBe(0);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
    expect(sample(text, 'tally_build_info{version="0.1.0"}')).toBe(1);
  });

  it('reports tombstones, counter slots, version-log entries and origins in /metrics and INFO memory', async () => {
    const r = new Redis({ port: (c.nodes[1] as { respPort: number }).respPort, lazyConnect: true });
    await r.connect();
    try {
      await r.incr('mem:a');
      await r.incr('mem:b');
      await r.del('mem:b');
      const info = await r.info('memory');
      const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]);
      // The tombstone of mem:b, unless every node already holds it and it was collected.
      expect(field('tally_tombstones') + field('tally_tombstones_collected')).toBeGreaterThanOrEqual(1);
      expect(field('tally_counter_slots')).toBeGreaterThanOrEqual(2);
      expect(field('tally_version_log_entries')).toBeGreaterThanOrEqual(2);
      expect(field('tally_version_log_cells')).toBeGreaterThanOrEqual(field('tally_version_log_entries'));
      expect(field('tally_origins')).toBeGreaterThanOrEqual(1);
      expect(field('tally_retired_origins')).toBe(0);
      expect(field('used_memory')).toBeGreaterThan(0);
      // Redis's short forms and ratio, which dashboards read: consistent with the byte counts.
      const text = (name: string): string | undefined => new RegExp(`^${name}:(.*)\r?$`, 'm').exec(info)?.[1];
      expect(text('used_memory_human')).toMatch(/^(\d+B|\d+\.\d\d[KMGTP])$/);
      const human = text('used_memory_human') as string;
      const units = 'BKMGTP';
      const scaled = /[KMGTP]$/.test(human) ? Number(human.slice(0, -1)) * 1024 ** units.indexOf(human.at(-1) as string) : Number(human.replace(/B$/, ''));
      expect(Math.abs(scaled - field('used_memory')) / field('used_memory')).toBeLessThan(0.01);
      expect(text('used_memory_rss_human')).toMatch(/^\d+\.\d\d[KMGTP]$/);
      expect(Number(text('mem_fragmentation_ratio'))).toBeCloseTo(field('used_memory_rss') / field('used_memory'), 1);
      // The harness starts nodes as `tally cluster up` does: on jemalloc wherever it is installed
      // (test-deps installs it with redis-server), and the node reads which malloc it got.
      expect(text('mem_allocator')).toBe(findJemalloc() === undefined ? 'libc' : 'jemalloc');
    } finally {
      r.disconnect();
    }
    const text = await scrape(1);
    expect((sample(text, 'tally_tombstones') ?? 0) + (sample(text, 'tally_tombstones_collected') ?? 0)).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'tally_counter_slots')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'tally_version_log_entries')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'tally_version_log_cells')).toBeGreaterThanOrEqual(sample(text, 'tally_version_log_entries')!);
    expect(sample(text, 'tally_origins')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'tally_retired_origins')).toBe(0);
  });

  it('MEMORY PURGE collects the garbage that INFO used_memory counts until a collection', async () => {
    const r = new Redis({ port: (c.nodes[0] as { respPort: number }).respPort, lazyConnect: true });
    await r.connect();
    try {
      const used = async (): Promise<number> => Number(/^used_memory:(\d+)/m.exec(await r.info('memory'))?.[1]);
      // Garbage: 500 INFO replies of a few kilobytes each, built and dropped.
      await Promise.all(Array.from({ length: 500 }, () => r.info()));
      const before = await used();
      expect(await r.call('MEMORY', 'PURGE')).toBe('OK');
      const after = await used();
      expect(after).toBeGreaterThan(0);
      expect(after).toBeLessThan(before);
    } finally {
      r.disconnect();
    }
  });

  it('counts WebSocket commands too', async () => {
    const { TallyClient } = await import('../../src/client/index.js');
    const cl = await TallyClient.connect(`ws://127.0.0.1:${(c.nodes[2] as { httpPort: number }).httpPort}/ws`);
    try {
      await cl.incr('m:ws');
      await cl.incr('m:ws');
    } finally {
      await cl.close();
    }
    const text = await scrape(2);
    expect(sample(text, 'tally_commands_total{command="incr",result="ok"}')).toBe(2);
  });

  it('counts a stall when the node was frozen (SIGSTOP), and the node keeps its members alive', async () => {
    const n = c.nodes[0] as (typeof c.nodes)[number];
    const pid = n.proc?.pid;
    if (pid === undefined) throw new Error('n1 is not running');
    // Usually 0; a heavily loaded machine may already have stalled the node once.
    const before = sample(await scrape(0), 'tally_stalls_total');
    expect(before).toBeTypeOf('number');
    process.kill(pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 1500)); // longer than the probe timeout (500 ms)
    process.kill(pid, 'SIGCONT');
    await until('a stall counted on n1', async () => (sample(await scrape(0), 'tally_stalls_total') ?? 0) > (before ?? 0));
    await waitForMembers(c, 3);
  });
});

describe('/status and the dashboard', () => {
  it('lists every configured node with its URLs and a convergence estimate', async () => {
    const s = (await (await fetch(url(0, '/status'))).json()) as { nodes: { id: string; http: string; ws: string }[]; convergence: { maxLagMs: number; peers: number } };
    expect(s.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    expect(s.nodes[1]?.ws).toBe(`ws://127.0.0.1:${(c.nodes[1] as { httpPort: number }).httpPort}/ws`);
    expect(s.convergence.peers).toBeLessThanOrEqual(2);
  });

  it('serves the page and its assets from the node, with nothing from outside', async () => {
    const page = await fetch(url(0, '/'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) {
      expect(ref.startsWith('/')).toBe(true);
      expect((await fetch(url(0, ref))).status).toBe(200);
    }
    expect((await fetch(url(0, '/nope'))).status).toBe(404);
  });
});
