// A RESP2 and RESP3 client for the Redis oracle that keeps each reply's exact bytes: the differential test
// compares servers byte for byte, so nothing here decodes a reply into values it could normalise.

import { connect, type Socket } from 'node:net';

/** One command as sent: its words, each a string (UTF-8) or raw bytes. */
export type Words = readonly (string | Buffer)[];

/** The command as a RESP multibulk request (what redis-cli and every client library send). */
export function encodeCommand(words: Words): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${words.length}\r\n`)];
  for (const w of words) {
    const b = typeof w === 'string' ? Buffer.from(w, 'utf8') : w;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/**
 * The offset just past the one complete RESP2 reply that starts at `pos`, or null if `buf` does not
 * hold all of it yet. Throws on a byte that starts no RESP2 reply: the stream cannot be resynchronised.
 */
export function replyEnd(buf: Buffer, pos: number): number | null {
  if (pos >= buf.length) return null;
  const eol = buf.indexOf('\r\n', pos);
  if (eol === -1) return null;
  const type = buf[pos];
  const after = eol + 2;
  switch (type) {
    case 0x2b: // + simple string
    case 0x2d: // - error
    case 0x3a: // : integer
      return after;
    case 0x24: {
      // $ bulk string
      const len = Number(buf.toString('latin1', pos + 1, eol));
      if (len < 0) return after;
      return buf.length < after + len + 2 ? null : after + len + 2;
    }
    case 0x2a: // * array
    case 0x7e: // ~ set (RESP3)
    case 0x3e: // > push (RESP3)
    case 0x25: {
      // % map (RESP3): two replies per entry
      const n = Number(buf.toString('latin1', pos + 1, eol)) * (type === 0x25 ? 2 : 1);
      let p = after;
      for (let i = 0; i < n; i++) {
        const e = replyEnd(buf, p);
        if (e === null) return null;
        p = e;
      }
      return p;
    }
    case 0x5f: // _ null (RESP3)
    case 0x23: // # boolean
    case 0x2c: // , double
    case 0x28: // ( big number
      return after;
    case 0x3d: {
      // = verbatim string (RESP3), framed as a bulk string
      const len = Number(buf.toString('latin1', pos + 1, eol));
      return buf.length < after + len + 2 ? null : after + len + 2;
    }
    default:
      throw new Error(`not a RESP reply: byte 0x${(type ?? 0).toString(16)} at offset ${pos} of ${JSON.stringify(buf.toString('latin1'))}`);
  }
}

/** Shows reply bytes readably in a failure message: printable ASCII as is, CR LF and the rest escaped. */
export function showBytes(b: Buffer): string {
  let s = '';
  for (const c of b) {
    if (c === 0x0d) s += '\\r';
    else if (c === 0x0a) s += '\\n';
    else if (c === 0x5c) s += '\\\\';
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

interface Pending {
  resolve(reply: Buffer): void;
  reject(e: Error): void;
}

/** One connection; requests may be pipelined, replies come back in order as exact byte strings. */
export class RawRespClient {
  private buf: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private failure: Error | null = null;

  private constructor(
    private readonly sock: Socket,
    readonly name: string,
    private readonly timeoutMs: number,
  ) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.fail(new Error(`${name}: connection closed`)));
  }

  /** Connects to 127.0.0.1:`port`; `name` labels errors ("redis", "tally"). */
  static connect(port: number, name: string, timeoutMs = 5_000): Promise<RawRespClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port });
      const timer = setTimeout(() => s.destroy(new Error(`${name}: connect to port ${port} timed out`)), timeoutMs);
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(new RawRespClient(s, name, timeoutMs));
      });
    });
  }

  /** Sends one command and resolves with its reply's exact bytes (rejects if none comes in time). */
  send(words: Words): Promise<Buffer> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`${this.name}: no reply to ${words.map(String).join(' ')} within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending.push({
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.sock.write(encodeCommand(words));
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    for (;;) {
      let end: number | null;
      try {
        end = replyEnd(this.buf, 0);
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      if (end === null) return;
      const reply = Buffer.from(this.buf.subarray(0, end));
      this.buf = this.buf.subarray(end);
      const p = this.pending.shift();
      if (p === undefined) {
        this.fail(new Error(`${this.name}: unexpected reply ${showBytes(reply)}`));
        return;
      }
      p.resolve(reply);
    }
  }

  private fail(e: Error): void {
    if (this.failure === null) this.failure = e;
    this.sock.destroy();
    for (const p of this.pending.splice(0)) p.reject(this.failure);
  }
}
