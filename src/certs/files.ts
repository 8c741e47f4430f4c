// The on-disk layout: a CA directory holding ca.pem and ca-key.pem, and one
// directory per issued pair holding what DOCKER_CERT_PATH expects (ca.pem,
// cert.pem, key.pem), the names docker and docker-machine use.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CertError } from './errors.js';
import { checkName } from './names.js';
import { createCA, issueCert, parseCA, type CaOptions, type CertOptions, type KeyPair } from './issue.js';
import { CERT_MODE, KEY_MODE, ensureDir, refuseOverwrite, writeFileAtomic } from './write.js';

/** The files of one certificate directory. */
export interface CertDirs {
  dir: string;
  /** The CA certificate the peer is checked against. */
  ca: string;
  cert: string;
  key: string;
}

export function certPaths(dir: string): CertDirs {
  return { dir, ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
}

export function caPaths(dir: string): { caCert: string; caKey: string } {
  return { caCert: path.join(dir, 'ca.pem'), caKey: path.join(dir, 'ca-key.pem') };
}

/** `$SWARM_CERT_DIR`, else ~/.swarm/certs. */
export function defaultCertDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SWARM_CERT_DIR || path.join(os.homedir(), '.swarm', 'certs');
}

/** Create a CA in `dir` (ca.pem 0644, ca-key.pem 0600); an existing one is replaced only with force. */
export function initCA(dir: string, opts: CaOptions & { force?: boolean } = {}): { caCert: string; caKey: string } {
  dir = path.resolve(dir);
  const p = caPaths(dir);
  refuseOverwrite([p.caKey, p.caCert], opts.force);
  const ca = createCA(opts);
  ensureDir(dir);
  // the key first: a crash in between leaves an orphan key, never a CA certificate without one
  writeFileAtomic(p.caKey, ca.key, KEY_MODE);
  writeFileAtomic(p.caCert, ca.cert, CERT_MODE);
  return p;
}

/** Read the CA in `dir`, refusing one that has expired (it could only sign useless certificates). */
export function loadCA(dir: string): KeyPair {
  const p = caPaths(dir);
  if (!fs.existsSync(p.caCert) || !fs.existsSync(p.caKey)) throw new CertError(`no CA in ${dir}: run 'swarm certs init' first`);
  const ca = { cert: fs.readFileSync(p.caCert, 'utf8'), key: fs.readFileSync(p.caKey, 'utf8') };
  let parsed;
  try {
    parsed = parseCA(ca);
  } catch (e) {
    throw new CertError(`bad CA in ${dir}: ${(e as Error).message}`);
  }
  const end = parsed.cert.validity.notAfter;
  if (end.getTime() <= Date.now()) throw new CertError(`the CA in ${dir} expired on ${end.toISOString()}: replace it with 'swarm certs init --force'`);
  return ca;
}

/** Issue a pair from the CA in `dir` into `out` (default <dir>/<name>): ca.pem, cert.pem, key.pem; returns that directory, absolute. */
export function issueToDir(dir: string, name: string, opts: CertOptions & { force?: boolean; out?: string }): string {
  checkName(name);
  const target = path.resolve(opts.out ?? path.join(dir, name));
  const files = certPaths(target);
  const ca = loadCA(dir);
  refuseOverwrite([files.key, files.cert], opts.force);
  const pair = issueCert(ca, opts);
  ensureDir(target);
  writeFileAtomic(files.key, pair.key, KEY_MODE);
  writeFileAtomic(files.cert, pair.cert, CERT_MODE);
  writeFileAtomic(files.ca, ca.cert, CERT_MODE);
  return target;
}
