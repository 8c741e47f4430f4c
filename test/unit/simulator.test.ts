// The bench's engine simulator answers every call the manager's Engine makes:
// connect (info, version), full load (list, inspect, images, networks,
// volumes), events, and the create/start/remove round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, startSimulators } from '../../bench/simulator.js';
import { Engine } from '../../src/cluster/engine.js';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('simulator speaks the manager\'s subset of the Engine API', async () => {
  const sim = await startSimulator({ port: 0, name: 'sim-t', containers: 9, ncpu: 2, memTotal: 2 ** 31, labels: { zone: 'a' } });
  const get = async (path: string): Promise<any> => {
    const r = await fetch(`http://${sim.addr}${path}`);
    assert.equal(r.status, 200, path);
    return r.json();
  };
  const engine = new Engine(sim.addr, { refreshMinMs: 60_000, refreshMaxMs: 60_000, failureRetry: 3, overcommit: 0.05 });
  try {
    assert.equal(await (await fetch(`http://${sim.addr}/_ping`)).text(), 'OK');
    const v = await get('/v1.41/version');
    assert.deepEqual([v.ApiVersion, v.MinAPIVersion, v.Version], ['1.41', '1.12', '20.10.24']);
    const info = await get('/info');
    assert.equal(info.ID, sim.id);
    assert.deepEqual([info.Name, info.NCPU, info.MemTotal, info.Labels], ['sim-t', 2, 2 ** 31, ['zone=a']]);
    const list = await get('/v1.41/containers/json?all=1');
    assert.equal(list.length, 9);
    assert.equal((await get('/containers/json')).length, 6, 'running only without all=1');
    const size = JSON.stringify(list[0]).length;
    assert.ok(size > 600 && size < 2000, `summary is ~1KB (${size})`);
    for (const k of ['Id', 'Names', 'Image', 'ImageID', 'Command', 'Created', 'Ports', 'Labels', 'State', 'Status', 'HostConfig', 'NetworkSettings', 'Mounts']) assert.ok(k in list[0], k);
    const one = await get(`/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ id: [list[3].Id.slice(0, 12)] }))}`);
    assert.deepEqual(one.map((c: any) => c.Id), [list[3].Id]);
    const insp = await get(`/v1.41/containers/${list[0].Id}/json`);
    for (const k of ['State', 'HostConfig', 'Config', 'NetworkSettings', 'Mounts', 'GraphDriver']) assert.ok(k in insp, k);
    assert.equal((await fetch(`http://${sim.addr}/containers/nope/json`)).status, 404);
    for (const p of ['/images/json', '/networks', '/volumes']) await get(p);

    // The manager's engine: connects, caches every container, follows events.
    engine.start();
    await until(() => engine.healthy);
    assert.equal(engine.containers.size, 9);
    assert.equal(engine.name, 'sim-t');
    assert.equal(engine.labels.zone, 'a');
    // Healthy once listed; reservations follow from the background inspects.
    await until(() => engine.inspectsPending === 0);
    assert.ok(engine.reservedMemory > 0, 'reservations read from inspect');
    await until(() => sim.listeners() === 1);

    const created = await fetch(`http://${sim.addr}/v1.41/containers/create?name=web1`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: { Memory: 1 << 20 } }),
    });
    assert.equal(created.status, 201);
    const { Id } = await created.json() as { Id: string };
    await until(() => engine.containers.get(Id)?.summary.State === 'created');
    assert.equal((await fetch(`http://${sim.addr}/containers/${Id}/start`, { method: 'POST' })).status, 204);
    await until(() => engine.containers.get(Id)?.summary.State === 'running');
    assert.equal((await fetch(`http://${sim.addr}/containers/web1?force=1`, { method: 'DELETE' })).status, 204);
    await until(() => !engine.containers.has(Id));
  } finally {
    await engine.stop();
    await sim.stop();
  }
});

test('a change made while the engine is first loading is not lost', async () => {
  // A container started once the event stream was asked for (the list may
  // or may not have been read yet) must reach the cache through events or
  // the list; inspects are slow, so the background part of the load is still running.
  const sim = await startSimulator({ port: 0, name: 'sim-slow', containers: 3, inspectDelayMs: 100 });
  const engine = new Engine(sim.addr, { refreshMinMs: 3_600_000, refreshMaxMs: 3_600_000, failureRetry: 3, overcommit: 0.05 });
  try {
    const stopped = sim.ids().find((id) => sim.state(id) === 'exited')!;
    engine.start();
    await until(() => (sim.counts.get('GET /events') ?? 0) > 0);
    assert.ok(sim.startContainer(stopped));
    await until(() => engine.healthy);
    await until(() => engine.containers.get(stopped)?.summary.State === 'running', 3000);
  } finally {
    await engine.stop();
    await sim.stop();
  }
});

test('startSimulators numbers names from `first` (a simulator host split over processes keeps global names)', async () => {
  const [sim] = await startSimulators(1, 0, { containers: 2, prefix: 'sim-', first: 1000 });
  try {
    assert.equal(sim.name, 'sim-1000');
    const list = await (await fetch(`http://${sim.addr}/containers/json?all=1`)).json() as Array<{ Names: string[] }>;
    assert.deepEqual(list.map((c) => c.Names[0]).sort(), ['/sim-1000-c0', '/sim-1000-c1']);
  } finally {
    await sim.stop();
  }
});

test('simulator holds POST /containers/{id}/wait until the exit, as dockerd (docker run -d sends one)', async () => {
  const sim = await startSimulator({ port: 0, name: 'sim-w', containers: 0 });
  const post = (p: string, body?: unknown): Promise<Response> => fetch(`http://${sim.addr}${p}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  try {
    const { Id } = await (await post('/v1.41/containers/create?name=w1', { Image: 'busybox', Cmd: ['top'] })).json() as { Id: string };
    const stopped = await post(`/v1.41/containers/${Id}/wait`);
    assert.deepEqual(await stopped.json(), { Error: null, StatusCode: 0 }, 'not running: answered at once');
    const held = await post(`/v1.41/containers/${Id}/wait?condition=next-exit`);
    assert.equal(held.status, 200, 'headers sent at once');
    assert.equal((await post(`/v1.41/containers/${Id}/start`)).status, 204);
    const body = held.json();
    assert.ok(sim.stopContainer(Id));
    assert.deepEqual(await body, { Error: null, StatusCode: 143 });
  } finally {
    await sim.stop();
  }
});

test('an engine\'s kept placement snapshot follows every change it shows', async () => {
  const sim = await startSimulator({ port: 0, name: 'sim-snap', containers: 3 });
  const engine = new Engine(sim.addr, { refreshMinMs: 3_600_000, refreshMaxMs: 3_600_000, failureRetry: 1, overcommit: 0.05, probeIntervalMs: () => 50 });
  // The kept one must always be what a snapshot built now would be.
  const same = (when: string): void => {
    const kept = engine.snapshot([]);
    const fresh = engine.freshSnapshot();
    assert.deepEqual(kept, fresh, when);
    // The lists are the engine's current ones, not equal copies of old ones.
    for (const k of ['containers', 'images', 'networks', 'labels'] as const) assert.equal(kept[k], fresh[k], `${when}: ${k}`);
  };
  const post = (p: string, body?: unknown): Promise<Response> => fetch(`http://${sim.addr}${p}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  try {
    same('pending');
    engine.start();
    await until(() => engine.healthy);
    same('healthy');
    await until(() => engine.inspectsPending === 0);
    same('inspected');
    const kept = engine.snapshot([]);
    assert.equal(engine.snapshot([]), kept, 'unchanged: the same object');
    const withPending = engine.snapshot([{ ...kept.containers[0], id: 'pending-x', cpus: 1, memory: 5 }]);
    assert.deepEqual([withPending.containers.length, withPending.usedCpus, withPending.usedMemory], [4, kept.usedCpus + 1, kept.usedMemory + 5]);
    assert.equal(engine.snapshot([]), kept, 'reservations never change the kept one');

    const { Id } = await (await post('/v1.41/containers/create?name=snap1', { Image: 'busybox', HostConfig: { Memory: 1 << 20 } })).json() as { Id: string };
    await until(() => engine.containers.get(Id)?.inspected === true);
    same('created');
    assert.equal(engine.snapshot([]).containers.length, 4);
    assert.equal((await post(`/v1.41/containers/${Id}/start`)).status, 204);
    await until(() => engine.containers.get(Id)?.node.state === 'running');
    same('started');
    await engine.resources.refreshImages();
    same('images reloaded');
    await engine.resources.refreshNetworks();
    same('networks reloaded');
    assert.equal((await fetch(`http://${sim.addr}/containers/${Id}?force=1`, { method: 'DELETE' })).status, 204);
    await until(() => !engine.containers.has(Id));
    same('removed');

    await sim.stop();
    await until(() => !engine.snapshot([]).healthy);
    same('no longer answering');
  } finally {
    await engine.stop();
    await sim.stop().catch(() => undefined);
  }
});
