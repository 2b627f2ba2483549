// The gossip keyring file named by the config: one base64 32-byte key per line, '#' comments.

import { readFileSync } from 'node:fs';
import type { ClusterConfig } from '../config/cluster-config.js';
import { Keyring } from './frame-auth.js';

/** Reads the gossip keyring named by the config, or null when auth is off. Throws with the file and what to do. */
export function loadKeyring(cfg: ClusterConfig): Keyring | null {
  const file = cfg.auth.keyFile;
  if (file === null) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `auth.keyFile: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); create one with \`tally keygen --out ${file}\` and give every node the same file`,
    );
  }
  const keys = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  try {
    return Keyring.fromBase64(keys, cfg.cluster);
  } catch (e) {
    throw new Error(`auth.keyFile ${file}: ${(e as Error).message}`);
  }
}
