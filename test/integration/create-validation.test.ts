// `POST /containers/create` with wrong JSON types, bad syntax, a wrong
// Content-Type or a bad query, sent both straight to an engine and through the
// manager (2 real engines): the manager must answer with the engine's status
// and message, compared live, and no engine may get a container from it.
// Bodies the engine accepts must pass the manager too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { apiJson, api } from '../../src/devcluster/util.js';
import { eventually } from '../lib/wait.js';
import { clusterBlock, skipReason, withCluster, type TestCluster } from '../lib/cluster.js';
import { nodeStatus } from '../lib/observe.js';

const BLOCK = clusterBlock(8); // slots 80-81, engine ports 24400-24401, manager 24450
const T = { timeout: 30_000 };
const NODES = ['node-0', 'node-1'];
const CREATE = '/v1.41/containers/create';

interface Req {
  /** Raw body (a string is sent as UTF-8). */
  body: string | Buffer;
  /** Content-Type; null: no header. Default application/json. */
  ct?: string | null;
  query?: string;
  /** Transfer-Encoding: chunked instead of a Content-Length. */
  chunked?: boolean;
}

interface Answer { status: number; message: string }

/** One request over a fresh socket, headers and bytes exactly as given. */
function send(addr: string, r: Req): Promise<Answer> {
  const [host, port] = addr.split(':');
  const body = Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8');
  let head = `POST ${CREATE}${r.query ?? ''} HTTP/1.1\r\nHost: ${addr}\r\nConnection: close\r\n`;
  const ct = r.ct === undefined ? 'application/json' : r.ct;
  if (ct !== null) head += `Content-Type: ${ct}\r\n`;
  let payload = body;
  if (r.chunked) {
    head += 'Transfer-Encoding: chunked\r\n';
    payload = Buffer.concat([body.length ? Buffer.from(`${body.length.toString(16)}\r\n`) : Buffer.alloc(0), body, body.length ? Buffer.from('\r\n') : Buffer.alloc(0), Buffer.from('0\r\n\r\n')]);
  } else if (body.length || ct !== null) head += `Content-Length: ${body.length}\r\n`;
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host);
    const chunks: Buffer[] = [];
    s.setTimeout(20_000, () => s.destroy(new Error(`POST ${CREATE} on ${addr}: no answer`)));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('end', () => {
      const all = Buffer.concat(chunks).toString('latin1');
      const split = all.indexOf('\r\n\r\n');
      const headers = all.slice(0, split);
      let text = all.slice(split + 4);
      if (/\r\ntransfer-encoding:\s*chunked/i.test(headers)) {
        let out = '';
        for (let rest = text; ;) {
          const nl = rest.indexOf('\r\n');
          const n = parseInt(rest.slice(0, nl), 16);
          if (!(n > 0)) break;
          out += rest.slice(nl + 2, nl + 2 + n);
          rest = rest.slice(nl + 4 + n);
        }
        text = out;
      }
      text = Buffer.from(text, 'latin1').toString('utf8');
      let message = text.trim();
      try { message = JSON.parse(text).message ?? '(no message)'; } catch { /* plain text answer */ }
      resolve({ status: Number(headers.split(' ')[1]), message });
    });
    // No half-close: the manager (Node) would drop the request. Connection: close ends it.
    s.write(Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), payload]));
  });
}

const j = (v: unknown) => JSON.stringify(v);
const body = (extra: Record<string, unknown>) => j({ Image: 'busybox', ...extra });
const hc = (extra: Record<string, unknown>) => body({ HostConfig: extra });
const raw = (s: string): Req => ({ body: s });

/** Requests dockerd refuses before creating anything. */
const REFUSED: Array<[string, Req]> = [
  // HostConfig resources: int64
  ...['x', '2', true, [1], {}].map((v): [string, Req] => [`HostConfig.CpuShares ${j(v)}`, raw(hc({ CpuShares: v }))]),
  ...['1.5', '1e3', '1.0', '9223372036854775808', '-9223372036854775809'].map((v): [string, Req] => [`HostConfig.CpuShares ${v}`, raw(`{"Image":"busybox","HostConfig":{"CpuShares":${v}}}`)]),
  ...['x', '2', true, [1], {}].map((v): [string, Req] => [`HostConfig.Memory ${j(v)}`, raw(hc({ Memory: v }))]),
  ['HostConfig.Memory 1.5', raw('{"Image":"busybox","HostConfig":{"Memory":1.5}}')],
  ...['x', true, [1], {}].map((v): [string, Req] => [`HostConfig.NanoCpus ${j(v)}`, raw(hc({ NanoCpus: v }))]),
  ['HostConfig.NanoCpus 1.5', raw('{"Image":"busybox","HostConfig":{"NanoCpus":1.5}}')],
  // API < 1.19 top-level resources
  ['CpuShares "x"', raw(body({ CpuShares: 'x' }))],
  ['CpuShares 1.5', raw('{"Image":"busybox","CpuShares":1.5}')],
  ['Memory [1]', raw(body({ Memory: [1] }))],
  // Go matches field names case-insensitively; duplicates and order
  ['hostconfig.CPUSHARES "x"', raw('{"Image":"busybox","hostconfig":{"CPUSHARES":"x"}}')],
  ['CpuShares "x" then 2', raw('{"Image":"busybox","HostConfig":{"CpuShares":"x","CpuShares":2}}')],
  ['Memory "x" before CpuShares "y"', raw('{"Image":"busybox","HostConfig":{"Memory":"x","CpuShares":"y"}}')],
  ['CpuShares "x" top-level before HostConfig', raw('{"Image":"busybox","CpuShares":"x","HostConfig":{"CpuShares":"y"}}')],
  // Config
  ...[5, true, [], {}].map((v): [string, Req] => [`Image ${j(v)}`, raw(j({ Image: v }))]),
  ['Env "A=1"', raw(body({ Env: 'A=1' }))],
  ['Env [1]', raw(body({ Env: [1] }))],
  ['Env {}', raw(body({ Env: {} }))],
  ['Labels {"a":1}', raw(body({ Labels: { a: 1 } }))],
  ['Labels {"a":true}', raw(body({ Labels: { a: true } }))],
  ['Labels "x"', raw(body({ Labels: 'x' }))],
  ['Labels ["a"]', raw(body({ Labels: ['a'] }))],
  ['ExposedPorts "80/tcp"', raw(body({ ExposedPorts: '80/tcp' }))],
  ['ExposedPorts {"80/tcp":1}', raw(body({ ExposedPorts: { '80/tcp': 1 } }))],
  // HostConfig placement fields
  ['PortBindings "x"', raw(hc({ PortBindings: 'x' }))],
  ['PortBindings ["80/tcp"]', raw(hc({ PortBindings: ['80/tcp'] }))],
  ['PortBindings {"80/tcp":"x"}', raw(hc({ PortBindings: { '80/tcp': 'x' } }))],
  ['PortBindings {"80/tcp":[1]}', raw(hc({ PortBindings: { '80/tcp': [1] } }))],
  ['PortBindings HostPort 80', raw(hc({ PortBindings: { '80/tcp': [{ HostPort: 80 }] } }))],
  ['PortBindings HostIp 1', raw(hc({ PortBindings: { '80/tcp': [{ HostIp: 1 }] } }))],
  ['top-level PortBindings hostport 80', raw(body({ PortBindings: { '80/tcp': [{ hostport: 80 }] } }))],
  ['NetworkMode 5', raw(hc({ NetworkMode: 5 }))],
  ['IpcMode true', raw(hc({ IpcMode: true }))],
  ['PidMode []', raw(hc({ PidMode: [] }))],
  ['Links "x"', raw(hc({ Links: 'x' }))],
  ['Links [1]', raw(hc({ Links: [1] }))],
  ['VolumesFrom "x"', raw(hc({ VolumesFrom: 'x' }))],
  ['VolumesFrom [{}]', raw(hc({ VolumesFrom: [{}] }))],
  ['top-level Links "x"', raw(body({ Links: 'x' }))],
  ['HostConfig "x"', raw(body({ HostConfig: 'x' }))],
  ['HostConfig []', raw(body({ HostConfig: [] }))],
  // NetworkingConfig
  ['NetworkingConfig 5', raw(body({ NetworkingConfig: 5 }))],
  ['EndpointsConfig "x"', raw(body({ NetworkingConfig: { EndpointsConfig: 'x' } }))],
  ['EndpointsConfig {"n":5}', raw(body({ NetworkingConfig: { EndpointsConfig: { n: 5 } } }))],
  ['EndpointsConfig Aliases "x"', raw(body({ NetworkingConfig: { EndpointsConfig: { n: { Aliases: 'x' } } } }))],
  ['EndpointsConfig Links [1]', raw(body({ NetworkingConfig: { EndpointsConfig: { n: { Links: [1] } } } }))],
  ['EndpointsConfig IPAMConfig.IPv4Address 5', raw(body({ NetworkingConfig: { EndpointsConfig: { n: { IPAMConfig: { IPv4Address: 5 } } } } }))],
  ['EndpointsConfig IPPrefixLen 1.5', raw('{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"n":{"IPPrefixLen":1.5}}}}')],
  ['EndpointsConfig DriverOpts {"a":1}', raw(body({ NetworkingConfig: { EndpointsConfig: { n: { DriverOpts: { a: 1 } } } } }))],
  ['EndpointsConfig NetworkID 5', raw(body({ NetworkingConfig: { EndpointsConfig: { n: { NetworkID: 5 } } } }))],
  // the body as a whole
  ['body []', raw('[]')],
  ['body "x"', raw('"x"')],
  ['body 5', raw('5')],
  ['empty body', raw('')],
  ['blank body', raw(' \n')],
  ['truncated body', raw('{"Image":"busybox"')],
  ['trailing comma', raw('{"Image":"busybox",}')],
  ['byte order mark', { body: Buffer.from('\ufeff{"Image":"busybox"}') }],
  ['syntax error after a type error', raw('{"HostConfig":{"CpuShares":"x"} x')],
  // Content-Type, form body, query
  ['x-www-form-urlencoded', { body: body({}), ct: 'application/x-www-form-urlencoded' }],
  ['x-www-form-urlencoded form body', { body: 'Image=busybox', ct: 'application/x-www-form-urlencoded' }],
  ['x-www-form-urlencoded with %zz', { body: body({ Env: ['A=%zz'] }), ct: 'application/x-www-form-urlencoded' }],
  ['text/plain', { body: body({}), ct: 'text/plain' }],
  ['no Content-Type with a body', { body: body({}), ct: null }],
  ['empty Content-Type', { body: body({}), ct: '' }],
  ['application/json; charset (bad parameter)', { body: body({}), ct: 'application/json; charset' }],
  ['application/json; a=1; a=1', { body: body({}), ct: 'application/json; a=1; a=1' }],
  ['no Content-Type, chunked empty body', { body: '', ct: null, chunked: true }],
  ['no Content-Type, chunked body', { body: body({}), ct: null, chunked: true }],
  ['query ?name=a;b', { body: body({}), query: '?name=a;b' }],
  ['query ?name=%zz', { body: body({}), query: '?name=%zz' }],
  ['query error hidden by a bad Content-Type', { body: body({}), query: '?name=a;b', ct: 'text/plain; x' }],
];

/** Requests dockerd's checks let through: the engine's answer (201 or a later refusal) must be the manager's. */
const PASSED: Array<[string, Req]> = [
  ['plain', raw(body({}))],
  ['nulls', raw(body({ Env: null, Labels: null, ExposedPorts: null, HostConfig: { CpuShares: null, Memory: null, NanoCpus: null, PortBindings: null, NetworkMode: null, Links: null }, NetworkingConfig: null }))],
  ['CpuShares 2, -1, int64 max', raw('{"Image":"busybox","HostConfig":{"CpuShares":9223372036854775807,"CpuShares":-1,"CpuShares":2}}')],
  ['Memory 8MB, NanoCpus 0.5 CPU', raw(hc({ Memory: 8 * 2 ** 20, NanoCpus: 5e8 }))],
  ['Memory 2 (engine: too small)', raw(hc({ Memory: 2 }))],
  ['ExposedPorts and bindings with nulls', raw(body({ ExposedPorts: { '80/tcp': null, '81/tcp': { a: 1 } }, HostConfig: { PortBindings: { '80/tcp': [null, { HostPort: null }] } } }))],
  ['Labels {"a":null}', raw(body({ Labels: { a: null } }))],
  ['unknown fields of any type', raw(body({ Foo: 'x', HostConfig: { Bar: [1], Resources: { CpuShares: 'x' } } }))],
  ['trailing bytes after the body', raw('{"Image":"busybox"} x')],
  ['application/json; charset=utf-8', { body: body({}), ct: 'application/json; charset=utf-8' }],
  ['Application/JSON', { body: body({}), ct: 'Application/JSON' }],
  ['chunked application/json', { body: body({}), chunked: true }],
];

describe('create: the manager refuses what dockerd refuses, with its answer (2 engines)', { skip: skipReason() }, () => {
  let c: TestCluster;

  before(async () => {
    c = await withCluster({ ...BLOCK, nodes: 2 });
    // The manager answers /_ping before it has validated its engines.
    const info = await eventually(() => apiJson<any>(c.managerAddr, 'GET', '/info'), (i) => NODES.every((n) => nodeStatus(i, n) === 'Healthy'), 30_000);
    assert.ok(NODES.every((n) => nodeStatus(info, n) === 'Healthy'), JSON.stringify(info.SystemStatus));
  }, { timeout: 180_000 });
  after(async () => {
    await c?.stop();
  }, { timeout: 120_000 });

  async function ids(): Promise<Set<string>> {
    const lists = await Promise.all(c.engines.map((e) => apiJson<Array<{ Id: string }>>(e.addr, 'GET', '/containers/json?all=1')));
    return new Set(lists.flat().map((x) => x.Id));
  }

  /** Remove containers created since `before`, straight on the engines. */
  async function removeNew(before: Set<string>): Promise<string[]> {
    const created: string[] = [];
    for (const e of c.engines) {
      const list = await apiJson<Array<{ Id: string }>>(e.addr, 'GET', '/containers/json?all=1');
      for (const { Id } of list) {
        if (before.has(Id)) continue;
        created.push(`${e.name}:${Id.slice(0, 12)}`);
        await api(e.addr, 'DELETE', `/containers/${Id}?force=1`);
      }
    }
    return created;
  }

  for (const [name, req] of REFUSED) {
    test(`refused: ${name}`, T, async () => {
      const before = await ids();
      const engine = await send(c.engines[0]!.addr, req);
      assert.ok(engine.status >= 400, `the engine accepted it (${engine.status}): not a refusal case`);
      const manager = await send(c.managerAddr, req);
      const created = await removeNew(before);
      assert.deepEqual(manager, engine, 'the manager must answer as the engine does');
      assert.deepEqual(created, [], 'no engine may get a container');
    });
  }

  for (const [name, req] of PASSED) {
    test(`passed: ${name}`, T, async () => {
      const before = await ids();
      const engine = await send(c.engines[0]!.addr, req);
      const manager = await send(c.managerAddr, req);
      const created = await removeNew(before);
      if (engine.status === 201) {
        assert.equal(manager.status, 201, `manager: ${manager.message}`);
        assert.equal(created.length, 2, `one container from each path: ${created}`);
      } else {
        assert.deepEqual(manager, engine, 'the manager must relay the engine\'s refusal');
        assert.deepEqual(created, []);
      }
    });
  }
});
