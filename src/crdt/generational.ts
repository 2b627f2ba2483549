// What the deletable sketch CRDTs (windowed counter, Count-Min Sketch, Top-K) share: a header
// (generation, then the dimensions) that decides a merge outright when the two differ, a `live` flag
// (created, not deleted) that merges by OR within a generation, and a body merged only when the
// headers are equal. DEL starts a new, higher generation, so it wins over concurrent additions.

export abstract class Generational<Self extends Generational<Self>> {
  /** Created and not deleted in this generation. */
  protected live = true;
  /** Bumped by every DEL (clear); the higher generation wins a merge outright. */
  protected gen = 0;

  /** The delete counter: a state of a higher generation replaces one of a lower generation. */
  get generation(): number {
    return this.gen;
  }

  /** True until a DEL (clear): a created sketch or window with no counts exists, like a Redis key. */
  exists(): boolean {
    return this.live;
  }

  /** > 0 if this header wins, < 0 if `other`'s wins, 0 if they are equal. */
  protected abstract compareHeader(other: Self): number;
  /** Takes `other`'s header and body (its header won): this becomes a copy of it. */
  protected abstract adopt(other: Self): void;
  /** Merges `other`'s body into this one (equal headers). Returns whether anything changed. */
  protected abstract mergeBody(other: Self): boolean;

  /** Merge (a join): the higher header wins outright; equal headers merge `live` by OR and the bodies. */
  merge(other: Self): boolean {
    if ((other as Generational<Self>) === this) return false;
    const c = this.compareHeader(other);
    if (c > 0) return false;
    if (c < 0) {
      this.adopt(other);
      return true;
    }
    let changed = false;
    if (other.live && !this.live) {
      this.live = true;
      changed = true;
    }
    return this.mergeBody(other) || changed;
  }
}
