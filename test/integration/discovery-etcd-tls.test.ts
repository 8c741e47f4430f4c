// etcd:// over TLS (issue 12): a real etcd with client-certificate auth
// (client port 23523, peer 23524; test/lib/README.md) and simulated engines
// (bench/simulator.ts, free ports; no dockerd). `swarm join` and `swarm list`
// run spawned with --discovery-opt kv.cacertfile/kv.certfile/kv.keyfile;
// managers run in-process. Then each way to get TLS wrong must fail in
// bounded time, with a message that says what to fix and no stack.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCA, issueCert, type KeyPair } from '../../src/certs/index.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig } from '../../src/cli/config.js';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { etcdSkipReason, startEtcd, type TestEtcd } from '../lib/etcd.js';
import { SWARM_MAIN, SwarmProcs, type SwarmProc } from '../lib/swarmproc.js';
import { eventually } from '../lib/wait.js';

const CLIENT_PORT = 23523;
const PEER_PORT = 23524;
const skip = etcdSkipReason() ?? (fs.existsSync(SWARM_MAIN) ? undefined : 'dist/src/cli/main.js not built');
const T = { timeout: 60_000 };

let dir = '';
let etcd: TestEtcd | undefined;
let procs: SwarmProcs | undefined;
const sims: Simulator[] = [];
const managers: Manager[] = [];
/** Files by name: ca, cert, key (a client of the CA etcd trusts), rogue, rogueKey, otherCa. */
const F: Record<string, string> = {};

function write(name: string, pem: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, pem, { mode: 0o600 });
  return f;
}

/** `--discovery-opt k=v` for each pair. */
function dopts(o: Record<string, string>): string[] {
  return Object.entries(o).flatMap(([k, v]) => ['--discovery-opt', `${k}=${v}`]);
}
const GOOD = (): Record<string, string> => ({ 'kv.cacertfile': F.ca, 'kv.certfile': F.cert, 'kv.keyfile': F.key });
const url = (p: string): string => `etcd://127.0.0.1:${CLIENT_PORT}/${p}`;

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function manager(o: Record<string, unknown>): Promise<{ m: Manager; port: number }> {
  const port = await freePort();
  const m = await startManager(parseManageConfig({ host: [`tcp://127.0.0.1:${port}`], heartbeat: '1s', ...o }));
  managers.push(m);
  return { m, port };
}

/** /info's per-node lines: address -> status. */
async function nodeStatus(port: number): Promise<Record<string, string>> {
  const info = await (await fetch(`http://127.0.0.1:${port}/info`)).json() as { SystemStatus: [string, string][] };
  const out: Record<string, string> = {};
  let addr = '';
  for (const [k, v] of info.SystemStatus) {
    if (/^ [^ ]/.test(k)) addr = v;
    else if (k === '  └ Status' && addr) out[addr] = v;
  }
  return out;
}

/** A run of a command that must fail: exit 1, quickly, with a message and no stack. */
async function refused(args: string[]): Promise<string> {
  const t0 = Date.now();
  const r = await procs!.run(args, {}, 30_000);
  const took = Date.now() - t0;
  assert.equal(r.code, 1, `exit code for ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.ok(took < 15_000, `${args[0]} took ${took}ms to fail`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack');
  assert.equal(r.stdout, '', 'nothing listed');
  return r.stderr;
}

describe('etcd:// over TLS with client-certificate auth (real etcd, simulated engines)', { skip }, () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-etcd-tls-'));
    const ca = createCA({ commonName: 'store CA' });
    const otherCa = createCA({ commonName: 'other CA' });
    const server: KeyPair = issueCert(ca, { commonName: 'etcd', ips: ['127.0.0.1'], server: true, client: true });
    const client = issueCert(ca, { commonName: 'swarm', client: true });
    const rogue = issueCert(otherCa, { commonName: 'swarm', client: true });
    Object.assign(F, {
      ca: write('ca.pem', ca.cert), cert: write('cert.pem', client.cert), key: write('key.pem', client.key),
      rogue: write('rogue.pem', rogue.cert), rogueKey: write('rogue-key.pem', rogue.key), otherCa: write('other-ca.pem', otherCa.cert),
    });
    etcd = await startEtcd({ clientPort: CLIENT_PORT, peerPort: PEER_PORT, tls: { ca: ca.cert, cert: server.cert, key: server.key } });
    procs = new SwarmProcs(path.join(dir, 'logs'));
    for (const name of ['tls-a', 'tls-b']) sims.push(await startSimulator({ port: 0, name, containers: 3 }));
  });
  after(async () => {
    for (const m of managers) await m.stop().catch(() => undefined);
    await procs?.killAll();
    for (const s of sims) await s.stop();
    await etcd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('join registers over TLS, list lists it with the same options, a manager sees the engines Healthy', T, async () => {
    assert.equal(etcd!.scheme, 'https');
    const joins: SwarmProc[] = sims.map((s) => procs!.start(['join', '--advertise', s.addr, '--heartbeat', '1s', '--ttl', '4s', ...dopts(GOOD()), url('ok')]));
    const want = sims.map((s) => s.addr).sort().join('\n') + '\n';
    const listed = await eventually(
      () => procs!.run(['list', '--timeout', '5s', ...dopts(GOOD()), url('ok')]),
      (r) => r.code === 0 && r.stdout === want, 15_000, 300,
    );
    assert.equal(listed.stdout, want, `list: ${listed.stderr}\njoin log:\n${SwarmProcs.tail(joins[0])}`);

    const { port } = await manager({ discovery: url('ok'), 'discovery-opt': Object.entries(GOOD()).map(([k, v]) => `${k}=${v}`) });
    const healthy = await eventually(() => nodeStatus(port), (s) => sims.every((x) => s[x.addr] === 'Healthy'), 15_000, 200);
    assert.deepEqual(healthy, Object.fromEntries(sims.map((s) => [s.addr, 'Healthy'])));

    // A killed join's entry expires with its TTL; the manager drops the engine.
    const pid = joins[1].proc.pid!;
    assert.ok(pid > 0);
    await joins[1].kill(); // SIGKILL by its PID
    const left = await eventually(() => nodeStatus(port), (s) => !(sims[1].addr in s), 15_000, 200);
    assert.deepEqual(Object.keys(left), [sims[0].addr]);
    for (const j of joins) await j.stop();
  });

  test('refused with words: a plain client, a client certificate of another CA, a missing client certificate', T, async () => {
    const plain = await refused(['list', '--timeout', '5s', url('ok')]);
    assert.match(plain, /etcd 127\.0\.0\.1:23523: no connection .*no TLS options were given: if etcd serves TLS .*kv\.cacertfile=<CA>, kv\.certfile=<cert> and kv\.keyfile=<key>/);

    const rogue = await refused(['list', '--timeout', '5s', ...dopts({ 'kv.cacertfile': F.ca, 'kv.certfile': F.rogue, 'kv.keyfile': F.rogueKey }), url('ok')]);
    assert.match(rogue, /TLS handshake refused: etcd rejected the client certificate in kv\.certfile \S*rogue\.pem \(issued by "other CA"\)/);

    const noCert = await refused(['list', '--timeout', '5s', ...dopts({ 'kv.cacertfile': F.ca }), url('ok')]);
    assert.match(noCert, /TLS handshake refused: etcd requires a client certificate; give --discovery-opt kv\.certfile=<cert> and kv\.keyfile=<key>/);

    const noCa = await refused(['list', '--timeout', '5s', ...dopts({ 'kv.certfile': F.cert, 'kv.keyfile': F.key }), url('ok')]);
    assert.match(noCa, /TLS: etcd's certificate is not signed by a CA this system trusts; give --discovery-opt kv\.cacertfile=/);

    const wrongCa = await refused(['list', '--timeout', '5s', ...dopts({ ...GOOD(), 'kv.cacertfile': F.otherCa }), url('ok')]);
    assert.match(wrongCa, /TLS: etcd's certificate is not signed by the CA in kv\.cacertfile \S*other-ca\.pem/);
  });

  test('refused at once: a lone kv.certfile or kv.keyfile, a missing file, a key that is not the certificate\'s (join, list, manage)', T, async () => {
    // (kv.cacertfile alone, and kv.certfile with kv.keyfile, reach etcd: the test above.)
    const partial: Record<string, string>[] = [{ 'kv.certfile': F.cert }, { 'kv.keyfile': F.key }, { 'kv.cacertfile': F.ca, 'kv.certfile': F.cert }, { 'kv.cacertfile': F.ca, 'kv.keyfile': F.key }];
    for (const o of partial) {
      const err = await refused(['list', ...dopts(o), url('ok')]);
      assert.match(err, /etcd discovery: kv\.certfile and kv\.keyfile go together/, Object.keys(o).join());
    }
    const missing = path.join(dir, 'missing.pem');
    for (const cmd of [['list'], ['join', '--advertise', sims[0].addr], ['manage', '-H', 'tcp://127.0.0.1:0']]) {
      const err = await refused([...cmd, ...dopts({ ...GOOD(), 'kv.cacertfile': missing }), url('ok')]);
      assert.match(err, new RegExp(`etcd discovery: cannot read kv\\.cacertfile ${missing.replace(/\./g, '\\.')}: no such file or directory`), cmd[0]);
    }
    const mixed = await refused(['join', '--advertise', sims[0].addr, ...dopts({ ...GOOD(), 'kv.keyfile': F.rogueKey }), url('ok')]);
    assert.match(mixed, /kv\.keyfile \S*rogue-key\.pem is not the key of the certificate in kv\.certfile \S*cert\.pem/);
    const notPem = await refused(['list', ...dopts({ ...GOOD(), 'kv.certfile': F.key }), url('ok')]);
    assert.match(notPem, /kv\.certfile \S*key\.pem holds no PEM certificate/);
  });

  test('a join with a refused certificate keeps running and says why on its first heartbeat', T, async () => {
    const j = procs!.start(['join', '--advertise', sims[0].addr, '--heartbeat', '1s', '--ttl', '3s',
      ...dopts({ 'kv.cacertfile': F.ca, 'kv.certfile': F.rogue, 'kv.keyfile': F.rogueKey }), url('rogue')]);
    const log = await eventually(async () => SwarmProcs.tail(j, 50), (t) => /registration on the discovery service failed/.test(t), 10_000, 200);
    assert.match(log, /registration on the discovery service failed: etcd 127\.0\.0\.1:23523: TLS handshake refused: etcd rejected the client certificate in kv\.certfile/);
    assert.equal(j.proc.exitCode, null, 'still running (a store may come to trust it)');
    assert.doesNotMatch(log, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack');
    await j.stop();
    const r = await procs!.run(['list', '--timeout', '5s', ...dopts(GOOD()), url('rogue')]);
    assert.deepEqual([r.code, r.stdout], [0, ''], 'nothing registered');
  });

  test('--replication over TLS: two managers elect one primary; the other takes over when it stops', T, async () => {
    const opts = Object.entries(GOOD()).map(([k, v]) => `${k}=${v}`);
    const start = async (): Promise<{ m: Manager; port: number }> => {
      const port = await freePort();
      const m = await startManager(parseManageConfig({
        discovery: url('ha'), 'discovery-opt': opts, host: [`tcp://127.0.0.1:${port}`], heartbeat: '1s',
        replication: true, advertise: `127.0.0.1:${port}`, 'replication-ttl': '3s',
      }));
      managers.push(m);
      return { m, port };
    };
    const a = await start();
    const b = await start();
    const roles = async (): Promise<string[]> => [a, b].map((x) => x.m.replication!.current.role);
    const settled = await eventually(roles, (r) => r.sort().join() === 'primary,replica', 10_000, 100);
    assert.deepEqual(settled.sort(), ['primary', 'replica']);
    const [primary, replica] = a.m.replication!.current.role === 'primary' ? [a, b] : [b, a];
    const seen = await eventually(async () => replica.m.replication!.current.primary, (p) => p === `127.0.0.1:${primary.port}`, 10_000, 100);
    assert.equal(seen, `127.0.0.1:${primary.port}`);

    await primary.m.stop();
    managers.splice(managers.indexOf(primary.m), 1);
    const after = await eventually(async () => replica.m.replication!.current.role, (r) => r === 'primary', 10_000, 100);
    assert.equal(after, 'primary');
  });
});
