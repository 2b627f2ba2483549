// The dashboard's value axes and number formats (browser ES module, served at /dashboard/axis.js):
// pure functions, no DOM, so they are unit-tested under Node (test/server/dashboard-axis.test.ts).

export function fmtBytes(v: number): string {
  if (v >= 1048576) return (v / 1048576).toFixed(1) + ' MB';
  if (v >= 1024) return (v / 1024).toFixed(1) + ' kB';
  return Math.round(v) + ' B';
}
export function fmtMs(v: number): string {
  return v >= 1000 ? (v / 1000).toFixed(1) + ' s' : Math.round(v) + ' ms';
}

/** The axis of one chart: tick values from 0 up, evenly spaced, and the top of the plot (the last tick). */
export interface Axis {
  ticks: number[];
  top: number;
  step: number;
}

/** The smallest 1, 2 or 5 × 10^k that is >= x (x > 0). */
export function niceStep(x: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** The next 1-2-5 step above `step`. */
function nextStep(step: number): number {
  return niceStep(step * 1.5);
}

/**
 * Ticks 0, s, 2s, ... `lines`·s for data up to `max`, with s a 1-2-5 step chosen so that the top is
 * above the data (with a little headroom) and no two ticks read the same under `fmt`: an idle chart
 * (max 0 or tiny) gets 0, 1, 2, 3 ms rather than 0, 0, 1, 1 ms from rounding thirds of 1.
 */
export function axisTicks(max: number, fmt: (v: number) => string, lines = 3): Axis {
  const m = Number.isFinite(max) && max > 0 ? max : 0;
  // Floored at 1e-12, far below any label's resolution, so 10^k stays a normal double.
  let step = niceStep(Math.max(1e-12, m > 0 ? (m * 1.1) / lines : 1 / lines));
  // About 3 steps per decade: from 1e-12 to 10^308 is under 1,000.
  for (let guard = 0; guard < 2000; guard++) {
    const ticks: number[] = [];
    for (let i = 0; i <= lines; i++) ticks.push(Number((i * step).toPrecision(12)));
    const labels = new Set(ticks.map(fmt));
    if (labels.size === ticks.length) return { ticks, top: ticks[lines] as number, step };
    step = nextStep(step);
  }
  // Unreachable with the formats above (each distinguishes steps of 1 and up); kept total anyway.
  const ticks = Array.from({ length: lines + 1 }, (_, i) => i * step);
  return { ticks, top: lines * step, step };
}
