// Runs one command sequence against redis-server and a tally node and compares them step by step:
// each reply byte for byte, and whether each key the command names exists afterwards. A mismatch
// passes only if a row of the differences table explains it; the runner then copies tally's state of
// those keys into Redis, so the rest of the sequence again compares like with like.

import { createHash } from 'node:crypto';
import { SCRIPTS, type Cmd } from './commands.js';
import { DIFFERENCES, EXACT_MAX, type Difference, type KeyHistory, type Probe, type Step, arrayElements, explain, strictInt64 } from './differences.js';
import { RawRespClient, showBytes } from './raw-resp.js';

export interface Ports {
  readonly redis: number;
  readonly tally: number;
}

export interface StepRecord {
  readonly cmd: Cmd;
  readonly step: Step;
  /** The row that explained a mismatch at this step, if there was one. */
  readonly accepted?: Difference;
}

export type Outcome =
  | { readonly ok: true; readonly records: readonly StepRecord[] }
  | { readonly ok: false; readonly records: readonly StepRecord[]; readonly failed: StepRecord; readonly problem: string };

/** Tally's overflow error (a full slot, or a value beyond ±(2^53−1)). */
const OVERFLOW_REPLY = '-ERR increment or decrement would overflow\r\n';

const is = (reply: Buffer, text: string): boolean => reply.equals(Buffer.from(text, 'latin1'));

/** The payload of a bulk reply (`$n\r\n...\r\n`), or null for nil. */
function bulkPayload(reply: Buffer): Buffer | null {
  if (reply[0] !== 0x24) throw new Error(`expected a bulk reply, got ${showBytes(reply)}`);
  const head = reply.indexOf('\r\n');
  const len = Number(reply.toString('latin1', 1, head));
  return len < 0 ? null : reply.subarray(head + 2, head + 2 + len);
}

/** What tally acknowledged, per database and key: the KeyHistory the rows may consult. */
class TallyLedger {
  private readonly byKey = new Map<string, KeyHistory>();

  get(db: number, key: string): KeyHistory {
    return this.byKey.get(`${db}\0${key}`) ?? { up: 0n, down: 0n, zeroWrites: 0 };
  }

  /** Records the step's write, if tally acknowledged one. */
  record(db: number, step: Step): void {
    const name = (step.words[0] ?? '').toLowerCase();
    const reply = step.tally.toString('latin1');
    const key = step.words[1] ?? '';
    let amount: bigint | null = null;
    if (name === 'incr' && reply.startsWith(':')) amount = 1n;
    else if (name === 'decr' && reply.startsWith(':')) amount = -1n;
    else if ((name === 'incrby' || name === 'decrby') && reply.startsWith(':')) {
      const v = strictInt64(step.words[2] ?? '');
      amount = v === null ? null : name === 'decrby' ? -v : v;
    } else if (name === 'set' && step.words.length === 3 && reply === '+OK\r\n') amount = strictInt64(step.words[2] ?? '');
    // With options (NX, XX, GET) or GETSET the reply may not say whether it wrote: counted as if it
    // did, which only widens the bounds the overflow rows accept.
    else if ((name === 'set' || name === 'getset') && !reply.startsWith('-')) amount = strictInt64(step.words[2] ?? '');
    else if ((name === 'setex' || name === 'psetex') && !reply.startsWith('-')) amount = strictInt64(step.words[3] ?? '');
    // A refused MSET may have applied the pairs before the one whose slot was full (the
    // 'counter-slot-exhausted' row): counted as if all were, which only widens the bounds.
    else if ((name === 'mset' || name === 'msetnx' || name === 'setnx') && (!reply.startsWith('-') || (name !== 'setnx' && reply === OVERFLOW_REPLY))) {
      for (let i = 1; i + 1 < step.words.length; i += 2) {
        const v = strictInt64(step.words[i + 1] ?? '');
        // A value beyond the exact range is refused, never written.
        if (v === null || (v < 0n ? -v : v) > 9007199254740991n) continue;
        const k = step.words[i] ?? '';
        const h = this.get(db, k);
        this.byKey.set(`${db}\0${k}`, { up: h.up + (v > 0n ? v : 0n), down: h.down + (v < 0n ? -v : 0n), zeroWrites: h.zeroWrites + (v === 0n ? 1 : 0) });
      }
      return;
    }
    // A script may add its ARGV amount, or 1, up or down, to each of its keys: counted both ways.
    else if (/^eval(sha)?(_ro)?$/.test(name)) {
      const n = Number(step.words[2]);
      const arg = strictInt64(step.words[3 + n] ?? '') ?? 0n;
      const most = (arg < 0n ? -arg : arg) + 1n;
      for (const k of step.words.slice(3, 3 + n)) {
        const h = this.get(db, k);
        this.byKey.set(`${db}\0${k}`, { up: h.up + most, down: h.down + most, zeroWrites: h.zeroWrites + 2 });
      }
      return;
    }
    if (amount === null) return;
    const h = this.get(db, key);
    this.byKey.set(`${db}\0${key}`, {
      up: h.up + (amount > 0n ? amount : 0n),
      down: h.down + (amount < 0n ? -amount : 0n),
      zeroWrites: h.zeroWrites + (amount === 0n ? 1 : 0),
    });
  }
}

/**
 * Runs `cmds` from empty servers (FLUSHALL on fresh connections). Keys are sent as `prefix` + name:
 * a tally counter's per-node totals survive FLUSHALL (an observed reset), and the ledger the rows
 * consult starts from zero, so every sequence uses keys no earlier sequence touched. `alsoAccept` adds rows for exploration only (known bugs, to see past them).
 */
export async function runSequence(ports: Ports, cmds: readonly Cmd[], prefix: string, o: { alsoAccept?: readonly Difference[] } = {}): Promise<Outcome> {
  // The sequence runs on one connection per server; every probe (EXISTS, DUMP, the rows' questions,
  // copying state) on a second one, so that no probe is queued inside a MULTI of the sequence.
  const [redis, tally, redisProbe, tallyProbe] = await Promise.all([
    RawRespClient.connect(ports.redis, 'redis'),
    RawRespClient.connect(ports.tally, 'tally'),
    RawRespClient.connect(ports.redis, 'redis probe'),
    RawRespClient.connect(ports.tally, 'tally probe'),
  ]);
  try {
    for (const c of [redis, tally]) {
      const r = await c.send(['FLUSHALL']);
      if (!is(r, '+OK\r\n')) throw new Error(`${c.name}: FLUSHALL answered ${showBytes(r)}`);
    }
    const ledger = new TallyLedger();
    let db = 0;
    const probe: Probe = {
      tally: (w) => tallyProbe.send(w),
      redis: (w) => redisProbe.send(w),
      history: (key) => ledger.get(db, key),
    };
    const records: StepRecord[] = [];
    /** The commands both servers queued since MULTI (words, keys), for EXEC's element-wise comparison. */
    let queued: { words: string[]; keys: string[] }[] | null = null;
    for (const cmd of cmds) {
      const words = cmd.resolve(prefix);
      const name = (words[0] ?? '').toLowerCase();
      // EXEC names no key, but its queued commands do: their keys are compared after it.
      const keys = name === 'exec' && queued !== null ? [...new Set(queued.flatMap((q) => q.keys))] : cmd.keys(prefix);
      // Before EXEC: the types its queued commands start from (rows ask TALLY.TYPE).
      const typesBefore = new Map<string, string>();
      if (name === 'exec' && queued !== null) for (const k of keys) typesBefore.set(k, (await tallyProbe.send(['TALLY.TYPE', k])).toString('latin1'));
      const [r0, t0] = await Promise.all([redis.send(words), tally.send(words)]);
      // KEYS and SCAN list keys in each server's own hash order: compared as sets.
      const listingsSorted = (b: Buffer): Buffer => (name === 'exec' && queued !== null ? sortedExecListings(b, queued) : ORDER_FREE.has(name) ? sortedListing(b) : b);
      const [r, t] = [listingsSorted(r0), listingsSorted(t0)];
      const earlyResults = name === 'exec' && queued !== null ? arrayElements(t0) : null;
      /** The database each queued command ran in (a SELECT inside the transaction moves the ones after it). */
      const dbs: number[] = [];
      if (name === 'exec' && queued !== null && earlyResults !== null) {
        // A SELECT that ran inside the transaction moves both sequence connections: the probes follow.
        for (const [i, q] of queued.entries()) {
          dbs.push(db);
          if ((q.words[0] ?? '').toLowerCase() === 'select' && (earlyResults[i] as Buffer | undefined)?.equals(Buffer.from('+OK\r\n'))) db = Number(q.words[1]);
        }
        await Promise.all([redisProbe.send(['SELECT', String(db)]), tallyProbe.send(['SELECT', String(db)])]);
      }
      const exists = async (c: RawRespClient): Promise<boolean[]> => Promise.all(keys.map(async (k) => is(await c.send(['EXISTS', k]), ':1\r\n')));
      const [redisExists, tallyExists] = await Promise.all([exists(redisProbe), exists(tallyProbe)]);
      const step: Step = { words, redis: r, tally: t, keys, redisExists, tallyExists };
      const same = r.equals(t) && redisExists.every((e, i) => e === tallyExists[i]);
      let accepted: Difference | undefined;
      const execResults = name === 'exec' && queued !== null ? arrayElements(t0) : null;
      if (execResults !== null && queued !== null) {
        // Recorded before the explanation, so each element's row sees the writes queued with it
        // (those after it too: that only widens the bounds the overflow rows accept).
        queued.forEach((q, i) => ledger.record(dbs[i] ?? db, { ...step, words: q.words, tally: execResults[i] ?? Buffer.from('-') }));
      }
      if (!same) {
        accepted = name === 'exec' && queued !== null ? await explainExec(step, queued, typesBefore, dbs, inDb(probe, dbs, db, (d, k) => ledger.get(d, k)), o.alsoAccept) : await explain(step, probe, o.alsoAccept);
        if (accepted === undefined) {
          const failed = { cmd, step };
          return { ok: false, records: [...records, failed], failed, problem: r.equals(t) ? 'the keys differ afterwards' : 'the replies differ' };
        }
        const problem = await copyTallyIntoRedis(redisProbe, tallyProbe, step);
        if (problem !== null) {
          const failed = { cmd, step, accepted };
          return { ok: false, records: [...records, failed], failed, problem };
        }
      }
      if (queued === null && name !== 'exec') ledger.record(db, step);
      if (is(r, '+QUEUED\r\n') && is(t, '+QUEUED\r\n') && queued !== null) queued.push({ words, keys });
      if (name === 'multi' && is(r, '+OK\r\n') && is(t, '+OK\r\n')) queued = [];
      if (name === 'exec' || name === 'discard') {
        queued = null;
      }
      if (name === 'select' && is(r, '+OK\r\n') && is(t, '+OK\r\n') && queued === null) {
        db = Number(words[1]);
        await Promise.all([redisProbe.send(['SELECT', String(db)]), tallyProbe.send(['SELECT', String(db)])]);
      }
      records.push(accepted === undefined ? { cmd, step } : { cmd, step, accepted });
    }
    return { ok: true, records };
  } finally {
    for (const c of [redis, tally, redisProbe, tallyProbe]) c.close();
  }
}

/**
 * For EXEC: the probe the rows get for queued command i, asking in the database that command ran in
 * (the probe connections are in the one the transaction left them in, `now`).
 */
function inDb(probe: Probe, dbs: readonly number[], now: number, historyIn: (db: number, key: string) => KeyHistory): (i: number) => Probe {
  return (i) => {
    const d = dbs[i] ?? now;
    if (d === now) return probe;
    const there = (send: (w: readonly string[]) => Promise<Buffer>) => async (w: readonly string[]): Promise<Buffer> => {
      await send(['SELECT', String(d)]);
      try {
        return await send(w);
      } finally {
        await send(['SELECT', String(now)]);
      }
    };
    return { tally: there(probe.tally), redis: there(probe.redis), history: (key) => historyIn(d, key) };
  };
}

/** EXEC's reply with the elements of its KEYS and SCAN commands sorted. */
function sortedExecListings(reply: Buffer, queued: readonly { words: string[] }[]): Buffer {
  const items = arrayElements(reply);
  if (items === null || items.length !== queued.length) return reply;
  const sorted = items.map((x, i) => (ORDER_FREE.has((queued[i]?.words[0] ?? '').toLowerCase()) ? sortedListing(x) : x));
  return Buffer.concat([Buffer.from(`*${sorted.length}\r\n`), ...sorted]);
}

/** Commands whose reply lists keys in the server's own order. */
const ORDER_FREE = new Set(['keys', 'scan']);

/** A KEYS reply, or SCAN's (cursor, keys), with the keys sorted; any other reply as it is. */
function sortedListing(reply: Buffer): Buffer {
  const sortKeys = (b: Buffer): Buffer => {
    const items = arrayElements(b);
    if (items === null) return b;
    const sorted = [...items].sort(Buffer.compare);
    return Buffer.concat([Buffer.from(`*${sorted.length}\r\n`), ...sorted]);
  };
  const top = arrayElements(reply);
  if (top !== null && top.length === 2 && (top[0] as Buffer)[0] === 0x24 && (top[1] as Buffer)[0] === 0x2a) {
    return Buffer.concat([Buffer.from('*2\r\n'), top[0] as Buffer, sortKeys(top[1] as Buffer)]);
  }
  return sortKeys(reply);
}

/**
 * EXEC's replies, or its queued commands' keys afterwards, differ. The first queued command whose
 * reply (or whose keys' existence after EXEC) differs must be explained by a row, as if it had run
 * alone; the rest of the transaction ran on diverged state and is not compared (the runner then
 * gives Redis tally's state, as after any accepted step). Rows that ask TALLY.TYPE get the type the
 * key had at that point of the transaction, from `typesBefore` and the replies of the commands before.
 */
async function explainExec(step: Step, queued: readonly { words: string[]; keys: string[] }[], typesBefore: ReadonlyMap<string, string>, dbs: readonly number[], probeAt: (i: number) => Probe, extra: readonly Difference[] = []): Promise<Difference | undefined> {
  const r = arrayElements(step.redis);
  const t = arrayElements(step.tally);
  if (r === null || t === null || r.length !== t.length || r.length !== queued.length) return undefined;
  const existence = (k: string, on: readonly boolean[]): boolean => on[step.keys.indexOf(k)] === true;
  // The types of keys per database: `typesBefore` are the first one's; in another database a SELECT
  // led to, a key's type is asked of tally (after EXEC) unless a queued command set it.
  const typesIn = new Map<number, Map<string, string>>([[dbs[0] ?? 0, new Map(typesBefore)]]);
  const typesAt = (i: number): Map<string, string> => {
    const d = dbs[i] ?? 0;
    let m = typesIn.get(d);
    if (m === undefined) typesIn.set(d, (m = new Map()));
    return m;
  };
  /**
   * Keys an intended difference left existing in Redis only while the replies matched, by the row
   * that explains it: an empty PFADD or PFMERGE ('empty-hll'), or a zero write on a key whose node
   * has counted 2^53-1 into it one way ('counter-slot-exhausted'). Later differences on them follow
   * from it, until a write makes the two agree again.
   */
  const diverged = new Map<string, string>();
  for (let i = 0; i < r.length; i++) {
    const q = queued[i] as { words: string[]; keys: string[] };
    const types = typesAt(i);
    // A key's existence after EXEC is the doing of the last queued command that names it.
    const last = (k: string): boolean => !queued.slice(i + 1).some((later) => later.keys.includes(k));
    const redisExists = q.keys.map((k) => (last(k) ? existence(k, step.redisExists) : true));
    const tallyExists = q.keys.map((k) => (last(k) ? existence(k, step.tallyExists) : true));
    const listing = ORDER_FREE.has((q.words[0] ?? '').toLowerCase());
    const [ri, ti] = listing ? [sortedListing(r[i] as Buffer), sortedListing(t[i] as Buffer)] : [r[i] as Buffer, t[i] as Buffer];
    if (!ri.equals(ti) || !redisExists.every((e, j) => e === tallyExists[j])) {
      const from = q.keys.find((k) => diverged.has(k)) ?? (q.keys.length === 0 ? diverged.keys().next().value : undefined);
      if (from !== undefined) return DIFFERENCES.find((d) => d.id === diverged.get(from));
      const probe = probeAt(i);
      const at: Probe = {
        ...probe,
        tally: async (w) => ((w[0] ?? '').toUpperCase() === 'TALLY.TYPE' && types.has(String(w[1])) ? Buffer.from(types.get(String(w[1])) as string) : probe.tally(w)),
      };
      return explain({ words: q.words, redis: r[i] as Buffer, tally: t[i] as Buffer, keys: q.keys, redisExists, tallyExists }, at, extra);
    }
    const name = (q.words[0] ?? '').toLowerCase();
    const k0 = q.words[1] ?? '';
    if ((name === 'pfadd' && q.words.length === 2) || name === 'pfmerge') {
      if (['+none\r\n', undefined].includes(types.get(k0)) && (t[i] as Buffer)[0] !== 0x2d) diverged.set(k0, 'empty-hll');
    } else if (q.keys.length > 0 && (t[i] as Buffer)[0] !== 0x2d && !['get', 'mget', 'exists', 'pfcount', 'strlen', 'type', 'ttl', 'pttl', 'expiretime', 'pexpiretime', 'persist'].includes(name) && !scriptWritesNothing(q.words, t[i] as Buffer)) {
      for (const k of q.keys) diverged.delete(k);
    }
    const zero = zeroWriteKey(q.words);
    if (zero !== null && (t[i] as Buffer)[0] !== 0x2d) {
      const h = probeAt(i).history(zero);
      const slack = BigInt(h.zeroWrites);
      if (h.up + slack >= EXACT_MAX || h.down + slack >= EXACT_MAX) diverged.set(zero, 'counter-slot-exhausted');
    }
    evolveTypes(types, q.words, t[i] as Buffer);
    if (name === 'flushall' && (t[i] as Buffer)[0] !== 0x2d) for (const m of typesIn.values()) for (const k of m.keys()) m.set(k, '+none\r\n');
  }
  return undefined;
}

/**
 * The key a command writes 0 to, if it is one (SET and its family, INCRBY or DECRBY by 0, or an
 * oracle script that SETs or INCRBYs its ARGV), else null.
 */
function zeroWriteKey(words: readonly string[]): string | null {
  const name = (words[0] ?? '').toLowerCase();
  const isZero = (w: string | undefined): boolean => strictInt64(w ?? '') === 0n;
  if (['set', 'getset', 'setnx', 'incrby', 'decrby'].includes(name)) return isZero(words[2]) ? (words[1] ?? null) : null;
  if (name === 'setex' || name === 'psetex') return isZero(words[3]) ? (words[1] ?? null) : null;
  if (/^eval(sha)?$/.test(name)) {
    const body = SCRIPT_BODIES.get((words[1] ?? '').toLowerCase()) ?? SCRIPT_BODIES.get(words[1] ?? '');
    const n = Number(words[2]);
    const writesArg = body === "return redis.call('SET', KEYS[1], ARGV[1])" || body === "return redis.call('INCRBY', KEYS[1], ARGV[1])";
    return writesArg && n >= 1 && isZero(words[3 + n]) ? (words[3] ?? null) : null;
  }
  return null;
}

/** The TALLY.TYPE of keys after one more command that tally answered with `reply` (a small model). */
function evolveTypes(types: Map<string, string>, words: readonly string[], reply: Buffer): void {
  const name = (words[0] ?? '').toLowerCase();
  if (/^eval(sha)?(_ro)?$/.test(name)) {
    evolveTypesByScript(types, words, reply);
    return;
  }
  if (reply[0] === 0x2d) return; // an error changed nothing
  const key = words[1] ?? '';
  if (name === 'pfadd' || name === 'pfmerge') {
    if (name === 'pfmerge' || words.length > 2 || types.get(key) === '+hll\r\n') types.set(key, '+hll\r\n');
  } else if (['incr', 'decr', 'incrby', 'decrby', 'set', 'getset', 'setex', 'psetex'].includes(name)) {
    if (types.get(key) !== '+gcounter\r\n' && (name !== 'set' || setWrote(words, reply))) types.set(key, '+pncounter\r\n');
  } else if (name === 'del' || name === 'unlink' || name === 'getdel') {
    for (const k of name === 'getdel' ? [key] : words.slice(1)) types.set(k, '+none\r\n');
  } else if (name === 'flushdb' || name === 'flushall') {
    for (const k of types.keys()) types.set(k, '+none\r\n');
  } else if (['expire', 'pexpire', 'expireat', 'pexpireat'].includes(name) && reply.equals(Buffer.from(':1\r\n'))) {
    // A deadline already past ends the key at once (EXPIRE k 0, EXPIREAT k 1).
    const v = Number(words[2]);
    const past = name === 'expire' || name === 'pexpire' ? v <= 0 : (name === 'expireat' ? v * 1000 : v) <= Date.now();
    if (past) types.set(key, '+none\r\n');
  }
}

/**
 * Whether a SET that did not fail wrote: with NX or XX and no GET its reply says so (OK, or nil);
 * with GET it is the old value, nil when the key was missing (NX writes then, XX does not).
 */
function setWrote(words: readonly string[], reply: Buffer): boolean {
  const opts = words.slice(3).map((w) => w.toUpperCase());
  const nil = reply.equals(Buffer.from('$-1\r\n'));
  if (!opts.includes('GET')) return !nil;
  if (opts.includes('NX')) return nil;
  if (opts.includes('XX')) return !nil;
  return true;
}

/** The oracle's scripts (commands.ts SCRIPTS) by body and by SHA1. */
const SCRIPT_BODIES = new Map<string, string>(SCRIPTS.flatMap((b) => [[b, b], [createHash('sha1').update(b).digest('hex'), b]] as [string, string][]));

/** The oracle's scripts that write no key (they read, or only return values). */
const READ_ONLY_SCRIPTS: ReadonlySet<string> = new Set(
  SCRIPTS.filter((b) => !/redis\.p?call\('(INCRBY|INCR|DECR|SET|PFADD|DEL)'/.test(b) || /^return redis\.pcall\('INCR', KEYS\[1\], KEYS\[2\]\)$/.test(b)),
);

/** Whether `words` is a script that wrote no key: not found, read-only (EVAL_RO), or one that writes nothing. */
function scriptWritesNothing(words: readonly string[], reply: Buffer): boolean {
  const name = (words[0] ?? '').toLowerCase();
  if (!/^eval(sha)?(_ro)?$/.test(name)) return false;
  if (reply.toString('latin1').startsWith('-NOSCRIPT ')) return true;
  const body = SCRIPT_BODIES.get((words[1] ?? '').toLowerCase()) ?? SCRIPT_BODIES.get(words[1] ?? '');
  return body !== undefined && (name.endsWith('_ro') || READ_ONLY_SCRIPTS.has(body));
}

/**
 * `evolveTypes` for EVAL, EVALSHA and EVAL_RO of the oracle's scripts: what each writes, from its
 * reply. A script that failed part way, or an unknown one, leaves its keys' types to be asked of
 * tally itself (after EXEC).
 */
function evolveTypesByScript(types: Map<string, string>, words: readonly string[], reply: Buffer): void {
  const keys = words.slice(3, 3 + Number(words[2]));
  const body = SCRIPT_BODIES.get((words[1] ?? '').toLowerCase()) ?? SCRIPT_BODIES.get(words[1] ?? '');
  const failed = reply[0] === 0x2d;
  const counter = (k: string | undefined): void => {
    if (k !== undefined && types.get(k) !== '+gcounter\r\n') types.set(k, '+pncounter\r\n');
  };
  // A script that was not found ran nothing; a read-only script's writes are refused.
  if (reply.toString('latin1').startsWith('-NOSCRIPT ')) return;
  if (/_ro$/.test(words[0]?.toLowerCase() ?? '') && body !== undefined) return;
  switch (body) {
    case "return redis.call('INCRBY', KEYS[1], ARGV[1])":
    case "return redis.call('SET', KEYS[1], ARGV[1])":
      if (!failed) counter(keys[0]);
      return;
    case "return {redis.call('INCR', KEYS[1]), redis.call('DECR', KEYS[2])}":
      if (failed) break;
      counter(keys[0]);
      counter(keys[1]);
      return;
    case "local n = redis.call('INCR', KEYS[1]) if n > 3 then return redis.error_reply('LIMIT reached') end return n":
      if (failed && !reply.toString('latin1').startsWith('-LIMIT reached')) break;
      counter(keys[0]);
      return;
    case "return redis.call('PFADD', KEYS[1], ARGV[1])":
      if (!failed && keys[0] !== undefined) types.set(keys[0], '+hll\r\n');
      return;
    case "return redis.call('DEL', KEYS[1])":
      if (!failed && keys[0] !== undefined) types.set(keys[0], '+none\r\n');
      return;
    case undefined:
      break;
    default:
      return; // writes nothing
  }
  for (const k of keys) types.delete(k);
}

/**
 * After an accepted difference: makes each key the step named hold in Redis what it holds in tally
 * (missing, a counter's value, or an HLL's HYLL bytes as tally's GET answers them).
 * Returns a problem, or null.
 */
async function copyTallyIntoRedis(redis: RawRespClient, tally: RawRespClient, step: Step): Promise<string | null> {
  for (const [i, k] of step.keys.entries()) {
    if (step.tallyExists[i] !== true) {
      await redis.send(['DEL', k]);
      continue;
    }
    const type = (await tally.send(['TALLY.TYPE', k])).toString('latin1');
    if (type === '+pncounter\r\n' || type === '+gcounter\r\n') {
      const v = bulkPayload(await tally.send(['GET', k]));
      if (v === null) return `tally's counter ${k} exists but GET answers nil`;
      await redis.send(['SET', k, v]);
    } else if (type === '+hll\r\n') {
      // GET answers an HLL's HYLL bytes as Redis would hold them (cached count included): Redis takes them as they are.
      const v = bulkPayload(await tally.send(['GET', k]));
      if (v === null) return `tally's HLL ${k} exists but GET answers nil`;
      await redis.send(['SET', k, v]);
    } else {
      return `cannot copy tally's ${k} (TALLY.TYPE ${showBytes(Buffer.from(type))}) into Redis`;
    }
    // And its TTL: SET and RESTORE clear Redis's.
    const at = (await tally.send(['PEXPIRETIME', k])).toString('latin1');
    const ms = /^:(-?\d+)\r\n$/.exec(at)?.[1];
    if (ms === undefined) return `tally's PEXPIRETIME ${k} answered ${showBytes(Buffer.from(at))}`;
    if (Number(ms) >= 0) await redis.send(['PEXPIREAT', k, ms]);
    else await redis.send(['PERSIST', k]);
  }
  for (const k of step.keys) {
    const [r, t] = await Promise.all([redis.send(['EXISTS', k]), tally.send(['EXISTS', k])]);
    if (!r.equals(t)) return `after copying tally's ${k} into Redis, EXISTS still differs`;
  }
  return null;
}

/** The outcome as text: every step with its replies, the accepted differences, and the failure. */
export function describeOutcome(o: Outcome, prefix: string): string {
  const strip = (k: string): string => (k.startsWith(prefix) ? k.slice(prefix.length) : k);
  const lines: string[] = [];
  for (const rec of o.records) {
    const s = rec.step;
    const existence = (e: readonly boolean[]): string => s.keys.map((k, i) => `${strip(k)}=${e[i] === true ? 1 : 0}`).join(' ');
    const sameKeys = s.redisExists.every((e, i) => e === s.tallyExists[i]);
    const failed = !o.ok && rec === o.failed;
    const mark = failed ? '>>' : rec.accepted !== undefined ? '~ ' : '  ';
    lines.push(`${mark} ${rec.cmd.toString()}`);
    if (s.redis.equals(s.tally)) lines.push(`     both   ${showBytes(s.redis)}`);
    else lines.push(`     redis  ${showBytes(s.redis)}`, `     tally  ${showBytes(s.tally)}`);
    if (!sameKeys) lines.push(`     exists afterwards: redis ${existence(s.redisExists)}, tally ${existence(s.tallyExists)}`);
    if (rec.accepted !== undefined) lines.push(`     (intended difference '${rec.accepted.id}'${failed ? '' : '; Redis given tally\'s state of the keys'})`);
  }
  if (!o.ok) lines.push('', o.failed.accepted === undefined ? `>> ${o.problem}, and no row of test/oracle/differences.ts explains it.` : `>> ${o.problem}.`);
  lines.push(`(each sequence starts after FLUSHALL on fresh connections; keys were sent with the prefix '${prefix}')`);
  return lines.join('\n');
}

/**
 * A failure's signature, to group failures of one cause: the command (UNKNOWN for unknown names),
 * the problem and both replies with quoted text, digits and runs of arguments blurred.
 */
export function signature(o: Outcome): string | null {
  if (o.ok) return null;
  const s = o.failed.step;
  const blur = (b: Buffer): string =>
    showBytes(b)
      .replace(/'[^']*'/g, "'Q'")
      .replace(/('Q' )+/g, "'Q'.. ")
      .replace(/[0-9]+/g, 'N');
  const unknown = s.redis.toString('latin1').startsWith('-ERR unknown command ');
  return `${unknown ? 'UNKNOWN' : (s.words[0] ?? '').toUpperCase()} ${o.problem}: redis ${blur(s.redis)} | tally ${blur(s.tally)}`;
}
