// The HyperLogLog CRDT: a cardinality sketch whose merge is register-wise max, with a sparse form
// for small sets, Otmar Ertl's improved estimator (as Redis computes it), Redis's hash, and a
// generation number that makes delete converge. docs/crdt-hll.md explains the algorithm, the codec,
// the two hash families and the delete semantics.

import { err, ok, type Result } from '../util/result.js';
import { ByteWriter, CODEC_VERSION, TypeTag, uvarintSize } from './codec.js';
import { CrdtError } from './errors.js';
import { hash64Bytes, hash64Lo, hash64Prefix, hash64String } from './hash64.js';
import { murmur64Bytes, murmur64Hi, murmur64Prefix, murmur64String } from './murmur64a.js';
import { packDense, parseHyll, REDIS_HLL_P, RedisHyllForm, type HyllError } from './redis-hyll.js';
import { ertlEstimate } from './hll-estimator.js';
import { mergeSparseLists, writeSparseEntries, writeSparseFromDense } from './hll-sparse.js';
import { decodeHllWire, FORM_DENSE, FORM_REDIS, FORM_SPARSE, HLL_MAX_PRECISION, HLL_MIN_PRECISION, sparseMaxOf, type HllHash } from './hll-wire.js';

export { HLL_MAX_PRECISION, HLL_MIN_PRECISION, type HllHash } from './hll-wire.js';

/** The sparse list of every empty sketch: length 0, so nothing is ever written into it. */
const EMPTY_SPARSE = new Uint32Array(0);
/** Where a sparse sketch's estimate counts its histogram: q + 2 entries at most (q = 64 - p, p >= 4). */
const SCRATCH_HIST = new Int32Array(64 - HLL_MIN_PRECISION + 2);

/**
 * A HyperLogLog sketch of precision `p` (m = 2^p registers, standard error about 1.04 / sqrt(m)).
 *
 * Invariants: every register is in 0..q+1 with q = 64 - p; `hist[k]` is the number of registers
 * holding k (so the estimate needs no pass over the registers); in sparse form `sparse[0..len)` is
 * strictly increasing in index, holds only non-zero ranks, and has at most m / 4 entries.
 */
export class HyperLogLog {
  static readonly DEFAULT_PRECISION = 14;

  /** Precision: log2 of the number of registers. */
  readonly p: number;
  private gen: number;
  /** The hash family. An empty sketch is always `redis` (it holds no element of either). */
  private fam: HllHash = 'redis';
  /**
   * The form Redis would hold for this key on this node (p = 14, `redis` family only), fed every
   * local register change; null when none is tracked (built from the registers when asked for).
   * Node-local presentation state: not encoded, merged or compared.
   */
  private redis: RedisHyllForm | null = null;
  /**
   * The Redis form is a fresh one (a key PFADD just created, or one DEL just emptied) not built
   * yet: built at the first register change or when asked for. A deleted HLL is kept as a
   * tombstone (its generation orders later writes), and building the form for every one of them
   * cost about 900 heap bytes each (`npm run bench -- layout`).
   */
  private freshForm = false;
  /**
   * Sparse form: packed `index << 6 | rank`, sorted; null when dense. An empty sketch shares
   * EMPTY_SPARSE (length 0: the first register set allocates its own).
   */
  private sparse: Uint32Array | null;
  private sparseLen: number;
  /** Dense form: one byte per register; null when sparse. */
  private dense: Uint8Array | null;
  /**
   * Dense form only (null when sparse): hist[k] = number of registers equal to k, for k in 0..q+1,
   * kept as registers rise so that an estimate of a dense sketch does not read its m registers. A
   * sparse sketch's estimate counts its few entries instead: a histogram per sketch cost about 390
   * heap bytes, more than a small sketch's registers.
   */
  private hist: Int32Array | null;
  /** Cached estimate, or -1 when a register changed since it was computed. */
  private cached = -1;

  private constructor(p: number, generation: number) {
    this.p = p;
    this.gen = generation;
    this.sparse = EMPTY_SPARSE;
    this.sparseLen = 0;
    this.dense = null;
    this.hist = null;
  }

  // What follows from p, computed rather than kept: four fields were 32 heap bytes of every HLL key.
  /** Registers: 2^p. */
  private get m(): number {
    return 1 << this.p;
  }

  /** Hash bits left for the rank: 64 - p (registers hold 0..q+1). */
  private get q(): number {
    return 64 - this.p;
  }

  /** Bits of a 32-bit hash half below the index: 32 - p. */
  private get shift(): number {
    return 32 - this.p;
  }

  /** Most entries of the sparse form (sparseMaxOf). */
  private get sparseMax(): number {
    return sparseMaxOf(this.p);
  }

  /** An empty sketch. Throws CrdtError('HLL_BAD_PRECISION') for p outside 4..18 (misuse). */
  static create(p: number = HyperLogLog.DEFAULT_PRECISION): HyperLogLog {
    if (!Number.isInteger(p) || p < HLL_MIN_PRECISION || p > HLL_MAX_PRECISION) {
      throw new CrdtError(
        'HLL_BAD_PRECISION',
        `HyperLogLog precision must be an integer in ${HLL_MIN_PRECISION}..${HLL_MAX_PRECISION}, got ${p}`,
      );
    }
    const h = new HyperLogLog(p, 0);
    h.freshForm = p === REDIS_HLL_P;
    return h;
  }

  /**
   * A sketch with the given register values (length 2^p, each 0..65-p), in its natural form
   * (sparse when at most m / 4 registers are non-zero). For tests and tools; throws on misuse.
   */
  static fromRegisters(p: number, generation: number, registers: Uint8Array, hash: HllHash = 'redis'): HyperLogLog {
    const h = HyperLogLog.create(p);
    h.freshForm = false;
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new RangeError(`generation must be a non-negative safe integer, got ${generation}`);
    }
    if (registers.length !== h.m) throw new RangeError(`expected ${h.m} registers, got ${registers.length}`);
    h.gen = generation;
    let nonZero = 0;
    for (let i = 0; i < h.m; i++) {
      const r = registers[i]!;
      if (r > h.q + 1) throw new RangeError(`register ${i} = ${r} above the maximum rank ${h.q + 1}`);
      if (r !== 0) nonZero++;
    }
    if (nonZero > h.sparseMax) {
      h.setDense(registers.slice());
    } else {
      const sp = new Uint32Array(Math.max(8, nonZero));
      let n = 0;
      for (let i = 0; i < h.m; i++) {
        const r = registers[i]!;
        if (r !== 0) sp[n++] = (i << 6) | r;
      }
      h.setSparse(sp, n);
    }
    h.fam = nonZero === 0 ? 'redis' : hash;
    return h;
  }

  /**
   * A sketch (p = 14, `redis` family, generation 0) holding the registers of Redis's HYLL bytes, and
   * keeping those bytes as its Redis form, so GET answers them unchanged until a register changes.
   * Never throws: bytes Redis would not take as an HLL are NOT_HLL, broken ones CORRUPT.
   */
  static fromRedisBytes(bytes: Uint8Array): Result<HyperLogLog, HyllError> {
    const parsed = parseHyll(bytes);
    if (!parsed.ok) return parsed;
    const h = HyperLogLog.fromRegisters(REDIS_HLL_P, 0, parsed.value.registers, 'redis');
    h.redis = parsed.value.form;
    return ok(h);
  }

  /** The hash family of the registers (`redis` for every sketch created since tally hashed as Redis does). */
  get hash(): HllHash {
    return this.fam;
  }

  /**
   * Redis's HYLL bytes for this sketch, as Redis would hold them after the same commands on this
   * node (sparse or dense, with its cached cardinality). Errs (HLL_NOT_REDIS) for a sketch whose
   * registers are not Redis's: precision other than 14, or the legacy hash.
   */
  redisBytes(): Result<Uint8Array, CrdtError> {
    const form = this.redisForm();
    if (!form.ok) return form;
    return ok(form.value.bytes(this.registers()));
  }

  /** Whether Redis would hold this sketch dense (false when it has no Redis form). */
  isRedisDense(): boolean {
    const form = this.redisForm();
    return form.ok && form.value.isDense();
  }

  /** PFCOUNT of this one key: Redis caches the count in its header if the cache was stale. */
  noteRedisCount(): void {
    const form = this.redisForm();
    if (form.ok) form.value.storeCount(this.count());
  }

  /** PFMERGE into this key: Redis marks the cached count stale, and goes dense if `dense`. */
  noteRedisMerge(dense: boolean): void {
    const form = this.redisForm();
    if (!form.ok) return;
    if (dense) form.value.toDense();
    form.value.invalidate();
  }

  /**
   * Replaces this sketch's registers by `source`'s (SET of HYLL bytes on this key): a delete (a new
   * generation, so concurrent adds at the old one are dropped, as any HLL delete does) unless the
   * sketch is already empty, then `source`'s registers, family and Redis form at that generation.
   */
  assign(source: HyperLogLog): Result<boolean, CrdtError> {
    if (source.p !== this.p) {
      return err(new CrdtError('HLL_PRECISION_MISMATCH', `cannot assign a HyperLogLog of precision ${source.p} to one of ${this.p}`));
    }
    if (!this.isEmpty()) this.clear();
    const gen = this.gen;
    this.copyRegistersFrom(source);
    this.gen = gen;
    this.fam = source.fam;
    this.redis = source.redis;
    this.freshForm = source.freshForm;
    return ok(true);
  }

  private redisForm(): Result<RedisHyllForm, CrdtError> {
    if (this.p !== REDIS_HLL_P) {
      return err(new CrdtError('HLL_NOT_REDIS', `a HyperLogLog of precision ${this.p} has no Redis encoding (Redis's precision is ${REDIS_HLL_P})`));
    }
    if (this.fam !== 'redis') {
      return err(new CrdtError('HLL_NOT_REDIS', "a HyperLogLog written with tally's legacy hash has no Redis encoding (its registers are not Redis's)"));
    }
    const form = this.trackedForm() ?? RedisHyllForm.ofRegisters(this.registers());
    this.redis = form;
    return ok(form);
  }

  /** The Redis form being kept, built now if it is a fresh one not built yet; null if none is kept. */
  private trackedForm(): RedisHyllForm | null {
    if (this.redis === null && this.freshForm) {
      this.redis = RedisHyllForm.fresh();
      // Stryker disable next-line BooleanLiteral: equivalent, the flag is read only while no form is kept, and every way of dropping the form clears it
      this.freshForm = false;
    }
    return this.redis;
  }

  /** Keeps no Redis form (it is built from the registers when asked for). */
  private dropForm(): void {
    this.redis = null;
    this.freshForm = false;
  }

  /** The delete counter: a sketch of a higher generation replaces one of a lower generation. */
  get generation(): number {
    return this.gen;
  }

  isDense(): boolean {
    return this.dense !== null;
  }

  isEmpty(): boolean {
    return this.nonZero() === 0;
  }

  /** The number of non-zero registers. */
  private nonZero(): number {
    return this.hist !== null ? this.m - this.hist[0]! : this.sparseLen;
  }

  /** Approximate bytes held in memory (object, register storage and histogram). */
  byteSize(): number {
    const registers = this.dense !== null ? this.dense.byteLength : (this.sparse?.byteLength ?? 0);
    return 96 + registers + (this.hist?.byteLength ?? 0);
  }

  /** A copy of all m register values (tests and tools). */
  registers(): Uint8Array {
    if (this.dense !== null) return this.dense.slice();
    const out = new Uint8Array(this.m);
    const sp = this.sparse!;
    for (let i = 0; i < this.sparseLen; i++) out[sp[i]! >>> 6] = sp[i]! & 63;
    return out;
  }

  /**
   * Adds an element (bytes, or a string hashed as its UTF-8 bytes). Returns true if a register
   * changed. Allocation-free for byte arrays and ASCII strings once the form is settled.
   */
  add(element: Uint8Array | string): boolean {
    return typeof element === 'string' ? this.addString(element) : this.addBytes(element);
  }

  /** `add` for bytes. Separate methods keep each call site's inlined code to one hash (faster). */
  addBytes(element: Uint8Array): boolean {
    if (this.fam === 'redis') return this.addRedisHash(murmur64Bytes(element), murmur64Hi());
    return this.addLegacyHash(hash64Bytes(element), hash64Lo());
  }

  /** `addBytes(b.subarray(0, len))` without the view (`len <= b.length`): a scratch buffer's element. */
  addPrefix(b: Uint8Array, len: number): boolean {
    if (this.fam === 'redis') return this.addRedisHash(murmur64Prefix(b, len), murmur64Hi());
    return this.addLegacyHash(hash64Prefix(b, len), hash64Lo());
  }

  /** `add` for a string (hashed as its UTF-8 bytes, so equal to `addBytes` of the encoding). */
  addString(element: string): boolean {
    if (this.fam === 'redis') return this.addRedisHash(murmur64String(element), murmur64Hi());
    return this.addLegacyHash(hash64String(element), hash64Lo());
  }

  /**
   * Redis's rule on MurmurHash64A's 64 bits: index = the low p bits; rank = 1 + the trailing zeros
   * of the remaining 64 - p bits, q + 1 when they are all zero (Redis ORs a sentinel bit in at q).
   */
  private addRedisHash(lo: number, hi: number): boolean {
    const index = lo & (this.m - 1);
    const rest = lo >>> this.p;
    let rank: number;
    if (rest !== 0) rank = 32 - Math.clz32(rest & -rest);
    else if (hi !== 0) rank = this.shift + 32 - Math.clz32(hi & -hi);
    else rank = this.q + 1;
    return this.raise(index, rank);
  }

  private addLegacyHash(hi: number, lo: number): boolean {
    // Index: the top p bits of hi. Rank: 1 + leading zeros of the remaining 64 - p bits (q + 1 if
    // all are zero), as in Ertl's paper; the low half supplies the bits below hi's 32 - p.
    const index = hi >>> this.shift;
    const rest = hi << this.p;
    const rank = rest !== 0 ? Math.clz32(rest) + 1 : this.shift + Math.clz32(lo) + 1;
    return this.raise(index, rank);
  }

  /** An add's register update; tells the Redis form about a change. */
  private raise(index: number, rank: number): boolean {
    const dense = this.dense;
    if (dense === null) {
      if (!this.set(index, rank)) return false;
    } else {
      // The dense case inline: most adds to a large sketch change nothing and end here.
      const old = dense[index]!;
      if (rank <= old) return false;
      dense[index] = rank;
      const hist = this.hist!;
      hist[old]!--;
      hist[rank]!++;
      this.cached = -1;
    }
    const form = this.trackedForm();
    if (form !== null) {
      form.note(index, rank);
      form.invalidate();
    }
    return true;
  }

  /** The value of register `index`. */
  private registerAt(index: number): number {
    if (this.dense !== null) return this.dense[index]!;
    const sp = this.sparse!;
    const key = index << 6;
    let a = 0;
    let b = this.sparseLen;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (sp[mid]! < key) a = mid + 1;
      else b = mid;
    }
    return a < this.sparseLen && sp[a]! >>> 6 === index ? sp[a]! & 63 : 0;
  }

  /**
   * Before joining `other`'s registers: tells the Redis form, in index order (as Redis's PFMERGE
   * writes them), about every register `other` raises.
   */
  private noteIncoming(other: HyperLogLog): void {
    const form = this.trackedForm();
    if (form === null) return;
    // Dense: the bytes are the registers (joinRegisters marks the cached count stale on a change).
    if (!form.wantsChanges()) return;
    const visit = (index: number, rank: number): void => {
      if (rank > this.registerAt(index)) form.note(index, rank);
    };
    if (other.dense !== null) {
      const d = other.dense;
      for (let i = 0; i < d.length; i++) if (d[i] !== 0) visit(i, d[i]!);
    } else {
      const sp = other.sparse!;
      for (let k = 0; k < other.sparseLen; k++) visit(sp[k]! >>> 6, sp[k]! & 63);
    }
  }

  /** Raises register `index` to `rank` if it is lower. Returns whether it changed. */
  private set(index: number, rank: number): boolean {
    const dense = this.dense;
    if (dense !== null) {
      const old = dense[index]!;
      if (rank <= old) return false;
      dense[index] = rank;
      const hist = this.hist!;
      hist[old]!--;
      hist[rank]!++;
      this.cached = -1;
      return true;
    }
    const sp = this.sparse!;
    const len = this.sparseLen;
    const key = index << 6;
    let a = 0;
    let b = len;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (sp[mid]! < key) a = mid + 1;
      else b = mid;
    }
    if (a < len && sp[a]! >>> 6 === index) {
      const old = sp[a]! & 63;
      if (rank <= old) return false;
      sp[a] = key | rank;
    } else {
      if (len === this.sparseMax) {
        this.promote();
        return this.set(index, rank);
      }
      let target = sp;
      if (len === sp.length) {
        // Stryker disable next-line MethodExpression: equivalent but for memory, a larger list holds the same entries
        target = new Uint32Array(Math.min(Math.max(8, sp.length * 2), this.sparseMax));
        target.set(sp.subarray(0, a));
        target.set(sp.subarray(a, len), a + 1);
        this.sparse = target;
      } else {
        sp.copyWithin(a + 1, a, len);
      }
      target[a] = key | rank;
      this.sparseLen = len + 1;
    }
    this.cached = -1;
    return true;
  }

  /** Converts to dense form in place (no change of value). Tests use it to compare the forms. */
  promote(): void {
    if (this.dense !== null) return;
    const dense = new Uint8Array(this.m);
    const sp = this.sparse!;
    for (let i = 0; i < this.sparseLen; i++) dense[sp[i]! >>> 6] = sp[i]! & 63;
    this.setDense(dense);
  }

  private setDense(dense: Uint8Array): void {
    this.dense = dense;
    this.sparse = null;
    this.sparseLen = 0;
    this.rebuildHistogram();
  }

  private setSparse(sparse: Uint32Array, len: number): void {
    this.sparse = sparse;
    this.sparseLen = len;
    this.dense = null;
    this.rebuildHistogram();
  }

  private rebuildHistogram(): void {
    if (this.dense !== null) {
      const hist = new Int32Array(this.q + 2);
      const d = this.dense;
      for (let i = 0; i < d.length; i++) hist[d[i]!]!++;
      this.hist = hist;
    } else {
      this.hist = null;
    }
    this.cached = -1;
  }

  /** A sparse sketch's histogram (as `hist`), counted into a scratch array shared by all sketches. */
  private sparseHistogram(): Int32Array {
    // Stryker disable next-line ArithmeticOperator: equivalent, counts left in the top four ranks weigh 2^-(q-2) of the estimate, below a double's precision
    const hist = SCRATCH_HIST.fill(0, 0, this.q + 2);
    const sp = this.sparse!;
    hist[0] = this.m - this.sparseLen;
    for (let i = 0; i < this.sparseLen; i++) hist[sp[i]! & 63]!++;
    return hist;
  }

  /** The cardinality estimate, rounded to an integer (0 for an empty sketch). Cached. */
  count(): number {
    return Math.round(this.estimate());
  }

  /**
   * The unrounded cardinality estimate from the register histogram (hll-estimator.ts: Ertl's
   * estimator, step for step as Redis's PFCOUNT). Cached until a register changes.
   */
  estimate(): number {
    if (this.cached >= 0) return this.cached;
    const e = ertlEstimate(this.hist ?? this.sparseHistogram(), this.m, this.q);
    this.cached = e;
    return e;
  }

  /**
   * Merges `other` into this sketch. Generations decide first: a higher one replaces this sketch
   * outright (registers, family and generation), a lower one is ignored. At equal generations an
   * empty sketch is below everything; two non-empty sketches of one hash family take the
   * register-wise max, and of two families the `redis` one replaces the `legacy` one outright (a
   * join: the order is (generation, family, registers) lexicographically, so replicas converge;
   * docs/crdt-hll.md, "Hash families", says when this can happen and what it drops). Returns
   * whether this sketch changed; errs with HLL_PRECISION_MISMATCH if p differs.
   */
  merge(other: HyperLogLog): Result<boolean, CrdtError> {
    if (other.p !== this.p) {
      return err(
        new CrdtError('HLL_PRECISION_MISMATCH', `cannot merge HyperLogLog of precision ${other.p} into ${this.p}`),
      );
    }
    if (other === this || other.gen < this.gen) return ok(false);
    if (other.gen > this.gen) {
      this.gen = other.gen;
      this.replaceBy(other);
      return ok(true);
    }
    if (other.isEmpty()) return ok(false);
    if (this.fam !== other.fam && !this.isEmpty()) {
      if (this.fam === 'redis') return ok(false);
      this.replaceBy(other);
      return ok(true);
    }
    this.fam = other.fam;
    if (this.fam !== 'redis') this.dropForm();
    return ok(this.joinRegisters(other));
  }

  /** Register-wise max with `other`, telling the Redis form (if any) what rose. */
  private joinRegisters(other: HyperLogLog): boolean {
    this.noteIncoming(other);
    const changed = this.mergeRegisters(other);
    if (changed && this.redis !== null) this.redis.invalidate();
    return changed;
  }

  /** Takes `other`'s registers and family (not its generation); the Redis form is rebuilt when asked for. */
  private replaceBy(other: HyperLogLog): void {
    this.copyRegistersFrom(other);
    this.fam = other.fam;
    this.dropForm();
  }

  /**
   * Set union across *different keys* (PFCOUNT k1 k2, PFMERGE dest src): register-wise max that
   * ignores generations and keeps this sketch's generation. Generations order the versions of one
   * key; comparing them across keys would make a key deleted once hide another key's elements.
   * Use `merge` for replicas of the same key. Returns whether this changed. Errs, changing nothing,
   * with HLL_PRECISION_MISMATCH if p differs and HLL_HASH_MISMATCH for two non-empty sketches of
   * different hash families (an empty one takes the other's family).
   */
  unionWith(other: HyperLogLog): Result<boolean, CrdtError> {
    const refused = this.unionError(other);
    if (refused !== undefined) return err(refused);
    if (other === this || other.isEmpty()) return ok(false);
    if (this.fam !== other.fam) {
      this.fam = other.fam;
      if (this.fam !== 'redis') this.dropForm();
    }
    return ok(this.joinRegisters(other));
  }

  /** Why `unionWith(other)` would be refused, or undefined. */
  unionError(other: HyperLogLog): CrdtError | undefined {
    if (other.p !== this.p) {
      return new CrdtError('HLL_PRECISION_MISMATCH', `cannot union HyperLogLog of precision ${other.p} into ${this.p}`);
    }
    if (this.fam !== other.fam && !this.isEmpty() && !other.isEmpty()) {
      return new CrdtError(
        'HLL_HASH_MISMATCH',
        "cannot combine a HyperLogLog written with tally's legacy hash and one written with Redis's hash (the same element lands in different registers)",
      );
    }
    return undefined;
  }

  private copyRegistersFrom(other: HyperLogLog): void {
    if (other.dense !== null) {
      this.dense = other.dense.slice();
      this.sparse = null;
      this.sparseLen = 0;
    } else {
      this.sparse = other.sparseLen === 0 ? EMPTY_SPARSE : other.sparse!.slice(0, Math.max(8, other.sparseLen));
      this.sparseLen = other.sparseLen;
      this.dense = null;
    }
    this.hist = other.hist === null ? null : other.hist.slice();
    this.cached = other.cached;
  }

  private mergeRegisters(other: HyperLogLog): boolean {
    if (other.dense !== null) {
      if (this.dense === null) this.promote();
      const a = this.dense!;
      const b = other.dense;
      const hist = this.hist!;
      let changed = false;
      // Four registers at a time: registers are < 0x80, so per byte (x | 0x80) - y never borrows
      // and keeps its high bit exactly when x >= y. Converged peers (the common gossip case) skip
      // whole words; only words where `other` is ahead somewhere go register by register. Dense
      // arrays are always allocated fresh (offset 0, length m >= 16), so the views are aligned.
      const a32 = new Uint32Array(a.buffer, a.byteOffset, a.length >>> 2);
      const b32 = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
      for (let w = 0; w < a32.length; w++) {
        const x = a32[w]!;
        const y = b32[w]!;
        if (x === y || (((x | 0x80808080) - y) & 0x80808080) === (0x80808080 | 0)) continue;
        for (let i = w << 2, end = i + 4; i < end; i++) {
          const rb = b[i]!;
          const ra = a[i]!;
          if (rb > ra) {
            a[i] = rb;
            hist[ra]!--;
            hist[rb]!++;
            changed = true;
          }
        }
      }
      if (changed) this.cached = -1;
      return changed;
    }
    const osp = other.sparse!;
    const olen = other.sparseLen;
    if (this.dense !== null) {
      let changed = false;
      for (let i = 0; i < olen; i++) {
        if (this.set(osp[i]! >>> 6, osp[i]! & 63)) changed = true;
      }
      return changed;
    }
    // Sparse + sparse: a linear merge of the two sorted lists.
    const { out, n, changed } = mergeSparseLists(this.sparse!, this.sparseLen, osp, olen);
    if (!changed) return false;
    if (n > this.sparseMax) {
      const dense = new Uint8Array(this.m);
      for (let k = 0; k < n; k++) dense[out[k]! >>> 6] = out[k]! & 63;
      this.setDense(dense);
    } else {
      this.setSparse(out, n);
    }
    return true;
  }

  /**
   * Delete: empties the registers and bumps the generation, so this state wins over everything
   * replicas added at the old generation (including adds concurrent with the delete, which are
   * lost). Returns the delta to ship: a copy of the new state.
   */
  clear(): HyperLogLog {
    if (this.gen >= Number.MAX_SAFE_INTEGER) throw new RangeError('HyperLogLog generation exhausted');
    this.gen++;
    this.setSparse(EMPTY_SPARSE, 0);
    this.cached = 0;
    this.fam = 'redis';
    this.redis = null;
    this.freshForm = this.p === REDIS_HLL_P;
    return this.clone();
  }

  /**
   * This sketch in parts that each encode to at most `maxBytes` and merge independently: joined into
   * any sketch, in any order, they give exactly what joining this one gives. A part holds some of
   * the non-zero registers under this sketch's precision and generation (merge is register-wise max
   * within a generation, so any registers of it are a smaller state), in sparse form, at least one
   * register each: an empty part of generation g is exactly the delete that starts g, which would
   * take a receiver at generation g - 1 through a delete the whole does not mean at that moment
   * (and `live` is "not empty"). Registers go in index order, so a part of a dense sketch costs about
   * a byte a register. Returns `[this]` when the whole fits; undefined only when one register with
   * its header cannot fit (at most 17 bytes).
   */
  split(maxBytes: number): HyperLogLog[] | undefined {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${String(maxBytes)}`);
    if (this.encode().length <= maxBytes) return [this];
    const head = 4 + uvarintSize(this.gen); // version, tag, p, generation, form
    const parts: HyperLogLog[] = [];
    let buf = new Uint32Array(64);
    let n = 0;
    let bytes = 0;
    let prev = -1;
    const flush = (): void => {
      const h = new HyperLogLog(this.p, this.gen);
      h.fam = this.fam;
      h.setSparse(buf.slice(0, Math.max(8, n)), n);
      parts.push(h);
      n = bytes = 0;
      prev = -1;
    };
    const take = (index: number, rank: number): boolean => {
      let cost = uvarintSize((index - prev - 1) * 64 + rank);
      if (n + 1 > this.sparseMax || head + uvarintSize(n + 1) + bytes + cost > maxBytes) {
        if (n === 0) return false;
        flush();
        cost = uvarintSize(index * 64 + rank);
        if (head + 1 + cost > maxBytes) return false;
      }
      if (n === buf.length) {
        const next = new Uint32Array(buf.length * 2);
        next.set(buf);
        buf = next;
      }
      buf[n++] = (index << 6) | rank;
      bytes += cost;
      prev = index;
      return true;
    };
    if (this.dense !== null) {
      const d = this.dense;
      for (let i = 0; i < d.length; i++) if (d[i] !== 0 && !take(i, d[i]!)) return undefined;
    } else {
      const sp = this.sparse!;
      for (let k = 0; k < this.sparseLen; k++) if (!take(sp[k]! >>> 6, sp[k]! & 63)) return undefined;
    }
    if (n > 0) flush();
    return parts.length > 0 ? parts : undefined;
  }

  /** A copy of the state (precision, generation, family, registers); the Redis form is not copied. */
  clone(): HyperLogLog {
    const h = new HyperLogLog(this.p, this.gen);
    h.copyRegistersFrom(this);
    h.fam = this.fam;
    return h;
  }

  /** Same precision, generation, hash family and register values, whatever the forms. */
  equals(other: HyperLogLog): boolean {
    if (this.p !== other.p || this.gen !== other.gen || this.fam !== other.fam) return false;
    if (this.nonZero() !== other.nonZero()) return false;
    if (this.dense !== null && other.dense !== null) {
      const a = this.dense;
      const b = other.dense;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
      return true;
    }
    if (this.dense === null && other.dense === null) {
      const a = this.sparse!;
      const b = other.sparse!;
      for (let i = 0; i < this.sparseLen; i++) if (a[i] !== b[i]) return false;
      return true;
    }
    // Mixed forms: with equal non-zero counts, checking every sparse entry against the dense
    // registers is enough.
    const s = this.dense === null ? this : other;
    const d = (this.dense === null ? other.dense : this.dense)!;
    const sp = s.sparse!;
    for (let i = 0; i < s.sparseLen; i++) if (d[sp[i]! >>> 6] !== (sp[i]! & 63)) return false;
    return true;
  }

  /**
   * `[version][tag][p][generation uvarint][form]` then, sparse: `count uvarint` and per non-zero
   * register in index order one uvarint `(index - previousIndex - 1) * 64 + rank`; dense: the m
   * registers packed 6 bits each, least significant bits first (Redis's layout), m * 3/4 bytes.
   * The form follows the register count, not the in-memory form, so equal states encode equally.
   * The form byte also says the hash family: 0 / 1 legacy, 2 / 3 Redis's; an empty sketch (of no
   * family) is form 0 with count 0, the bytes tally wrote for one before the Redis hash.
   */
  encode(): Uint8Array {
    const nonZero = this.nonZero();
    const w = new ByteWriter(nonZero > this.sparseMax ? 16 + (this.m * 3) / 4 : 16 + nonZero * 3);
    w.u8(CODEC_VERSION).u8(TypeTag.HyperLogLog).u8(this.p).uvarint(this.gen);
    const family = this.fam === 'redis' && nonZero > 0 ? FORM_REDIS : 0;
    if (nonZero <= this.sparseMax) {
      w.u8(FORM_SPARSE + family).uvarint(nonZero);
      if (this.dense !== null) writeSparseFromDense(w, this.dense);
      else writeSparseEntries(w, this.sparse!, this.sparseLen);
      return w.finish();
    }
    const packed = new Uint8Array((this.m * 3) / 4);
    packDense(this.registers(), packed, 0);
    w.u8(FORM_DENSE + family).bytes(packed);
    return w.finish();
  }

  /** Decodes untrusted bytes (hll-wire.ts checks them). Never throws; any malformed or non-canonical input is an error. */
  static decode(bytes: Uint8Array): Result<HyperLogLog, CrdtError> {
    const wire = decodeHllWire(bytes);
    if (!wire.ok) return wire;
    const { p, generation, hash, sparse, sparseLen, dense } = wire.value;
    const h = new HyperLogLog(p, generation);
    h.fam = hash;
    if (dense !== null) h.setDense(dense);
    else h.setSparse(sparseLen === 0 ? EMPTY_SPARSE : sparse, sparseLen);
    return ok(h);
  }
}
