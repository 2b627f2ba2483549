// Build step after `tsc`: copies the dashboard's static files that are not TypeScript (index.html,
// style.css) into dist/, next to the modules tsconfig.dashboard.json compiles, where routes.ts reads them;
// and marks the bin entry (package.json "bin") executable, since tsc writes a new file 0644 and
// `npx tally` from a clone runs it through the shell.

import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const from = join(root, 'src/server/dashboard/static');
const to = join(root, 'dist/src/server/dashboard/static');

mkdirSync(to, { recursive: true });
for (const name of readdirSync(from)) {
  if (name.endsWith('.ts')) continue;
  copyFileSync(join(from, name), join(to, name));
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const bin of Object.values(pkg.bin ?? {})) chmodSync(join(root, bin), 0o755);
