// The runtime's floor for a counter server: a RESP server that does, on Node.js 20 with lmdb-js,
// only what any counter store must, and none of tally's command path (no CRDT, no replication, no
// digest, no version log, no metrics; its replies are encoded by tally's ReplyWriter). `npm run bench -- resp` (for INCR) and `scale` run it beside tally and
// redis-server, so the part of tally's distance from redis-server that the runtime itself takes is
// measured in the same run, not assumed. A benchmark's instrument, never a server for users.
//
//   node dist/scripts/bench/floor-server.js --port <port> [--store <file>]
//
// It parses RESP arrays of bulk strings from 'data' events (the public net API tally uses), answers
// PING, INCR (a Map from the key's latin1 string to its count), DBSIZE and ECHO (which ends a
// `redis-cli --pipe`), and refuses anything else with an error, as redis-server refuses an unknown
// command. Replies, encoded by tally's ReplyWriter, go out at the end of the turn. With `--store`, every key changed is written to an
// LMDB file with tally's options (durable commits, no overlapping sync) and tally's group commit's
// sizes (group-commit.ts): a commit each second or once COMMIT_KEYS keys are listed, each record's
// value a region of one buffer (as tally's records are, store.ts), and while a commit is being
// written with BEHIND_KEYS keys listed behind it the sockets stop being read.

import { createServer, type Socket } from 'node:net';
import { open, type RootDatabase } from 'lmdb';
import { BEHIND_KEYS, COMMIT_KEYS, EVERYSEC_INTERVAL_MS } from '../../src/persistence/group-commit.js';
import { ReplyWriter } from '../../src/server/resp/encoder.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const port = Number(arg('port'));
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: floor-server --port <port> [--store <file>]');
  process.exit(2);
}
const storePath = arg('store');

const counts = new Map<string, number>();

// ---- the store: group commit of the keys changed, as tally's everysec ----------------------------

// Keys as strings (lmdb-js's default key encoding writes them straight into its instructions).
const db: RootDatabase<Buffer, string> | undefined =
  storePath === undefined ? undefined : open<Buffer, string>({ path: storePath, noSubdir: true, encoding: 'binary', compression: false, maxDbs: 1, overlappingSync: false });
let listed: string[] = [];
const listedSet = new Set<string>();
let writing = false;
let scheduled = false;
const sockets = new Set<Socket>();
let paused = false;

function list(key: string): void {
  if (db === undefined || listedSet.has(key)) return;
  listedSet.add(key);
  listed.push(key);
  if (listed.length >= COMMIT_KEYS) commitSoon();
}

function commitSoon(): void {
  if (scheduled || writing || listed.length === 0) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    commit();
  });
}

/** Buffer's latin1 decoder without `toString`'s dispatch (on every Node Buffer, not in its types). */
type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };
/** A region of a buffer, marked with start and end: how lmdb-js takes part of a buffer as a value. */
type Region = Buffer & { start: number; end: number };

function commit(): void {
  if (db === undefined || writing || listed.length === 0) return;
  const keys = listed;
  listed = [];
  listedSet.clear();
  writing = true;
  const values = Buffer.allocUnsafeSlow(keys.length * 8) as Region;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    values.writeDoubleLE(counts.get(k) ?? 0, i * 8);
    values.start = i * 8;
    values.end = i * 8 + 8;
    db.put(k, values);
  }
  void db.committed.then(
    () => {
      writing = false;
      resume();
      if (listed.length >= COMMIT_KEYS) commitSoon();
    },
    (e: unknown) => {
      console.error('floor-server: commit failed', e);
      process.exit(1);
    },
  );
}

if (db !== undefined) setInterval(commitSoon, EVERYSEC_INTERVAL_MS).unref();

function behind(): boolean {
  return db !== undefined && writing && listed.length >= BEHIND_KEYS;
}

function resume(): void {
  if (!paused || behind()) return;
  paused = false;
  for (const s of sockets) s.resume();
}

// ---- RESP ------------------------------------------------------------------------------------------

/** The decimal at `i` up to CR, or -1 if the buffer ends first; `lineEnd` is then past its CRLF. */
let lineEnd = 0;
function decimal(b: Buffer, i: number): number {
  let v = 0;
  for (let j = i; j < b.length; j++) {
    const c = b[j] as number;
    if (c === 13) {
      if (j + 1 >= b.length) return -1;
      lineEnd = j + 2;
      return v;
    }
    v = v * 10 + (c - 48);
  }
  return -1;
}

function isWord(b: Buffer, at: number, len: number, upper: string): boolean {
  if (len !== upper.length) return false;
  for (let i = 0; i < len; i++) if (((b[at + i] as number) & 0xdf) !== upper.charCodeAt(i)) return false;
  return true;
}

/** Runs every whole command of `b`, its replies into `out`; returns where the first incomplete one starts. */
function run(b: Buffer, out: ReplyWriter): number {
  let i = 0;
  while (i < b.length) {
    if (b[i] !== 42) {
      // An inline command: PING, or an empty line (redis-cli --pipe sends one before its ECHO).
      const eol = b.indexOf(10, i);
      if (eol < 0) break;
      const text = (b as Latin1).latin1Slice(i, eol).trim();
      if (text.toUpperCase() === 'PING') out.writeSimple('PONG');
      else if (text.length > 0) out.writeError(`ERR unknown command '${text}'`);
      i = eol + 1;
      continue;
    }
    const argc = decimal(b, i + 1);
    if (argc < 0) break;
    // The first two arguments' offsets; the rest are skipped.
    let j = lineEnd;
    let at0 = 0;
    let len0 = 0;
    let at1 = 0;
    let len1 = 0;
    let whole = true;
    for (let a = 0; a < argc; a++) {
      const len = j < b.length && b[j] === 36 ? decimal(b, j + 1) : -1;
      if (len < 0 || lineEnd + len + 2 > b.length) {
        whole = false;
        break;
      }
      if (a === 0) {
        at0 = lineEnd;
        len0 = len;
      } else if (a === 1) {
        at1 = lineEnd;
        len1 = len;
      }
      j = lineEnd + len + 2;
    }
    if (!whole) break;
    i = j;
    if (argc === 2 && isWord(b, at0, len0, 'INCR')) {
      const key = (b as Latin1).latin1Slice(at1, at1 + len1);
      const v = (counts.get(key) ?? 0) + 1;
      counts.set(key, v);
      list(key);
      out.writeInt(v);
    } else if (isWord(b, at0, len0, 'PING')) out.writeSimple('PONG');
    else if (isWord(b, at0, len0, 'DBSIZE')) out.writeInt(counts.size);
    else if (argc === 2 && isWord(b, at0, len0, 'ECHO')) out.writeBulk(b.subarray(at1, at1 + len1));
    else out.writeError(`ERR unknown command '${(b as Latin1).latin1Slice(at0, at0 + len0)}'`);
  }
  return i;
}

/**
 * Replies wait for the end of the event loop's turn and go out then, one write per socket (as
 * tally's RESP server sends them): every socket whose data arrived in this turn is read before any
 * is answered. Written at once instead, each write woke redis-benchmark, which on two cores took
 * the CPU from the server mid-turn: 0.57-0.71 of redis-server's INCR rate at depth 16.
 */
const unanswered = new Map<Socket, ReplyWriter>();
let flushing = false;

function flush(): void {
  flushing = false;
  // `take` hands out bytes the writer never writes over again (encoder.ts).
  for (const [s, out] of unanswered) s.write(out.take());
  unanswered.clear();
}

createServer((s) => {
  s.setNoDelay(true);
  sockets.add(s);
  if (paused) s.pause();
  let rest: Buffer | undefined;
  // Tally's own reply encoder, one per connection as tally's are: the replies' bytes cost the same.
  const out = new ReplyWriter();
  s.on('data', (chunk: Buffer) => {
    const b = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
    const used = run(b, out);
    rest = used < b.length ? Buffer.from(b.subarray(used)) : undefined;
    if (out.length > 0) {
      unanswered.set(s, out);
      if (!flushing) {
        flushing = true;
        setImmediate(flush);
      }
    }
    if (!paused && behind()) {
      paused = true;
      for (const x of sockets) x.pause();
    }
  });
  s.on('error', () => s.destroy());
  s.on('close', () => sockets.delete(s));
}).listen(port, '127.0.0.1');

// Stopped by a signal: exit through Node (so `node --cpu-prof` writes its profile).
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
