// WebSocket API watches over a real socket: current values at once, then changes (local writes and
// gossip merges), per database, coalescing and throttling per (client, key), unwatch, limits, cleanup.

import { afterEach, describe, expect, it } from 'vitest';
import { Keyspace, fullKey } from '../../../src/keyspace/keyspace.js';
import { execute } from '../../../src/server/commands/table.js';
import { errOf, Raw, start, stopAll, until } from './harness.js';

afterEach(stopAll);

describe('watch', () => {
  it('sends the current values at once, then each change, for every key type', async () => {
    const h = await start({ watchThrottleMs: 20 });
    const c = await Raw.open(h.url);
    await c.cmd('INCRBY', 'p', 5);
    const r = await c.req({ watch: ['p', 'g:v', 'h', 'p'] });
    expect(r.ok).toEqual({ watching: 3 });
    await until(() => c.events().length === 3, 'initial values');
    expect(c.events()).toEqual([
      { event: 'value', key: 'p', db: 0, type: 'pncounter', value: 5 },
      { event: 'value', key: 'g:v', db: 0, type: 'none', value: null },
      { event: 'value', key: 'h', db: 0, type: 'none', value: null },
    ]);
    const w = await Raw.open(h.url);
    await w.cmd('INCRBY', 'g:v', 7);
    await w.cmd('PFADD', 'h', 'a', 'b');
    await w.cmd('DECR', 'p');
    await c.waitFor((m) => m.key === 'g:v' && m.value === 7, 'g-counter push');
    expect(c.events('g:v').at(-1)?.type).toBe('gcounter');
    await c.waitFor((m) => m.key === 'h' && m.value === 2 && m.type === 'hll', 'hll push');
    await c.waitFor((m) => m.key === 'p' && m.value === 4, 'pn-counter push');
    await w.cmd('DEL', 'p');
    await c.waitFor((m) => m.key === 'p' && m.type === 'none' && m.value === null, 'delete push');
  });

  it('pushes changes that arrive by gossip (a remote merge)', async () => {
    const h = await start({ watchThrottleMs: 20 });
    const c = await Raw.open(h.url);
    await c.req({ watch: ['k'] });
    const peer = new Keyspace('n2:1');
    peer.incrBy(fullKey(0, 'k'), 9);
    const enc = peer.encodeKey(fullKey(0, 'k'));
    expect(enc).toBeDefined();
    h.keyspace.mergeRemote(fullKey(0, 'k'), enc!.tag, enc!.bytes);
    await c.waitFor((m) => m.key === 'k' && m.value === 9, 'pushed merge');
  });

  it('watches per database', async () => {
    const h = await start({ watchThrottleMs: 10 });
    const c = await Raw.open(h.url);
    await c.req({ watch: ['k'], db: 2 });
    await c.waitFor((m) => m.event === 'value', 'initial');
    execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('k')]); // db 0: not watched
    h.local.db = 2;
    execute(h.services, h.local, [Buffer.from('INCRBY'), Buffer.from('k'), Buffer.from('3')]);
    const m = await c.waitFor((x) => x.value === 3, 'db 2 push');
    expect(m.db).toBe(2);
    expect(c.events().filter((e) => e.value === 1)).toEqual([]);
  });

  it('coalesces a burst into one push of the latest value', async () => {
    const h = await start({ watchThrottleMs: 200 });
    const c = await Raw.open(h.url);
    await c.req({ watch: ['k'] });
    await until(() => c.events().length === 1, 'initial value');
    for (let i = 0; i < 50; i++) execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('k')]);
    await c.waitFor((m) => m.value === 50, 'latest value');
    expect(c.events().map((e) => e.value)).toEqual([null, 50]);
  });

  it('throttles a steady stream per key and always delivers the last change', async () => {
    const throttle = 50;
    const h = await start({ watchThrottleMs: throttle });
    const c = await Raw.open(h.url);
    await c.req({ watch: ['a', 'b'] });
    await until(() => c.events().length === 2, 'initial values');
    // Pushes of one key are at least `throttle` ms apart when sent, so from t0 until the last push
    // arrived there can be at most elapsed/throttle + 1 of them. A slow machine only makes `elapsed`
    // longer and this bound looser: it cannot fail for load, only for a throttle that lets more through.
    const t0 = performance.now();
    const n = 300;
    for (let i = 0; i < n; i++) {
      execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('a')]);
      execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('b')]);
      await new Promise((r) => setImmediate(r)); // each write on its own event-loop turn
    }
    await c.waitFor((m) => m.key === 'a' && m.value === n, 'last value of a');
    await c.waitFor((m) => m.key === 'b' && m.value === n, 'last value of b');
    const elapsed = performance.now() - t0;
    for (const key of ['a', 'b']) {
      const values = c.events(key).slice(1).map((e) => e.value as number);
      expect(values.length).toBeGreaterThanOrEqual(1);
      expect(values.length).toBeLessThanOrEqual(Math.floor(elapsed / throttle) + 1);
      expect(values).toEqual([...values].sort((x, y) => x - y)); // never goes back
      expect(values[values.length - 1]).toBe(n); // the last change always arrives
    }
  });

  it('unwatch stops pushes; an empty unwatch removes every watch', async () => {
    const h = await start({ watchThrottleMs: 0 });
    const c = await Raw.open(h.url);
    expect((await c.req({ watch: ['a', 'b', 'c'] })).ok).toEqual({ watching: 3 });
    expect((await c.req({ unwatch: ['a', 'zzz'] })).ok).toEqual({ watching: 2 });
    expect(h.api.watchedKeyCount()).toBe(2);
    const before = c.events('a').length;
    execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('a')]);
    execute(h.services, h.local, [Buffer.from('INCR'), Buffer.from('b')]);
    await c.waitFor((m) => m.key === 'b' && m.value === 1, 'sentinel push of b');
    expect(c.events('a').length).toBe(before);
    expect((await c.req({ unwatch: [] })).ok).toEqual({ watching: 0 });
    expect(h.api.watchedKeyCount()).toBe(0);
  });

  it('limits watches per connection and changes nothing on refusal', async () => {
    const h = await start({ maxWatchesPerClient: 3 });
    const c = await Raw.open(h.url);
    await c.req({ watch: ['a', 'b'] });
    expect(errOf(await c.req({ watch: ['c', 'd'] }))).toMatch(/too many watched keys.*limit is 3/);
    expect(h.api.watchedKeyCount()).toBe(2);
    expect((await c.req({ watch: ['a', 'c'] })).ok).toEqual({ watching: 3 });
  });

  it('drops the watches of a closed connection', async () => {
    const h = await start();
    const c = await Raw.open(h.url);
    await c.req({ watch: ['a', 'b'] });
    expect(h.api.watchedKeyCount()).toBe(2);
    c.close();
    await until(() => h.api.clientCount() === 0 && h.api.watchedKeyCount() === 0, 'cleanup');
  });
});
