// Dynamic membership with real processes on 127.0.0.1: a fourth node whose config names only itself
// and one seed address joins a running three-node cluster (every node's /status shows it, and a key
// written by majority before it joined is readable on it), leaves with `tally leave` (exit 0, the
// others stop counting it), and a killed node is removed for good with `tally remove`.

import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { freePort } from '../../src/util/free-port.js';
import { get, MAIN, startCluster, until, waitForMembers, type TestCluster, type TestNode } from './harness.js';

interface MemberJson {
  id: string;
  state: string;
  voter: boolean;
  joining: boolean;
}
interface StatusJson {
  members: MemberJson[];
  quorum: { clusterSize: number; majority: number; joining: boolean };
}

let c: TestCluster;
const clients: Redis[] = [];
let n4: TestNode;
let n4Proc: ChildProcess | null = null;
let n4Config: string;

function redis(port: number): Redis {
  const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 });
  clients.push(r);
  return r;
}

async function statusOf(n: TestNode): Promise<StatusJson> {
  const res = await get(n, '/status');
  if (res.status !== 200) throw new Error(`/status of ${n.id}: ${res.status}`);
  return JSON.parse(res.text) as StatusJson;
}

function memberOn(st: StatusJson, id: string): MemberJson | undefined {
  return st.members.find((m) => m.id === id);
}

const cli = (args: string[]): Promise<{ stdout: string; stderr: string }> => promisify(execFile)(process.execPath, [MAIN, ...args]);

beforeAll(async () => {
  c = await startCluster({ nodes: 3 });
  await waitForMembers(c, 3);
  const base = JSON.parse(readFileSync(c.configPath, 'utf8')) as Record<string, unknown>;
  n4 = { id: 'n4', gossipPort: await freePort(), respPort: await freePort(), httpPort: await freePort(), proc: null, logFile: join(c.dir, 'n4.log'), scheme: 'http' };
  // The newcomer's own config: itself alone, and one seed by address. No other node's config changes.
  n4Config = join(c.dir, 'n4.json');
  const seed = `127.0.0.1:${(c.nodes[0] as TestNode).gossipPort}`;
  writeFileSync(
    n4Config,
    JSON.stringify({ ...base, nodes: [{ id: 'n4', host: '127.0.0.1', bindHost: '127.0.0.1', gossipPort: n4.gossipPort, respPort: n4.respPort, httpPort: n4.httpPort }], seeds: [seed] }),
    { mode: 0o600 },
  );
}, 60_000);

afterAll(async () => {
  for (const r of clients) r.disconnect();
  if (n4Proc?.pid !== undefined && n4Proc.exitCode === null) process.kill(n4Proc.pid, 'SIGKILL');
  await c?.stopAll();
});

describe('dynamic membership with real processes', () => {
  it('a node configured with only itself and a seed joins: every node shows it, and it holds what a majority held', async () => {
    const w = redis((c.nodes[0] as TestNode).respPort);
    await w.call('tally.consistency', 'writes', 'majority', 'timeout', '5000');
    expect(await w.incrby('before-join', 5)).toBe(5);

    const out = openSync(n4.logFile, 'a');
    n4Proc = spawn(process.execPath, [MAIN, 'node', '--config', n4Config, '--id', 'n4'], { stdio: ['ignore', out, out] });
    await until('n4 /health', async () => (await get(n4, '/health', {})).status === 200, 30_000);
    // Every node, the newcomer included, counts four voters once it has caught up.
    for (const n of [...c.nodes, n4]) {
      await until(`${n.id} to count n4`, async () => {
        const st = await statusOf(n);
        const m = memberOn(st, 'n4');
        return m?.state === 'alive' && m.voter && !m.joining && st.quorum.clusterSize === 4 && st.members.filter((x) => x.state === 'alive').length === 4;
      }, 30_000);
    }
    // The key written before it joined is on it, locally and by a majority read.
    const r4 = redis(n4.respPort);
    expect(await r4.get('before-join')).toBe('5');
    await r4.call('tally.consistency', 'reads', 'majority', 'writes', 'majority', 'timeout', '5000');
    expect(await r4.get('before-join')).toBe('5');
    expect(await r4.incrby('before-join', 1)).toBe(6);
    const info = (await r4.info('cluster')) as string;
    expect(info).toMatch(/cluster_size:4/);
    r4.disconnect();
  }, 90_000);

  it('tally leave: the node hands off, exits 0, and the others stop counting it', async () => {
    const r4 = redis(n4.respPort);
    expect(await r4.incrby('left-behind', 3)).toBe(3); // a local write only n4 holds yet
    r4.disconnect(); // n4 goes away: no reconnection attempts
    const exited = new Promise<number | null>((done) => n4Proc?.once('exit', (code) => done(code)));
    const { stdout } = await cli(['leave', '--config', n4Config, '--node', 'n4', '--timeout', '20000']);
    expect(stdout).toMatch(/n4 left the cluster/);
    expect(await exited).toBe(0);
    for (const n of c.nodes) {
      await until(`${n.id} to drop n4`, async () => {
        const st = await statusOf(n);
        return memberOn(st, 'n4')?.state === 'removed' && st.quorum.clusterSize === 3;
      });
    }
    // What it held was handed off.
    const r2 = redis((c.nodes[1] as TestNode).respPort);
    await until('left-behind on n2', async () => (await r2.get('left-behind')) === '3');
    expect(readFileSync(n4.logFile, 'utf8')).toMatch(/left the cluster/);
  }, 90_000);

  it('tally remove: a killed node is removed for good, and the majority is counted without it', async () => {
    await c.stop('n3', 'SIGKILL');
    const n1 = c.nodes[0] as TestNode;
    await until('n1 to hold n3 dead', async () => memberOn(await statusOf(n1), 'n3')?.state === 'dead', 30_000);
    // A dead member still counts: three voters, two of them needed.
    expect((await statusOf(n1)).quorum).toEqual({ clusterSize: 3, majority: 2, joining: false });
    // Refused for a live member, with the reason.
    await expect(cli(['remove', 'n2', '--config', c.configPath, '--node', 'n1'])).rejects.toThrow(/member 'n2' is alive here: remove only a dead or stopped member/);
    const { stdout } = await cli(['remove', 'n3', '--config', c.configPath, '--node', 'n1']);
    expect(stdout).toMatch(/n3 removed from the cluster/);
    for (const n of c.nodes.slice(0, 2)) {
      await until(`${n.id} to drop n3`, async () => {
        const st = await statusOf(n);
        return memberOn(st, 'n3')?.state === 'removed' && st.quorum.clusterSize === 2;
      });
    }
    // Two voters left: majority writes and reads work with both.
    const w = redis(n1.respPort);
    await w.call('tally.consistency', 'writes', 'majority', 'reads', 'majority', 'timeout', '5000');
    expect(await w.incrby('after-remove', 2)).toBe(2);
    expect(await w.get('before-join')).toBe('6');
  }, 90_000);
});
