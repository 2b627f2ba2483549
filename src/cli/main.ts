#!/usr/bin/env -S node --max-semi-space-size=16
// The flag is NODE_V8_FLAGS (src/node/v8-flags.ts), repeated here: a shebang cannot import it.
// The `tally` command line: one commander program; each command lives in its own file.
//
// One error style for every command (docs/configuration.md, "Errors and exit codes"): a line
// `tally: <message>` on stderr, exit code 2 for a usage error (unknown command or option, a bad
// option value: commander's own checks) and 1 for a failure while running (bad config, unreachable
// node, a cluster that did not form).

import { Command, CommanderError } from 'commander';
import { registerBackup } from './backup-command.js';
import { registerClientCommands } from './client-commands.js';
import { registerClusterUp } from './cluster-up.js';
import { EXIT_FAILURE, EXIT_USAGE, errorLine } from './errors.js';
import { registerKeygen } from './keygen.js';
import { registerNode } from './node-command.js';
import { registerPasswd } from './passwd.js';
import { registerSimulate } from './simulate.js';
import { registerVerify } from './verify.js';

const program = new Command();
// Set before the commands are added: subcommands inherit both settings from their parent.
program.configureOutput({ outputError: (str, write) => write(errorLine(str)) });
program.exitOverride();
program.name('tally').description('a peer-to-peer gossip counter cluster').version('0.1.0');
registerNode(program);
registerClusterUp(program);
registerKeygen(program);
registerBackup(program);
registerPasswd(program);
registerSimulate(program);
registerVerify(program);
registerClientCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // Commander has printed its message (through outputError) or the help/version text already.
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
    return;
  }
  process.stderr.write(errorLine(e instanceof Error ? e.message : String(e)));
  process.exitCode = EXIT_FAILURE;
});
