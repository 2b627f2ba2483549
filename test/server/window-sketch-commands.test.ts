// WINDOW.*, THROTTLE, CMS.* and TOPK.* through the shared command table: syntax, replies and errors.
import { describe, expect, it } from 'vitest';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { execute } from '../../src/server/commands/table.js';
import type { CommandServices, Session } from '../../src/server/commands/types.js';
import { MAX_KEY_BYTES } from '../../src/server/commands/parse.js';
import { testNode } from './command-harness.js';

function setup(): { run: (...a: string[]) => unknown; clock: { t: number; ok: boolean } } {
  const clock = { t: 1_700_000_000_000, ok: true };
  const ctx: CommandServices = {
    keyspace: new Keyspace('n1:1'),
    password: null,
    counterTypeFor: () => 'pncounter',
    nodeId: 'n1',
    clusterName: 't',
    version: '0',
    now: () => clock.t,
    info: () => ({}),
    configValues: () => ({}),
    listClients: () => [],
    clock: () => ({ ok: clock.ok, offsetMs: clock.ok ? 3 : 3_600_000, boundMs: 500 }),
  };
  const s: Session = { id: 1, db: 0, name: null, authenticated: true, protocol: 'resp', remoteAddress: '', createdAt: 0, lastCommandAt: 0, lastCommand: '' };
  const simplify = (r: unknown): unknown => {
    const x = r as { kind: string; value?: unknown; message?: string };
    if (x.kind === 'error') return `ERR:${x.message}`;
    if (x.kind === 'array') return (x.value as unknown[] | null)?.map(simplify) ?? null;
    if (x.kind === 'bulk') return x.value === null ? null : String(x.value);
    return x.value;
  };
  return { run: (...a) => simplify(execute(ctx, s, a.map((v) => Buffer.from(v)))), clock };
}

describe('window commands', () => {
  it('refuse windowed writes while the node clock is off from most peers, and serve everything else', () => {
    const { run, clock } = setup();
    expect(run('WINDOW.CREATE', 'w', '1', '60')).toBe('OK');
    expect(run('WINDOW.INCRBY', 'w', '1')).toBe(1);
    clock.ok = false;
    const refusal = "ERR:ERR this node's clock is 3600000 ms off from most of its peers (tolerated: 500 ms): windowed writes are refused until it is fixed";
    expect(run('WINDOW.INCRBY', 'w', '1')).toBe(refusal);
    expect(run('THROTTLE', 't', '10', '60')).toBe(refusal);
    expect(run('THROTTLE', 't', '10', '60', '0')).toEqual([1, 10, 10, -1, 0]); // a peek writes nothing
    expect(run('WINDOW.COUNT', 'w', String(clock.t - 1000), String(clock.t))).toBe(1);
    clock.ok = true;
    expect(run('WINDOW.INCRBY', 'w', '1')).toBe(2);
  });

  it('create, incrby (now and AT), count, sliding, info', () => {
    const { run, clock } = setup();
    expect(run('WINDOW.INCRBY', 'w', '1')).toMatch(/no such window key/);
    expect(run('WINDOW.CREATE', 'w', '7', '70')).toMatch(/must divide a day/);
    expect(run('WINDOW.CREATE', 'w', '1', '60')).toBe('OK');
    expect(run('WINDOW.CREATE', 'w', '1', '60')).toBe('OK');
    expect(run('WINDOW.CREATE', 'w', '60', '3600')).toMatch(/window exists/);
    expect(run('WINDOW.INCRBY', 'w', '5')).toBe(5);
    expect(run('WINDOW.INCRBY', 'w', '2', 'AT', String(clock.t - 30_000))).toBe(2);
    expect(run('WINDOW.INCRBY', 'w', '2', 'AT', String(clock.t - 61_000))).toMatch(/older than the retention/);
    expect(run('WINDOW.INCRBY', 'w', '2', 'AT', String(clock.t + 60_000))).toMatch(/ahead of this node's clock/);
    expect(run('WINDOW.INCRBY', 'w', '2', 'XX', '1')).toBe('ERR:ERR syntax error');
    expect(run('WINDOW.INCRBY', 'w', '-1')).toBe('ERR:ERR value is not an integer or out of range');
    expect(run('WINDOW.COUNT', 'w', String(clock.t - 60_000), String(clock.t))).toBe(7);
    expect(run('WINDOW.SLIDING', 'w', '10')).toBe(5);
    expect(run('WINDOW.SLIDING', 'w', '60')).toBe(7);
    expect(run('WINDOW.SLIDING', 'w', '61')).toMatch(/longer than the retention/);
    expect(run('WINDOW.INFO', 'w')).toEqual(['granularity', 1, 'retention', 60, 'buckets', 2, 'maxbuckets', 66, 'generation', 0]);
    expect(run('INCR', 'w')).toMatch(/^ERR:WRONGTYPE/);
    expect(run('DEL', 'w')).toBe(1);
    expect(run('WINDOW.COUNT', 'w', '0', String(clock.t))).toBe(0);
  });

  it('THROTTLE replies [allowed, limit, remaining, retry_after, reset_after]', () => {
    const { run, clock } = setup();
    expect(run('THROTTLE', 'api', '3', '60')).toEqual([1, 3, 2, -1, 61]);
    expect(run('THROTTLE', 'api', '3', '60', '2')).toEqual([1, 3, 0, -1, 61]);
    const denied = run('THROTTLE', 'api', '3', '60') as number[];
    expect(denied.slice(0, 3)).toEqual([0, 3, 0]);
    expect(denied[3]).toBeGreaterThan(0);
    clock.t += (denied[3] as number) * 1000;
    expect((run('THROTTLE', 'api', '3', '60') as number[])[0]).toBe(1);
    const peek = run('THROTTLE', 'api', '3', '60', '0') as number[]; // cost 0: a peek that counts nothing
    expect(run('THROTTLE', 'api', '3', '60', '0')).toEqual(peek);
    expect(run('THROTTLE', 'api', 'x', '60')).toBe('ERR:ERR value is not an integer or out of range');
    expect(run('THROTTLE', 'api', '3')).toBe("ERR:ERR wrong number of arguments for 'throttle' command");
  });
});

describe('CMS and TOPK commands', () => {
  it('CMS: init, incrby, query, merge with weights, info, errors', () => {
    const { run } = setup();
    expect(run('CMS.QUERY', 'c', 'a')).toBe('ERR:CMS: key does not exist');
    expect(run('CMS.INITBYDIM', 'c', '100', '5')).toBe('OK');
    expect(run('CMS.INITBYDIM', 'c', '100', '5')).toBe('ERR:CMS: key already exists');
    expect(run('CMS.INITBYPROB', 'p', '0.01', '0.01')).toBe('OK');
    expect(run('CMS.INITBYPROB', 'q', '2', '0.01')).toBe('ERR:CMS: invalid overestimation value');
    expect(run('CMS.INITBYDIM', 'd', '0', '5')).toBe('ERR:CMS: invalid width');
    expect(run('CMS.INCRBY', 'c', 'a', '3', 'b', '4')).toEqual([3, 4]);
    expect(run('CMS.INCRBY', 'c', 'a', 'x')).toBe('ERR:CMS: Cannot parse number');
    expect(run('CMS.INCRBY', 'c', 'a')).toBe("ERR:ERR wrong number of arguments for 'cms.incrby' command");
    expect(run('CMS.QUERY', 'c', 'a', 'b', 'zz')).toEqual([3, 4, 0]);
    expect(run('CMS.INFO', 'c')).toEqual(['width', 100, 'depth', 5, 'count', 7]);
    expect(run('CMS.INITBYDIM', 'm', '100', '5')).toBe('OK');
    expect(run('CMS.MERGE', 'm', '2', 'c', 'c', 'WEIGHTS', '1', '2')).toBe('OK');
    expect(run('CMS.QUERY', 'm', 'a')).toEqual([9]);
    expect(run('CMS.MERGE', 'm', '1', 'p')).toBe('ERR:CMS: width/depth is not equal');
    expect(run('CMS.MERGE', 'm', '1', 'c', 'WEIGHTS')).toBe('ERR:ERR syntax error');
    expect(run('PFADD', 'c', 'x')).toMatch(/^ERR:WRONGTYPE/);
  });

  it('TOPK: reserve, add, incrby, list, query, count, info', () => {
    const { run } = setup();
    expect(run('TOPK.ADD', 't', 'a')).toBe('ERR:TopK: key does not exist');
    expect(run('TOPK.RESERVE', 't', '2')).toBe('OK');
    expect(run('TOPK.RESERVE', 't', '2')).toBe('ERR:TopK: key already exists');
    expect(run('TOPK.RESERVE', 'u', '2', '50', '4', '0.9')).toBe('OK');
    expect(run('TOPK.RESERVE', 'v', '2', '50', '4', '1.5')).toMatch(/invalid decay/);
    expect(run('TOPK.ADD', 't', 'a', 'b', 'a')).toEqual([null, null, null]);
    expect(run('TOPK.INCRBY', 't', 'c', '10')).toEqual(['b']);
    expect(run('TOPK.LIST', 't')).toEqual(['c', 'a']);
    expect(run('TOPK.LIST', 't', 'WITHCOUNT')).toEqual(['c', 10, 'a', 2]);
    expect(run('TOPK.QUERY', 't', 'a', 'b')).toEqual([1, 0]);
    expect(run('TOPK.COUNT', 't', 'a', 'zz')).toEqual([2, 0]);
    expect(run('TOPK.INFO', 'u')).toEqual(['k', 2, 'width', 50, 'depth', 4, 'decay', '0']);
  });
});

describe('window and sketch commands at their limits, byte for byte', () => {
  const TOO_LONG = `-ERR key is too long (tally accepts keys of at most ${MAX_KEY_BYTES} bytes)\r\n`;
  const SYNTAX = '-ERR syntax error\r\n';

  it('WINDOW.CREATE and THROTTLE take a key of exactly the limit and refuse one byte more, even for a THROTTLE that only peeks', () => {
    const n = testNode();
    const s = n.session();
    const max = 'w'.repeat(MAX_KEY_BYTES);
    const long = 'w'.repeat(MAX_KEY_BYTES + 1);
    expect(n.run(s, 'WINDOW.CREATE', max, '1', '60')).toBe('+OK\r\n');
    expect(n.run(s, 'WINDOW.CREATE', long, '1', '60')).toBe(TOO_LONG);
    const t = 't'.repeat(MAX_KEY_BYTES);
    expect(n.run(s, 'THROTTLE', t, '5', '60')).toBe('*5\r\n:1\r\n:5\r\n:4\r\n:-1\r\n:61\r\n');
    expect(n.run(s, 'THROTTLE', `${t}x`, '5', '60')).toBe(TOO_LONG);
    expect(n.run(s, 'THROTTLE', `${t}x`, '5', '60', '0')).toBe(TOO_LONG);
    expect(n.run(s, 'DBSIZE')).toBe(':2\r\n');
  });

  it('WINDOW.INCRBY takes AT with its time or nothing: a lone AT, or words after the time, are a syntax error and count nothing', () => {
    const n = testNode();
    const s = n.session();
    n.run(s, 'WINDOW.CREATE', 'w', '1', '60');
    expect(n.run(s, 'WINDOW.INCRBY', 'w', '1', 'AT')).toBe(SYNTAX);
    expect(n.run(s, 'WINDOW.INCRBY', 'w', '1', 'AT', '1700000000000', 'x')).toBe(SYNTAX);
    expect(n.run(s, 'WINDOW.INCRBY', 'w', '1', 'at', '1700000000000')).toBe(':1\r\n');
    expect(n.run(s, 'WINDOW.SLIDING', 'w', '60')).toBe(':1\r\n');
  });

  it('WINDOW.INFO of a missing key says there is no window; of another type, WRONGTYPE', () => {
    const n = testNode();
    const s = n.session();
    expect(n.run(s, 'WINDOW.INFO', 'nope')).toBe('-ERR no such window key (create it with WINDOW.CREATE)\r\n');
    n.run(s, 'INCR', 'c');
    expect(n.run(s, 'WINDOW.INFO', 'c')).toBe('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
    n.run(s, 'WINDOW.CREATE', 'w', '60', '3600');
    expect(n.run(s, 'WINDOW.INFO', 'w')).toBe('*10\r\n$11\r\ngranularity\r\n:60\r\n$9\r\nretention\r\n:3600\r\n$7\r\nbuckets\r\n:0\r\n$10\r\nmaxbuckets\r\n:62\r\n$10\r\ngeneration\r\n:0\r\n');
  });

  it('THROTTLE takes at most a cost after the period, and a period of at most a year', () => {
    const n = testNode();
    const s = n.session();
    expect(n.run(s, 'THROTTLE', 'a', '5', '60', '1', '1')).toBe(SYNTAX);
    expect(n.run(s, 'EXISTS', 'a')).toBe(':0\r\n');
    const year = String(365 * 86_400);
    expect(n.run(s, 'THROTTLE', 'y', '5', year)).toMatch(/^\*5\r\n:1\r\n:5\r\n:4\r\n:-1\r\n/);
    expect(n.run(s, 'THROTTLE', 'z', '5', String(365 * 86_400 + 1))).toBe(`-ERR period must be at most ${year} s\r\n`);
    expect(n.run(s, 'EXISTS', 'z')).toBe(':0\r\n');
  });

  it('TOPK.ADD and TOPK.INCRBY answer the item each addition pushed out of the top k, nil where none was', () => {
    const n = testNode();
    const s = n.session();
    n.run(s, 'TOPK.RESERVE', 't', '1');
    expect(n.run(s, 'TOPK.ADD', 't', 'a')).toBe('*1\r\n$-1\r\n');
    expect(n.run(s, 'TOPK.INCRBY', 't', 'b', '5')).toBe('*1\r\n$1\r\na\r\n');
    expect(n.run(s, 'TOPK.ADD', 't', 'b', 'b')).toBe('*2\r\n$-1\r\n$-1\r\n');
    expect(n.run(s, 'TOPK.INCRBY', 't', 'c', '50')).toBe('*1\r\n$1\r\nb\r\n');
    n.run(s, 'TOPK.RESERVE', 'u', '1');
    n.run(s, 'TOPK.ADD', 'u', 'x');
    expect(n.run(s, 'TOPK.ADD', 'u', 'y', 'y', 'y', 'y')).toBe('*4\r\n$-1\r\n$1\r\nx\r\n$-1\r\n$-1\r\n');
    expect(n.run(s, 'TOPK.LIST', 'u')).toBe('*1\r\n$1\r\ny\r\n');
  });
});
