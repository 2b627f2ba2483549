// HyperLogLog commands: PFADD, PFCOUNT (several keys: the union), PFMERGE.

import * as errors from '../../errors.js';
import { fullKey } from '../../keyspace/keyspace.js';
import type { KeyspaceError } from '../../keyspace/types.js';
import { ONE, ZERO, reply, type Reply } from './reply.js';
import { ERR_KEY_TOO_LONG, MAX_KEY_BYTES } from './parse.js';
import type { CommandSpec } from './types.js';

const ERR_NOT_AN_HLL: Reply = Object.freeze(reply.error(errors.NOT_AN_HLL));

/**
 * The reply to a keyspace error of a PF command: a key of another type gets Redis's PF text (every
 * PF command, for the key it names first, source or destination), anything else its own message.
 */
function hllError(e: KeyspaceError): Reply {
  return e.code === 'WRONGTYPE' ? ERR_NOT_AN_HLL : reply.error(e.message);
}

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
      if (!r.ok) return hllError(r.error);
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
      return r.ok ? { kind: 'int', value: r.value } : hllError(r.error);
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
      if (!r.ok) return hllError(r.error);
      return { kind: 'simple', value: 'OK' };
    },
  },
];
