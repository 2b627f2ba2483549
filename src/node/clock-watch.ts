// Says so in the log when the verdict on this node's clock changes (docs/consistency.md, "Clocks");
// /health, INFO, /metrics and the dashboard show it from the node snapshot.

import type { Replica } from '../replication/replica.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** Every second: logs when the verdict on this node's clock changes (docs/consistency.md, "Clocks"). */
export function watchClock(replica: Replica, clock: Clock, log: Logger): NodeJS.Timeout {
  let wasOk = true;
  const t = setInterval(() => {
    const c = replica.clockStatus(clock.now());
    if (c.ok === wasOk) return;
    wasOk = c.ok;
    if (!c.ok && c.unverified) log.warn("this node's clock jumped (a step, or the process was stalled): windowed writes are refused until a peer has measured it again");
    else if (!c.ok) log.warn({ offsetMs: Math.round(c.offsetMs), peersBeyond: c.beyond, peers: c.peers, boundMs: c.boundMs }, "this node's clock is off from most of its peers: windowed writes are refused until it is fixed");
    else log.info({ offsetMs: Math.round(c.offsetMs), peers: c.peers }, "this node's clock agrees with its peers again");
  }, 1_000);
  t.unref();
  return t;
}
