// TLS to a discovery store (etcd, Consul): `--discovery-opt kv.cacertfile,
// kv.certfile, kv.keyfile` read and checked before any connection, and a
// failed connection's TLS cause in words naming the option and file to check.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { DiscoveryError } from './discovery.js';

/** `--discovery-opt` TLS files, read and checked (readStoreTls). */
export interface StoreTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Option name -> file, for messages. */
  files: ReadonlyMap<string, string>;
  /** The client certificate's issuer and expiry, for messages. */
  certIssuer?: string;
  certNotAfter?: Date;
}

export const TLS_OPTIONS = ['kv.cacertfile', 'kv.certfile', 'kv.keyfile'] as const;

/** Node's "ENOENT: no such file or directory, open '/x'" as "no such file or directory". */
function fsReason(err: unknown): string {
  return (err as Error).message.replace(/^E[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
}

/**
 * Read and check the TLS files given among `kv.cacertfile`, `kv.certfile`,
 * `kv.keyfile` (undefined when none is). Every refusal names the option and
 * its file. Which options must go together is the caller's rule.
 */
export function readStoreTls(scheme: string, opts: ReadonlyMap<string, string>): StoreTls | undefined {
  const files = new Map<string, string>();
  for (const k of TLS_OPTIONS) {
    const f = opts.get(k);
    if (f !== undefined) files.set(k, f);
  }
  if (files.size === 0) return undefined;
  const fail = (msg: string): never => { throw new DiscoveryError(`${scheme} discovery: ${msg}`); };
  const read = (k: string): Buffer | undefined => {
    const f = files.get(k);
    if (f === undefined) return undefined;
    if (f === '') fail(`${k} is empty: want the path of a PEM file`);
    try {
      return readFileSync(f);
    } catch (err) {
      return fail(`cannot read ${k} ${f}: ${fsReason(err)}`);
    }
  };
  const cert = (k: string, pem: Buffer): X509Certificate => {
    try {
      return new X509Certificate(pem);
    } catch {
      return fail(`${k} ${files.get(k)} holds no PEM certificate`);
    }
  };
  const out: StoreTls = { files, ca: read('kv.cacertfile'), cert: read('kv.certfile'), key: read('kv.keyfile') };
  if (out.ca) cert('kv.cacertfile', out.ca);
  let x: X509Certificate | undefined;
  if (out.cert) {
    x = cert('kv.certfile', out.cert);
    out.certIssuer = /^CN=(.*)$/m.exec(x.issuer)?.[1] ?? x.issuer.replace(/\n/g, ', ');
    out.certNotAfter = new Date(x.validTo);
  }
  if (out.key) {
    let k;
    try {
      k = createPrivateKey(out.key);
    } catch (err) {
      return fail(`kv.keyfile ${files.get('kv.keyfile')} holds no usable PEM private key (${(err as Error).message})`);
    }
    if (x && !x.checkPrivateKey(k)) {
      fail(`kv.keyfile ${files.get('kv.keyfile')} is not the key of the certificate in kv.certfile ${files.get('kv.certfile')}`);
    }
  }
  try {
    createSecureContext({ ca: out.ca, cert: out.cert, key: out.key });
  } catch (err) {
    fail(`the TLS files (${[...files].map(([k, f]) => `${k} ${f}`).join(', ')}) cannot be used: ${(err as Error).message}`);
  }
  return out;
}

/** TLS alerts a server sends when it refuses our client certificate (or its absence). */
const CLIENT_CERT_REFUSED = /alert (bad certificate|certificate required|unknown ca|certificate unknown|certificate expired|certificate revoked|unsupported certificate|access denied|decrypt error)|PEER_DID_NOT_RETURN_A_CERTIFICATE/i;
const SERVER_NOT_TRUSTED = /unable to verify the first certificate|unable to get (local )?issuer certificate|self[- ]signed certificate|certificate signature failure|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT/i;
const NOT_TLS = /wrong version number|packet length too long|disconnected before secure TLS connection was established|ERR_SSL_WRONG_VERSION_NUMBER/i;

/**
 * A connection failure that is a TLS problem, in words naming the option to
 * check; undefined when `text` (an error's message, code included) is not
 * about TLS. `store` names the server ("etcd", "Consul"); `trusts` says where
 * that server's trusted CA is configured.
 */
export function storeTlsProblem(text: string, tls: StoreTls | undefined, store: string, trusts: string): string | undefined {
  if (!tls) return undefined;
  const file = (k: string): string => tls.files.get(k) ?? '';
  if (CLIENT_CERT_REFUSED.test(text)) {
    if (!tls.cert) {
      return `TLS handshake refused: ${store} requires a client certificate; give --discovery-opt kv.certfile=<cert> and kv.keyfile=<key>, signed by the CA ${store} trusts (${trusts})`;
    }
    const expired = tls.certNotAfter && tls.certNotAfter.getTime() < Date.now() ? `, which expired on ${tls.certNotAfter.toISOString()}` : '';
    return `TLS handshake refused: ${store} rejected the client certificate in kv.certfile ${file('kv.certfile')} (issued by "${tls.certIssuer}"${expired}): ` +
      `it must be signed by the CA ${store} trusts (${trusts}), valid now, and for client auth`;
  }
  if (SERVER_NOT_TRUSTED.test(text)) {
    return tls.ca
      ? `TLS: ${store}'s certificate is not signed by the CA in kv.cacertfile ${file('kv.cacertfile')}; give the CA that signed ${store}'s certificate`
      : `TLS: ${store}'s certificate is not signed by a CA this system trusts; give --discovery-opt kv.cacertfile=<the CA that signed it>`;
  }
  if (/certificate has expired|CERT_HAS_EXPIRED/i.test(text)) return `TLS: ${store}'s certificate has expired`;
  if (/certificate is not yet valid|CERT_NOT_YET_VALID/i.test(text)) return `TLS: ${store}'s certificate is not valid yet (check the clocks)`;
  const name = /(Hostname\/IP does not match certificate's altnames: .*?)(\. Resolution note|$)/i.exec(text);
  if (name || /ERR_TLS_CERT_ALTNAME_INVALID/.test(text)) {
    return `TLS: ${store}'s certificate is not valid for the address in the discovery URL (${name ? name[1].trim() : 'altname mismatch'}); use a name it was issued for, or reissue it with this address`;
  }
  if (NOT_TLS.test(text)) {
    return `TLS handshake failed: ${store} does not seem to serve TLS on this port; if it serves plain http, drop kv.cacertfile, kv.certfile and kv.keyfile`;
  }
  return undefined;
}
