/**
 * The dense integer ids the version logs index keys by: the key table's (key-table.ts), which hands
 * an id to a key when it enters the table and takes it back only after the logs forgot it. A log
 * keeps ids, not strings: an entry costs 12 bytes in two typed arrays, and a key's latest version
 * per origin 4 bytes in a column indexed by id (8 before its cells were 32 bits around a page's
 * base), where a Map from the key's string cost 40-44 bytes per key per origin (a million and
 * 100,000 keys) and a hash-table operation per record.
 */
export interface KeyIds {
  /** The id of `key`, or -1 if no key of that name is held. */
  idOf(key: string): number;
  /** The key holding `id`, or undefined. */
  keyOf(id: number): string | undefined;
}

/** Ids of its own for a log used apart from a key table (tests, tools): every key keeps its first id. */
export class OwnKeyIds implements KeyIds {
  private readonly ids = new Map<string, number>();
  // Stryker disable next-line ArrayDeclaration: equivalent, ids would start at 1 instead of 0
  private readonly keys: string[] = [];

  idOf(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.ids.set(key, id);
      this.keys.push(key);
    }
    return id;
  }

  keyOf(id: number): string | undefined {
    return this.keys[id];
  }
}

const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE - 1;
/** A page of a column turns dense (an array of 4,096 cells: 16 KiB, 32 wide) at this many keys, sparse again below the next. */
const DENSE_AT = 256;
const SPARSE_BELOW = 64;

/** A narrow page's cell holds the version minus its page's base plus this (0: none). */
const OFFSET = 0x80000000;
const CELL_MAX = 0xffffffff;

/** The version a narrow page's cell `c` holds around `base` (0: none). */
function fromCell(c: number, base: number): number {
  return c === 0 ? 0 : base + c - OFFSET;
}

/**
 * Per key id, the latest version an origin's log holds of it (0: none), in pages of 4,096 ids. A page
 * is a small Map while it holds few keys (a log whose keys are scattered over the id space, such as
 * an old incarnation's few left), an array of 4,096 versions once it holds many (a writer's). That
 * array is 32-bit cells around a base of the page's own (versions within 2^31 of it either way: the
 * versions of a page's keys, numbered by one origin, lie close together unless the page's keys were
 * written years apart at full speed), and 64-bit cells only for a page whose versions do not fit:
 * 4 bytes per key per origin where every key cost 8, on every node (bench scale, three writers:
 * 12 of 158 bytes per key).
 */
export class VersionColumn {
  private readonly narrow: (Uint32Array | undefined)[] = [];
  /** Each narrow page's base (read only while the page is narrow). */
  private readonly bases: number[] = [];
  private readonly wide: (Float64Array | undefined)[] = [];
  private readonly sparse: (Map<number, number> | undefined)[] = [];
  private readonly counts: number[] = [];
  size = 0;

  get(id: number): number {
    const p = id >>> PAGE_BITS;
    const n = this.narrow[p];
    if (n !== undefined) {
      return fromCell(n[id & PAGE_MASK] as number, this.bases[p] as number);
    }
    const w = this.wide[p];
    if (w !== undefined) return w[id & PAGE_MASK] as number;
    return this.sparse[p]?.get(id & PAGE_MASK) ?? 0;
  }

  /** Sets the version of `id` (> 0); returns the one it replaced (0: none). */
  set(id: number, version: number): number {
    const p = id >>> PAGE_BITS;
    const i = id & PAGE_MASK;
    const n = this.narrow[p];
    let prev: number;
    if (n !== undefined) {
      prev = fromCell(n[i] as number, this.bases[p] as number);
      this.putNarrow(p, n, i, version);
    } else {
      const w = this.wide[p];
      if (w !== undefined) {
        prev = w[i] as number;
        w[i] = version;
      } else {
        let s = this.sparse[p];
        if (s === undefined) {
          while (this.counts.length <= p) this.counts.push(0);
          this.sparse[p] = s = new Map();
        }
        prev = s.get(i) ?? 0;
        s.set(i, version);
        if (prev === 0 && (this.counts[p] as number) + 1 >= DENSE_AT) this.densify(p, s, version);
      }
    }
    if (prev === 0) {
      this.counts[p] = (this.counts[p] as number) + 1;
      this.size++;
    }
    return prev;
  }

  /**
   * Sets the version of `id` to `version` if it holds `from` now (a version, so above 0); returns
   * whether it did. A sparse page is looked up once where `get` then `set` looked it up three times:
   * a hot key alone in its page, written over and over (INCR in redis-benchmark), paid for each.
   */
  replace(id: number, from: number, version: number): boolean {
    if (from === 0) return false;
    const p = id >>> PAGE_BITS;
    const i = id & PAGE_MASK;
    const n = this.narrow[p];
    if (n !== undefined) {
      if (fromCell(n[i] as number, this.bases[p] as number) !== from) return false;
      this.putNarrow(p, n, i, version);
      return true;
    }
    const w = this.wide[p];
    if (w !== undefined) {
      if (w[i] !== from) return false;
      w[i] = version;
      return true;
    }
    const s = this.sparse[p];
    if (s === undefined || s.get(i) !== from) return false;
    s.set(i, version);
    return true;
  }

  /** Writes `version` into cell `i` of the narrow page `p` (`n`), or into its page made wide if the cells cannot hold it. */
  private putNarrow(p: number, n: Uint32Array, i: number, version: number): void {
    const to = version - (this.bases[p] as number) + OFFSET;
    if (to >= 1 && to <= CELL_MAX) n[i] = to;
    else this.widen(p)[i] = version;
  }

  /** Makes page `p` an array of its sparse versions `s`: narrow around `base` if they all fit, else wide. */
  private densify(p: number, s: Map<number, number>, base: number): void {
    this.sparse[p] = undefined;
    let fits = true;
    for (const v of s.values()) {
      const c = v - base + OFFSET;
      if (c < 1 || c > CELL_MAX) fits = false;
    }
    if (!fits) {
      const w = new Float64Array(PAGE);
      for (const [j, v] of s) w[j] = v;
      this.wide[p] = w;
      return;
    }
    const n = new Uint32Array(PAGE);
    // Stryker disable next-line ArithmeticOperator: equivalent, OFFSET is 2^31 and a 32-bit cell keeps the value modulo 2^32, so + and - store the same
    for (const [j, v] of s) n[j] = v - base + OFFSET;
    this.narrow[p] = n;
    this.bases[p] = base;
  }

  /** Page `p`, narrow, made wide (a version that does not fit its cells); returns its new array. */
  private widen(p: number): Float64Array {
    const n = this.narrow[p] as Uint32Array;
    const base = this.bases[p] as number;
    const w = new Float64Array(PAGE);
    // Stryker disable next-line EqualityOperator: equivalent, a cell past the page reads undefined and is written nowhere
    for (let j = 0; j < PAGE; j++) w[j] = fromCell(n[j] as number, base);
    this.narrow[p] = undefined;
    this.wide[p] = w;
    return w;
  }

  /** Clears `id`; returns whether it held a version. */
  delete(id: number): boolean {
    const p = id >>> PAGE_BITS;
    const i = id & PAGE_MASK;
    const dense = this.narrow[p] ?? this.wide[p];
    if (dense !== undefined) {
      if (dense[i] === 0) return false;
      dense[i] = 0;
    } else {
      const s = this.sparse[p];
      if (s === undefined || !s.delete(i)) return false;
    }
    const left = (this.counts[p] as number) - 1;
    this.counts[p] = left;
    this.size--;
    if (left === 0) {
      this.narrow[p] = undefined;
      this.wide[p] = undefined;
      this.sparse[p] = undefined;
    } else if (dense !== undefined && left < SPARSE_BELOW) {
      const s = new Map<number, number>();
      for (let j = 0; j < PAGE; j++) if (dense[j] !== 0) s.set(j, this.get((p << PAGE_BITS) | j));
      this.sparse[p] = s;
      this.narrow[p] = undefined;
      this.wide[p] = undefined;
    }
    return true;
  }

  /** Whether `id` holds a version. */
  has(id: number): boolean {
    return this.get(id) !== 0;
  }

  /** Pages of 32-bit and of 64-bit cells (for tests). */
  get pages(): { narrow: number; wide: number } {
    let narrow = 0;
    let wide = 0;
    for (const n of this.narrow) if (n !== undefined) narrow++;
    for (const w of this.wide) if (w !== undefined) wide++;
    return { narrow, wide };
  }
}
