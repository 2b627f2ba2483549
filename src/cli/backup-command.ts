// `tally backup <dir>`: a consistent copy of this machine's node stores (LMDB's snapshot copy, safe
// while the nodes run), laid out as a dataDir, so a restore is a copy back with the node stopped
// (docs/deployment.md, "Backup and restore").

import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/cluster-config.js';
import { identityPath } from '../persistence/identity.js';
import { backupStore, storePath } from '../persistence/store.js';
import { configOption } from './args.js';

interface BackupFlags {
  config: string;
  id?: string[];
}

export function registerBackup(program: Command): void {
  configOption(
    program
      .command('backup <dir>')
      .description('copy the data store of every node of the config found under dataDir on this machine (or --id) into <dir>/<id>/, consistently, while the nodes run')
      .option('--id <id...>', 'back up only these nodes (default: every node with a store under dataDir)'),
  ).action(async (dir: string, flags: BackupFlags) => {
    const cfg = loadConfig(flags.config);
    if (cfg.persistence === 'none') throw new Error(`${flags.config}: persistence is "none": the nodes keep nothing on disk to back up (their peers hold the state)`);
    for (const id of flags.id ?? []) {
      if (!cfg.nodes.some((n) => n.id === id)) throw new Error(`--id: no node '${id}' in the config (nodes: ${cfg.nodes.map((n) => n.id).join(', ')})`);
    }
    const ids = flags.id ?? cfg.nodes.map((n) => n.id).filter((id) => existsSync(storePath(cfg.dataDir, id)));
    if (ids.length === 0) throw new Error(`no node store under ${cfg.dataDir} (looked for <id>/store.mdb of ${cfg.nodes.map((n) => n.id).join(', ')}): is this the machine, and the config, the nodes run with?`);
    const out = resolve(dir);
    for (const id of ids) {
      const target = join(out, id);
      if (existsSync(target)) throw new Error(`${target} already exists: back up into a new directory`);
    }
    for (const id of ids) {
      const target = join(out, id);
      // A backup holds every count: readable by its owner only, like the data directory it copies.
      mkdirSync(out, { recursive: true, mode: 0o700 });
      mkdirSync(target, { recursive: true, mode: 0o700 });
      try {
        const r = await backupStore({ dataDir: cfg.dataDir, nodeId: id, cluster: cfg.cluster }, join(target, 'store.mdb'));
        // The identity is not needed to restore (a restored node bumps its incarnation above the
        // store's and the clock), but it keeps the copy a complete dataDir entry.
        if (existsSync(identityPath(cfg.dataDir, id))) copyFileSync(identityPath(cfg.dataDir, id), join(target, 'identity.json'));
        console.log(`${id}: ${r.records} key(s), incarnation ${r.meta.incarnation} -> ${r.path}`);
      } catch (e) {
        rmSync(target, { recursive: true, force: true });
        throw e;
      }
    }
  });
}
