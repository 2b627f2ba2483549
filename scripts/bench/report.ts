// Benchmark reporting: aligned tables on stdout, and with --json one JSON object as the last line.

export type Row = Record<string, string | number>;

/** Prints rows as an aligned text table under a title. Numbers are formatted with up to 3 decimals. */
export function printTable(title: string, rows: Row[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0] ?? {});
  const cell = (v: string | number | undefined): string =>
    typeof v === 'number' ? formatNumber(v) : (v ?? '');
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ');
  console.log(`\n${title}`);
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c]))));
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

/** Measures how many times `fn` can run per second, in batches, for at least `minMs`. */
export function opsPerSecond(fn: (iterations: number) => void, batch: number, minMs = 500): number {
  fn(Math.min(batch, 1000)); // warm up
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsedNs = 0n;
  while (elapsedNs < BigInt(minMs) * 1_000_000n) {
    fn(batch);
    iterations += batch;
    elapsedNs = process.hrtime.bigint() - start;
  }
  return iterations / (Number(elapsedNs) / 1e9);
}

/** Median wall time of `fn` in microseconds over `runs` runs. */
export function medianMicros(fn: () => void, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}
