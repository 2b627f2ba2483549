// The simulator's newer faults: one-way and overlapping link cuts, per-node clock skew and steps.

import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/sim/network.js';
import { MemberState } from '../../src/replication/messages.js';
import { Replica } from '../../src/replication/replica.js';
import { key, valuesOf } from './helpers.js';

function stateOf(sim: Simulation, i: number, j: number): MemberState | undefined {
  return sim.nodes[i]?.replica.membership.get(`n${j}`)?.state;
}

describe('simulator link cuts', () => {
  it('a one-way cut: n0 hears n1, n1 does not hear n0', () => {
    const sim = new Simulation({ nodes: 3, seed: 1, config: { gossipIntervalMs: 200 } });
    sim.runUntil(1000);
    sim.cut((from, to) => from === 0 && to === 1);
    expect(sim.linked(0, 1)).toBe(false);
    expect(sim.linked(1, 0)).toBe(true);
    sim.nodes[0]?.replica.keyspace.incrBy(key('a'), 1);
    sim.nodes[1]?.replica.keyspace.incrBy(key('b'), 1);
    sim.runUntil(4000);
    // n0's write reaches n1 only through n2; n1's reaches n0 directly. Both get everywhere.
    expect(valuesOf(sim, 'a')).toEqual([1, 1, 1]);
    expect(valuesOf(sim, 'b')).toEqual([1, 1, 1]);
  });

  it('overlapping cuts compose, and uncut removes only its own', () => {
    const sim = new Simulation({ nodes: 4, seed: 2, config: { gossipIntervalMs: 200 } });
    const split = sim.cut((a, b) => a < 2 !== b < 2);
    const isolate = sim.cut((a, b) => a === 3 || b === 3);
    expect(sim.linked(0, 1)).toBe(true);
    expect(sim.linked(0, 2)).toBe(false);
    expect(sim.linked(2, 3)).toBe(false);
    sim.uncut(split);
    expect(sim.linked(0, 2)).toBe(true);
    expect(sim.linked(2, 3)).toBe(false);
    sim.uncut(isolate);
    expect(sim.linked(2, 3)).toBe(true);
    sim.cut((a, b) => a === 0 && b === 1);
    sim.heal();
    expect(sim.linked(0, 1)).toBe(true);
  });

  it('an isolated node is declared dead by the others, and alive again after the cut goes', () => {
    const sim = new Simulation({ nodes: 4, seed: 3, config: { gossipIntervalMs: 200, probeIntervalMs: 300, probeTimeoutMs: 100 } });
    sim.runUntil(1000);
    const c = sim.cut((a, b) => a === 3 || b === 3);
    sim.runUntil(30_000);
    expect(stateOf(sim, 0, 3)).toBe(MemberState.Dead);
    sim.uncut(c);
    sim.runUntil(40_000);
    expect(stateOf(sim, 0, 3)).toBe(MemberState.Alive);
  });
});

describe('simulator clocks', () => {
  it('each node reads virtual time plus its offset, from the epoch on', () => {
    const epochMs = 1_767_225_600_000;
    const sim = new Simulation({ nodes: 2, seed: 1, epochMs });
    sim.runUntil(500);
    expect(sim.localNow(0)).toBe(epochMs + 500);
    sim.setClockOffset(1, epochMs + 90_000);
    expect(sim.localNow(1)).toBe(epochMs + 90_500);
    expect(sim.clockOffset(0)).toBe(epochMs);
  });

  it('the replica is ticked and handed frames on its own clock', () => {
    const seen: number[] = [];
    const tick = Replica.prototype.tick;
    const sim = new Simulation({ nodes: 2, seed: 1, config: { gossipIntervalMs: 100 } });
    sim.setClockOffset(1, 60_000);
    const r = sim.nodes[1]?.replica;
    if (r === undefined) throw new Error('no node');
    r.tick = (now: number) => {
      seen.push(now - sim.now);
      tick.call(r, now);
    };
    sim.runUntil(2000);
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.every((d) => d === 60_000)).toBe(true);
    // Back to true time (a step back of a minute): ticks follow the new clock.
    seen.length = 0;
    sim.setClockOffset(1, 0);
    sim.runUntil(200_000);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((d) => d === 0)).toBe(true);
  });
});
