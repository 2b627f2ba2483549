// The HyperLogLog cardinality estimate from a register histogram: Ertl's improved raw estimator
// (arXiv 1702.01284, Alg. 6), every floating-point step in the order Redis's hllCount takes it, so a
// sketch's count equals Redis's PFCOUNT for the same registers (docs/crdt-hll.md).

/** alpha_inf = 1 / (2 ln 2), Ertl's asymptotic bias constant. */
const ALPHA_INF = 1 / (2 * Math.LN2);

/**
 * The unrounded estimate of a sketch of `m` registers with q = 64 - p, whose histogram `c` counts the
 * registers holding each value 0..q+1:
 *   z = m * tau((m - C[q+1]) / m);  for k = q..1: z = (z + C[k]) / 2;  z += m * sigma(C[0] / m)
 *   estimate = alpha_inf * m^2 / z   (0 for an empty sketch: z is then infinite)
 */
export function ertlEstimate(c: ArrayLike<number>, m: number, q: number): number {
  let z = m * tau((m - (c[q + 1] as number)) / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + (c[k] as number));
  z += m * sigma((c[0] as number) / m);
  return (ALPHA_INF * m * m) / z;
}

/** Ertl's sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1), for x in [0, 1]; infinite at 1. */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  let prev: number;
  do {
    x *= x;
    prev = z;
    z += x * y;
    y += y;
  } while (z !== prev);
  return z;
}

/** Ertl's tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3, for x in [0, 1]. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let prev: number;
  do {
    x = Math.sqrt(x);
    prev = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  } while (z !== prev);
  return z / 3;
}
