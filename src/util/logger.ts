// Logging edge: pino, JSON by default, pretty on a TTY.

import pino, { type Logger } from 'pino';

export type { Logger };

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
