// MULTI, EXEC, DISCARD, WATCH on the command table: Redis 7.0's replies (checked against a live
// redis-server by test/oracle/), atomicity, and what WATCH sees: writes by any session and merges.

import { describe, expect, it } from 'vitest';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { sessionClosed, stateOf } from '../../src/server/commands/state.js';
import { testNode } from './command-harness.js';
import { encodeReplyToBuffer } from '../../src/server/resp/encoder.js';
import { sha1hex } from '../../src/server/scripting/engine.js';

describe('MULTI / EXEC / DISCARD', () => {
  it('queues, then runs every command in order and answers their replies as one array', () => {
    const n = testNode();
    const s = n.session();
    expect(n.run(s, 'MULTI')).toBe('+OK\r\n');
    expect(n.run(s, 'INCR', 'k')).toBe('+QUEUED\r\n');
    expect(n.run(s, 'INCRBY', 'k', '4')).toBe('+QUEUED\r\n');
    expect(n.run(s, 'GET', 'k')).toBe('+QUEUED\r\n');
    // Nothing ran yet: another session sees no key.
    expect(n.run(n.session(), 'GET', 'k')).toBe('$-1\r\n');
    expect(n.run(s, 'EXEC')).toBe('*3\r\n:1\r\n:5\r\n$1\r\n5\r\n');
    expect(n.run(s, 'EXEC')).toBe('-ERR EXEC without MULTI\r\n');
  });

  it('a command refused while queuing (unknown, arity, unknown subcommand) aborts EXEC with EXECABORT and writes nothing', () => {
    const n = testNode();
    for (const bad of [['NOSUCH'], ['GET'], ['CLIENT', 'FOO'], ['CONFIG', 'GET'], ['ACL', 'FOO'], ['ACL', 'WHOAMI', 'x']]) {
      const s = n.session();
      n.run(s, 'MULTI');
      n.run(s, 'INCR', 'never');
      expect(n.run(s, ...bad)).toMatch(/^-ERR /);
      expect(n.run(s, 'EXEC')).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
      expect(n.run(s, 'GET', 'never')).toBe('$-1\r\n');
    }
  });

  it('a runtime error is the reply of its command only', () => {
    const n = testNode();
    const s = n.session();
    n.run(s, 'PFADD', 'h', 'x');
    n.run(s, 'MULTI');
    n.run(s, 'INCR', 'a');
    n.run(s, 'INCR', 'h');
    n.run(s, 'INCR', 'a');
    expect(n.run(s, 'EXEC')).toBe('*3\r\n:1\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:2\r\n');
  });

  it('nested MULTI, DISCARD, EXEC with arguments, as Redis answers them', () => {
    const n = testNode();
    const s = n.session();
    expect(n.run(s, 'DISCARD')).toBe('-ERR DISCARD without MULTI\r\n');
    n.run(s, 'MULTI');
    expect(n.run(s, 'MULTI')).toBe('-ERR MULTI calls can not be nested\r\n');
    n.run(s, 'INCR', 'd');
    expect(n.run(s, 'DISCARD')).toBe('+OK\r\n');
    expect(n.run(s, 'GET', 'd')).toBe('$-1\r\n');
    n.run(s, 'MULTI');
    expect(n.run(s, 'EXEC', 'x')).toBe("-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n");
    expect(n.run(s, 'EXEC')).toBe('-ERR EXEC without MULTI\r\n');
  });

  it('keeps a copy of each queued argument (a socket buffer may be reused before EXEC)', () => {
    const n = testNode();
    const s = n.session();
    const buf = Buffer.from('key1');
    n.run(s, 'MULTI');
    n.run(s, 'INCR', buf);
    buf.write('key2');
    n.run(s, 'EXEC');
    expect(n.run(s, 'GET', 'key1')).toBe('$1\r\n1\r\n');
  });
});

describe('a script that goes busy inside EXEC', () => {
  it('is waited for in place: the commands queued after it run after it, in order, and EXEC answers every reply', async () => {
    let t = 0;
    const n = testNode({ now: () => (t += 100) }); // a clock that moves 100 ms each time it is read
    const s = n.session();
    const other = n.session();
    n.run(s, 'MULTI');
    for (const script of ['EVAL_RO', 'EVALSHA']) {
      const body = `for i = 1, 1000000 do end return redis.call('GET', KEYS[1])`;
      if (script === 'EVALSHA') {
        n.run(other, 'SCRIPT', 'LOAD', body);
        n.run(s, 'EVALSHA', sha1hex(Buffer.from(body)), '1', 'k');
      } else n.run(s, 'EVAL_RO', body, '1', 'k');
      n.run(s, 'INCR', 'k');
    }
    n.run(s, 'INCRBY', 'j', '5');
    const pending = n.result(s, 'EXEC');
    expect(pending).toBeInstanceOf(Promise);
    expect(n.run(other, 'GET', 'k')).toBe('-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n');
    expect(encodeReplyToBuffer(await pending).toString('latin1')).toBe('*5\r\n$-1\r\n:1\r\n$1\r\n1\r\n:2\r\n:5\r\n');
    expect(n.run(other, 'MGET', 'k', 'j')).toBe('*2\r\n$1\r\n2\r\n$1\r\n5\r\n');
  }, 30_000);
});

describe('WATCH', () => {
  it('EXEC answers nil when a watched key changed, by any session or by a merge from a peer', () => {
    const n = testNode();
    const [a, b] = [n.session(), n.session()];
    n.run(a, 'WATCH', 'w');
    n.run(b, 'INCR', 'w');
    n.run(a, 'MULTI');
    n.run(a, 'INCR', 'w');
    expect(n.run(a, 'EXEC')).toBe('*-1\r\n');

    // A gossip merge that brings a peer's increment is a change too.
    n.run(a, 'WATCH', 'w');
    const remote = new PNCounter();
    remote.incrementInPlace('n2:1', 5);
    n.ctx.keyspace.mergeDecoded(fullKey(0, 'w'), { type: 'pncounter', crdt: remote });
    n.run(a, 'MULTI');
    n.run(a, 'INCR', 'w');
    expect(n.run(a, 'EXEC')).toBe('*-1\r\n');

    // Unchanged: EXEC runs.
    n.run(a, 'WATCH', 'w');
    n.run(a, 'MULTI');
    n.run(a, 'INCR', 'w');
    expect(n.run(a, 'EXEC')).toBe('*1\r\n:7\r\n');
  });

  it('refuses WATCH inside MULTI without dooming it; UNWATCH and EXEC forget the keys', () => {
    const n = testNode();
    const [a, b] = [n.session(), n.session()];
    n.run(a, 'MULTI');
    expect(n.run(a, 'WATCH', 'x')).toBe('-ERR WATCH inside MULTI is not allowed\r\n');
    expect(n.run(a, 'EXEC')).toBe('*0\r\n');
    n.run(a, 'WATCH', 'x');
    expect(n.run(a, 'UNWATCH')).toBe('+OK\r\n');
    n.run(b, 'INCR', 'x');
    n.run(a, 'MULTI');
    expect(n.run(a, 'EXEC')).toBe('*0\r\n');
  });

  it('listens to the keyspace only while some key is watched (INCR pays nothing otherwise)', () => {
    const n = testNode();
    const ks = n.ctx.keyspace;
    const onChange = ks.onChange.bind(ks);
    let listening = 0;
    ks.onChange = (fn) => {
      listening++;
      const off = onChange(fn);
      return () => {
        listening--;
        off();
      };
    };
    const [a, b] = [n.session(), n.session()];
    n.run(a, 'WATCH', 'x', 'x', 'y');
    n.run(b, 'WATCH', 'x');
    expect(listening).toBe(1);
    n.run(a, 'UNWATCH');
    expect(listening).toBe(1);
    n.run(b, 'MULTI');
    n.run(b, 'EXEC');
    expect(listening).toBe(0);
    n.run(a, 'WATCH', 'z');
    expect(listening).toBe(1);
    n.run(n.session(), 'INCR', 'z');
    n.run(a, 'MULTI');
    expect(n.run(a, 'EXEC')).toBe('*-1\r\n');
    expect(listening).toBe(0);
  });

  it('two sessions watching one key: each is told of a change, and the key is forgotten only when neither watches it', () => {
    const n = testNode();
    const [a, b, c] = [n.session(), n.session(), n.session()];
    const watches = stateOf(n.ctx).watches;
    n.run(a, 'WATCH', 'k');
    n.run(b, 'WATCH', 'k');
    n.run(c, 'INCR', 'k');
    expect([a.watchDirty, b.watchDirty]).toEqual([true, true]);
    n.run(a, 'UNWATCH');
    n.run(b, 'UNWATCH');
    n.run(a, 'WATCH', 'k', 'k', 'j');
    n.run(b, 'WATCH', 'k');
    expect(watches.size).toBe(2);
    n.run(a, 'UNWATCH');
    expect(watches.size).toBe(1);
    // b still watches k, although a stopped: a change dooms b's EXEC.
    n.run(c, 'INCR', 'k');
    n.run(b, 'MULTI');
    expect(n.run(b, 'EXEC')).toBe('*-1\r\n');
    expect(watches.size).toBe(0);
    // Nobody watches: a change no longer marks anyone, and a new WATCH starts clean.
    n.run(c, 'INCR', 'k');
    n.run(a, 'WATCH', 'k');
    expect(a.watchDirty).toBe(false);
    n.run(a, 'MULTI');
    expect(n.run(a, 'EXEC')).toBe('*0\r\n');
    // A connection that closes forgets its keys too.
    n.run(b, 'WATCH', 'k');
    sessionClosed(n.ctx, b);
    expect(watches.size).toBe(0);
  });
});

describe('RESP3', () => {
  it('HELLO 3 switches the session: nulls, maps, sets and verbatim text; HELLO 2 switches back', () => {
    const n = testNode();
    const s = n.session();
    expect(n.run(s, 'HELLO', '3')).toMatch(/^%7\r\n\$6\r\nserver\r\n\$5\r\ntally\r\n/);
    expect(n.run(s, 'GET', 'nosuch')).toBe('_\r\n');
    expect(n.run(s, 'CONFIG', 'GET', 'databases')).toBe('%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n');
    expect(n.run(s, 'INFO', 'server')).toMatch(/^=[0-9]+\r\ntxt:# Server\r\n/);
    expect(n.run(s, 'COMMAND', 'INFO', 'get')).toBe('*1\r\n*6\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n');
    expect(n.run(s, 'HELLO', '2')).toMatch(/^\*14\r\n/);
    expect(n.run(s, 'GET', 'nosuch')).toBe('$-1\r\n');
    expect(n.run(s, 'HELLO', '4')).toBe('-NOPROTO unsupported protocol version\r\n');
  });
});
