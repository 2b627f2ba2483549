// Logging: the one `Logger` type every module takes (a structural subset of pino's, so a pino logger,
// a test's in-memory sink and `NOOP_LOGGER` all fit), and the pino edge that makes the real one.

import pino from 'pino';

/** One log call: fields and a message, or a message alone. */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/**
 * What a module may do with a logger. Components get a child bound to their name, e.g.
 * `log.child({ component: 'resp' })`, so every line says which part of the node wrote it.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

/** A logger that drops everything: the default of every component built without one. */
export const NOOP_LOGGER: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop, child: (): Logger => NOOP_LOGGER });

/** The node's logger: pino, JSON by default, pretty on a TTY. */
export function createLogger(level: string, name: string, pretty = process.stdout.isTTY === true): Logger {
  if (pretty) {
    return pino({
      level,
      name,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, name, base: { node: name } });
}
