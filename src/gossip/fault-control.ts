// Test-only fault injection for `tally verify`: cuts gossip links by dropping outbound frames to the
// peers a control file names, and shifts the node's clock by an offset the same file sets. Off (and
// absent from the send path and the clock) unless TALLY_FAULT_CONTROL is set.
//
// Why a hook and not network namespaces: namespaces need root and iproute2 on every host, and every
// node would need its own address, so the config and ports change between a test run and a real one.
// The hook cuts exactly gossip traffic between chosen nodes on 127.0.0.1, while clients keep reaching
// every node, which is the partition we want to prove things about (writes accepted on both sides).
// A node only ever sends gossip on its own outbound connections (inbound ones carry nothing back,
// docs/gossip-transport.md), so dropping A's sends to B and B's sends to A cuts the link both ways,
// probes and acks included; one side alone gives a one-way cut (A's frames to B are lost, B's reach A).
//
// Clock skew: the node reads its time through `FaultControl.clock` (system time + the current offset),
// so a skewed node stamps its frames, runs its failure detector and picks its next incarnation by the
// skewed clock, as a node whose NTP stepped its clock would. Changing the offset makes the clock jump.

import { readFileSync } from 'node:fs';
import type { Transport } from '../replication/transport.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { systemClock } from '../util/system.js';

/** The environment variable naming the control file. Internal: set only by `tally verify`. */
export const FAULT_CONTROL_ENV = 'TALLY_FAULT_CONTROL';

/** How often (ms) the control file is re-read. The nemesis waits at least this long after each change. */
export const FAULT_POLL_MS = 25;

/** The largest clock offset accepted, ms (a week): far beyond any skew a test means, and still sane. */
export const MAX_CLOCK_OFFSET_MS = 7 * 86_400_000;

/**
 * The control file, rewritten atomically (temp file + rename) by the verify process:
 * `{ "drop": { "<nodeId>": ["127.0.0.1:<gossipPort>", ...] }, "clockOffsetMs": { "<nodeId>": -90000 } }`.
 * Each node drops every frame it would send to the listed gossip addresses (a node not listed sends
 * everywhere), and reads its clock as system time plus its offset (absent: 0). `clockOffsetMs` may be
 * left out altogether (files written before it existed).
 */
export interface FaultRules {
  drop: Record<string, string[]>;
  clockOffsetMs?: Record<string, number>;
}

/** One node's share of the rules. */
export interface NodeFaultRules {
  /** Gossip addresses this node must not send to. */
  drop: Set<string>;
  /** ms added to the system clock. */
  clockOffsetMs: number;
}

/** Only loopback gossip addresses may be cut: this hook must never touch a real network. */
const LOOPBACK_ADDRESS = /^127\.0\.0\.1:\d{1,5}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses a control file's text into `nodeId`'s rules. Returns an error string for anything malformed
 * (not JSON, a non-loopback address, an offset that is not an integer within ±MAX_CLOCK_OFFSET_MS);
 * the caller then keeps its old rules.
 */
export function parseFaultRules(text: string, nodeId: string): NodeFaultRules | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  if (!isObject(raw)) return 'expected an object';
  const drop = raw.drop;
  if (!isObject(drop)) return 'expected "drop" to be an object';
  const out: NodeFaultRules = { drop: new Set(), clockOffsetMs: 0 };
  const mine = drop[nodeId];
  if (mine !== undefined) {
    if (!Array.isArray(mine)) return `drop.${nodeId}: expected a list of addresses`;
    for (const a of mine as unknown[]) {
      if (typeof a !== 'string' || !LOOPBACK_ADDRESS.test(a)) return `drop.${nodeId}: ${JSON.stringify(a)} is not a 127.0.0.1:port address`;
      out.drop.add(a);
    }
  }
  const offsets = raw.clockOffsetMs;
  if (offsets !== undefined) {
    if (!isObject(offsets)) return 'expected "clockOffsetMs" to be an object';
    const o = offsets[nodeId];
    if (o !== undefined) {
      if (typeof o !== 'number' || !Number.isInteger(o) || Math.abs(o) > MAX_CLOCK_OFFSET_MS)
        return `clockOffsetMs.${nodeId}: expected an integer from -${MAX_CLOCK_OFFSET_MS} to ${MAX_CLOCK_OFFSET_MS}, got ${JSON.stringify(o)}`;
      out.clockOffsetMs = o;
    }
  }
  return out;
}

/**
 * The hook of one node: re-reads the control file every `pollMs`, and serves the current rules to the
 * transport wrapper (`wrap`) and the clock (`clock`). A malformed file is logged and ignored: the
 * rules in force stay.
 */
export class FaultControl {
  private rules: NodeFaultRules = { drop: new Set(), clockOffsetMs: 0 };
  private lastText = '';
  private readonly timer: NodeJS.Timeout;
  /** Frames dropped by the hook, for debugging. */
  dropped = 0;
  /** System time plus the current offset. */
  readonly clock: Clock;

  constructor(
    private readonly file: string,
    private readonly nodeId: string,
    private readonly log: Logger,
    base: Clock = systemClock,
    pollMs = FAULT_POLL_MS,
  ) {
    this.clock = { now: () => base.now() + this.rules.clockOffsetMs };
    this.reload();
    this.timer = setInterval(() => this.reload(), pollMs);
    this.timer.unref();
  }

  /** The rules in force. */
  get current(): Readonly<NodeFaultRules> {
    return this.rules;
  }

  /** A Transport that forwards to `inner` except to the addresses currently cut. */
  wrap(inner: Transport): Transport {
    return {
      send: (address, frame) => {
        if (this.rules.drop.size > 0 && this.rules.drop.has(address)) {
          this.dropped++;
          return;
        }
        inner.send(address, frame);
      },
    };
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Re-reads the file now (the timer does this every poll). */
  reload(): void {
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
    const prev = this.rules;
    this.rules = r;
    const sameDrops = prev.drop.size === r.drop.size && [...r.drop].every((a) => prev.drop.has(a));
    if (!sameDrops) this.log.info({ cut: [...r.drop] }, 'fault control: gossip links changed');
    if (prev.clockOffsetMs !== r.clockOffsetMs) this.log.info({ offsetMs: r.clockOffsetMs, was: prev.clockOffsetMs }, 'fault control: clock offset changed');
  }
}

/**
 * The hook when TALLY_FAULT_CONTROL names a file and the node listens on 127.0.0.1; null when the
 * variable is unset, so a normal node keeps the system clock and the bare transport and pays nothing.
 * Throws if the variable is set on a node that listens anywhere else.
 */
export function faultControlFromEnv(nodeId: string, host: string, log: Logger, env: NodeJS.ProcessEnv = process.env): FaultControl | null {
  const file = env[FAULT_CONTROL_ENV];
  if (file === undefined || file === '') return null;
  if (host !== '127.0.0.1') throw new Error(`${FAULT_CONTROL_ENV} is set but the node listens on ${host}: fault injection is only for 127.0.0.1 test clusters`);
  log.warn({ file }, 'fault injection is ON (test clusters only)');
  return new FaultControl(file, nodeId, log);
}
