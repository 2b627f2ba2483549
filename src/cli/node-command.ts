// `tally node`: run one node of the cluster in this process until SIGTERM or SIGINT.

import type { Command } from 'commander';
import { loadConfig, LOG_LEVELS, type ClusterConfig } from '../config/cluster-config.js';
import { startNode, type NodeOverrides, type RunningNode } from '../node/start.js';
import { createLogger } from '../util/logger.js';
import { configOption, intArg } from './args.js';
import { EXIT_FAILURE, errorLine } from './errors.js';

interface NodeFlags {
  config: string;
  id: string;
  host?: string;
  gossipPort?: number;
  respPort?: number;
  httpPort?: number;
  logLevel?: string;
  dataDir?: string;
  password?: string;
}

export function registerNode(program: Command): void {
  configOption(
    program
      .command('node')
      .description('run one tally node (gossip, Redis protocol and HTTP servers) until SIGTERM/SIGINT')
      .requiredOption('--id <id>', 'this node\'s id in the config'),
  )
    .option('--host <host>', 'override the node\'s host')
    .option('--gossip-port <port>', 'override the gossip port', intArg(0, 65535))
    .option('--resp-port <port>', 'override the Redis protocol port', intArg(0, 65535))
    .option('--http-port <port>', 'override the HTTP port', intArg(0, 65535))
    .option('--data-dir <dir>', 'override dataDir')
    .option('--password <password>', 'override auth.password')
    .option('--log-level <level>', `override logLevel (${LOG_LEVELS.join(', ')})`)
    .action(async (flags: NodeFlags) => {
      const cfg: ClusterConfig = loadConfig(flags.config);
      if (flags.logLevel !== undefined) {
        if (!(LOG_LEVELS as readonly string[]).includes(flags.logLevel)) throw new Error(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${flags.logLevel}'`);
        cfg.logLevel = flags.logLevel as ClusterConfig['logLevel'];
      }
      if (flags.dataDir !== undefined) cfg.dataDir = flags.dataDir;
      if (flags.password !== undefined) cfg.auth.password = flags.password;
      const overrides: NodeOverrides = {};
      if (flags.host !== undefined) overrides.host = flags.host;
      if (flags.gossipPort !== undefined) overrides.gossipPort = flags.gossipPort;
      if (flags.respPort !== undefined) overrides.respPort = flags.respPort;
      if (flags.httpPort !== undefined) overrides.httpPort = flags.httpPort;
      const log = createLogger(cfg.logLevel, flags.id);
      let node: RunningNode;
      try {
        node = await startNode(cfg, flags.id, log, overrides);
      } catch (e) {
        // A node runs whole or not at all: a listener that failed to bind (or anything else at
        // start) leaves the others bound and timers running, so exit here rather than return.
        const message = e instanceof Error ? e.message : String(e);
        log.error({ err: message }, 'node failed to start');
        process.stderr.write(errorLine(message), () => process.exit(EXIT_FAILURE));
        return;
      }
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping');
        node.stop().then(
          () => process.exit(0),
          (e: unknown) => {
            log.error({ err: e }, 'error while stopping');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
