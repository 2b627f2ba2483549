// Summaries and the SVG chart for simulation runs.

import type { RunResult } from './experiment.js';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export interface Summary {
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return { mean, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
}

/** A line chart of the fraction of nodes converged per round, one line per N (mean over runs). */
export function convergenceSvg(series: { n: number; runs: RunResult[] }[]): string {
  const W = 720;
  const H = 420;
  const pad = { l: 60, r: 140, t: 30, b: 50 };
  const maxRound = Math.max(1, ...series.flatMap((s) => s.runs.map((r) => r.fraction.length - 1)));
  const x = (r: number): number => pad.l + (r / maxRound) * (W - pad.l - pad.r);
  const y = (f: number): number => H - pad.b - f * (H - pad.t - pad.b);
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2 - 40}" y="18" font-size="14">Fraction of nodes converged per gossip round</text>`);
  for (let r = 0; r <= maxRound; r++) {
    parts.push(`<line x1="${x(r)}" y1="${y(0)}" x2="${x(r)}" y2="${y(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${x(r) - 4}" y="${H - pad.b + 16}">${r}</text>`);
  }
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${x(0)}" y1="${y(f)}" x2="${x(maxRound)}" y2="${y(f)}" stroke="#eee"/>`);
    parts.push(`<text x="${pad.l - 36}" y="${y(f) + 4}">${f.toFixed(2)}</text>`);
  }
  parts.push(`<text x="${W / 2 - 60}" y="${H - 12}">round (gossip intervals)</text>`);
  series.forEach((s, i) => {
    const color = colors[i % colors.length] as string;
    const pts: string[] = [];
    for (let r = 0; r <= maxRound; r++) {
      const fs = s.runs.map((run) => run.fraction[Math.min(r, run.fraction.length - 1)] ?? 1);
      const mean = fs.reduce((a, b) => a + b, 0) / Math.max(1, fs.length);
      pts.push(`${x(r).toFixed(1)},${y(mean).toFixed(1)}`);
    }
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    parts.push(`<rect x="${W - pad.r + 16}" y="${pad.t + i * 20}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${W - pad.r + 34}" y="${pad.t + i * 20 + 11}">N = ${s.n.toLocaleString('en-US')}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
