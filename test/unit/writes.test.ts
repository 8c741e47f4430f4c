// Read-your-writes when writes are answered before their re-read lands
// (src/cluster/writes.ts): a manager in-process in front of two simulated
// engines, each behind a proxy that can hold back the engines' container
// lists (every re-read needs one). With the lists held, the write is
// answered, the re-read is in flight, and a read issued then must show the
// write once the lists are let through: never the stale picture.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig } from '../../src/cli/config.js';
import { startGate, type Gate } from '../lib/gate.js';

const PORT = 23547; // below every integration block (test/lib/README.md)
const base = `http://127.0.0.1:${PORT}`;
let sims: Simulator[] = [];
let gates: Gate[] = [];
let mgr: Manager;

const isList = (req: http.IncomingMessage): boolean => req.method === 'GET' && /\/containers\/json/.test(req.url ?? '');
/** Hold back the engines' container lists (every re-read needs one) until open(). */
const hold = (): void => { for (const g of gates) g.hold(isList); };
const open = (): void => { for (const g of gates) g.release(); };
/** Container lists fail with a 500 (engines failing the re-reads), or pass again. */
const failLists = (on: boolean): void => {
  for (const g of gates) {
    g.answer = on ? (req, res) => { if (!isList(req)) return false; res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"lists fail here"}'); return true; } : null;
  }
};

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${base}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

const ps = async (all: boolean, name?: string): Promise<any[]> => {
  const f = name ? `&filters=${encodeURIComponent(JSON.stringify({ name: [`^/?(sim-[ab]/)?${name}$`] }))}` : '';
  return (await call('GET', `/v1.41/containers/json?all=${all ? 1 : 0}${f}`)).json;
};

/** A read started while the lists are held: it must not answer before they are let through. */
async function whileHeld<T>(read: () => Promise<T>): Promise<T> {
  let answered = false;
  const p = read().then((v) => { answered = true; return v; });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(answered, false, 'a read answered while the re-read of a write it could see was held back');
  open();
  return p;
}

before(async () => {
  sims = [await startSimulator({ port: 0, name: 'sim-a', containers: 3 }), await startSimulator({ port: 0, name: 'sim-b', containers: 3 })];
  gates = await Promise.all(sims.map((s) => startGate(s.addr)));
  const addrs = gates.map((g) => g.addr);
  mgr = await startManager(parseManageConfig({ discovery: addrs.join(','), host: [`tcp://127.0.0.1:${PORT}`] }));
  for (let i = 0; i < 200 && (await call('GET', '/info')).json.Containers !== 6; i++) await new Promise((r) => setTimeout(r, 50));
});

afterEach(() => { failLists(false); open(); }); // a failed test leaves nothing held or failing for the next

after(async () => {
  open();
  await mgr?.stop();
  for (const g of gates) g.close();
  for (const s of sims) await s.stop();
});

test('created then listed at once: ps -a, inspect by name and info show it', async () => {
  hold();
  const c = await call('POST', '/v1.41/containers/create?name=rw-created', { Image: 'busybox', Cmd: ['top'] });
  assert.equal(c.status, 201, JSON.stringify(c.json));
  assert.ok(mgr.cluster.writes.size >= 1, 'the create was answered before its re-read');
  const list = await whileHeld(() => ps(true, 'rw-created'));
  assert.deepEqual(list.map((x) => x.Id), [c.json.Id]);
  assert.equal((await call('GET', '/v1.41/containers/rw-created/json')).json.Id, c.json.Id);
  assert.equal((await call('GET', '/info')).json.Containers, 7);
  await call('DELETE', `/v1.41/containers/${c.json.Id}?force=1`);
});

test("a client's create is re-read in turn: its inspect is asked only once its list answered (no second socket beside the kept one)", async () => {
  hold();
  const c = await call('POST', '/v1.41/containers/create?name=rw-inturn', { Image: 'busybox', Cmd: ['top'] });
  assert.equal(c.status, 201, JSON.stringify(c.json));
  const inspects = (): string[] => gates.flatMap((g) => g.requests()).filter((r) => r.startsWith('GET ') && r.includes(`/containers/${c.json.Id}/json`));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(inspects(), [], 'its inspect was asked while its list was held');
  const list = await whileHeld(() => ps(true, 'rw-inturn'));
  assert.deepEqual(list.map((x) => x.Id), [c.json.Id]);
  assert.equal(inspects().length, 1, 'inspected once, after the list');
  await call('DELETE', `/v1.41/containers/${c.json.Id}?force=1`);
});

test('created, started by ID and listed at once: ps shows it running; info counts it', async () => {
  hold();
  const c = await call('POST', '/v1.41/containers/create?name=rw-started', { Image: 'busybox', Cmd: ['top'] });
  assert.equal(c.status, 201);
  // Found by its ID before the cache has it (lists still held).
  const s = await call('POST', `/v1.41/containers/${c.json.Id}/start`);
  assert.equal(s.status, 204, JSON.stringify(s.json));
  const list = await whileHeld(() => ps(false, 'rw-started'));
  assert.equal(list.length, 1);
  assert.equal(list[0].State, 'running');
  const insp = await call('GET', `/v1.41/containers/${c.json.Id}/json`);
  assert.equal(insp.json.State.Running, true);
  assert.equal(typeof insp.json.Node?.Name, 'string');
  await call('DELETE', `/v1.41/containers/${c.json.Id}?force=1`);
});

test('started by name, then stopped: ps shows each state at once', async () => {
  const c = await call('POST', '/v1.41/containers/create?name=rw-stop', { Image: 'busybox', Cmd: ['top'] });
  await mgr.cluster.settle(); // in the cache: the lookup by name needs no re-read
  hold();
  assert.equal((await call('POST', '/v1.41/containers/rw-stop/start')).status, 204);
  const running = await whileHeld(() => ps(false, 'rw-stop'));
  assert.equal(running[0]?.State, 'running');
  hold();
  assert.equal((await call('POST', '/v1.41/containers/rw-stop/stop')).status, 204);
  assert.deepEqual(await whileHeld(() => ps(false, 'rw-stop')), []);
  assert.equal((await ps(true, 'rw-stop'))[0]?.State, 'exited');
  await call('DELETE', `/v1.41/containers/${c.json.Id}`);
});

test('a create that depends on a container by its ID right after that one was created lands on its node', async () => {
  hold();
  const a = await call('POST', '/v1.41/containers/create', { Image: 'busybox', Cmd: ['top'] });
  const b = await call('POST', '/v1.41/containers/create', { Image: 'busybox', HostConfig: { VolumesFrom: [a.json.Id] } });
  open();
  assert.equal(b.status, 201, JSON.stringify(b.json));
  const [ia, ib] = await Promise.all([a, b].map(async (x) => (await call('GET', `/v1.41/containers/${x.json.Id}/json`)).json));
  assert.equal(ib.Node.Name, ia.Node.Name);
  for (const x of [b, a]) await call('DELETE', `/v1.41/containers/${x.json.Id}?force=1`);
});

test('removed then never listed, even when removed before its create was re-read', async () => {
  const a = await call('POST', '/v1.41/containers/create?name=rw-removed', { Image: 'busybox', Cmd: ['top'] });
  await ps(true); // in the cache
  assert.equal((await call('DELETE', '/v1.41/containers/rw-removed?force=1')).status, 204);
  assert.deepEqual(await ps(true, 'rw-removed'), []);
  assert.equal((await call('GET', '/v1.41/containers/rw-removed/json')).status, 404);
  // Removed while its create's re-read is held: the re-read must not bring it back.
  hold();
  const b = await call('POST', '/v1.41/containers/create?name=rw-removed', { Image: 'busybox', Cmd: ['top'] });
  assert.equal(b.status, 201, 'the name is free once the remove was answered');
  assert.equal((await call('DELETE', `/v1.41/containers/${b.json.Id}?force=1`)).status, 204);
  open();
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(await ps(true, 'rw-removed'), []);
    await new Promise((r) => setTimeout(r, 40));
  }
  assert.ok(![a.json.Id, b.json.Id].some((id) => mgr.cluster.findContainer(id)), 'neither removed container is in the cache');
});

test('renamed: the old name is gone and free at once, the new one taken', async () => {
  const c = await call('POST', '/v1.41/containers/create?name=rw-old', { Image: 'busybox', Cmd: ['top'] });
  await ps(true);
  hold();
  assert.equal((await call('POST', '/v1.41/containers/rw-old/rename?name=rw-new')).status, 204);
  assert.equal((await whileHeld(() => call('GET', '/v1.41/containers/rw-old/json'))).status, 404);
  assert.equal((await call('GET', '/v1.41/containers/rw-new/json')).json.Id, c.json.Id);
  assert.deepEqual((await ps(true, 'rw-new')).map((x) => x.Id), [c.json.Id]);
  assert.deepEqual(await ps(true, 'rw-old'), []);
  hold();
  assert.equal((await call('POST', '/v1.41/containers/rw-new/rename?name=rw-newer')).status, 204);
  // A create of the old name waits for the rename's re-read, then finds it free; the new name is taken.
  const again = await whileHeld(() => call('POST', '/v1.41/containers/create?name=rw-new', { Image: 'busybox' }));
  assert.equal(again.status, 201, JSON.stringify(again.json));
  const clash = await call('POST', '/v1.41/containers/create?name=rw-newer', { Image: 'busybox' });
  assert.equal(clash.status, 409);
  assert.match(clash.json.message, new RegExp(`"/rw-newer" is already in use by container "${c.json.Id}"`));
  // A rename onto the name of a container whose create is still being re-read: 409 naming it.
  hold();
  const fresh = await call('POST', '/v1.41/containers/create?name=rw-fresh', { Image: 'busybox' });
  const onto = await whileHeld(() => call('POST', '/v1.41/containers/rw-newer/rename?name=rw-fresh'));
  assert.equal(onto.status, 409);
  assert.match(onto.json.message, new RegExp(`"/rw-fresh" is already in use by container "${fresh.json.Id}"`));
  await call('DELETE', `/v1.41/containers/${fresh.json.Id}?force=1`);
  for (const id of [c.json.Id, again.json.Id]) await call('DELETE', `/v1.41/containers/${id}?force=1`);
});

test('concurrent creates with one name: one wins, the others conflict (those after it once its re-read is in), and later ones too', async () => {
  hold();
  const all = Promise.all(Array.from({ length: 6 }, () => call('POST', '/v1.41/containers/create?name=rw-same', { Image: 'busybox' })));
  await new Promise((r) => setTimeout(r, 100)); // those that came after the winner wait for its re-read
  open();
  const answers = await all;
  assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409, 409, 409, 409, 409]);
  const won = answers.find((a) => a.status === 201)!;
  // A later create of the name conflicts, naming it.
  const late = await call('POST', '/v1.41/containers/create?name=rw-same', { Image: 'busybox' });
  assert.equal(late.status, 409);
  assert.match(late.json.message, new RegExp(`"/rw-same" is already in use by container "${won.json.Id}"`));
  assert.equal((await ps(true, 'rw-same')).length, 1);
  await call('DELETE', `/v1.41/containers/${won.json.Id}?force=1`);
});

test('created, but every re-read fails: calls by its ID still reach its engine', async () => {
  failLists(true);
  const c = await call('POST', '/v1.41/containers/create', { Image: 'busybox', Cmd: ['top'] });
  assert.equal(c.status, 201, JSON.stringify(c.json));
  const id: string = c.json.Id;
  await mgr.cluster.settle();
  // Its re-read and the one after it failed: not in the cache, yet found by ID.
  for (let i = 0; i < 100 && mgr.cluster.bookkeeping().reservations; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(mgr.cluster.hasContainerId(id), false);
  assert.equal((await call('GET', `/v1.41/containers/${id}/json`)).status, 200);
  assert.equal((await call('POST', `/v1.41/containers/${id}/start`)).status, 204);
  assert.equal((await call('DELETE', `/v1.41/containers/${id}?force=1`)).status, 204);
  failLists(false);
});

test('nothing is left held once the re-reads are done', async () => {
  open();
  await mgr.cluster.settle();
  assert.equal(mgr.cluster.writes.size, 0);
  assert.deepEqual(mgr.cluster.bookkeeping(), { reservations: 0, pendingNames: 0, execRecords: 0 });
  assert.equal((await call('GET', '/info')).json.Containers, 6);
});
