// The nemesis's schedule (src/verify/schedule.ts): a pure function of the seed with a heavy-tailed
// duration, overlapping faults, the per-node rules, and the long-partition rule.

import { describe, expect, it } from 'vitest';
import { verifyReplicaConfig } from '../../src/verify/cluster.js';
import { DEFAULT_FAULTS, longPartitionRule, nemesisSchedule, parseFaults, truncatedPareto, type NemesisStep } from '../../src/verify/schedule.js';
import { maxConcurrent } from '../../src/verify/report.js';

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i + 1}`);
const cfg = verifyReplicaConfig();
const rule5 = longPartitionRule(cfg, 5);
const draw = (seed: number, runS: number, n = 5, faults = DEFAULT_FAULTS): NemesisStep[] =>
  nemesisSchedule({ seed, faults, nodeIds: ids(n), runMs: runS * 1000, longPartition: longPartitionRule(cfg, n) }).steps;
const overlap = (a: NemesisStep, b: NemesisStep): boolean => a.at < b.at + b.durationMs && b.at < a.at + a.durationMs;

describe('nemesis schedule', () => {
  it('is a pure function of the seed, and every fault ends 500 ms before the run does', () => {
    for (const seed of [1, 2, 3, 20240611]) {
      const a = draw(seed, 60);
      expect(draw(seed, 60)).toEqual(a);
      expect(a.length).toBeGreaterThan(5);
      for (const s of a) expect(s.at + s.durationMs + 500).toBeLessThanOrEqual(60_000);
      for (let i = 1; i < a.length; i++) expect((a[i] as NemesisStep).at).toBeGreaterThanOrEqual((a[i - 1] as NemesisStep).at);
    }
    expect(draw(1, 60)).not.toEqual(draw(2, 60));
  });

  it('parses --nemesis: the old names, the new ones, none, and names the bad entry', () => {
    expect(parseFaults('kill,pause,partition')).toEqual(['kill', 'pause', 'partition']);
    expect(parseFaults('oneway, skew,wipe,wipe')).toEqual(['oneway', 'skew', 'wipe']);
    expect(parseFaults('none')).toEqual([]);
    expect(DEFAULT_FAULTS).toEqual(['kill', 'wipe', 'pause', 'partition', 'oneway', 'skew']);
    expect(() => parseFaults('kill,flood')).toThrow(/unknown fault 'flood'.*oneway, skew/);
  });

  it('draws durations with a heavy tail, from 100 ms to minutes', () => {
    const d = [1, 2, 3, 4, 5].flatMap((seed) => draw(seed, 600)).filter((s) => s.long !== true).map((s) => s.durationMs);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(100);
    expect(Math.min(...d)).toBeLessThan(150);
    expect(Math.max(...d)).toBeGreaterThan(60_000);
    const share = (f: (x: number) => boolean): number => d.filter(f).length / d.length;
    // Pareto(0.5) from 100 ms: P(> 1 s) = 0.32, P(> 10 s) = 0.1 (a little less with the cut).
    expect(share((x) => x < 1_000)).toBeGreaterThan(0.55);
    expect(share((x) => x > 10_000)).toBeGreaterThan(0.04);
    expect(share((x) => x > 10_000)).toBeLessThan(0.2);
    // The inverse CDF spans [min, max] and is monotone.
    expect(truncatedPareto(0, 100, 300_000, 0.5)).toBe(100);
    expect(truncatedPareto(1 - 1e-12, 100, 300_000, 0.5)).toBeCloseTo(300_000, -3);
    expect(truncatedPareto(0.5, 100, 300_000, 0.5)).toBeLessThan(truncatedPareto(0.9, 100, 300_000, 0.5));
  });

  it('runs several faults at once, within the overlap rule', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const steps = draw(seed, 600);
      expect(maxConcurrent(steps)).toBeGreaterThanOrEqual(2);
      expect(maxConcurrent(steps)).toBeLessThanOrEqual(3 + 1); // the long partition is placed before the cap applies
      for (const [i, a] of steps.entries()) {
        for (const b of steps.slice(i + 1)) {
          const sameNode = a.nodes[0] === b.nodes[0];
          const proc = (s: NemesisStep): boolean => s.fault === 'kill' || s.fault === 'wipe' || s.fault === 'pause';
          const restart = (s: NemesisStep): boolean => s.fault === 'kill' || s.fault === 'wipe';
          // One of kill / wipe / pause per node at a time (a restart gets 3 s).
          const busyEnd = (s: NemesisStep): number => s.at + s.durationMs + (restart(s) ? 3_000 : 0);
          if (sameNode && proc(a) && proc(b)) expect(a.at < busyEnd(b) && b.at < busyEnd(a), JSON.stringify([a, b])).toBe(false);
          // A skew never overlaps a restart of its node; two skews of one node never overlap.
          if (sameNode && (a.fault === 'skew' || b.fault === 'skew') && (restart(a) || restart(b) || a.fault === b.fault)) expect(overlap(a, b), JSON.stringify([a, b])).toBe(false);
        }
      }
      // A wipe never hits a node cut off within 5 s before (nor a kill, when a kill loses the state).
      const lossy = nemesisSchedule({ seed, faults: DEFAULT_FAULTS, nodeIds: ids(5), runMs: 600_000, longPartition: rule5, killLosesState: true }).steps;
      expect(lossy.some((s) => s.fault === 'kill')).toBe(true);
      for (const [schedule, losing] of [
        [steps, ['wipe']],
        [lossy, ['wipe', 'kill']],
      ] as const)
        for (const w of schedule.filter((s) => (losing as readonly string[]).includes(s.fault)))
          for (const l of schedule.filter((s) => (s.fault === 'partition' || s.fault === 'oneway') && s.nodes.includes(w.nodes[0] as string)))
            expect(l.at < w.at + 1 && w.at - 5_000 < l.at + l.durationMs, JSON.stringify([w, l])).toBe(false);
    }
  });

  it('draws one-way cuts, skews and wipes when asked, and only what is asked', () => {
    const steps = [1, 2, 3].flatMap((seed) => draw(seed, 120, 5, parseFaults('oneway,skew,wipe')));
    expect(new Set(steps.map((s) => s.fault))).toEqual(new Set(['oneway', 'skew', 'wipe']));
    for (const s of steps) {
      if (s.fault === 'oneway') {
        expect(['in', 'out']).toContain(s.direction);
        expect(s.nodes.length).toBeGreaterThanOrEqual(1);
        expect(s.nodes.length).toBeLessThanOrEqual(2);
      }
      if (s.fault === 'skew') {
        expect(Math.abs(s.offsetMs as number)).toBeGreaterThanOrEqual(100);
        expect(Math.abs(s.offsetMs as number)).toBeLessThanOrEqual(300_000);
      }
    }
    const skews = steps.filter((s) => s.fault === 'skew').map((s) => s.offsetMs as number);
    expect(skews.some((o) => o > 0) && skews.some((o) => o < 0)).toBe(true);
    expect(Math.max(...skews.map(Math.abs))).toBeGreaterThan(60_000); // beyond the replay window
    expect(draw(1, 60, 5, parseFaults('kill,pause')).every((s) => s.fault === 'kill' || s.fault === 'pause')).toBe(true);
    expect(draw(1, 60, 5, [])).toEqual([]);
    expect(draw(1, 60, 1, parseFaults('partition,oneway'))).toEqual([]);
  });

  it('computes the long-partition rule from the config: dead timeout + deadForgetMs', () => {
    // Verify's config: probe 500 ms, suspicionMult 4, max x6, deadForgetMs lowered to 10 s.
    expect(cfg.deadForgetMs).toBe(10_000);
    // 5 nodes: log10(5) < 1, so the suspicion max is 4 x 1 x 500 x 6 = 12 s, plus two probe intervals.
    expect(rule5).toEqual({ deadAfterMs: 13_000, deadForgetMs: 10_000, minMs: 26_000 });
    // 20 nodes: 4 x log10(20) x 500 x 6 = 15.6 s.
    expect(longPartitionRule(cfg, 20).deadAfterMs).toBe(Math.ceil(1_000 + 4 * Math.log10(20) * 500 * 6));
  });

  it('puts a partition longer than dead timeout + deadForgetMs into every default run that can hold one', () => {
    for (const [runS, n] of [
      [30, 5],
      [60, 5],
      [60, 3],
      [600, 5],
    ] as const) {
      for (const seed of [1, 2, 3, 4, 5, 20240611]) {
        const rule = longPartitionRule(cfg, n);
        const { steps, note } = nemesisSchedule({ seed, faults: DEFAULT_FAULTS, nodeIds: ids(n), runMs: runS * 1000, longPartition: rule });
        const long = steps.filter((s) => s.long === true);
        expect(note).toBeNull();
        expect(long).toHaveLength(1);
        const p = long[0] as NemesisStep;
        expect(p.fault).toBe('partition');
        expect(p.durationMs).toBeGreaterThan(rule.deadAfterMs + rule.deadForgetMs);
        expect(p.nodes.length).toBeGreaterThanOrEqual(1);
        expect(p.nodes.length).toBeLessThanOrEqual(Math.floor(n / 2));
      }
    }
    // Too short a run: no long partition, and the schedule says why.
    const short = nemesisSchedule({ seed: 1, faults: DEFAULT_FAULTS, nodeIds: ids(5), runMs: 20_000, longPartition: rule5 });
    expect(short.steps.some((s) => s.long === true)).toBe(false);
    expect(short.note).toMatch(/no long partition: .* needs 26\.0 s \(dead timeout 13\.0 s \+ deadForgetMs 10\.0 s/);
    // No partition asked: no long partition, no note.
    expect(nemesisSchedule({ seed: 1, faults: parseFaults('kill'), nodeIds: ids(5), runMs: 60_000, longPartition: rule5 }).note).toBeNull();
  });
});
