// The command table's name lookup: from the name's bytes, in any letter case, exact names only.
import { describe, expect, it } from 'vitest';
import { commandNames, lookupBytes, resolveCommand } from '../../src/server/commands/table.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('command lookup by bytes', () => {
  it('resolves every command in lower, upper and mixed case, to the spec of that name', () => {
    const names = commandNames();
    expect(new Set(names).size).toBe(names.length); // no name is defined twice
    for (const name of names) {
      const mixed = [...name].map((ch, i) => (i % 2 === 0 ? ch.toUpperCase() : ch)).join('');
      for (const spelling of [name, name.toUpperCase(), mixed]) expect(lookupBytes(b(spelling))?.name).toBe(name);
    }
  });

  it('finds nothing for near misses, prefixes, extensions, empty and non-letter case folds', () => {
    for (const miss of ['', 'inc', 'incrr', 'incr ', ' incr', 'in\u00e7r', 'pfaddx', 'x'.repeat(100), 'INCR\u0000']) {
      expect(lookupBytes(b(miss))).toBeUndefined();
    }
    // Only A-Z fold: '@' (0x40) and '`' (0x60) differ by the same bit as 'A' and 'a', and must not match.
    expect(lookupBytes(b('window.incrby'))?.name).toBe('window.incrby');
    expect(lookupBytes(b('window\u000eincrby'))).toBeUndefined();
  });

  it('looks up a view into a larger buffer by its own bytes only', () => {
    const big = b('xxINCRyy');
    expect(lookupBytes(big.subarray(2, 6))?.name).toBe('incr');
    expect(lookupBytes(big.subarray(2, 7))).toBeUndefined();
  });

  it('resolves a command to its position in commandNames(), the index per-command counters use', () => {
    const names = commandNames();
    names.forEach((name, i) => {
      const c = resolveCommand(b(name.toUpperCase()));
      expect(c?.index).toBe(i);
      expect(c?.spec.name).toBe(name);
    });
    expect(resolveCommand(undefined)).toBeUndefined();
    expect(resolveCommand(b('nosuch'))).toBeUndefined();
  });
});
