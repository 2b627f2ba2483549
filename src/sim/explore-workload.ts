// The explorer's clients: one drawn operation at a time on a live node, through the keyspace's
// public commands (every type: counters, HLL, windows, THROTTLE, CMS, Top-K, DEL, FLUSHDB, type
// changes by writing another type to a key; expiry: the EXPIRE family with NX XX GT LT, PERSIST,
// SET with EX PX EXAT PXAT KEEPTTL, each as the command layer calls the keyspace, on the node's own
// clock) and the replica's consistency calls (majority writes, WAIT, majority reads). Every
// acknowledged write goes into the ledger with the epoch of the key's life it was taken in, every
// TTL set with its epoch; WAIT outcomes and majority reads are checked the instant they complete.

import type { Replica } from '../replication/replica.js';
import type { WaitOutcome } from '../replication/waiters.js';
import type { Rng } from '../util/rng.js';
import { between, chance, createAsOf, heavyTail, pick, type KeyPlan, type KeyRole } from './explore-draw.js';
import { checkMajorityRead, checkWait, keyLabel, type Violation } from './explore-checks.js';
import type { Holders, Ledger } from './explore-ledger.js';
import { counterSlot, epochOf, hllGeneration, windowHeader, windowSlot, cmsHeader } from './inspect.js';
import type { Simulation } from './network.js';

/** What the workload needs from the running history. */
export interface WorkloadHost {
  readonly sim: Simulation;
  readonly rng: Rng;
  readonly ledger: Ledger;
  readonly keys: readonly KeyPlan[];
  readonly holders: Holders;
  violation(v: Violation): void;
  trace(line: string): void;
}

/** Operation counts, for the outcome's statistics. */
export interface WorkloadStats {
  ops: number;
  acked: number;
  refused: number;
  majorityWrites: number;
  majorityWritesOk: number;
  waits: number;
  reads: number;
  readsOk: number;
  /** EXPIREs (and SETs with an expiry) that set a TTL, and PERSISTs that removed one. */
  ttlsSet: number;
  persisted: number;
}

type OpKind =
  | 'incrby'
  | 'pipeline'
  | 'decrby'
  | 'set'
  | 'del'
  | 'flushdb'
  | 'pfadd'
  | 'pfmerge'
  | 'window.create'
  | 'window.incrby'
  | 'throttle'
  | 'cms.init'
  | 'cms.incrby'
  | 'topk.reserve'
  | 'topk.add'
  | 'majority-read'
  | 'expire'
  | 'persist'
  | 'set-ex';

/** Relative weights of the operations, and the key role each prefers. */
const OPS: readonly [OpKind, number, KeyRole | null][] = [
  ['incrby', 24, 'pn'],
  ['pipeline', 5, 'bulk'],
  ['decrby', 7, 'pn'],
  ['set', 4, 'pn'],
  ['del', 6, null],
  ['flushdb', 0.4, null],
  ['pfadd', 11, 'hll'],
  ['pfmerge', 2, 'hll'],
  ['window.create', 3, 'window'],
  ['window.incrby', 8, 'window'],
  ['throttle', 4, 'throttle'],
  ['cms.init', 2, 'cms'],
  ['cms.incrby', 7, 'cms'],
  ['topk.reserve', 2, 'topk'],
  ['topk.add', 5, 'topk'],
  ['majority-read', 7, null],
  ['expire', 6, null],
  ['persist', 2, null],
  ['set-ex', 2, 'pn'],
];

type ExpireUnit = 'EXPIRE' | 'PEXPIRE' | 'EXPIREAT' | 'PEXPIREAT';
type SetExpiry = 'EX' | 'PX' | 'EXAT' | 'PXAT' | 'KEEPTTL' | 'none';

/**
 * A TTL for an EXPIRE-family command, as ms from now: mostly short (50 ms-20 s: it fires during
 * the history, often in the middle of a fault), some long (1 min-1 h: it outlives the history or
 * fires during a long epoch), some already past (the key ends at once, as Redis deletes it).
 */
function drawTtlMs(rng: Rng): number {
  const x = rng.next();
  return x < 0.6 ? heavyTail(rng, 50, 20_000) : x < 0.9 ? heavyTail(rng, 60_000, 3_600_000) : -between(rng, 0, 5000);
}

/**
 * The deadline the command layer computes (expiry-commands.ts, counter-commands.ts `expiryDeadline`)
 * from its argument and the node's clock `now`: seconds are whole, *AT takes an absolute time.
 */
function deadlineOf(unit: ExpireUnit | SetExpiry, ttlMs: number, now: number): number {
  switch (unit) {
    case 'EXPIRE':
    case 'EX':
      return now + Math.round(ttlMs / 1000) * 1000;
    case 'EXPIREAT':
    case 'EXAT':
      return Math.floor((now + ttlMs) / 1000) * 1000;
    case 'PEXPIREAT':
    case 'PXAT':
      return now + ttlMs;
    default:
      return now + ttlMs;
  }
}
const TOTAL_WEIGHT = OPS.reduce((a, [, w]) => a + w, 0);

export class Workload {
  readonly stats: WorkloadStats = { ops: 0, acked: 0, refused: 0, majorityWrites: 0, majorityWritesOk: 0, waits: 0, reads: 0, readsOk: 0, ttlsSet: 0, persisted: 0 };
  private elements = 0;
  /** The key of the last TTL set: PERSIST mostly goes there, while it may still have it. */
  private lastTtlKey: KeyPlan | undefined;

  constructor(private readonly h: WorkloadHost) {}

  private key(role: KeyRole | null): KeyPlan {
    const { rng, keys } = this.h;
    if (role !== null && chance(rng, 0.96)) {
      // The shared key takes every type, now and then: concurrent creations of two types collide there.
      const shared = role !== 'bulk' && chance(rng, 0.2);
      const fits = keys.filter((k) => k.role === role || (shared && k.role === 'any') || (role === 'pn' && k.role === 'g'));
      if (fits.length > 0) return pick(rng, fits);
    }
    // Now and then any key, whatever its type: WRONGTYPE where the key exists, a type change where
    // it was deleted or is not yet known here.
    const small = keys.filter((k) => k.role !== 'bulk');
    return pick(rng, chance(rng, 0.8) && small.length > 0 ? small : keys);
  }

  private drawOp(): [OpKind, KeyRole | null] {
    let x = this.h.rng.next() * TOTAL_WEIGHT;
    for (const [op, w, role] of OPS) {
      x -= w;
      if (x < 0) return [op, role];
    }
    return ['incrby', 'pn'];
  }

  /** Runs one drawn operation on node `i` (which is up). */
  run(i: number): void {
    const { sim, rng, ledger } = this.h;
    const node = sim.nodes[i];
    if (node === undefined) return;
    const r = node.replica;
    const ks = r.keyspace;
    const [op, role] = this.drawOp();
    const k = op === 'persist' && this.lastTtlKey !== undefined && chance(rng, 0.7) ? this.lastTtlKey : this.key(role);
    const key = k.key;
    const localNow = Math.floor(sim.localNow(i));
    this.stats.ops++;
    // Whatever the operation, the key's epochs before and after it may hold what it wrote (the
    // ledger's `touch`; an operation reads the key first, which ends it if its deadline passed).
    ledger.touch(key, epochOf(ks, key));
    this.runOp(i, r, op, k, localNow);
    ledger.touch(key, epochOf(ks, key));
  }

  private runOp(i: number, r: Replica, op: OpKind, k: KeyPlan, localNow: number): void {
    const { sim, rng, ledger } = this.h;
    const ks = r.keyspace;
    const key = k.key;
    const done = (ok: boolean, text: string): void => {
      if (ok) this.stats.acked++;
      else this.stats.refused++;
      this.h.trace(`n${i} ${op}${op === 'flushdb' ? '' : ` ${k.label}`} ${text}`);
    };
    switch (op) {
      case 'incrby':
      case 'decrby':
      case 'set': {
        const big = chance(rng, 0.05);
        const amount = op === 'set' ? between(rng, -50, 100) : big ? between(rng, 1, 1_000_000) : between(rng, chance(rng, 0.05) ? 0 : 1, 100);
        const res = op === 'set' ? ks.setCounter(key, amount, createAsOf) : ks.incrBy(key, op === 'decrby' ? -amount : amount, createAsOf);
        done(res.ok, `${amount} -> ${res.ok ? String(res.value) : res.error.code}`);
        if (res.ok) this.counterAcked(i, r, key);
        return;
      }
      case 'pipeline': {
        // INCRBY on many counters back to back, as a client pipeline does; then maybe a WAIT.
        const n = between(rng, 3, 24);
        let acked = 0;
        for (let j = 0; j < n; j++) {
          const target = j === 0 ? k : this.key('bulk');
          const res = ks.incrBy(target.key, between(rng, 1, 9), createAsOf);
          if (!res.ok) continue;
          acked++;
          const slot = counterSlot(ks, target.key, r.origin);
          if (slot !== undefined) ledger.counterWrite({ key: target.key, epoch: epochOf(ks, target.key), origin: r.origin, node: i, version: r.version, slot, t: sim.now });
        }
        done(acked > 0, `${acked}/${n} keys`);
        if (acked > 0) this.maybeConsistency(i, r);
        return;
      }
      case 'del': {
        const existed = ks.del(key);
        done(true, existed ? 'deleted' : 'absent');
        return;
      }
      case 'flushdb': {
        done(true, `${ks.flush(0)} keys`);
        return;
      }
      case 'pfadd': {
        const elements: string[] = [];
        for (let e = between(rng, 1, 4); e > 0; e--) elements.push(chance(rng, 0.2) && this.elements > 0 ? `e${rng.int(this.elements)}` : `e${this.elements++}`);
        const res = ks.pfadd(key, elements);
        done(res.ok, `${elements.join(',')} -> ${res.ok ? String(res.value) : res.error.code}`);
        if (!res.ok) return;
        const generation = hllGeneration(ks, key);
        const epoch = epochOf(ks, key);
        if (generation !== undefined) for (const element of elements) ledger.hllAdd({ key, epoch, generation, element, origin: r.origin, node: i, t: sim.now, exempt: false });
        this.maybeConsistency(i, r);
        return;
      }
      case 'pfmerge': {
        const sources = [this.key('hll').key, ...(chance(rng, 0.5) ? [this.key('hll').key] : [])];
        const res = ks.pfmerge(key, sources);
        done(res.ok, `<- ${sources.map(keyLabel).join(',')} ${res.ok ? 'OK' : res.error.code}`);
        return;
      }
      case 'window.create': {
        const g = pick(rng, [1, 5, 60]);
        const retention = g * (g === 60 ? between(rng, 2, 60) : between(rng, 10, 600));
        const res = ks.windowCreate(key, g, retention);
        done(res.ok, `${g}s/${retention}s -> ${res.ok ? res.value : res.error.code}`);
        return;
      }
      case 'window.incrby': {
        // As the command layer does (window-commands.ts): no windowed write on a clock off or unverified.
        if (!r.clockStatus(localNow).ok) return done(false, 'refused: clock off');
        const n = between(rng, 1, 10);
        const w = ks.window(key);
        const back = chance(rng, 0.2) && w !== undefined ? rng.int(w.retentionS * 1000) : 0;
        const at = localNow - back;
        const res = ks.windowIncrBy(key, n, at, localNow);
        done(res.ok, `${n} at -${back} ms -> ${res.ok ? String(res.value) : res.error.code}`);
        if (res.ok) this.windowAcked(i, r, key, at);
        return;
      }
      case 'throttle': {
        const limit = between(rng, 5, 100);
        const period = pick(rng, [1, 10, 60, 120]);
        const cost = between(rng, 0, 3);
        if (cost > 0 && !r.clockStatus(localNow).ok) return done(false, 'refused: clock off');
        const res = ks.throttle(key, limit, period, cost, localNow);
        done(res.ok, `${limit}/${period}s cost ${cost} -> ${res.ok ? (res.value.allowed ? 'allowed' : 'limited') : res.error.code}`);
        if (res.ok && res.value.allowed && cost > 0) this.windowAcked(i, r, key, localNow);
        return;
      }
      case 'cms.init': {
        // Sometimes wide: several writers' matrices then exceed a 4 KiB frame.
        const width = chance(rng, 0.3) ? between(rng, 300, 3000) : between(rng, 8, 200);
        const depth = between(rng, 2, 6);
        const res = ks.cmsInit(key, width, depth);
        done(res.ok, `${width}x${depth} -> ${res.ok ? 'OK' : res.error.code}`);
        return;
      }
      case 'cms.incrby': {
        const pairs: [string, number][] = [];
        for (let p = between(rng, 1, 3); p > 0; p--) pairs.push([`i${rng.int(8)}`, between(rng, 1, 5)]);
        const res = ks.cmsIncrBy(key, pairs.map(([item, n]) => [Buffer.from(item), n] as const));
        done(res.ok, `${pairs.map(([a, b]) => `${a}:${b}`).join(',')} -> ${res.ok ? 'OK' : res.error.code}`);
        if (!res.ok) return;
        const header = cmsHeader(ks, key);
        const epoch = epochOf(ks, key);
        if (header !== undefined) for (const [item, n] of pairs) ledger.cmsAdd(key, epoch, header, item, r.origin, n, sim.now);
        this.maybeConsistency(i, r);
        return;
      }
      case 'topk.reserve': {
        const res = ks.topkReserve(key, between(rng, 2, 5), between(rng, 8, 50), between(rng, 3, 5));
        done(res.ok, res.ok ? 'OK' : res.error.code);
        return;
      }
      case 'topk.add': {
        const pairs: [Buffer, number][] = [];
        for (let p = between(rng, 1, 3); p > 0; p--) pairs.push([Buffer.from(`i${rng.int(12)}`), between(rng, 1, 3)]);
        const res = ks.topkAdd(key, pairs);
        done(res.ok, res.ok ? 'OK' : res.error.code);
        return;
      }
      case 'majority-read': {
        const keys = [key, ...(chance(rng, 0.5) ? [this.key('pn').key] : [])];
        const startSeq = ++ledger.seq;
        const timeout = between(rng, 200, 3000);
        this.stats.reads++;
        done(true, `of ${keys.map(keyLabel).join(',')} (timeout ${timeout} ms)`);
        r.majorityRead(keys, sim.localNow(i) + timeout, (o) => {
          this.h.trace(`n${i} majority read of ${keys.map(keyLabel).join(',')} -> ok=${o.ok} ${o.count}/${o.needed}`);
          if (!o.ok) return;
          this.stats.readsOk++;
          // Its collected tombstones too: a write deleted and collected was seen, and removed by design.
          for (const v of checkMajorityRead(ledger, i, this.h.holders(i) ?? ks, keys, startSeq, sim.now)) this.h.violation(v);
        });
        return;
      }
      case 'expire': {
        // EXPIRE key n [NX|XX|GT|LT] and its family, as expiry-commands.ts calls the keyspace.
        const unit = pick<ExpireUnit>(rng, ['EXPIRE', 'PEXPIRE', 'EXPIREAT', 'PEXPIREAT']);
        const cond = chance(rng, 0.6) ? undefined : pick(rng, ['NX', 'XX', 'GT', 'LT'] as const);
        const deadline = deadlineOf(unit, drawTtlMs(rng), localNow);
        const epoch = epochOf(ks, key);
        const set = ks.expire(key, deadline, cond);
        done(set, `${unit}${cond === undefined ? '' : ` ${cond}`} ${deadline - localNow} ms (epoch ${epoch}) -> ${set ? 1 : 0}`);
        if (set) this.ttlAcked(i, k, epoch, deadline, unit);
        return;
      }
      case 'persist': {
        const removed = ks.expire(key, null);
        if (removed) this.stats.persisted++;
        done(true, `(epoch ${epochOf(ks, key)}) -> ${removed ? 1 : 0}`);
        return;
      }
      case 'set-ex': {
        // SET key n [EX s|PX ms|EXAT t|PXAT t|KEEPTTL], as counter-commands.ts: the counter set
        // (clearing the TTL unless KEEPTTL), then the expiry. The command refuses a TTL of 0 or less.
        const opt = pick<SetExpiry>(rng, ['EX', 'PX', 'EXAT', 'PXAT', 'KEEPTTL', 'none']);
        const ttl = Math.max(opt === 'EX' ? 1000 : 1, drawTtlMs(rng));
        const deadline = opt === 'KEEPTTL' || opt === 'none' ? null : deadlineOf(opt, ttl, localNow);
        const amount = between(rng, -50, 100);
        const res = ks.setCounter(key, amount, createAsOf, opt === 'KEEPTTL');
        done(res.ok, `${amount} ${opt}${deadline === null ? '' : ` ${deadline - localNow} ms`} -> ${res.ok ? String(res.value) : res.error.code}`);
        if (!res.ok) return;
        const epoch = epochOf(ks, key);
        this.counterAcked(i, r, key);
        if (deadline !== null && ks.expire(key, deadline)) this.ttlAcked(i, k, epoch, deadline, `SET ${opt}`);
        return;
      }
    }
  }

  /** A TTL set on `key` in `epoch`: the ledger may let that epoch end by it. */
  private ttlAcked(i: number, k: KeyPlan, epoch: number, deadline: number, what: string): void {
    this.stats.ttlsSet++;
    this.lastTtlKey = k;
    this.h.ledger.ttlSet(k.key, epoch, deadline, `${what} on n${i} at ${(this.h.sim.now / 1000).toFixed(3)} s`);
  }

  private counterAcked(i: number, r: Replica, key: string): void {
    const slot = counterSlot(r.keyspace, key, r.origin);
    if (slot === undefined) return;
    this.h.ledger.counterWrite({ key, epoch: epochOf(r.keyspace, key), origin: r.origin, node: i, version: r.version, slot, t: this.h.sim.now });
    this.maybeConsistency(i, r);
  }

  private windowAcked(i: number, r: Replica, key: string, at: number): void {
    const header = windowHeader(r.keyspace, key);
    const w = r.keyspace.window(key);
    if (header === undefined || w === undefined) return;
    const bucket = w.bucketOf(at);
    this.h.ledger.windowWrite(key, epochOf(r.keyspace, key), header, bucket, r.origin, windowSlot(r.keyspace, key, bucket, r.origin), `n${i} at ${(this.h.sim.now / 1000).toFixed(3)} s`);
    this.maybeConsistency(i, r);
  }

  /** After a write: sometimes a majority write (wait for a majority of holders) or a WAIT for n peers. */
  private maybeConsistency(i: number, r: Replica): void {
    const { rng, sim, ledger } = this.h;
    const x = rng.next();
    if (x >= 0.25) return;
    const majority = x < 0.15;
    const version = r.version;
    const origin = r.origin;
    const needed = majority ? 0 : between(rng, 1, sim.nodes.length - 1);
    const timeout = between(rng, 100, 3000);
    if (majority) this.stats.majorityWrites++;
    else this.stats.waits++;
    const what = majority ? 'majority write' : `WAIT ${needed}`;
    const deadline = sim.localNow(i) + timeout;
    const wait = (done: (o: WaitOutcome) => void): void => (majority ? r.awaitMajority(version, deadline, done) : r.awaitHolders(version, needed, deadline, done));
    wait((o: WaitOutcome) => {
      this.h.trace(`n${i} ${what} v${version} -> ok=${o.ok} ${o.count}/${o.needed}${o.votersUnknown === true ? ' (voters not known yet)' : ''}`);
      const v = checkWait(ledger, this.h.holders, sim.nodes.length, i, origin, version, o, sim.now, what);
      if (v !== undefined) this.h.violation(v);
      ledger.vouch(origin, version, o.count);
      if (majority && o.ok) {
        this.stats.majorityWritesOk++;
        ledger.majorityAcked(origin, version, `majority write on n${i} at ${(sim.now / 1000).toFixed(3)} s`);
      }
    });
  }
}
