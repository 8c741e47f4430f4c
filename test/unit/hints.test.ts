import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyHints, placeByNetwork, placeByVolume, preferNodesWithImage } from '../../src/scheduler/hints.js';
import { namedVolumes } from '../../src/util/volumes.js';
import { formatExpr } from '../../src/scheduler/expr.js';
import { buildScheduleRequest } from '../../src/scheduler/build.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { DEFAULT_FILTERS, createFilters } from '../../filters/index.js';
import { createStrategy } from '../../strategies/index.js';
import type { Node } from '../../src/scheduler/node.js';
import type { ScheduleRequest } from '../../src/scheduler/request.js';
import fc from 'fast-check';
import { containers, image, names, network, node, req } from './helpers.js';

const rules = (r: ScheduleRequest) => ({
  constraints: r.constraints.map((e) => (e.soft ? `${e.key}${e.op}~${e.value}` : formatExpr(e))),
  affinities: r.affinities.map((e) => (e.soft ? `${e.key}${e.op}~${e.value}` : formatExpr(e))),
});

/** Deep copies to prove the inputs are left alone. */
const frozenCopy = <T>(v: T): T => structuredClone(v);

describe('preferNodesWithImage', () => {
  const redis = image({ id: 'sha256:' + '1'.repeat(64), repoTags: ['redis:latest'] });
  const pinned = image({ id: 'sha256:' + '2'.repeat(64), repoTags: ['localhost:5000/app:1.0'], repoDigests: ['localhost:5000/app@sha256:' + '3'.repeat(64)] });
  const rows: Array<{ title: string; image: string; affinities?: string[]; nodes: Node[]; want: string[] }> = [
    {
      title: 'some healthy nodes have it: soft affinity, with :latest added',
      image: 'redis',
      nodes: [node('a', { images: [redis] }), node('b')],
      want: ['image==~redis:latest'],
    },
    { title: 'every healthy node has it: nothing', image: 'redis', nodes: [node('a', { images: [redis] }), node('b', { images: [redis] })], want: [] },
    { title: 'no node has it: nothing', image: 'redis', nodes: [node('a'), node('b')], want: [] },
    {
      title: 'unhealthy nodes do not count',
      image: 'redis',
      nodes: [node('a', { images: [redis] }), node('b', { healthy: false })],
      want: [],
    },
    {
      title: 'a tag in a registry with a port is kept',
      image: 'localhost:5000/app:1.0',
      nodes: [node('a', { images: [pinned] }), node('b')],
      want: ['image==~localhost:5000/app:1.0'],
    },
    {
      title: 'a registry port is not a tag',
      image: 'localhost:5000/app',
      nodes: [node('a', { images: [image({ repoTags: ['localhost:5000/app:latest'] })] }), node('b')],
      want: ['image==~localhost:5000/app:latest'],
    },
    {
      title: 'by digest',
      image: 'localhost:5000/app@sha256:' + '3'.repeat(64),
      nodes: [node('a', { images: [pinned] }), node('b')],
      want: ['image==~localhost:5000/app@sha256:' + '3'.repeat(64)],
    },
    {
      title: 'the request has its own image affinity: nothing',
      image: 'redis',
      affinities: ['image!=busybox'],
      nodes: [node('a', { images: [redis] }), node('b')],
      want: ['image!=busybox'],
    },
  ];
  for (const row of rows) {
    it(row.title, () => {
      const r = req({ image: row.image, affinities: row.affinities });
      const before = frozenCopy(r);
      const out = preferNodesWithImage(r, row.nodes);
      assert.deepEqual(rules(out).affinities, row.want);
      assert.deepEqual(r, before, 'input request unchanged');
      if (rules(out).affinities.length === (row.affinities ?? []).length) assert.equal(out, r, 'same object when no hint');
    });
  }

  it('steers placement softly: to a node with the image, elsewhere when that one is full', () => {
    const s = new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread'));
    const nodes = [node('a'), node('b', { images: [redis], usedCpus: 2 })];
    assert.deepEqual(names(s.select(preferNodesWithImage(req({ image: 'redis' }), nodes), nodes)), ['b']);
    const full = [node('a'), node('b', { images: [redis], usedCpus: 4 })];
    assert.deepEqual(names(s.select(preferNodesWithImage(req({ image: 'redis', cpus: 1 }), full), full)), ['a']);
  });
});

describe('placeByNetwork', () => {
  const mynet = network('mynet', { id: 'abcdef0123456789'.repeat(4) });

  it('node/net pins to that node and rewrites NetworkMode and the endpoint key to the bare name', () => {
    const body = {
      Image: 'busybox',
      HostConfig: { NetworkMode: 'node-2/mynet', Memory: 1 },
      NetworkingConfig: { EndpointsConfig: { 'node-2/mynet': { Aliases: ['web'] }, other: {} } },
    };
    const { request: r } = buildScheduleRequest('web', body);
    const bodyBefore = frozenCopy(body);
    const requestBefore = frozenCopy(r);
    const out = placeByNetwork(r, body, [node('node-1'), node('node-2')]);
    assert.deepEqual(rules(out.request).constraints, ['node==node-2']);
    assert.equal(out.request.networkMode, 'mynet');
    assert.deepEqual(out.body.HostConfig, { NetworkMode: 'mynet', Memory: 1 });
    assert.deepEqual(out.body.NetworkingConfig, { EndpointsConfig: { mynet: { Aliases: ['web'] }, other: {} } });
    assert.deepEqual(body, bodyBefore, 'input body unchanged');
    assert.deepEqual(r, requestBefore, 'input request unchanged');
  });

  it('node/net finds the node by ID or address too, and pins by name', () => {
    for (const prefix of ['ID-node-2', 'node-2:2375']) {
      const r = req({ networkMode: `${prefix}/mynet` });
      const out = placeByNetwork(r, { HostConfig: { NetworkMode: `${prefix}/mynet` } }, [node('node-1'), node('node-2')]);
      assert.deepEqual(rules(out.request).constraints, ['node==node-2'], prefix);
      assert.deepEqual(out.body, { HostConfig: { NetworkMode: 'mynet' } });
    }
  });

  it('node/net with an unknown node is left to the engine', () => {
    const r = req({ networkMode: 'elsewhere/mynet' });
    const body = { HostConfig: { NetworkMode: 'elsewhere/mynet' } };
    const out = placeByNetwork(r, body, [node('node-1')]);
    assert.equal(out.request, r);
    assert.equal(out.body, body);
  });

  const rows: Array<{ title: string; mode: string; nodes: Node[]; want: string[] }> = [
    {
      title: 'a local network on some healthy nodes restricts to them',
      mode: 'mynet',
      nodes: [node('a', { networks: [mynet] }), node('b'), node('c', { networks: [mynet] })],
      want: ['node==/^(?:a|c)$/'],
    },
    {
      title: 'by ID prefix of 12 characters or more',
      mode: 'abcdef012345',
      nodes: [node('a', { networks: [mynet] }), node('b')],
      want: ['node==/^(?:a)$/'],
    },
    { title: 'an ID prefix under 12 characters is not enough', mode: 'abcdef01234', nodes: [node('a', { networks: [mynet] }), node('b')], want: [] },
    { title: 'on every healthy node: nothing', mode: 'mynet', nodes: [node('a', { networks: [mynet] }), node('b', { networks: [mynet], healthy: true }), node('x', { healthy: false })], want: [] },
    { title: 'on no node: nothing (the engine will say)', mode: 'mynet', nodes: [node('a'), node('b')], want: [] },
    { title: 'swarm- or global-scoped networks do not count', mode: 'mynet', nodes: [node('a', { networks: [network('mynet', { scope: 'swarm' })] }), node('b')], want: [] },
    { title: 'unhealthy nodes with it do not count', mode: 'mynet', nodes: [node('a', { networks: [mynet], healthy: false }), node('b')], want: [] },
    {
      title: 'node names are matched literally',
      mode: 'mynet',
      nodes: [node('web.1', { networks: [mynet] }), node('webx1')],
      want: ['node==/^(?:web\\.1)$/'],
    },
  ];
  for (const row of rows) {
    it(row.title, () => {
      const r = req({ networkMode: row.mode });
      const body = { HostConfig: { NetworkMode: row.mode } };
      const out = placeByNetwork(r, body, row.nodes);
      assert.deepEqual(rules(out.request).constraints, row.want);
      assert.equal(out.body, body, 'body untouched');
      assert.equal(out.request.networkMode, row.mode);
    });
  }

  for (const mode of ['default', 'bridge', 'host', 'none', '', 'container:db']) {
    it(`ignores --net=${mode || '""'}`, () => {
      const r = req({ networkMode: mode });
      assert.equal(placeByNetwork(r, {}, [node('a', { networks: [network(mode)] }), node('b')]).request, r);
    });
  }

  it('the restriction steers the scheduler, and matches names exactly', () => {
    const nodes = [node('web.1', { networks: [mynet] }), node('webx1'), node('z')];
    const { request } = placeByNetwork(req({ networkMode: 'mynet' }), {}, nodes);
    const s = new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread'));
    assert.deepEqual(names(s.select(request, nodes)), ['web.1']);
  });

  it('handles many nodes (no pattern length bound on names it builds)', () => {
    const nodes = Array.from({ length: 2000 }, (_, i) => node(`node-${i}`, { networks: i % 2 ? [mynet] : [] }));
    const { request } = placeByNetwork(req({ networkMode: 'mynet' }), {}, nodes);
    assert.equal(request.constraints.length, 1);
    const s = new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread'));
    const picked = s.select(request, nodes);
    assert.equal(picked.length, 1000);
    assert.ok(picked.every((n) => Number(n.name.slice(5)) % 2 === 1));
  });
});

describe('applyHints', () => {
  it('applies the network hint; the image preference is left to the scheduler', () => {
    const redis = image({ repoTags: ['redis:latest'] });
    const nodes = [node('a', { images: [redis], networks: [network('mynet')] }), node('b'), node('c', { networks: [network('mynet')] })];
    const body = { Image: 'redis', HostConfig: { NetworkMode: 'mynet' } };
    const { request } = buildScheduleRequest(undefined, body);
    const out = applyHints(request, body, nodes);
    assert.deepEqual(rules(out.request), { constraints: ['node==/^(?:a|c)$/'], affinities: [] });
    assert.equal(out.body, body);
    assert.deepEqual(rules(request), { constraints: [], affinities: [] }, 'input untouched');
    const s = new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread'));
    assert.equal(s.chooseNear(out.request, nodes).name, 'a', 'of the nodes with the network, the one with the image');
  });

  it('returns the inputs when no hint applies', () => {
    const r = req();
    const body = { Image: 'busybox' };
    const out = applyHints(r, body, [node('a')]);
    assert.equal(out.request, r);
    assert.equal(out.body, body);
  });

  it('node/net with an image on another node: the pin wins over the image preference', () => {
    const nodes = [node('a', { images: [image({ repoTags: ['redis:latest'] })] }), node('b')];
    const body = { Image: 'redis', HostConfig: { NetworkMode: 'b/mynet' } };
    const { request } = buildScheduleRequest(undefined, body);
    const out = applyHints(request, body, nodes);
    assert.deepEqual(rules(out.request), { constraints: ['node==b'], affinities: [] });
    const s = new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread'));
    assert.equal(s.chooseNear(out.request, nodes).name, 'b');
  });
});

describe('Scheduler.chooseNear', () => {
  const redis = image({ repoTags: ['redis:latest'] });
  const arbNode = (i: number) => fc.record({
    image: fc.boolean(), healthy: fc.boolean(), count: fc.integer({ min: 0, max: 3 }), usedCpus: fc.integer({ min: 0, max: 4 }),
    slots: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), port: fc.boolean(), disk: fc.constantFrom('ssd', 'hdd'),
  }).map((o) => node(`n${i}`, {
    images: o.image ? [redis] : [], healthy: o.healthy, usedCpus: o.usedCpus,
    containers: containers(o.count).map((c) => (o.port ? { ...c, ports: [{ hostIp: '', hostPort: 80, proto: 'tcp' }] } : c)),
    labels: { storage: o.disk, ...(o.slots === undefined ? {} : { containerslots: String(o.slots) }) },
  }));
  const arbNodes = fc.integer({ min: 0, max: 8 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => arbNode(i))));
  const arbReq = fc.record({
    cpus: fc.constantFrom(0, 1, 3), port: fc.boolean(),
    constraints: fc.subarray(['storage==ssd', 'storage==~hdd', 'node!=n1']),
    affinities: fc.subarray(['image==~busybox', 'container!=~web']),
  }).map((o) => req({
    image: 'redis', cpus: o.cpus, constraints: o.constraints, affinities: o.affinities,
    ports: o.port ? [{ hostIp: '', hostPort: 80, proto: 'tcp' }] : [],
  }));
  const outcome = (f: () => Node): string => { try { return f().name; } catch (err) { return `throws ${(err as Error).message}`; } };

  // The reference: the plain choice if it has the image; else the best node of the
  // soft pass with the preference added (every filter, soft rules counted, and room), if any.
  const reference = (s: Scheduler, r: ScheduleRequest, nodes: Node[]): string => {
    const plain = outcome(() => s.choose(r, nodes));
    if (plain.startsWith('throws') || nodes.find((n) => n.name === plain)!.images.length > 0) return plain;
    const preferring = preferNodesWithImage(r, nodes);
    let candidates: readonly Node[] = nodes;
    for (const f of s.filters) {
      try { candidates = f.filter(preferring, candidates, true); } catch { return plain; }
      if (!candidates.length) return plain;
    }
    const best = outcome(() => s.strategy.rankAndSort(preferring, candidates)[0]);
    return best.startsWith('throws') ? plain : best;
  };

  for (const strategy of ['spread', 'binpack']) {
    it(`${strategy}: the plain choice if it has the image, else the best node with it that meets every rule`, () => {
      const s = new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy(strategy));
      fc.assert(fc.property(arbNodes, arbReq, (nodes, r) => {
        const near = outcome(() => s.chooseNear(r, nodes));
        assert.equal(near, reference(s, r, nodes));
        // The same as applying the preference up front, whenever that keeps the request's soft rules.
        const upFront = outcome(() => s.select(preferNodesWithImage(r, nodes), nodes)[0]);
        if (!r.affinities.some((a) => a.soft && a.key !== 'image') && !r.constraints.some((c) => c.soft) && !upFront.startsWith('throws')) assert.equal(near, upFront);
      }), { numRuns: 2000 });
    });
  }

  it('the preference never costs the request its own soft rules', () => {
    const s = new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread'));
    const nodes = [node('a', { images: [redis], labels: { storage: 'hdd' } }), node('b', { labels: { storage: 'ssd' } })];
    const r = req({ image: 'redis', constraints: ['storage==~ssd'] });
    assert.equal(s.chooseNear(r, nodes).name, 'b');
    assert.equal(s.select(preferNodesWithImage(r, nodes), nodes)[0].name, 'a', 'added up front, its failure dropped storage==~ssd too');
  });

  it('random: only ever a node with the image when one can take it', () => {
    const s = new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('random'));
    const nodes = [node('a'), node('b', { images: [redis] }), node('c')];
    for (let i = 0; i < 50; i++) assert.equal(s.chooseNear(req({ image: 'redis' }), nodes).name, 'b');
  });
});

const scheduler = () => new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread'));

describe('namedVolumes', () => {
  it('reads named volumes from Binds and volume Mounts, not host paths', () => {
    const body = {
      HostConfig: {
        Binds: ['data:/data', 'logs:/logs:ro', '/srv:/srv', './rel:/rel', 'nocolon', 'data:/again', 5],
        Mounts: [{ Type: 'volume', Source: 'cache', Target: '/c' }, { Type: 'bind', Source: 'x', Target: '/x' }, { Type: 'volume', Target: '/anon' }],
      },
    };
    assert.deepEqual(namedVolumes(body), ['data', 'logs', 'cache']);
    assert.deepEqual(namedVolumes({}), []);
    assert.deepEqual(namedVolumes({ HostConfig: { Binds: 'data:/data' } }), []);
  });
});

describe('placeByVolume', () => {
  const nodes = [node('node-1'), node('node-2'), node('node-3')];
  const vols = (m: Record<string, string[]>) => new Map(Object.entries(m).map(([n, v]) => [`${n}:2375`, v]));
  const withBinds = (...binds: string[]) => ({ Image: 'busybox', HostConfig: { Binds: binds } });

  it('some nodes have the volume: only those', () => {
    const body = withBinds('data:/data');
    const r = buildScheduleRequest(undefined, body).request;
    const before = frozenCopy(r);
    const out = placeByVolume(r, body, nodes, vols({ 'node-1': ['data'], 'node-3': ['data', 'x'] }));
    assert.deepEqual(rules(out).constraints, ['node==/^(?:node\\-1|node\\-3)$/']);
    assert.deepEqual(r, before, 'input request unchanged');
    assert.deepEqual(scheduler().select(out, nodes).map((n) => n.name).sort(), ['node-1', 'node-3']);
  });

  it('every or no healthy node has it, or a host path: nothing (the same object back)', () => {
    for (const [m, binds] of [
      [{ 'node-1': ['data'], 'node-2': ['data'], 'node-3': ['data'] }, ['data:/data']],
      [{}, ['data:/data']],
      [{ 'node-1': ['data'] }, ['/data:/data']],
    ] as Array<[Record<string, string[]>, string[]]>) {
      const r = req();
      assert.equal(placeByVolume(r, withBinds(...binds), nodes, vols(m)), r);
    }
  });

  it('unhealthy nodes do not count', () => {
    const r = req();
    const ns = [node('node-1'), node('node-2', { healthy: false })];
    assert.equal(placeByVolume(r, withBinds('data:/data'), ns, vols({ 'node-1': ['data'] })), r);
  });

  it('two volumes on different nodes: both rules, so no node fits', () => {
    const body = { HostConfig: { Binds: ['va:/a'], Mounts: [{ Type: 'volume', Source: 'vb', Target: '/b' }] } };
    const out = placeByVolume(req(), body, nodes, vols({ 'node-1': ['va'], 'node-2': ['vb'] }));
    assert.deepEqual(rules(out).constraints, ['node==/^(?:node\\-1)$/', 'node==/^(?:node\\-2)$/']);
    assert.throws(() => scheduler().select(out, nodes), /Unable to find a node/);
  });

  it('applyHints applies it after the network hint, only when volumes are given', () => {
    const body = withBinds('data:/data');
    const r = buildScheduleRequest(undefined, body).request;
    assert.deepEqual(rules(applyHints(r, body, nodes).request).constraints, []);
    assert.deepEqual(rules(applyHints(r, body, nodes, vols({ 'node-2': ['data'] })).request).constraints, ['node==/^(?:node\\-2)$/']);
  });
});
