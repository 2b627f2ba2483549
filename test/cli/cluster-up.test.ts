// `tally cluster up` and `tally node` tell the truth: a taken port or a node that dies at start is
// an exit 1 naming the cause, never "is up"; a node whose any listener cannot bind exits 1 rather than
// run half-started; the "Try:" hint names the config and the password. Real processes on 127.0.0.1.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_V8_FLAGS } from '../../src/node/v8-flags.js';
import { findJemalloc, runningAllocator } from '../../src/util/allocator.js';
import { runCli, startCli, tempConfig, waitForOutput } from './run-cli.js';

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(s));
  });
}

describe('tally cluster up', () => {
  it('with a port already taken: exit 1 naming the port, no node started, never "up"', async () => {
    const c = await tempConfig(3);
    const blocker = await occupy(c.nodes[1]!.respPort);
    try {
      const r = await runCli(['cluster', 'up', '--config', c.path, '--ready-timeout', '20000']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`tally: cannot start the cluster: port ${c.nodes[1]!.respPort} (n2 respPort) on 127.0.0.1 already in use`);
      expect(r.stdout).not.toContain('is up');
    } finally {
      blocker.close();
    }
  });

  it('when a node dies at start: exit 1 naming the node, the others stopped, never "up"', async () => {
    const c = await tempConfig(3, { persistence: 'everysec' });
    // n2's store is garbage: it refuses to start (exit 1) with the path named.
    mkdirSync(join(c.dir, 'data', 'n2'), { recursive: true });
    writeFileSync(join(c.dir, 'data', 'n2', 'store.mdb'), Buffer.alloc(20_000, 7));
    const r = await runCli(['cluster', 'up', '--config', c.path, '--ready-timeout', '60000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tally: node n2 exited (code 1) before the cluster formed');
    expect(r.stderr).toContain('is corrupt');
    expect(r.stdout).not.toContain('is up');
    // Every node was stopped: their ports are free again.
    const again = await occupy(c.nodes[0]!.httpPort);
    again.close();
  });

  it('forms, prints a Try: hint with --config and --askpass that works as printed, and exits 0 on SIGINT', async () => {
    const c = await tempConfig(2, { auth: { keyFile: null, password: 'pw-1' } });
    const up = startCli(['cluster', 'up', '--config', 'c.json'], { cwd: c.dir });
    try {
      await waitForOutput(up, 'is up: 2 node(s)', 60_000);
      await waitForOutput(up, 'Press Ctrl-C');
      const hint = up.out.stdout.split('\n').find((l) => l.includes('without redis-cli')) ?? '';
      expect(hint).toContain('npx tally incr pageviews --node n1 --config c.json');
      expect(up.out.stdout).toMatch(/redis-cli -p \d+ --askpass INCR pageviews/);
      // The hinted command, run as printed (from the same directory), reads the password from the config.
      const args = (/npx tally (.*)\)/.exec(hint)?.[1] ?? '').split(' ');
      const r = await runCli(args, { cwd: c.dir });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('1');
      // Each node runs with the V8 flags a node needs, which only its command line can give it.
      const st = await runCli(['status', '--json', '--node', 'n2', '--config', 'c.json'], { cwd: c.dir });
      const pid = (JSON.parse(st.stdout) as { node: { pid: number } }).node.pid;
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      for (const flag of NODE_V8_FLAGS) expect(argv).toContain(flag);
      // And on jemalloc where it is installed (the config's allocator is "auto"), which the node
      // itself reports (in /status, and in INFO as mem_allocator, as Redis does).
      const expected = findJemalloc() === undefined ? 'libc' : 'jemalloc';
      expect(runningAllocator(readFileSync(`/proc/${pid}/maps`, 'utf8'))).toBe(expected);
      expect((JSON.parse(st.stdout) as { memory: { allocator: string } }).memory.allocator).toBe(expected);
    } finally {
      up.kill('SIGINT');
    }
    const done = await up.exited;
    expect(done.code).toBe(0);
  });
});

describe('tally node: any listener that cannot bind stops the node with exit 1', () => {
  for (const [field, what] of [['gossipPort', 'gossip'], ['respPort', 'RESP'], ['httpPort', 'HTTP']] as const) {
    it(`${field} taken: exit 1, the port named`, async () => {
      const c = await tempConfig(1);
      const port = c.nodes[0]![field];
      const blocker = await occupy(port);
      try {
        const r = await runCli(['node', '--config', c.path, '--id', 'n1']);
        expect(r.code).toBe(1);
        const line = r.stderr.split('\n').find((l) => l.startsWith('tally: ')) ?? '';
        expect(line).toContain(`127.0.0.1:${port}`);
        expect(line).toContain('EADDRINUSE');
        expect(line).toContain(`cannot listen for ${what}`); // one wording for every listener
      } finally {
        blocker.close();
      }
    });
  }
});
