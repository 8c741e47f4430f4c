// Placement cost: one Scheduler.select (default filters, spread) over 10,
// 100 and 1,000 nodes of 30 containers each, for several kinds of request;
// plus the cost of the node snapshots the cluster builds for each decision.
//
//   node dist/bench/placement.js [--quick]
//
// Nodes are real Engine objects (never started) filled with the list and
// inspect JSON of a simulated engine, so snapshots are what the manager
// would build; requests go through buildScheduleRequest like a create.
import { Engine } from '../src/cluster/engine.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { buildScheduleRequest } from '../src/scheduler/build.js';
import type { Node } from '../src/scheduler/node.js';
import { createFilters, DEFAULT_FILTERS } from '../filters/index.js';
import { createStrategy } from '../strategies/index.js';
import { startSimulator } from './simulator.js';
import { percentile, table } from './lib.js';

const PER_NODE = 30;

const REQUESTS: Array<{ name: string; body: any; cname?: string }> = [
  { name: 'plain (image only)', body: { Image: 'busybox', Cmd: ['true'] } },
  { name: 'memory + cpu reservation', body: { Image: 'busybox', HostConfig: { Memory: 64 * 1024 ** 2, CpuShares: 2 } } },
  { name: 'host port 18080', body: { Image: 'nginx:1.25', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '18080' }] } } } },
  { name: 'constraints (label, node regex)', body: { Image: 'busybox', Env: ['constraint:zone==z1', 'constraint:node!=/sim-1[0-9]$/'] } },
  { name: 'affinities (label, image)', body: { Image: 'busybox', Env: ['affinity:com.example.app==web', 'affinity:image==nginx:1.25'] } },
  { name: 'affinity container!=name', body: { Image: 'busybox', Env: ['affinity:container!=sim-3-c4'] } },
  { name: 'soft affinity unmet (2 passes)', body: { Image: 'busybox', Env: ['affinity:container==~nowhere'] } },
  {
    name: 'all of it + name',
    cname: 'placed',
    body: {
      Image: 'nginx:1.25', Env: ['constraint:zone!=z0', 'affinity:com.example.tier==frontend', 'affinity:container!=sim-2-c0'],
      HostConfig: { Memory: 64 * 1024 ** 2, PortBindings: { '80/tcp': [{ HostPort: '18081' }] } },
    },
  },
];

function us(v: number): string { return v < 10 ? `${v.toFixed(2)} µs` : v < 1000 ? `${v.toFixed(0)} µs` : `${(v / 1000).toFixed(2)} ms`; }

function time(iterations: number, f: () => void): { p50: number; p99: number } {
  for (let i = 0; i < Math.min(50, iterations); i++) f(); // warm-up (JIT)
  const s: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    f();
    s.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  s.sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99) };
}

/** Engines filled from one simulator's answers (IDs and names rewritten per engine). */
async function makeEngines(n: number, list: any[], inspects: Map<string, any>): Promise<Engine[]> {
  const engines: Engine[] = [];
  for (let i = 0; i < n; i++) {
    const e = new Engine(`127.0.0.1:${40000 + i}`, { refreshMinMs: 3_600_000, refreshMaxMs: 3_600_000, failureRetry: 3, overcommit: 0.05 });
    e.id = `SIM${i}`;
    e.name = `sim-${i}`;
    e.cpus = 8;
    e.memory = 32 * 1024 ** 3;
    e.labels = { zone: `z${i % 4}`, storagedriver: 'overlay2', ostype: 'linux' };
    e.state = 'healthy';
    const own = new Map<string, any>();
    const summaries = list.map((s0) => {
      const suffix = i.toString(16).padStart(8, '0');
      const id = s0.Id.slice(0, 56) + suffix;
      const name = s0.Names[0].replace(/^\/[^-]+-[^-]+-/, `/sim-${i}-`);
      own.set(id, { ...inspects.get(s0.Id), Id: id, Name: name });
      return { ...s0, Id: id, Names: [name] };
    });
    // The cache's own merge path, as a first load does (inspects answered from memory).
    await e.containers.merge(summaries, [], e.containers.nextSeq(), async (id) => own.get(id));
    e.resources.nodeImages = [
      { id: 'sha256:' + 'b'.repeat(64), repoTags: ['busybox:latest'], repoDigests: [] },
      { id: 'sha256:' + 'c'.repeat(64), repoTags: ['nginx:1.25'], repoDigests: [] },
    ];
    engines.push(e);
  }
  return engines;
}

export async function runPlacementBench(o: { sizes: number[]; quick: boolean }): Promise<string> {
  // One simulated engine's list and inspect answers, as shapes for every node.
  const sim = await startSimulator({ port: 0, name: 'sim-x', containers: PER_NODE });
  let list: any[];
  const inspects = new Map<string, any>();
  try {
    list = await (await fetch(`http://${sim.addr}/containers/json?all=1`)).json() as any[];
    for (const s of list) inspects.set(s.Id, await (await fetch(`http://${sim.addr}/containers/${s.Id}/json`)).json());
  } finally {
    await sim.stop();
  }
  const scheduler = new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread'));
  const rows: string[][] = [];
  const snapRows: string[][] = [];
  for (const n of o.sizes) {
    const engines = await makeEngines(n, list, inspects);
    if (engines[0].containers.size !== PER_NODE) throw new Error(`engine fill failed: ${engines[0].containers.size} containers`);
    const iterations = Math.max(o.quick ? 20 : 100, Math.floor((o.quick ? 20_000 : 200_000) / n));
    const nodes: Node[] = engines.map((e) => e.snapshot([]));
    for (const r of REQUESTS) {
      const { request } = buildScheduleRequest(r.cname, r.body);
      let chosen = '';
      const sel = time(iterations, () => { chosen = scheduler.select(request, nodes)[0].name; });
      const full = time(iterations, () => { scheduler.select(request, engines.map((e) => e.snapshot([]))); });
      rows.push([String(n), r.name, us(sel.p50), us(sel.p99), us(full.p50), us(full.p99), chosen]);
    }
    // Snapshot costs: warm (arrays cached) and cold (every engine changed since the last decision).
    const warm = time(iterations, () => { for (const e of engines) e.snapshot([]); });
    const cold = time(Math.max(10, Math.floor(iterations / 5)), () => { for (const e of engines) e.freshSnapshot(); });
    snapRows.push([String(n), us(warm.p50), us(warm.p99), us(cold.p50), us(cold.p99), us(cold.p50 / n)]);
    await Promise.all(engines.map((e) => e.stop()));
  }
  return [
    `Placement bench: Scheduler.select with filters ${DEFAULT_FILTERS.join(',')} and spread; ${PER_NODE} containers per node (1 in 3 publishing a host port).`,
    '"select" times the scheduler alone on ready snapshots; "decision" adds building the snapshots of every engine, as Cluster.createContainer does.',
    '',
    table(['nodes', 'request', 'select p50', 'p99', 'decision p50', 'p99', 'chosen'], rows),
    '',
    table(['nodes', 'all snapshots, warm p50', 'p99', 'all snapshots, cold p50', 'p99', 'cold per engine'], snapRows),
  ].join('\n');
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  runPlacementBench({ sizes: [10, 100, 1000], quick })
    .then((s) => { process.stdout.write(s + '\n'); process.exit(0); })
    .catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
}
