// The short proof-under-faults run: `tally verify` on 5 real node processes for 20 s under a seeded
// nemesis must lose nothing. kill -9 joins the nemesis only when the build's default persistence is
// durable (docs/testing.md): with persistence none a kill may truly lose un-gossiped writes.

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPersistence, isDurable } from '../../src/verify/run.js';
import { nemesisSchedule, parseFaults } from '../../src/verify/nemesis.js';

const MAIN = resolve(import.meta.dirname, '../../dist/src/cli/main.js');
const SEED = Number(process.env.TALLY_VERIFY_SEED ?? 20240611);

describe('tally verify', () => {
  it('draws the same fault schedule from the same seed, within the run', () => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const a = nemesisSchedule(5, parseFaults('kill,pause,partition'), ids, 20_000);
    expect(nemesisSchedule(5, parseFaults('kill,pause,partition'), ids, 20_000)).toEqual(a);
    expect(a.length).toBeGreaterThan(2);
    for (const s of a) expect(s.at + s.durationMs + 500).toBeLessThanOrEqual(20_000);
    expect(() => parseFaults('kill,flood')).toThrow(/unknown fault 'flood'/);
  });

  it(`loses no acknowledged write under faults (seed ${SEED}; replay with TALLY_VERIFY_SEED)`, () => {
    const persistence = defaultPersistence();
    const nemesis = isDurable(persistence) ? 'kill,pause,partition' : 'pause,partition';
    const r = spawnSync(process.execPath, [MAIN, 'verify', '--nodes', '5', '--duration', '60', '--seed', String(SEED), '--nemesis', nemesis, '--persistence', persistence, '--json'], {
      encoding: 'utf8',
      timeout: 170_000,
    });
    const out = r.stdout ?? '';
    const last = out.trim().split('\n').pop() ?? '{}';
    const result = JSON.parse(last.startsWith('{') ? last : '{}') as { ok?: boolean; lost?: number; acknowledged?: number; schedule?: unknown[] };
    expect(r.status, `${out}\n${r.stderr}`).toBe(0);
    expect(result.ok).toBe(true);
    expect(result.lost).toBe(0);
    expect(result.acknowledged).toBeGreaterThan(1000);
    expect(result.schedule?.length).toBeGreaterThan(2);
  }, 180_000);
});
