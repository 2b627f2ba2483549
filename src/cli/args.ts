// Argument parsers for commander options: each names the accepted range in its error.

import { InvalidArgumentError, Option, type Command } from 'commander';

export function intArg(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got '${v}'`);
    return n;
  };
}

export function floatArg(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got '${v}'`);
    return n;
  };
}

/** The config file a command reads when neither `--config` nor TALLY_CONFIG names one (in the working directory). */
export const DEFAULT_CONFIG_FILE = 'cluster.config.json';

/** `--config <file>`, else the TALLY_CONFIG environment variable, else cluster.config.json: every command that reads a config. */
export function configOption(cmd: Command, what = 'cluster config file'): Command {
  return cmd.addOption(new Option('--config <file>', `${what} (or set TALLY_CONFIG)`).env('TALLY_CONFIG').default(DEFAULT_CONFIG_FILE));
}

/** Whether the config file was named (by --config or TALLY_CONFIG) rather than left at its default. */
export function configNamed(cmd: Command): boolean {
  const src = cmd.getOptionValueSource('config');
  return src !== undefined && src !== 'default';
}
