// Issue 2 "Done when", through the Docker API: dockerode and raw HTTP against
// a manager in front of 3 real engines. Error answers in Docker's form, hijacked
// attach/exec, events with node information, no leaked engine sockets, and an
// engine that goes away and comes back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { bound, sleep, eventually } from '../lib/wait.js';
import { clusterBlock, skipReason, withCluster, type TestCluster } from '../lib/cluster.js';
import { raw, type RawResponse } from '../lib/http.js';
import { connectionsTo, nodeStatus } from '../lib/observe.js';

const BLOCK = clusterBlock(3); // slots 30-32, engine ports 23900-23902, manager 23950
const T = { timeout: 90_000 };
const NODES = ['node-0', 'node-1', 'node-2'];

function json(r: RawResponse): any {
  assert.match(String(r.headers['content-type']), /application\/json/, `content-type of ${r.status} ${r.body}`);
  return JSON.parse(r.body);
}

/** Docker's multiplexed stream (8-byte headers) to {stdout, stderr}. */
function demux(buf: Buffer): { stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i]!;
    const len = buf.readUInt32BE(i + 4);
    const chunk = buf.subarray(i + 8, i + 8 + len).toString('utf8');
    if (kind === 2) stderr += chunk;
    else stdout += chunk;
    i += 8 + len;
  }
  return { stdout, stderr };
}

function collect(s: NodeJS.ReadableStream): { buf: () => Buffer; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  s.on('data', (b: Buffer) => chunks.push(Buffer.from(b)));
  const ended = new Promise<void>((resolve) => {
    s.on('end', () => resolve());
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
  return { buf: () => Buffer.concat(chunks), ended };
}

describe('spine through the Docker API (dockerode, raw HTTP; 3 engines)', { skip: skipReason() }, () => {
  let c: TestCluster;
  let d: Docker;
  let m: string; // manager host:port
  let t0 = 0;
  /** One running container pinned to each node, by node name. */
  const pinned: Record<string, Docker.Container> = {};

  before(async () => {
    t0 = Math.floor(Date.now() / 1000) - 1;
    c = await withCluster({
      ...BLOCK,
      nodes: 3,
      managerArgs: ['--engine-refresh-min-interval', '1s', '--engine-refresh-max-interval', '2s', '--engine-failure-retry', '2'],
    });
    m = c.managerAddr;
    d = new Docker({ host: '127.0.0.1', port: BLOCK.managerPort });
    // The manager answers /_ping before it has validated its engines.
    const ready = await eventually(() => d.info(), (i: any) => NODES.every((n) => nodeStatus(i, n) === 'Healthy'), 30_000);
    assert.ok(NODES.every((n) => nodeStatus(ready, n) === 'Healthy'), JSON.stringify(ready.SystemStatus));
    for (const node of NODES) {
      const ct = await d.createContainer({
        Image: 'busybox',
        name: `pin-${node}`,
        // Exits promptly on SIGTERM, so stopping its engine does not wait 10s.
        Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do echo tick; sleep 0.5; done'],
        Env: [`constraint:node==${node}`],
      });
      await ct.start();
      pinned[node] = ct;
    }
  }, { timeout: 180_000 });
  after(async () => {
    await c?.stop();
  }, { timeout: 120_000 });

  // ---- system -------------------------------------------------------------

  test('/_ping (GET with a version prefix, and HEAD) carries API-Version', T, async () => {
    const g = await raw(m, 'GET', '/v1.41/_ping');
    assert.equal(g.status, 200);
    assert.equal(g.body, 'OK');
    assert.equal(g.headers['api-version'], '1.41');
    const h = await raw(m, 'HEAD', '/_ping');
    assert.equal(h.status, 200);
    assert.equal(h.headers['api-version'], '1.41');
    assert.equal(h.body, '');
    assert.equal(await d.ping().then(String), 'OK');
  });

  test('/version and /info through dockerode', T, async () => {
    const v = await d.version();
    assert.equal(v.ApiVersion, '1.41');
    assert.match(v.Version, /^swarm\//);
    const info = await d.info();
    assert.match(info.ServerVersion, /^swarm\//);
    const st: [string, string][] = info.SystemStatus;
    assert.deepEqual(st.slice(0, 4).map(([k]) => k.trim()), ['Role', 'Strategy', 'Filters', 'Nodes']);
    assert.deepEqual(st.find(([k]) => k.trim() === 'Nodes'), ['Nodes', '3']);
    for (const [i, node] of NODES.entries()) {
      assert.deepEqual(st.find(([k]) => k.trim() === node), [` ${node}`, c.engines[i]!.addr]);
      assert.equal(nodeStatus(info, node), 'Healthy');
    }
    assert.ok(info.ContainersRunning >= 3);
  });

  // ---- errors in Docker's form --------------------------------------------

  test('unknown container: 404 {"message":"No such container: x"} on every verb', T, async () => {
    const r = await raw(m, 'GET', '/containers/x/json');
    assert.equal(r.status, 404);
    assert.deepEqual(json(r), { message: 'No such container: x' });
    for (const [method, path] of [
      ['POST', '/v1.41/containers/x/start'],
      ['POST', '/containers/x/stop'],
      ['GET', '/containers/x/logs?stdout=1'],
      ['DELETE', '/containers/x?force=1'],
      ['POST', '/containers/x/exec'],
    ] as const) {
      const e = await raw(m, method, path, method === 'POST' ? { body: '{}', headers: { 'Content-Type': 'application/json' } } : {});
      assert.equal(e.status, 404, `${method} ${path}: ${e.body}`);
      assert.deepEqual(json(e), { message: 'No such container: x' });
    }
    await assert.rejects(d.getContainer('x').inspect(), (err: any) => err.statusCode === 404 && /No such container: x/.test(err.message));
    // A hijack request for an unknown container gets a plain HTTP 404 too.
    const up = await raw(m, 'POST', '/containers/x/attach?stream=1&stdout=1', { headers: { Connection: 'Upgrade', Upgrade: 'tcp' } });
    assert.equal(up.status, 404);
    assert.deepEqual(JSON.parse(up.body), { message: 'No such container: x' });
    const ex = await raw(m, 'GET', '/exec/nosuchexec/json');
    assert.equal(ex.status, 404);
    assert.match(json(ex).message, /No such exec instance: nosuchexec/);
  });

  test('unknown route: 404 JSON', T, async () => {
    for (const path of ['/nope', '/v1.41/containers/json/extra/nope', '/swarm', '/plugins']) {
      const r = await raw(m, 'GET', path);
      assert.equal(r.status, 404, path);
      assert.equal(typeof json(r).message, 'string');
    }
  });

  test('malformed JSON to /containers/create: the engine\'s own status and message, as JSON', T, async () => {
    // Answered as the engines behind the manager answer it (dockerd 20.10: 500 with Go's text).
    const e = c.engines[0]!.addr;
    for (const body of ['{"Image": "busybox",', '']) {
      const opts = { body, headers: { 'Content-Type': 'application/json' } };
      const direct = await raw(e, 'POST', '/v1.41/containers/create', opts);
      const r = await raw(m, 'POST', '/v1.41/containers/create', opts);
      assert.equal(r.status, direct.status, r.body);
      assert.deepEqual(json(r), JSON.parse(direct.body));
      assert.ok(json(r).message.length > 0);
    }
  });

  test('API version outside the advertised range: 400', T, async () => {
    const newer = await raw(m, 'GET', '/v9.99/info');
    assert.equal(newer.status, 400);
    assert.match(json(newer).message, /9\.99.*too new/);
    const older = await raw(m, 'GET', '/v1.11/info');
    assert.equal(older.status, 400);
    assert.match(json(older).message, /too old/);
    assert.equal((await raw(m, 'GET', '/v1.24/info')).status, 200);
  });

  test('create with a missing image: 404 with Docker\'s own text', T, async () => {
    const r = await raw(m, 'POST', '/containers/create', { body: JSON.stringify({ Image: 'nosuch' }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 404, r.body);
    assert.deepEqual(json(r), { message: 'No such image: nosuch:latest' });
    await assert.rejects(d.createContainer({ Image: 'nosuch:latest' }), (err: any) => err.statusCode === 404);
  });

  test('name conflict: 409 from anywhere in the cluster', T, async () => {
    const home = await (await d.createContainer({ Image: 'busybox', name: 'api-dupe' })).inspect();
    for (let i = 0; i < 3; i++) {
      // Spread would pick another node each time: the manager itself must refuse.
      await assert.rejects(d.createContainer({ Image: 'busybox', name: 'api-dupe' }), (err: any) => {
        assert.equal(err.statusCode, 409);
        assert.match(err.message, /Conflict\. The container name "\/api-dupe" is already in use/);
        return true;
      });
    }
    const list = await d.listContainers({ all: true, filters: JSON.stringify({ name: ['api-dupe'] }) });
    assert.deepEqual(list.map((x) => x.Names), [[`/${(home as any).Node.Name}/api-dupe`]]);
    await d.getContainer(home.Id).remove({ force: true });
  });

  test('ambiguous ID prefix: dockerd\'s error; unique prefixes still resolve', T, async () => {
    const made: string[] = [];
    let shared: string | undefined;
    try {
      const existing = (await d.listContainers({ all: true })).map((x) => x.Id);
      // 17 IDs always share a first hex digit; usually a handful suffice.
      while (!shared && made.length < 17) {
        made.push((await d.createContainer({ Image: 'busybox', Cmd: ['true'] })).id);
        const firsts = [...existing, ...made].map((id) => id[0]!);
        shared = firsts.find((ch, i) => firsts.indexOf(ch) !== i);
      }
      assert.ok(shared, 'no shared first digit');
      const r = await raw(m, 'GET', `/containers/${shared}/json`);
      assert.equal(r.status, 500, r.body);
      assert.deepEqual(json(r), { message: `Multiple IDs found with provided prefix: ${shared}` });
      // A prefix long enough to be unique works for every container made.
      const all = [...existing, ...made];
      for (const id of made) {
        let n = 1;
        while (all.filter((x) => x.startsWith(id.slice(0, n))).length > 1) n++;
        const got = await raw(m, 'GET', `/containers/${id.slice(0, n)}/json`);
        assert.equal(got.status, 200, `prefix ${id.slice(0, n)}: ${got.body}`);
        assert.equal(json(got).Id, id);
      }
    } finally {
      for (const id of made) await d.getContainer(id).remove({ force: true }).catch(() => undefined);
    }
  });

  // ---- list and inspect ---------------------------------------------------

  test('GET /containers/json?filters={"node":["node-1"]} lists exactly node-1\'s containers', T, async () => {
    const r = await raw(m, 'GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ node: ['node-1'] }))}`);
    assert.equal(r.status, 200);
    const list: any[] = json(r);
    assert.ok(list.length >= 1);
    for (const x of list) assert.match(x.Names[0], /^\/node-1\/[^/]+$/);
    const own: any[] = json(await raw(c.engines[1]!.addr, 'GET', '/containers/json?all=1'));
    assert.deepEqual(list.map((x) => x.Id).sort(), own.map((x) => x.Id).sort());
    // Every list item is the engine's own, with the node-qualified name.
    const all = await d.listContainers({ all: true });
    const pin = all.find((x) => x.Names[0] === '/node-2/pin-node-2');
    assert.ok(pin, JSON.stringify(all.map((x) => x.Names)));
    assert.equal(pin.State, 'running');
  });

  test('GET /containers/{id}/json adds Node {ID, Name, Addr, IP, Cpus, Memory, Labels}', T, async () => {
    for (const [i, node] of NODES.entries()) {
      const insp: any = await pinned[node]!.inspect();
      const engInfo: any = json(await raw(c.engines[i]!.addr, 'GET', '/info'));
      assert.equal(insp.Name, `/pin-${node}`);
      assert.deepEqual(Object.keys(insp.Node).sort(), ['Addr', 'Cpus', 'ID', 'IP', 'Labels', 'Memory', 'Name']);
      assert.equal(insp.Node.ID, engInfo.ID);
      assert.equal(insp.Node.Name, node);
      assert.equal(insp.Node.Addr, c.engines[i]!.addr);
      assert.equal(insp.Node.IP, '127.0.0.1');
      assert.equal(insp.Node.Cpus, engInfo.NCPU);
      assert.equal(insp.Node.Memory, engInfo.MemTotal);
      assert.equal(insp.Node.Labels.ostype, 'linux');
      // By node/name too, with the version prefix.
      const r = await raw(m, 'GET', `/v1.41/containers/${node}/pin-${node}/json`);
      assert.equal(r.status, 200, r.body);
      assert.equal(json(r).Id, insp.Id);
    }
  });

  test('inspect answered from memory stays true: writes through the manager show at once, changes on the engine once their event came, health checks always asked', T, async () => {
    const ct = await d.createContainer({ Image: 'busybox', Cmd: ['sleep', '600'], Env: ['constraint:node==node-0'] });
    const hc = await d.createContainer({
      Image: 'busybox', Cmd: ['sleep', '600'], Env: ['constraint:node==node-0'],
      Healthcheck: { Test: ['CMD', 'true'], Interval: 300_000_000_000, StartPeriod: 0, Retries: 1 } as any,
    });
    const engine = c.engines[0]!.addr;
    try {
      await ct.start();
      await hc.start();
      const inspect = async (): Promise<any> => json(await raw(m, 'GET', `/v1.41/containers/${ct.id}/json`));
      await sleep(1_200); // past the quiet window after its start's events: answers are kept now
      assert.equal((await inspect()).State.Paused, false);
      assert.equal((await inspect()).State.Paused, false);

      // Through the manager: the next inspect shows it, whatever events are still on their way.
      assert.equal((await raw(m, 'POST', `/v1.41/containers/${ct.id}/pause`)).status, 204);
      assert.equal((await inspect()).State.Paused, true, 'paused through the manager');
      assert.equal((await raw(m, 'POST', `/v1.41/containers/${ct.id}/unpause`)).status, 204);
      assert.equal((await inspect()).State.Paused, false, 'unpaused through the manager');
      await sleep(1_200);
      await inspect();
      const exec = json(await raw(m, 'POST', `/v1.41/containers/${ct.id}/exec`, { body: JSON.stringify({ Cmd: ['true'] }), headers: { 'Content-Type': 'application/json' } }));
      assert.ok((await inspect()).ExecIDs?.includes(exec.Id), 'an exec created through the manager is in the next inspect');

      // On the engine itself: shown once its event has come (well within the 10 s bound).
      await sleep(1_200);
      await inspect();
      assert.equal((await raw(engine, 'POST', `/containers/${ct.id}/pause`)).status, 204);
      const paused = await eventually(inspect, (i) => i.State.Paused === true, 3_000, 50);
      assert.equal(paused.State.Paused, true, 'paused on the engine');
      assert.equal((await raw(engine, 'POST', `/containers/${ct.id}/rename?name=renamed-on-engine-${ct.id.slice(0, 6)}`)).status, 204);
      const renamed = await eventually(inspect, (i) => i.Name.startsWith('/renamed-on-engine'), 3_000, 50);
      assert.match(renamed.Name, /^\/renamed-on-engine-/);
      assert.equal((await raw(engine, 'POST', `/containers/${ct.id}/unpause`)).status, 204);
      assert.equal((await eventually(inspect, (i) => i.State.Paused === false, 3_000, 50)).State.Paused, false);

      // A health-checked container is asked every time: its log changes without an event.
      const hinspect = async (): Promise<any> => json(await raw(m, 'GET', `/v1.41/containers/${hc.id}/json`));
      assert.ok((await hinspect()).State.Health, 'has a health state');
      const memory = async (): Promise<number> => {
        const text = (await raw(m, 'GET', '/metrics')).body;
        return Number(/^swarm_container_inspects_total\{from="memory"\} (\d+)/m.exec(text)?.[1] ?? NaN);
      };
      await sleep(1_200);
      const before = await memory();
      await hinspect();
      await hinspect();
      assert.equal(await memory(), before, 'no health-checked answer from memory');
      await inspect();
      await inspect();
      assert.equal(await memory(), before + 1, 'the other container: its second inspect from memory');
    } finally {
      await ct.remove({ force: true });
      await hc.remove({ force: true });
    }
  });

  // ---- hijack -------------------------------------------------------------

  test('dockerode attach with stdin (hijack), half-close ends the container', T, async () => {
    // Several rounds: dockerode sends its options as a request body, which must
    // never reach the container's stdin (a timing-dependent failure).
    for (let round = 0; round < 5; round++) {
      const ct = await d.createContainer({
        Image: 'busybox',
        Cmd: ['sh', '-c', 'cat; echo done >&2'],
        OpenStdin: true,
        StdinOnce: true,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
      });
      try {
        const s = (await ct.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as NodeJS.ReadWriteStream;
        const out = collect(s);
        await ct.start();
        s.write(`hello through the hijack ${round}\n`);
        s.write('second line\n');
        s.end(); // half-close: cat sees EOF, output still flows back
        const w = await ct.wait();
        await Promise.race([out.ended, bound(3000)]);
        assert.equal(w.StatusCode, 0);
        assert.deepEqual(demux(out.buf()), { stdout: `hello through the hijack ${round}\nsecond line\n`, stderr: 'done\n' }, `round ${round}`);
      } finally {
        await ct.remove({ force: true });
      }
    }
  });

  test('slow client calls (parallel stops) never hold up the manager\'s own calls to that engine', T, async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      // sleep ignores SIGTERM as PID 1: each stop waits out its timeout.
      const ct = await d.createContainer({ Image: 'busybox', Cmd: ['sleep', '600'], Env: ['constraint:node==node-0'] });
      await ct.start();
      ids.push(ct.id);
    }
    try {
      const stops = ids.map((id) => raw(m, 'POST', `/v1.41/containers/${id}/stop?t=3`, { timeoutMs: 30_000 }));
      await sleep(300);
      const t = Date.now();
      const created = await d.createContainer({ Image: 'busybox', Cmd: ['true'], Env: ['constraint:node==node-0'] });
      const took = Date.now() - t;
      await created.remove({ force: true });
      assert.ok(took < 2000, `create on node-0 took ${took} ms while 8 stops were in flight`);
      for (const r of await Promise.all(stops)) assert.equal(r.status, 204, r.body);
    } finally {
      for (const id of ids) await d.getContainer(id).remove({ force: true }).catch(() => undefined);
    }
  });

  test('POST /containers/prune prunes on every node and merges the answers', T, async () => {
    const ids: string[] = [];
    for (const node of ['node-0', 'node-2']) {
      const ct = await d.createContainer({ Image: 'busybox', Cmd: ['true'], Env: [`constraint:node==${node}`] });
      await ct.start();
      await ct.wait();
      ids.push(ct.id);
    }
    const keep = await d.createContainer({ Image: 'busybox', Cmd: ['sleep', '60'] });
    await keep.start();
    try {
      const r = await raw(m, 'POST', '/v1.41/containers/prune');
      assert.equal(r.status, 200, r.body);
      const body = json(r);
      for (const id of ids) assert.ok(body.ContainersDeleted.includes(id), `${id} not pruned: ${r.body}`);
      assert.equal(typeof body.SpaceReclaimed, 'number');
      const left: any[] = await d.listContainers({ all: true });
      assert.ok(!left.some((x) => ids.includes(x.Id)), 'pruned containers still listed');
      assert.ok(left.some((x) => x.Id === keep.id), 'a running container was pruned');
    } finally {
      await keep.remove({ force: true });
    }
  });

  test('attach/ws: a websocket upgrade is spliced through to the owner', T, async () => {
    const ct = await d.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'while read l; do echo "got:$l"; done'], OpenStdin: true });
    try {
      await ct.start();
      const frame = await new Promise<string>((resolve, reject) => {
        const [host, port] = m.split(':');
        const sock = net.connect(Number(port), host, () => {
          sock.write(`GET /v1.41/containers/${ct.id.slice(0, 12)}/attach/ws?stream=1&stdin=1&stdout=1 HTTP/1.1\r\n` +
            `Host: ${m}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: http://${m}\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
        });
        let buf = Buffer.alloc(0);
        let upgraded = false;
        const timer = setTimeout(() => { sock.destroy(); reject(new Error('no websocket frame: ' + buf.toString())); }, 10_000);
        sock.on('error', reject);
        sock.on('data', (chunk) => {
          buf = Buffer.concat([buf, chunk]);
          if (!upgraded) {
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const statusLine = buf.subarray(0, buf.indexOf('\r\n')).toString();
            if (!statusLine.includes(' 101 ')) { clearTimeout(timer); sock.destroy(); reject(new Error(statusLine)); return; }
            upgraded = true;
            buf = buf.subarray(end + 4);
            const payload = Buffer.from('hello ws\n');
            const mask = randomBytes(4);
            sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4])]));
          }
          const len = buf.length >= 2 ? buf[1] & 0x7f : -1;
          if (len >= 0 && buf.length >= 2 + len) {
            clearTimeout(timer);
            sock.destroy();
            resolve(buf.subarray(2, 2 + len).toString());
          }
        });
      });
      assert.equal(frame, 'got:hello ws\n');
    } finally {
      await ct.remove({ force: true });
    }
  });

  test('dockerode exec start with hijack and stdin; exec inspect; detached exec', T, async () => {
    const ct = pinned['node-1']!;
    const ex = await ct.exec({ Cmd: ['sh', '-c', 'read x; echo got:$x; echo err >&2; exit 3'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const s = (await ex.start({ hijack: true, stdin: true })) as NodeJS.ReadWriteStream;
    const out = collect(s);
    s.write('abc\n');
    await Promise.race([out.ended, bound(10_000)]);
    assert.deepEqual(demux(out.buf()), { stdout: 'got:abc\n', stderr: 'err\n' });
    const ei: any = await eventually(() => ex.inspect(), (x: any) => x.Running === false, 5000);
    assert.equal(ei.ExitCode, 3);
    assert.equal(ei.ContainerID, (await ct.inspect()).Id);

    // Detach: true is a plain request, not a hijack.
    const bg = await ct.exec({ Cmd: ['sh', '-c', 'echo bg > /tmp/bg.txt'] });
    const r = await raw(m, 'POST', `/exec/${bg.id}/start`, { body: JSON.stringify({ Detach: true }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 200, r.body);
    const bgi: any = await eventually(() => bg.inspect(), (x: any) => x.Running === false && x.ExitCode === 0, 5000);
    assert.equal(bgi.ExitCode, 0);
    const cat = await ct.exec({ Cmd: ['cat', '/tmp/bg.txt'], AttachStdout: true, AttachStderr: true });
    const cs = (await cat.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream;
    const co = collect(cs);
    await Promise.race([co.ended, bound(10_000)]);
    assert.equal(demux(co.buf()).stdout, 'bg\n');
  });

  // ---- events -------------------------------------------------------------

  test('/events with since/until: JSON lines, each with its node; a start on every node', T, async () => {
    const until = Math.floor(Date.now() / 1000) + 1;
    await sleep(1100);
    const r = await raw(m, 'GET', `/v1.41/events?since=${t0}&until=${until}`, { timeoutMs: 20_000 });
    assert.equal(r.status, 200);
    const evs = r.body.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    assert.ok(evs.length > 0);
    let last = 0;
    for (const ev of evs) {
      assert.ok(ev.time >= t0 && ev.time <= until, `time ${ev.time}`);
      assert.ok(ev.timeNano >= last, 'events come in time order');
      last = ev.timeNano;
      const i = NODES.indexOf(ev.node?.Name);
      assert.ok(i >= 0, `event without node: ${JSON.stringify(ev)}`);
      assert.deepEqual(Object.keys(ev.node).sort(), ['Addr', 'Id', 'Ip', 'Name']);
      assert.equal(ev.node.Addr, c.engines[i]!.addr);
      assert.equal(ev.node.Ip, '127.0.0.1');
      if (ev.Actor) assert.equal(ev.Actor.Attributes['node.name'], ev.node.Name);
    }
    const starts = evs.filter((ev) => ev.Type === 'container' && ev.Action === 'start');
    for (const node of NODES) {
      assert.ok(starts.some((ev) => ev.node.Name === node && ev.Actor.Attributes.name === `pin-${node}`), `no start of pin-${node} on ${node}`);
    }
    // The same through dockerode, filtered by node on the manager.
    const s = (await d.getEvents({ since: t0, until, filters: JSON.stringify({ node: ['node-2'], event: ['start'] }) })) as NodeJS.ReadableStream;
    const got = collect(s);
    await Promise.race([got.ended, bound(15_000)]);
    const evs2 = got.buf().toString('utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    assert.ok(evs2.length >= 1);
    assert.ok(evs2.every((ev) => ev.node.Name === 'node-2' && ev.Action === 'start'), JSON.stringify(evs2));
  });

  // ---- no leaked engine sockets ---------------------------------------------

  test('a client leaving mid logs -f / stats stream closes the engine side too', T, async () => {
    const target = c.engines[0]!;
    const pin = pinned['node-0']!;
    const pid = c.manager!.pid;
    // Warm up: the manager's own pool connections to this engine settle first.
    await sleep(500);
    const base = await connectionsTo(target.port, pid);
    const reqs: http.ClientRequest[] = [];
    const open = (path: string) =>
      new Promise<void>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: BLOCK.managerPort, path, agent: false }, (res) => {
          assert.equal(res.statusCode, 200);
          res.once('data', () => resolve()); // the stream is flowing from the engine
          res.on('error', () => undefined);
        });
        req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
        reqs.push(req);
      });
    await Promise.all([
      ...Array.from({ length: 5 }, () => open(`/v1.41/containers/${pin.id}/logs?follow=1&stdout=1&stderr=1&tail=1`)),
      ...Array.from({ length: 5 }, () => open(`/v1.41/containers/${pin.id}/stats?stream=1`)),
    ]);
    const during = await connectionsTo(target.port, pid);
    // Each stream holds its own engine connection (a stream may pick up an idle keep-alive one).
    assert.ok(during >= base + 6, `10 streams open, but only ${during - base} more manager->engine connections (base ${base})`);
    for (const r of reqs) r.destroy();
    const ok = (n: number) => n <= base + 2 && n <= during - 8;
    const afterAbort = await eventually(() => connectionsTo(target.port, pid), ok, 5000);
    assert.ok(ok(afterAbort), `engine-side connections still open: ${afterAbort} (base ${base}, during ${during})`);
  });

  // ---- an engine goes away and comes back (keep last) ------------------------

  test('unreachable engine: 500 naming the node, not Healthy in info, then healthy again', { timeout: 120_000 }, async () => {
    const pin = pinned['node-2']!;
    await c.set.stopEngine(2);
    const r = await raw(m, 'GET', `/containers/${pin.id}/json`);
    assert.equal(r.status, 500, r.body);
    assert.match(json(r).message, /node-2/);
    assert.match(json(r).message, /127\.0\.0\.1:23902/);

    const down = await eventually(() => d.info(), (i: any) => nodeStatus(i, 'node-2') !== 'Healthy', 15_000);
    assert.notEqual(nodeStatus(down, 'node-2'), 'Healthy');
    assert.equal(nodeStatus(down, 'node-0'), 'Healthy');
    const dockerInfo = await c.docker(['info']);
    assert.match(dockerInfo.stdout, /node-2: 127\.0\.0\.1:23902\n\s+└ ID: \S+\n\s+└ Status: (Unhealthy|Pending|Disconnected)/);
    assert.match(dockerInfo.stdout, /└ Error: .*node-2|└ Error: .*23902/);
    // Its containers show as "Host Down"; new ones go to the healthy nodes.
    const listed = (await d.listContainers({ all: true })).find((x) => x.Id === pin.id);
    assert.equal(listed?.Status, 'Host Down');
    const still = await raw(m, 'GET', `/containers/${pin.id}/json`);
    assert.equal(still.status, 500);
    assert.match(json(still).message, /node-2/);
    for (let i = 0; i < 3; i++) {
      const ct = await d.createContainer({ Image: 'busybox', Cmd: ['true'] });
      const insp: any = await ct.inspect();
      assert.notEqual(insp.Node.Name, 'node-2');
      await ct.remove();
    }

    await c.set.restartEngine(2);
    const up = await eventually(() => d.info(), (i: any) => nodeStatus(i, 'node-2') === 'Healthy', 30_000);
    assert.equal(nodeStatus(up, 'node-2'), 'Healthy');
    const back = await raw(m, 'GET', `/containers/${pin.id}/json`);
    assert.equal(back.status, 200, back.body);
    assert.equal(json(back).Node.Name, 'node-2');
    // And it takes work again.
    const ct = await d.createContainer({ Image: 'busybox', Cmd: ['echo', 'back'], Env: ['constraint:node==node-2'] });
    await ct.start();
    assert.equal((await ct.wait()).StatusCode, 0);
    const logs = (await ct.logs({ stdout: true })) as unknown as Buffer;
    assert.equal(demux(Buffer.from(logs)).stdout, 'back\n');
  });
});
