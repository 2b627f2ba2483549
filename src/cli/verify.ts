// `tally verify`: proof under faults. Runs a real cluster under a seeded nemesis and checks that no
// acknowledged write was lost (src/verify/, docs/testing.md). Exits 1 on any loss or problem.

import type { Command } from 'commander';
import { formatReport } from '../verify/report.js';
import { defaultPersistence, isDurable, runVerify, VERIFY_DEFAULTS } from '../verify/run.js';
import { DEFAULT_FAULTS, FAULTS, parseFaults } from '../verify/schedule.js';
import { intArg } from './args.js';

interface VerifyFlags {
  nodes: number;
  duration: number;
  seed?: number;
  nemesis?: string;
  persistence?: string;
  clients: number;
  rate: number;
  timeout: number;
  convergeTimeout: number;
  maxmemoryLast?: number;
  keep?: boolean;
  json?: boolean;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('run a cluster of real nodes under a seeded fault schedule and check that no acknowledged write is lost')
    .option('--nodes <n>', 'node processes', intArg(1, 50), VERIFY_DEFAULTS.nodes)
    .option('--duration <s>', 'seconds of workload and faults', intArg(1, 86_400), VERIFY_DEFAULTS.durationS)
    .option('--seed <n>', 'seed of the fault schedule and workload (default: random, printed)', intArg(0, 2 ** 31 - 1))
    .option('--nemesis <faults>', `comma-separated faults: ${FAULTS.join(', ')}, or none (default: all of them)`)
    .option('--persistence <mode>', 'persistence written into the generated config (default: always if this build accepts it, else none)')
    .option('--clients <n>', 'client connections per node', intArg(1, 64), VERIFY_DEFAULTS.clientsPerNode)
    .option('--rate <ops>', 'target client operations per second, all clients together', intArg(1, 1_000_000), VERIFY_DEFAULTS.rate)
    .option('--timeout <ms>', 'per-request deadline; past it an operation is in doubt', intArg(10, 60_000), VERIFY_DEFAULTS.timeoutMs)
    .option('--converge-timeout <ms>', 'how long to wait for every node to agree after the heal', intArg(1_000, 600_000), VERIFY_DEFAULTS.convergeTimeoutMs)
    .option('--maxmemory-last <bytes>', "the last node's maxmemory (1: it refuses every write that may add memory with OOM, and must still merge the others' writes)", intArg(0, Number.MAX_SAFE_INTEGER))
    .option('--keep', 'keep the run directory (config, node logs, history.jsonl) even on success')
    .option('--json', 'print the result as one JSON line after the report')
    .action(async (flags: VerifyFlags) => {
      const persistence = flags.persistence ?? defaultPersistence();
      const nemesis = flags.nemesis === undefined ? [...DEFAULT_FAULTS] : parseFaults(flags.nemesis);
      const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
      console.log(`tally verify: seed ${seed}, persistence ${persistence}${isDurable(persistence) ? '' : ' (not durable: kill -9 may lose acknowledged writes not yet gossiped; the checker allows exactly those)'}`);
      const r = await runVerify({
        nodes: flags.nodes,
        durationS: flags.duration,
        seed,
        nemesis,
        persistence,
        clientsPerNode: flags.clients,
        rate: flags.rate,
        timeoutMs: flags.timeout,
        convergeTimeoutMs: flags.convergeTimeout,
        ...(flags.maxmemoryLast === undefined ? {} : { maxmemoryLast: flags.maxmemoryLast }),
        keep: flags.keep === true,
        log: (l) => console.log(l),
      });
      console.log(formatReport(r));
      if (flags.json === true) console.log(JSON.stringify(r));
      if (!r.ok) process.exitCode = 1;
    });
}
