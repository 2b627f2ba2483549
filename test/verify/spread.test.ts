// The loss model (src/verify/spread.ts): which acknowledged writes a run may lose with their last
// copy, given the fault timeline and the persistence mode; and the checker's use of it.

import { describe, expect, it } from 'vitest';
import { check } from '../../src/verify/checker.js';
import { verifyReplicaConfig } from '../../src/verify/cluster.js';
import { History } from '../../src/verify/history.js';
import { lossModel, spreadModel, type FaultState, type FaultTimeline, type KillEvent, type RejoinEvent } from '../../src/verify/spread.js';

const m = spreadModel(verifyReplicaConfig(), 3);
const NODES = ['a', 'b', 'c'];

const state = (at: number, s: Partial<Omit<FaultState, 'at'>> = {}): FaultState => ({ at, down: [], paused: [], drops: [], skew: {}, ...s });
const cutOff = (x: string): [string, string][] => NODES.filter((y) => y !== x).flatMap((y) => [[x, y] as [string, string], [y, x] as [string, string]]);

/** A timeline: `states` as given, plus a kill (wipe or not) of `node` at `at`, restarted 500 ms later and rejoined 1 s after that. */
function timeline(states: FaultState[], kills: KillEvent[] = [], rejoins: RejoinEvent[] | 'auto' = 'auto'): FaultTimeline {
  const all = [...states];
  for (const k of kills) {
    const base = (at: number): FaultState => ({ ...([...all].reverse().find((s) => s.at <= at) ?? state(0)), at });
    all.push({ ...base(k.at), down: [k.node] }, { ...base(k.at + 500), down: [] });
  }
  all.sort((x, y) => x.at - y.at);
  // Later states of an earlier fault must not carry the kill's `down` on: rebuild `down` from the kills.
  for (const s of all) s.down = kills.filter((k) => k.at <= s.at && s.at < k.at + 500).map((k) => k.node);
  const auto = kills.flatMap((k) => NODES.filter((p) => p !== k.node).map((peer) => ({ node: k.node, restartAt: k.at + 500, peer, at: k.at + 1_500 })));
  return { nodes: NODES, states: all, kills, rejoins: rejoins === 'auto' ? auto : rejoins };
}

describe('loss model', () => {
  it('puts nothing at risk without kills, nor for kills under always', () => {
    expect(m.hopMs).toBe(1_000);
    expect(lossModel(timeline([]), 'always', m)('a', 5_000)).toBe(false);
    const f = lossModel(timeline([], [{ at: 10_000, node: 'a', wipe: false }]), 'always', m);
    for (const t of [0, 9_000, 9_990, 10_600]) expect(f('a', t)).toBe(false);
  });

  it('a wiped node that was connected loses only what it acknowledged within a hop of the wipe', () => {
    const f = lossModel(timeline([], [{ at: 10_000, node: 'a', wipe: true }]), 'always', m);
    expect(f('a', 5_000)).toBe(false);
    expect(f('a', 8_800)).toBe(false); // on b and c by 9,900
    expect(f('a', 9_000)).toBe(true); // in the hop before the wipe (counted from the end of its 100 ms group)
    expect(f('a', 9_999)).toBe(true);
    expect(f('b', 9_999)).toBe(false); // b was not wiped
    expect(f('a', 12_000)).toBe(false); // after the restart: the restarted node's own writes spread again
  });

  it('under none and everysec a kill loses what had not left the node; a copy that had left survives', () => {
    const tl = timeline([], [{ at: 10_000, node: 'a', wipe: false }]);
    for (const p of ['none', 'everysec']) {
      const f = lossModel(tl, p, m);
      expect(f('a', 5_000)).toBe(false);
      expect(f('a', 9_500)).toBe(true);
    }
  });

  it('a node cut off and then wiped loses everything it acknowledged while cut off', () => {
    const tl = timeline([state(2_000, { drops: cutOff('a') }), state(30_000)], [{ at: 20_000, node: 'a', wipe: true }]);
    const f = lossModel(tl, 'always', m);
    expect(f('a', 500)).toBe(false); // left before the cut
    expect(f('a', 1_500)).toBe(true); // the hop did not finish before the cut
    expect(f('a', 10_000)).toBe(true);
    expect(f('a', 19_999)).toBe(true);
    expect(f('b', 10_000)).toBe(false);
  });

  it('a one-way cut stops copies as a full cut does (push-pull needs both directions)', () => {
    for (const drops of [
      [
        ['a', 'b'],
        ['a', 'c'],
      ],
      [
        ['b', 'a'],
        ['c', 'a'],
      ],
    ] as [string, string][][]) {
      const f = lossModel(timeline([state(2_000, { drops }), state(30_000)], [{ at: 20_000, node: 'a', wipe: true }]), 'always', m);
      expect(f('a', 10_000)).toBe(true);
      expect(f('a', 500)).toBe(false);
    }
    // One open two-way link is enough.
    const f = lossModel(timeline([state(2_000, { drops: [['a', 'b'], ['a', 'c'], ['c', 'a']] }), state(30_000)], [{ at: 20_000, node: 'a', wipe: true }]), 'always', m);
    expect(f('a', 10_000)).toBe(true); // a->b is cut, and a<->c both ways
    const g = lossModel(timeline([state(2_000, { drops: [['a', 'c'], ['c', 'a']] }), state(30_000)], [{ at: 20_000, node: 'a', wipe: true }]), 'always', m);
    expect(g('a', 10_000)).toBe(false); // a<->b open
  });

  it('follows copies from node to node: a copy survives a wipe of its origin on the node it reached, until that one is wiped too', () => {
    // {a,b} | {c} from 1 s to 60 s. A write on a reaches b; a is wiped at 10 s and rejoins b at 11.5 s.
    const cut = [state(1_000, { drops: [['a', 'c'], ['c', 'a'], ['b', 'c'], ['c', 'b']] }), state(60_000)];
    const kills: KillEvent[] = [
      { at: 10_000, node: 'a', wipe: true },
      { at: 20_000, node: 'b', wipe: true },
    ];
    expect(lossModel(timeline(cut, kills.slice(0, 1)), 'always', m)('a', 5_000)).toBe(false);
    // b is wiped later, but a got the copy back from b after its restart.
    expect(lossModel(timeline(cut, kills), 'always', m)('a', 5_000)).toBe(false);
    // Had a and b never been seen to hear each other after a's restart, the copy would have gone with b.
    const noRejoin = timeline(cut, kills, []);
    expect(lossModel(noRejoin, 'always', m)('a', 5_000)).toBe(true);
    expect(lossModel(noRejoin, 'always', m)('c', 5_000)).toBe(false);
  });

  it('a restart that never rejoined holds its links back only until the node goes down again', () => {
    // a: killed at 10 s, back at 10.5 s, killed again at 12 s before hearing anyone, back at 12.5 s,
    // rejoined at 13.5 s; wiped at 30 s. A write at 20 s had long left.
    const states = [state(10_000, { down: ['a'] }), state(10_500), state(12_000, { down: ['a'] }), state(12_500)];
    const kills: KillEvent[] = [
      { at: 10_000, node: 'a', wipe: false },
      { at: 12_000, node: 'a', wipe: false },
      { at: 30_000, node: 'a', wipe: true },
    ];
    const rejoins: RejoinEvent[] = ['b', 'c'].map((peer) => ({ node: 'a', restartAt: 12_500, peer, at: 13_500 }));
    const tl: FaultTimeline = { nodes: NODES, states: [...states, state(30_000, { down: ['a'] }), state(30_500)], kills, rejoins };
    const f = lossModel(tl, 'always', m);
    expect(f('a', 20_000)).toBe(false);
    expect(f('a', 13_000)).toBe(false); // held on a until it rejoined at 13.5 s, then out
    expect(f('a', 29_500)).toBe(true);
  });

  it('a clock off beyond reach cuts the node off while it lasts, ahead or behind, not after', () => {
    const kills: KillEvent[] = [{ at: 100_000, node: 'a', wipe: true }];
    // Ahead by 90 s for one second: cut off from 2 to 3 s; when its clock steps back its sealer starts
    // a new session stamped with the true time (the skew bug, fixed), so it is heard again at once.
    const skewed = [state(2_000, { skew: { a: 90_000 } }), state(3_000)];
    const ahead = lossModel(timeline(skewed, [{ at: 30_000, node: 'a', wipe: true }]), 'always', m);
    expect(ahead('a', 500)).toBe(false);
    expect(ahead('a', 10_000)).toBe(false);
    // Its writes while cut off are at risk only until it is heard again: a wipe right after the skew
    // loses them, one 27 s later does not.
    expect(lossModel(timeline(skewed, [{ at: 3_100, node: 'a', wipe: true }]), 'always', m)('a', 2_500)).toBe(true);
    expect(ahead('a', 2_500)).toBe(false);
    // Ahead by less than the window: cut off while it lasts (counted from 30 s on), not after.
    const within = lossModel(timeline([state(2_000, { skew: { a: 45_000 } }), state(3_000)], [{ at: 10_000, node: 'a', wipe: true }]), 'always', m);
    expect(within('a', 5_000)).toBe(false);
    // Behind: cut off while it lasts, not after (its frames are stamped with the true time again).
    const behind = lossModel(timeline([state(2_000, { skew: { a: -90_000 } }), state(50_000)], kills), 'always', m);
    expect(behind('a', 10_000)).toBe(false); // held on a, and gone out once its clock was right
    const wipedBehind = lossModel(timeline([state(2_000, { skew: { a: -90_000 } }), state(50_000)], [{ at: 30_000, node: 'a', wipe: true }]), 'always', m);
    expect(wipedBehind('a', 500)).toBe(false);
    expect(wipedBehind('a', 10_000)).toBe(true);
    // A jump within reach changes nothing.
    const small = lossModel(timeline([state(2_000, { skew: { a: 20_000 } }), state(60_000)], kills), 'always', m);
    expect(small('a', 2_500)).toBe(false);
  });

  it('no warm-up after an outage shorter than the shortest suspicion timeout; a warm-up after a longer one', () => {
    const kills: KillEvent[] = [{ at: 9_500, node: 'a', wipe: true }];
    const short = lossModel(timeline([state(2_000, { paused: ['a'] }), state(2_500)], kills), 'always', m);
    expect(short('a', 2_600)).toBe(false);
    const long = lossModel(timeline([state(2_000, { paused: ['a'] }), state(6_000)], kills), 'always', m);
    expect(long('a', 6_100)).toBe(true); // ready again only at 9 s
  });
});

describe('checker with the loss model', () => {
  const history = (): History => {
    const h = new History();
    h.record({ t: 0, done: 100, node: 'a', worker: 0, op: 'incrby', key: 'inc:0', delta: 5, outcome: 'ok' });
    h.record({ t: 0, done: 9_900, node: 'a', worker: 0, op: 'incrby', key: 'inc:0', delta: 3, outcome: 'ok' });
    h.record({ t: 0, done: 9_900, node: 'a', worker: 0, op: 'decrby', key: 'dec:0', delta: -2, outcome: 'ok' });
    for (let i = 0; i < 100; i++) h.record({ t: 0, done: i < 90 ? 100 : 9_900, node: 'a', worker: 0, op: 'pfadd', key: 'hll:0', element: `e${i}`, outcome: 'ok' });
    return h;
  };
  const reads = (inc: number, dec: number, hll: number): Map<string, Map<string, number | null>> =>
    new Map([
      [
        'a',
        new Map([
          ['inc:0', inc],
          ['dec:0', dec],
          ['hll:0', hll],
        ]),
      ],
    ]);

  it('allows losing exactly the writes at risk, and nothing else', () => {
    const mayBeLost = (_node: string, at: number): boolean => at > 9_000;
    const r = check(history(), reads(5, 0, 90), [], mayBeLost);
    expect(r.ok).toBe(true);
    expect(r.atRiskOps).toBe(12);
    expect(r.keys.find((k) => k.key === 'inc:0')).toMatchObject({ lo: 5, hi: 8, atRisk: 3 });
    expect(r.keys.find((k) => k.key === 'dec:0')).toMatchObject({ lo: -2, hi: 0, atRisk: 2 });
    expect(check(history(), reads(4, 0, 90), [], mayBeLost).ok).toBe(false); // below what must survive
    // Without the model, the same reads are losses.
    const strict = check(history(), reads(5, 0, 90));
    expect(strict.ok).toBe(false);
    expect(strict.atRiskOps).toBe(0);
    expect(strict.problems.join('\n')).toMatch(/inc:0: 5 is 3 below the least acknowledged value 8/);
    expect(strict.problems.join('\n')).toMatch(/dec:0: 0 is 2 above the most it could be, -2/);
  });
});
