// Who may run what: the three roles of cluster.config.json's users, as bit sets, and what a command
// needs, read from the flags it already carries in the command table. docs/security.md ("Roles").

/** May run commands flagged `readonly` (GET, PFCOUNT, INFO, ...). */
export const PERM_READ = 1;
/** May run commands flagged `write` (INCR, DEL, ...), and commands with no classifying flag. */
export const PERM_WRITE = 2;
/** May run commands flagged `admin` (CONFIG, FLUSHALL, FLUSHDB, ACL LIST, CLIENT LIST, ...). */
export const PERM_ADMIN = 4;
export const PERM_ALL = PERM_READ | PERM_WRITE | PERM_ADMIN;

export const ROLES = ['read-only', 'read-write', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_PERMS: Readonly<Record<Role, number>> = Object.freeze({
  'read-only': PERM_READ,
  'read-write': PERM_READ | PERM_WRITE,
  admin: PERM_ALL,
});

/** A role's rules as Redis's ACL LIST writes them, so tools that parse ACL LIST read something familiar. */
export const ROLE_ACL_RULES: Readonly<Record<Role, string>> = Object.freeze({
  'read-only': '~* &* -@all +@read +@connection',
  'read-write': '~* &* -@all +@read +@write +@connection',
  admin: '~* &* +@all',
});

/**
 * The flags of the command table (CommandSpec.flags), Redis's names as COMMAND shows them: `noscript`
 * (refused by redis.call), `allow_busy` (runs while a script is busy), `skip_monitor`,
 * `skip_slowlog`, `denyoom` (refused while the node is over `maxmemory`: docs/operations.md,
 * "Memory limit"), ...; `connection`, tally's, marks commands every user may run. Only `admin`,
 * `write`, `readonly` and `connection` decide permissions (`permsNeeded`).
 */
export type CommandFlag = 'write' | 'denyoom' | 'readonly' | 'fast' | 'admin' | 'noauth' | 'connection' | 'noscript' | 'allow_busy' | 'loading' | 'stale' | 'skip_monitor' | 'skip_slowlog';

/**
 * What a command with these flags needs: `admin` needs PERM_ADMIN, `write` PERM_WRITE, `readonly`
 * PERM_READ, `connection` nothing (PING, SELECT, HELLO...). A command with none of these flags needs
 * PERM_WRITE: a command added without saying what it does is not open to read-only users (fail closed).
 */
export function permsNeeded(flags: readonly CommandFlag[]): number {
  if (flags.includes('admin')) return PERM_ADMIN;
  if (flags.includes('write')) return PERM_WRITE;
  if (flags.includes('readonly')) return PERM_READ;
  if (flags.includes('connection')) return 0;
  return PERM_WRITE;
}
