// What the CLI reports about a certificate it wrote, read back with Node's
// own X.509 parser (so it shows what TLS peers will see, not what forge meant).
import { X509Certificate } from 'node:crypto';

export interface CertSummary {
  subject: string;
  notBefore: Date;
  notAfter: Date;
  /** "IP Address:127.0.0.1", "DNS:node-1", ... as OpenSSL prints them. */
  sans: string[];
  /** Extended key usage OIDs (empty for a CA). */
  extKeyUsage: string[];
  ca: boolean;
  /** SHA-256 of the DER, "AB:CD:..." as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: string;
}

export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export function describeCert(pem: string): CertSummary {
  const x = new X509Certificate(pem);
  return {
    subject: x.subject,
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    sans: x.subjectAltName ? x.subjectAltName.split(', ') : [],
    extKeyUsage: x.keyUsage ?? [],
    ca: x.ca,
    fingerprint: x.fingerprint256,
  };
}
