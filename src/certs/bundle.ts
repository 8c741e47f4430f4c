// A client bundle: a user's certificate directory plus scripts that point
// docker at the manager with it (env.sh, env.ps1, env.cmd), and the same as a
// zip to hand over. The user is the certificate's CN, which access control
// matches.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { zipSync, type Zippable, type ZipOptions } from 'fflate';
import { CertError } from './errors.js';
import { checkUser } from './names.js';
import { issueToDir } from './files.js';
import { CERT_MODE, DIR_MODE, KEY_MODE, refuseOverwrite, writeFileAtomic } from './write.js';

/** The scripts of a bundle, beside ca.pem, cert.pem and key.pem. */
export const BUNDLE_SCRIPTS = ['env.sh', 'env.ps1', 'env.cmd'] as const;

/** The zip is written beside the bundle's directory: <dir>.zip. */
export const bundleZipPath = (dir: string): string => `${path.resolve(dir)}.zip`;

/** A docker client's DOCKER_HOST: tcp://host:port, an IPv6 host in brackets. */
function checkHost(host: string): string {
  const m = /^tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(host);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new CertError(`bad host "${host}": want tcp://HOST:PORT`);
  return host;
}

/** Quote for sh only when needed, so the usual line reads `export DOCKER_CERT_PATH=/path`. */
function shQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The three lines env.sh holds (and `swarm certs bundle` prints). */
export function envLines(host: string, certDir: string): string[] {
  return [
    `export DOCKER_HOST=${shQuote(host)}`,
    'export DOCKER_TLS_VERIFY=1',
    `export DOCKER_CERT_PATH=${shQuote(path.resolve(certDir))}`,
  ];
}

/**
 * The zip's env.sh: an unzipped copy lives wherever it was unzipped, so the
 * path is the sourced file's own directory (bash's BASH_SOURCE, zsh's $0;
 * POSIX sh cannot tell a sourced file where it is). CDPATH is cleared: with
 * it set, cd prints the directory and that would end up in the variable.
 */
function zipEnvSh(host: string): string {
  return [
    '# Source this file from bash or zsh; the certificates are the files beside it.',
    `export DOCKER_HOST=${shQuote(host)}`,
    'export DOCKER_TLS_VERIFY=1',
    'DOCKER_CERT_PATH="$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE[0]:-$0}")" && pwd)"',
    'export DOCKER_CERT_PATH',
  ].join('\n') + '\n';
}

/** PowerShell: $Env: assignments outlive the script, $PSScriptRoot is its folder. CRLF, as Windows tools expect. */
function envPs1(host: string): string {
  return [
    '# PowerShell: run .\\env.ps1 in the session that runs docker; the certificates are the files beside it.',
    `$Env:DOCKER_HOST="${host}"`,
    '$Env:DOCKER_TLS_VERIFY="1"',
    '$Env:DOCKER_CERT_PATH=$PSScriptRoot',
  ].join('\r\n') + '\r\n';
}

/**
 * Windows cmd: %~dp0 is the script's folder with a trailing backslash, cut by
 * the substring expansion. No setlocal: the variables must outlive the script.
 * The quoted `set "V=..."` form keeps a folder with '&' or ')' in it intact.
 */
function envCmd(host: string): string {
  return [
    '@echo off',
    'rem Windows cmd: run env.cmd in the prompt that runs docker; the certificates are the files beside it.',
    `set DOCKER_HOST=${host}`,
    'set DOCKER_TLS_VERIFY=1',
    'set "DOCKER_CERT_PATH=%~dp0"',
    'set "DOCKER_CERT_PATH=%DOCKER_CERT_PATH:~0,-1%"',
  ].join('\r\n') + '\r\n';
}

/** The access policy entry naming `user` (YAML; quoted when it would read as a number, boolean or null). */
export function accessPolicyEntry(user: string): string {
  const plain = /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(user) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(user);
  return `${plain ? user : JSON.stringify(user)}: {default: none}`;
}

/** A Unix mode as a zip entry's external attributes (mode << 16, "made by" Unix); the mode may exceed 2^15, so no shift. */
const unix = (mode: number, extra = 0): ZipOptions => ({ os: 3, attrs: mode * 0x10000 + extra });
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
/** MS-DOS directory bit, for unzippers that ignore the Unix mode. */
const DOS_DIR = 0x10;

/** The bundle as a zip: one top folder named after the user, the key 0600, the rest 0644. */
function zipBundle(dir: string, user: string, host: string): Uint8Array {
  const read = (f: string): Uint8Array => fs.readFileSync(path.join(dir, f));
  const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
  const file = (data: Uint8Array, mode: number): [Uint8Array, ZipOptions] => [data, unix(S_IFREG | mode)];
  const files: Zippable = {
    'ca.pem': file(read('ca.pem'), CERT_MODE),
    'cert.pem': file(read('cert.pem'), CERT_MODE),
    'key.pem': file(read('key.pem'), KEY_MODE),
    'env.sh': file(text(zipEnvSh(host)), CERT_MODE),
    'env.ps1': file(text(envPs1(host)), CERT_MODE),
    'env.cmd': file(text(envCmd(host)), CERT_MODE),
  };
  return zipSync({ [user]: [files, unix(S_IFDIR | DIR_MODE, DOS_DIR)] });
}

/**
 * A client certificate for `user` (CN=user, clientAuth) with env.sh, env.ps1
 * and env.cmd in `out` (default <dir>/<user>), and all of it as <out>.zip
 * (0600: it holds the key). Returns the directory, absolute.
 */
export function bundle(dir: string, user: string, opts: { host: string; force?: boolean; out?: string; days?: number }): string {
  checkHost(opts.host);
  checkUser(user);
  const out = path.resolve(opts.out ?? path.join(dir, user));
  const zip = bundleZipPath(out);
  // issueToDir checks the key and cert too; the zip joins them so nothing is made when any exists
  refuseOverwrite([path.join(out, 'key.pem'), path.join(out, 'cert.pem'), zip], opts.force);
  const target = issueToDir(dir, user, { commonName: user, client: true, days: opts.days, force: opts.force, out });
  writeFileAtomic(path.join(target, 'env.sh'), envLines(opts.host, target).join('\n') + '\n', CERT_MODE);
  writeFileAtomic(path.join(target, 'env.ps1'), envPs1(opts.host), CERT_MODE);
  writeFileAtomic(path.join(target, 'env.cmd'), envCmd(opts.host), CERT_MODE);
  writeFileAtomic(zip, zipBundle(target, user, opts.host), KEY_MODE);
  return target;
}
