// The scheduler against 3 real engines (issue 3, "Done when"): constraints
// (engine labels, node names, globs, regex, negation, soft, env and label
// forms), affinities (container, image, label), port exclusivity, dependencies,
// and the spread strategy with memory reservations shown by `docker info`.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { clusterBlock, skipReason, withCluster, type DockerResult, type TestCluster } from '../lib/cluster.js';
import { removeAllContainers } from '../lib/wait.js';

const BLOCK = clusterBlock(5); // slots 50-52, engines 24100-24102, manager 24150
const T = { timeout: 90_000 };
const CONDITIONS = 'Unable to find a node that satisfies the following conditions';

// node-0: storage=ssd zone=a; node-1: storage=disk zone=b; node-2: storage=disk zone=a
const LABELS = [
  { storage: 'ssd', zone: 'a' },
  { storage: 'disk', zone: 'b' },
  { storage: 'disk', zone: 'a' },
];

describe('scheduler on 3 real engines', { skip: skipReason() }, () => {
  let c: TestCluster;

  before(async () => {
    const t0 = Date.now();
    c = await withCluster({ ...BLOCK, nodes: 3, labels: LABELS });
    console.log(`# cluster up in ${Date.now() - t0}ms`);
  });
  after(async () => {
    await c?.stop();
  });

  // ---- helpers ----------------------------------------------------------------

  /** `docker create <args> busybox`; the ID on success. */
  async function create(args: string[], image = 'busybox'): Promise<DockerResult & { id: string }> {
    const r = await c.docker(['create', ...args, image]);
    return { ...r, id: r.code === 0 ? r.stdout.trim() : '' };
  }

  /** Create and expect success; returns the node it landed on. */
  async function place(args: string[], image = 'busybox'): Promise<string> {
    const r = await create(args, image);
    assert.equal(r.code, 0, `docker create ${args.join(' ')} ${image}: ${r.stderr}`);
    return nodeOf(r.id);
  }

  async function nodeOf(ref: string): Promise<string> {
    const r = await c.docker(['inspect', '-f', '{{.Node.Name}}', ref]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  }

  /** Create and expect a refusal; returns stderr. */
  async function refused(args: string[], image = 'busybox'): Promise<string> {
    const r = await create(args, image);
    assert.notEqual(r.code, 0, `docker create ${args.join(' ')} should fail, got ${r.stdout}`);
    return r.stderr;
  }

  const rmAll = (): Promise<void> => removeAllContainers(c);

  async function rawCreate(body: unknown, query = ''): Promise<{ status: number; json: any; type: string | null }> {
    const res = await fetch(`http://${c.managerAddr}/v1.41/containers/create${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : {}, type: res.headers.get('content-type') };
  }

  // ---- docker info --------------------------------------------------------------

  test('docker info shows the strategy, the default filters and the engine labels', T, async () => {
    const r = await c.docker(['info']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Strategy: spread\n/);
    assert.match(r.stdout, /Filters: health, port, containerslots, dependency, affinity, constraint, whitelist\n/);
    assert.match(r.stdout, /Nodes: 3\n/);
    assert.match(r.stdout, /node-0: 127\.0\.0\.1:24100\n[\s\S]*?Labels: [^\n]*storage=ssd[^\n]*zone=a/);
    assert.match(r.stdout, /node-1: 127\.0\.0\.1:24101\n[\s\S]*?Labels: [^\n]*storage=disk[^\n]*zone=b/);
  });

  // ---- constraints --------------------------------------------------------------

  test('constraint on an engine label, env form and label form', T, async () => {
    await rmAll();
    for (let i = 0; i < 3; i++) assert.equal(await place(['-e', 'constraint:storage==ssd']), 'node-0');
    for (let i = 0; i < 2; i++) {
      assert.equal(await place(['--label', 'com.docker.swarm.constraints=["zone==b"]']), 'node-1');
    }
    // Two rules together: zone==a and storage!=ssd leaves node-2 only.
    assert.equal(await place(['-e', 'constraint:zone==a', '-e', 'constraint:storage!=ssd']), 'node-2');
  });

  test('constraint on node: name, glob, regex, negation, built-in labels', T, async () => {
    await rmAll();
    assert.equal(await place(['-e', 'constraint:node==node-2']), 'node-2');
    assert.equal(await place(['-e', 'constraint:node==node-2']), 'node-2');
    // Glob: all three qualify; spread puts three in a row on three nodes.
    await rmAll();
    const glob = [];
    for (let i = 0; i < 3; i++) glob.push(await place(['-e', 'constraint:node==node-*']));
    assert.deepEqual(glob.sort(), ['node-0', 'node-1', 'node-2']);
    // Regex: node-0 is never chosen even though it's the emptiest now.
    await rmAll();
    const re = [];
    for (let i = 0; i < 4; i++) re.push(await place(['-e', 'constraint:node==/node-[12]/']));
    assert.deepEqual(re.sort(), ['node-1', 'node-1', 'node-2', 'node-2']);
    // Negation.
    await rmAll();
    const neg = [];
    for (let i = 0; i < 3; i++) neg.push(await place(['-e', 'constraint:storage!=ssd']));
    assert.ok(!neg.includes('node-0'), `storage!=ssd landed on node-0: ${neg}`);
    assert.equal(await place(['-e', 'constraint:node!=/node-[01]/']), 'node-2');
    // Built-in engine labels.
    assert.equal(await place(['-e', 'constraint:ostype==linux', '-e', 'constraint:storagedriver==overlay2', '-e', 'constraint:zone==b']), 'node-1');
  });

  test('soft constraint is dropped when nothing matches, honoured when something does', T, async () => {
    await rmAll();
    const r = await create(['-e', 'constraint:zone==~nowhere']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await place(['-e', 'constraint:zone==~b']), 'node-1');
    assert.equal(await place(['-e', 'constraint:zone==~b']), 'node-1');
    assert.equal(await place(['-e', 'constraint:node!=~node-0', '-e', 'constraint:node!=~node-1']), 'node-2');
  });

  test('whitelist: exact engine names, | separated', T, async () => {
    await rmAll();
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await place(['-e', 'whitelist:node==node-0|node-2']));
    assert.deepEqual(got.sort(), ['node-0', 'node-0', 'node-2', 'node-2']);
    const err = await refused(['-e', 'whitelist:node==node-*']);
    assert.ok(err.includes('node==node-* (soft=false)'), err);
  });

  test('unsatisfiable hard constraint: CLI exit code and message, API 500', T, async () => {
    const err = await refused(['-e', 'constraint:storage==nvme']);
    assert.match(err, new RegExp(`Error response from daemon: ${CONDITIONS}`));
    assert.ok(err.includes('[storage==nvme]'), err);
    const api = await rawCreate({ Image: 'busybox', Env: ['constraint:zone==c'] });
    assert.equal(api.status, 500);
    assert.equal(api.type, 'application/json');
    assert.ok(api.json.message.startsWith(CONDITIONS), api.json.message);
    assert.ok(api.json.message.includes('[zone==c]'), api.json.message);
    // As a label too.
    const lbl = await rawCreate({ Image: 'busybox', Labels: { 'com.docker.swarm.constraints': '["node==node-9"]' } });
    assert.equal(lbl.status, 500);
    assert.ok(lbl.json.message.includes('[node==node-9]'), lbl.json.message);
  });

  test('invalid expression: 400 naming it', T, async () => {
    const err = await refused(['-e', 'constraint:storage=ssd']);
    assert.match(err, /invalid constraint expression: storage=ssd/);
    const api = await rawCreate({ Image: 'busybox', Env: ['affinity:bad key==x'] });
    assert.equal(api.status, 400);
    assert.match(api.json.message, /invalid affinity expression: bad key==x/);
    const lbl = await rawCreate({ Image: 'busybox', Labels: { 'com.docker.swarm.constraints': 'not json' } });
    assert.equal(lbl.status, 400);
    assert.match(lbl.json.message, /com\.docker\.swarm\.constraints/);
  });

  test('env rules are stripped from Env and recorded as labels on the engine', T, async () => {
    await rmAll();
    const r = await create([
      '-e', 'FOO=bar', '-e', 'constraint:storage==ssd', '-e', 'affinity:image==~busybox',
      '--label', 'com.docker.swarm.constraints=["zone==a"]', '--label', 'keep=me',
    ]);
    assert.equal(r.code, 0, r.stderr);
    // Ask the engine itself, not the manager.
    const e0 = c.engines[0]!;
    const insp = await c.docker(['inspect', '-f', '{{json .Config.Env}}|{{json .Config.Labels}}', r.id], { host: e0.addr });
    assert.equal(insp.code, 0, `not on node-0? ${insp.stderr}`);
    const [envJson, labelsJson] = insp.stdout.trim().split('|');
    const env: string[] = JSON.parse(envJson!);
    const labels: Record<string, string> = JSON.parse(labelsJson!);
    assert.ok(env.includes('FOO=bar'), envJson);
    assert.ok(!env.some((e) => e.startsWith('constraint:') || e.startsWith('affinity:')), envJson);
    assert.deepEqual(JSON.parse(labels['com.docker.swarm.constraints']!), ['zone==a', 'storage==ssd']);
    assert.deepEqual(JSON.parse(labels['com.docker.swarm.affinities']!), ['image==~busybox']);
    assert.equal(labels.keep, 'me');
    assert.match(labels['com.docker.swarm.id'] ?? '', /^[0-9a-f]{64}$/);
  });

  // ---- affinities ---------------------------------------------------------------

  test('affinity to a container: == lands with it, != avoids it, label affinity', T, async () => {
    await rmAll();
    const web = await create(['--name', 'web', '--label', 'com.example.type=frontend', '-e', 'constraint:node==node-1']);
    assert.equal(web.code, 0, web.stderr);
    for (let i = 0; i < 3; i++) assert.equal(await place(['-e', 'affinity:container==web']), 'node-1');
    // By (short) ID too.
    assert.equal(await place(['-e', `affinity:container==${web.id.slice(0, 12)}`]), 'node-1');
    for (let i = 0; i < 3; i++) assert.notEqual(await place(['-e', 'affinity:container!=web']), 'node-1');
    for (let i = 0; i < 2; i++) assert.equal(await place(['-e', 'affinity:com.example.type==frontend']), 'node-1');
    assert.notEqual(await place(['-e', 'affinity:com.example.type!=frontend']), 'node-1');
    // Soft affinity to nothing still schedules; hard fails with the condition.
    assert.equal((await create(['-e', 'affinity:container==~ghost'])).code, 0);
    const err = await refused(['-e', 'affinity:container==ghost']);
    assert.ok(err.includes(CONDITIONS) && err.includes('container==ghost (soft=false)'), err);
  });

  test('affinity to an image present on one engine only', T, async () => {
    await rmAll();
    const e1 = c.engines[1]!;
    const tag = await c.docker(['tag', 'busybox', 'onlyhere:1'], { host: e1.addr });
    assert.equal(tag.code, 0, tag.stderr);
    // The manager's image cache follows the engine's `tag` event.
    let seen = false;
    for (let i = 0; i < 50 && !seen; i++) {
      const imgs = await c.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
      seen = imgs.stdout.split('\n').includes('onlyhere:1');
      if (!seen) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(seen, 'manager never listed onlyhere:1');
    for (let i = 0; i < 3; i++) assert.equal(await place(['-e', 'affinity:image==onlyhere:1']), 'node-1');
    // The image itself, by repository name (no tag) with the affinity.
    assert.equal(await place(['-e', 'affinity:image==onlyhere'], 'onlyhere:1'), 'node-1');
    for (let i = 0; i < 2; i++) assert.notEqual(await place(['-e', 'affinity:image!=onlyhere:1']), 'node-1');
    const err = await refused(['-e', 'affinity:image==nowhere:2']);
    assert.ok(err.includes('[image==nowhere:2 (soft=false)]'), err);
    // Without any affinity: placed where the image is, and the hint is not recorded.
    for (let i = 0; i < 3; i++) assert.equal(await place([], 'onlyhere:1'), 'node-1');
    const made = await create([], 'onlyhere:1');
    const labels = await c.docker(['inspect', '-f', '{{json .Config.Labels}}', made.id]);
    assert.ok(!labels.stdout.includes('affinities'), labels.stdout);
  });

  test('node-local networks: --net mynet lands where mynet is, --net node-x/mynet pins and is rewritten', T, async () => {
    await rmAll();
    const [, e1, e2] = c.engines;
    for (const e of [e1, e2]) {
      const r = await c.docker(['network', 'create', 'onlysome'], { host: e.addr });
      assert.equal(r.code, 0, r.stderr);
    }
    try {
      // The manager's network cache follows the engines' events.
      let seen = 0;
      for (let i = 0; i < 50 && seen < 2; i++) {
        const ls = await c.docker(['network', 'ls', '--format', '{{.Name}}']);
        seen = ls.stdout.split('\n').filter((n) => n.endsWith('/onlysome')).length;
        if (seen < 2) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(seen, 2, 'manager never listed onlysome on 2 nodes');
      const placed = new Set<string>();
      for (let i = 0; i < 4; i++) placed.add(await place(['--net', 'onlysome']));
      assert.deepEqual([...placed].sort(), ['node-1', 'node-2']);
      const pinned = await create(['--net', 'node-2/onlysome']);
      assert.equal(pinned.code, 0, pinned.stderr);
      assert.equal(await nodeOf(pinned.id), 'node-2');
      const mode = await c.docker(['inspect', '-f', '{{.HostConfig.NetworkMode}} {{json .Config.Labels}}', pinned.id]);
      assert.ok(mode.stdout.startsWith('onlysome '), mode.stdout);
      assert.ok(!mode.stdout.includes('constraints'), 'placement hints are not recorded: ' + mode.stdout);
    } finally {
      await rmAll();
      for (const e of [e1, e2]) await c.docker(['network', 'rm', 'onlysome'], { host: e.addr });
    }
  });

  // ---- ports --------------------------------------------------------------------

  test('port exclusivity: -p 80:80 four times on 3 nodes, 3 succeed on 3 nodes', T, async () => {
    await rmAll();
    const nodes: string[] = [];
    for (let i = 0; i < 3; i++) nodes.push(await place(['-p', '80:80']));
    assert.deepEqual([...nodes].sort(), ['node-0', 'node-1', 'node-2']);
    const err = await refused(['-p', '80:80']);
    assert.match(err, /Error response from daemon: Unable to find a node that satisfies the following conditions \n\[port 80 \(Bridge mode\)\]\s*$/);
    // The API's status and exact message.
    const api = await rawCreate({
      Image: 'busybox',
      ExposedPorts: { '80/tcp': {} },
      HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '80' }] } },
    });
    assert.equal(api.status, 500);
    assert.equal(api.json.message, `${CONDITIONS} \n[port 80 (Bridge mode)]`);
    // Another protocol or another port is still free everywhere.
    assert.equal((await create(['-p', '80:80/udp'])).code, 0);
    assert.equal((await create(['-p', '81:80'])).code, 0);
    // A container that ran and exited keeps its port (exited containers count).
    await rmAll();
    const run = await c.docker(['run', '-p', '82:80', '-e', 'constraint:node==node-0', 'busybox', 'true']);
    assert.equal(run.code, 0, run.stderr);
    const err2 = await refused(['-p', '82:80', '-e', 'constraint:node==node-0']);
    assert.ok(err2.includes('[port 82 (Bridge mode)]'), err2);
    assert.notEqual(await place(['-p', '82:80']), 'node-0');
  });

  // ---- dependencies -------------------------------------------------------------

  test('dependencies: --volumes-from, --link, --net=container: land on the same node', T, async () => {
    await rmAll();
    // Pin the target to node-2 so spread alone would not pick it.
    assert.equal(await place(['--name', 'dep-a', '-v', '/data', '-e', 'constraint:node==node-2']), 'node-2');
    assert.equal(await place(['--volumes-from', 'dep-a']), 'node-2');
    assert.equal(await place(['--volumes-from', 'dep-a:ro']), 'node-2');
    assert.equal(await place(['--link', 'dep-a:alias']), 'node-2');
    assert.equal(await place(['--net', 'container:dep-a']), 'node-2');
    assert.equal(await place(['--ipc', 'container:dep-a']), 'node-2');
    // Several dependencies on the same node are fine.
    assert.equal(await place(['--volumes-from', 'dep-a', '--link', 'dep-a:x']), 'node-2');
  });

  test('conflicting or missing dependencies fail clearly', T, async () => {
    await rmAll();
    assert.equal(await place(['--name', 'dep-a', '-e', 'constraint:node==node-0']), 'node-0');
    assert.equal(await place(['--name', 'dep-b', '-e', 'constraint:node==node-1']), 'node-1');
    const err = await refused(['--volumes-from', 'dep-a', '--link', 'dep-b:b']);
    assert.ok(err.includes(CONDITIONS), err);
    assert.ok(err.includes('--volumes-from=dep-a') && err.includes('--link=dep-b'), err);
    const err2 = await refused(['--volumes-from', 'nosuch']);
    assert.ok(err2.includes(CONDITIONS) && err2.includes('--volumes-from=nosuch'), err2);
    // A dependency plus a constraint pointing elsewhere.
    const err3 = await refused(['--link', 'dep-a:a', '-e', 'constraint:node==node-1']);
    assert.ok(err3.includes('--link=dep-a') && err3.includes('node==node-1'), err3);
  });

  // ---- names --------------------------------------------------------------------

  test('container names are unique across the cluster: 409 Conflict', T, async () => {
    await rmAll();
    assert.equal(await place(['--name', 'uniq', '-e', 'constraint:node==node-0']), 'node-0');
    const err = await refused(['--name', 'uniq', '-e', 'constraint:node==node-1']);
    assert.match(err, /Conflict\. The container name "\/uniq" is already in use/);
    const api = await rawCreate({ Image: 'busybox' }, '?name=uniq');
    assert.equal(api.status, 409);
  });

  // ---- resources (spread) -------------------------------------------------------

  test('spread with -m: one per node, reservations shown by docker info; too big fails', T, async () => {
    await rmAll();
    const nodes: string[] = [];
    for (let i = 0; i < 3; i++) nodes.push(await place(['-m', '64m']));
    assert.deepEqual([...nodes].sort(), ['node-0', 'node-1', 'node-2']);
    assert.equal(await place(['-m', '64m', '-e', 'constraint:node==node-1']), 'node-1');
    const info = (await c.docker(['info'])).stdout;
    const reserved = [...info.matchAll(/└ Reserved Memory: (\S+ \S+) \/ (\S+ \S+)/g)].map((m) => m[1]);
    assert.deepEqual(reserved, ['64 MiB', '128 MiB', '64 MiB'], info);
    const err = await refused(['-m', '100000g']);
    assert.match(err, /no resources available to schedule container/);
    const api = await rawCreate({ Image: 'busybox', HostConfig: { Memory: 100000 * 2 ** 30 } });
    assert.equal(api.status, 500);
    assert.equal(api.json.message, 'no resources available to schedule container');
    // CPUs: each engine has 2; --cpus 1 is a reservation.
    assert.equal(await place(['--cpus', '1', '-e', 'constraint:node==node-2']), 'node-2');
    const info2 = (await c.docker(['info'])).stdout;
    const cpus = [...info2.matchAll(/└ Reserved CPUs: (\S+) \//g)].map((m) => m[1]);
    assert.deepEqual(cpus, ['0', '0', '1'], info2);
    // A removed container gives its reservation back.
    await rmAll();
    const info3 = (await c.docker(['info'])).stdout;
    assert.deepEqual([...info3.matchAll(/└ Reserved Memory: (\S+ \S+) \//g)].map((m) => m[1]), ['0 B', '0 B', '0 B']);
  });

  test('an engine that refuses a create gives its message and frees name and ports', T, async () => {
    await rmAll();
    // dockerd refuses -m below 6MB after the scheduler reserved name and port.
    const err = await refused(['--name', 'rel', '-p', '90:80', '-m', '1k', '-e', 'constraint:node==node-0']);
    assert.match(err, /Error response from daemon: Minimum memory limit allowed is 6MB\s*$/);
    assert.equal(await place(['--name', 'rel', '-p', '90:80', '-e', 'constraint:node==node-0']), 'node-0');
  });
});
