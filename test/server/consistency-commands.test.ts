// WAIT, TALLY.CONSISTENCY and the majority wrapper at the command table: what each asks of the
// replica (which version, which keys, how long), and what it answers for each outcome. The replica
// side here is a recorder whose outcomes the test chooses; test/replication/consistency.test.ts and
// test/integration/consistency.test.ts run the same levels against real replicas and real nodes.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { stateOf } from '../../src/server/commands/state.js';
import { encodeReplyToBuffer } from '../../src/server/resp/encoder.js';
import type { Reply } from '../../src/server/commands/reply.js';
import { keysOf } from '../../src/server/commands/consistency-commands.js';
import { lookupBytes } from '../../src/server/commands/table.js';
import type { CommandSpec, Session } from '../../src/server/commands/types.js';
import type { ConsistencyOutcome, ConsistencyServices } from '../../src/server/commands/types.js';
import { testNode } from './command-harness.js';

interface Call {
  readonly op: 'holders' | 'majority' | 'read';
  readonly arg: number | readonly string[];
  readonly needed?: number;
  readonly timeoutMs: number;
}

/** A replica bridge that records each wait and answers with `outcome` (what a test sets next). */
function recorder(): ConsistencyServices & { calls: Call[]; outcome: ConsistencyOutcome; writes: number } {
  const r = {
    calls: [] as Call[],
    outcome: { ok: true, count: 2, needed: 2 } as ConsistencyOutcome,
    writes: 0,
    version: () => r.writes,
    waitHolders: async (version: number, needed: number, timeoutMs: number) => {
      r.calls.push({ op: 'holders', arg: version, needed, timeoutMs });
      return r.outcome;
    },
    waitMajority: async (version: number, timeoutMs: number) => {
      r.calls.push({ op: 'majority', arg: version, timeoutMs });
      return r.outcome;
    },
    majorityRead: async (keys: string[], timeoutMs: number) => {
      r.calls.push({ op: 'read', arg: keys, timeoutMs });
      return r.outcome;
    },
  };
  return r;
}

function node() {
  const c = recorder();
  const n = testNode({ consistency: c });
  const s = n.session();
  // Each write the table runs moves the replica's version, as a real one does.
  const write = async (...words: string[]): Promise<string> => {
    c.writes++;
    return n.runAsync(s, ...words);
  };
  return { c, n, s, send: (...words: string[]) => n.runAsync(s, ...words), write };
}

const levels = (w: string, r: string, t: number): string => `*6\r\n$6\r\nwrites\r\n$${w.length}\r\n${w}\r\n$5\r\nreads\r\n$${r.length}\r\n${r}\r\n$7\r\ntimeout\r\n:${t}\r\n`;

describe('TALLY.CONSISTENCY', () => {
  it('answers the levels, local and 1000 ms unless set, and sets each option in any case', async () => {
    const { send } = node();
    expect(await send('TALLY.CONSISTENCY')).toBe(levels('local', 'local', 1000));
    expect(await send('tally.consistency', 'WRITES', 'Majority')).toBe(levels('majority', 'local', 1000));
    expect(await send('TALLY.CONSISTENCY', 'reads', 'MAJORITY', 'TIMEOUT', '250')).toBe(levels('majority', 'majority', 250));
    expect(await send('TALLY.CONSISTENCY', 'Writes', 'local')).toBe(levels('local', 'majority', 250));
    expect(await send('TALLY.CONSISTENCY', 'READS', 'LOCAL', 'timeout', '1')).toBe(levels('local', 'local', 1));
    expect(await send('TALLY.CONSISTENCY', 'TIMEOUT', '3600000')).toBe(levels('local', 'local', 3_600_000));
  });

  it('refuses a bad level, timeout or option by name, and a missing value, keeping the options before it', async () => {
    const { send } = node();
    expect(await send('TALLY.CONSISTENCY', 'WRITES', 'all')).toBe('-ERR WRITES must be LOCAL or MAJORITY\r\n');
    expect(await send('TALLY.CONSISTENCY', 'reads', 'quorum')).toBe('-ERR READS must be LOCAL or MAJORITY\r\n');
    for (const t of ['0', '-5', '3600001', 'soon', '99999999999999999999']) {
      expect(await send('TALLY.CONSISTENCY', 'TIMEOUT', t)).toBe('-ERR TIMEOUT must be an integer number of milliseconds from 1 to 3600000\r\n');
    }
    expect(await send('TALLY.CONSISTENCY', 'Durability', 'x')).toBe("-ERR unknown TALLY.CONSISTENCY option 'durability' (WRITES, READS, TIMEOUT)\r\n");
    expect(await send('TALLY.CONSISTENCY', 'WRITES')).toBe('-ERR syntax error\r\n');
    // Options are applied in order: the first stays set when a later one is refused.
    expect(await send('TALLY.CONSISTENCY', 'WRITES', 'majority', 'READS')).toBe('-ERR syntax error\r\n');
    expect(await send('TALLY.CONSISTENCY')).toBe(levels('majority', 'local', 1000));
  });
});

describe('WAIT', () => {
  it('waits for the asked number of peers to hold this connection\'s last write, and answers how many do', async () => {
    const { c, n, send, write } = node();
    expect(await write('INCR', 'a')).toBe(':1\r\n');
    expect(await write('INCR', 'b')).toBe(':1\r\n');
    c.outcome = { ok: false, count: 1, needed: 2 };
    expect(await send('WAIT', '2', '500')).toBe(':1\r\n');
    expect(c.calls).toEqual([{ op: 'holders', arg: 2, needed: 2, timeoutMs: 500 }]);
    // Another connection that wrote nothing waits for version 0; 0 ms waits for ever (Redis's meaning).
    expect(await n.runAsync(n.session(), 'WAIT', '0', '0')).toBe(':1\r\n');
    expect(c.calls[1]).toEqual({ op: 'holders', arg: 0, needed: 0, timeoutMs: 0 });
  });

  it('refuses negative or non-integer counts and timeouts as Redis does, without waiting', async () => {
    const { c, send } = node();
    expect(await send('WAIT', '-1', '0')).toBe('-ERR value is not an integer or out of range\r\n');
    expect(await send('WAIT', 'x', '0')).toBe('-ERR value is not an integer or out of range\r\n');
    expect(await send('WAIT', '1', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
    expect(await send('WAIT', '1', '-1')).toBe('-ERR timeout is negative\r\n');
    expect(c.calls).toEqual([]);
  });

  it('on a node with no peers to wait for, says so', () => {
    const n = testNode();
    expect(n.run(n.session(), 'WAIT', '1', '0')).toBe('-ERR this node does not offer tunable consistency\r\n');
  });
});

describe('majority levels', () => {
  it('a majority write answers once a majority holds it, waiting for that very version and the session\'s timeout', async () => {
    const { c, send, write } = node();
    await send('TALLY.CONSISTENCY', 'WRITES', 'MAJORITY', 'TIMEOUT', '300');
    expect(await write('INCRBY', 'k', '5')).toBe(':5\r\n');
    expect(c.calls).toEqual([{ op: 'majority', arg: 1, timeoutMs: 300 }]);
    // Reads and connection commands do not wait at the write level.
    expect(await send('GET', 'k')).toBe('$1\r\n5\r\n');
    expect(await send('PING')).toBe('+PONG\r\n');
    expect(c.calls).toHaveLength(1);
  });

  it('a majority write that times out answers NOREPLICAS with the counts, though the write stays applied', async () => {
    const { c, send, write } = node();
    await send('TALLY.CONSISTENCY', 'WRITES', 'MAJORITY');
    c.outcome = { ok: false, count: 0, needed: 1 };
    expect(await write('INCR', 'k')).toBe('-NOREPLICAS majority not reached: 0 of the 1 peers a majority needs hold the write after 1000 ms; it is applied on this node and will keep spreading, so a retry may count it twice\r\n');
    c.outcome = { ok: true, count: 1, needed: 1 };
    expect(await send('GET', 'k')).toBe('$1\r\n1\r\n');
  });

  it('a write the command refuses is answered at once, without a wait; a local write still notes its version for WAIT', async () => {
    const { c, send, write } = node();
    await send('TALLY.CONSISTENCY', 'WRITES', 'MAJORITY');
    expect(await write('INCRBY', 'k', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
    expect(c.calls).toEqual([]);
    await send('TALLY.CONSISTENCY', 'WRITES', 'LOCAL');
    expect(await write('INCR', 'k')).toBe(':1\r\n');
    expect(c.calls).toEqual([]);
    expect(await send('WAIT', '1', '10')).toBe(':2\r\n');
    expect(c.calls).toEqual([{ op: 'holders', arg: 2, needed: 1, timeoutMs: 10 }]);
  });

  it('a majority read first merges exactly the keys the command names, in this database, then answers', async () => {
    const { c, send, write } = node();
    await write('INCR', 'a');
    await send('SELECT', '2');
    await send('TALLY.CONSISTENCY', 'READS', 'MAJORITY', 'TIMEOUT', '40');
    expect(await send('MGET', 'a', 'b', 'c')).toBe('*3\r\n$-1\r\n$-1\r\n$-1\r\n');
    expect(await send('GET', 'b')).toBe('$-1\r\n');
    expect(await send('EXISTS', 'a', 'z')).toBe(':0\r\n');
    const reads = c.calls.filter((x) => x.op === 'read');
    expect(reads.map((x) => x.arg)).toEqual([['a', 'b', 'c'].map((k) => fullKey(2, k)), [fullKey(2, 'b')], [fullKey(2, 'a'), fullKey(2, 'z')]]);
    expect(reads.every((x) => x.timeoutMs === 40)).toBe(true);
    // Commands without keys, and writes, are not majority reads.
    expect(await send('DBSIZE')).toBe(':0\r\n');
    expect(await write('INCR', 'w')).toBe(':1\r\n');
    expect(c.calls.filter((x) => x.op === 'read')).toHaveLength(3);
  });

  it('a majority read of a one-key command with more arguments merges that key only, not its items', async () => {
    const { c, send } = node();
    await send('CMS.INITBYDIM', 'sketch', '10', '2');
    await send('TOPK.RESERVE', 'top', '3');
    await send('TALLY.CONSISTENCY', 'READS', 'MAJORITY');
    expect(await send('CMS.QUERY', 'sketch', 'a', 'b', 'c')).toBe('*3\r\n:0\r\n:0\r\n:0\r\n');
    expect(await send('TOPK.COUNT', 'top', 'x', 'y')).toBe('*2\r\n:0\r\n:0\r\n');
    expect(c.calls.filter((x) => x.op === 'read').map((x) => x.arg)).toEqual([[fullKey(0, 'sketch')], [fullKey(0, 'top')]]);
  });

  it('a majority read that gets no majority answers NOQUORUM and does not run the command', async () => {
    const { c, send, write } = node();
    await write('INCR', 'k');
    await send('TALLY.CONSISTENCY', 'READS', 'MAJORITY');
    c.outcome = { ok: false, count: 1, needed: 2 };
    expect(await send('GET', 'k')).toBe('-NOQUORUM majority read failed: 1 of the 2 peers a majority needs answered within 1000 ms\r\n');
    c.outcome = { ok: false, count: 0, needed: 0, votersUnknown: true };
    expect(await send('GET', 'k')).toMatch(/^-NOQUORUM majority read failed: .* after 1000 ms\r\n$/);
    c.outcome = { ok: true, count: 2, needed: 2 };
    expect(await send('GET', 'k')).toBe('$1\r\n1\r\n');
  });
});

describe('EXEC at majority levels', () => {
  it('waits once, after the last command, for a majority to hold every write of the transaction', async () => {
    const { c, send, write } = node();
    await send('TALLY.CONSISTENCY', 'WRITES', 'MAJORITY', 'TIMEOUT', '70');
    await send('MULTI');
    await send('INCR', 'a');
    await send('INCRBY', 'b', '2');
    await send('GET', 'a');
    c.writes = 2; // the two writes EXEC is about to make
    expect(await send('EXEC')).toBe('*3\r\n:1\r\n:2\r\n$1\r\n1\r\n');
    expect(c.calls).toEqual([{ op: 'majority', arg: 2, timeoutMs: 70 }]);
    // A transaction without writes does not wait.
    await send('MULTI');
    await send('GET', 'a');
    expect(await send('EXEC')).toBe('*1\r\n$1\r\n1\r\n');
    expect(c.calls).toHaveLength(1);
    expect(await write('INCR', 'c')).toBe(':1\r\n');
  });

  it('at the local write level, EXEC of writes answers at once with their own replies, waiting for nobody', async () => {
    const { c, send, n, s } = node();
    c.outcome = { ok: false, count: 0, needed: 1 };
    await send('MULTI');
    await send('INCR', 'a');
    await send('INCRBY', 'a', '4');
    const r = n.result(s, 'EXEC');
    expect(r).not.toBeInstanceOf(Promise);
    expect(encodeReplyToBuffer(r as Reply).toString('latin1')).toBe('*2\r\n:1\r\n:5\r\n');
    expect(await send('MGET', 'a')).toBe('*1\r\n$1\r\n5\r\n');
    expect(c.calls).toEqual([]);
  });

  it('without a majority, each write\'s reply becomes NOREPLICAS, while errors and reads keep theirs', async () => {
    const { c, send } = node();
    await send('TALLY.CONSISTENCY', 'WRITES', 'MAJORITY');
    await send('PFADD', 'h', 'x'); // a HyperLogLog: INCR of it is a runtime error inside the transaction
    c.calls.length = 0;
    await send('MULTI');
    await send('INCR', 'a');
    await send('GET', 'a');
    await send('INCR', 'h');
    c.outcome = { ok: false, count: 0, needed: 1 };
    const noreplicas = '-NOREPLICAS majority not reached: 0 of the 1 peers a majority needs hold the write after 1000 ms; it is applied on this node and will keep spreading, so a retry may count it twice\r\n';
    expect(await send('EXEC')).toBe(`*3\r\n${noreplicas}$1\r\n1\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n`);
    expect(c.calls.map((x) => x.op)).toEqual(['majority']);
  });

  it('at majority reads, merges the keys every read of the transaction names, once, before anything runs', async () => {
    const { c, send } = node();
    await send('TALLY.CONSISTENCY', 'READS', 'MAJORITY', 'TIMEOUT', '90');
    await send('MULTI');
    await send('GET', 'a');
    await send('INCR', 'w');
    await send('MGET', 'b', 'a');
    await send('DBSIZE'); // a read that names no key
    expect(await send('EXEC')).toBe('*4\r\n$-1\r\n:1\r\n*2\r\n$-1\r\n$-1\r\n:1\r\n');
    expect(c.calls).toEqual([{ op: 'read', arg: [fullKey(0, 'a'), fullKey(0, 'b')], timeoutMs: 90 }]);
    // No read in the transaction: no majority read.
    await send('MULTI');
    await send('INCR', 'w');
    expect(await send('EXEC')).toBe('*1\r\n:2\r\n');
    expect(c.calls).toHaveLength(1);
  });

  it('at majority reads, a failed read fails the whole EXEC with NOQUORUM, and no write is made', async () => {
    const { c, send } = node();
    await send('TALLY.CONSISTENCY', 'READS', 'MAJORITY');
    await send('MULTI');
    await send('INCR', 'w');
    await send('GET', 'w');
    c.outcome = { ok: false, count: 1, needed: 2 };
    expect(await send('EXEC')).toBe('-NOQUORUM majority read failed: 1 of the 2 peers a majority needs answered within 1000 ms\r\n');
    await send('TALLY.CONSISTENCY', 'READS', 'LOCAL');
    expect(await send('GET', 'w')).toBe('$-1\r\n');
  });
});

describe('blocked clients', () => {
  it('a session waiting in WAIT counts as blocked until its answer, as INFO\'s blocked_clients shows', async () => {
    const { c, n, send } = node();
    let release: (o: ConsistencyOutcome) => void = () => {};
    c.waitHolders = () => new Promise((resolve) => (release = resolve));
    const pending = send('WAIT', '1', '0');
    expect(stateOf(n.ctx).blocked).toBe(1);
    expect(n.run(n.session(), 'INFO', 'clients')).toContain('blocked_clients:1\r\n');
    release({ ok: true, count: 1, needed: 1 });
    expect(await pending).toBe(':1\r\n');
    expect(stateOf(n.ctx).blocked).toBe(0);
  });
});

describe('keysOf: the keys a command names, by its first, last and step positions', () => {
  const s = { db: 3 } as Session;
  const args = (...w: string[]): Buffer[] => w.map((x) => Buffer.from(x));
  const spec = (keys: [number, number, number]): CommandSpec => ({ name: 'x', arity: -1, flags: ['readonly'], keys, run: () => ({ kind: 'simple', value: 'OK' }) });

  it('MSET names every other argument from the first (step 2)', () => {
    const mset = lookupBytes(Buffer.from('mset')) as CommandSpec;
    expect(keysOf(mset, s, args('MSET', 'a', '1', 'b', '2', 'c', '3'))).toEqual(['a', 'b', 'c'].map((k) => fullKey(3, k)));
  });

  it('a negative last counts from the end: -2 leaves out the final argument (as BLPOP\'s timeout)', () => {
    expect(keysOf(spec([1, -2, 1]), s, args('BLPOP', 'a', 'b', '0'))).toEqual([fullKey(3, 'a'), fullKey(3, 'b')]);
    expect(keysOf(spec([1, -1, 1]), s, args('MGET', 'a', 'b', 'c'))).toEqual(['a', 'b', 'c'].map((k) => fullKey(3, k)));
  });

  it('never reads past the arguments given, whatever last says', () => {
    expect(keysOf(spec([1, 3, 1]), s, args('X', 'a'))).toEqual([fullKey(3, 'a')]);
    expect(keysOf(spec([2, 5, 1]), s, args('X', 'a'))).toEqual([]);
  });
});
