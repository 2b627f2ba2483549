// The package as another project sees it: README.md's typed-client snippet, extracted and run as
// written (only the port changed) in a temporary project that resolves `tally` through a symlink,
// typechecked against the declarations package.json "exports" points at, against a real node. So the
// README, the exports and the client cannot drift apart. Also `npx tally` from the clone (the bin).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../integration/harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** The ```ts block of README.md that imports 'tally/client'. */
function readmeSnippet(): string {
  const md = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const found = blocks.filter((b) => b.includes("from 'tally/client'"));
  if (found.length !== 1) throw new Error(`README.md: expected one \`\`\`ts block importing 'tally/client', found ${found.length}`);
  return found[0] as string;
}

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
});
afterAll(async () => {
  await cluster?.stopAll();
});

describe("README's typed-client snippet", () => {
  it('typechecks and runs as written in a project that depends on tally, and exits by itself', async () => {
    const snippet = readmeSnippet();
    const url = 'ws://127.0.0.1:8101/ws';
    expect(snippet).toContain(url);
    const node = cluster.nodes[0]!;
    const code = snippet.replace(url, `ws://127.0.0.1:${node.httpPort}/ws`);

    const dir = mkdtempSync(join(tmpdir(), 'tally-consumer-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
    symlinkSync(ROOT, join(dir, 'node_modules', 'tally'), 'dir');
    // A TypeScript project on Node has Node's types (the client's TLS options take Buffers).
    symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: ['node'], strict: true, skipLibCheck: false, outDir: 'out' },
        include: ['main.ts'],
      }),
    );
    writeFileSync(join(dir, 'main.ts'), code);

    // Types: 'tally/client' must resolve through "exports" to the declarations.
    const tsc = spawnSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8' });
    expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).toBe(0);

    // Runs, prints the value, and exits 0 on its own (the snippet closes the client).
    const run = spawnSync(process.execPath, [join(dir, 'out', 'main.js')], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(run.error, 'the snippet did not exit by itself').toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('1');
  });

  it('only the client is exported: a deep import of the sources is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-consumer-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'tally'), 'dir');
    const probe = (spec: string): string =>
      spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(spec)}).then((m) => console.log(Object.keys(m).sort().join(',')), (e) => console.log(e.code))`], { cwd: dir, encoding: 'utf8' }).stdout.trim();
    expect(probe('tally/client')).toContain('TallyClient');
    expect(probe('tally/dist/src/node/start.js')).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});

describe('npx tally from the clone', () => {
  it('runs the bin entry', () => {
    const r = spawnSync('npx', ['--no-install', 'tally', '--version'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });
});
