// TLS end to end without dockerd: in-process managers (--tls, --tlsverify,
// plain) in front of simulated engines that serve HTTPS, certificates made
// with src/certs. Refusals on the manager's listener, engine-side failures
// in `docker info`'s words, rotation (in-process and by SIGHUP), the expiry
// warning, and the pure helpers.
//
// Longer than ~400 lines on purpose: one file for the whole TLS surface, so
// its certificates (the slow part) are made once and shared.
// Ports 23570-23579 (test/lib/README.md); simulated engines on free ports.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import https from 'node:https';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { randomBytes, X509Certificate } from 'node:crypto';
import winston from 'winston';
import { createCA, issueCert, type KeyPair } from '../../src/certs/index.js';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig } from '../../src/cli/config.js';
import { log } from '../../src/log.js';
import { daysUntil, loadTlsMaterial } from '../../src/util/tls.js';
import { DIALED, Dialer } from '../../src/cluster/transport.js';
import { infoWarnings } from '../../src/api/system.js';
import type { ApiContext } from '../../src/api/context.js';

const PORT = { verify: 23570, tlsOnly: 23571, plain: 23572, rotate: 23573, sighup: 23574, soon: 23575, cap: 23576, sServer: 23577 };
const DAY = 86_400_000;
const LOCAL = '127.0.0.1';

// ---- helpers ------------------------------------------------------------------

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every log entry of this process, from a transport added to the one logger. */
const logged: Array<Record<string, unknown>> = [];
const spy = new winston.transports.Stream({
  stream: new Writable({ objectMode: true, write(info, _enc, cb) { logged.push(info as Record<string, unknown>); cb(); } }),
});

/** The refusal lines for one client socket, by its local port (the manager logs it as the peer). */
const refusalsOf = (port: number): Array<Record<string, unknown>> =>
  logged.filter((e) => e.message === 'TLS connection refused' && e.peer === `${LOCAL}:${port}`);

/** The refusal lines for a client, once there is one. */
const refusalLines = (port: number): Promise<Array<Record<string, unknown>>> =>
  until('the refusal log line', () => { const l = refusalsOf(port); return l.length > 0 && l; });

interface Exchange { secure: boolean; data: Buffer; error?: string; localPort: number; protocol?: string | null; serial?: string }

/** A TLS connection that sends one request: did the handshake finish, what came back, how it ended. */
function tlsExchange(port: number, opts: tls.ConnectionOptions): Promise<Exchange> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: LOCAL, port, ...opts });
    const r: Exchange = { secure: false, data: Buffer.alloc(0), localPort: 0 };
    s.once('connect', () => { r.localPort = s.localPort ?? 0; });
    s.once('secureConnect', () => {
      r.secure = true;
      r.protocol = s.getProtocol();
      r.serial = s.getPeerCertificate().serialNumber;
      s.write(`GET /_ping HTTP/1.1\r\nHost: ${LOCAL}\r\nConnection: close\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => { r.data = Buffer.concat([r.data, d]); });
    s.on('error', (e: NodeJS.ErrnoException) => { r.error = e.code ?? e.message; });
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
    s.on('close', () => resolve(r));
  });
}

/** Raw bytes on a plain TCP socket: what came back before the close. */
function rawExchange(port: number, bytes: Buffer | string, end = false): Promise<{ data: Buffer; localPort: number; timedOut: boolean }> {
  return new Promise((resolve) => {
    const r = { data: Buffer.alloc(0), localPort: 0, timedOut: false };
    const s = net.connect(port, LOCAL, () => { r.localPort = s.localPort ?? 0; if (end) s.end(bytes); else s.write(bytes); });
    s.on('data', (d) => { r.data = Buffer.concat([r.data, d]); });
    s.on('error', () => undefined);
    s.setTimeout(5000, () => { r.timedOut = true; s.destroy(); });
    s.on('close', () => resolve(r));
  });
}

/** GET over HTTPS on a fresh connection (no agent, no resumption). */
function httpsJson(port: number, p: string, opts: https.RequestOptions = {}): Promise<{ status: number; body: any; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: LOCAL, port, path: p, agent: false, ...opts }, (res) => {
      const serial = (res.socket as tls.TLSSocket).getPeerCertificate().serialNumber;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let body: any = text;
        try { body = JSON.parse(text); } catch { /* text */ }
        resolve({ status: res.statusCode ?? 0, body, serial });
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${p}: timeout`)));
    req.end();
  });
}

/** A TLS 1.1 ClientHello by hand (legacy version 0x0302, no supported_versions): what any old client sends. */
function legacyClientHello(): Buffer {
  const suites = Buffer.from([0x00, 0x2f, 0x00, 0x35, 0xc0, 0x13, 0xc0, 0x14]);
  const body = Buffer.concat([
    Buffer.from([0x03, 0x02]), randomBytes(32), Buffer.from([0x00]),
    Buffer.from([0x00, suites.length]), suites, Buffer.from([0x01, 0x00]),
  ]);
  const hs = Buffer.concat([Buffer.from([0x01, 0x00, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01, hs.length >> 8, hs.length & 0xff]), hs]);
}

/** `docker info`'s node rows grouped by address: status and error. */
function nodeRows(info: any): Map<string, { status: string; error: string; name: string }> {
  const out = new Map<string, { status: string; error: string; name: string }>();
  let cur: { status: string; error: string; name: string } | undefined;
  for (const [k, v] of info.SystemStatus as Array<[string, string]>) {
    if (/^ [^ ]/.test(k)) { cur = { status: '', error: '', name: k.trim() }; out.set(v, cur); }
    if (cur && k === '  └ Status') cur.status = v;
    if (cur && k === '  └ Error') cur.error = v;
  }
  return out;
}

/** Through a manager: create a container (lands on `sim`), list it, and a hijacked attach relayed both ways. */
async function createListHijack(port: number, opts: tls.ConnectionOptions, sim: Simulator, name: string): Promise<void> {
  const body = JSON.stringify({ Image: 'busybox', Cmd: ['true'], Env: [`constraint:node==${sim.name}`] });
  const created = await new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = https.request({
      host: LOCAL, port, method: 'POST', path: `/v1.41/containers/create?name=${name}`, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, ...opts,
    }, (res) => { let t = ''; res.on('data', (d) => { t += d; }); res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(t) })); });
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.ok(sim.ids().includes(created.body.Id));
  const list = await httpsJson(port, '/v1.41/containers/json?all=1', opts);
  assert.ok(list.body.some((c: any) => c.Names[0] === `/${sim.name}/${name}`), JSON.stringify(list.body.map((c: any) => c.Names)));
  // The simulator has no attach: it answers the upgrade as a plain 404, which
  // proves the TLS dial, the replayed request and the relay (not a 101 session).
  const got = await new Promise<string>((resolve) => {
    const s = tls.connect({ host: LOCAL, port, ...opts }, () => {
      s.write(`POST /v1.41/containers/${created.body.Id}/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`);
    });
    let text = '';
    s.on('data', (d) => { text += d; if (text.includes('page not found')) s.destroy(); });
    s.on('error', () => undefined);
    s.setTimeout(5000, () => s.destroy());
    s.on('close', () => resolve(text));
  });
  assert.match(got, /^HTTP\/1\.1 404 [^]*page not found/);
  assert.equal(sim.counts.get('POST /containers/{id}/attach'), 1);
}

// ---- certificates, once ---------------------------------------------------------

let dir: string;
let ca: KeyPair;
let otherCa: KeyPair;
const files: Record<string, string> = {};
const pairs: Record<string, KeyPair> = {};

function writePair(name: string, p: KeyPair): { cert: string; key: string } {
  const cert = path.join(dir, `${name}-cert.pem`);
  const key = path.join(dir, `${name}-key.pem`);
  fs.writeFileSync(cert, p.cert);
  fs.writeFileSync(key, p.key, { mode: 0o600 });
  return { cert, key };
}

const local = { ips: [LOCAL], dnsNames: ['localhost'] };
const past = { notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) };

before(() => {
  log.add(spy);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-tls-test-'));
  ca = createCA({ commonName: 'test CA' });
  otherCa = createCA({ commonName: 'other CA' });
  files.ca = path.join(dir, 'ca.pem');
  fs.writeFileSync(files.ca, ca.cert);
  pairs.manager = issueCert(ca, { commonName: 'manager', ...local, server: true, client: true, days: 400 });
  pairs.client = issueCert(ca, { commonName: 'alice', client: true });
  pairs.otherClient = issueCert(otherCa, { commonName: 'mallory', client: true });
  pairs.expiredClient = issueCert(ca, { commonName: 'bob', client: true, ...past });
  const m = writePair('manager', pairs.manager);
  files.cert = m.cert;
  files.key = m.key;
});

after(() => {
  log.remove(spy);
  fs.rmSync(dir, { recursive: true, force: true });
});

const clientOpts = (p?: KeyPair): tls.ConnectionOptions => ({ ca: ca.cert, servername: 'localhost', ...(p ? { cert: p.cert, key: p.key } : {}) });
const verifyFlags = (): Record<string, unknown> => ({ tlsverify: true, tlscacert: files.ca, tlscert: files.cert, tlskey: files.key });

/**
 * `openssl s_server` requiring a client certificate from `clientCa`: unlike
 * Node, it sends the alert on a refused certificate, as dockerd (Go) does.
 * Undefined when there is no openssl binary.
 */
async function startSServer(pair: KeyPair, clientCa: string): Promise<{ addr: string; stop(): Promise<void> } | undefined> {
  const f = writePair('s-server', pair);
  const caFile = path.join(dir, 's-server-client-ca.pem');
  fs.writeFileSync(caFile, clientCa);
  const child = spawn('openssl', ['s_server', '-accept', `${LOCAL}:${PORT.sServer}`, '-cert', f.cert, '-key', f.key,
    '-CAfile', caFile, '-Verify', '1', '-verify_return_error', '-www', '-quiet'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  child.on('error', () => undefined);
  const up = await until('openssl s_server', () => new Promise<boolean | 'gone'>((r) => {
    if (child.exitCode !== null || child.pid === undefined) { r('gone'); return; }
    const c = net.connect(PORT.sServer, LOCAL, () => { c.destroy(); r(true); });
    c.on('error', () => r(false));
  }), 5000).catch(() => 'gone' as const);
  const stop = async (): Promise<void> => { if (child.exitCode === null && child.pid) child.kill('SIGTERM'); await exited; };
  if (up === 'gone') { await stop(); return undefined; }
  return { addr: `${LOCAL}:${PORT.sServer}`, stop };
}

// ---- a --tlsverify manager in front of good and bad TLS engines ------------------

describe('--tlsverify manager', () => {
  let mgr: Manager;
  const sims: Record<string, Simulator> = {};
  let goStub: net.Server;
  let goStubAddr = '';
  let sServer: { addr: string; stop(): Promise<void> } | undefined;
  let engineCount = 0;

  before(async () => {
    const engine = (cn: string, signer: KeyPair, extra: object = {}): KeyPair => issueCert(signer, { commonName: cn, ...local, server: true, ...extra });
    sims.good = await startSimulator({ port: 0, name: 'good', containers: 3, tls: { ...engine('good', ca), ca: ca.cert, requestCert: true } });
    sims.unknownCa = await startSimulator({ port: 0, name: 'unknown-ca', tls: engine('unknown-ca', otherCa) });
    sims.expired = await startSimulator({ port: 0, name: 'expired', tls: engine('expired', ca, past) });
    sims.mismatch = await startSimulator({
      port: 0, name: 'mismatch', tls: issueCert(ca, { commonName: 'mismatch', ips: ['10.9.9.9'], dnsNames: ['elsewhere'], server: true }),
    });
    sims.wantsOtherCa = await startSimulator({ port: 0, name: 'wants-other-ca', tls: { ...engine('wants-other-ca', ca), ca: otherCa.cert, requestCert: true } });
    // A plain dockerd (Go's net/http) answers a ClientHello with a 400 in plain text.
    goStub = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request'));
    });
    await new Promise<void>((r) => goStub.listen(0, LOCAL, r));
    goStubAddr = `${LOCAL}:${(goStub.address() as net.AddressInfo).port}`;
    sServer = await startSServer(engine('s-server', ca), otherCa.cert);
    const addrs = [...Object.values(sims).map((s) => s.addr), goStubAddr, ...(sServer ? [sServer.addr] : [])];
    engineCount = addrs.length;
    const discovery = addrs.join(',');
    mgr = await startManager(parseManageConfig({ discovery, host: [`tcp://${LOCAL}:${PORT.verify}`], ...verifyFlags() }));
  });

  after(async () => {
    await mgr?.stop();
    for (const s of Object.values(sims)) await s.stop();
    await new Promise((r) => goStub?.close(r));
    await sServer?.stop();
  });

  const ping = async (): Promise<void> => {
    const r = await httpsJson(PORT.verify, '/_ping', clientOpts(pairs.client));
    assert.deepEqual([r.status, r.body], [200, 'OK'], 'the manager still serves a good client');
  };

  /** One refused TLS client: no HTTP answer, one log line with its peer and a reason matching `why`. */
  async function refusedTls(opts: tls.ConnectionOptions, why: RegExp): Promise<Exchange> {
    const r = await tlsExchange(PORT.verify, { ...clientOpts(), ...opts });
    assert.ok(!r.data.toString('latin1').includes('HTTP/'), `no HTTP answer: ${JSON.stringify(r.data.toString('latin1'))}`);
    assert.ok(r.localPort > 0);
    const lines = await refusalLines(r.localPort);
    assert.match(String(lines[0].reason), why);
    assert.equal(lines[0].addr, `tcp://${LOCAL}:${PORT.verify}`);
    await ping();
    assert.equal(refusalsOf(r.localPort).length, 1, 'logged once');
    return r;
  }

  /** Raw bytes refused: nothing at all comes back (or only a TLS alert record), then the close. */
  async function refusedRaw(bytes: Buffer | string, why: RegExp, alertOk = false): Promise<void> {
    const r = await rawExchange(PORT.verify, bytes);
    assert.equal(r.timedOut, false, 'closed, not left hanging');
    if (alertOk && r.data.length) assert.equal(r.data[0], 0x15, `only a TLS alert: ${r.data.toString('hex')}`);
    else assert.equal(r.data.length, 0, `zero bytes back: ${JSON.stringify(r.data.toString('latin1'))}`);
    const lines = await refusalLines(r.localPort);
    assert.match(String(lines[0].reason), why);
    await ping();
    assert.equal(refusalsOf(r.localPort).length, 1, 'logged once');
  }

  test('a good client: /_ping, /info (no warning for a 400-day certificate), TLS 1.2+', async () => {
    await ping();
    const info = await httpsJson(PORT.verify, '/info', clientOpts(pairs.client));
    assert.equal(info.status, 200);
    assert.equal(info.body.Warnings, null);
    const r = await tlsExchange(PORT.verify, clientOpts(pairs.client));
    assert.ok(r.secure && /^TLSv1\.[23]$/.test(r.protocol ?? ''), String(r.protocol));
    assert.match(r.data.toString(), /^HTTP\/1\.1 200 OK/);
  });

  test('refused: no client certificate', async () => { await refusedTls({}, /^no client certificate$/); });
  test('refused: a client certificate from another CA', async () => {
    await refusedTls(clientOpts(pairs.otherClient), /client certificate "mallory" refused: certificate signed by unknown authority \(issued by "other CA"/);
  });
  test('refused: an expired client certificate', async () => {
    await refusedTls(clientOpts(pairs.expiredClient), /client certificate "bob" refused: certificate has expired/);
  });
  test('refused: plain HTTP to the TLS port (zero bytes, then the close)', () =>
    refusedRaw(`GET /_ping HTTP/1.1\r\nHost: ${LOCAL}\r\n\r\n`, /plain HTTP sent to the TLS port/));
  test('refused: garbage bytes', () => refusedRaw(Buffer.concat([Buffer.from([0x47]), randomBytes(511)]), /not a TLS client/, true));

  for (const v of ['TLSv1', 'TLSv1.1'] as const) {
    test(`refused: a ${v === 'TLSv1' ? 'TLS 1.0' : 'TLS 1.1'} client`, async () => {
      const r = await refusedTls({ ...clientOpts(pairs.client), minVersion: 'TLSv1', maxVersion: v, ciphers: 'DEFAULT@SECLEVEL=0' }, /older than 1\.2|TLS version/);
      assert.equal(r.secure, false);
      // Our own OpenSSL may be unable to offer it (no protocols available): the crafted hello below still runs.
      if (r.error === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE') return;
      assert.equal(r.error, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    });
  }
  test('refused: a hand-made TLS 1.1 ClientHello (only a protocol_version alert back)', async () => {
    const r = await rawExchange(PORT.verify, legacyClientHello());
    assert.ok(r.data.length === 0 || (r.data[0] === 0x15 && r.data[r.data.length - 1] === 70), `alert(protocol_version) or nothing: ${r.data.toString('hex')}`);
    const lines = await refusalLines(r.localPort);
    assert.match(String(lines[0].reason), /older than 1\.2/);
    await ping();
    assert.equal(refusalsOf(r.localPort).length, 1, 'logged once');
  });

  test('refused: a truncated ClientHello then EOF, logged with its peer', async () => {
    const from = logged.length;
    const r = await rawExchange(PORT.verify, legacyClientHello().subarray(0, 40), true);
    assert.equal(r.data.length, 0);
    const line = await until('a refusal line', () => logged.slice(from).find((e) => e.message === 'TLS connection refused'), 3000);
    assert.match(String(line.reason), /went away|reset|disconnected/);
    await ping();
    assert.equal(line.peer, `${LOCAL}:${r.localPort}`);
  });

  /** The node rows once every engine was tried: Healthy, or an error to show. */
  const engineRows = (): Promise<Map<string, { status: string; error: string }>> => until('every engine tried', async () => {
    const m = nodeRows((await httpsJson(PORT.verify, '/info', clientOpts(pairs.client))).body);
    return m.size === engineCount && [...m.values()].every((r) => r.status === 'Healthy' || r.error) && m;
  });
  const engineError = async (addr: string): Promise<string> => {
    const r = (await engineRows()).get(addr)!;
    assert.notEqual(r.status, 'Healthy');
    return r.error;
  };

  test('engine: a certificate from an unknown CA', async () => {
    const e = await engineError(sims.unknownCa.addr);
    assert.match(e, /^Cannot connect to the Docker daemon at tcp:\/\/127\.0\.0\.1:\d+: TLS handshake failed: certificate signed by unknown authority \(issued by "other CA"/);
    assert.equal(sims.unknownCa.counts.size, 0, 'not one request written to an unverified engine');
  });
  test('engine: an expired certificate', async () => {
    assert.match(await engineError(sims.expired.addr), /TLS handshake failed: certificate has expired \(valid until /);
    assert.equal(sims.expired.counts.size, 0);
  });
  test('engine: a certificate for other names (name mismatch)', async () => {
    const e = await engineError(sims.mismatch.addr);
    for (const w of ['name mismatch', '127.0.0.1', 'IP 10.9.9.9', 'DNS elsewhere']) assert.ok(e.includes(w), e);
    assert.equal(sims.mismatch.counts.size, 0);
  });
  test('engine: speaks plain HTTP', async () => {
    assert.match(await engineError(goStubAddr), /TLS handshake failed: the peer does not speak TLS/);
  });
  test('engine: requires a client certificate from another CA', async () => {
    // The simulator (Node) just closes; openssl s_server sends the alert as dockerd (Go) does.
    assert.match(await engineError(sims.wantsOtherCa.addr), /refused the manager's certificate/);
    if (sServer) assert.match(await engineError(sServer.addr), /refused/);
  });

  test('engine: a good TLS engine is Healthy; create, list and a hijack through it', async () => {
    const rows = await engineRows();
    assert.equal(rows.get(sims.good.addr)?.status, 'Healthy', rows.get(sims.good.addr)?.error);
    await createListHijack(PORT.verify, clientOpts(pairs.client), sims.good, 'tls-c1');
  });
  // Full 101 attach/exec sessions through TLS run on real engines: test/integration/tls.test.ts.
});

// ---- --tls, plain, rotation, expiry --------------------------------------------

describe('other modes', () => {
  const sims: Record<string, Simulator> = {};
  before(async () => {
    sims.good = await startSimulator({ port: 0, name: 'good', tls: { ...issueCert(ca, { commonName: 'good', ...local, server: true }), ca: ca.cert, requestCert: true } });
    sims.otherCa = await startSimulator({ port: 0, name: 'other-ca', tls: issueCert(otherCa, { commonName: 'x', ips: ['10.9.9.9'], server: true }) });
  });
  after(async () => { for (const s of Object.values(sims)) await s.stop(); });

  test('--tls: clients without a certificate are served; engines are not verified', async () => {
    const mgr = await startManager(parseManageConfig({
      discovery: `${sims.good.addr},${sims.otherCa.addr}`, host: [`tcp://${LOCAL}:${PORT.tlsOnly}`], tls: true, tlscert: files.cert, tlskey: files.key,
    }));
    try {
      assert.equal((await httpsJson(PORT.tlsOnly, '/_ping', clientOpts())).body, 'OK');
      const rows = await until('both engines Healthy', async () => {
        const m = nodeRows((await httpsJson(PORT.tlsOnly, '/info', clientOpts())).body);
        return [...m.values()].filter((r) => r.status === 'Healthy').length === 2 && m;
      });
      assert.equal(rows.get(sims.otherCa.addr)?.error, '', 'another CA and a name mismatch are fine without verify');
      await createListHijack(PORT.tlsOnly, clientOpts(), sims.good, 'tls-only-c1');
    } finally { await mgr.stop(); }
  });

  test('a plain manager in front of a TLS engine: the error says the engine serves TLS', async () => {
    const mgr = await startManager(parseManageConfig({ discovery: sims.good.addr, host: [`tcp://${LOCAL}:${PORT.plain}`] }));
    try {
      const row = await until('the engine error', async () => {
        const r = nodeRows(await (await fetch(`http://${LOCAL}:${PORT.plain}/info`)).json()).get(sims.good.addr);
        return r?.error ? r : undefined;
      });
      assert.notEqual(row.status, 'Healthy');
      assert.match(row.error, /the engine serves TLS but the manager dials it in plain HTTP/);
    } finally { await mgr.stop(); }
  });

  test('the simulator answers plain HTTP on its TLS port as dockerd (Go) does', async () => {
    const r = await rawExchange(sims.otherCa.port, `GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(r.data.toString(), 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
  });

  test('reloadTls(): a new pair in the same files is served to new connections; a broken one is refused and the old one kept', async () => {
    const first = issueCert(ca, { commonName: 'rot', ...local, server: true, client: true });
    const f = writePair('rotate', first);
    const mgr = await startManager(parseManageConfig({ discovery: sims.good.addr, host: [`tcp://${LOCAL}:${PORT.rotate}`], tls: true, tlscert: f.cert, tlskey: f.key }));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const kept = await httpsJson(PORT.rotate, '/_ping', { ...clientOpts(), agent });
      const second = issueCert(ca, { commonName: 'rot', ...local, server: true, client: true });
      writePair('rotate', second);
      mgr.reloadTls();
      const after1 = await httpsJson(PORT.rotate, '/_ping', clientOpts());
      assert.notEqual(after1.serial, kept.serial);
      assert.equal(after1.serial.toLowerCase(), new X509Certificate(second.cert).serialNumber.toLowerCase());
      // The connection opened before goes on, on the old certificate: the manager never stopped.
      const again = await httpsJson(PORT.rotate, '/_ping', { ...clientOpts(), agent });
      assert.deepEqual([again.status, again.serial], [200, kept.serial]);
      fs.writeFileSync(f.cert, 'not a certificate\n');
      assert.throws(() => mgr.reloadTls(), /Couldn't load X509 key pair/);
      const after2 = await httpsJson(PORT.rotate, '/_ping', clientOpts());
      assert.equal(after2.serial, after1.serial, 'the last good pair is still served');
    } finally { agent.destroy(); await mgr.stop(); }
  });

  test('SIGHUP to a real `swarm manage` process rotates its certificate', async () => {
    const f = writePair('hup', issueCert(ca, { commonName: 'hup', ...local, server: true, client: true }));
    const main = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
    const child = spawn(process.execPath, [main, 'manage', '--tlsverify', '--tlscacert', files.ca, '--tlscert', f.cert, '--tlskey', f.key,
      '-H', `tcp://${LOCAL}:${PORT.sighup}`, sims.good.addr], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += d; });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const before1 = await until('the manager listening', () => httpsJson(PORT.sighup, '/_ping', clientOpts(pairs.client)).catch(() => undefined), 15_000);
      const next = issueCert(ca, { commonName: 'hup', ...local, server: true, client: true });
      writePair('hup', next);
      process.kill(child.pid!, 'SIGHUP');
      const want = new X509Certificate(next.cert).serialNumber.toLowerCase();
      await until('the new certificate served', async () => (await httpsJson(PORT.sighup, '/_ping', clientOpts(pairs.client))).serial.toLowerCase() === want);
      assert.notEqual(before1.serial.toLowerCase(), want);
      assert.equal(child.exitCode, null, 'still running');
      assert.equal(stderr.match(/TLS certificates loaded/g)?.length, 2, stderr);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    }
  });

  test('refusals are logged at most 20 per 10 s per listener (a flood cannot fill the disk)', async () => {
    const mgr = await startManager(parseManageConfig({ discovery: sims.good.addr, host: [`tcp://${LOCAL}:${PORT.cap}`], tls: true, tlscert: files.cert, tlskey: files.key }));
    try {
      const addr = `tcp://${LOCAL}:${PORT.cap}`;
      const ends = await Promise.all(Array.from({ length: 30 }, () => rawExchange(PORT.cap, 'garbage\r\n\r\n')));
      assert.ok(ends.every((e) => !e.timedOut && e.data.length === 0));
      await until('20 lines', () => logged.filter((e) => e.message === 'TLS connection refused' && e.addr === addr).length >= 20);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(logged.filter((e) => e.message === 'TLS connection refused' && e.addr === addr).length, 20);
      assert.equal((await httpsJson(PORT.cap, '/_ping', clientOpts())).body, 'OK');
    } finally { await mgr.stop(); }
  });

  test('docker info warns when the manager certificate expires within 30 days', async () => {
    const f = writePair('soon', issueCert(ca, { commonName: 'soon', ...local, server: true, client: true, days: 10 }));
    const mgr = await startManager(parseManageConfig({ discovery: sims.good.addr, host: [`tcp://${LOCAL}:${PORT.soon}`], tls: true, tlscert: f.cert, tlskey: f.key }));
    try {
      const w = (await httpsJson(PORT.soon, '/info', clientOpts())).body.Warnings;
      assert.equal(w.length, 1);
      assert.match(w[0], new RegExp(`^WARNING: the manager's TLS certificate ${f.cert.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} expires on \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z \\(in (9|10) days\\): replace it and send SIGHUP to the manager$`));
    } finally { await mgr.stop(); }
  });
});

// ---- pure helpers -----------------------------------------------------------------

describe('helpers', () => {
  test('loadTlsMaterial: classic texts for a missing or mismatched key and a bad CA', () => {
    const missing = path.join(dir, 'nope.pem');
    assert.throws(() => loadTlsMaterial({ verify: false, cert: files.cert, key: missing }),
      (e: Error) => e.message.startsWith(`Couldn't load X509 key pair (${files.cert}, ${missing}): `) && /ENOENT/.test(e.message) && e.message.endsWith('. Key encrypted?'));
    const other = writePair('other', pairs.client);
    assert.throws(() => loadTlsMaterial({ verify: false, cert: files.cert, key: other.key }),
      { message: `Couldn't load X509 key pair (${files.cert}, ${other.key}): private key does not match public key. Key encrypted?` });
    assert.throws(() => loadTlsMaterial({ verify: true, ca: missing, cert: files.cert, key: files.key }), (e: Error) => e.message.startsWith("Couldn't read CA certificate: ENOENT"));
    assert.throws(() => loadTlsMaterial({ verify: true, ca: files.key, cert: files.cert, key: files.key }), (e: Error) => e.message.startsWith(`Couldn't read CA certificate: ${files.key}: no PEM certificate in it`));
    const m = loadTlsMaterial({ verify: true, ca: files.ca, cert: files.cert, key: files.key });
    assert.equal(m.certInfo.subject, 'CN=manager');
    assert.match(m.certInfo.sans, /IP Address:127\.0\.0\.1/);
    assert.equal(m.caInfo?.subject, 'CN=test CA');
  });

  test('daysUntil and the expired-certificate warning', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(daysUntil(new Date(now + 2 * DAY), now), 2);
    assert.equal(daysUntil(new Date(now - DAY / 2), now), -0.5);
    const ctx = (d: number): ApiContext => ({ tlsCert: { file: '/c.pem', notAfter: new Date(now + d * DAY) } } as ApiContext);
    assert.equal(infoWarnings(ctx(30), now), null);
    assert.deepEqual(infoWarnings(ctx(29.5), now), ["WARNING: the manager's TLS certificate /c.pem expires on 2030-01-30T12:00:00Z (in 29 days): replace it and send SIGHUP to the manager"]);
    assert.deepEqual(infoWarnings(ctx(-1), now), ["WARNING: the manager's TLS certificate /c.pem expired on 2029-12-31T00:00:00Z: replace it and send SIGHUP to the manager"]);
    assert.equal(infoWarnings({} as ApiContext, now), null);
  });
});

// ---- the dialer's resumed sessions ------------------------------------------------

describe('dialer: TLS session resumption', () => {
  /** One dial: 'ok' once usable and resumed or not, else the error's text. */
  const dial = (d: Dialer, addr: string): Promise<string> => new Promise((resolve) => {
    const s = d.connect(addr) as tls.TLSSocket;
    s.once(DIALED, () => { const r = s.isSessionReused(); s.destroy(); resolve(r ? 'ok resumed' : 'ok full'); });
    s.once('error', (e) => resolve(e.message));
  });

  test('a session is resumed only while the engine certificate it checked is valid', { timeout: 20_000 }, async () => {
    const material = loadTlsMaterial({ verify: true, ca: files.ca, cert: files.cert, key: files.key });
    // Valid for 3 more seconds (X.509 times are in whole seconds).
    const notAfter = new Date(Math.ceil((Date.now() + 3000) / 1000) * 1000);
    const sim = await startSimulator({ port: 0, name: 'short', tls: { ...issueCert(ca, { commonName: 'short', ips: ['127.0.0.1'], server: true, notAfter }), ca: ca.cert, requestCert: true } });
    const d = new Dialer({ tls: material });
    try {
      assert.equal(await dial(d, sim.addr), 'ok full');
      const second = await dial(d, sim.addr);
      assert.match(second, /^ok (resumed|full)$/);
      await new Promise((r) => setTimeout(r, Math.max(0, notAfter.getTime() - Date.now()) + 1200));
      // Past its end: no resumption hides it; the full handshake says why.
      assert.match(await dial(d, sim.addr), /TLS handshake failed: certificate has expired/);
    } finally {
      await sim.stop();
    }
  });
});
