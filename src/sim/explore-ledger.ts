// The explorer's record of what was acknowledged, and what therefore must survive: per counter key
// and replica id the slot each acknowledged write reached (slots never shrink, so the final slot
// must be at least that), window buckets, HLL elements and Count-Min Sketch counts; which writes a
// WAIT or majority write vouched for; and the wiped data directories that legitimately lose
// writes not yet held anywhere else (persistence none). docs/testing.md, "The fault explorer".

import type { Keyspace } from '../keyspace/keyspace.js';
import { counterSlot, hllGeneration, hllHolds, windowHeader, windowSlot, type SlotView } from './inspect.js';

/** What each node holds now: its keyspace, or undefined when its data is gone (crashed to be wiped). */
export type Holders = (node: number) => Keyspace | undefined;

/** One acknowledged counter write: the writer's slot right after it, at its origin's version. */
export interface CounterWrite {
  key: string;
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
  origin: string;
  slot: SlotView;
  /** Why it must hold: the write that set it, as `n2 at 12.3 s v7`. */
  why: string;
}

/** A requirement vouched for by a WAIT or majority write: `count` peers plus the writer held it. */
interface Vouched extends CounterRequirement {
  count: number;
  /** Distinct nodes wiped since: once more than `count` are, every holder may be gone. */
  wipedSince: Set<number>;
}

export interface MajorityAck {
  key: string;
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
  header: string;
  bucket: number;
  origin: string;
  count: number;
  why: string;
}

export interface HllRequirement {
  key: string;
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

export class Ledger {
  /** Orders acknowledgements against reads. */
  seq = 0;
  /** Wipes so far, and when each happened. */
  readonly wipes: { node: number; t: number }[] = [];
  /** Per origin, its acknowledged counter writes in version order (for WAIT's ground truth). */
  private readonly writesByOrigin = new Map<string, CounterWrite[]>();
  /** Unvouched floors, lowered at wipes to what survives elsewhere. Key: key \0 origin. */
  private readonly floors = new Map<string, CounterRequirement>();
  private readonly vouched: Vouched[] = [];
  readonly majorityAcks: MajorityAck[] = [];
  private readonly windows = new Map<string, WindowRequirement>();
  readonly hlls: HllRequirement[] = [];
  private readonly cms = new Map<string, CmsRequirement>();
  /** Counter writes acknowledged in all. */
  counterWrites = 0;

  counterWrite(w: CounterWrite): void {
    this.counterWrites++;
    let list = this.writesByOrigin.get(w.origin);
    if (list === undefined) this.writesByOrigin.set(w.origin, (list = []));
    list.push(w);
    const id = `${w.key}\0${w.origin}`;
    const prev = this.floors.get(id);
    const why = `${w.origin} v${w.version} at ${(w.t / 1000).toFixed(3)} s`;
    this.floors.set(id, { key: w.key, origin: w.origin, slot: prev === undefined ? w.slot : maxSlot(prev.slot, w.slot), why });
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
      this.vouched.push({ key: w.key, origin, slot: w.slot, count, wipedSince, why: `${origin} v${w.version}, vouched for by ${count} peer(s) at v${version}` });
    }
  }

  majorityAcked(origin: string, version: number, why: string): void {
    const seq = ++this.seq;
    for (const w of this.writesUpTo(origin, version)) this.majorityAcks.push({ key: w.key, origin, slot: w.slot, seq, wipes: this.wipes.length, why: `${why} (${origin} v${w.version})` });
  }

  windowWrite(key: string, header: string, bucket: number, origin: string, count: number, why: string): void {
    const id = `${key}\0${header}\0${bucket}\0${origin}`;
    const prev = this.windows.get(id);
    if (prev === undefined || prev.count < count) this.windows.set(id, { key, header, bucket, origin, count, why });
  }

  hllAdd(r: HllRequirement): void {
    this.hlls.push(r);
  }

  cmsAdd(key: string, header: string, item: string, origin: string, n: number, t: number): void {
    const id = `${key}\0${header}\0${item}`;
    let r = this.cms.get(id);
    if (r === undefined) this.cms.set(id, (r = { key, header, item, byOrigin: new Map() }));
    const prev = r.byOrigin.get(origin);
    r.byOrigin.set(origin, { n: (prev?.n ?? 0) + n, t: prev?.t ?? t });
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
      let best: SlotView = { p: 0, n: 0 };
      for (const ks of others) best = maxSlot(best, counterSlot(ks, f.key, f.origin) ?? { p: 0, n: 0 });
      const lowered = { p: Math.min(f.slot.p, best.p), n: Math.min(f.slot.n, best.n) };
      if (lowered.p !== f.slot.p || lowered.n !== f.slot.n) this.floors.set(id, { ...f, slot: lowered, why: `${f.why}, lowered by the wipe of n${j} at ${(t / 1000).toFixed(3)} s` });
    }
    for (const v of this.vouched) v.wipedSince.add(j);
    for (const [id, w] of this.windows) {
      let best = 0;
      for (const ks of others) if (windowHeader(ks, w.key) === w.header) best = Math.max(best, windowSlot(ks, w.key, w.bucket, w.origin));
      if (best < w.count) this.windows.set(id, { ...w, count: best });
    }
    for (const h of this.hlls) {
      if (h.exempt) continue;
      if (!others.some((ks) => hllGeneration(ks, h.key) === h.generation && hllHolds(ks, h.key, h.element))) h.exempt = true;
    }
  }

  /** Every counter requirement the final state must meet, one per (key, origin): the largest that still applies. */
  counterRequirements(): CounterRequirement[] {
    const out = new Map<string, CounterRequirement>(this.floors);
    for (const v of this.vouched) {
      if (v.wipedSince.size > v.count) continue;
      const id = `${v.key}\0${v.origin}`;
      const cur = out.get(id);
      if (cur === undefined || !covers(cur.slot, v.slot)) out.set(id, { key: v.key, origin: v.origin, slot: cur === undefined ? v.slot : maxSlot(cur.slot, v.slot), why: v.why });
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
  cmsRequirements(): { key: string; header: string; item: string; n: number }[] {
    const out: { key: string; header: string; item: string; n: number }[] = [];
    const lastWipe = this.wipes.length === 0 ? -Infinity : (this.wipes[this.wipes.length - 1] as { t: number }).t;
    for (const r of this.cms.values()) {
      let n = 0;
      for (const c of r.byOrigin.values()) if (c.t > lastWipe) n += c.n;
      if (n > 0) out.push({ key: r.key, header: r.header, item: r.item, n });
    }
    return out;
  }
}
