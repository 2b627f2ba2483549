// Files that hold secrets (the gossip key file, the TLS private key, a config with auth.password, the
// config `tally cluster up` writes): written owner-only (0600), and refused when group or others have
// any access, as ssh refuses a private key that others can read. docs/security.md ("Secrets on disk").

import { chmodSync, closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The mode bits that must be clear on a secret file: any access by group or others. */
export const SECRET_MODE_MASK = 0o077;

/** The permission bits of `file` when group or others have access to it, else null (also on Windows). */
export function exposedMode(file: string): number | null {
  if (process.platform === 'win32') return null;
  const mode = statSync(file).mode & 0o777;
  return (mode & SECRET_MODE_MASK) === 0 ? null : mode;
}

/**
 * Throws when `file` (what `field` names) may be read or written by other users. The message says
 * how to fix it; it never shows the file's content.
 */
export function assertPrivateFile(file: string, field: string, holds: string): void {
  let mode: number | null;
  try {
    mode = exposedMode(file);
  } catch (e) {
    throw new Error(`${field}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (mode === null) return;
  throw new Error(
    `${field}: ${file} holds ${holds} and its permissions ${mode.toString(8).padStart(4, '0')} let other users of this machine access it; ` +
      `run \`chmod 600 ${file}\` (tally refuses such a file, as ssh refuses a private key that others can read)`,
  );
}

/**
 * Writes `data` to `path` readable and writable by its owner only, atomically: a temporary file in the
 * same directory created with mode 0600, synced, then renamed over `path`. An existing file of looser
 * mode is replaced, never written through (writeFileSync's `mode` applies only to new files).
 */
export function writePrivateFile(path: string, data: string | Buffer): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  chmodSync(tmp, 0o600); // in case the umask or an old file of that name left other bits
  renameSync(tmp, path);
}
