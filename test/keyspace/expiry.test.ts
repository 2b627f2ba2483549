// Expiry as a CRDT (src/keyspace/life.ts): a TTL is a register of the key's epoch, an expiry ends the
// epoch on the clock of the node that reads it, and a later epoch replaces an earlier one outright.
// The two promises: an increment taken before the deadline never survives it; one acknowledged after
// the key expired on its node is never erased by that expiry.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import { decodeWithLife, encodeWithLife, LIFE_TAG } from '../../src/keyspace/life.js';
import { HUSK_COUNTER } from '../../src/keyspace/entries.js';

const k = fullKey(0, 'k');
const T0 = 1_700_000_000_000;

/** A keyspace with its own settable clock. */
function node(id: string, t = T0): { ks: Keyspace; clock: { t: number } } {
  const clock = { t };
  return { ks: new Keyspace(`${id}:1`, { clock: { now: () => clock.t } }), clock };
}

function ship(from: Keyspace, to: Keyspace, key = k): void {
  const e = from.encodeKey(key);
  if (e === undefined) return;
  const r = to.mergeRemote(key, e.tag, e.bytes);
  if (!r.ok) throw new Error(r.error);
}

describe('expiry on one node', () => {
  it('a key with a TTL disappears when the clock passes it, frees its state, and comes back fresh', () => {
    const { ks, clock } = node('A');
    ks.incrBy(k, 5);
    expect(ks.expire(k, T0 + 10_000)).toBe(true);
    expect(ks.deadlineOf(k)).toBe(T0 + 10_000);
    clock.t = T0 + 9_999;
    expect(ks.getCounter(k)).toEqual({ ok: true, value: 5 });
    clock.t = T0 + 10_000;
    expect(ks.exists(k)).toBe(false);
    expect(ks.getCounter(k)).toEqual({ ok: true, value: null });
    expect(ks.deadlineOf(k)).toBeUndefined();
    // Its slots are gone (a husk of the next epoch remains for replication), and it starts afresh.
    expect(ks.entry(k)?.crdt.encode().length).toBeLessThan(8);
    expect(ks.incrBy(k, 1)).toEqual({ ok: true, value: 1 });
    expect(ks.deadlineOf(k)).toBeNull();
  });

  it('a key that expires while its digest share is being folded in leaves the same digest as one read first', () => {
    // Two nodes with the same state: A's key expires inside the digest's fold (its first read after
    // the deadline), B's on a read before. Folding the old entry's share while the table already held
    // the next epoch left a stale share in A's digest for good: a difference that repairs never
    // clear, since the states are equal.
    const a = node('A');
    const b = node('B');
    const other = fullKey(0, 'other');
    a.ks.incrBy(k, 5);
    a.ks.incrBy(other, 1);
    a.ks.stateDigest();
    a.ks.expire(k, T0 + 1_000);
    ship(a.ks, b.ks);
    ship(a.ks, b.ks, other);
    b.ks.stateDigest();
    for (const n of [a, b]) n.clock.t = T0 + 2_000;
    expect(b.ks.exists(k)).toBe(false);
    const first = a.ks.stateDigest();
    expect(a.ks.stateDigest()).toBe(first);
    expect(first).toBe(b.ks.stateDigest());
    expect(a.ks.bucketDigests()).toEqual(b.ks.bucketDigests());
    // And a third node that never held the key's first epoch, given A's state of it, agrees.
    const c = node('C', T0 + 2_000);
    ship(a.ks, c.ks, other);
    ship(a.ks, c.ks);
    expect(c.ks.stateDigest()).toBe(first);
  });

  it('the sweep ends expired keys nobody reads', () => {
    const { ks, clock } = node('A');
    for (let i = 0; i < 100; i++) {
      ks.incrBy(fullKey(0, `x${i}`), 1);
      ks.expire(fullKey(0, `x${i}`), T0 + 1_000 + (i % 2) * 1_000_000);
    }
    const before = ks.byteSize();
    clock.t = T0 + 2_000;
    let ended = 0;
    for (let round = 0; round < 10; round++) ended += ks.sweepExpired(64);
    expect(ended).toBe(50);
    expect(ks.byteSize()).toBeLessThan(before);
  });

  it('a sweep looks at each key with a TTL at most once (it went round the keys not yet due for its whole budget)', () => {
    const { ks, clock } = node('A');
    for (let i = 0; i < 3; i++) {
      ks.incrBy(fullKey(0, `x${i}`), 1);
      ks.expire(fullKey(0, `x${i}`), T0 + (i === 1 ? 1_000 : 1_000_000));
    }
    // Counts the keys a sweep looks at (each id it takes from the keyspace's set of keys with a TTL).
    let looks = 0;
    const expiring = (ks as unknown as { expiring: { next(): number } }).expiring;
    const next = expiring.next.bind(expiring);
    expiring.next = () => {
      looks++;
      return next();
    };
    clock.t = T0 + 1_000;
    expect(ks.sweepExpired(256)).toBe(1);
    expect(looks).toBe(3);
    expect(ks.sweepExpired(256)).toBe(0);
    expect(looks).toBe(5);
    expect(ks.exists(fullKey(0, 'x0'))).toBe(true);
    expect(ks.exists(fullKey(0, 'x1'))).toBe(false);
  });

  it('PERSIST, NX/XX/GT/LT, SET and DEL clear or keep the TTL as Redis does', () => {
    const { ks } = node('A');
    expect(ks.expire(k, T0 + 1000)).toBe(false); // no key
    ks.incrBy(k, 1);
    expect(ks.expire(k, T0 + 1000, 'XX')).toBe(false);
    expect(ks.expire(k, T0 + 1000, 'NX')).toBe(true);
    expect(ks.expire(k, T0 + 500, 'GT')).toBe(false);
    expect(ks.expire(k, T0 + 2000, 'GT')).toBe(true);
    expect(ks.expire(k, T0 + 3000, 'LT')).toBe(false);
    expect(ks.expire(k, null)).toBe(true); // PERSIST
    expect(ks.expire(k, null)).toBe(false);
    ks.expire(k, T0 + 1000);
    ks.incrBy(k, 1); // INCR keeps it
    expect(ks.deadlineOf(k)).toBe(T0 + 1000);
    ks.setCounter(k, 7, 'pncounter', true); // SET KEEPTTL
    expect(ks.deadlineOf(k)).toBe(T0 + 1000);
    ks.setCounter(k, 7); // SET clears it
    expect(ks.deadlineOf(k)).toBeNull();
    ks.expire(k, T0 + 1000);
    ks.del(k);
    ks.incrBy(k, 1);
    expect(ks.deadlineOf(k)).toBeNull(); // DEL cleared it
    expect(ks.expire(k, T0 - 1)).toBe(true); // a past time ends the key at once
    expect(ks.exists(k)).toBe(false);
  });
});

describe('expiry and the counter type', () => {
  it('SET on an expired key creates it as its createAs type, as on a missing key (explorer seed 8)', () => {
    // The husk an expiry leaves is an empty PN-Counter; SET used to write into it, so a G-Counter
    // key (gcounterKeys) came back as a PN-Counter and hid the G-Counter increments of its peers.
    const a = node('A');
    const b = node('B');
    const g = fullKey(0, 'g');
    expect(a.ks.incrBy(g, 3, 'gcounter').ok).toBe(true);
    expect(a.ks.expire(g, T0 + 1_000)).toBe(true);
    ship(a.ks, b.ks, g);
    a.clock.t = b.clock.t = T0 + 1_000;
    expect(a.ks.setCounter(g, 7, 'gcounter')).toEqual({ ok: true, value: 7 });
    expect(a.ks.entry(g)?.type).toBe('gcounter');
    expect(b.ks.incrBy(g, 2, 'gcounter')).toEqual({ ok: true, value: 2 });
    ship(a.ks, b.ks, g);
    ship(b.ks, a.ks, g);
    for (const { ks } of [a, b]) expect(ks.getCounter(g)).toEqual({ ok: true, value: 9 });
  });
});

describe('expiry and the counter type, across nodes', () => {
  it('a merge drops the husk beside a state of another type, so a deleted G-Counter stays one (explorer seed 8)', () => {
    // A merge kept the husk (an empty PN-Counter) beside the G-Counter of the next epoch; once that
    // was deleted, the husk (higher type tag) was the key's type, and the next INCRBY created a
    // PN-Counter that hid the G-Counter increments of every other node.
    const a = node('A');
    const b = node('B');
    const g = fullKey(0, 'g');
    a.ks.incrBy(g, 3, 'gcounter');
    a.ks.expire(g, T0 + 1_000);
    ship(a.ks, b.ks, g);
    a.clock.t = b.clock.t = T0 + 1_000;
    expect(b.ks.exists(g)).toBe(false); // b holds the husk of epoch 1
    a.ks.incrBy(g, 4, 'gcounter');
    ship(a.ks, b.ks, g);
    expect(b.ks.entry(g)?.others).toBeUndefined();
    b.ks.del(g);
    expect(b.ks.incrBy(g, 5, 'gcounter').ok).toBe(true);
    expect(b.ks.entry(g)?.type).toBe('gcounter');
    a.ks.incrBy(g, 1, 'gcounter');
    ship(a.ks, b.ks, g);
    ship(b.ks, a.ks, g);
    expect(a.ks.encodeKey(g)).toEqual(b.ks.encodeKey(g));
    expect(a.ks.getCounter(g)).toEqual({ ok: true, value: 6 }); // b's 5 after its delete, and a's 1 it had not seen
  });
});

describe('expiry and empty states', () => {
  it('an empty G-Counter and the husk of the same epoch converge (explorer seed 657)', () => {
    // INCRBY g 0 on an expired G-Counter key stores an empty G-Counter in the next epoch; merges
    // that skip empty states left it and its peers' husk (an empty PN-Counter) apart for ever.
    const a = node('A');
    const b = node('B');
    const g = fullKey(0, 'g');
    a.ks.incrBy(g, 3, 'gcounter');
    a.ks.expire(g, T0 + 1_000);
    ship(a.ks, b.ks, g);
    a.clock.t = b.clock.t = T0 + 1_000;
    expect(b.ks.exists(g)).toBe(false);
    expect(a.ks.incrBy(g, 0, 'gcounter')).toEqual({ ok: true, value: 0 });
    ship(a.ks, b.ks, g);
    ship(b.ks, a.ks, g);
    ship(a.ks, b.ks, g);
    expect(a.ks.encodeKey(g)).toEqual(b.ks.encodeKey(g));
    expect(a.ks.exists(g)).toBe(b.ks.exists(g));
  });
});

describe('expiry across nodes', () => {
  it('an increment taken before the deadline never survives it, whichever node took it', () => {
    const a = node('A');
    const b = node('B', T0 - 2_000); // B's clock runs 2 s behind
    a.ks.incrBy(k, 1);
    a.ks.expire(k, T0 + 5_000);
    ship(a.ks, b.ks);
    // Just before the deadline on each node's own clock, both take increments.
    a.clock.t = T0 + 4_999;
    b.clock.t = T0 + 4_999 - 2_000;
    a.ks.incrBy(k, 10);
    b.ks.incrBy(k, 100);
    // Past the deadline everywhere: none of them survives, whatever the order of merges.
    a.clock.t = T0 + 7_001;
    b.clock.t = T0 + 5_001;
    ship(b.ks, a.ks);
    ship(a.ks, b.ks);
    for (const n of [a, b]) expect(n.ks.getCounter(k)).toEqual({ ok: true, value: null });
    expect(a.ks.encodeKey(k)).toEqual(b.ks.encodeKey(k));
  });

  it('an increment acknowledged after the key expired on its node is never erased by that expiry', () => {
    const a = node('A', T0 + 3_000); // A's clock runs 3 s ahead
    const b = node('B');
    b.ks.incrBy(k, 1);
    b.ks.expire(k, T0 + 5_000);
    ship(b.ks, a.ks);
    a.clock.t = T0 + 6_000; // the key expired on A (true time 3,000)
    expect(a.ks.incrBy(k, 7)).toEqual({ ok: true, value: 7 }); // the next epoch
    b.clock.t = T0 + 3_000; // on B the old epoch still lives...
    ship(a.ks, b.ks); // ...until A's later epoch arrives
    for (const t of [T0 + 3_000, T0 + 60_000]) {
      b.clock.t = t;
      expect(b.ks.getCounter(k)).toEqual({ ok: true, value: 7 });
    }
    a.clock.t = T0 + 63_000;
    ship(b.ks, a.ks);
    expect(a.ks.getCounter(k)).toEqual({ ok: true, value: 7 });
    expect(a.ks.encodeKey(k)).toEqual(b.ks.encodeKey(k));
  });

  it('concurrent EXPIREs converge to the later deadline; a later EXPIRE or PERSIST (having seen the first) wins', () => {
    const a = node('A');
    const b = node('B');
    a.ks.incrBy(k, 1);
    ship(a.ks, b.ks);
    a.ks.expire(k, T0 + 100_000);
    b.ks.expire(k, T0 + 200_000);
    ship(a.ks, b.ks);
    ship(b.ks, a.ks);
    expect([a.ks.deadlineOf(k), b.ks.deadlineOf(k)]).toEqual([T0 + 200_000, T0 + 200_000]);
    a.ks.expire(k, T0 + 50_000); // seen 200 s: a shorter TTL set later wins
    ship(a.ks, b.ks);
    expect(b.ks.deadlineOf(k)).toBe(T0 + 50_000);
    b.ks.expire(k, null); // PERSIST, concurrent with...
    a.ks.expire(k, T0 + 60_000); // ...an EXPIRE: at equal versions, no deadline is the latest
    ship(a.ks, b.ks);
    ship(b.ks, a.ks);
    expect([a.ks.deadlineOf(k), b.ks.deadlineOf(k)]).toEqual([null, null]);
  });

  it('converges under random writes, TTLs, deletes, merges and clocks (a join whatever the order)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: -3, max: 8 })), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: -2_000, max: 2_000 }), { minLength: 3, maxLength: 3 }),
        (ops, skews) => {
          const nodes = ['A', 'B', 'C'].map((id, i) => node(id, T0 + (skews[i] as number)));
          let t = 0;
          for (const [who, op, n] of ops) {
            t += 250;
            nodes.forEach((x, i) => (x.clock.t = T0 + t + (skews[i] as number)));
            const x = nodes[who] as (typeof nodes)[number];
            if (op === 0) x.ks.incrBy(k, n);
            else if (op === 1) x.ks.expire(k, x.clock.t + n * 300);
            else if (op === 2) x.ks.expire(k, null);
            else if (op === 3) x.ks.del(k);
            else if (op === 4) x.ks.setCounter(k, n);
            else ship(x.ks, (nodes[(who + 1) % 3] as (typeof nodes)[number]).ks);
          }
          // Later, with every clock past every deadline set: gossip everything both ways twice.
          nodes.forEach((x, i) => (x.clock.t = T0 + t + 100_000 + (skews[i] as number)));
          for (let r = 0; r < 2; r++) for (const x of nodes) for (const y of nodes) if (x !== y) ship(x.ks, y.ks);
          const enc = nodes.map((x) => Buffer.from(x.ks.encodeKey(k)?.bytes ?? []).toString('hex'));
          expect(new Set(enc).size).toBe(1);
        },
      ),
    );
  });

  it('the life codec round-trips and refuses junk', () => {
    const inner = { tag: 2, bytes: Uint8Array.from([1, 2, 0]) };
    const life = { epoch: 3, ttlVersion: 2, deadline: T0 };
    const w = encodeWithLife(life, inner);
    expect(w.tag).toBe(LIFE_TAG);
    const r = decodeWithLife(w.tag, w.bytes);
    expect(r.ok && r.value.life).toEqual(life);
    expect(encodeWithLife({ epoch: 0, ttlVersion: 0, deadline: null }, inner)).toBe(inner); // no life: bare
    for (let cut = 0; cut < w.bytes.length; cut++) expect(decodeWithLife(LIFE_TAG, w.bytes.subarray(0, cut)).ok).toBe(false);
    const nested = encodeWithLife(life, w);
    expect(decodeWithLife(nested.tag, nested.bytes).ok).toBe(false);
  });
});

describe('husks share their state', () => {
  // A husk is what an expired key leaves until it is written again: one per key a rate limiter ever
  // saw. Husks share one frozen empty counter and one life per epoch; a write or a merge into one
  // makes that key a state of its own and leaves every other husk empty.
  it('husks made by expiry, by a merge and by a peer share one state, and writes into one touch no other', () => {
    const a = node('A');
    const b = node('B');
    const [k1, k2, k3] = ['k1', 'k2', 'k3'].map((n) => fullKey(0, n)) as [string, string, string];
    for (const key of [k1, k2, k3]) {
      a.ks.incrBy(key, 3);
      a.ks.expire(key, T0 + 1_000);
    }
    // k3 reaches B before the deadline: B's clock ends it there (a husk made by a read).
    ship(a.ks, b.ks, k3);
    a.clock.t = T0 + 2_000;
    b.clock.t = T0 + 2_000;
    expect([k1, k2, k3].map((key) => a.ks.exists(key))).toEqual([false, false, false]);
    // k1 reaches B as A's husk (epoch 1, empty), through a merge.
    ship(a.ks, b.ks, k1);
    const h = a.ks.entry(k1);
    expect(h?.life?.epoch).toBe(1);
    for (const ks of [a.ks, b.ks]) {
      for (const key of [k1, k3]) {
        const e = ks.entry(key);
        expect(e?.crdt).toBe(h?.crdt);
        expect(e?.life).toBe(h?.life);
      }
    }
    expect(Object.isFrozen(h?.crdt)).toBe(true);
    // A merge into a husk (B writes k1 in epoch 1, A hears of it) and a local write into another.
    expect(b.ks.incrBy(k1, 7)).toEqual({ ok: true, value: 7 });
    ship(b.ks, a.ks, k1);
    expect(a.ks.getCounter(k1)).toEqual({ ok: true, value: 7 });
    expect(a.ks.incrBy(k2, 2)).toEqual({ ok: true, value: 2 });
    expect(a.ks.entry(k1)?.crdt).not.toBe(h?.crdt);
    // The other husks are still empty, and still the shared state.
    expect(a.ks.entry(k3)?.crdt).toBe(h?.crdt);
    expect(h?.crdt).toBe(HUSK_COUNTER);
    expect(HUSK_COUNTER.replicaCount()).toBe(0);
    expect(a.ks.getCounter(k3)).toEqual({ ok: true, value: null });
    expect(b.ks.getCounter(k3)).toEqual({ ok: true, value: null });
    // And the shared state still merges as any empty counter would (A's k1 back to B: no change).
    ship(a.ks, b.ks, k1);
    expect(b.ks.getCounter(k1)).toEqual({ ok: true, value: 7 });
  });
});
