// The node's client security, built from the config (docs/security.md): the secret files checked
// before anything opens, the users and their authenticator, protected mode's decision and its
// warnings, and the signer of HTTP tokens (keyed from the gossip key file). start.ts wires the result.

import { readFileSync } from 'node:fs';
import type { ClusterConfig, NodeEntry } from '../config/cluster-config.js';
import { assertPrivateFile } from '../config/secret-files.js';
import { Authenticator } from '../server/auth/authenticator.js';
import { parsePasswordHash, RECOMMENDED_MIN_LN } from '../server/auth/password-hash.js';
import { exposureWarning, isLoopbackHost, protectedModeRefuses } from '../server/auth/protected-mode.js';
import { TokenSigner } from '../server/auth/tokens.js';
import { UserTable } from '../server/auth/users.js';
import type { Logger } from '../util/logger.js';

/**
 * Test hook: TALLY_TEST_LOCAL_ADDRESSES=127.0.0.1 makes only those loopback addresses count as local
 * for protected mode, so a test can be a "remote" client from 127.0.0.2 while everything stays on
 * the loopback interface. It can only narrow what is local (src/server/auth/protected-mode.ts).
 */
export const TEST_LOCAL_ADDRESSES = 'TALLY_TEST_LOCAL_ADDRESSES';

/** Refuses (throws) when the gossip key file or the TLS key may be read by other users. */
export function assertSecretFiles(cfg: ClusterConfig): void {
  if (cfg.auth.keyFile !== null) assertPrivateFile(cfg.auth.keyFile, 'auth.keyFile', 'the gossip key');
  if (cfg.tls !== null) assertPrivateFile(cfg.tls.keyFile, 'tls.keyFile', "this node's TLS private key");
}

/**
 * Refuses (throws) to gossip in the clear off this machine: with `auth.keyFile: null`, frames are
 * neither authenticated nor encrypted, so anyone who can reach a non-loopback gossip port could
 * forge counts or read them. Loopback stays allowed (a local cluster, the test suites).
 */
export function assertGossipKeyOffLoopback(cfg: ClusterConfig, me: NodeEntry): void {
  if (cfg.auth.keyFile !== null || isLoopbackHost(me.bindHost)) return;
  throw new Error(
    `auth.keyFile is null and node ${me.id} would gossip on ${me.bindHost}, off this machine: frames would be neither authenticated nor encrypted, so anyone who reaches port ${me.gossipPort} could forge or read counts. Create a key with \`tally keygen --out <file>\`, set auth.keyFile to it on every node, or bind gossip to 127.0.0.1 (bindHost)`,
  );
}

/** The raw keys of the gossip key file, sending key first (HTTP tokens are derived from them). */
function keyFileSecrets(file: string | null): Buffer[] {
  if (file === null) return [];
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => Buffer.from(l, 'base64'));
}

export interface ClientSecurity {
  users: UserTable;
  auth: Authenticator;
  /** Protected mode: true for a client address to refuse. */
  refuses: (ip: string) => boolean;
  tokens: TokenSigner;
}

/** Builds the node's client security and logs what it is (and what it warns about). */
export function clientSecurity(cfg: ClusterConfig, me: NodeEntry, log: Logger): ClientSecurity {
  const users = new UserTable(cfg.auth.password, cfg.auth.users);
  const auth = new Authenticator({ users, logger: log });
  cfg.auth.users.forEach((u, i) => {
    const h = parsePasswordHash(u.passwordHash);
    if (typeof h !== 'string' && h.ln < RECOMMENDED_MIN_LN) {
      log.warn({ user: u.name, ln: h.ln }, `auth.users[${i}]: scrypt cost ln=${h.ln} is below ${RECOMMENDED_MIN_LN}: a stolen hash is cheap to guess; make a new one with \`tally passwd\``);
    }
  });
  const testLocal = process.env[TEST_LOCAL_ADDRESSES];
  if (testLocal !== undefined) log.warn({ addresses: testLocal }, `${TEST_LOCAL_ADDRESSES} is set: only these addresses count as local for protected mode (a test hook)`);
  const refuses = protectedModeRefuses({
    enabled: cfg.protectedMode,
    open: users.open,
    ...(testLocal === undefined ? {} : { localAddresses: testLocal.split(',').map((x) => x.trim()) }),
  });
  const exposure = exposureWarning(me.bindHost, users.open, cfg.protectedMode);
  if (exposure !== null) log.warn({ host: me.bindHost }, exposure);
  log.info(
    { users: users.names(), protectedMode: cfg.protectedMode && users.open, tls: cfg.tls === null ? 'off' : { resp: me.tlsPort !== null, http: cfg.tls.http, clientCerts: cfg.tls.clientCerts } },
    'client security',
  );
  return { users, auth, refuses, tokens: new TokenSigner(keyFileSecrets(cfg.auth.keyFile), cfg.cluster) };
}

/** Field-wise sum of counter objects of one shape (the plaintext and TLS RESP servers' stats); missing ones count 0. */
export function sumStats<T extends object>(parts: readonly (T | undefined)[]): T {
  const present = parts.filter((p): p is T => p !== undefined);
  const out: Record<string, number> = {};
  for (const p of present) for (const [k, v] of Object.entries(p)) out[k] = (out[k] ?? 0) + (typeof v === 'number' ? v : 0);
  return out as T;
}
