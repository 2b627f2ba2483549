// What V8 keeps of a counter's count fields: see `generalizeCountFields`. Kept apart from the counter
// classes (g-counter.ts, pn-counter.ts, keyspace/entries.ts), each of which calls it as it loads.

/** Every probe `generalizeCountFields` made general: kept, so that their hidden classes stay (see there). */
const probes: object[] = [];

/**
 * Makes the count fields (`p`, `n`) of every counter of `probe`'s class general values for V8
 * instead of small integers. V8 keeps a field that has only held small integers (up to 2^31 - 1 here) unboxed, and
 * once any instance stores a larger number there it turns that field into a box of its own in every
 * instance of the class: one counter past 2^31 - 1 (a byte counter, a total of page views) added 16
 * bytes to every counter on the node (`npm run bench -- layout`, "keyspace, one past 2^31"). A field
 * that has held anything else keeps small integers unboxed and a larger number as a reference to
 * it, so only the counters that hold one pay for it. Done once per class, before any counter is made.
 *
 * The probe is kept for the life of the process (`probes`): what V8 learned about the fields lives in
 * the hidden classes of the objects that have them, and once no object has them any more a
 * collection may drop those classes, and the next counter starts from classes that know nothing.
 * Dropped, the probe made no difference in a node (a collection runs before its first key) nor
 * between the layouts of `bench layout` (10 million keys: 171 B per key, 187 beside one counter of
 * 2^40); kept, 171 and 171.
 */
export function generalizeCountFields(probe: object): void {
  const fields = probe as unknown as { p: unknown; n: unknown };
  fields.p = null;
  fields.n = null;
  probes.push(probe);
}
