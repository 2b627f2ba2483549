/**
 * The dense integer ids the version logs index keys by: the key table's (key-table.ts), which hands
 * an id to a key when it enters the table and takes it back only after the logs forgot it. A log
 * keeps ids, not strings: an entry costs 12 bytes in two typed arrays, and a key's latest version
 * per origin 8 bytes in a column indexed by id, where a Map from the key's string cost 40-44 bytes
 * per key per origin (a million and 100,000 keys) and a hash-table operation per record.
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
/** A page of a column turns dense (a Float64Array of 32 KiB) at this many keys, sparse again below the next. */
const DENSE_AT = 256;
const SPARSE_BELOW = 64;

/**
 * Per key id, the latest version an origin's log holds of it (0: none), in pages of 4,096 ids. A page
 * is a small Map while it holds few keys (a log whose keys are scattered over the id space, such as
 * an old incarnation's few left), an array of 4,096 versions once it holds many (a writer's).
 */
export class VersionColumn {
  private readonly dense: (Float64Array | undefined)[] = [];
  private readonly sparse: (Map<number, number> | undefined)[] = [];
  private readonly counts: number[] = [];
  size = 0;

  get(id: number): number {
    const p = id >>> PAGE_BITS;
    const d = this.dense[p];
    if (d !== undefined) return d[id & PAGE_MASK] as number;
    return this.sparse[p]?.get(id & PAGE_MASK) ?? 0;
  }

  /** Sets the version of `id` (> 0); returns the one it replaced (0: none). */
  set(id: number, version: number): number {
    const p = id >>> PAGE_BITS;
    const i = id & PAGE_MASK;
    const d = this.dense[p];
    let prev: number;
    if (d !== undefined) {
      prev = d[i] as number;
      d[i] = version;
    } else {
      let s = this.sparse[p];
      if (s === undefined) {
        while (this.counts.length <= p) this.counts.push(0);
        this.sparse[p] = s = new Map();
      }
      prev = s.get(i) ?? 0;
      s.set(i, version);
      if (prev === 0 && (this.counts[p] as number) + 1 >= DENSE_AT) {
        const a = new Float64Array(PAGE);
        for (const [j, v] of s) a[j] = v;
        this.dense[p] = a;
        this.sparse[p] = undefined;
      }
    }
    if (prev === 0) {
      this.counts[p] = (this.counts[p] as number) + 1;
      this.size++;
    }
    return prev;
  }

  /** Clears `id`; returns whether it held a version. */
  delete(id: number): boolean {
    const p = id >>> PAGE_BITS;
    const i = id & PAGE_MASK;
    const d = this.dense[p];
    if (d !== undefined) {
      if (d[i] === 0) return false;
      d[i] = 0;
    } else {
      const s = this.sparse[p];
      if (s === undefined || !s.delete(i)) return false;
    }
    const left = (this.counts[p] as number) - 1;
    this.counts[p] = left;
    this.size--;
    if (left === 0) {
      this.dense[p] = undefined;
      this.sparse[p] = undefined;
    } else if (d !== undefined && left < SPARSE_BELOW) {
      const s = new Map<number, number>();
      for (let j = 0; j < PAGE; j++) if (d[j] !== 0) s.set(j, d[j] as number);
      this.sparse[p] = s;
      this.dense[p] = undefined;
    }
    return true;
  }

  /** Whether `id` holds a version. */
  has(id: number): boolean {
    return this.get(id) !== 0;
  }
}
