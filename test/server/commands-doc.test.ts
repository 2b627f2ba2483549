// docs/commands.md documents every command of the table, and nothing else: each command has a row
// in one of its command tables (`| \`NAME ...\` | arity | flags | reply |`), and every such row
// names a command of the table. COMMAND DOCS has a summary for each too.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandNames } from '../../src/server/commands/table.js';
import { documented } from '../../src/server/commands/command-docs.js';

const DOC = readFileSync(new URL('../../docs/commands.md', import.meta.url), 'utf8');

/** The first word of each row of the tables whose header is `| command | arity | flags | reply |`. */
function documentedCommands(): string[] {
  const names: string[] = [];
  let inTable = false;
  for (const line of DOC.split('\n')) {
    if (/^\| command \| arity \| flags \| reply \|/.test(line)) {
      inTable = true;
      continue;
    }
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const m = /^\| `([A-Za-z_.:]+)/.exec(line);
    if (inTable && m !== null) names.push((m[1] as string).toLowerCase());
  }
  return names;
}

describe('docs/commands.md and the command table', () => {
  it('documents every command of the table in a command table row', () => {
    const doc = new Set(documentedCommands());
    expect(commandNames().filter((n) => !doc.has(n))).toEqual([]);
  });

  it('documents no command the table does not have', () => {
    const table = new Set(commandNames());
    expect(documentedCommands().filter((n) => !table.has(n))).toEqual([]);
  });

  it('has COMMAND DOCS for every command', () => {
    expect(commandNames().filter((n) => !documented(n))).toEqual([]);
  });
});
