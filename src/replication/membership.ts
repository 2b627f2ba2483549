// The membership table: what this node believes of every member (SWIM states with incarnations).
// Precedence between two records of one member: higher (incarnation, seq) wins; at equal numbers the
// later state wins (alive < suspect < dead < left < removed), then a voter over a joining record. A node refutes suspicion of itself by raising seq;
// a restarted node has a higher incarnation, so it is alive at once however the cluster saw it before.

import type { Rng } from '../util/rng.js';
import { MAX_ACCUSERS, MemberState, type MemberRecord } from './messages.js';

/** A member as this node's table holds it: its record plus local bookkeeping. */
export interface Member extends MemberRecord {
  /** Local time the state last changed (for suspicion timeouts and forgetting). */
  since: number;
  /** For a suspect: when it is declared dead. */
  suspectDeadline?: number;
  /** Local time a message was last received from this member directly. */
  lastHeard: number;
}

/**
 * A read-only starting roster shared by many tables (the simulator gives 10,000 replicas one roster
 * instead of 10,000 copies). A table overlays its own changes on top.
 */
export class SharedRoster {
  readonly members: readonly Member[];
  readonly index = new Map<string, number>();
  /** Member id by address. */
  readonly byAddress = new Map<string, string>();
  readonly hashHi: number;
  readonly hashLo: number;

  constructor(records: readonly MemberRecord[]) {
    let hi = 0;
    let lo = 0;
    this.members = records.map((r, i) => {
      this.index.set(r.id, i);
      this.byAddress.set(r.address, r.id);
      const [a, b] = recordHash(r);
      hi ^= a;
      lo ^= b;
      return { ...r, since: 0, lastHeard: 0 };
    });
    this.hashHi = hi >>> 0;
    this.hashLo = lo >>> 0;
  }
}

function recordHash(r: MemberRecord): [number, number] {
  let h1 = 0x9747b28c ^ r.incarnation;
  let h2 = 0x85ebca6b ^ (r.seq * 4 + r.state);
  const s = r.id + '\u0000' + r.address + (r.accusers === undefined ? '' : '\u0000' + r.accusers.join('\u0000')) + (r.joining === true ? '\u0001' : '');
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ Math.imul(r.seq + 1, 0x27d4eb2f);
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35) ^ h1;
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x9e3779b1) ^ Math.imul(r.state + 7, 0x165667b1);
  return [(h1 ^ (h2 >>> 5)) >>> 0, Math.imul(h2 ^ (h2 >>> 16), 0x85ebca77) >>> 0];
}

/** The record of a member as gossip carries it (accusers only on a suspect). */
export function toRecord(m: Member): MemberRecord {
  const a = m.accusers;
  const r = { id: m.id, address: m.address, incarnation: m.incarnation, seq: m.seq, state: m.state, ...(m.joining === true ? { joining: true as const } : {}) };
  return m.state === MemberState.Suspect && a !== undefined && a.length > 0 ? { ...r, accusers: [...a] } : r;
}

/** The sorted union of two accuser lists, keeping the MAX_ACCUSERS smallest ids (the same on every node). */
function unionAccusers(a: readonly string[] | undefined, b: readonly string[] | undefined): readonly string[] | undefined {
  if (b === undefined || b.length === 0) return a;
  if (a === undefined || a.length === 0) return b.slice(0, MAX_ACCUSERS);
  const all = [...new Set([...a, ...b])].sort();
  return all.slice(0, MAX_ACCUSERS);
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether a member counts toward majorities (a voter): not removed, and not still joining
 * (docs/consistency.md, "Membership changes").
 */
export function isVoter(m: MemberRecord): boolean {
  return m.state !== MemberState.Removed && m.joining !== true;
}

/** > 0 if `a` supersedes `b`, < 0 if `b` supersedes `a`, 0 if equal. */
function compareRecords(a: MemberRecord, b: MemberRecord): number {
  if (a.incarnation !== b.incarnation) return a.incarnation - b.incarnation;
  if (a.seq !== b.seq) return a.seq - b.seq;
  if (a.state !== b.state) return a.state - b.state;
  // A member is learned as joining from its frames alone (failure-detector.ts); its own record at the
  // same numbers may say it is a voter, and wins. Within an incarnation no member goes back to joining.
  return (a.joining === true ? 0 : 1) - (b.joining === true ? 0 : 1);
}

export class Membership {
  private readonly own = new Map<string, Member>();
  /** Id of the own member at each address (the roster has its own index). */
  private readonly ownAddress = new Map<string, string>();
  /**
   * Forgotten members: id -> [incarnation, seq, forgottenAt, voter]; older records of them are
   * ignored. A forgotten voter (dead or stopped a long time) still counts toward the cluster size,
   * so its tombstone never expires: only its removal (TALLY.REMOVE) takes it out of the count.
   */
  private readonly tombstones = new Map<string, [number, number, number, boolean]>();
  /** Ids every table counts as voters unless it holds a record saying otherwise (a real node's roster). */
  private readonly configured: ReadonlySet<string>;
  private cachedVoters = -1;
  private hashHi: number;
  private hashLo: number;
  private cachedSize = -1;

  constructor(
    readonly selfId: string,
    private readonly roster: SharedRoster | null = null,
    configured: readonly string[] = [],
  ) {
    this.hashHi = roster?.hashHi ?? 0;
    this.hashLo = roster?.hashLo ?? 0;
    this.configured = new Set(configured);
  }

  get(id: string): Member | undefined {
    const m = this.own.get(id);
    if (m !== undefined) return m;
    if (this.tombstones.has(id)) return undefined; // forgotten: shadows the roster
    const i = this.roster?.index.get(id);
    return i === undefined ? undefined : this.roster?.members[i];
  }

  get hash(): string {
    return this.hashHi.toString(16).padStart(8, '0') + this.hashLo.toString(16).padStart(8, '0');
  }

  private xorHash(r: MemberRecord): void {
    const [a, b] = recordHash(r);
    this.hashHi = (this.hashHi ^ a) >>> 0;
    this.hashLo = (this.hashLo ^ b) >>> 0;
  }

  /** Writes a member's new record, keeping the hash current. Roster members are copied on write. */
  private put(m: Member, prev: Member | undefined): void {
    if (prev !== undefined) this.xorHash(toRecord(prev));
    this.xorHash(toRecord(m));
    this.own.set(m.id, m);
    if (prev !== undefined && prev.address !== m.address && this.ownAddress.get(prev.address) === m.id) this.ownAddress.delete(prev.address);
    this.ownAddress.set(m.address, m.id);
    this.cachedSize = -1;
    this.cachedVoters = -1;
  }

  /**
   * Applies a record heard by gossip. Who relayed it does not matter (a relay is no confirmation;
   * the record names its accusers). Returns the member if the record changed what we believe.
   * Records of ourselves are not applied here: the replica refutes them instead.
   */
  apply(r: MemberRecord, now: number): Member | undefined {
    const id = r.id;
    const tomb = this.tombstones.get(id);
    if (tomb !== undefined && (r.incarnation < tomb[0] || (r.incarnation === tomb[0] && r.seq <= tomb[1]))) return undefined;
    const prev = this.get(id);
    if (prev !== undefined) {
      const c = compareRecords(r, prev);
      if (c < 0) return undefined;
      if (c === 0) {
        // The same suspicion: learn its other accusers (independent confirmations), keeping `since`.
        if (prev.state !== MemberState.Suspect) return undefined;
        const accusers = unionAccusers(prev.accusers, r.accusers);
        if (sameList(accusers, prev.accusers)) return undefined;
        const m: Member = { ...prev, ...(accusers !== undefined ? { accusers } : {}) };
        this.put(m, prev);
        return m;
      }
    }
    if (tomb !== undefined) {
      this.tombstones.delete(id);
      this.cachedSize = -1;
      this.cachedVoters = -1;
    }
    const m: Member = {
      id,
      address: r.address,
      incarnation: r.incarnation,
      seq: r.seq,
      state: r.state,
      since: now,
      lastHeard: prev?.lastHeard ?? 0,
      ...(r.state === MemberState.Suspect && r.accusers !== undefined ? { accusers: r.accusers.slice(0, MAX_ACCUSERS) } : {}),
      ...(r.joining === true ? { joining: true as const } : {}),
    };
    this.put(m, prev);
    return m;
  }

  /** Sets a member's state locally (suspect/dead by our own detector, left/alive for ourselves). */
  setState(id: string, state: MemberState, now: number, seq?: number): Member | undefined {
    const prev = this.get(id);
    if (prev === undefined) return undefined;
    const { accusers: _accusers, suspectDeadline: _deadline, ...rest } = prev;
    // Our own detector's suspicion names us as its accuser.
    const m: Member = { ...rest, state, seq: seq ?? prev.seq, since: now, ...(state === MemberState.Suspect ? { accusers: [this.selfId] } : {}) };
    this.put(m, prev);
    return m;
  }

  /** Our own record stops being joining (it caught up: docs/consistency.md), at `seq`. */
  promote(id: string, now: number, seq: number): Member | undefined {
    const prev = this.get(id);
    if (prev === undefined) return undefined;
    const { joining: _joining, ...rest } = prev;
    const m: Member = { ...rest, seq, since: now };
    this.put(m, prev);
    return m;
  }

  /**
   * Our own detector also suspects a member already suspect: add us to its accusers (a confirmation
   * that gossip carries on), keeping when the suspicion began. Returns the member if that changed it.
   */
  accuse(id: string): Member | undefined {
    const prev = this.get(id);
    if (prev === undefined || prev.state !== MemberState.Suspect) return undefined;
    const accusers = unionAccusers(prev.accusers, [this.selfId]);
    if (sameList(accusers, prev.accusers)) return undefined;
    const m: Member = { ...prev, ...(accusers !== undefined ? { accusers } : {}) };
    this.put(m, prev);
    return m;
  }

  /** Notes direct contact from a member (used for `lastHeard` in status and metrics). */
  heard(id: string, now: number): void {
    const m = this.own.get(id);
    if (m !== undefined) m.lastHeard = now;
  }

  /** Removes a dead or departed member, remembering it so stale records cannot bring it back. */
  forget(id: string, now: number): void {
    const m = this.get(id);
    if (m === undefined) return;
    this.xorHash(toRecord(m));
    this.own.delete(id);
    if (this.ownAddress.get(m.address) === id) this.ownAddress.delete(m.address);
    this.tombstones.set(id, [m.incarnation, m.seq, now, isVoter(m)]);
    this.cachedSize = -1;
    this.cachedVoters = -1;
  }

  /** The member this table holds at `address`, if any. */
  memberAt(address: string): Member | undefined {
    const id = this.ownAddress.get(address) ?? this.roster?.byAddress.get(address);
    const m = id === undefined ? undefined : this.get(id);
    return m !== undefined && m.address === address ? m : undefined;
  }

  /** Whether the member at `address` is alive or suspect (a peer that still answers, as far as we know). */
  liveAt(address: string): boolean {
    const m = this.memberAt(address);
    return m !== undefined && (m.state === MemberState.Alive || m.state === MemberState.Suspect);
  }

  /** The incarnation and seq a forgotten member was forgotten at, or undefined. */
  tombstoneOf(id: string): { incarnation: number; seq: number } | undefined {
    const t = this.tombstones.get(id);
    return t === undefined ? undefined : { incarnation: t[0], seq: t[1] };
  }

  /** Drops tombstones older than `ageMs`. */
  expireTombstones(now: number, ageMs: number): void {
    for (const [id, t] of this.tombstones) if (now - t[2] > ageMs && !t[3] && this.roster?.index.has(id) !== true) this.tombstones.delete(id);
  }

  /** Every member including ourselves. */
  *all(): IterableIterator<Member> {
    if (this.roster !== null) for (const m of this.roster.members) if (this.fromRoster(m.id)) yield m;
    yield* this.own.values();
  }

  /** Members this node keeps in its own table (changed from the roster, or not in it). */
  ownMembers(): IterableIterator<Member> {
    return this.own.values();
  }

  records(): MemberRecord[] {
    const out: MemberRecord[] = [];
    for (const m of this.all()) out.push(toRecord(m));
    return out;
  }

  /** Number of members (cached: the roster walk is O(N), and deltas ask on every build). */
  get size(): number {
    if (this.cachedSize < 0) this.cachedSize = this.countMembers();
    return this.cachedSize;
  }

  private countMembers(): number {
    let n = this.own.size;
    if (this.roster !== null) for (const m of this.roster.members) if (this.fromRoster(m.id)) n++;
    return n;
  }

  /** True if a roster member shows through: not overridden by our own record, not forgotten. */
  private fromRoster(id: string): boolean {
    return !this.own.has(id) && !this.tombstones.has(id);
  }

  /**
   * Up to `k` distinct random members other than ourselves that are gossip targets (alive or
   * suspect: a suspect may only be slow, and talking to it lets it refute). Rejection sampling over
   * the roster plus own members; falls back to a scan when most candidates are excluded.
   */
  randomTargets(rng: Rng, k: number, exclude?: string): Member[] {
    const out: Member[] = [];
    const rosterLen = this.roster?.members.length ?? 0;
    const ownList = this.own.size > 0 && rosterLen === 0 ? [...this.own.values()] : null;
    const total = ownList !== null ? ownList.length : rosterLen + this.own.size;
    const pick = (): Member | undefined => {
      if (ownList !== null) return ownList[rng.int(ownList.length)];
      const i = rng.int(total);
      if (i < rosterLen) {
        const rm = this.roster?.members[i] as Member;
        return this.own.get(rm.id) ?? (this.tombstones.has(rm.id) ? undefined : rm);
      }
      // Index into own members that are not in the roster: walk (rare, small).
      let j = i - rosterLen;
      for (const m of this.own.values()) if (j-- === 0) return m;
      return undefined;
    };
    const ok = (m: Member | undefined): m is Member =>
      m !== undefined &&
      m.id !== this.selfId &&
      m.id !== exclude &&
      (m.state === MemberState.Alive || m.state === MemberState.Suspect) &&
      !out.includes(m);
    for (let tries = 0; out.length < k && tries < k * 8 + 16; tries++) {
      const m = pick();
      if (ok(m)) out.push(m);
    }
    if (out.length < k) {
      const rest = [...this.all()].filter(ok);
      while (out.length < k && rest.length > 0) out.push(rest.splice(rng.int(rest.length), 1)[0] as Member);
    }
    return out;
  }

  /** Count of members by state. */
  countByState(): [alive: number, suspect: number, dead: number, left: number, removed: number] {
    const c: [number, number, number, number, number] = [0, 0, 0, 0, 0];
    for (const m of this.all()) c[m.state]++;
    return c;
  }

  /**
   * Whether `id` is a voter in this table: its record (or, once forgotten, its tombstone) says so;
   * with neither, whether it is configured (a roster member not heard from yet).
   */
  isVoter(id: string): boolean {
    const m = this.get(id);
    if (m !== undefined) return isVoter(m);
    const t = this.tombstones.get(id);
    if (t !== undefined) return t[3];
    return this.configured.has(id);
  }

  /** The cluster size: how many voters this table knows (cached; membership changes reset it). */
  get voterCount(): number {
    if (this.cachedVoters < 0) {
      let n = 0;
      for (const m of this.all()) if (isVoter(m)) n++;
      for (const t of this.tombstones.values()) if (t[3]) n++;
      for (const id of this.configured) if (this.get(id) === undefined && !this.tombstones.has(id)) n++;
      this.cachedVoters = n;
    }
    return this.cachedVoters;
  }
}
