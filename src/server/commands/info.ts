// INFO: Redis's "# Section" / "field:value" text, from the keyspace and the sections other layers supply.

import { DATABASES } from '../../keyspace/keyspace.js';
import type { CommandServices } from './types.js';

const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'cluster', 'gossip', 'keyspace'];

export function renderInfo(ctx: CommandServices, wanted: string[]): string {
  const all = wanted.length === 0 || wanted.includes('all') || wanted.includes('everything') || wanted.includes('default');
  const sections: Record<string, Record<string, string | number>> = {
    server: {
      redis_version: '7.2.0',
      tally_version: ctx.version,
      redis_mode: 'standalone',
      tally_node_id: ctx.nodeId,
      tally_cluster: ctx.clusterName,
      process_id: process.pid,
      uptime_in_seconds: Math.floor((ctx.now() - ctx.startedAt) / 1000),
    },
    memory: {
      used_memory: process.memoryUsage().heapUsed,
      used_memory_rss: process.memoryUsage().rss,
      keyspace_bytes: ctx.keyspace.byteSize(),
    },
    ...ctx.infoSections(),
  };
  const counts = ctx.keyspace.countByDb();
  const ks: Record<string, string> = {};
  for (let db = 0; db < DATABASES; db++) if ((counts[db] ?? 0) > 0) ks[`db${db}`] = `keys=${counts[db]},expires=0,avg_ttl=0`;
  sections.keyspace = ks;
  const out: string[] = [];
  for (const name of all ? [...DEFAULT_SECTIONS, ...Object.keys(sections).filter((s) => !DEFAULT_SECTIONS.includes(s))] : wanted) {
    const sec = sections[name];
    if (sec === undefined) continue;
    out.push(`# ${name[0]?.toUpperCase()}${name.slice(1)}`);
    for (const [k, v] of Object.entries(sec)) out.push(`${k}:${v}`);
    out.push('');
  }
  return out.join('\r\n');
}
