// Config validation reports every issue, each with its JSON path; loadConfig adds the line and
// column of each (src/config/json-source.ts), and a JSON syntax error says where it is.

import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClusterConfigError, loadConfig, validateConfig } from '../../src/config/cluster-config.js';
import { parseJsonSource, positionOf } from '../../src/config/json-source.js';

const GOOD = { cluster: 'c', nodes: [{ id: 'n1', gossipPort: 7101, respPort: 6381, httpPort: 8101 }] };

function issues(raw: unknown): { path: string; message: string }[] {
  try {
    validateConfig(raw);
  } catch (e) {
    if (e instanceof ClusterConfigError) return e.issues.map(({ path, message }) => ({ path, message }));
    throw e;
  }
  return [];
}

describe('validateConfig', () => {
  it('accepts a good config and fills defaults', () => {
    const c = validateConfig(GOOD);
    expect(c.nodes[0]?.host).toBe('127.0.0.1');
    expect(c.seeds).toEqual(['n1']);
    expect(c.persistence).toBe('none');
  });

  it('reports every issue, not only the first', () => {
    const raw = {
      cluster: 'bad name',
      nodes: [
        { id: 'n1', gossipPort: '7101', respPort: 6381, httpPort: 8101 },
        { id: 'n1', gossipPort: 7102, respPort: 6381, httpPort: 8102, hots: 'x' },
        7,
      ],
      seeds: ['n9'],
      gossip: { intervalMs: 0, fanOut: 2, probeIntervalMs: 100, probeTimeoutMs: 200 },
      persistence: 'sometimes',
      auth: { password: '' },
      logLevel: 'loud',
      maxClients: 0,
      extra: true,
    };
    expect(issues(raw).map((i) => i.path)).toEqual([
      'extra',
      'cluster',
      'nodes[0].gossipPort',
      'nodes[1].hots',
      'nodes[2]',
      'nodes[1].id',
      'nodes[1].respPort',
      'seeds[0]',
      'gossip.fanOut',
      'gossip.intervalMs',
      'gossip.probeTimeoutMs',
      'persistence',
      'auth.password',
      'logLevel',
      'maxClients',
    ]);
    expect(issues(raw)[3]?.message).toBe('unknown field (allowed: id, host, bindHost, gossipPort, respPort, tlsPort, httpPort, maxmemory)');
    expect(issues(raw)[10]?.message).toBe('must not exceed gossip.probeIntervalMs (100), got 200');
  });

  it('maxmemory: "auto" by default, bytes, or Redis\'s units (k and m powers of 1000, kb and mb of 1024), per node too', () => {
    expect(validateConfig(GOOD).maxmemory).toBe('auto');
    const at = (m: unknown): unknown => validateConfig({ ...GOOD, maxmemory: m }).maxmemory;
    expect([at(0), at(123456), at('auto'), at('512mb'), at('2GB'), at('100k'), at('7m'), at('64 kb'), at('3b'), at('12')]).toEqual([0, 123456, 'auto', 512 * 1024 ** 2, 2 * 1024 ** 3, 100_000, 7_000_000, 64 * 1024, 3, 12]);
    const node = validateConfig({ ...GOOD, maxmemory: '1gb', nodes: [{ ...GOOD.nodes[0], maxmemory: '256mb' }] });
    expect([node.maxmemory, node.nodes[0]?.maxmemory]).toEqual([1024 ** 3, 256 * 1024 ** 2]);
    expect(validateConfig(GOOD).nodes[0]?.maxmemory).toBeUndefined();
    const what = 'expected a byte count (0 for no limit), a size such as "512mb" or "2gb", or "auto"';
    for (const bad of [-1, 1.5, '12tb', 'lots', '', true, null, '99999999999999 gb']) {
      expect(issues({ ...GOOD, maxmemory: bad }).map((i) => i.path), JSON.stringify(bad)).toEqual(['maxmemory']);
    }
    expect(issues({ ...GOOD, maxmemory: 'lots' })[0]?.message).toBe(`${what}, got "lots"`);
    expect(issues({ ...GOOD, nodes: [{ ...GOOD.nodes[0], maxmemory: 'x' }] })).toEqual([{ path: 'nodes[0].maxmemory', message: `${what}, got "x"` }]);
  });

  it('allocator: "auto" by default, "jemalloc" or "system"; anything else named', () => {
    expect(validateConfig(GOOD).allocator).toBe('auto');
    expect(validateConfig({ ...GOOD, allocator: 'jemalloc' }).allocator).toBe('jemalloc');
    expect(validateConfig({ ...GOOD, allocator: 'system' }).allocator).toBe('system');
    expect(issues({ ...GOOD, allocator: 'tcmalloc' })).toEqual([{ path: 'allocator', message: 'expected one of auto, jemalloc, system, got "tcmalloc"' }]);
    expect(issues({ ...GOOD, allocator: 1 })).toEqual([{ path: 'allocator', message: 'expected one of auto, jemalloc, system, got 1' }]);
  });

  it('a config that is not an object is one issue', () => {
    expect(issues([1])).toEqual([{ path: 'config', message: 'expected an object, got [1]' }]);
  });
});

describe('loadConfig positions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-config-'));
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('gives every validation issue its line and column', () => {
    const p = write('v.json', '{\n  "cluster": "c",\n  "nodes": [\n    { "id": "n1", "gossipPort": -1, "respPort": 6381 }\n  ],\n  "gossip": { "fanout": 0 }\n}\n');
    let err: ClusterConfigError | undefined;
    try {
      loadConfig(p);
    } catch (e) {
      err = e as ClusterConfigError;
    }
    expect(err?.issues.map((i) => [i.path, i.line, i.column])).toEqual([
      ['nodes[0].gossipPort', 4, 33],
      ['nodes[0].httpPort', 4, 5], // missing: the position of its object
      ['gossip.fanout', 6, 25],
    ]);
    expect(err?.message.split('\n')[0]).toBe(`3 errors in ${p}:`);
  });

  it('one issue is one line', () => {
    const p = write('one.json', JSON.stringify({ ...GOOD, logLevel: 'x' }));
    expect(() => loadConfig(p)).toThrow(new RegExp(`^${p.replace(/[.]/g, '\\.')}:1:\\d+: logLevel: expected one of`));
  });

  it('a syntax error names its line and column', () => {
    const cases: [string, string][] = [
      ['{\n  "a": 1,\n}', '3:1: trailing comma before \'}\''],
      ['{\n  "a": 1\n  "b": 2\n}', `3:3: expected ',' or '}' after the value of "a", found '"'`],
      ["{ 'a': 1 }", "1:3: expected a field name in double quotes, found '''"],
      ['{ "a": // note\n 1 }', '1:8: JSON has no comments'],
      ['{ "a": "x\n" }', '1:10: unterminated string (a line break inside it)'],
      ['{ "a": [1, 2 }', "1:14: expected ',' or ']' in a list, found '}'"],
      ['{ "a": 1 } x', "1:12: unexpected 'x' after the end of the JSON value"],
      ['', '1:1: unexpected end of the file'],
    ];
    for (const [text, where] of cases) {
      const p = write('s.json', text);
      expect(() => loadConfig(p)).toThrow(`config file ${p} is not valid JSON: ${p}:${where}`);
    }
  });
});

describe('parseJsonSource', () => {
  it('agrees with JSON.parse on every JSON value, and finds every path', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (v, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 2 : undefined);
        const r = parseJsonSource(text);
        expect(r.ok).toBe(true);
        if (r.ok) {
          expect(r.value).toEqual(JSON.parse(text));
          expect(positionOf(r.positions, '')).toEqual({ line: 1, column: 1 });
        }
      }),
    );
  });

  it('refuses what JSON.parse refuses', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        expect(parseJsonSource(text).ok).toBe(valid);
      }),
    );
  });
});
