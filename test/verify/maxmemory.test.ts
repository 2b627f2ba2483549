// `tally verify --maxmemory-last 1`: the last of 3 real nodes is over its memory limit for the whole
// run, so it refuses every write that may add memory (OOM, recorded as failed: certainly not
// applied), while kills and partitions come and go. The check must still pass: nothing it refused
// appears in any count, nothing acknowledged elsewhere is lost, and it converges with the others, so
// it went on merging their writes (docs/operations.md, "Memory limit").

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';

const MAIN = resolve(import.meta.dirname, '../../dist/src/cli/main.js');

it('a node over maxmemory refuses writes with OOM and still converges under kills and partitions', () => {
  const args = ['verify', '--nodes', '3', '--duration', '12', '--seed', '4242', '--nemesis', 'kill,partition', '--persistence', 'everysec', '--maxmemory-last', '1', '--json'];
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 100_000 });
  const out = r.stdout ?? '';
  const last = out.trim().split('\n').pop() ?? '{}';
  const result = JSON.parse(last.startsWith('{') ? last : '{}') as { ok?: boolean; lost?: number; acknowledged?: number; errorReplies?: Record<string, number>; convergenceMs?: number | null };
  const report = out.slice(0, out.length - last.length);
  expect(r.status, `${report}\n${r.stderr}`).toBe(0);
  expect(result.ok).toBe(true);
  expect(result.lost).toBe(0);
  expect(result.acknowledged).toBeGreaterThan(500);
  expect(result.convergenceMs).not.toBeNull();
  expect(result.errorReplies?.["OOM command not allowed when used memory > 'maxmemory'."] ?? 0, report).toBeGreaterThan(100);
  expect(report).toContain('n3 maxmemory 1 B');
}, 110_000);
