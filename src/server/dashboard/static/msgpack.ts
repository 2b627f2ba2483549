// The dashboard's msgpack codec (browser ES module, served at /dashboard/msgpack.js): the subset of
// msgpack the WebSocket client API uses (nil, bool, int, float64, str, bin, array, map; docs/client-api.md),
// so the page needs no bundler, no CDN and nothing from node_modules. test/server/dashboard-msgpack.test.ts
// checks it against msgpackr, the server's codec. It uses nothing Node- or DOM-specific.

/** What `encode` accepts and `decode` returns. Integers beyond 2^53 decode as decimal strings. */
export type MsgpackValue = null | boolean | number | string | Uint8Array | MsgpackValue[] | { [key: string]: MsgpackValue | undefined };

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Encodes one value; `undefined` encodes as nil, and map entries whose value is `undefined` are left out. */
export function encode(value: unknown): Uint8Array {
  const out: number[] = [];
  write(out, value);
  return new Uint8Array(out);
}

function bytesBE(out: number[], n: number, width: number): void {
  for (let i = width - 1; i >= 0; i--) out.push(Math.floor(n / Math.pow(2, 8 * i)) & 0xff);
}

function write(out: number[], v: unknown): void {
  if (v === null || v === undefined) {
    out.push(0xc0);
    return;
  }
  if (v === false) {
    out.push(0xc2);
    return;
  }
  if (v === true) {
    out.push(0xc3);
    return;
  }
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= -2147483648 && v <= 4294967295) {
      if (v >= 0 && v < 128) out.push(v);
      else if (v < 0 && v >= -32) out.push(v & 0xff);
      else if (v >= 0 && v < 256) out.push(0xcc, v);
      else if (v >= 0 && v < 65536) {
        out.push(0xcd);
        bytesBE(out, v, 2);
      } else if (v >= 0) {
        out.push(0xce);
        bytesBE(out, v, 4);
      } else if (v >= -128) out.push(0xd0, v & 0xff);
      else if (v >= -32768) {
        out.push(0xd1);
        bytesBE(out, v & 0xffff, 2);
      } else {
        out.push(0xd2);
        bytesBE(out, v >>> 0, 4);
      }
      return;
    }
    const f = new DataView(new ArrayBuffer(8));
    f.setFloat64(0, v);
    out.push(0xcb);
    for (let j = 0; j < 8; j++) out.push(f.getUint8(j));
    return;
  }
  if (typeof v === 'string') {
    const s = utf8.encode(v);
    if (s.length < 32) out.push(0xa0 | s.length);
    else if (s.length < 256) out.push(0xd9, s.length);
    else if (s.length < 65536) {
      out.push(0xda);
      bytesBE(out, s.length, 2);
    } else {
      out.push(0xdb);
      bytesBE(out, s.length, 4);
    }
    for (const byte of s) out.push(byte);
    return;
  }
  if (v instanceof Uint8Array) {
    if (v.length < 256) out.push(0xc4, v.length);
    else if (v.length < 65536) {
      out.push(0xc5);
      bytesBE(out, v.length, 2);
    } else {
      out.push(0xc6);
      bytesBE(out, v.length, 4);
    }
    for (const byte of v) out.push(byte);
    return;
  }
  if (Array.isArray(v)) {
    if (v.length < 16) out.push(0x90 | v.length);
    else if (v.length < 65536) {
      out.push(0xdc);
      bytesBE(out, v.length, 2);
    } else {
      out.push(0xdd);
      bytesBE(out, v.length, 4);
    }
    for (const item of v) write(out, item);
    return;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((key) => o[key] !== undefined);
    if (keys.length < 16) out.push(0x80 | keys.length);
    else if (keys.length < 65536) {
      out.push(0xde);
      bytesBE(out, keys.length, 2);
    } else {
      out.push(0xdf);
      bytesBE(out, keys.length, 4);
    }
    for (const key of keys) {
      write(out, key);
      write(out, o[key]);
    }
    return;
  }
  throw new TypeError('msgpack: cannot encode ' + typeof v);
}

/** Decodes one value; 64-bit integers outside the safe range become decimal strings (exact). */
export function decode(input: Uint8Array | ArrayBuffer): MsgpackValue {
  const buf = input instanceof Uint8Array ? input : new Uint8Array(input);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > buf.length) throw new RangeError('msgpack: truncated');
  };
  const u8 = (): number => {
    need(1);
    return buf[pos++] as number;
  };
  const str = (n: number): string => {
    need(n);
    const s = utf8d.decode(buf.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const bin = (n: number): Uint8Array => {
    need(n);
    const b = buf.slice(pos, pos + n);
    pos += n;
    return b;
  };
  const arr = (n: number): MsgpackValue[] => {
    const a = new Array<MsgpackValue>(n);
    for (let i = 0; i < n; i++) a[i] = read();
    return a;
  };
  const map = (n: number): { [key: string]: MsgpackValue } => {
    const o: { [key: string]: MsgpackValue } = {};
    for (let i = 0; i < n; i++) {
      const k = read();
      o[String(k)] = read();
    }
    return o;
  };
  const big = (b: bigint): number | string => (b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString());
  /** Reads `width` bytes at pos with `get` and moves past them. */
  const num = <T>(width: number, get: (at: number) => T): T => {
    need(width);
    const v = get(pos);
    pos += width;
    return v;
  };
  const read = (): MsgpackValue => {
    const t = u8();
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 256;
    if ((t & 0xf0) === 0x80) return map(t & 0x0f);
    if ((t & 0xf0) === 0x90) return arr(t & 0x0f);
    if ((t & 0xe0) === 0xa0) return str(t & 0x1f);
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return bin(u8());
      case 0xc5:
        return bin(num(2, (at) => view.getUint16(at)));
      case 0xc6:
        return bin(num(4, (at) => view.getUint32(at)));
      case 0xca:
        return num(4, (at) => view.getFloat32(at));
      case 0xcb:
        return num(8, (at) => view.getFloat64(at));
      case 0xcc:
        return u8();
      case 0xcd:
        return num(2, (at) => view.getUint16(at));
      case 0xce:
        return num(4, (at) => view.getUint32(at));
      case 0xcf:
        return big(num(8, (at) => view.getBigUint64(at)));
      case 0xd0:
        return num(1, (at) => view.getInt8(at));
      case 0xd1:
        return num(2, (at) => view.getInt16(at));
      case 0xd2:
        return num(4, (at) => view.getInt32(at));
      case 0xd3:
        return big(num(8, (at) => view.getBigInt64(at)));
      case 0xd9:
        return str(u8());
      case 0xda:
        return str(num(2, (at) => view.getUint16(at)));
      case 0xdb:
        return str(num(4, (at) => view.getUint32(at)));
      case 0xdc:
        return arr(num(2, (at) => view.getUint16(at)));
      case 0xdd:
        return arr(num(4, (at) => view.getUint32(at)));
      case 0xde:
        return map(num(2, (at) => view.getUint16(at)));
      case 0xdf:
        return map(num(4, (at) => view.getUint32(at)));
    }
    throw new TypeError('msgpack: unsupported type byte 0x' + t.toString(16));
  };
  return read();
}
