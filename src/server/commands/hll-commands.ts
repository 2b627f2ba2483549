// HyperLogLog commands: PFADD, PFCOUNT (several keys: the union), PFMERGE.

import { fullKey } from '../../keyspace/keyspace.js';
import { ONE, ZERO } from './reply.js';
import { ERR_KEY_TOO_LONG, ERR_WRONGTYPE, MAX_KEY_BYTES } from './parse.js';
import type { CommandSpec } from './types.js';

export const hllCommands: CommandSpec[] = [
  {
    name: 'pfadd',
    arity: -2,
    flags: ['write', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      if ((a[1] as Buffer).length > MAX_KEY_BYTES) return ERR_KEY_TOO_LONG;
      const key = fullKey(s.db, a[1] as Buffer);
      const r = ctx.keyspace.pfadd(key, a.slice(2));
      if (!r.ok) return ERR_WRONGTYPE;
      return r.value ? ONE : ZERO;
    },
  },
  {
    name: 'pfcount',
    arity: -2,
    flags: ['readonly'],
    keys: [1, -1, 1],
    run: (ctx, s, a) => {
      const keys: string[] = [];
      for (let i = 1; i < a.length; i++) keys.push(fullKey(s.db, a[i] as Buffer));
      const r = ctx.keyspace.pfcount(keys);
      return r.ok ? { kind: 'int', value: r.value } : ERR_WRONGTYPE;
    },
  },
  {
    name: 'pfmerge',
    arity: -2,
    flags: ['write'],
    keys: [1, -1, 1],
    run: (ctx, s, a) => {
      if ((a[1] as Buffer).length > MAX_KEY_BYTES) return ERR_KEY_TOO_LONG;
      const dest = fullKey(s.db, a[1] as Buffer);
      const sources: string[] = [];
      for (let i = 2; i < a.length; i++) sources.push(fullKey(s.db, a[i] as Buffer));
      const r = ctx.keyspace.pfmerge(dest, sources);
      if (!r.ok) return ERR_WRONGTYPE;
      return { kind: 'simple', value: 'OK' };
    },
  },
];
