// C's printf("%.17g") in JavaScript: how Redis writes a double (RESP2 bulk, RESP3 `,`) and how it
// turns a Lua number into a command argument, so tally writes the same bytes.

/** `x` as C's `%.<precision>g` writes it (`inf`, `-inf`, `nan`; `1e+21`, `0.10000000000000001`). */
export function formatG(x: number, precision = 17): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const p = Math.max(1, Math.min(precision, 100));
  const exp = x.toExponential(p - 1); // d.ddde±X, rounded to p significant digits
  const at = exp.indexOf('e');
  const e = Number(exp.slice(at + 1));
  if (e < -4 || e >= p) {
    let mantissa = exp.slice(0, at);
    if (mantissa.includes('.')) mantissa = mantissa.replace(/0+$/, '').replace(/\.$/, '');
    const abs = Math.abs(e);
    return `${mantissa}e${e < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  let fixed = x.toFixed(Math.max(0, p - 1 - e));
  if (fixed.includes('.')) fixed = fixed.replace(/0+$/, '').replace(/\.$/, '');
  return fixed;
}
