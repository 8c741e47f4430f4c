// Concurrent creates through the manager never double-book: a host port, a
// container name, memory, or a container slot; a failed create gives its
// reservation back. All requests are started at once (one docker CLI each).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { apiJson } from '../../src/devcluster/util.js';
import { clusterBlock, skipReason, withCluster, type DockerResult, type TestCluster } from '../lib/cluster.js';
import { removeAllContainers } from '../lib/wait.js';

const BLOCK = clusterBlock(6); // slots 60-62, engines 24200-24202, manager 24250
const T = { timeout: 150_000 };
const PORT_MESSAGE = 'Unable to find a node that satisfies the following conditions \n[port 8080 (Bridge mode)]';
const NO_RESOURCES = 'no resources available to schedule container';
const SLOTS = 4; // containerslots on every engine

describe('scheduler races on 3 real engines', { skip: skipReason() }, () => {
  let c: TestCluster;

  before(async () => {
    const t0 = Date.now();
    c = await withCluster({ ...BLOCK, nodes: 3, labels: () => ({ containerslots: String(SLOTS) }) });
    console.log(`# cluster up in ${Date.now() - t0}ms`);
  });
  after(async () => {
    await c?.stop();
  });

  /** Run n docker commands at once; results in order. */
  async function all(n: number, args: (i: number) => string[]): Promise<DockerResult[]> {
    const t0 = Date.now();
    const out = await Promise.all(Array.from({ length: n }, (_, i) => c.docker(args(i), { timeoutMs: 120_000 })));
    console.log(`# ${n} x docker ${args(0).slice(0, 2).join(' ')}...: ${Date.now() - t0}ms`);
    return out;
  }

  async function nodesOf(ids: string[]): Promise<string[]> {
    const r = await c.docker(['inspect', '-f', '{{.Node.Name}}', ...ids]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n');
  }

  function split(results: DockerResult[]): { ok: string[]; failed: DockerResult[] } {
    return {
      ok: results.filter((r) => r.code === 0).map((r) => r.stdout.trim()),
      failed: results.filter((r) => r.code !== 0),
    };
  }

  const rmAll = (): Promise<void> => removeAllContainers(c);

  /** What the engines themselves hold (not the manager's view). */
  async function engineCounts(): Promise<number[]> {
    return Promise.all(c.engines.map(async (e) => (await apiJson<unknown[]>(e.addr, 'GET', '/containers/json?all=1')).length));
  }

  test('30 concurrent docker run -d -p 8080:80: exactly 3 succeed, on 3 nodes', T, async () => {
    await rmAll();
    const res = await all(30, () => ['run', '-d', '-p', '8080:80', 'busybox', 'sleep', '300']);
    const { ok, failed } = split(res);
    assert.equal(ok.length, 3, `successes: ${ok.length}\n${failed.map((f) => f.stderr).join('')}`);
    assert.deepEqual((await nodesOf(ok)).sort(), ['node-0', 'node-1', 'node-2']);
    assert.equal(failed.length, 27);
    for (const f of failed) assert.ok(f.stderr.includes(PORT_MESSAGE), f.stderr);
    // Nothing extra reached an engine, and the three really run.
    assert.deepEqual(await engineCounts(), [1, 1, 1]);
    const running = await c.docker(['ps', '-q', '--filter', 'status=running']);
    assert.equal(running.stdout.trim().split('\n').length, 3);
  });

  test('30 simultaneous raw API creates publishing one port: exactly 3 get 201', T, async () => {
    await rmAll();
    const body = JSON.stringify({
      Image: 'busybox',
      ExposedPorts: { '80/tcp': {} },
      HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8082' }] } },
    });
    const res = await Promise.all(Array.from({ length: 30 }, async () => {
      const r = await fetch(`http://${c.managerAddr}/v1.41/containers/create`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body,
      });
      return { status: r.status, json: (await r.json()) as { Id?: string; message?: string } };
    }));
    const created = res.filter((r) => r.status === 201);
    assert.equal(created.length, 3, JSON.stringify(res.filter((r) => r.status !== 201 && r.status !== 500)));
    assert.deepEqual((await nodesOf(created.map((r) => r.json.Id!))).sort(), ['node-0', 'node-1', 'node-2']);
    for (const r of res.filter((x) => x.status !== 201)) {
      assert.equal(r.status, 500);
      assert.equal(r.json.message, PORT_MESSAGE.replace('8080', '8082'));
    }
    assert.deepEqual(await engineCounts(), [1, 1, 1]);
  });

  test('20 concurrent docker run -d --name same: exactly 1 succeeds', T, async () => {
    await rmAll();
    const res = await all(20, () => ['run', '-d', '--name', 'same', 'busybox', 'sleep', '300']);
    const { ok, failed } = split(res);
    assert.equal(ok.length, 1, `successes: ${ok.length}\n${failed.map((f) => f.stderr).join('')}`);
    assert.equal(failed.length, 19);
    for (const f of failed) assert.match(f.stderr, /Conflict\. The container name "\/same" is already in use/);
    const counts = await engineCounts();
    assert.equal(counts.reduce((a, b) => a + b, 0), 1, `engines hold ${counts}`);
    const insp = await c.docker(['inspect', '-f', '{{.Id}} {{.State.Running}}', 'same']);
    assert.equal(insp.stdout.trim(), `${ok[0]} true`);
  });

  test('15 concurrent creates with -m that fits twice per node: exactly 6 succeed, 2 per node', T, async () => {
    await rmAll();
    const infos = await Promise.all(c.engines.map((e) => apiJson<{ MemTotal: number }>(e.addr, 'GET', '/info')));
    const mib = Math.floor((Math.min(...infos.map((i) => i.MemTotal * 1.05)) * 0.45) / 2 ** 20);
    const res = await all(15, () => ['create', '-m', `${mib}m`, 'busybox']);
    const { ok, failed } = split(res);
    assert.equal(ok.length, 6, `successes: ${ok.length}\n${failed.map((f) => f.stderr).join('')}`);
    assert.deepEqual((await nodesOf(ok)).sort(), ['node-0', 'node-0', 'node-1', 'node-1', 'node-2', 'node-2']);
    for (const f of failed) assert.ok(f.stderr.includes(NO_RESOURCES), f.stderr);
    assert.deepEqual(await engineCounts(), [2, 2, 2]);
    const info = (await c.docker(['info'])).stdout;
    const reserved = [...info.matchAll(/└ Reserved Memory: (\S+ \S+) \//g)].map((m) => m[1]);
    assert.equal(reserved.length, 3, info);
    for (const r of reserved) assert.equal(r, `${Number(((2 * mib) / 1024).toPrecision(4))} GiB`, info);
  });

  test(`20 concurrent creates against containerslots=${SLOTS}: exactly ${3 * SLOTS} succeed`, T, async () => {
    await rmAll();
    const res = await all(20, () => ['create', 'busybox']);
    const { ok, failed } = split(res);
    assert.equal(ok.length, 3 * SLOTS, `successes: ${ok.length}\n${failed.map((f) => f.stderr).join('')}`);
    for (const f of failed) {
      assert.ok(f.stderr.includes('Unable to find a node that satisfies the following conditions \n[available container slots]'), f.stderr);
    }
    assert.deepEqual(await engineCounts(), [SLOTS, SLOTS, SLOTS]);
  });

  test('concurrent creates the engines refuse give back their port and name reservations', T, async () => {
    await rmAll();
    // The scheduler reserves port 8081 and the name; dockerd then refuses -m below 6MB.
    const bad = await all(9, (i) => ['create', '--name', `rel-${i % 3}`, '-p', '8081:80', '-m', '1k', 'busybox']);
    for (const r of bad) {
      assert.notEqual(r.code, 0);
      assert.ok(
        /Minimum memory limit allowed is 6MB|port 8081 \(Bridge mode\)|Conflict\. The container name/.test(r.stderr),
        r.stderr,
      );
    }
    assert.ok(bad.some((r) => r.stderr.includes('Minimum memory limit allowed is 6MB')));
    assert.deepEqual(await engineCounts(), [0, 0, 0]);
    const good = await all(3, (i) => ['create', '--name', `rel-${i}`, '-p', '8081:80', 'busybox']);
    const { ok, failed } = split(good);
    assert.equal(ok.length, 3, failed.map((f) => f.stderr).join(''));
    assert.deepEqual((await nodesOf(ok)).sort(), ['node-0', 'node-1', 'node-2']);
  });
});
