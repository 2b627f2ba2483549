// `npm run bench -- detector`: the failure detector's false positives under message loss and process
// pauses, beside how fast it declares a real crash, for Lifeguard's dynamic suspicion timeout (the
// default: max 6x the min, shrinking with independent accusers) and a fixed SWIM timeout (max = min).
// Runs the real replica in the simulator (virtual time). Options: --nodes=<n> (32),
// --minutes=<virtual minutes per cell> (20), --seed=<n> (1). Never asserts.

import { runDetector } from '../../src/sim/detector-experiment.js';
import { numArg } from './servers.js';
import { printTable, type Row } from './report.js';

const LOSSES = [0, 0.05, 0.1, 0.2, 0.3];
const DETECTORS: { name: string; suspicionMaxTimeoutMult: number }[] = [
  { name: 'Lifeguard (max 6x min)', suspicionMaxTimeoutMult: 6 },
  { name: 'fixed timeout (SWIM)', suspicionMaxTimeoutMult: 1 },
];

export async function run(args: string[]): Promise<unknown> {
  const nodes = numArg(args, 'nodes', 32);
  const minutes = numArg(args, 'minutes', args.includes('--quick') ? 5 : 20);
  const seed = numArg(args, 'seed', 1);
  const pausesPerNodeHour = 6;
  const rows: Row[] = [];
  const out: Record<string, unknown>[] = [];
  for (const d of DETECTORS) {
    for (const loss of LOSSES) {
      const r = runDetector({ nodes, seed, durationMs: minutes * 60_000, loss, pausesPerNodeHour, pauseMs: [1000, 4000], crashes: 3, config: { suspicionMaxTimeoutMult: d.suspicionMaxTimeoutMult } });
      const detected = r.detectionMs.filter((x) => Number.isFinite(x));
      const perNodeHour = (n: number): number => Math.round((n / r.nodeHours) * 100) / 100;
      rows.push({
        detector: d.name,
        loss: `${loss * 100}%`,
        'false suspicions /node-h': perNodeHour(r.falseSuspicions),
        'false deaths /node-h': perNodeHour(r.falseDeaths),
        'paused, declared dead': r.deathsWhilePaused,
        'crash detected in s (mean)': detected.length === 0 ? NaN : Math.round(detected.reduce((a, x) => a + x, 0) / detected.length / 100) / 10,
        'crash detected in s (max)': detected.length < r.detectionMs.length ? Infinity : Math.round(Math.max(...detected) / 100) / 10,
      });
      out.push({ detector: d.name, loss, ...r });
    }
  }
  printTable(
    `Failure detector, ${nodes} nodes, ${minutes} virtual minutes per row, probe 1 s / timeout 0.5 s / 3 indirect, suspicion min 4 x log10(N) s; ${pausesPerNodeHour} pauses of 1-4 s per node-hour; 3 real crashes per row (seed ${seed})`,
    rows,
  );
  return out;
}
