// A node's command table with no peers, for unit tests: sessions, and `run(session, ...words)`
// answering RESP's exact bytes (RESP2, or RESP3 after the session's HELLO 3).

import { Keyspace } from '../../src/keyspace/keyspace.js';
import { encodeReplyToBuffer } from '../../src/server/resp/encoder.js';
import { execute } from '../../src/server/commands/table.js';
import type { Reply } from '../../src/server/commands/reply.js';
import type { CommandResult, CommandServices, ConsistencyServices, MembershipServices, Session } from '../../src/server/commands/types.js';

export interface TestNode {
  readonly ctx: CommandServices;
  session(): Session;
  /** Runs a command; the reply's RESP bytes as latin1 text. Throws if it answers later. */
  run(s: Session, ...words: (string | Buffer)[]): string;
  /** Runs a command that may answer later. */
  runAsync(s: Session, ...words: (string | Buffer)[]): Promise<string>;
  /** The raw result. */
  result(s: Session, ...words: (string | Buffer)[]): CommandResult;
}

export function testNode(o: { now?: () => number; maxMessageBytes?: number; membership?: MembershipServices; consistency?: ConsistencyServices; counterTypeFor?: CommandServices['counterTypeFor'] } = {}): TestNode {
  const now = o.now ?? (() => 1_700_000_000_000);
  // The keyspace reads the node's clock, as a replica's does: keys expire at ctx.now().
  const keyspace = new Keyspace('n1:1', o.maxMessageBytes === undefined ? {} : { maxMessageBytes: o.maxMessageBytes });
  keyspace.setClock({ now });
  const ctx: CommandServices = {
    keyspace,
    password: null,
    counterTypeFor: o.counterTypeFor ?? (() => 'pncounter'),
    nodeId: 'n1',
    clusterName: 't',
    version: '0',
    now,
    info: () => ({ server: { redis_version: '7.2.0' }, clients: { connected_clients: 1 }, keyspace: {} }),
    configValues: () => ({ databases: '16' }),
    listClients: () => [],
    ...(o.membership === undefined ? {} : { membership: o.membership }),
    ...(o.consistency === undefined ? {} : { consistency: o.consistency }),
  };
  let id = 1;
  const bytes = (s: Session, r: Reply): string => encodeReplyToBuffer(r, s.resp ?? 2).toString('latin1');
  const args = (words: (string | Buffer)[]): Buffer[] => words.map((w) => (typeof w === 'string' ? Buffer.from(w, 'utf8') : w));
  return {
    ctx,
    session: () => ({ id: id++, db: 0, name: null, authenticated: true, protocol: 'resp', remoteAddress: '127.0.0.1:1', createdAt: 0, lastCommandAt: 0, lastCommand: '' }),
    run(s, ...words) {
      const r = execute(ctx, s, args(words));
      if (r instanceof Promise) throw new Error(`${String(words[0])} answered later`);
      return bytes(s, r);
    },
    async runAsync(s, ...words) {
      return bytes(s, await execute(ctx, s, args(words)));
    },
    result: (s, ...words) => execute(ctx, s, args(words)),
  };
}
