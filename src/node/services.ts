// The services the command table runs against, built once per node from its parts: the keyspace,
// the counter-type rule, AUTH, INFO (from the node snapshot), CONFIG GET, CLIENT LIST, and the
// consistency levels and membership changes bridged from the replica's callbacks to promises.

import type { ClusterConfig } from '../config/cluster-config.js';
import { keyBytesOf } from '../keyspace/full-key.js';
import type { Replica } from '../replication/replica.js';
import { globMatch } from '../server/commands/parse.js';
import type { CommandServices, SessionAuth } from '../server/commands/types.js';
import type { Clock } from '../util/clock.js';
import { fullGc } from '../util/system.js';
import type { SessionRegistry } from './sessions.js';
import { infoSections, type NodeSnapshot } from './snapshot.js';

/**
 * The counter type a new key is created as: a G-Counter when its name matches one of the
 * `gcounterKeys` globs. The patterns are converted once to the key representation (UTF-8 bytes as
 * latin1 chars, what a full key holds after its db char), so `vües:*` matches the key `vües:1`.
 */
export function counterTypeRule(patterns: readonly string[]): (key: string) => 'gcounter' | 'pncounter' {
  const converted = patterns.map(keyBytesOf);
  if (converted.length === 0) return () => 'pncounter';
  return (key) => (converted.some((p) => globMatch(p, key.slice(1))) ? 'gcounter' : 'pncounter');
}

export function commandServices(o: {
  cfg: ClusterConfig;
  nodeId: string;
  version: string;
  clock: Clock;
  replica: Replica;
  sessions: SessionRegistry;
  snapshot: () => NodeSnapshot;
  /** Users, AUTH, permissions: the node's Authenticator. */
  auth: SessionAuth;
  /** This node's memory limit in bytes (0: none), for CONFIG GET. */
  maxmemory: number;
  /** This node left the cluster (TALLY.LEAVE succeeded): the node stops once the reply is out. */
  left: () => void;
}): CommandServices {
  const { cfg, clock, replica: r } = o;
  return {
    keyspace: r.keyspace,
    auth: o.auth,
    // The password stays with the authenticator (as a keyed digest); the commands never see it.
    password: null,
    counterTypeFor: counterTypeRule(cfg.gcounterKeys),
    nodeId: o.nodeId,
    clusterName: cfg.cluster,
    version: o.version,
    now: () => clock.now(),
    purgeMemory: fullGc,
    info: () => infoSections(o.snapshot()),
    configValues: () => ({
      databases: '16',
      save: '',
      appendonly: cfg.persistence === 'none' ? 'no' : 'yes',
      maxclients: String(cfg.maxClients),
      maxmemory: String(o.maxmemory),
      'maxmemory-policy': 'noeviction',
      'tally-gossip-interval-ms': String(cfg.gossip.intervalMs),
      'tally-fanout': String(cfg.gossip.fanout),
      'tally-persistence': cfg.persistence,
      // Redis's name; never a password: CONFIG GET has no parameter that holds one (requirepass is not offered).
      'protected-mode': cfg.protectedMode ? 'yes' : 'no',
    }),
    listClients: () => o.sessions.list(),
    clock: () => r.clockStatus(clock.now()),
    consistency: {
      version: () => r.version,
      // The replica checks deadlines in tick(), which the tick loop runs at least every 50 ms.
      waitHolders: (version, needed, timeoutMs) => new Promise((done) => r.awaitHolders(version, needed, timeoutMs === 0 ? Infinity : clock.now() + timeoutMs, done)),
      waitMajority: (version, timeoutMs) => new Promise((done) => r.awaitMajority(version, clock.now() + timeoutMs, done)),
      majorityRead: (keys, timeoutMs) => new Promise((done) => r.majorityRead(keys, clock.now() + timeoutMs, done)),
    },
    membership: {
      leave: (timeoutMs) =>
        new Promise((done) =>
          r.leaveCluster(clock.now() + timeoutMs, (outcome) => {
            done(outcome);
            if (outcome.ok) o.left();
          }),
        ),
      remove: (id) => r.removeMember(id),
    },
  };
}
