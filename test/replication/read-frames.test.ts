// The frames of a majority read's answer (anti-entropy.ts `readFrames`, quorum.ts): an answer too
// large for one frame goes as numbered part frames, keys packed together up to the frame size and a
// key alone too large split into its parts, then a ReadResp that counts only once every part of its
// batch arrived from the peer that answers. quorum.test.ts covers who is asked and who counts.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { MsgKind, type DeltaBody, type Message } from '../../src/replication/messages.js';
import type { WaitOutcome } from '../../src/replication/waiters.js';
import { bigCms, counter, ManualNet, type Frame } from './manual-net.js';

const key = (i: number): string => fullKey(0, `key:${String(i).padStart(4, '0')}`);
const keysOf = (f: Frame): string[] => (f.msg.kind === MsgKind.Delta ? f.msg.body.states.map((s) => s.key) : []);
const partOf = (f: Frame): DeltaBody['part'] => (f.msg.kind === MsgKind.Delta ? f.msg.body.part : undefined);

/** n1 reads `keys` from a three-node cluster with 4 KiB frames; returns n2's answer (not delivered) and the outcome so far. */
function read(n: ManualNet, keys: string[]): { answer: Frame[]; outs: WaitOutcome[] } {
  const outs: WaitOutcome[] = [];
  n.drop();
  n.get('n1').majorityRead(keys, 1e12, (o) => outs.push(o));
  n.deliver((f) => f.msg.kind === MsgKind.ReadReq && f.to === 'n2');
  const answer = n.queue.filter((f) => f.from === 'n2' && f.to === 'n1');
  n.drop((f) => f.from === 'n2');
  return { answer, outs };
}

const give = (n: ManualNet, frames: readonly Frame[]): void => {
  for (const f of frames) n.get(f.to).receive(f.from, f.bytes, n.now);
};

describe('a majority read answer too large for one frame', () => {
  it('packs many keys into few numbered part frames within the frame size, and counts once they all arrived', () => {
    const n = new ManualNet(['n1', 'n2', 'n3'], { maxMessageBytes: 4096 });
    const keys = Array.from({ length: 400 }, (_, i) => key(i));
    keys.forEach((k, i) => n.get('n2').keyspace.incrBy(k, i + 1));
    const { answer, outs } = read(n, [...keys, fullKey(0, 'absent')]);
    const parts = answer.slice(0, -1);
    const resp = answer[answer.length - 1]!;
    expect(resp.msg).toMatchObject({ kind: MsgKind.ReadResp, body: { states: [] } });
    const needs = resp.msg.kind === MsgKind.ReadResp ? resp.msg.body.needs : undefined;
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.length).toBeLessThanOrEqual(6); // 400 keys of about 30 bytes: a few frames, not one per key
    expect(needs).toEqual({ batch: partOf(parts[0]!)!.batch, parts: parts.length });
    parts.forEach((f, i) => {
      expect(f.msg).toMatchObject({ kind: MsgKind.Delta, body: { ranges: [], members: null, more: false, part: { batch: needs!.batch, index: i } } });
      expect(keysOf(f).length).toBeGreaterThan(0);
      expect(f.bytes.length).toBeLessThanOrEqual(4096);
    });
    expect(parts.flatMap(keysOf)).toEqual(keys); // every key once, in order; the absent one not at all
    // The answer without its last part does not count; the parts are merged all the same.
    give(n, [...parts.slice(0, -1), resp]);
    expect(outs).toEqual([]);
    expect(counter(n.get('n1'), 'key:0000')).toBe(1);
    give(n, [parts[parts.length - 1]!, resp]);
    expect(outs).toEqual([{ ok: true, count: 1, needed: 1 }]);
    expect(counter(n.get('n1'), 'key:0399')).toBe(400);
    // Nothing in those frames asked n1 for more.
    expect(n.queue.filter((f) => f.from === 'n1' && f.msg.kind !== MsgKind.ReadReq)).toEqual([]);
  });

  it('cuts its part frames within the frame size for keys of a few hundred bytes each', () => {
    const n = new ManualNet(['n1', 'n2', 'n3'], { maxMessageBytes: 4096 });
    const keys = Array.from({ length: 40 }, (_, i) => key(i));
    keys.forEach((k, i) => n.get('n2').keyspace.pfadd(k, Array.from({ length: 200 }, (_, j) => Buffer.from(`${i}-${j}`))));
    const { answer, outs } = read(n, keys);
    expect(answer.length).toBeGreaterThan(3);
    for (const f of answer) expect(f.bytes.length).toBeLessThanOrEqual(4096);
    give(n, answer);
    expect(outs).toEqual([{ ok: true, count: 1, needed: 1 }]);
  });

  it('sends a key too large for a frame in its own parts, between the frames of the keys around it', () => {
    const n = new ManualNet(['n1', 'n2', 'n3'], { maxMessageBytes: 4096 });
    const n2 = n.get('n2');
    const big = fullKey(0, 'big');
    bigCms(n2, big);
    for (let i = 0; i < 6; i++) n2.keyspace.incrBy(key(i), 1);
    const before = [key(0), key(1), key(2)];
    const after = [key(3), key(4), key(5)];
    const { answer, outs } = read(n, [...before, big, ...after]);
    const parts = answer.slice(0, -1);
    expect(parts.map(partOf).map((p) => p?.index)).toEqual(parts.map((_, i) => i));
    expect(keysOf(parts[0]!)).toEqual(before);
    expect(keysOf(parts[parts.length - 1]!)).toEqual(after);
    const middle = parts.slice(1, -1);
    expect(middle.length).toBe(3); // the sketch's three parts
    for (const f of middle) expect(keysOf(f)).toEqual([big]);
    for (const f of parts) expect(f.msg).toMatchObject({ body: { more: false } });
    give(n, answer);
    expect(outs).toEqual([{ ok: true, count: 1, needed: 1 }]);
    expect(Buffer.from(n.get('n1').keyspace.encodeKey(big)!.bytes).equals(Buffer.from(n2.keyspace.encodeKey(big)!.bytes))).toBe(true);
  });

  it('each parted answer of the same peer has a batch of its own', () => {
    const n = new ManualNet(['n1', 'n2', 'n3'], { maxMessageBytes: 4096 });
    const big = fullKey(0, 'big');
    bigCms(n.get('n2'), big);
    const batches = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const { answer, outs } = read(n, [big]);
      batches.add(partOf(answer[0]!)!.batch);
      give(n, answer);
      expect(outs).toEqual([{ ok: true, count: 1, needed: 1 }]);
    }
    expect(batches.size).toBe(3);
  });

  it('does not count when the parts came from another peer than the answer', () => {
    const n = new ManualNet(['n1', 'n2', 'n3'], { maxMessageBytes: 4096 });
    const big = fullKey(0, 'big');
    bigCms(n.get('n2'), big);
    const { answer, outs } = read(n, [big]);
    const resp = answer[answer.length - 1]!;
    // n2's parts arrive as if from n3, then n2's answer; n3's own answer was never asked for here.
    for (const f of answer.slice(0, -1)) n.inject('n3', 'n1', f.msg);
    give(n, [resp]);
    expect(outs).toEqual([]);
    // From n2 itself, they make its answer count.
    give(n, answer);
    expect(outs).toEqual([{ ok: true, count: 1, needed: 1 }]);
  });
});

describe('answers that do not belong to the read', () => {
  it('a late answer to a finished read is merged, and counts for nothing', () => {
    const n = new ManualNet(['n1', 'n2', 'n3']);
    const k = fullKey(0, 'k');
    n.get('n2').keyspace.incrBy(k, 2);
    n.get('n3').keyspace.incrBy(k, 5);
    const outs: WaitOutcome[] = [];
    n.get('n1').majorityRead([k], 1e12, (o) => outs.push(o));
    n.deliver((f) => f.msg.kind === MsgKind.ReadReq);
    n.deliver((f) => f.from === 'n2');
    expect(outs).toEqual([{ ok: true, count: 1, needed: 1 }]);
    n.deliver((f) => f.from === 'n3');
    expect(outs.length).toBe(1);
    expect(counter(n.get('n1'), 'k')).toBe(7);
    // An answer to a read that never was: merged, nothing else.
    const stray: Message = { kind: MsgKind.ReadResp, body: { id: 999, states: [] } };
    n.inject('n2', 'n1', stray);
    expect(outs.length).toBe(1);
    expect(n.get('n1').stats.rejected).toEqual({});
  });

  it('a peer that holds none of the keys answers with no states, and counts', () => {
    const n = new ManualNet(['n1', 'n2', 'n3']);
    const outs: WaitOutcome[] = [];
    n.get('n1').majorityRead([fullKey(0, 'nowhere')], 1e12, (o) => outs.push(o));
    n.deliver((f) => f.msg.kind === MsgKind.ReadReq && f.to === 'n2');
    const resp = n.queue.find((f) => f.from === 'n2')!;
    expect(resp.msg).toMatchObject({ kind: MsgKind.ReadResp, body: { states: [] } });
    expect(resp.msg.kind === MsgKind.ReadResp && resp.msg.body.needs).toBeUndefined();
    n.deliver((f) => f.from === 'n2');
    expect(outs).toEqual([{ ok: true, count: 1, needed: 1 }]);
  });
});
