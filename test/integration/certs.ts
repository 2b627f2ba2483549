// Certificates made at run time with openssl for the TLS tests: a CA, a server certificate for
// 127.0.0.1 and localhost signed by it, a client certificate signed by it, and a client certificate
// of another CA (which the node must refuse). Keys are written 0600, as the node requires.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by another CA: a client certificate the node does not trust. */
  strangerCert: string;
  strangerKey: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** An EC P-256 key and a certificate signed by `ca` (or self-signed), valid two days. */
export function issue(dir: string, name: string, subject: string, ca: { cert: string; key: string } | null, san?: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  if (ca === null) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  } else {
    const csr = join(dir, `${name}.csr`);
    const ext = join(dir, `${name}.ext`);
    writeFileSync(ext, `basicConstraints=CA:FALSE\n${san === undefined ? 'extendedKeyUsage=clientAuth' : `extendedKeyUsage=serverAuth\nsubjectAltName=${san}`}\n`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  }
  chmodSync(key, 0o600);
  return { cert, key };
}

export function makeCerts(dir: string): TestCerts {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = issue(dir, 'ca', '/CN=tally test CA', null);
  const server = issue(dir, 'server', '/CN=127.0.0.1', ca, 'IP:127.0.0.1,DNS:localhost');
  const client = issue(dir, 'client', '/CN=tally test client', ca);
  const otherCa = issue(dir, 'other-ca', '/CN=another CA', null);
  const stranger = issue(dir, 'stranger', '/CN=stranger', otherCa);
  return { dir, ca: ca.cert, caKey: ca.key, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key, strangerCert: stranger.cert, strangerKey: stranger.key };
}
