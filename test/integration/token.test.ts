// token:// end to end through the real CLI (no Docker engines): `swarm
// token-server` as its own process, `swarm create` against it, the token://
// backend watching registrations, and `kill -9` of the token server in the
// middle of a stream of registrations: after a restart on the same data dir,
// every registration it acknowledged is there. Then `swarm manage
// --token-server` with simulated engines joining through its embedded service.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createDiscovery, type Discovery } from '../../src/discovery/index.js';
import { startSimulator, type Simulator } from '../../bench/simulator.js';

// compiled to dist/test/integration/: the CLI is dist/src/cli/main.js
const MAIN = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
const PORT = 23541;
const URL_ = `http://127.0.0.1:${PORT}`;
const EMBEDDED = 23542; // the manager's token service
const MANAGER = 23546; // the manager's API

const root = mkdtempSync(path.join(tmpdir(), 'swarm-token-it-'));
const dataDir = path.join(root, 'data');
const children = new Set<ChildProcess>();
const sims: Simulator[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const s of sims) await s.stop();
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < end) { await sleep(50); v = await fn(); }
  return v;
}

/** Start a `swarm` process that serves HTTP; resolves once `ready` answers 200. */
async function daemon(args: string[], ready: string): Promise<{ proc: ChildProcess; stderr: () => string }> {
  const proc = spawn(process.execPath, [MAIN, ...args], { env: envWithout('SWARM_TOKEN_URL', 'SWARM_DISCOVERY'), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  proc.stdout!.resume();
  const up = await until(async () => {
    if (proc.exitCode !== null) return false;
    try { return (await fetch(ready)).status === 200; } catch { return false; }
  }, (ok) => ok || proc.exitCode !== null);
  assert.ok(up, `swarm ${args.join(' ')} did not come up: ${err}`);
  return { proc, stderr: () => err };
}

const tokenServer = (): Promise<{ proc: ChildProcess; stderr: () => string }> =>
  daemon(['token-server', '--addr', `127.0.0.1:${PORT}`, '--data-dir', dataDir], `${URL_}/_ping`);

/** Run `swarm <args>` to completion. */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function envWithout(...keys: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of keys) delete env[k];
  return env;
}

async function list(token: string): Promise<string[]> {
  const res = await fetch(`${URL_}/v1/clusters/${token}`);
  assert.equal(res.status, 200);
  return (await res.json()) as string[];
}

test('swarm create, token:// watch, and kill -9 of the token server mid-stream', { timeout: 90_000 }, async (t) => {
  let ts = await tokenServer();

  // swarm create: the token alone on stdout
  const created = await run(['create'], { ...process.env, SWARM_TOKEN_URL: URL_ });
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^[0-9a-f]{32}\n$/);
  const token = created.stdout.trim();
  const viaOpt = await run(['c', '--discovery-opt', `token.url=${URL_}`], envWithout('SWARM_TOKEN_URL'));
  assert.equal(viaOpt.code, 0, viaOpt.stderr);
  assert.match(viaOpt.stdout, /^[0-9a-f]{32}\n$/);
  assert.notEqual(viaOpt.stdout.trim(), token);
  // no service named, or none there: exit 1 and say why
  const unnamed = await run(['create'], envWithout('SWARM_TOKEN_URL'));
  assert.equal(unnamed.code, 1);
  assert.equal(unnamed.stdout, '');
  assert.match(unnamed.stderr, /--discovery-opt token\.url=.*SWARM_TOKEN_URL/);
  const unreachable = await run(['create'], { ...process.env, SWARM_TOKEN_URL: 'http://127.0.0.1:1' });
  assert.equal(unreachable.code, 1);
  assert.equal(unreachable.stdout, '');
  assert.match(unreachable.stderr, /token service unreachable: POST http:\/\/127\.0\.0\.1:1\/v1\/clusters: .*ECONNREFUSED/);

  // the token:// backend, as the manager builds it
  const d: Discovery = createDiscovery(`token://${token}`, { heartbeatMs: 1000, opts: new Map([['token.url', URL_]]) });
  const seen: string[][] = [];
  const errors: Error[] = [];
  const stop = d.watch((a) => seen.push(a), (e) => errors.push(e));
  try {
    await d.register!('10.0.0.1:2375', 60_000);
    await d.register!('10.0.0.2:2375', 60_000);
    const two = await until(() => seen.at(-1) ?? [], (l) => l.length === 2);
    assert.deepEqual([...two].sort(), ['10.0.0.1:2375', '10.0.0.2:2375']);

    // a stream of registrations, 16 at a time; SIGKILL once 150 are acknowledged
    const acked = new Set<string>(['10.0.0.1:2375', '10.0.0.2:2375']);
    let refused = 0;
    let next = 0;
    let down = false;
    const worker = async (): Promise<void> => {
      while (!down) {
        const i = next++;
        const addr = `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}:2375`;
        try {
          await d.register!(addr, 600_000);
          acked.add(addr);
        } catch {
          refused++;
          return;
        }
      }
    };
    const workers = Array.from({ length: 16 }, () => worker());
    await until(() => acked.size, (n) => n >= 152, 30_000);
    ts.proc.kill('SIGKILL');
    down = true;
    await Promise.all(workers);
    await until(() => ts.proc.exitCode !== null || ts.proc.signalCode !== null, (b) => b);
    assert.equal(ts.proc.signalCode, 'SIGKILL');
    assert.ok(acked.size >= 152, `acknowledged: ${acked.size}`);
    const before = seen.length;

    // the watcher reports the outage and keeps its list
    await until(() => errors.length, (n) => n >= 1, 5000);
    assert.match(errors[0].message, /token service unreachable/);
    await sleep(1200);
    assert.ok(seen.slice(before).every((l) => l.length > 0), 'no empty list during the outage');

    // restart on the same data dir: nothing acknowledged is lost
    ts = await tokenServer();
    const kept = new Set(await list(token));
    const lost = [...acked].filter((a) => !kept.has(a));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.size} acknowledged registrations lost (${refused} requests cut by the kill)`);
    t.diagnostic(`kill -9 with ${acked.size} registrations acknowledged and ${refused} in flight; ${kept.size} listed after the restart`);
    // ...and the watcher catches up with it
    const caught = await until(() => seen.at(-1) ?? [], (l) => l.length === kept.size);
    assert.equal(caught.length, kept.size);
  } finally {
    stop();
    ts.proc.kill('SIGTERM');
    await until(() => ts.proc.exitCode !== null, (b) => b, 10_000);
    assert.equal(ts.proc.exitCode, 0, 'SIGTERM: a clean exit');
  }
});

test('swarm manage --token-server: engines join through the embedded token service', { timeout: 60_000 }, async () => {
  sims.push(await startSimulator({ port: 0, name: 'sim-tok1', containers: 2 }));
  sims.push(await startSimulator({ port: 0, name: 'sim-tok2', containers: 3 }));
  const mgr = await daemon([
    'manage', `--token-server=127.0.0.1:${EMBEDDED}`, '--token-server-data-dir', path.join(root, 'embedded'),
    '-H', `tcp://127.0.0.1:${MANAGER}`, '--heartbeat', '1s', 'token://quickstart',
  ], `http://127.0.0.1:${MANAGER}/_ping`);
  try {
    // what `swarm join --discovery-opt token.url=... token://quickstart` does
    const joiner = createDiscovery('token://quickstart', { heartbeatMs: 1000, opts: new Map([['token.url', `http://127.0.0.1:${EMBEDDED}`]]) });
    for (const s of sims) await joiner.register!(s.addr, 60_000);
    const info = async (): Promise<any> => (await fetch(`http://127.0.0.1:${MANAGER}/info`)).json();
    const both = await until(info, (i) => i.Containers === 5);
    assert.equal(both.Containers, 5, mgr.stderr());
  } finally {
    mgr.proc.kill('SIGTERM');
    await until(() => mgr.proc.exitCode !== null, (b) => b, 10_000);
  }
  assert.equal(await fetch(`http://127.0.0.1:${EMBEDDED}/_ping`).then(() => 'up', () => 'down'), 'down');
});
