// The node's durable identity (src/persistence/identity.ts): the incarnation is
// max(previous + 1, floor(now), above + 1), the file is what the next start reads, and every file
// it cannot trust is refused with an IdentityError that names the path and what to do.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bumpIncarnation, IdentityError, identityPath } from '../../src/persistence/identity.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tally-identity-'));
}

/** A data dir whose identity file for n1 holds `content`. */
function withFile(content: string): string {
  const dir = tmp();
  mkdirSync(join(dir, 'n1'));
  writeFileSync(identityPath(dir, 'n1'), content);
  return dir;
}

function refusal(dir: string, cluster = 'c'): string {
  try {
    bumpIncarnation(dir, 'n1', cluster);
  } catch (e) {
    expect(e).toBeInstanceOf(IdentityError);
    expect((e as Error).name).toBe('IdentityError');
    return (e as Error).message;
  }
  throw new Error('bumpIncarnation accepted the file');
}

describe('identity', () => {
  it('starts at 1 without a clock, adds one per start, and writes what the next start reads', () => {
    const dir = tmp();
    const path = identityPath(dir, 'n1');
    expect(path).toBe(join(dir, 'n1', 'identity.json'));
    expect(bumpIncarnation(dir, 'n1', 'c')).toEqual({ nodeId: 'n1', cluster: 'c', incarnation: 1 });
    expect(readFileSync(path, 'utf8')).toBe('{"format":1,"nodeId":"n1","cluster":"c","incarnation":1}\n');
    expect(bumpIncarnation(dir, 'n1', 'c').incarnation).toBe(2);
    expect(bumpIncarnation(dir, 'n1', 'c', {}).incarnation).toBe(3);
    // Only the identity file is left: the temporary file was renamed over it.
    expect(readdirSync(join(dir, 'n1'))).toEqual(['identity.json']);
  });

  it('takes the largest of previous + 1, the whole ms of the clock, and above + 1', () => {
    const dir = tmp();
    expect(bumpIncarnation(dir, 'n1', 'c', { now: 100.9 }).incarnation).toBe(100);
    expect(bumpIncarnation(dir, 'n1', 'c', { now: 100 }).incarnation).toBe(101);
    expect(bumpIncarnation(dir, 'n1', 'c', { now: 50, above: 200 }).incarnation).toBe(201);
    expect(bumpIncarnation(dir, 'n1', 'c', { above: 201 }).incarnation).toBe(202);
    expect(bumpIncarnation(dir, 'n1', 'c', { now: 300, above: 299 }).incarnation).toBe(300);
    // Each node of a data dir has its own file.
    expect(bumpIncarnation(dir, 'n2', 'c').incarnation).toBe(1);
    expect(existsSync(identityPath(dir, 'n2'))).toBe(true);
  });

  it('accepts incarnation 0 and format 1 (the current one)', () => {
    const dir = withFile('{"format":1,"nodeId":"n1","cluster":"c","incarnation":0}');
    expect(bumpIncarnation(dir, 'n1', 'c').incarnation).toBe(1);
  });

  it('refuses a file that is not JSON, saying to move it aside', () => {
    const dir = withFile('{"format":1,');
    expect(refusal(dir)).toBe(`${identityPath(dir, 'n1')} is corrupt (not JSON). Move it aside to start this node as a new incarnation; its counts are safe on the other nodes.`);
  });

  it('refuses a missing format, or an incarnation that is missing, not a safe integer, or negative', () => {
    for (const body of [
      '{"nodeId":"n1","cluster":"c","incarnation":3}',
      '{"format":"1","nodeId":"n1","cluster":"c","incarnation":3}',
      '{"format":1,"nodeId":"n1","cluster":"c"}',
      '{"format":1,"nodeId":"n1","cluster":"c","incarnation":"3"}',
      '{"format":1,"nodeId":"n1","cluster":"c","incarnation":1.5}',
      '{"format":1,"nodeId":"n1","cluster":"c","incarnation":9007199254740992}',
      '{"format":1,"nodeId":"n1","cluster":"c","incarnation":-1}',
    ]) {
      const dir = withFile(body);
      expect(refusal(dir), body).toBe(`${identityPath(dir, 'n1')} is corrupt (missing format or incarnation). Move it aside to start afresh.`);
    }
  });

  it('refuses a newer format, saying to upgrade', () => {
    const dir = withFile('{"format":2,"nodeId":"n1","cluster":"c","incarnation":3}');
    expect(refusal(dir)).toBe(`${identityPath(dir, 'n1')} was written by a newer tally (format 2, this one reads 1). Upgrade tally or use another dataDir.`);
  });

  it("refuses another node's or another cluster's file, and leaves it as it was", () => {
    const other = '{"format":1,"nodeId":"n9","cluster":"c","incarnation":3}';
    const dir = withFile(other);
    expect(refusal(dir)).toBe(`${identityPath(dir, 'n1')} belongs to node 'n9', not 'n1'. Check --id and dataDir.`);
    expect(readFileSync(identityPath(dir, 'n1'), 'utf8')).toBe(other);
    const dir2 = withFile('{"format":1,"nodeId":"n1","cluster":"prod","incarnation":3}');
    expect(refusal(dir2, 'staging')).toBe(`${identityPath(dir2, 'n1')} belongs to cluster 'prod', not 'staging'. Check the config's "cluster" and dataDir.`);
  });

  it('refuses a file it cannot read (a directory in its place), naming the path', () => {
    const dir = tmp();
    mkdirSync(identityPath(dir, 'n1'), { recursive: true });
    expect(refusal(dir)).toMatch(new RegExp(`^cannot read ${identityPath(dir, 'n1')}: EISDIR`));
  });
  it.skipIf(platform() !== 'linux')('closes every file it opens (the file and its directory, for the fsyncs)', () => {
    const dir = tmp();
    const open = (): number => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 50; i++) bumpIncarnation(dir, 'n1', 'c');
    // Two descriptors per start would leak 100; allow for the rest of the process.
    expect(open() - before).toBeLessThan(20);
  });
});
