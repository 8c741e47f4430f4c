// Issue 12 on real engines: mutual TLS between docker clients (CLI 28, CLI
// 20.10, dockerode, docker-py), the manager and the engines, all from the
// local cluster tool. An engine whose certificate names another host shows the
// SAN error; a manager without TLS says the engines speak TLS.
//
// Two TLS managers front the same three good engines: the --tlsverify one
// (classic's mutual TLS, engines checked) and a --tls one (encrypted both
// ways, engines still check the manager's certificate, the manager does not
// check theirs). The same client matrix runs through both.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { startManager, type ManagerProcess } from '../../src/devcluster/manager.js';
import { clusterBlock, dockerCommand, skipReason, withCluster, type DockerOptions, type TestCluster } from '../lib/cluster.js';
import { nodeStatus } from '../lib/observe.js';
import { bound, eventually, sleep } from '../lib/wait.js';

const BLOCK = clusterBlock(14); // slots 140-143, engines 25000-25003, --tlsverify manager 25050
const OPEN_PORT = BLOCK.managerPort + 1; // the --tls manager
const PLAIN_PORT = BLOCK.managerPort + 2; // a manager without TLS
const GOOD = ['node-0', 'node-1', 'node-2'];
const WRONG = 3; // node-3: certificate for IP 10.9.9.9, DNS elsewhere
const CLIS = [['new', 'CLI 28'], ['old', 'CLI 20.10']] as const;
let c: TestCluster;
const extra: ManagerProcess[] = [];
// Managers started here are detached: a crashed run must not leave them behind.
process.on('exit', () => { for (const m of extra) try { process.kill(m.pid, 'SIGKILL'); } catch { /* gone */ } });

interface LiveDocker { out: () => string; write: (s: string) => void; exited: Promise<number>; kill: () => void }

/** A docker CLI left running (logs -f, events, attach): its output so far, its stdin (kept open), its exit. */
function startDocker(args: string[], o: DockerOptions & { host: string }): LiveDocker {
  const { bin, env } = dockerCommand({ certPath: c.tls!.client.dir, ...o }, c.dockerConfig);
  const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
  return { out: () => out, write: (s) => child.stdin.write(s), exited, kill: () => child.kill('SIGKILL') };
}

async function waitFor(re: RegExp, out: () => string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!re.test(out()) && Date.now() < end) await sleep(100);
  assert.match(out(), re);
}

/** Docker's multiplexed stream to stdout text. */
function demuxOut(buf: Buffer): string {
  let s = '';
  for (let i = 0; i + 8 <= buf.length; i += 8 + buf.readUInt32BE(i + 4)) {
    if (buf[i] === 1) s += buf.subarray(i + 8, i + 8 + buf.readUInt32BE(i + 4)).toString();
  }
  return s;
}

function drain(s: NodeJS.ReadableStream, ms = 15_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (b: Buffer) => chunks.push(Buffer.from(b)));
  return new Promise((resolve) => {
    const done = () => resolve(Buffer.concat(chunks));
    s.on('end', done); s.on('close', done); s.on('error', done);
    setTimeout(done, ms).unref();
  });
}

const dockerode = (port: number) => new Docker({
  host: '127.0.0.1', port, protocol: 'https',
  ca: fs.readFileSync(c.tls!.client.ca), cert: fs.readFileSync(c.tls!.client.cert), key: fs.readFileSync(c.tls!.client.key),
});

// docker-py 7.1 through the manager: argv base_url cert key ca prefix since.
const PY = String.raw`
import docker, io, json, os, sys, tarfile
base, cert, key, ca, prefix, since = sys.argv[1:]
c = docker.DockerClient(base_url=base, tls=docker.tls.TLSConfig(client_cert=(cert, key), ca_cert=ca, verify=True))
out = {'nodes': c.info()['SystemStatus']}
out['run'] = c.containers.run('busybox', ['echo', 'py-hi'], remove=True).decode()
ct = c.containers.run('busybox', ['sleep', '300'], name=prefix + 'py', detach=True)
out['exec'] = ct.exec_run(['echo', 'py-exec']).output.decode()
lg = c.containers.run('busybox', ['sh', '-c', 'for i in 1 2 3; do echo l$i; sleep 0.2; done'], name=prefix + 'pylogs', detach=True)
out['logs'] = b''.join(lg.logs(stream=True, follow=True)).decode()
data = os.urandom(300000)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w') as t:
    ti = tarfile.TarInfo('py.bin'); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
ct.put_archive('/tmp', buf.getvalue())
bits, _ = ct.get_archive('/tmp/py.bin')
with tarfile.open(fileobj=io.BytesIO(b''.join(bits))) as t:
    out['cp'] = t.extractfile('py.bin').read() == data
ev = c.events(since=int(since), filters={'container': prefix + 'py', 'event': 'start'}, decode=True)
out['event'] = next(ev)['Action']
ev.close()
out['ps'] = sorted(x.name for x in c.containers.list(all=True, filters={'name': prefix + 'py'}))
for x in c.containers.list(all=True, filters={'name': prefix + 'py'}):
    x.remove(force=True)
out['left'] = len(c.containers.list(all=True, filters={'name': prefix + 'py'}))
print(json.dumps(out))
`;

/** The first python3 with docker-py: PATH's, else Debian's (python3-docker, installed by .ci/install). */
function pythonWithDockerPy(): string {
  for (const py of ['python3', '/usr/bin/python3']) {
    try { execFileSync(py, ['-c', 'import docker'], { stdio: 'ignore' }); return py; } catch { /* next */ }
  }
  return 'python3';
}

function python(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const py = pythonWithDockerPy();
  return new Promise((resolve) => {
    // requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the client's own CA (requests#3829).
    const env = { ...process.env };
    delete env.REQUESTS_CA_BUNDLE;
    delete env.CURL_CA_BUNDLE;
    execFile(py, ['-c', PY, ...args], { timeout: 90_000, env }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, stdout: String(stdout), stderr: String(stderr) }));
  });
}

/** The client matrix through the manager on `port`; container names start with `p`. */
function clientMatrix(label: string, port: number, p: string): void {
  describe(label, () => {
    const addr = `127.0.0.1:${port}`;
    const T = { timeout: 90_000 };
    const dk = (args: string[], o: DockerOptions = {}) => c.docker(args, { host: addr, ...o });

    before(async () => {
      if (!c) return;
      // The manager answers /_ping before it has connected its engines; a broken setup is left to the tests.
      const d = dockerode(port);
      await eventually(() => d.info().catch(() => ({})), (i: any) => GOOD.every((n) => nodeStatus(i, n) === 'Healthy'), 20_000, 250);
    });
    after(async () => {
      if (!c) return;
      const ids = (await dk(['ps', '-aq', '--filter', `name=${p}`])).stdout.split('\n').filter(Boolean);
      if (ids.length) await dk(['rm', '-f', ...ids]);
    });

    test('info: CLI 28, CLI 20.10, dockerode and docker-py see the three nodes Healthy', T, async () => {
      for (const [cli] of CLIS) {
        const r = await dk(['info', '--format', '{{json .SystemStatus}}'], { cli });
        assert.equal(r.code, 0, r.stderr);
        const info = { SystemStatus: JSON.parse(r.stdout) };
        for (const n of GOOD) assert.equal(nodeStatus(info, n), 'Healthy', `${cli}: ${n} in ${r.stdout}`);
      }
      const i: any = await dockerode(port).info();
      for (const n of GOOD) assert.equal(nodeStatus(i, n), 'Healthy', n);
    });

    test('run --rm busybox echo; echo hello | run -i --rm busybox cat (stdin, half-close)', T, async () => {
      for (const [cli] of CLIS) {
        const r = await dk(['run', '--rm', 'busybox', 'echo', `hi-${cli}`], { cli });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `hi-${cli}\n`);
        const s = await dk(['run', '-i', '--rm', 'busybox', 'cat'], { cli, input: 'hello\n' });
        assert.equal(s.code, 0, s.stderr);
        assert.equal(s.stdout, 'hello\n', cli);
      }
    });

    test('run -d, then exec -i (stdin) and exec -it (a TTY, under script)', T, async () => {
      for (const [cli] of CLIS) {
        const name = `${p}box-${cli}`;
        const r = await dk(['run', '-d', '--name', name, 'busybox', 'sleep', '300'], { cli });
        assert.equal(r.code, 0, r.stderr);
        const e = await dk(['exec', '-i', name, 'sh', '-c', 'read x; echo got:$x'], { cli, input: 'abc\n' });
        assert.equal(e.code, 0, e.stderr);
        assert.equal(e.stdout, 'got:abc\n');
        const { bin, env } = dockerCommand({ cli, host: addr, certPath: c.tls!.client.dir }, c.dockerConfig);
        const t = await new Promise<string>((resolve) => execFile('script', ['-qec', `${bin} exec -it ${name} sh -c 'tty; echo tty-ok'`, '/dev/null'],
          { env, timeout: 30_000 }, (_err, stdout) => resolve(String(stdout))));
        assert.match(t, /\/dev\/pts\/\d+\r?\n/, `${cli}: ${t}`);
        assert.match(t, /tty-ok/);
      }
    });

    test('logs -f follows, and the stream ends when the container stops', T, async () => {
      for (const [cli] of CLIS) {
        const name = `${p}logs-${cli}`;
        const r = await dk(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'trap "exit 0" TERM; i=0; while true; do echo line$i; i=$((i+1)); sleep 0.2; done'], { cli });
        assert.equal(r.code, 0, r.stderr);
        const f = startDocker(['logs', '-f', name], { cli, host: addr });
        try {
          await waitFor(/line3\n/, f.out, 15_000);
          assert.equal((await dk(['stop', name], { cli })).code, 0);
          const code = await Promise.race([f.exited, bound(15_000).then(() => 'still following')]);
          assert.equal(code, 0, f.out());
        } finally { f.kill(); }
      }
    });

    test('events shows a start event', T, async () => {
      for (const [cli] of CLIS) {
        const name = `${p}ev-${cli}`;
        const since = String(Math.floor(Date.now() / 1000) - 1);
        assert.equal((await dk(['run', '-d', '--name', name, 'busybox', 'sleep', '300'], { cli })).code, 0);
        const ev = startDocker(['events', '--since', since, '--filter', `container=${name}`, '--filter', 'event=start', '--format', '{{.Action}} {{.Actor.Attributes.name}}'], { cli, host: addr });
        try { await waitFor(new RegExp(`^start .*${name}`, 'm'), ev.out, 15_000); } finally { ev.kill(); }
      }
    });

    test('cp a file into a container and back out: the same bytes', T, async () => {
      const dir = fs.mkdtempSync(path.join(c.stateDir, 'cp-'));
      const data = randomBytes(1 << 20);
      fs.writeFileSync(path.join(dir, 'in.bin'), data);
      for (const [cli] of CLIS) {
        const name = `${p}cp-${cli}`;
        assert.equal((await dk(['run', '-d', '--name', name, 'busybox', 'sleep', '300'], { cli })).code, 0);
        const i = await dk(['cp', path.join(dir, 'in.bin'), `${name}:/tmp/in.bin`], { cli });
        assert.equal(i.code, 0, i.stderr);
        const o = await dk(['cp', `${name}:/tmp/in.bin`, path.join(dir, `out-${cli}.bin`)], { cli });
        assert.equal(o.code, 0, o.stderr);
        assert.ok(fs.readFileSync(path.join(dir, `out-${cli}.bin`)).equals(data), `${cli}: bytes differ`);
      }
    });

    test('attach: stdin in, output out, ends with the container', T, async () => {
      for (const [cli] of CLIS) {
        const name = `${p}att-${cli}`;
        assert.equal((await dk(['run', '-d', '-i', '--name', name, 'busybox', 'sh', '-c', 'read x; echo got:$x'], { cli })).code, 0);
        // stdin stays open until the container ends: without StdinOnce, dockerd ends the
        // attach as soon as the client's stdin closes, racing the output (direct to an engine too).
        const a = startDocker(['attach', name], { cli, host: addr });
        try {
          a.write('hello\n');
          await waitFor(/got:hello\n/, a.out, 15_000);
          assert.equal(await Promise.race([a.exited, bound(15_000).then(() => 'still attached')]), 0, a.out());
          assert.equal(a.out(), 'got:hello\n', cli);
        } finally { a.kill(); }
      }
    });

    test('ps -a shows the containers on their nodes; rm -f removes them', T, async () => {
      for (const [cli] of CLIS) {
        const ps = await dk(['ps', '-a', '--filter', `name=${p}`, '--format', '{{.Names}}'], { cli });
        assert.equal(ps.code, 0, ps.stderr);
        assert.match(ps.stdout, new RegExp(`^node-\\d/${p}box-${cli}$`, 'm'));
      }
      const ids = (await dk(['ps', '-aq', '--filter', `name=${p}`])).stdout.split('\n').filter(Boolean);
      assert.ok(ids.length >= 2);
      const rm = await dk(['rm', '-f', ...ids], { cli: 'old' });
      assert.equal(rm.code, 0, rm.stderr);
      assert.equal((await dk(['ps', '-aq', '--filter', `name=${p}`])).stdout.trim(), '');
    });

    test('dockerode over https: run, exec and attach (hijack), logs follow, archive put/get, list, remove', T, async () => {
      const d = dockerode(port);
      const ct = await d.createContainer({ Image: 'busybox', name: `${p}node`, Cmd: ['sh', '-c', 'read x; echo got:$x; for i in 1 2 3; do echo l$i; sleep 0.2; done'], OpenStdin: true, StdinOnce: true });
      const s = (await ct.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as NodeJS.ReadWriteStream;
      const attached = drain(s);
      await ct.start();
      s.end('from-dockerode\n'); // half-close: read sees the line, the output still flows back
      assert.equal(demuxOut(await attached), 'got:from-dockerode\nl1\nl2\nl3\n');
      const logs = (await ct.logs({ follow: true, stdout: true })) as unknown as NodeJS.ReadableStream;
      assert.match(demuxOut(await drain(logs)), /l3\n$/);
      const box = await d.createContainer({ Image: 'busybox', name: `${p}node-box`, Cmd: ['sleep', '300'] });
      await box.start();
      const ex = await box.exec({ Cmd: ['echo', 'exec-ok'], AttachStdout: true, AttachStderr: true });
      assert.equal(demuxOut(await drain((await ex.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream)), 'exec-ok\n');
      const dir = fs.mkdtempSync(path.join(c.stateDir, 'arc-'));
      const data = randomBytes(256 * 1024);
      fs.writeFileSync(path.join(dir, 'node.bin'), data);
      const tar = await new Promise<Buffer>((resolve, reject) => execFile('tar', ['-C', dir, '-cf', '-', 'node.bin'], { encoding: 'buffer' },
        (err, out) => (err ? reject(err) : resolve(out))));
      await box.putArchive(tar, { path: '/tmp' });
      const back = await drain((await box.getArchive({ path: '/tmp/node.bin' })) as unknown as NodeJS.ReadableStream);
      const at = back.indexOf(data.subarray(0, 64)); // after the member's header(s)
      assert.ok(at > 0 && back.subarray(at, at + data.length).equals(data), 'archive bytes differ');
      const listed = await d.listContainers({ all: true, filters: { name: [`${p}node`] } });
      assert.equal(listed.length, 2);
      await Promise.all([ct.remove({ force: true }), box.remove({ force: true })]);
      assert.equal((await d.listContainers({ all: true, filters: { name: [`${p}node`] } })).length, 0);
    });

    test('docker-py 7.1 over https: info, run, exec, logs follow, put/get archive, events, list, remove', T, async () => {
      const t = c.tls!.client;
      const r = await python([`https://${addr}`, t.cert, t.key, t.ca, p, String(Math.floor(Date.now() / 1000) - 1)]);
      assert.equal(r.code, 0, r.stderr);
      const o = JSON.parse(r.stdout);
      for (const n of GOOD) assert.equal(nodeStatus({ SystemStatus: o.nodes }, n), 'Healthy', n);
      assert.equal(o.run, 'py-hi\n');
      assert.equal(o.exec, 'py-exec\n');
      assert.equal(o.logs, 'l1\nl2\nl3\n');
      assert.equal(o.cp, true);
      assert.equal(o.event, 'start');
      assert.deepEqual(o.ps, [`${p}py`, `${p}pylogs`]);
      assert.equal(o.left, 0);
    });
  });
}

describe('TLS everywhere (3 TLS engines + a wrong-host one, managers with --tlsverify, --tls and none)', { skip: skipReason() }, () => {
  before(async () => {
    c = await withCluster({
      ...BLOCK,
      nodes: 4,
      tls: { sans: (i) => (i === WRONG ? { ips: ['10.9.9.9'], dnsNames: ['elsewhere'] } : undefined) },
      managerArgs: ['--engine-refresh-min-interval', '1s', '--engine-refresh-max-interval', '2s'],
    });
    const open = await startManager({
      host: `127.0.0.1:${OPEN_PORT}`, tls: c.tls!.manager, tlsVerify: false,
      discovery: `nodes://${c.engines.slice(0, 3).map((e) => e.addr).join(',')}`,
      logFile: path.join(c.stateDir, 'manager-tls.log'),
    });
    extra.push(open);
  }, { timeout: 180_000 });
  after(async () => {
    for (const m of extra.splice(0)) await m.stop().catch(() => undefined);
    await c?.stop();
  }, { timeout: 120_000 });

  const wrongError = (addr: string, tail: string) => new RegExp(`└ Error: Cannot connect to the Docker daemon at tcp://${addr.replace(/\./g, '\\.')}: TLS handshake failed: ${tail}`);

  test('the wrong-host engine: a TLS handshake error for its address in docker info; not Healthy', { timeout: 60_000 }, async () => {
    const wrong = c.engines[WRONG]!.addr;
    const re = wrongError(wrong, '');
    for (const [cli] of CLIS) {
      const r = await eventually(() => c.docker(['info'], { cli }), (x) => re.test(x.stdout), 20_000, 250);
      assert.match(r.stdout, re, `${cli}:\n${r.stdout}\n${r.stderr}`);
    }
    const info: any = await dockerode(BLOCK.managerPort).info();
    const st = (info.SystemStatus as [string, string][]);
    const row = st.findIndex(([k, v]) => k.trim() === wrong || v === wrong);
    assert.ok(row >= 0, JSON.stringify(st));
    const status = st.slice(row + 1).find(([k]) => k.includes('Status'))?.[1];
    assert.notEqual(status, 'Healthy');
  });

  test('...and that error names the dialled address and the certificate\'s SANs', { timeout: 30_000 }, async () => {
    const re = wrongError(c.engines[WRONG]!.addr, 'certificate name mismatch: the engine was dialled as 127\\.0\\.0\\.1, ' +
      'but its certificate is valid for IP 10\\.9\\.9\\.9, DNS elsewhere');
    for (const [cli] of CLIS) {
      const r = await eventually(() => c.docker(['info'], { cli }), (x) => re.test(x.stdout), 10_000, 250);
      assert.match(r.stdout, re, `${cli}:\n${r.stdout}\n${r.stderr}`);
    }
  });

  test('...while the three good engines are Healthy behind the --tlsverify manager', { timeout: 60_000 }, async () => {
    const d = dockerode(BLOCK.managerPort);
    const info: any = await eventually(() => d.info(), (i: any) => GOOD.every((n) => nodeStatus(i, n) === 'Healthy'), 20_000, 250);
    for (const n of GOOD) assert.equal(nodeStatus(info, n), 'Healthy', `${n}: ${JSON.stringify(info.SystemStatus)}`);
  });

  test('a manager without TLS in front of TLS engines says so', { timeout: 60_000 }, async () => {
    const plain = await startManager({
      host: `127.0.0.1:${PLAIN_PORT}`, discovery: `nodes://${c.engines[0]!.addr}`, logFile: path.join(c.stateDir, 'manager-plain.log'),
    });
    extra.push(plain);
    const want = /└ Error: .*the engine serves TLS but the manager dials it in plain HTTP: start the manager with --tlsverify and its certificates/;
    const r = await eventually(() => c.docker(['info'], { host: plain.host, plain: true }), (x) => want.test(x.stdout), 20_000, 250);
    assert.match(r.stdout, want, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /Status: Healthy/);
  });

  clientMatrix('through the --tls manager (engines check the manager; it does not check them)', OPEN_PORT, 'o-');
  clientMatrix('through the --tlsverify manager (mutual TLS, engines checked)', BLOCK.managerPort, 'v-');
});
