// Under persistence `always` a node advertises (Have, digests) only what is on disk: a peer that
// crashes right after acknowledging a write must still hold it when it comes back (repro r4).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyspace, fullKey } from '../../src/keyspace/keyspace.js';
import { GroupCommit } from '../../src/persistence/group-commit.js';
import { DurableStore } from '../../src/persistence/store.js';
import { replicaConfig } from '../../src/replication/config.js';
import { decodeEnvelope, MemberState } from '../../src/replication/messages.js';
import { Replica } from '../../src/replication/replica.js';
import { SeededRng } from '../../src/util/rng.js';

const opened: DurableStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

describe('advertising only what is durable', () => {
  it('a peer under `always` acknowledges a merged write only once its commit is on disk', async () => {
    const { store } = DurableStore.open({ dataDir: mkdtempSync(join(tmpdir(), 'tally-adv-')), nodeId: 'P', cluster: 'c' });
    opened.push(store);
    const ks = new Keyspace('P:2');
    const commits = new GroupCommit(store, ks, 'always');
    const config = replicaConfig({ clusterName: 'c', gossipIntervalMs: 3_600_000, probeIntervalMs: 3_600_000, probeTimeoutMs: 3_600_000, reconnectIntervalMs: 3_600_000 });
    const k = fullKey(0, 'balance');
    // What P had on disk each time A learned P holds more of A's writes.
    const onDiskWhenCounted: (number | null)[] = [];
    const onDisk = (): number | null => {
      const back = new Keyspace('X:1');
      store.loadInto(back);
      const v = back.getCounter(k);
      return v.ok ? (v.value as number | null) : null;
    };
    let A: Replica | undefined;
    let P: Replica | undefined;
    const deliver = (to: () => Replica | undefined, from: string) => (_address: string, frame: Uint8Array): void => {
      queueMicrotask(() => to()?.receive(from, frame, 0));
    };
    P = new Replica({ config, identity: { nodeId: 'P', incarnation: 2, address: 'P' }, rng: new SeededRng(1), now: 0, keyspace: ks, configured: ['A', 'P', 'Q'], durability: commits, transport: { send: deliver(() => A, 'P') } });
    A = new Replica({
      config,
      identity: { nodeId: 'A', incarnation: 1, address: 'A' },
      rng: new SeededRng(2),
      now: 0,
      configured: ['A', 'P', 'Q'],
      transport: {
        send: (address, frame) => {
          const msg = decodeEnvelope(frame, 'c', 1 << 20);
          if (msg.ok && address === 'P') queueMicrotask(() => P?.receive('A', frame, 0));
        },
      },
    });
    const a = A;
    a.membership.apply({ id: 'P', address: 'P', incarnation: 2, seq: 0, state: MemberState.Alive }, 0);
    // Watch A's count of holders: record what P has on disk at each rise.
    const realReceive = a.receive.bind(a);
    a.receive = (peer, frame, now) => {
      const before = a.holdersOf(1);
      realReceive(peer, frame, now);
      if (a.holdersOf(1) > before) onDiskWhenCounted.push(onDisk());
    };
    a.keyspace.incrBy(k, 100);
    const acked = new Promise<{ ok: boolean; count: number }>((done) => a.awaitHolders(a.version, 1, 1e12, done));
    const outcome = await acked;
    expect(outcome).toMatchObject({ ok: true, count: 1 });
    // Counted only once on disk: a crash of P at that moment would leave it holding the write.
    expect(onDiskWhenCounted).toEqual([100]);
    // And P's digests advertise it now (it is durable).
    expect(P.versions.advertised('A:1')).toBe(1);
    expect(P.versions.vector('A')).toContainEqual({ origin: 'A:1', known: 1 });
    await commits.close();
  });
});
