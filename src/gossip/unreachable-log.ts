// How loudly the transport reports a peer it cannot connect to. Nodes of a cluster start one after
// another, so a peer that has never answered in the first moments is normal, not a fault: info.
// A peer that answered before and stopped, or that still has not answered once the start-up window
// is over, is what an operator must see: warn. Pure, so it tests without sockets or timers.

/** Default start-up window (ms): long enough for `tally cluster up` or systemd to start every node. */
export const STARTUP_QUIET_MS = 30_000;

/**
 * The level of the "peer unreachable" line for one outage: `warn` if the peer was ever reached (a
 * real outage) or the transport has been up `startupQuietMs` or longer; `info` otherwise.
 */
export function unreachableLevel(everReached: boolean, msSinceStart: number, startupQuietMs: number): 'info' | 'warn' {
  return everReached || msSinceStart >= startupQuietMs ? 'warn' : 'info';
}
