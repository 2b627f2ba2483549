// The fault explorer's invariants, each a check of the real replicas' state against the ledger of
// acknowledged operations (explore-ledger.ts): convergence after a heal, no acknowledged write lost,
// majority reads see majority writes, WAIT never over-counts, equal digests mean equal state, and
// expiry: an ended epoch's writes are gone, and only a TTL set in an epoch, passed on the clock of
// the node that ends it, ends it. Each returns violations that say what was expected and what was found.

import type { Keyspace } from '../keyspace/keyspace.js';
import type { WaitOutcome } from '../replication/waiters.js';
import { WINDOW_MAX_SKEW_MS } from '../crdt/windowed-counter.js';
import { holdsSlot, slotInEpoch, type Holders, type Ledger } from './explore-ledger.js';
import { cmsEstimate, cmsHeader, counterReplicas, counterSlot, counterState, describeKey, differingKeys, epochOf, foldedOrigin, hllGeneration, hllHolds, holdsType, joinStates, keyspaceNow, sameState, storedKeys, windowHeader, windowShape, windowSlot, type SlotView } from './inspect.js';
import type { Simulation } from './network.js';
import { isRetiredSlot } from '../replication/slot-folds.js';

export type Invariant = 'convergence' | 'lost-write' | 'expiry' | 'majority-read' | 'wait-overcount' | 'known-overclaim' | 'digest' | 'traffic' | 'resurrection' | 'exception';

export const INVARIANTS: readonly Invariant[] = ['convergence', 'lost-write', 'expiry', 'majority-read', 'wait-overcount', 'known-overclaim', 'digest', 'traffic', 'resurrection', 'exception'];

export interface Violation {
  invariant: Invariant;
  /** The shape of the failure, short and free of seed-specific numbers, for grouping seeds by bug. */
  kind: string;
  /** Virtual ms when it was detected. */
  at: number;
  detail: string;
  /** What it is about (a key and replica, an element): a lost write is reported once, not at every later heal. */
  subject?: string;
}

/** Shows a full key readably: database 0 keys by name, an oversized key by its length. */
export function keyLabel(key: string): string {
  const name = key.slice(1);
  return name.length > 40 ? `${name.slice(0, 1)}(${name.length} bytes)` : name;
}

function slotText(s: SlotView | 'ended' | undefined): string {
  return s === undefined ? 'no counter' : s === 'ended' ? 'a later epoch' : `p=${s.p} n=${s.n}`;
}

/**
 * WAIT never over-counts: when awaitHolders reports `count` for `version`, at that instant at least
 * `count` peers hold every acknowledged counter write of the origin up to `version` (slot at least
 * the writer's slot after the write). A peer wiped after a write it lacks gets the benefit of the
 * doubt: it may have held the write and lost it legitimately (persistence none). A peer that left
 * the cluster after the write is judged by what it held as it left: the writer counts it until it
 * hears of the leave (a paused writer hears late).
 */
export function checkWait(
  ledger: Ledger,
  holders: Holders,
  nodes: number,
  writer: number,
  origin: string,
  version: number,
  o: WaitOutcome,
  now: number,
  what: string,
): Violation | undefined {
  // A write the writer itself no longer holds (a concurrent creation of another type replaced the
  // key) cannot be held by a peer either; its loss is the lost-write check's to report.
  const mine = holders(writer);
  // Nor a write whose epoch ended on the writer (an expiry): peers need not hold it either.
  const writes = ledger.writesUpTo(origin, version).filter((w) => {
    const s = mine === undefined ? undefined : slotInEpoch(mine, w.key, origin, w.epoch);
    return s !== undefined && s !== 'ended' && holdsSlot(s, w.slot);
  });
  if (writes.length === 0 || o.count === 0) return undefined;
  let truth = 0;
  const lacking: string[] = [];
  for (let k = 0; k < nodes; k++) {
    if (k === writer) continue;
    const ks = holders(k);
    const left = ks === undefined ? ledger.departures.get(k) : undefined;
    const missing: string[] = [];
    for (const w of writes) {
      // A peer that left after the write: what it held as it left (the writer may not know yet).
      const from = ks ?? (left !== undefined && left.t >= w.t ? left.held : undefined);
      const have = from === undefined ? { p: 0, n: 0 } : slotInEpoch(from, w.key, origin, w.epoch);
      // A peer holding the key as another type: a type conflict the lost-write check reports.
      // A peer past the write's epoch: the epoch ended there, taking the write with it by design.
      if (have === undefined || holdsSlot(have, w.slot)) continue;
      if (ledger.wipes.some((x) => x.node === k && x.t >= w.t)) continue;
      missing.push(`${keyLabel(w.key)} v${w.version} needs ${slotText(w.slot)}, has ${from === undefined ? (left === undefined ? 'nothing (wiped)' : 'nothing (left before the write)') : `${slotText(have)} (${describeKey(from, w.key)})${ks === undefined ? ' when it left' : ''}`}`);
    }
    if (missing.length === 0) truth++;
    else lacking.push(`n${k}: ${missing.join('; ')}`);
  }
  if (truth >= o.count) return undefined;
  return {
    invariant: 'wait-overcount',
    kind: 'counted peers lack counter writes',
    at: now,
    detail: `${what} on n${writer} (${origin}) up to v${version} reported ${o.count} peer(s) (needed ${o.needed}, ok=${o.ok}), but only ${truth} hold every write: ${lacking.join(' | ')}`,
  };
}

/**
 * A node's known version of an origin never claims a write it lacks (docs/consistency.md: "a peer's
 * known version of an origin is an exact guarantee"; WAIT and majority writes count on it): node
 * `i` holds, for every acknowledged counter write of every other origin at or below its known
 * version, at least the writer's slot after that write. `checked` remembers the known versions
 * already verified per (node, origin), so a check costs only what moved.
 */
export function checkKnown(ledger: Ledger, sim: Simulation, i: number, ks: Keyspace, checked: Map<string, number>): Violation[] {
  const out: Violation[] = [];
  const r = sim.nodes[i]?.replica;
  if (r === undefined) return out;
  for (const origin of ledger.origins()) {
    if (origin === r.origin) continue;
    // A folded origin's known version claims nothing any decision reads (WAIT and majorities count
    // live origins): its writes are in its node's pseudo-slot, and its keys reach a node through
    // whichever log still holds them (version-log.ts, dropCovered).
    if (foldedOrigin(origin) !== undefined) continue;
    const known = r.versions.known(origin);
    const id = `${r.origin}\0${origin}`;
    if (known === 0 || (checked.get(id) ?? 0) >= known) continue;
    checked.set(id, known);
    const missing: string[] = [];
    for (const w of ledger.writesUpTo(origin, known)) {
      const have = slotInEpoch(ks, w.key, origin, w.epoch);
      // A key replaced by another type: a type conflict, which the lost-write check reports; a key
      // past the write's epoch: it ended there.
      if (have === undefined || holdsSlot(have, w.slot)) continue;
      missing.push(`${keyLabel(w.key)} v${w.version} needs ${slotText(w.slot)}, has ${slotText(have)}`);
    }
    if (missing.length > 0) {
      out.push({
        invariant: 'known-overclaim',
        kind: 'known version claims counter writes the node lacks',
        at: sim.now,
        detail: `n${i} (${r.origin}) claims ${origin} known up to v${known} (vector ${JSON.stringify(r.vector().find((e) => e.origin === origin))}) but lacks ${missing.slice(0, 5).join('; ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
        subject: `known ${r.origin} ${origin}`,
      });
    }
  }
  return out;
}

/**
 * A majority read sees every majority write acknowledged before it started: node `reader`'s slot
 * of the writer, in each key read, is at least the written one. Void once any node has been wiped
 * since the acknowledgement (the guarantee assumes a node that acknowledged a write keeps it).
 */
export function checkMajorityRead(ledger: Ledger, reader: number, ks: Keyspace, keys: readonly string[], startSeq: number, now: number): Violation[] {
  const out: Violation[] = [];
  for (const a of ledger.majorityAcks) {
    if (a.seq >= startSeq || a.wipes !== ledger.wipes.length || !keys.includes(a.key)) continue;
    const have = slotInEpoch(ks, a.key, a.origin, a.epoch);
    // A key replaced by another type lost the write everywhere: the lost-write check reports it.
    // One past the write's epoch: the key expired since, which may end a majority write too.
    if (have === undefined || holdsSlot(have, a.slot)) continue;
    out.push({
      invariant: 'majority-read',
      kind: 'read missed an acknowledged majority write',
      at: now,
      detail: `majority read of ${keys.map(keyLabel).join(',')} on n${reader} finished ok at ${(now / 1000).toFixed(3)} s with ${keyLabel(a.key)} slot ${a.origin} ${slotText(have)} (${describeKey(ks, a.key)}), but ${a.why} acknowledged ${slotText(a.slot)} before it started`,
    });
  }
  return out;
}

/**
 * A collected tombstone never comes back to life (tombstone-gc.ts): on every node, a counter whose
 * key some node collected shows the same value joined with every collected tombstone of it as on
 * its own, so it holds no count that a collected delete removed (a stale state that resurrected the
 * key would, and would double what was counted again since).
 */
export function checkResurrections(stores: readonly Keyspace[], grave: Keyspace, now: number): Violation[] {
  const out: Violation[] = [];
  if (grave.size === 0) return out;
  stores.forEach((ks, i) => {
    const withGrave = joinStates([ks, grave]);
    for (const key of grave.keys()) {
      const mine = ks.getCounter(key);
      if (!mine.ok || mine.value === null) continue;
      const joined = withGrave.getCounter(key);
      if (joined.ok && joined.value === mine.value) continue;
      out.push({
        invariant: 'resurrection',
        kind: 'a collected delete no longer holds',
        at: now,
        detail: `n${i}: ${keyLabel(key)} is ${String(mine.value)} (${describeKey(ks, key)}), but ${joined.ok ? String(joined.value) : joined.error.message} joined with its collected tombstones (${describeKey(grave, key)})`,
        subject: `resurrection ${key} n${i}`,
      });
    }
  });
  return out;
}

/** Every live node holds the same keys in the same states. */
export function checkConvergence(sim: Simulation, sinceHealMs: number): Violation | undefined {
  const live = sim.nodes.map((n, i) => ({ n, i })).filter((x) => x.n.up);
  const first = live[0];
  if (first === undefined) return undefined;
  const diffs: string[] = [];
  for (const { n, i } of live.slice(1)) {
    if (sameState(first.n.replica.keyspace, n.replica.keyspace)) continue;
    const keys = differingKeys(first.n.replica.keyspace, n.replica.keyspace);
    diffs.push(`n${first.i} vs n${i} on ${keys.map((k) => `${keyLabel(k)} [${describeKey(first.n.replica.keyspace, k)} / ${describeKey(n.replica.keyspace, k)}]`).join(', ')}`);
  }
  if (diffs.length > 0) {
    const oversize = live.reduce((a, x) => a + (x.n.replica.stats.rejected.oversize ?? 0), 0);
    // A node whose next tick lies far ahead of its clock (scheduled before its clock stepped back) neither gossips nor probes.
    const silent = live
      .map((x) => ({ i: x.i, ms: Math.round(x.n.replica.nextTickAt() - sim.localNow(x.i)) }))
      .filter((x) => x.ms > Math.max(10_000, 10 * sim.config.gossipIntervalMs));
    const kind =
      oversize > 0 ? 'states differ, frames over the size limit rejected' : silent.length > 0 ? 'states differ, a node silent after its clock stepped back' : 'states differ';
    const notes = [`${oversize} oversize frames rejected`, ...silent.map((x) => `n${x.i}'s next tick is ${x.ms} ms ahead of its clock`)];
    return { invariant: 'convergence', kind, at: sim.now, detail: `${sinceHealMs} ms after the heal (${notes.join('; ')}): ${diffs.join(' | ')}` };
  }
  const hashes = new Set(live.map((x) => x.n.replica.versions.hash));
  if (hashes.size > 1) {
    const vectors = live.map((x) => `n${x.i} ${x.n.replica.versions.hash} ${JSON.stringify(x.n.replica.vector())}`);
    return { invariant: 'convergence', kind: 'states agree but digests never do', at: sim.now, detail: `${sinceHealMs} ms after the heal: ${vectors.join(' | ')}` };
  }
  return undefined;
}

/** Any two live nodes whose vector hashes are equal hold identical states (so an idle exchange may skip them). */
export function checkDigests(sim: Simulation): Violation | undefined {
  const live = sim.nodes.map((n, i) => ({ n, i })).filter((x) => x.n.up);
  const bad: string[] = [];
  for (let a = 0; a < live.length; a++) {
    for (let b = a + 1; b < live.length; b++) {
      const x = live[a] as (typeof live)[number];
      const y = live[b] as (typeof live)[number];
      if (x.n.replica.versions.hash !== y.n.replica.versions.hash) continue;
      if (sameState(x.n.replica.keyspace, y.n.replica.keyspace)) continue;
      const keys = differingKeys(x.n.replica.keyspace, y.n.replica.keyspace);
      bad.push(`n${x.i} and n${y.i} share hash ${x.n.replica.versions.hash} but differ on ${keys.map((k) => `${keyLabel(k)} [${describeKey(x.n.replica.keyspace, k)} / ${describeKey(y.n.replica.keyspace, k)}]`).join(', ')}`);
    }
  }
  if (bad.length === 0) return undefined;
  const oversize = live.reduce((a, x) => a + (x.n.replica.stats.rejected.oversize ?? 0), 0);
  const kind = oversize > 0 ? 'equal digests, different states, frames over the size limit rejected' : 'equal digests, different states';
  return { invariant: 'digest', kind, at: sim.now, detail: `${oversize} oversize frames rejected: ${bad.join(' | ')}` };
}

/**
 * No acknowledged write lost: the join of every node's state (a write some node still holds is not
 * lost, only not yet everywhere) holds every counter slot, window bucket, HLL element and CMS count
 * the ledger requires. What DEL, a delete generation or a window's retention removes by design is
 * not required (see the ledger and each case below), nor what was written in an epoch of the key's
 * life that has ended: but only a TTL set in that epoch may end it (else: an `expiry` violation).
 */
export function checkLostWrites(ledger: Ledger, stores: readonly Keyspace[], trueNowMs: number, now: number): Violation[] {
  const out: Violation[] = [];
  const lost = (kind: string, detail: string, subject: string): void => {
    out.push({ invariant: 'lost-write', kind, at: now, detail, subject });
  };
  const joined = joinStates(stores);
  const what = (key: string): string => describeKey(joined, key);
  /**
   * Whether a requirement of `key` in `epoch` has ended with its epoch: the join is in a later one.
   * An epoch in which no TTL was ever set cannot end, so that ending erased acknowledged writes.
   */
  const endedEpoch = (key: string, epoch: number, why: string): boolean => {
    const e = epochOf(joined, key);
    if (e <= epoch) return false;
    if (ledger.ttlsOf(key, epoch).length === 0) {
      out.push({
        invariant: 'expiry',
        kind: 'an epoch with no TTL set in it ended',
        at: now,
        detail: `${keyLabel(key)}: epoch ${epoch} ended (the join is in epoch ${e}: ${what(key)}), but no TTL was ever set in it; it took ${why}`,
        subject: `untimely end ${key} ${epoch}`,
      });
    }
    return true;
  };

  // Origins the fold view folds (inspect.ts): their node's pseudo-slot must hold at least the sum
  // of what each of them acknowledged, checked after the others.
  const foldedNeeds = new Map<string, { key: string; epoch: number; origin: string; slot: SlotView; why: string[] }>();
  for (const req of ledger.counterRequirements()) {
    // A floor a wipe lowered to zero requires nothing (not even that the key is still a counter).
    if (req.slot.p === 0 && req.slot.n === 0) continue;
    const pseudo = foldedOrigin(req.origin);
    if (pseudo !== undefined) {
      // Less what collected tombstones held (Ledger.collected): a pseudo-slot starts afresh in each life.
      const left = ledger.remaining(req);
      const ended = ledger.endedSlot(req.key, req.epoch, req.origin);
      const why = ended.p === 0 && ended.n === 0 ? req.why : `${req.why}, less ${slotText(ended)} collected`;
      const id = `${req.key}\0${req.epoch}\0${pseudo}`;
      const sum = foldedNeeds.get(id);
      if (sum === undefined) foldedNeeds.set(id, { key: req.key, epoch: req.epoch, origin: pseudo, slot: { ...left }, why: [why] });
      else {
        sum.slot.p += left.p;
        sum.slot.n += left.n;
        sum.why.push(why);
      }
      continue;
    }
    if (endedEpoch(req.key, req.epoch, req.why)) continue;
    const have = slotInEpoch(joined, req.key, req.origin, req.epoch);
    if (holdsSlot(have, req.slot)) continue;
    const live = what(req.key).includes(' live');
    lost(
      have === undefined ? `counter replaced by ${live ? 'a live' : 'a deleted'} key of another type` : 'counter slot below an acknowledged write',
      `${keyLabel(req.key)}: slot ${req.origin} needs ${slotText(req.slot)} in epoch ${req.epoch} (${req.why}), the join holds ${slotText(have)} in epoch ${epochOf(joined, req.key)}; key now ${what(req.key)}`,
      `counter ${req.key} ${req.epoch} ${req.origin}`,
    );
  }
  for (const req of foldedNeeds.values()) {
    const why = `the sum of ${req.why.join('; ')}`;
    if (endedEpoch(req.key, req.epoch, why)) continue;
    // The stores' pseudo-slot alone: what a collected tombstone held is not asked for (above), and
    // adding the graveyard's, a join of every earlier life's, would hide a loss in this one.
    const have = slotInEpoch(joined, req.key, req.origin, req.epoch, false);
    if (holdsSlot(have, req.slot)) continue;
    lost(
      have === undefined ? 'counter replaced by a key of another type' : 'pseudo-slot below the acknowledged writes folded into it',
      `${keyLabel(req.key)}: pseudo-slot ${req.origin} needs ${slotText(req.slot)} in epoch ${req.epoch} (${why}), the join holds ${slotText(have)} in epoch ${epochOf(joined, req.key)}; key now ${what(req.key)}`,
      `counter ${req.key} ${req.epoch} ${req.origin}`,
    );
  }

  for (const w of ledger.windowRequirements()) {
    const [, g, retentionS] = w.header.split('/').map(Number) as [number, number, number];
    const gMs = g * 1000;
    const trueBucket = Math.floor(trueNowMs / gMs);
    // Retention is by design: a bucket older than the retention at true time may be gone.
    if (w.bucket <= trueBucket - retentionS / g) continue;
    if (endedEpoch(w.key, w.epoch, `window bucket ${w.bucket} of ${w.origin} (${w.why})`)) continue;
    if (epochOf(joined, w.key) !== w.epoch || windowHeader(joined, w.key) !== w.header) {
      if (epochOf(joined, w.key) === w.epoch && holdsType(joined, w.key, 'window')) continue; // a DEL or a winning re-creation: by design
      lost('window replaced by a key of another type', `${keyLabel(w.key)}: ${w.why} (bucket ${w.bucket}, ${w.origin} ${w.count}); key now ${what(w.key)}`, `window ${w.key} ${w.epoch} ${w.header} ${w.bucket} ${w.origin}`);
      continue;
    }
    const have = windowSlot(joined, w.key, w.bucket, w.origin);
    if (have >= w.count) continue;
    const shape = windowShape(joined, w.key);
    const ahead = shape !== undefined && shape.maxBucket > Math.floor((trueNowMs + WINDOW_MAX_SKEW_MS) / gMs);
    lost(
      ahead ? 'window bucket truncated by a bucket stamped far ahead' : 'window bucket below an acknowledged increment',
      `${keyLabel(w.key)} ${w.header}: bucket ${w.bucket} of ${w.origin} needs ${w.count} (${w.why}), the join holds ${have}; true bucket now ${trueBucket}, newest bucket ${shape?.maxBucket ?? '?'} (${shape === undefined ? '?' : (shape.maxBucket - trueBucket) * g} s ahead), kept ${shape?.keptBuckets ?? '?'}`,
      `window ${w.key} ${w.epoch} ${w.header} ${w.bucket} ${w.origin}`,
    );
  }

  for (const h of ledger.hlls) {
    if (h.exempt) continue;
    if (endedEpoch(h.key, h.epoch, `element ${h.element} added by ${h.origin} on n${h.node} at ${(h.t / 1000).toFixed(3)} s`)) continue;
    if (epochOf(joined, h.key) !== h.epoch) {
      lost('hll element lost', `${keyLabel(h.key)}: element ${h.element} added by ${h.origin} on n${h.node} at ${(h.t / 1000).toFixed(3)} s in epoch ${h.epoch}; the join is in epoch ${epochOf(joined, h.key)}, ${what(h.key)}`, `hll ${h.key} ${h.epoch} ${h.generation} ${h.element}`);
      continue;
    }
    const gen = hllGeneration(joined, h.key);
    if (gen !== undefined && gen > h.generation) continue; // deleted since: delete wins by design
    if (gen === h.generation && hllHolds(joined, h.key, h.element)) continue;
    lost(
      gen === undefined ? 'hll replaced by a key of another type' : 'hll element lost',
      `${keyLabel(h.key)}: element ${h.element} added by ${h.origin} on n${h.node} at ${(h.t / 1000).toFixed(3)} s (gen ${h.generation}); key now ${what(h.key)}`,
      `hll ${h.key} ${h.epoch} ${h.generation} ${h.element}`,
    );
  }

  for (const c of ledger.cmsRequirements()) {
    if (endedEpoch(c.key, c.epoch, `CMS item ${c.item}`)) continue;
    if (epochOf(joined, c.key) !== c.epoch || cmsHeader(joined, c.key) !== c.header) {
      if (epochOf(joined, c.key) === c.epoch && holdsType(joined, c.key, 'cms')) continue; // a DEL or a winning re-creation: by design
      lost('cms replaced by a key of another type', `${keyLabel(c.key)} ${c.header}: item ${c.item} acknowledged ${c.n}; key now ${what(c.key)}`, `cms ${c.key} ${c.epoch} ${c.header} ${c.item}`);
      continue;
    }
    const est = cmsEstimate(joined, c.key, c.item);
    if (est < c.n) lost('cms under-counts', `${keyLabel(c.key)} ${c.header}: item ${c.item} acknowledged ${c.n}, estimate ${est}`, `cms ${c.key} ${c.epoch} ${c.header} ${c.item}`);
  }
  return out;
}

/** Virtual ms a key may stay stored past its deadline before the sweep of every tick must have ended it. */
export const SWEEP_SLACK_MS = 5000;

/**
 * An epoch of `key`'s life ended on node `node` (its clock reading `clock`): by the documented rule
 * only a deadline set in that epoch, passed on that node's own clock, ends it there.
 */
export function checkEpochEnd(ledger: Ledger, node: number, key: string, epoch: number, clock: number, now: number): Violation | undefined {
  const ttls = ledger.ttlsOf(key, epoch);
  if (ttls.some((t) => t.deadline <= clock)) return undefined;
  return {
    invariant: 'expiry',
    kind: 'an epoch ended on a node before any deadline set in it passed on its clock',
    at: now,
    detail: `${keyLabel(key)}: epoch ${epoch} ended on n${node} at its clock ${clock}, but the deadlines set in it are ${ttls.length === 0 ? 'none' : ttls.map((t) => `${t.deadline} (${t.deadline - clock} ms later, ${t.why})`).join(', ')}`,
    subject: `early end ${key} ${epoch} n${node}`,
  };
}

/**
 * Expiry, once the cluster has converged after a heal (docs/crdt-counters.md, "Expiry"):
 * - an increment taken before the deadline never survives it: in a key past its first epoch, every
 *   replica's counter slot is at most what that replica acknowledged in the key's current epoch
 *   (slots start afresh in each epoch, so anything more came from an ended one), over the join of
 *   every node's state; and on every node, a key in an epoch in which nothing was written holds no
 *   state at all (the husk an expiry leaves);
 * - expired keys free their memory: no node still stores a key whose deadline passed on its own
 *   clock more than SWEEP_SLACK_MS ago (every tick sweeps the keys with a TTL), read raw, without
 *   the read ending it as a command's would.
 */
export function checkExpiry(ledger: Ledger, nodes: readonly { i: number; ks: Keyspace }[], now: number): Violation[] {
  const out: Violation[] = [];
  const joined = joinStates(nodes.map((n) => n.ks));
  for (const key of joined.keys()) {
    const epoch = epochOf(joined, key);
    if (epoch === 0) continue;
    for (const r of counterReplicas(joined, key)) {
      const have = counterSlot(joined, key, r);
      // A pseudo-slot holds what the incarnations folded into it acknowledged, summed.
      let bound = ledger.ackedSlot(key, epoch, r);
      if (isRetiredSlot(r)) {
        bound = { p: 0, n: 0 };
        for (const o of ledger.origins()) {
          if (foldedOrigin(o) !== r) continue;
          const a = ledger.ackedSlot(key, epoch, o);
          bound = { p: bound.p + a.p, n: bound.n + a.n };
        }
      }
      if (have === undefined || (have.p <= bound.p && have.n <= bound.n)) continue;
      // What lies below a slot's floors counts nothing: tombstone collection starts a collector's
      // new slot at its old value with the floor there too (slotBases), a dead contribution, and a
      // pseudo-slot that folded such a slot holds its base and floor beside live increments (seed
      // 1005156: p=106 over a floor of 102, with 65 acknowledged). Only the part above the floors
      // counts in the value.
      const floors = counterState(joined, key)?.crdt.slotOf(r);
      if (floors !== undefined && floors.p - floors.fp <= bound.p && floors.n - floors.fn <= bound.n) continue;
      out.push({
        invariant: 'expiry',
        kind: 'an increment of an ended epoch survives',
        at: now,
        detail: `${keyLabel(key)} in epoch ${epoch}: slot ${r} holds ${slotText(have)}, but ${r} acknowledged at most ${slotText(bound)} in this epoch; key now ${describeKey(joined, key)}`,
        subject: `survivor ${key} ${epoch} ${r}`,
      });
    }
  }
  for (const { i, ks } of nodes) {
    const clock = keyspaceNow(ks);
    for (const s of storedKeys(ks)) {
      if (s.life.deadline !== null && s.life.deadline <= clock - SWEEP_SLACK_MS) {
        out.push({
          invariant: 'expiry',
          kind: 'an expired key still holds its state',
          at: now,
          detail: `n${i}: ${keyLabel(s.key)} in epoch ${s.life.epoch} with deadline ${s.life.deadline}, ${clock - s.life.deadline} ms past on its clock, still stored (${s.bytes} bytes${s.empty ? ', empty' : ''})`,
          subject: `unfreed ${s.key} ${s.life.epoch} n${i}`,
        });
      } else if (s.life.epoch > 0 && !s.empty && !ledger.wasTouched(s.key, s.life.epoch)) {
        out.push({
          invariant: 'expiry',
          kind: 'a key in an epoch nobody wrote holds state',
          at: now,
          detail: `n${i}: ${keyLabel(s.key)} in epoch ${s.life.epoch}, in which nothing was written, holds ${s.bytes} bytes: ${describeKey(ks, s.key)}`,
          subject: `husk ${s.key} ${s.life.epoch} n${i}`,
        });
      }
    }
  }
  return out;
}
