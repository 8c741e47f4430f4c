// The scheduler's resource side on 3 real engines, manager started with
// `--strategy binpack` and a reduced `--filter` list: binpack piles `-m`
// containers on one node, `containerslots` caps a node, memory and CPU
// reservations fit exactly N times, and filters left out are not applied.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { apiJson } from '../../src/devcluster/util.js';
import { clusterBlock, skipReason, withCluster, type DockerResult, type TestCluster } from '../lib/cluster.js';
import { removeAllContainers } from '../lib/wait.js';

const BLOCK = clusterBlock(7); // slots 70-72, engines 24300-24302, manager 24350
const T = { timeout: 90_000 };
const CONDITIONS = 'Unable to find a node that satisfies the following conditions';
const NO_RESOURCES = 'no resources available to schedule container';
const FILTERS = ['health', 'port', 'containerslots', 'dependency', 'constraint'];
const OVERCOMMIT = 0.05; // the default swarm.overcommit

describe('scheduler resources: binpack, containerslots, --filter', { skip: skipReason() }, () => {
  let c: TestCluster;
  /** Memory each engine offers the scheduler (MemTotal with overcommit), bytes. */
  let totals: number[] = [];

  before(async () => {
    const t0 = Date.now();
    c = await withCluster({
      ...BLOCK,
      nodes: 3,
      // node-0 holds at most 2 containers.
      labels: [{ containerslots: '2' }, {}, {}],
      managerArgs: [
        '--strategy', 'binpack', ...FILTERS.flatMap((f, i) => [i % 2 ? '-f' : '--filter', f]),
        // Notice a stopped engine within a second or two (last test).
        '--engine-refresh-min-interval', '1s', '--engine-refresh-max-interval', '2s', '--engine-failure-retry', '1',
      ],
    });
    const infos = await Promise.all(c.engines.map((e) => apiJson<{ MemTotal: number; NCPU: number }>(e.addr, 'GET', '/info')));
    totals = infos.map((i) => Math.floor(i.MemTotal * (1 + OVERCOMMIT)));
    console.log(`# cluster up in ${Date.now() - t0}ms; engine memory ${totals.map((t) => (t / 2 ** 30).toFixed(2) + 'G')}, cpus ${infos.map((i) => i.NCPU)}`);
  });
  after(async () => {
    await c?.stop();
  });

  async function create(args: string[]): Promise<DockerResult & { id: string }> {
    const r = await c.docker(['create', ...args, 'busybox']);
    return { ...r, id: r.code === 0 ? r.stdout.trim() : '' };
  }

  async function place(args: string[]): Promise<string> {
    const r = await create(args);
    assert.equal(r.code, 0, `docker create ${args.join(' ')}: ${r.stderr}`);
    const i = await c.docker(['inspect', '-f', '{{.Node.Name}}', r.id]);
    assert.equal(i.code, 0, i.stderr);
    return i.stdout.trim();
  }

  async function refused(args: string[]): Promise<string> {
    const r = await create(args);
    assert.notEqual(r.code, 0, `docker create ${args.join(' ')} should fail, got ${r.stdout}`);
    return r.stderr;
  }

  const rmAll = (): Promise<void> => removeAllContainers(c);

  test('docker info shows Strategy: binpack and only the filters given with --filter', T, async () => {
    const r = await c.docker(['info']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Strategy: binpack\n/);
    assert.match(r.stdout, new RegExp(`Filters: ${FILTERS.join(', ')}\n`));
  });

  test('a filter left out is not applied (affinity), but its rule is still recorded', T, async () => {
    await rmAll();
    const r = await create(['-e', 'affinity:container==ghost']);
    assert.equal(r.code, 0, r.stderr);
    const l = await c.docker(['inspect', '-f', '{{index .Config.Labels "com.docker.swarm.affinities"}}', r.id]);
    assert.equal(l.stdout.trim(), '["container==ghost"]');
    // constraint is active.
    const err = await refused(['-e', 'constraint:node==nowhere']);
    assert.ok(err.includes(CONDITIONS) && err.includes('[node==nowhere]'), err);
  });

  test('binpack piles -m 64m containers on one node', T, async () => {
    await rmAll();
    const nodes: string[] = [];
    for (let i = 0; i < 4; i++) nodes.push(await place(['-m', '64m', '-e', 'constraint:node!=node-0']));
    assert.equal(new Set(nodes).size, 1, `binpack spread them: ${nodes}`);
    // Unconstrained too: the fullest node wins (its mem% is the highest).
    const more: string[] = [];
    for (let i = 0; i < 2; i++) more.push(await place(['-m', '64m']));
    assert.deepEqual(more, [nodes[0], nodes[0]]);
    const info = (await c.docker(['info'])).stdout;
    const reserved = [...info.matchAll(/└ Reserved Memory: (\S+ \S+) \//g)].map((m) => m[1]);
    const want = ['node-0', 'node-1', 'node-2'].map((n) => (n === nodes[0] ? '384 MiB' : '0 B'));
    assert.deepEqual(reserved, want, info);
  });

  test('containerslots: the third container on node-0 goes elsewhere; pinned there it fails', T, async () => {
    await rmAll();
    // A container that ran and exited still takes a slot.
    const run = await c.docker(['run', '-e', 'constraint:node==node-0', 'busybox', 'true']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await place(['-e', 'constraint:node==node-0']), 'node-0');
    const err = await refused(['-e', 'constraint:node==node-0']);
    assert.ok(err.includes(`${CONDITIONS} \n[available container slots]`), err);
    // Binpack would pick node-0 (most containers), but it is full.
    assert.notEqual(await place([]), 'node-0');
    // Freeing a slot makes room again.
    const ids = (await c.docker(['ps', '-aq', '--filter', 'node=node-0'])).stdout.split('\n').filter(Boolean);
    assert.equal(ids.length, 2);
    assert.equal((await c.docker(['rm', ids[0]!])).code, 0);
    assert.equal(await place(['-e', 'constraint:node==node-0']), 'node-0');
  });

  test('memory that fits twice per node: exactly 6 creates succeed, then no resources', T, async () => {
    await rmAll();
    // 45% of the smallest engine: two fit on every node, three never do.
    const mib = Math.floor((Math.min(...totals) * 0.45) / 2 ** 20);
    const nodes: string[] = [];
    for (let i = 0; i < 6; i++) nodes.push(await place(['-m', `${mib}m`]));
    // Binpack fills a node before moving on.
    assert.deepEqual(nodes, ['node-0', 'node-0', 'node-1', 'node-1', 'node-2', 'node-2']);
    const err = await refused(['-m', `${mib}m`]);
    assert.match(err, new RegExp(`Error response from daemon: ${NO_RESOURCES}\\s*$`));
    // Small requests still fit where there's room.
    assert.notEqual(await place(['-m', '64m']), 'node-0');
  });

  test('CPUs: --cpus 1 fits twice on a 2-CPU node; a request above any node fails', T, async () => {
    await rmAll();
    const infos = await Promise.all(c.engines.map((e) => apiJson<{ NCPU: number }>(e.addr, 'GET', '/info')));
    // Whole CPUs with overcommit per node; node-0 also has only 2 slots.
    const perNode = infos.map((i, idx) => Math.min(idx === 0 ? 2 : Infinity, Math.floor(i.NCPU * (1 + OVERCOMMIT))));
    const slots = perNode.reduce((a, b) => a + b, 0);
    const nodes: string[] = [];
    for (let i = 0; i < slots; i++) nodes.push(await place(['--cpus', '1']));
    assert.equal(nodes.filter((n) => n === 'node-0').length, 2);
    const err = await refused(['--cpus', '1']);
    assert.match(err, new RegExp(NO_RESOURCES));
    const info = (await c.docker(['info'])).stdout;
    const cpus = [...info.matchAll(/└ Reserved CPUs: (\S+) \/ (\S+)\n/g)].map((m) => `${m[1]}/${m[2]}`);
    assert.deepEqual(cpus, infos.map((i, idx) => `${perNode[idx]}/${Math.floor(i.NCPU * (1 + OVERCOMMIT))}`), info);
    await rmAll();
    const big = await refused(['-m', '100000g']);
    assert.match(big, new RegExp(NO_RESOURCES));
    // -c N reserves N CPUs (classic); the engine gets ceil(N * 1024 / its CPUs) shares.
    const shares = await create(['-c', '1', '-e', 'constraint:node==node-1']);
    assert.equal(shares.code, 0, shares.stderr);
    const onEngine = await apiJson<{ HostConfig: { CpuShares: number } }>(c.engines[1]!.addr, 'GET', `/containers/${shares.id}/json`);
    assert.equal(onEngine.HostConfig.CpuShares, Math.ceil(1024 / infos[1]!.NCPU));
    const info2 = (await c.docker(['info'])).stdout;
    assert.deepEqual([...info2.matchAll(/└ Reserved CPUs: (\S+) \//g)].map((m) => m[1]), ['0', '1', '0'], info2);
    const over = await refused(['-c', String(Math.floor(infos[1]!.NCPU * (1 + OVERCOMMIT)) + 1)]);
    assert.match(over, new RegExp(NO_RESOURCES));
  });

  // Last: it stops engines.
  test('health: a stopped engine is never chosen; none healthy gives its own message', T, async () => {
    await rmAll();
    await c.set.stopEngine(2);
    let status = '';
    for (let i = 0; i < 100 && !/node-2:[^\n]*\n[^\n]*\n\s*└ Status: Unhealthy/.test(status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await c.docker(['info'])).stdout;
    }
    assert.match(status, /node-2:[^\n]*\n[^\n]*\n\s*└ Status: Unhealthy/, status);
    const nodes: string[] = [];
    for (let i = 0; i < 4; i++) nodes.push(await place(['-e', 'constraint:node!=node-0']));
    assert.deepEqual(nodes, ['node-1', 'node-1', 'node-1', 'node-1']);
    const err = await refused(['-e', 'constraint:node==node-2']);
    assert.ok(err.includes(`${CONDITIONS} \n[available container slots]\n[node==node-2]`), err);
    // A soft preference for the dead node falls back.
    assert.equal(await place(['-e', 'constraint:node==~node-2', '-e', 'constraint:node!=node-0']), 'node-1');
    await Promise.all([c.set.stopEngine(0), c.set.stopEngine(1)]);
    let last = '';
    for (let i = 0; i < 100; i++) {
      last = await refused([]);
      if (last.includes('No healthy node available in the cluster')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(last, /Error response from daemon: No healthy node available in the cluster\s*$/);
  });
});
