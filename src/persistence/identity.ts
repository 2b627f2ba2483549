// The node's durable identity: its id, its cluster, and an incarnation that grows at every start.
// Written atomically (temp file, fsync, rename, fsync of the directory) before the node serves, so
// two starts can never share an incarnation, even after a crash. The incarnation is the start time in
// ms, or one more than the last one if the clock is behind it: a node whose data directory was wiped
// therefore still starts above every incarnation it had, and never writes into an old counter slot.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface Identity {
  nodeId: string;
  cluster: string;
  incarnation: number;
}

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

const FORMAT = 1;

export function identityPath(dataDir: string, nodeId: string): string {
  return join(dataDir, nodeId, 'identity.json');
}

export interface BumpOptions {
  /** Wall-clock time in ms (Date.now()): the floor of a new incarnation. Default 0 (plain +1). */
  now?: number;
  /** The incarnation must exceed this too (the last one recorded by the durable store). */
  above?: number;
}

/**
 * Reads the identity under `dataDir/nodeId`, bumps the incarnation and writes it back. The new
 * incarnation is max(previous + 1, now, above + 1), so a missing file (a new or wiped node) starts at
 * the clock. A corrupt file, another node's or cluster's, or a newer format is an error that names
 * the path and what to do: never a silent fresh start.
 */
export function bumpIncarnation(dataDir: string, nodeId: string, cluster: string, opts: BumpOptions = {}): Identity {
  const dir = join(dataDir, nodeId);
  const path = identityPath(dataDir, nodeId);
  // 0700, as the store beside it (store.ts): the node's directory is private to its user.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let previous = 0;
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new IdentityError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (text !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new IdentityError(`${path} is corrupt (not JSON). Move it aside to start this node as a new incarnation; its counts are safe on the other nodes.`);
    }
    const r = raw as Partial<Identity & { format: number }>;
    if (typeof r.format !== 'number' || typeof r.incarnation !== 'number' || !Number.isSafeInteger(r.incarnation) || r.incarnation < 0)
      throw new IdentityError(`${path} is corrupt (missing format or incarnation). Move it aside to start afresh.`);
    if (r.format > FORMAT) throw new IdentityError(`${path} was written by a newer tally (format ${r.format}, this one reads ${FORMAT}). Upgrade tally or use another dataDir.`);
    if (r.nodeId !== nodeId) throw new IdentityError(`${path} belongs to node '${String(r.nodeId)}', not '${nodeId}'. Check --id and dataDir.`);
    if (r.cluster !== cluster) throw new IdentityError(`${path} belongs to cluster '${String(r.cluster)}', not '${cluster}'. Check the config's "cluster" and dataDir.`);
    previous = r.incarnation;
  }
  const floor = Math.max(previous + 1, Math.floor(opts.now ?? 0), (opts.above ?? 0) + 1);
  const identity: Identity = { nodeId, cluster, incarnation: floor };
  writeAtomic(path, JSON.stringify({ format: FORMAT, ...identity }) + '\n');
  return identity;
}

function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(join(path, '..'), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
