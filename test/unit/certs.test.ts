// Certificate tooling (src/certs, swarm certs): what it makes is checked with
// Node's own X.509 parser and a real mutual-TLS handshake, not with forge.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { execFile, spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import {
  CertError, createCA, issueCert, initCA, issueToDir, bundle, bundleZipPath, accessPolicyEntry, describeCert, SERVER_AUTH, CLIENT_AUTH,
  type KeyPair,
} from '../../src/certs/index.js';
import { checkUser, ipBytes } from '../../src/certs/names.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-certs-unit-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MAIN = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');

interface Run { code: number; stdout: string; stderr: string }
function swarm(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, SWARM_CERT_DIR: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? -1) : 0, stdout, stderr });
    });
  });
}

// The command runs in child processes, on another core, while the in-process
// tests below generate keys: started here, checked in the last tests.
const cliDir = path.join(root, 'cli');
const cli = (async () => {
  const init = await swarm('certs', 'init', '--dir', cliDir);
  const [issue, bundled, noSan, again, help] = await Promise.all([
    swarm('certs', 'issue', 'node-1', '--server', '--ip', '127.0.0.1', '--dns', 'node-1', '--dir', cliDir),
    swarm('certs', 'bundle', 'alice', '--host', 'tcp://127.0.0.1:3376', '--dir', cliDir),
    swarm('certs', 'issue', 'web', '--server', '--dir', cliDir),
    swarm('certs', 'init', '--dir', cliDir),
    swarm('certs', '--help'),
  ]);
  return { init, issue, bundled, noSan, again, help };
})();

// one CA and a few pairs, shared: key generation is the slow part
const ca = createCA();
const server = issueCert(ca, { commonName: 'node-1', ips: ['127.0.0.1', '::1'], dnsNames: ['node-1'], server: true });
const client = issueCert(ca, { commonName: 'alice', client: true, days: 30 });
// a non-ASCII CA name: the issuer must still match its subject byte for byte
const otherCa = createCA({ commonName: 'other CA ü_1' });
const stranger = issueCert(otherCa, { commonName: 'mallory', client: true });

const x509 = (pem: string): X509Certificate => new X509Certificate(pem);
const near = (actual: Date, expected: number, what: string): void => {
  assert.ok(Math.abs(actual.getTime() - expected) < 60_000, `${what}: ${actual.toISOString()} vs ${new Date(expected).toISOString()}`);
};

describe('createCA / issueCert', () => {
  test('the CA is a self-signed CA: CA:true and keyCertSign+cRLSign, both critical, a key identifier', () => {
    const x = x509(ca.cert);
    assert.equal(x.ca, true);
    assert.equal(x.subject, 'CN=swarm-classic CA');
    assert.equal(x.issuer, x.subject);
    assert.ok(x.verify(x.publicKey));
    const f = forge.pki.certificateFromPem(ca.cert);
    const bc = f.getExtension('basicConstraints') as any;
    assert.equal(bc.cA, true);
    assert.equal(bc.critical, true);
    const ku = f.getExtension('keyUsage') as any;
    assert.equal(ku.critical, true);
    assert.equal(ku.keyCertSign, true);
    assert.equal(ku.cRLSign, true);
    assert.equal(ku.digitalSignature, false);
    assert.ok(f.getExtension('subjectKeyIdentifier'));
  });

  test('a leaf verifies against its CA and names it as issuer', () => {
    const caX = x509(ca.cert);
    for (const pair of [server, client]) {
      const x = x509(pair.cert);
      assert.equal(x.ca, false);
      assert.ok(x.verify(caX.publicKey));
      assert.ok(x.checkIssued(caX));
      assert.ok(x.checkPrivateKey(createPrivateKey(pair.key)));
      assert.equal(x.checkIssued(x509(otherCa.cert)), false);
    }
    assert.ok(x509(stranger.cert).checkIssued(x509(otherCa.cert)));
    assert.equal(x509(server.cert).subject, 'CN=node-1');
    const f = forge.pki.certificateFromPem(server.cert);
    const ku = f.getExtension('keyUsage') as any;
    assert.ok(ku.digitalSignature && ku.keyEncipherment && !ku.keyCertSign);
    const aki = f.getExtension('authorityKeyIdentifier') as any;
    const ski = forge.pki.certificateFromPem(ca.cert).getExtension('subjectKeyIdentifier') as any;
    assert.ok(aki.value.includes(forge.util.hexToBytes(ski.subjectKeyIdentifier)));
  });

  test('SANs: IPv4, IPv6 and DNS', () => {
    assert.equal(x509(server.cert).subjectAltName, 'IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:node-1');
    assert.equal(x509(client.cert).subjectAltName, undefined);
  });

  test('extended key usage: server only serverAuth, client only clientAuth, a manager\'s pair (server and client) both', () => {
    assert.deepEqual(x509(server.cert).keyUsage, [SERVER_AUTH]);
    assert.deepEqual(x509(client.cert).keyUsage, [CLIENT_AUTH]);
    const both = issueCert(ca, { commonName: 'manager', ips: ['127.0.0.1'], server: true, client: true });
    assert.deepEqual([...x509(both.cert).keyUsage].sort(), [SERVER_AUTH, CLIENT_AUTH]);
    assert.equal(SERVER_AUTH, '1.3.6.1.5.5.7.3.1');
    assert.equal(CLIENT_AUTH, '1.3.6.1.5.5.7.3.2');
  });

  test('keys: 2048-bit RSA, PKCS#1 PEM; serials: 128 bits, positive, minimally encoded, distinct', () => {
    for (const pair of [ca, server, client]) {
      assert.match(pair.key, /^-----BEGIN RSA PRIVATE KEY-----\n/);
      assert.equal(createPrivateKey(pair.key).asymmetricKeyDetails?.modulusLength, 2048);
      assert.match(x509(pair.cert).serialNumber, /^(?!00)[0-7][0-9A-F]{31}$/);
    }
    assert.equal(new Set([ca, server, client].map((p) => x509(p.cert).serialNumber)).size, 3);
  });

  test('validity: an hour back, then 3650 days (CA), 825 (leaf) or as asked; notAfter in the past gives an expired cert', () => {
    const now = Date.now();
    const c = describeCert(ca.cert);
    near(c.notBefore, now - HOUR, 'CA notBefore');
    near(c.notAfter, now + 3650 * DAY, 'CA notAfter');
    near(describeCert(server.cert).notAfter, now + 825 * DAY, 'server notAfter');
    near(describeCert(client.cert).notAfter, now + 30 * DAY, 'client notAfter');
    const expired = issueCert(ca, { commonName: 'old', notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY) });
    const e = describeCert(expired.cert);
    near(e.notBefore, now - 10 * DAY, 'expired notBefore');
    assert.ok(e.notAfter.getTime() < now);
  });

  test('refusals name what is wrong, before any key is generated', () => {
    const refuse = (o: Parameters<typeof issueCert>[1], re: RegExp): void => assert.throws(() => issueCert(ca, o), (e) => e instanceof CertError && re.test(e.message));
    refuse({ commonName: 'x', ips: ['10.0.0.300'] }, /bad IP address "10\.0\.0\.300"/);
    refuse({ commonName: 'x', ips: ['node-1'] }, /bad IP address "node-1"/);
    refuse({ commonName: 'x', dnsNames: ['bad name'] }, /bad DNS name "bad name"/);
    refuse({ commonName: 'x', keyBits: 1024 }, /bad key size 1024/);
    refuse({ commonName: 'x', days: 0 }, /bad validity/);
    refuse({ commonName: 'x', notBefore: new Date(), notAfter: new Date(Date.now() - 1) }, /notAfter .* is not after notBefore/);
    refuse({ commonName: '' }, /bad common name/);
    assert.throws(() => issueCert({ cert: server.cert, key: server.key }, { commonName: 'x' }), /not a CA/);
    assert.throws(() => issueCert({ cert: ca.cert, key: otherCa.key }, { commonName: 'x' }), /does not belong/);
  });

  test('IP SANs parse every IPv6 spelling (forge\'s own parser does not)', () => {
    const hex = (ip: string): string => Buffer.from(ipBytes(ip), 'binary').toString('hex');
    assert.equal(hex('10.1.2.3'), '0a010203');
    assert.equal(hex('::1'), '0'.repeat(31) + '1');
    assert.equal(hex('[::1]'), '0'.repeat(31) + '1');
    assert.equal(hex('2001:db8::1:2'), '20010db8000000000000000000010002');
    assert.equal(hex('::ffff:10.0.0.1'), '00000000000000000000ffff0a000001');
    assert.equal(hex('fe80::'), 'fe80' + '0'.repeat(28));
    for (const bad of ['1.2.3', '::1%eth0', '1:2:3:4:5:6:7:8:9', '', '01.2.3.4']) assert.throws(() => ipBytes(bad), CertError, bad);
  });
});

interface Outcome {
  /** each end's `authorized` once connected (undefined: never got that far) */
  server?: boolean;
  client?: boolean;
  /** the server's verdict on the client certificate, when it lets a bad one in */
  serverAuthError?: string;
  clientError?: string;
}

/**
 * One mutual-TLS connection on 127.0.0.1: what each end concluded. With
 * rejectUnauthorized the server drops a bad client silently (Node destroys the
 * socket after the handshake); without, it says why.
 */
async function handshake(srv: KeyPair, cli: KeyPair, srvCa: string, cliCa: string, rejectUnauthorized = true): Promise<Outcome> {
  const r: Outcome = {};
  const s = tls.createServer({ cert: srv.cert, key: srv.key, ca: [srvCa], requestCert: true, rejectUnauthorized }, (sock) => {
    r.server = sock.authorized;
    if (sock.authorizationError) r.serverAuthError = String(sock.authorizationError);
    sock.end('ok');
  });
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((res) => {
    const c = tls.connect({ host: '127.0.0.1', port, cert: cli.cert, key: cli.key, ca: [cliCa] }, () => { r.client = c.authorized; });
    let data = '';
    c.on('data', (d) => { data += d; });
    c.on('error', (e) => { r.clientError = (e as NodeJS.ErrnoException).code ?? e.message; res(); });
    c.on('close', () => { if (data !== 'ok') r.client = false; res(); });
  });
  await new Promise((res) => s.close(res));
  return r;
}

describe('a real mutual-TLS handshake', () => {
  test('server and client pairs from one CA: authorized on both ends', async () => {
    const r = await handshake(server, client, ca.cert, ca.cert);
    assert.deepEqual(r, { server: true, client: true });
  });

  test('a client certificate from another CA is rejected by the server', async () => {
    const r = await handshake(server, stranger, ca.cert, ca.cert);
    assert.equal(r.server, undefined, 'never accepted');
    assert.notEqual(r.client, true, 'the client got nothing');
    const lax = await handshake(server, stranger, ca.cert, ca.cert, false);
    assert.equal(lax.server, false);
    assert.match(lax.serverAuthError ?? '', /UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT)/);
  });

  test('a client trusting another CA rejects the server', async () => {
    const r = await handshake(server, client, ca.cert, otherCa.cert);
    assert.equal(r.server, undefined);
    // the server sends its CA along (OpenSSL completes the chain from `ca`): a root the client does not trust
    assert.match(r.clientError ?? '', /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
  });
});

describe('files: initCA, issueToDir, bundle', () => {
  const dir = path.join(root, 'lib', 'ca');
  const mode = (f: string): number => fs.statSync(f).mode & 0o777;

  test('initCA: ca.pem 0644, ca-key.pem 0600, created directories 0700; a second init is refused', () => {
    const r = initCA(dir, { commonName: 'files CA' });
    assert.deepEqual(r, { caCert: path.join(dir, 'ca.pem'), caKey: path.join(dir, 'ca-key.pem') });
    assert.equal(mode(r.caCert), 0o644);
    assert.equal(mode(r.caKey), 0o600);
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(path.dirname(dir)), 0o700);
    assert.equal(x509(fs.readFileSync(r.caCert, 'utf8')).subject, 'CN=files CA');
    assert.throws(() => initCA(dir), { name: 'CertError', message: `refusing to overwrite ${r.caKey}: it exists (use --force to replace it)` });
  });

  test('issueToDir: ca.pem, cert.pem, key.pem with exact modes whatever the umask, no temp files left', () => {
    const old = process.umask(0o077);
    let out: string;
    try {
      out = issueToDir(dir, 'node-1', { commonName: 'node-1', ips: ['127.0.0.1'], server: true });
    } finally {
      process.umask(old);
    }
    assert.equal(out, path.join(dir, 'node-1'));
    assert.deepEqual(fs.readdirSync(out).sort(), ['ca.pem', 'cert.pem', 'key.pem']);
    assert.equal(mode(out), 0o700);
    assert.equal(mode(path.join(out, 'key.pem')), 0o600);
    assert.equal(mode(path.join(out, 'cert.pem')), 0o644);
    assert.equal(mode(path.join(out, 'ca.pem')), 0o644);
    assert.equal(fs.readFileSync(path.join(out, 'ca.pem'), 'utf8'), fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'));
    assert.ok(x509(fs.readFileSync(path.join(out, 'cert.pem'), 'utf8')).checkIssued(x509(fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'))));
  });

  test('an existing key is replaced only with force (and gets 0600 back)', () => {
    const key = path.join(dir, 'node-1', 'key.pem');
    const before = fs.readFileSync(key, 'utf8');
    assert.throws(() => issueToDir(dir, 'node-1', { commonName: 'node-1', client: true }), {
      name: 'CertError', message: `refusing to overwrite ${key}: it exists (use --force to replace it)`,
    });
    assert.equal(fs.readFileSync(key, 'utf8'), before);
    fs.chmodSync(key, 0o644);
    issueToDir(dir, 'node-1', { commonName: 'node-1', client: true, force: true });
    assert.notEqual(fs.readFileSync(key, 'utf8'), before);
    assert.equal(mode(key), 0o600);
  });

  test('bundle: a client pair plus env.sh with the three exports, env.ps1, env.cmd, and a zip beside it', () => {
    const out = bundle(dir, 'alice', { host: 'tcp://127.0.0.1:3376', out: path.join(root, 'lib', 'alice-bundle') });
    assert.equal(out, path.join(root, 'lib', 'alice-bundle'));
    assert.deepEqual(fs.readdirSync(out).sort(), ['ca.pem', 'cert.pem', 'env.cmd', 'env.ps1', 'env.sh', 'key.pem']);
    assert.equal(fs.readFileSync(path.join(out, 'env.sh'), 'utf8'),
      `export DOCKER_HOST=tcp://127.0.0.1:3376\nexport DOCKER_TLS_VERIFY=1\nexport DOCKER_CERT_PATH=${out}\n`);
    assert.equal(mode(path.join(out, 'key.pem')), 0o600);
    for (const f of ['ca.pem', 'cert.pem', 'env.sh', 'env.ps1', 'env.cmd']) assert.equal(mode(path.join(out, f)), 0o644, f);
    assert.equal(bundleZipPath(out), `${out}.zip`);
    assert.equal(mode(`${out}.zip`), 0o600, 'the zip holds the key');
    const x = x509(fs.readFileSync(path.join(out, 'cert.pem'), 'utf8'));
    assert.equal(x.subject, 'CN=alice');
    assert.deepEqual(x.keyUsage, [CLIENT_AUTH]);
    assert.throws(() => bundle(dir, 'bob', { host: '127.0.0.1:3376' }), /bad host "127\.0\.0\.1:3376": want tcp:\/\/HOST:PORT/);
  });

  test('bundle: env.ps1 and env.cmd take the path from where they sit (CRLF, no trailing backslash)', () => {
    const out = path.join(root, 'lib', 'alice-bundle');
    assert.equal(fs.readFileSync(path.join(out, 'env.ps1'), 'utf8'), [
      '# PowerShell: run .\\env.ps1 in the session that runs docker; the certificates are the files beside it.',
      '$Env:DOCKER_HOST="tcp://127.0.0.1:3376"',
      '$Env:DOCKER_TLS_VERIFY="1"',
      '$Env:DOCKER_CERT_PATH=$PSScriptRoot',
      '',
    ].join('\r\n'));
    assert.equal(fs.readFileSync(path.join(out, 'env.cmd'), 'utf8'), [
      '@echo off',
      'rem Windows cmd: run env.cmd in the prompt that runs docker; the certificates are the files beside it.',
      'set DOCKER_HOST=tcp://127.0.0.1:3376',
      'set DOCKER_TLS_VERIFY=1',
      'set "DOCKER_CERT_PATH=%~dp0"',
      'set "DOCKER_CERT_PATH=%DOCKER_CERT_PATH:~0,-1%"',
      '',
    ].join('\r\n'));
  });

  test('bundle: the zip holds one folder named after the user, the key 0600 and the rest 0644 (Python\'s zipfile)', () => {
    const out = path.join(root, 'lib', 'alice-bundle');
    const entries = zipEntries(`${out}.zip`);
    assert.deepEqual(entries.map((e) => [e.name, e.mode.toString(8), e.system]), [
      ['alice/', '40700', 3], ['alice/ca.pem', '100644', 3], ['alice/cert.pem', '100644', 3], ['alice/key.pem', '100600', 3],
      ['alice/env.sh', '100644', 3], ['alice/env.ps1', '100644', 3], ['alice/env.cmd', '100644', 3],
    ]);
    const by = new Map(entries.map((e) => [e.name, Buffer.from(e.data, 'base64').toString('utf8')]));
    for (const f of ['ca.pem', 'cert.pem', 'key.pem', 'env.ps1', 'env.cmd']) assert.equal(by.get(`alice/${f}`), fs.readFileSync(path.join(out, f), 'utf8'), f);
    assert.match(by.get('alice/env.sh') ?? '', /^export DOCKER_HOST=tcp:\/\/127\.0\.0\.1:3376\nexport DOCKER_TLS_VERIFY=1\n/m);
    assert.doesNotMatch(by.get('alice/env.sh') ?? '', new RegExp(out), 'no path of the machine that made it');
  });

  test('bundle: the zip\'s env.sh, unzipped anywhere, points DOCKER_CERT_PATH at its own folder', () => {
    const there = fs.mkdtempSync(path.join(root, 'unzipped-'));
    const py = spawnSync('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', path.join(root, 'lib', 'alice-bundle.zip'), there]);
    assert.equal(py.status, 0, String(py.stderr));
    const folder = path.join(there, 'alice');
    const source = (cwd: string, script: string): string => {
      const r = spawnSync('bash', ['-c', `source ${script}; echo "$DOCKER_HOST $DOCKER_TLS_VERIFY $DOCKER_CERT_PATH"`], {
        cwd, encoding: 'utf8', env: { ...process.env, CDPATH: root },
      });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    const want = `tcp://127.0.0.1:3376 1 ${folder}`;
    assert.equal(source(folder, 'env.sh'), want, 'sourced in its folder');
    assert.equal(source(there, 'alice/env.sh'), want, 'by a relative path (CDPATH set: cd must not print)');
    assert.equal(source('/', path.join(folder, 'env.sh')), want, 'by its absolute path from elsewhere');
  });

  test('bundle: unzip restores key.pem as 0600', { skip: spawnSync('unzip', ['-v']).status !== 0 && 'no unzip' }, () => {
    const there = fs.mkdtempSync(path.join(root, 'unzip-'));
    const r = spawnSync('unzip', ['-q', path.join(root, 'lib', 'alice-bundle.zip'), '-d', there], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(mode(path.join(there, 'alice', 'key.pem')), 0o600);
    assert.equal(mode(path.join(there, 'alice', 'env.sh')), 0o644);
  });

  test('bundle: an existing zip is replaced only with force, and nothing is issued before the refusal', () => {
    const out = path.join(root, 'lib', 'carol');
    fs.writeFileSync(`${out}.zip`, 'old');
    assert.throws(() => bundle(dir, 'carol', { host: 'tcp://h:1', out }), { name: 'CertError', message: `refusing to overwrite ${out}.zip: it exists (use --force to replace it)` });
    assert.equal(fs.existsSync(out), false);
    bundle(dir, 'carol', { host: 'tcp://h:1', out, force: true });
    assert.deepEqual(zipEntries(`${out}.zip`).map((e) => e.name)[0], 'carol/');
  });

  test('bundle: user names that are no safe CN or file name are refused, saying why', () => {
    const refuse = (user: string, why: RegExp): void => {
      assert.throws(() => bundle(dir, user, { host: 'tcp://h:1' }), (e) => e instanceof CertError && e.message.startsWith(`bad user name ${JSON.stringify(user)}: `) && why.test(e.message));
    };
    refuse('', /it is empty/);
    refuse('a b', /whitespace/);
    refuse('a\tb', /control character/);
    refuse('a\u0085b', /control character/);
    refuse('a\u00a0b', /whitespace/);
    refuse('a/b', /'\/'/);
    refuse('..\\x', /'\/' or '\\'/);
    refuse('x@example.com', /use letters, digits/);
    refuse('.hidden', /use letters, digits/);
    refuse('a'.repeat(65), /at most 64/);
    assert.equal(checkUser('alice_1.ops-team'), 'alice_1.ops-team');
    assert.equal(fs.existsSync(path.join(dir, 'a b')), false, 'refused before anything is written');
  });

  test('accessPolicyEntry: a YAML line, quoted when YAML would read the name as something else', () => {
    assert.equal(accessPolicyEntry('alice'), 'alice: {default: none}');
    assert.equal(accessPolicyEntry('ops.bot-1'), 'ops.bot-1: {default: none}');
    for (const u of ['123', '1e5', '0x1f', 'true', 'No', 'null', 'on']) assert.equal(accessPolicyEntry(u), `"${u}": {default: none}`);
  });

  test('describeCert: the fingerprint is the SHA-256 openssl prints', { skip: spawnSync('openssl', ['version']).status !== 0 && 'no openssl' }, () => {
    const cert = path.join(root, 'lib', 'alice-bundle', 'cert.pem');
    const r = spawnSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', cert], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const fp = describeCert(fs.readFileSync(cert, 'utf8')).fingerprint;
    assert.match(fp, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(fp, r.stdout.trim().split('=')[1]);
  });

  test('bad names, bad IPs and a missing CA are refused', () => {
    for (const name of ['../x', 'a/b', '.hidden', '', '-x', 'x y']) {
      assert.throws(() => issueToDir(dir, name, { commonName: 'x' }), (e) => e instanceof CertError && e.message.startsWith(`bad name "${name}"`));
    }
    assert.throws(() => issueToDir(dir, 'n', { commonName: 'n', ips: ['300.1.1.1'] }), { name: 'CertError', message: /bad IP address "300\.1\.1\.1"/ });
    assert.equal(fs.existsSync(path.join(dir, 'n')), false);
    const empty = path.join(root, 'empty');
    assert.throws(() => issueToDir(empty, 'n', { commonName: 'n' }), { name: 'CertError', message: `no CA in ${empty}: run 'swarm certs init' first` });
  });
});

interface ZipEntry { name: string; mode: number; system: number; data: string }

/** A zip's entries as Python's zipfile reads them: Unix mode, "made by" system, contents (base64). */
function zipEntries(zip: string): ZipEntry[] {
  const script = [
    'import base64, json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'assert z.testzip() is None',
    'print(json.dumps([{"name": i.filename, "mode": i.external_attr >> 16, "system": i.create_system,',
    '  "data": base64.b64encode(z.read(i)).decode()} for i in z.infolist()]))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script, zip], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ZipEntry[];
}

describe('swarm certs (the built command, spawned)', () => {
  test('init, issue, bundle: exit 0 and one line per file written, the expiry and the SANs', async () => {
    const { init, issue, bundled } = await cli;
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, new RegExp(`^wrote ${cliDir}/ca\\.pem\nwrote ${cliDir}/ca-key\\.pem\nsubject CN=swarm-classic CA, certificate authority\nexpires \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\n$`));
    assert.equal(issue.code, 0, issue.stderr);
    assert.match(issue.stdout, new RegExp(`wrote ${cliDir}/node-1/key\\.pem\n`));
    assert.match(issue.stdout, /\nsubject CN=node-1, server authentication\n/);
    assert.match(issue.stdout, /\nSANs IP Address:127\.0\.0\.1, DNS:node-1\n$/);
    assert.equal(bundled.code, 0, bundled.stderr);
    const lines = bundled.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.slice(-3), [
      'export DOCKER_HOST=tcp://127.0.0.1:3376', 'export DOCKER_TLS_VERIFY=1', `export DOCKER_CERT_PATH=${cliDir}/alice`,
    ]);
    for (const f of ['alice/env.sh', 'alice/env.ps1', 'alice/env.cmd', 'alice.zip']) assert.ok(lines.includes(`# wrote ${cliDir}/${f}`), bundled.stdout);
    assert.ok(lines.includes('# access policy: to add alice, put this line under "users:" in the policy file:   alice: {default: none}'), bundled.stdout);
    const fp = describeCert(fs.readFileSync(path.join(cliDir, 'alice', 'cert.pem'), 'utf8')).fingerprint;
    assert.ok(lines.includes(`# fingerprint ${fp}`), bundled.stdout);
    assert.match(issue.stdout, /\nfingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}\n/);
    assert.ok(lines.slice(0, -3).every((l) => l.startsWith('# ')), 'everything but the exports is a shell comment');
    assert.equal(fs.statSync(path.join(cliDir, 'alice', 'key.pem')).mode & 0o777, 0o600);
  });

  test('refusals: one line on stderr, nothing on stdout, exit 1', async () => {
    const { noSan, again } = await cli;
    assert.equal(noSan.code, 1);
    assert.equal(noSan.stdout, '');
    assert.match(noSan.stderr, /a server certificate needs at least one --ip or --dns/);
    assert.doesNotMatch(noSan.stderr, /\n\s+at /, 'no stack');
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`refusing to overwrite ${cliDir}/ca-key\\.pem: it exists \\(use --force to replace it\\)`));
  });

  test('--help lists the subcommands', async () => {
    const { help } = await cli;
    assert.equal(help.code, 0);
    assert.match(help.stdout, /swarm certs init\s+Create the CA/);
    assert.match(help.stdout, /swarm certs issue <name>\s+Issue a server/);
    assert.match(help.stdout, /swarm certs bundle <name>\s+Issue a client certificate/);
  });
});
