// `swarm certs init|issue|bundle|revoke`: a CA and the TLS certificates the
// manager, the engines and docker clients present to each other (docs/certs.md),
// and the access policy's list of certificates no longer let in.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from './config.js';
import {
  BUNDLE_SCRIPTS, CertError, DEFAULT_CA_NAME, accessPolicyEntry, bundle, bundleZipPath, certPaths, defaultCertDir,
  describeCert, envLines, initCA, issueToDir, SERVER_AUTH, CLIENT_AUTH,
} from '../certs/index.js';
import { PolicyError, addRevoked, certIdentity, normalizeFingerprint } from '../access/index.js';

/** Library refusals are the user's to fix: a clean message, no stack (main.ts's .fail()). */
function run(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof CertError || e instanceof PolicyError) throw new ConfigError(e.message);
    throw e;
  }
}

const out = (lines: string[]): void => { process.stdout.write(lines.map((l) => l + '\n').join('')); };

/** Repeated and comma-separated values (`--ip a --ip b,c`), as --host and --filter take them. */
function list(v: unknown): string[] {
  return ([] as unknown[]).concat(v ?? []).map(String).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}

function days(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`bad --days "${v}": want a whole number of days, at least 1`);
  return n;
}

/** Whole seconds (certificate times have no milliseconds). */
const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

const dirOf = (argv: Record<string, unknown>): string => (argv.dir === undefined ? defaultCertDir() : String(argv.dir));

/** The lines describing a pair just written: its files, subject and usage, fingerprint (to revoke it by), expiry, SANs. */
function summary(dir: string, extra: string[] = []): string[] {
  const p = certPaths(dir);
  const c = describeCert(fs.readFileSync(p.cert, 'utf8'));
  const ca = describeCert(fs.readFileSync(p.ca, 'utf8'));
  const lines = [...[p.ca, p.cert, p.key, ...extra].map((f) => `wrote ${f}`),
    `subject ${c.subject}, ${c.extKeyUsage.includes(SERVER_AUTH) ? (c.extKeyUsage.includes(CLIENT_AUTH) ? 'server and client' : 'server') : 'client'} authentication`,
    `fingerprint ${c.fingerprint}`,
    `expires ${iso(c.notAfter)}`,
    `SANs ${c.sans.length ? c.sans.join(', ') : 'none'}`];
  // the CA's expiry ends the chain: say so rather than let the longer date mislead
  if (ca.notAfter < c.notAfter) lines.push(`note: the CA expires first, on ${iso(ca.notAfter)}`);
  return lines;
}

const dirOption = (y: Argv): Argv => y.option('dir', {
  type: 'string', describe: 'CA directory (ca.pem, ca-key.pem; issued pairs under it)', defaultDescription: '$SWARM_CERT_DIR or ~/.swarm/certs',
});
const daysOption = (y: Argv, dflt: string): Argv => y.option('days', { type: 'string', describe: 'validity in days', defaultDescription: dflt });
const forceOption = (y: Argv): Argv => y.option('force', { type: 'boolean', default: false, describe: 'replace existing files (a new key: what was issued with the old one stops working)' });
const outOption = (y: Argv): Argv => y.option('out', { type: 'string', describe: 'directory to write into', defaultDescription: '<dir>/NAME' });

const initCommand: CommandModule = {
  command: 'init',
  describe: 'Create the CA (ca.pem, ca-key.pem) that signs every certificate',
  builder: (y) => forceOption(daysOption(dirOption(y), '3650'))
    .option('cn', { type: 'string', describe: 'CA common name', defaultDescription: DEFAULT_CA_NAME }),
  handler: (argv) => run(() => {
    const r = initCA(dirOf(argv), { commonName: argv.cn === undefined ? undefined : String(argv.cn), days: days(argv.days), force: !!argv.force });
    const c = describeCert(fs.readFileSync(r.caCert, 'utf8'));
    out([`wrote ${r.caCert}`, `wrote ${r.caKey}`, `subject ${c.subject}, certificate authority`, `expires ${iso(c.notAfter)}`]);
  }),
};

const issueCommand: CommandModule = {
  command: 'issue <name>',
  describe: 'Issue a server (manager, engine) or client certificate signed by the CA',
  builder: (y) => outOption(forceOption(daysOption(dirOption(y), '825')))
    .positional('name', { type: 'string', describe: 'name of the pair: its directory and default common name' })
    .option('server', { type: 'boolean', describe: 'server certificate (serverAuth); a manager\'s pair takes --server --client: it is also its client certificate towards engines' })
    .option('client', { type: 'boolean', describe: 'client certificate (clientAuth)' })
    .option('ip', { type: 'string', describe: 'IP address clients connect to (repeatable)' })
    .option('dns', { type: 'string', describe: 'DNS name clients connect to (repeatable)' })
    .option('cn', { type: 'string', describe: 'common name', defaultDescription: 'NAME' }),
  handler: (argv) => run(() => {
    const name = String(argv.name);
    const ips = list(argv.ip);
    const dnsNames = list(argv.dns);
    if (!argv.server && !argv.client) throw new ConfigError('say what the certificate is for: --server or --client');
    if (argv.server && !ips.length && !dnsNames.length) {
      throw new ConfigError('a server certificate needs at least one --ip or --dns: the addresses clients connect to');
    }
    const dir = issueToDir(dirOf(argv), name, {
      commonName: argv.cn === undefined ? name : String(argv.cn), ips, dnsNames,
      server: !!argv.server, client: !!argv.client,
      days: days(argv.days), force: !!argv.force, out: argv.out === undefined ? undefined : String(argv.out),
    });
    out(summary(dir));
  }),
};

const bundleCommand: CommandModule = {
  command: 'bundle <name>',
  describe: 'Issue a client certificate plus env.sh, env.ps1 and env.cmd setting DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH; also as a zip',
  builder: (y) => outOption(forceOption(daysOption(dirOption(y), '825')))
    .positional('name', { type: 'string', describe: 'the user: the common name access control matches, and the directory and zip name' })
    .option('host', { type: 'string', demandOption: true, describe: 'the manager the client talks to: tcp://HOST:PORT' }),
  handler: (argv) => run(() => {
    const host = String(argv.host);
    const user = String(argv.name);
    const dir = bundle(dirOf(argv), user, {
      host, days: days(argv.days), force: !!argv.force, out: argv.out === undefined ? undefined : String(argv.out),
    });
    const written = [...BUNDLE_SCRIPTS.map((f) => path.join(dir, f)), bundleZipPath(dir)];
    const policy = `access policy: to add ${user}, put this line under "users:" in the policy file:   ${accessPolicyEntry(user)}`;
    // comments, then the exports: `eval "$(swarm certs bundle ...)"` works
    out([...[...summary(dir, written), policy].map((l) => `# ${l}`), ...envLines(host, dir)]);
  }),
};

/** A certificate file (or a pair's directory, holding cert.pem), else a fingerprint. */
function revokeTarget(arg: string): { fingerprint: string; commonName?: string } {
  let file = arg;
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = certPaths(file).cert;
  if (fs.existsSync(file)) {
    try {
      return certIdentity(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`${file}: ${(e as Error).message}`);
    }
  }
  const fingerprint = normalizeFingerprint(arg);
  if (!fingerprint) {
    throw new ConfigError(`"${arg}" is neither a certificate file nor a SHA-256 fingerprint (64 hex digits, as openssl x509 -noout -fingerprint -sha256 prints it)`);
  }
  return { fingerprint };
}

const revokeCommand: CommandModule = {
  command: 'revoke <cert>',
  describe: 'Add a certificate to the access policy\'s revoked list (a running manager reloads the policy when the file changes)',
  builder: (y) => y
    .positional('cert', { type: 'string', describe: 'the certificate: a PEM file, a pair\'s directory, or its SHA-256 fingerprint' })
    .option('policy', { type: 'string', describe: 'the access policy file (YAML or JSON), edited in place', defaultDescription: '$SWARM_ACCESS_POLICY' }),
  handler: (argv) => run(() => {
    const policy = argv.policy === undefined ? process.env.SWARM_ACCESS_POLICY : String(argv.policy);
    if (!policy) throw new ConfigError('say which access policy to edit: --policy FILE or $SWARM_ACCESS_POLICY');
    const target = revokeTarget(String(argv.cert));
    const r = addRevoked(policy, target.fingerprint);
    const who = target.commonName === undefined ? '' : ` (CN=${target.commonName})`;
    out([`${r.added ? 'revoked' : 'already revoked'} ${r.fingerprint}${who} in ${path.resolve(policy)}`]);
  }),
};

/** `certs`'s subcommands: main.ts loads this module only when `certs` is the command. */
export const certsSubcommands = (y: Argv): Argv => y
  .command(initCommand)
  .command(issueCommand)
  .command(bundleCommand)
  .command(revokeCommand)
  .demandCommand(1, 'certs needs a subcommand: init, issue, bundle or revoke');
