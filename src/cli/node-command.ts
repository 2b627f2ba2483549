// `tally node`: run one node of the cluster in this process until SIGTERM or SIGINT; SIGHUP reloads
// the TLS certificate, key and CA.

import type { Command } from 'commander';
import { loadConfig, LOG_LEVELS, MAXMEMORY_FORMS, memorySize, type ClusterConfig } from '../config/cluster-config.js';
import { assertPrivateFile, exposedMode } from '../config/secret-files.js';
import { startNode, type NodeOverrides, type RunningNode } from '../node/start.js';
import { createLogger } from '../util/logger.js';
import { configOption, intArg } from './args.js';
import { EXIT_FAILURE, errorLine } from './errors.js';

interface NodeFlags {
  config: string;
  id: string;
  host?: string;
  bindHost?: string;
  gossipPort?: number;
  respPort?: number;
  tlsPort?: number;
  httpPort?: number;
  logLevel?: string;
  dataDir?: string;
  password?: string;
  protectedMode?: string;
  maxmemory?: string;
}

export function registerNode(program: Command): void {
  configOption(
    program
      .command('node')
      .description('run one tally node (gossip, Redis protocol and HTTP servers) until SIGTERM/SIGINT; SIGHUP reloads TLS certificates')
      .requiredOption('--id <id>', 'this node\'s id in the config'),
  )
    .option('--host <host>', 'override the node\'s host (the address peers dial; also the bind address unless bindHost is set)')
    .option('--bind-host <host>', 'override the node\'s bindHost (the address its listeners bind to, e.g. 0.0.0.0)')
    .option('--gossip-port <port>', 'override the gossip port', intArg(0, 65535))
    .option('--resp-port <port>', 'override the Redis protocol port', intArg(0, 65535))
    .option('--tls-port <port>', 'override the Redis-over-TLS port (needs the config\'s tls section)', intArg(0, 65535))
    .option('--http-port <port>', 'override the HTTP port', intArg(0, 65535))
    .option('--data-dir <dir>', 'override dataDir')
    .option('--password <password>', 'override auth.password (visible to every local user in the process list: prefer the config file, mode 0600)')
    .option('--protected-mode <yes|no>', 'override protectedMode')
    .option('--maxmemory <size>', 'override this node\'s maxmemory: bytes (0: no limit), a size such as 512mb or 2gb, or auto')
    .option('--log-level <level>', `override logLevel (${LOG_LEVELS.join(', ')})`)
    .action(async (flags: NodeFlags) => {
      const cfg: ClusterConfig = loadConfig(flags.config);
      // A config file that holds a plain password is a secret file: refused if others may read it.
      if (cfg.auth.password !== null) assertPrivateFile(flags.config, 'config file', 'auth.password');
      if (flags.logLevel !== undefined) {
        if (!(LOG_LEVELS as readonly string[]).includes(flags.logLevel)) throw new Error(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${flags.logLevel}'`);
        cfg.logLevel = flags.logLevel as ClusterConfig['logLevel'];
      }
      if (flags.protectedMode !== undefined) {
        if (flags.protectedMode !== 'yes' && flags.protectedMode !== 'no') throw new Error(`--protected-mode: expected yes or no, got '${flags.protectedMode}'`);
        cfg.protectedMode = flags.protectedMode === 'yes';
      }
      if (flags.dataDir !== undefined) cfg.dataDir = flags.dataDir;
      if (flags.password !== undefined) cfg.auth.password = flags.password;
      if (cfg.auth.password !== null && cfg.auth.users.some((u) => u.name === 'default')) {
        throw new Error("--password and a user named 'default' in auth.users both set the default user's password; keep one");
      }
      const overrides: NodeOverrides = {};
      if (flags.host !== undefined) overrides.host = flags.host;
      if (flags.bindHost !== undefined) overrides.bindHost = flags.bindHost;
      if (flags.gossipPort !== undefined) overrides.gossipPort = flags.gossipPort;
      if (flags.respPort !== undefined) overrides.respPort = flags.respPort;
      if (flags.tlsPort !== undefined) {
        if (cfg.tls === null) throw new Error('--tls-port: needs the "tls" section in the config (certFile, keyFile)');
        overrides.tlsPort = flags.tlsPort;
      }
      if (flags.httpPort !== undefined) overrides.httpPort = flags.httpPort;
      if (flags.maxmemory !== undefined) {
        const size = memorySize(flags.maxmemory);
        if (size === null) throw new Error(`--maxmemory: expected ${MAXMEMORY_FORMS}, got '${flags.maxmemory}'`);
        overrides.maxmemory = size;
      }
      const log = createLogger(cfg.logLevel, flags.id);
      if (flags.password !== undefined) log.warn('--password is visible to every user of this machine in the process list; put auth.password in the config file (mode 0600), or users with hashes');
      if (cfg.auth.users.length > 0 && exposedMode(flags.config) !== null) {
        log.warn({ config: flags.config }, 'the config file holds password hashes and other users of this machine can read it: a hash lets them guess passwords offline; chmod 600 it');
      }
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
      const stop = (signal: string, code = 0): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping');
        node.stop().then(
          () => process.exit(code),
          (e: unknown) => {
            log.error({ err: e }, 'error while stopping');
            process.exit(1);
          },
        );
      };
      // No longer a member: after `tally leave` the process is done (exit 0); removed by an operator,
      // it must not carry on under that id (exit 1, so a supervisor's log shows why).
      void node.departed.then((why) => stop(why === 'left' ? 'left the cluster' : 'removed from the cluster', why === 'left' ? 0 : EXIT_FAILURE));
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => {
        try {
          node.reloadTls();
        } catch (e) {
          log.error({ err: (e as Error).message }, 'TLS reload failed; the node keeps its current certificate');
        }
      });
    });
}
