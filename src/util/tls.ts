// TLS material and TLS failures in words. One key pair serves both ways, as in
// classic Swarm: the manager's server certificate towards clients, and its
// client certificate towards engines (and the primary, for a replica).
//
// Verification of peers is done here from the handshake's facts rather than
// by Node's rejectUnauthorized, because Node's own errors drop what a user
// needs to fix the setup (the issuer, the expiry, the SANs of the peer).
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate, type SecureVersion, type TLSSocket } from 'node:tls';

/** `--tls`/`--tlsverify` and their files, as parsed at the edge. */
export interface TlsFiles {
  /** --tlsverify: check peers against the CA and ask clients for certificates. */
  verify: boolean;
  ca?: string;
  cert: string;
  key: string;
}

/** The files' contents, read and checked. */
export interface TlsMaterial {
  files: TlsFiles;
  ca?: Buffer;
  cert: Buffer;
  key: Buffer;
  /** The first certificate of --tlscert (the manager's own). */
  certInfo: CertSummary;
  caInfo?: CertSummary;
  loadedAt: Date;
}

export interface CertSummary { subject: string; notAfter: Date; sans: string }

export class TlsConfigError extends Error {}

/** The oldest protocol offered or accepted anywhere (classic: TLS 1.2 floor from 1.2). */
export const MIN_TLS_VERSION: SecureVersion = 'TLSv1.2';

function summarize(x: X509Certificate): CertSummary {
  return { subject: x.subject.replace(/\n/g, ', '), notAfter: new Date(x.validTo), sans: x.subjectAltName ?? '' };
}

/**
 * Read and check the files. Texts follow classic Swarm's loadTLSConfig where
 * it had one ("Couldn't load X509 key pair ...", "Couldn't read CA certificate").
 */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  let cert: Buffer, key: Buffer, x: X509Certificate;
  try {
    cert = readFileSync(files.cert);
    key = readFileSync(files.key);
    x = new X509Certificate(cert);
    if (!x.checkPrivateKey(createPrivateKey(key))) throw new Error('private key does not match public key');
  } catch (err) {
    throw new TlsConfigError(`Couldn't load X509 key pair (${files.cert}, ${files.key}): ${(err as Error).message}. Key encrypted?`);
  }
  let ca: Buffer | undefined;
  let caInfo: CertSummary | undefined;
  // Like classic, the CA matters (and is read) only with --tlsverify.
  if (files.ca && files.verify) {
    try { ca = readFileSync(files.ca); } catch (err) { throw new TlsConfigError(`Couldn't read CA certificate: ${(err as Error).message}`); }
    try { caInfo = summarize(new X509Certificate(ca)); } catch (err) {
      throw new TlsConfigError(`Couldn't read CA certificate: ${files.ca}: no PEM certificate in it (${(err as Error).message})`);
    }
  }
  return { files, ca, cert, key, certInfo: summarize(x), caInfo, loadedAt: new Date() };
}

/** Days from now until `d` (negative once past). */
export function daysUntil(d: Date, now = Date.now()): number {
  return (d.getTime() - now) / 86_400_000;
}

/** A peer certificate's SANs, as "IP 1.2.3.4, DNS node-1" (or "none"). */
function sansText(sans: string | undefined): string {
  if (!sans) return 'no subject alternative names';
  return sans.split(/,\s*/).map((s) => s.replace(/^IP Address:/, 'IP ').replace(/^DNS:/, 'DNS ')).join(', ');
}

function issuerText(c: PeerCertificate): string {
  const i = c.issuer as unknown as Record<string, string> | undefined;
  return i?.CN ? `"${i.CN}"` : 'an unnamed issuer';
}

/**
 * Check a finished handshake with an engine (or a primary: `what`) against the
 * CA and the address dialled. Returns the reason it must be refused, or undefined.
 */
export function verifyPeer(socket: TLSSocket, host: string, ca?: Buffer, what = 'engine'): string | undefined {
  // A resumed session carries no certificate in Node; only sessions of
  // verified connections are kept for resumption (../cluster/transport.ts).
  if (socket.isSessionReused()) return socket.authorized ? undefined : 'a resumed TLS session was not authorized';
  const peer = socket.getPeerCertificate();
  if (!peer || !Object.keys(peer).length) return `the ${what} sent no certificate`;
  let code = socket.authorized ? '' : String((socket.authorizationError as unknown as { code?: string })?.code ?? socket.authorizationError ?? '');
  // OpenSSL reports the last problem only: a certificate from another CA that
  // has also expired would read "expired" and be renewed from the wrong CA.
  if (code && /^CERT_(HAS_EXPIRED|NOT_YET_VALID)$/.test(code) && ca && !issuedBy(peer, ca)) code = 'UNABLE_TO_VERIFY_LEAF_SIGNATURE';
  // Node checks the name even without rejectUnauthorized and reports it as
  // this code; the chain itself was fine then.
  if (code && code !== 'ERR_TLS_CERT_ALTNAME_INVALID') return chainReason(code, peer);
  if (code || checkServerIdentity(host, peer)) {
    return `certificate name mismatch: the ${what} was dialled as ${host}, but its certificate is valid for ${sansText(peer.subjectaltname)} (add ${host} to its SANs, or dial it by a name it has)`;
  }
  return undefined;
}

/** Whether one of the certificates in the CA bundle signed `peer`. */
function issuedBy(peer: PeerCertificate, caBundle: Buffer): boolean {
  try {
    const leaf = new X509Certificate(peer.raw);
    const pems = caBundle.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return pems.some((pem) => { const c = new X509Certificate(pem); return leaf.checkIssued(c) && leaf.verify(c.publicKey); });
  } catch {
    return true; // cannot tell: keep OpenSSL's reason
  }
}

function chainReason(code: string, peer: PeerCertificate): string {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return `certificate has expired (valid until ${new Date(peer.valid_to).toISOString()})`;
    case 'CERT_NOT_YET_VALID':
      return `certificate is not valid yet (valid from ${new Date(peer.valid_from).toISOString()}; check the clocks)`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_SIGNATURE_FAILURE':
      return `certificate signed by unknown authority (issued by ${issuerText(peer)}, which is not the --tlscacert CA)`;
    case 'INVALID_PURPOSE':
      return 'certificate not valid for this use (its extended key usage lacks serverAuth for a server, clientAuth for a client)';
    default:
      return `certificate rejected: ${code || 'unknown reason'}`;
  }
}

/** OpenSSL and Node error codes of failed handshakes, in words. */
const HANDSHAKE_CODES: Record<string, string> = {
  ERR_SSL_WRONG_VERSION_NUMBER: 'the peer does not speak TLS (it answered in plain text)',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'the peer does not speak TLS (it answered in plain text)',
  ERR_SSL_HTTP_REQUEST: 'plain HTTP sent to the TLS port',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'the peer offered only a TLS version older than 1.2',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'the peer refused the TLS version (TLS 1.2 or newer is required)',
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'no TLS version in common (TLS 1.2 or newer is required)',
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'no client certificate',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'handshake refused: the engine requires a client certificate (start the manager with --tlsverify and its pair)',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'handshake refused: the engine rejected the manager\'s certificate (is it signed by the CA the engine trusts, and valid for client auth?)',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'handshake refused: the engine does not know the CA of the manager\'s certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'handshake refused: the engine says the manager\'s certificate has expired',
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: 'handshake refused: the engine could not verify the manager\'s certificate',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'handshake refused by the peer (no cipher or protocol in common)',
  ECONNRESET: 'connection reset during the TLS handshake',
};

/** A TLS failure as one clear reason; undefined when `err` is not about TLS. */
export function tlsReason(err: unknown): string | undefined {
  const e = err as { code?: string; message?: string; tlsReason?: string } | undefined;
  if (!e) return undefined;
  if (e.tlsReason) return e.tlsReason;
  if (e.code && HANDSHAKE_CODES[e.code] && e.code !== 'ECONNRESET') return HANDSHAKE_CODES[e.code];
  if (e.code?.startsWith('ERR_SSL_')) return `TLS handshake failed: ${e.message ?? e.code}`;
  return undefined;
}

/** The same codes seen from the server side, where the peer is a client. */
const CLIENT_CODES: Record<string, string> = {
  ERR_SSL_WRONG_VERSION_NUMBER: 'not a TLS client (it sent no TLS handshake)',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'not a TLS client (it sent no TLS handshake)',
  ECONNRESET: 'the client went away during the TLS handshake',
};

/** Why a client's handshake on our TLS listener failed, for the log. */
export function clientRefusalReason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code && CLIENT_CODES[e.code]) return CLIENT_CODES[e.code];
  if (e?.code && HANDSHAKE_CODES[e.code]) return HANDSHAKE_CODES[e.code];
  if (e?.code === 'ERR_SSL_VERSION_TOO_LOW' || /version too low|unsupported protocol/i.test(e?.message ?? '')) return 'TLS version older than 1.2';
  if (e?.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'no TLS handshake within the time allowed';
  return e?.message ?? String(err);
}

/** Why an authenticated-looking client must be refused (--tlsverify), or undefined if fine. */
export function clientCertRefusal(socket: TLSSocket): string | undefined {
  const peer = socket.getPeerCertificate();
  // Node calls a TLS 1.3 resumed session without any certificate "authorized":
  // no certificate is a refusal whatever the flag says.
  if (!peer || !Object.keys(peer).length) return 'no client certificate';
  if (socket.authorized) return undefined;
  const code = String((socket.authorizationError as unknown as { code?: string })?.code ?? socket.authorizationError ?? '');
  const who = (peer.subject as unknown as Record<string, string> | undefined)?.CN;
  return `client certificate${who ? ` "${who}"` : ''} refused: ${chainReason(code, peer)}`;
}
