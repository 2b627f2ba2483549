// The users a node knows: the `default` user (auth.password, or a `default` entry of auth.users, or
// no password at all) and the users of auth.users, each with a role. Secrets are kept as what is
// needed to check them: a scrypt hash, or for auth.password a digest keyed with a key that lives only
// in this process. ACL LIST shows those, never a password. docs/security.md ("Users and roles").

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parsePasswordHash, type PasswordHash } from './password-hash.js';
import { ROLE_ACL_RULES, ROLE_PERMS, type Role } from './permissions.js';

/** One entry of auth.users, as validated by src/config/cluster-config.ts. */
export interface UserConfig {
  readonly name: string;
  /** A PHC scrypt string from `tally passwd`. */
  readonly passwordHash: string;
  readonly role: Role;
}

export type UserSecret =
  | { readonly kind: 'nopass' }
  | { readonly kind: 'plain'; readonly digest: Buffer }
  | { readonly kind: 'hash'; readonly hash: PasswordHash; readonly text: string };

export interface User {
  readonly name: string;
  readonly role: Role;
  /** PERM_* bits of the role. */
  readonly perms: number;
  readonly secret: UserSecret;
  /**
   * Changes whenever the user's credential changes (a new hash, a new password): HTTP tokens carry a
   * MAC of it, so a changed password ends the tokens issued under the old one.
   */
  readonly credentialId: Buffer;
}

export const DEFAULT_USER = 'default';

export class UserTable {
  private readonly users = new Map<string, User>();
  /** Keys the digests of plain passwords; never leaves the process. */
  private readonly digestKey = randomBytes(32);
  /** True when the node has neither a password nor users: `default` needs no password (protected mode applies). */
  readonly open: boolean;

  /** Throws on a bad hash or a duplicate name: the config validation has already refused those. */
  constructor(password: string | null, users: readonly UserConfig[] = []) {
    for (const u of users) {
      if (this.users.has(u.name)) throw new Error(`auth.users: duplicate user '${u.name}'`);
      const hash = parsePasswordHash(u.passwordHash);
      if (typeof hash === 'string') throw new Error(`auth.users: user '${u.name}': ${hash}`);
      this.add(u.name, u.role, { kind: 'hash', hash, text: u.passwordHash }, `hash:${u.passwordHash}`);
    }
    if (password !== null) {
      if (this.users.has(DEFAULT_USER)) throw new Error("auth.password and a user named 'default' in auth.users: give the default user one password");
      const digest = this.digest(Buffer.from(password, 'utf8'));
      this.add(DEFAULT_USER, 'admin', { kind: 'plain', digest }, `plain:${createHash('sha256').update(password).digest('hex')}`);
    }
    this.open = password === null && users.length === 0;
    if (this.open) this.add(DEFAULT_USER, 'admin', { kind: 'nopass' }, 'nopass');
  }

  private add(name: string, role: Role, secret: UserSecret, credential: string): void {
    const credentialId = createHash('sha256').update(`${name}\0${credential}`).digest();
    this.users.set(name, Object.freeze({ name, role, perms: ROLE_PERMS[role], secret, credentialId }));
  }

  /** The process-keyed digest of a password (the form plain passwords are kept and compared in). */
  digest(password: Buffer): Buffer {
    return createHmac('sha256', this.digestKey).update(password).digest();
  }

  /** Whether `password` is `user`'s plain password (constant time). Only for `plain` users. */
  matchesPlain(user: User, password: Buffer): boolean {
    return user.secret.kind === 'plain' && timingSafeEqual(this.digest(password), user.secret.digest);
  }

  /** The user of this name (case-sensitive, as Redis), or undefined. */
  get(name: string): User | undefined {
    return this.users.get(name);
  }

  /** `default`, when it exists (no credentials at all, auth.password, or a `default` entry). */
  get defaultUser(): User | undefined {
    return this.users.get(DEFAULT_USER);
  }

  /** Every user name, sorted (ACL USERS). */
  names(): string[] {
    return [...this.users.keys()].sort();
  }

  /** ACL LIST: one line per user, Redis's shape; secrets as hashes only. */
  aclList(): string[] {
    return this.names().map((n) => {
      const u = this.users.get(n) as User;
      const s = u.secret;
      const secret = s.kind === 'nopass' ? 'nopass' : s.kind === 'plain' ? `#${s.digest.toString('hex')}` : `#${s.text}`;
      return `user ${u.name} on ${secret} ${ROLE_ACL_RULES[u.role]}`;
    });
  }
}
