// Where each value of a JSON text is, so config errors can say "line 7, column 19": a small JSON
// reader that records the position of every value by its JSON path (`nodes[2].respPort`), and the
// line and column of the first syntax error. The value itself always comes from JSON.parse, so the
// two can never disagree on what the file means; this file only adds positions.

/** A 1-based line and column (columns count UTF-16 code units, as editors mostly do). */
export interface SourcePos {
  line: number;
  column: number;
}

export type JsonSource =
  | { ok: true; value: unknown; positions: ReadonlyMap<string, SourcePos> }
  | { ok: false; error: { message: string; pos: SourcePos } };

/** The position of the value at `path`, or of its nearest ancestor that is in the map (a missing field: its object). */
export function positionOf(positions: ReadonlyMap<string, SourcePos>, path: string): SourcePos | undefined {
  let p = path;
  for (;;) {
    const found = positions.get(p);
    if (found !== undefined) return found;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) return positions.get('');
    p = p.slice(0, cut);
  }
}

class SyntaxAt extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Line and column of a character offset in `text`. */
export function posAt(text: string, offset: number): SourcePos {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** Parses `text` as JSON: its value and the position of every value, or the first syntax error and where it is. */
export function parseJsonSource(text: string): JsonSource {
  const positions = new Map<string, SourcePos>();
  let rootPos: SourcePos | undefined;
  let i = 0;
  const peek = (): string => text[i] ?? '';
  const shown = (): string => (i >= text.length ? 'the end of the file' : `'${text[i] === '\n' ? '\\n' : text[i]}'`);
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const child = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);
  const str = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) throw new SyntaxAt('unterminated string', start);
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          out += e;
          i += 2;
          continue;
        }
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
          continue;
        }
        throw new SyntaxAt('bad escape in string', i);
      }
      if (c.charCodeAt(0) < 0x20) throw new SyntaxAt(c === '\n' ? 'unterminated string (a line break inside it)' : 'control character in string', i);
      out += c;
      i++;
    }
  };
  const value = (path: string): void => {
    ws();
    positions.set(path, posAt(text, i));
    rootPos ??= posAt(text, i);
    const c = peek();
    if (c === '{') {
      i++;
      ws();
      if (peek() === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (peek() !== '"') throw new SyntaxAt(`expected a field name in double quotes, found ${shown()}`, i);
        const key = str();
        ws();
        if (peek() !== ':') throw new SyntaxAt(`expected ':' after "${key}", found ${shown()}`, i);
        i++;
        value(child(path, key));
        ws();
        if (peek() === ',') {
          i++;
          ws();
          if (peek() === '}') throw new SyntaxAt("trailing comma before '}'", i);
          continue;
        }
        if (peek() === '}') {
          i++;
          return;
        }
        throw new SyntaxAt(`expected ',' or '}' after the value of "${key}", found ${shown()}`, i);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (peek() === ']') {
        i++;
        return;
      }
      for (let k = 0; ; k++) {
        value(`${path}[${k}]`);
        ws();
        if (peek() === ',') {
          i++;
          ws();
          if (peek() === ']') throw new SyntaxAt("trailing comma before ']'", i);
          continue;
        }
        if (peek() === ']') {
          i++;
          return;
        }
        throw new SyntaxAt(`expected ',' or ']' in a list, found ${shown()}`, i);
      }
    }
    if (c === '"') {
      str();
      return;
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m !== null && m[0] !== '' && m[0] !== '-') {
      i += m[0].length;
      return;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    if (i >= text.length) throw new SyntaxAt('unexpected end of the file: a value is missing', i);
    if (c === "'") throw new SyntaxAt("strings take double quotes, not '", i);
    if (c === '/') throw new SyntaxAt('JSON has no comments (use a "$comment" field)', i);
    throw new SyntaxAt(`expected a value, found ${shown()}`, i);
  };
  try {
    value('');
    // Set again: a top-level field named "" has the path '' too, and '' means the whole value.
    if (rootPos !== undefined) positions.set('', rootPos);
    ws();
    if (i < text.length) throw new SyntaxAt(`unexpected ${shown()} after the end of the JSON value`, i);
  } catch (e) {
    if (e instanceof SyntaxAt) return { ok: false, error: { message: e.message, pos: posAt(text, e.offset) } };
    throw e;
  }
  try {
    return { ok: true, value: JSON.parse(text), positions };
  } catch (e) {
    // Not expected (the reader above accepted it); report JSON.parse's reason at the file's start.
    return { ok: false, error: { message: (e as Error).message, pos: { line: 1, column: 1 } } };
  }
}
