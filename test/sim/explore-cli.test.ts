// `tally simulate --explore` through the built CLI: worker threads give the same outcomes as one
// thread, --json prints one object on the last line, and the exit code says whether any seed failed.

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exploreSeed } from '../../src/sim/explore.js';

const MAIN = resolve(import.meta.dirname, '../../dist/src/cli/main.js');

interface Json {
  seeds: number;
  failedSeeds: number;
  jobs: number;
  seedsPerSecond: number;
  byKind: { invariant: string; kind: string; first: number[] }[];
  replays: string[];
}

function run(args: string[]): { status: number | null; json: Json; out: string } {
  const r = spawnSync(process.execPath, [MAIN, 'simulate', '--explore', '--no-progress', '--json', ...args], { encoding: 'utf8', timeout: 120_000 });
  const out = r.stdout ?? '';
  const last = out.trim().split('\n').pop() ?? '{}';
  return { status: r.status, json: JSON.parse(last) as Json, out: `${out}\n${r.stderr}` };
}

describe('tally simulate --explore', () => {
  it('runs seeds on worker threads, with the outcomes of one thread, and exits 1 on a failure', () => {
    const two = run(['--seed', '7', '--seeds', '6', '--jobs', '2']);
    expect(two.json.seeds, two.out).toBe(6);
    expect(two.json.jobs).toBe(2);
    expect(two.status).toBe(two.json.failedSeeds > 0 ? 1 : 0);
    const failing = [7, 8, 9, 10, 11, 12].filter((s) => !exploreSeed(s).ok);
    expect(two.json.failedSeeds).toBe(failing.length);
    expect(two.json.replays).toEqual(failing.map((s) => `node dist/src/cli/main.js simulate --explore --seed ${s}`));
  }, 180_000);

  it('--seed alone replays that one seed', () => {
    const one = run(['--seed', '3']);
    expect(one.json.seeds, one.out).toBe(1);
    expect(one.status).toBe(exploreSeed(3).ok ? 0 : 1);
  }, 120_000);
});
