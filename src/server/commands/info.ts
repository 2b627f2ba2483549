// INFO: Redis's "# Section" / "field:value" text of the sections the node supplies (src/node/snapshot.ts),
// plus the ones the command layer knows itself: replication (tally has no Redis replicas: peers gossip),
// blocked_clients in clients, and commandstats.

import { stateOf } from './state.js';
import type { CommandServices } from './types.js';

const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cluster', 'gossip', 'keyspace'];
/** Sections only `all` and `everything` (or their own name) show, as in Redis. */
const NOT_DEFAULT = new Set(['commandstats']);

function commandstats(ctx: CommandServices): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of ctx.commandStats?.() ?? []) {
    if (c.calls === 0) continue;
    const usec = Math.round(c.usec);
    out[`cmdstat_${c.name}`] = `calls=${c.calls},usec=${usec},usec_per_call=${(usec / c.calls).toFixed(2)},rejected_calls=0,failed_calls=${c.failed}`;
  }
  return out;
}

export function renderInfo(ctx: CommandServices, wanted: string[]): string {
  const everything = wanted.includes('all') || wanted.includes('everything');
  const all = wanted.length === 0 || everything || wanted.includes('default');
  const sections: Record<string, Record<string, string | number>> = { ...ctx.info() };
  // redis-cli --stat reads blocked_clients: the sessions waiting in WAIT or a majority read.
  sections.clients = { ...(sections.clients ?? {}), blocked_clients: stateOf(ctx).blocked };
  sections.replication = { role: 'master', connected_slaves: 0, master_failover_state: 'no-failover', master_repl_offset: 0, tally_replication: 'gossip (see # Gossip and # Cluster)' };
  sections.commandstats = commandstats(ctx);
  const names = all
    ? [...DEFAULT_SECTIONS, ...Object.keys(sections).filter((s) => !DEFAULT_SECTIONS.includes(s) && (everything || !NOT_DEFAULT.has(s)))]
    : wanted;
  const out: string[] = [];
  for (const name of names) {
    const sec = sections[name];
    if (sec === undefined) continue;
    out.push(`# ${name[0]?.toUpperCase()}${name.slice(1)}`);
    for (const [k, v] of Object.entries(sec)) out.push(`${k}:${v}`);
    out.push('');
  }
  return out.join('\r\n');
}
