// Test-only fault injection for `tally verify`: cuts gossip links by dropping outbound frames to the
// peers a control file names. Off (and absent from the send path) unless TALLY_FAULT_CONTROL is set.
//
// Why a hook and not network namespaces: namespaces need root and iproute2 on every host, and every
// node would need its own address, so the config and ports change between a test run and a real one.
// The hook cuts exactly gossip traffic between chosen nodes on 127.0.0.1, while clients keep reaching
// every node, which is the partition we want to prove things about (writes accepted on both sides).
// A node only ever sends gossip on its own outbound connections (inbound ones carry nothing back,
// docs/gossip-transport.md), so dropping A's sends to B and B's sends to A cuts the link both ways,
// probes and acks included; one side alone gives a one-way cut.

import { readFileSync } from 'node:fs';
import type { Transport } from '../replication/transport.js';
import type { Logger } from '../util/logger.js';

/** The environment variable naming the control file. Internal: set only by `tally verify`. */
export const FAULT_CONTROL_ENV = 'TALLY_FAULT_CONTROL';

/** How often (ms) the control file is re-read. The nemesis waits at least this long after each change. */
export const FAULT_POLL_MS = 25;

/**
 * The control file, rewritten atomically (temp file + rename) by the verify process:
 * `{ "drop": { "<nodeId>": ["127.0.0.1:<gossipPort>", ...] } }`: each node drops every frame it would
 * send to the listed gossip addresses. A node not listed sends everywhere.
 */
export interface FaultRules {
  drop: Record<string, string[]>;
}

/** Only loopback gossip addresses may be cut: this hook must never touch a real network. */
const LOOPBACK_ADDRESS = /^127\.0\.0\.1:\d{1,5}$/;

/**
 * Parses a control file's text into the set of addresses `nodeId` must not send to. Returns an error
 * string for anything malformed or naming a non-loopback address; the caller then keeps its old rules.
 */
export function parseFaultRules(text: string, nodeId: string): Set<string> | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'expected an object';
  const drop = (raw as { drop?: unknown }).drop;
  if (typeof drop !== 'object' || drop === null || Array.isArray(drop)) return 'expected "drop" to be an object';
  const mine: unknown = (drop as Record<string, unknown>)[nodeId];
  if (mine === undefined) return new Set();
  if (!Array.isArray(mine)) return `drop.${nodeId}: expected a list of addresses`;
  const out = new Set<string>();
  for (const a of mine) {
    if (typeof a !== 'string' || !LOOPBACK_ADDRESS.test(a)) return `drop.${nodeId}: ${JSON.stringify(a)} is not a 127.0.0.1:port address`;
    out.add(a);
  }
  return out;
}

/** A Transport that forwards to `inner` except to the addresses currently cut. */
export class FaultFilter implements Transport {
  private blocked = new Set<string>();
  private lastText = '';
  private readonly timer: NodeJS.Timeout;
  /** Frames dropped by the hook, for the verify report and debugging. */
  dropped = 0;

  constructor(
    private readonly inner: Transport,
    private readonly file: string,
    private readonly nodeId: string,
    private readonly log: Logger,
    pollMs = FAULT_POLL_MS,
  ) {
    this.reload();
    this.timer = setInterval(() => this.reload(), pollMs);
    this.timer.unref();
  }

  send(address: string, frame: Uint8Array): void {
    if (this.blocked.size > 0 && this.blocked.has(address)) {
      this.dropped++;
      return;
    }
    this.inner.send(address, frame);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private reload(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return; // not written yet, or between writes: keep the current rules
    }
    if (text === this.lastText) return;
    this.lastText = text;
    const r = parseFaultRules(text, this.nodeId);
    if (typeof r === 'string') {
      this.log.warn({ file: this.file, err: r }, 'fault control file ignored');
      return;
    }
    this.blocked = r;
    this.log.info({ cut: [...r] }, 'fault control: gossip links changed');
  }
}

/**
 * Wraps the gossip transport in a FaultFilter when TALLY_FAULT_CONTROL names a file and the node
 * listens on 127.0.0.1; otherwise returns the transport itself, so a normal node pays nothing.
 */
export function withFaultControl(
  inner: Transport,
  nodeId: string,
  host: string,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): { transport: Transport; close(): void } {
  const file = env[FAULT_CONTROL_ENV];
  if (file === undefined || file === '') return { transport: inner, close: () => {} };
  if (host !== '127.0.0.1') throw new Error(`${FAULT_CONTROL_ENV} is set but the node listens on ${host}: fault injection is only for 127.0.0.1 test clusters`);
  log.warn({ file }, 'fault injection is ON (test clusters only)');
  const f = new FaultFilter(inner, file, nodeId, log);
  return { transport: f, close: () => f.close() };
}
