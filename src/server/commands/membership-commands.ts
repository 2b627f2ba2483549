// Membership commands for operators: TALLY.LEAVE (this node leaves the cluster for good, after
// handing off its state) and TALLY.REMOVE (remove a dead member for good). Admin only.
// docs/operations.md, "Adding and removing nodes"; the rule behind them: docs/consistency.md.

import * as errors from '../../errors.js';
import { OK, reply, type Reply } from './reply.js';
import { ERR_SYNTAX, parseInt64 } from './parse.js';
import type { CommandSpec } from './types.js';

/** How long TALLY.LEAVE hands off before it gives up (and the node stays a member), in ms. */
export const DEFAULT_LEAVE_TIMEOUT_MS = 30_000;

const NO_MEMBERSHIP: Reply = Object.freeze(reply.error(errors.NO_MEMBERSHIP));

export const membershipCommands: CommandSpec[] = [
  {
    name: 'tally.leave',
    arity: -1,
    flags: ['admin', 'noscript'],
    keys: [0, 0, 0],
    run: (ctx, _s, a) => {
      let timeout = DEFAULT_LEAVE_TIMEOUT_MS;
      if (a.length !== 1 && a.length !== 3) return ERR_SYNTAX;
      if (a.length === 3) {
        if ((a[1] as Buffer).toString('latin1').toLowerCase() !== 'timeout') return ERR_SYNTAX;
        const t = parseInt64(a[2] as Buffer);
        if (t === null || t === 'range' || t < 1 || t > 3_600_000) return reply.error(errors.LEAVE_TIMEOUT);
        timeout = t;
      }
      const m = ctx.membership;
      if (m === undefined) return NO_MEMBERSHIP;
      return m.leave(timeout).then((o): Reply => {
        if (o.ok) return OK;
        if (o.failure === 'alone') return reply.error(errors.LEAVE_ALONE);
        if (o.failure === 'busy') return reply.error(errors.LEAVE_BUSY);
        return reply.error(errors.leaveNotHandedOff(o.holders, o.needed, timeout));
      });
    },
  },
  {
    name: 'tally.remove',
    arity: 2,
    flags: ['admin', 'noscript'],
    keys: [0, 0, 0],
    run: (ctx, _s, a) => {
      const m = ctx.membership;
      if (m === undefined) return NO_MEMBERSHIP;
      // Node ids are ASCII (the config's rule); anything else names no member.
      const id = (a[1] as Buffer).toString('latin1').slice(0, 256);
      const r = m.remove(id);
      if (r.ok) return OK;
      switch (r.error.code) {
        case 'self':
          return reply.error(errors.REMOVE_SELF);
        case 'unknown':
          return reply.error(errors.removeUnknown(id));
        case 'already':
          return reply.error(errors.removeAlready(id));
        case 'live':
          return reply.error(errors.removeLive(id, r.error.state));
      }
    },
  },
];
