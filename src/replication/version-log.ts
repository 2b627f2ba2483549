// Per-origin version logs (Scuttlebutt, van Renesse et al. 2008). Every origin (a node incarnation)
// numbers its local changes 1, 2, 3...; every node remembers, per origin, the versions at which it
// has that origin's contribution to each key, and the highest version up to which it holds every
// update of that origin: its `known` version. The invariant everything relies on (WAIT, majority
// writes and reads): known(origin) = v implies this node holds every update of that origin up to v.
// An update superseded by a later version of the same key counts as held once the later one is; so a
// superseded entry is kept while the later version is above `known` (a relay in mid-transfer), and
// sent with the key in every range that covers it. The vector of known versions is the digest; a
// peer behind on an origin is sent the keys above what it knows, oldest first. A transfer cut at the
// size limit advances only the receiver's resume cursor for the sender it came from (one cursor per
// sender incarnation); `known` advances when a transfer completes.

import type { VectorEntry } from './messages.js';
import { OwnKeyIds, VersionColumn, type KeyIds } from './version-column.js';

/**
 * A node's last local change of a key: the incarnation that made it and that incarnation's version
 * of it (incarnation 0: the node never changed the key itself). Persisted with the key's state, it
 * lets a restart rebuild its earlier incarnations' logs instead of announcing every key again.
 */
export interface LocalStamp {
  readonly incarnation: number;
  readonly version: number;
}

/** The stamp of a key this node never changed itself. */
export const NO_STAMP: LocalStamp = Object.freeze({ incarnation: 0, version: 0 });

/** One origin's log: key -> latest version, plus the same entries ordered by version for range scans. */
class OriginLog {
  readonly seedHi: number;
  readonly seedLo: number;
  known = 0;
  /**
   * What this node tells peers it holds (digests, Have): `known`, or under durability gating
   * (persistence `always`) the part of it on disk, which `markDurable` advances after each commit.
   */
  advertised = 0;
  /** The values currently folded into the two vector hashes (0: none); they lag until a hash is read. */
  hashedKnown = 0;
  hashedAdvertised = 0;
  /** Listed in the VersionLog's pending lists: moved since the hash last included it. */
  knownQueued = false;
  advertisedQueued = false;
  /**
   * Per sender whose transfer of this origin was cut at the size limit, by the sender's own origin
   * (its node id and incarnation): where that transfer resumes (above `known`; dropped as `known`
   * passes it), and the sender's address (digests show a cursor to the peer at that address only).
   * One per sender: the chunks of one sender follow each other without gaps in its log, but two
   * senders' chunks do not combine. With a single cursor, the last peer to send a cut chunk took it
   * over: two peers streaming one origin to a node restarted each other from `known` every time one's
   * in-flight hold expired and it sent its first chunk again, and a backlog longer than one sender
   * streams in that time never completed (bench scale: a peer stuck at 280,468 of 300,000 keys). And
   * per incarnation, not per address: a sender that restarted has another log, which may lack an
   * entry its old log had skipped as superseded by a version the old log held above the cursor;
   * resuming the new log at the old cursor let `known` pass an update never received (explorer seed
   * 8787 with cursors kept per address).
   */
  cursors: Map<string, { address: string; to: number }> | undefined;
  /** Per key id, the latest version this log holds of the key (0: none). */
  readonly keyVersion = new VersionColumn();
  /**
   * The entries in version order: key ids and versions, `n` of them (typed arrays of room for more).
   * The versions are 32-bit while every one fits, as an origin's do until its 2^32nd change, and
   * 64-bit floats from the first that does not (`widen`): 8 bytes an entry instead of 12, a million
   * keys of one writer 4-6 MB less on every node (the arrays have up to half again as much room).
   */
  private ids = new Int32Array(16);
  private versions: Uint32Array | Float64Array = new Uint32Array(16);
  private n = 0;
  /** Superseded entries in the arrays. */
  private stale = 0;
  /** Superseded entries the last compaction had to keep (their key's version is above `known`). */
  private kept = 0;
  /**
   * The highest latest version among the keys of the entries the last compaction kept: once `known`
   * reaches it, every one of them is droppable (or superseded again, and counted again).
   */
  private keptUntil = 0;

  constructor(origin: string) {
    [this.seedHi, this.seedLo] = originSeed(origin);
  }

  /** Entries in the arrays, live and superseded. */
  get length(): number {
    return this.n;
  }

  record(id: number, version: number): boolean {
    const n = this.n;
    // Stryker disable next-line ConditionalExpression: equivalent, with no entry the test below does not read `last`
    const last = n === 0 ? 0 : (this.versions[n - 1] as number);
    // Stryker disable next-line all: equivalent but for work, the checked path below records the same
    if (n === 0 || last < version) {
      // Above every version in the log, so above the key's (every version the column holds is in
      // the arrays): one column write, no lookup first.
      if (this.keyVersion.set(id, version) !== 0) this.stale++;
      this.append(id, version);
    } else {
      const prev = this.keyVersion.get(id);
      // Stryker disable next-line EqualityOperator: equivalent but for work, recordSuperseded refuses an entry it holds
      if (prev > version) return this.recordSuperseded(id, version, prev);
      // Stryker disable next-line ConditionalExpression: equivalent but for work, a stale count too high only sends scans down the checking path until the next compaction recounts it
      if (prev !== 0) {
        if (prev === version) return false;
        this.stale++;
      }
      this.keyVersion.set(id, version);
      // Stryker disable next-line ConditionalExpression: equivalent, inserting at the upper bound of the last version is appending
      if (last === version) this.append(id, version);
      else this.insertAt(upperBound(this.versions, n, version), id, version);
    }
    this.compactIfWorth();
    return true;
  }

  /**
   * An entry older than the key's latest (`latest`), which arrived after it: two transfers
   * overlapped. While `latest` lies above `known` it is kept as a superseded entry, for the same
   * reason a compaction keeps one: a range that stops at `known` must carry the key at this version.
   * Refused, a peer that sent a cut chunk holding the key's later version and then a complete range
   * ending at this one left `known` covering a change its log showed nowhere at or below `known`,
   * and this node's next range to a third node claimed the change without the key (explorer seed
   * 862383: the third node's known version overclaimed a write it lacked).
   */
  private recordSuperseded(id: number, version: number, latest: number): boolean {
    if (latest <= this.known) return false; // the later version is held and covered: nothing to carry
    const at = upperBound(this.versions, this.n, version);
    // Held already (each version of an origin is one change of one key, so one entry at most).
    // Stryker disable next-line ConditionalExpression: equivalent, before index 0 a version reads as undefined and ends the loop
    for (let i = at - 1; i >= 0 && this.versions[i] === version; i--) if (this.ids[i] === id) return false;
    this.stale++;
    this.insertAt(at, id, version);
    this.compactIfWorth();
    return true;
  }

  /** Makes room for one more entry: the arrays grow by half when full. */
  private roomForOne(): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for work, growing before the arrays are full leaves room as growing when full does
    if (this.n === this.ids.length) this.resize(Math.ceil(this.n * 1.5) + 16);
  }

  private append(id: number, version: number): void {
    this.roomForOne();
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for memory, widening sooner holds the same versions
    if (version > NARROW_VERSION) this.widen();
    this.ids[this.n] = id;
    this.versions[this.n] = version;
    this.n++;
  }

  /**
   * Out of order (two transfers overlapped): inserted at its place to keep the scan order. Never
   * past the end (a later version is in the arrays), so a version too wide for them has widened
   * them already.
   */
  private insertAt(i: number, id: number, version: number): void {
    this.roomForOne();
    this.ids.copyWithin(i + 1, i, this.n);
    this.versions.copyWithin(i + 1, i, this.n);
    this.ids[i] = id;
    this.versions[i] = version;
    this.n++;
  }

  /** Versions in 64-bit floats from now on: one above NARROW_VERSION is to be held. */
  private widen(): void {
    // Stryker disable next-line ConditionalExpression: equivalent but for work, widening wide arrays copies the same versions
    if (this.versions instanceof Float64Array) return;
    this.versions = Float64Array.from(this.versions);
  }

  private resize(capacity: number): void {
    const ids = new Int32Array(capacity);
    const versions = this.versions instanceof Uint32Array ? new Uint32Array(capacity) : new Float64Array(capacity);
    ids.set(this.ids.subarray(0, this.n));
    versions.set(this.versions.subarray(0, this.n));
    this.ids = ids;
    this.versions = versions;
  }

  /**
   * A local change of key `id` at `version`, which becomes `known` at once (the caller advances it). If
   * the key's previous entry is the last one, it is replaced in place: once `known` reaches `version`
   * a superseded entry is dropped by the next compaction and skipped by every scan, so replacing it
   * now changes nothing but the work (a hot key written over and over, as in redis-benchmark's INCR,
   * compacted every 65 writes).
   */
  recordLocal(id: number, version: number): void {
    const n = this.n;
    // Stryker disable next-line all: equivalent but for work, record() gives the same scans (the entry replaced here is superseded at a version `known` covers)
    if (n !== 0 && this.ids[n - 1] === id) {
      const last = this.versions[n - 1] as number;
      // Stryker disable next-line all: equivalent but for work, record() gives the same scans (as above)
      if (last < version && this.keyVersion.replace(id, last, version)) {
        // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for memory, widening sooner holds the same versions
        if (version > NARROW_VERSION) this.widen();
        this.versions[n - 1] = version;
        return;
      }
    }
    this.record(id, version);
  }

  /** Drops key `id`'s entries (a collected tombstone): compaction then reclaims them. */
  forget(id: number): void {
    if (!this.keyVersion.delete(id)) return;
    this.stale++;
    this.compactIfWorth();
  }

  /**
   * Compacts once over half the entries are superseded and droppable (and more than 64). Called
   * after each record and each advance of `known`: the entries a compaction had to keep become
   * droppable only when `known` passes their key's later version, which is what an advance does.
   * (Checked on records alone, a key a peer changes every round was compacted while its newest
   * version, just recorded, was still above `known`: every older entry of it was kept, and the
   * log grew by one entry per round for ever.)
   */
  compactIfWorth(): void {
    // Stryker disable next-line all: equivalent but for work, counting kept entries droppable sooner only compacts more often, and a compaction keeps exactly what is needed
    if (this.kept > 0 && this.known >= this.keptUntil) this.kept = 0;
    // Stryker disable next-line ArithmeticOperator: equivalent but for memory and work (as below)
    const droppable = this.stale - this.kept;
    // Stryker disable next-line all: equivalent but for memory and work, a compaction never changes what a scan shows (the reclaim tests bound the memory)
    if (droppable > 64 && droppable > this.n / 2) this.compact();
  }

  /**
   * Calls `visit(id, version)` for the entries with version > `after`, in version order, until it
   * returns false: live ones, and superseded ones still kept (whose key's later version lies above
   * `known`, so a range that stops at `known` must carry the key at its older version).
   */
  scan(after: number, visit: (id: number, version: number) => boolean): void {
    const { ids, versions } = this;
    // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent but for work, the checking loop below visits the same entries when none is stale
    if (this.stale === 0) {
      // No entry is superseded or forgotten (`stale` counts every one the arrays still hold): each
      // is its key's latest, so none needs the lookup below. The usual case under a bulk load of
      // new keys.
      for (let i = upperBound(versions, this.n, after); i < this.n; i++) {
        if (!visit(ids[i] as number, versions[i] as number)) return;
      }
      return;
    }
    for (let i = upperBound(versions, this.n, after); i < this.n; i++) {
      const v = versions[i] as number;
      const id = ids[i] as number;
      const latest = this.keyVersion.get(id);
      // Stryker disable next-line ConditionalExpression: equivalent, the next test skips it too (0 is never above known)
      if (latest === 0) continue; // forgotten: its key was collected
      if (latest !== v && latest <= this.known) continue; // superseded, and the later version is held
      if (!visit(id, v)) return;
    }
  }

  /** Whether a `scan` may visit a key twice: only while the arrays hold superseded entries. */
  get mayRepeat(): boolean {
    return this.stale !== 0;
  }

  /** Calls `visit(id)` for every key this log holds. */
  eachKey(visit: (id: number) => void): void {
    for (let i = 0; i < this.n; i++) {
      const id = this.ids[i] as number;
      if (this.keyVersion.get(id) === this.versions[i]) visit(id);
    }
  }

  /** Drops the superseded entries whose later version is held, in place. */
  private compact(): void {
    const { ids, versions } = this;
    let w = 0;
    let kept = 0;
    let keptUntil = 0;
    for (let i = 0; i < this.n; i++) {
      const id = ids[i] as number;
      const v = versions[i] as number;
      const latest = this.keyVersion.get(id);
      // Stryker disable next-line EqualityOperator,ConditionalExpression: equivalent but for memory, an entry kept at latest = known is skipped by every scan; a forgotten key's (latest 0) fails the test after it too
      if (latest !== 0 && (latest === v || latest > this.known)) {
        // Stryker disable next-line ConditionalExpression: equivalent but for work, counting a live entry as kept only delays the next compaction until known passes it
        if (latest !== v) {
          kept++;
          // Stryker disable next-line all: equivalent but for work, as above
          if (latest > keptUntil) keptUntil = latest;
        }
        ids[w] = id;
        versions[w] = v;
        w++;
      }
    }
    this.n = w;
    this.kept = kept;
    this.keptUntil = keptUntil;
    this.stale = kept;
    // Stryker disable next-line all: equivalent but for memory, how far the arrays shrink (a test bounds it)
    if (w + 16 < ids.length / 4) this.resize(w * 2 + 16);
  }
}

/** The highest version a log's 32-bit array holds. */
const NARROW_VERSION = 0xffffffff;

/** First index i < n with a[i] > x (a[0..n) sorted ascending), or n. */
function upperBound(a: Uint32Array | Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Per-origin seeds of the entry hash, computed once per origin (a local write must not rehash the id). */
function originSeed(origin: string): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < origin.length; i++) {
    const c = origin.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return [h1 >>> 0, h2 >>> 0];
}

/** The high word of a 64-bit digest of (origin, version); vectors XOR-combine these incrementally. */
function entryHashHi(log: OriginLog, version: number): number {
  const h1 = Math.imul(log.seedHi ^ version ^ (log.seedHi >>> 15), 0x85ebca6b) ^ Math.imul(version | 0, 0x27d4eb2f);
  const h2 = Math.imul(log.seedLo ^ Math.floor(version / 4294967296) ^ (log.seedLo >>> 13), 0xc2b2ae35) ^ h1;
  const a = Math.imul(h1 ^ (h1 >>> 16), 0x9e3779b1);
  const b = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca77);
  return (a ^ (b >>> 7)) >>> 0;
}

/** The low word of the same digest. */
function entryHashLo(log: OriginLog, version: number): number {
  const h1 = Math.imul(log.seedHi ^ version ^ (log.seedHi >>> 15), 0x85ebca6b) ^ Math.imul(version | 0, 0x27d4eb2f);
  const h2 = Math.imul(log.seedLo ^ Math.floor(version / 4294967296) ^ (log.seedLo >>> 13), 0xc2b2ae35) ^ h1;
  const a = Math.imul(h1 ^ (h1 >>> 16), 0x9e3779b1);
  const b = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca77);
  return (b ^ (a >>> 11)) >>> 0;
}


export class VersionLog {
  private readonly origins = new Map<string, OriginLog>();
  private hashHi = 0;
  private hashLo = 0;
  /**
   * Origins whose `known` moved since the hash was last read. The hash is folded in lazily: a local
   * write only lists its origin here (once), and reading `hash` (a few times per gossip round) does
   * the XOR work, instead of every write doing it.
   */
  private readonly knownPending: OriginLog[] = [];
  private readonly advertisedPending: OriginLog[] = [];
  private advHi = 0;
  private advLo = 0;

  /**
   * `gated`: advertise only what `markDurable` says is on disk (persistence `always`: a peer that
   * crashes right after acknowledging must still hold what it acknowledged). Otherwise what is
   * advertised is what is held.
   */
  constructor(
    private readonly gated = false,
    /** This node's own origin: always advertised as held (peers never count us toward our own writes). */
    private readonly ownOrigin?: string,
    /**
     * The ids of the keys (the node's key table): a key not held there has no entry, since there is
     * nothing to send of it. Without one, the log numbers keys itself.
     */
    private readonly ids: KeyIds = new OwnKeyIds(),
  ) {}

  /**
   * Records a change of `key` by `origin` at `version` (local changes and remote entries alike).
   * An older version than the key's latest is kept, as superseded, while the latest lies above
   * `known`. False: not recorded (this entry is held, or a later one that `known` covers, or the
   * key is not held at all).
   */
  record(origin: string, key: string, version: number): boolean {
    return this.recordId(origin, this.ids.idOf(key), version);
  }

  /** `record` by the key's id (-1: a key not held, not recorded). */
  recordId(origin: string, id: number, version: number): boolean {
    if (id < 0) return false;
    return this.log(origin).record(id, version);
  }

  /** A local change of `key` by this node's own `origin` at `version`, which becomes its known version. `id`: the key's, when the caller holds its entry. */
  recordLocal(origin: string, key: string, version: number, id = this.ids.idOf(key)): void {
    if (id >= 0) this.log(origin).recordLocal(id, version);
    this.advance(origin, version);
  }

  /**
   * A restart rebuilds an earlier incarnation's log from the stamps on disk: every key at its
   * stamped version, and `known` (advertised at once: it is on disk) at the highest of them. That
   * claim holds: commits are written in order, each with the current state of every key changed
   * before it, so the disk that holds the change at the highest version holds every earlier one
   * (a change whose key a later incarnation changed again is held as part of that later state).
   */
  restore(origin: string, stamps: Iterable<[string, number]>): void {
    const log = this.log(origin);
    let top = 0;
    // In version order: the log appends in order (an out-of-order entry is an insertion).
    // Stryker disable next-line MethodExpression,ArithmeticOperator: equivalent but for work, the log inserts an out-of-order record at its place
    for (const [key, version] of [...stamps].sort((a, b) => a[1] - b[1])) {
      const id = this.ids.idOf(key);
      if (id >= 0) log.record(id, version);
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, in ascending order the last version is the highest
      if (version > top) top = version;
    }
    this.advance(origin, top);
    this.advertise(log, log.known);
  }

  /**
   * Forgets `key` in every origin's log (its tombstone was collected). Known versions stay: a range
   * that covered it still claims its version, and a peer that gets the range without the key holds
   * the same nothing we do (collection waited until every member held the tombstone).
   */
  forget(key: string): void {
    const id = this.ids.idOf(key);
    // Stryker disable next-line ConditionalExpression: equivalent, no page is at a negative id's index
    if (id >= 0) this.forgetId(id);
  }

  /** `forget` by the key's id: the key table's, for a key it no longer holds, before it reuses the id. */
  forgetId(id: number): void {
    for (const log of this.origins.values()) log.forget(id);
  }

  /**
   * Drops the entries of `origin` (a folded one: slot-folds.ts) whose key another origin's log
   * holds too, and returns how many went. Its known version stays, and so does every entry no other
   * log holds: each key stays in some log, so a node that starts from nothing is still sent every
   * key, with its current state, by some origin's range.
   */
  dropCovered(origin: string): number {
    const log = this.origins.get(origin);
    if (log === undefined) return 0;
    // Only logs that hold entries (every folded origin keeps its known version, most no entries).
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for work, a log without entries holds no key
    const others = [...this.origins].filter(([o, l]) => o !== origin && l.keyVersion.size > 0).map(([, l]) => l.keyVersion);
    const covered: number[] = [];
    log.eachKey((id) => {
      if (others.some((kv) => kv.has(id))) covered.push(id);
    });
    for (const id of covered) log.forget(id);
    return covered.length;
  }

  /** The version at which `origin`'s log holds `key` (0: none). */
  versionOf(origin: string, key: string): number {
    return this.versionOfId(origin, this.ids.idOf(key));
  }

  /** `versionOf` by the key's id (-1: a key not held, at 0). */
  versionOfId(origin: string, id: number): number {
    // Stryker disable next-line ConditionalExpression: equivalent, no page is at a negative id's index
    if (id < 0) return 0;
    return this.origins.get(origin)?.keyVersion.get(id) ?? 0;
  }

  /** The known (gap-free) version of an origin. */
  known(origin: string): number {
    return this.origins.get(origin)?.known ?? 0;
  }

  /**
   * Where a transfer of `origin` from the sender whose own origin is `sender` resumes: `known`, or
   * that sender's own cut transfer's cursor (another sender's chunks, or the same node's before it
   * restarted, may have skipped keys this one would not).
   */
  resumeAt(origin: string, sender: string): number {
    const log = this.origins.get(origin);
    if (log === undefined) return 0;
    return Math.max(log.known, log.cursors?.get(sender)?.to ?? 0);
  }

  /**
   * When (replica clock) a cut transfer last delivered a chunk to this node: while one is under way,
   * this node holds states its vector does not show yet (anti-entropy.ts holds repairs back).
   */
  lastChunkAt = -Infinity;

  /**
   * Records that a transfer cut at the size limit by `sender` (its origin), at `address`, delivered
   * `origin` up to `version`, at `now`.
   */
  advanceCursor(origin: string, version: number, sender: string, address: string, now: number): void {
    this.lastChunkAt = now;
    const log = this.log(origin);
    if (version <= log.known) return;
    if (log.cursors === undefined) log.cursors = new Map();
    const c = log.cursors.get(sender);
    if (c === undefined) log.cursors.set(sender, { address, to: version });
    else if (version > c.to) c.to = version;
  }

  /**
   * A frame from `sender` arrived from `address`: the cursors of any other sender at that address (an
   * earlier incarnation of the node there) are dropped, since nothing will resume them, and digests
   * to that address show the new sender's cursors only.
   */
  senderAt(address: string, sender: string): void {
    for (const log of this.origins.values()) {
      if (log.cursors === undefined) continue;
      for (const [s, c] of log.cursors) if (c.address === address && s !== sender) log.cursors.delete(s);
      if (log.cursors.size === 0) log.cursors = undefined;
    }
  }

  /** Whether a cut transfer from a peer for which `streaming(address)` holds is still ahead of `known` for some origin. */
  cursorFrom(streaming: (address: string) => boolean): boolean {
    for (const log of this.origins.values()) {
      if (log.cursors === undefined) continue;
      for (const c of log.cursors.values()) if (c.to > log.known && streaming(c.address)) return true;
    }
    return false;
  }

  /** Raises the known version of `origin` to `version` (never lowers it), keeping the hash current. */
  advance(origin: string, version: number): void {
    const log = this.log(origin);
    if (version <= log.known) return;
    log.known = version;
    log.compactIfWorth();
    if (log.cursors !== undefined) {
      for (const [sender, c] of log.cursors) if (c.to <= version) log.cursors.delete(sender);
      if (log.cursors.size === 0) log.cursors = undefined;
    }
    if (!log.knownQueued) {
      log.knownQueued = true;
      this.knownPending.push(log);
    }
    if (!this.gated || origin === this.ownOrigin) this.advertise(log, version);
  }

  private advertise(log: OriginLog, version: number): boolean {
    if (version <= log.advertised) return false;
    log.advertised = version;
    if (!log.advertisedQueued) {
      log.advertisedQueued = true;
      this.advertisedPending.push(log);
    }
    return true;
  }

  /** What this node advertises holding of `origin` (its known version, or under gating its durable part). */
  advertised(origin: string): number {
    return this.origins.get(origin)?.advertised ?? 0;
  }

  /** Under gating: the known versions not yet advertised, to hand to `markDurable` once what is held now is on disk. */
  durabilityMark(): Map<string, number> {
    const mark = new Map<string, number>();
    for (const [origin, log] of this.origins) if (log.known > log.advertised) mark.set(origin, log.known);
    return mark;
  }

  /** What `mark` named is on disk: advertise it. Returns the origins whose advertised version rose. */
  markDurable(mark: ReadonlyMap<string, number>): string[] {
    const raised: string[] = [];
    for (const [origin, version] of mark) {
      const log = this.origins.get(origin);
      if (log !== undefined && this.advertise(log, Math.min(version, log.known))) raised.push(origin);
    }
    return raised;
  }

  private log(origin: string): OriginLog {
    // Stryker disable next-line ConditionalExpression: equivalent but for work, the Map holds the same log
    if (origin === this.lastOrigin) return this.lastLog as OriginLog;
    let log = this.origins.get(origin);
    if (log === undefined) {
      log = new OriginLog(origin);
      this.origins.set(origin, log);
    }
    this.lastOrigin = origin;
    this.lastLog = log;
    return log;
  }

  /**
   * The origin `log` last looked up, and its log (logs are never dropped): every local write looks up
   * this node's own twice, and the Map lookups by its string were 2% of a node's time under INCR at
   * depth 16 (`perf record`).
   */
  private lastOrigin: string | undefined;
  private lastLog: OriginLog | undefined;

  private xor(log: OriginLog, version: number): void {
    this.hashHi = (this.hashHi ^ entryHashHi(log, version)) >>> 0;
    this.hashLo = (this.hashLo ^ entryHashLo(log, version)) >>> 0;
  }

  /** A 16-hex-digit digest of the known vector (what is held); equal vectors have equal hashes. */
  get hash(): string {
    for (const log of this.knownPending) {
      if (log.hashedKnown > 0) this.xor(log, log.hashedKnown);
      this.xor(log, log.known);
      log.hashedKnown = log.known;
      log.knownQueued = false;
    }
    this.knownPending.length = 0;
    return this.hashHi.toString(16).padStart(8, '0') + this.hashLo.toString(16).padStart(8, '0');
  }

  /** The same digest of the advertised vector (what digests carry); equal to `hash` without gating. */
  get advertisedHash(): string {
    if (!this.gated) return this.hash;
    for (const log of this.advertisedPending) {
      if (log.hashedAdvertised > 0) this.xorAdv(log, log.hashedAdvertised);
      this.xorAdv(log, log.advertised);
      log.hashedAdvertised = log.advertised;
      log.advertisedQueued = false;
    }
    this.advertisedPending.length = 0;
    return this.advHi.toString(16).padStart(8, '0') + this.advLo.toString(16).padStart(8, '0');
  }

  private xorAdv(log: OriginLog, version: number): void {
    this.advHi = (this.advHi ^ entryHashHi(log, version)) >>> 0;
    this.advLo = (this.advLo ^ entryHashLo(log, version)) >>> 0;
  }

  /**
   * The digest for the peer at `to`: the advertised version per origin, with the resume cursor of a
   * transfer that peer cut (so it continues where it stopped; any other peer starts from `known`).
   */
  vector(to?: string): VectorEntry[] {
    const out: VectorEntry[] = [];
    for (const [origin, log] of this.origins) {
      let cursor = 0;
      if (to !== undefined && log.cursors !== undefined) for (const c of log.cursors.values()) if (c.address === to && c.to > cursor) cursor = c.to;
      if (cursor > log.known) out.push({ origin, known: log.advertised, cursor });
      else if (log.advertised > 0) out.push({ origin, known: log.advertised });
    }
    return out;
  }

  get originCount(): number {
    return this.origins.size;
  }

  /** Visits entries of `origin` above `after` in version order until `visit` returns false. */
  scan(origin: string, after: number, visit: (key: string, version: number, id: number) => boolean): void {
    const { ids } = this;
    this.origins.get(origin)?.scan(after, (id, version) => {
      const key = ids.keyOf(id);
      // A key the table dropped (collected: forgotten at once, before its id is given again).
      // Stryker disable next-line all: unreachable through the key table, which has the logs forget an id as it drops its key
      return key === undefined ? true : visit(key, version, id);
    });
  }

  /**
   * Whether a `scan` of `origin` may visit one key more than once (a superseded entry kept beside
   * the key's later one). False: every key it visits is visited once.
   */
  scanMayRepeat(origin: string): boolean {
    return this.origins.get(origin)?.mayRepeat ?? false;
  }

  /** Origins this log knows of, with their known versions. */
  entries(): IterableIterator<[string, { known: number }]> {
    return this.origins.entries();
  }

  /** The origin ids this log holds entries or a known version of. */
  originIds(): IterableIterator<string> {
    return this.origins.keys();
  }

  /**
   * Entries held in the logs' arrays, superseded ones not yet compacted away included: at most
   * about twice `entryCount` plus 64 per origin, beside the entries a transfer in flight needs.
   */
  cellCount(): number {
    let n = 0;
    for (const log of this.origins.values()) n += log.length;
    return n;
  }

  /** Number of (origin, key) entries: the log's memory grows with this. */
  entryCount(): number {
    let n = 0;
    for (const log of this.origins.values()) n += log.keyVersion.size;
    return n;
  }
}
