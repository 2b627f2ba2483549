// The durable store: one LMDB environment per node (lmdb-js) holding a meta record and one record
// per key, each key's whole CRDT state in its codec form. Opening checks the meta record, so a
// corrupt, foreign or newer data directory stops the node with an error naming the path and what to
// do, never a silent empty start. docs/durability.md describes the format and the recovery.

import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import type { Keyspace } from '../keyspace/keyspace.js';
import type { LocalStamp } from '../replication/version-log.js';
import { storeUnreadable } from './store-check.js';
import { ViewChunks, type ByteWriter } from '../crdt/codec.js';

/**
 * The on-disk format this code writes and reads. A store of a higher format is refused. Format 2
 * adds the local stamp to key records (below); format 1 records still load, without one.
 */
export const STORE_FORMAT = 2;

/**
 * First byte of a stamped record (format 2): `[STAMPED][uvarint incarnation][uvarint version]`, then
 * the format 1 record. Never a type tag (those are 0-6 and 0x40).
 */
const STAMPED = 0xfc;

/** Keys up to this many bytes are record keys as they are; longer ones go under their SHA-256 (LMDB allows 1978). */
export const MAX_INLINE_KEY_BYTES = 1024;

/** Record-key prefixes. A full key starts with its database number (0-15), so these cannot collide. */
const LONG_KEY_PREFIX = 0xfe;
const META_KEY = Buffer.from([0xff, 0x6d, 0x65, 0x74, 0x61]); // 0xFF "meta"

export class StoreError extends Error {
  override readonly name = 'StoreError';
}

export interface StoreMeta {
  format: number;
  cluster: string;
  nodeId: string;
  /** The incarnation that last opened the store: identity.json must be ahead of it. */
  incarnation: number;
  /**
   * Slot-fold bounds (replication/slot-folds.ts): written before any state they fold, so a restart
   * never meets an unfolded state with folded ones it does not know are folded. Absent: none.
   */
  folds?: [string, number][];
}

export interface OpenedStore {
  store: DurableStore;
  /** The meta record as found (null for a new store), before this open updates it. */
  previous: StoreMeta | null;
}

/** One key's whole state as written: the type tag and the CRDT codec bytes. */
export interface KeyRecord {
  key: string;
  tag: number;
  bytes: Uint8Array;
  /**
   * This node's last local change of the key (replication/version-log.ts, `LocalStamp`), so a
   * restart need not re-announce it. Absent in format 1 records: such a key is announced again.
   */
  stamp?: LocalStamp;
}

/** Where a node's store lives. */
export function storePath(dataDir: string, nodeId: string): string {
  return join(dataDir, nodeId, 'store.mdb');
}

const MOVE_ASIDE = 'Move it (and its -lock file) aside to start this node empty: it rejoins and streams the state its peers hold, and only increments that no other node had are lost.';

/** Keys up to this long are copied into a reused record key a byte at a time (`passingRecordKey`). */
const SHORT_KEY = 64;

/** The LMDB record key of a full key. */
function recordKey(fullKey: string): Buffer {
  const raw = Buffer.from(fullKey, 'latin1');
  if (raw.length <= MAX_INLINE_KEY_BYTES) return raw;
  const out = Buffer.allocUnsafe(33);
  out[0] = LONG_KEY_PREFIX;
  createHash('sha256').update(raw).digest().copy(out, 1);
  return out;
}

/**
 * The record key of `fullKey` to hand to LMDB at once: for a short key, a buffer kept per length and
 * written over by the next call. lmdb-js copies a key into its write instructions as `put` or
 * `remove` is called, so the buffer is free again when they return; a fresh one per record was a
 * tenth of what a peer catching up on a bulk load allocated (bench scale, allocation profile). Short
 * keys (a bulk load's every key) are copied in JavaScript: Buffer.from(key, 'latin1') goes through
 * the C++ binding, 3.9% of a writing node's CPU under a bulk load against 1.2% this way. Full keys
 * are latin1: one byte per char.
 */
function passingRecordKey(fullKey: string): Buffer {
  const n = fullKey.length;
  // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent but for allocation, recordKey writes a short key's same bytes
  if (n > SHORT_KEY) return recordKey(fullKey);
  const out = (shortKeys[n] ??= Buffer.allocUnsafe(n));
  // Stryker disable next-line EqualityOperator: equivalent, a write past the end of a typed array is ignored
  for (let i = 0; i < n; i++) out[i] = fullKey.charCodeAt(i);
  return out;
}
const shortKeys: Buffer[] = [];

/** Reads a uvarint of at most 8 bytes (a safe integer) at `at`: [value, next offset], or undefined. */
function readUvarint(b: Uint8Array, at: number): [number, number] | undefined {
  let n = 0;
  let mul = 1;
  for (let i = at; i < b.length && i < at + 8; i++) {
    const byte = b[i] as number;
    n += (byte & 0x7f) * mul;
    if (byte < 0x80) return Number.isSafeInteger(n) ? [n, i + 1] : undefined;
    mul *= 0x80;
  }
  return undefined;
}

/** Decodes one record back to its full key, tag, state and stamp, or a reason it is corrupt. */
function decodeRecord(rkey: Uint8Array, stored: Uint8Array): KeyRecord | string {
  if (stored[0] !== STAMPED) return decodePlain(rkey, stored);
  const inc = readUvarint(stored, 1);
  const ver = inc && readUvarint(stored, inc[1]);
  if (inc === undefined || ver === undefined) return 'bad stamp';
  const rec = decodePlain(rkey, stored.subarray(ver[1]));
  return typeof rec === 'string' ? rec : { ...rec, stamp: { incarnation: inc[0], version: ver[0] } };
}

function decodePlain(rkey: Uint8Array, value: Uint8Array): KeyRecord | string {
  if (value.length < 1) return 'empty value';
  const tag = value[0] as number;
  const first = rkey[0];
  // Stryker disable next-line StringLiteral: unreachable, LMDB refuses a zero-length key (the check narrows the type)
  if (first === undefined) return 'empty key';
  if (first < 16) {
    return { key: Buffer.from(rkey.buffer, rkey.byteOffset, rkey.byteLength).toString('latin1'), tag, bytes: value.subarray(1) };
  }
  if (first === LONG_KEY_PREFIX) {
    if (value.length < 5) return 'truncated long-key record';
    const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const n = v.readUInt32BE(1);
    if (5 + n > v.length) return 'truncated long-key record';
    const key = v.subarray(5, 5 + n).toString('latin1');
    if (!recordKey(key).equals(Buffer.from(rkey))) return 'long key does not match its hash';
    return { key, tag, bytes: v.subarray(5 + n) };
  }
  return `unknown record kind 0x${first.toString(16)}`;
}

/**
 * One transaction being written (`DurableStore.begin`). A record value is
 * `[tag][state]`, or for a long key `[tag][u32 key length][key][state]`; with a stamp, that behind
 * `[STAMPED][uvarint incarnation][uvarint version]`. Each is written once, into the store's record
 * buffers (`ViewChunks`), and LMDB is given that region of the buffer (`ByteWriter.region`).
 */
export class RecordBatch {
  private last: Promise<boolean> | undefined;
  /** The record `startRecord` began: its LMDB key, its writer, where it starts and where its tag goes. */
  private rk: Buffer | undefined;
  private w: ByteWriter | undefined;
  private at = 0;
  private tagAt = 0;

  constructor(
    private readonly closedReason: string | undefined,
    private readonly db: RootDatabase<Buffer, Buffer>,
    private readonly chunks: ViewChunks,
  ) {}

  /** Writes one key's state (and this node's stamp of it, if any). */
  put(key: string, tag: number, bytes: Uint8Array, stamp?: LocalStamp): void {
    this.startRecord(key, stamp).bytes(bytes);
    this.endRecord(tag);
  }

  /**
   * Begins the record of `key` (with this node's stamp of it, if any) and returns the writer to
   * append its state to, for `endRecord`: the state is written into the record, never copied into
   * it. Nothing else may be put or removed in between.
   */
  startRecord(key: string, stamp?: LocalStamp): ByteWriter {
    const w = this.chunks.writer();
    this.at = w.length;
    if (stamp !== undefined) w.u8(STAMPED).uvarint(stamp.incarnation).uvarint(stamp.version);
    this.tagAt = w.length;
    w.u8(0);
    const rk = passingRecordKey(key);
    if (rk[0] === LONG_KEY_PREFIX) {
      const k = Buffer.from(key, 'latin1');
      const n = k.length;
      w.u8(n >>> 24).u8(n >>> 16).u8(n >>> 8).u8(n).bytes(k);
    }
    this.rk = rk;
    this.w = w;
    return w;
  }

  /** Ends the record `startRecord` began: writes it with type tag `tag`, or drops it if `tag` is undefined. */
  endRecord(tag: number | undefined): void {
    const rk = this.rk;
    const w = this.w;
    if (rk === undefined || w === undefined) throw new Error('RecordBatch.endRecord: no record was started');
    this.rk = undefined;
    this.w = undefined;
    if (tag === undefined || this.closedReason !== undefined) {
      w.truncate(this.at);
      return;
    }
    w.setU8(this.tagAt, tag);
    // lmdb-js takes any Uint8Array as a binary value (its typings say Buffer, what reads return), and
    // a region of one marked by start and end. It keeps a reference to the value until the
    // transaction is written, which keeps the record buffer alive; a view per record cost a retained
    // object per key of every commit.
    this.last = this.db.put(rk, w.region(this.at) as Uint8Array as Buffer);
  }

  /** Removes one key's record. */
  remove(key: string): void {
    if (this.closedReason !== undefined) return;
    this.last = this.db.remove(passingRecordKey(key));
  }

  /** Ends the transaction: `committed` once it is written, `flushed` once it is synced to disk. */
  end(): { committed: Promise<void>; flushed: Promise<void> } {
    if (this.closedReason !== undefined) {
      const e = Promise.reject(new StoreError(this.closedReason));
      return { committed: e, flushed: e };
    }
    // Every put and remove of one event turn is one LMDB transaction (lmdb-js eventTurnBatching).
    // Stryker disable next-line BooleanLiteral: the value is dropped by the then() on the same line
    const committed = (this.last ?? Promise.resolve(true)).then(() => undefined);
    // `db.flushed` read after the commit covers it (and every commit before it).
    // Stryker disable next-line ArrowFunction: with overlappingSync off (open()) a commit resolves once synced, so db.flushed adds no wait; it keeps `flushed` right if that option changes
    const flushed = committed.then(() => this.db.flushed).then(() => undefined);
    return { committed, flushed };
  }
}

export interface StoreOptions {
  dataDir: string;
  nodeId: string;
  cluster: string;
}

/**
 * A node's LMDB environment. Writes go through `write()`: one LMDB transaction per call, resolved
 * once it is committed and synced to disk (lmdb-js's default: durable commits, `overlappingSync`
 * so the sync runs beside the next transaction, off the main thread).
 */
export class DurableStore {
  private closed = false;
  /**
   * Where record values are written (`RecordBatch.startRecord`), one after another. LMDB reads each
   * value from where it was written when it writes the transaction (lmdb-js keeps a reference to each
   * value until then), so a buffer is never written over.
   */
  private readonly chunks = new ViewChunks();

  private constructor(
    readonly path: string,
    private readonly db: RootDatabase<Buffer, Buffer>,
  ) {}

  /**
   * Opens (or creates) the store of `nodeId` and checks its meta record. Throws StoreError naming
   * the path and what to do for a corrupt, foreign or newer store. Does not yet record the new
   * incarnation: call `claim()` once the identity is bumped.
   */
  static open(o: StoreOptions): OpenedStore {
    const path = storePath(o.dataDir, o.nodeId);
    // 0700: the store holds every count and key name; no other user of the machine may read it (docs/security.md).
    mkdirSync(join(o.dataDir, o.nodeId), { recursive: true, mode: 0o700 });
    // LMDB trusts its file: a file that is not LMDB crashes the process (SIGSEGV) instead of failing.
    // Check its meta pages first, so the usual corruptions (truncated, overwritten, not ours) get
    // a clear error at once.
    const bad = checkLmdbFile(path);
    if (bad !== null) throw new StoreError(`the data store ${path} is corrupt (${bad}). ${MOVE_ASIDE}`);
    // Then every page, in a child process: damage deeper in the tree crashes or misleads the reader.
    const unreadable = storeUnreadable(path, META_KEY);
    if (unreadable !== null) throw new StoreError(`the data store ${path} cannot be read (${unreadable}): it is corrupt. ${MOVE_ASIDE}`);
    let db: RootDatabase<Buffer, Buffer>;
    try {
      // overlappingSync off: a commit returns once it is synced (LMDB's classic durable commit), which
      // measured faster here than lmdb-js's default of syncing beside the next transaction
      // (docs/durability.md). Never noSync or noMetaSync: "always" must survive a machine crash.
      db = open<Buffer, Buffer>({
        path,
        noSubdir: true,
        encoding: 'binary',
        keyEncoding: 'binary',
        compression: false,
        maxDbs: 1,
        // Stryker disable next-line BooleanLiteral: a speed choice; with overlapping syncs `committed` comes before the sync, but group commit waits for `flushed`, which follows the sync either way
        overlappingSync: false,
      });
    } catch (e) {
      throw new StoreError(`the data store ${path} cannot be opened (${(e as Error).message}): it is corrupt or not an LMDB file. ${MOVE_ASIDE}`);
    }
    const fail = (msg: string): never => {
      try {
        db.close();
      } catch {
        // already failing: the first error is the one to report
      }
      throw new StoreError(msg);
    };
    let previous: StoreMeta | null = null;
    try {
      const raw = db.get(META_KEY);
      if (raw === undefined) {
        // A store without meta is new only if it holds nothing at all.
        // Stryker disable next-line ObjectLiteral: without the limit the loop still stops at the first key, where fail() throws
        for (const _ of db.getKeys({ limit: 1 })) fail(`the data store ${path} is corrupt (records but no meta record). ${MOVE_ASIDE}`);
      } else {
        previous = parseMeta(raw, path);
      }
    } catch (e) {
      if (e instanceof StoreError) fail(e.message);
      fail(`the data store ${path} cannot be read (${(e as Error).message}): it is corrupt. ${MOVE_ASIDE}`);
    }
    if (previous !== null) {
      if (previous.format > STORE_FORMAT)
        fail(`the data store ${path} was written by a newer tally (format ${previous.format}; this one reads format ${STORE_FORMAT}). Upgrade tally, or point dataDir at another directory.`);
      if (previous.cluster !== o.cluster)
        fail(`the data store ${path} belongs to cluster '${previous.cluster}', not '${o.cluster}'. Check the config's "cluster" and dataDir; a node never loads another cluster's counts.`);
      if (previous.nodeId !== o.nodeId)
        fail(`the data store ${path} belongs to node '${previous.nodeId}', not '${o.nodeId}'. Check --id and dataDir; a node never loads another node's counts.`);
    }
    return { store: new DurableStore(path, db), previous };
  }

  /** Records that `incarnation` of this node now owns the store (synchronously, durably). */
  claim(meta: Omit<StoreMeta, 'format'>): void {
    this.db.putSync(META_KEY, Buffer.from(JSON.stringify({ format: STORE_FORMAT, ...meta })));
  }

  /**
   * Records raised slot-fold bounds in the meta record, synchronously and durably, before the
   * states they fold are written (later commits of the same environment). Throws StoreError if the
   * store has no meta record yet or is closed.
   */
  saveFolds(folds: readonly (readonly [string, number])[]): void {
    if (this.closed) throw new StoreError(`the data store ${this.path} is closed`);
    const meta = this.meta();
    if (meta === null) throw new StoreError(`the data store ${this.path} has no meta record yet`);
    this.claim({ cluster: meta.cluster, nodeId: meta.nodeId, incarnation: meta.incarnation, folds: folds.map(([id, b]) => [id, b]) });
  }

  /**
   * Loads every key into `keyspace` (which must be empty and not yet attached to a replica).
   * A record that does not decode is corruption: StoreError naming the path and the key.
   */
  loadInto(keyspace: Keyspace, stamps?: Map<string, LocalStamp>): number {
    let n = 0;
    for (const { key, value } of this.db.getRange({})) {
      if (key.equals(META_KEY)) continue;
      const rec = decodeRecord(key, value);
      if (typeof rec === 'string') throw new StoreError(`the data store ${this.path} is corrupt (${rec} at record ${shownKey(key)}). ${MOVE_ASIDE}`);
      // Copy: the decoded CRDT may keep views of its bytes, and LMDB's buffers are not ours to keep.
      const r = keyspace.mergeRemote(rec.key, rec.tag, Uint8Array.prototype.slice.call(rec.bytes));
      if (!r.ok) throw new StoreError(`the data store ${this.path} is corrupt (key ${shownKey(key)}: ${r.error}). ${MOVE_ASIDE}`);
      if (rec.stamp !== undefined) stamps?.set(rec.key, rec.stamp);
      n++;
    }
    return n;
  }

  /**
   * Writes these key states (and removes `removed`) in one transaction. `committed` resolves once it
   * is written (it survives a crash of this process); `flushed` once it is synced to disk (it
   * survives a crash of the machine). The next transaction may start as soon as this one is
   * committed: its sync then overlaps the sync of this one.
   */
  // Stryker disable next-line ArrayDeclaration: a default of ["Stryker was here"] removes a key no record can have (a full key starts with its database, 0-15), in the same transaction
  write(records: readonly KeyRecord[], removed: readonly string[] = []): { committed: Promise<void>; flushed: Promise<void> } {
    const batch = this.begin();
    for (const r of records) batch.put(r.key, r.tag, r.bytes, r.stamp);
    for (const k of removed) batch.remove(k);
    return batch.end();
  }

  /**
   * `write`, a record at a time: every `put` and `remove` until `end` (in the same event turn) is one
   * transaction, and `end` gives its `committed` and `flushed`. A caller that builds each record
   * just before writing it (the group commit) never holds the whole list: a commit of 130,000 keys
   * built as a list first kept every record and its encoded state alive through the young-generation
   * collections that ran while it was built, which promoted them all to the old generation (about
   * 380 of the 820 bytes per key a writer promoted under a bulk load).
   */
  begin(): RecordBatch {
    return new RecordBatch(this.closed ? `the data store ${this.path} is closed` : undefined, this.db, this.chunks);
  }

  /** Every stored record, decoded (tests and tooling). */
  *records(): Generator<KeyRecord> {
    for (const { key, value } of this.db.getRange({})) {
      if (key.equals(META_KEY)) continue;
      const rec = decodeRecord(key, value);
      if (typeof rec !== 'string') yield { key: rec.key, tag: rec.tag, bytes: Uint8Array.prototype.slice.call(rec.bytes), ...(rec.stamp === undefined ? {} : { stamp: rec.stamp }) };
    }
  }

  /**
   * What the store holds on disk (INFO persistence, /metrics): its key records (the meta record
   * aside: a collected key has none, so they fall when tombstones are collected) and the bytes of
   * its file in use (LMDB keeps freed pages for reuse: the file does not shrink).
   */
  stats(): { records: number; bytes: number } {
    if (this.closed) return this.lastStats;
    const s = this.db.getStats() as { entryCount: number; lastPageNumber: number; pageSize: number };
    const meta = this.db.get(META_KEY) === undefined ? 0 : 1;
    this.lastStats = { records: s.entryCount - meta, bytes: (s.lastPageNumber + 1) * s.pageSize };
    return this.lastStats;
  }

  private lastStats = { records: 0, bytes: 0 };

  /** The meta record now on disk. */
  meta(): StoreMeta | null {
    const raw = this.db.get(META_KEY);
    return raw === undefined ? null : parseMeta(raw, this.path);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.flushed;
    await this.db.close();
  }
}

/** LMDB's meta page magic (MDB_MAGIC), right after the 24-byte page header of pages 0 and 1 (lmdb-js's LMDB). */
const LMDB_MAGIC = 0xbeefc0de;
const PAGE_HEADER = 24;

/** Null if `path` is missing, empty (LMDB initialises it) or starts with an LMDB meta page; else why not. */
function checkLmdbFile(path: string): string | null {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return null;
  }
  if (size === 0) return null;
  if (size < 2 * 4096) return `${size} bytes: truncated`;
  const head = Buffer.alloc(PAGE_HEADER + 4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  // Only the first meta page counts: LMDB reads it to learn the page size, and lmdb-js's build
  // crashes (SIGSEGV) on a damaged one even when the second meta page is intact.
  return head.readUInt32LE(PAGE_HEADER) === LMDB_MAGIC ? null : 'no LMDB meta page: not an LMDB file, or overwritten';
}

function parseMeta(raw: Uint8Array, path: string): StoreMeta {
  let m: unknown;
  try {
    m = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    throw new StoreError(`the data store ${path} is corrupt (its meta record is not JSON). ${MOVE_ASIDE}`);
  }
  const r = m as Partial<StoreMeta>;
  if (
    typeof r !== 'object' || r === null ||
    typeof r.format !== 'number' || typeof r.cluster !== 'string' || typeof r.nodeId !== 'string' ||
    typeof r.incarnation !== 'number' || !Number.isSafeInteger(r.incarnation)
  )
    throw new StoreError(`the data store ${path} is corrupt (its meta record lacks format, cluster, nodeId or incarnation). ${MOVE_ASIDE}`);
  const f: unknown = r.folds;
  if (f !== undefined && (!Array.isArray(f) || !f.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && e[0] !== '' && Number.isSafeInteger(e[1]) && (e[1] as number) > 0)))
    throw new StoreError(`the data store ${path} is corrupt (its meta record's slot-fold bounds are not [node id, incarnation] pairs). ${MOVE_ASIDE}`);
  return { format: r.format, cluster: r.cluster, nodeId: r.nodeId, incarnation: r.incarnation, ...(f === undefined ? {} : { folds: f as [string, number][] }) };
}

function shownKey(k: Uint8Array): string {
  return JSON.stringify(Buffer.from(k).toString('latin1').slice(0, 64));
}

/** What `backupStore` copied. */
export interface BackupResult {
  /** The copy's path. */
  path: string;
  meta: StoreMeta;
  /** Key records in the copy (read back from it, not from the source). */
  records: number;
}

/** A read-only handle on the LMDB file at `path` (a backup's source and its copy). */
function openReadOnly(path: string): RootDatabase<Buffer, Buffer> {
  return open<Buffer, Buffer>({
    path,
    noSubdir: true,
    // Stryker disable next-line BooleanLiteral: nothing writes through these handles; read-only only keeps it so on a live store
    readOnly: true,
    encoding: 'binary',
    keyEncoding: 'binary',
    compression: false,
    maxDbs: 1,
  });
}

/**
 * Writes a consistent copy of `nodeId`'s store to `dest` (a new file), while the node may be running
 * and writing: LMDB's own copy (mdb_env_copy) reads one snapshot in a read transaction, where a plain
 * file copy of a live store can mix pages of different commits. The source is opened read-only (LMDB
 * shares it between processes through its lock file) and its meta record checked first; the copy is
 * then opened and its records counted, so a backup that cannot be loaded is an error now, not at restore.
 */
export async function backupStore(o: StoreOptions, dest: string): Promise<BackupResult> {
  const path = storePath(o.dataDir, o.nodeId);
  try {
    statSync(path);
  } catch {
    throw new StoreError(`no data store at ${path}: is dataDir right, and does node '${o.nodeId}' run here with persistence "everysec" or "always"?`);
  }
  const bad = checkLmdbFile(path);
  if (bad !== null) throw new StoreError(`the data store ${path} is corrupt (${bad}): nothing to back up`);
  try {
    statSync(dest);
    throw new StoreError(`${dest} already exists: back up into a new directory`);
  } catch (e) {
    if (e instanceof StoreError) throw e;
  }
  const src = openReadOnly(path);
  let meta: StoreMeta;
  try {
    const raw = src.get(META_KEY);
    if (raw === undefined) throw new StoreError(`the data store ${path} has no meta record yet (a node that never finished starting): nothing to back up`);
    meta = parseMeta(raw, path);
    if (meta.cluster !== o.cluster || meta.nodeId !== o.nodeId)
      throw new StoreError(`the data store ${path} belongs to node '${meta.nodeId}' of cluster '${meta.cluster}', not '${o.nodeId}' of '${o.cluster}'`);
    // Stryker disable next-line BooleanLiteral: a compacting copy holds the same records (only its free pages differ), and is checked the same way below
    await src.backup(dest, false);
  } finally {
    await src.close();
  }
  const copy = openReadOnly(dest);
  let records = 0;
  try {
    const raw = copy.get(META_KEY);
    // Stryker disable next-line StringLiteral: unreachable, the copy is of a source whose meta record was just read (kept against a broken mdb_env_copy)
    if (raw === undefined) throw new StoreError(`the backup ${dest} has no meta record: the copy failed`);
    for (const { key, value } of copy.getRange({})) {
      if (key.equals(META_KEY)) continue;
      const rec = decodeRecord(key, value);
      if (typeof rec === 'string') throw new StoreError(`the backup ${dest} is corrupt (${rec} at record ${shownKey(key)})`);
      records++;
    }
  } finally {
    await copy.close();
    // Reading the copy made its lock file; the backup is the data file alone.
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: opening the copy always made the lock file, so force never matters here
    rmSync(`${dest}-lock`, { force: true });
  }
  return { path: dest, meta, records };
}
