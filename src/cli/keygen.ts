// `tally keygen`: a new random gossip key (base64 of 32 bytes) for a keyring file: printed, or with
// --out written to a new file readable by its owner only (0600), which the node requires.

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { writePrivateFile } from '../config/secret-files.js';
import { Keyring } from '../gossip/frame-auth.js';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('a new random gossip key for auth.keyFile (one key per line; the first one seals): printed, or written to --out with mode 0600')
    .option('--out <file>', 'write a new key file (mode 0600); refuses to replace an existing one')
    .action((flags: { out?: string }) => {
      const key = Keyring.generateKey();
      if (flags.out === undefined) {
        console.log(key);
        return;
      }
      if (existsSync(flags.out)) throw new Error(`--out: ${flags.out} exists; a keyring file is edited by hand to rotate keys (docs/configuration.md), so tally keygen does not replace it`);
      writePrivateFile(flags.out, `${key}\n`);
      console.error(`wrote a new gossip key to ${flags.out} (mode 0600); give every node the same file`);
    });
}
