// Records test/crdt/fixtures/redis-hyll-vectors.json: HyperLogLog command sequences run on a real
// redis-server, with the HYLL bytes GET answers after every step (sparse ones whole, dense ones as
// a SHA-256), and PFCOUNT's replies. test/crdt/redis-hyll-vectors.test.ts replays them in process
// against tally's HyperLogLog, so the sparse-opcode rules are pinned where mutation testing runs
// (it starts no redis-server); test/oracle/hll-differential.test.ts compares live on every run.
//
//   npm run build && node dist/test/oracle/record-hyll-vectors.js [out-file]
//
// The elements are chosen with tally's MurmurHash64A (Redis's hash) so that they crowd a few
// registers: raises of a register already set, runs of equal VALs split and joined, ZERO runs of
// 63-66 registers either side of a change, the first and last registers.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { murmur64Hi, murmur64String } from '../../src/crdt/murmur64a.js';
import { RawRespClient } from './raw-resp.js';
import { startRedisServer } from './redis-server.js';

export type VectorStep =
  /** PFADD key elements..., then GET key. */
  | { readonly op: 'add'; readonly key: string; readonly elements: readonly string[]; readonly get: Bytes }
  /** PFCOUNT key (one key: Redis caches the count), then GET key. */
  | { readonly op: 'count'; readonly key: string; readonly reply: number; readonly get: Bytes }
  /** PFMERGE dest sources..., then GET dest. */
  | { readonly op: 'merge'; readonly dest: string; readonly sources: readonly string[]; readonly get: Bytes };

/** A GET reply: the bytes in hex when short (up to 256), else their length and SHA-256. */
export type Bytes = { readonly hex: string } | { readonly length: number; readonly sha256: string };

export interface VectorCase {
  readonly name: string;
  readonly steps: readonly VectorStep[];
}

export interface Vectors {
  readonly redis: string;
  readonly cases: readonly VectorCase[];
}

const REGISTERS = 1 << 14;

/** Redis's register for an element: index = the low 14 bits of the hash, rank as HyperLogLog's. */
function registerOf(element: string): { index: number; rank: number } {
  const lo = murmur64String(element);
  const hi = murmur64Hi();
  const rest = lo >>> 14;
  const rank = rest !== 0 ? 32 - Math.clz32(rest & -rest) : hi !== 0 ? 18 + 32 - Math.clz32(hi & -hi) : 51;
  return { index: lo & (REGISTERS - 1), rank };
}

/** mulberry32: the recorder's only randomness, so a re-run records the same cases. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Elements `<prefix><n>` whose register passes `want`, up to `count` of them, in a shuffled order. */
function pick(prefix: string, count: number, want: (index: number, rank: number) => boolean, rand: () => number): string[] {
  const out: string[] = [];
  for (let n = 0; out.length < count && n < 50_000_000; n++) {
    const e = `${prefix}${n}`;
    const r = registerOf(e);
    if (want(r.index, r.rank)) out.push(e);
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Cuts `elements` into batches of 1..`max`. */
function batches(elements: readonly string[], max: number, rand: () => number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < elements.length; ) {
    const n = 1 + Math.floor(rand() * max);
    out.push(elements.slice(i, i + n));
    i += n;
  }
  return out;
}

/** The cases: which commands, in which order (the replies are Redis's). */
function plan(): { name: string; steps: ({ op: 'add'; key: string; elements: string[] } | { op: 'count'; key: string } | { op: 'merge'; dest: string; sources: string[] })[] }[] {
  const rand = rng(20261205);
  const cases: ReturnType<typeof plan> = [];
  const adds = (key: string, elements: readonly string[], max: number, countEvery = 0) => {
    const steps: ReturnType<typeof plan>[number]['steps'] = [];
    for (const b of batches(elements, max, rand)) {
      steps.push({ op: 'add', key, elements: b });
      if (countEvery > 0 && rand() < 1 / countEvery) steps.push({ op: 'count', key });
    }
    return steps;
  };
  // A crowd: 24 registers, ~6 elements each (so many raises of a register already set, and runs
  // of equal VALs split, rewritten and joined), added a few at a time in random order.
  for (const [name, base] of [['crowd-low', 40], ['crowd-mid', 9000]] as const) {
    const el = pick(`${name}:`, 150, (i) => i >= base && i < base + 24, rand);
    cases.push({ name, steps: adds('h', el, 6, 4) });
  }
  // Pairs of neighbours at distances around ZERO's limit of 64 (ZERO vs XZERO either side of a
  // change), the first and last registers, and the middle of a long zero run.
  {
    const wanted = new Set([0, 1, 63, 64, 65, 66, 130, 131, 196, 260, 8000, 8064, 8129, 16318, 16319, 16382, 16383]);
    const el = pick('edge:', 60, (i) => wanted.has(i), rand);
    cases.push({ name: 'zero-run-edges', steps: adds('h', el, 3, 5) });
  }
  // Spread: elements anywhere, in batches up to 90 (more than the 64 changes the form queues), up
  // to Redis's 3,000-byte sparse limit and past it (dense), then more adds to the dense form.
  {
    const el = pick('spread:', 2600, () => true, rand);
    cases.push({ name: 'spread-to-dense', steps: adds('h', el, 90, 8) });
  }
  // PFMERGE: into a new key (the registers written in index order), into a sparse key, and with a
  // dense source (the destination goes dense).
  {
    const a = pick('ma:', 40, (i) => i < 600, rand);
    const b = pick('mb:', 40, (i) => i >= 300 && i < 900, rand);
    const big = pick('mbig:', 2500, () => true, rand);
    cases.push({
      name: 'merge',
      steps: [
        ...adds('a', a, 10),
        ...adds('b', b, 10),
        { op: 'merge', dest: 'c', sources: ['a'] },
        { op: 'count', key: 'c' },
        { op: 'merge', dest: 'c', sources: ['b'] },
        { op: 'merge', dest: 'a', sources: ['b', 'c'] },
        ...adds('c', pick('mc:', 12, (i) => i < 900, rand), 4),
        ...adds('d', big, 500),
        { op: 'merge', dest: 'b', sources: ['d'] },
        { op: 'count', key: 'b' },
        { op: 'merge', dest: 'e', sources: ['a', 'c'] },
      ],
    });
  }
  return cases;
}

/** How a step records GET's bytes (the replay computes the same from tally's bytes). */
export function bytesOf(b: Uint8Array): Bytes {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  return buf.length <= 256 ? { hex: buf.toString('hex') } : { length: buf.length, sha256: createHash('sha256').update(buf).digest('hex') };
}

/** The payload of a bulk-string reply (`$n\r\n...\r\n`). */
function bulk(reply: Buffer): Buffer {
  const head = reply.indexOf('\r\n');
  if (reply[0] !== 0x24 || head < 0) throw new Error(`not a bulk string: ${reply.toString('latin1').slice(0, 80)}`);
  const n = Number(reply.subarray(1, head).toString('latin1'));
  return reply.subarray(head + 2, head + 2 + n);
}

function integer(reply: Buffer): number {
  if (reply[0] !== 0x3a) throw new Error(`not an integer: ${reply.toString('latin1').slice(0, 80)}`);
  return Number(reply.subarray(1, reply.indexOf('\r\n')).toString('latin1'));
}

async function main(): Promise<void> {
  const out = process.argv[2] ?? 'test/crdt/fixtures/redis-hyll-vectors.json';
  const server = await startRedisServer();
  try {
    const c = await RawRespClient.connect(server.port, 'redis');
    const cases: VectorCase[] = [];
    for (const p of plan()) {
      await c.send(['FLUSHALL']);
      const steps: VectorStep[] = [];
      for (const s of p.steps) {
        if (s.op === 'add') {
          await c.send(['PFADD', s.key, ...s.elements]);
          steps.push({ ...s, get: bytesOf(bulk(await c.send(['GET', s.key]))) });
        } else if (s.op === 'count') {
          const reply = integer(await c.send(['PFCOUNT', s.key]));
          steps.push({ ...s, reply, get: bytesOf(bulk(await c.send(['GET', s.key]))) });
        } else {
          await c.send(['PFMERGE', s.dest, ...s.sources]);
          steps.push({ ...s, get: bytesOf(bulk(await c.send(['GET', s.dest]))) });
        }
      }
      cases.push({ name: p.name, steps });
    }
    c.close();
    const vectors: Vectors = { redis: server.version, cases };
    writeFileSync(out, `${JSON.stringify(vectors)}\n`);
    console.log(`${out}: ${cases.length} cases, ${cases.reduce((n, k) => n + k.steps.length, 0)} steps, redis-server ${server.version}`);
  } finally {
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
