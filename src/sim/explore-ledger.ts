// The explorer's record of what was acknowledged, and what therefore must survive: per counter key
// and replica id the slot each acknowledged write reached (slots never shrink, so the final slot
// must be at least that), window buckets, HLL elements and Count-Min Sketch counts; which writes a
// WAIT or majority write vouched for; and the wiped data directories that legitimately lose
// writes not yet held anywhere else (persistence none). Every write is recorded with the epoch of
// its key's life it was taken in (docs/crdt-counters.md, "Expiry"), with the TTLs set in each
// epoch: once an epoch has ended, what was written in it is no longer required, and must be gone.
// docs/testing.md, "The fault explorer".

import type { Keyspace } from '../keyspace/keyspace.js';
import { counterSlot, counterState, epochOf, foldedOrigin, hllGeneration, hllHolds, windowHeader, windowSlot, type SlotView } from './inspect.js';

/** What each node holds now: its keyspace, or undefined when its data is gone (crashed to be wiped). */
export type Holders = (node: number) => Keyspace | undefined;

/** One acknowledged counter write: the writer's slot right after it, at its origin's version. */
export interface CounterWrite {
  key: string;
  /** The epoch of the key's life the write was taken in, on the writer. */
  epoch: number;
  origin: string;
  node: number;
  version: number;
  slot: SlotView;
  /** Virtual time of the acknowledgement. */
  t: number;
}

/** A slot requirement: the final state's slot of `origin` in `key` must be at least `slot`. */
export interface CounterRequirement {
  key: string;
  epoch: number;
  origin: string;
  slot: SlotView;
  /** Why it must hold: the write that set it, as `n2 at 12.3 s v7`. */
  why: string;
}

/** A requirement vouched for by a WAIT or majority write: `count` peers plus the writer held it. */
interface Vouched extends CounterRequirement {
  count: number;
  /** Distinct nodes wiped or departed (left) since: once more than `count` are, every holder may be gone. */
  wipedSince: Set<number>;
}

export interface MajorityAck {
  key: string;
  epoch: number;
  origin: string;
  slot: SlotView;
  /** Ledger sequence number of the acknowledgement, to order it against reads. */
  seq: number;
  /** Wipes so far when it was acknowledged: a later wipe voids the read guarantee (persistence none). */
  wipes: number;
  why: string;
}

export interface WindowRequirement {
  key: string;
  epoch: number;
  header: string;
  bucket: number;
  origin: string;
  count: number;
  why: string;
}

export interface HllRequirement {
  key: string;
  epoch: number;
  generation: number;
  element: string;
  origin: string;
  node: number;
  t: number;
  /** Every node holding it was wiped: persistence none lost it legitimately. */
  exempt: boolean;
}

export interface CmsRequirement {
  key: string;
  epoch: number;
  header: string;
  item: string;
  /** Acknowledged total per origin. */
  byOrigin: Map<string, { n: number; t: number }>;
}

function maxSlot(a: SlotView, b: SlotView): SlotView {
  return { p: Math.max(a.p, b.p), n: Math.max(a.n, b.n) };
}

export function covers(have: SlotView, need: SlotView): boolean {
  return have.p >= need.p && have.n >= need.n;
}

const ZERO: SlotView = Object.freeze({ p: 0, n: 0 });

/**
 * What `ks` holds of `origin`'s writes to `key` in `epoch`: 'ended' when the key is in a later
 * epoch there (the epoch ended: what was written in it is gone by design), undefined when the key
 * holds no counter state (another type), else the slot (zero while the key is in an earlier epoch).
 */
export function slotInEpoch(ks: Keyspace, key: string, origin: string, epoch: number, withGrave = true): SlotView | 'ended' | undefined {
  const e = epochOf(ks, key);
  if (e > epoch) return 'ended';
  if (e < epoch) return ZERO;
  return counterSlot(ks, key, origin, withGrave);
}

/** Whether `have` (from `slotInEpoch`) holds a write's slot `need`: the epoch ended, or the slot covers it. */
export function holdsSlot(have: SlotView | 'ended' | undefined, need: SlotView): boolean {
  return have === 'ended' || (have !== undefined && covers(have, need));
}

export class Ledger {
  /** Orders acknowledgements against reads. */
  seq = 0;
  /** Wipes so far, and when each happened. */
  readonly wipes: { node: number; t: number }[] = [];
  /**
   * Nodes that left the cluster (a graceful leave), when, and what they held as they left. A writer
   * that has not yet heard of a leave still counts the leaver's copy in WAIT, as it would a peer
   * wiped before it heard of that: checkWait judges such a peer by what it held when it left.
   */
  readonly departures = new Map<number, { t: number; held: Keyspace }>();
  /** Per origin, its acknowledged counter writes in version order (for WAIT's ground truth). */
  private readonly writesByOrigin = new Map<string, CounterWrite[]>();
  /** Unvouched floors, lowered at wipes to what survives elsewhere. Key: key \0 origin. */
  private readonly floors = new Map<string, CounterRequirement>();
  private readonly vouched: Vouched[] = [];
  /** Per key, epoch and origin: the most a collected tombstone held (`collected`). */
  private readonly ended = new Map<string, SlotView>();
  readonly majorityAcks: MajorityAck[] = [];
  private readonly windows = new Map<string, WindowRequirement>();
  readonly hlls: HllRequirement[] = [];
  private readonly cms = new Map<string, CmsRequirement>();
  /** Counter writes acknowledged in all. */
  counterWrites = 0;
  /** Per key, epoch and origin: the largest slot acknowledged (never lowered): no state may hold more. */
  private readonly acked = new Map<string, SlotView>();
  /** Per key and epoch: the deadlines acknowledged EXPIREs and SET EXs set in it. */
  private readonly ttls = new Map<string, { deadline: number; why: string }[]>();
  /** Keys and epochs any operation wrote (or may have written) in: `key \0 epoch`. */
  private readonly touched = new Set<string>();
  /** TTLs set in all. */
  ttlsSet = 0;

  counterWrite(w: CounterWrite): void {
    this.counterWrites++;
    this.touch(w.key, w.epoch);
    let list = this.writesByOrigin.get(w.origin);
    if (list === undefined) this.writesByOrigin.set(w.origin, (list = []));
    list.push(w);
    const id = `${w.key}\0${w.epoch}\0${w.origin}`;
    const prev = this.floors.get(id);
    const why = `${w.origin} v${w.version} at ${(w.t / 1000).toFixed(3)} s, epoch ${w.epoch}`;
    this.floors.set(id, { key: w.key, epoch: w.epoch, origin: w.origin, slot: prev === undefined ? w.slot : maxSlot(prev.slot, w.slot), why });
    const top = this.acked.get(id);
    this.acked.set(id, top === undefined ? w.slot : maxSlot(top, w.slot));
  }

  /** The most `origin` ever acknowledged in `key`'s epoch `epoch` (zero if nothing). */
  ackedSlot(key: string, epoch: number, origin: string): SlotView {
    return this.acked.get(`${key}\0${epoch}\0${origin}`) ?? ZERO;
  }

  /** An operation wrote, or may have written, to `key` in `epoch`: that epoch may hold state. */
  touch(key: string, epoch: number): void {
    this.touched.add(`${key}\0${epoch}`);
  }

  wasTouched(key: string, epoch: number): boolean {
    return this.touched.has(`${key}\0${epoch}`);
  }

  /** An acknowledged EXPIRE (or SET with an expiry) set `deadline` on `key` in `epoch`. */
  ttlSet(key: string, epoch: number, deadline: number, why: string): void {
    this.ttlsSet++;
    const id = `${key}\0${epoch}`;
    let list = this.ttls.get(id);
    if (list === undefined) this.ttls.set(id, (list = []));
    list.push({ deadline, why });
  }

  /**
   * The deadlines set in `key`'s epoch `epoch`. An epoch may end only by one of them (the register
   * keeps one, but which one a node holds depends on what reached it), so none means it must not end.
   */
  ttlsOf(key: string, epoch: number): readonly { deadline: number; why: string }[] {
    return this.ttls.get(`${key}\0${epoch}`) ?? [];
  }

  /** Every origin with an acknowledged counter write. */
  origins(): IterableIterator<string> {
    return this.writesByOrigin.keys();
  }

  /** The latest acknowledged write of each key by `origin` at or below `version`. */
  writesUpTo(origin: string, version: number): CounterWrite[] {
    const latest = new Map<string, CounterWrite>();
    for (const w of this.writesByOrigin.get(origin) ?? []) if (w.version <= version) latest.set(w.key, w);
    return [...latest.values()];
  }

  /**
   * A WAIT or majority write reported `count` peers holding `origin` up to `version`. A peer may
   * have taken a write any time after it was acknowledged, and may have been wiped since, before the
   * writer heard of it: every wipe after the write counts against the holders, not only later ones.
   */
  vouch(origin: string, version: number, count: number): void {
    if (count <= 0) return;
    for (const w of this.writesUpTo(origin, version)) {
      const wipedSince = new Set(this.wipes.filter((x) => x.t >= w.t).map((x) => x.node));
      for (const [j, d] of this.departures) if (d.t >= w.t) wipedSince.add(j);
      this.vouched.push({ key: w.key, epoch: w.epoch, origin, slot: w.slot, count, wipedSince, why: `${origin} v${w.version} (epoch ${w.epoch}), vouched for by ${count} peer(s) at v${version}` });
    }
  }

  majorityAcked(origin: string, version: number, why: string): void {
    const seq = ++this.seq;
    for (const w of this.writesUpTo(origin, version)) this.majorityAcks.push({ key: w.key, epoch: w.epoch, origin, slot: w.slot, seq, wipes: this.wipes.length, why: `${why} (${origin} v${w.version})` });
  }

  windowWrite(key: string, epoch: number, header: string, bucket: number, origin: string, count: number, why: string): void {
    this.touch(key, epoch);
    const id = `${key}\0${epoch}\0${header}\0${bucket}\0${origin}`;
    const prev = this.windows.get(id);
    if (prev === undefined || prev.count < count) this.windows.set(id, { key, epoch, header, bucket, origin, count, why });
  }

  hllAdd(r: HllRequirement): void {
    this.touch(r.key, r.epoch);
    this.hlls.push(r);
  }

  cmsAdd(key: string, epoch: number, header: string, item: string, origin: string, n: number, t: number): void {
    this.touch(key, epoch);
    const id = `${key}\0${epoch}\0${header}\0${item}`;
    let r = this.cms.get(id);
    if (r === undefined) this.cms.set(id, (r = { key, epoch, header, item, byOrigin: new Map() }));
    const prev = r.byOrigin.get(origin);
    r.byOrigin.set(origin, { n: (prev?.n ?? 0) + n, t: prev?.t ?? t });
  }

  /**
   * A node collected `key`'s tombstone, `tomb` (a keyspace holding only it). What the tombstone
   * holds of each origin was removed by its delete, by design, and held by every member: it ends
   * there (`endedSlot`). That matters for pseudo-slots: each life of a key after a collection starts
   * them afresh (folds write them; nothing carries them over), while a writer's own slot goes on
   * from its base (docs/crdt-counters.md), so a later requirement of an origin still counts what an
   * earlier life held, and the graveyard, a join of every life's tombstone, keeps the larger of each
   * life's pseudo-slot counts where the lives held their sum (seed 500107: n4:1 folded in the key's
   * first life, n4:2 in its second). The lost-write check of a pseudo-slot therefore reads the
   * stores alone and asks them for each folded origin's requirement less what had ended.
   * Read through the fold view: an origin not folded ends at its slot in the tombstone; origins
   * folded together end whole, and only when the tombstone's pseudo-slot holds all that they still
   * required. Only the tombstone's own epoch: an ended epoch is left to `checkLostWrites`.
   */
  collected(key: string, tomb: Keyspace): void {
    const epoch = epochOf(tomb, key);
    const c = counterState(tomb, key);
    if (c === undefined) return;
    const groups = new Map<string, { need: SlotView; reqs: CounterRequirement[] }>();
    for (const r of this.counterRequirements()) {
      if (r.key !== key || r.epoch !== epoch) continue;
      const pseudo = foldedOrigin(r.origin);
      if (pseudo === undefined) {
        this.endAt(r, c.crdt.slotOf(r.origin));
        continue;
      }
      const left = this.remaining(r);
      const g = groups.get(pseudo);
      if (g === undefined) groups.set(pseudo, { need: { ...left }, reqs: [r] });
      else {
        g.need.p += left.p;
        g.need.n += left.n;
        g.reqs.push(r);
      }
    }
    for (const [pseudo, g] of groups) if (covers(c.crdt.slotOf(pseudo), g.need)) for (const r of g.reqs) this.endAt(r, r.slot);
  }

  private endAt(r: CounterRequirement, slot: SlotView): void {
    const id = `${r.key}\0${r.epoch}\0${r.origin}`;
    const prev = this.ended.get(id);
    this.ended.set(id, prev === undefined ? { p: slot.p, n: slot.n } : maxSlot(prev, slot));
  }

  /** What a collected tombstone held of `origin` in `key`'s epoch `epoch` (zero if none): removed by design. */
  endedSlot(key: string, epoch: number, origin: string): SlotView {
    return this.ended.get(`${key}\0${epoch}\0${origin}`) ?? ZERO;
  }

  /** What requirement `r` asks beyond what collected tombstones held (`collected`). */
  remaining(r: CounterRequirement): SlotView {
    const e = this.endedSlot(r.key, r.epoch, r.origin);
    return { p: Math.max(0, r.slot.p - e.p), n: Math.max(0, r.slot.n - e.n) };
  }

  /**
   * Node `j` left the cluster (a graceful leave), holding `held`. Its hand-off put what it held on
   * a majority of the others, so no floor drops; but its own copy is gone, so it counts against
   * the copies a WAIT or majority write vouched for, as a wipe does (seed 16462: the three peers
   * that vouched were a leaver and two nodes wiped later, with the writer wiped too).
   */
  depart(j: number, t: number, held: Keyspace): void {
    this.departures.set(j, { t, held });
    for (const v of this.vouched) v.wipedSince.add(j);
  }

  /**
   * Node `j`'s data directory is gone (crash without state). What only it held is legitimately
   * lost: every unvouched requirement drops to the most any other node still holds. Vouched ones
   * stay until more nodes than the peers that vouched have been wiped.
   */
  wipe(j: number, t: number, holders: Holders, nodes: number): void {
    this.wipes.push({ node: j, t });
    const others: Keyspace[] = [];
    for (let k = 0; k < nodes; k++) {
      const ks = k === j ? undefined : holders(k);
      if (ks !== undefined) others.push(ks);
    }
    for (const [id, f] of this.floors) {
      // A folded origin is held in its node's pseudo-slot, which starts afresh in each life of the
      // key: a store holds this life's part, and what a collected tombstone held ended by design.
      // Not the graveyard's pseudo-slot: it is the checker's record, no node holds it (seed
      // 1003275: every copy of n2:2's slot was wiped, and the graveyard's n2:retired of an earlier
      // life kept its floor up).
      const ended = foldedOrigin(f.origin) === undefined ? ZERO : this.endedSlot(f.key, f.epoch, f.origin);
      let best: SlotView = { p: 0, n: 0 };
      for (const ks of others) {
        // A node past the write's epoch: the requirement ends with the epoch, not with this wipe.
        const have = slotInEpoch(ks, f.key, f.origin, f.epoch, false);
        best = maxSlot(best, have === 'ended' ? f.slot : { p: (have?.p ?? 0) + ended.p, n: (have?.n ?? 0) + ended.n });
      }
      const lowered = { p: Math.min(f.slot.p, best.p), n: Math.min(f.slot.n, best.n) };
      if (lowered.p !== f.slot.p || lowered.n !== f.slot.n) this.floors.set(id, { ...f, slot: lowered, why: `${f.why}, lowered by the wipe of n${j} at ${(t / 1000).toFixed(3)} s` });
    }
    for (const v of this.vouched) v.wipedSince.add(j);
    for (const [id, w] of this.windows) {
      let best = 0;
      for (const ks of others) {
        const e = epochOf(ks, w.key);
        if (e > w.epoch) best = w.count;
        else if (e === w.epoch && windowHeader(ks, w.key) === w.header) best = Math.max(best, windowSlot(ks, w.key, w.bucket, w.origin));
      }
      if (best < w.count) this.windows.set(id, { ...w, count: best });
    }
    for (const h of this.hlls) {
      if (h.exempt) continue;
      const held = (ks: Keyspace): boolean => {
        const e = epochOf(ks, h.key);
        return e > h.epoch || (e === h.epoch && hllGeneration(ks, h.key) === h.generation && hllHolds(ks, h.key, h.element));
      };
      if (!others.some(held)) h.exempt = true;
    }
  }

  /** Every counter requirement the final state must meet, one per (key, origin): the largest that still applies. */
  counterRequirements(): CounterRequirement[] {
    const out = new Map<string, CounterRequirement>(this.floors);
    for (const v of this.vouched) {
      if (v.wipedSince.size > v.count) continue;
      const id = `${v.key}\0${v.epoch}\0${v.origin}`;
      const cur = out.get(id);
      if (cur === undefined || !covers(cur.slot, v.slot)) out.set(id, { key: v.key, epoch: v.epoch, origin: v.origin, slot: cur === undefined ? v.slot : maxSlot(cur.slot, v.slot), why: v.why });
    }
    return [...out.values()];
  }

  windowRequirements(): WindowRequirement[] {
    return [...this.windows.values()].filter((w) => w.count > 0);
  }

  /**
   * CMS requirements: the estimate never under-counts, so it must be at least the acknowledged total
   * of an item, counting only origins whose first write came after the last wipe (a wipe may lose
   * any origin's not yet gossiped matrix, and per-origin rows are not visible to check holders).
   */
  cmsRequirements(): { key: string; epoch: number; header: string; item: string; n: number }[] {
    const out: { key: string; epoch: number; header: string; item: string; n: number }[] = [];
    const lastWipe = this.wipes.length === 0 ? -Infinity : (this.wipes[this.wipes.length - 1] as { t: number }).t;
    for (const r of this.cms.values()) {
      let n = 0;
      for (const c of r.byOrigin.values()) if (c.t > lastWipe) n += c.n;
      if (n > 0) out.push({ key: r.key, epoch: r.epoch, header: r.header, item: r.item, n });
    }
    return out;
  }
}
