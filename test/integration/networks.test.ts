// Networks and volumes through the manager (issue 13), on 3 real engines,
// with CLI 28, CLI 20.10 and dockerode: create (one node, or node/name),
// ls with filters, inspect, connect/disconnect, rm, prune, and `docker run`
// landing where its network or named volume is. Errors are compared with
// what an engine answers directly. Tests run in order and build on each other.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { api } from '../../src/devcluster/util.js';
import { eventually } from '../lib/wait.js';
import { clusterBlock, skipReason, withCluster, type DockerOptions, type TestCluster } from '../lib/cluster.js';
import { nodeStatus } from '../lib/observe.js';

const BLOCK = clusterBlock(8); // slots 80-82, engine ports 24400-24402, manager 24450 (create-validation.test.ts uses 80-81: never run both at once)
const T = { timeout: 90_000 };
const NODES = ['node-0', 'node-1', 'node-2'];
const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);
// node-1's engine is slot 81: its user networks come from 172.30.81.0/24 (/28 each, from the bottom).
const SUBNET = '172.30.81.240/28';

describe('networks and volumes (3 engines)', { skip: skipReason() }, () => {
  let c: TestCluster;
  let d: Docker;

  before(async () => {
    c = await withCluster({ ...BLOCK, nodes: 3 });
    d = new Docker({ host: '127.0.0.1', port: BLOCK.managerPort });
    const ready = await eventually(() => d.info(), (i: any) => NODES.every((n) => nodeStatus(i, n) === 'Healthy'), 30_000);
    assert.ok(NODES.every((n) => nodeStatus(ready, n) === 'Healthy'), JSON.stringify(ready.SystemStatus));
  }, { timeout: 180_000 });
  after(async () => { await c?.stop(); }, { timeout: 120_000 });

  async function dk(args: string[], o: DockerOptions = {}): Promise<string> {
    const r = await c.docker(args, o);
    assert.equal(r.code, 0, `docker ${args.join(' ')} (${o.cli ?? 'new'}) exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }
  async function fails(args: string[], o: DockerOptions = {}): Promise<string> {
    const r = await c.docker(args, o);
    assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail:\n${r.stdout}`);
    return r.stderr;
  }
  const engine = (name: string) => c.engines[NODES.indexOf(name)].addr;
  /** Which engines hold a network (or volume) of this exact name, asked directly. */
  async function holders(kind: 'network' | 'volume', name: string): Promise<string[]> {
    const out: string[] = [];
    for (const n of NODES) {
      const r = await api(engine(n), 'GET', `/${kind === 'network' ? 'networks' : 'volumes'}/${name}`);
      if (r.status === 200) out.push(n);
    }
    return out;
  }
  /** An error through the manager and straight from an engine: same status and message. */
  async function sameError(method: string, path: string, at: string, body?: unknown): Promise<{ status: number; message: string }> {
    const opts = body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } };
    const viaManager = await api(c.managerAddr, method, path, opts);
    const direct = await api(at, method, path, opts);
    assert.ok(direct.status >= 400, `engine answered ${direct.status}: ${direct.body}`);
    assert.equal(viaManager.status, direct.status, viaManager.body);
    const message = JSON.parse(viaManager.body).message;
    assert.equal(message, JSON.parse(direct.body).message);
    return { status: viaManager.status, message };
  }

  let webNode = '';
  let webId = '';

  // ---- networks ---------------------------------------------------------------

  test('network create without a node: on one node chosen by the scheduler, listed at once as node/name', T, async () => {
    webId = (await dk(['network', 'create', '--label', 'team=a', 'web'])).trim();
    assert.match(webId, /^[0-9a-f]{64}$/);
    const where = await holders('network', 'web');
    assert.equal(where.length, 1, `web on ${where.join(', ')}`);
    webNode = where[0];
    assert.deepEqual(lines(await dk(['network', 'ls', '--filter', 'name=web', '--format', '{{.Name}}'])), [`${webNode}/web`]);
    // inspect by name, ID, ID prefix and node/name, both CLIs
    for (const ref of ['web', webId, webId.slice(0, 12), `${webNode}/web`]) {
      for (const cli of ['new', 'old'] as const) {
        assert.equal((await dk(['network', 'inspect', '-f', '{{.Id}} {{.Name}} {{.Driver}}', ref], { cli })).trim(), `${webId} web bridge`, `${ref} (${cli})`);
      }
    }
  });

  test('network create node/name: on that node only, as name; dockerode too', T, async () => {
    await dk(['network', 'create', 'node-1/pinned'], { cli: 'old' });
    assert.deepEqual(await holders('network', 'pinned'), ['node-1']);
    const n = await d.createNetwork({ Name: 'node-2/dnet', Labels: { team: 'b' } });
    assert.match(n.id, /^[0-9a-f]{64}$/);
    assert.deepEqual(await holders('network', 'dnet'), ['node-2']);
    const listed = await d.listNetworks({ filters: { name: ['dnet'] } });
    assert.deepEqual(listed.map((x: any) => x.Name), ['node-2/dnet']);
    assert.equal((await d.getNetwork('node-2/dnet').inspect()).Id, n.id);
  });

  test('one local name on two nodes (as classic allows): bare name ambiguous, node/name works; a duplicate on one node is dockerd 409', T, async () => {
    const other = NODES.find((x) => x !== webNode)!;
    await dk(['network', 'create', `${other}/web`]);
    const err = await fails(['network', 'inspect', 'web']);
    assert.match(err, /network web is ambiguous/);
    assert.ok(err.includes(`${webNode}/web`) && err.includes(`${other}/web`), err);
    const r = await api(c.managerAddr, 'GET', '/networks/web');
    assert.equal(r.status, 400);
    assert.equal((await dk(['network', 'inspect', '-f', '{{.Id}}', `${webNode}/web`])).trim(), webId);
    // the same name again on web's node: the engine's own 409 (the CLI asks for CheckDuplicate)
    const body = JSON.stringify({ Name: 'web', CheckDuplicate: true });
    const direct = await api(engine(webNode), 'POST', '/networks/create', { body, headers: { 'Content-Type': 'application/json' } });
    assert.equal(direct.status, 409, direct.body);
    const viaPrefix = await api(c.managerAddr, 'POST', '/networks/create', { body: JSON.stringify({ Name: `${webNode}/web`, CheckDuplicate: true }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(viaPrefix.status, 409);
    assert.equal(JSON.parse(viaPrefix.body).message, JSON.parse(direct.body).message);
    assert.match(await fails(['network', 'create', `${webNode}/web`], { cli: 'old' }), /network with name web already exists/);
    await dk(['network', 'rm', `${other}/web`]);
    assert.deepEqual(await holders('network', 'web'), [webNode]);
  });

  test('network errors in dockerd words: unknown network (inspect, rm), unknown node prefix', T, async () => {
    const e = await sameError('GET', '/networks/nosuchnet', engine('node-0'));
    assert.equal(e.status, 404);
    assert.equal(e.message, 'network nosuchnet not found');
    assert.equal((await sameError('DELETE', '/networks/nosuchnet', engine('node-0'))).status, 404);
    for (const cli of ['new', 'old'] as const) {
      // each CLI words dockerd's 404 its own way: the same as against an engine
      const direct = await c.docker(['network', 'inspect', 'nosuchnet'], { cli, host: engine('node-0') });
      assert.equal(await fails(['network', 'inspect', 'nosuchnet'], { cli }), direct.stderr);
    }
    assert.match(await fails(['network', 'create', 'node-9/x']), /Unable to find a node that satisfies the following conditions[\s\S]*node==node-9/);
  });

  test('an overlay network on engines without a cluster store: refused, saying what is missing', T, async () => {
    const r = await c.docker(['network', 'create', '-d', 'overlay', 'ov']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /overlay networks need engines sharing a cluster store \(dockerd --cluster-store and --cluster-advertise\), which node-\d was not started with; the engine said: /);
  });

  test('network ls filters: type, name, node, driver, label, id, scope, dangling', T, async () => {
    const ls = async (...f: string[]) => lines(await dk(['network', 'ls', ...f.flatMap((x) => ['--filter', x]), '--format', '{{.Name}}'])).sort();
    assert.deepEqual(await ls('type=custom'), [`${webNode}/web`, 'node-1/pinned', 'node-2/dnet'].sort());
    assert.deepEqual(await ls('type=builtin', 'name=bridge'), NODES.map((n) => `${n}/bridge`));
    assert.deepEqual(await ls('node=node-1', 'type=custom'), ['node-1/pinned']);
    assert.deepEqual(await ls('node=node-1'), ['node-1/bridge', 'node-1/host', 'node-1/none', 'node-1/pinned']);
    assert.deepEqual(await ls('driver=host'), NODES.map((n) => `${n}/host`));
    assert.deepEqual(await ls('label=team=a'), [`${webNode}/web`]);
    assert.deepEqual(await ls('label=team'), [`${webNode}/web`, 'node-2/dnet'].sort());
    assert.deepEqual(await ls(`id=${webId.slice(0, 10)}`), [`${webNode}/web`]);
    assert.deepEqual(await ls('name=node-2/dnet'), ['node-2/dnet']);
    assert.deepEqual(await ls('scope=local', 'name=pinned'), ['node-1/pinned']);
    // dangling: asked of the engines (no container on these custom networks yet)
    assert.deepEqual(await ls('dangling=true'), [`${webNode}/web`, 'node-1/pinned', 'node-2/dnet'].sort());
    assert.deepEqual(await ls('dangling=true', 'node=node-1'), ['node-1/pinned']);
    assert.deepEqual(await ls('dangling=false', 'type=custom'), []);
    assert.deepEqual(lines(await dk(['network', 'ls', '-q', '--filter', 'name=pinned'], { cli: 'old' })).length, 1);
    const bad = await api(c.managerAddr, 'GET', `/networks?filters=${encodeURIComponent('{"nope":["x"]}')}`);
    assert.equal(bad.status, 400);
  });

  test('run --net on a node-local network: lands on its node, with --ip and --network-alias; ps --filter network', T, async () => {
    await dk(['network', 'create', '--subnet', SUBNET, 'node-1/sub']);
    for (const cli of ['new', 'old'] as const) {
      const name = `netc-${cli}`;
      const ip = cli === 'new' ? '172.30.81.245' : '172.30.81.246';
      await dk(['run', '-d', '--name', name, '--net', 'sub', '--ip', ip, '--network-alias', `alias-${cli}`, 'busybox', 'sleep', '300'], { cli });
      assert.equal((await dk(['inspect', '-f', '{{.Node.Name}} {{(index .NetworkSettings.Networks "sub").IPAddress}}', name], { cli })).trim(), `node-1 ${ip}`);
    }
    // the alias resolves on the network (dockerd's embedded DNS)
    const ping = await dk(['run', '--rm', '--net', 'sub', 'busybox', 'ping', '-c', '1', '-W', '5', 'alias-new']);
    assert.match(ping, /172\.30\.81\.245/);
    const subId = (await dk(['network', 'inspect', '-f', '{{.Id}}', 'sub'])).trim();
    for (const f of ['network=sub', 'network=node-1/sub', `network=${subId}`, `network=${subId.slice(0, 12)}`]) {
      assert.deepEqual(lines(await dk(['ps', '--filter', f, '--format', '{{.Names}}'])).sort(), ['node-1/netc-new', 'node-1/netc-old'], f);
    }
  });

  test('network connect/disconnect: on the network node with --ip and --alias; a container of another node is refused', T, async () => {
    await dk(['run', '-d', '--name', 'lonely', '-e', 'constraint:node==node-1', 'busybox', 'sleep', '300']);
    await dk(['network', 'connect', '--ip', '172.30.81.250', '--alias', 'al2', 'sub', 'lonely']);
    const net = (await dk(['inspect', '-f', '{{json (index .NetworkSettings.Networks "sub")}}', 'lonely'])).trim();
    const ep = JSON.parse(net);
    assert.equal(ep.IPAddress, '172.30.81.250');
    assert.ok(ep.Aliases.includes('al2'), net);
    assert.deepEqual(lines(await dk(['ps', '--filter', 'network=sub', '--filter', 'name=lonely', '--format', '{{.Names}}'])), ['node-1/lonely']);
    await dk(['network', 'disconnect', 'sub', 'lonely'], { cli: 'old' });
    assert.deepEqual(lines(await dk(['ps', '--filter', 'network=sub', '--filter', 'name=lonely', '--format', '{{.Names}}'])), []);
    // dockerode, node/name
    await d.getNetwork('node-1/sub').connect({ Container: 'lonely', EndpointConfig: { IPAMConfig: { IPv4Address: '172.30.81.251' }, Aliases: ['al3'] } });
    const ins = await d.getContainer('lonely').inspect();
    assert.equal(ins.NetworkSettings.Networks.sub.IPAddress, '172.30.81.251');
    assert.ok(ins.NetworkSettings.Networks.sub.Aliases.includes('al3'));
    await d.getNetwork('node-1/sub').disconnect({ Container: 'lonely' });
    // another node's container
    await dk(['run', '-d', '--name', 'far', '-e', 'constraint:node==node-0', 'busybox', 'sleep', '300']);
    const err = await fails(['network', 'connect', 'sub', 'far']);
    assert.match(err, /container far is on node node-0 and network sub on node node-1/);
    assert.match(await fails(['network', 'connect', 'sub', 'nosuchcontainer']), /No such container: nosuchcontainer/);
    await dk(['rm', '-f', 'far', 'lonely']);
  });

  test('network rm (in use: the engine refuses) and prune on every node', T, async () => {
    const inUse = await fails(['network', 'rm', 'sub']);
    assert.match(inUse, /has active endpoints/);
    await dk(['rm', '-f', 'netc-new', 'netc-old']);
    await dk(['network', 'rm', 'sub'], { cli: 'old' });
    assert.deepEqual(await holders('network', 'sub'), []);
    assert.deepEqual(lines(await dk(['network', 'ls', '-q', '--filter', 'name=sub'])), []);
    await dk(['network', 'create', 'node-0/junk']);
    const pruned = await d.pruneNetworks();
    assert.deepEqual([...(pruned.NetworksDeleted ?? [])].sort(), [`${webNode}/web`, 'node-0/junk', 'node-1/pinned', 'node-2/dnet'].sort());
    assert.deepEqual(lines(await dk(['network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}}'])), []);
    const again = await dk(['network', 'prune', '-f']);
    assert.doesNotMatch(again, /node-/);
  });

  // ---- volumes ------------------------------------------------------------------

  test('volume create without a node: on every node; node/name on that node only; dockerode', T, async () => {
    assert.equal((await dk(['volume', 'create', 'shared'])).trim(), 'shared');
    assert.deepEqual(await holders('volume', 'shared'), NODES);
    assert.deepEqual(lines(await dk(['volume', 'ls', '-q', '--filter', 'name=shared'])).sort(), NODES.map((n) => `${n}/shared`));
    assert.equal((await dk(['volume', 'create', 'node-2/only2'], { cli: 'old' })).trim(), 'only2');
    assert.deepEqual(await holders('volume', 'only2'), ['node-2']);
    const v: any = await d.createVolume({ Name: 'node-0/lab', Labels: { k: 'v' } });
    assert.equal(v.name, 'lab'); // dockerode hands back a Volume named from the answer's Name
    assert.deepEqual(await holders('volume', 'lab'), ['node-0']);
    // nameless: one random name on every node
    const anon: any = await d.createVolume({});
    assert.match(anon.name, /^[0-9a-f]{64}$/);
    assert.deepEqual(await holders('volume', anon.name), NODES);
    await d.getVolume(anon.name).remove();
    assert.deepEqual(await holders('volume', anon.name), []);
  });

  test('volume ls filters: name, node, driver, label, dangling; inspect by name and node/name', T, async () => {
    const ls = async (...f: string[]) => lines(await dk(['volume', 'ls', '-q', ...f.flatMap((x) => ['--filter', x])])).sort();
    assert.deepEqual(await ls('node=node-2'), ['node-2/only2', 'node-2/shared']);
    assert.deepEqual(await ls('label=k=v'), ['node-0/lab']);
    assert.deepEqual(await ls('driver=local', 'name=only2'), ['node-2/only2']);
    assert.deepEqual(await ls('dangling=true', 'node=node-0'), ['node-0/lab', 'node-0/shared']);
    assert.deepEqual(await ls('name=node-0/'), ['node-0/lab', 'node-0/shared']);
    for (const cli of ['new', 'old'] as const) {
      assert.equal((await dk(['volume', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'only2'], { cli })).trim(), 'only2 local');
      assert.equal((await dk(['volume', 'inspect', '-f', '{{.Name}}', 'node-0/lab'], { cli })).trim(), 'lab');
    }
    const e = await sameError('GET', '/volumes/nosuchvol', engine('node-0'));
    assert.equal(e.status, 404);
    assert.match(await fails(['volume', 'inspect', 'nosuchvol']), /no such volume/i);
  });

  test('run -v name:/data with a volume only node-2 has: placed on node-2; rm while in use is the engine 409', T, async () => {
    for (const [i, cli] of (['new', 'old', 'new'] as const).entries()) {
      await dk(['run', '-d', '--name', `vol-${i}`, '-v', 'only2:/data', 'busybox', 'sleep', '300'], { cli });
      assert.equal((await dk(['inspect', '-f', '{{.Node.Name}}', `vol-${i}`])).trim(), 'node-2');
    }
    const m = await d.createContainer({ Image: 'busybox', Cmd: ['true'], HostConfig: { Mounts: [{ Type: 'volume', Source: 'lab', Target: '/l' }] } });
    assert.equal((await m.inspect() as any).Node.Name, 'node-0');
    await m.remove();
    // dockerd's 409 (it lists the containers in no fixed order)
    const direct = await api(engine('node-2'), 'DELETE', '/volumes/only2');
    const inUse = await api(c.managerAddr, 'DELETE', '/volumes/only2');
    assert.equal(direct.status, 409);
    assert.equal(inUse.status, 409);
    assert.match(JSON.parse(inUse.body).message, /^remove only2: volume is in use - \[/);
    assert.match(await fails(['volume', 'rm', 'only2'], { cli: 'old' }), /volume is in use/);
    await dk(['rm', '-f', 'vol-0', 'vol-1', 'vol-2']);
  });

  test('volume rm on every node that has it, or the named node; prune merged', T, async () => {
    await dk(['volume', 'rm', 'node-1/shared']);
    assert.deepEqual(await holders('volume', 'shared'), ['node-0', 'node-2']);
    await dk(['volume', 'rm', 'shared'], { cli: 'old' });
    assert.deepEqual(await holders('volume', 'shared'), []);
    assert.deepEqual(lines(await dk(['volume', 'ls', '-q', '--filter', 'name=shared'])), []);
    assert.equal((await sameError('DELETE', '/volumes/nosuchvol', engine('node-0'))).status, 404);
    await dk(['volume', 'create', 'node-1/junk']);
    // (engines 20.10, API 1.41: prune removes every unused volume, named ones too)
    const pruned: any = await d.pruneVolumes();
    assert.deepEqual([...(pruned.VolumesDeleted ?? [])].sort(), ['node-0/lab', 'node-1/junk', 'node-2/only2']);
    assert.equal(typeof pruned.SpaceReclaimed, 'number');
    assert.deepEqual(lines(await dk(['volume', 'ls', '-q'])), []);
  });
});
