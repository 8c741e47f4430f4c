// One engine reached under two addresses (or two engines sharing key.json)
// must not show its containers twice: the second address stays Pending with
// an error naming the first.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig } from '../../src/cli/config.js';

let sim: Simulator;
let mgr: Manager;
after(async () => { await mgr?.stop(); await sim?.stop(); });

test('a duplicated engine ID is refused, not counted twice', async () => {
  sim = await startSimulator({ port: 0, name: 'sim-dup', containers: 5 });
  const port = sim.addr.split(':')[1];
  mgr = await startManager(parseManageConfig({ discovery: `127.0.0.1:${port},localhost:${port}`, host: ['tcp://127.0.0.1:23596'] }));
  const info = await (await fetch('http://127.0.0.1:23596/info')).json();
  assert.equal(info.Containers, 5);
  const rows: string[] = info.SystemStatus.map((r: string[]) => r.join(': '));
  assert.equal(rows.filter((r) => r === '  └ Status: Healthy').length, 1, rows.join('\n'));
  assert.equal(rows.filter((r) => r === '  └ Status: Pending').length, 1, rows.join('\n'));
  assert.ok(rows.some((r) => /└ Error: engine ID .* is already used by sim-dup/.test(r)), rows.join('\n'));
  assert.ok(rows.some((r) => r.startsWith(' (unknown): ')), 'the refused address is shown as (unknown): ' + rows.join('\n'));
  const list: any[] = await (await fetch('http://127.0.0.1:23596/containers/json?all=1')).json();
  assert.equal(list.length, 5);
});
