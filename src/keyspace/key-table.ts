// The key table under the keyspace: key -> entry, with each key's life (TTL and epoch, life.ts),
// change notification, the merge of remote state, the wire form of a key, and the state digest.
// keyspace.ts builds the typed operations (counters, HLL, windows, sketches) on top of it.
// Keys are full keys (full-key.ts): the database char, then the key's bytes as latin1.

import type { ByteWriter } from '../crdt/codec.js';
import { HyperLogLog } from '../crdt/hyperloglog.js';
import type { ReplicaId } from '../crdt/replica-id.js';
import { encodeKeyState, isLive, mergeSameType, splitState, tagOf, type TypedCrdt } from '../crdt/registry.js';
import { err, ok, type Result } from '../util/result.js';
import * as errors from '../errors.js';
import type { ChangeListener, ChangeOrigin, Entry, KeyType, KeyspaceError } from './types.js';
import { digestBucket, hashEncoded, StateDigest, type StateHash } from './state-digest.js';
import { hash64Lo } from '../crdt/hash64.js';
import { CrdtError } from '../crdt/errors.js';
import { KeyCounts } from './key-counts.js';
import { COMPACT_MAX, KeyColumns } from './key-columns.js';
import { CompactKeys } from './compact-keys.js';
import { encodeWithLife, expired, isNoLife, joinTtl, NO_LIFE, withTtl, type Life } from './life.js';
import { IdSet } from './id-set.js';
import { KeyIndex } from './key-index.js';
import { fullKeyAt } from './full-key.js';
import { currentAsKept, decodeKey, entryFor, entryOf, type CounterEntry, husk, HUSK_COUNTER, isEmptyState, isHusk, isHuskState, liveCount, MAX_KEY_ID, maxKeyBytesFor, nextEpoch, statesOf, withLife } from './entries.js';
import type { Clock } from '../util/clock.js';
import { SeededRng, type Rng } from '../util/rng.js';

/** The slot folds a counter holding slots `ids` needs, in order, or undefined (replication/slot-folds.ts). */
export type FoldsFor = (ids: readonly ReplicaId[]) => readonly (readonly [ReplicaId, ReplicaId])[] | undefined;

/** A G- or PN-Counter state. */
type CounterState = Extract<TypedCrdt, { type: 'pncounter' | 'gcounter' }>;

/** Folds one state's retired slots if it is a counter. Returns whether it changed. */
export function foldCounterSlots(type: KeyType, crdt: TypedCrdt['crdt'], foldsFor: FoldsFor): boolean {
  if (type !== 'pncounter' && type !== 'gcounter') return false;
  const c = crdt as CounterState['crdt'];
  const folds = foldsFor(c.slotIds());
  if (folds === undefined) return false;
  let changed = false;
  for (const [from, into] of folds) if (c.foldSlot(from, into)) changed = true;
  return changed;
}

/** A key whose whole encoding is its counter's: one state (a G- or PN-Counter), no life, still its key's. */
function plainCounter(e: Entry): e is CounterEntry {
  return e.others === undefined && e.life === undefined && e.superseded !== true && (e.type === 'pncounter' || e.type === 'gcounter');
}

/** Most encodings `encodeKey` keeps (the cache is emptied when full). */
const ENCODED_CACHE_KEYS = 4096;
/**
 * Encodings shorter than this are not cached: encoding them again (a counter of a few slots) costs
 * less than the cache's own Map work. Caching every encoding cost 16% of the CPU of a 300,000-key
 * catch-up in the simulator, where the cache was emptied every 4,096 keys and never hit.
 */
const ENCODED_CACHE_MIN_BYTES = 128;

/** The clock of a keyspace given none: its keys never expire. */
const NEVER: Clock = { now: () => 0 };

export class KeyTable {
  /** Each key's current entry (or compact cell), by key and by id (key-index.ts). */
  protected readonly entries: KeyIndex<Entry>;
  private listeners: ChangeListener[] = [];
  /** What the table keeps of each key by its id: its shares of the digest and the counts. */
  private readonly columns = new KeyColumns();
  private readonly digest = new StateDigest(this.columns);
  /** Live keys per database and type, tombstones, slots, bytes: folded in with the digest. */
  private readonly counts = new KeyCounts(this.columns);
  private conflictListener: ((key: string, types: KeyType[]) => void) | undefined;
  /** Merges that left a key live as two types at once (a concurrent creation; docs/crdt-counters.md, "Types"). */
  typeConflicts = 0;

  /** Encodings of recently encoded keys, each until its key changes (`encodeKey`). */
  private readonly encoded = new Map<string, { tag: number; bytes: Uint8Array }>();

  /** The ids of the keys with a TTL (for the sweep of expired keys). */
  private readonly expiring = new IdSet();
  private clock: Clock;

  /**
   * `clock` decides when keys with a TTL expire (the node's clock; the replica's virtual one in the
   * simulator). Without one, nothing ever expires.
   */
  constructor(
    protected replica: ReplicaId,
    options: { clock?: Clock; hllPrecision?: number; maxMessageBytes?: number; rng?: Rng; compact?: boolean } = {},
  ) {
    this.clock = options.clock ?? NEVER;
    this.compact = options.compact ?? true;
    // The key index's hash seeds: at random on a node (so keys cannot be chosen to collide), alike in
    // every table given no rng (a simulation replays the same).
    const rng = options.rng ?? new SeededRng(0);
    this.entries = new KeyIndex<Entry>(MAX_KEY_ID, () => rng.int(0x1_0000_0000) | 0);
    this.entries.setPromote((id) => this.promote(id));
    this.hllPrecision = options.hllPrecision ?? HyperLogLog.DEFAULT_PRECISION;
    this.maxMessageBytes = options.maxMessageBytes ?? Infinity;
    this.maxKeyBytes = maxKeyBytesFor(this.maxMessageBytes);
    this.keyTooLong = { code: 'INVALID', message: errors.keyTooLong(this.maxKeyBytes) };
  }

  /** The longest key this keyspace creates (full keys hold one more char: the database). */
  readonly maxKeyBytes: number;
  protected readonly keyTooLong: KeyspaceError;

  /** The frame limit this keyspace was built for (a copy of it is built alike). */
  get frameLimit(): number {
    return this.maxMessageBytes;
  }

  protected readonly hllPrecision: number;
  /** The cluster's gossip frame limit (replication's `maxMessageBytes`): what one indivisible state must fit. */
  protected readonly maxMessageBytes: number;

  /** Whether a clock was given (the replica gives its own to a keyspace without one). */
  get hasClock(): boolean {
    return this.clock !== NEVER;
  }

  setClock(clock: Clock): void {
    this.clock = clock;
  }

  /** The replica id local increments are written under (changes at each incarnation). */
  get replicaId(): ReplicaId {
    return this.replica;
  }

  setReplicaId(id: ReplicaId): void {
    this.replica = id;
    this.ownSlot = -1;
    // A new slot id: nothing of it was ever collected.
    this.slotBases.clear();
  }

  // ---- tombstone collection (replication/tombstone-gc.ts decides when) -------------------------

  /**
   * Per collected key in which this replica's own slot was not zero, the value that slot had
   * (increments `p`, decrements `n`), under the current id. A slot this replica creates in that key
   * afterwards starts there, floor and all (a dead contribution), so its new increments lie above
   * whatever a peer that has not yet collected the same tombstone holds of it: without this,
   * `INCR k` after k's tombstone was dropped here would write 1 into a slot that peers still hold at,
   * say, 5 with floor 5, and be hidden. Per key, not one base for every key: a single base taken from
   * a counter that had reached 2^53-1 left no room in any new key (the Redis oracle's
   * `INCRBY a 9007199254740991` after a FLUSHALL). So a collected key this node wrote keeps this
   * small record (its other replicas' slots, its entry and its log entries go).
   */
  protected readonly slotBases = new Map<string, { p: number; n: number }>();

  /** Tombstones collected since this keyspace was created (INFO, /metrics). */
  collected = 0;

  /**
   * Whether `e` is a tombstone that collection may drop: a deleted G- or PN-Counter (an observed
   * reset that saw every slot), of one type, that never had a TTL or an expiry (its life is the
   * default). Other tombstones are kept: a deleted HLL, window or sketch is a generation and an
   * expired key an epoch, registers that order later writes on every node, and a TTL register
   * orders later EXPIREs; dropping them here while a peer still holds them would let that peer's
   * register win over a later write (docs/crdt-counters.md, "Tombstone collection").
   */
  static collectible(e: Entry): boolean {
    return (e.type === 'pncounter' || e.type === 'gcounter') && e.others === undefined && (e.life === undefined || isNoLife(e.life)) && !isLive(e);
  }

  /** Number of entries `collectible` would drop now. */
  collectibleCount(): number {
    let n = 0;
    // A compact key is a live counter: never collectible, so only entries are walked.
    for (const e of this.entries.entries()) if (KeyTable.collectible(e)) n++;
    return n;
  }

  /**
   * Drops every collectible tombstone (the caller has established that every member holds it, or a
   * later state of the key, durably: tombstone-gc.ts). Returns the keys dropped; listeners hear
   * 'collect' for each (the store then removes its record).
   */
  collectTombstones(dropped?: (key: string, state: { tag: number; bytes: Uint8Array }) => void): string[] {
    const out: string[] = [];
    // A collectible key is a tombstone, so with none counted there is nothing to walk a million keys for.
    this.fold();
    // Stryker disable next-line ConditionalExpression: equivalent but for work, a walk with no tombstone collects nothing
    if (this.counts.tombstones === 0) return out;
    for (const e of this.entries.entries()) {
      if (!KeyTable.collectible(e)) continue;
      const key = e.key as string;
      if (dropped !== undefined) {
        const enc = this.encodeKey(key);
        if (enc !== undefined) dropped(key, enc);
      }
      if (e.type === 'pncounter' || e.type === 'gcounter') {
        const own = e.crdt.slotOf(this.replica);
        if (own.p > 0 || own.n > 0) {
          const b = this.slotBases.get(key);
          this.slotBases.set(key, { p: Math.max(own.p, b?.p ?? 0), n: Math.max(own.n, b?.n ?? 0) });
        }
      }
      if (this.expiring.size !== 0) this.expiring.delete(e.id as number);
      // Its shares leave the digest and the counts while its id still names them; then the id goes.
      this.digest.removed(e, key);
      this.counts.remove(key, e);
      this.retireId(e);
      e.superseded = true;
      if (this.encoded.size !== 0) this.encoded.delete(key);
      out.push(key);
    }
    this.collected += out.length;
    for (const key of out) for (const l of this.listeners) l(key, 'collect', -1);
    return out;
  }

  // ---- pruning of retired slots (replication/slot-folds.ts) --------------------------------------

  /** Every replica id that holds a slot in some counter (G- or PN-, tombstones too): the evidence slot pruning plans from. */
  counterSlotIds(): Set<ReplicaId> {
    const out = new Set<ReplicaId>();
    // With no array per key: it walks every key at once, when a collection decision passes (a
    // state object and two arrays per key took 50-80 ms at a million keys, in process).
    this.entries.forEachCell((e, id) => {
      if (typeof e === 'string') {
        this.compactKeys.addIdsTo(id, out);
        return;
      }
      if (e.type === 'pncounter' || e.type === 'gcounter') e.crdt.addSlotIdsTo(out);
      const others = e.others;
      if (others !== undefined) for (const s of others) if (s.type === 'pncounter' || s.type === 'gcounter') s.crdt.addSlotIdsTo(out);
    });
    return out;
  }

  /**
   * Folds the retired slots `foldsFor` names in every counter of every key (the caller holds the
   * evidence: replication/slot-folds.ts). Values do not change; the keys do, so listeners hear
   * 'remote' for each key changed (the store writes it). Returns how many keys changed.
   */
  foldSlots(foldsFor: FoldsFor): number {
    let n = 0;
    for (const key of this.entries.keys()) if (this.foldEntry(key, foldsFor)) n++;
    return n;
  }

  /** A fold of every key under way (`startFold`): what it folds by, and the keys still to visit. */
  private foldPass: { foldsFor: FoldsFor; keys: IterableIterator<string> } | undefined;

  /**
   * Starts folding every key by `foldsFor` a slice at a time (`foldStep`), so that a million keys
   * do not hold the event loop for a second. Until the pass has reached a key, a merge into it
   * folds it first: a state folded by these bounds never meets one that is not. Replaces a pass
   * under way (the new bounds are higher).
   */
  startFold(foldsFor: FoldsFor): void {
    // Keys added during the pass take ids above its place, so it reaches them (key-index.ts).
    this.entries.holdIds = true;
    this.foldPass = { foldsFor, keys: this.entries.keys() };
  }

  /** Folds up to `budget` more keys of the pass under way (none: 0). Returns how many changed. */
  foldStep(budget: number): number {
    const pass = this.foldPass;
    if (pass === undefined) return 0;
    let n = 0;
    while (budget-- > 0) {
      const next = pass.keys.next();
      if (next.done === true) {
        this.foldPass = undefined;
        this.entries.holdIds = false;
        break;
      }
      if (this.foldEntry(next.value, pass.foldsFor)) n++;
    }
    return n;
  }

  /** Whether a fold pass is under way. */
  get folding(): boolean {
    return this.foldPass !== undefined;
  }

  private foldEntry(key: string, foldsFor: FoldsFor): boolean {
    const id = this.entries.idOf(key);
    // Stryker disable next-line BooleanLiteral: equivalent, only a merge asks about a key not held, and it reads no answer
    if (id < 0) return false;
    // A compact key whose slots no fold names stays compact; one that some fold names becomes an entry and folds as one.
    if (this.entries.isCompact(id) && foldsFor(this.compactKeys.ridsOf(id)) === undefined) return false;
    const e = this.entries.at(id) as Entry;
    let changed = foldCounterSlots(e.type, e.crdt, foldsFor);
    if (e.others !== undefined) for (const s of e.others) if (foldCounterSlots(s.type, s.crdt, foldsFor)) changed = true;
    if (!changed) return false;
    // Folded to what a compact key holds (a key a restarted writer wrote: its old incarnations' slots
    // into the writer's pseudo-slot, beside at most two other writers'), the key is compact again.
    // Its entry still names its id, and the digest reads a queued key by key.
    this.demote(id, e);
    this.changed(e, key, 'remote');
    return true;
  }

  /**
   * Before a local write to counter `key`: a slot of ours that does not exist yet starts at the key's
   * base (floor equal to the slot: it adds nothing to the value). See `slotBases`. Returns whether it
   * changed `c` (a caller whose write then fails must still report the change).
   */
  protected primeOwnSlot(key: string, c: { slotOf(r: ReplicaId): { p: number; n: number }; mergeSlot(r: ReplicaId, p: number, fp: number, n?: number, fn?: number): void }, gcounter: boolean): boolean {
    if (this.slotBases.size === 0) return false;
    const base = this.slotBases.get(key);
    if (base === undefined) return false;
    const { p, n } = base;
    const own = c.slotOf(this.replica);
    if (own.p !== 0 || own.n !== 0) return false;
    if (gcounter) {
      if (p === 0) return false;
      c.mergeSlot(this.replica, p, p);
    } else {
      c.mergeSlot(this.replica, p, p, n, n);
    }
    return true;
  }

  /** Calls `listener` after every change of a key, local or remote. Returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Told when a merge leaves a key live as several types (counted in `typeConflicts`), for the log. */
  onTypeConflict(listener: (key: string, types: KeyType[]) => void): void {
    this.conflictListener = listener;
  }

  /** A key's entry (an expired key's is its next, empty epoch). */
  entry(key: string): Entry | undefined {
    return this.get(key);
  }

  /** The type of a key that exists (tombstones of deleted keys do not). */
  typeOf(key: string): KeyType | undefined {
    const id = this.entries.idOf(key);
    if (id < 0) return undefined;
    if (this.entries.isCompact(id)) return this.compactType(id);
    const e = this.entryAt(id);
    return e && isLive(e) ? e.type : undefined;
  }

  /** Live keys per database, for DBSIZE and INFO keyspace. */
  countByDb(): number[] {
    this.fold();
    return this.counts.byDb();
  }

  /** Live keys per type. */
  countByType(): Record<KeyType, number> {
    this.fold();
    return this.counts.byType();
  }

  /** Every stored key, including tombstones (which replication must still carry). */
  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  get size(): number {
    return this.entries.size;
  }

  /** The wire form of a key's whole state: its type tag and the CRDT codec's bytes. */
  encodeKey(key: string): { tag: number; bytes: Uint8Array } | undefined {
    const id = this.entries.idOf(key);
    if (id < 0) return undefined;
    if (this.entries.isCompact(id)) return this.compactKeys.encode(id);
    const e = this.entryAt(id);
    return e === undefined ? undefined : this.encodeEntry(key, e);
  }

  /**
   * `encodeKey`, given an entry `key` had at some point: encoded as it is while it is still the key's
   * and has no deadline (no lookup), else as `encodeKey` (which also checks the life).
   */
  encodeCurrent(key: string, e: Entry): { tag: number; bytes: Uint8Array } | undefined {
    return currentAsKept(e) ? this.encodeEntry(key, e) : this.encodeKey(key);
  }

  /** `encodeKey` of the entry `e` of `key`, already looked up (and its life checked). */
  private encodeEntry(key: string, e: Entry): { tag: number; bytes: Uint8Array } {
    // Cached until the key changes: a key that just changed goes into the digest and to several
    // peers. Only recent keys: an encoding kept per key (a Uint8Array and its ArrayBuffer) cost about
    // 256 heap bytes, more than the key's state itself. And only long ones (ENCODED_CACHE_MIN_BYTES).
    let enc = this.encoded.size === 0 ? undefined : this.encoded.get(key);
    if (enc === undefined) {
      const inner = e.others === undefined ? { tag: tagOf(e.type), bytes: e.crdt.encode() } : encodeKeyState(statesOf(e).map((s) => ({ tag: tagOf(s.type), bytes: s.crdt.encode() })));
      enc = e.life === undefined ? inner : encodeWithLife(e.life, inner);
      if (enc.bytes.length < ENCODED_CACHE_MIN_BYTES) return enc;
      this.keepEncoding(key, enc);
    }
    return enc;
  }

  /** Keeps a long encoding of `key` until it changes (`encodeEntry`). */
  private keepEncoding(key: string, enc: { tag: number; bytes: Uint8Array }): void {
    // Stryker disable next-line EqualityOperator: equivalent but for memory, one more kept encoding
    if (this.encoded.size >= ENCODED_CACHE_KEYS) this.encoded.clear();
    this.encoded.set(key, enc);
  }

  /**
   * A key's state as parts of at most `maxBytes` encoded bytes each (each state of a key of several
   * types split on its own), whose merge equals the whole state; undefined if some part cannot fit.
   */
  partsOf(key: string, maxBytes: number): { tag: number; bytes: Uint8Array }[] | undefined {
    const e = this.get(key);
    if (e === undefined) return undefined;
    const out: { tag: number; bytes: Uint8Array }[] = [];
    for (const s of statesOf(e)) {
      const parts = splitState(s, maxBytes);
      if (parts === undefined) return undefined;
      // Every part carries the key's life: a part of one epoch never joins another epoch.
      for (const p of parts) out.push(encodeWithLife(e.life ?? NO_LIFE, { tag: tagOf(p.type), bytes: p.crdt.encode() }));
    }
    return out;
  }

  /** Every change of a key goes through here: drop its cached encoding and tell the listeners. */
  protected changed(e: Entry, key: string, origin: ChangeOrigin): void {
    if (this.encoded.size !== 0) this.encoded.delete(key);
    this.digest.changed(e, key);
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) (ls[i] as ChangeListener)(key, origin, e.id as number);
  }

  /**
   * Merges a key's state received from a peer or read from disk. Untrusted bytes: a decode error is
   * returned, and nothing changes.
   */
  mergeRemote(key: string, tag: number, bytes: Uint8Array): Result<boolean, string> {
    const d = decodeKey(key, tag, bytes);
    if (d instanceof CrdtError) return err(d.message);
    return ok(this.mergeDecoded(key, d.states, d.life));
  }

  /**
   * Merges already decoded remote states of one key (which this keyspace then owns): each joins this
   * key's state of its type, or is kept beside the others. Nothing is ever discarded for a type
   * mismatch: a key live as two types (created concurrently as both) shows the one of higher tag,
   * the same on every node, keeps the other, and is counted and reported. Returns whether anything changed.
   */
  mergeDecoded(key: string, incoming: TypedCrdt | readonly TypedCrdt[], incomingLife: Life = NO_LIFE): boolean {
    this.merge(key, incoming, incomingLife);
    return this.mergeChanged;
  }

  /** `mergeDecoded`, returning the key's id afterwards (the key is always held then), not whether it changed. */
  mergeDecodedId(key: string, incoming: TypedCrdt | readonly TypedCrdt[], incomingLife: Life = NO_LIFE): number {
    return this.merge(key, incoming, incomingLife);
  }

  /** Whether the last `merge` changed its key. */
  // Stryker disable next-line BooleanLiteral: equivalent, merge() sets it before anything reads it
  private mergeChanged = false;

  /** `mergeDecoded`'s work: returns the key's id afterwards, and sets `mergeChanged`. */
  private merge(key: string, incoming: TypedCrdt | readonly TypedCrdt[], incomingLife: Life): number {
    this.mergeChanged = false;
    // A key the fold under way has not reached yet is folded before anything folded meets it.
    if (this.foldPass !== undefined) this.foldEntry(key, this.foldPass.foldsFor);
    // The incoming states: `single` when there is exactly one (nearly always, and then not in a list:
    // a list is made only on the general ways below), else `list`.
    let list: readonly TypedCrdt[] | undefined = Array.isArray(incoming) ? incoming : undefined;
    let single: TypedCrdt | undefined = list === undefined ? (incoming as TypedCrdt) : list.length === 1 ? list[0] : undefined;
    let life = incomingLife;
    // Dead on arrival (its deadline passed on our clock): what it means here is its next, empty epoch.
    // (The clock is read only for a state with a deadline: most have none, and a read per merge was
    // 0.8% of a catching-up node's CPU.)
    // Stryker disable next-line ConditionalExpression: equivalent but for work, `expired` is false without a deadline
    if (life.deadline !== null && expired(life, this.clock.now())) {
      life = nextEpoch(life);
      list = [];
      single = undefined;
    }
    // A key held or made compact (a peer's bulk load: most keys are one to three writers' slots).
    if (single !== undefined && isNoLife(life)) {
      const id = this.mergeCompact(key, single);
      if (id >= 0) return id;
    }
    const e = this.get(key);
    const ours = e?.life ?? NO_LIFE;
    if (e !== undefined && life.epoch < ours.epoch) return e.id as number; // an epoch that already ended here
    // Stryker disable next-line BooleanLiteral: equivalent, every branch below sets it
    let changed = false;
    let target: Entry;
    // Stryker disable next-line ConditionalExpression: equivalent but for work, the general way below makes the same entry
    if (e === undefined && single !== undefined && isNoLife(life)) {
      // A key new here, of one state and no life (a bulk load's every key): its entry at once. The
      // general way below made two entries, two arrays and a copy of the state's wrapper, all but
      // the second entry garbage at once.
      target = this.insert(key, entryFor(single));
      changed = true;
    } else if (e === undefined || life.epoch > ours.epoch) {
      list ??= [single as TypedCrdt];
      // A later epoch replaces an earlier one outright: the earlier ended somewhere first.
      // (An empty PN-Counter arriving alone, a peer's husk, is held as the shared husk state.)
      const fresh = withLife(entryOf(list.length === 0 || (list.length === 1 && isHuskState(list[0] as TypedCrdt)) ? [husk()] : list.map((s) => ({ ...s }) as TypedCrdt)), life);
      // A key new here has no entry to carry a digest share or counts from: one index operation, not two.
      target = e === undefined ? this.insert(key, fresh) : this.store(key, fresh, true);
      changed = true;
    } else if (single !== undefined && e.others === undefined && e.type === single.type && e.crdt !== HUSK_COUNTER) {
      // The usual case: one state of the key's one type, in the same epoch. (Not into a husk: its
      // state is shared by every husk, so the way below makes the key a new entry.)
      changed = mergeSameType(e, single);
      target = e;
    } else {
      list ??= [single as TypedCrdt];
      const before = liveCount(e);
      // An empty state (a husk: an epoch nobody wrote yet; or an INCRBY 0 of a G-Counter) holds
      // nothing: it is not kept beside a state of another type, which would make it the key's type
      // once that state is deleted (explorer seed 8). A key holding nothing at all is held as the
      // husk, whichever empty state it came as, so that every node holds it alike (seed 657).
      const mineAll = statesOf(e);
      const states = mineAll.filter((s) => !isEmptyState(s));
      if (states.length !== mineAll.length && !isHusk(e)) changed = true;
      for (const s of list) {
        if (isEmptyState(s)) continue;
        const mine = states.find((m) => m.type === s.type);
        if (mine === undefined) {
          states.push({ ...s } as TypedCrdt);
          changed = true;
        } else if (mergeSameType(mine, s)) {
          changed = true;
        }
      }
      if (states.length === 0) states.push(husk());
      target = changed ? this.store(key, withLife(entryOf(states), ours)) : e;
      if (changed && liveCount(target) > 1 && before <= 1) {
        this.typeConflicts++;
        this.conflictListener?.(key, statesOf(target).filter(isLive).map((s) => s.type));
      }
    }
    // The same epoch: join the TTL registers.
    if (e !== undefined && life.epoch === ours.epoch) {
      const joined = joinTtl(ours, life);
      if (joined !== ours && (joined.ttlVersion !== ours.ttlVersion || joined.deadline !== ours.deadline)) {
        target = this.store(key, withLife(target, joined));
        changed = true;
      }
    }
    if (!changed) return target.id as number;
    this.noteDeadline(target);
    this.changed(target, key, 'remote');
    this.mergeChanged = true;
    return target.id as number;
  }

  // ---- expiry (life.ts) ------------------------------------------------------------------------

  /**
   * A key's entry, its life checked against the clock: an expired key's entry becomes its next epoch,
   * empty (it no longer exists, and the next write starts afresh). Every operation reads through here.
   */
  protected get(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e === undefined || e.life === undefined || e.life.deadline === null || e.life.deadline > this.clock.now()) return e;
    // Stryker disable next-line BooleanLiteral: equivalent, the next epoch's life is never the default (epoch >= 1), so store() keeps it either way
    const next = this.store(key, withLife(entryOf([husk()]), nextEpoch(e.life)), true);
    this.expiring.delete(next.id as number);
    this.changed(next, key, 'expire');
    return next;
  }

  /**
   * The full key of `bytes[start, end)` in database `db` (a RESP argument in place): the string of
   * the table's entry when it holds the key, so none is made, else a new one. For the reads (GET,
   * PFCOUNT), which then look the key up by that string; the writes take `getAt`'s entry directly.
   */
  keyAt(db: number, bytes: Uint8Array, start: number, end: number): string {
    const id = this.entries.idAt(db, bytes, start, end);
    return id < 0 ? fullKeyAt(db, bytes, start, end) : (this.entries.keyAt(id) as string);
  }

  /**
   * `get` of the full key of `bytes[start, end)` in database `db` (a RESP argument in place): the key's
   * string is not made unless its entry has a deadline that may have passed.
   */
  protected getAt(db: number, bytes: Uint8Array, start: number, end: number): Entry | undefined {
    const id = this.entries.idAt(db, bytes, start, end);
    // Stryker disable next-line ConditionalExpression: equivalent, no cell sits at id -1
    return id < 0 ? undefined : this.entryAt(id);
  }

  /**
   * `get` of the key held by `id` (a compact key made an entry), found already: no second lookup by
   * key unless its entry has a deadline that may have passed.
   */
  protected entryAt(id: number): Entry | undefined {
    const e = this.entries.at(id);
    // Stryker disable next-line ConditionalExpression: equivalent but for work, `get` makes the same checks
    if (e === undefined || e.life === undefined || e.life.deadline === null) return e;
    return this.get(e.key as string);
  }

  /**
   * Sets the TTL of a live key (EXPIRE and its family; `deadline` null is PERSIST), if `cond` allows:
   * NX only without a TTL, XX only with one, GT only later, LT only sooner (no TTL counts as
   * infinite), as Redis. Returns whether the TTL was set. A deadline already past ends the key now.
   */
  expire(key: string, deadline: number | null, cond?: 'NX' | 'XX' | 'GT' | 'LT'): boolean {
    const e = this.get(key);
    if (e === undefined || liveCount(e) === 0) return false;
    const life = e.life ?? NO_LIFE;
    const cur = life.deadline;
    if (cond === 'NX' && cur !== null) return false;
    if (cond === 'XX' && cur === null) return false;
    if (cond === 'GT' && (cur === null || deadline === null || deadline <= cur)) return false;
    if (cond === 'LT' && cur !== null && (deadline === null || deadline >= cur)) return false;
    if (deadline === null && cur === null) return false;
    // Stryker disable next-line BooleanLiteral: equivalent, withTtl() bumps the TTL version, so the life is never the default and store() keeps it either way
    const next = this.store(key, withLife(e, withTtl(life, deadline)), true);
    this.noteDeadline(next);
    this.changed(next, key, 'local');
    if (deadline !== null && deadline <= this.clock.now()) this.get(key);
    return true;
  }

  /** The TTL of a key: undefined if it does not exist, null if it has no TTL, else its deadline (ms). */
  deadlineOf(key: string): number | null | undefined {
    // A compact key exists and has no TTL.
    const id = this.entries.idOf(key);
    if (id < 0) return undefined;
    if (this.entries.isCompact(id)) return null;
    const e = this.entryAt(id);
    if (e === undefined || liveCount(e) === 0) return undefined;
    return e.life?.deadline ?? null;
  }

  /** Ends the lives whose deadline passed, up to `budget` keys: an expired key frees its memory without being read. */
  sweepExpired(budget: number): number {
    let n = 0;
    const now = this.clock.now();
    // The ids go round from where the last sweep stopped, each at most once per sweep (a sweep that
    // went round the keys not yet due would spend its whole budget on them, every tick).
    for (let left = Math.min(budget, this.expiring.size); left > 0; left--) {
      const id = this.expiring.next();
      const e = this.entries.at(id);
      // Stryker disable next-line ConditionalExpression,BlockStatement: unreachable, every path that clears a key's deadline (noteDeadline, clearTtl, an expiry, a collection) also takes its id out of `expiring`
      if (e?.life?.deadline === null || e?.life === undefined) {
        this.expiring.delete(id);
      } else if (e.life.deadline <= now) {
        this.get(e.key as string);
        n++;
      }
    }
    return n;
  }

  /** Keys with a TTL, for the sweep. */
  private noteDeadline(e: Entry): void {
    const deadline = e.life?.deadline;
    if (deadline !== null && deadline !== undefined) {
      this.expiring.add(e.id as number);
      return;
    }
    // Stryker disable next-line ConditionalExpression: equivalent but for speed, deleting from an empty set
    if (this.expiring.size !== 0) this.expiring.delete(e.id as number);
  }

  /** A write that replaces a key's value (SET without KEEPTTL, DEL) clears its TTL, in a way that wins over the TTLs seen so far. */
  protected clearTtl(key: string, e: Entry): Entry {
    if (e.life === undefined || e.life.deadline === null) return e;
    // Stryker disable next-line BooleanLiteral: equivalent, withTtl() bumps the TTL version, so the life is never the default and store() keeps it either way
    const next = this.store(key, withLife(e, withTtl(e.life, null)), true);
    this.expiring.delete(next.id as number);
    return next;
  }

  /** Stores `e` for a `key` the table does not hold (just looked up): nothing to carry over, one probe of the index. */
  protected insert<E extends Entry>(key: string, e: E): E {
    this.entries.add(key, e);
    return e;
  }

  /** Stores `e` for `key`, replacing the key's entry: it takes the old one's id, and with it the key's shares of the digest and counts (key-columns.ts). */
  protected store<E extends Entry>(key: string, e: E, lifeGiven = false): E {
    const old = this.entries.get(key);
    let stored = e;
    if (old !== undefined && old !== e) {
      // A replacement entry of the same key keeps its life, unless the caller gave it one.
      if (!lifeGiven && old.life !== undefined && e.life === undefined) stored = withLife(e, old.life);
      old.superseded = true;
      this.entries.replace(old, stored);
    } else if (old === undefined) {
      this.entries.add(key, stored);
    }
    return stored;
  }

  // ---- compact keys: a counter of one to three slots, with no entry (key-index.ts, key-columns.ts) -

  /**
   * Whether new keys may be held compact. A counter key whose whole state is one to COMPACT_SLOTS
   * slots, each above 0 with no floors and no decrements (a G- or PN-Counter that only its creator's
   * incarnation incremented: most counter keys of a node that takes their writes; or that up to three
   * nodes' incarnations did: a counter written on every node of a three-node cluster), no life and no
   * other type, is held as its key's string in the index with its counts and slots in the table's
   * columns: no object per key.
   * Anything else it is asked for makes it an entry first (`promote`); an entry a slot fold brings
   * back to such a state is made compact again (`demote`).
   */
  private readonly compact: boolean;
  /** Compact keys' cells and what they stand for (compact-keys.ts). */
  private readonly compactKeys = new CompactKeys(this.columns);
  /** The slot cell of this replica's id for a PN-Counter (-1: not looked up since the id changed). */
  private ownSlot = -1;

  /** The slot cell of our replica id (PN-Counter; +1 for a G-Counter), or -1 if the list of ids is full. */
  private ownSlotCell(): number {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for work, the cell looked up again is the same
    if (this.ownSlot >= 0) return this.ownSlot;
    return (this.ownSlot = this.compactKeys.cellOf(this.replica));
  }

  /** How many slots a compact key would hold state `s` in (`CompactKeys.stateOf`, kept there), with compact keys on; else -1. */
  private compactStateOf(s: TypedCrdt): number {
    // Stryker disable next-line ConditionalExpression: equivalent but for memory, the entry's way holds the same
    if (!this.compact) return -1;
    return this.compactKeys.stateOf(s);
  }

  /**
   * A merge of one counter state of no life into `key` that a compact key takes: the state is what a
   * compact key holds, and the key is not held (it is made compact) or is compact and stays so
   * (`CompactKeys.merge`). Returns the key's id, or -1 for the entry's way (nothing changed). What
   * `merge` would do with entries, without one.
   */
  private mergeCompact(key: string, single: TypedCrdt): number {
    const k = this.compactStateOf(single);
    if (k < 1) return -1;
    const id = this.entries.idOf(key);
    if (id >= 0 && !this.entries.isCompact(id)) return -1;
    if (id < 0) {
      const made = this.entries.addCompact(key);
      this.compactKeys.set(made, k);
      this.changedCompact(made, key, 'remote');
      this.mergeChanged = true;
      return made;
    }
    const changed = this.compactKeys.merge(id, k);
    if (changed === undefined) return -1;
    if (changed) {
      this.changedCompact(id, key, 'remote');
      this.mergeChanged = true;
    }
    return id;
  }

  /** The type of the compact key holding `id`. */
  protected compactType(id: number): 'pncounter' | 'gcounter' {
    return this.compactKeys.typeOf(id);
  }

  /** The value of the compact key holding `id`: the sum of its slots' counts. */
  protected compactValue(id: number): number {
    return this.compactKeys.valueOf(id);
  }

  /** The compact key holding `id` made an entry (the index puts it in the key's place). */
  private promote(id: number): Entry {
    const e = this.compactKeys.entry(id);
    this.columns.uncompact(id);
    return e;
  }

  /**
   * Makes the entry `e` of the key holding `id` compact again if its whole state is now what a compact
   * key holds (`mergeCompact`'s conditions; no life, since a key's life outlasts its state): the
   * inverse of `promote`, same id. Only a slot fold asks: a fold makes the keys it names entries first,
   * and every key a restarted writer wrote is left one slot of the writer's pseudo-slot
   * (replication/slot-folds.ts) in place of its old incarnations', beside the slots of the key's
   * other writers (its new incarnation's among them). Without this, every node turned every such key
   * into an entry for good at the first fold after the writer's restart.
   */
  private demote(id: number, e: Entry): void {
    if (e.others !== undefined || e.life !== undefined) return;
    const k = this.compactStateOf(e);
    if (k < 1) return;
    // Stryker disable next-line BooleanLiteral: equivalent, nothing holds the entry once its key is compact; marked as every replaced entry is
    e.superseded = true;
    this.entries.demote(e);
    this.compactKeys.set(id, k);
  }

  /** Whether `key` has no base for a slot of ours (`slotBases`): a new slot of ours may start at 0. */
  private readonly noBase = (key: string): boolean =>
    // Stryker disable next-line ConditionalExpression: equivalent but for work, an empty Map holds no base
    this.slotBases.size === 0 || !this.slotBases.has(key);

  /**
   * Adds `n` to the compact key holding `id` (`key`), if it stays compact (`CompactKeys.incr`: our
   * slot, or a new one unless the key has a base for it: `slotBases`). Returns the new value, or
   * undefined (nothing changed: the caller takes the entry's way).
   */
  protected incrCompact(id: number, key: string, n: number): number | undefined {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, INCRBY 0 or less takes the entry's way, which changes nothing for 0 and tells of the change alike
    if (!(n > 0) || !Number.isSafeInteger(n)) return undefined;
    const v = this.compactKeys.incr(id, key, this.ownSlotCell(), n, this.noBase);
    if (v !== undefined) this.changedCompact(id, key, 'local');
    return v;
  }

  /**
   * Creates `key` (not held: just looked up) compact, a counter of `type` holding our `n`, if it can
   * be: compact keys on, `n` in [1, COMPACT_MAX], no base for our slot in it (`slotBases`). Returns
   * whether it did. `flat`: `key` is a flat string of its own, which the index need not copy.
   */
  protected insertCompact(key: string, type: KeyType, n: number, flat = false): boolean {
    if (!this.compact || !(n >= 1 && n <= COMPACT_MAX)) return false;
    // Stryker disable next-line ConditionalExpression: equivalent, the only caller passes a counter type and a safe integer (it refused the rest)
    if ((type !== 'pncounter' && type !== 'gcounter') || !Number.isInteger(n)) return false;
    // Stryker disable next-line ConditionalExpression: equivalent but for work, an empty Map holds no base
    if (this.slotBases.size !== 0 && this.slotBases.has(key)) return false;
    const own = this.ownSlotCell();
    // Stryker disable next-line ConditionalExpression,BooleanLiteral: a guard for 32,768 writer incarnations seen by one process
    if (own < 0) return false;
    const id = this.entries.addCompact(key, flat);
    this.columns.setCompact(id, n, type === 'gcounter' ? own + 1 : own);
    this.changedCompact(id, key, 'local');
    return true;
  }

  /** `changed` for a compact key. */
  private changedCompact(id: number, key: string, origin: ChangeOrigin): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, no compact key's encoding is long enough to be kept, and a key's kept one goes when it leaves
    if (this.encoded.size !== 0) this.encoded.delete(key);
    this.digest.changed(id, key);
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) (ls[i] as ChangeListener)(key, origin, id);
  }

  /**
   * `key`'s entry as stored, for inspection (the simulator's checks): unlike `entry`, reading it never
   * ends its life, and a compact key stays compact (its entry is a copy, not the key's).
   */
  storedEntry(key: string): Entry | undefined {
    const id = this.entries.idOf(key);
    // Stryker disable next-line ConditionalExpression: equivalent, no cell sits at id -1
    if (id < 0) return undefined;
    if (!this.entries.isCompact(id)) return this.entries.at(id);
    const e = this.compactKeys.entry(id);
    e.key = key;
    return e;
  }

  /** Every stored key (tombstones too) with `storedEntry`'s entry, in the order of their ids. */
  forEachStored(f: (key: string, e: Entry) => void): void {
    for (const key of this.entries.keys()) f(key, this.storedEntry(key) as Entry);
  }

  /** Whether `key` is held compact (for tests and the layout benchmark). */
  isCompact(key: string): boolean {
    const id = this.entries.idOf(key);
    // Stryker disable next-line ConditionalExpression: equivalent, no cell sits at id -1
    return id >= 0 && this.entries.isCompact(id);
  }

  // ---- key ids: what the version logs index keys by (replication/version-log.ts) ---------------

  /** Told each id whose key the table dropped, before the id is given to another key. */
  private idRetired: ((id: number) => void) | undefined;

  /** Drops `e`, its key's entry, from the table; its id is free to give again, with its cells cleared. */
  private retireId(e: Entry): void {
    const id = e.id as number;
    this.entries.remove(e);
    this.columns.clear(id);
    this.idRetired?.(id);
  }

  /** The id of `key` (-1: not held). Ids are dense from 0, and a dropped key's id is given again. */
  idOf(key: string): number {
    return this.entries.idOf(key);
  }

  /** The key holding `id`, if any. */
  keyOf(id: number): string | undefined {
    return this.entries.keyAt(id);
  }

  /**
   * `exists` for the key holding `id` (false: no key holds it), without a lookup by key unless the
   * key has a deadline (then it reads as any read does, which ends a life whose deadline passed).
   */
  existsAt(id: number): boolean {
    // A compact key is a counter whose slots are above 0.
    if (this.entries.isCompact(id)) return true;
    const e = this.entries.at(id);
    if (e === undefined) return false;
    // Stryker disable next-line ConditionalExpression: equivalent but for work, a key without a deadline reads as itself through get()
    if (e.life === undefined || e.life.deadline === null) return isLive(e);
    const now = this.get(e.key as string);
    return now !== undefined && isLive(now);
  }

  /**
   * One above the highest id given so far (every held key's id is below it). A key keeps its id for
   * as long as the table holds it (a replacement entry takes its id over), so a walk by id from 0 to
   * here meets every key held for the whole walk, once (SCAN's cursor: server/commands/scan-cursor.ts).
   */
  get idBound(): number {
    return this.entries.idBound;
  }

  /** `encodeKey` of the key holding `id` (undefined if none), reached without a lookup by key. */
  encodeId(id: number): { tag: number; bytes: Uint8Array } | undefined {
    if (this.entries.isCompact(id)) return this.compactKeys.encode(id);
    const e = this.entries.at(id);
    return e === undefined ? undefined : this.encodeCurrent(e.key as string, e);
  }

  /**
   * Appends the bytes of `encodeId(id)` to `w` and returns its tag (undefined, writing nothing, if
   * no key holds `id`). A counter with one state and no life (a bulk load's every key) is written
   * straight into `w`, a commit's record: it took a copy of the encoding out of the encoder before,
   * and the commit copied that once more into its record.
   */
  encodeIdInto(id: number, w: ByteWriter): number | undefined {
    if (this.entries.isCompact(id)) return this.compactKeys.writeInto(id, w);
    const e = this.entries.at(id);
    if (e === undefined) return undefined;
    // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent but for speed, the general way below writes the same bytes
    if (plainCounter(e)) {
      const kept = this.keptEncoding(e.key as string);
      // Stryker disable next-line ConditionalExpression: equivalent but for work, what is kept is what would be written
      if (kept === undefined) return this.writeCounter(e, w);
      w.bytes(kept.bytes);
      return kept.tag;
    }
    const enc = this.encodeCurrent(e.key as string, e);
    // Stryker disable next-line ConditionalExpression: unreachable, a held key's entry always encodes (the check narrows the type)
    if (enc === undefined) return undefined;
    w.bytes(enc.bytes);
    return enc.tag;
  }

  /** The encoding of `key` kept by `keepEncoding`, if any. */
  private keptEncoding(key: string): { tag: number; bytes: Uint8Array } | undefined {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for work, an empty Map holds nothing either
    return this.encoded.size === 0 ? undefined : this.encoded.get(key);
  }

  /** Appends the encoding of `e`, a counter of one state and no life, to `w`; keeps it if long (a counter of many writers, sent to several peers). */
  private writeCounter(e: CounterEntry, w: ByteWriter): number {
    const at = w.length;
    e.crdt.encodeInto(w);
    const tag = tagOf(e.type);
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: equivalent but for work and memory, keeping more or fewer encodings changes no bytes written
    if (w.length - at >= ENCODED_CACHE_MIN_BYTES) this.keepEncoding(e.key as string, { tag, bytes: w.view(at).slice() });
    return tag;
  }

  /**
   * Who indexes keys by id (the replica's version log) is told of each id whose key is dropped, and
   * must forget it there and then: the id goes to the next new key. One at a time (the last set).
   */
  onIdRetired(forget: (id: number) => void): void {
    this.idRetired = forget;
  }

  // ---- the state digest (state-digest.ts): equal digests mean equal state ----------------------

  /** The state digest: 16 hex digits; equal on two nodes iff (with overwhelming probability) every key's state is. */
  stateDigest(): string {
    this.fold();
    return this.digest.value();
  }

  /** The digest of each bucket of keys, DIGEST_BUCKETS x (hi, lo) as little-endian int32s. */
  bucketDigests(): Uint8Array {
    this.fold();
    return this.digest.buckets();
  }

  /** Folds the keys changed since the last fold into the digest and the counts. */
  private fold(): void {
    this.digest.fold(this.entryFn, this.hashFn, this.countFn);
    this.columns.releaseCompactPages();
  }

  /** Every stored key (tombstones too) in one of `buckets`. */
  keysInBuckets(buckets: ReadonlySet<number>): string[] {
    const out: string[] = [];
    for (const key of this.entries.keys()) if (buckets.has(digestBucket(key))) out.push(key);
    return out;
  }

  /**
   * What a queued key is now: the compact key's id it was queued as while it is still compact, else
   * its entry through `get`, as every read (an expired key folds in as its next epoch), or its id if
   * it is compact now.
   */
  private readonly entryFn = (key: string, q: Entry | number): Entry | number | undefined => {
    if (typeof q === 'number' && this.entries.cell(q) === key) return q;
    const id = this.entries.idOf(key);
    if (id < 0) return undefined;
    return this.entries.isCompact(id) ? id : this.entryAt(id);
  };
  /**
   * The digest hashes a key's encoding: a counter alone in its key with no life (most keys) is hashed
   * as the codec writes it, without the copy `encode` would hand out (garbage at once).
   */
  private readonly hashFn = (key: string, e: Entry | number, out: StateHash): boolean => {
    if (typeof e === 'number') {
      this.compactKeys.hashInto(e, out);
      return true;
    }
    // Stryker disable next-line ConditionalExpression: `false` is equivalent but for speed (every key the general way)
    const lone = e.others === undefined && e.life === undefined;
    // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent but for speed, the general way hashes a counter's same bytes
    if (lone && (e.type === 'pncounter' || e.type === 'gcounter')) {
      out.tag = tagOf(e.type);
      out.hi = e.crdt.encodingHash();
      out.lo = hash64Lo();
      return true;
    }
    return hashEncoded(this.encodeEntry(key, e), out);
  };
  private readonly countFn = (key: string, e: Entry | number): void => {
    if (typeof e !== 'number') this.counts.account(key, e);
    else this.counts.accountCompact(key, e, this.compactType(e), this.columns.compactWidth(e), this.compactKeys.bytesOf(e));
  };

  /**
   * What the keyspace holds, for INFO memory and /metrics: `tombstones`, stored keys that do not exist
   * (deleted, or an expired key's empty next epoch), which replication still carries; `slots`, the
   * replica slots of every counter state (G- and PN-Counters), one per node incarnation that ever
   * wrote the key. O(keys changed since the last read), not O(keys).
   */
  memoryStats(): { entries: number; tombstones: number; slots: number; compact: number } {
    this.fold();
    return { entries: this.entries.size, tombstones: this.counts.tombstones, slots: this.counts.slots, compact: this.columns.compactKeys };
  }

  /** Approximate memory held by key states, in bytes. */
  byteSize(): number {
    this.fold();
    return this.counts.bytes;
  }
}
