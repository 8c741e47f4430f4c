// Certificates of a TLS dev cluster, all under <stateDir>/certs in the layout
// `swarm certs` uses: the CA (ca.pem, ca-key.pem), one server pair per engine
// (<name>/), the manager's pair (manager/) and a client bundle (client/).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundle, caPaths, certPaths, issueToDir, type CertDirs, type KeyPair } from '../certs/index.js';
import { CERT_MODE, KEY_MODE, ensureDir, writeFileAtomic } from '../certs/write.js';
import type { ClientTls } from './util.js';

export type { CertDirs, KeyPair };

/** SANs of a server certificate. */
export interface Sans {
  ips: string[];
  dnsNames: string[];
}

export const certsDir = (stateDir: string) => path.join(stateDir, 'certs');
export const MANAGER_CERT_NAME = 'manager';
export const CLIENT_CERT_NAME = 'client';

/**
 * Store a CA made in memory as certsDir/ca.pem and ca-key.pem. Not initCA():
 * the CA must exist before startEngines, which wipes a leftover state dir
 * (certs included) first, so it is made in memory and written afterwards.
 */
export function writeCA(dir: string, ca: KeyPair): void {
  const p = caPaths(dir);
  ensureDir(dir);
  writeFileAtomic(p.caKey, ca.key, KEY_MODE);
  writeFileAtomic(p.caCert, ca.cert, CERT_MODE);
}

/** An engine's server pair, valid for 127.0.0.1 (its address), its name and localhost unless `sans` says otherwise. */
export function issueEngineCert(dir: string, name: string, sans?: Sans): CertDirs {
  const s = sans ?? { ips: ['127.0.0.1'], dnsNames: [name, 'localhost'] };
  return certPaths(issueToDir(dir, name, { commonName: name, server: true, ips: s.ips, dnsNames: s.dnsNames }));
}

/** The manager's pair: its server certificate towards clients and its client certificate towards engines. */
export function issueManagerCert(dir: string): CertDirs {
  return certPaths(issueToDir(dir, MANAGER_CERT_NAME, { commonName: 'swarm-manager', server: true, client: true, ips: ['127.0.0.1'], dnsNames: ['localhost'] }));
}

/** A client bundle (ca.pem, cert.pem, key.pem, env.sh, env.ps1, env.cmd; also as <dir>/client.zip) for `dockerHost`. */
export function issueClientBundle(dir: string, dockerHost: string): CertDirs {
  return certPaths(bundle(dir, CLIENT_CERT_NAME, { host: dockerHost }));
}

/** dockerd's and `swarm manage`'s flags for this pair: mutual TLS with verify, else --tls (encrypted, peers unchecked). */
export function tlsFlags(d: CertDirs, verify = true): string[] {
  return [verify ? '--tlsverify' : '--tls', '--tlscacert', d.ca, '--tlscert', d.cert, '--tlskey', d.key];
}

/** A pair's files read for api()'s `tls` option. */
export function readClientTls(d: CertDirs): ClientTls {
  return { ca: fs.readFileSync(d.ca), cert: fs.readFileSync(d.cert), key: fs.readFileSync(d.key) };
}
