// Finds every distinct way tally's replies differ from Redis's, not only the first (the test stops at
// one): runs many random sequences, groups the failures by signature, and cuts one sequence of each
// group down to a minimal reproduction by removing commands while it still fails the same way.
//
//   npm run build && node dist/test/oracle/explore.js [--runs 2000] [--seed 1] [--length 30]

import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { Cmd, k, sequenceArb } from './commands.js';
import type { Difference } from './differences.js';
import { type Outcome, describeOutcome, runSequence, signature } from './differential.js';
import { startOracleServers } from './oracle-servers.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    length: { type: 'string', default: '30' },
    'see-past': { type: 'string', default: '' },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
const maxLength = Number(values.length);

/**
 * Bugs already reported, which `--see-past id,id` accepts (exploration only, never in the test) so
 * that the mismatches they would hide show up. Each row matches only its own bug; delete it once
 * the bug is fixed.
 */
const KNOWN_BUGS: Difference[] = [
  {
    id: 'pf-wrongtype-text',
    case: 'PFADD, PFCOUNT, PFMERGE on a counter key',
    example: [new Cmd(['INCR', k('a')]), new Cmd(['PFADD', k('a'), 'x0'])],
    redis: '`WRONGTYPE Key is not a valid HyperLogLog string value.`',
    tally: '`WRONGTYPE Operation against a key holding the wrong kind of value`',
    why: 'bug: Redis has its own WRONGTYPE text for PF* on a non-HLL string',
    matches: (s) =>
      ['pfadd', 'pfcount', 'pfmerge'].includes((s.words[0] ?? '').toLowerCase()) &&
      s.redis.toString('latin1') === '-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n' &&
      s.tally.toString('latin1') === '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n',
  },
  {
    id: 'unknown-command-text',
    case: 'an unknown command',
    example: [new Cmd(['NOSUCH', '1', '2', '3', '4', '5', '6'])],
    redis: '`ERR unknown command ...`',
    tally: 'another `ERR unknown command ...`',
    why: 'bug: the arguments shown are cut differently, and non-ASCII bytes are re-encoded',
    matches: (s) => s.redis.toString('latin1').startsWith('-ERR unknown command ') && s.tally.toString('latin1').startsWith('-ERR unknown command '),
  },
  {
    id: 'auth-text',
    case: 'AUTH with a username, or with too many words, on a server without a password',
    example: [new Cmd(['AUTH', 'default', 'secret'])],
    redis: '`OK` (default), `WRONGPASS ...` (another user), `ERR syntax error` (4+ words)',
    tally: '`ERR AUTH <password> called without any password configured ...`, or the arity error',
    why: 'bug',
    matches: (s) => (s.words[0] ?? '').toLowerCase() === 'auth' && s.words.length >= 3,
  },
  {
    id: 'subcommand-case',
    case: 'an unknown subcommand of CLIENT, CONFIG or COMMAND',
    example: [new Cmd(['CLIENT', 'FOO'])],
    redis: "`ERR unknown subcommand 'FOO'. ...` (as sent)",
    tally: "`ERR unknown subcommand 'foo'. ...` (lower-cased)",
    why: 'bug',
    matches: (s) => /^-ERR unknown subcommand /.test(s.redis.toString('latin1')) && s.redis.toString('latin1').toLowerCase() === s.tally.toString('latin1').toLowerCase(),
  },
  {
    id: 'client-name-chars',
    case: 'CLIENT SETNAME with a byte outside ! .. ~ that is not whitespace',
    example: [new Cmd(['CLIENT', 'SETNAME', 'a\u00e9'])],
    redis: '`ERR Client names cannot contain spaces, newlines or special characters.`',
    tally: '`OK`',
    why: 'bug',
    matches: (s) => (s.words[0] ?? '').toLowerCase() === 'client' && ['setname', 'getname'].includes((s.words[1] ?? '').toLowerCase()),
  },
  {
    id: 'config-get-name',
    case: 'CONFIG GET of an exact parameter name in another case',
    example: [new Cmd(['CONFIG', 'GET', 'DATABASES'])],
    redis: 'the name as asked (`DATABASES`)',
    tally: 'the name in lower case (`databases`)',
    why: 'bug',
    matches: (s) => (s.words[0] ?? '').toLowerCase() === 'config' && s.redis.toString('latin1').toLowerCase() === s.tally.toString('latin1').toLowerCase(),
  },
];
const alsoAccept = KNOWN_BUGS.filter((b) => values['see-past'].split(',').includes(b.id));

const servers = await startOracleServers();
let n = 0;
const run = (cmds: readonly Cmd[]): Promise<[Outcome, string]> => {
  const prefix = `e${n++}:`;
  return runSequence(servers.ports, cmds, prefix, { alsoAccept }).then((o) => [o, prefix]);
};

try {
  console.log(`redis-server ${servers.redisVersion}; ${runs} sequences of up to ${maxLength} commands, seed ${seed}`);
  const groups = new Map<string, { count: number; cmds: Cmd[] }>();
  const t0 = Date.now();
  const accepted = new Map<string, number>();
  let steps = 0;
  for (const cmds of fc.sample(sequenceArb({ tallyCommands: servers.tallyCommands, maxLength }), { numRuns: runs, seed })) {
    const [o] = await run(cmds);
    steps += o.records.length;
    for (const r of o.records) if (r.accepted !== undefined) accepted.set(r.accepted.id, (accepted.get(r.accepted.id) ?? 0) + 1);
    const sig = signature(o);
    if (sig === null || o.ok) continue;
    // Only the prefix up to the failing step matters.
    const upTo = cmds.slice(0, o.records.length);
    const g = groups.get(sig);
    if (g === undefined) groups.set(sig, { count: 1, cmds: upTo });
    else {
      g.count++;
      if (upTo.length < g.cmds.length) g.cmds = upTo;
    }
  }
  console.log(`${runs} sequences (${steps} commands compared) in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${groups.size} distinct mismatches`);
  console.log(`intended differences seen: ${[...accepted].map(([id, count]) => `${id} ${count}`).join(', ') || 'none'}\n`);
  for (const [sig, g] of [...groups].sort((a, b) => b[1].count - a[1].count)) {
    // Greedy minimisation: drop any command whose removal keeps the same failure.
    let cmds = g.cmds;
    for (let changed = true; changed; ) {
      changed = false;
      for (let i = cmds.length - 1; i >= 0; i--) {
        if (i >= cmds.length) continue; // the last cut also dropped what followed the failure
        const shorter = [...cmds.slice(0, i), ...cmds.slice(i + 1)];
        if (shorter.length === 0) continue;
        const [o] = await run(shorter);
        if (signature(o) === sig) {
          cmds = shorter.slice(0, o.records.length);
          changed = true;
        }
      }
    }
    const [o, prefix] = await run(cmds);
    console.log(`== ${g.count}x  ${sig}\n${describeOutcome(o, prefix)}\n`);
  }
} finally {
  await servers.stop();
}
