// Argument parsers for commander options: each names the accepted range in its error.

import { InvalidArgumentError } from 'commander';

export function intArg(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got '${v}'`);
    return n;
  };
}

export function floatArg(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got '${v}'`);
    return n;
  };
}
