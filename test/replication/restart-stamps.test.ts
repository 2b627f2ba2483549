// A restart with data resumes its earlier incarnations' logs from the local stamps persisted with each
// key (replica.ts, `restore`): peers that hold those writes are sent nothing again, peers that lack
// some are sent exactly those keys, and keys of a store without stamps are still announced.

import { describe, expect, it } from 'vitest';
import { fullKey, Keyspace } from '../../src/keyspace/keyspace.js';
import { MsgKind } from '../../src/replication/messages.js';
import type { Replica } from '../../src/replication/replica.js';
import { counter, ManualNet, type Frame } from './manual-net.js';

/** A copy of a keyspace through its codec, as a restart reads it from disk. */
function fromDisk(ks: Keyspace): Keyspace {
  const out = new Keyspace(ks.replicaId);
  for (const key of ks.keys()) {
    const e = ks.encodeKey(key);
    if (e !== undefined) out.mergeRemote(key, e.tag, e.bytes);
  }
  return out;
}

/** Key states carried by Delta frames from `from` to `to` among `frames`. */
function statesSent(frames: readonly Frame[], from: string, to: string): string[] {
  const out: string[] = [];
  for (const f of frames) if (f.from === from && f.to === to && f.msg.kind === MsgKind.Delta) for (const s of f.msg.body.states) out.push(s.key.slice(1));
  return out;
}

/** `a` pulls from `b`, recording every frame delivered. */
function recordedSync(net: ManualNet, a: string, b: string): Frame[] {
  const seen: Frame[] = [];
  net.get(a).pullFrom(b);
  for (;;) {
    const i = net.queue.findIndex((f) => (f.from === a && f.to === b) || (f.from === b && f.to === a));
    if (i < 0) return seen;
    const [f] = net.queue.splice(i, 1) as [Frame];
    seen.push(f);
    net.get(f.to).receive(f.from, f.bytes, net.now);
  }
}

function writeKeys(r: Replica, names: readonly string[]): void {
  for (const k of names) r.keyspace.incrBy(fullKey(0, k), 1);
}

const names = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `k${from + i}`);

describe('restart with data', () => {
  it('sends a peer that holds every key nothing again', () => {
    const net = new ManualNet(['A', 'B']);
    const A = net.get('A');
    writeKeys(A, names(0, 50));
    net.sync('B', 'A');
    const A2 = net.add('A', 2, fromDisk(A.keyspace), A.localStamps());
    expect(A2.versions.known('A:1')).toBe(50);
    expect(statesSent(recordedSync(net, 'B', 'A'), 'A', 'B')).toEqual([]);
    expect(statesSent(recordedSync(net, 'A', 'B'), 'A', 'B')).toEqual([]);
    expect(A2.versions.entryCount()).toBe(50); // in A:1's log, none in A:2's
    expect(net.get('B').versions.known('A:2')).toBe(0);
  });

  it('still announces every key of a store without stamps (format 1)', () => {
    const net = new ManualNet(['A', 'B']);
    const A = net.get('A');
    writeKeys(A, names(0, 20));
    net.sync('B', 'A');
    net.add('A', 2, fromDisk(A.keyspace));
    expect(statesSent(recordedSync(net, 'B', 'A'), 'A', 'B')).toHaveLength(20);
  });

  it('sends a peer exactly the writes it had not received before the crash', () => {
    const net = new ManualNet(['A', 'B']);
    const A = net.get('A');
    writeKeys(A, names(0, 10));
    net.sync('B', 'A');
    writeKeys(A, ['k3', ...names(10, 13)]); // never gossiped: A crashes now
    const A2 = net.add('A', 2, fromDisk(A.keyspace), A.localStamps());
    expect(statesSent(recordedSync(net, 'B', 'A'), 'A', 'B').sort()).toEqual(['k10', 'k11', 'k12', 'k3']);
    const B = net.get('B');
    expect(counter(B, 'k3')).toBe(2);
    expect(counter(B, 'k12')).toBe(1);
    expect(B.versions.known('A:1')).toBe(A2.versions.known('A:1'));
  });

  it('gets back from a peer the writes its disk lost', () => {
    const net = new ManualNet(['A', 'B']);
    const A = net.get('A');
    writeKeys(A, names(0, 5));
    const disk = fromDisk(A.keyspace);
    const stamps = A.localStamps();
    writeKeys(A, ['k0', 'k9']); // acknowledged and gossiped, but not on disk when A crashes
    net.sync('B', 'A');
    const A2 = net.add('A', 2, disk, stamps);
    expect(A2.versions.known('A:1')).toBe(5);
    net.sync('A', 'B');
    expect(counter(A2, 'k0')).toBe(2);
    expect(counter(A2, 'k9')).toBe(1);
    expect(A2.versions.known('A:1')).toBe(7);
  });

  it('stamps follow the incarnation that last changed a key, across restarts', () => {
    const net = new ManualNet(['A', 'B']);
    const A = net.get('A');
    writeKeys(A, ['x', 'y']);
    net.get('B').keyspace.incrBy(fullKey(0, 'z'), 1);
    net.sync('A', 'B');
    expect(A.stampOf(fullKey(0, 'z'))).toEqual({ incarnation: 0, version: 0 });
    const A2 = net.add('A', 2, fromDisk(A.keyspace), A.localStamps());
    writeKeys(A2, ['y']);
    expect(A2.stampOf(fullKey(0, 'x'))).toEqual({ incarnation: 1, version: 1 });
    expect(A2.stampOf(fullKey(0, 'y'))).toEqual({ incarnation: 2, version: 1 });
    net.sync('B', 'A');
    const A3 = net.add('A', 3, fromDisk(A2.keyspace), A2.localStamps());
    expect(A3.versions.known('A:1')).toBe(1);
    expect(A3.versions.known('A:2')).toBe(1);
    expect(statesSent(recordedSync(net, 'B', 'A'), 'A', 'B')).toEqual([]);
    expect(counter(A3, 'y')).toBe(2);
  });

  it("a restored stamp goes with its key's id when the key is collected: the name made again is not the earlier incarnation's change", () => {
    const net = new ManualNet(['A', 'B']);
    const A = net.get('A');
    writeKeys(A, ['x', 'w']);
    net.sync('B', 'A');
    const A2 = net.add('A', 2, fromDisk(A.keyspace), A.localStamps());
    expect(A2.stampOf(fullKey(0, 'x'))).toEqual({ incarnation: 1, version: 1 });
    // x deleted and its tombstone collected (as once every member holds it durably): its id is retired.
    A2.keyspace.del(fullKey(0, 'x'));
    expect(A2.keyspace.collectTombstones()).toEqual([fullKey(0, 'x')]);
    // x made again by a peer's write, merged here: it takes an id (the retired one), with no stamp of A's.
    net.get('B').keyspace.del(fullKey(0, 'x'));
    net.get('B').keyspace.incrBy(fullKey(0, 'x'), 5);
    net.sync('A', 'B');
    expect(A2.keyspace.idOf(fullKey(0, 'x'))).toBeGreaterThanOrEqual(0);
    expect(A2.stampOf(fullKey(0, 'x'))).toEqual({ incarnation: 0, version: 0 });
    expect(A2.stampOf(fullKey(0, 'w'))).toEqual({ incarnation: 1, version: 2 });
    // A merge into a restored key keeps its stamp: the state still holds that incarnation's change.
    net.get('B').keyspace.incrBy(fullKey(0, 'w'), 1);
    net.sync('A', 'B');
    expect(counter(A2, 'w')).toBe(2);
    expect(A2.stampOf(fullKey(0, 'w'))).toEqual({ incarnation: 1, version: 2 });
  });
});
