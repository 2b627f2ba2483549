// Node-wide state of the command layer that outlives one command: WATCHed keys, MONITOR sessions, the
// slow log. One per CommandServices (so per node, and per unit test), made on first use.

import type { Keyspace } from '../../keyspace/keyspace.js';
import type { Reply } from './reply.js';
import type { CommandServices, Session } from './types.js';

/**
 * Which sessions WATCH which keys. A key that changes on this node (a write by any client, or a
 * gossip merge that brought a peer's write) marks every session watching it dirty; its EXEC then
 * answers nil. The keyspace is listened to only while some key is watched, so INCR pays nothing
 * otherwise.
 */
export class WatchRegistry {
  private readonly byKey = new Map<string, Set<Session>>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly keyspace: Keyspace) {}

  watch(s: Session, key: string): void {
    const mine = (s.watching ??= new Set());
    if (mine.has(key)) return;
    mine.add(key);
    let set = this.byKey.get(key);
    if (set === undefined) this.byKey.set(key, (set = new Set()));
    set.add(s);
    this.unsubscribe ??= this.keyspace.onChange(this.changed);
  }

  /** Forgets every key `s` watches (EXEC, DISCARD, UNWATCH, the connection closing). */
  unwatchAll(s: Session): void {
    const mine = s.watching;
    s.watching = undefined;
    s.watchDirty = false;
    if (mine === undefined) return;
    for (const key of mine) {
      const set = this.byKey.get(key);
      if (set === undefined) continue;
      set.delete(s);
      if (set.size === 0) this.byKey.delete(key);
    }
    if (this.byKey.size === 0 && this.unsubscribe !== undefined) {
      this.unsubscribe();
      this.unsubscribe = undefined;
    }
  }

  /** Keys watched by anyone (INFO, tests). */
  get size(): number {
    return this.byKey.size;
  }

  private readonly changed = (key: string): void => {
    const set = this.byKey.get(key);
    if (set !== undefined) for (const s of set) s.watchDirty = true;
  };
}

/** One SLOWLOG entry, as Redis keeps it. */
export interface SlowlogEntry {
  readonly id: number;
  /** Unix time, seconds. */
  readonly time: number;
  readonly micros: number;
  readonly args: readonly Buffer[];
  readonly addr: string;
  readonly name: string;
}

/** Redis's defaults: slowlog-log-slower-than 10000 us, slowlog-max-len 128. */
export const SLOWLOG_SLOWER_THAN_US = 10_000;
export const SLOWLOG_MAX_LEN = 128;

export class Slowlog {
  private entries: SlowlogEntry[] = [];
  private nextId = 0;

  add(e: Omit<SlowlogEntry, 'id'>): void {
    this.entries.unshift({ ...e, id: this.nextId++ });
    if (this.entries.length > SLOWLOG_MAX_LEN) this.entries.length = SLOWLOG_MAX_LEN;
  }

  /** The newest `count` entries (all for a negative count). */
  get(count: number): readonly SlowlogEntry[] {
    return count < 0 ? this.entries : this.entries.slice(0, count);
  }

  get length(): number {
    return this.entries.length;
  }

  reset(): void {
    this.entries = [];
  }
}

/** The script running now (scripting/runner.ts), as the rest of the command layer sees it. */
export interface BusyScript {
  /** The script ran past busy-reply-threshold and gave the event loop back: other commands get BUSY. */
  yielded: boolean;
  /** It called a write command: SCRIPT KILL answers UNKILLABLE. */
  wrote: boolean;
  /** SCRIPT KILL asked it to stop. */
  killed: boolean;
}

/** What the command layer keeps for one node. `extra` holds the lazily made parts of other files (scripting, SCAN). */
export interface CommandState {
  readonly watches: WatchRegistry;
  readonly monitors: Set<Session>;
  readonly slowlog: Slowlog;
  readonly extra: Map<string, unknown>;
  /** The script running now, or null. */
  busy: BusyScript | null;
  /** Sessions waiting for a command that answers later (WAIT, a majority read): INFO's blocked_clients. */
  blocked: number;
  /** Told when a busy script ends (the node releases the gossip frames it held meanwhile). */
  readonly idleListeners: Set<() => void>;
}

const STATES = new WeakMap<CommandServices, CommandState>();

export function stateOf(ctx: CommandServices): CommandState {
  let s = STATES.get(ctx);
  if (s === undefined) {
    s = { watches: new WatchRegistry(ctx.keyspace), monitors: new Set(), slowlog: new Slowlog(), extra: new Map(), busy: null, blocked: 0, idleListeners: new Set() };
    STATES.set(ctx, s);
  }
  return s;
}

/** A part of the state made on first use, by name (scripting, SCAN indexes): no module-level globals. */
export function extraState<T>(ctx: CommandServices, name: string, make: () => T): T {
  const extra = stateOf(ctx).extra;
  let v = extra.get(name) as T | undefined;
  if (v === undefined) {
    v = make();
    extra.set(name, v);
  }
  return v;
}

/** Redis's sdscatrepr: a quoted string with `\n`, `\"`, `\xHH`... escapes (MONITOR, SLOWLOG). */
export function quoteRepr(b: Uint8Array): string {
  let out = '"';
  for (const c of b) {
    switch (c) {
      case 0x5c:
        out += '\\\\';
        break;
      case 0x22:
        out += '\\"';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      case 0x07:
        out += '\\a';
        break;
      case 0x08:
        out += '\\b';
        break;
      default:
        out += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
    }
  }
  return out + '"';
}

/** Sends the MONITOR line of one command to every monitoring session (Redis's replicationFeedMonitors). */
export function feedMonitors(ctx: CommandServices, s: Session, args: readonly Buffer[]): void {
  const monitors = stateOf(ctx).monitors;
  if (monitors.size === 0) return;
  const ms = ctx.now();
  const micros = Math.round((ms % 1000) * 1000);
  const who = s.inScript === true ? 'lua' : s.remoteAddress;
  const line = `${Math.floor(ms / 1000)}.${String(micros).padStart(6, '0')} [${s.db} ${who}] ${args.map(quoteRepr).join(' ')}`;
  const r: Reply = { kind: 'simple', value: line };
  for (const m of monitors) m.push?.(r);
}

/** The connection of `s` is gone: forget its watches and its MONITOR. The node calls it for every protocol. */
export function sessionClosed(ctx: CommandServices, s: Session): void {
  const st = STATES.get(ctx);
  if (st === undefined) return;
  st.watches.unwatchAll(s);
  st.monitors.delete(s);
}

/**
 * Whether a script is running past busy-reply-threshold (its other clients get BUSY). While it is,
 * the node holds the gossip frames it receives, so that no merge changes a key under the script.
 */
export function scriptBusy(ctx: CommandServices): boolean {
  return STATES.get(ctx)?.busy?.yielded === true;
}

/** Calls `listener` each time a busy script ends. Returns the unsubscribe function. */
export function onScriptIdle(ctx: CommandServices, listener: () => void): () => void {
  const set = stateOf(ctx).idleListeners;
  set.add(listener);
  return () => set.delete(listener);
}
