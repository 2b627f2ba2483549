// Runs before every test file: makes every fast-check property reproducible.
//
// The seed is fixed by default, so `npm test` (and CI) draws the same inputs on every run and a
// failure is a real regression, not a new draw. A soak explores new inputs with
// TALLY_FUZZ_SEED=random (the seed is printed), and TALLY_FUZZ_SEED=<n> replays a printed seed.

import fc from 'fast-check';

const env = process.env.TALLY_FUZZ_SEED;
const seed = env === undefined ? 20261130 : env === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(env);
if (!Number.isInteger(seed)) throw new Error(`TALLY_FUZZ_SEED must be an integer or 'random', got '${env}'`);
if (env === 'random') console.log(`fast-check seed ${seed} (replay with TALLY_FUZZ_SEED=${seed})`);
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
