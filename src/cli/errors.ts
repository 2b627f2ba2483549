// The command line's one error style: `tally: <message>` on stderr, and the exit codes every
// command uses (listed in docs/configuration.md, "Errors and exit codes").

/** A command failed while running: bad config, a node that cannot be reached, a cluster that did not form. */
export const EXIT_FAILURE = 1;
/** The command line itself is wrong: unknown command or option, a missing or malformed option value. */
export const EXIT_USAGE = 2;

/** `tally: <message>` with one trailing newline; commander's own `error: ` prefix is replaced. */
export function errorLine(message: string): string {
  const text = message.replace(/^error: /, '').replace(/\s+$/, '');
  return `tally: ${text}\n`;
}
