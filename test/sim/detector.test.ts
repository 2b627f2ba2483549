// The failure-detector experiment (bench `detector`) on small clusters: it must see real crashes,
// count nothing when nothing goes wrong, and tell Lifeguard's dynamic timeout from a fixed one.

import { describe, expect, it } from 'vitest';
import { runDetector } from '../../src/sim/detector-experiment.js';

describe('failure detector experiment', () => {
  it('with no loss, pauses cause no false suspicion or death, and every crash is declared within seconds', () => {
    const r = runDetector({ nodes: 12, seed: 7, durationMs: 8 * 60_000, loss: 0, pausesPerNodeHour: 60, pauseMs: [1000, 4000], crashes: 2 });
    expect(r.pauses).toBeGreaterThan(20);
    expect(r.falseSuspicions).toBe(0);
    expect(r.falseDeaths).toBe(0);
    expect(r.deathsWhilePaused).toBe(0);
    expect(r.detectionMs).toHaveLength(2);
    for (const ms of r.detectionMs) expect(ms).toBeLessThan(30_000);
  });

  it('under heavy loss a fixed timeout declares live nodes dead, and Lifeguard (independent accusers) far fewer', () => {
    const run = (mult: number) => runDetector({ nodes: 16, seed: 3, durationMs: 6 * 60_000, loss: 0.35, pausesPerNodeHour: 0, pauseMs: [0, 0], crashes: 0, config: { suspicionMaxTimeoutMult: mult } });
    const fixed = run(1);
    const lifeguard = run(6);
    expect(fixed.falseSuspicions).toBeGreaterThan(0);
    expect(fixed.falseDeaths).toBeGreaterThan(0);
    expect(lifeguard.falseDeaths * 4).toBeLessThan(fixed.falseDeaths);
  });
});
