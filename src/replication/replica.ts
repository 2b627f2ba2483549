// The sans-IO replica: a keyspace of CRDTs, the Scuttlebutt version log, SWIM membership and the
// push-pull gossip protocol. Driven by tick(now) and receive(from, bytes); it sends through a
// Transport and reads time and randomness only from what it is given. The real node and the
// simulator run this same code. docs/gossip.md describes the protocol.

import { Keyspace } from '../keyspace/keyspace.js';
import { decodeCrdt } from '../keyspace/keyspace.js';
import type { ChangeSink, Crdt, KeyType } from '../keyspace/types.js';
import { replicaIdOf } from '../crdt/replica-id.js';
import type { Rng } from '../util/rng.js';
import type { ReplicaConfig } from './config.js';
import { Membership, type Member, type SharedRoster } from './membership.js';
import {
  MemberState,
  MsgKind,
  decodeEnvelope,
  encodeEnvelope,
  type DeltaBody,
  type DigestBody,
  type Message,
  type MemberRecord,
  type RejectReason,
} from './messages.js';
import type { Transport } from './transport.js';
import { VersionLog, type VectorEntry } from './version-log.js';
import { Waiters, type WaitOutcome } from './consistency.js';

export interface ReplicaIdentity {
  /** Stable node id (from the config). */
  nodeId: string;
  /** Grows at every start of the node. */
  incarnation: number;
  /** Where peers reach this node (opaque to the replica; the transport understands it). */
  address: string;
}

/** Hooks for the edges: logging and metrics. All optional; none is called on the client hot path. */
export interface ReplicaEvents {
  rejected?(peer: string, reason: RejectReason | 'state', detail: string): void;
  memberChanged?(member: Member, previous: MemberState | undefined): void;
  /** A key's state changed because of a peer's delta. */
  remoteChange?(key: string): void;
  /** A key's state changed because of a local client (any command: INCR, DEL, FLUSHDB...). */
  localChange?(key: string): void;
}

const KIND_NAMES = ['', 'digest', 'delta', 'ping', 'ping-req', 'ack', 'have', 'read-req', 'read-resp'] as const;
export type KindName = (typeof KIND_NAMES)[number];

export interface ReplicaStats {
  rounds: number;
  sent: Record<string, { frames: number; bytes: number }>;
  received: Record<string, { frames: number; bytes: number }>;
  rejected: Record<string, number>;
  /** Delta messages cut at the size limit (a backlog streaming in chunks). */
  chunked: number;
  /** Times tick() found this node had been frozen, and voided its probes in flight. */
  stalls: number;
}

/** Tick lateness tolerated before a gap counts as a stall: the node loop's 50 ms period plus timer slop. */
const STALL_SLACK_MS = 100;

const TYPE_BY_TAG: Record<number, KeyType> = { 1: 'gcounter', 2: 'pncounter', 3: 'hll', 4: 'window', 5: 'cms', 6: 'topk' };
const TAG_BY_TYPE: Record<KeyType, number> = { gcounter: 1, pncounter: 2, hll: 3, window: 4, cms: 5, topk: 6 };
/** Bytes kept free in a delta for the envelope and membership records. */
const DELTA_SLACK = 512;

/** One key's state from a Delta or ReadResp, decoded and validated before the frame takes effect. */
interface DecodedState {
  key: string;
  type: KeyType;
  crdt: Crdt;
}

interface PendingProbe {
  target: string;
  address: string;
  sentAt: number;
  indirect: boolean;
}

export interface ReplicaOptions {
  config: ReplicaConfig;
  identity: ReplicaIdentity;
  rng: Rng;
  transport: Transport;
  /** Addresses of seed nodes to join through. */
  seeds?: readonly string[];
  /** A shared starting roster (simulator), so every member is known from the start. */
  roster?: SharedRoster;
  /**
   * The number of nodes the cluster is configured with. A majority is counted from at least this
   * many, so a node that has just started (and knows only itself) never mistakes itself for one.
   */
  configuredSize?: number;
  /** A keyspace restored from disk; its keys are re-announced under this incarnation. */
  keyspace?: Keyspace;
  events?: ReplicaEvents;
  /** Time of construction, for the random gossip phase. */
  now: number;
}

export class Replica implements ChangeSink {
  readonly keyspace: Keyspace;
  readonly versions = new VersionLog();
  readonly membership: Membership;
  /** This incarnation's origin id: the slot its increments go to and the origin of its versions. */
  readonly origin: string;
  readonly stats: ReplicaStats = { rounds: 0, sent: {}, received: {}, rejected: {}, chunked: 0, stalls: 0 };

  private readonly cfg: ReplicaConfig;
  private readonly id: ReplicaIdentity;
  private readonly rng: Rng;
  private readonly transport: Transport;
  private readonly seeds: readonly string[];
  private readonly events: ReplicaEvents;
  private localVersion = 0;
  private selfSeq = 0;
  private now: number;
  private nextGossipAt: number;
  private nextProbeAt: number;
  /** When the next tick was due (nextTickAt() after the last one): far past it, this node was frozen. */
  private dueAt: number;
  /** After a stall: no suspect is declared dead before this time. */
  private noDeathsUntil = 0;
  private probeSeq = 0;
  private readonly pending = new Map<number, PendingProbe>();
  /** Indirect probes we run for others: our seq -> [requester address, requester's seq, expiry]. */
  private readonly relayed = new Map<number, [string, number, number]>();
  /** Last vector hash each peer told us, to skip sending our vector to a peer likely in sync. */
  private readonly peerHash = new Map<string, string>();
  /** Vectors (origin -> known) peers sent us before we caught up with one of them; dropped once we have. */
  private readonly peerVectors = new Map<string, ReadonlyMap<string, number>>();
  /** Latched by caughtUp(). */
  private caught = false;
  /** Construction time: the start of caughtUp()'s grace period. */
  private readonly startedAt: number;
  /**
   * Per peer, when (replica clock, ms) we last saw its digest hash equal to ours, or when we first
   * heard its digest: the baseline of the convergence-lag estimate (`convergence`).
   */
  private readonly peerAgreedAt = new Map<string, number>();
  private leaving = false;
  /** Per peer id: the highest version of our own origin it is known to hold (from its digests and Have acks). */
  private readonly peerHas = new Map<string, number>();
  private readonly waiters = new Waiters();
  private readonly configuredSize: number;

  constructor(opts: ReplicaOptions) {
    this.cfg = opts.config;
    this.id = opts.identity;
    this.rng = opts.rng;
    this.transport = opts.transport;
    this.seeds = opts.seeds ?? [];
    this.events = opts.events ?? {};
    this.now = opts.now;
    this.startedAt = opts.now;
    this.origin = replicaIdOf(this.id.nodeId, this.id.incarnation);
    this.configuredSize = opts.configuredSize ?? 1;
    this.membership = new Membership(this.id.nodeId, opts.roster ?? null);
    this.membership.apply([this.id.nodeId, this.id.address, this.id.incarnation, 0, MemberState.Alive], this.now);
    if (opts.keyspace !== undefined) {
      this.keyspace = opts.keyspace;
      this.keyspace.setReplicaId(this.origin);
      this.keyspace.attach(this);
      // Restored state may hold increments no peer has seen: announce every key once as ours.
      for (const key of [...this.keyspace.keys()]) this.changed(key, true);
    } else {
      this.keyspace = new Keyspace(this.origin, this);
    }
    this.nextGossipAt = this.now + this.rng.next() * this.cfg.gossipIntervalMs;
    this.nextProbeAt = this.now + this.rng.next() * this.cfg.probeIntervalMs;
    this.dueAt = Infinity;
  }

  get nodeId(): string {
    return this.id.nodeId;
  }

  get incarnation(): number {
    return this.id.incarnation;
  }

  get address(): string {
    return this.id.address;
  }

  /** ChangeSink: a local change gets the next version of our origin. */
  changed(key: string, local: boolean): void {
    if (!local) return;
    const v = ++this.localVersion;
    this.versions.record(this.origin, key, v);
    this.versions.advance(this.origin, v);
    this.events.localChange?.(key);
  }

  /** The version of our own latest local change. */
  get version(): number {
    return this.localVersion;
  }

  /** When tick() next has work to do. */
  nextTickAt(): number {
    let t = Math.min(this.nextGossipAt, this.nextProbeAt, this.waiters.nextDeadline());
    for (const p of this.pending.values()) t = Math.min(t, p.sentAt + (p.indirect ? this.cfg.probeIntervalMs : this.cfg.probeTimeoutMs));
    return t;
  }

  tick(now: number): void {
    // Ticks come by the time nextTickAt() named (the node's loop runs at least every 50 ms). Far later
    // than that, this node was not running (SIGSTOP, a VM or GC pause, a blocked event loop):
    // its probes' missing acks say nothing about their targets, so they are void (in the spirit of
    // Lifeguard's local health awareness) instead of making it suspect healthy peers.
    if (now - this.dueAt > this.cfg.probeTimeoutMs + STALL_SLACK_MS) {
      if (this.pending.size > 0) this.pending.clear();
      this.stats.stalls++;
      // Suspicions that timed out while we were frozen get time for refutations to reach us first.
      this.noDeathsUntil = now + Math.max(this.cfg.probeIntervalMs, 2 * this.cfg.gossipIntervalMs);
    }
    this.now = now;
    if (now >= this.nextGossipAt) {
      this.gossipRound();
      this.nextGossipAt += this.cfg.gossipIntervalMs;
      if (this.nextGossipAt <= now) this.nextGossipAt = now + this.cfg.gossipIntervalMs;
    }
    this.checkProbes(now);
    if (now >= this.nextProbeAt) {
      this.probe();
      this.nextProbeAt += this.cfg.probeIntervalMs;
      if (this.nextProbeAt <= now) this.nextProbeAt = now + this.cfg.probeIntervalMs;
    }
    this.checkMembers(now);
    this.waiters.expire(now, this.holdersOf);
    this.dueAt = this.nextTickAt();
  }

  // ---- gossip ----------------------------------------------------------------------------------

  private gossipRound(): void {
    if (this.leaving) return;
    this.stats.rounds++;
    const targets = this.membership.randomTargets(this.rng, this.cfg.fanout);
    const hash = this.versions.hash;
    for (const m of targets) {
      const inSync = this.peerHash.get(m.id) === hash;
      this.sendDigest(m.address, !inSync, true);
    }
    if (targets.length === 0) {
      const seeds = this.seeds.filter((s) => s !== this.id.address);
      const seed = seeds[this.rng.int(seeds.length)];
      if (seed !== undefined) this.sendDigest(seed, true, true);
    }
  }

  private sendDigest(address: string, withVector: boolean, wantReply: boolean): void {
    const body: DigestBody = {
      h: this.versions.hash,
      m: this.membership.hash,
      v: withVector ? this.versions.vector() : null,
      r: wantReply,
    };
    this.send(address, { kind: MsgKind.Digest, body });
  }

  private onDigest(from: string, address: string, d: DigestBody): void {
    this.peerHash.set(from, d.h);
    // Convergence-lag baseline: agreement now, or first contact.
    if (d.h === this.versions.hash || !this.peerAgreedAt.has(from)) this.peerAgreedAt.set(from, this.now);
    if (!this.caught && d.v !== null) this.peerVectors.set(from, new Map(d.v.map((e) => [e[0], e[1]] as const)));
    const membersDiffer = d.m !== this.membership.hash;
    let iLack: boolean;
    let delta: DeltaBody | null = null;
    if (d.v !== null) {
      const peer = new Map<string, number>();
      iLack = false;
      for (const [o, known, cursor] of d.v) {
        peer.set(o, Math.max(known, cursor ?? 0));
        if (known > this.versions.known(o)) iLack = true;
        if (o === this.origin) this.notePeerHas(from, known);
      }
      delta = this.buildDelta(peer);
    } else {
      iLack = d.h !== this.versions.hash;
      // Equal vector hashes: the peer holds exactly what we hold, our own writes included.
      if (!iLack) this.notePeerHas(from, this.localVersion);
    }
    if (membersDiffer) {
      if (delta === null) delta = { o: [], k: [], m: null, more: false };
      delta.m = this.membership.records();
    }
    if (delta !== null && (delta.o.length > 0 || delta.m !== null)) this.send(address, { kind: MsgKind.Delta, body: delta });
    if (d.r && (iLack || membersDiffer)) {
      // With their vector in hand we already sent what they lack; otherwise ask for a full exchange.
      this.sendDigest(address, true, d.v === null);
    }
  }

  /**
   * What a peer lacks, given where its transfer of each origin resumes: key states of every origin's
   * entries above that, oldest first, cut at the size limit. `only` restricts it to one origin.
   */
  buildDelta(peer: ReadonlyMap<string, number>, only?: string): DeltaBody {
    const budget = this.cfg.maxMessageBytes - DELTA_SLACK - (this.membership.size * 48);
    const keyIndex = new Map<string, number>();
    const k: DeltaBody['k'] = [];
    const o: DeltaBody['o'] = [];
    let size = 32;
    let more = false;
    for (const [origin, { known }] of this.versions.entries()) {
      if (only !== undefined && origin !== only) continue;
      const from = peer.get(origin) ?? 0;
      if (known <= from) continue;
      const entries: number[] = [];
      let to = known;
      this.versions.scan(origin, from, (key, version) => {
        if (version > known) return false;
        let ki = keyIndex.get(key);
        if (ki === undefined) {
          const enc = this.keyspace.encodeKey(key);
          if (enc === undefined) return true;
          const cost = key.length + enc.bytes.length + 16;
          if (size + cost > budget && k.length > 0) {
            more = true;
            return false;
          }
          size += cost;
          ki = k.length;
          keyIndex.set(key, ki);
          k.push([key, enc.tag, enc.bytes]);
        }
        size += 8;
        entries.push(ki, version);
        return true;
      });
      if (more) {
        // Cut inside this origin: carry only up to the last entry that made it in, marked incomplete.
        const last = entries.length > 0 ? (entries[entries.length - 1] as number) : from;
        to = last;
      }
      if (to > from) o.push([origin, from, to, entries, more ? 0 : 1]);
      if (more) break;
    }
    if (more) this.stats.chunked++;
    return { o, k, m: null, more };
  }

  private onDelta(from: string, address: string, senderOrigin: string, d: DeltaBody, decoded: readonly DecodedState[]): void {
    if (d.m !== null) this.applyMembers(d.m);
    if (d.k.length === 0 && d.o.length === 0) return;
    for (const { key, type, crdt } of decoded) {
      const r = this.keyspace.mergeDecoded(key, type, crdt);
      if (r) this.events.remoteChange?.(key);
    }
    let senderHas = -1;
    for (const [origin, fromV, to, entries, complete] of d.o) {
      if (origin === this.origin) continue; // our own entries: we have them
      for (let i = 0; i < entries.length; i += 2) {
        const item = d.k[entries[i] as number];
        if (item !== undefined) this.versions.record(origin, item[0], entries[i + 1] as number);
      }
      // No gap: the range starts at or below where our transfer of this origin stands.
      if (fromV <= this.versions.resumeAt(origin)) {
        if (complete === 1) this.versions.advance(origin, to);
        else this.versions.advanceCursor(origin, to);
      }
      if (origin === senderOrigin) senderHas = this.versions.known(origin);
    }
    // Tell the sender what we now hold of its own writes, so WAIT and majority writes learn at once.
    if (senderHas > 0) this.send(address, { kind: MsgKind.Have, body: { v: [[senderOrigin, senderHas]] } });
    if (d.more) this.sendDigest(address, true, false); // pull the next chunk now
    // The delta may have brought us to exactly the state the sender last reported.
    if (this.peerHash.get(from) === this.versions.hash) this.peerAgreedAt.set(from, this.now);
  }

  // ---- membership and failure detection --------------------------------------------------------

  private applyMembers(records: readonly MemberRecord[]): void {
    for (const r of records) {
      if (r[0] === this.id.nodeId) {
        this.refute(r);
        continue;
      }
      const prev = this.membership.get(r[0])?.state;
      const m = this.membership.apply(r, this.now);
      // A new accuser of a suspect changes its record (and timeout) but not its state.
      if (m !== undefined && m.state !== prev) {
        if (m.state === MemberState.Suspect) this.armSuspicion(m);
        this.events.memberChanged?.(m, prev);
      }
    }
  }

  /** Someone says something about us: if it is suspicion or death at our incarnation, outbid it. */
  private refute(r: MemberRecord): void {
    if (r[2] !== this.id.incarnation || this.leaving) return;
    if (r[4] !== MemberState.Alive && r[3] >= this.selfSeq) {
      this.selfSeq = r[3] + 1;
      this.membership.setState(this.id.nodeId, MemberState.Alive, this.now, this.selfSeq);
    }
  }

  private armSuspicion(m: Member): void {
    const n = Math.max(1, this.membership.size);
    const min = this.cfg.suspicionMult * Math.max(1, Math.log10(n)) * this.cfg.probeIntervalMs;
    m.suspectDeadline = this.now + min * this.cfg.suspicionMaxTimeoutMult;
  }

  /**
   * Lifeguard: each independent confirmation (an accuser past the first; a relay is not one) shrinks
   * the timeout from max toward min, on a log scale, reaching min at `indirectChecks` confirmations.
   */
  suspicionTimeout(m: Member): number {
    const n = Math.max(1, this.membership.size);
    const min = this.cfg.suspicionMult * Math.max(1, Math.log10(n)) * this.cfg.probeIntervalMs;
    const max = min * this.cfg.suspicionMaxTimeoutMult;
    const k = Math.max(1, this.cfg.indirectChecks);
    const c = Math.min(Math.max(0, (m.accusers?.length ?? 1) - 1), k);
    return Math.max(min, max - ((max - min) * Math.log(c + 1)) / Math.log(k + 1));
  }

  private probe(): void {
    if (this.leaving) return;
    const [target] = this.membership.randomTargets(this.rng, 1);
    if (target === undefined) return;
    const seq = ++this.probeSeq;
    this.pending.set(seq, { target: target.id, address: target.address, sentAt: this.now, indirect: false });
    this.send(target.address, { kind: MsgKind.Ping, body: { s: seq } });
  }

  private checkProbes(now: number): void {
    for (const [seq, p] of this.pending) {
      if (!p.indirect && now >= p.sentAt + this.cfg.probeTimeoutMs) {
        p.indirect = true;
        for (const m of this.membership.randomTargets(this.rng, this.cfg.indirectChecks, p.target))
          this.send(m.address, { kind: MsgKind.PingReq, body: { s: seq, t: p.target, a: p.address } });
      }
      if (now >= p.sentAt + this.cfg.probeIntervalMs) {
        this.pending.delete(seq);
        const m = this.membership.get(p.target);
        // Already suspect (heard from others): our failed probe is an independent confirmation.
        if (m !== undefined && m.state === MemberState.Suspect) this.membership.accuse(m.id);
        if (m !== undefined && m.state === MemberState.Alive) {
          const s = this.membership.setState(m.id, MemberState.Suspect, now);
          if (s !== undefined) {
            this.armSuspicion(s);
            this.events.memberChanged?.(s, MemberState.Alive);
          }
        }
      }
    }
    for (const [seq, r] of this.relayed) if (now > r[2]) this.relayed.delete(seq);
  }

  private checkMembers(now: number): void {
    const forget: string[] = [];
    for (const m of this.membership.ownMembers()) {
      if (m.id === this.id.nodeId) continue;
      if (m.state === MemberState.Suspect && m.suspectDeadline !== undefined) {
        if (now >= m.since + this.suspicionTimeout(m) && now >= this.noDeathsUntil) {
          const d = this.membership.setState(m.id, MemberState.Dead, now);
          if (d !== undefined) this.events.memberChanged?.(d, MemberState.Suspect);
        }
      } else if ((m.state === MemberState.Dead || m.state === MemberState.Left) && now - m.since >= this.cfg.deadForgetMs) {
        forget.push(m.id);
      }
    }
    for (const id of forget) this.membership.forget(id, now);
    if (forget.length > 0) this.membership.expireTombstones(now, this.cfg.tombstoneMs);
  }

  /** Graceful leave: mark ourselves left and tell `fanout` peers now; stop gossiping and probing. */
  leave(): void {
    if (this.leaving) return;
    this.selfSeq++;
    this.membership.setState(this.id.nodeId, MemberState.Left, this.now, this.selfSeq);
    const records = this.membership.records();
    for (const m of this.membership.randomTargets(this.rng, Math.max(this.cfg.fanout, 3)))
      this.send(m.address, { kind: MsgKind.Delta, body: { o: [], k: [], m: records, more: false } });
    this.leaving = true;
  }

  // ---- frames ----------------------------------------------------------------------------------

  private send(address: string, msg: Message): void {
    const frame = encodeEnvelope({
      cluster: this.cfg.clusterName,
      from: this.id.nodeId,
      incarnation: this.id.incarnation,
      address: this.id.address,
      msg,
    });
    const s = (this.stats.sent[KIND_NAMES[msg.kind]] ??= { frames: 0, bytes: 0 });
    s.frames++;
    s.bytes += frame.length;
    this.transport.send(address, frame);
  }

  /**
   * Decodes every key state a frame carries, before the frame has any effect: a frame with one bad
   * state is rejected whole and changes nothing (not even membership or the sender's record).
   */
  private decodeStates(peer: string, states: readonly (readonly [string, number, Uint8Array])[], what: string): DecodedState[] | undefined {
    const out: DecodedState[] = [];
    for (const [key, tag, bytes] of states) {
      const type = TYPE_BY_TAG[tag];
      if (type === undefined) {
        this.reject(peer, 'state', `unknown type tag ${tag} in ${what}`);
        return undefined;
      }
      const r = decodeCrdt(type, bytes);
      if (!r.ok) {
        this.reject(peer, 'state', `${what} state: ${r.error.message}`);
        return undefined;
      }
      out.push({ key, type, crdt: r.value });
    }
    return out;
  }

  private reject(peer: string, reason: RejectReason | 'state', detail: string): void {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1;
    this.events.rejected?.(peer, reason, detail);
  }

  /** Handles one frame from `peer` (a transport-level name used only for logs). Never throws. */
  receive(peer: string, frame: Uint8Array, now: number = this.now): void {
    this.now = Math.max(this.now, now);
    const r = decodeEnvelope(frame, this.cfg.clusterName, this.cfg.maxMessageBytes + 4096);
    if (!r.ok) return this.reject(peer, r.error.reason, r.error.detail);
    const env = r.value;
    if (env.from === this.id.nodeId) return this.reject(peer, 'self', `frame claims our own id '${env.from}'`);
    const msg = env.msg;
    let decoded: DecodedState[] | undefined;
    if (msg.kind === MsgKind.Delta) decoded = this.decodeStates(peer, msg.body.k, 'a delta');
    else if (msg.kind === MsgKind.ReadResp) decoded = this.decodeStates(peer, msg.body.k, 'a read response');
    if (decoded === undefined && (msg.kind === MsgKind.Delta || msg.kind === MsgKind.ReadResp)) return;
    const kind = KIND_NAMES[msg.kind];
    const s = (this.stats.received[kind] ??= { frames: 0, bytes: 0 });
    s.frames++;
    s.bytes += frame.length;
    this.noteSender(env.from, env.incarnation, env.address);
    if (this.leaving && msg.kind !== MsgKind.Ping) return;
    switch (msg.kind) {
      case MsgKind.Digest:
        return this.onDigest(env.from, env.address, msg.body);
      case MsgKind.Delta:
        return this.onDelta(env.from, env.address, replicaIdOf(env.from, env.incarnation), msg.body, decoded ?? []);
      case MsgKind.Have:
        for (const [o, known] of msg.body.v) if (o === this.origin) this.notePeerHas(env.from, known);
        return;
      case MsgKind.ReadReq:
        return this.onReadReq(env.address, msg.body.q, msg.body.k);
      case MsgKind.ReadResp:
        return this.onReadResp(env.from, msg.body.q, decoded ?? []);
      case MsgKind.Ping:
        return this.send(env.address, { kind: MsgKind.Ack, body: { s: msg.body.s } });
      case MsgKind.PingReq: {
        const seq = ++this.probeSeq;
        this.relayed.set(seq, [env.address, msg.body.s, this.now + this.cfg.probeIntervalMs]);
        return this.send(msg.body.a, { kind: MsgKind.Ping, body: { s: seq } });
      }
      case MsgKind.Ack: {
        const relay = this.relayed.get(msg.body.s);
        if (relay !== undefined) {
          this.relayed.delete(msg.body.s);
          return this.send(relay[0], { kind: MsgKind.Ack, body: { s: relay[1] } });
        }
        this.pending.delete(msg.body.s);
        return;
      }
    }
  }

  /** A frame is direct evidence that its sender is alive at its incarnation. */
  private noteSender(id: string, incarnation: number, address: string): void {
    const m = this.membership.get(id);
    if (m === undefined || m.incarnation < incarnation) {
      if (m !== undefined) this.peerHas.delete(id); // a restarted peer may have lost what it held
      const prev = m?.state;
      const added = this.membership.apply([id, address, incarnation, 0, MemberState.Alive], this.now);
      if (added !== undefined) this.events.memberChanged?.(added, prev);
    }
    this.membership.heard(id, this.now);
  }

  // ---- consistency: WAIT, majority writes, majority reads ----------------------------------------

  private notePeerHas(peer: string, version: number): void {
    if (version <= (this.peerHas.get(peer) ?? 0)) return;
    this.peerHas.set(peer, version);
    this.waiters.recheckWrites(this.holdersOf);
  }

  /** How many peers (members other than us, in any state but left) hold our origin up to `version`. */
  readonly holdersOf = (version: number): number => {
    let n = 0;
    for (const [peer, v] of this.peerHas) {
      if (v < version) continue;
      const m = this.membership.get(peer);
      if (m !== undefined && m.state !== MemberState.Left) n++;
    }
    return n;
  };

  /**
   * Members that count toward a majority: everyone not departed, ourselves included, and never
   * fewer than the configured cluster size.
   */
  clusterSize(): number {
    const [alive, suspect, dead] = this.membership.countByState();
    return Math.max(this.configuredSize, alive + suspect + dead);
  }

  /** Peers (besides us) that make a majority with us. */
  majorityPeers(): number {
    return Math.floor(this.clusterSize() / 2);
  }

  /**
   * Waits until `needed` peers hold every local write up to `version` (WAIT, majority writes), or
   * until `deadline`. Pushes our newest writes to every live peer at once rather than waiting for
   * the next gossip round.
   */
  awaitHolders(version: number, needed: number, deadline: number, done: (o: WaitOutcome) => void): void {
    if (needed > 0 && this.holdersOf(version) < needed) this.pushOwnWrites();
    this.waiters.waitWrite(version, needed, deadline, this.holdersOf, done);
  }

  /** Sends each live peer our own origin's entries above what it is known to hold. */
  pushOwnWrites(): void {
    for (const m of this.membership.randomTargets(this.rng, this.membership.size)) {
      const has = this.peerHas.get(m.id) ?? 0;
      if (has >= this.localVersion) continue;
      const delta = this.buildDelta(new Map([[this.origin, has]]), this.origin);
      if (delta.o.length > 0) this.send(m.address, { kind: MsgKind.Delta, body: delta });
    }
  }

  /**
   * A majority read: asks every live peer for its state of `keys`, merges what comes back, and calls
   * `done` once a majority of the cluster (us included) has contributed, or at `deadline`.
   */
  majorityRead(keys: readonly string[], deadline: number, done: (o: WaitOutcome) => void): void {
    const needed = this.majorityPeers();
    const id = this.waiters.waitRead(needed, deadline, done);
    if (needed === 0) return;
    for (const m of this.membership.randomTargets(this.rng, this.membership.size))
      this.send(m.address, { kind: MsgKind.ReadReq, body: { q: id, k: [...keys] } });
  }

  private onReadReq(address: string, q: number, keys: readonly string[]): void {
    const k: [string, number, Uint8Array][] = [];
    for (const key of keys) {
      const e = this.keyspace.encodeKey(key);
      if (e !== undefined) k.push([key, e.tag, e.bytes]);
    }
    this.send(address, { kind: MsgKind.ReadResp, body: { q, k } });
  }

  private onReadResp(from: string, q: number, decoded: readonly DecodedState[]): void {
    for (const { key, type, crdt } of decoded) if (this.keyspace.mergeDecoded(key, type, crdt)) this.events.remoteChange?.(key);
    this.waiters.readAnswered(q, from);
  }

  // ---- views -----------------------------------------------------------------------------------

  /**
   * Whether this node has caught up since it started (readiness): true once it holds everything
   * some peer held when that peer last sent us its vector, or has the same vector hash as a peer;
   * or, when no peer has been heard from at all, once `graceMs` have passed since the start (a lone
   * node, or the first of a cluster to come back). Latches: once true it stays true, so a busy
   * cluster whose vectors always differ by in-flight writes never flaps.
   */
  caughtUp(now: number, graceMs: number): boolean {
    if (this.caught) return true;
    const hash = this.versions.hash;
    let done = false;
    for (const h of this.peerHash.values()) if (h === hash) done = true;
    for (const vec of this.peerVectors.values()) {
      if (done) break;
      done = true;
      for (const [origin, v] of vec) {
        if (origin !== this.origin && this.versions.known(origin) < v) {
          done = false;
          break;
        }
      }
    }
    if (!done && this.peerHash.size === 0 && now - this.startedAt >= graceMs) {
      done = true;
      for (const m of this.membership.all()) if (m.id !== this.id.nodeId && m.state === MemberState.Alive && m.lastHeard > 0) done = false;
    }
    if (done) {
      this.caught = true;
      this.peerVectors.clear();
    }
    return done;
  }

  /**
   * A cheap estimate of how far this node is from its live peers: for each alive peer that has sent
   * us a digest, 0 if its last digest hash equals our current hash, otherwise the time since we last
   * knew the two to agree (or since its first digest). `maxLagMs` is the largest of these. It is an
   * upper bound at gossip-interval resolution; under continuous writes on several nodes hashes rarely
   * match, so it then reads as "time since last seen in agreement" (docs/operations.md).
   */
  convergence(now: number): { maxLagMs: number; outOfSync: number; peers: number } {
    const hash = this.versions.hash;
    let maxLagMs = 0;
    let outOfSync = 0;
    let peers = 0;
    for (const m of this.membership.all()) {
      if (m.id === this.id.nodeId || m.state !== MemberState.Alive) continue;
      const agreedAt = this.peerAgreedAt.get(m.id);
      if (agreedAt === undefined) continue;
      peers++;
      if (this.peerHash.get(m.id) === hash) continue;
      outOfSync++;
      maxLagMs = Math.max(maxLagMs, now - agreedAt);
    }
    return { maxLagMs, outOfSync, peers };
  }

  /** A full-state transfer of every key, for the differential test and for tooling. */
  exportState(): Map<string, { tag: number; bytes: Uint8Array }> {
    const out = new Map<string, { tag: number; bytes: Uint8Array }>();
    for (const key of this.keyspace.keys()) {
      const e = this.keyspace.encodeKey(key);
      if (e !== undefined) out.set(key, e);
    }
    return out;
  }

  vector(): VectorEntry[] {
    return this.versions.vector();
  }

  tagOf(type: KeyType): number {
    return TAG_BY_TYPE[type];
  }
}
