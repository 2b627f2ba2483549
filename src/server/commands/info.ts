// INFO: Redis's "# Section" / "field:value" text of the sections the node supplies (src/node/snapshot.ts).

import type { CommandServices } from './types.js';

const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'cluster', 'gossip', 'keyspace'];

export function renderInfo(ctx: CommandServices, wanted: string[]): string {
  const all = wanted.length === 0 || wanted.includes('all') || wanted.includes('everything') || wanted.includes('default');
  const sections = ctx.info();
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
