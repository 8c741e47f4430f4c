// The manager in-process against simulated engines: list rendering and
// streaming, lookups and errors, without real dockerd (fast, runs anywhere).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { RE2JS } from 're2js';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig } from '../../src/cli/config.js';

const PORT = 23599; // below every integration block (test/lib/README.md)
let sims: Simulator[] = [];
let mgr: Manager;
const base = `http://127.0.0.1:${PORT}`;

before(async () => {
  sims = [
    await startSimulator({ port: 0, name: 'sim-a', containers: 400 }),
    await startSimulator({ port: 0, name: 'sim-b', containers: 400 }),
  ];
  mgr = await startManager(parseManageConfig({ discovery: sims.map((s) => s.addr).join(','), host: [`tcp://127.0.0.1:${PORT}`] }));
});

after(async () => {
  await mgr?.stop();
  for (const s of sims) await s.stop();
});

test('ps -a over 800 containers: kept chunks, valid JSON, node-qualified names, live status', async () => {
  const r = await fetch(`${base}/v1.41/containers/json?all=1`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/json');
  const text = await r.text();
  assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(text), 'Content-Length, as dockerd sends it');
  const list: any[] = JSON.parse(text);
  // Nothing changed but the clock: the same items (a status text may have aged in between).
  const noStatus = (t: string): string => t.replace(/"Status":"[^"]*"/g, '');
  const again = await (await fetch(`${base}/v1.41/containers/json?all=1`)).text();
  assert.equal(noStatus(again), noStatus(text));
  assert.equal(list.length, 800);
  assert.ok(list.every((c) => /^\/sim-[ab]\//.test(c.Names[0])), list[0].Names[0]);
  for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].Created >= list[i].Created, 'newest first');
  assert.ok(list.every((c) => typeof c.Status === 'string' && c.Status.length > 0));
  const small = await fetch(`${base}/containers/json?all=1&limit=2`);
  assert.ok(Number(small.headers.get('content-length')) > 0, 'a small list has a Content-Length');
  assert.equal((await small.json()).length, 2);
});

test('a client that drops a large ps mid-stream leaves the manager serving', async () => {
  await new Promise<void>((resolve) => {
    const req = http.get(`${base}/containers/json?all=1`, (res) => {
      res.once('data', () => { req.destroy(); resolve(); });
    });
    req.on('error', () => resolve());
  });
  const r = await fetch(`${base}/_ping`);
  assert.equal(await r.text(), 'OK');
});

test('filters: node, status, invalid key; lookups: name, node/name, unknown', async () => {
  const byNode: any[] = await (await fetch(`${base}/containers/json?all=1&filters=${encodeURIComponent('{"node":["sim-b"]}')}`)).json();
  assert.equal(byNode.length, 400);
  assert.ok(byNode.every((c) => c.Names[0].startsWith('/sim-b/')));
  const bad = await fetch(`${base}/containers/json?filters=${encodeURIComponent('{"bogus":["x"]}')}`);
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).message, /invalid filter 'bogus'/);
  const one = byNode[0];
  const name = one.Names[0].split('/')[2];
  const insp = await (await fetch(`${base}/containers/sim-b/${name}/json`)).json();
  assert.equal(insp.Id, one.Id);
  assert.equal(insp.Node.Name, 'sim-b');
  const missing = await fetch(`${base}/containers/nope-nope/json`);
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { message: 'No such container: nope-nope' });
  const route = await fetch(`${base}/v1.41/no/such/route`);
  assert.equal(route.status, 404);
  assert.deepEqual(await route.json(), { message: 'page not found' });
});

test('ps --filter name=: the name index and the walk answer as a regex test of every "/name" and "/node/name"', async () => {
  const all: any[] = await (await fetch(`${base}/containers/json?all=1`)).json();
  // Listed as /node/name; the filter tests "/name" and "/node/name".
  const own = (c: any): [string, string] => { const [, node, name] = c.Names[0].split('/'); return [node, name]; };
  const [node0, name0] = own(all[0]);
  const cases = [
    [`^/${name0}$`], [name0.slice(1, 5)], [`^/${name0.slice(0, 4)}`], [`^/${node0}/${name0}$`], [`${node0}/`], ['sim-a'],
    ['c.1'], [`^/${name0}$`, `^/${own(all[5])[1]}$`], ['^/no-such$'], ['zz-none'], [`/${name0}`],
  ];
  for (const values of cases) {
    const q = encodeURIComponent(JSON.stringify({ name: values }));
    const got: any[] = await (await fetch(`${base}/containers/json?all=1&filters=${q}`)).json();
    const want = all.filter((c) => { const [node, name] = own(c); return values.some((v) => RE2JS.compile(v).test(`/${name}`) || RE2JS.compile(v).test(`/${node}/${name}`)); });
    assert.deepEqual(got.map((c) => c.Id), want.map((c) => c.Id), JSON.stringify(values));
  }
});

test('info sums both engines and lists them', async () => {
  const info = await (await fetch(`${base}/info`)).json();
  assert.equal(info.Containers, 800);
  const rows = info.SystemStatus.map((r: string[]) => r.join(': '));
  assert.ok(rows.includes('Nodes: 2'), rows.join('\n'));
  assert.equal(rows.filter((r: string) => r === '  └ Status: Healthy').length, 2);
});

/** One raw request on a fresh socket; resolves with the status line (or "" if the socket closed silently). */
function rawStatusLine(head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(PORT, '127.0.0.1', () => s.write(head));
    let got = '';
    s.setTimeout(5000, () => { s.destroy(); reject(new Error(`no answer to ${JSON.stringify(head.split('\r\n')[0])}`)); });
    s.on('data', (d) => { got += d.toString('latin1'); if (got.includes('\r\n')) { s.destroy(); resolve(got.split('\r\n')[0]); } });
    s.on('close', () => resolve(got.split('\r\n')[0]));
    s.on('error', reject);
  });
}

test('upgrade requests pass the one wrapper: version checked, unknown routes 404, other routes answered as plain requests', async () => {
  const up = 'Connection: Upgrade\r\nUpgrade: tcp\r\n';
  assert.match(await rawStatusLine(`POST /v9.99/containers/x/attach?stream=1 HTTP/1.1\r\nHost: x\r\n${up}\r\n`), /^HTTP\/1\.1 400 /);
  assert.match(await rawStatusLine(`POST /v1.41/containers/nope-nope/attach?stream=1 HTTP/1.1\r\nHost: x\r\n${up}\r\n`), /^HTTP\/1\.1 404 /);
  assert.match(await rawStatusLine(`POST /v1.41/no/such/route HTTP/1.1\r\nHost: x\r\n${up}\r\n`), /^HTTP\/1\.1 404 /);
  assert.match(await rawStatusLine(`GET /v1.41/_ping HTTP/1.1\r\nHost: x\r\n${up}\r\n`), /^HTTP\/1\.1 200 /);
  // Asked for half-way (no Connection: Upgrade, or an empty Upgrade): refused, never left hanging.
  const any = (await (await fetch(`${base}/containers/json?all=1&limit=1`)).json())[0];
  assert.match(await rawStatusLine(`POST /v1.41/containers/${any.Id}/attach?stream=1 HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`), /^HTTP\/1\.1 400 /);
  assert.match(await rawStatusLine(`POST /v1.41/containers/${any.Id}/attach?stream=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: \r\nContent-Length: 0\r\n\r\n`), /^HTTP\/1\.1 400 /);
});

test('swap(): the next request is served by the new handler pair, on the same listener', async () => {
  const { createHandlers } = await import('../../src/api/app.js');
  const server = mgr.server;
  server.swap({
    request: (_req, res) => { res.writeHead(503, { 'Content-Type': 'application/json' }); res.end('{"message":"swapped"}\n'); },
    upgrade: (_req, socket) => { socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n'); },
  });
  try {
    const r = await fetch(`${base}/_ping`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { message: 'swapped' });
  } finally {
    server.swap(createHandlers(mgr.context));
  }
  assert.equal(await (await fetch(`${base}/_ping`)).text(), 'OK');
});

test('a rename whose client goes away mid-request releases the name it claimed', async () => {
  const any = (await (await fetch(`${base}/containers/json?all=1&limit=1`)).json())[0];
  await new Promise<void>((resolve) => {
    const s = net.connect(PORT, '127.0.0.1', () => {
      // Claims "held-name", then never sends the promised body.
      s.write(`POST /v1.41/containers/${any.Id}/rename?name=held-name HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab`);
      setTimeout(() => { s.destroy(); resolve(); }, 200);
    });
    s.on('error', () => resolve());
  });
  await new Promise((r) => setTimeout(r, 100));
  const r = await fetch(`${base}/v1.41/containers/create?name=held-name`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ Image: 'busybox' }),
  });
  const body = await r.json();
  assert.notEqual(r.status, 409, JSON.stringify(body));
  assert.equal(r.status, 201, JSON.stringify(body));
});

test('the routes served without Express pass the same wrapper: version headers, refused versions, HEAD, bad escapes', async () => {
  const ping = await fetch(`${base}/_ping`);
  assert.equal(await ping.text(), 'OK');
  assert.ok(ping.headers.get('api-version'));
  assert.match(ping.headers.get('server') ?? '', /^Docker\/swarm\//);
  const head = await fetch(`${base}/_ping`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '0');
  for (const path of ['/v9.99/_ping', '/v9.99/info', '/v9.99/containers/json']) {
    const r = await fetch(base + path);
    assert.equal(r.status, 400, path);
    assert.match((await r.json()).message, /^client version 9\.99 is too new/);
  }
  const old = await fetch(`${base}/v1.0/info`);
  assert.equal(old.status, 400);
  const bad = await fetch(`${base}/containers/%E0%A4%A/json`);
  assert.equal(bad.status, 400);
});

test('inspect: served again from memory while nothing changed; an event of the container, a write through the manager to its engine or ?size=1 asks the engine', async () => {
  const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until('background inspects done', () => [...mgr.cluster.engines.values()].every((e) => e.inspectsPending === 0));
  const sim = sims[0];
  const [x, y] = sim.ids().filter((id) => sim.state(id) === 'running');
  assert.ok(x && y, 'two running containers');
  const asked = (): number => sim.counts.get('GET /containers/{id}/json') ?? 0;
  const inspect = async (id: string, query = ''): Promise<any> => {
    const r = await fetch(`${base}/v1.41/containers/${id}/json${query}`);
    assert.equal(r.status, 200);
    return r.json();
  };
  // Events of other tests' containers may have come lately: past the quiet window.
  await new Promise((r) => setTimeout(r, 1_100));
  const n0 = asked();
  const first = await inspect(x);
  assert.equal(first.State.Running, true);
  assert.equal(first.Node.Name, 'sim-a');
  assert.deepEqual(await inspect(x), first);
  assert.equal(asked(), n0 + 2, 'asked once before: the second answer is kept, not the first');
  assert.deepEqual(await inspect(x), first);
  assert.equal(asked(), n0 + 2, 'the third inspect was answered from memory');
  await inspect(x, '?size=1');
  assert.equal(asked(), n0 + 3, '?size=1 is always asked');

  // Stopped on the engine, not through the manager: its events drop the kept answer
  // (well within MAX_AGE_MS, the age bound).
  assert.ok(sim.stopContainer(x));
  await until('inspect shows the stop', async () => (await inspect(x)).State.Running === false, 3_000);
  await new Promise((r) => setTimeout(r, 1_100));
  const n1 = asked();
  assert.equal((await inspect(x)).State.Running, false);
  assert.equal((await inspect(x)).State.Running, false);
  assert.equal(asked(), n1 + 1, 'kept again once the quiet window after its events passed');

  // A write through the manager, on another container: nothing kept stands.
  const w = await fetch(`${base}/v1.41/containers/${y}/kill`, { method: 'POST' });
  assert.equal(w.status, 204);
  await inspect(x);
  assert.equal(asked(), n1 + 2, 'asked again after a write');
  await inspect(x);
  assert.equal(asked(), n1 + 2, 'and kept again');
  // A write on the other engine: dockerd there knows nothing of x, so its kept answer stands.
  const z = sims[1].ids().find((id) => sims[1].state(id) === 'running');
  assert.ok(z);
  assert.equal((await fetch(`${base}/v1.41/containers/${z}/kill`, { method: 'POST' })).status, 204);
  await inspect(x);
  assert.equal(asked(), n1 + 2, 'a write on the other engine: still from memory');
  // A write whose engine is not known (no such container): nothing kept stands.
  assert.equal((await fetch(`${base}/v1.41/containers/nosuchcontainer/kill`, { method: 'POST' })).status, 404);
  await inspect(x);
  assert.equal(asked(), n1 + 3, 'asked again after a write on no known engine');
  // A container stream read through the manager ended (dockerd ends them as the container stops).
  await inspect(x);
  await (await fetch(`${base}/v1.41/containers/${x}/logs?stdout=1`)).arrayBuffer();
  await inspect(x);
  assert.equal(asked(), n1 + 4, 'asked again after a stream of a container ended');
  assert.ok(sim.startContainer(x));
  assert.ok(sims[1].startContainer(z));
});
