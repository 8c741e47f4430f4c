// swarm.createretry: a create the chosen engine refuses with a 5xx is retried
// on another node; without it the engine's error is the answer, and the name
// and ports it reserved are free again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig } from '../../src/cli/config.js';

const sims: Simulator[] = [];
const managers: Manager[] = [];
after(async () => {
  for (const m of managers) await m.stop();
  for (const s of sims) await s.stop();
});

async function setup(port: number, opts: string[]): Promise<string> {
  if (!sims.length) {
    // Same load, so spread's tie-break by name picks sim-a-broken first.
    sims.push(await startSimulator({ port: 0, name: 'sim-a-broken', containers: 0, failCreates: 500 }));
    sims.push(await startSimulator({ port: 0, name: 'sim-b-good', containers: 0 }));
  }
  managers.push(await startManager(parseManageConfig({
    discovery: sims.map((s) => s.addr).join(','), host: [`tcp://127.0.0.1:${port}`], 'cluster-opt': opts,
  })));
  return `http://127.0.0.1:${port}`;
}

const create = (base: string, name: string) => fetch(`${base}/v1.41/containers/create?name=${name}`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ Image: 'busybox', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } } }),
});

test('without createretry the engine refusal is the answer, and its reservations are freed', async () => {
  const base = await setup(23597, []);
  for (let i = 0; i < 2; i++) {
    const r = await create(base, 'web');
    assert.equal(r.status, 500);
    assert.deepEqual(await r.json(), { message: 'simulated failure on sim-a-broken' });
  }
});

test('with swarm.createretry=1 the create lands on the other node', async () => {
  const base = await setup(23598, ['swarm.createretry=1']);
  const r = await create(base, 'web2');
  assert.equal(r.status, 201, await r.clone().text());
  const { Id } = await r.json();
  const insp = await (await fetch(`${base}/containers/${Id}/json`)).json();
  assert.equal(insp.Node.Name, 'sim-b-good');
});
