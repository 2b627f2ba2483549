// A network of real replicas whose frames are delivered only when a test says so: the schedule of
// every exchange is the test's, so rare interleavings (a chunk delivered, the next one lost) are exact.

import { replicaConfig, type ReplicaConfig } from '../../src/replication/config.js';
import { SharedRoster } from '../../src/replication/membership.js';
import { decodeEnvelope, encodeEnvelope, MemberState, MsgKind, type MemberRecord, type Message } from '../../src/replication/messages.js';
import { Replica } from '../../src/replication/replica.js';
import type { ReplicaEvents } from '../../src/replication/context.js';
import { fullKey, type Keyspace } from '../../src/keyspace/keyspace.js';
import { SeededRng } from '../../src/util/rng.js';
import type { LocalStamp } from '../../src/replication/version-log.js';
import type { FoldBounds } from '../../src/replication/slot-folds.js';

export interface Frame {
  from: string;
  to: string;
  bytes: Uint8Array;
  msg: Message;
}

export class ManualNet {
  readonly cfg: ReplicaConfig;
  readonly nodes = new Map<string, Replica>();
  queue: Frame[] = [];
  now = 1;
  private readonly roster: SharedRoster;

  constructor(
    ids: readonly string[],
    cfg: Partial<ReplicaConfig> = {},
    /** Per node id, its configured peer addresses and its seeds (ReplicaOptions.peers, .seeds), and its event hooks; none unless given. */
    private readonly addresses: { peers?: ReadonlyMap<string, readonly string[]>; seeds?: ReadonlyMap<string, readonly string[]>; events?: (id: string) => ReplicaEvents } = {},
  ) {
    // Timers far away: nothing happens unless the test asks.
    this.cfg = replicaConfig({ clusterName: 't', gossipIntervalMs: 3_600_000, probeIntervalMs: 3_600_000, probeTimeoutMs: 3_600_000, reconnectIntervalMs: 3_600_000, ...cfg });
    this.roster = new SharedRoster(ids.map((id) => ({ id, address: id, incarnation: 1, seq: 0, state: MemberState.Alive })));
    for (const id of ids) this.add(id, 1);
  }

  add(id: string, incarnation: number, keyspace?: Keyspace, restoredStamps?: ReadonlyMap<string, LocalStamp>, foldBounds?: FoldBounds, saveFolds?: (b: FoldBounds) => boolean): Replica {
    const r = new Replica({
      config: this.cfg,
      identity: { nodeId: id, incarnation, address: id },
      rng: new SeededRng(id.charCodeAt(id.length - 1) + incarnation * 7),
      transport: {
        send: (to, bytes) => {
          const d = decodeEnvelope(bytes, 't', 1 << 26);
          if (!d.ok) throw new Error(`undecodable frame from ${id}: ${d.error.detail}`);
          this.queue.push({ from: id, to, bytes, msg: d.value.msg });
        },
      },
      roster: this.roster,
      configured: [...this.roster.index.keys()],
      ...this.addressesOf(id),
      ...(this.addresses.events !== undefined ? { events: this.addresses.events(id) } : {}),
      ...(keyspace !== undefined ? { keyspace } : {}),
      ...(restoredStamps !== undefined ? { restoredStamps } : {}),
      ...(foldBounds !== undefined ? { foldBounds } : {}),
      ...(saveFolds !== undefined ? { saveFolds } : {}),
      now: this.now,
    });
    this.nodes.set(id, r);
    return r;
  }

  /** The `peers` and `seeds` options of node `id`: only those the test gave. */
  private addressesOf(id: string): { peers?: readonly string[]; seeds?: readonly string[] } {
    const peers = this.addresses.peers?.get(id);
    const seeds = this.addresses.seeds?.get(id);
    return { ...(peers !== undefined ? { peers } : {}), ...(seeds !== undefined ? { seeds } : {}) };
  }

  get(id: string): Replica {
    const r = this.nodes.get(id);
    if (r === undefined) throw new Error(`no node ${id}`);
    return r;
  }

  /** Delivers queued frames matching `pred`, in order, again and again until none match or `max` were delivered. */
  deliver(pred: (f: Frame) => boolean = () => true, max = 1_000_000): number {
    let n = 0;
    for (;;) {
      const i = this.queue.findIndex(pred);
      if (i < 0 || n >= max) return n;
      const [f] = this.queue.splice(i, 1) as [Frame];
      this.nodes.get(f.to)?.receive(f.from, f.bytes, this.now);
      n++;
    }
  }

  /** Delivers `msg` to `to` at once, as if `from` (at address `from`, at `incarnation`) sent it at `now`. */
  inject(from: string, to: string, msg: Message, now: number = this.now, incarnation = 1): void {
    this.get(to).receive(from, encodeEnvelope({ cluster: 't', from, incarnation, address: from, msg }), now);
  }

  drop(pred: (f: Frame) => boolean = () => true): void {
    this.queue = this.queue.filter((f) => !pred(f));
  }

  /** `a` pulls from `b`: the whole exchange between the two is delivered, nothing else. */
  sync(a: string, b: string, max = 1_000_000): number {
    this.get(a).pullFrom(b);
    return this.deliver((f) => (f.from === a && f.to === b) || (f.from === b && f.to === a), max);
  }
}

/** A Delta that carries membership records only. */
export function membersDelta(records: MemberRecord[]): Message {
  return { kind: MsgKind.Delta, body: { ranges: [], states: [], members: records, more: false } };
}

export function counter(r: Replica, name: string): number | bigint | null | string {
  const v = r.keyspace.getCounter(fullKey(0, name));
  return v.ok ? v.value : v.error.message;
}

/**
 * Makes `key` a Count-Min Sketch (2000 x 4) of 3000 items named `prefix`0, `prefix`1...: about
 * 8 KB encoded, so with 4 KiB frames it travels as two part frames and a last part.
 */
export function bigCms(r: Replica, key: string, prefix = 'x'): void {
  const made = r.keyspace.cmsInit(key, 2000, 4);
  if (!made.ok) throw new Error(made.error.message);
  const added = r.keyspace.cmsIncrBy(key, Array.from({ length: 3000 }, (_, i) => [Buffer.from(`${prefix}${i}`), 3] as const));
  if (!added.ok) throw new Error(added.error.message);
}
