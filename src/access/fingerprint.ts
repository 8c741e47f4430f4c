// Certificate fingerprints as the policy's `revoked` list holds them: SHA-256
// of the DER, uppercase hex in colon-separated pairs, the form
// `openssl x509 -noout -fingerprint -sha256` prints and Node's
// X509Certificate.fingerprint256 and TLSSocket.getPeerCertificate() give.
import { X509Certificate } from 'node:crypto';
import { PolicyError } from './errors.js';

/** What openssl prints before the value (OpenSSL 3: "sha256", 1.x: "SHA256"), accepted when pasted along. */
const PREFIX = /^sha-?256 ?fingerprint ?=/i;

/** The normalized fingerprint, or why `s` is not one (for messages). */
export function fingerprintProblem(s: string): { fingerprint: string } | string {
  const hex = s.trim().replace(PREFIX, '').trim().replace(/:/g, '');
  const bad = /[^0-9a-fA-F]/.exec(hex);
  if (bad) return `${JSON.stringify(bad[0])} is not a hex digit; want 64 hex digits (a SHA-256), colons allowed`;
  if (hex.length !== 64) return `${hex.length} hex digits, want 64 (a SHA-256${hex.length === 40 ? ', not a SHA-1' : ''})`;
  return { fingerprint: hex.toUpperCase().replace(/(..)(?!$)/g, '$1:') };
}

/** `AB:CD:...` (uppercase, colons), or undefined when `s` is not 64 hex digits once colons are removed. */
export function normalizeFingerprint(s: string): string | undefined {
  const p = fingerprintProblem(s);
  return typeof p === 'string' ? undefined : p.fingerprint;
}

/** The SHA-256 fingerprint of a PEM certificate (the first one, for a chain). */
export function fingerprintOfPem(pem: string): string {
  return certOf(pem).fingerprint256;
}

/** The fingerprint and common name of a PEM certificate. */
export function certIdentity(pem: string): { fingerprint: string; commonName?: string } {
  const x = certOf(pem);
  const cn = x.subject.split('\n').find((l) => l.startsWith('CN='));
  return { fingerprint: x.fingerprint256, commonName: cn?.slice(3) };
}

function certOf(pem: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new PolicyError('not a PEM certificate (no BEGIN CERTIFICATE line)');
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw new PolicyError(`not a valid certificate: ${(e as Error).message}`);
  }
}
