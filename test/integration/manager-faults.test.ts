// The manager's own faults on real engines (issue 14): SIGTERM is graceful
// (no new connections, a `wait` in flight answered, `docker events` and
// `logs -f` ended cleanly, a hijacked exec given a FIN, exit 0 within the
// grace); a second signal exits at once; after SIGKILL a restarted manager
// rebuilds the same picture from the engines (state lives in engine labels).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { clusterBlock, dockerCommand, skipReason, withCluster, type DockerResult, type TestCluster } from '../lib/cluster.js';
import { eventually } from '../lib/wait.js';
import { SwarmProcs, type SwarmProc } from '../lib/swarmproc.js';
import { nodeStatus } from '../lib/observe.js';
import { raw } from '../lib/http.js';
import { SHUTDOWN_GRACE_MS } from '../../src/cli/manage.js';

// Block 10 is discovery-flows.test.ts's too: files run one at a time.
const B = clusterBlock(10); // slots 100-102, engines 24600-24602, manager 24650
const T = { timeout: 120_000 };

/** Names of the Healthy nodes the manager at addr lists ([] while it does not answer). */
async function healthyNodes(addr: string): Promise<string[]> {
  try {
    const info: any = await (await fetch(`http://${addr}/info`, { signal: AbortSignal.timeout(3000) })).json();
    const names = (info.SystemStatus as string[][]).filter(([k]) => /^ \S/.test(k)).map(([k]) => k.trim());
    return names.filter((n) => nodeStatus(info, n) === 'Healthy').sort();
  } catch {
    return [];
  }
}

/** Whether a new TCP connection to addr is refused. */
function refused(addr: string): Promise<boolean> {
  const [host, port] = addr.split(':');
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host!);
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

/** A docker CLI left running (events, logs -f): its output, and its end. */
function longCli(c: TestCluster, args: string[]): { out: () => string; done: Promise<DockerResult>; kill: () => void } {
  const { bin, env } = dockerCommand({ host: c.managerAddr }, c.dockerConfig);
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<DockerResult>((resolve) => child.on('close', (code, sig) => resolve({ code: code ?? (sig ? 128 : -1), stdout, stderr })));
  return { out: () => stdout, done, kill: () => { child.kill('SIGKILL'); } };
}

/** A raw hijacked `exec cat` (Upgrade: tcp): what it read, and how it ended ('end' = FIN, else the error). */
async function hijackedCat(addr: string, container: string): Promise<{ sock: net.Socket; data: () => string; ended: Promise<string> }> {
  const ex = await raw(addr, 'POST', `/containers/${container}/exec`, {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: ['cat'] }),
  });
  assert.equal(ex.status, 201, ex.body);
  const id = JSON.parse(ex.body).Id as string;
  const [host, port] = addr.split(':');
  const sock = net.connect(Number(port), host!);
  const body = JSON.stringify({ Detach: false, Tty: false });
  sock.write(`POST /v1.41/exec/${id}/start HTTP/1.1\r\nHost: ${addr}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  let data = '';
  sock.on('data', (d: Buffer) => (data += d.toString('latin1')));
  const ended = new Promise<string>((resolve) => {
    sock.once('end', () => resolve('end'));
    sock.once('error', (e) => resolve(`error: ${e.message}`));
  });
  const up = await eventually(async () => data, (d) => d.includes('101'), 10_000, 50);
  assert.match(up, /^HTTP\/1.1 101/, up);
  sock.write('ping-through-hijack\n');
  const echoed = await eventually(async () => data, (d) => d.includes('ping-through-hijack'), 10_000, 50);
  assert.match(echoed, /ping-through-hijack/);
  return { sock, data: () => data, ended };
}

/** What the manager shows of the cluster, without what changes by itself (times, uptimes). */
async function picture(addr: string): Promise<Record<string, unknown>> {
  const get = async (p: string): Promise<any> => {
    const r = await raw(addr, 'GET', p);
    assert.equal(r.status, 200, `${p}: ${r.body}`);
    return JSON.parse(r.body);
  };
  const containers = (await get('/containers/json?all=1') as any[])
    .map((x) => ({ Id: x.Id, Names: x.Names, Image: x.Image, State: x.State, Labels: x.Labels, Mounts: x.Mounts?.length }))
    .sort((a, b) => a.Id.localeCompare(b.Id));
  const info = await get('/info');
  const status = (info.SystemStatus as string[][]).filter(([k]) => !/UpdatedAt/.test(k));
  const images = (await get('/images/json') as any[]).map((i) => ({ Id: i.Id, RepoTags: [...(i.RepoTags ?? [])].sort() })).sort((a, b) => a.Id.localeCompare(b.Id));
  const networks = (await get('/networks') as any[]).map((n) => ({ Id: n.Id, Name: n.Name, Driver: n.Driver })).sort((a, b) => a.Id.localeCompare(b.Id));
  const volumes = ((await get('/volumes')).Volumes as any[] ?? []).map((v) => ({ Name: v.Name, Driver: v.Driver })).sort((a, b) => a.Name.localeCompare(b.Name));
  return {
    containers, images, networks, volumes, status,
    counts: { Containers: info.Containers, Running: info.ContainersRunning, Paused: info.ContainersPaused, Stopped: info.ContainersStopped, Images: info.Images, NCPU: info.NCPU, MemTotal: info.MemTotal },
  };
}

describe('the manager: SIGTERM is graceful, a second signal exits at once, SIGKILL + restart rebuilds everything', { skip: skipReason() }, () => {
  let c: TestCluster;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-mgr-faults-'));
  const procs = new SwarmProcs(path.join(dir, 'logs'));
  let discovery = '';
  const manage = async (): Promise<SwarmProc> => {
    const m = procs.start(['manage', '-H', `tcp://${c.managerAddr}`, discovery]);
    const seen = await eventually(() => healthyNodes(c.managerAddr), (n) => n.length === 3, 30_000);
    assert.deepEqual(seen, ['node-0', 'node-1', 'node-2'], SwarmProcs.tail(m));
    return m;
  };
  const exited = (m: SwarmProc): Promise<{ code: number | null; signal: string | null }> =>
    m.proc.exitCode !== null || m.proc.signalCode !== null
      ? Promise.resolve({ code: m.proc.exitCode, signal: m.proc.signalCode })
      : new Promise((r) => m.proc.once('exit', (code, signal) => r({ code, signal })));

  before(async () => {
    c = await withCluster({ ...B, nodes: 3, manager: false });
    discovery = `nodes://${c.engines.map((e) => e.addr).join(',')}`;
  }, { timeout: 180_000 });
  after(async () => {
    await procs.killAll();
    await c?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, { timeout: 120_000 });

  test('SIGTERM: refuses new connections at once, answers the wait in flight, ends events / logs -f / a hijack cleanly, exits 0 within the grace', T, async () => {
    const m = await manage();
    const lf = await c.docker(['run', '-d', '--name', 'lf', 'busybox', 'sh', '-c', 'echo hello-from-lf; sleep 600']);
    assert.equal(lf.code, 0, lf.stderr);
    const events = longCli(c, ['events', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    const logs = longCli(c, ['logs', '-f', 'lf']);
    await eventually(async () => logs.out(), (o) => o.includes('hello-from-lf'), 10_000, 100);
    const hj = await hijackedCat(c.managerAddr, 'lf');
    // A container that exits about 3 s after it starts, and a wait on it in flight.
    const quick = await c.docker(['run', '-d', '--name', 'quick', 'busybox', 'sleep', '3']);
    assert.equal(quick.code, 0, quick.stderr);
    const seen = await eventually(async () => events.out(), (o) => /start quick/.test(o), 10_000, 100);
    assert.match(seen, /start quick/, 'docker events saw the start');
    const wait = await fetch(`http://${c.managerAddr}/containers/quick/wait`, { method: 'POST' });
    assert.equal(wait.status, 200); // headers come at once (hold()); the body when the container exits
    let waited = false;
    const waitBody = wait.text().then((t) => { waited = true; return t; });

    const t0 = Date.now();
    m.proc.kill('SIGTERM');
    const end = exited(m);
    const nowRefused = await eventually(() => refused(c.managerAddr), (r) => r, 2_000, 20);
    assert.equal(nowRefused, true, 'new connections refused after SIGTERM');
    assert.equal(waited, false, 'the wait was still in flight when new connections were refused');

    const ev = await events.done;
    assert.equal(ev.code, 0, `docker events ended cleanly: ${ev.stderr}`);
    const lg = await logs.done;
    assert.equal(lg.code, 0, `logs -f ended cleanly: ${lg.stderr}`);
    assert.match(lg.stdout, /hello-from-lf/);
    assert.equal(await hj.ended, 'end', 'the hijacked exec got a FIN');
    hj.sock.destroy();

    const body = JSON.parse(await waitBody);
    assert.equal(body.StatusCode, 0, 'the wait in flight was answered');
    const { code, signal } = await end;
    const took = Date.now() - t0;
    assert.equal(signal, null);
    assert.equal(code, 0, SwarmProcs.tail(m));
    // The contract, not a speed: gone within the grace (plus slack for a loaded machine).
    assert.ok(took < SHUTDOWN_GRACE_MS + 2_000, `exited after ${took} ms`);
    const logText = fs.readFileSync(m.logFile, 'utf8');
    assert.match(logText, /shutting down signal=SIGTERM/);
    console.log(`# SIGTERM: refused new connections at once; wait answered; exit 0 after ${took} ms`);
  });

  test('a second signal exits at once, cutting what is still in flight', T, async () => {
    const m = await manage();
    const slow = await c.docker(['run', '-d', '--name', 'slow', 'busybox', 'sleep', '600']);
    assert.equal(slow.code, 0, slow.stderr);
    const wait = await fetch(`http://${c.managerAddr}/containers/slow/wait`, { method: 'POST' });
    assert.equal(wait.status, 200);
    const waitBody = wait.text().then(() => 'answered', (e: Error) => `cut: ${e.message}`);
    const end = exited(m);
    m.proc.kill('SIGTERM');
    await eventually(() => refused(c.managerAddr), (r) => r, 2_000, 20);
    const t0 = Date.now();
    m.proc.kill('SIGTERM');
    const { code } = await end;
    const took = Date.now() - t0;
    assert.equal(code, 143, SwarmProcs.tail(m));
    assert.match(await waitBody, /^cut/);
    assert.ok(took < 3_000, `exited ${took} ms after the second signal`);
    assert.match(fs.readFileSync(m.logFile, 'utf8'), /second signal: exiting now/);
  });

  test('SIGKILL and a restart: ps -a, info counts, images, networks and volumes are as before', T, async () => {
    const m = await manage();
    const setup = [
      ['run', '-d', '--name', 'pinned', '-e', 'constraint:node==node-2', '--label', 'team=blue', 'busybox', 'sleep', '600'],
      ['create', '--name', 'made', '-l', 'tier=back', 'busybox', 'true'],
      ['network', 'create', 'faultnet'],
      ['volume', 'create', 'faultvol'],
      ['run', '-d', '--name', 'withvol', '-v', 'faultvol:/data', '--net', 'faultnet', 'busybox', 'sleep', '600'],
      ['stop', '-t', '0', 'slow'],
    ];
    for (const a of setup) {
      const r = await c.docker(a);
      assert.equal(r.code, 0, `${a.join(' ')}: ${r.stderr}`);
    }
    const before = await picture(c.managerAddr);
    const pinned = (before.containers as any[]).find((x) => x.Names.includes('/node-2/pinned'));
    assert.ok(pinned, JSON.stringify(before.containers));
    assert.ok(pinned.Labels['com.docker.swarm.id'], 'pinned carries its Swarm ID');
    assert.match(pinned.Labels['com.docker.swarm.constraints'] ?? '', /node==node-2/);
    assert.equal(pinned.Labels.team, 'blue');

    await m.kill();
    await manage();
    const afterKill = await eventually(() => picture(c.managerAddr), (p) => JSON.stringify(p) === JSON.stringify(before), 20_000, 500);
    assert.deepEqual(afterKill, before);
    // And it acts on what it found: the pinned container is still placed by its label.
    const ps = await c.docker(['ps', '-a', '--filter', 'name=pinned', '--format', '{{.Names}} {{.State}}']);
    assert.equal(ps.stdout.trim(), 'node-2/pinned running');
    const rm = await c.docker(['rm', '-f', 'pinned', 'made', 'withvol', 'slow', 'quick', 'lf']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await c.docker(['network', 'rm', 'faultnet'])).code, 0);
    assert.equal((await c.docker(['volume', 'rm', 'faultvol'])).code, 0);
  });
});
