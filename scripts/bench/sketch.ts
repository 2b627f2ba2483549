// Benchmarks of the windowed counter, Count-Min Sketch and Top-K: operations per second, bytes per
// key (heap estimate and encoded), error against exact counts, and THROTTLE's over-admission under
// gossip lag in the simulator. Prints tables; never asserts on time.

import { CountMinSketch, cmsDimsFromProb } from '../../src/crdt/count-min-sketch.js';
import { TopK } from '../../src/crdt/top-k.js';
import { WindowedCounter } from '../../src/crdt/windowed-counter.js';
import { throttleDecide } from '../../src/crdt/throttle.js';
import { runThrottleExperiment } from '../../src/sim/throttle-experiment.js';
import { SeededRng } from '../../src/util/rng.js';
import { opsPerSecond, printTable, type Row } from './report.js';

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: Error }): T {
  if (!r.ok) throw r.error;
  return r.value;
}

export async function run(args: string[]): Promise<unknown> {
  const quick = args.includes('--quick');
  const rng = new SeededRng(42);
  const items = Array.from({ length: 10_000 }, (_, i) => Buffer.from(`item-${i}`));
  const rows: Row[] = [];

  // Windowed counter: 1 s buckets, 1 h retention, writes at a steady clock.
  {
    const w = WindowedCounter.create(1, 3600);
    let t = 1_700_000_000_000;
    const inc = opsPerSecond((n) => {
      for (let i = 0; i < n; i++) w.incrementAt('n1:1', 1, (t += 3), t);
    }, 10_000);
    const slide = opsPerSecond((n) => {
      for (let i = 0; i < n; i++) w.sliding(t, 60_000);
    }, 100);
    const thr = opsPerSecond((n) => {
      for (let i = 0; i < n; i++) throttleDecide(w, 1e9, 60_000, 1, t);
    }, 100);
    rows.push({ type: 'window 1s x 3600', op: 'INCRBY', 'ops/s': Math.round(inc), 'heap B/key': w.byteSize(), 'encoded B/key': w.encode().length });
    rows.push({ type: 'window 1s x 3600', op: 'SLIDING 60s', 'ops/s': Math.round(slide), 'heap B/key': w.byteSize(), 'encoded B/key': w.encode().length });
    rows.push({ type: 'window 1s x 3600', op: 'THROTTLE check', 'ops/s': Math.round(thr), 'heap B/key': w.byteSize(), 'encoded B/key': w.encode().length });
    // Five writers over a full hour (18,000 slots), as a rate limit shared by five nodes holds:
    // an increment must not cost a scan of the window.
    const five = WindowedCounter.create(1, 3600);
    let t5 = 1_700_000_000_000;
    for (let s = 0; s < 3600; s++, t5 += 1000) for (let r = 0; r < 5; r++) five.incrementAt(`n${r}:1`, 1, t5, t5);
    let k = 0;
    const inc5 = opsPerSecond((n) => {
      for (let i = 0; i < n; i++, k++) five.incrementAt(`n${k % 5}:1`, 1, (t5 += 3), t5);
    }, 10_000);
    rows.push({ type: 'window 1s x 3600, 5 writers', op: 'INCRBY', 'ops/s': Math.round(inc5), 'heap B/key': five.byteSize(), 'encoded B/key': five.encode().length });
    const small = WindowedCounter.create(1, 60);
    for (let i = 0; i < 60_000; i += 10) small.incrementAt('n1:1', 1, 1_700_000_000_000 + i, 1_700_000_000_000 + i);
    rows.push({ type: 'window 1s x 60 (THROTTLE 60 s)', op: '-', 'ops/s': 0, 'heap B/key': small.byteSize(), 'encoded B/key': small.encode().length });
  }

  // CMS at RedisBloom's sizing, one and three writing replicas.
  const dims = unwrap(cmsDimsFromProb(0.001, 0.01));
  {
    const c = unwrap(CountMinSketch.create(dims.width, dims.depth));
    let k = 0;
    const pair: [Buffer, number][] = [[items[0] as Buffer, 1]];
    const inc = opsPerSecond((n) => {
      for (let i = 0; i < n; i++) {
        pair[0] = [items[k++ % items.length] as Buffer, 1];
        c.incrBy('n1:1', pair);
      }
    }, 10_000);
    const q = opsPerSecond((n) => {
      for (let i = 0; i < n; i++) c.query(items[k++ % items.length] as Buffer);
    }, 10_000);
    const name = `cms ${dims.width}x${dims.depth}`;
    rows.push({ type: name, op: 'INCRBY', 'ops/s': Math.round(inc), 'heap B/key': c.byteSize(), 'encoded B/key': c.encode().length });
    rows.push({ type: name, op: 'QUERY', 'ops/s': Math.round(q), 'heap B/key': c.byteSize(), 'encoded B/key': c.encode().length });
    const three = c.clone();
    for (const r of ['n2:1', 'n3:1']) three.incrBy(r, [[items[1] as Buffer, 1]]);
    rows.push({ type: `${name}, 3 replicas`, op: '-', 'ops/s': 0, 'heap B/key': three.byteSize(), 'encoded B/key': three.encode().length });
  }

  // Top-K k = 10, default dimensions.
  {
    const t = unwrap(TopK.create(10));
    const zipfCdf: number[] = [];
    let acc = 0;
    for (let i = 1; i <= items.length; i++) zipfCdf.push((acc += 1 / i));
    const draw = (): Buffer => {
      const u = rng.next() * acc;
      let lo = 0;
      let hi = zipfCdf.length - 1;
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        if ((zipfCdf[m] as number) < u) lo = m + 1;
        else hi = m;
      }
      return items[lo] as Buffer;
    };
    const stream = Array.from({ length: 50_000 }, draw);
    let k = 0;
    const add = opsPerSecond((n) => {
      for (let i = 0; i < n; i++) t.add('n1:1', [[stream[k++ % stream.length] as Buffer, 1]]);
    }, 2000);
    const list = opsPerSecond((n) => {
      for (let i = 0; i < n; i++) t.list();
    }, 1000);
    const name = `topk k=10 ${t.width}x${t.depth}`;
    rows.push({ type: name, op: 'ADD', 'ops/s': Math.round(add), 'heap B/key': t.byteSize(), 'encoded B/key': t.encode().length });
    rows.push({ type: name, op: 'LIST', 'ops/s': Math.round(list), 'heap B/key': t.byteSize(), 'encoded B/key': t.encode().length });
  }
  printTable('Throughput and size (heap bytes are an estimate; encoded = gossip state of the key)', rows);

  // Error against exact counts.
  const errRows: Row[] = [];
  {
    const w = WindowedCounter.create(1, 600);
    const ev: number[] = [];
    let t = 1_000_000;
    for (let i = 0; i < 100_000; i++) {
      t += Math.floor(-Math.log(1 - rng.next()) * 20);
      ev.push(t);
      w.incrementAt('n1:1', 1, t, t);
    }
    for (const s of [10, 60, 300]) {
      const exact = ev.filter((e) => e > t - s * 1000).length;
      const est = w.sliding(t, s * 1000).estimate;
      errRows.push({ type: 'window sliding', case: `last ${s} s, Poisson 50/s`, exact, estimate: Math.round(est), 'error %': (100 * Math.abs(est - exact)) / exact });
    }
  }
  for (const [eps, delta] of [[0.01, 0.01], [0.001, 0.01]] as const) {
    const d = unwrap(cmsDimsFromProb(eps, delta));
    const c = unwrap(CountMinSketch.create(d.width, d.depth));
    const exact = new Map<number, number>();
    let total = 0;
    for (let i = 0; i < 200_000; i++) {
      const id = rng.next() < 0.5 ? rng.int(100) : rng.int(items.length);
      c.incrBy(['n1:1', 'n2:1', 'n3:1'][i % 3] as string, [[items[id] as Buffer, 1]]);
      exact.set(id, (exact.get(id) ?? 0) + 1);
      total++;
    }
    let maxErr = 0;
    let over = 0;
    let sumErr = 0;
    for (const [id, n] of exact) {
      const e = Number(c.query(items[id] as Buffer)) - n;
      maxErr = Math.max(maxErr, e);
      sumErr += e;
      if (e > eps * total) over++;
    }
    errRows.push({ type: `cms eps=${eps} delta=${delta}`, case: `N=${total}, ${exact.size} items, 3 replicas`, exact: Math.round(eps * total), estimate: maxErr, 'error %': (100 * over) / exact.size });
    errRows.push({ type: '', case: 'mean over-count', exact: 0, estimate: Math.round(sumErr / exact.size), 'error %': 0 });
  }
  printTable('Error against exact (cms rows: "exact" = eps x N bound, "estimate" = worst over-count, "error %" = items over the bound)', errRows);

  // THROTTLE over-admission.
  const thrRows: Row[] = [];
  const cases = quick
    ? [{ nodes: 3, rate: 200, interval: 200 }]
    : [
        { nodes: 1, rate: 500, interval: 200 },
        { nodes: 3, rate: 500, interval: 200 },
        { nodes: 10, rate: 500, interval: 200 },
        { nodes: 10, rate: 500, interval: 1000 },
        { nodes: 10, rate: 2000, interval: 200 },
        { nodes: 30, rate: 2000, interval: 200 },
      ];
  for (const c of cases) {
    const limit = 1000;
    const r = runThrottleExperiment({ nodes: c.nodes, ratePerS: c.rate, gossipIntervalMs: c.interval, limit, periodS: 10, seed: 7 });
    const bound = (c.rate * (c.nodes - 1)) / c.nodes * (c.interval / 1000) * Math.max(1, Math.ceil(Math.log(c.nodes) / Math.log(3)) + 1);
    thrRows.push({ nodes: c.nodes, 'rate/s': c.rate, 'gossip ms': c.interval, limit, 'max admitted/10 s': r.maxInPeriod, 'over-admit %': Math.max(0, 100 * (r.ratio - 1)), 'bound R*(N-1)/N*I*(log3 N+1)': Math.round(bound) });
  }
  printTable('THROTTLE over-admission (limit 1000 per 10 s, requests spread uniformly over the nodes)', thrRows);
  return { throughput: rows, error: errRows, throttle: thrRows };
}
