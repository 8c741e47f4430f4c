import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AffinityFilter,
  ConstraintFilter,
  ContainerSlotsFilter,
  DEFAULT_FILTERS,
  DependencyFilter,
  FILTERS,
  FILTER_HELP,
  HealthFilter,
  PortFilter,
  WhitelistFilter,
  createFilters,
} from '../../filters/index.js';
import { findContainer } from '../../src/scheduler/containers.js';
import { imageNames, repositoryOf } from '../../src/scheduler/images.js';
import { keepIf, type Filter } from '../../src/scheduler/filter.js';
import type { Node } from '../../src/scheduler/node.js';
import { container, containers, image, names, node, port, req, thrown, type ReqSpec } from './helpers.js';
import fc from 'fast-check';
import { literalOf, matchExpr, parseExpr } from '../../src/scheduler/expr.js';
import { portsClash } from '../../src/scheduler/resources.js';

interface Row {
  title: string;
  req?: ReqSpec;
  nodes: Node[];
  soft?: boolean;
  /** Names kept, or an error message. */
  want: string[] | { error: string };
}

function run(filter: Filter, rows: Row[]): void {
  for (const row of rows) {
    it(row.title, () => {
      const r = req(row.req);
      const soft = row.soft ?? true;
      if (Array.isArray(row.want)) {
        assert.deepEqual(names(filter.filter(r, row.nodes, soft)), row.want);
      } else {
        assert.equal(thrown(() => filter.filter(r, row.nodes, soft)).message, row.want.error);
      }
    });
  }
}

describe('health filter', () => {
  run(new HealthFilter(), [
    { title: 'keeps healthy nodes', nodes: [node('a'), node('b', { healthy: false }), node('c')], want: ['a', 'c'] },
    { title: 'fails when none is healthy', nodes: [node('a', { healthy: false })], want: { error: 'No healthy node available in the cluster' } },
    { title: 'fails on an empty cluster', nodes: [], want: { error: 'No healthy node available in the cluster' } },
  ]);
  it('describes nothing', () => assert.deepEqual(new HealthFilter().describe(), []));
});

describe('port filter', () => {
  const holding = (name: string, ...ports: ReturnType<typeof port>[]) =>
    node(name, { containers: [container({ ports })] });
  run(new PortFilter(), [
    { title: 'no ports requested: all nodes', nodes: [holding('a', port(80)), node('b')], want: ['a', 'b'] },
    { title: 'skips a node holding the port', req: { ports: [port(80)] }, nodes: [holding('a', port(80)), node('b')], want: ['b'] },
    {
      title: 'exited containers keep their ports',
      req: { ports: [port(80)] },
      nodes: [node('a', { containers: [container({ state: 'exited', ports: [port(80)] })] }), node('b')],
      want: ['b'],
    },
    {
      title: 'pending containers hold their ports',
      req: { ports: [port(80)] },
      nodes: [node('a', { containers: [container({ state: 'pending', ports: [port(80)] })] }), node('b')],
      want: ['b'],
    },
    { title: 'tcp and udp do not clash', req: { ports: [port(53, '', 'udp')] }, nodes: [holding('a', port(53, '', 'tcp'))], want: ['a'] },
    { title: '0.0.0.0 held clashes with a specific IP', req: { ports: [port(80, '10.0.0.1')] }, nodes: [holding('a', port(80, '0.0.0.0')), node('b')], want: ['b'] },
    { title: 'requested 0.0.0.0 clashes with a held specific IP', req: { ports: [port(80, '0.0.0.0')] }, nodes: [holding('a', port(80, '10.0.0.1')), node('b')], want: ['b'] },
    { title: 'different specific IPs coexist', req: { ports: [port(80, '10.0.0.2')] }, nodes: [holding('a', port(80, '10.0.0.1'))], want: ['a'] },
    { title: 'every requested port must be free', req: { ports: [port(80), port(81)] }, nodes: [holding('a', port(81)), holding('b', port(80)), node('c')], want: ['c'] },
    { title: 'ranges: any port of the range clashes', req: { ports: [port(8000), port(8001), port(8002)] }, nodes: [holding('a', port(8001)), node('b')], want: ['b'] },
    {
      title: 'host mode clashes with a host-mode container exposing the port',
      req: { ports: [port(80)], networkMode: 'host' },
      nodes: [node('a', { containers: [container({ networkMode: 'host', ports: [port(80)] })] }), node('b')],
      want: ['b'],
    },
    { title: 'fails in bridge mode', req: { ports: [port(80)] }, nodes: [holding('a', port(80))], want: { error: 'unable to find a node with port 80 available' } },
    {
      title: 'fails in host mode',
      req: { ports: [port(80)], networkMode: 'host' },
      nodes: [holding('a', port(80))],
      want: { error: 'unable to find a node with port 80 available in the Host mode' },
    },
  ]);
  it('describes like classic', () => {
    const f = new PortFilter();
    assert.deepEqual(f.describe(req({ ports: [port(80), port(443)] })), ['port 80 (Bridge mode)', 'port 443 (Bridge mode)']);
    assert.deepEqual(f.describe(req({ ports: [port(80)], networkMode: 'host' })), ['port 80/tcp (Host mode)']);
    assert.deepEqual(f.describe(req()), []);
  });
  it('the per-node port index answers as testing every held binding does (property)', () => {
    const binding = fc.record({ hostPort: fc.constantFrom(0, 80, 81), hostIp: fc.constantFrom('', '0.0.0.0', '10.0.0.1', '10.0.0.2'), proto: fc.constantFrom('tcp', 'udp', 'TCP', '') });
    const ctr = fc.array(binding, { maxLength: 3 });
    fc.assert(fc.property(fc.array(fc.array(ctr, { maxLength: 3 }), { minLength: 1, maxLength: 4 }), fc.array(binding, { minLength: 1, maxLength: 2 }), (spec, want) => {
      const nodes = spec.map((cs, i) => node(`n${i}`, { containers: cs.map((ports) => container({ ports })) }));
      const scan = nodes.filter((n) => want.every((w) => !n.containers.some((c) => c.ports.some((h) => portsClash(w, h)))));
      let got: string[];
      try { got = names(new PortFilter().filter(req({ ports: want }), nodes)); } catch { got = []; }
      assert.deepEqual(got, names(scan));
    }), { numRuns: 500 });
  });
});

describe('containerslots filter', () => {
  const withSlots = (name: string, slots: string | undefined, n: number) =>
    node(name, { labels: slots === undefined ? {} : { containerslots: slots }, containers: containers(n) });
  run(new ContainerSlotsFilter(), [
    { title: 'no label: unlimited', nodes: [withSlots('a', undefined, 100)], want: ['a'] },
    { title: 'room left', nodes: [withSlots('a', '3', 2)], want: ['a'] },
    { title: 'full node skipped', nodes: [withSlots('a', '2', 2), withSlots('b', '3', 2)], want: ['b'] },
    { title: 'non-integer: unlimited', nodes: [withSlots('a', 'many', 5), withSlots('b', '1.5', 5)], want: ['a', 'b'] },
    { title: 'zero slots: never', nodes: [withSlots('a', '0', 0), withSlots('b', undefined, 0)], want: ['b'] },
    {
      title: 'exited containers use slots',
      nodes: [node('a', { labels: { containerslots: '1' }, containers: [container({ state: 'exited' })] })],
      want: { error: 'No node with enough open slots available in the cluster' },
    },
    { title: 'all full', nodes: [withSlots('a', '1', 1)], want: { error: 'No node with enough open slots available in the cluster' } },
  ]);
  it('describes like classic', () => assert.deepEqual(new ContainerSlotsFilter().describe(), ['available container slots']));
});

describe('dependency filter', () => {
  const a = node('a', { containers: [container({ id: 'a'.repeat(64), names: ['db'] }), container({ id: 'b'.repeat(64), names: ['data'] })] });
  const b = node('b', { containers: [container({ id: 'c'.repeat(64), names: ['cache'] })] });
  const deps = (volumesFrom: string[] = [], links: string[] = [], namespaces: string[] = []) => ({ dependencies: { volumesFrom, links, namespaces } });
  run(new DependencyFilter(), [
    { title: 'no dependencies: all nodes', nodes: [a, b], want: ['a', 'b'] },
    { title: 'volumes-from pins to its node', req: deps(['data']), nodes: [a, b], want: ['a'] },
    { title: 'link by name', req: deps([], ['cache']), nodes: [a, b], want: ['b'] },
    { title: 'link by full ID', req: deps([], ['c'.repeat(64)]), nodes: [a, b], want: ['b'] },
    { title: 'by ID prefix', req: deps([], [], ['cccc']), nodes: [a, b], want: ['b'] },
    { title: 'by node/name', req: deps([], ['a/db']), nodes: [a, b], want: ['a'] },
    { title: 'several on one node', req: deps(['data'], ['db'], ['db']), nodes: [a, b], want: ['a'] },
    {
      title: 'dependencies on different nodes fail',
      req: deps(['data'], ['cache']),
      nodes: [a, b],
      want: { error: 'Unable to find a node fulfilling all dependencies: data (on a), cache (on b)' },
    },
    {
      title: 'missing dependency fails',
      req: deps([], ['nope']),
      nodes: [a, b],
      want: { error: 'Unable to find a node fulfilling all dependencies: nope (not found)' },
    },
  ]);
  it('describes each dependency', () => {
    const f = new DependencyFilter();
    assert.deepEqual(
      f.describe(req({ ...deps(['data'], ['db'], ['net1', 'ipc1']), networkMode: 'container:net1' })),
      ['--volumes-from=data', '--link=db', '--net=container:net1', '--ipc/--pid=container:ipc1'],
    );
    assert.deepEqual(f.describe(req()), []);
  });
  it('findContainer resolves ID, name, /name, and unique prefixes only', () => {
    const n = node('n', { containers: [container({ id: 'ab1', names: ['x'] }), container({ id: 'ab2', names: ['/y'] })] });
    assert.equal(findContainer(n, 'ab1')?.id, 'ab1');
    assert.equal(findContainer(n, '/x')?.id, 'ab1');
    assert.equal(findContainer(n, 'y')?.id, 'ab2');
    assert.equal(findContainer(n, 'n/y')?.id, 'ab2');
    assert.equal(findContainer(n, 'ab'), undefined, 'ambiguous prefix');
    assert.equal(findContainer(n, 'zz'), undefined);
  });
});

describe('affinity filter', () => {
  const webId = 'f'.repeat(64);
  const a = node('a', {
    containers: [container({ id: webId, names: ['web'], labels: { 'com.example.role': 'frontend' } })],
    images: [image({ id: 'sha256:' + '1'.repeat(64), repoTags: ['redis:latest', 'localhost:5000/app:1.0'] })],
  });
  const b = node('b', {
    containers: [container({ id: 'e'.repeat(64), names: ['db'], labels: {} })],
    images: [image({ id: 'sha256:' + '2'.repeat(64), repoTags: ['nginx:1.25'], repoDigests: ['nginx@sha256:' + '9'.repeat(64)] })],
  });
  const c = node('c');
  const all = [a, b, c];
  run(new AffinityFilter(), [
    { title: 'no affinities: all nodes', nodes: all, want: ['a', 'b', 'c'] },
    { title: 'container by name', req: { affinities: ['container==web'] }, nodes: all, want: ['a'] },
    { title: 'container by name glob', req: { affinities: ['container==w*'] }, nodes: all, want: ['a'] },
    { title: 'container by full ID', req: { affinities: [`container==${webId}`] }, nodes: all, want: ['a'] },
    { title: 'container by short ID', req: { affinities: [`container==${webId.slice(0, 12)}`] }, nodes: all, want: ['a'] },
    { title: 'container !=', req: { affinities: ['container!=web'] }, nodes: all, want: ['b', 'c'] },
    { title: 'image by repo (implicit latest)', req: { affinities: ['image==redis'] }, nodes: all, want: ['a'] },
    { title: 'image by repo:tag', req: { affinities: ['image==redis:latest'] }, nodes: all, want: ['a'] },
    { title: 'image by repo of a tagged image', req: { affinities: ['image==nginx'] }, nodes: all, want: ['b'] },
    { title: 'image with registry port', req: { affinities: ['image==localhost:5000/app'] }, nodes: all, want: ['a'] },
    { title: 'image by ID', req: { affinities: ['image==sha256:' + '2'.repeat(64)] }, nodes: all, want: ['b'] },
    { title: 'image by short ID', req: { affinities: ['image==' + '2'.repeat(12)] }, nodes: all, want: ['b'] },
    { title: 'image !=', req: { affinities: ['image!=redis'] }, nodes: all, want: ['b', 'c'] },
    { title: 'container label', req: { affinities: ['com.example.role==frontend'] }, nodes: all, want: ['a'] },
    { title: 'container label regex', req: { affinities: ['com.example.role==/front/'] }, nodes: all, want: ['a'] },
    { title: 'container label != (nodes without it pass)', req: { affinities: ['com.example.role!=frontend'] }, nodes: all, want: ['b', 'c'] },
    { title: 'several affinities are ANDed', req: { affinities: ['container==web', 'image==nginx'] }, nodes: all, want: { error: 'unable to find a node that satisfies the affinity image==nginx' } },
    { title: 'soft applies on the soft pass', req: { affinities: ['container==~web'] }, nodes: all, soft: true, want: ['a'] },
    { title: 'soft ignored on the hard pass', req: { affinities: ['container==~nothing'] }, nodes: all, soft: false, want: ['a', 'b', 'c'] },
    { title: 'soft that fails on the soft pass throws', req: { affinities: ['container==~nothing'] }, nodes: all, soft: true, want: { error: 'unable to find a node that satisfies the affinity container==nothing' } },
    { title: 'fails with the expression', req: { affinities: ['container==nope'] }, nodes: all, want: { error: 'unable to find a node that satisfies the affinity container==nope' } },
  ]);
  it('a plain word is case-insensitive, names with and without "/", and non-ASCII names fold like RE2', () => {
    const f = new AffinityFilter();
    const n1 = node('n1', { containers: [container({ id: 'a'.repeat(64), names: ['/Web-1'] })] });
    // U+212A KELVIN SIGN folds to "k" under RE2's (?i): the index (ASCII only) must not decide that one.
    const n2 = node('n2', { containers: [container({ id: 'b'.repeat(64), names: ['\u212Aube'] })] });
    const pick = (e: string): string[] => names(f.filter(req({ affinities: [e] }), [n1, n2], true));
    assert.deepEqual(pick('container==web-1'), ['n1']);
    assert.deepEqual(pick('container==WEB-1'), ['n1']);
    assert.deepEqual(pick('container==kube'), ['n2']);
    assert.deepEqual(pick('container!=kube'), ['n1']);
    assert.deepEqual(pick('container==' + 'A'.repeat(12)), ['n1']);
  });
  it('literalOf: plain words only', () => {
    assert.equal(literalOf(parseExpr('container==Web_1-x')), 'web_1-x');
    for (const e of ['container==web*', 'container==web.1', 'container==/web/', 'container==w[e]b', 'container==wéb']) assert.equal(literalOf(parseExpr(e)), undefined, e);
  });
  it('container affinities: the name index answers as testing every candidate does (property)', () => {
    // Names from an alphabet with case pairs and characters RE2 folds onto ASCII (K, ſ).
    const word = fc.array(fc.constantFrom('a', 'B', 'k', 'K', 's', 'S', '-', '1', '\u212A', '\u017F', '/', 'é'), { minLength: 1, maxLength: 4 }).map((a) => a.join(''));
    const hex = fc.array(fc.constantFrom('a', 'b', '1'), { minLength: 64, maxLength: 64 }).map((a) => a.join(''));
    const ctr = fc.record({ id: hex, names: fc.array(word, { maxLength: 2 }) });
    const pattern = fc.oneof(word, hex.map((h) => h.slice(0, 12)), hex).filter((w) => !w.startsWith('/'));
    fc.assert(fc.property(fc.array(fc.array(ctr, { maxLength: 4 }), { minLength: 1, maxLength: 4 }), pattern, fc.constantFrom('==', '!='), (spec, p, op) => {
      const nodes = spec.map((cs, i) => node(`n${i}`, { containers: cs.map((c) => container(c)) }));
      let e;
      try { e = parseExpr(`container${op}${p}`); } catch { return; }
      const eq = { ...e, op: '==' as const };
      const scan = nodes.filter((n) => n.containers.some((c) => [c.id, c.id.slice(0, 12), ...c.names.map((x) => x.replace(/^\//, ''))].some((x) => matchExpr(eq, x))) === (op === '=='));
      let got: string[];
      try { got = names(new AffinityFilter().filter(req({ affinities: [e.raw] }), nodes, true)); } catch { got = []; }
      assert.deepEqual(got, names(scan), `${e.raw} over ${JSON.stringify(spec)}`);
    }), { numRuns: 500 });
  });
  it('describes like classic', () => {
    assert.deepEqual(new AffinityFilter().describe(req({ affinities: ['container==web', 'image==~redis'] })), [
      'container==web (soft=false)',
      'image==redis (soft=true)',
    ]);
  });
  it('imageNames and repositoryOf', () => {
    assert.equal(repositoryOf('localhost:5000/app:1.0'), 'localhost:5000/app');
    assert.equal(repositoryOf('localhost:5000/app'), 'localhost:5000/app');
    assert.equal(repositoryOf('localhost:5000/app:1.0@sha256:' + 'a'.repeat(64)), 'localhost:5000/app');
    assert.equal(repositoryOf('app@sha256:abc'), 'app');
    assert.equal(repositoryOf('redis:latest'), 'redis');
    assert.deepEqual(imageNames(image({ id: 'sha256:' + '3'.repeat(64), repoTags: ['<none>:<none>'] })), [
      'sha256:' + '3'.repeat(64),
      '3'.repeat(64),
      '3'.repeat(12),
    ]);
  });
});

describe('constraint filter', () => {
  const n1 = node('node-1', { id: 'AAAA:BBBB', labels: { storage: 'ssd', region: 'us-east', kernelversion: '5.15.0-91-generic' } });
  const n2 = node('node-2', { labels: { storage: 'disk', region: 'us-west' } });
  const n3 = node('other', { labels: {} });
  const all = [n1, n2, n3];
  run(new ConstraintFilter(), [
    { title: 'no constraints: all nodes', nodes: all, want: ['node-1', 'node-2', 'other'] },
    { title: 'label ==', req: { constraints: ['storage==ssd'] }, nodes: all, want: ['node-1'] },
    { title: 'label == is case-insensitive (glob)', req: { constraints: ['storage==SSD'] }, nodes: all, want: ['node-1'] },
    { title: 'label != (missing label passes)', req: { constraints: ['storage!=ssd'] }, nodes: all, want: ['node-2', 'other'] },
    { title: 'label glob', req: { constraints: ['region==us-*'] }, nodes: all, want: ['node-1', 'node-2'] },
    { title: 'label regex', req: { constraints: ['kernelversion==/^5\\.15/'] }, nodes: all, want: ['node-1'] },
    { title: 'missing label fails ==', req: { constraints: ['gpu==*'] }, nodes: all, want: { error: 'unable to find a node that satisfies the constraint gpu==*' } },
    { title: 'node by name', req: { constraints: ['node==node-2'] }, nodes: all, want: ['node-2'] },
    { title: 'node by ID', req: { constraints: ['node==AAAA:BBBB'] }, nodes: all, want: ['node-1'] },
    { title: 'node glob', req: { constraints: ['node==node-*'] }, nodes: all, want: ['node-1', 'node-2'] },
    { title: 'node regex', req: { constraints: ['node==/node-[12]/'] }, nodes: all, want: ['node-1', 'node-2'] },
    { title: 'node !=', req: { constraints: ['node!=node-1'] }, nodes: all, want: ['node-2', 'other'] },
    { title: 'ANDed', req: { constraints: ['region==us-*', 'storage!=ssd'] }, nodes: all, want: ['node-2'] },
    { title: 'soft on the soft pass', req: { constraints: ['node==~node-2'] }, nodes: all, soft: true, want: ['node-2'] },
    { title: 'soft ignored on the hard pass', req: { constraints: ['node==~gone'] }, nodes: all, soft: false, want: ['node-1', 'node-2', 'other'] },
    { title: 'hard still applies on the hard pass', req: { constraints: ['node==~gone', 'storage==disk'] }, nodes: all, soft: false, want: ['node-2'] },
    { title: 'fails with the expression', req: { constraints: ['storage==tape'] }, nodes: all, want: { error: 'unable to find a node that satisfies the constraint storage==tape' } },
  ]);
  it('describes like classic (no soft marker)', () => {
    assert.deepEqual(new ConstraintFilter().describe(req({ constraints: ['storage==ssd', 'node!=~n1'] })), ['storage==ssd', 'node!=n1']);
  });
});

describe('whitelist filter', () => {
  const all = [node('a'), node('b'), node('ab')];
  run(new WhitelistFilter(), [
    { title: 'no whitelist: all nodes', nodes: all, want: ['a', 'b', 'ab'] },
    { title: 'exact names, |-separated', req: { whitelists: ['node==a|b'] }, nodes: all, want: ['a', 'b'] },
    { title: 'no globbing', req: { whitelists: ['node==a*'] }, nodes: all, want: { error: 'unable to find a node that satisfies the whitelist node==a*' } },
    { title: 'case-sensitive', req: { whitelists: ['node==A'] }, nodes: all, want: { error: 'unable to find a node that satisfies the whitelist node==A' } },
    { title: '!= excludes', req: { whitelists: ['node!=a|b'] }, nodes: all, want: ['ab'] },
    { title: 'soft ignored on the hard pass', req: { whitelists: ['node==~zzz'] }, nodes: all, soft: false, want: ['a', 'b', 'ab'] },
  ]);
  it('describes like classic', () => {
    assert.deepEqual(new WhitelistFilter().describe(req({ whitelists: ['node==a|b'] })), ['node==a|b (soft=false)']);
  });
});

describe('filter registry', () => {
  it('has classic defaults in order', () => {
    assert.deepEqual(DEFAULT_FILTERS, ['health', 'port', 'containerslots', 'dependency', 'affinity', 'constraint', 'whitelist']);
    assert.deepEqual(createFilters(DEFAULT_FILTERS).map((f) => f.name), DEFAULT_FILTERS);
    assert.deepEqual(Object.keys(FILTERS).sort(), [...DEFAULT_FILTERS].sort());
  });
  it('keeps the order asked for', () => {
    assert.deepEqual(createFilters(['constraint', 'health']).map((f) => f.name), ['constraint', 'health']);
  });
  it('rejects unknown names', () => {
    assert.equal(thrown(() => createFilters(['health', 'nope'])).message, 'unknown filter: nope');
    assert.equal(thrown(() => createFilters(['toString'])).message, 'unknown filter: toString');
  });
  it('supplies the --filter help: every name with its one-line description, in default order', () => {
    const lines = FILTER_HELP.split('\n');
    const rows = lines.slice(lines.length - DEFAULT_FILTERS.length);
    assert.deepEqual(rows.map((l) => l.split(/\s+/)[0]), DEFAULT_FILTERS);
    for (const [i, name] of DEFAULT_FILTERS.entries()) {
      const d = FILTERS[name].description;
      assert.ok(d && !d.includes('\n'), name);
      assert.ok(rows[i].endsWith(`  ${d}`), rows[i]);
    }
    assert.match(FILTER_HELP, /default: all/);
  });
});

describe('keepIf', () => {
  // Filters return their input itself when they drop nothing (no copy per create).
  it('is Array.filter, returning the input itself when every node stays and never changing it', () => {
    fc.assert(fc.property(fc.array(fc.boolean(), { maxLength: 30 }), (keeps) => {
      const nodes = keeps.map((_, i) => node(`n${i}`));
      const before = [...nodes];
      const keep = (n: Node): boolean => keeps[Number(n.name.slice(1))];
      const out = keepIf(nodes, keep);
      assert.deepEqual(names(out), names(nodes.filter(keep)));
      assert.equal(out === nodes, keeps.every(Boolean));
      assert.deepEqual(nodes, before);
    }));
  });
});
