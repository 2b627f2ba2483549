import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AllocatorError, findJemalloc, JEMALLOC_CONF, JEMALLOC_PATHS, nodeEnv, runningAllocator } from '../../src/util/allocator.js';

const LIB = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

describe('findJemalloc', () => {
  it('takes the first listed path that exists', () => {
    const seen: string[] = [];
    const found = findJemalloc((p) => {
      seen.push(p);
      return p === JEMALLOC_PATHS[2] || p === JEMALLOC_PATHS[3];
    });
    expect(found).toBe(JEMALLOC_PATHS[2]);
    expect(seen).toEqual(JEMALLOC_PATHS.slice(0, 3));
    expect(findJemalloc(() => false)).toBeUndefined();
  });
});

describe('nodeEnv', () => {
  const base = { PATH: '/usr/bin', HOME: '/root' };

  it('auto preloads jemalloc where it is installed, with settings that hand freed pages back', () => {
    const { env, chosen } = nodeEnv(base, 'auto', () => LIB);
    expect(chosen).toBe('jemalloc');
    expect(env).toEqual({ ...base, LD_PRELOAD: LIB, MALLOC_CONF: JEMALLOC_CONF });
    expect(JEMALLOC_CONF).toContain('background_thread:true');
  });

  it('auto falls back to the system malloc, and jemalloc refuses, when it is not installed', () => {
    expect(nodeEnv(base, 'auto', () => undefined)).toEqual({ env: base, chosen: 'system' });
    expect(() => nodeEnv(base, 'jemalloc', () => undefined)).toThrow(AllocatorError);
    expect(() => nodeEnv(base, 'jemalloc', () => undefined)).toThrow(/allocator "jemalloc": libjemalloc\.so\.2 not found \(looked in \/usr\/lib\/x86_64-linux-gnu\/libjemalloc\.so\.2, .*apt-get install libjemalloc2/);
  });

  it('system changes nothing', () => {
    expect(nodeEnv(base, 'system', () => LIB)).toEqual({ env: base, chosen: 'system' });
  });

  it("keeps the operator's own LD_PRELOAD and MALLOC_CONF", () => {
    const preset = { ...base, LD_PRELOAD: '/opt/libtcmalloc.so', MALLOC_CONF: 'narenas:1' };
    expect(nodeEnv(preset, 'auto', () => LIB)).toEqual({ env: preset, chosen: 'preset' });
    expect(nodeEnv(preset, 'system', () => LIB)).toEqual({ env: preset, chosen: 'preset' });
    // Asked for jemalloc: it goes first, the operator's library after it; their MALLOC_CONF stays.
    expect(nodeEnv(preset, 'jemalloc', () => LIB)).toEqual({ env: { ...preset, LD_PRELOAD: `${LIB} /opt/libtcmalloc.so` }, chosen: 'jemalloc' });
    // An empty LD_PRELOAD is no choice.
    expect(nodeEnv({ ...base, LD_PRELOAD: ' ' }, 'auto', () => LIB).chosen).toBe('jemalloc');
  });

  it('never changes the environment it was given', () => {
    const given = { ...base };
    nodeEnv(given, 'jemalloc', () => LIB);
    expect(given).toEqual(base);
  });
});

describe('runningAllocator', () => {
  it('reads a mapped jemalloc library as jemalloc, anything else as libc', () => {
    expect(runningAllocator(`7f5a2c000000-7f5a2c0a0000 r-xp 00000000 08:01 123 ${LIB}\n`)).toBe('jemalloc');
    expect(runningAllocator('7f5a2c000000-7f5a2c0a0000 r-xp 00000000 08:01 123 /usr/local/lib/libjemalloc.so\n')).toBe('jemalloc');
    expect(runningAllocator('7f5a2c000000-7f5a2c0a0000 r-xp 00000000 08:01 123 /opt/jemalloc/lib/libjemalloc-5.3.0.so\n')).toBe('jemalloc');
    // A directory named after it is not the library.
    expect(runningAllocator('7f5a2c000000-7f5a2c0a0000 r-xp 00000000 08:01 123 /opt/libjemalloc/lib/libc.so.6\n')).toBe('libc');
    expect(runningAllocator('7f5a2c000000-7f5a2c0a0000 r-xp 00000000 08:01 123 /lib/x86_64-linux-gnu/libc.so.6\n')).toBe('libc');
    expect(runningAllocator('')).toBe('libc');
  });

  // A real process started with the environment nodeEnv gives: the library is loaded, and read back.
  it.runIf(findJemalloc() !== undefined)('a process started with the jemalloc environment runs on jemalloc', () => {
    const built = resolve(import.meta.dirname, '../../dist/src/util/allocator.js');
    const script = `import(${JSON.stringify(built)}).then((m) => process.stdout.write(m.runningAllocator()))`;
    const run = (env: NodeJS.ProcessEnv): string => spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).stdout;
    expect(run(nodeEnv(process.env, 'jemalloc').env)).toBe('jemalloc');
    expect(run(nodeEnv({ ...process.env, LD_PRELOAD: '' }, 'system').env)).toBe('libc');
  });
});
