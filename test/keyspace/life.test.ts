// A key's life (src/keyspace/life.ts) on its own: the TTL register's join is a semilattice join
// (commutative, associative, idempotent, inflationary), the deadline is inclusive, and the life
// codec round-trips every life and refuses each malformed form with its own error code.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CODEC_VERSION } from '../../src/crdt/codec.js';
import { PNCounter } from '../../src/crdt/pn-counter.js';
import { tagOf } from '../../src/crdt/registry.js';
import { decodeWithLife, encodeWithLife, expired, isNoLife, joinTtl, LIFE_TAG, NO_LIFE, withTtl, type Life } from '../../src/keyspace/life.js';

/** The TTL register's order: higher version first, then later deadline, no deadline the latest. */
function ttlLeq(a: Life, b: Life): boolean {
  if (a.ttlVersion !== b.ttlVersion) return a.ttlVersion < b.ttlVersion;
  if (b.deadline === null) return true;
  return a.deadline !== null && a.deadline <= b.deadline;
}

const lifeArb = (epoch: number): fc.Arbitrary<Life> =>
  fc.record({ epoch: fc.constant(epoch), ttlVersion: fc.nat(4), deadline: fc.option(fc.nat(5), { nil: null }) });

const same = (a: Life, b: Life): boolean => a.epoch === b.epoch && a.ttlVersion === b.ttlVersion && a.deadline === b.deadline;

function counterState(): { tag: number; bytes: Uint8Array } {
  const c = new PNCounter();
  c.increment('a:1', 5);
  return { tag: tagOf('pncounter'), bytes: c.encode() };
}

describe('key life', () => {
  it('NO_LIFE is the only life sent bare: any epoch, TTL version or deadline makes one', () => {
    expect(isNoLife(NO_LIFE)).toBe(true);
    expect(isNoLife({ epoch: 1, ttlVersion: 0, deadline: null })).toBe(false);
    expect(isNoLife({ epoch: 0, ttlVersion: 1, deadline: null })).toBe(false);
    expect(isNoLife({ epoch: 0, ttlVersion: 0, deadline: 0 })).toBe(false);
    const inner = counterState();
    expect(encodeWithLife(NO_LIFE, inner)).toBe(inner);
    for (const life of [{ epoch: 1, ttlVersion: 0, deadline: null }, { epoch: 0, ttlVersion: 1, deadline: null }, { epoch: 0, ttlVersion: 0, deadline: 0 }]) {
      expect(encodeWithLife(life, inner).tag).toBe(LIFE_TAG);
    }
  });

  it('a life ends at its deadline, inclusive; no life and no deadline never end', () => {
    const l: Life = { epoch: 0, ttlVersion: 1, deadline: 1000 };
    expect(expired(l, 999)).toBe(false);
    expect(expired(l, 1000)).toBe(true);
    expect(expired(l, 1001)).toBe(true);
    expect(expired(undefined, 1e15)).toBe(false);
    expect(expired({ epoch: 3, ttlVersion: 2, deadline: null }, 1e15)).toBe(false);
  });

  it('joinTtl: the higher TTL version wins, then the later deadline, no deadline (PERSIST) the latest', () => {
    const v1late: Life = { epoch: 0, ttlVersion: 1, deadline: 900 };
    const v2early: Life = { epoch: 0, ttlVersion: 2, deadline: 100 };
    expect(joinTtl(v1late, v2early)).toBe(v2early);
    expect(joinTtl(v2early, v1late)).toBe(v2early);
    const persist: Life = { epoch: 0, ttlVersion: 1, deadline: null };
    expect(joinTtl(v1late, persist)).toBe(persist);
    expect(joinTtl(persist, v1late)).toBe(persist);
    const v1early: Life = { epoch: 0, ttlVersion: 1, deadline: 100 };
    expect(joinTtl(v1early, v1late)).toBe(v1late);
    expect(joinTtl(v1late, v1early)).toBe(v1late);
  });

  it('joinTtl is commutative, associative, idempotent and inflationary', () => {
    fc.assert(
      fc.property(lifeArb(2), lifeArb(2), lifeArb(2), (a, b, c) => {
        expect(same(joinTtl(a, b), joinTtl(b, a))).toBe(true);
        expect(same(joinTtl(joinTtl(a, b), c), joinTtl(a, joinTtl(b, c)))).toBe(true);
        expect(same(joinTtl(a, a), a)).toBe(true);
        const j = joinTtl(a, b);
        expect(ttlLeq(a, j) && ttlLeq(b, j)).toBe(true);
        // The least upper bound: the join is one of its inputs.
        expect(same(j, a) || same(j, b)).toBe(true);
      }),
    );
  });

  it('withTtl keeps the epoch and wins over every register seen, earlier deadline or not', () => {
    const l: Life = { epoch: 4, ttlVersion: 7, deadline: null };
    const w = withTtl(l, 50);
    expect(w).toEqual({ epoch: 4, ttlVersion: 8, deadline: 50 });
    expect(joinTtl(l, w)).toBe(w);
    expect(joinTtl(w, l)).toBe(w);
    expect(withTtl(w, null)).toEqual({ epoch: 4, ttlVersion: 9, deadline: null });
  });

  it('the codec round-trips every life, deadline 0 and no deadline included', () => {
    const inner = counterState();
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1 }), { nil: null }), (epoch, ttlVersion, deadline) => {
        const life: Life = { epoch, ttlVersion, deadline };
        fc.pre(!isNoLife(life));
        const w = encodeWithLife(life, inner);
        const r = decodeWithLife(w.tag, w.bytes);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value.life).toEqual(life);
        expect(r.value.states).toHaveLength(1);
        expect(r.value.states[0]?.type).toBe('pncounter');
        expect(r.value.states[0]?.crdt.encode()).toEqual(inner.bytes);
      }),
    );
    for (const deadline of [0, 1, null]) {
      const life: Life = { epoch: 1, ttlVersion: 1, deadline };
      const w = encodeWithLife(life, inner);
      const r = decodeWithLife(w.tag, w.bytes);
      expect(r.ok && r.value.life).toEqual(life);
    }
  });

  it('a bare state decodes with no life; its errors pass through', () => {
    const inner = counterState();
    const r = decodeWithLife(inner.tag, inner.bytes);
    expect(r.ok && r.value.life).toBe(NO_LIFE);
    expect(r.ok && r.value.states.map((s) => s.type)).toEqual(['pncounter']);
    const bad = decodeWithLife(inner.tag, inner.bytes.subarray(0, 1));
    expect(bad.ok ? 'ok' : bad.error.code).toBe('CODEC_TRUNCATED');
  });

  it('refuses malformed lives with a specific code', () => {
    const inner = counterState();
    const w = encodeWithLife({ epoch: 2, ttlVersion: 3, deadline: 10 }, inner).bytes;
    const codeOf = (bytes: Uint8Array): string => {
      const r = decodeWithLife(LIFE_TAG, bytes);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(codeOf(w)).toBe('ok');
    // The header is version, tag, epoch, TTL version, deadline + 1, inner tag: every cut inside it.
    for (let cut = 0; cut <= 5; cut++) expect(codeOf(w.subarray(0, cut))).toBe('CODEC_TRUNCATED');
    const messageOf = (bytes: Uint8Array): string => {
      const r = decodeWithLife(LIFE_TAG, bytes);
      return r.ok ? 'ok' : r.error.message;
    };
    expect(messageOf(w.subarray(0, 3))).toBe('key life: truncated at byte 3');
    expect(messageOf(Uint8Array.from([CODEC_VERSION + 1, ...w.subarray(1)]))).toBe(`key life: unknown version ${CODEC_VERSION + 1}`);
    expect(messageOf(Uint8Array.from([w[0] as number, LIFE_TAG + 1, ...w.subarray(2)]))).toBe(`key life: type tag ${LIFE_TAG + 1}, expected ${LIFE_TAG}`);
    expect(messageOf(encodeWithLife({ epoch: 1, ttlVersion: 0, deadline: null }, { tag: LIFE_TAG, bytes: w }).bytes)).toBe('key life: nested life');
    expect(messageOf(Uint8Array.from([CODEC_VERSION, LIFE_TAG, 0, 0, 0, inner.tag, ...inner.bytes]))).toBe('key life: a key with no life is sent bare');
    expect(codeOf(Uint8Array.from([CODEC_VERSION + 1, ...w.subarray(1)]))).toBe('CODEC_BAD_VERSION');
    expect(codeOf(Uint8Array.from([w[0] as number, LIFE_TAG + 1, ...w.subarray(2)]))).toBe('CODEC_BAD_TYPE');
    // A life inside a life.
    const nested = encodeWithLife({ epoch: 1, ttlVersion: 0, deadline: null }, { tag: LIFE_TAG, bytes: w });
    expect(codeOf(nested.bytes)).toBe('CODEC_INVALID');
    // Epoch 0, TTL version 0, no deadline: a key with no life is sent bare, never wrapped.
    expect(codeOf(Uint8Array.from([CODEC_VERSION, LIFE_TAG, 0, 0, 0, inner.tag, ...inner.bytes]))).toBe('CODEC_INVALID');
    // A broken inner state is the inner state's error.
    expect(codeOf(Uint8Array.from([CODEC_VERSION, LIFE_TAG, 1, 0, 0, inner.tag, ...inner.bytes.subarray(0, 2)]))).toBe('CODEC_TRUNCATED');
    // Wrapping writes exactly the header and the inner bytes.
    expect(Array.from(w.subarray(0, 6))).toEqual([CODEC_VERSION, LIFE_TAG, 2, 3, 11, inner.tag]);
    expect(w.subarray(6)).toEqual(inner.bytes);
  });
});
