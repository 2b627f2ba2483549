// The node's command services: the gcounterKeys rule matches keys by their bytes, whatever the script.

import { describe, expect, it } from 'vitest';
import { fullKey } from '../../src/keyspace/keyspace.js';
import { counterTypeRule } from '../../src/node/services.js';

describe('the gcounterKeys rule', () => {
  it('matches a non-ASCII pattern against the key it names (vües:* and vües:1)', () => {
    const rule = counterTypeRule(['vües:*', 'views:[ab]?']);
    expect(rule(fullKey(0, 'vües:1'))).toBe('gcounter');
    expect(rule(fullKey(3, Buffer.from('vües:xyz', 'utf8')))).toBe('gcounter');
    expect(rule(fullKey(0, 'views:a1'))).toBe('gcounter');
    expect(rule(fullKey(0, 'views:c1'))).toBe('pncounter');
    expect(rule(fullKey(0, 'vues:1'))).toBe('pncounter');
    expect(counterTypeRule([])(fullKey(0, 'anything'))).toBe('pncounter');
  });
});
