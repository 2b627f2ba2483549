// The client commands against a real node: --node with --config or TALLY_CONFIG, --url as http(s) or
// ws(s) (and a clear hint for a wrong one), status and watch by --node or --url, window-create, and
// one error style (`tally: <message>`, exit 1 for failures and 2 for usage errors).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster, type TestNode } from '../integration/harness.js';
import { runCli, startCli, waitForOutput } from './run-cli.js';

let c: TestCluster;
let n1: TestNode;
let http: string;

beforeAll(async () => {
  c = await startCluster({ nodes: 1 });
  n1 = c.nodes[0]!;
  http = `http://127.0.0.1:${n1.httpPort}`;
}, 60_000);
afterAll(async () => {
  await c?.stopAll();
});

describe('choosing the node', () => {
  it('--url accepts http://host:port and ws://host:port/ws (the same port)', async () => {
    expect((await runCli(['incr', 'u', '--url', http])).stdout.trim()).toBe('1');
    expect((await runCli(['incr', 'u', '--url', `${http}/`])).stdout.trim()).toBe('2');
    expect((await runCli(['incr', 'u', '--url', `ws://127.0.0.1:${n1.httpPort}/ws`])).stdout.trim()).toBe('3');
  });

  it('--node reads the config from --config, else TALLY_CONFIG; without either, cluster.config.json of the working directory', async () => {
    expect((await runCli(['get', 'u', '--node', 'n1', '--config', c.configPath])).stdout.trim()).toBe('3');
    expect((await runCli(['get', 'u', '--node', 'n1'], { env: { TALLY_CONFIG: c.configPath } })).stdout.trim()).toBe('3');
    expect((await runCli(['get', 'u'], { env: { TALLY_CONFIG: c.configPath } })).stdout.trim()).toBe('3');
    const none = await runCli(['get', 'u', '--node', 'n1'], { cwd: c.dir });
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('tally: cannot read config file cluster.config.json: ENOENT\n');
  });

  it('a wrong --url says what is expected', async () => {
    const expected = "expected http(s)://host:port or ws(s)://host:port/ws, where port is the node's httpPort";
    const noScheme = await runCli(['get', 'u', '--url', `127.0.0.1:${n1.httpPort}`]);
    expect(noScheme.code).toBe(1);
    expect(noScheme.stderr).toContain(`tally: --url '127.0.0.1:${n1.httpPort}': no scheme; ${expected}`);
    const path = await runCli(['status', '--url', `${http}/status`]);
    expect(path.code).toBe(1);
    expect(path.stderr).toContain('path /status: the WebSocket API is at /ws');
    const scheme = await runCli(['get', 'u', '--url', `redis://127.0.0.1:${n1.respPort}`]);
    expect(scheme.stderr).toContain('scheme redis is not http, https, ws or wss');
    // The RESP port is a real listener, but not the HTTP one: the failure carries the hint.
    const resp = await runCli(['get', 'u', '--url', `http://127.0.0.1:${n1.respPort}`]);
    expect(resp.code).toBe(1);
    expect(resp.stderr).toMatch(/^tally: cannot connect to ws:\/\/127\.0\.0\.1:\d+\/ws: .*; --url expects http\(s\):\/\/host:port or ws\(s\):\/\/host:port\/ws/);
    const both = await runCli(['get', 'u', '--url', http, '--node', 'n1', '--config', c.configPath]);
    expect(both.stderr).toBe('tally: --node and --url both given: name the node one way\n');
    const unknown = await runCli(['get', 'u', '--node', 'n9', '--config', c.configPath]);
    expect(unknown.stderr).toBe("tally: --node: no node 'n9' in the config (nodes: n1)\n");
  });
});

describe('status and watch', () => {
  it('status by --url or by --node', async () => {
    const byUrl = await runCli(['status', '--url', http]);
    expect(byUrl.code, byUrl.stderr).toBe(0);
    expect(byUrl.stdout).toContain('cluster it, seen from n1');
    expect(byUrl.stdout).toMatch(/keys: \d+ \(gcounter \d+, pncounter \d+/);
    const json = await runCli(['status', '--node', 'n1', '--config', c.configPath, '--json']);
    expect((JSON.parse(json.stdout) as { node: { id: string } }).node.id).toBe('n1');
  });

  for (const how of ['--url', '--node'] as const) {
    it(`watch ${how}: prints the value, then exits 0 on SIGTERM`, async () => {
      await runCli(['incr', `w${how}`, '7', '--url', http]);
      const args = how === '--url' ? ['--url', http] : ['--node', 'n1', '--config', c.configPath];
      const w = startCli(['watch', `w${how}`, ...args]);
      await waitForOutput(w, ` n1 w${how} 7`.replace(' n1', how === '--url' ? ` 127.0.0.1:${n1.httpPort}` : ' n1'));
      w.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
    });
  }

  it('watch fails (exit 1) when no node can be reached', async () => {
    const r = await runCli(['watch', 'x', '--url', `http://127.0.0.1:${n1.respPort + 0}`.replace(String(n1.respPort), '1')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nothing listens there');
    expect(r.stderr).toContain('tally: no node could be watched');
  });
});

describe('window-create', () => {
  it('creates a windowed counter that window-incr and window-count then use', async () => {
    const made = await runCli(['window-create', 'win', '1', '60', '--url', http]);
    expect(made.stdout.trim(), made.stderr).toBe('OK');
    const incr = await runCli(['window-incr', 'win', '5', '--url', http]);
    expect(incr.stdout.trim(), incr.stderr).toBe('5');
    const count = await runCli(['window-count', 'win', '60', '--url', http]);
    expect(count.stdout.trim(), count.stderr).toBe('5');
  });

  it('bad arguments are named', async () => {
    const word = await runCli(['window-create', 'w2', 'x', '60', '--url', http]);
    expect(word.code).toBe(1);
    expect(word.stderr).toBe("tally: <granularity_s>: expected an integer, got 'x'\n");
    const zero = await runCli(['window-create', 'w2', '0', '60', '--url', http]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/^tally: ERR /);
  });
});

describe('one error style', () => {
  it('usage errors exit 2 with tally: <message>', async () => {
    const r = await runCli(['get', 'u', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("tally: unknown option '--bogus'\n");
    const missing = await runCli(['get']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("tally: missing required argument 'key'\n");
    const badDb = await runCli(['get', 'u', '--db', '99', '--url', http]);
    expect(badDb.code).toBe(2);
    expect(badDb.stderr).toBe("tally: option '--db <n>' argument '99' is invalid. expected an integer from 0 to 15, got '99'\n");
  });

  it('failures exit 1 with tally: <message>', async () => {
    const r = await runCli(['incr', 'u', 'abc', '--url', http]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("tally: <by>: expected an integer, got 'abc'\n");
  });

  it('a malformed config lists every error with its line and column', async () => {
    const bad = join(c.dir, 'bad.json');
    writeFileSync(bad, '{\n  "cluster": "it",\n  "nodes": [\n    { "id": "n1", "gossipPort": "7101", "respPort": 6381, "httpPort": 99999 }\n  ],\n  "logLevel": "loud"\n}\n');
    const r = await runCli(['get', 'u', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      [
        `tally: 3 errors in ${bad}:`,
        `  ${bad}:4:33: nodes[0].gossipPort: expected an integer from 0 to 65535, got "7101"`,
        `  ${bad}:4:71: nodes[0].httpPort: expected an integer from 0 to 65535, got 99999`,
        `  ${bad}:6:15: logLevel: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"`,
        '',
      ].join('\n'),
    );
    writeFileSync(bad, '{\n  "cluster": "it"\n  "nodes": []\n}\n');
    const syntax = await runCli(['node', '--id', 'n1', '--config', bad]);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toBe(`tally: config file ${bad} is not valid JSON: ${bad}:3:3: expected ',' or '}' after the value of "cluster", found '"'\n`);
  });
});

describe('with a client password', () => {
  let p: TestCluster;
  beforeAll(async () => {
    p = await startCluster({ nodes: 1, config: { auth: { password: 'pw' } } });
  }, 60_000);
  afterAll(async () => {
    await p?.stopAll();
  });

  it('--url with --config takes the config password; --url alone needs --password', async () => {
    const url = `http://127.0.0.1:${p.nodes[0]!.httpPort}`;
    expect((await runCli(['incr', 'k', '--url', url, '--config', p.configPath])).stdout.trim()).toBe('1');
    expect((await runCli(['incr', 'k', '--url', url, '--password', 'pw'])).stdout.trim()).toBe('2');
    const none = await runCli(['incr', 'k', '--url', url]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^tally: .*NOAUTH/);
  });
});
