// Table tests for the pure pieces of the spine: flags, durations, discovery
// entries, listen addresses, Docker filters, event matching, formatting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../../src/util/duration.js';
import { expandRange, parseEntries } from '../../src/discovery/discovery.js';
import { createDiscovery } from '../../src/discovery/index.js';
import { parseHost } from '../../src/api/server.js';
import { normalizeArgs } from '../../src/cli/main.js';
import { parseManageConfig } from '../../src/cli/config.js';
import { parseFilters, matchAny, matchLabels } from '../../src/util/dockerfilters.js';
import { eventMatcher, parseTimestamp } from '../../src/api/events.js';
import { bytesSize } from '../../src/api/system.js';
import { compareApiVersions } from '../../src/util/apiversion.js';
import fc from 'fast-check';

test('parseDuration: Go durations', () => {
  const cases: Array<[string, number]> = [['30s', 30_000], ['1m30s', 90_000], ['500ms', 500], ['1h', 3_600_000], ['0', 0], ['1.5s', 1500], ['2m', 120_000]];
  for (const [s, ms] of cases) assert.equal(parseDuration(s), ms, s);
  for (const bad of ['', '30', 's', '1x', '1s2', '-1s']) assert.throws(() => parseDuration(bad), /invalid duration/, bad);
});

test('expandRange and parseEntries: classic range forms', () => {
  assert.deepEqual(expandRange('10.0.0.[10:12]:2375'), ['10.0.0.10:2375', '10.0.0.11:2375', '10.0.0.12:2375']);
  assert.deepEqual(expandRange('192.168.1.2:[2:4]375'), ['192.168.1.2:2375', '192.168.1.2:3375', '192.168.1.2:4375']);
  assert.deepEqual(expandRange('127.0.0.1:[5000:5001]'), ['127.0.0.1:5000', '127.0.0.1:5001']);
  assert.deepEqual(expandRange('a:1'), ['a:1']);
  assert.throws(() => expandRange('a:[5:3]'), /invalid range/);
  assert.deepEqual(parseEntries(['# comment', '', ' a:1 ', 'a:1', 'b:[2:3]']), ['a:1', 'b:2', 'b:3']);
  for (const bad of ['nohost', 'a:99999', 'a:b', 'tcp://a:1']) assert.throws(() => parseEntries([bad]), /invalid node address/, bad);
});

test('createDiscovery: schemes', () => {
  assert.equal(createDiscovery('nodes://a:1,b:2', { heartbeatMs: 1000, opts: new Map() }).scheme, 'nodes');
  assert.equal(createDiscovery('a:1,b:2', { heartbeatMs: 1000, opts: new Map() }).scheme, 'nodes');
  assert.equal(createDiscovery('file:///tmp/x', { heartbeatMs: 1000, opts: new Map() }).scheme, 'file');
  assert.equal(createDiscovery('zk://a:2181/x', { heartbeatMs: 1000, opts: new Map() }).scheme, 'zk');
  assert.throws(() => createDiscovery('bogus://x', { heartbeatMs: 1000, opts: new Map() }), /unsupported discovery scheme/);
});

test('parseHost: -H forms', () => {
  assert.deepEqual(parseHost('tcp://127.0.0.1:4000'), { proto: 'tcp', host: '127.0.0.1', port: 4000, path: '', raw: 'tcp://127.0.0.1:4000' });
  assert.equal(parseHost('127.0.0.1:4000').port, 4000);
  assert.equal(parseHost(':4000').host, '0.0.0.0');
  assert.equal(parseHost('tcp://0.0.0.0').port, 3375);
  assert.equal(parseHost('unix:///var/run/swarm.sock').path, '/var/run/swarm.sock');
  assert.throws(() => parseHost('http://a:1'), /invalid listen address/);
  assert.throws(() => parseHost('a:70000'), /invalid port/);
});

test('normalizeArgs: single-dash long flags become double-dash', () => {
  assert.deepEqual(
    normalizeArgs(['-experimental', 'manage', '-H', '127.0.0.1:4000', '-l', 'debug', '-strategy=binpack', '--heartbeat=1s', 'nodes://a:1']),
    ['--experimental', 'manage', '-H', '127.0.0.1:4000', '-l', 'debug', '--strategy=binpack', '--heartbeat=1s', 'nodes://a:1'],
  );
});

test('parseManageConfig: classic defaults and validation', () => {
  const cfg = parseManageConfig({ discovery: 'a:1' });
  assert.equal(cfg.strategy, 'spread');
  assert.deepEqual(cfg.filters, ['health', 'port', 'containerslots', 'dependency', 'affinity', 'constraint', 'whitelist']);
  assert.equal(cfg.refreshMinMs, 30_000);
  assert.equal(cfg.refreshMaxMs, 60_000);
  assert.equal(cfg.failureRetry, 3);
  assert.equal(cfg.heartbeatMs, 60_000);
  assert.equal(cfg.overcommit, 0.05);
  assert.equal(cfg.createRetry, 0);
  assert.equal(cfg.hosts[0].port, 3375);
  const c2 = parseManageConfig({ discovery: 'a:1', strategy: 'binpacking', filter: ['health,constraint'], 'cluster-opt': ['swarm.overcommit=-0.5', 'swarm.createretry=2'] });
  assert.equal(c2.strategy, 'binpack');
  assert.deepEqual(c2.filters, ['health', 'constraint']);
  assert.equal(c2.overcommit, -0.5);
  assert.equal(c2.createRetry, 2);
  assert.equal(c2.warnings.length, 1);
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{}, /discovery required/],
    [{ discovery: 'a:1', strategy: 'nope' }, /unknown strategy/],
    [{ discovery: 'a:1', filter: ['nope'] }, /unknown filter/],
    [{ discovery: 'a:1', 'engine-refresh-min-interval': '0s' }, /positive/],
    [{ discovery: 'a:1', 'engine-refresh-min-interval': '10s', 'engine-refresh-max-interval': '5s' }, /cannot be less/],
    [{ discovery: 'a:1', 'engine-failure-retry': 0 }, /failure retry/],
    [{ discovery: 'a:1', 'engine-refresh-retry': 5 }, /deprecated/],
    [{ discovery: 'a:1', heartbeat: '500ms' }, /at least one second/],
    [{ discovery: 'a:1', 'cluster-opt': ['swarm.overcommit=-1'] }, /overcommit/],
    [{ discovery: 'a:1', 'cluster-opt': ['swarm.createretry=-1'] }, /createretry/],
    [{ discovery: 'a:1', 'cluster-opt': ['nokey'] }, /key=value/],
    [{ discovery: 'a:1', 'cluster-driver': 'mesos-experimental' }, /unsupported cluster/],
    // classic Swarm's texts, checked before the discovery
    [{ tls: true }, /--tlscert and --tlskey must be provided when using --tls$/],
    [{ discovery: 'a:1', tlsverify: true, tlscert: 'c', tlskey: 'k' }, /--tlscacert must be provided when using --tlsverify$/],
    [{ discovery: 'a:1', tlscert: 'c' }, /--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify$/],
    [{ discovery: 'a:1', tlscacert: 'ca' }, /--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify$/],
  ];
  for (const [argv, re] of bad) assert.throws(() => parseManageConfig(argv), re, JSON.stringify(argv));
  // TLS: 3376 with no -H; a bare host gets 3376 too; --tls alone needs no CA.
  const t = parseManageConfig({ discovery: 'a:1', tlsverify: true, tlscacert: 'ca', tlscert: 'c', tlskey: 'k' });
  assert.deepEqual(t.tls, { verify: true, ca: 'ca', cert: 'c', key: 'k' });
  assert.equal(t.hosts[0].port, 3376);
  assert.equal(parseManageConfig({ discovery: 'a:1', tls: true, tlscert: 'c', tlskey: 'k', host: ['tcp://0.0.0.0'] }).hosts[0].port, 3376);
  assert.equal(parseManageConfig({ discovery: 'a:1', tls: true, tlscert: 'c', tlskey: 'k' }).tls?.verify, false);
  assert.equal(parseManageConfig({ discovery: 'a:1', host: ['tcp://0.0.0.0'] }).hosts[0].port, 3375);
});

test('Docker filters: both JSON forms, regex match, labels', () => {
  assert.deepEqual([...parseFilters('{"status":["running"],"label":{"a=b":true}}')], [['status', ['running']], ['label', ['a=b']]]);
  assert.throws(() => parseFilters('{bad'), /invalid filter/);
  assert.throws(() => parseFilters('[1]'), /invalid filter/);
  assert.equal(matchAny(['web'], '/web1'), true);
  assert.equal(matchAny(['^/web$'], '/web1'), false);
  assert.equal(matchAny(['abc'], 'abc'), true);
  assert.equal(matchLabels(['a'], { a: '1' }), true);
  assert.equal(matchLabels(['a=1'], { a: '1' }), true);
  assert.equal(matchLabels(['a=2'], { a: '1' }), false);
  assert.equal(matchLabels(['b'], { a: '1' }), false);
});

test('events: timestamps and filters', () => {
  assert.equal(parseTimestamp('1700000000'), 1_700_000_000_000_000_000n);
  assert.equal(parseTimestamp('1700000000.5'), 1_700_000_000_500_000_000n);
  assert.equal(parseTimestamp('10m', 1_000_000), BigInt(1_000_000 - 600_000) * 1_000_000n);
  assert.equal(parseTimestamp('2023-11-14T22:13:20Z'), 1_700_000_000_000_000_000n);
  assert.throws(() => parseTimestamp('yesterday'), /timestamp/);
  const node = { Name: 'node-1', Id: 'X', Addr: '127.0.0.1:1', Ip: '127.0.0.1' };
  const start = { Type: 'container', Action: 'start', Actor: { ID: 'abcdef', Attributes: { name: 'web', image: 'busybox', tier: 'front' } }, node };
  const pull = { Type: 'image', Action: 'pull', Actor: { ID: 'busybox:latest', Attributes: { name: 'busybox' } }, node };
  const cases: Array<[string, object, boolean]> = [
    ['{"event":["start"]}', start, true],
    ['{"event":["die"]}', start, false],
    ['{"type":["image"]}', pull, true],
    ['{"type":["image"]}', start, false],
    ['{"container":["web"]}', start, true],
    ['{"container":["abc"]}', start, true],
    ['{"container":["other"]}', start, false],
    ['{"node":["node-1"]}', start, true],
    ['{"node":["node-2"]}', start, false],
    ['{"label":["tier=front"]}', start, true],
    ['{"image":["busybox"]}', start, true],
    ['{"image":["busybox"]}', pull, true],
  ];
  for (const [f, ev, want] of cases) assert.equal(eventMatcher(parseFilters(f))(ev as any), want, `${f} on ${(ev as any).Action}`);
  assert.throws(() => eventMatcher(parseFilters('{"bogus":["x"]}')), /invalid filter 'bogus'/);
});

test('bytesSize: Go units.BytesSize', () => {
  const cases: Array<[number, string]> = [[0, '0 B'], [1023, '1023 B'], [1024, '1 KiB'], [64 * 1024 * 1024, '64 MiB'], [8_790_000_000, '8.186 GiB']];
  for (const [n, s] of cases) assert.equal(bytesSize(n), s, String(n));
});

test('compareApiVersions', () => {
  assert.ok(compareApiVersions('1.41', '1.24') > 0);
  assert.ok(compareApiVersions('1.9', '1.10') < 0);
  assert.equal(compareApiVersions('1.41', '1.41'), 0);
  assert.ok(compareApiVersions('1', '1.0') === 0 && compareApiVersions('2', '1.99') > 0);
  assert.ok(compareApiVersions('1.41.2', '1.41') === 0);
});

test('compareApiVersions: the same verdicts as splitting on dots and Number()', () => {
  // The digit-by-digit reader replaced split('.').map(Number); its answers must not move.
  const bySplit = (a: string, b: string): number => {
    const [a1, a2] = a.split('.').map(Number);
    const [b1, b2] = b.split('.').map(Number);
    return a1 !== b1 ? a1 - b1 : (a2 || 0) - (b2 || 0);
  };
  const sign = (n: number): string => (Number.isNaN(n) ? 'NaN' : String(Math.sign(n)));
  const version = fc.stringMatching(/^[0-9]{0,3}(\.[0-9]{0,3}){0,2}x?$/);
  fc.assert(fc.property(version, version, (a, b) => {
    assert.equal(sign(compareApiVersions(a, b)), sign(bySplit(a, b)), `${a} vs ${b}`);
  }), { numRuns: 2000 });
});

test('manage: -H before the discovery argument does not swallow it', async () => {
  const yargs = (await import('yargs')).default;
  const { manageCommand } = await import('../../src/cli/manage.js');
  let seen: Record<string, unknown> | undefined;
  await yargs(['manage', '-H', 'tcp://127.0.0.1:4000', '-H', '127.0.0.1:4001', '-f', 'health', 'nodes://a:1'])
    .command({ ...manageCommand, handler: (argv: Record<string, unknown>) => { seen = argv; } } as any)
    .parseAsync();
  assert.equal(seen?.discovery, 'nodes://a:1');
  const cfg = parseManageConfig(seen!);
  assert.deepEqual(cfg.hosts.map((h) => h.port), [4000, 4001]);
  assert.deepEqual(cfg.filters, ['health']);
});

test('humanDuration and containerStatus: dockerd texts at request time', async () => {
  const { humanDuration, containerStatus, parseDockerTime } = await import('../../src/util/humanize.js');
  const cases: Array<[number, string]> = [
    [500, 'Less than a second'], [1000, '1 second'], [59_000, '59 seconds'], [60_000, 'About a minute'],
    [119_000, 'About a minute'], [120_000, '2 minutes'], [59 * 60_000, '59 minutes'], [3_600_000, 'About an hour'],
    [5 * 3_600_000, '5 hours'], [47 * 3_600_000, '47 hours'], [3 * 86_400_000, '3 days'], [20 * 86_400_000, '2 weeks'],
    [90 * 86_400_000, '3 months'], [800 * 86_400_000, '2 years'],
  ];
  for (const [ms, s] of cases) assert.equal(humanDuration(ms), s, String(ms));
  const now = 1_000_000_000;
  const t = { startedAt: now - 8000, finishedAt: now - 120_000 };
  assert.equal(containerStatus('running', 'Up Less than a second', t, now), 'Up 8 seconds');
  assert.equal(containerStatus('running', 'Up 1 second (healthy)', t, now), 'Up 8 seconds (healthy)');
  assert.equal(containerStatus('paused', 'Up 1 second (Paused)', t, now), 'Up 8 seconds (Paused)');
  assert.equal(containerStatus('exited', 'Exited (137) 1 second ago', t, now), 'Exited (137) 2 minutes ago');
  assert.equal(containerStatus('restarting', 'Restarting (1) 1 second ago', t, now), 'Restarting (1) 2 minutes ago');
  assert.equal(containerStatus('created', 'Created', t, now), 'Created');
  assert.equal(containerStatus('running', 'Up 3 hours', { startedAt: 0, finishedAt: 0 }, now), 'Up 3 hours');
  assert.equal(parseDockerTime('0001-01-01T00:00:00Z'), 0);
  assert.equal(parseDockerTime('2023-11-14T22:13:20.5Z'), 1_700_000_000_500);
});

test('registered entries: exactly one host:port, never a range; brackets only around IPv6', async () => {
  const { checkEntry, checkAddr } = await import('../../src/discovery/discovery.js');
  assert.equal(checkEntry(' 10.0.0.1:2375 '), '10.0.0.1:2375');
  assert.equal(checkEntry('[::1]:2375'), '[::1]:2375');
  for (const bad of ['[1:65535]:2375', '[9:1]:2375', '10.0.0.[1:3]:2375', 'a:99999', ':2375', 'host']) {
    assert.throws(() => checkEntry(bad), /invalid node address/, bad);
  }
  assert.throws(() => checkAddr('[zz]:1'), /invalid node address/);
});
