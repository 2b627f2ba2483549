// The sans-IO replica: a keyspace of CRDTs replicated by gossip. Driven by tick(now) and
// receive(from, bytes); it sends through a Transport and reads time and randomness only from what it
// is given, so the real node and the simulator run this same code. This file decodes and dispatches
// frames and owns sending and statistics; the work is done by its parts: the failure detector
// (failure-detector.ts), anti-entropy (anti-entropy.ts) and quorum waits (quorum.ts).
// docs/gossip.md describes the protocol.

import { Keyspace } from '../keyspace/keyspace.js';
import { foldCounterSlots } from '../keyspace/key-table.js';
import { parseReplicaId, replicaIdOf } from '../crdt/replica-id.js';
import { CrdtError } from '../crdt/errors.js';
import { MULTI_TAG, typeOfTag } from '../crdt/registry.js';
import { decodedStates, decodeKey, type DecodedKey } from '../keyspace/entries.js';
import { LIFE_TAG } from '../keyspace/life.js';
import type { Rng } from '../util/rng.js';
import { AntiEntropy } from './anti-entropy.js';
import type { ReplicaConfig } from './config.js';
import { KIND_NAMES, type ReplicaContext, type ReplicaEvents, type ReplicaIdentity, type ReplicaStats } from './context.js';
import { FailureDetector } from './failure-detector.js';
import { Membership, type Member, type SharedRoster } from './membership.js';
import { decodeEnvelope, encodeEnvelope, maxFrameBytes, MemberState, MsgKind, type DeltaBody, type KeyState, type Message, type RejectReason, type VectorEntry } from './messages.js';
import { Quorum } from './quorum.js';
import { MembershipChange, membersFrame, type LeaveOutcome, type RemoveRefusal } from './membership-change.js';
import { ClockSkew, type ClockStatus } from './clock-skew.js';
import type { Transport } from './transport.js';
import { NO_STAMP, VersionLog, type LocalStamp } from './version-log.js';
import { VersionColumn } from './version-column.js';
import { TombstoneGc } from './tombstone-gc.js';
import { boundsFrom, SlotFolds, type FoldBounds } from './slot-folds.js';
import type { WaitOutcome } from './waiters.js';

export type { ReplicaEvents, ReplicaIdentity, ReplicaStats } from './context.js';

export interface ReplicaOptions {
  config: ReplicaConfig;
  identity: ReplicaIdentity;
  rng: Rng;
  transport: Transport;
  /** Addresses of seed nodes to join through. */
  seeds?: readonly string[];
  /** Addresses of the configured cluster members, retried while unreachable (anti-entropy.ts). */
  peers?: readonly string[];
  /** A shared starting roster (simulator), so every member is known from the start. */
  roster?: SharedRoster;
  /**
   * Ids of the nodes the config lists (the roster form): each counts toward the cluster size until
   * a record of it says otherwise (joining, removed), so a node that has just started and knows only
   * itself never mistakes itself for a majority. Default: none (a node joining through seeds).
   */
  configured?: readonly string[];
  /**
   * Start as a joining member: count toward no majority until caught up from a majority of the
   * voters (membership-change.ts). A node that joins a running cluster through seeds; default false.
   */
  joining?: boolean;
  /**
   * The keyspace to replicate, e.g. restored from disk. Default: a new empty one. Restored state may
   * hold increments no peer has seen: a key with a stamp in `restoredStamps` is put back in its
   * incarnation's log (peers that lack it get it from there, peers that hold it are sent nothing);
   * a key without one is announced once under this incarnation.
   */
  keyspace?: Keyspace;
  /** This node's last local change of each restored key, as persisted (version-log.ts, `LocalStamp`). */
  restoredStamps?: ReadonlyMap<string, LocalStamp>;
  events?: ReplicaEvents;
  /** Time of construction, for the random gossip phase. */
  now: number;
  /**
   * Persistence `always`: the store's commit barrier. The node then advertises (digests, Have) only
   * what is on disk, so a peer that crashes right after acknowledging a write still holds it.
   */
  durability?: Durability;
  /**
   * The store, under any persistence mode: tombstone collection counts a state as this node's only
   * once it is on disk. Without one the node keeps nothing across a restart, and what it holds in
   * memory is what it reports.
   */
  disk?: DiskState;
  /** Slot-fold bounds as persisted (slot-folds.ts): restored state may still hold slots they fold, which are folded at once. */
  foldBounds?: FoldBounds;
  /**
   * Persists raised slot-fold bounds, synchronously and before any state folded by them can be
   * written; returns false if it could not (nothing is folded then). Without it (no store) the
   * bounds live in memory, as the state does.
   */
  saveFolds?: (bounds: FoldBounds) => boolean;
  /** Keys folded per tick while a fold pass runs (default FOLD_SLICE; the simulator's explorer makes it small). */
  foldSlice?: number;
}

/** Any store (`everysec` or `always`): when what is held now is on disk, without hastening a commit. */
export interface DiskState {
  /** Calls `done(true)` once every change made so far is durable, or `done(false)` if that commit failed. */
  whenDurable(done: (ok: boolean) => void): void;
}

/** Where a node learns that what it holds now is on disk. */
export interface Durability {
  /** Calls `done` once every change made so far is durable (at once if it already is). */
  afterDurable(done: () => void): void;
}

/** Keys folded per tick while a fold pass runs (about 30 ms at 1.4 µs a key on the test machine). */
const FOLD_SLICE = 20_000;

export class Replica {
  readonly keyspace: Keyspace;
  readonly versions: VersionLog;
  readonly membership: Membership;
  /** This incarnation's origin id: the slot its increments go to and the origin of its versions. */
  readonly origin: string;
  /** Estimates of peers' clocks against ours, and the verdict on our own (clock-skew.ts). */
  readonly clockSkew: ClockSkew;
  readonly stats: ReplicaStats = { rounds: 0, sent: {}, received: {}, rejected: {}, chunked: 0, stalls: 0, repairs: 0, partedKeys: 0, unsplittable: 0 };

  private readonly cfg: ReplicaConfig;
  private readonly id: ReplicaIdentity;
  private readonly transport: Transport;
  private readonly rng: Rng;
  private readonly events: ReplicaEvents;
  private readonly detector: FailureDetector;
  private readonly antiEntropy: AntiEntropy;
  private readonly quorum: Quorum;
  private readonly change: MembershipChange;
  private now: number;
  private leaving = false;
  /** Set when an operator removed this node (TALLY.REMOVE elsewhere): it stopped gossiping for good. */
  private removedByOperator = false;
  private readonly durability: Durability | undefined;
  private readonly disk: DiskState | undefined;
  /** Tombstone collection's evidence and decision (tombstone-gc.ts). */
  private readonly gc = new TombstoneGc();
  /** The state digest of what this node holds durably (tombstone-gc.ts), once known. */
  private durableState: string | undefined;
  /** A `disk.whenDurable` is outstanding. */
  private durableWaiting = false;
  /** Pruning of retired slots: the bounds this node folds by (slot-folds.ts). */
  private readonly folds = new SlotFolds();
  private readonly saveFolds: ((bounds: FoldBounds) => boolean) | undefined;
  private readonly foldSlice: number;
  /** Key folds made (a key counts once per bound that changed it). */
  foldedKeys = 0;

  constructor(opts: ReplicaOptions) {
    this.cfg = opts.config;
    this.id = opts.identity;
    this.transport = opts.transport;
    this.rng = opts.rng;
    this.events = opts.events ?? {};
    this.now = opts.now;
    this.origin = replicaIdOf(this.id.nodeId, this.id.incarnation);
    this.durability = opts.durability;
    this.disk = opts.disk;
    this.keyspace = opts.keyspace ?? new Keyspace(this.origin, { maxMessageBytes: this.cfg.maxMessageBytes });
    // The logs index keys by the key table's ids, and forget a key's id when the table drops it.
    this.versions = new VersionLog(opts.durability !== undefined, this.origin, this.keyspace);
    this.keyspace.onIdRetired((id) => {
      this.versions.forgetId(id);
      this.restoredIncarnation.delete(id);
      this.restoredVersion.delete(id);
    });
    this.clockSkew = new ClockSkew(this.cfg.maxClockSkewMs);
    this.membership = new Membership(this.id.nodeId, opts.roster ?? null, opts.configured ?? []);
    const joining = opts.joining === true ? { joining: true as const } : {};
    this.membership.apply({ id: this.id.nodeId, address: this.id.address, incarnation: this.id.incarnation, seq: 0, state: MemberState.Alive, ...joining }, this.now);
    this.keyspace.setReplicaId(this.origin);
    // Keys expire by the replica's clock unless the keyspace was given one (the node gives its own).
    if (!this.keyspace.hasClock) this.keyspace.setClock({ now: () => this.now });

    const replica = this;
    const ctx: ReplicaContext = {
      cfg: this.cfg,
      self: this.id,
      origin: this.origin,
      rng: opts.rng,
      membership: this.membership,
      versions: this.versions,
      keyspace: this.keyspace,
      events: this.events,
      stats: this.stats,
      clockSkew: this.clockSkew,
      get now() {
        return replica.now;
      },
      get leaving() {
        return replica.leaving;
      },
      send: (address, msg) => this.send(address, msg),
    };
    // Constructed in this order: each draws its random phase from the rng.
    this.antiEntropy = new AntiEntropy(
      ctx,
      {
        applyMembers: (records) => this.detector.applyMembers(records),
        notePeerHas: (peer, v) => this.quorum.notePeerHas(peer, v),
        stateReport: () => ({ durable: this.durableState, collected: this.gc.collectedAt }),
        noteStateReport: (from, r) => {
          this.gc.note(from, r);
          this.gcPending = true;
        },
      },
      opts.seeds ?? [],
      opts.peers ?? [],
    );
    this.detector = new FailureDetector(ctx, () => this.onRemoved());
    this.change = new MembershipChange(ctx, {
      promote: () => this.detector.promote(),
      markRemoved: () => this.detector.markRemoved(),
      askVector: (address) => this.askVector(address),
    });
    this.quorum = new Quorum(ctx, () => this.antiEntropy.version, {
      ownDelta: (has) => this.antiEntropy.buildDelta(new Map([[this.origin, has]]), this.origin),
      sendDelta: (address, frames) => this.antiEntropy.sendDelta(address, frames),
      partsArrived: (from, needs) => this.antiEntropy.partsArrived(from, needs),
      readFrames: (states, budget) => this.antiEntropy.readFrames(states, budget),
    }, () => this.change.votersKnown);

    this.saveFolds = opts.saveFolds;
    this.foldSlice = opts.foldSlice ?? FOLD_SLICE;
    if (opts.foldBounds !== undefined && this.folds.adopt(opts.foldBounds)) this.foldOwn();
    this.restore(opts.restoredStamps);
    this.keyspace.onChange((key, origin, id) => {
      if (origin === 'local') this.antiEntropy.localChange(key, id);
    });
  }

  /**
   * Restored state may hold increments no peer has seen. A stamped key goes back into the log of the
   * incarnation that last changed it, so digests resume that origin where the disk left it: a peer
   * that holds it is sent nothing, one that lacks some of it is sent those keys. A key without a
   * stamp (a format 1 store) is announced once as ours, as every key was before stamps.
   */
  private restore(stamps: ReadonlyMap<string, LocalStamp> | undefined): void {
    const byOrigin = new Map<number, [string, number][]>();
    for (const key of [...this.keyspace.keys()]) {
      const s = stamps?.get(key);
      if (s === undefined || s.incarnation >= this.id.incarnation) this.antiEntropy.localChange(key);
      else if (s.incarnation > 0) {
        let list = byOrigin.get(s.incarnation);
        if (list === undefined) byOrigin.set(s.incarnation, (list = []));
        list.push([key, s.version]);
        const id = this.keyspace.idOf(key); // held: the walk is over the table's keys
        this.restoredIncarnation.set(id, s.incarnation);
        if (s.version > 0) this.restoredVersion.set(id, s.version);
      }
    }
    for (const [incarnation, list] of byOrigin) this.versions.restore(replicaIdOf(this.id.nodeId, incarnation), list);
  }

  /**
   * Stamps of keys last changed locally by an earlier incarnation (restored; `stampOf`), by key id:
   * the incarnation, and its version of the key. Two columns of 8 bytes per id where a Map from the
   * key to a stamp object took 61 heap bytes per key (a million keys): every key a node wrote
   * before it restarted has one until it changes again. A key's stamp goes with its id when the
   * table drops the key (a key made again later under that name is not the earlier one's change).
   */
  private readonly restoredIncarnation = new VersionColumn();
  private readonly restoredVersion = new VersionColumn();

  /** This node's last local change of `key`, for the store to persist beside its state. `id`: the key's id, if the caller has it. */
  stampOf(key: string, id = this.keyspace.idOf(key)): LocalStamp {
    const v = this.versions.versionOfId(this.origin, id);
    if (v > 0) return { incarnation: this.id.incarnation, version: v };
    const incarnation = id < 0 ? 0 : this.restoredIncarnation.get(id);
    return incarnation === 0 ? NO_STAMP : { incarnation, version: this.restoredVersion.get(id) };
  }

  /** `stampOf` every key held: what a restart with this state restores (the simulator's disk). */
  localStamps(): Map<string, LocalStamp> {
    const out = new Map<string, LocalStamp>();
    for (const key of this.keyspace.keys()) out.set(key, this.stampOf(key));
    return out;
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

  /** The version of our own latest local change. */
  get version(): number {
    return this.antiEntropy.version;
  }

  /** When tick() next has work to do. */
  nextTickAt(): number {
    // A fold pass under way takes a slice every 10 ms.
    const fold = this.keyspace.folding ? this.now + 10 : Infinity;
    return Math.min(this.antiEntropy.nextTickAt(), this.detector.nextTickAt(), this.quorum.nextDeadline(), this.change.nextTickAt(), fold);
  }

  tick(now: number): void {
    this.detector.checkStall(now);
    // A clock that stepped back is as unverified as one that jumped forward (checkStall's case).
    if (now < this.now - this.cfg.probeTimeoutMs) this.clockSkew.jumped(now);
    if (this.membership.size > 1) this.hadPeers = true;
    this.now = now;
    this.antiEntropy.tick(now);
    this.detector.tick(now);
    this.quorum.expire(now);
    if (!this.leaving) this.change.tick(now);
    // Expired keys free their memory even if nobody reads them (Redis's active expire cycle).
    this.keyspace.sweepExpired(256);
    if (this.keyspace.folding) this.foldedKeys += this.keyspace.foldStep(this.foldSlice);
    this.collectTombstones();
    this.detector.tickDone(this.nextTickAt());
  }

  /** Graceful leave: mark ourselves left and tell `fanout` peers now; stop gossiping and probing. */
  leave(): void {
    if (this.leaving) return;
    this.detector.markLeft();
    const members = this.membership.records();
    for (const m of this.membership.randomTargets(this.rng, Math.max(this.cfg.fanout, 3)))
      this.send(m.address, { kind: MsgKind.Delta, body: { ranges: [], states: [], members, more: false } });
    this.leaving = true;
  }

  // ---- membership changes (membership-change.ts) -----------------------------------------------

  /** Whether this node is still joining: it counts toward no majority until it has caught up. */
  get joining(): boolean {
    return this.change.joining;
  }

  /** Whether this node left the cluster (graceful leave done) or was removed from it by an operator. */
  get departed(): boolean {
    return this.membership.get(this.id.nodeId)?.state === MemberState.Removed;
  }

  /** Whether an operator removed this node (it learned so from a peer). */
  get removed(): boolean {
    return this.removedByOperator;
  }

  /**
   * Graceful leave for good (`tally leave`): hands off until a majority of the other voters hold
   * everything this node holds, then marks itself Removed, tells every live member and stops
   * gossiping. On failure (by `deadline`) it stays a member. `done` is called once.
   */
  leaveCluster(deadline: number, done: (o: LeaveOutcome) => void): void {
    if (this.leaving) return done({ ok: false, holders: 0, needed: 0, failure: 'busy' });
    this.change.beginLeave(deadline, (o) => {
      if (o.ok) {
        this.pushMembers();
        this.leaving = true;
      }
      done(o);
    });
  }

  /**
   * An operator removes the dead or stopped member `id` for good (TALLY.REMOVE): the cluster size
   * drops by one at once, and the record spreads by gossip; no later record of the id undoes it.
   */
  removeMember(id: string): { ok: true } | { ok: false; error: RemoveRefusal } {
    const r = this.change.removeRecord(id);
    if (!r.ok) return { ok: false, error: r.error };
    this.detector.applyMembers([r.value]);
    this.pushMembers();
    return { ok: true };
  }

  /** Sends our membership table to every live member now, instead of waiting for gossip. */
  private pushMembers(): void {
    const members = this.membership.records();
    for (const m of this.membership.randomTargets(this.rng, this.membership.size)) this.send(m.address, membersFrame(members));
  }

  /** A Digest that asks the peer for its full vector (a joining node's catch-up, a leaving one's hand-off). */
  private askVector(address: string): void {
    const { versions, membership, keyspace } = this;
    this.send(address, { kind: MsgKind.Digest, body: { hash: versions.advertisedHash, membersHash: membership.hash, vector: versions.vector(address), wantReply: true, stateHash: keyspace.stateDigest(), askVector: true } });
  }

  private onRemoved(): void {
    if (this.removedByOperator) return;
    this.removedByOperator = true;
    this.leaving = true;
    this.events.removed?.();
  }

  // ---- frames ----------------------------------------------------------------------------------

  private send(address: string, msg: Message): void {
    msg = this.withFolds(msg);
    const frame = encodeEnvelope({ cluster: this.cfg.clusterName, from: this.id.nodeId, incarnation: this.id.incarnation, address: this.id.address, msg });
    const s = (this.stats.sent[KIND_NAMES[msg.kind]] ??= { frames: 0, bytes: 0 });
    s.frames++;
    s.bytes += frame.length;
    this.transport.send(address, frame);
  }

  /**
   * A digest carries our fold bounds always (even none: it says we fold), a frame of key states
   * whenever we have any: its states are folded by them, and the receiver must fold by them too
   * before it merges them (slot-folds.ts).
   */
  private withFolds(msg: Message): Message {
    const carries = msg.kind === MsgKind.Digest || (this.folds.size > 0 && (msg.kind === MsgKind.Delta || msg.kind === MsgKind.ReadResp));
    return carries ? ({ kind: msg.kind, body: { ...msg.body, folds: this.folds.bounds() } } as Message) : msg;
  }

  /**
   * Decodes every key state a frame carries, before the frame has any effect: a frame with one bad
   * state is rejected whole and changes nothing (not even membership or the sender's record).
   */
  private decodeStates(peer: string, states: readonly KeyState[], what: string): DecodedKey[] | undefined {
    // Sized at once: grown state by state, the list's copies were 60 bytes per key received.
    // Stryker disable next-line ArrayDeclaration: equivalent but for memory, an unsized array grows to the same list
    const out = new Array<DecodedKey>(states.length);
    for (let i = 0; i < states.length; i++) {
      const { key, tag, bytes } = states[i] as KeyState;
      if (tag !== MULTI_TAG && tag !== LIFE_TAG && typeOfTag(tag) === undefined) {
        this.reject(peer, 'state', `unknown type tag ${tag} in ${what}`);
        return undefined;
      }
      const d = decodeKey(key, tag, bytes);
      if (d instanceof CrdtError) {
        this.reject(peer, 'state', `${what} state: ${d.message}`);
        return undefined;
      }
      out[i] = d;
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
    const r = decodeEnvelope(frame, this.cfg.clusterName, maxFrameBytes(this.cfg.maxMessageBytes));
    if (!r.ok) return this.reject(peer, r.error.reason, r.error.detail);
    const env = r.value;
    if (env.from === this.id.nodeId) return this.reject(peer, 'self', `frame claims our own id '${env.from}'`);
    const msg = env.msg;
    let decoded: DecodedKey[] | undefined;
    if (msg.kind === MsgKind.Delta) decoded = this.decodeStates(peer, msg.body.states, 'a delta');
    else if (msg.kind === MsgKind.ReadResp) decoded = this.decodeStates(peer, msg.body.states, 'a read response');
    if (decoded === undefined && (msg.kind === MsgKind.Delta || msg.kind === MsgKind.ReadResp)) return;
    const folds = msg.kind === MsgKind.Digest || msg.kind === MsgKind.Delta || msg.kind === MsgKind.ReadResp ? msg.body.folds : undefined;
    if (folds !== undefined) {
      // A bound above our own incarnation would fold the slot we write into: no honest peer sends it.
      const own = folds.find(([id]) => id === this.id.nodeId);
      if (own !== undefined && own[1] > this.id.incarnation) return this.reject(peer, 'malformed', `fold bound ${own[1]} for this node, whose incarnation is ${this.id.incarnation}`);
      // States folded by bounds we could not record must not be merged into unfolded ones.
      if (!this.adoptFolds(folds)) return;
    }
    if (decoded !== undefined && this.folds.size > 0) {
      const foldsFor = (ids: readonly string[]) => this.folds.foldsFor(ids);
      // A part of a key split over frames holds some of its slots: a retired slot and the
      // pseudo-slot it folds into may lie in different parts, and folding each alone would lose the
      // sum. The sender folds by our bounds once it has them (they travel in our digests), so such
      // a part is dropped unapplied, and its batch is sent again later.
      if (msg.kind === MsgKind.Delta && msg.body.part !== undefined && decoded.some((d) => decodedStates(d).some((st) => (st.type === 'pncounter' || st.type === 'gcounter') && this.folds.foldsFor(st.crdt.slotIds()) !== undefined))) return;
      for (const d of decoded) for (const st of decodedStates(d)) foldCounterSlots(st.type, st.crdt, foldsFor);
    }
    const s = (this.stats.received[KIND_NAMES[msg.kind]] ??= { frames: 0, bytes: 0 });
    s.frames++;
    s.bytes += frame.length;
    if (this.detector.noteSender(env.from, env.incarnation, env.address)) {
      this.quorum.forgetPeer(env.from);
      this.change.forgetPeer(env.from);
    }
    if (this.leaving && msg.kind !== MsgKind.Ping) return;
    switch (msg.kind) {
      case MsgKind.Digest:
        this.change.noteDigest(env.from, msg.body);
        this.antiEntropy.onDigest(env.from, env.address, msg.body);
        // Asked for our vector (a joining or leaving peer measuring itself): a full exchange.
        if (msg.body.askVector === true) this.antiEntropy.pull(env.address);
        return;
      case MsgKind.Delta:
        this.antiEntropy.onDelta(env.from, env.address, replicaIdOf(env.from, env.incarnation), msg.body, decoded ?? []);
        if (msg.body.members !== null) {
          this.change.noteTableFrom(env.from);
          this.quorum.startDeferred();
        }
        return this.advertiseOnceDurable();
      case MsgKind.Have:
        return this.quorum.onHave(env.from, msg.body.vector);
      case MsgKind.ReadReq:
        return this.quorum.onReadReq(env.address, msg.body.id, msg.body.keys);
      case MsgKind.ReadResp:
        return this.quorum.onReadResp(env.from, msg.body.id, decoded ?? [], msg.body.needs);
      case MsgKind.Ping:
        return this.detector.onPing(env.address, msg.body.seq);
      case MsgKind.PingReq:
        return this.detector.onPingReq(env.address, msg.body.seq, msg.body.address);
      case MsgKind.Ack:
        return this.detector.onAck(msg.body.seq, msg.body.time);
      case MsgKind.Repair:
        return this.antiEntropy.onRepair(env.address, msg.body);
    }
  }

  /**
   * Under gating: once what is held now is on disk, advertise it, and tell each origin whose
   * advertised version rose (its WAIT and majority writes count us only then).
   */
  private advertiseOnceDurable(): void {
    if (this.durability === undefined) return;
    const mark = this.versions.durabilityMark();
    if (mark.size === 0) return;
    this.durability.afterDurable(() => {
      for (const origin of this.versions.markDurable(mark)) {
        const m = this.membership.get(parseReplicaId(origin).nodeId);
        if (m === undefined || replicaIdOf(m.id, m.incarnation) !== origin || m.state === MemberState.Left || m.state === MemberState.Dead) continue;
        this.send(m.address, { kind: MsgKind.Have, body: { vector: [{ origin, known: this.versions.advertised(origin) }] } });
      }
    });
  }

  // ---- consistency: WAIT, majority writes, majority reads (quorum.ts) ---------------------------

  /** How many voters other than us (not stopped) hold our origin up to `version`. */
  holdersOf(version: number): number {
    return this.quorum.holdersOf(version);
  }

  /** Members that count toward a majority: the voters this node knows (quorum.ts). */
  clusterSize(): number {
    return this.quorum.clusterSize();
  }

  /** Peers (besides us) that make a majority with us; undefined while a joining node does not know the voters. */
  majorityPeers(): number | undefined {
    return this.quorum.majorityPeers();
  }

  /** A majority write: waits until a majority of the voters hold our writes up to `version` (quorum.ts). */
  awaitMajority(version: number, deadline: number, done: (o: WaitOutcome) => void): void {
    this.quorum.awaitMajority(version, deadline, done);
  }

  /** Waits until `needed` peers hold every local write up to `version`, or until `deadline`. */
  awaitHolders(version: number, needed: number, deadline: number, done: (o: WaitOutcome) => void): void {
    this.quorum.awaitHolders(version, needed, deadline, done);
  }

  /** Merges `keys` from a majority of the cluster, then calls `done` (or at `deadline`). */
  majorityRead(keys: readonly string[], deadline: number, done: (o: WaitOutcome) => void): void {
    this.quorum.majorityRead(keys, deadline, done);
  }

  // ---- clocks ----------------------------------------------------------------------------------

  /** A peer at `address` refused our frame as stale and told us its clock: its clock minus ours (the transport's clock notice). */
  noteClockNotice(address: string, offsetMs: number): void {
    // No round trip to bound its error; a probe's sample, when there is one, is preferred.
    this.clockSkew.sample(address, offsetMs, Number.MAX_SAFE_INTEGER, this.now);
  }

  /** The verdict on this node's clock against its peers'. */
  clockStatus(now: number): ClockStatus {
    // Alone: a one-node cluster that never had a peer. A node that forgot every peer in a long
    // partition is cut off, not alone: nobody has measured its clock (explorer seed 4247).
    // A joining node is never alone: it has a cluster to find, which will measure its clock.
    return this.clockSkew.status(now, !this.hadPeers && this.clusterSize() <= 1 && !this.joining);
  }

  // ---- tombstone collection (tombstone-gc.ts) ----------------------------------------------------

  /**
   * The members whose durable state tombstone collection waits for: every member of the table but
   * us that an operator has not removed (alive, suspect, dead or stopped: a member that is down may
   * come back with its data), or undefined while fewer are known than the cluster's voters (a voter
   * we never heard from may hold anything): as we count them, and as any of those members counts
   * them. A joining node whose config names a few seeds counts only those, and a seed that forgot
   * members long dead sends a table without them but still counts them (explorer seed 1001109: a
   * node that joined through such a seed folded on that seed's evidence alone, and its bounds
   * reached every node). A joining node that has not been sent a voter's table decides nothing.
   */
  gcMembers(): string[] | undefined {
    if (!this.change.votersKnown) return undefined;
    const out: string[] = [];
    // A stopped member (left) may come back with its data: it counts, as it does for majorities. Only a removed one does not.
    for (const m of this.membership.all()) if (m.id !== this.id.nodeId && m.state !== MemberState.Removed) out.push(m.id);
    return out.length + 1 < Math.max(this.clusterSize(), this.gc.votersReported(out)) ? undefined : out;
  }

  /** New evidence since the last decision: a state report arrived, or our durable state moved. */
  private gcPending = false;

  /** Refreshes what this node reports as held durably, then drops its tombstones if every member holds this state durably too. */
  private collectTombstones(): void {
    const hash = this.keyspace.stateDigest();
    if (this.disk === undefined) this.setDurableState(hash);
    else if (!this.durableWaiting) {
      this.durableWaiting = true;
      this.disk.whenDurable((ok) => {
        this.durableWaiting = false;
        if (ok) this.setDurableState(hash);
      });
    }
    // The decision walks the members: only when something it depends on moved.
    if (!this.gcPending) return;
    this.gcPending = false;
    const members = this.gcMembers();
    if (members === undefined || !this.gc.mayCollect(hash, this.durableState, members)) return;
    // Each dropped key's entries leave the version logs as it goes (onIdRetired above).
    const keys = this.keyspace.collectTombstones(this.events.collected);
    this.gc.collected(hash, keys.length);
    // The same evidence retires every incarnation H shows a later one of (slot-folds.ts).
    if (this.gc.allFold(members)) this.adoptFolds(boundsFrom(this.keyspace.counterSlotIds()));
  }

  // ---- pruning of retired slots (slot-folds.ts) -------------------------------------------------

  /**
   * Raises our fold bounds to `bounds`: persisted first, then every key folded by them. Returns
   * false if the store could not record them (nothing changed then).
   */
  private adoptFolds(bounds: FoldBounds): boolean {
    if (!bounds.some(([id, b]) => b > this.folds.boundOf(id))) return true;
    if (this.saveFolds !== undefined) {
      const next = new SlotFolds();
      next.adopt(this.folds.bounds());
      next.adopt(bounds);
      if (!this.saveFolds(next.bounds())) return false;
    }
    this.folds.adopt(bounds);
    const before = this.foldedKeys;
    this.foldOwn();
    this.events.folded?.(this.folds.bounds(), this.foldedKeys - before);
    return true;
  }

  /**
   * Folds every key by our bounds: the first slice of keys now, the rest a slice per tick (the
   * keyspace folds a key it has not reached before merging into it).
   */
  private foldOwn(): void {
    this.keyspace.startFold((ids) => this.folds.foldsFor(ids));
    this.foldedKeys += this.keyspace.foldStep(this.foldSlice);
    // A folded origin's log entries go where another origin's log holds the key too (version-log.ts).
    for (const origin of [...this.versions.originIds()]) if (this.folds.folds(origin)) this.versions.dropCovered(origin);
  }

  /** The slot-fold bounds this node folds by (slot-folds.ts), for the store and the simulator's disk. */
  foldBounds(): [string, number][] {
    return this.folds.bounds();
  }

  private setDurableState(hash: string): void {
    if (this.durableState === hash) return;
    this.durableState = hash;
    this.gcPending = true;
  }

  /** Whether this replica ever knew another member (set by tick; see clockStatus). */
  private hadPeers = false;

  // ---- views -----------------------------------------------------------------------------------

  /** Readiness: whether this node has caught up with its peers since it started (anti-entropy.ts). */
  caughtUp(now: number, graceMs: number): boolean {
    return this.antiEntropy.caughtUp(now, graceMs);
  }

  /** The convergence-lag estimate (anti-entropy.ts). */
  convergence(now: number): { maxLagMs: number; outOfSync: number; peers: number } {
    return this.antiEntropy.convergence(now);
  }

  /** Starts a push-pull exchange with the peer at `address` now (gossip rounds do it on their own; tests and tools). */
  pullFrom(address: string): void {
    this.antiEntropy.pull(address);
  }

  /** What a peer that holds each origin up to `peer` lacks, as one Delta body (tests and tools). */
  buildDelta(peer: ReadonlyMap<string, number>): DeltaBody {
    return this.antiEntropy.buildDelta(peer).delta;
  }

  /** How long `m`'s suspicion lasts before it is declared dead (Lifeguard). */
  suspicionTimeout(m: Member): number {
    return this.detector.suspicionTimeout(m);
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

  /**
   * Origins in the version log whose incarnation is no longer alive: its node runs a later
   * incarnation, stopped (left), left the cluster or was removed, or is no longer a member; and whose
   * slots are not folded yet (slot-folds.ts).
   */
  retiredOrigins(): number {
    let n = 0;
    for (const origin of this.versions.originIds()) {
      const { nodeId, incarnation } = parseReplicaId(origin);
      const m = this.membership.get(nodeId);
      if (this.folds.folds(origin)) continue;
      if (m === undefined || m.state === MemberState.Left || m.state === MemberState.Removed || m.incarnation > incarnation) n++;
    }
    return n;
  }
}
