// scripts/deploy/tally@.service passes `systemd-analyze verify` with no warning (an instance of it, as
// systemctl would load it). Skipped, saying why, where systemd-analyze is not installed.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_V8_FLAGS } from '../../src/node/v8-flags.js';
import { JEMALLOC_PATHS, nodeEnv } from '../../src/util/allocator.js';

const ROOT = resolve(import.meta.dirname, '../..');
const UNIT = join(ROOT, 'scripts', 'deploy', 'tally@.service');
const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

describe('scripts/deploy/tally@.service', () => {
  it.skipIf(analyze === undefined)(`passes systemd-analyze verify${analyze === undefined ? ' (skipped: systemd-analyze is not installed; apt-get install systemd)' : ''}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-unit-'));
    const instance = join(dir, 'tally@n1.service');
    copyFileSync(UNIT, instance);
    const r = spawnSync(analyze as string, ['verify', instance], { encoding: 'utf8' });
    // verify exits 0 on warnings too (an unknown key is "ignoring"): any line about the unit fails.
    const about = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(instance));
    expect(about).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('runs the node named by the instance, with the config from TALLY_CONFIG', () => {
    const unit = readFileSync(UNIT, 'utf8');
    // With the V8 flags every node's process needs (src/node/v8-flags.ts).
    expect(unit.split('\n')).toContain(`ExecStart=/usr/bin/env node ${NODE_V8_FLAGS.join(' ')} /opt/tally/dist/src/cli/main.js node --id %i`);
    expect(unit).toMatch(/^Environment=TALLY_CONFIG=\/etc\/tally\/cluster\.config\.json$/m);
  });

  it('starts the node on jemalloc with the settings tally cluster up gives it', () => {
    const lines = readFileSync(UNIT, 'utf8').split('\n');
    const env = nodeEnv({}, 'jemalloc', () => JEMALLOC_PATHS[0]).env;
    expect(lines).toContain(`Environment=LD_PRELOAD=${env.LD_PRELOAD}`);
    expect(lines).toContain(`Environment=MALLOC_CONF=${env.MALLOC_CONF}`);
  });
});
