// Full keys: one char for the database (0-15) followed by the key's bytes as latin1, so binary keys
// round-trip exactly and every protocol (RESP bytes, WebSocket strings) maps to one form.

/** Number of databases (SELECT 0..15). */
export const DATABASES = 16;

/** Buffer's latin1 decoder without the `toString` dispatch (present on every Node Buffer, not typed). */
type Latin1Decoder = { latin1Slice(start: number, end: number): string };

/** Scratch bytes for building a full key (db byte + key bytes), so one decode yields one flat string. */
let keyScratch = Buffer.allocUnsafeSlow(256);
/** Keys longer than this are converted without the scratch buffer (which never grows past it). */
const SCRATCH_MAX = 64 * 1024;

/** The full key of `key` in database `db`. */
export function fullKey(db: number, key: Uint8Array | string): string {
  if (typeof key === 'string') return String.fromCharCode(db) + keyBytesOf(key);
  return fullKeyAt(db, key, 0, key.length);
}

/** The full key, in database `db`, of the key whose bytes are `bytes[start, end)` (a RESP argument's range). */
export function fullKeyAt(db: number, bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n >= SCRATCH_MAX) {
    // Viewed, not copied.
    return String.fromCharCode(db) + Buffer.from(bytes.buffer, bytes.byteOffset + start, n).toString('latin1');
  }
  // Hot path (every RESP key): copy into scratch and decode once. Concatenating the db char to a
  // decoded key instead makes a cons string, which V8 must flatten again to hash it as a Map key.
  if (n >= keyScratch.length) keyScratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(n + 1, 2 * keyScratch.length)));
  const s = keyScratch;
  s[0] = db;
  // Stryker disable next-line all: the loop and set() copy the same bytes; the cut at 32 is for speed only
  if (n <= 32) for (let i = 0; i < n; i++) s[i + 1] = bytes[start + i] as number;
  else s.set(bytes.subarray(start, end), 1);
  return (s as unknown as Latin1Decoder).latin1Slice(0, n + 1);
}

/**
 * Below this length V8 makes neither a sliced string (a view of a longer one, which keeps it alive)
 * nor a cons string (two parts joined): every string is flat.
 */
const VIEW_MIN = 13;

/**
 * `key` as a flat string of its own, for a key table to hold for as long as the key lives. A key
 * decoded from a peer's frame is often a view of a longer string: msgpackr reads a frame's strings
 * as one and hands out slices, and V8 makes a slice of 13 chars or more a view that keeps the whole
 * alive. Held by the key table, a million such keys kept their frames' strings: at 3 million keys
 * `user:N` each peer held 80 MB more heap than the writer (27 B a key), at 10 million 36 B a key.
 * A key joined from parts (`fullKey` of a string) is the same story, a cons string. Keys under 13
 * chars, and chars past latin1 (not a full key's), are returned as they are.
 */
export function flatKey(key: string): string {
  const n = key.length;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent but for memory and work, a short key copied is the same key
  if (n < VIEW_MIN || n >= SCRATCH_MAX) return key;
  // Stryker disable next-line ConditionalExpression,EqualityOperator,MethodExpression,ArithmeticOperator: equivalent but for memory and work, a scratch buffer made anew or larger copies the same bytes
  if (n > keyScratch.length) keyScratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(n, 2 * keyScratch.length)));
  const s = keyScratch;
  // Stryker disable next-line EqualityOperator: equivalent, one byte past the key is written and not read
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    // Stryker disable next-line EqualityOperator: equivalent but for memory, a key with a char 0xff held as it came
    if (c > 0xff) return key;
    s[i] = c;
  }
  return (s as unknown as Latin1Decoder).latin1Slice(0, n);
}

/**
 * A key name (or a glob pattern over key names) given as text, in the key representation: its UTF-8
 * bytes as latin1 chars, the form a full key holds after its db char. Patterns must be converted
 * this way once before they are matched against keys (`vües:*` against the key `vües:1`).
 */
export function keyBytesOf(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Splits a full key into its database and the key as a Buffer. */
export function splitKey(full: string): { db: number; key: Buffer } {
  return { db: full.charCodeAt(0), key: Buffer.from(full.slice(1), 'latin1') };
}
