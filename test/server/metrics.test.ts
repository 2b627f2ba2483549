// CommandMetrics and FixedHistogram without a node: labels, results, sampling, and the text a
// prom-client registry prints for them.

import { Registry, type Metric } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { CommandServices, Session } from '../../src/server/commands/types.js';
import { CommandMetrics, FixedHistogram, UNKNOWN_COMMAND } from '../../src/server/metrics.js';
import { ArgRanges } from '../../src/server/commands/arg-ranges.js';
import type { Reply } from '../../src/server/commands/reply.js';

const session = (): Session =>
  ({ id: 1, db: 0, name: null, authenticated: true, protocol: 'resp', remoteAddress: '', createdAt: 0, lastCommandAt: 0, lastCommand: '' }) as Session;
const args = (...a: string[]): Buffer[] => a.map((x) => Buffer.from(x));
// PING, ECHO and unknown commands touch no services.
const services = {} as CommandServices;

describe('CommandMetrics', () => {
  it('counts by command and result; unknown names share one label; lastCommand is kept', () => {
    const cm = new CommandMetrics({ sampleEvery: 1 });
    const s = session();
    cm.execute(services, s, args('PING'));
    cm.execute(services, s, args('ping'));
    expect(s.lastCommand).toBe('ping');
    cm.execute(services, s, args('nosuch', 'x'));
    expect(s.lastCommand).toBe('ping'); // not run: the previous command stays for CLIENT LIST
    cm.execute(services, s, args('echo')); // wrong arity: an error of a known command
    cm.execute(services, s, args('another-unknown'));
    const at = (name: string): [number, number] => {
      const i = cm.names.indexOf(name);
      return [cm.counts[2 * i] as number, cm.counts[2 * i + 1] as number];
    };
    expect(at('ping')).toEqual([2, 0]);
    expect(at('echo')).toEqual([0, 1]);
    expect(at(UNKNOWN_COMMAND)).toEqual([0, 2]);
    expect(cm.latency.count(cm.names.indexOf('ping'))).toBe(2);
  });

  it('times one command in sampleEvery, and rejects a rate that is not a power of two', () => {
    const cm = new CommandMetrics({ sampleEvery: 8 });
    const s = session();
    for (let i = 0; i < 80; i++) cm.execute(services, s, args('PING'));
    expect(cm.latency.count(cm.names.indexOf('ping'))).toBe(10);
    expect(() => new CommandMetrics({ sampleEvery: 6 })).toThrow(/power of two/);
  });

  it('times asynchronous commands when they settle', async () => {
    const cm = new CommandMetrics({ sampleEvery: 1, run: () => new Promise((done) => setTimeout(() => done({ kind: 'simple', value: 'OK' }), 20)) });
    const s = session();
    s.lastCommand = '';
    const r = cm.execute(services, s, args('wait', '1', '0'));
    expect('kind' in r).toBe(false);
    await r;
    // The metrics resolve the name through the table before running it: 'wait' is in the table.
    expect(cm.counts[2 * cm.names.indexOf('wait')]).toBe(1);
    expect(cm.latency.count(cm.names.indexOf('wait'))).toBe(1);
    expect(s.lastCommand).toBe(''); // the metrics never write the session
  });
});

/** `words` as ranges of one buffer, at an offset (as the RESP parser hands a whole request over). */
function ranges(...words: string[]): ArgRanges {
  const r = new ArgRanges();
  r.reset(Buffer.from(`xx${words.join(' ')}`));
  let at = 2;
  for (const w of words) {
    r.push(at, at + w.length);
    at += w.length + 1;
  }
  return r;
}

describe('CommandMetrics on ranges', () => {
  it('resolves the name from the ranges, counts like execute, and runs the table on them', () => {
    const cm = new CommandMetrics({ sampleEvery: 1 });
    const s = session();
    expect(cm.executeRanges(services, s, ranges('PING', 'hi'))).toMatchObject({ kind: 'bulk' });
    cm.executeRanges(services, s, ranges('ping'));
    cm.executeRanges(services, s, ranges('nosuch', 'x'));
    expect(s.lastCommand).toBe('ping');
    const i = cm.names.indexOf('ping');
    expect([cm.counts[2 * i], cm.counts[2 * i + 1], cm.latency.count(i)]).toEqual([2, 0, 2]);
    expect(cm.counts[2 * cm.names.indexOf(UNKNOWN_COMMAND) + 1]).toBe(1);
  });

  it('times one command in sampleEvery on ranges too, sharing the count with execute', () => {
    const cm = new CommandMetrics({ sampleEvery: 8 });
    const s = session();
    for (let i = 0; i < 40; i++) cm.executeRanges(services, s, ranges('PING'));
    for (let i = 0; i < 40; i++) cm.execute(services, s, args('PING'));
    expect(cm.latency.count(cm.names.indexOf('ping'))).toBe(10);
  });

  it('hands a given runner the arguments as Buffers, unless a ranges runner is given too', () => {
    const seen: string[][] = [];
    const ok: Reply = { kind: 'simple', value: 'OK' };
    const cm = new CommandMetrics({ sampleEvery: 1, run: (_ctx, _s, c, a) => (seen.push([c?.spec.name ?? '?', ...a.map((b) => b.toString())]), ok) });
    cm.executeRanges(services, session(), ranges('INCR', 'k'));
    expect(seen).toEqual([['incr', 'INCR', 'k']]);
    const viaRanges: string[] = [];
    const both = new CommandMetrics({ sampleEvery: 1, run: () => ok, runRanges: (_ctx, _s, c, a) => (viaRanges.push(`${c?.spec.name} ${a.count}`), ok) });
    both.executeRanges(services, session(), ranges('GET', 'k'));
    expect(viaRanges).toEqual(['get 2']);
  });
});

describe('FixedHistogram', () => {
  it('prints cumulative buckets, sum and count through a prom-client registry', async () => {
    const h = new FixedHistogram('t_seconds', 'test', 'op', ['a', 'b'], [0.1, 1]);
    h.observe(0, 0.05);
    h.observe(0, 0.5);
    h.observe(0, 3);
    const reg = new Registry();
    reg.registerMetric(h as unknown as Metric);
    const text = await reg.metrics();
    expect(text).toContain('# TYPE t_seconds histogram');
    expect(text).toContain('t_seconds_bucket{op="a",le="0.1"} 1');
    expect(text).toContain('t_seconds_bucket{op="a",le="1"} 2');
    expect(text).toContain('t_seconds_bucket{op="a",le="+Inf"} 3');
    expect(text).toContain('t_seconds_sum{op="a"} 3.55');
    expect(text).toContain('t_seconds_count{op="a"} 3');
    expect(text).not.toContain('op="b"'); // untouched series are left out
  });
});
