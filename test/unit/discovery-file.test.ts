// file:// discovery end to end against simulated engines: engines added and
// removed by editing the file are picked up live, and a removed engine's
// containers leave the cluster with it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig } from '../../src/cli/config.js';

const dir = mkdtempSync(join(tmpdir(), 'swarm-file-disc-'));
const sims: Simulator[] = [];
let mgr: Manager | undefined;
after(async () => {
  await mgr?.stop();
  for (const s of sims) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < end) { await new Promise((r) => setTimeout(r, 100)); v = await fn(); }
  return v;
}

test('file:// discovery follows edits to the file', async () => {
  sims.push(await startSimulator({ port: 0, name: 'sim-f1', containers: 3 }));
  sims.push(await startSimulator({ port: 0, name: 'sim-f2', containers: 4 }));
  const file = join(dir, 'nodes');
  writeFileSync(file, `# one engine to start with\n${sims[0].addr}\n`);
  mgr = await startManager(parseManageConfig({ discovery: `file://${file}`, host: ['tcp://127.0.0.1:23595'], heartbeat: '1s' }));
  const info = async (): Promise<any> => (await fetch('http://127.0.0.1:23595/info')).json();
  assert.equal((await info()).Containers, 3);

  writeFileSync(file, `${sims[0].addr}\n${sims[1].addr}\n`);
  const both = await until(info, (i) => i.Containers === 7);
  assert.equal(both.Containers, 7);
  assert.ok(both.SystemStatus.some((r: string[]) => r[0] === 'Nodes' && r[1] === '2'));

  writeFileSync(file, `${sims[1].addr}\n`);
  const one = await until(info, (i) => i.Containers === 4);
  assert.equal(one.Containers, 4);
  const list: any[] = await (await fetch('http://127.0.0.1:23595/containers/json?all=1')).json();
  assert.equal(list.length, 4);
  assert.ok(list.every((c) => c.Names[0].startsWith('/sim-f2/')));
});
