// `tally keygen`: print a new random gossip key (base64 of 32 bytes) for a keyring file.

import type { Command } from 'commander';
import { Keyring } from '../gossip/frame-auth.js';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('print a new random gossip key for auth.keyFile (one key per line; the first one seals)')
    .action(() => {
      console.log(Keyring.generateKey());
    });
}
