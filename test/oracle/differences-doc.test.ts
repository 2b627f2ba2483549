// docs/commands.md carries the table of intended differences from Redis that the oracle test
// consults (test/oracle/differences.ts): the two must agree word for word.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DIFFERENCES, differencesMarkdown } from './differences.js';

const DOC = new URL('../../docs/commands.md', import.meta.url);

describe('the differences from Redis', () => {
  it('are listed in docs/commands.md exactly as in test/oracle/differences.ts', () => {
    const doc = readFileSync(DOC, 'utf8');
    const start = doc.indexOf('## Differences from Redis\n');
    expect(start, 'docs/commands.md has no "## Differences from Redis" section').toBeGreaterThanOrEqual(0);
    const next = doc.indexOf('\n## ', start + 1);
    const section = doc.slice(start, next === -1 ? undefined : next).trimEnd();
    // On failure, the expected text is what to paste over the section.
    expect(section).toBe(differencesMarkdown());
  });

  it('have unique ids and a reproduction each', () => {
    expect(new Set(DIFFERENCES.map((d) => d.id)).size).toBe(DIFFERENCES.length);
    for (const d of DIFFERENCES) expect(d.example.length, d.id).toBeGreaterThan(0);
  });
});
