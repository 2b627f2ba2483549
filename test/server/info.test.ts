// INFO's text as Redis lays it out: which sections each argument selects (none, default, all,
// everything, names in any case), the sections the command layer adds itself (replication,
// blocked_clients, commandstats), and their field formats.

import { describe, expect, it } from 'vitest';
import { renderInfo } from '../../src/server/commands/info.js';
import { stateOf } from '../../src/server/commands/state.js';
import type { CommandServices } from '../../src/server/commands/types.js';
import { testNode } from './command-harness.js';

/** A node whose snapshot has a default section (server), a non-default one (tally) and stats per command. */
function ctx(): CommandServices {
  const base = testNode().ctx;
  return {
    ...base,
    info: () => ({ server: { redis_version: '7.2.0' }, clients: { connected_clients: 3 }, keyspace: { db0: 'keys=1,expires=0' }, tally: { tally_tombstones: 0 } }),
    commandStats: () => [
      { name: 'incr', calls: 4, usec: 10.4, failed: 1 },
      { name: 'get', calls: 0, usec: 0, failed: 0 },
      { name: 'pfadd', calls: 3, usec: 7, failed: 0 },
    ],
  };
}

/** The section headers of an INFO text, in order. */
const headers = (text: string): string[] => text.split('\r\n').filter((l) => l.startsWith('# '));

describe('INFO', () => {
  it('with no argument or "default", every section but commandstats: Redis\'s defaults in order, then the node\'s own', () => {
    const c = ctx();
    const expected = ['# Server', '# Clients', '# Replication', '# Keyspace', '# Tally'];
    expect(headers(renderInfo(c, []))).toEqual(expected);
    expect(headers(renderInfo(c, ['default']))).toEqual(expected);
  });

  it('"all" and "everything" add commandstats; a name selects its section alone, unknown names nothing', () => {
    const c = ctx();
    const all = [...['# Server', '# Clients', '# Replication', '# Keyspace'], '# Tally', '# Commandstats'];
    expect(headers(renderInfo(c, ['all']))).toEqual(all);
    expect(headers(renderInfo(c, ['everything']))).toEqual(all);
    expect(renderInfo(c, ['commandstats'])).toBe(
      '# Commandstats\r\ncmdstat_incr:calls=4,usec=10,usec_per_call=2.50,rejected_calls=0,failed_calls=1\r\ncmdstat_pfadd:calls=3,usec=7,usec_per_call=2.33,rejected_calls=0,failed_calls=0\r\n',
    );
    expect(headers(renderInfo(c, ['keyspace', 'server']))).toEqual(['# Keyspace', '# Server']);
    expect(renderInfo(c, ['nosuchsection'])).toBe('');
  });

  it('reports no Redis replicas, and the sessions blocked in WAIT or a majority read', () => {
    const c = ctx();
    stateOf(c).blocked = 2;
    expect(renderInfo(c, ['clients', 'replication'])).toBe(
      '# Clients\r\nconnected_clients:3\r\nblocked_clients:2\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_repl_offset:0\r\ntally_replication:gossip (see # Gossip and # Cluster)\r\n',
    );
  });

  it('as a command, takes section names in any case and answers bulk text', () => {
    const n = testNode();
    const s = n.session();
    expect(n.run(s, 'INFO', 'SERVER')).toBe('$31\r\n# Server\r\nredis_version:7.2.0\r\n\r\n');
  });
});
