// Secret files: written owner-only, replacing (not writing through) a looser older file; refused when
// group or others have any access, with a message that says how to fix it and shows no content.

import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertPrivateFile, exposedMode, writePrivateFile } from '../../src/config/secret-files.js';

const dir = mkdtempSync(join(tmpdir(), 'tally-secret-'));
const mode = (f: string): number => statSync(f).mode & 0o777;

describe('secret files', () => {
  it('writePrivateFile writes 0600, also over an existing 0644 file', () => {
    const f = join(dir, 'a.json');
    writeFileSync(f, 'old', { mode: 0o644 });
    chmodSync(f, 0o644);
    writePrivateFile(f, '{"auth":{"password":"p"}}');
    expect(mode(f)).toBe(0o600);
    expect(readFileSync(f, 'utf8')).toBe('{"auth":{"password":"p"}}');
    writePrivateFile(join(dir, 'b.key'), Buffer.from('k\n'));
    expect(mode(join(dir, 'b.key'))).toBe(0o600);
  });

  it('assertPrivateFile accepts 0600 and 0400, refuses any group or other access', () => {
    const f = join(dir, 'k');
    writeFileSync(f, 'SECRET-CONTENT');
    for (const ok of [0o600, 0o400, 0o700]) {
      chmodSync(f, ok);
      expect(() => assertPrivateFile(f, 'auth.keyFile', 'the gossip key')).not.toThrow();
      expect(exposedMode(f)).toBeNull();
    }
    for (const bad of [0o644, 0o640, 0o604, 0o620, 0o601]) {
      chmodSync(f, bad);
      let msg = '';
      try {
        assertPrivateFile(f, 'auth.keyFile', 'the gossip key');
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toBe(`auth.keyFile: ${f} holds the gossip key and its permissions 0${bad.toString(8)} let other users of this machine access it; run \`chmod 600 ${f}\` (tally refuses such a file, as ssh refuses a private key that others can read)`);
    }
    expect(() => assertPrivateFile(join(dir, 'missing'), 'tls.keyFile', 'x')).toThrow(/^tls\.keyFile: cannot read .*missing \(ENOENT\)$/);
  });
});
