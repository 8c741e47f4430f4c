// A client's create is answered once the engine made it; its re-read into the
// cache runs on, and a read by the new name waits for it. When that re-read
// ends without the container (an engine slow or failing), the container is
// read once more, and a read by its name waits for that too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig } from '../../src/cli/config.js';

const PORT = 23584; // test/lib/README.md
let sim: Simulator | undefined;
let mgr: Manager | undefined;
after(async () => {
  await mgr?.stop();
  await sim?.stop();
});

test('a read by name right after a create whose re-read missed it waits for the second read', async () => {
  // Lists slow enough that the reads below arrive while the first re-read is out.
  sim = await startSimulator({ port: 0, name: 'sim-lag', containers: 0, listMissesNewOnce: true, listDelayMs: 30 });
  mgr = await startManager(parseManageConfig({ discovery: sim.addr, host: [`tcp://127.0.0.1:${PORT}`] }));
  const base = `http://127.0.0.1:${PORT}`;
  for (let i = 0; i < 3; i++) {
    const name = `fresh-${i}`;
    const r = await fetch(`${base}/v1.41/containers/create?name=${name}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Image: 'busybox', Cmd: ['true'] }),
    });
    assert.equal(r.status, 201, await r.clone().text());
    const { Id } = await r.json() as { Id: string };
    const [byName, listed] = await Promise.all([
      fetch(`${base}/v1.41/containers/${name}/json`),
      fetch(`${base}/v1.41/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [name] }))}`),
    ]);
    assert.equal(byName.status, 200, await byName.clone().text());
    assert.equal((await byName.json() as { Id: string }).Id, Id);
    assert.deepEqual((await listed.json() as Array<{ Id: string }>).map((c) => c.Id), [Id]);
  }
});
