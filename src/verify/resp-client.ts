// A minimal RESP2 client for the verify harness and the load bench: one request in flight per
// connection, a deadline per request, and an outcome that says whether the command may have run.
// (ioredis is a test-only dependency, and its retries would hide exactly what verify must record.)

import { connect, type Socket } from 'node:net';

export type RespReply = number | string | null | { error: string } | RespReply[];

/**
 * What happened to one command:
 * - `ok`: the node answered (possibly with an error reply, see `reply`);
 * - `fail`: the command certainly never reached the node (no connection);
 * - `doubt`: it was written but no answer came (timeout, reset, close): it may or may not have run.
 */
export type RespOutcome = { kind: 'ok'; reply: RespReply } | { kind: 'fail'; why: string } | { kind: 'doubt'; why: string };

function encode(args: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Parses one reply at `pos`; returns it and the position after it, or null if incomplete. */
export function parseReply(buf: Buffer, pos: number): [RespReply, number] | null {
  if (pos >= buf.length) return null;
  const eol = buf.indexOf('\r\n', pos);
  if (eol === -1) return null;
  const type = buf[pos];
  const line = buf.toString('utf8', pos + 1, eol);
  const after = eol + 2;
  switch (type) {
    case 43: // +
      return [line, after];
    case 45: // -
      return [{ error: line }, after];
    case 58: // :
      return [Number(line), after];
    case 36: {
      // $
      const len = Number(line);
      if (len < 0) return [null, after];
      if (buf.length < after + len + 2) return null;
      return [buf.toString('utf8', after, after + len), after + len + 2];
    }
    case 42: {
      // *
      const n = Number(line);
      if (n < 0) return [null, after];
      const out: RespReply[] = [];
      let p = after;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (r === null) return null;
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    default:
      return [{ error: `unparseable reply byte ${String(type)}` }, buf.length];
  }
}

/** One connection to one node. Reconnects lazily on the next command after any failure. */
export class RespConnection {
  private sock: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private waiter: ((r: RespReply | Error) => void) | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly timeoutMs: number,
  ) {}

  private open(): Promise<Socket> {
    if (this.sock !== null) return Promise.resolve(this.sock);
    if (this.connecting !== null) return this.connecting;
    this.connecting = new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: this.host, port: this.port });
      s.setNoDelay(true);
      const timer = setTimeout(() => s.destroy(new Error('connect timeout')), this.timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        this.sock = s;
        this.buf = Buffer.alloc(0);
        resolve(s);
      });
      s.on('data', (d: Buffer) => this.onData(d));
      s.on('error', () => {});
      s.once('close', () => {
        clearTimeout(timer);
        if (this.sock === s) this.sock = null;
        reject(new Error('connection closed'));
        const w = this.waiter;
        this.waiter = null;
        w?.(new Error('connection closed'));
      });
    }).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    const r = parseReply(this.buf, 0);
    if (r === null) return;
    this.buf = this.buf.subarray(r[1]);
    const w = this.waiter;
    this.waiter = null;
    w?.(r[0]);
  }

  /** Runs one command. Never throws; see RespOutcome. */
  async command(args: readonly (string | number)[]): Promise<RespOutcome> {
    let s: Socket;
    try {
      s = await this.open();
    } catch (e) {
      return { kind: 'fail', why: (e as Error).message };
    }
    return new Promise<RespOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        // A late answer must not be taken for the next command's: drop the connection.
        this.close();
        resolve({ kind: 'doubt', why: 'timeout' });
      }, this.timeoutMs);
      this.waiter = (r) => {
        clearTimeout(timer);
        if (r instanceof Error) resolve({ kind: 'doubt', why: r.message });
        else resolve({ kind: 'ok', reply: r });
      };
      s.write(encode(args));
    });
  }

  close(): void {
    const s = this.sock;
    this.sock = null;
    s?.destroy();
  }
}
