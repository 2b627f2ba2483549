// A bulk load into a real node under `everysec` (src/persistence/group-commit.ts, `behind`): while two
// commits' worth of keys (BEHIND_KEYS) are listed behind the one being written, the RESP server runs
// none of the client's commands, so no commit is much larger than that. Before, the writer's commits grew
// with its ingest (a million new keys went in 9 commits of about 110,000), and LMDB keeps as many
// pages as its largest transaction dirtied until the store closes. Nothing is lost on the way: every
// key is on disk after a restart.

import { describe, expect, it } from 'vitest';
import { BEHIND_KEYS, COMMIT_KEYS } from '../../src/persistence/group-commit.js';
import { startCluster, until } from './harness.js';
import { pipeNewKeys, respClient, tallyInfo } from './info.js';

describe('a bulk load under everysec', () => {
  it('commits in pieces of at most about BEHIND_KEYS keys however fast the client sends, and loses none', async () => {
    const c = await startCluster({ nodes: 1, config: { persistence: 'everysec' } });
    try {
      const keys = 300_000;
      const piped = pipeNewKeys(c, 0, keys);
      expect(piped, piped.output).toMatchObject({ errors: 0, replies: keys });
      const p = await until('every key on disk', async () => {
        const f = await tallyInfo(c, 0, 'persistence');
        return f.tally_commit_pending_keys === 0 && f.tally_commits_in_flight === 0 ? f : undefined;
      });
      expect(p.tally_commit_keys_written).toBe(keys);
      // The commit that crossed the bound may take the rest of one read from the socket (64 KiB of
      // requests, under 2,700 of these) more.
      expect(p.tally_commit_keys_max).toBeGreaterThanOrEqual(COMMIT_KEYS);
      expect(p.tally_commit_keys_max).toBeLessThanOrEqual(BEHIND_KEYS + 4096);
      expect(p.tally_commits).toBeGreaterThanOrEqual(Math.ceil(keys / (BEHIND_KEYS + 4096)));
      await c.stop('n1');
      await c.start('n1');
      const again = respClient(c, 0);
      await again.connect();
      try {
        expect(await again.dbsize()).toBe(keys);
        expect(await again.get(`user:${keys - 1}`)).toBe('1');
      } finally {
        again.disconnect();
      }
    } finally {
      await c.stopAll();
    }
  }, 150_000);
});
