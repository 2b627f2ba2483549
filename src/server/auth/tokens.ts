// Bearer tokens for the HTTP edge (/status, /metrics, /ws): issued at GET /auth/token against HTTP
// Basic credentials, so a browser (the dashboard) or a script need not keep sending the password.
// `tly1.<payload>.<mac>`: the payload (base64url JSON) names the user, the expiry and a MAC of the
// user's credential id (a new password ends the tokens issued under the old one); the MAC is
// HMAC-SHA256 under a key derived (HKDF) from the cluster's gossip keyring, so a token from one node
// opens every node that holds the same key file. Without a key file the key is random per process
// and a token opens only the node that issued it. docs/security.md ("HTTP").

import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { User, UserTable } from './users.js';

/** How long a token is valid: a working day, then the dashboard asks for the password again. */
export const TOKEN_TTL_MS = 12 * 60 * 60 * 1000;
const PREFIX = 'tly1';
const MAX_TOKEN_CHARS = 1024;

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

export class TokenSigner {
  /** keys[0] signs; every key verifies (the keyring's rotation carries over to tokens). */
  private readonly keys: Buffer[];

  /**
   * `secrets`: the gossip keyring's raw keys, sending key first; empty for a random per-process key.
   * `now`: clock in ms.
   */
  constructor(
    secrets: readonly Buffer[],
    clusterName: string,
    private readonly now: () => number = Date.now,
    private readonly ttlMs: number = TOKEN_TTL_MS,
  ) {
    const ikm = secrets.length > 0 ? secrets : [randomBytes(32)];
    this.keys = ikm.map((k) => Buffer.from(hkdfSync('sha256', k, Buffer.from(`tally http token ${clusterName}`), Buffer.from('tly1 hmac'), 32)));
  }

  /** A token for `user`, and when it expires (ms since the epoch). */
  issue(user: User): { token: string; expiresAt: number } {
    const expiresAt = this.now() + this.ttlMs;
    const key = this.keys[0] as Buffer;
    const payload = b64url(JSON.stringify({ u: user.name, e: expiresAt, c: this.credentialMac(key, user) }));
    return { token: `${PREFIX}.${payload}.${this.mac(key, payload)}`, expiresAt };
  }

  /** The user a token stands for, or null: malformed, forged, expired, or the credential changed. Never throws. */
  verify(token: string, users: UserTable): User | null {
    if (token.length > MAX_TOKEN_CHARS) return null;
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) return null;
    const [, payload = '', mac = ''] = parts;
    const given = Buffer.from(mac, 'base64url');
    const key = this.keys.find((k) => {
      const want = Buffer.from(this.mac(k, payload), 'base64url');
      return want.length === given.length && timingSafeEqual(want, given);
    });
    if (key === undefined) return null;
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (typeof claims !== 'object' || claims === null) return null;
    const { u, e, c } = claims as Record<string, unknown>;
    if (typeof u !== 'string' || typeof e !== 'number' || typeof c !== 'string' || e <= this.now()) return null;
    const user = users.get(u);
    if (user === undefined) return null;
    const want = Buffer.from(this.credentialMac(key, user));
    const got = Buffer.from(c);
    return want.length === got.length && timingSafeEqual(want, got) ? user : null;
  }

  private mac(key: Buffer, payload: string): string {
    return createHmac('sha256', key).update(`${PREFIX}.${payload}`).digest('base64url');
  }

  private credentialMac(key: Buffer, user: User): string {
    return createHmac('sha256', key).update('credential').update(user.credentialId).digest().subarray(0, 16).toString('base64url');
  }
}
