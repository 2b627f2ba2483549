// Recovery at start (src/persistence/recovery.ts) on a real data directory: a new node starts at the
// clock with an empty keyspace built for the cluster; a restart loads every key and its stamp and
// starts above every incarnation the store saw; what it logs and reports in INFO; a failed commit is
// logged; close commits what is left and closes the store.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validateConfig, type ClusterConfig } from '../../src/config/cluster-config.js';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { identityPath, IdentityError } from '../../src/persistence/identity.js';
import { openDurableState, type DurableState } from '../../src/persistence/recovery.js';
import { storePath } from '../../src/persistence/store.js';
import type { Logger } from '../../src/util/logger.js';
import { SeededRng } from '../../src/util/rng.js';

const states: DurableState[] = [];
afterEach(async () => {
  for (const s of states.splice(0)) await s.close();
});

function config(dataDir: string): ClusterConfig {
  const cfg = validateConfig({ cluster: 'c1', nodes: [{ id: 'n1', gossipPort: 1, respPort: 2, httpPort: 3 }] });
  return { ...cfg, dataDir, gossip: { ...cfg.gossip, maxMessageBytes: 200_000 } };
}

/** A logger that keeps every line. */
function memoryLog(): { log: Logger; lines: [string, unknown, string | undefined][] } {
  const lines: [string, unknown, string | undefined][] = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push(typeof obj === 'string' ? [level, undefined, obj] : [level, obj, msg]);
    };
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return { log, lines };
}

/** A clock at `first` for its first reading and `later` after. */
function clock(first: number, later: number): { now(): number } {
  let n = 0;
  return { now: () => (n++ === 0 ? first : later) };
}

function open(dir: string, mode: 'always' | 'everysec', log: Logger, c: { now(): number }): DurableState {
  const s = openDurableState(config(dir), 'n1', mode, log, c, new SeededRng(1));
  states.push(s);
  return s;
}

describe('openDurableState', () => {
  it('a new node: starts at the clock with an empty keyspace built for the cluster, and says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-recovery-'));
    const { log, lines } = memoryLog();
    const s = open(dir, 'always', log, clock(1000, 1250));
    expect(s.identity).toEqual({ nodeId: 'n1', cluster: 'c1', incarnation: 1250 });
    expect(s.keyspace.replicaId).toBe('n1:1250');
    expect(s.keyspace.hasClock).toBe(true);
    expect(s.keyspace.frameLimit).toBe(200_000);
    expect(s.keyspace.size).toBe(0);
    expect(s.loadedKeys).toBe(0);
    expect(s.stamps).toEqual(new Map());
    expect(s.commits.mode).toBe('always');
    expect(s.store.path).toBe(storePath(dir, 'n1'));
    expect(s.store.meta()).toEqual({ format: 2, cluster: 'c1', nodeId: 'n1', incarnation: 1250 });
    expect(lines).toEqual([['info', { path: storePath(dir, 'n1'), keys: 0, ms: 250, incarnation: 1250, persistence: 'always' }, 'state loaded']]);
    expect(s.info()).toEqual({
      tally_store_path: storePath(dir, 'n1'),
      tally_loaded_keys: 0,
      tally_store_records: 0,
      tally_store_bytes: s.store.stats().bytes,
      tally_commits: 0,
      tally_commit_keys_written: 0,
      tally_commit_keys_max: 0,
      tally_commit_changes: 0,
      tally_commit_failures: 0,
      tally_commit_pending_keys: 0,
      tally_commits_in_flight: 0,
      tally_last_commit_ms: 0,
      tally_mean_commit_ms: 0,
    });
  });

  it('a restart loads every key and stamp, and starts above the store even without identity.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-recovery-'));
    const first = open(dir, 'everysec', memoryLog().log, clock(5000, 5000));
    first.keyspace.incrBy(fullKey(0, 'a'), 7);
    first.keyspace.incrBy(fullKey(0, 'b'), 2);
    await first.close();
    states.splice(0);
    rmSync(identityPath(dir, 'n1')); // lost; the clock is behind the last start too
    const { log, lines } = memoryLog();
    const s = open(dir, 'always', log, clock(10, 10));
    expect(s.identity.incarnation).toBe(5001);
    expect(s.loadedKeys).toBe(2);
    expect(s.keyspace.getCounter(fullKey(0, 'a'))).toEqual({ ok: true, value: 7 });
    expect(s.keyspace.getCounter(fullKey(0, 'b'))).toEqual({ ok: true, value: 2 });
    expect(s.info()).toMatchObject({ tally_loaded_keys: 2, tally_store_records: 2 });
    expect(lines[0]?.[1]).toMatchObject({ keys: 2, incarnation: 5001 });
    // Stamps come back when the records carry them (the replica's stampOf, set once it exists).
    s.commits.stampOf = (key) => ({ incarnation: 5001, version: key === fullKey(0, 'c') ? 3 : 0 });
    s.keyspace.incrBy(fullKey(0, 'c'), 1);
    await s.close();
    states.splice(0);
    const again = open(dir, 'always', memoryLog().log, clock(10, 10));
    expect(again.identity.incarnation).toBe(5002);
    expect(again.stamps).toEqual(new Map([[fullKey(0, 'c'), { incarnation: 5001, version: 3 }]]));
  });

  it("refuses another cluster's identity.json and closes the store it opened", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-recovery-'));
    await open(dir, 'always', memoryLog().log, clock(1, 1)).close();
    states.splice(0);
    writeFileSync(identityPath(dir, 'n1'), JSON.stringify({ format: 1, nodeId: 'n1', cluster: 'other', incarnation: 1 }));
    const { log, lines } = memoryLog();
    expect(() => openDurableState(config(dir), 'n1', 'always', log, clock(1, 1), new SeededRng(1))).toThrow(
      new IdentityError(`${identityPath(dir, 'n1')} belongs to cluster 'other', not 'c1'. Check the config's "cluster" and dataDir.`),
    );
    expect(lines).toEqual([]);
  });

  it('INFO rounds commit times to the microsecond and gives their mean', () => {
    const s = open(mkdtempSync(join(tmpdir(), 'tally-recovery-')), 'always', memoryLog().log, clock(1, 1));
    Object.assign(s.commits.stats, { commits: 3, keysWritten: 9, largestCommitKeys: 5, changes: 12, failures: 1, lastCommitMs: 1.23456, totalCommitMs: 10 });
    expect(s.info()).toEqual({
      tally_store_path: s.store.path,
      tally_loaded_keys: 0,
      tally_store_records: 0,
      tally_store_bytes: s.store.stats().bytes,
      tally_commits: 3,
      tally_commit_keys_written: 9,
      tally_commit_keys_max: 5,
      tally_commit_changes: 12,
      tally_commit_failures: 1,
      tally_commit_pending_keys: 0,
      tally_commits_in_flight: 0,
      tally_last_commit_ms: 1.235,
      tally_mean_commit_ms: 3.333,
    });
  });

  it('logs a failed commit with its key count and the path', async () => {
    const { log, lines } = memoryLog();
    const s = open(mkdtempSync(join(tmpdir(), 'tally-recovery-')), 'always', log, clock(1, 1));
    await s.store.close();
    s.keyspace.incrBy(fullKey(0, 'a'), 1);
    await vi.waitUntil(() => lines.some(([level]) => level === 'error'));
    const [, fields, msg] = lines.find(([level]) => level === 'error') ?? [];
    expect(msg).toBe('commit to the data store failed; will retry');
    expect(fields).toMatchObject({ keys: 1, path: s.store.path });
    expect((fields as { err: Error }).err.message).toBe(`the data store ${s.store.path} is closed`);
  });

  it('close commits what is left, then closes the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-recovery-'));
    const s = open(dir, 'everysec', memoryLog().log, clock(1, 1));
    s.keyspace.incrBy(fullKey(0, 'a'), 3);
    await s.close();
    states.splice(0);
    await expect(s.store.write([]).committed).rejects.toThrow(`the data store ${s.store.path} is closed`);
    expect(open(dir, 'always', memoryLog().log, clock(1, 1)).keyspace.getCounter(fullKey(0, 'a'))).toEqual({ ok: true, value: 3 });
  });
});
