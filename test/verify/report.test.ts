// The verify report's replay line (src/verify/report.ts): every flag that shaped the run, and the CLI
// by its path (tally need not be on the PATH).

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_MAIN } from '../../src/verify/cluster.js';
import { maxConcurrent, replayCommand } from '../../src/verify/report.js';
import { VERIFY_DEFAULTS } from '../../src/verify/run.js';
import { parseFaults } from '../../src/verify/schedule.js';

const base = { nodes: 3, durationS: 45, seed: 77, nemesis: parseFaults('kill,oneway,skew'), persistence: 'everysec', clientsPerNode: 4, rate: 500, timeoutMs: 1_000, convergeTimeoutMs: 60_000 };

describe('replay line', () => {
  it('names the CLI by path and repeats every setting', () => {
    const repo = '/work/repo';
    const line = replayCommand(base, join(repo, 'dist/src/cli/main.js'), repo);
    expect(line).toBe('node dist/src/cli/main.js verify --nodes 3 --duration 45 --seed 77 --nemesis kill,oneway,skew --persistence everysec --clients 4 --rate 500');
    expect(line).not.toMatch(/^tally /);
  });

  it('adds --timeout and --converge-timeout only when not the default, and writes defaults of the rest out', () => {
    const repo = '/work/repo';
    const main = join(repo, 'dist/src/cli/main.js');
    const d = { ...base, nodes: VERIFY_DEFAULTS.nodes, durationS: VERIFY_DEFAULTS.durationS, clientsPerNode: VERIFY_DEFAULTS.clientsPerNode, rate: VERIFY_DEFAULTS.rate, nemesis: [] };
    expect(replayCommand(d, main, repo)).toBe('node dist/src/cli/main.js verify --nodes 5 --duration 30 --seed 77 --nemesis none --persistence everysec --clients 2 --rate 2000');
    expect(replayCommand({ ...base, timeoutMs: 250, convergeTimeoutMs: 120_000 }, main, repo)).toMatch(/--rate 500 --timeout 250 --converge-timeout 120000$/);
  });

  it('uses the absolute path when run from elsewhere, quoted if it needs to be', () => {
    expect(replayCommand(base, '/opt/my tally/dist/src/cli/main.js', '/home/x')).toMatch(/^node '\/opt\/my tally\/dist\/src\/cli\/main\.js' verify /);
    expect(replayCommand(base, '/opt/tally/dist/src/cli/main.js', '/home/x')).toMatch(/^node \/opt\/tally\/dist\/src\/cli\/main\.js verify /);
    // The real CLI path, from the repository root (where npm test runs).
    expect(replayCommand(base)).toMatch(/^node dist\/src\/cli\/main\.js verify /);
    expect(CLI_MAIN.endsWith(join('dist', 'src', 'cli', 'main.js'))).toBe(true);
  });

  it('counts the most faults at once', () => {
    const step = (at: number, durationMs: number): { at: number; durationMs: number; fault: 'pause'; nodes: string[] } => ({ at, durationMs, fault: 'pause', nodes: ['n1'] });
    expect(maxConcurrent([])).toBe(0);
    expect(maxConcurrent([step(0, 10), step(10, 10)])).toBe(1);
    expect(maxConcurrent([step(0, 100), step(10, 10), step(15, 50), step(200, 1)])).toBe(3);
  });
});
