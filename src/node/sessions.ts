// Client sessions of every protocol (RESP and the WebSocket API) in one registry: CLIENT LIST, INFO
// clients, /status and /metrics all count from here.

import { PERM_ALL } from '../server/auth/permissions.js';
import { DEFAULT_USER } from '../server/auth/users.js';
import type { Session } from '../server/commands/types.js';
import type { Clock } from '../util/clock.js';

export type Protocol = Session['protocol'];

export class SessionRegistry {
  private readonly sessions = new Map<number, Session>();
  private nextId = 1;

  constructor(
    private readonly clock: Clock,
    /**
     * Whether a new session starts authenticated as `default` with every permission: the node has no
     * password and no users. Otherwise it starts as nobody, with no permission, until AUTH.
     */
    private readonly authenticatedAtStart: boolean,
  ) {}

  /** A new session for a connection that just opened; `ip` is the client's address (failed AUTH are counted by it). */
  open(protocol: Protocol, remoteAddress: string, ip: string = remoteAddress): Session {
    const now = this.clock.now();
    const open = this.authenticatedAtStart;
    const s: Session = {
      id: this.nextId++,
      db: 0,
      name: null,
      authenticated: open,
      user: open ? DEFAULT_USER : null,
      perms: open ? PERM_ALL : 0,
      protocol,
      remoteAddress,
      ip,
      createdAt: now,
      lastCommandAt: now,
      lastCommand: '',
    };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The connection of `s` is gone. */
  close(s: Session): void {
    this.sessions.delete(s.id);
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  /** Open sessions by protocol. */
  count(): { resp: number; ws: number; total: number } {
    let ws = 0;
    for (const s of this.sessions.values()) if (s.protocol === 'ws') ws++;
    return { resp: this.sessions.size - ws, ws, total: this.sessions.size };
  }
}
