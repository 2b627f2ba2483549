// Runs one command sequence against redis-server and a tally node and compares them step by step:
// each reply byte for byte, and whether each key the command names exists afterwards. A mismatch
// passes only if a row of the differences table explains it; the runner then copies tally's state of
// those keys into Redis, so the rest of the sequence again compares like with like.

import type { Cmd } from './commands.js';
import { type Difference, type KeyHistory, type Probe, type Step, explain, strictInt64 } from './differences.js';
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
  const [redis, tally] = await Promise.all([RawRespClient.connect(ports.redis, 'redis'), RawRespClient.connect(ports.tally, 'tally')]);
  try {
    for (const c of [redis, tally]) {
      const r = await c.send(['FLUSHALL']);
      if (!is(r, '+OK\r\n')) throw new Error(`${c.name}: FLUSHALL answered ${showBytes(r)}`);
    }
    const ledger = new TallyLedger();
    let db = 0;
    const probe: Probe = {
      tally: (w) => tally.send(w),
      redis: (w) => redis.send(w),
      history: (key) => ledger.get(db, key),
    };
    const records: StepRecord[] = [];
    for (const cmd of cmds) {
      const words = cmd.resolve(prefix);
      const keys = cmd.keys(prefix);
      // Redis's keys before the command, to put an HLL back if tally refused to overwrite it.
      const before = await Promise.all(keys.map(async (k) => bulkPayload(await redis.send(['DUMP', k]))));
      const [r, t] = await Promise.all([redis.send(words), tally.send(words)]);
      const exists = async (c: RawRespClient): Promise<boolean[]> => Promise.all(keys.map(async (k) => is(await c.send(['EXISTS', k]), ':1\r\n')));
      const [redisExists, tallyExists] = await Promise.all([exists(redis), exists(tally)]);
      const step: Step = { words, redis: r, tally: t, keys, redisExists, tallyExists };
      const same = r.equals(t) && redisExists.every((e, i) => e === tallyExists[i]);
      let accepted: Difference | undefined;
      if (!same) {
        accepted = await explain(step, probe, o.alsoAccept);
        if (accepted === undefined) {
          const failed = { cmd, step };
          return { ok: false, records: [...records, failed], failed, problem: r.equals(t) ? 'the keys differ afterwards' : 'the replies differ' };
        }
        const problem = await copyTallyIntoRedis(redis, tally, step, before);
        if (problem !== null) {
          const failed = { cmd, step, accepted };
          return { ok: false, records: [...records, failed], failed, problem };
        }
      }
      ledger.record(db, step);
      if ((words[0] ?? '').toLowerCase() === 'select' && is(r, '+OK\r\n') && is(t, '+OK\r\n')) db = Number(words[1]);
      records.push(accepted === undefined ? { cmd, step } : { cmd, step, accepted });
    }
    return { ok: true, records };
  } finally {
    redis.close();
    tally.close();
  }
}

/**
 * After an accepted difference: makes each key the step named hold in Redis what it holds in tally
 * (missing, a counter's value, or, for an HLL tally did not change, Redis's own value from before).
 * Returns a problem, or null.
 */
async function copyTallyIntoRedis(redis: RawRespClient, tally: RawRespClient, step: Step, before: readonly (Buffer | null)[]): Promise<string | null> {
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
      const dump = before[i];
      if (dump === null || dump === undefined) return `tally holds the HLL ${k}, which Redis did not have before the command`;
      await redis.send(['RESTORE', k, '0', dump, 'REPLACE']);
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
