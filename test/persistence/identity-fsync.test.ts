// The identity's atomic write syncs what a crash needs (src/persistence/identity.ts): the temporary
// file before the rename, and the directory after it, so that the rename itself survives a power
// cut. Only a power cut would tell, so this watches the real fs calls (which still run) instead.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { bumpIncarnation, identityPath } from '../../src/persistence/identity.js';

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return { ...real, openSync: vi.fn(real.openSync), fsyncSync: vi.fn(real.fsyncSync), renameSync: vi.fn(real.renameSync) };
});

describe('identity write', () => {
  it('fsyncs the temporary file, renames it over identity.json, then fsyncs the directory', () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'tally-identity-sync-'));
    const order: string[] = [];
    const opened = new Map<number, string>();
    const realOpen = vi.mocked(fs.openSync).getMockImplementation();
    const realFsync = vi.mocked(fs.fsyncSync).getMockImplementation();
    const realRename = vi.mocked(fs.renameSync).getMockImplementation();
    if (realOpen === undefined || realFsync === undefined || realRename === undefined) throw new Error('fs is not wrapped');
    vi.mocked(fs.openSync).mockImplementation((path, flags, mode) => {
      const fd = realOpen(path, flags, mode);
      opened.set(fd, String(path));
      return fd;
    });
    vi.mocked(fs.fsyncSync).mockImplementation((fd) => {
      order.push(`fsync ${opened.get(fd)}`);
      realFsync(fd);
    });
    vi.mocked(fs.renameSync).mockImplementation((from, to) => {
      order.push(`rename ${String(from)} ${String(to)}`);
      realRename(from, to);
    });
    bumpIncarnation(dir, 'n1', 'c');
    const path = identityPath(dir, 'n1');
    const tmp = `${path}.tmp-${process.pid}`;
    expect(order).toEqual([`fsync ${tmp}`, `rename ${tmp} ${path}`, `fsync ${join(dir, 'n1')}`]);
    expect(fs.readFileSync(path, 'utf8')).toBe('{"format":1,"nodeId":"n1","cluster":"c","incarnation":1}\n');
  });
});
