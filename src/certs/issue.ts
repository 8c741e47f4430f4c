// Building and signing certificates in memory: keys from Node's native RSA
// generator (forge's pure-JS one takes seconds), X.509 structure and SHA-256
// signatures from node-forge.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type forge from 'node-forge';
import { CertError } from './errors.js';
import { checkDnsName, ipBytes } from './names.js';

let forgeLib: typeof forge | undefined;
/**
 * node-forge (~10 MB RSS), required on first use: `swarm manage` imports this
 * module through the CLI but issues no certificate.
 */
function lib(): typeof forge {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (forgeLib ??= require('node-forge'));
}

/** A certificate and its private key, both PEM (the key PKCS#1, as docker-machine writes it). */
export interface KeyPair { cert: string; key: string }

export interface CaOptions {
  /** Default "swarm-classic CA". */
  commonName?: string;
  /** Validity from now (default 3650); notBefore/notAfter override it. */
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
  /** RSA modulus size (default 2048). */
  keyBits?: number;
}

export interface CertOptions {
  commonName: string;
  /** IP SANs, IPv4 and IPv6. */
  ips?: string[];
  /** DNS SANs. */
  dnsNames?: string[];
  /** EKU serverAuth (with `client` too: a manager's pair, also its client certificate towards engines). */
  server?: boolean;
  /** EKU clientAuth (the default when neither is set). */
  client?: boolean;
  /** Validity from now (default 825); notBefore/notAfter override it. */
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
  keyBits?: number;
}

export const DEFAULT_CA_NAME = 'swarm-classic CA';
export const DEFAULT_CA_DAYS = 3650;
/** 825 days: the longest server certificate macOS and iOS accept. */
export const DEFAULT_CERT_DAYS = 825;
export const DEFAULT_KEY_BITS = 2048;

const DAY_MS = 86_400_000;
/** Certificates start an hour early so a peer whose clock lags still accepts them. */
const SKEW_MS = 3_600_000;

interface Validity { notBefore: Date; notAfter: Date }

function validity(o: { days?: number; notBefore?: Date; notAfter?: Date }, defaultDays: number): Validity {
  const days = o.days ?? defaultDays;
  if (!Number.isInteger(days) || days < 1) throw new CertError(`bad validity "${o.days}": days must be a whole number, at least 1`);
  const now = Date.now();
  const notBefore = o.notBefore ?? new Date(now - SKEW_MS);
  const notAfter = o.notAfter ?? new Date((o.notBefore?.getTime() ?? now) + days * DAY_MS);
  if (isNaN(notBefore.getTime()) || isNaN(notAfter.getTime())) throw new CertError('bad validity: notBefore or notAfter is not a date');
  if (notAfter <= notBefore) throw new CertError(`bad validity: notAfter (${notAfter.toISOString()}) is not after notBefore (${notBefore.toISOString()})`);
  // X.509 time fields end at year 9999 (GeneralizedTime)
  if (notAfter.getUTCFullYear() > 9999) throw new CertError('bad validity: it would end after the year 9999');
  return { notBefore, notAfter };
}

function newKey(bits = DEFAULT_KEY_BITS): { pem: string; key: forge.pki.rsa.PrivateKey; pub: forge.pki.rsa.PublicKey } {
  // below 2048 bits OpenSSL's default security level (Node, dockerd's peers) refuses the key
  if (!Number.isInteger(bits) || bits < 2048 || bits > 16384) throw new CertError(`bad key size ${bits}: want 2048 to 16384 bits`);
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = lib().pki.privateKeyFromPem(privateKey);
  return { pem: privateKey, key, pub: lib().pki.setRsaPublicKey(key.n, key.e) };
}

/**
 * 128 random bits, positive and minimally encoded: the top bit clear (DER
 * INTEGERs are signed) and the top byte non-zero (Go's parser, dockerd's,
 * rejects a padded INTEGER).
 */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) || 0x01;
  return b.toString('hex');
}

/** A CN as UTF8String: forge's default PrintableString cannot carry '_' and Go rejects it then. */
function subject(commonName: string): forge.pki.CertificateField[] {
  if (!commonName || commonName.length > 64) throw new CertError(`bad common name "${commonName}": want 1 to 64 characters`);
  return [{ shortName: 'CN', value: commonName, valueTagClass: lib().asn1.Type.UTF8 as number as forge.asn1.Class }];
}

function baseCert(pub: forge.pki.rsa.PublicKey, v: Validity): forge.pki.Certificate {
  const cert = lib().pki.createCertificate();
  cert.publicKey = pub;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = v.notBefore;
  cert.validity.notAfter = v.notAfter;
  return cert;
}

/** A self-signed CA: CA:true (critical), keyCertSign + cRLSign, a subject key identifier. */
export function createCA(opts: CaOptions = {}): KeyPair {
  const v = validity(opts, DEFAULT_CA_DAYS);
  const name = subject(opts.commonName ?? DEFAULT_CA_NAME);
  const { pem, key, pub } = newKey(opts.keyBits);
  const cert = baseCert(pub, v);
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, lib().md.sha256.create());
  return { cert: lib().pki.certificateToPem(cert), key: pem };
}

/** Parse a CA pair, checking it is a CA and that the key is its key. */
export function parseCA(ca: KeyPair): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  let cert: forge.pki.Certificate;
  let key: forge.pki.rsa.PrivateKey;
  try {
    cert = lib().pki.certificateFromPem(ca.cert);
    key = lib().pki.privateKeyFromPem(ca.key);
  } catch (e) {
    throw new CertError(`unreadable CA certificate or key: ${(e as Error).message}`);
  }
  const bc = cert.getExtension('basicConstraints') as { cA?: boolean } | undefined;
  if (!bc?.cA) throw new CertError('the CA certificate is not a CA (no basicConstraints CA:true)');
  const pub = cert.publicKey as forge.pki.rsa.PublicKey;
  if (!pub.n || pub.n.compareTo(key.n) !== 0) throw new CertError('the CA key does not belong to the CA certificate');
  return { cert, key };
}

/**
 * The CA's subject as an issuer. forge keeps a parsed UTF8String as raw UTF-8
 * bytes but encodes a value it is given, so decode first: the issuer must
 * match the CA's subject byte for byte or chains do not build.
 */
function issuerOf(ca: forge.pki.Certificate): forge.pki.CertificateField[] {
  return ca.subject.attributes.map((a) => (
    (a.valueTagClass as number) === lib().asn1.Type.UTF8 ? { ...a, value: lib().util.decodeUtf8(String(a.value)) } : { ...a }
  ));
}

/** The CA's key identifier: its subjectKeyIdentifier extension, or the same hash computed. */
function caKeyId(ca: forge.pki.Certificate): string {
  const ski = ca.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  return ski?.subjectKeyIdentifier ? lib().util.hexToBytes(ski.subjectKeyIdentifier) : ca.generateSubjectKeyIdentifier().getBytes();
}

/** A leaf certificate signed by `ca`: CA:false, digitalSignature + keyEncipherment, EKUs, SANs. */
export function issueCert(ca: KeyPair, opts: CertOptions): KeyPair {
  const v = validity(opts, DEFAULT_CERT_DAYS);
  const name = subject(opts.commonName);
  const altNames = [
    ...(opts.ips ?? []).map((ip) => ({ type: 7, value: ipBytes(ip) })),
    ...(opts.dnsNames ?? []).map((d) => ({ type: 2, value: checkDnsName(d) })),
  ];
  const parent = parseCA(ca);
  const { pem, pub } = newKey(opts.keyBits);
  const cert = baseCert(pub, v);
  cert.setSubject(name);
  cert.setIssuer(issuerOf(parent.cert));
  const exts: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    // A server pair is not a client credential unless asked (--server --client:
    // a manager's pair, also its client certificate towards engines).
    { name: 'extKeyUsage', serverAuth: !!opts.server, clientAuth: !opts.server || !!opts.client },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caKeyId(parent.cert) },
  ];
  if (altNames.length) exts.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(exts);
  cert.sign(parent.key, lib().md.sha256.create());
  return { cert: lib().pki.certificateToPem(cert), key: pem };
}
