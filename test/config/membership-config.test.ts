// The config forms of dynamic membership: a node named alone with seed addresses (it joins), the
// roster form unchanged, and the advertised `host` apart from the `bindHost` its listeners bind to.

import { describe, expect, it } from 'vitest';
import { ClusterConfigError, seedAddresses, startsJoining, validateConfig } from '../../src/config/cluster-config.js';

const node = (id: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id, gossipPort: port, respPort: port + 100, httpPort: port + 200, ...extra });

function issues(raw: unknown): { path: string; message: string }[] {
  try {
    validateConfig(raw);
  } catch (e) {
    if (e instanceof ClusterConfigError) return e.issues.map(({ path, message }) => ({ path, message }));
    throw e;
  }
  return [];
}

describe('seeds by address', () => {
  it('a node named alone with a seed address joins through it', () => {
    const c = validateConfig({ cluster: 'c', nodes: [node('n4', 7104)], seeds: ['10.0.0.1:7101', 'db-2.internal:7102'] });
    expect(c.seeds).toEqual(['10.0.0.1:7101', 'db-2.internal:7102']);
    expect(seedAddresses(c, 'n4')).toEqual(['10.0.0.1:7101', 'db-2.internal:7102']);
    expect(startsJoining(c, 'n4')).toBe(true);
  });

  it('the roster form is unchanged: ids resolve to addresses, and its nodes are members from the start', () => {
    const c = validateConfig({ cluster: 'c', nodes: [node('n1', 7101), node('n2', 7102, { host: '10.0.0.2' })], seeds: ['n2'] });
    expect(seedAddresses(c, 'n1')).toEqual(['10.0.0.2:7102']);
    expect(seedAddresses(c, 'n2')).toEqual([]);
    expect(startsJoining(c, 'n1')).toBe(false);
    // Default seeds: every node.
    const d = validateConfig({ cluster: 'c', nodes: [node('n1', 7101), node('n2', 7102)] });
    expect(seedAddresses(d, 'n1')).toEqual(['127.0.0.1:7102']);
  });

  it('a node alone with no seed (or only its own address) founds a cluster of one', () => {
    expect(startsJoining(validateConfig({ cluster: 'c', nodes: [node('n1', 7101)] }), 'n1')).toBe(false);
    expect(startsJoining(validateConfig({ cluster: 'c', nodes: [node('n1', 7101)], seeds: ['127.0.0.1:7101'] }), 'n1')).toBe(false);
  });

  it('names what is wrong with a seed', () => {
    expect(issues({ cluster: 'c', nodes: [node('n1', 7101)], seeds: ['10.0.0.1:0', 'h:99999', '0.0.0.0:7101', 'bad host:1', 'n9', 5] })).toEqual([
      { path: 'seeds[0]', message: `expected a node id, or a node's gossip address as host:port (port 1-65535, not a wildcard host), got "10.0.0.1:0"` },
      { path: 'seeds[1]', message: `expected a node id, or a node's gossip address as host:port (port 1-65535, not a wildcard host), got "h:99999"` },
      { path: 'seeds[2]', message: `expected a node id, or a node's gossip address as host:port (port 1-65535, not a wildcard host), got "0.0.0.0:7101"` },
      { path: 'seeds[3]', message: `expected a node id, or a node's gossip address as host:port (port 1-65535, not a wildcard host), got "bad host:1"` },
      { path: 'seeds[4]', message: `'n9' is not the id of a node in "nodes" (a node this config does not list is given by its gossip address, host:port)` },
      { path: 'seeds[5]', message: `expected a node id, or a node's gossip address as host:port, got 5` },
    ]);
  });
});

describe('bindHost and the advertised host', () => {
  it('bindHost defaults to host; a wildcard is fine to bind', () => {
    const c = validateConfig({ cluster: 'c', nodes: [node('n1', 7101, { host: '10.0.0.1' }), node('n2', 7102, { host: '10.0.0.2', bindHost: '0.0.0.0' }), node('n3', 7103, { host: '10.0.0.3', bindHost: '::' })] });
    expect(c.nodes.map((n) => [n.host, n.bindHost])).toEqual([
      ['10.0.0.1', '10.0.0.1'],
      ['10.0.0.2', '0.0.0.0'],
      ['10.0.0.3', '::'],
    ]);
  });

  it('refuses a wildcard as the advertised host, saying where it belongs', () => {
    expect(issues({ cluster: 'c', nodes: [node('n1', 7101, { host: '0.0.0.0' })] })).toEqual([
      { path: 'nodes[0].host', message: '0.0.0.0 is where peers would dial this node, and nobody can dial a wildcard address: set host to the address peers reach this node at, and bindHost to 0.0.0.0' },
    ]);
    expect(issues({ cluster: 'c', nodes: [node('n1', 7101, { bindHost: 'not a host' })] })).toEqual([
      { path: 'nodes[0].bindHost', message: 'expected a host name or IP address to listen on (0.0.0.0 or :: for every interface), got "not a host"' },
    ]);
  });
});
