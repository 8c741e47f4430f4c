// Calls by the full ID of a container created a moment ago (Placement.madeOn,
// Operations.owner): before the cache has it they reach its engine; if the
// cache dropped it on the manager's own reading of an answer (a list that
// lacked it, an inspect's 404), the engine is asked again and the cache
// heals; if the engine said it went (destroy event), dockerd's 404 stands.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { createFilters, DEFAULT_FILTERS } from '../../filters/index.js';
import { createStrategy } from '../../strategies/index.js';
import { eventually } from '../lib/wait.js';

let sim: Simulator;
let c: Cluster;
after(async () => { await c?.stop(); await sim?.stop(); });

const create = async (): Promise<string> => {
  const r = await c.createContainer(undefined, { Image: 'busybox' }, new URLSearchParams(), undefined, true);
  assert.equal(r.status, 201);
  await c.settle();
  return r.body.Id;
};

test('a container created lately, dropped from the cache on a misreading: its engine is asked, the cache has it again', async () => {
  sim = await startSimulator({ port: 0, name: 'made-0', containers: 0 });
  c = new Cluster({ refreshMinMs: 60_000, refreshMaxMs: 60_000, failureRetry: 3, overcommit: 0.05, createRetry: 0 }, new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread')));
  c.setPrimary(true);
  c.setEngines([sim.addr]);
  await eventually(async () => c.healthyEngines().length, (n) => n === 1, 10_000, 50);
  const e = c.healthyEngines()[0];
  for (const why of ['not in a list of the engine', 'inspect answered 404'] as const) {
    const id = await create();
    assert.ok(c.hasContainerId(id));
    e.containers.remove(id, why); // the manager's reading, not the engine's word
    assert.ok(!c.hasContainerId(id));
    const t = await c.containerTarget(id, 'start', '/v1.41', '');
    assert.equal(t.node, 'made-0');
    assert.ok(c.hasContainerId(id), `${why}: back in the cache`);
  }
});

test('removed on the engine\'s word (a destroy event): 404, the engine not asked', async () => {
  const id = await create();
  c.healthyEngines()[0].containers.remove(id, 'destroy event');
  await assert.rejects(c.containerTarget(id, 'start', '/v1.41', ''), /No such container/);
  assert.ok(!c.hasContainerId(id));
});
