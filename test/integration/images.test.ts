// Issue 13, images: login, pull (one progress stream naming each node),
// tag, push, rmi, history, search and prune through the manager, with the
// docker CLIs 28 and 20.10 and dockerode, against a local registry with
// htpasswd auth (test/lib/registry.ts) and 3 real engines.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { eventually } from '../lib/wait.js';
import { clusterBlock, skipReason, withCluster, type DockerOptions, type DockerResult, type TestCluster } from '../lib/cluster.js';
import { raw } from '../lib/http.js';
import { nodeStatus } from '../lib/observe.js';
import { registrySkipReason, startRegistry, type TestRegistry } from '../lib/registry.js';

const BLOCK = clusterBlock(15); // slots 150-152, engine ports 25100-25102, manager 25150
const REGISTRY_PORT = 23561;
const REG = `127.0.0.1:${REGISTRY_PORT}`;
const USER = 'user';
const PASS = 'pass';
const T = { timeout: 120_000 };
const NODES = ['node-0', 'node-1', 'node-2'];
const V1 = `${REG}/busybox:v1`;
const TWO = `${REG}/busybox:two`;
const authconfig = { username: USER, password: PASS, serveraddress: REG };
// dockerd decodes X-Registry-Auth as URL-safe base64 *with* padding (Node's base64url has none).
const authHeader = (a: object): string => Buffer.from(JSON.stringify(a)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');

describe('images through the manager (registry with auth; 3 engines)', { skip: skipReason() ?? registrySkipReason() }, () => {
  let c: TestCluster;
  let reg: TestRegistry;
  let d: Docker;

  /** docker via the manager (or an engine with `host`); must exit 0. */
  async function dk(args: string[], o: DockerOptions = {}): Promise<string> {
    const r = await c.docker(args, { timeoutMs: 90_000, ...o });
    assert.equal(r.code, 0, `docker ${args.join(' ')} (${o.cli ?? 'new'}, ${o.host ?? 'manager'}) exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }
  const onEngine = (i: number, args: string[]): Promise<string> => dk(args, { host: c.engines[i]!.addr, cli: 'old' });
  /** Image IDs for a reference on each engine, asked of the engines themselves. */
  const perEngine = (ref: string): Promise<string[]> =>
    Promise.all(c.engines.map(async (e) => (await c.docker(['images', '-q', ref], { host: e.addr })).stdout.trim()));
  const daemonError = (r: DockerResult): string => {
    const m = /Error response from daemon: (.*)/.exec(r.stderr) ?? /Error: (.*)/.exec(r.stderr);
    assert.ok(m, `no daemon error in: ${r.stderr}`);
    return m[1]!.trim();
  };

  before(async () => {
    reg = await startRegistry({ port: REGISTRY_PORT, user: USER, password: PASS });
    // A killed engine stays in the cluster (failure retry high), so a pull still goes to it and fails there.
    c = await withCluster({ ...BLOCK, nodes: 3, managerArgs: ['--engine-failure-retry', '1000'] });
    d = new Docker({ host: '127.0.0.1', port: BLOCK.managerPort });
    const ready = await eventually(() => d.info(), (i: any) => NODES.every((n) => nodeStatus(i, n) === 'Healthy'), 30_000);
    assert.ok(NODES.every((n) => nodeStatus(ready, n) === 'Healthy'), JSON.stringify(ready.SystemStatus));
    // Seed the registry from engine 0 directly, then drop the tags there: every node pulls.
    await dk(['login', REG, '-u', USER, '--password-stdin'], { host: c.engines[0]!.addr, input: PASS });
    for (const ref of [V1, TWO]) {
      await onEngine(0, ['tag', 'busybox', ref]);
      await onEngine(0, ['push', ref]);
      await onEngine(0, ['rmi', ref]);
    }
    // Logged in through the engine: start each CLI logged out.
    await dk(['logout', REG], { host: c.engines[0]!.addr });
  }, { timeout: 180_000 });

  after(async () => {
    await c?.stop();
    await reg?.stop();
  }, { timeout: 120_000 });

  test('docker login through the manager (/auth): right and wrong password, both CLIs', T, async () => {
    for (const cli of ['new', 'old'] as const) {
      const bad = await c.docker(['login', REG, '-u', USER, '--password-stdin'], { cli, input: 'wrong' });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /unauthorized/i);
      const ok = await dk(['login', REG, '-u', USER, '--password-stdin'], { cli, input: PASS });
      assert.match(ok, /Login Succeeded/);
    }
    const cfg = JSON.parse(fs.readFileSync(path.join(c.dockerConfig, 'config.json'), 'utf8'));
    assert.ok(cfg.auths?.[REG], 'credentials stored for the registry');
  });

  test('docker pull (CLI 28) shows each node\'s progress; docker images lists it once, on all 3 nodes', T, async () => {
    const out = await dk(['pull', V1]);
    for (const n of NODES) assert.match(out, new RegExp(`^${n}: `, 'm'), `no line for ${n} in:\n${out}`);
    assert.match(out, /Downloaded newer image|Image is up to date/);
    const rows = (await dk(['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n').filter((l) => l === V1);
    assert.equal(rows.length, 1);
    const ids = await perEngine(V1);
    assert.ok(ids.every(Boolean), `present on every engine: ${ids.join(',')}`);
  });

  test('docker pull (CLI 20.10) after docker rmi (merged over the 3 nodes)', T, async () => {
    const rm = await dk(['rmi', V1], { cli: 'old' });
    assert.equal(rm.split('\n').filter((l) => l === `Untagged: ${V1}`).length, 1, rm);
    assert.deepEqual(await perEngine(V1), ['', '', '']);
    assert.doesNotMatch(await dk(['images']), /busybox\s+v1/);
    const out = await dk(['pull', V1], { cli: 'old' });
    for (const n of NODES) assert.match(out, new RegExp(`^${n}: `, 'm'), out);
    assert.match(await dk(['images'], { cli: 'old' }), new RegExp(`${REG}/busybox\\s+v1`));
    assert.ok((await perEngine(V1)).every(Boolean));
  });

  test('dockerode pull: every line names its node; a digest reference passes through', T, async () => {
    const stream = await d.pull(V1, { authconfig });
    const events: any[] = await new Promise((resolve, reject) => d.modem.followProgress(stream, (err: Error | null, res: any[]) => (err ? reject(err) : resolve(res))));
    assert.ok(events.length > 0);
    for (const ev of events) assert.match(String(ev.id), /^node-[0-2]/, JSON.stringify(ev));
    for (const n of NODES) assert.ok(events.some((ev) => String(ev.id).startsWith(n)), `no event for ${n}`);
    const digest = JSON.parse(await onEngine(0, ['image', 'inspect', '--format', '{{json .RepoDigests}}', V1]))[0] as string;
    assert.match(digest, /@sha256:[0-9a-f]{64}$/);
    await dk(['pull', digest]);
    for (const e of c.engines) {
      const digests = await dk(['image', 'inspect', '--format', '{{json .RepoDigests}}', V1], { host: e.addr });
      assert.ok(JSON.parse(digests).includes(digest), `${e.addr}: ${digests}`);
    }
  });

  test('a pull of an unknown image fails on every node with dockerd\'s error naming the nodes, and leaves nothing', T, async () => {
    const ref = `${REG}/nope:v1`;
    const direct = await c.docker(['pull', ref], { host: c.engines[0]!.addr });
    assert.notEqual(direct.code, 0);
    for (const cli of ['new', 'old'] as const) {
      const r = await c.docker(['pull', ref], { cli });
      assert.notEqual(r.code, 0, r.stdout);
      assert.equal(daemonError(r), `node-0, node-1, node-2: ${daemonError(direct)}`);
    }
    assert.doesNotMatch(await dk(['images', '-a']), /nope/);
    // dockerd's own status comes through too (raw API).
    const h = await raw(c.managerAddr, 'POST', `/images/create?fromImage=${encodeURIComponent(`${REG}/nope`)}&tag=v1`, { headers: { 'X-Registry-Auth': authHeader(authconfig) } });
    const e = await raw(c.engines[0]!.addr, 'POST', `/images/create?fromImage=${encodeURIComponent(`${REG}/nope`)}&tag=v1`, { headers: { 'X-Registry-Auth': authHeader(authconfig) } });
    assert.equal(h.status, e.status);
  });

  test('a pull with a wrong password fails with the registry\'s refusal naming the nodes (dockerode)', T, async () => {
    await assert.rejects(
      d.pull(`${REG}/busybox:two`, { authconfig: { ...authconfig, password: 'wrong' } }),
      (err: any) => {
        assert.equal(err.statusCode, 500);
        assert.match(String(err.json?.message ?? err.message), /node-0, node-1, node-2: unauthorized: authentication required/);
        return true;
      },
    );
    assert.deepEqual(await perEngine(TWO), ['', '', '']);
  });

  test('docker tag, then docker push of the new tag (CLI 28 and 20.10)', T, async () => {
    for (const [cli, tagName] of [['new', 'v2'], ['old', 'v3']] as const) {
      const ref = `${REG}/busybox:${tagName}`;
      await dk(['tag', V1, ref], { cli });
      assert.ok((await perEngine(ref)).every(Boolean), `${ref} tagged on every node`);
      assert.match(await dk(['images', '--format', '{{.Repository}}:{{.Tag}}'], { cli }), new RegExp(`^${ref.replace(/\./g, '\\.')}$`, 'm'));
      const out = await dk(['push', ref], { cli });
      assert.match(out, new RegExp(`${tagName}: digest: sha256:[0-9a-f]{64}`));
    }
    const r = await fetch(`http://${REG}/v2/busybox/tags/list`, { headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}` } });
    const tags = ((await r.json()) as { tags: string[] }).tags;
    for (const t of ['v1', 'two', 'v2', 'v3']) assert.ok(tags.includes(t), `registry tags: ${tags}`);
    // An image no node has: dockerd's own refusals.
    for (const args of [['tag', 'nosuch:x', 'other:y'], ['push', `${REG}/nosuch:x`]]) {
      const viaManager = await c.docker(args);
      const direct = await c.docker(args, { host: c.engines[1]!.addr });
      assert.notEqual(viaManager.code, 0);
      assert.equal(viaManager.stderr.trim(), direct.stderr.trim());
    }
  });

  test('docker rmi: by tag, an unknown prefix gets dockerd\'s No such image, a used image dockerd\'s conflict', T, async () => {
    for (const [cli, ref] of [['new', `${REG}/busybox:v2`], ['old', `${REG}/busybox:v3`]] as const) {
      const out = await dk(['rmi', ref], { cli });
      assert.equal(out.trim(), `Untagged: ${ref}`);
      assert.deepEqual(await perEngine(ref), ['', '', '']);
      const bus = await c.docker(['rmi', 'bus'], { cli });
      const direct = await c.docker(['rmi', 'bus'], { cli, host: c.engines[0]!.addr });
      assert.notEqual(bus.code, 0);
      assert.equal(bus.stderr.trim(), direct.stderr.trim());
      assert.match(bus.stderr, /No such image: bus/);
    }
    // A container using the image on one node: that node's 409 comes through.
    await dk(['create', '--name', 'holder', '-e', 'constraint:node==node-1', V1]);
    const r = await c.docker(['rmi', V1]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /conflict: unable to remove repository reference .* \(must force\) - container [0-9a-f]+ is using its referenced image/);
    const status = await raw(c.managerAddr, 'DELETE', `/images/${encodeURIComponent(V1)}`);
    assert.equal(status.status, 409);
    await dk(['rm', 'holder']);
  });

  test('one node failing (its engine killed): the others pull in full, then one error line names it', T, async () => {
    await c.set.stopEngine(2, { kill: true });
    try {
      const V2 = `${REG}/busybox:v2`;
      const r = await c.docker(['pull', V2]);
      assert.notEqual(r.code, 0, r.stdout);
      for (const n of ['node-0', 'node-1']) assert.match(r.stdout, new RegExp(`^${n}: Status: Downloaded newer image for ${V2.replace(/\./g, '\\.')}$`, 'm'), r.stdout);
      assert.match(r.stderr, /^node-2: /m, r.stderr);
      assert.doesNotMatch(r.stderr, /node-[01]/);
      // The documented wire shape: progress lines first, one error line last.
      const body = await raw(c.managerAddr, 'POST', `/images/create?fromImage=${encodeURIComponent(`${REG}/busybox`)}&tag=v3`, { headers: { 'X-Registry-Auth': authHeader(authconfig) } });
      assert.equal(body.status, 200, body.body);
      const msgs = body.body.trim().split('\n').map((l) => JSON.parse(l));
      const last = msgs.pop();
      assert.match(last.error, /^node-2: /);
      assert.equal(last.errorDetail.message, last.error);
      assert.ok(msgs.every((m) => /^node-[01]/.test(m.id) && !m.error), JSON.stringify(msgs));
      for (const n of ['node-0', 'node-1']) assert.ok(msgs.some((m) => m.id === n && /Downloaded newer image/.test(m.status)), n);
    } finally {
      await c.set.restartEngine(2);
    }
    await eventually(() => d.info(), (i: any) => NODES.every((n) => nodeStatus(i, n) === 'Healthy'), 30_000);
    await dk(['rmi', `${REG}/busybox:v2`, `${REG}/busybox:v3`]);
    assert.deepEqual(await perEngine(`${REG}/busybox:v2`), ['', '', '']);
  });

  test('a pull with constraint= query parameters goes only to the matching nodes; none matching: the scheduler\'s message', T, async () => {
    const one = `${REG}/busybox`;
    await c.docker(['rmi', '-f', V1]); // whatever earlier tests left
    assert.deepEqual(await perEngine(V1), ['', '', '']);
    const r = await raw(c.managerAddr, 'POST', `/images/create?fromImage=${encodeURIComponent(one)}&tag=v1&constraint=${encodeURIComponent('node==node-1')}`, { headers: { 'X-Registry-Auth': authHeader(authconfig) } });
    assert.equal(r.status, 200, r.body);
    const ids = r.body.trim().split('\n').map((l) => JSON.parse(l).id as string);
    assert.ok(ids.every((id) => id.startsWith('node-1')), JSON.stringify(ids));
    assert.deepEqual((await perEngine(V1)).map((x) => x !== ''), [false, true, false]);
    const none = await raw(c.managerAddr, 'POST', `/images/create?fromImage=${encodeURIComponent(one)}&tag=v1&constraint=${encodeURIComponent('node==nope')}`);
    assert.equal(none.status, 500);
    assert.match(JSON.parse(none.body).message, /Unable to find a node that satisfies the following conditions[\s\S]*\[node==nope\]/);
    await dk(['rmi', V1]);
  });

  test('docker history from a node that has the image; an unknown one gets dockerd\'s error', T, async () => {
    await dk(['pull', V1]);
    for (const cli of ['new', 'old'] as const) {
      // --human=false: "7 seconds ago" would differ between the two calls across a second boundary.
      const viaManager = await dk(['history', '--no-trunc', '--human=false', V1], { cli });
      const direct = await dk(['history', '--no-trunc', '--human=false', V1], { cli, host: c.engines[0]!.addr });
      assert.equal(viaManager.split('\n')[1], direct.split('\n')[1]);
      const bad = await c.docker(['history', 'nosuch:x'], { cli });
      const badDirect = await c.docker(['history', 'nosuch:x'], { cli, host: c.engines[0]!.addr });
      assert.notEqual(bad.code, 0);
      assert.equal(bad.stderr.trim(), badDirect.stderr.trim());
    }
  });

  test('docker search goes to one node (same answer as an engine gives)', T, async () => {
    const viaManager = await c.docker(['search', `${REG}/busybox`]);
    const direct = await c.docker(['search', `${REG}/busybox`], { host: c.engines[0]!.addr });
    assert.equal(viaManager.code, direct.code);
    assert.equal(viaManager.stdout, direct.stdout);
    assert.equal(viaManager.stderr.trim(), direct.stderr.trim());
  });

  test('docker image prune -f on every node, merged (dangling images on two nodes)', T, async () => {
    const tar = path.join(c.stateDir, 'empty.tar');
    fs.writeFileSync(tar, Buffer.alloc(1024)); // an empty tar archive: two zero blocks
    const dangling: string[] = [];
    for (const i of [1, 2]) {
      dangling.push((await onEngine(i, ['import', tar, 'dangle:x'])).trim());
      await onEngine(i, ['import', tar, 'dangle:x']); // the first one loses its tag
    }
    await eventually(() => dk(['images', '-q', '--filter', 'dangling=true', '--no-trunc']), (s) => dangling.every((id) => s.includes(id)));
    const out = await dk(['image', 'prune', '-f']);
    for (const id of dangling) assert.match(out, new RegExp(`deleted: ${id}`, 'i'));
    assert.match(out, /Total reclaimed space/);
    const left = await dk(['images', '-q', '--filter', 'dangling=true', '--no-trunc']);
    for (const id of dangling) assert.ok(!left.includes(id), left);
    const api: any = await d.pruneImages();
    assert.equal(api.SpaceReclaimed, 0);
    for (const i of [1, 2]) await onEngine(i, ['rmi', 'dangle:x']);
  });

  test('docker save from a node that has the image; docker load to every node (per-node lines)', T, async () => {
    const file = path.join(c.stateDir, 'v1.tar');
    await dk(['save', '-o', file, V1]);
    assert.ok(fs.statSync(file).size > 1024);
    const bad = await c.docker(['save', '-o', path.join(c.stateDir, 'x.tar'), 'nosuch:x']);
    const badDirect = await c.docker(['save', '-o', path.join(c.stateDir, 'x.tar'), 'nosuch:x'], { host: c.engines[0]!.addr });
    assert.notEqual(bad.code, 0);
    assert.equal(daemonError(bad), daemonError(badDirect));
    await dk(['rmi', V1]);
    assert.deepEqual(await perEngine(V1), ['', '', '']);
    for (const cli of ['new', 'old'] as const) {
      const out = await dk(['load', '-i', file], { cli });
      for (const n of NODES) assert.match(out, new RegExp(`^${n}: Loaded image: ${V1.replace(/\./g, '\\.')}$`, 'm'), out);
      assert.ok((await perEngine(V1)).every(Boolean));
      assert.match(await dk(['images', '--format', '{{.Repository}}:{{.Tag}}']), new RegExp(`^${V1.replace(/\./g, '\\.')}$`, 'm'));
    }
    // /images/get?names= with two names (the API form of `docker save a b`).
    const both = await raw(c.managerAddr, 'GET', `/images/get?names=${encodeURIComponent(V1)}&names=busybox`);
    assert.equal(both.status, 200);
  });

  test('docker import (fromSrc=-) to every node', T, async () => {
    const tar = path.join(c.stateDir, 'empty.tar');
    fs.writeFileSync(tar, Buffer.alloc(1024));
    const out = await dk(['import', tar, 'imported:x']);
    for (const n of NODES) assert.match(out, new RegExp(`^${n}: sha256:[0-9a-f]{64}$`, 'm'), out);
    assert.ok((await perEngine('imported:x')).every(Boolean));
    assert.match(await dk(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^imported:x$/m);
    await dk(['rmi', 'imported:x']);
    assert.deepEqual(await perEngine('imported:x'), ['', '', '']);
  });

  test('docker images filters: reference (glob), label, dangling, before/since, node; -a asks the engines', T, async () => {
    await dk(['create', '--name', 'flt', '-e', 'constraint:node==node-1', 'busybox', 'true']);
    await dk(['commit', '--change', 'LABEL team=a', 'flt', 'filtered:one']);
    await new Promise((r) => setTimeout(r, 1100)); // Created has one-second resolution
    await dk(['commit', 'flt', 'filtered:two']);
    const danglingId = (await dk(['commit', 'flt'])).trim();
    const ls = async (...f: string[]) => (await dk(['images', ...f.flatMap((x) => ['--filter', x]), '--format', '{{.Repository}}:{{.Tag}}'])).split('\n').filter(Boolean).sort();
    assert.deepEqual(await ls('reference=filt*'), ['filtered:one', 'filtered:two']);
    assert.deepEqual(await ls('reference=filtered:t*'), ['filtered:two']);
    assert.deepEqual(await ls('label=team=a'), ['filtered:one']);
    assert.deepEqual(await ls('label=team=a', 'node=node-0'), []);
    assert.deepEqual(await ls('since=filtered:one', 'reference=filtered'), ['filtered:two']);
    assert.deepEqual(await ls('before=filtered:two', 'reference=filtered'), ['filtered:one']);
    const dangling = (await dk(['images', '-q', '--no-trunc', '--filter', 'dangling=true'])).split('\n').filter(Boolean);
    assert.ok(dangling.includes(danglingId), `${danglingId} in ${dangling}`);
    assert.ok(!(await ls('dangling=false')).includes('<none>:<none>'));
    const direct = (await c.docker(['images', '-a', '-q'], { host: c.engines[1]!.addr })).stdout.split('\n').filter(Boolean).length;
    const merged = (await dk(['images', '-a', '-q'])).split('\n').filter(Boolean).length;
    assert.ok(merged >= direct, `-a through the manager ${merged} >= node-1's own ${direct}`);
    const bad = await raw(c.managerAddr, 'GET', `/images/json?filters=${encodeURIComponent('{"nope":["x"]}')}`);
    assert.equal(bad.status, 400);
    const missing = await raw(c.managerAddr, 'GET', `/images/json?filters=${encodeURIComponent('{"before":["no-such:img"]}')}`);
    assert.equal(missing.status, 404);
    await dk(['rm', 'flt']);
    await dk(['rmi', 'filtered:one', 'filtered:two', danglingId]);
  });

  test('docker commit on the container\'s node; docker images shows it at once', T, async () => {
    await dk(['create', '--name', 'cm', '-e', 'constraint:node==node-2', 'busybox', 'true']);
    for (const cli of ['new', 'old'] as const) {
      const id = (await dk(['commit', 'cm', `committed:${cli}`], { cli })).trim();
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      assert.match(await dk(['images', '--format', '{{.Repository}}:{{.Tag}}']), new RegExp(`^committed:${cli}$`, 'm'));
      const on = await perEngine(`committed:${cli}`);
      assert.ok(on[2] && !on[0] && !on[1], on.join(','));
    }
    const bad = await c.docker(['commit', 'nosuch']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /No such container: nosuch/);
    await dk(['rm', 'cm']);
    await dk(['rmi', 'committed:new', 'committed:old']);
  });

  test('an image on 2 of 3 nodes: docker run lands only on those 2', T, async () => {
    for (const i of [1, 2]) await onEngine(i, ['pull', TWO]);
    await eventually(() => dk(['images', '--format', '{{.Repository}}:{{.Tag}}']), (s) => s.includes(TWO));
    const names: string[] = [];
    for (let k = 0; k < 4; k++) {
      const name = `two-${k}`;
      names.push(name);
      await dk(['run', '-d', '--name', name, TWO, 'sleep', '30']);
      const node = (await dk(['inspect', '--format', '{{.Node.Name}}', name])).trim();
      assert.ok(node === 'node-1' || node === 'node-2', `${name} on ${node}`);
    }
    assert.equal((await perEngine(TWO))[0], '', 'node-0 never pulled it');
    await dk(['rm', '-f', ...names]);
  });

  test('docker run of an image no node has: the CLI\'s pull goes through the manager to every node', T, async () => {
    await dk(['rmi', V1]);
    assert.deepEqual(await perEngine(V1), ['', '', '']);
    for (const cli of ['new', 'old'] as const) {
      const r = await c.docker(['run', '--rm', V1, 'echo', 'hi'], { cli, timeoutMs: 90_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'hi');
      if (cli === 'new') assert.match(r.stderr, /Unable to find image/);
      assert.ok((await perEngine(V1)).every(Boolean));
    }
  });
});
