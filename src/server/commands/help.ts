// Redis's HELP replies (addReplyHelp): a header line, the subcommands with their descriptions, and
// HELP itself, each a simple string. tally lists only the subcommands it has.

import type { Reply } from './reply.js';

export function helpReply(command: string, lines: readonly string[]): Reply {
  const all = [`${command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`, ...lines, 'HELP', '    Prints this help.'];
  return Object.freeze({ kind: 'array', value: Object.freeze(all.map((value) => Object.freeze({ kind: 'simple', value }) as Reply)) });
}
