// Builds through the manager on 3 real engines (issue 13, "Builds"), and
// pull-on-create (a create for an image the chosen node lacks pulls it there
// first, one pull per node shared by concurrent creates). For builds: the node
// is chosen by the scheduler from build args, labels and resources before the
// context is read; the output streams back; the built tag is then found on
// that node, so `docker run` of it lands there. Legacy builder only (both
// CLIs with DOCKER_BUILDKIT=0, dockerode); a BuildKit build is refused clearly.
//
// Block 5 (test/lib/README.md), shared with scheduler.test.ts: the two files
// run one after the other, never together.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import { clusterBlock, skipReason, withCluster, type TestCluster } from '../lib/cluster.js';
import { raw } from '../lib/http.js';
import { registrySkipReason, startRegistry, type TestRegistry } from '../lib/registry.js';

const BLOCK = clusterBlock(5);
const T = { timeout: 120_000 };
const CONDITIONS = 'Unable to find a node that satisfies the following conditions';
const LABELS = [{ zone: 'a' }, { zone: 'b' }, { zone: 'c' }];
const REGISTRY_PORT = 23562; // test/lib/README.md

describe('docker build through the manager (3 engines)', { skip: skipReason() }, () => {
  let c: TestCluster;
  let ctxDir: string;
  const legacy = { env: { ...process.env, DOCKER_BUILDKIT: '0' } };

  before(async () => {
    c = await withCluster({ ...BLOCK, nodes: 3, labels: LABELS });
    ctxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-ctx-'));
    fs.writeFileSync(path.join(ctxDir, 'Dockerfile'), 'FROM busybox\nARG greeting=hello\nRUN echo "$greeting" > /built.txt\nCMD ["cat", "/built.txt"]\n');
  }, { timeout: 180_000 });
  after(async () => {
    await c?.stop();
    if (ctxDir) fs.rmSync(ctxDir, { recursive: true, force: true });
  }, { timeout: 120_000 });

  const nodeOf = async (ref: string): Promise<string> => {
    const r = await c.docker(['inspect', '-f', '{{.Node.Name}}', ref]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  /** Which nodes hold `tag`, straight from each engine. */
  const holders = async (tag: string): Promise<string[]> => {
    const out: string[] = [];
    for (const e of c.engines) {
      const r = await raw(e.addr, 'GET', `/images/${tag}/json`);
      if (r.status === 200) out.push(e.name);
    }
    return out;
  };

  for (const [cli, label] of [['new', 'CLI 28'], ['old', 'CLI 20.10']] as const) {
    test(`${label}: --build-arg constraint:node==node-1 builds on node-1, the other args reach the build, run lands there`, T, async () => {
      const tag = `built-${cli}:v1`;
      const b = await c.docker(['build', '-t', tag, '--build-arg', 'constraint:node==node-1', '--build-arg', 'greeting=from-swarm', ctxDir], { cli, ...legacy });
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stdout, /Step 1\/4 : FROM busybox/, 'the output streams back');
      assert.match(b.stdout, /Successfully tagged/);
      assert.deepEqual(await holders(tag), ['node-1']);
      // The manager knows at once: the next run of the tag lands where it is.
      const run = await c.docker(['run', '--name', `run-${cli}`, tag], { cli });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), 'from-swarm');
      assert.equal(await nodeOf(`run-${cli}`), 'node-1');
      await c.docker(['rm', '-f', `run-${cli}`]);
    });
  }

  test('label form and engine labels: --label com.docker.swarm.constraints=["zone==c"] builds on node-2', T, async () => {
    const b = await c.docker(['build', '-q', '-t', 'built-label:v1', '--label', 'com.docker.swarm.constraints=["zone==c"]', ctxDir], legacy);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(await holders('built-label:v1'), ['node-2']);
    // The scheduling label was for the build only: not baked into the image.
    const labels = await c.docker(['image', 'inspect', '-f', '{{json .Config.Labels}}', 'built-label:v1'], { host: c.engines[2]!.addr });
    assert.doesNotMatch(labels.stdout, /com\.docker\.swarm/);
  });

  test('an impossible constraint fails with the scheduler\'s message before any upload; nothing is built', T, async () => {
    const b = await c.docker(['build', '-t', 'never:v1', '--build-arg', 'constraint:node==nope', ctxDir], legacy);
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, new RegExp(`${CONDITIONS}[\\s\\S]*\\[node==nope\\]`));
    assert.deepEqual(await holders('never:v1'), []);
  });

  test('resources count: a build asking more memory than any node has is refused before the upload', T, async () => {
    const b = await c.docker(['build', '-t', 'toobig:v1', '--memory', '100000g', ctxDir], legacy);
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /no resources available to schedule container/);
    assert.deepEqual(await holders('toobig:v1'), []);
  });

  test('dockerode: buildImage with a tar context and an affinity to an image', T, async () => {
    const d = new Docker({ host: '127.0.0.1', port: BLOCK.managerPort });
    const tar = execFileSync('tar', ['-c', '-C', ctxDir, '.']);
    const stream = await d.buildImage(tar as unknown as NodeJS.ReadableStream, { t: 'built-dockerode:v1', buildargs: { 'affinity:image': '=built-new:v1' } });
    const events: any[] = await new Promise((resolve, reject) => d.modem.followProgress(stream, (err: Error | null, out: any[]) => (err ? reject(err) : resolve(out))));
    assert.ok(events.some((e) => /Successfully tagged built-dockerode:v1/.test(e.stream ?? '')), JSON.stringify(events.slice(-3)));
    assert.deepEqual(await holders('built-dockerode:v1'), ['node-1'], 'next to the image it has affinity to');
  });

  test('a BuildKit build (version=2) is refused with a clear 400; bad build args are dockerd-like 400s', T, async () => {
    const bk = await raw(c.managerAddr, 'POST', '/v1.41/build?version=2&t=x', { body: '' });
    assert.equal(bk.status, 400);
    assert.match(JSON.parse(bk.body).message, /BuildKit builds are not supported through swarm-classic: build with the legacy builder \(DOCKER_BUILDKIT=0\)/);
    const session = await raw(c.managerAddr, 'POST', '/session', { body: '', headers: { Connection: 'Upgrade', Upgrade: 'h2c' } });
    assert.equal(session.status, 400);
    assert.match(JSON.parse(session.body).message, /BuildKit builds are not supported through swarm-classic/);
    const bad = await raw(c.managerAddr, 'POST', '/v1.41/build?buildargs=%7Bnope', { body: '' });
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).message, /^error reading build args: /);
  });

  describe('pull-on-create', { skip: registrySkipReason() }, () => {
    let reg: TestRegistry;
    const image = `127.0.0.1:${REGISTRY_PORT}/pc:v1`;
    const auth = Buffer.from(JSON.stringify({ username: 'user', password: 'pass', serveraddress: `127.0.0.1:${REGISTRY_PORT}` })).toString('base64');

    before(async () => {
      reg = await startRegistry({ port: REGISTRY_PORT, user: 'user', password: 'pass' });
      // Seed it from node-0 directly, then make sure no node has the image.
      const e0 = c.engines[0]!.addr;
      for (const args of [['login', '-u', 'user', '-p', 'pass', reg.addr], ['tag', 'busybox', image], ['push', image], ['rmi', image]]) {
        const r = await c.docker(args, { host: e0 });
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      }
    }, { timeout: 120_000 });
    after(async () => { await reg?.stop(); });

    test('4 concurrent creates (-p 8888) of an image no node has: all succeed, each node pulls it once, with the client\'s X-Registry-Auth', T, async () => {
      const since = Math.floor(Date.now() / 1000) - 1;
      const body = JSON.stringify({ Image: image, Cmd: ['sleep', '300'], ExposedPorts: { '8888/tcp': {} }, HostConfig: { PortBindings: { '8888/tcp': [{ HostPort: '' }] } } });
      const created = await Promise.all([1, 2, 3, 4].map((i) => raw(c.managerAddr, 'POST', `/v1.41/containers/create?name=pc-${i}`, {
        body, headers: { 'Content-Type': 'application/json', 'X-Registry-Auth': auth }, timeoutMs: 90_000,
      })));
      for (const r of created) assert.equal(r.status, 201, r.body);
      const nodes = new Set<string>();
      for (let i = 1; i <= 4; i++) nodes.add(await nodeOf(`pc-${i}`));
      assert.deepEqual((await holders(image)).sort(), [...nodes].sort(), 'pulled exactly where containers landed');
      const until = Math.ceil(Date.now() / 1000) + 1;
      for (const e of c.engines) {
        const ev = await raw(e.addr, 'GET', `/events?since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify({ type: ['image'], event: ['pull'] }))}`);
        const pulls = ev.body.split('\n').filter(Boolean).length;
        assert.ok(pulls <= 1, `${e.name} pulled ${pulls} times`);
      }
      const start = await c.docker(['start', 'pc-1']);
      assert.equal(start.code, 0, start.stderr);
      await c.docker(['rm', '-f', 'pc-1', 'pc-2', 'pc-3', 'pc-4']);
    });

    for (const [cli, label] of [['new', 'CLI 28'], ['old', 'CLI 20.10']] as const) {
      test(`${label}: a CI pipeline through the manager: login, build, tag, push, pull on every node, run elsewhere, rmi`, T, async () => {
        const app = `127.0.0.1:${REGISTRY_PORT}/ci-${cli}`;
        const dk = (args: string[]) => c.docker(args, { cli, ...legacy });
        const ok = async (args: string[]): Promise<string> => { const r = await dk(args); assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`); return r.stdout; };
        assert.match(await ok(['login', '-u', 'user', '-p', 'pass', reg.addr]), /Login Succeeded/);
        await ok(['build', '-q', '-t', `${app}:build`, '--build-arg', 'constraint:node==node-0', ctxDir]);
        await ok(['tag', `${app}:build`, `${app}:1.0`]);
        await ok(['push', `${app}:1.0`]);
        const pull = await ok(['pull', `${app}:1.0`]);
        for (const n of ['node-0', 'node-1', 'node-2']) assert.match(pull, new RegExp(n), `per-node progress: ${pull}`);
        assert.deepEqual((await holders(`${app}:1.0`)).sort(), ['node-0', 'node-1', 'node-2']);
        const out = await ok(['run', '--rm', '-e', 'constraint:node!=node-0', `${app}:1.0`]);
        assert.equal(out.trim(), 'hello');
        await ok(['rmi', `${app}:1.0`, `${app}:build`]);
        assert.deepEqual(await holders(`${app}:1.0`), []);
      });
    }

    test('without credentials the pull fails quietly and the create gets dockerd\'s own No such image (404)', T, async () => {
      const other = `127.0.0.1:${REGISTRY_PORT}/pc:absent`;
      const r = await raw(c.managerAddr, 'POST', '/v1.41/containers/create?name=pc-noauth', {
        body: JSON.stringify({ Image: other }), headers: { 'Content-Type': 'application/json' }, timeoutMs: 60_000,
      });
      assert.equal(r.status, 404, r.body);
      assert.match(JSON.parse(r.body).message, /No such image: 127\.0\.0\.1:23562\/pc:absent/);
    });
  });
});
