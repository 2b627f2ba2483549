// `tally backup <dir>`: a consistent copy of a running node's LMDB store, which a restore (the node
// stopped, its store replaced by the copy) brings back. And the errors: a directory that exists, a
// config without persistence, an unknown --id. Real processes on 127.0.0.1.

import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, until, type TestCluster } from '../integration/harness.js';
import { runCli } from './run-cli.js';

let c: TestCluster;
let url: string;
beforeAll(async () => {
  c = await startCluster({ nodes: 1, config: { persistence: 'everysec' } });
  url = `http://127.0.0.1:${c.nodes[0]!.httpPort}`;
}, 60_000);
afterAll(async () => {
  await c?.stopAll();
});

describe('tally backup', () => {
  it('copies a live store consistently; restoring the copy brings the counts back', async () => {
    for (const k of ['a', 'b', 'c']) expect((await runCli(['incr', k, '5', '--url', url])).stdout.trim()).toBe('5');
    // everysec: the writes reach the disk within about a second; back up until the copy holds all three.
    let n = 0;
    const dir = await until('a backup with the 3 keys', async () => {
      const d = join(c.dir, `backup-${n++}`);
      const r = await runCli(['backup', d, '--config', c.configPath]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.includes('n1: 3 key(s)') ? d : undefined;
    });
    // The copy is a dataDir entry: the store and the identity, no lock file.
    expect(readdirSync(join(dir, 'n1')).sort()).toEqual(['identity.json', 'store.mdb']);
    // Every count is in it: no access for other local users, like the data directory.
    expect(statSync(dir).mode & 0o077).toBe(0);
    expect(statSync(join(dir, 'n1')).mode & 0o077).toBe(0);

    // Disaster: the node stops and its data directory is lost. Restore: copy the backup back, start.
    expect(await c.stop('n1')).toBe(0);
    const data = join(c.dir, 'data', 'n1');
    rmSync(data, { recursive: true });
    cpSync(join(dir, 'n1'), data, { recursive: true });
    await c.start('n1');
    for (const k of ['a', 'b', 'c']) expect((await runCli(['get', k, '--url', url])).stdout.trim()).toBe('5');
    expect(c.log('n1')).toMatch(/"keys":3,.*"msg":"state loaded"/);
  });

  it('refuses a directory that exists, a config without persistence, and an unknown --id', async () => {
    const dir = join(c.dir, 'exists');
    expect((await runCli(['backup', dir, '--config', c.configPath])).code).toBe(0);
    const again = await runCli(['backup', dir, '--config', c.configPath]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`tally: ${join(dir, 'n1')} already exists: back up into a new directory\n`);

    const unknown = await runCli(['backup', join(c.dir, 'x'), '--config', c.configPath, '--id', 'n9']);
    expect(unknown.stderr).toBe("tally: --id: no node 'n9' in the config (nodes: n1)\n");
    expect(existsSync(join(c.dir, 'x'))).toBe(false);

    const none = join(c.dir, 'none.json');
    writeFileSync(none, JSON.stringify({ cluster: 'it', nodes: [{ id: 'n1', gossipPort: 1, respPort: 2, httpPort: 3 }] }));
    const r = await runCli(['backup', join(c.dir, 'y'), '--config', none]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('persistence is "none": the nodes keep nothing on disk to back up');
  });
});
