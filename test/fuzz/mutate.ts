// Input generators shared by the fuzz tests: random bytes, and valid seeds mutated the way real
// corruption and hostile peers do it (flipped, replaced, inserted, deleted, duplicated bytes, cuts).

import fc from 'fast-check';

/** Runs per decoder (the floor), overridable for a long soak: TALLY_FUZZ_RUNS=1000000. */
export const FUZZ_RUNS = Number(process.env.TALLY_FUZZ_RUNS ?? 100_000);

/** Per-test timeout for the fuzzers: a minute per 100,000 runs (a soak raises TALLY_FUZZ_RUNS). */
export const FUZZ_TIMEOUT_MS = Math.max(60_000, Math.ceil(FUZZ_RUNS / 100_000) * 60_000);

/** Options for every fuzz property (the seed is set for all property tests in test/setup.ts). */
export const FUZZ_OPTIONS = { numRuns: FUZZ_RUNS } as const;

type Mutation = [kind: number, pos: number, val: number, len: number];

const mutationArb: fc.Arbitrary<Mutation> = fc.tuple(fc.nat(6), fc.nat(), fc.nat(255), fc.nat(16));

/** Applies a few mutations to a copy of `seed`. */
export function mutate(seed: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let b = Array.from(seed);
  for (const [kind, pos, val, len] of ms) {
    const p = b.length === 0 ? 0 : pos % (b.length + 1);
    switch (kind) {
      case 0: // flip one bit
        if (p < b.length) b[p] = (b[p] as number) ^ (1 << (val % 8));
        break;
      case 1: // replace a byte
        if (p < b.length) b[p] = val;
        break;
      case 2: // insert bytes
        b.splice(p, 0, ...Array.from({ length: 1 + (len % 4) }, (_, i) => (val + i * 37) & 255));
        break;
      case 3: // delete bytes
        b.splice(p, 1 + len);
        break;
      case 4: // truncate
        b = b.slice(0, p);
        break;
      case 5: // duplicate a run
        b.splice(p, 0, ...b.slice(p, p + 1 + len));
        break;
      default: // interesting values: 0x00, 0xff, msgpack/varint edge bytes
        if (p < b.length) b[p] = [0, 0xff, 0x7f, 0x80, 0xc0, 0xc1, 0xdc, 0xdd, 0xcf, 0xd3][val % 10] as number;
    }
  }
  return Uint8Array.from(b);
}

/** Either random bytes, or one of `seeds` with 1-4 mutations (3 in 4 runs), or a seed intact. */
export function fuzzBytes(seeds: readonly Uint8Array[], maxRandom = 256): fc.Arbitrary<Uint8Array> {
  const mutated = fc.tuple(fc.nat(seeds.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([i, ms]) => mutate(seeds[i] as Uint8Array, ms));
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: maxRandom }) },
    { weight: 6, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
  );
}
