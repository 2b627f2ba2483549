// TALLY.LEAVE and TALLY.REMOVE through the command table: arguments, the replies for each outcome,
// and the admin role (command-permissions.test.ts checks every command's flags against the roles).

import { describe, expect, it } from 'vitest';
import { lookupBytes } from '../../src/server/commands/table.js';
import type { MembershipServices } from '../../src/server/commands/types.js';
import { testNode } from './command-harness.js';

function node(membership: MembershipServices | undefined): (...words: string[]) => Promise<string> {
  const n = testNode(membership === undefined ? {} : { membership });
  const s = n.session();
  return (...words) => n.runAsync(s, ...words);
}

describe('TALLY.LEAVE', () => {
  it('passes its timeout on and answers OK, or why the node stays a member', async () => {
    const asked: number[] = [];
    const outcomes = [
      { ok: true, holders: 2, needed: 2 },
      { ok: false, holders: 1, needed: 2, failure: 'handoff' as const },
      { ok: false, holders: 0, needed: 0, failure: 'alone' as const },
      { ok: false, holders: 0, needed: 0, failure: 'busy' as const },
    ];
    const run = node({ leave: (t) => (asked.push(t), Promise.resolve(outcomes.shift() ?? { ok: true, holders: 0, needed: 0 })), remove: () => ({ ok: true }) });
    expect(await run('TALLY.LEAVE')).toBe('+OK\r\n');
    expect(await run('tally.leave', 'TIMEOUT', '500')).toBe('-ERR leave not completed: 1 of the 2 other members a majority needs hold everything this node holds after 500 ms; this node stays a member\r\n');
    expect(await run('tally.leave')).toBe("-ERR this node is the cluster's only member: there is nobody to hand its state to (stop it instead)\r\n");
    expect(await run('tally.leave')).toBe('-ERR this node is already leaving, stopping or gone\r\n');
    expect(asked).toEqual([30_000, 500, 30_000, 30_000]);
  });

  it('refuses bad arguments without leaving', async () => {
    let called = 0;
    const run = node({ leave: () => (called++, Promise.resolve({ ok: true, holders: 0, needed: 0 })), remove: () => ({ ok: true }) });
    expect(await run('tally.leave', 'timeout')).toBe('-ERR syntax error\r\n');
    expect(await run('tally.leave', 'wait', '5')).toBe('-ERR syntax error\r\n');
    for (const t of ['0', '-1', '3600001', 'x']) expect(await run('tally.leave', 'timeout', t)).toBe('-ERR TIMEOUT must be an integer number of milliseconds from 1 to 3600000\r\n');
    expect(called).toBe(0);
    expect(await node(undefined)('tally.leave')).toBe('-ERR this node does not manage cluster membership\r\n');
  });
});

describe('TALLY.LEAVE timeout bounds', () => {
  it('takes 1 ms and one hour, the ends of its range', async () => {
    const asked: number[] = [];
    const run = node({ leave: (t) => (asked.push(t), Promise.resolve({ ok: true, holders: 0, needed: 0 })), remove: () => ({ ok: true }) });
    expect(await run('tally.leave', 'timeout', '1')).toBe('+OK\r\n');
    expect(await run('tally.leave', 'TIMEOUT', '3600000')).toBe('+OK\r\n');
    expect(asked).toEqual([1, 3_600_000]);
  });
});

describe('TALLY.REMOVE', () => {
  it('looks up at most the first 256 characters of an id, and names that much in its refusal', async () => {
    const asked: string[] = [];
    const run = node({ leave: () => Promise.resolve({ ok: true, holders: 0, needed: 0 }), remove: (id) => (asked.push(id), { ok: false, error: { code: 'unknown' as const } }) });
    const id = 'n'.repeat(250) + 'abcdefghij';
    expect(await run('TALLY.REMOVE', id)).toBe(`-ERR no member '${id.slice(0, 256)}' is known to this node\r\n`);
    expect(asked).toEqual([id.slice(0, 256)]);
  });

  it('answers OK, or names why the member was not removed', async () => {
    const refusals = [{ code: 'self' as const }, { code: 'unknown' as const }, { code: 'already' as const }, { code: 'live' as const, state: 'suspect' }];
    const run = node({
      leave: () => Promise.resolve({ ok: true, holders: 0, needed: 0 }),
      remove: (id) => {
        if (id === 'dead') return { ok: true };
        const r = refusals.shift();
        return r === undefined ? { ok: true } : { ok: false, error: r };
      },
    });
    expect(await run('TALLY.REMOVE', 'dead')).toBe('+OK\r\n');
    expect(await run('tally.remove', 'n1')).toBe('-ERR a node cannot remove itself: run TALLY.LEAVE (tally leave) on it instead\r\n');
    expect(await run('tally.remove', 'zz')).toBe("-ERR no member 'zz' is known to this node\r\n");
    expect(await run('tally.remove', 'n3')).toBe("-ERR member 'n3' is already removed\r\n");
    expect(await run('tally.remove', 'n2')).toBe("-ERR member 'n2' is suspect here: remove only a dead or stopped member (a running one leaves with TALLY.LEAVE)\r\n");
    expect(await run('tally.remove')).toMatch(/^-ERR wrong number of arguments for 'tally.remove' command/);
  });

  it('both are admin commands, never run by scripts', () => {
    for (const name of ['tally.leave', 'tally.remove']) expect(lookupBytes(Buffer.from(name))?.flags).toEqual(['admin', 'noscript']);
  });
});
