// Reading a whole store, and writing to it once, in a child process before the node opens it. LMDB
// keeps no checksums and trusts its pages: damage inside the B-tree can crash the process that
// reads it (SIGSEGV, abort), or hide records without any error (a branch page overwritten: the
// records under it are skipped). Both were seen by overwriting one page of a node's store with
// random bytes (docs/durability.md, "Recovery"), and so was a crash on the first write, from a
// damaged page of the free list. The child reads every record, compares their number with the count
// LMDB keeps in its meta page, and rewrites the meta record as it is; a crash or a difference
// becomes a refusal with a clear message, in the parent.

import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The child: CommonJS (node -e), lmdb by absolute path, the store's path in the environment. */
const CHILD = `
const { open } = require(process.env.TALLY_CHECK_LMDB);
const say = (bad) => { process.stdout.write(JSON.stringify({ bad })); process.exit(3); };
try {
  const db = open({ path: process.env.TALLY_CHECK_PATH, noSubdir: true, encoding: 'binary', keyEncoding: 'binary', compression: false, overlappingSync: false });
  let n = 0;
  // Each value is read, not only its key: a long one lies on overflow pages of its own.
  for (const { value } of db.getRange({})) if (value.length >= 0) n++;
  const listed = db.getStats().entryCount;
  if (n !== listed) say('its B-tree lists ' + listed + ' records, but ' + n + ' could be read');
  // A write takes pages from the free list, which reading never touches: rewrite the meta record as
  // it is (the node's first write does the same, so this changes nothing but the transaction id).
  const meta = Buffer.from(process.env.TALLY_CHECK_META, 'hex');
  const m = db.get(meta);
  if (m !== undefined) db.putSync(meta, Buffer.from(m));
} catch (e) {
  say(String((e && e.message) || e));
}
`;

/** Longest a check may take: a damaged tree can also send a reader round in circles. */
const CHECK_TIMEOUT_MS = 10 * 60_000;

/**
 * Why the LMDB file at `path` cannot be read whole, or null if it can (or does not exist yet, or is
 * empty: LMDB initialises it). The reason is a phrase to put in a refusal.
 */
export function storeUnreadable(path: string, metaKey: Uint8Array): string | null {
  try {
    if (statSync(path).size === 0) return null;
  } catch {
    return null;
  }
  const r = spawnSync(process.execPath, ['-e', CHILD], {
    env: { ...process.env, TALLY_CHECK_PATH: path, TALLY_CHECK_META: Buffer.from(metaKey).toString('hex'), TALLY_CHECK_LMDB: createRequire(import.meta.url).resolve('lmdb') },
    encoding: 'utf8',
    timeout: CHECK_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return `reading it did not finish in ${CHECK_TIMEOUT_MS / 60_000} minutes`;
  // The check could not run at all (no process to spare): the store is opened as before.
  if (r.error !== undefined) return null;
  if (r.signal !== null) return `a reader crashed on it with ${r.signal}`;
  if (r.status === 0) return null;
  try {
    const { bad } = JSON.parse(r.stdout) as { bad: unknown };
    if (typeof bad === 'string') return bad;
  } catch {
    // not the child's answer: fall through to what it printed
  }
  const said = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  return `reading it failed with exit code ${String(r.status)}${said === '' ? '' : `: ${said.slice(0, 200)}`}`;
}
