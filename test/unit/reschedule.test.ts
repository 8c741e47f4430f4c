// Rescheduling's rules on simulated engines, with two in-process clusters
// watching the same engines as a primary and a replica would: only the
// primary moves a container, exactly once, and a replica that becomes the
// primary neither doubles a move already made nor loses one left undone.
// (The full flows on real engines: test/integration/reschedule.test.ts.)
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { createFilters, DEFAULT_FILTERS } from '../../filters/index.js';
import { createStrategy } from '../../strategies/index.js';
import { recreation } from '../../src/cluster/reschedule.js';
import { hasReschedulePolicy, SWARM_ID_LABEL } from '../../src/scheduler/rules.js';
import type { CachedContainer } from '../../src/cluster/containers.js';
import { eventually } from '../lib/wait.js';
import { startGate, type Gate } from '../lib/gate.js';

const POLICY = { 'com.docker.swarm.reschedule-policies': '["on-node-failure"]' };

describe('recreation(): a create body from what the engine said', () => {
  const c = {
    id: 'abcdef1234567890', names: ['web'],
    summary: { State: 'running', NetworkSettings: { Networks: { bridge: {}, front: {}, back: {} } } },
    inspect: {
      Id: 'abcdef1234567890',
      Config: { Hostname: 'abcdef123456', Image: 'busybox', Cmd: ['top'], Labels: { a: 'b', ...POLICY } },
      HostConfig: { NetworkMode: 'front', MaskedPaths: ['/proc/kcore'], ReadonlyPaths: ['/proc/sys'], PortBindings: { '80/tcp': [{ HostPort: '8080' }] } },
      NetworkSettings: { Networks: { front: { Aliases: ['abcdef123456', 'web', 'www'] }, back: { Aliases: null } } },
    },
  } as unknown as CachedContainer;

  test('keeps config, labels and port bindings; drops the made-up hostname and default masked paths', () => {
    const r = recreation(c);
    assert.equal(r.name, 'web');
    assert.equal(r.running, true);
    assert.deepEqual(r.body.Cmd, ['top']);
    assert.deepEqual(r.body.Labels, { a: 'b', ...POLICY });
    assert.equal(r.body.Hostname, undefined);
    assert.equal(r.body.HostConfig.MaskedPaths, undefined);
    assert.equal(r.body.HostConfig.ReadonlyPaths, undefined);
    assert.deepEqual(r.body.HostConfig.PortBindings, { '80/tcp': [{ HostPort: '8080' }] });
  });

  test('user-defined networks are connected after the create, with their aliases but not the old short ID', () => {
    const r = recreation(c);
    assert.equal(r.body.HostConfig.NetworkMode, 'default');
    assert.deepEqual(r.networks, [{ name: 'front', aliases: ['web', 'www'] }, { name: 'back', aliases: [] }]);
  });

  test('a hostname the user chose is kept; a stopped container is not started', () => {
    const r = recreation({ ...c, summary: { State: 'exited' }, inspect: { ...c.inspect, Config: { ...c.inspect.Config, Hostname: 'db1' } } });
    assert.equal(r.body.Hostname, 'db1');
    assert.equal(r.running, false);
  });

  test('hasReschedulePolicy reads the label as classic does', () => {
    assert.equal(hasReschedulePolicy(POLICY), true);
    assert.equal(hasReschedulePolicy({ 'com.docker.swarm.reschedule-policies': '["off"]' }), false);
    assert.equal(hasReschedulePolicy({ 'com.docker.swarm.reschedule-policies': 'on-node-failure' }), false);
    assert.equal(hasReschedulePolicy(undefined), false);
  });
});

/**
 * Simulated engines and in-process clusters watching all of them (fast
 * refresh: the rescheduling grace is 0.3 s), stopped after the suite.
 */
function simulatedWorld(): { sims: Simulator[]; clusters: Cluster[]; newCluster: (primary: boolean) => Cluster } {
  const sims: Simulator[] = [];
  const clusters: Cluster[] = [];
  after(async () => {
    for (const c of clusters) await c.stop();
    for (const s of sims) await s.stop().catch(() => undefined);
  });
  const newCluster = (primary: boolean): Cluster => {
    const c = new Cluster({ refreshMinMs: 300, refreshMaxMs: 600, failureRetry: 2, overcommit: 0.05, createRetry: 0 },
      new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread')));
    c.setPrimary(primary);
    c.setEngines(sims.map((s) => s.addr));
    clusters.push(c);
    return c;
  };
  return { sims, clusters, newCluster };
}

describe('exactly once, primary only (simulated engines)', () => {
  const { sims, clusters, newCluster } = simulatedWorld();
  /** Containers carrying this Swarm ID on the engines still running, asked directly. */
  const copies = async (sid: string, live: Simulator[]): Promise<string[]> => {
    const out: string[] = [];
    for (const s of live) {
      const list: any[] = await (await fetch(`http://${s.addr}/containers/json?all=1`)).json();
      for (const x of list) if (x.Labels?.[SWARM_ID_LABEL] === sid) out.push(`${s.name}:${x.Names[0]}`);
    }
    return out;
  };
  const healthyAll = (c: Cluster) => eventually(async () => c.healthyEngines().length, (n) => n === sims.length, 10_000, 50);

  test('the primary moves it once; the replica does not; a replica that takes over does not move it again', async () => {
    for (let i = 0; i < 3; i++) sims.push(await startSimulator({ port: 0, name: `sim-${i}`, containers: 0 }));
    const primary = newCluster(true);
    const replica = newCluster(false);
    await healthyAll(primary);
    await healthyAll(replica);
    const made = await primary.createContainer('svc', { Image: 'busybox', Labels: { ...POLICY, 'com.docker.swarm.constraints': '["node==~sim-2"]' } }, new URLSearchParams());
    assert.equal(made.status, 201);
    assert.equal(made.node.name, 'sim-2');
    const sid = primary.findContainer('svc')!.container.node.labels[SWARM_ID_LABEL];
    await eventually(async () => replica.findContainer('svc'), (x) => !!x, 5000, 50);

    await sims[2].stop();
    const live = sims.slice(0, 2);
    const moved = await eventually(() => copies(sid, live), (x) => x.length > 0, 15_000, 100);
    assert.equal(moved.length, 1, moved.join(' '));
    // Time for a replica's wrong move, if it made one.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await copies(sid, live), moved);
    assert.equal(primary.findContainer('svc')?.node.name, moved[0].split(':')[0]);

    // The primary goes; the replica takes over and sees the move already made.
    await primary.stop();
    replica.setPrimary(true);
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await copies(sid, live), moved);
    assert.equal(replica.findContainer('svc')?.container.node.labels[SWARM_ID_LABEL], sid);
  });

  test('a move left undone when the primary went is made by the next primary, once', async () => {
    const replica = clusters[1];
    // Now the primary; make it a replica again, with no primary at all for a while.
    replica.setPrimary(false);
    const second = newCluster(true);
    await eventually(async () => second.healthyEngines().length, (n) => n === 2, 10_000, 50);
    const made = await second.createContainer('svc2', { Image: 'busybox', Labels: { ...POLICY, 'com.docker.swarm.constraints': '["node==~sim-1"]' } }, new URLSearchParams());
    assert.equal(made.node.name, 'sim-1');
    const sid = second.findContainer('svc2')!.container.node.labels[SWARM_ID_LABEL];
    await eventually(async () => replica.findContainer('svc2'), (x) => !!x, 5000, 50);
    await second.stop(); // the primary dies before the node does
    await sims[1].stop();
    const live = sims.slice(0, 1);
    await eventually(async () => replica.engines.get(sims[1].addr)?.state, (s) => s === 'unhealthy', 10_000, 50);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await copies(sid, live), [], 'a replica moved it');
    replica.setPrimary(true);
    const moved = await eventually(() => copies(sid, live), (x) => x.length > 0, 10_000, 100);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(await copies(sid, live), moved);
    assert.equal(moved.length, 1);
  });
});

describe('half-done moves and failing targets (simulated engines)', () => {
  const { sims, clusters, newCluster } = simulatedWorld();
  const copies = async (sid: string, s: Simulator): Promise<string[]> => {
    const list: any[] = await (await fetch(`http://${s.addr}/containers/json?all=1`)).json();
    return list.filter((x) => x.Labels?.[SWARM_ID_LABEL] === sid).map((x) => `${x.Names[0]} ${x.State}`);
  };

  test('a primary that died between create and start: the next one starts the copy, makes no other', async () => {
    for (let i = 0; i < 3; i++) sims.push(await startSimulator({ port: 0, name: `half-${i}`, containers: 0 }));
    const primary = newCluster(true);
    const replica = newCluster(false);
    await eventually(async () => primary.healthyEngines().length + replica.healthyEngines().length, (n) => n === 6, 10_000, 50);
    const made = await primary.createContainer('svc', { Image: 'busybox', Labels: { ...POLICY, 'com.docker.swarm.constraints': '["node==half-2"]' } }, new URLSearchParams());
    assert.equal(made.status, 201);
    const sid = primary.findContainer('svc')!.container.node.labels[SWARM_ID_LABEL];
    sims[2].startContainer(made.body.Id);
    await eventually(async () => replica.findContainer('svc')?.container.summary.State, (s) => s === 'running', 5000, 50);
    await primary.stop();
    // What the dead primary got done: the copy on half-0, same name and Swarm ID, never started.
    const r = await fetch(`http://${sims[0].addr}/containers/create?name=svc`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Image: 'busybox', Labels: { ...POLICY, [SWARM_ID_LABEL]: sid } }),
    });
    assert.equal(r.status, 201);
    await sims[2].stop();
    await eventually(async () => replica.engines.get(sims[2].addr)?.state, (s) => s === 'unhealthy', 10_000, 50);
    replica.setPrimary(true);
    const got = await eventually(() => copies(sid, sims[0]), (x) => x.includes('/svc running'), 10_000, 100);
    assert.deepEqual(got, ['/svc running']);
    assert.deepEqual(await copies(sid, sims[1]), []);
  });

  test('the node chosen for a move fails too: the move goes to one that works', async () => {
    const c = clusters[1]; // the primary now; half-0 and half-1 left
    sims.push(await startSimulator({ port: 0, name: 'half-3', containers: 0 }));
    c.setEngines([sims[0].addr, sims[1].addr, sims[3].addr]);
    await eventually(async () => c.healthyEngines().length, (n) => n === 3, 10_000, 50);
    const made = await c.createContainer('svc2', { Image: 'busybox', Labels: { ...POLICY, 'com.docker.swarm.constraints': '["node==~half-3"]' } }, new URLSearchParams());
    assert.equal(made.node.name, 'half-3');
    const sid = c.findContainer('svc2')!.container.node.labels[SWARM_ID_LABEL];
    // half-1 dies at the moment half-3 is declared lost, before the manager notices it.
    const e3 = c.engines.get(sims[3].addr)!;
    e3.on('state', (s: string) => { if (s === 'unhealthy') void sims[1].stop(); });
    await sims[3].stop();
    const got = await eventually(() => copies(sid, sims[0]), (x) => x.length > 0, 15_000, 100);
    assert.deepEqual(got, ['/svc2 created']);
  });
});

describe('the swarm image is never moved (simulated engines)', () => {
  const { sims, newCluster } = simulatedWorld();

  test('a manager container on a lost node stays, whatever its labels; a container beside it moves', async () => {
    for (let i = 0; i < 2; i++) sims.push(await startSimulator({ port: 0, name: `own-${i}`, containers: 0 }));
    // A manager started on own-1 with the policy and a Swarm ID (made through another manager).
    const r = await fetch(`http://${sims[1].addr}/containers/create?name=manager`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Image: 'localhost:5000/swarm:latest', Labels: { ...POLICY, [SWARM_ID_LABEL]: 'f'.repeat(64) } }),
    });
    assert.equal(r.status, 201);
    const c = newCluster(true);
    await eventually(async () => c.healthyEngines().length, (n) => n === 2, 10_000, 50);
    const made = await c.createContainer('svc', { Image: 'busybox', Labels: { ...POLICY, 'com.docker.swarm.constraints': '["node==~own-1"]' } }, new URLSearchParams());
    assert.equal(made.node.name, 'own-1');
    await eventually(async () => c.findContainer('manager'), (x) => !!x, 5000, 50);
    await sims[1].stop();
    const names = async (): Promise<string[]> => ((await (await fetch(`http://${sims[0].addr}/containers/json?all=1`)).json()) as any[]).map((x) => x.Names[0]).sort();
    await eventually(names, (n) => n.includes('/svc'), 10_000, 100);
    await new Promise((res) => setTimeout(res, 800)); // time for a wrong move, if one were made
    assert.deepEqual(await names(), ['/svc']);
    assert.equal(c.findContainer('manager')?.node.name, 'own-1');
  });
});

describe('a node that comes back during a move (simulated engines)', () => {
  const sims: Simulator[] = [];
  const gates: Gate[] = [];
  let c: Cluster | undefined;
  after(async () => {
    await c?.stop();
    for (const g of gates) g.close();
    for (const s of sims) await s.stop().catch(() => undefined);
  });

  test('its copy stays and the new copy goes: never neither', async () => {
    for (let i = 0; i < 2; i++) {
      sims.push(await startSimulator({ port: 0, name: `back-${i}`, containers: 0 }));
      gates.push(await startGate(sims[i].addr));
    }
    c = new Cluster({ refreshMinMs: 300, refreshMaxMs: 600, failureRetry: 2, overcommit: 0.05, createRetry: 0 },
      new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread')));
    c.setPrimary(true);
    c.setEngines(gates.map((g) => g.addr));
    await eventually(async () => c!.healthyEngines().length, (n) => n === 2, 10_000, 50);
    const made = await c.createContainer('svc', { Image: 'busybox', Labels: { ...POLICY, 'com.docker.swarm.constraints': '["node==~back-0"]' } }, new URLSearchParams());
    assert.equal(made.node.name, 'back-0');
    const sid = c.findContainer('svc')!.container.node.labels[SWARM_ID_LABEL];
    const onEngine = async (s: Simulator): Promise<string[]> => ((await (await fetch(`http://${s.addr}/containers/json?all=1`)).json()) as any[])
      .filter((x) => x.Labels?.[SWARM_ID_LABEL] === sid).map((x) => x.Id);

    // back-0 is lost; its move's create on back-1 is held until back-0 is healthy again.
    gates[1].hold((req) => req.method === 'POST' && /\/containers\/create/.test(req.url ?? ''));
    gates[0].down();
    await eventually(async () => gates[1].held(), (n) => n === 1, 15_000, 50);
    await gates[0].up();
    await eventually(async () => c!.engines.get(gates[0].addr)?.state, (s) => s === 'healthy', 15_000, 50);
    gates[1].release();
    // The move ends: the new copy removed (its node came back), the old one kept.
    await eventually(async () => (await onEngine(sims[1])).length, (n) => n === 0, 10_000, 100);
    await new Promise((r) => setTimeout(r, 1000)); // time for a wrong removal, if one were made
    assert.deepEqual(await onEngine(sims[0]), [made.body.Id], 'the original copy is kept');
    assert.deepEqual(await onEngine(sims[1]), [], 'the new copy is removed');
    assert.equal(c.findContainer('svc')?.container.id, made.body.Id);
  });
});
