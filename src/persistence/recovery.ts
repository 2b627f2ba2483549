// Recovery at start: open and check the store, bump the identity above every incarnation the store
// has seen, load every key into a keyspace with its local stamp (from which the replica rebuilds its
// earlier incarnations' logs, so peers are not sent again what they hold), and set up the group commit that keeps the store current. docs/durability.md.

import { Keyspace } from '../keyspace/keyspace.js';
import { replicaIdOf } from '../crdt/replica-id.js';
import type { ClusterConfig } from '../config/cluster-config.js';
import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import type { Logger } from '../util/logger.js';
import { bumpIncarnation, type Identity } from './identity.js';
import { GroupCommit, type DurableMode } from './group-commit.js';
import { DurableStore } from './store.js';
import type { LocalStamp } from '../replication/version-log.js';

export interface DurableState {
  identity: Identity;
  /** The restored keyspace: hand it to the Replica. */
  keyspace: Keyspace;
  /** The restored keys' local stamps (records of a format 1 store have none): hand them to the Replica. */
  stamps: Map<string, LocalStamp>;
  /** The slot-fold bounds the store recorded (replication/slot-folds.ts): hand them to the Replica. */
  foldBounds: [string, number][];
  commits: GroupCommit;
  store: DurableStore;
  loadedKeys: number;
  /** Fields for INFO persistence. */
  info(): Record<string, string | number>;
  /** Commits what is left and closes the store. */
  close(): Promise<void>;
}

/** The store's size on disk, for INFO persistence. */
function storeInfo(store: DurableStore): Record<string, number> {
  const s = store.stats();
  return { tally_store_records: s.records, tally_store_bytes: s.bytes };
}

export function openDurableState(cfg: ClusterConfig, nodeId: string, mode: DurableMode, log: Logger, clock: Clock, rng: Rng): DurableState {
  const started = clock.now();
  const { store, previous } = DurableStore.open({ dataDir: cfg.dataDir, nodeId, cluster: cfg.cluster });
  let identity: Identity;
  let keyspace: Keyspace;
  let loadedKeys: number;
  const stamps = new Map<string, LocalStamp>();
  try {
    // The store remembers the last incarnation that opened it: the new one must be above it even if
    // identity.json was lost or restored from an older copy.
    identity = bumpIncarnation(cfg.dataDir, nodeId, cfg.cluster, { now: clock.now(), above: previous?.incarnation ?? 0 });
    keyspace = new Keyspace(replicaIdOf(nodeId, identity.incarnation), { clock, rng, maxMessageBytes: cfg.gossip.maxMessageBytes });
    loadedKeys = store.loadInto(keyspace, stamps);
    store.claim({ cluster: cfg.cluster, nodeId, incarnation: identity.incarnation, ...(previous?.folds === undefined ? {} : { folds: previous.folds }) });
  } catch (e) {
    void store.close();
    throw e;
  }
  log.info({ path: store.path, keys: loadedKeys, ms: clock.now() - started, incarnation: identity.incarnation, persistence: mode }, 'state loaded');
  const commits = new GroupCommit(store, keyspace, mode, (err, keys) => log.error({ err, keys, path: store.path }, 'commit to the data store failed; will retry'));
  return {
    identity,
    keyspace,
    stamps,
    foldBounds: previous?.folds ?? [],
    commits,
    store,
    loadedKeys,
    info: () => {
      const backlog = commits.backlog();
      return {
        tally_store_path: store.path,
        tally_loaded_keys: loadedKeys,
        ...storeInfo(store),
        tally_commits: commits.stats.commits,
        tally_commit_keys_written: commits.stats.keysWritten,
        tally_commit_keys_max: commits.stats.largestCommitKeys,
        tally_commit_changes: commits.stats.changes,
        tally_commit_failures: commits.stats.failures,
        tally_commit_pending_keys: backlog.keys,
        tally_commits_in_flight: backlog.commits,
        tally_last_commit_ms: Math.round(commits.stats.lastCommitMs * 1000) / 1000,
        tally_mean_commit_ms: commits.stats.commits === 0 ? 0 : Math.round((commits.stats.totalCommitMs / commits.stats.commits) * 1000) / 1000,
      };
    },
    close: async () => {
      await commits.close();
      await store.close();
    },
  };
}
