// Seeds for randomized tests: SIM_SEED replays one seed; a failure message always names its seed.

export function seeds(count: number, base = 1): number[] {
  const env = process.env.SIM_SEED;
  if (env !== undefined && env !== '') return [Number(env)];
  return Array.from({ length: count }, (_, i) => base + i);
}

/** Runs `fn` for a seed; on failure rethrows with the seed and how to replay it. */
export function withSeed(seed: number, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`seed ${seed} failed (replay with SIM_SEED=${seed}): ${msg}`);
  }
}
