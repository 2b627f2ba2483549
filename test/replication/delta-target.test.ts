// A Delta gathers key states up to DELTA_TARGET_BYTES (128 KiB) whatever the frame limit, and leaves
// the rest for the next pull; a key larger than that goes whole in a Delta of its own while it fits a
// frame, and in parts only past the frame limit (part-frames.test.ts). anti-entropy.ts says why:
// a receiver holds every decoded state of a frame at once.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { DELTA_TARGET_BYTES } from '../../src/replication/anti-entropy.js';
import { MsgKind, type DeltaBody } from '../../src/replication/messages.js';
import { counter, ManualNet, type Frame } from './manual-net.js';

const k = (i: number): string => fullKey(0, `user:${i}`);
const deltas = (frames: readonly Frame[]): DeltaBody[] => frames.flatMap((f) => (f.msg.kind === MsgKind.Delta ? [f.msg.body] : []));
/** What the builder counts toward the target: 32 for the frame, each state's key, bytes and 16, and 8 per range entry. */
const counted = (d: DeltaBody): number => 32 + d.states.reduce((n, s) => n + s.key.length + s.bytes.length + 16, 0) + 4 * d.ranges.reduce((n, r) => n + r.entries.length, 0);

describe('the Delta target', () => {
  it('with 1 MiB frames, a catch-up of 20,000 keys comes in Deltas filled to the target, each pulled by the one before', () => {
    const n = new ManualNet(['A', 'B'], { maxMessageBytes: 1024 * 1024 });
    const A = n.get('A');
    const B = n.get('B');
    for (let i = 0; i < 20_000; i++) A.keyspace.incrBy(k(i), i + 1);
    B.pullFrom('A');
    const seen: DeltaBody[] = [];
    for (let round = 0; round < 1_000 && n.queue.length > 0; round++) {
      seen.push(...deltas(n.queue.filter((f) => f.from === 'A')));
      n.deliver(() => true, n.queue.length);
    }
    const full = seen.filter((d) => d.more);
    // 20,000 keys of about 30 bytes, which one 1 MiB frame would hold: as many Deltas as the target divides them into.
    const total = seen.reduce((n, d) => n + counted(d), 0);
    expect(total).toBeLessThan(1024 * 1024 - 1024);
    expect(full.length).toBeGreaterThanOrEqual(Math.floor(total / DELTA_TARGET_BYTES));
    expect(full.length).toBeGreaterThanOrEqual(3);
    for (const d of seen) expect(counted(d)).toBeLessThanOrEqual(DELTA_TARGET_BYTES);
    // Filled to within a key of the target, except the last.
    for (const d of full) expect(counted(d)).toBeGreaterThan(DELTA_TARGET_BYTES - 100);
    expect(seen.at(-1)?.more).toBe(false);
    expect(B.keyspace.stateDigest()).toBe(A.keyspace.stateDigest());
    expect([counter(B, 'user:0'), counter(B, 'user:19999')]).toEqual([1, 20_000]);
    expect(B.versions.known(A.versions.entries().next().value?.[0] ?? '')).toBe(A.version);
  });

  it('a key larger than the target, within the frame limit, goes whole in a Delta of its own between smaller ones', () => {
    const n = new ManualNet(['A', 'B'], { maxMessageBytes: 1024 * 1024 });
    const A = n.get('A');
    const B = n.get('B');
    const big = fullKey(0, 'big');
    for (let i = 0; i < 100; i++) A.keyspace.incrBy(k(i), 1);
    expect(A.keyspace.cmsInit(big, 60_000, 4).ok).toBe(true);
    expect(A.keyspace.cmsIncrBy(big, Array.from({ length: 80_000 }, (_, i) => [Buffer.from(`e${i}`), 1] as const)).ok).toBe(true);
    for (let i = 100; i < 200; i++) A.keyspace.incrBy(k(i), 1);
    const bigBytes = A.keyspace.encodeKey(big)?.bytes.length ?? 0;
    expect(bigBytes).toBeGreaterThan(DELTA_TARGET_BYTES);
    expect(bigBytes).toBeLessThan(1024 * 1024 - 1024);
    B.pullFrom('A');
    const seen: DeltaBody[] = [];
    for (let round = 0; round < 100 && n.queue.length > 0; round++) {
      seen.push(...deltas(n.queue.filter((f) => f.from === 'A')));
      n.deliver(() => true, n.queue.length);
    }
    expect(seen.filter((d) => d.part !== undefined)).toEqual([]);
    const withBig = seen.filter((d) => d.states.some((s) => s.key === big));
    expect(withBig).toHaveLength(1);
    expect(withBig[0]?.states.map((s) => s.key)).toEqual([big]);
    expect(withBig[0]?.needs).toBeUndefined();
    expect(B.keyspace.stateDigest()).toBe(A.keyspace.stateDigest());
    expect(B.versions.known(A.versions.entries().next().value?.[0] ?? '')).toBe(A.version);
  });
});
