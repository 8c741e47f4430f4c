// The local cluster tool itself: real engines with distinct identities,
// offline busybox, per-engine publish IPs, crash/restart, and a clean stop.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { api, apiJson, isAlive, linkExists, pingOk, sleep } from '../../src/devcluster/util.js';
import { managerMainJs, startManager } from '../../src/devcluster/manager.js';
import { parseLabels } from '../../src/devcluster/index.js';
import { clusterBlock, runDocker, skipReason, withCluster, type TestCluster } from '../lib/cluster.js';

const BLOCK = clusterBlock(2); // slots 20-22, ports 23800-23802, manager 23850
const T = { timeout: 120_000 };

interface Info {
  ID: string;
  Name: string;
  Labels: string[];
  DockerRootDir: string;
}

describe('parseLabels', () => {
  test('all-node and per-node labels', () => {
    const got = parseLabels(['zone=a', 'node-1:disk=ssd', 'url=http://x:1'], ['node-0', 'node-1']);
    assert.deepEqual(got, [
      { zone: 'a', url: 'http://x:1' },
      { zone: 'a', disk: 'ssd', url: 'http://x:1' },
    ]);
    assert.throws(() => parseLabels(['node-7:zone=a'], ['node-0']), /no node named node-7/);
    assert.throws(() => parseLabels(['novalue'], ['node-0']), /bad label/);
  });
});

describe('dev cluster engines', { skip: skipReason() }, () => {
  let c: TestCluster;
  let startMs = 0;

  before(async () => {
    const t0 = Date.now();
    c = await withCluster({
      ...BLOCK,
      nodes: 3,
      manager: false,
      labels: (i) => ({ zone: `z${i}`, ...(i === 1 ? { disk: 'ssd' } : {}) }),
    });
    startMs = Date.now() - t0;
  });
  after(async () => {
    await c?.stop();
  });

  test('each engine has its own hostname, engine ID, data root and labels', T, async () => {
    const infos = await Promise.all(c.engines.map((e) => apiJson<Info>(e.addr, 'GET', '/info')));
    assert.deepEqual(infos.map((i) => i.Name), ['node-0', 'node-1', 'node-2']);
    assert.equal(new Set(infos.map((i) => i.ID)).size, 3, `engine IDs not distinct: ${infos.map((i) => i.ID)}`);
    assert.equal(new Set(infos.map((i) => i.DockerRootDir)).size, 3);
    assert.deepEqual(infos[0]!.Labels, ['zone=z0']);
    assert.deepEqual([...infos[1]!.Labels].sort(), ['disk=ssd', 'zone=z1']);
    assert.deepEqual(c.engines.map((e) => e.addr), ['127.0.0.1:23800', '127.0.0.1:23801', '127.0.0.1:23802']);
    // Not a test of speed, but the number is worth seeing in the output.
    console.log(`# 3 engines up (with busybox) in ${startMs}ms`);
  });

  test('busybox runs on every engine with the 20.10 CLI; default CMD is sh', T, async () => {
    for (const e of c.engines) {
      const r = await runDocker(['run', '--rm', 'busybox', 'echo', 'hi'], { cli: 'old', host: e.addr });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'hi\n');
    }
    const img = await apiJson<{ Config: { Cmd: string[] } }>(c.engines[0]!.addr, 'GET', '/images/busybox:latest/json');
    assert.deepEqual(img.Config.Cmd, ['sh']);
    // No command: runs sh, which exits at once on empty stdin.
    const r = await runDocker(['run', '--rm', 'busybox'], { cli: 'old', host: c.engines[0]!.addr });
    assert.equal(r.code, 0, r.stderr);
  });

  test('the 28 CLI talks to an engine too', T, async () => {
    const r = await runDocker(['info', '--format', '{{.Name}}'], { cli: 'new', host: c.engines[2]!.addr });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'node-2');
  });

  test('the same host port publishes on each engine\'s own IP', T, async () => {
    for (const e of c.engines.slice(0, 2)) {
      const r = await runDocker(['run', '-d', '--name', 'web', '-p', '8080:80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'], {
        cli: 'old',
        host: e.addr,
      });
      assert.equal(r.code, 0, r.stderr);
    }
    for (const e of c.engines.slice(0, 2)) {
      let body = '';
      for (let i = 0; i < 50 && !body.includes('root:'); i++) {
        body = await api(`${e.publishIp}:8080`, 'GET', '/passwd', { timeoutMs: 2000 }).then((r) => r.body, () => '');
        if (!body.includes('root:')) await sleep(100);
      }
      assert.match(body, /^root:/, `no answer from ${e.publishIp}:8080 (${e.name})`);
    }
  });

  test('a killed engine comes back with the same ID and containers; a paused one hangs', T, async () => {
    const e = c.engines[2]!;
    const before = await apiJson<Info>(e.addr, 'GET', '/info');
    const run = await runDocker(['run', '-d', '--name', 'keeper', '--restart', 'always', '--stop-timeout', '1', 'busybox', 'sleep', '600'], { cli: 'old', host: e.addr });
    assert.equal(run.code, 0, run.stderr);
    const oldPid = e.pid;
    await c.set.stopEngine(2, { kill: true });
    assert.equal(isAlive(oldPid), false);
    assert.equal(await pingOk(e.addr, 500), false);
    await c.set.restartEngine(2);
    assert.notEqual(e.pid, oldPid);
    const after = await apiJson<Info>(e.addr, 'GET', '/info');
    assert.equal(after.ID, before.ID);
    assert.equal(after.Name, 'node-2');
    // Without live-restore dockerd kills what it finds running; the restart policy brings it back.
    let running = false;
    for (let i = 0; i < 50 && !running; i++) {
      running = (await apiJson<{ State: { Running: boolean } }>(e.addr, 'GET', '/containers/keeper/json')).State.Running;
      if (!running) await sleep(200);
    }
    assert.equal(running, true, 'keeper (restart=always) running again after the crash');

    c.set.pauseEngine(1);
    try {
      assert.equal(await pingOk(c.engines[1]!.addr, 500), false);
    } finally {
      c.set.resumeEngine(1);
    }
    assert.equal(await pingOk(c.engines[1]!.addr, 5000), true);
  });

  test('startManager spawns `swarm manage` and waits for /_ping', {
    ...T,
    skip: fs.existsSync(managerMainJs()) ? false : 'dist/src/cli/main.js not built yet',
  }, async () => {
    const m = await startManager({
      host: `127.0.0.1:${BLOCK.managerPort}`,
      discovery: `nodes://${c.engines.map((e) => e.addr).join(',')}`,
      logFile: path.join(c.stateDir, 'manager-test.log'),
    });
    try {
      assert.equal(await pingOk(`127.0.0.1:${BLOCK.managerPort}`), true);
    } finally {
      await m.stop();
    }
    assert.equal(isAlive(m.pid), false);
  });

  test('stop removes containers, daemons, bridges and the state dir', T, async () => {
    const pids: number[] = [];
    for (const e of c.engines) {
      pids.push(e.pid);
      const cd = Number(fs.readFileSync(path.join(e.dir, 'exec', 'containerd', 'containerd.pid'), 'utf8'));
      if (cd > 0) pids.push(cd);
    }
    assert.ok(pids.every(isAlive), 'all dockerd and containerd processes alive before stop');
    const t0 = Date.now();
    await c.stop();
    console.log(`# stop took ${Date.now() - t0}ms`);
    for (const p of pids) assert.equal(isAlive(p), false, `pid ${p} still alive`);
    for (const e of c.engines) {
      assert.equal(await linkExists(e.bridge), false, `${e.bridge} left behind`);
      assert.equal(await pingOk(e.addr, 500), false);
    }
    assert.equal(fs.existsSync(c.stateDir), false, `${c.stateDir} left behind`);
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    assert.equal(mounts.includes(c.stateDir), false, 'mounts left behind');
  });
});
