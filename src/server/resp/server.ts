// The RESP2 TCP server (or TLS server: Redis's tls-port): accepts connections, parses pipelined
// requests, runs them through a handler and writes the replies in request order, batched into one
// socket write per event-loop turn, with backpressure.

import net from 'node:net';
import tls from 'node:tls';
import { clientCertAccepted, secureContextOf, type ServerTls } from '../tls.js';
import * as errors from '../../errors.js';
import { DEFAULT_PARSER_LIMITS, RespParser, type RespProtocolError } from './parser.js';
import { INTERNAL_ERROR, type Reply } from '../commands/reply.js';
import { ArgRanges } from '../commands/arg-ranges.js';
import { NOOP_LOGGER, type Logger } from '../../util/logger.js';
import { ReplyGate } from '../reply-gate.js';
import { encodeReply, ReplyWriter } from './encoder.js';

/** Who is connecting; passed to `RespConnectionHandler.open`. */
export interface RespConnectionInfo {
  /** Connection id, unique within this server, starting at 1. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * Writes a reply to this connection out of band, after whatever it has been sent so far (MONITOR's
   * lines). Does nothing once the connection is closing or gone.
   */
  readonly push: (r: Reply) => void;
}

/**
 * What the server needs from the command layer. `Session` is whatever per-connection state the
 * handler keeps (auth, selected db, the client's last write for WAIT).
 */
export interface RespConnectionHandler<Session> {
  /** Called once per accepted connection, before its first command. */
  open(info: RespConnectionInfo): Session;
  /**
   * Executes one command. `args[0]` is the command name as sent (any case). The arguments may be views
   * of the socket's receive buffer: copy or decode what you keep after returning.
   *
   * Return a `Reply`; or write the reply directly to `out` and return `undefined` (fastest: nothing is
   * allocated); or return a Promise of a `Reply` for a command that waits (WAIT, a quorum read). While a
   * Promise is pending the connection is blocked as in Redis: later pipelined commands are neither run
   * nor answered until it settles, so replies and effects stay in request order. A handler returning a
   * Promise must not also write to `out`. Throwing or rejecting answers `-ERR internal error` and logs.
   */
  command(session: Session, args: Buffer[], out: ReplyWriter): Reply | Promise<Reply> | undefined;
  /**
   * As `command`, for a request whose arguments came as byte ranges of the socket chunk (nearly every
   * one: the parser's `nextRanges`), valid only until this returns. Without it, every request comes
   * to `command` as Buffers.
   */
  commandRanges?(session: Session, args: ArgRanges, out: ReplyWriter): Reply | Promise<Reply> | undefined;
  /**
   * Called when bytes arrive from the client, before the commands in them run: once per read, not
   * per command (a clock read per pipelined command was 1.7% of a node's CPU under INCR at depth
   * 16). Redis notes the client's last interaction the same way.
   */
  received?(session: Session): void;
  /** The protocol each reply of this session is encoded in: 2, or 3 after HELLO 3. Default 2. */
  protocol?(session: Session): 2 | 3;
  /** Called once when the connection is gone (whatever the reason), after its last command. */
  close(session: Session): void;
}

export interface RespServerOptions<Session> {
  /** Address to bind, e.g. `127.0.0.1`. Required: the server never picks an interface itself. */
  readonly host: string;
  /** TCP port; 0 binds an ephemeral port (read it from `listen()`'s result). */
  readonly port: number;
  readonly handler: RespConnectionHandler<Session>;
  /** Most simultaneous clients; one more gets `-ERR max number of clients reached`. Default 10,000 (Redis's maxclients). */
  readonly maxClients?: number;
  /** Largest bulk argument in bytes. Default 1 MiB (counter keys and arguments are short); Redis allows 512 MiB. */
  readonly maxBulkBytes?: number;
  /** Most arguments in one multibulk request. Default 1,048,576, as Redis. */
  readonly maxMultibulkLength?: number;
  /** Longest inline request line in bytes. Default 64 KiB, as Redis. */
  readonly maxInlineBytes?: number;
  /**
   * Soft limit on a connection's unsent output (bytes). Past it the server stops running that client's
   * commands and stops reading its socket until the socket drains, so a client that pipelines without
   * reading costs bounded memory and TCP pushes back on it. Default 1 MiB.
   */
  readonly maxOutputBufferBytes?: number;
  /**
   * Hard limit on a connection's unsent output (bytes); past it the connection is closed, as Redis's
   * client-output-buffer-limit does. Only one oversized reply can cross the soft limit by much, so this
   * only trips on huge replies to a client that does not read. Default 32 MiB.
   */
  readonly hardOutputBufferBytes?: number;
  /** Where connection-level events go (protocol errors, handler failures, limits). Default: nowhere. */
  readonly logger?: Logger;
  /**
   * Called before a connection's buffered replies are written. A returned promise holds those replies
   * (in order) until it resolves; commands keep running meanwhile, so pipelining is kept. Durability
   * `always` returns the promise of the group commit that makes the writes so far durable, so no reply
   * is sent before the writes it acknowledges are on disk. A rejection closes the connection
   * unanswered (never an acknowledgement of a write that failed to reach the disk). Default: none.
   */
  readonly beforeFlush?: () => Promise<void> | undefined;
  /**
   * Called before a connection runs the commands it has read. A returned promise stops it until the
   * promise settles: no command runs and its socket is paused, so TCP pushes back on the client.
   * Durability `everysec` returns one while the disk is two commits behind (group-commit.ts,
   * `behind`), so a bulk load cannot outrun its commits. Default: none.
   */
  readonly admit?: () => Promise<void> | undefined;
  /** Serve RESP over TLS with these options (src/server/tls.ts). Default: plaintext TCP. */
  readonly tls?: ServerTls;
  /**
   * Called for each accepted connection (after maxClients, after the TLS handshake) with the client's
   * IP: an error text to write (`-<text>\r\n`) before closing the connection, or null to serve it.
   * Protected mode answers Redis's DENIED text here. Counted as a rejected connection. Default: none.
   */
  readonly refuse?: (ip: string) => string | null;
}

export const RESP_SERVER_DEFAULTS = Object.freeze({
  maxClients: 10_000,
  maxBulkBytes: DEFAULT_PARSER_LIMITS.maxBulkBytes,
  maxMultibulkLength: DEFAULT_PARSER_LIMITS.maxMultibulkLength,
  maxInlineBytes: DEFAULT_PARSER_LIMITS.maxInlineBytes,
  maxOutputBufferBytes: 1024 * 1024,
  hardOutputBufferBytes: 32 * 1024 * 1024,
});

/** Counters since the server started, for INFO and metrics. */
export interface RespServerStats {
  connectionsAccepted: number;
  connectionsRejected: number; // maxClients reached
  commandsProcessed: number;
  protocolErrors: number;
  handlerErrors: number;
  outputLimitDisconnects: number;
  /** Connections refused by the `refuse` hook (protected mode); also counted in connectionsRejected. */
  connectionsRefused: number;
  /** TLS handshakes that failed (bad or missing client certificate, wrong protocol, timeout). */
  tlsHandshakeErrors: number;
}

/** A snapshot of one connection (CLIENT LIST, tests). */
export interface RespConnectionSnapshot {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly commands: number;
  /** Output not yet handed to the kernel: the socket's buffer plus the unflushed writer. */
  readonly pendingOutputBytes: number;
  /** Highest `pendingOutputBytes` seen at any flush. */
  readonly peakPendingOutputBytes: number;
  /** Input received and not yet run. */
  readonly bufferedInputBytes: number;
  /** True while the server is not reading this socket (backpressure or a pending async command). */
  readonly readPaused: boolean;
}

const MAX_CLIENTS_REPLY = Buffer.from(`-${errors.MAX_CLIENTS}\r\n`);
const INTERNAL_ERROR_LINE = Buffer.from(`-${errors.INTERNAL}\r\n`);
/** How long a connection closed after an error may linger for the peer's FIN before it is destroyed. */
const CLOSE_GRACE_MS = 2_000;

function checkInt(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`RespServer: ${field} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

/** A RESP2 server over `node:net`. Construct, `await listen()`, and `await close()` to stop. */
export class RespServer<Session> {
  readonly stats: RespServerStats = {
    connectionsAccepted: 0,
    connectionsRejected: 0,
    commandsProcessed: 0,
    protocolErrors: 0,
    handlerErrors: 0,
    outputLimitDisconnects: 0,
    connectionsRefused: 0,
    tlsHandshakeErrors: 0,
  };

  private readonly host: string;
  private readonly port: number;
  /** @internal read by Connection */
  readonly handler: RespConnectionHandler<Session>;
  /** @internal */
  readonly logger: Logger;
  /** @internal */
  readonly beforeFlush: (() => Promise<void> | undefined) | undefined;
  /** @internal */
  readonly admit: (() => Promise<void> | undefined) | undefined;
  /** @internal */
  readonly limits: {
    readonly maxClients: number;
    readonly maxBulkBytes: number;
    readonly maxMultibulkLength: number;
    readonly maxInlineBytes: number;
    readonly maxOutputBufferBytes: number;
    readonly hardOutputBufferBytes: number;
  };
  private readonly server: net.Server | tls.Server;
  private readonly tlsConfig: ServerTls | undefined;
  private readonly refuse: ((ip: string) => string | null) | undefined;
  private readonly connections = new Set<Connection<Session>>();
  /** Sockets not yet closed, including rejected ones still sending their error. */
  private readonly sockets = new Set<net.Socket>();
  private nextId = 1;
  private listening = false;
  private closed = false;
  /** Connections with replies encoded this turn, written together once the turn's reads are done. */
  private unflushed: Connection<Session>[] = [];
  private flushScheduled = false;
  private readonly flushUnflushed = (): void => {
    this.flushScheduled = false;
    const list = this.unflushed;
    // A connection queued while these are written (a flush runs no command today) waits for the next turn.
    this.unflushed = [];
    for (const c of list) c.flushDeferred();
  };

  constructor(options: RespServerOptions<Session>) {
    if (typeof options.host !== 'string' || options.host === '') {
      throw new TypeError('RespServer: host is required (e.g. "127.0.0.1")');
    }
    checkInt('port', options.port, 0, 65535);
    if (options.handler === undefined || typeof options.handler.command !== 'function') {
      throw new TypeError('RespServer: handler must implement open, command and close');
    }
    const d = RESP_SERVER_DEFAULTS;
    this.host = options.host;
    this.port = options.port;
    this.handler = options.handler;
    this.logger = options.logger ?? NOOP_LOGGER;
    this.beforeFlush = options.beforeFlush;
    this.admit = options.admit;
    this.limits = {
      maxClients: checkInt('maxClients', options.maxClients ?? d.maxClients, 1, 1_000_000),
      maxBulkBytes: checkInt('maxBulkBytes', options.maxBulkBytes ?? d.maxBulkBytes, 0, 512 * 1024 * 1024),
      maxMultibulkLength: checkInt(
        'maxMultibulkLength',
        options.maxMultibulkLength ?? d.maxMultibulkLength,
        1,
        2 ** 31 - 1,
      ),
      maxInlineBytes: checkInt('maxInlineBytes', options.maxInlineBytes ?? d.maxInlineBytes, 1, 512 * 1024 * 1024),
      maxOutputBufferBytes: checkInt(
        'maxOutputBufferBytes',
        options.maxOutputBufferBytes ?? d.maxOutputBufferBytes,
        1024,
        2 ** 40,
      ),
      hardOutputBufferBytes: checkInt(
        'hardOutputBufferBytes',
        options.hardOutputBufferBytes ?? d.hardOutputBufferBytes,
        1024,
        2 ** 40,
      ),
    };
    if (this.limits.hardOutputBufferBytes < this.limits.maxOutputBufferBytes) {
      throw new RangeError(
        `RespServer: hardOutputBufferBytes (${this.limits.hardOutputBufferBytes}) must be >= maxOutputBufferBytes (${this.limits.maxOutputBufferBytes})`,
      );
    }
    this.tlsConfig = options.tls;
    this.refuse = options.refuse;
    const socketOptions = { noDelay: true, keepAlive: true, keepAliveInitialDelay: 300_000 };
    if (options.tls === undefined) {
      this.server = net.createServer(socketOptions, (socket) => this.accept(socket));
    } else {
      const t = options.tls;
      const server = tls.createServer({ ...socketOptions, ...t.options }, (socket) => {
        if (!clientCertAccepted(socket, t.clientCerts)) {
          this.stats.tlsHandshakeErrors++;
          this.logger.debug({ remoteAddress: socket.remoteAddress, err: socket.authorizationError }, 'resp: client certificate does not verify, connection closed');
          socket.destroy();
          return;
        }
        this.accept(socket);
      });
      // A failed handshake is the client's problem (wrong CA, no certificate, plaintext on the TLS port).
      server.on('tlsClientError', (e, socket) => {
        this.stats.tlsHandshakeErrors++;
        this.logger.debug({ remoteAddress: socket.remoteAddress, err: e.message }, 'resp: TLS handshake failed');
        socket.destroy();
      });
      this.server = server;
    }
    this.server.on('error', (e) => this.logger.error({ err: e }, 'resp server error'));
  }

  /** Starts listening; resolves with the bound port. Rejects with a clear error if the address is taken. */
  listen(): Promise<number> {
    if (this.listening || this.closed) {
      return Promise.reject(new Error('RespServer.listen: already listening or closed'));
    }
    this.listening = true;
    return new Promise<number>((resolve, reject) => {
      const onError = (e: Error): void => {
        this.listening = false;
        reject(new Error(`cannot listen for RESP on ${this.host}:${this.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e }));
      };
      this.server.once('error', onError);
      this.server.listen({ host: this.host, port: this.port }, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : this.port);
      });
    });
  }

  /**
   * Swaps in a new certificate, key and CA for connections from now on (SIGHUP); connections already
   * open keep theirs. No-op for a plaintext server.
   */
  reloadTls(t: ServerTls): void {
    if (this.server instanceof tls.Server) this.server.setSecureContext(secureContextOf(t));
  }

  /** Whether this server speaks TLS. */
  get secure(): boolean {
    return this.tlsConfig !== undefined;
  }

  /** The bound port, or undefined before `listen()` resolves. */
  get boundPort(): number | undefined {
    const addr = this.server.address();
    return typeof addr === 'object' && addr !== null ? addr.port : undefined;
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** A snapshot of every open connection. */
  connectionSnapshots(): RespConnectionSnapshot[] {
    return [...this.connections].map((c) => c.snapshot());
  }

  /**
   * @internal Called by a connection that ran commands: its replies are written when this turn's reads
   * are done (setImmediate runs right after the poll phase), all connections back to back, as Redis
   * writes in beforeSleep. Writing each reply as its request is read wakes a client blocked in
   * epoll for every connection; written together, one wake-up serves the lot (measured: see resp.md).
   */
  deferFlush(c: Connection<Session>): void {
    this.unflushed.push(c);
    // Stryker disable next-line ConditionalExpression: equivalent but for work, a second setImmediate finds the list written and emptied
    if (!this.flushScheduled) {
      // Stryker disable next-line BooleanLiteral: equivalent but for work, as above
      this.flushScheduled = true;
      setImmediate(this.flushUnflushed);
    }
  }

  /** Stops listening, destroys every client socket, and resolves once the listener has closed. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const socketsClosed = [...this.sockets].map(
      (s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.once('close', () => resolve()))),
    );
    const listenerClosed = new Promise<void>((resolve) => {
      if (this.server.listening) this.server.close(() => resolve());
      else resolve();
    });
    for (const s of this.sockets) s.destroy();
    await Promise.all([listenerClosed, ...socketsClosed]);
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    // A socket error (ECONNRESET, EPIPE) is the peer's problem: the 'close' that follows cleans up.
    socket.on('error', () => {});
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.limits.maxClients) {
      this.stats.connectionsRejected++;
      this.logger.warn(
        { remoteAddress: socket.remoteAddress, maxClients: this.limits.maxClients },
        'resp: max number of clients reached, connection refused',
      );
      socket.end(MAX_CLIENTS_REPLY);
      socket.resume(); // discard whatever it sends meanwhile
      socket.setTimeout(CLOSE_GRACE_MS, () => socket.destroy());
      return;
    }
    const refusal = this.refuse?.(socket.remoteAddress ?? '') ?? null;
    if (refusal !== null) {
      // As Redis: the explanation at once, before any command, then the connection is closed.
      this.stats.connectionsRejected++;
      this.stats.connectionsRefused++;
      socket.end(`-${refusal}\r\n`);
      socket.resume();
      socket.setTimeout(CLOSE_GRACE_MS, () => socket.destroy());
      return;
    }
    const id = this.nextId++;
    let conn: Connection<Session> | undefined;
    const info: RespConnectionInfo = {
      id,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      push: (r) => conn?.push(r),
    };
    let session: Session;
    try {
      session = this.handler.open(info);
    } catch (e) {
      this.stats.handlerErrors++;
      this.logger.error({ err: e, client: id, remoteAddress: info.remoteAddress }, 'resp: handler.open threw');
      socket.end(INTERNAL_ERROR_LINE);
      socket.setTimeout(CLOSE_GRACE_MS, () => socket.destroy());
      return;
    }
    this.stats.connectionsAccepted++;
    const c = new Connection(this, socket, info, session);
    conn = c;
    this.connections.add(c);
    socket.once('close', () => {
      this.connections.delete(c);
      c.closed();
    });
  }
}

/** One client connection: parser, writer, session, and the flow-control state. Internal to the server. */
class Connection<Session> {
  private readonly parser: RespParser;
  private readonly out = new ReplyWriter();
  private readonly handler: RespConnectionHandler<Session>;
  private readonly softLimit: number;
  private readonly remoteAddress: string;
  private readonly remotePort: number;
  private commands = 0;
  private peakPending = 0;
  /** An async reply is pending: nothing else runs until it settles. */
  private blocked = false;
  /** The socket's buffer is full: nothing runs until 'drain'. */
  private waitingDrain = false;
  /** The server's `admit` said wait: nothing runs until its promise settles. */
  private held = false;
  /** The connection is being closed after a final reply (QUIT, protocol error, limit): ignore input. */
  private ending = false;
  private finished = false;
  private gone = false;
  private readPaused = false;
  /** Inside run(): its own flush at the end sends what push() appends. */
  private running = false;
  /** Queued with the server for the end-of-turn write (deferFlush). */
  private flushPending = false;
  /** Reply batches held by `beforeFlush` gates, written in order as each gate opens. */
  private readonly gate: ReplyGate<Uint8Array>;
  readonly id: number;

  constructor(
    private readonly server: RespServer<Session>,
    private readonly socket: net.Socket,
    info: RespConnectionInfo,
    private readonly session: Session,
  ) {
    this.id = info.id;
    const l = server.limits;
    this.parser = new RespParser({
      maxBulkBytes: l.maxBulkBytes,
      maxMultibulkLength: l.maxMultibulkLength,
      maxInlineBytes: l.maxInlineBytes,
    });
    this.handler = server.handler;
    this.softLimit = l.maxOutputBufferBytes;
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    this.gate = new ReplyGate<Uint8Array>({
      release: (bytes) => this.release(bytes),
      fail: (e) => this.gateFailed(e),
      size: (bytes) => bytes.length,
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
  }

  snapshot(): RespConnectionSnapshot {
    return {
      id: this.id,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      commands: this.commands,
      pendingOutputBytes: this.pendingOutput(),
      peakPendingOutputBytes: this.peakPending,
      bufferedInputBytes: this.parser.bufferedBytes,
      readPaused: this.readPaused,
    };
  }

  /** The socket has closed (any reason). */
  closed(): void {
    if (this.gone) return;
    this.gone = true;
    this.out.reset();
    try {
      this.handler.close(this.session);
    } catch (e) {
      this.server.logger.error({ err: e, client: this.id }, 'resp: handler.close threw');
    }
  }

  /** The protocol of this connection's replies (HELLO 3 switches it). */
  private proto(): 2 | 3 {
    return this.handler.protocol?.(this.session) ?? 2;
  }

  /** An out-of-band reply (MONITOR): appended after what is pending, flushed now unless a batch is being built. */
  push(r: Reply): void {
    if (this.gone || this.ending) return;
    try {
      encodeReply(this.out, r, this.proto());
    } catch (e) {
      this.server.logger.error({ err: e, client: this.id }, 'resp: a pushed reply could not be encoded');
      return;
    }
    if (!this.running) this.flush();
  }

  private pendingOutput(): number {
    return this.socket.writableLength + this.out.length + this.gate.heldSize;
  }

  private onData(chunk: Buffer): void {
    if (this.ending || this.gone) return;
    this.parser.push(chunk);
    this.handler.received?.(this.session);
    this.run();
  }

  private onDrain(): void {
    if (!this.waitingDrain || this.gone) return;
    this.waitingDrain = false;
    this.run();
  }

  /** Runs every complete buffered command that may run now, then flushes once and updates reading. */
  private run(): void {
    const out = this.out;
    const handler = this.handler;
    const session = this.session;
    const parser = this.parser;
    const soft = this.softLimit;
    const ranged = handler.commandRanges !== undefined;
    let ran = 0;
    // Stryker disable next-line ConditionalExpression: equivalent but for work, asked again while held `admit` hands out the same pending wait, and the second resumption finds nothing left to run
    if (this.held) return;
    const wait = this.server.admit?.();
    if (wait !== undefined) {
      this.held = true;
      const go = (): void => {
        this.held = false;
        if (!this.gone && !this.ending) this.run();
      };
      wait.then(go, go);
      this.updateReading();
      return;
    }
    this.running = true;
    while (!this.blocked && !this.waitingDrain && !this.ending && this.gate.heldSize < soft) {
      const args = ranged ? parser.nextRanges() : parser.next();
      if (args === null) break;
      const isRanges = args instanceof ArgRanges;
      if (!isRanges && !Array.isArray(args)) {
        this.protocolError(args);
        break;
      }
      ran++;
      const mark = out.length;
      try {
        const r = isRanges ? (handler.commandRanges as NonNullable<typeof handler.commandRanges>)(session, args, out) : handler.command(session, args, out);
        if (r !== undefined) {
          const kind = (r as Reply).kind;
          if (kind === undefined) this.awaitReply(r as Promise<Reply>);
          else if (kind === 'close') this.closeAfter(r as Reply);
          else encodeReply(out, r as Reply, this.proto());
        }
      } catch (e) {
        out.truncate(mark);
        this.handlerFailed(e, args);
      }
      // Past the soft limit mid-pipeline: hand the batch to the socket now and see if it keeps up.
      if (out.length >= soft) this.flush();
    }
    this.running = false;
    this.commands += ran;
    this.server.stats.commandsProcessed += ran;
    // Stryker disable next-line all: equivalent but for work, a connection queued twice or with nothing to write flushes nothing more
    if (!this.flushPending && (this.out.length > 0 || this.ending)) {
      // Stryker disable next-line BooleanLiteral: equivalent but for work, as above
      this.flushPending = true;
      this.server.deferFlush(this);
    }
    this.updateReading();
  }

  /** The end-of-turn write the server queued for this connection. */
  flushDeferred(): void {
    this.flushPending = false;
    this.flush();
    this.updateReading();
  }

  /** One socket write of everything encoded since the last flush; enforces the output limits. */
  private flush(): void {
    if (this.gone) return;
    const pending = this.pendingOutput();
    if (pending > this.peakPending) this.peakPending = pending;
    if (pending > this.server.limits.hardOutputBufferBytes) {
      this.server.stats.outputLimitDisconnects++;
      this.server.logger.warn(
        { client: this.id, remoteAddress: this.remoteAddress, pendingOutputBytes: pending },
        'resp: output buffer hard limit exceeded, closing connection',
      );
      this.ending = true;
      this.out.reset();
      this.socket.destroy();
      return;
    }
    if (this.out.length > 0) {
      const commit = this.server.beforeFlush?.();
      // Behind a held batch, replies wait their turn even when they need no gate of their own.
      if (commit === undefined && this.gate.idle) {
        if (!this.socket.write(this.out.take()) && !this.ending) this.waitingDrain = true;
      } else {
        this.gate.hold(this.out.take(), commit);
      }
    }
    if (this.ending && this.gate.idle) this.finish();
  }

  /** A held batch whose gate opened, in order. */
  private release(bytes: Uint8Array): void {
    if (this.gone) return;
    if (!this.socket.write(bytes) && !this.ending) this.waitingDrain = true;
    if (this.ending) {
      if (this.gate.idle) this.finish();
      return;
    }
    this.run(); // commands stopped at the held-output limit continue
  }

  private gateFailed(e: unknown): void {
    if (this.gone) return;
    this.server.logger.error({ err: e, client: this.id, remoteAddress: this.remoteAddress }, 'resp: replies withheld (beforeFlush failed); closing connection');
    this.ending = true;
    this.out.reset();
    this.socket.destroy();
  }

  /** Pauses or resumes reading the socket to match whether commands may run. */
  private updateReading(): void {
    if (this.gone) return;
    const stop = this.blocked || this.held || this.waitingDrain || this.gate.heldSize >= this.softLimit;
    if (stop && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    } else if (!stop && this.readPaused && !this.ending) {
      this.readPaused = false;
      this.socket.resume();
    }
  }

  private awaitReply(p: Promise<Reply>): void {
    if (typeof p?.then !== 'function') throw new TypeError(`handler returned ${typeof p}, not a Reply or Promise`);
    this.blocked = true;
    p.then(
      (r) => this.asyncDone(r, null),
      (e: unknown) => this.asyncDone(null, e),
    );
  }

  private asyncDone(r: Reply | null, e: unknown): void {
    this.blocked = false;
    if (this.gone || this.ending) return;
    if (r === null || typeof r !== 'object') {
      this.handlerFailed(e ?? new TypeError('async command resolved to no reply'), null);
    } else {
      const mark = this.out.length;
      try {
        if (r.kind === 'close') this.closeAfter(r);
        else encodeReply(this.out, r, this.proto());
      } catch (err) {
        this.out.truncate(mark);
        this.handlerFailed(err, null);
      }
    }
    this.run(); // the commands pipelined behind it, then one flush
  }

  private handlerFailed(e: unknown, args: Buffer[] | ArgRanges | null): void {
    this.server.stats.handlerErrors++;
    this.server.logger.error(
      {
        err: e,
        client: this.id,
        remoteAddress: this.remoteAddress,
        command: (args instanceof ArgRanges ? args.arg(0) : args?.[0])?.toString('latin1').slice(0, 64),
      },
      'resp: command handler failed',
    );
    encodeReply(this.out, INTERNAL_ERROR);
  }

  private protocolError(e: RespProtocolError): void {
    this.server.stats.protocolErrors++;
    this.server.logger.warn(
      { client: this.id, remoteAddress: this.remoteAddress, code: e.code },
      `resp: ${e.message}; closing connection`,
    );
    this.out.writeError(e.message);
    this.ending = true;
  }

  private closeAfter(r: Reply): void {
    encodeReply(this.out, r, this.proto());
    this.ending = true;
  }

  /** Half-closes after the final reply; destroys if the peer does not close in time. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.socket.end();
    this.socket.resume(); // read and drop anything else it sends, so the close is graceful
    this.socket.setTimeout(CLOSE_GRACE_MS, () => this.socket.destroy());
  }
}
