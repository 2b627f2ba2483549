// A Delta carries each key's state once, however many of its ranges name the key: several origins
// that wrote it, or several superseded entries a relay in mid-transfer keeps (anti-entropy.ts,
// buildDelta's key index). Carrying a key twice would be harmless to the merge but costs the bytes
// and the work; these tests hold every Delta to naming each key exactly once.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { MsgKind } from '../../src/replication/messages.js';
import type { Replica } from '../../src/replication/replica.js';
import { SeededRng } from '../../src/util/rng.js';
import { counter, ManualNet, type Frame } from './manual-net.js';

/** Every Delta in the queue: its states' keys are distinct, and every entry points at a state. */
function checkDeltas(queue: readonly Frame[]): number {
  let n = 0;
  for (const f of queue) {
    if (f.msg.kind !== MsgKind.Delta) continue;
    const keys = f.msg.body.states.map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of f.msg.body.ranges) for (let i = 0; i < r.entries.length; i += 2) expect(r.entries[i]).toBeLessThan(keys.length);
    n++;
  }
  return n;
}

/** Counts the entries the replica's scans visit more than once for one key and origin in one scan (instrumentation only: the scan is unchanged). */
function countRepeats(r: Replica): { n: number } {
  const seen = { n: 0 };
  const scan = r.versions.scan.bind(r.versions);
  r.versions.scan = (origin, after, visit) => {
    const keys = new Set<string>();
    scan(origin, after, (key, version, id) => {
      if (keys.has(key)) seen.n++;
      keys.add(key);
      return visit(key, version, id);
    });
  };
  return seen;
}

describe('keys in a Delta', () => {
  it('a key written by two origins travels once in a Delta that carries both ranges', () => {
    const net = new ManualNet(['A', 'B', 'C']);
    const [A, B, C] = ['A', 'B', 'C'].map((id) => net.get(id)) as [Replica, Replica, Replica];
    for (let i = 0; i < 50; i++) {
      A.keyspace.incrBy(fullKey(0, `k${i}`), 1);
      B.keyspace.incrBy(fullKey(0, `k${i}`), 2);
    }
    net.sync('A', 'B');
    C.pullFrom('A');
    net.deliver((f) => f.from === 'C' && f.to === 'A');
    const deltas = net.queue.filter((f) => f.from === 'A' && f.to === 'C' && f.msg.kind === MsgKind.Delta);
    expect(deltas.length).toBe(1);
    const m = (deltas[0] as Frame).msg;
    if (m.kind !== MsgKind.Delta) throw new Error('not a Delta');
    expect(m.body.ranges.map((r) => r.origin).sort()).toEqual(['A:1', 'B:1']);
    expect(m.body.states.length).toBe(50);
    checkDeltas(net.queue);
    net.deliver();
    for (let i = 0; i < 50; i++) expect(counter(C, `k${i}`)).toBe(3);
  });

  it('under random writes, chunked transfers and relays in mid-transfer, every Delta names each key once, and all converge', () => {
    let deltas = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new SeededRng(seed);
      const ids = ['A', 'B', 'C', 'D'];
      const net = new ManualNet(ids, { maxMessageBytes: 4096 });
      const totals = new Map<string, number>();
      for (let step = 0; step < 300; step++) {
        const op = rng.int(10);
        if (op < 5) {
          const k = `key-${rng.int(80)}-${'x'.repeat(rng.int(40))}`;
          net.get(ids[rng.int(ids.length)] as string).keyspace.incrBy(fullKey(0, k), 1);
          totals.set(k, (totals.get(k) ?? 0) + 1);
        } else if (op < 8) {
          // A pull whose answer arrives only in part: the rest stays queued, later delivered or lost.
          const a = ids[rng.int(ids.length)] as string;
          const b = ids.filter((x) => x !== a)[rng.int(ids.length - 1)] as string;
          net.get(a).pullFrom(b);
          deltas += checkDeltas(net.queue);
          net.deliver((f) => (f.from === a && f.to === b) || (f.from === b && f.to === a), 1 + rng.int(4));
        } else if (op < 9) {
          deltas += checkDeltas(net.queue);
          net.deliver(() => true, rng.int(6));
        } else {
          net.drop((f) => f.msg.kind === MsgKind.Delta && rng.int(3) === 0);
          net.now += 3 * net.cfg.gossipIntervalMs; // a lost range may be sent again
        }
      }
      for (let round = 0; round < 40; round++) {
        for (const a of ids) for (const b of ids) if (a !== b) {
          net.get(a).pullFrom(b);
          deltas += checkDeltas(net.queue);
          net.deliver();
        }
        net.now += 3 * net.cfg.gossipIntervalMs;
      }
      for (const id of ids) for (const [k, v] of totals) expect(counter(net.get(id), k), `${id} ${k} seed ${seed}`).toBe(v);
    }
    expect(deltas).toBeGreaterThan(1000);
  });

  it('a relay in mid-transfer sends the key of several superseded entries it keeps once', () => {
    const net = new ManualNet(['A', 'B', 'C'], { maxMessageBytes: 4096 });
    const [A, B, C] = ['A', 'B', 'C'].map((id) => net.get(id)) as [Replica, Replica, Replica];
    const seen = countRepeats(B);
    const syncAll = (to: Replica, from: string, want: number): void => {
      for (let r = 0; r < 30 && to.versions.known('A:1') < want; r++) net.sync(to === B ? 'B' : 'C', from);
      expect(to.versions.known('A:1')).toBe(want);
    };
    A.keyspace.incrBy(fullKey(0, 'k0'), 1);
    for (let i = 1; i < 21; i++) A.keyspace.incrBy(fullKey(0, `k${i}`), 1);
    syncAll(B, 'A', 21);
    A.keyspace.incrBy(fullKey(0, 'k0'), 5);
    syncAll(B, 'A', 22);
    // B holds k0 at versions 1 and 22 (the first superseded, not yet compacted away). A writes k0
    // again, then many more keys: B takes only the first chunk of that transfer, which records k0
    // above B's known version, so a scan of B's log up to known visits both older entries, and C's
    // first pull gets them in one Delta.
    A.keyspace.incrBy(fullKey(0, 'k0'), 7);
    for (let i = 21; i < 221; i++) A.keyspace.incrBy(fullKey(0, `k${i}`), 1);
    B.pullFrom('A');
    net.deliver((f) => f.from === 'B' && f.to === 'A');
    net.deliver((f) => f.from === 'A' && f.to === 'B' && f.msg.kind === MsgKind.Delta, 1);
    net.drop();
    expect(B.versions.known('A:1')).toBe(22);
    expect(counter(B, 'k0')).toBe(13);
    for (let r = 0; r < 30; r++) {
      C.pullFrom('B');
      net.deliver((f) => f.from === 'C' && f.to === 'B');
      checkDeltas(net.queue);
      net.deliver((f) => f.from === 'B' && f.to === 'C');
    }
    expect(seen.n).toBeGreaterThan(0); // k0 came up twice in one scan of B's log
    expect(C.versions.known('A:1')).toBe(22);
    expect(counter(C, 'k0')).toBe(13);
    for (let i = 1; i < 21; i++) expect(counter(C, `k${i}`)).toBe(1);
  });
});
