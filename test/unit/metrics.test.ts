// GET /metrics: Prometheus text format that parses, with every family listed
// in docs/divergence.md, requests labelled by route name, never by raw path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { createFilters } from '../../filters/index.js';
import { createStrategy } from '../../strategies/index.js';
import { createHandlers } from '../../src/api/app.js';
import type { ApiContext } from '../../src/api/context.js';

let sims: Simulator[] = [];
let cluster: Cluster;
let server: http.Server;
let base = '';

before(async () => {
  sims = [
    await startSimulator({ port: 0, name: 'met-a', containers: 4 }),
    await startSimulator({ port: 0, name: 'met-b', containers: 2 }),
  ];
  cluster = new Cluster({ refreshMinMs: 60_000, refreshMaxMs: 120_000, failureRetry: 2, overcommit: 0, createRetry: 0 },
    new Scheduler(createFilters(['health']), createStrategy('spread')));
  cluster.setEngines(sims.map((s) => s.addr));
  await Promise.all([...cluster.engines.values()].map((e) => e.firstAttempt));
  const ctx: ApiContext = { cluster, strategy: 'spread', filters: ['health'], cors: false, role: 'primary' };
  server = http.createServer(createHandlers(ctx).request);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await cluster?.stop();
  for (const s of sims) await s.stop();
});

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Family { help: string; type: string; samples: Sample[] }

/** The text exposition format, strictly: every line a comment or `name{k="v",...} value`. */
function parse(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (n: string): Family => {
    let f = families.get(n);
    if (!f) families.set(n, (f = { help: '', type: '', samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    if (!line) continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) { if (m[1] === 'HELP') family(m[2]).help = m[3]; else family(m[2]).type = m[3]; continue; }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').split(',').filter(Boolean)) {
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/.exec(l);
      assert.ok(lm, `a label: ${l} in ${line}`);
      labels[lm[1]] = lm[2];
    }
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value), line);
    const name = m[1];
    const base = [...families.keys()].find((f) => name === f || (families.get(f)!.type === 'histogram' && /^(.*)_(bucket|sum|count)$/.exec(name)?.[1] === f));
    assert.ok(base, `sample ${name} follows its family's HELP/TYPE`);
    families.get(base)!.samples.push({ name, labels, value });
  }
  return families;
}

async function scrape(): Promise<Map<string, Family>> {
  const r = await fetch(`${base}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(await r.text());
}

const value = (f: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined => {
  const fam = [...f.values()].flatMap((x) => x.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return fam.length ? fam.reduce((n, s) => n + s.value, 0) : undefined;
};

test('metrics: every family, requests by route name and code, cluster gauges', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${base}/_ping`)).status, 200);
  assert.equal((await fetch(`${base}/v1.41/info`)).status, 200);
  const id = sims[0].ids()[0];
  assert.equal((await fetch(`${base}/containers/${id}/json`)).status, 200);
  assert.equal((await fetch(`${base}/containers/nope-nope/json`)).status, 404);
  assert.equal((await fetch(`${base}/no/such/route`)).status, 404);
  const versioned = await fetch(`${base}/v1.41/metrics`);
  assert.equal(versioned.status, 404, 'only /metrics, unversioned');
  assert.deepEqual(await versioned.json(), { message: 'page not found' });

  const f = await scrape();
  for (const [name, type] of Object.entries({
    swarm_http_requests_total: 'counter', swarm_http_request_duration_seconds: 'histogram', swarm_engines: 'gauge', swarm_containers: 'gauge',
    swarm_pending_reservations: 'gauge', swarm_engine_sockets: 'gauge', swarm_engine_refresh_duration_seconds: 'histogram',
    swarm_event_lag_seconds: 'histogram', swarm_event_lag_max_seconds: 'gauge', swarm_event_streams_lost_total: 'counter',
    swarm_event_streams_resumed_total: 'counter', process_cpu_seconds_total: 'counter', process_resident_memory_bytes: 'gauge',
    process_open_fds: 'gauge', process_max_fds: 'gauge', process_start_time_seconds: 'gauge', process_heap_bytes: 'gauge',
    swarm_container_inspects_total: 'counter', swarm_container_inspect_kept_bytes: 'gauge',
  })) {
    assert.equal(f.get(name)?.type, type, `${name} is a ${type}`);
    assert.ok(f.get(name)!.help.length > 0, `${name} has help`);
  }
  assert.equal(value(f, 'swarm_http_requests_total', { route: 'Ping', code: '200' }), 3);
  assert.equal(value(f, 'swarm_http_requests_total', { route: 'Info', code: '200' }), 1);
  assert.equal(value(f, 'swarm_http_requests_total', { route: 'ContainerInspect', code: '200' }), 1);
  assert.equal(value(f, 'swarm_http_requests_total', { route: 'ContainerInspect', code: '404' }), 1);
  // The 404 is the manager's own (no such container): the engine was asked once.
  assert.equal(value(f, 'swarm_container_inspects_total', { from: 'engine' }), 1);
  assert.equal(value(f, 'swarm_container_inspects_total', { from: 'memory' }), 0);
  assert.equal(value(f, 'swarm_http_requests_total', { route: 'none', code: '404' }), 1, 'an unknown path under one label');
  assert.equal(value(f, 'swarm_http_requests_total', { route: 'Metrics', code: '404' }), 1);
  const routes = new Set(f.get('swarm_http_requests_total')!.samples.map((s) => s.labels.route));
  assert.ok(![...routes].some((r) => r.includes('/')), `route names, not paths: ${[...routes]}`);
  assert.equal(value(f, 'swarm_http_request_duration_seconds_count', { route: 'Ping', code: '200' }), 3);
  assert.equal(value(f, 'swarm_http_request_duration_seconds_bucket', { route: 'Ping', code: '200', le: '+Inf' }), 3);

  assert.equal(value(f, 'swarm_engines', { state: 'healthy' }), 2);
  assert.equal(value(f, 'swarm_engines', { state: 'unhealthy' }), 0);
  assert.equal(value(f, 'swarm_containers'), 6);
  assert.equal(value(f, 'swarm_pending_reservations'), 0);
  assert.equal(value(f, 'swarm_engine_sockets', { pool: 'events' }), 2);
  for (const pool of ['manager', 'client', 'stream', 'hijack', 'probe']) assert.ok(value(f, 'swarm_engine_sockets', { pool }) !== undefined, pool);
  assert.ok(value(f, 'swarm_engine_refresh_duration_seconds_count')! >= 2, 'one full refresh per engine at least');
  const buckets = f.get('swarm_engine_refresh_duration_seconds')!.samples.filter((s) => s.name.endsWith('_bucket')).map((s) => s.value);
  assert.ok(buckets.every((v, i) => i === 0 || v >= buckets[i - 1]), 'buckets are cumulative');
  assert.ok(value(f, 'process_resident_memory_bytes')! > 0);
  assert.ok(value(f, 'process_open_fds')! > 0);
});

test('metrics: event lag observed per event, a lost event stream counted', async () => {
  const before = value(await scrape(), 'swarm_event_lag_seconds_count') ?? 0;
  const sim = sims[1];
  const id = sim.ids()[0];
  assert.ok(sim.state(id) === 'running' ? sim.stopContainer(id) : sim.startContainer(id), `an event from ${sim.state(id)}`);
  const deadline = Date.now() + 10_000; // does not hang
  let f = await scrape();
  while ((value(f, 'swarm_event_lag_seconds_count') ?? 0) <= before) {
    assert.ok(Date.now() < deadline, 'the start event is counted');
    await new Promise((r) => setTimeout(r, 20));
    f = await scrape();
  }
  assert.ok(value(f, 'swarm_event_lag_max_seconds')! >= 0);

  const e = cluster.engines.get(sim.addr)!;
  for (let i = 0; i < 2; i++) e.markSuspect(new Error('simulated outage'));
  while ((value(f, 'swarm_event_streams_lost_total') ?? 0) < 1) {
    assert.ok(Date.now() < deadline + 10_000, 'the lost stream is counted');
    await new Promise((r) => setTimeout(r, 20));
    f = await scrape();
  }
  assert.equal(value(f, 'swarm_engines', { state: 'unhealthy' }), 1);
});
