// TLS for the client protocols (RESP's tlsPort, HTTPS and WSS on httpPort): the server options from
// the config's `tls` files, the client-certificate rule, and what SIGHUP reloads (certificate, key
// and CA are read again and swapped in for new connections; open ones keep theirs).

import { readFileSync } from 'node:fs';
import type { TLSSocket, TlsOptions } from 'node:tls';

/** The `tls` section of the config, as the servers need it (paths already absolute). */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string | null;
  readonly clientCerts: 'none' | 'optional' | 'required';
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
}

/** What a TLS server is built from: its options, and the client-certificate rule it enforces. */
export interface ServerTls {
  readonly options: TlsOptions;
  readonly clientCerts: TlsFiles['clientCerts'];
}

/** How long a client has to finish its handshake before the socket is closed (Node's default is 120 s). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

function read(field: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`tls.${field}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Reads the files of the `tls` section into server options. Throws naming the field and file. */
export function loadServerTls(t: TlsFiles): ServerTls {
  const options: TlsOptions = {
    cert: read('certFile', t.certFile),
    key: read('keyFile', t.keyFile),
    ...(t.caFile === null ? {} : { ca: read('caFile', t.caFile) }),
    minVersion: t.minVersion,
    // "optional" asks for a certificate and lets the handshake finish without one; clientCertAccepted
    // then refuses a certificate that was sent but does not verify.
    requestCert: t.clientCerts !== 'none',
    rejectUnauthorized: t.clientCerts === 'required',
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
  };
  return { options, clientCerts: t.clientCerts };
}

/** The part of the options a running server swaps in on reload (`server.setSecureContext`). */
export function secureContextOf(t: ServerTls): TlsOptions {
  const { cert, key, ca, minVersion } = t.options;
  return { cert, key, ...(ca === undefined ? {} : { ca }), ...(minVersion === undefined ? {} : { minVersion }) };
}

/**
 * Whether a finished handshake satisfies the client-certificate rule: "required" was enforced by the
 * handshake itself; "optional" accepts no certificate, or one that verifies against the CA.
 */
export function clientCertAccepted(socket: TLSSocket, mode: TlsFiles['clientCerts']): boolean {
  if (mode !== 'optional') return true;
  if (socket.authorized) return true;
  const cert = socket.getPeerCertificate();
  return cert === null || typeof cert !== 'object' || Object.keys(cert).length === 0;
}
