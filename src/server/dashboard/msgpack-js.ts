// The dashboard's msgpack codec, as browser JavaScript source served at /dashboard/msgpack.js: the
// subset of msgpack the WebSocket client API uses (docs/client-api.md), so the page needs no bundler,
// no CDN and nothing from node_modules. test/server/dashboard-msgpack.test.ts checks it against msgpackr.

export const MSGPACK_JS = String.raw`// tally dashboard: a small msgpack encoder/decoder (nil, bool, int, float64, str, bin, array, map).
'use strict';
var TallyMsgpack = (function () {
  var utf8 = new TextEncoder();
  var utf8d = new TextDecoder();

  function encode(value) {
    var out = [];
    write(out, value);
    return new Uint8Array(out);
  }

  function bytesBE(out, n, width) {
    for (var i = width - 1; i >= 0; i--) out.push(Math.floor(n / Math.pow(2, 8 * i)) & 0xff);
  }

  function write(out, v) {
    if (v === null || v === undefined) { out.push(0xc0); return; }
    if (v === false) { out.push(0xc2); return; }
    if (v === true) { out.push(0xc3); return; }
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -2147483648 && v <= 4294967295) {
        if (v >= 0 && v < 128) out.push(v);
        else if (v < 0 && v >= -32) out.push(v & 0xff);
        else if (v >= 0 && v < 256) out.push(0xcc, v);
        else if (v >= 0 && v < 65536) { out.push(0xcd); bytesBE(out, v, 2); }
        else if (v >= 0) { out.push(0xce); bytesBE(out, v, 4); }
        else if (v >= -128) out.push(0xd0, v & 0xff);
        else if (v >= -32768) { out.push(0xd1); bytesBE(out, v & 0xffff, 2); }
        else { out.push(0xd2); bytesBE(out, (v >>> 0), 4); }
        return;
      }
      var f = new DataView(new ArrayBuffer(8));
      f.setFloat64(0, v);
      out.push(0xcb);
      for (var j = 0; j < 8; j++) out.push(f.getUint8(j));
      return;
    }
    if (typeof v === 'string') {
      var s = utf8.encode(v);
      if (s.length < 32) out.push(0xa0 | s.length);
      else if (s.length < 256) out.push(0xd9, s.length);
      else if (s.length < 65536) { out.push(0xda); bytesBE(out, s.length, 2); }
      else { out.push(0xdb); bytesBE(out, s.length, 4); }
      for (var k = 0; k < s.length; k++) out.push(s[k]);
      return;
    }
    if (v instanceof Uint8Array) {
      if (v.length < 256) out.push(0xc4, v.length);
      else if (v.length < 65536) { out.push(0xc5); bytesBE(out, v.length, 2); }
      else { out.push(0xc6); bytesBE(out, v.length, 4); }
      for (var b = 0; b < v.length; b++) out.push(v[b]);
      return;
    }
    if (Array.isArray(v)) {
      if (v.length < 16) out.push(0x90 | v.length);
      else if (v.length < 65536) { out.push(0xdc); bytesBE(out, v.length, 2); }
      else { out.push(0xdd); bytesBE(out, v.length, 4); }
      for (var a = 0; a < v.length; a++) write(out, v[a]);
      return;
    }
    if (typeof v === 'object') {
      var keys = Object.keys(v).filter(function (key) { return v[key] !== undefined; });
      if (keys.length < 16) out.push(0x80 | keys.length);
      else if (keys.length < 65536) { out.push(0xde); bytesBE(out, keys.length, 2); }
      else { out.push(0xdf); bytesBE(out, keys.length, 4); }
      for (var m = 0; m < keys.length; m++) { write(out, keys[m]); write(out, v[keys[m]]); }
      return;
    }
    throw new TypeError('msgpack: cannot encode ' + typeof v);
  }

  /** Decodes one value; 64-bit integers outside the safe range become decimal strings (exact). */
  function decode(input) {
    var buf = input instanceof Uint8Array ? input : new Uint8Array(input);
    var view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    var pos = 0;
    function need(n) { if (pos + n > buf.length) throw new RangeError('msgpack: truncated'); }
    function u8() { need(1); return buf[pos++]; }
    function str(n) { need(n); var s = utf8d.decode(buf.subarray(pos, pos + n)); pos += n; return s; }
    function bin(n) { need(n); var b = buf.slice(pos, pos + n); pos += n; return b; }
    function arr(n) { var a = new Array(n); for (var i = 0; i < n; i++) a[i] = read(); return a; }
    function map(n) { var o = {}; for (var i = 0; i < n; i++) { var k = read(); o[String(k)] = read(); } return o; }
    function big(b) { return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString(); }
    function read() {
      var t = u8(), v;
      if (t < 0x80) return t;
      if (t >= 0xe0) return t - 256;
      if ((t & 0xf0) === 0x80) return map(t & 0x0f);
      if ((t & 0xf0) === 0x90) return arr(t & 0x0f);
      if ((t & 0xe0) === 0xa0) return str(t & 0x1f);
      switch (t) {
        case 0xc0: return null;
        case 0xc2: return false;
        case 0xc3: return true;
        case 0xc4: return bin(u8());
        case 0xc5: need(2); v = view.getUint16(pos); pos += 2; return bin(v);
        case 0xc6: need(4); v = view.getUint32(pos); pos += 4; return bin(v);
        case 0xca: need(4); v = view.getFloat32(pos); pos += 4; return v;
        case 0xcb: need(8); v = view.getFloat64(pos); pos += 8; return v;
        case 0xcc: return u8();
        case 0xcd: need(2); v = view.getUint16(pos); pos += 2; return v;
        case 0xce: need(4); v = view.getUint32(pos); pos += 4; return v;
        case 0xcf: need(8); v = view.getBigUint64(pos); pos += 8; return big(v);
        case 0xd0: need(1); v = view.getInt8(pos); pos += 1; return v;
        case 0xd1: need(2); v = view.getInt16(pos); pos += 2; return v;
        case 0xd2: need(4); v = view.getInt32(pos); pos += 4; return v;
        case 0xd3: need(8); v = view.getBigInt64(pos); pos += 8; return big(v);
        case 0xd9: return str(u8());
        case 0xda: need(2); v = view.getUint16(pos); pos += 2; return str(v);
        case 0xdb: need(4); v = view.getUint32(pos); pos += 4; return str(v);
        case 0xdc: need(2); v = view.getUint16(pos); pos += 2; return arr(v);
        case 0xdd: need(4); v = view.getUint32(pos); pos += 4; return arr(v);
        case 0xde: need(2); v = view.getUint16(pos); pos += 2; return map(v);
        case 0xdf: need(4); v = view.getUint32(pos); pos += 4; return map(v);
      }
      throw new TypeError('msgpack: unsupported type byte 0x' + t.toString(16));
    }
    return read();
  }

  return { encode: encode, decode: decode };
})();
`;
