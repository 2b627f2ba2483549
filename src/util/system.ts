// The real clock and a randomly seeded Rng: the only place the node reads the globals.

import { randomInt } from 'node:crypto';
import type { Clock } from './clock.js';
import { SeededRng } from './rng.js';

export const systemClock: Clock = { now: () => Date.now() };

export function systemRng(): SeededRng {
  return new SeededRng(randomInt(0, 2 ** 31));
}
