// The value of an Ok result, for tests that build their inputs through the code under test: an Err
// fails the test where it happened (its error thrown as it is if it is an Error, described if not).
import type { Result } from '../src/util/result.js';

export function unwrap<T>(r: Result<T, unknown>): T {
  if (r.ok) return r.value;
  throw r.error instanceof Error ? r.error : new Error(`unexpected error result: ${JSON.stringify(r.error)}`);
}
