// The dashboard's charts (browser ES module, served at /dashboard/charts.js): time series over the last
// two minutes drawn on a canvas, no library. The axis ticks and number formats are in axis.ts.

import { axisTicks, fmtBytes, fmtMs } from './axis.js';

/** How far back the charts (and the samples the page keeps) reach, in ms. */
export const WINDOW_MS = 120000;

export interface Point {
  at: number;
  v: number;
}

/** One line (or, with `bars`, one bar per point) in one colour. */
export interface Series {
  points: Point[];
  color: string;
  bars?: boolean;
}

export { fmtBytes, fmtMs };

/** Draws time series over the last WINDOW_MS, with a value axis of four lines (axisTicks) labelled by `fmt`. */
export function chart(canvas: HTMLCanvasElement, series: Series[], fmt: (v: number) => string): void {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width;
  const h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d');
  if (g === null) return;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const left = 58;
  const top = 8;
  const bottom = 18;
  const pw = w - left - 8;
  const ph = h - top - bottom;
  let max = 0;
  series.forEach((s) =>
    s.points.forEach((p) => {
      if (p.v > max) max = p.v;
    }),
  );
  const axis = axisTicks(max, fmt);
  max = axis.top;
  const now = performance.now();
  const x = (at: number): number => left + pw * (1 - (now - at) / WINDOW_MS);
  const y = (v: number): number => top + ph * (1 - v / max);
  g.strokeStyle = '#e3e3df';
  g.fillStyle = '#6b7280';
  g.font = '11px system-ui, sans-serif';
  g.lineWidth = 1;
  for (const v of axis.ticks) {
    const yy = Math.round(y(v)) + 0.5;
    g.beginPath();
    g.moveTo(left, yy);
    g.lineTo(left + pw, yy);
    g.stroke();
    g.fillText(fmt(v), 4, yy + 4);
  }
  g.fillText('-2 min', left, h - 4);
  g.fillText('now', left + pw - 20, h - 4);
  series.forEach((s) => {
    g.strokeStyle = s.color;
    g.fillStyle = s.color;
    g.lineWidth = 1.5;
    if (s.bars) {
      s.points.forEach((p) => g.fillRect(x(p.at) - 2, y(p.v), 4, top + ph - y(p.v)));
      return;
    }
    g.beginPath();
    s.points.forEach((p, j) => {
      if (j === 0) g.moveTo(x(p.at), y(p.v));
      else g.lineTo(x(p.at), y(p.v));
    });
    g.stroke();
  });
}
