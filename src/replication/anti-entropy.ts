// Anti-entropy: the push-pull exchange that makes every node hold every origin's writes. Each round
// a node sends a digest (vector hash, or the vector itself) to random peers; a peer answers with the
// key states the sender lacks (a Delta, oldest first, cut at the size limit) and asks for what it
// lacks itself; a receiver that completes a range of the sender's own origin tells it with Have.
// Also readiness (caughtUp) and the convergence-lag estimate. docs/gossip.md describes the protocol.

import { ByteWriter } from '../crdt/codec.js';
import { MsgpackWriter, writeKeyState, writeKeyStateHead } from './delta-writer.js';
import type { DecodedKey } from '../keyspace/entries.js';
import type { ReplicaContext } from './context.js';
import { DIGEST_BUCKETS, keyStateBudget } from '../keyspace/keyspace.js';
import type { StateReport } from './tombstone-gc.js';
import { MemberState, MsgKind, type DeltaBody, type DigestBody, type KeyState, type MemberRecord, type OriginRange, type PartsNeeded, type RepairBody } from './messages.js';

/** Bytes kept free in a delta for the envelope and membership records. */
const DELTA_SLACK = 512;

/**
 * The key states a Delta gathers before it ends its range and leaves the rest for the next pull:
 * 128 KiB, however large a frame may be (a key larger than that still goes whole in a frame of its
 * own, up to the frame limit). A receiver decodes every state of a frame before merging any (a bad
 * state refuses the whole frame), so all of a frame's objects live at once: with frames filled to the
 * 1 MiB limit the young-generation collector copied them, and in the simulator (300,000 keys) a key
 * cost 23 µs of CPU to reach both peers with 1 MiB Deltas, 14-17 with 128 KiB and 12 with 64 KiB.
 * Between 64 and 256 KiB, real nodes measured alike within this machine's noise (docs/gossip.md).
 */
export const DELTA_TARGET_BYTES = 128 * 1024;


/**
 * A Delta and the part frames that must precede it: a key too large for one frame travels as
 * parts (each a state that merges on its own), and the Delta that claims its version requires them.
 */
export interface DeltaFrames {
  parts: DeltaBody[];
  delta: DeltaBody;
}

/** What anti-entropy tells the rest of the replica. */
export interface AntiEntropyHooks {
  /** Membership records came with a delta. */
  applyMembers(records: readonly MemberRecord[]): void;
  /** `peer` is known to hold our own origin up to `version`. */
  notePeerHas(peer: string, version: number): void;
  /** What our digests report of our durable state (tombstone-gc.ts). */
  stateReport(): StateReport;
  /** A digest from member `from` reported its durable state. */
  noteStateReport(from: string, r: StateReport): void;
}

export class AntiEntropy {
  private nextGossipAt: number;
  private nextReconnectAt: number;
  /** Addresses tried when no live member answers at them: the configured peers and the seeds. */
  private readonly known: readonly string[];
  /** Last vector hash each peer told us, to skip sending our vector to a peer likely in sync. */
  private readonly peerHash = new Map<string, string>();
  /** Vectors (origin -> known) peers sent us before we caught up with one of them; dropped once we have. */
  private readonly peerVectors = new Map<string, ReadonlyMap<string, number>>();
  /** Latched by caughtUp(). */
  private caught = false;
  /** Where `buildDelta` encodes each key state before it writes it into `packer`. */
  private readonly stateBytes = new ByteWriter(256);
  /** Where `buildDelta` writes its key states as msgpack (DeltaBody.packed): 256 KiB chunks, each Delta's a view. */
  private readonly packer = new MsgpackWriter();
  /**
   * `buildDelta`'s keys so far (for the index it builds once a key can be met twice) and one origin's
   * (key index, version) pairs so far, kept from call to call: grown key by key in arrays of each
   * Delta's own, their copies were about 90 bytes allocated per key sent to each peer. A range's
   * pairs are copied out at their exact length.
   */
  // Stryker disable next-line ArrayDeclaration: equivalent, a cell is read only after this Delta wrote it
  private readonly keyScratch: (string | undefined)[] = [];
  private readonly entryScratch: number[] = [];
  /** Construction time: the start of caughtUp()'s grace period. */
  private readonly startedAt: number;
  /**
   * Per peer, when (replica clock, ms) we last saw its digest hash equal to ours, or when we first
   * heard its digest: the baseline of the convergence-lag estimate (`convergence`).
   */
  private readonly peerAgreedAt = new Map<string, number>();
  /** Version of our own latest local change. */
  private localVersion = 0;
  /** The id of the next batch of part frames we send. */
  private nextBatch = 1;
  /** Per sender: the latest batch of part frames it sent us, and which of its parts arrived. */
  private readonly partsSeen = new Map<string, { batch: number; indices: Set<number> }>();
  /**
   * Per peer: the (its, ours) state digests seen on its last digest whose vector hash equalled ours
   * while the states differed. The same pair twice in a row is a stable divergence, not one in flight:
   * then a repair starts.
   */
  private readonly stateMismatch = new Map<string, string>();
  /**
   * Per peer address and origin: the end of the range of the last Delta we sent it, and until when
   * it is trusted to be on its way. A digest the peer sent before that Delta landed (its gossip
   * round, its reply to ours) would otherwise make us build and send the same range again: under a
   * bulk load that was most of a writer's CPU and 10x the necessary gossip bytes (bench scale).
   * So one range per (peer, origin) is in flight at a time (stop and wait: a chunked stream still
   * pulls its next chunk as soon as one lands). Holding a range back is only a liveness matter
   * (merge is a join; known advances only without gaps), and a lost Delta costs at most
   * `inflightMs` before the range is sent again.
   */
  private readonly inflight = new Map<string, Map<string, { to: number; until: number }>>();

  constructor(
    private readonly ctx: ReplicaContext,
    private readonly hooks: AntiEntropyHooks,
    /** Addresses of seed nodes to join through. */
    private readonly seeds: readonly string[],
    /** Addresses of the configured cluster members (the roster a real node's config lists). */
    peers: readonly string[] = [],
  ) {
    this.startedAt = ctx.now;
    this.nextGossipAt = ctx.now + ctx.rng.next() * ctx.cfg.gossipIntervalMs;
    this.nextReconnectAt = this.nextGossipAt + ctx.cfg.reconnectIntervalMs;
    this.known = [...new Set([...peers, ...seeds])].filter((a) => a !== ctx.self.address);
  }

  /** The version of our own latest local change. */
  get version(): number {
    return this.localVersion;
  }

  nextTickAt(): number {
    return Math.min(this.nextGossipAt, this.nextReconnectAt);
  }

  tick(now: number): void {
    // After the clock steps back, timers set by the old clock would keep this node silent for as long
    // as the step: no timer is ever more than one interval away.
    const { gossipIntervalMs, reconnectIntervalMs } = this.ctx.cfg;
    this.nextGossipAt = Math.min(this.nextGossipAt, now + gossipIntervalMs);
    this.nextReconnectAt = Math.min(this.nextReconnectAt, now + reconnectIntervalMs);
    if (now >= this.nextGossipAt) {
      this.gossipRound();
      const interval = this.ctx.cfg.gossipIntervalMs;
      this.nextGossipAt += interval;
      if (this.nextGossipAt <= now) this.nextGossipAt = now + interval;
    }
    if (now >= this.nextReconnectAt) {
      this.reconnect();
      this.nextReconnectAt = now + this.ctx.cfg.reconnectIntervalMs;
    }
  }

  /** A local change of `key` (whose id in the key table is `id`, if known): the next version of our origin. */
  localChange(key: string, id?: number): void {
    const v = ++this.localVersion;
    const { versions, origin } = this.ctx;
    if (id === undefined || id < 0) versions.recordLocal(origin, key, v);
    else versions.recordLocal(origin, key, v, id);
  }

  private gossipRound(): void {
    const { ctx } = this;
    if (ctx.leaving) return;
    ctx.stats.rounds++;
    const targets = ctx.membership.randomTargets(ctx.rng, ctx.cfg.fanout);
    const hash = ctx.versions.advertisedHash;
    for (const m of targets) {
      const inSync = this.peerHash.get(m.id) === hash;
      this.sendDigest(m.address, !inSync, true);
    }
    if (targets.length === 0) {
      const seeds = this.seeds.filter((s) => s !== ctx.self.address);
      const seed = seeds[ctx.rng.int(seeds.length)];
      if (seed !== undefined) this.sendDigest(seed, true, true);
    }
  }

  /**
   * Gossip to the unreachable, so a partition of any length heals: one digest to a random member we
   * hold dead, or to a configured or seed address at which no live member answers (one we forgot,
   * or never knew). Its answer brings both sides' membership records together, and each side
   * refutes the other's verdict on it (failure-detector.ts).
   */
  private reconnect(): void {
    const { membership, rng, leaving } = this.ctx;
    if (leaving) return;
    const dead: string[] = [];
    for (const m of membership.ownMembers()) if (m.state === MemberState.Dead) dead.push(m.address);
    const total = dead.length + this.known.length;
    // Rejection sampling: in a healthy cluster every configured peer is live and none is picked.
    for (let tries = 0; tries < 16 && total > 0; tries++) {
      const i = rng.int(total);
      const address = i < dead.length ? (dead[i] as string) : (this.known[i - dead.length] as string);
      if (i >= dead.length && membership.liveAt(address)) continue;
      this.sendDigest(address, true, true);
      return;
    }
  }

  /** Starts a push-pull exchange with the peer at `address` now. */
  pull(address: string): void {
    this.sendDigest(address, true, true);
  }

  private sendDigest(address: string, withVector: boolean, wantReply: boolean, withStateHash = true): void {
    const { versions, membership, keyspace } = this.ctx;
    const r = this.hooks.stateReport();
    const body: DigestBody = {
      hash: versions.advertisedHash,
      membersHash: membership.hash,
      vector: withVector ? versions.vector(address) : null,
      wantReply,
      ...(withStateHash ? { stateHash: keyspace.stateDigest() } : {}),
      ...(r.durable === undefined ? {} : { durableState: r.durable }),
      ...(r.collected === undefined ? {} : { collectedState: r.collected }),
      voters: membership.voterCount,
    };
    this.ctx.send(address, { kind: MsgKind.Digest, body });
  }

  onDigest(from: string, address: string, d: DigestBody): void {
    const { versions, membership, origin, now } = this.ctx;
    this.peerHash.set(from, d.hash);
    this.hooks.noteStateReport(from, { durable: d.durableState, collected: d.collectedState, folds: d.folds !== undefined, ...(d.voters === undefined ? {} : { voters: d.voters }) });
    // Convergence-lag baseline: agreement now, or first contact.
    if (d.hash === versions.advertisedHash || !this.peerAgreedAt.has(from)) this.peerAgreedAt.set(from, now);
    if (!this.caught && d.vector !== null) this.peerVectors.set(from, new Map(d.vector.map((e) => [e.origin, e.known] as const)));
    const membersDiffer = d.membersHash !== membership.hash;
    let iLack: boolean;
    let delta: DeltaBody | null = null;
    let frames: DeltaFrames | null = null;
    if (d.vector !== null) {
      const peer = new Map<string, number>();
      iLack = false;
      for (const e of d.vector) {
        peer.set(e.origin, Math.max(e.known, e.cursor ?? 0));
        if (e.known > versions.known(e.origin)) iLack = true;
        if (e.origin === origin) this.hooks.notePeerHas(from, e.known);
      }
      this.skipInflight(address, peer);
      frames = this.buildDelta(peer);
      delta = frames.delta;
      this.noteInflight(address, frames.delta);
    } else {
      iLack = d.hash !== versions.advertisedHash;
      // Its advertised vector equals all we hold: it holds (on disk, under gating) our own writes too.
      if (d.hash === versions.hash) this.hooks.notePeerHas(from, this.localVersion);
    }
    if (membersDiffer) {
      if (delta === null) delta = { ranges: [], states: [], members: null, more: false };
      delta.members = membership.records();
    }
    if (delta !== null && frames !== null && frames.parts.length > 0 && delta.members !== null) {
      // A Delta carrying a parted key's last part has no room for member records: they go apart.
      this.ctx.send(address, { kind: MsgKind.Delta, body: { ranges: [], states: [], members: delta.members, more: false } });
      delta.members = null;
    }
    if (delta !== null && (delta.ranges.length > 0 || delta.members !== null)) this.sendDelta(address, { parts: frames?.parts ?? [], delta });
    if (d.wantReply && (iLack || membersDiffer)) {
      // With their vector in hand we already sent what they lack; otherwise ask for a full exchange.
      this.sendDigest(address, true, d.vector === null);
    }
    if (d.stateHash !== undefined && d.hash === versions.advertisedHash) this.checkState(from, address, d.stateHash);
  }

  /** How long a sent Delta is trusted to be on its way: after that, a digest that still lacks it gets it again. */
  private get inflightMs(): number {
    return 3 * this.ctx.cfg.gossipIntervalMs;
  }

  /** Holds back from `peer` every origin whose last range to `address` is still on its way (see `inflight`). */
  private skipInflight(address: string, peer: Map<string, number>): void {
    const f = this.inflight.get(address);
    if (f === undefined) return;
    for (const [origin, { to, until }] of f) {
      // Landed, or presumed lost; or stamped by a clock that has since stepped back (never trust a
      // hold for longer than one inflightMs from now: explorer seed 2542 stalled an origin for a minute).
      if ((peer.get(origin) ?? 0) >= to || this.ctx.now >= until || until - this.ctx.now > this.inflightMs) f.delete(origin);
      else peer.set(origin, Number.MAX_SAFE_INTEGER);
    }
    if (f.size === 0) this.inflight.delete(address);
  }

  private noteInflight(address: string, d: DeltaBody): void {
    if (d.ranges.length === 0) return;
    let f = this.inflight.get(address);
    if (f === undefined) {
      f = new Map();
      this.inflight.set(address, f);
    }
    const until = this.ctx.now + this.inflightMs;
    for (const r of d.ranges) f.set(r.origin, { to: r.to, until });
  }

  /**
   * Equal vectors: the states should be equal too. A stable difference starts a repair. Not while a
   * cut transfer to this node is under way: a chunk arrived in the last `2 × inflightMs`, or a live
   * member's cut transfer is still ahead of our known version. This node then holds states its
   * vector does not show yet, and so does a peer catching up on the same origin from the same known
   * version. Two such peers found their vectors equal and their states different, and each repair
   * shipped every key of every differing bucket (all of them, under a bulk load): 30% of a
   * catching-up node's CPU in bench scale, and 20 repairs per node at a million keys, where a chunk's
   * round trip outlasted the time window alone. A transfer whose sender died, or that delivered
   * nothing for `10 × inflightMs`, no longer holds a repair back.
   */
  private checkState(from: string, address: string, theirs: string): void {
    const { versions, membership } = this.ctx;
    const sinceChunk = this.ctx.now - versions.lastChunkAt;
    if (sinceChunk < 2 * this.inflightMs) return;
    // Bounded, so a cursor that will never move (its sender restarted without its data under the
    // same address) holds repairs back for a while only.
    if (sinceChunk < 10 * this.inflightMs && versions.cursorFrom((a) => membership.liveAt(a))) return;
    const ours = this.ctx.keyspace.stateDigest();
    if (theirs === ours) {
      this.stateMismatch.delete(from);
      return;
    }
    const pair = `${theirs}/${ours}`;
    if (this.stateMismatch.get(from) !== pair) {
      this.stateMismatch.set(from, pair);
      return;
    }
    this.stateMismatch.delete(from);
    this.ctx.stats.repairs++;
    this.ctx.send(address, { kind: MsgKind.Repair, body: { buckets: this.ctx.keyspace.bucketDigests(), wantReply: true } });
  }

  /** A repair: ship our keys of every bucket whose digest differs from the peer's, and ask for theirs. */
  onRepair(address: string, r: RepairBody): void {
    const { keyspace } = this.ctx;
    const ours = keyspace.bucketDigests();
    const differ = new Set<number>();
    for (let b = 0; b < DIGEST_BUCKETS; b++) {
      for (let i = b * 8; i < b * 8 + 8; i++) {
        if (ours[i] !== r.buckets[i]) {
          differ.add(b);
          break;
        }
      }
    }
    if (r.wantReply && differ.size > 0) this.ctx.send(address, { kind: MsgKind.Repair, body: { buckets: ours, wantReply: false } });
    if (differ.size > 0) this.shipKeys(address, keyspace.keysInBuckets(differ));
  }

  /** Sends the whole state of `keys` (no version ranges: merging states is always safe), in frames within the size limit. */
  private shipKeys(address: string, keys: readonly string[]): void {
    const { cfg, keyspace } = this.ctx;
    const budget = cfg.maxMessageBytes - DELTA_SLACK;
    const target = Math.min(budget, DELTA_TARGET_BYTES);
    let states: KeyState[] = [];
    let size = 32;
    const flush = (): void => {
      if (states.length > 0) this.ctx.send(address, { kind: MsgKind.Delta, body: { ranges: [], states, members: null, more: false } });
      states = [];
      size = 32;
    };
    for (const key of keys) {
      const enc = keyspace.encodeKey(key);
      if (enc === undefined) continue;
      const cost = key.length + enc.bytes.length + 16;
      if (cost > budget) {
        // Too large for a frame: its parts, each on its own (a repair claims no versions).
        const split = this.partFrames(key, keyStateBudget(cfg.maxMessageBytes, key));
        if (split === undefined) continue;
        for (const p of split.parts) this.ctx.send(address, { kind: MsgKind.Delta, body: { ranges: [], states: p.states, members: null, more: false } });
        this.ctx.send(address, { kind: MsgKind.Delta, body: { ranges: [], states: [split.last], members: null, more: false } });
        continue;
      }
      if (size + cost > target) flush();
      states.push({ key, tag: enc.tag, bytes: enc.bytes });
      size += cost;
    }
    flush();
  }

  /**
   * What a peer lacks, given where its transfer of each origin resumes: key states of every origin's
   * entries above that, oldest first, cut at the size limit. `only` restricts it to one origin. A key
   * too large for a frame of its own goes as parts (`partsOf`) in frames before the Delta, which
   * then claims the key's version only if they all arrived (no key ever blocks the ones after it).
   */
  buildDelta(peer: ReadonlyMap<string, number>, only?: string): DeltaFrames {
    const { cfg, membership, versions, keyspace } = this.ctx;
    const budget = cfg.maxMessageBytes - DELTA_SLACK - membership.size * 48;
    // Gather up to the target; a key that fits no frame at all goes in parts (below).
    const target = Math.min(budget, DELTA_TARGET_BYTES);
    // Where each key's state is in `states`, so that a key met again (in another origin's range, or
    // at an older version kept in the same log) is sent once. Built only once a key can be met again:
    // a catch-up from one writer's log is one range of distinct keys, and the index's two Map
    // operations per key were a tenth of the CPU of a peer sending a bulk load (simulator profile).
    const keyIndex = new Map<string, number>();
    let indexed = false;
    // The key states, written as msgpack as they are met (`packed`): no object or view per key.
    const keys = this.keyScratch;
    let keyCount = 0;
    const pack = this.packer;
    pack.begin();
    const scratch = this.stateBytes.reset();
    const ranges: OriginRange[] = [];
    let parts: DeltaBody[] = [];
    let needs: DeltaBody['needs'];
    let size = 32;
    let more = false;
    for (const [origin, { known }] of versions.entries()) {
      if (only !== undefined && origin !== only) continue;
      const from = peer.get(origin) ?? 0;
      if (known <= from) continue;
      // This origin's (key index, version) pairs, in `entryScratch`.
      const pairsOut = this.entryScratch;
      let pairs = 0;
      const addEntry = (ki: number, version: number): void => {
        pairsOut[pairs] = ki;
        pairsOut[pairs + 1] = version;
        pairs += 2;
      };
      let to = known;
      let stop = false;
      // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: equivalent but for work, an index built sooner finds the same keys
      if (!indexed && (keyCount > 0 || versions.scanMayRepeat(origin))) {
        // Stryker disable next-line EqualityOperator: equivalent, the cell past the last key is empty and no key looks it up
        for (let i = 0; i < keyCount; i++) keyIndex.set(keys[i] as string, i);
        indexed = true;
      }
      versions.scan(origin, from, (key, version, id) => {
        if (version > known) return false;
        let ki = indexed ? keyIndex.get(key) : undefined;
        if (ki === undefined) {
          // Encoded into a scratch writer, then written with its key into the packed states.
          scratch.reset();
          const tag = keyspace.encodeIdInto(id, scratch);
          if (tag === undefined) return true;
          const cost = key.length + scratch.length + 16;
          // Stryker disable next-line EqualityOperator: equivalent, a key that fills the target exactly goes in the next Delta instead
          if (size + cost > target && keyCount > 0) {
            more = true;
            return false;
          }
          ki = keyCount;
          if (size + cost > budget) {
            // Alone and still too large: its parts go first; this frame carries the last one and
            // nothing after it.
            // Parts go in frames of their own, and the Delta that carries the last one carries no
            // member records (onDigest sends those apart), so a part may use a whole frame.
            const split = this.partFrames(key, keyStateBudget(cfg.maxMessageBytes, key));
            if (split === undefined) {
              // Cannot happen for a well-formed state (every type splits to elements far below the
              // smallest frame); if it did, the range stops before the key rather than claim it.
              more = true;
              return false;
            }
            if (indexed) keyIndex.set(key, ki);
            parts = split.parts;
            needs = split.needs;
            keys[keyCount++] = key;
            writeKeyState(pack, key, split.last.tag, split.last.bytes);
            size = budget;
            addEntry(ki, version);
            stop = true;
            return false;
          }
          if (indexed) keyIndex.set(key, ki);
          size += cost;
          keys[keyCount++] = key;
          writeKeyStateHead(pack, key, tag);
          pack.binOf(scratch);
        }
        size += 8;
        addEntry(ki, version);
        return true;
      });
      if (more || stop) {
        // Cut inside this origin: carry only up to the last entry that made it in, marked incomplete
        // (complete after all if the parted key was the origin's last entry).
        // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, with no pair `to` is no range's end either way
        to = pairs > 0 ? (pairsOut[pairs - 1] as number) : from;
      }
      if (to > from) ranges.push({ origin, from, to, entries: pairsOut.slice(0, pairs), complete: !more && (!stop || to === known) });
      if (stop) more = true; // the rest follows in the next pull
      if (more) break;
    }
    if (more) this.ctx.stats.chunked++;
    // The scratch keeps no key alive past this Delta.
    keys.fill(undefined, 0, keyCount);
    const packed = pack.end();
    // Stryker disable next-line ConditionalExpression: equivalent, a packed list of none writes no bytes
    const delta: DeltaBody = { ranges, states: [], ...(keyCount === 0 ? {} : { packed: { bytes: packed, count: keyCount } }), members: null, more, ...(needs === undefined ? {} : { needs }) };
    return { parts, delta };
  }

  /** A key's state as part frames plus the last part (for the frame that claims it), or undefined if it cannot be split to fit. */
  private partFrames(key: string, maxBytes: number): { parts: DeltaBody[]; needs: DeltaBody['needs']; last: KeyState } | undefined {
    const split = maxBytes < 1 ? undefined : this.ctx.keyspace.partsOf(key, maxBytes);
    if (split === undefined || split.length === 0) {
      this.ctx.stats.unsplittable++;
      return undefined;
    }
    const last = split[split.length - 1] as { tag: number; bytes: Uint8Array };
    // One part: too large beside the member allowance of a Delta, but it fits a frame alone, which
    // the Delta that carries it is. No part frames, so it needs none (the decoder refuses a count of 0).
    if (split.length === 1) return { parts: [], needs: undefined, last: { key, tag: last.tag, bytes: last.bytes } };
    const batch = this.nextBatch++;
    const parts = split.slice(0, -1).map((p, index): DeltaBody => ({ ranges: [], states: [{ key, tag: p.tag, bytes: p.bytes }], members: null, more: false, part: { batch, index } }));
    this.ctx.stats.partedKeys++;
    return { parts, needs: { batch, parts: parts.length }, last: { key, tag: last.tag, bytes: last.bytes } };
  }

  /**
   * Key states as numbered part frames within `budget` bytes each (a key alone too large split into
   * its parts), for an answer that then needs them all (a majority read's ReadResp).
   */
  readFrames(states: readonly KeyState[], budget: number): { parts: DeltaBody[]; needs: PartsNeeded } {
    const batch = this.nextBatch++;
    const parts: DeltaBody[] = [];
    let pending: KeyState[] = [];
    let size = 32;
    const flush = (): void => {
      if (pending.length > 0) parts.push({ ranges: [], states: pending, members: null, more: false, part: { batch, index: parts.length } });
      pending = [];
      size = 32;
    };
    for (const s of states) {
      const cost = s.key.length + s.bytes.length + 16;
      if (cost > budget) {
        flush();
        const room = keyStateBudget(this.ctx.cfg.maxMessageBytes, s.key);
        for (const p of (room < 1 ? undefined : this.ctx.keyspace.partsOf(s.key, room)) ?? []) {
          parts.push({ ranges: [], states: [{ key: s.key, tag: p.tag, bytes: p.bytes }], members: null, more: false, part: { batch, index: parts.length } });
        }
        continue;
      }
      if (size + cost > budget) flush();
      pending.push(s);
      size += cost;
    }
    flush();
    return { parts, needs: { batch, parts: parts.length } };
  }

  /** Sends a Delta and the part frames it needs, parts first. */
  sendDelta(address: string, frames: DeltaFrames): void {
    for (const p of frames.parts) this.ctx.send(address, { kind: MsgKind.Delta, body: p });
    this.ctx.send(address, { kind: MsgKind.Delta, body: frames.delta });
  }

  /** A part frame from `from` arrived (its states were merged already). */
  private notePart(from: string, part: { batch: number; index: number }): void {
    const seen = this.partsSeen.get(from);
    if (seen === undefined || seen.batch !== part.batch) this.partsSeen.set(from, { batch: part.batch, indices: new Set([part.index]) });
    else seen.indices.add(part.index);
  }

  /** Whether every part a frame from `from` needs has arrived. */
  partsArrived(from: string, needs: { batch: number; parts: number } | undefined): boolean {
    if (needs === undefined || needs.parts === 0) return true;
    const seen = this.partsSeen.get(from);
    return seen !== undefined && seen.batch === needs.batch && seen.indices.size >= needs.parts;
  }

  onDelta(from: string, address: string, senderOrigin: string, d: DeltaBody, decoded: readonly DecodedKey[]): void {
    const { keyspace, versions, origin } = this.ctx;
    if (d.members !== null) this.hooks.applyMembers(d.members);
    if (d.states.length === 0 && d.ranges.length === 0) return;
    // Merging a state is always safe; claiming versions needs every part of a parted key. Each
    // state's key id, for the ranges' entries (no second lookup by key): ids are below 2^28
    // (entries.ts, MAX_KEY_ID), and a typed array of the frame's size is one allocation where an
    // array grown key by key was 33 bytes per key received.
    const ids = new Int32Array(decoded.length);
    for (let i = 0; i < decoded.length; i++) {
      const { key, states, life } = decoded[i] as DecodedKey;
      ids[i] = keyspace.mergeDecodedId(key, states, life);
    }
    if (d.part !== undefined) return this.notePart(from, d.part);
    if (!this.partsArrived(from, d.needs)) return;
    let senderHas = -1;
    if (d.ranges.length > 0) versions.senderAt(address, senderOrigin);
    for (const range of d.ranges) {
      if (range.origin === origin) continue; // our own entries: we have them
      const { entries } = range;
      for (let i = 0; i < entries.length; i += 2) {
        // Every entry names one of the frame's states (messages.ts checks it on decode).
        versions.recordId(range.origin, ids[entries[i] as number] as number, entries[i + 1] as number);
      }
      // No gap: the range starts at or below where our transfer of this origin stands.
      if (range.from <= versions.resumeAt(range.origin, senderOrigin)) {
        if (range.complete) versions.advance(range.origin, range.to);
        else versions.advanceCursor(range.origin, range.to, senderOrigin, address, this.ctx.now);
      }
      if (range.origin === senderOrigin) senderHas = versions.advertised(range.origin);
    }
    // Tell the sender what we now hold of its own writes, so WAIT and majority writes learn at once.
    if (senderHas > 0) this.ctx.send(address, { kind: MsgKind.Have, body: { vector: [{ origin: senderOrigin, known: senderHas }] } });
    // Pull the next chunk now. Without our state hash: the sender compares state hashes only when our
    // vectors are equal, which they are not while it has more for us, and folding the keys just
    // merged into the hash here would keep the sender waiting for it (the fold runs at our next
    // gossip round instead, while the next chunk is being built).
    if (d.more) this.sendDigest(address, true, false, false);
    // The delta may have brought us to exactly the state the sender last reported.
    if (this.peerHash.get(from) === versions.advertisedHash) this.peerAgreedAt.set(from, this.ctx.now);
  }

  /**
   * Whether this node has caught up since it started (readiness): true once it holds everything
   * some peer held when that peer last sent us its vector, or has the same vector hash as a peer;
   * or, when no peer has been heard from at all, once `graceMs` have passed since the start (a lone
   * node, or the first of a cluster to come back). Latches: once true it stays true, so a busy
   * cluster whose vectors always differ by in-flight writes never flaps.
   */
  caughtUp(now: number, graceMs: number): boolean {
    if (this.caught) return true;
    const { versions, origin, membership, self } = this.ctx;
    const hash = versions.hash;
    let done = false;
    for (const h of this.peerHash.values()) if (h === hash) done = true;
    for (const vec of this.peerVectors.values()) {
      if (done) break;
      done = true;
      for (const [o, v] of vec) {
        if (o !== origin && versions.known(o) < v) {
          done = false;
          break;
        }
      }
    }
    if (!done && this.peerHash.size === 0 && now - this.startedAt >= graceMs) {
      done = true;
      for (const m of membership.all()) if (m.id !== self.nodeId && m.state === MemberState.Alive && m.lastHeard > 0) done = false;
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
    const { versions, membership, self } = this.ctx;
    const hash = versions.advertisedHash;
    let maxLagMs = 0;
    let outOfSync = 0;
    let peers = 0;
    for (const m of membership.all()) {
      if (m.id === self.nodeId || m.state !== MemberState.Alive) continue;
      const agreedAt = this.peerAgreedAt.get(m.id);
      if (agreedAt === undefined) continue;
      peers++;
      if (this.peerHash.get(m.id) === hash) continue;
      outOfSync++;
      maxLagMs = Math.max(maxLagMs, now - agreedAt);
    }
    return { maxLagMs, outOfSync, peers };
  }
}
