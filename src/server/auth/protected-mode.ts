// Redis's protected mode: a node with no password and no users serves loopback clients only; a client
// from any other address reads Redis 7.0's -DENIED explanation and is disconnected (RESP), or gets
// 403 with it (HTTP, except /health). docs/security.md ("Protected mode").

/**
 * Whether a peer address is loopback, as Redis's connIsLocal decides (`127.*` or `::1`), plus the
 * IPv4-mapped form `::ffff:127.*` that a dual-stack Node socket reports for an IPv4 peer.
 */
export function isLoopbackAddress(ip: string): boolean {
  const v4 = ip.toLowerCase().startsWith('::ffff:') ? ip.slice(7) : ip;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || ip === '::1' || ip === '0:0:0:0:0:0:0:1';
}

/** Whether a listen address (a node's `host`) keeps the node on the loopback interface. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}

export interface ProtectedModeOptions {
  /** `protectedMode` from the config (default true). */
  readonly enabled: boolean;
  /** The node has no password and no users (the `default` user needs no password). */
  readonly open: boolean;
  /**
   * Test hook (TALLY_TEST_LOCAL_ADDRESSES): when set, only these loopback addresses count as local.
   * It can only narrow what is local, never widen it: an address must also be loopback.
   */
  readonly localAddresses?: readonly string[];
}

/**
 * The protected-mode decision for a peer: true when the peer must be refused. Always false when
 * protected mode is off or the node has credentials.
 */
export function protectedModeRefuses(o: ProtectedModeOptions): (ip: string) => boolean {
  if (!o.enabled || !o.open) return () => false;
  const only = o.localAddresses === undefined ? null : new Set(o.localAddresses);
  return (ip) => !(isLoopbackAddress(ip) && (only === null || only.has(ip) || only.has(ip.replace(/^::ffff:/i, ''))));
}

/**
 * The warning a node logs at start about who can reach it, or null: a listen address that is not
 * loopback on a node with no password and no users (protected mode on: others read -DENIED; off:
 * anyone may read and write). The node starts either way (docs/security.md says why).
 */
export function exposureWarning(host: string, open: boolean, protectedMode: boolean): string | null {
  if (!open || isLoopbackHost(host)) return null;
  return protectedMode
    ? `protected mode: ${host} is not a loopback address and there is no password and no users, so only loopback clients are served and every other client reads -DENIED; set auth.password or auth.users to serve other hosts`
    : `protected mode is off, ${host} is not a loopback address and there is no password and no users: anyone who can reach this node can read, write and flush every key`;
}
