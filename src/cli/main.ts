#!/usr/bin/env node
// The `tally` command line: one commander program; each command lives in its own file.

import { Command } from 'commander';
import { registerClientCommands } from './client-commands.js';
import { registerClusterUp } from './cluster-up.js';
import { registerKeygen } from './keygen.js';
import { registerNode } from './node-command.js';
import { registerPasswd } from './passwd.js';
import { registerSimulate } from './simulate.js';
import { registerVerify } from './verify.js';

const program = new Command();
program.name('tally').description('a peer-to-peer gossip counter cluster').version('0.1.0');
registerNode(program);
registerClusterUp(program);
registerKeygen(program);
registerPasswd(program);
registerSimulate(program);
registerVerify(program);
registerClientCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`tally: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
